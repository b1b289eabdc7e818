"""Area 3 — customers' panel accounts (`external_accounts` ↔ panel users), and the two
panel-facing code rules: the capacity query counts every active status, and user creation
never resets an existing panel user's password."""

from __future__ import annotations

from collections.abc import Iterator

from readiness.checks.area02_orders import present
from readiness.checks.common import code_location
from readiness.checks.registry import (
    CheckInput,
    Result,
    check,
    failed,
    passed,
    require_columns,
    warned,
)
from readiness.findings import Severity

ACCOUNT_TABLES = ["db_external_accounts", "panel_users"]


def _mapping(inp: CheckInput) -> dict[str, int]:
    rows = require_columns(
        inp["db_external_accounts"], "db_external_accounts", ["user_id", "pterodactyl_user_id"]
    )
    return {
        str(r.user_id): int(r.pterodactyl_user_id)
        for r in rows.itertuples()
        if present(r.pterodactyl_user_id)
    }


def _panel_users(inp: CheckInput) -> dict[int, object]:
    users = require_columns(inp["panel_users"], "panel_users", ["id", "email", "external_id"])
    return {int(u.id): u for u in users.itertuples() if present(u.id)}


@check(
    id="PANEL-ACCOUNT-MAPPED",
    area=3,
    severity=Severity.HIGH,
    title="Every paying customer is mapped to a panel account",
    sources=["database"],
    tables=["db_orders", "db_external_accounts"],
    rationale="Provisioning needs the customer's panel user; without the mapping the "
    "server cannot be created (or is created for nobody).",
    remediation="Run create-pterodactyl-user for the customer (or link their existing panel "
    "user) and re-provision their orders.",
)
def account_mapped(inp: CheckInput) -> Iterator[Result]:
    orders = require_columns(inp["db_orders"], "db_orders", ["user_id", "status"])
    mapping = _mapping(inp)
    paying = sorted({str(u) for u in orders.loc[orders["status"] != "pending", "user_id"]})
    missing = [u for u in paying if u not in mapping]
    for user in missing:
        statuses = sorted(set(orders.loc[orders["user_id"] == user, "status"].astype(str)))
        yield failed(
            f"user:{user}",
            f"Customer {user} has orders ({', '.join(statuses)}) but no external_accounts row.",
        )
    if not missing:
        yield passed("external_accounts", f"All {len(paying)} paying customers are mapped.")


@check(
    id="PANEL-ACCOUNT-EXISTS",
    area=3,
    severity=Severity.HIGH,
    title="Every mapped panel user exists",
    sources=["database", "pterodactyl"],
    tables=ACCOUNT_TABLES,
    rationale="A mapping to a deleted panel user makes provisioning fail for that customer "
    "and hides their servers.",
    remediation="Re-create or re-link the panel user and update external_accounts.",
)
def account_exists(inp: CheckInput) -> Iterator[Result]:
    mapping, users = _mapping(inp), _panel_users(inp)
    missing = {u: p for u, p in mapping.items() if p not in users}
    for user, panel_id in sorted(missing.items()):
        yield failed(
            f"user:{user}",
            f"Customer {user} is mapped to panel user {panel_id}, which does not exist.",
        )
    if not missing:
        yield passed("external_accounts", f"All {len(mapping)} mapped panel users exist.")


@check(
    id="PANEL-ACCOUNT-EMAIL",
    area=3,
    severity=Severity.MEDIUM,
    title="Each customer's panel account has the customer's email",
    sources=["database", "pterodactyl"],
    tables=[*ACCOUNT_TABLES, "db_auth_users"],
    rationale="Password resets and panel notices go to the panel's email; a different one "
    "sends them to someone else (or to nobody).",
    remediation="Update the panel user's email to the customer's (without touching the password).",
)
def account_email(inp: CheckInput) -> Iterator[Result]:
    mapping, users = _mapping(inp), _panel_users(inp)
    emails = {
        str(u.id): str(u.email) for u in inp["db_auth_users"].itertuples() if present(u.email)
    }
    bad = 0
    for user, panel_id in sorted(mapping.items()):
        if panel_id not in users or user not in emails:
            continue
        panel_email = str(users[panel_id].email)
        if panel_email.strip().casefold() != emails[user].strip().casefold():
            bad += 1
            # one panel account claimed by two customers has one of their emails at most
            yield failed(
                f"user:{user}",
                f"Customer {user}'s panel user {panel_id} has another email than the customer.",
                cause=("PANEL-ACCOUNT-SHARED", f"panel_user:{panel_id}"),
            )
    if not bad:
        yield passed("external_accounts", "Every mapped panel user has the customer's email.")


@check(
    id="PANEL-ACCOUNT-SHARED",
    area=3,
    severity=Severity.HIGH,
    title="No panel account is claimed by two customers",
    sources=["database", "pterodactyl"],
    tables=ACCOUNT_TABLES,
    rationale="When two customers map to one panel account (in external_accounts or through "
    "the panel user's external_id) each sees and controls the other's servers.",
    remediation="Give each customer their own panel user and fix external_accounts and the "
    "panel users' external_id.",
)
def account_shared(inp: CheckInput) -> Iterator[Result]:
    mapping, users = _mapping(inp), _panel_users(inp)
    claims: dict[int, set[str]] = {}
    for user, panel_id in mapping.items():
        claims.setdefault(panel_id, set()).add(user)
    for panel_id, u in users.items():
        if present(u.external_id):
            claims.setdefault(panel_id, set()).add(str(u.external_id))
    bad = 0
    for panel_id, owners in sorted(claims.items()):
        if len(owners) > 1:
            bad += 1
            yield failed(
                f"panel_user:{panel_id}",
                f"Panel user {panel_id} is claimed by "
                f"{len(owners)} customers: {', '.join(sorted(owners))}.",
            )
    if not bad:
        yield passed("panel_users", f"Each of the {len(claims)} panel accounts has one owner.")


@check(
    id="PANEL-CODE-CAPACITY",
    area=3,
    severity=Severity.HIGH,
    title="The capacity query counts every active order status",
    sources=["codebase"],
    tables=["code_flow_capacity_queries"],
    rationale="Orders in a status the query leaves out hold RAM that the next order is "
    "promised again: nodes get oversold.",
    remediation="Count every active status (params active_statuses) in the query, ideally "
    "from one shared constant.",
)
def code_capacity(inp: CheckInput) -> Iterator[Result]:
    queries = inp["code_flow_capacity_queries"]
    queries = queries[queries["function_slug"].notna()]
    wanted = list(inp.config.active_statuses)
    if queries.empty:
        yield warned(
            "code:capacity",
            "No query counting orders per node was found in the "
            "edge functions: capacity may not be checked before provisioning.",
        )
        return
    for slug, group in queries.groupby("function_slug", sort=True):
        res = f"function:{slug}"
        for q in group.itertuples():
            loc = code_location(q.path, q.line)
            if not q.resolved:
                yield warned(
                    res,
                    f"The status list of the capacity query in {slug} is not a "
                    "literal list the audit can read.",
                    location=loc,
                )
                continue
            counted = set(str(q.statuses).split(","))
            missing = [s for s in wanted if s not in counted]
            if missing:
                yield failed(
                    res,
                    f"The capacity query in {slug} does not count {', '.join(missing)} orders.",
                    location=loc,
                    evidence={"counted": sorted(counted), "active_statuses": wanted},
                )
            else:
                yield passed(
                    res, f"The capacity query in {slug} counts every active status.", location=loc
                )


@check(
    id="PANEL-CODE-PASSWORD",
    area=3,
    severity=Severity.HIGH,
    title="Panel account creation never resets an existing user's password",
    sources=["codebase"],
    tables=["code_flow_panel_user_writes"],
    rationale="Sending a password to an existing panel user (PATCH/PUT /users/{id}) locks "
    "the customer out of the panel they already use.",
    remediation="Link an existing panel user as it is; set a password only when creating a "
    "new user (or let the panel email a set-password link).",
)
def code_password(inp: CheckInput) -> Iterator[Result]:
    writes = inp["code_flow_panel_user_writes"]
    writes = writes[writes["function_slug"].notna()]
    if writes.empty:
        yield passed("code:panel_users", "No edge function writes panel users.")
        return
    for slug, group in writes.groupby("function_slug", sort=True):
        res = f"function:{slug}"
        resets = group[
            group["method"].isin(["PATCH", "PUT"])
            & group["existing_user"].fillna(False).astype(bool)
            & group["sends_password"].fillna(False).astype(bool)
        ]
        if not resets.empty:
            r = resets.iloc[0]
            yield failed(
                res,
                f"{slug} sends a password in a {r['method']} to {r['url_expr']}: "
                "an existing panel user's password is reset.",
                location=code_location(r["path"], r["line"]),
                # when the user's id is one the customer wrote, the reset is the takeover
                cause=("SEC-PATH-PANEL-ID-TAKEOVER", res),
            )
        else:
            first = group.iloc[0]
            yield passed(
                res,
                f"{slug} writes panel users ({', '.join(sorted(set(group['method'])))}"
                ") without resetting an existing password.",
                location=code_location(first["path"], first["line"]),
            )
