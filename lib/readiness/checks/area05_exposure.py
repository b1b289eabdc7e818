"""Area 5 — what the API roles can reach past the policies they write: SECURITY DEFINER
functions open to anon/authenticated (Supabase's splinter lints 0028/0029, narrowed to the
ones that act on a caller-chosen account) and sensitive columns a SELECT policy exposes
(splinter's "sensitive columns exposed").

Facts come from the schema source: EXECUTE privileges as the catalog grants them (PUBLIC
unless revoked), whether the body reads the caller's identity (`checks_caller`) or writes
rows (`writes`), both read from the body with pglast's scanner, and `schema_rls_reads`
(SELECT judged per caller like the writes).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pandas as pd

from readiness.checks.area04_rls import policy_location
from readiness.checks.common import function_location
from readiness.checks.registry import CheckInput, Result, check, failed, passed, records, warned
from readiness.findings import Severity

# A parameter naming whose row the function acts on: the caller chooses it.
TARGET_ARG = re.compile(
    r"^_?(p_|in_|target_|param_)?(user|profile|account|customer|owner|member|server|order|"
    r"tenant|org|organization|player|client)(_?id|_uuid)?$|^_?(p_)?uid$",
    re.I,
)


def target_args(args: object) -> list[str]:
    """Names of the arguments (of `pg_get_function_identity_arguments`) that pick a row."""
    out = []
    for part in str(args or "").split(","):
        words = part.split()
        if words and words[0].upper() in ("IN", "OUT", "INOUT", "VARIADIC"):
            words = words[1:]
        if len(words) >= 2 and TARGET_ARG.match(words[0].strip('"')):
            out.append(words[0].strip('"'))
    return out


@check(
    id="DB-SECDEF-EXPOSED",
    area=5,
    severity=Severity.HIGH,
    title="SECURITY DEFINER functions the API roles can call check whose rows they touch",
    sources=["schema"],
    tables=["schema_functions"],
    optional_tables=["code_sql_objects"],
    rationale="A SECURITY DEFINER function runs as its owner, past row-level security; "
    "EXECUTE goes to PUBLIC unless revoked, so anon and every customer can call it through "
    "/rest/v1/rpc. One that takes a user or server id and never compares it with auth.uid() "
    "acts on whichever account the caller names.",
    remediation="Compare the id with auth.uid() inside the function (or drop the parameter "
    "and use auth.uid()), or REVOKE EXECUTE ... FROM PUBLIC, anon, authenticated and call it "
    "with the service role.",
)
def definer_exposed(inp: CheckInput) -> Iterator[Result]:
    f = inp["schema_functions"]
    f = f[f["security_definer"].fillna(False).astype(bool)]
    seen = 0
    for row in f.itertuples():
        callers = [
            r
            for r, col in (("anon", "anon_execute"), ("authenticated", "authenticated_execute"))
            if pd.notna(getattr(row, col)) and bool(getattr(row, col))
        ]
        targets = target_args(row.args)
        if not callers or not targets or str(row.returns) == "trigger":
            continue
        if pd.notna(row.checks_caller) and bool(row.checks_caller):
            continue
        writes = pd.notna(row.writes) and bool(row.writes)
        if not writes and str(row.returns) == "boolean":
            continue  # a role or membership predicate for policies: it tells one bit
        seen += 1
        loc = function_location(inp, row.schema, row.name)
        what = "writes rows" if writes else "returns data"
        reason = (
            f"{row.schema}.{row.name}({row.args}) is SECURITY DEFINER, callable by "
            f"{' and '.join(callers)}, takes {', '.join(targets)} and never compares it with "
            f"auth.uid(): it {what} for whichever id the caller passes."
        )
        res = f"function:{row.schema}.{row.name}"
        evidence = {"callers": callers, "arguments": targets, "writes": writes}
        # a function returning the rows of a caller-chosen user is the attack path's
        # problem (SEC-PATH-SECDEF-CROSS-USER names the same function): one problem
        cause = ("SEC-PATH-SECDEF-CROSS-USER", res)
        if writes:
            yield failed(res, reason, location=loc, evidence=evidence, cause=cause)
        else:
            yield warned(res, reason, location=loc, evidence=evidence, cause=cause)
    if not seen:
        yield passed(
            "functions",
            "No SECURITY DEFINER function open to anon or authenticated acts on a "
            "caller-chosen user or server id.",
        )


# Columns no other caller should read: credentials, and other people's contact details.
SECRET_COLUMN = re.compile(
    r"^(password.*|.*_password|passwd|.*_secret|secret.*|.*_token|token|api_key|.*_api_key|"
    r"private_key|.*_key_hash|access_key|otp.*|ssn|tax_id|iban|card_number|cvv)$"
)
CONTACT_COLUMN = re.compile(r"^(email|email_address|phone|phone_number|mobile)$")


@check(
    id="DB-RLS-SENSITIVE-READ",
    area=5,
    severity=Severity.HIGH,
    title="Anonymous callers and customers cannot read secrets or other users' contact details",
    sources=["schema"],
    tables=["schema_rls_reads"],
    optional_tables=["code_sql_objects"],
    rationale="PostgREST serves every column a SELECT policy admits: a token, password hash "
    "or API key column readable by anon is public, and an email column readable on every "
    "row hands out the customer list.",
    remediation="Move secrets to a table only the service role reads (RLS on, no policy), "
    "or REVOKE SELECT on those columns from anon and authenticated and expose a view.",
)
def sensitive_reads(inp: CheckInput) -> Iterator[Result]:
    """One finding per table: secret and contact columns anon can read, or a customer can
    read on rows that are not their own (their own API key or email is theirs to see)."""
    r = inp["schema_rls_reads"]
    r = r[r["allowed"].fillna(False).astype(bool) & r["schema"].eq("public")]
    col = r["column"].fillna("")
    others = r["role"].eq("anon") | r["scope"].ne("own rows")
    bad = r[(col.str.match(SECRET_COLUMN) | col.str.match(CONTACT_COLUMN)) & others]
    for (schema, table), group in bad.groupby(["schema", "table"], sort=True):
        who = " and ".join(
            {"anon": "an anonymous caller", "authenticated": "a signed-in customer"}[x]
            for x in sorted(set(group["role"]))
        )
        policy = group["policy"].dropna()
        columns = sorted(set(group["column"]))
        # one exposed column that also holds a decodable secret is the attack path's
        # problem (SEC-PATH-REVERSIBLE-SECRETS); with other columns it stands on its own
        cause = (
            ("SEC-PATH-REVERSIBLE-SECRETS", f"column:{schema}.{table}.{columns[0]}")
            if len(columns) == 1
            else None
        )
        yield failed(
            f"table:{schema}.{table}",
            f"{who[0].upper()}{who[1:]} can read {', '.join(sorted(set(group['column'])))} on "
            f"{schema}.{table} ({group['how'].iloc[0]}, {group['scope'].iloc[0]}).",
            location=policy_location(
                inp, schema, table, str(policy.iloc[0]) if not policy.empty else None
            ),
            evidence={"reads": records(group[["role", "column", "scope", "how"]])},
            cause=cause,
        )
    if bad.empty:
        yield passed("rls:reads", "No secret or other users' contact column is readable.")
