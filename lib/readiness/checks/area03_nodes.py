"""Area 3 — nodes and capacity: every enabled node exists in the panel, is not in
maintenance and has the memory the database believes; RAM committed by active orders per
node and region against what is left; free ports; and whether the largest plan of each
game can still be sold in each region."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pandas as pd

from readiness.checks.area02_orders import present
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

NODE_TABLES = ["db_ptero_nodes", "panel_nodes"]
CAPACITY_TABLES = ["db_ptero_nodes", "db_orders", "db_plans", "panel_nodes", "panel_allocations"]


def capacity_table(inp: CheckInput) -> pd.DataFrame:
    """One row per enabled node: the database's view of its RAM next to the panel's."""
    nodes = require_columns(
        inp["db_ptero_nodes"],
        "db_ptero_nodes",
        ["id", "region", "enabled", "max_ram_gb", "reserved_headroom_gb", "panel_node_id"],
    )
    nodes = nodes[nodes["enabled"].fillna(False).astype(bool)].copy()
    panel = inp["panel_nodes"].set_index("id")
    out = pd.DataFrame(
        {
            "node": nodes["id"].astype("Int64").to_numpy(),
            "name": nodes.get("name", nodes["id"]).astype(str).to_numpy(),
            "region": nodes["region"].astype(str).to_numpy(),
            "panel_node_id": nodes["panel_node_id"].astype("Int64").to_numpy(),
            "max_ram_gb": nodes["max_ram_gb"].astype(float).to_numpy(),
            "headroom_gb": nodes["reserved_headroom_gb"].fillna(0).astype(float).to_numpy(),
        }
    )
    out["usable_gb"] = out["max_ram_gb"] - out["headroom_gb"]
    committed = pd.Series(0.0, index=out["node"].astype(int).tolist())
    if "db_orders" in inp.tables and "db_plans" in inp.tables:
        orders = inp["db_orders"]
        ram = inp["db_plans"].set_index("id")["ram_gb"].astype(float)
        active = orders[
            orders["status"].isin(inp.config.active_statuses) & orders["node_id"].notna()
        ]
        sums = active["plan_id"].map(ram).fillna(0).groupby(active["node_id"].astype(int)).sum()
        committed = committed.add(sums, fill_value=0)
    out["committed_gb"] = out["node"].astype(int).map(committed).fillna(0).to_numpy()
    out["free_gb"] = out["usable_gb"] - out["committed_gb"]
    known = out["panel_node_id"].isin(panel.index)
    out["in_panel"] = known.to_numpy()

    def col(name: str, default: object) -> pd.Series:
        if name not in panel:
            return pd.Series(default, index=out.index)
        return out["panel_node_id"].map(panel[name]).where(known, default)

    out["maintenance"] = col("maintenance_mode", False).fillna(False).astype(bool)
    out["panel_memory_mb"] = col("memory", np.nan).astype(float)
    out["overallocate_pct"] = col("memory_overallocate", 0).fillna(0).astype(float)
    out["panel_allocated_mb"] = col("allocated_memory", np.nan).astype(float)
    limit = np.where(
        out["overallocate_pct"] < 0,
        np.inf,
        out["panel_memory_mb"] * (1 + out["overallocate_pct"] / 100),
    )
    out["panel_free_mb"] = limit - out["panel_allocated_mb"].fillna(0)
    if "panel_allocations" in inp.tables:
        allocs = inp["panel_allocations"]
        free = allocs[~allocs["assigned"].fillna(True).astype(bool)].groupby("node_id").size()
        out["free_allocations"] = out["panel_node_id"].map(free).fillna(0).astype(int)
    return out


def can_host(row: pd.Series, ram_gb: float) -> bool:
    """Could provisioning put a server of this size on the node right now?"""
    return bool(
        row["in_panel"]
        and not row["maintenance"]
        and row["free_gb"] >= ram_gb
        and row["panel_free_mb"] >= ram_gb * 1024
        and row.get("free_allocations", 1) > 0
    )


def per_panel_node(inp: CheckInput, judge: Callable[[Any], Result]) -> Iterator[Result]:
    """One verdict per enabled node the panel has (`judge` gets its capacity_table row);
    one explicit pass when the panel has none of them (PANEL-NODE-EXISTS says why)."""
    table = capacity_table(inp)
    for r in table[table["in_panel"]].itertuples():
        yield judge(r)
    if not table["in_panel"].any():
        yield passed("nodes", "No enabled node exists in the panel (see PANEL-NODE-EXISTS).")


@check(
    id="PANEL-NODE-EXISTS",
    area=3,
    severity=Severity.CRITICAL,
    title="Every enabled node exists in the panel",
    sources=["database", "pterodactyl"],
    tables=NODE_TABLES,
    rationale="Provisioning picks nodes from ptero_nodes; one the panel does not have makes "
    "every order placed on it fail.",
    remediation="Fix panel_node_id, or disable the row (enabled = false).",
)
def node_exists(inp: CheckInput) -> Iterator[Result]:
    for r in capacity_table(inp).itertuples():
        if r.in_panel:
            yield passed(f"node:{r.node}", f"Node {r.node} is panel node {r.panel_node_id}.")
        else:
            yield failed(
                f"node:{r.node}",
                f"Enabled node {r.node} ({r.name}) points at panel "
                f"node {r.panel_node_id}, which does not exist.",
            )


@check(
    id="PANEL-NODE-MAINTENANCE",
    area=3,
    severity=Severity.HIGH,
    title="No enabled node is in maintenance mode",
    sources=["database", "pterodactyl"],
    tables=NODE_TABLES,
    rationale="Servers on a node in maintenance cannot be reached or started; new ones "
    "still get placed there.",
    remediation="End the maintenance, or disable the node in ptero_nodes while it lasts.",
)
def node_maintenance(inp: CheckInput) -> Iterator[Result]:
    def judge(r: Any) -> Result:
        if r.maintenance:
            return failed(
                f"node:{r.node}",
                f"Node {r.node} ({r.name}) is enabled but in maintenance mode in the panel.",
            )
        return passed(f"node:{r.node}", f"Node {r.node} is not in maintenance.")

    return per_panel_node(inp, judge)


@check(
    id="PANEL-NODE-MEMORY",
    area=3,
    severity=Severity.HIGH,
    title="Each node's RAM in the database agrees with the panel",
    sources=["database", "pterodactyl"],
    tables=NODE_TABLES,
    rationale="Capacity is computed from max_ram_gb; if the panel node is smaller the "
    "platform sells RAM the node does not have.",
    remediation="Set max_ram_gb to the panel node's memory (or raise the node's memory).",
)
def node_memory(inp: CheckInput) -> Iterator[Result]:
    def judge(r: Any) -> Result:
        db_mb = r.max_ram_gb * 1024
        allowed = (
            np.inf if r.overallocate_pct < 0 else r.panel_memory_mb * (1 + r.overallocate_pct / 100)
        )
        res = f"node:{r.node}"
        evidence = {
            "db_mb": db_mb,
            "panel_mb": r.panel_memory_mb,
            "overallocate_pct": r.overallocate_pct,
        }
        if db_mb <= r.panel_memory_mb:
            return passed(
                res,
                f"Node {r.node}: {r.max_ram_gb:.0f} GB in the database, "
                f"{r.panel_memory_mb / 1024:.0f} GB in the panel.",
                evidence=evidence,
            )
        if db_mb <= allowed:
            return warned(
                res,
                f"Node {r.node}: the database counts {r.max_ram_gb:.0f} GB, more than "
                f"the panel's {r.panel_memory_mb / 1024:.0f} GB; only overallocation "
                "covers it.",
                evidence=evidence,
            )
        return failed(
            res,
            f"Node {r.node}: the database counts {r.max_ram_gb:.0f} GB but the "
            f"panel node has {r.panel_memory_mb / 1024:.0f} GB.",
            evidence=evidence,
        )

    return per_panel_node(inp, judge)


@check(
    id="PANEL-CAPACITY-NODE",
    area=3,
    severity=Severity.HIGH,
    title="RAM committed per node fits, and matches what the panel has allocated",
    sources=["database", "pterodactyl"],
    tables=CAPACITY_TABLES,
    optional_tables=["panel_servers"],
    rationale="Orders in the active statuses hold RAM; beyond max − headroom a node is "
    "oversold. A panel allocation that differs from the orders means servers the platform "
    "does not count (or orders without servers).",
    remediation="Stop selling on the node, add capacity, or reconcile the servers with the "
    "orders (see FLOW-SERVER-ORPHAN / FLOW-SERVER-NODE).",
)
def capacity_node(inp: CheckInput) -> Iterator[Result]:
    pct = inp.config.thresholds.capacity_headroom_pct
    for r in capacity_table(inp).itertuples():
        res = f"node:{r.node}"
        evidence = {
            "committed_gb": r.committed_gb,
            "usable_gb": r.usable_gb,
            "panel_allocated_mb": None if pd.isna(r.panel_allocated_mb) else r.panel_allocated_mb,
        }
        text = f"Node {r.node}: {r.committed_gb:.0f} of {r.usable_gb:.0f} GB committed"
        if r.committed_gb > r.usable_gb:
            yield failed(
                res,
                f"{text}: oversold by {r.committed_gb - r.usable_gb:.0f} GB.",
                evidence=evidence,
            )
        elif r.usable_gb > 0 and r.free_gb < r.usable_gb * pct / 100:
            yield warned(res, f"{text}: under {pct:g}% free.", evidence=evidence)
        elif present(r.panel_allocated_mb) and r.panel_allocated_mb != r.committed_gb * 1024:
            yield warned(
                res,
                f"{text}, but the panel has {r.panel_allocated_mb / 1024:.0f} GB "
                "allocated to servers on it.",
                evidence=evidence,
                cause=disagreement_causes(inp, r.node, r.panel_node_id),
            )
        else:
            yield passed(res, f"{text}; the panel agrees.", evidence=evidence)


def disagreement_causes(inp: CheckInput, node: int, panel_node: object) -> list[tuple[str, str]]:
    """Why the panel's allocation on a node may differ from what its orders commit: a
    server no order accounts for sits there, an order's server is missing, sits on
    another node or has other RAM (the FLOW-SERVER-* problems, by their resources)."""
    out: list[tuple[str, str]] = []
    servers = inp.tables.get("panel_servers")
    if servers is not None and {"id", "node_id"} <= set(servers.columns) and present(panel_node):
        here = servers[servers["node_id"].astype("Int64") == int(panel_node)]  # type: ignore[arg-type]
        out += [("FLOW-SERVER-ORPHAN", f"server:{sid}") for sid in here["id"]]
        if "external_id" in here:
            ext = here["external_id"][here["external_id"].map(present)]
            out += [("FLOW-SERVER-NODE", f"order:{o}") for o in ext]
    orders = inp["db_orders"]
    mine = orders[
        orders["status"].isin(inp.config.active_statuses)
        & (orders["node_id"].astype("Int64") == node).fillna(False)
    ]
    for oid in mine["id"]:
        out += [(c, f"order:{oid}") for c in SERVER_CHECKS]
    return list(dict.fromkeys(out))


SERVER_CHECKS = ("FLOW-SERVER-MISSING", "FLOW-SERVER-NODE", "FLOW-SERVER-MEMORY")


@check(
    id="PANEL-CAPACITY-REGION",
    area=3,
    severity=Severity.HIGH,
    title="The largest plan of each game can still be sold in each region",
    sources=["database", "pterodactyl"],
    tables=CAPACITY_TABLES,
    rationale="When no node in a region has room (RAM in the database and the panel, a free "
    "port, not in maintenance) a customer can pay for a plan that will end in error.",
    remediation="Add a node or RAM to the region, or hide the plans that no longer fit.",
)
def capacity_region(inp: CheckInput) -> Iterator[Result]:
    table = capacity_table(inp)
    plans = inp["db_plans"]
    sold = plans[plans["active"].fillna(False).astype(bool) & plans["game"].notna()]
    largest = sold.groupby("game")["ram_gb"].max().astype(float)
    for region, nodes in table.groupby("region", sort=True):
        blocked = sorted(
            g
            for g, ram in largest.items()
            if not any(can_host(n, ram) for _, n in nodes.iterrows())
        )
        res = f"region:{region}"
        best = nodes["free_gb"].max()
        if blocked:
            yield failed(
                res,
                f"{region}: no node can take the largest plan of "
                f"{', '.join(blocked)} (best free: {best:.0f} GB).",
                evidence={"games": blocked, "largest_gb": {g: largest[g] for g in blocked}},
            )
        else:
            yield passed(
                res, f"{region}: every game's largest plan still fits (best free {best:.0f} GB)."
            )


@check(
    id="PANEL-NODE-ALLOCATIONS",
    area=3,
    severity=Severity.MEDIUM,
    title="Every enabled node has free allocations (ports)",
    sources=["database", "pterodactyl"],
    tables=CAPACITY_TABLES,
    rationale="A server needs a free allocation; a node without one cannot take any order, "
    "whatever its RAM.",
    remediation="Add allocations (ports) to the node in the panel.",
)
def node_allocations(inp: CheckInput) -> Iterator[Result]:
    low = inp.config.thresholds.min_free_allocations

    def judge(r: Any) -> Result:
        res = f"node:{r.node}"
        if r.free_allocations == 0:
            return failed(res, f"Node {r.node} ({r.name}) has no free allocation.")
        if r.free_allocations < low:
            return warned(res, f"Node {r.node} has only {r.free_allocations} free allocations.")
        return passed(res, f"Node {r.node} has {r.free_allocations} free allocations.")

    return per_panel_node(inp, judge)
