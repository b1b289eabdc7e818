"""Area 4 — row-level security: what a signed-in customer or an anonymous caller can write.

Facts come from the schema source (`schema_rls_writes`: privileges × RLS × policy
expressions parsed with pglast), the same in live and migrations mode; policy locations
come from the migrations when the codebase was read.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pandas as pd

from readiness.checks.registry import CheckInput, Result, check, failed, passed, records, warned
from readiness.findings import Severity

# Columns whose value is money or state the business decides, never the customer.
SENSITIVE = re.compile(
    r"^(status|.*_status|state|amount.*|.*_cents|.*price.*|plan|plan_id|currency|term|"
    r"stripe_.*|pterodactyl_.*|node_id|paid.*|total.*|role|is_admin|credits?|balance)$"
)
# Always the business's: payment references, balances, provisioning targets, admin flags.
ALWAYS = re.compile(
    r"^(stripe_.*|pterodactyl_.*|node_id|paid.*|amount_paid|credits?|balance|is_admin)$"
)
# Status, amounts and plan are the business's on a record of a purchase; on a user's own
# listing, catalogue or draft they are the user's to set.
MONEY_TABLE = re.compile(
    r"(order|invoice|payment|subscription|booking|purchase|transaction|checkout|charge|"
    r"payout|refund|wallet|credit|billing|cart|ledger|entitlement|license|server)",
    re.I,
)
PAYMENT_COLUMN = re.compile(r"^(stripe_.*|payment_.*|paid.*|.*_paid|.*_paid_at|amount_paid)$")
# A column naming whose row it is: an anonymous caller setting it speaks for someone else.
OWNER_COLUMN = re.compile(
    r"^(user|owner|profile|account|customer|member|author|recipient|created_by)(_id|_uuid)?$"
)
ROLE_LIKE = re.compile(r"^(role|roles|user_role|app_role|is_admin|is_super_admin)$")
ROLES_TABLE = re.compile(r"(^|_)(user_)?roles?$|(^|_)members?(hips)?$|(^|_)admins?$")


def policy_location(inp: CheckInput, schema: str, table: str, name: str | None) -> str | None:
    """`path:line` of the CREATE POLICY (or of the table) in the migrations, if known."""
    objs = inp.tables.get("code_sql_objects")
    if objs is None or objs.empty:
        return None
    same = objs[(objs["schema"] == schema) & (objs["table"] == table)]
    hit = same[(same["kind"] == "policy") & (same["name"] == name)] if name else same.iloc[0:0]
    if hit.empty:
        hit = same[same["kind"] == "table"]
    if hit.empty:
        return None
    row = hit.iloc[-1]
    return f"{row['path']}:{int(row['line'])}"


def per_command(group: pd.DataFrame) -> dict[str, str]:
    """{command: how it is allowed (privilege, policies, scope)}, INSERT first."""
    out: dict[str, str] = {}
    for cmd in ("INSERT", "UPDATE", "DELETE", "SELECT"):
        rows = group[group["command"] == cmd]
        if not rows.empty:
            scope = rows["scope"].dropna()
            out[cmd] = str(rows["how"].iloc[0]) + (f", {scope.iloc[0]}" if not scope.empty else "")
    return out


def _how(group: pd.DataFrame) -> str:
    hows = per_command(group)
    if len({h.removeprefix(cmd) for cmd, h in hows.items()}) == 1:
        return next(iter(hows.values()))  # one policy set for every command
    return "; ".join(hows.values())


def _allowed(inp: CheckInput, role: str) -> pd.DataFrame:
    w = inp["schema_rls_writes"]
    return w[(w["role"] == role) & w["allowed"].fillna(False).astype(bool)]


def _money_tables(inp: CheckInput, tables: set[str]) -> set[str]:
    cols = inp.tables.get("schema_columns")
    return {
        t
        for t in tables
        if MONEY_TABLE.search(str(t))
        or (
            cols is not None
            and cols[cols["table"] == t]["column"].fillna("").str.match(PAYMENT_COLUMN).any()
        )
    }


def _sensitive(inp: CheckInput, allowed: pd.DataFrame) -> pd.DataFrame:
    """The customer-writable columns that matter: payment references and balances
    anywhere; status, amounts and plan on purchase records (or on any row, when the
    policy does not tie the row to the customer); role columns that an authorization
    test trusts or that live in a roles table."""
    money = _money_tables(inp, set(allowed["table"]))
    keep = []
    for r in allowed.itertuples():
        col = r.column if isinstance(r.column, str) else ""
        if not SENSITIVE.match(col):
            keep.append(False)
        elif ALWAYS.match(col):
            keep.append(True)
        elif ROLE_LIKE.match(col):
            trusted = "trusted" in allowed and pd.notna(r.trusted) and bool(r.trusted)
            keep.append(trusted or bool(ROLES_TABLE.search(str(r.table))))
        else:
            keep.append(r.table in money or r.scope == "any row")
    return allowed[pd.Series(keep, index=allowed.index, dtype=bool)]


@check(
    id="SEC-RLS-CUSTOMER-WRITES",
    area=4,
    severity=Severity.CRITICAL,
    title="Customers cannot write money- or state-bearing columns of their own rows",
    sources=["schema"],
    tables=["schema_rls_writes"],
    optional_tables=["code_sql_objects", "schema_columns"],
    rationale="A policy letting a signed-in customer UPDATE their own order lets them mark it "
    "paid or active, change its plan or its amount: the browser holds the anon key and "
    "talks to PostgREST directly.",
    remediation="Drop the INSERT/UPDATE policy (writes go through Edge Functions with the "
    "service role), or restrict the columns with column-level GRANTs.",
)
def customer_writes(inp: CheckInput) -> Iterator[Result]:
    allowed = _allowed(inp, "authenticated")
    allowed = allowed[allowed["command"].isin(["INSERT", "UPDATE"])]
    bad = _sensitive(inp, allowed)
    for (schema, table), group in bad.groupby(["schema", "table"], sort=True):
        policy = group["policy"].dropna()
        name = str(policy.iloc[0]) if not policy.empty else None
        cols = sorted(set(group["column"]))
        cmds = sorted(set(group["command"]))
        yield failed(
            f"table:{schema}.{table}",
            f"A signed-in customer can {'/'.join(cmds)} {', '.join(cols)} on "
            f"{schema}.{table} ({_how(group)}).",
            location=policy_location(inp, schema, table, name),
            evidence={
                "commands": per_command(group),
                "writes": records(group[["command", "column", "scope", "how"]]),
            },
        )
    if bad.empty:
        yield passed(
            "rls:authenticated",
            "No policy lets a signed-in customer write money- or state-bearing columns.",
        )


@check(
    id="SEC-RLS-ANON-WRITE",
    area=4,
    severity=Severity.CRITICAL,
    title="Anonymous callers cannot write any table",
    sources=["schema"],
    tables=["schema_rls_writes"],
    optional_tables=["code_sql_objects", "schema_columns"],
    rationale="The anon key ships in the browser bundle: anything anon can write, anyone on "
    "the internet can write.",
    remediation="Enable RLS and give anon no INSERT/UPDATE/DELETE policy (or revoke the "
    "privileges from anon).",
)
def anon_writes(inp: CheckInput) -> Iterator[Result]:
    """Anyone who changes or deletes rows, creates purchase records, or inserts rows in
    someone's name (user_id, a payment or provisioning reference) fails the check. Any
    other anonymous INSERT (a contact form, a page-view log) is often meant: the rule
    cannot tell, so it asks for review."""
    allowed = _allowed(inp, "anon")
    money = _money_tables(inp, set(allowed["table"]))
    for (schema, table), group in allowed.groupby(["schema", "table"], sort=True):
        policy = group["policy"].dropna()
        cmds = sorted(set(group["command"]))
        reason = f"An anonymous caller can {'/'.join(cmds)} {schema}.{table} ({_how(group)})."
        kwargs = {
            "cause": _anon_causes(schema, table, policy),
            "location": policy_location(
                inp, schema, table, str(policy.iloc[0]) if not policy.empty else None
            ),
            "evidence": {
                "commands": per_command(group),
                "writes": records(group[["command", "column", "how"]]),
            },
        }
        cols = set(group["column"].dropna().astype(str))
        if (
            cmds == ["INSERT"]
            and table not in money
            and not any(ALWAYS.match(c) or OWNER_COLUMN.match(c) for c in cols)
        ):
            yield warned(
                f"table:{schema}.{table}",
                reason + " Inserts only, into a table that records no purchase: review "
                "whether anonymous submissions are meant (and rate-limit them).",
                **kwargs,
            )
        else:
            yield failed(f"table:{schema}.{table}", reason, **kwargs)
    if allowed.empty:
        yield passed("rls:anon", "No table can be written by an anonymous caller.")


def _anon_causes(schema: str, table: str, policies: pd.Series) -> list[tuple[str, str]]:
    """Anonymous writes follow from RLS being off on the table, or from the one policy
    that lets them in testing `auth.uid() IS NULL` (several policies: no single cause)."""
    causes = [("DB-RLS-ENABLED", f"table:{schema}.{table}")]
    names = sorted(set(policies.astype(str)))
    if len(names) == 1:
        causes.append(("SEC-RLS-NULL-UID", f"policy:{schema}.{table}:{names[0]}"))
    return causes


@check(
    id="SEC-RLS-NULL-UID",
    area=4,
    severity=Severity.CRITICAL,
    title="No policy admits a caller without a user (auth.uid() IS NULL)",
    sources=["schema"],
    tables=["schema_policies"],
    optional_tables=["code_sql_objects"],
    rationale="`auth.uid() IS NULL` is true for every anonymous request: the policy opens the "
    "table to anyone holding the public anon key.",
    remediation="Remove the `auth.uid() IS NULL` branch; server-side jobs use the service "
    "role, which bypasses RLS anyway.",
)
def null_uid(inp: CheckInput) -> Iterator[Result]:
    pol = inp["schema_policies"]
    bad = pol[pol["null_uid_test"].fillna(False).astype(bool)]
    for row in bad.itertuples():
        expr = row.check_expr if pd.notna(row.check_expr) else row.using_expr
        yield failed(
            f"policy:{row.schema}.{row.table}:{row.name}",
            f'Policy "{row.name}" ({row.command}) on {row.schema}.{row.table} is true when '
            f"there is no user: {expr}",
            location=policy_location(inp, row.schema, row.table, row.name),
        )
    if bad.empty:
        yield passed("policies", f"None of {len(pol)} policies tests auth.uid() IS NULL.")
