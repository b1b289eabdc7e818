"""Area 3 views: capacity per node and headroom per region (database next to panel), and
the egg per game as expected, in the code and in the panel."""

from __future__ import annotations

import pandas as pd

from readiness.workbook import Audit

CAPACITY_INPUTS = ("db_ptero_nodes", "db_orders", "db_plans", "panel_nodes", "panel_allocations")


def capacity(audit: Audit) -> pd.DataFrame:
    """One row per enabled node: usable, committed and free RAM, and the panel's numbers."""
    from readiness.checks.area03_nodes import capacity_table

    inp = audit.check_input(*CAPACITY_INPUTS)
    if not {"db_ptero_nodes", "panel_nodes"} <= set(inp.tables):
        return pd.DataFrame({"note": ["nodes were not collected from both the DB and the panel"]})
    return capacity_table(inp)


def node_stack(audit: Audit) -> pd.DataFrame:
    """Committed / free / reserved GB per node, ready for a stacked bar chart."""
    cap = capacity(audit)
    if "committed_gb" not in cap:
        return cap
    return pd.DataFrame(
        {
            "committed": cap["committed_gb"].to_numpy(),
            "free": cap["free_gb"].clip(lower=0).to_numpy(),
            "reserved headroom": cap["headroom_gb"].to_numpy(),
        },
        index=[f"{n} ({r})" for n, r in zip(cap["node"], cap["region"], strict=True)],
    )


def region_headroom(audit: Audit) -> pd.DataFrame:
    """Per region: usable, committed, free GB and the most free on one node."""
    cap = capacity(audit)
    if "committed_gb" not in cap:
        return cap
    sellable = cap[cap["in_panel"] & ~cap["maintenance"]]
    out = cap.groupby("region").agg(
        nodes=("node", "count"),
        usable_gb=("usable_gb", "sum"),
        committed_gb=("committed_gb", "sum"),
        free_gb=("free_gb", "sum"),
    )
    out["largest_free_on_a_node_gb"] = sellable.groupby("region")["free_gb"].max()
    return out.fillna(0)


def eggs(audit: Audit) -> pd.DataFrame:
    """Per game: expected egg, the code's egg, the panel's egg name, image and variables."""
    inp = audit.check_input(
        "code_flow_egg_map", "code_flow_server_payload", "panel_eggs", "panel_egg_variables"
    )
    catalog = audit.config.catalog
    games = list(catalog.games) if catalog else []
    code = inp.tables.get("code_flow_egg_map", pd.DataFrame(columns=["game", "egg_id"]))
    payload = inp.tables.get(
        "code_flow_server_payload", pd.DataFrame(columns=["game", "field", "value"])
    )
    panel = inp.tables.get("panel_eggs", pd.DataFrame(columns=["id", "name"]))
    names = dict(zip(panel["id"], panel["name"], strict=True))
    rows = []
    for game in games:
        code_egg = code.loc[code["game"] == game, "egg_id"]
        image = payload[(payload["game"] == game) & (payload["field"] == "docker_image")]
        env = payload[(payload["game"] == game) & (payload["field"] == "environment")]
        egg = int(code_egg.iloc[0]) if len(code_egg) and pd.notna(code_egg.iloc[0]) else None
        rows.append(
            {
                "game": game,
                "expected_egg": catalog.games[game].egg_id if catalog else None,
                "code_egg": egg,
                "panel_name": names.get(egg, "— not in panel —") if egg else None,
                "image_sent": image["value"].iloc[0] if len(image) else None,
                "variables_sent": ", ".join(sorted(env["value"].dropna())),
            }
        )
    return pd.DataFrame(rows)


def plot_node_stack(audit: Audit):  # noqa: ANN201 - a matplotlib Axes, or a note
    """Stacked committed / free / reserved RAM per node (a note when nodes are missing)."""
    stack = node_stack(audit)
    if stack.empty or "committed" not in stack:
        return stack
    ax = stack.astype(float).plot.barh(
        stacked=True,
        figsize=(9, 4),
        title="RAM per node (GB)",
        color=["#c44e52", "#55a868", "#bbbbbb"],
    )
    ax.set_xlabel("GB")
    return ax


def plot_region_headroom(audit: Audit):  # noqa: ANN201 - a matplotlib Axes, or a note
    """Free RAM per region and the most free on one node (what the largest plan needs)."""
    regions = region_headroom(audit)
    if regions.empty or "free_gb" not in regions:
        return regions
    ax = (
        regions[["free_gb", "largest_free_on_a_node_gb"]]
        .astype(float)
        .plot.bar(figsize=(8, 4), title="Free RAM per region (GB)")
    )
    ax.set_ylabel("GB")
    return ax
