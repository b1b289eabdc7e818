"""Area 2 — delivered orders against the panel: the server each order paid for (exists,
right owner, node, egg, memory) and servers nobody paid for (subscriptions against orders
are area02_subscriptions)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from readiness.checks.area02_orders import CLOSED, ids, present, present_mask
from readiness.checks.common import rows
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

DELIVERED = ("installing", "provisioned", "active")
SERVER_TABLES = ["db_orders", "db_plans", "db_external_accounts", "db_ptero_nodes", "panel_servers"]


def _int(value: Any) -> int | None:
    return int(value) if present(value) else None


def expected_egg(plan: Any, inp: CheckInput) -> int | None:
    """The egg a plan's servers must run: the plan's egg_id, else the catalogue's."""
    egg = _int(getattr(plan, "egg_id", None)) if plan is not None else None
    catalog = inp.config.catalog
    if egg is None and plan is not None and catalog and str(plan.game) in catalog.games:
        egg = catalog.games[str(plan.game)].egg_id
    return egg


def server_for(order: Any, by_id: dict[int, Any], by_ext: dict[str, Any]) -> Any:
    """The panel server of an order: by the id the order stored, else by external_id."""
    sid = _int(getattr(order, "pterodactyl_server_id", None))
    if sid is not None and sid in by_id:
        return by_id[sid]
    return by_ext.get(str(order.id))


def delivered_orders(inp: CheckInput) -> list[dict[str, Any]]:
    """Each delivered order with its plan, mapped panel user, node and panel server."""
    orders = require_columns(inp["db_orders"], "db_orders", ["id", "user_id", "plan_id", "status"])
    servers = require_columns(
        inp["panel_servers"],
        "panel_servers",
        ["id", "external_id", "user_id", "node_id", "egg_id", "memory"],
    )
    plans = {str(p.id): p for p in rows(inp["db_plans"])}
    mapping = {
        str(a.user_id): _int(a.pterodactyl_user_id) for a in rows(inp["db_external_accounts"])
    }
    nodes = {_int(n.id): _int(n.panel_node_id) for n in rows(inp["db_ptero_nodes"])}
    server_rows = list(rows(servers))
    by_id = {_int(s.id): s for s in server_rows}
    by_ext = {str(s.external_id): s for s in server_rows if present(s.external_id)}
    delivered = []
    for o in rows(orders[orders["status"].isin(DELIVERED)]):
        plan = plans.get(str(o.plan_id))
        node_id = _int(getattr(o, "node_id", None))
        delivered.append(
            {
                "order": o,
                "plan": plan,
                "server": server_for(o, by_id, by_ext),
                "panel_user": mapping.get(str(o.user_id)),
                "mapped": str(o.user_id) in mapping,
                "panel_node": nodes.get(node_id) if node_id is not None else None,
                "egg": expected_egg(plan, inp),
                "memory": int(plan.ram_gb) * 1024
                if plan is not None and present(plan.ram_gb)
                else None,
            }
        )
    return delivered


Aspect = Callable[[dict[str, Any]], tuple[str, str] | None]


def _owner(r: dict[str, Any]) -> tuple[str, str] | None:
    if not r["mapped"]:
        return "warn", "the customer has no external_accounts mapping to compare with"
    if _int(r["server"].user_id) != r["panel_user"]:
        return "fail", (
            f"server {r['server'].id} belongs to panel user {r['server'].user_id}, "
            f"the customer is panel user {r['panel_user']}"
        )
    return None


def _node(r: dict[str, Any]) -> tuple[str, str] | None:
    if r["panel_node"] is None:
        return "warn", "the order names no node (or an unknown one)"
    if _int(r["server"].node_id) != r["panel_node"]:
        return "fail", (
            f"server {r['server'].id} is on panel node {r['server'].node_id}, the "
            f"order says node {r['panel_node']}"
        )
    return None


def _egg(r: dict[str, Any]) -> tuple[str, str] | None:
    if r["egg"] is None:
        return "warn", "no expected egg for the plan's game"
    if _int(r["server"].egg_id) != r["egg"]:
        return (
            "fail",
            f"server {r['server'].id} runs egg {r['server'].egg_id}, the plan's "
            f"game uses egg {r['egg']}",
        )
    return None


def _memory(r: dict[str, Any]) -> tuple[str, str] | None:
    if r["memory"] is None:
        return "warn", "the plan has no RAM size"
    if _int(r["server"].memory) != r["memory"]:
        return "fail", (
            f"server {r['server'].id} has a {r['server'].memory} MiB limit, the "
            f"plan sells {r['memory']} MiB"
        )
    return None


# what another check's problem an aspect's finding on one delivered order may follow from
Because = Callable[[CheckInput, dict[str, Any]], list[tuple[str, str]]]


def _no_cause(_inp: CheckInput, _r: dict[str, Any]) -> list[tuple[str, str]]:
    return []


def _unmapped(_inp: CheckInput, r: dict[str, Any]) -> list[tuple[str, str]]:
    """No panel user to compare the owner with: PANEL-ACCOUNT-MAPPED's customer."""
    return [] if r["mapped"] else [("PANEL-ACCOUNT-MAPPED", f"user:{r['order'].user_id}")]


def _egg_mapped(inp: CheckInput, r: dict[str, Any]) -> list[tuple[str, str]]:
    """The server runs exactly the egg the code's egg map sends for its game: the map is
    wrong (PANEL-EGG-MAP's problem for that game), not this one server."""
    code = inp.tables.get("code_flow_egg_map")
    game = getattr(r["plan"], "game", None)
    if code is None or not present(game) or code.empty:
        return []
    mine = code[code["game"].isin([str(game), "*"])]["egg_id"].dropna()
    sent = _int(mine.iloc[0]) if not mine.empty else None
    if sent is None or sent != _int(r["server"].egg_id):
        return []
    return [("PANEL-EGG-MAP", f"game:{game}")]


def _judge(
    inp: CheckInput, aspect: Aspect | None, what: str, because: Because | None = None
) -> Iterator[Result]:
    rows = inp.shared("delivered_orders", lambda: delivered_orders(inp))
    bad = 0
    for r in rows:
        o = r["order"]
        if aspect is None:
            if r["server"] is None:
                bad += 1
                yield failed(
                    f"order:{o.id}",
                    f"Order {o.id} is '{o.status}' but the panel has no "
                    "server for it (by id or external_id).",
                    evidence={
                        "pterodactyl_server_id": _int(getattr(o, "pterodactyl_server_id", None))
                    },
                )
            continue
        if r["server"] is None:
            continue  # reported by FLOW-SERVER-MISSING
        verdict = aspect(r)
        if verdict is not None:
            bad += 1
            make = failed if verdict[0] == "fail" else warned
            yield make(
                f"order:{o.id}",
                f"Order {o.id}: {verdict[1]}.",
                evidence={"server": _int(r["server"].id)},
                cause=(because or _no_cause)(inp, r),
            )
    if not bad:
        yield passed("orders:delivered", f"All {len(rows)} delivered orders: {what}.")


def _server_check(
    id: str,
    title: str,
    aspect: Aspect | None,
    what: str,
    why: str,
    because: Because | None = None,
    optional: tuple[str, ...] = (),
) -> None:
    def run(inp: CheckInput) -> Iterator[Result]:
        yield from _judge(inp, aspect, what, because)

    run.__name__ = id.lower().replace("-", "_")
    check(
        id=id,
        area=2,
        severity=Severity.CRITICAL if aspect is None else Severity.HIGH,
        title=title,
        sources=["database", "pterodactyl"],
        tables=SERVER_TABLES,
        optional_tables=optional,
        rationale=why,
        remediation="Reconcile the order with the panel: create or fix the server (owner, "
        "node, egg, limits) or correct the order, then find the step that diverged.",
    )(run)


_server_check(
    "FLOW-SERVER-MISSING",
    "Every delivered order has its panel server",
    None,
    "a panel server exists",
    "A provisioned order without a server is a paying customer with nothing to play on.",
)
_server_check(
    "FLOW-SERVER-OWNER",
    "Each order's server belongs to the customer's panel user",
    _owner,
    "servers belong to the customer's panel user",
    "A server owned by another panel account is invisible to its buyer and visible to a stranger.",
    _unmapped,
)
_server_check(
    "FLOW-SERVER-NODE",
    "Each order's server is on the node the order records",
    _node,
    "servers sit on the order's node",
    "Capacity is counted by the order's node; a server elsewhere makes both nodes' numbers wrong.",
)
_server_check(
    "FLOW-SERVER-EGG",
    "Each order's server runs the plan's game egg",
    _egg,
    "servers run the plan's egg",
    "A server built from another egg is another game.",
    _egg_mapped,
    ("code_flow_egg_map",),
)
_server_check(
    "FLOW-SERVER-MEMORY",
    "Each order's server has the plan's RAM",
    _memory,
    "servers have the plan's memory limit",
    "Less RAM than sold short-changes the "
    "customer; more gives capacity away and oversells the node.",
)


@check(
    id="FLOW-SERVER-ORPHAN",
    area=2,
    severity=Severity.MEDIUM,
    title="Every panel server is accounted for by a live order",
    sources=["database", "pterodactyl"],
    tables=["db_orders", "panel_servers"],
    rationale="A server no order accounts for uses node capacity the audit (and the "
    "provisioning code) does not count, and may run for free.",
    remediation="Delete or suspend the server, or record the order it belongs to.",
)
def server_orphan(inp: CheckInput) -> Iterator[Result]:
    orders = require_columns(inp["db_orders"], "db_orders", ["id", "status"])
    servers = require_columns(inp["panel_servers"], "panel_servers", ["id", "external_id"])
    # only the two columns needed, looked up by id: no row objects for 200,000 orders
    small = orders[["id", "status"]].assign(id=orders["id"].astype(str))
    by_order = {o.id: o for o in rows(small, index=False)}
    by_server = {}
    if "pterodactyl_server_id" in orders:
        linked = present_mask(orders["pterodactyl_server_id"])
        by_server = {
            _int(sid): by_order[str(oid)]
            for sid, oid in zip(
                orders.loc[linked, "pterodactyl_server_id"], orders.loc[linked, "id"], strict=True
            )
        }
    bad = 0
    for s in rows(servers):
        order = by_server.get(_int(s.id)) or by_order.get(str(s.external_id))
        if order is None:
            bad += 1
            yield failed(
                f"server:{s.id}",
                f"Panel server {s.id} ({s.name}) belongs to no order "
                f"(external_id {s.external_id if present(s.external_id) else 'empty'}).",
                evidence={"node": _int(s.node_id), "memory": _int(s.memory)},
            )
        elif order.status in CLOSED:
            bad += 1
            yield warned(
                f"server:{s.id}",
                f"Panel server {s.id} still exists for {order.status} order {order.id}.",
            )
    if not bad:
        yield passed("panel:servers", f"All {len(servers)} panel servers belong to live orders.")


__all__ = ["DELIVERED", "delivered_orders", "expected_egg", "ids"]
