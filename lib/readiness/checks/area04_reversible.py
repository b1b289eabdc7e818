"""Area 4 — a secret stored reversibly in a column the API serves (issue 16, attack paths
across code and policies): the code writes base64(password) (or hex, or a homemade XOR)
and a SELECT policy lets anon, or every signed-in customer, read that column. Decoding
base64 is no attack at all: whoever reads the row has the password.

Facts: `code_reversible_secrets` (rules/reversible.py, code and SQL writes) ×
`schema_rls_reads` (grants × RLS × policies per role and column, static/sql/rls.py).

Severity: critical when anon can read the column, or a customer can read it on rows that
are not their own. A customer who can read only their own row's encoded password gets
high, not critical: the value is theirs, but anything that reads their session (an XSS,
a shared browser, a leaked access token) reads a password they likely reuse, and the
column stays one policy change away from everyone. Hashed values, columns no API role
can read and columns a column-level grant leaves out are never a finding.
"""

from __future__ import annotations

from collections.abc import Iterator

import pandas as pd

from readiness.checks.area04_rls import policy_location
from readiness.checks.attack_paths import Step, attack_path
from readiness.checks.common import code_location
from readiness.checks.registry import CheckInput, Result, check, passed, records
from readiness.findings import Severity

WHO = {"anon": "an anonymous caller", "authenticated": "any signed-in customer"}


def _readers(reads: pd.DataFrame, table: str, column: str) -> pd.DataFrame:
    """Who may SELECT the column (public schema, or the only schema holding the table)."""
    same = reads[(reads["table"] == table) & (reads["column"] == column)]
    if same["schema"].nunique() > 1:
        same = same[same["schema"] == "public"]
    return same[same["allowed"].fillna(False).astype(bool)]


def _worst(readers: pd.DataFrame) -> tuple[pd.Series, Severity, str] | None:
    anon = readers[readers["role"] == "anon"]
    if not anon.empty:
        return anon.iloc[0], Severity.CRITICAL, f"{WHO['anon']} can read it"
    others = readers[(readers["role"] == "authenticated") & (readers["scope"] != "own rows")]
    if not others.empty:
        row = others.iloc[0]
        return row, Severity.CRITICAL, f"{WHO['authenticated']} can read it ({row['scope']})"
    own = readers[readers["role"] == "authenticated"]
    if not own.empty:
        return own.iloc[0], Severity.HIGH, "each customer can read it on their own rows"
    return None


@check(
    id="SEC-PATH-REVERSIBLE-SECRETS",
    area=4,
    severity=Severity.CRITICAL,
    title="Passwords and tokens are not stored reversibly in columns the API serves",
    sources=["codebase", "schema"],
    tables=["code_reversible_secrets", "schema_rls_reads"],
    optional_tables=["code_sql_objects"],
    rationale="base64, hex and homemade XOR are encodings, not encryption: a column written "
    "with btoa(password) holds the password for whoever reads it. When a SELECT policy or "
    "grant lets anon or other customers read that column, PostgREST hands every stored "
    "password out to anyone with the public anon key.",
    remediation="Do not store the password at all (let the panel send a reset link), or "
    "keep it encrypted with a key only the server holds (Supabase Vault, pgsodium) in a "
    "table no API role can read; hash what only needs comparing (bcrypt/argon2).",
)
def reversible_secrets(inp: CheckInput) -> Iterator[Result]:
    writes = inp["code_reversible_secrets"]
    reads = inp["schema_rls_reads"]
    found = 0
    for (table, column), group in writes.groupby(["table", "column"], sort=True):
        readers = _readers(reads, str(table), str(column))
        worst = _worst(readers)
        if worst is None:
            continue
        read, severity, who = worst
        found += 1
        group = group.sort_values(["path", "line"])
        first = group.iloc[0]
        policy = read["policy"] if pd.notna(read["policy"]) else None
        steps = [
            Step(
                f"{first['writer']} stores {first['transform']}({first['secret_expr']}) in "
                f"{table}.{column}",
                code_location(first["path"], first["line"]),
                f"write:{table}.{column}",
            ),
            Step(
                f"{who}: {read['role']} may SELECT {table}.{column} ({read['how']})",
                policy_location(inp, str(read["schema"]), str(table), policy),
                f"policy:{read['schema']}.{table}.select",
            ),
        ]
        yield attack_path(
            f"column:{read['schema']}.{table}.{column}",
            f"{table}.{column} holds {first['secret_expr']} encoded with "
            f"{first['transform']} (decodable by anyone), and {who}.",
            steps,
            severity=severity,
            evidence={
                "writes": records(group[["path", "line", "writer", "transform"]]),
                "readers": records(readers[["role", "scope", "how"]]),
            },
        )
    if not found:
        yield passed(
            "secrets:reversible",
            f"{len(writes)} reversibly encoded secret write(s); none lands in a column an API "
            "role can read.",
        )
