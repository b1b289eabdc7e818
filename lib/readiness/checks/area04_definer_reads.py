"""Area 4 — a SECURITY DEFINER function hands any customer's rows to whoever names them
(issue 16, attack paths across SQL and the API): the function runs as its owner, so the
table's row-level security does not apply; EXECUTE is open to anon or authenticated
(granted, or never revoked from PUBLIC — Supabase's default privileges also grant it to
both on every new public function); it takes a user id and returns the rows filtered by
that id without tying it to the caller (a tenant's id — a business, an organisation, a
team — is the same breach one level up: another company's customers).
`POST /rest/v1/rpc/<fn> {"p_user": "<victim>"}` returns the victim's data.

Facts: `code_definer_user_reads` (rules/definer.py, the unguarded reads in the body) ×
`schema_functions` (the replayed catalog: still SECURITY DEFINER, and who may EXECUTE it,
the same privilege facts DB-SECDEF-EXPOSED reads) × `code_function_grants` (where the
grant is written). Only the function's last definition counts.

Severity: critical when what it returns is private by name (an email, a phone, an
address, a token, a payment field) or whole rows, whether anon or only signed-in
customers may call it. Anon needs
nothing but the public key; a signed-in customer needs only a free sign-up, and what they
read is other customers' data — a cross-tenant breach either way, not a customer's view
of their own rows. Values of no private name are not this chain's claim (on the corpus
six such functions were flagged and none leaked: the role and id helpers RLS policies
call, `get_user_role(_user_id)`, and deliberate public profiles of display names and
avatars); DB-SECDEF-EXPOSED still reports the exposed function. Not a finding: security invoker
functions, ids compared with auth.uid() (or reads filtered by auth.uid() alone),
admin-gated functions, counts and booleans, EXECUTE revoked from PUBLIC, anon and
authenticated. A function outside the public schema is reachable through /rest/v1/rpc
only when the project exposes that schema (config.toml `[api] schemas`, not read here):
it warns instead of failing.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pandas as pd

from readiness.checks.area04_bootstrap import sql_callers
from readiness.checks.attack_paths import Step, attack_path
from readiness.checks.common import code_location, function_location
from readiness.checks.registry import CheckInput, Result, check, passed, records
from readiness.findings import Severity, Status

CHECK_ID = "SEC-PATH-SECDEF-CROSS-USER"
# Values that are another customer's private data by their name. Whole rows (`o.*`) count:
# a table read for one user holds what the row's owner keeps from others.
PRIVATE = re.compile(
    r"e_?mail|phone|mobile|address|street|postcode|postal|zip|password|passwd|secret|token|"
    r"api_?key|_key$|iban|card|ssn|birth|dob|ip_?addr|stripe|payment|billing|invoice|"
    r"balance|credential|sftp|medical|prescription|diagnos|full_name|first_name|last_name|"
    r"legal_name|^name$|message|content|^body$|notes?$|\.\*$",
    re.I,
)
OPEN_TO = {"public", "anon", "authenticated"}


def _definer(functions: pd.DataFrame, schema: str, name: str) -> bool:
    rows = functions[(functions["schema"] == schema) & (functions["name"] == name)]
    return bool(rows["security_definer"].fillna(False).astype(bool).any())


def _grant_step(inp: CheckInput, schema: str, name: str, callers: list[str], at: str | None):
    """Where EXECUTE was opened: the last GRANT to an API role, else the definition (the
    privilege PUBLIC and Supabase's default privileges give every new function)."""
    grants = inp.tables.get("code_function_grants")
    who = " and ".join(callers)
    if grants is not None and not grants.empty:
        mine = grants[(grants["schema"] == schema) & (grants["name"] == name)]
        mine = mine.sort_values(["path", "line"])
        opened = mine[
            [
                a == "grant" and bool(OPEN_TO & set(str(g).split(",")))
                for a, g in zip(mine["action"], mine["grantees"].fillna(""), strict=True)
            ]
        ]
        if not opened.empty:
            g = opened.iloc[-1]
            return Step(
                f"GRANT EXECUTE ON FUNCTION {schema}.{name} TO {g['grantees']}: {who} may "
                "call it through /rest/v1/rpc",
                code_location(g["path"], g["line"]),
                f"grant:{schema}.{name}",
            )
        revoked = mine[mine["action"] == "revoke"]
        if not revoked.empty:
            r = revoked.iloc[-1]
            return Step(
                f"EXECUTE is revoked from {r['grantees']} only: {who} keep it (Supabase's "
                "default privileges grant it to anon and authenticated)",
                code_location(r["path"], r["line"]),
                f"grant:{schema}.{name}",
            )
    return Step(
        f"EXECUTE is never revoked from PUBLIC (and Supabase grants it to anon and "
        f"authenticated by default): {who} may call it through /rest/v1/rpc",
        at,
        f"grant:{schema}.{name}",
    )


def _latest(inp: CheckInput, group: pd.DataFrame, schema: str, name: str) -> pd.DataFrame:
    """The rows of the function's last definition (an older one may have been fixed)."""
    at = function_location(inp, schema, name)
    if at is None:
        last = group.sort_values(["path", "line"]).iloc[-1]
        return group[(group["path"] == last["path"]) & (group["line"] == last["line"])]
    here = [code_location(p, ln) == at for p, ln in zip(group["path"], group["line"], strict=True)]
    return group[here]


def _judged(reads: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """The reads that hand back a private value, and those values. A role or an id (the
    `get_user_role(_user_id)` helper RLS policies call) or public-looking columns (a
    display name, an avatar: a deliberate public profile) are not this chain's claim;
    DB-SECDEF-EXPOSED still reports the exposed function."""
    if reads.empty:
        return reads, []
    values = reads["values"].fillna("").astype(str)
    private = sorted(
        {v for vs in values for v in (x.strip() for x in vs.split(",")) if v and PRIVATE.search(v)}
    )
    keep = [any(PRIVATE.search(v.strip()) for v in vs.split(",")) for vs in values]
    return reads[keep], private


@check(
    id=CHECK_ID,
    area=4,
    severity=Severity.CRITICAL,
    title="No SECURITY DEFINER function returns another user's rows to the API roles",
    sources=["codebase", "schema"],
    tables=["code_definer_user_reads", "schema_functions"],
    optional_tables=["code_sql_objects", "code_function_grants"],
    rationale="A SECURITY DEFINER function runs as its owner, past row-level security. "
    "When anon or authenticated may EXECUTE it (PUBLIC keeps EXECUTE unless revoked, and "
    "Supabase's default privileges grant both roles) and it returns the rows of whatever "
    "user id it is given, anyone with the public anon key (or a free account) reads every "
    "customer's orders, servers and emails through /rest/v1/rpc.",
    remediation="Drop the parameter and filter by auth.uid(), or raise when the id is not "
    "auth.uid() (or the caller is not an admin); or make it SECURITY INVOKER so RLS "
    "applies; or REVOKE EXECUTE ON FUNCTION … FROM PUBLIC, anon, authenticated and call it "
    "with the service role only.",
)
def definer_cross_user(inp: CheckInput) -> Iterator[Result]:
    reads = inp["code_definer_user_reads"]
    functions = inp["schema_functions"]
    found = 0
    for (schema, name), group in reads.groupby(["schema", "name"], sort=True):
        schema, name = str(schema), str(name)
        latest = _latest(inp, group, schema, name)
        open_reads = latest[~latest["guarded"].fillna(True).astype(bool)]
        open_reads, private = _judged(open_reads)
        if open_reads.empty or not _definer(functions, schema, name):
            continue
        callers = sql_callers(functions, f"{schema}.{name}")
        if not callers:
            continue
        found += 1
        read = open_reads.sort_values("body_line").iloc[0]
        shown = ", ".join(private) or str(read["values"])
        at = code_location(read["path"], read["line"])
        fn = f"{schema}.{name}"
        param = str(read["param"])
        steps = [
            Step(
                f"{fn}({param} …) returns {read['returns']} and is SECURITY DEFINER: it "
                "runs as its owner, past row-level security",
                at,
                f"function:{fn}",
            ),
            _grant_step(inp, schema, name, callers, at),
            Step(
                f"it returns {shown} of the {read['table']} rows where {read['column']} = "
                f"{param}, and "
                f"never ties {param} to the caller (no auth.uid() comparison, no admin check)",
                code_location(read["path"], read["body_line"]),
                f"read:{read['table']}",
            ),
        ]
        public = schema == "public"
        yield attack_path(
            f"function:{fn}",
            f"{fn} is SECURITY DEFINER, {' and '.join(callers)} may execute it, and it "
            f"returns {shown} from the {read['table']} rows of whichever {param} the caller "
            "passes: "
            + (
                "anyone reads any customer's data through /rest/v1/rpc."
                if public
                else f"anyone reads any customer's data if the API exposes schema {schema}."
            ),
            steps,
            severity=Severity.CRITICAL if public else Severity.HIGH,
            status=Status.FAIL if public else Status.WARN,
            evidence={
                "callers": callers,
                "reads": records(open_reads[["param", "table", "column", "body_line"]]),
                "returns": str(read["returns"]),
                "private": private,
            },
        )
    if not found:
        yield passed(
            "functions:definer-reads",
            f"{int((~reads['guarded'].fillna(True).astype(bool)).sum())} unguarded user-id "
            "read(s) in SECURITY DEFINER functions; none is executable by anon or "
            "authenticated.",
        )
