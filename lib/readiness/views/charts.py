"""The report's charts, as data: problems by area × severity, orders along the purchase
flow, memory per region. Each returns a DataFrame that is empty when its data was not
collected, and `plot` draws it or says in one line what is missing, never crashing, so a
report on a half-read platform still renders."""

from __future__ import annotations

import pandas as pd

from readiness.checks.registry import AREAS
from readiness.findings import SEVERITY_ORDER, Finding
from readiness.views.problems import PROBLEM_STATUSES
from readiness.workbook import Audit

# the order an order's status moves along when all goes well; anything else fell off
ORDER_FLOW = ["pending", "paid", "provisioning", "installing", "provisioned", "active"]
SEVERITY_COLORS = {
    "critical": "#cf222e",
    "high": "#fb8500",
    "medium": "#e9c46a",
    "low": "#8ecae6",
    "info": "#bbbbbb",
}


def problems_by_area_severity(findings: list[Finding]) -> pd.DataFrame:
    """Problems (fail, warn, not verified, waived) per area, one column per severity."""
    rows = [
        {"area": f"{f.area}. {AREAS.get(f.area, '')}", "severity": str(f.severity)}
        for f in findings
        if f.status in PROBLEM_STATUSES
    ]
    if not rows:
        return pd.DataFrame()
    df = pd.DataFrame(rows)
    table = pd.crosstab(df["area"], df["severity"])
    cols = [str(s) for s in SEVERITY_ORDER if str(s) in table.columns]
    order = sorted(table.index, key=lambda a: int(a.split(".")[0]))
    return table.reindex(index=order, columns=cols)


def order_flow(orders: pd.DataFrame | None) -> pd.DataFrame:
    """Orders per status: the happy path in flow order, then every status off it (error,
    canceled, ...), with `on_flow` telling which is which. Empty when not collected."""
    if orders is None or "status" not in orders:
        return pd.DataFrame(columns=["orders", "on_flow"])
    counts = orders["status"].astype(str).value_counts()
    flow = [s for s in ORDER_FLOW if s in counts.index]
    off = sorted(s for s in counts.index if s not in ORDER_FLOW)
    return pd.DataFrame(
        {
            "orders": [int(counts[s]) for s in flow + off],
            "on_flow": [True] * len(flow) + [False] * len(off),
        },
        index=pd.Index(flow + off, name="status"),
    )


def orders_flow(audit: Audit) -> pd.DataFrame:
    return order_flow(audit.snapshot.table("db_orders"))


def memory_by_region(audit: Audit) -> pd.DataFrame:
    """Per region: RAM committed to active orders, still free and reserved as headroom
    (together the nodes' total unless over-committed), in GB. Empty when nodes were not
    collected."""
    from readiness.views.area03 import capacity

    cap = capacity(audit)
    if "committed_gb" not in cap or cap.empty:
        return pd.DataFrame()
    return region_memory(cap)


def region_memory(cap: pd.DataFrame) -> pd.DataFrame:
    """`capacity`'s per-node rows summed by region. Over-committed RAM shows in its own
    column so the bars still add up to what was sold."""
    g = cap.groupby("region")
    usable = g["usable_gb"].sum()
    committed = g["committed_gb"].sum()
    return pd.DataFrame(
        {
            "committed": committed.clip(upper=usable),
            "over-committed": (committed - usable).clip(lower=0),
            "free": (usable - committed).clip(lower=0),
            "reserved headroom": g["headroom_gb"].sum(),
        }
    ).astype(float)


def plot(df: pd.DataFrame | None, empty: str, **kwargs: object):  # noqa: ANN201 - Axes or None
    """Draw `df` as a horizontal bar chart, or show the one line `empty` when there is
    nothing to draw (not collected, or nothing to count)."""
    from IPython.display import display

    numbers = None if df is None else df.select_dtypes("number")
    if numbers is None or numbers.empty or not numbers.to_numpy().sum():
        display({"text/markdown": f"*{empty}*", "text/plain": empty}, raw=True)
        return None
    ax = numbers.plot.barh(**kwargs)
    ax.invert_yaxis()
    if ax.get_legend() is not None:  # beside the bars, never over them
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), frameon=False, fontsize=9)
    ax.figure.tight_layout()
    return ax


def plot_problems(audit: Audit):  # noqa: ANN201 - Axes or None
    df = problems_by_area_severity(audit.findings)
    colors = [SEVERITY_COLORS[c] for c in df.columns]
    return plot(
        df,
        "No problems to chart.",
        stacked=True,
        color=colors,
        figsize=(9, 3.6),
        title="Problems by area and severity",
        xlabel="problems",
        ylabel="",
    )


def plot_order_flow(audit: Audit):  # noqa: ANN201 - Axes or None
    """Orders along the flow in blue, fallen off it (error, canceled, ...) in red."""
    flow = orders_flow(audit)
    ax = plot(
        flow[["orders"]],
        "Not collected: the orders table was not read.",
        legend=False,
        color="#4c72b0",
        figsize=(8, 2.8),
        title="Orders by status, along the purchase flow",
        xlabel="orders",
        ylabel="",
    )
    if ax is not None:
        for bar, on_flow in zip(ax.patches, flow["on_flow"], strict=False):
            bar.set_color("#4c72b0" if on_flow else "#c44e52")
    return ax


MEMORY_COLORS = {
    "committed": "#4c72b0",
    "over-committed": "#c44e52",
    "free": "#55a868",
    "reserved headroom": "#bbbbbb",
}


def plot_memory(audit: Audit):  # noqa: ANN201 - Axes or None
    df = memory_by_region(audit)
    if "over-committed" in df and not df["over-committed"].any():
        df = df.drop(columns="over-committed")  # no empty legend entry
    return plot(
        df,
        "Not collected: nodes were not read from both the database and the panel.",
        stacked=True,
        color=[MEMORY_COLORS[c] for c in df.columns],
        figsize=(8, 2.6),
        title="RAM per region (GB): committed to active orders, free, reserved",
        xlabel="GB",
        ylabel="",
    )
