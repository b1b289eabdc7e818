"""Area 3 — the panel ids a server is created with: its owner (`user`) and its port
(`allocation.default`) must come from the order and the customer, never from a literal.

Facts: `code_flow_server_payload` rows with field 'user' / 'allocation' and their origin
(rules/panel_ids.py). A value the rules cannot follow is `derived` and never flagged:
only an id the code itself fixes is a finding.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pandas as pd

from readiness.checks.common import code_location
from readiness.checks.registry import CheckInput, Result, check, failed, passed, unverified, warned
from readiness.findings import Severity

FIXED = ("literal", "constant")
OWN_FOLDER = re.compile(r"(?:^|/)supabase/functions/([^/_.][^/]*)/")


def payload_owner(path: str) -> str:
    """The problem a payload belongs to: the function whose folder holds it, else its
    file (a shared helper imported by several functions is one place to fix)."""
    found = OWN_FOLDER.search(path)
    return f"function:{found.group(1)}" if found else f"file:{path}"


def _judge(row: pd.Series) -> tuple[str, Severity, str] | None:
    """(status, severity, what) for one id, None when it comes from the order's data."""
    how = "is the literal" if row["origin"] == "literal" else "is a constant holding"
    if row["field"] == "user" and row["origin"] in FIXED:
        what = f"every server is owned by panel user {row['value']} (`user` {how} {row['value']})"
        return "fail", Severity.CRITICAL, what
    if row["field"] == "allocation" and row["origin"] in FIXED:
        what = f"every server asks for allocation {row['value']} ({how} {row['value']})"
        return "fail", Severity.HIGH, what
    if row["field"] == "user" and row["origin"] == "env":
        what = "every server is owned by the one panel user an environment variable names"
        return "warn", Severity.HIGH, what
    if row["field"] == "allocation" and row["origin"] == "env":
        what = "every server asks for the one allocation an environment variable names"
        return "fail", Severity.HIGH, what
    return None


@check(
    id="PANEL-CODE-HARDCODED-IDS",
    area=3,
    severity=Severity.CRITICAL,
    title="Servers are created for the customer's panel user on a free allocation",
    sources=["codebase"],
    tables=["code_flow_server_payload"],
    rationale="A server-create payload with a fixed `user` gives every customer's server to "
    "one panel account, so each customer who can log in sees and controls the others' "
    "servers (cross-tenant access). A fixed allocation puts every server on one port: the "
    "panel refuses the second server, or two servers collide.",
    remediation="Take `user` from the customer's panel account (e.g. external_accounts."
    "pterodactyl_user_id for the order's user) and `allocation.default` from a free "
    "allocation fetched on the chosen node (or use `deploy` to let the panel choose).",
)
def hardcoded_ids(inp: CheckInput) -> Iterator[Result]:
    payload = inp["code_flow_server_payload"]
    if payload.empty:
        yield unverified("code:server_payload", "No server-create payload was found in the code.")
        return
    ids = payload[payload["field"].isin(["user", "allocation"])]
    ids = ids.drop_duplicates(["path", "line", "field"])
    for path in sorted(set(payload["path"].dropna())):
        res = payload_owner(str(path))
        mine = ids[ids["path"] == path]
        slugs = sorted(set(payload.loc[payload["path"] == path, "function_slug"].dropna()))
        found = False
        for _, row in mine.sort_values("line").iterrows():
            judged = _judge(row)
            if judged is None:
                continue
            found = True
            status, severity, what = judged
            make = failed if status == "fail" else warned
            yield make(
                res,
                f"{res.split(':', 1)[1]} creates panel servers where {what}.",
                location=code_location(row["path"], row["line"]),
                severity=severity,
                evidence={"field": row["field"], "origin": row["origin"], "functions": slugs},
            )
        if not found:
            sent = sorted(set(mine["field"]))
            yield passed(
                res,
                f"{res.split(':', 1)[1]} sends "
                + (f"{' and '.join(sent)} from the order's data" if sent else "no fixed id")
                + " in its server-create payload.",
                location=code_location(path, mine["line"].min() if len(mine) else None),
            )
