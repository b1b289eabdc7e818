"""Area 5 — SECURITY DEFINER functions open to the API roles (Supabase's splinter lints
0028/0029, narrowed to the ones that act on a caller-chosen account).

Facts come from the schema source: EXECUTE privileges as the catalog grants them (PUBLIC
unless revoked), and whether the body reads the caller's identity (`checks_caller`) or
writes rows (`writes`), both read from the body with pglast's scanner.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pandas as pd

from readiness.checks.registry import CheckInput, Result, check, failed, passed, warned
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
    objs = inp.tables.get("code_sql_objects")
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
        loc = None
        if objs is not None and not objs.empty:
            hit = objs[
                (objs["kind"] == "function")
                & objs["name"].isin([row.name, f"{row.schema}.{row.name}"])
            ]
            loc = None if hit.empty else f"{hit.iloc[-1]['path']}:{int(hit.iloc[-1]['line'])}"
        what = "writes rows" if writes else "returns data"
        reason = (
            f"{row.schema}.{row.name}({row.args}) is SECURITY DEFINER, callable by "
            f"{' and '.join(callers)}, takes {', '.join(targets)} and never compares it with "
            f"auth.uid(): it {what} for whichever id the caller passes."
        )
        res = f"function:{row.schema}.{row.name}"
        evidence = {"callers": callers, "arguments": targets, "writes": writes}
        if writes:
            yield failed(res, reason, location=loc, evidence=evidence)
        else:
            yield warned(res, reason, location=loc, evidence=evidence)
    if not seen:
        yield passed(
            "functions",
            "No SECURITY DEFINER function open to anon or authenticated acts on a "
            "caller-chosen user or server id.",
        )
