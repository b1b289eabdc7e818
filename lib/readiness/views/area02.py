"""Area 2 views: the purchase funnel (sessions → orders → provisioned → running) and every
order or payment that fell out of it, with the reason."""

from __future__ import annotations

import pandas as pd

from readiness.workbook import Audit

FUNNEL = ["paid checkout sessions", "orders recorded", "provisioned", "running"]


def funnel_table(audit: Audit) -> pd.DataFrame:
    """Per paid session in the look-back window: its order, order status and server state."""
    from readiness.checks.area02_orders import paid_sessions
    from readiness.checks.area02_reconcile import DELIVERED

    inp = audit.check_input("stripe_checkout_sessions", "db_orders", "panel_servers")
    if "stripe_checkout_sessions" not in inp.tables or "db_orders" not in inp.tables:
        return pd.DataFrame(columns=["session", "order", "status", "stage", "reason"])
    sessions = paid_sessions(inp)
    orders = inp["db_orders"]
    by_session = {str(o.stripe_checkout_session_id): o for o in orders.itertuples()}
    by_sub = {str(o.stripe_subscription_id): o for o in orders.itertuples()}
    servers = inp.tables.get("panel_servers", pd.DataFrame(columns=["id", "external_id"]))
    by_ext = {str(s.external_id): s for s in servers.itertuples()}
    by_id = {s.id: s for s in servers.itertuples()}
    rows = []
    for s in sessions.itertuples():
        o = by_session.get(str(s.id)) or by_sub.get(str(s.subscription))
        row = {"session": s.id, "order": None, "status": None, "server": None}
        if o is None:
            rows.append({**row, "stage": FUNNEL[0], "reason": "paid, but no order recorded"})
            continue
        row.update(order=o.id, status=o.status)
        server = by_id.get(o.pterodactyl_server_id) or by_ext.get(str(o.id))
        if o.status not in DELIVERED:
            rows.append({**row, "stage": FUNNEL[1], "reason": f"order is '{o.status}'"})
        elif server is None:
            rows.append({**row, "stage": FUNNEL[1], "reason": "no panel server"})
        elif pd.notna(server.status) or bool(server.suspended):
            reason = "suspended" if bool(server.suspended) else f"server is {server.status}"
            rows.append({**row, "server": server.id, "stage": FUNNEL[2], "reason": reason})
        else:
            rows.append({**row, "server": server.id, "stage": FUNNEL[3], "reason": ""})
    return pd.DataFrame(rows, columns=["session", "order", "status", "server", "stage", "reason"])


def funnel(audit: Audit) -> pd.DataFrame:
    """How many paid sessions reached each stage (each stage includes the later ones)."""
    table = funnel_table(audit)
    reached = [FUNNEL.index(s) for s in table["stage"]] if not table.empty else []
    counts = [sum(1 for r in reached if r >= i) for i in range(len(FUNNEL))]
    return pd.DataFrame({"stage": FUNNEL, "count": counts}).set_index("stage")


def fallout(audit: Audit) -> pd.DataFrame:
    """Every paid session that did not end with a running server, with the reason."""
    table = funnel_table(audit)
    return table[table["stage"] != FUNNEL[-1]].reset_index(drop=True)


def orders_by_status(audit: Audit) -> pd.DataFrame:
    inp = audit.check_input("db_orders")
    if "db_orders" not in inp.tables:
        return pd.DataFrame({"note": ["orders were not collected"]})
    return inp["db_orders"].groupby("status").size().rename("orders").to_frame()


def plot_funnel(audit: Audit):  # noqa: ANN201 - a matplotlib Axes
    """Horizontal bars: paid sessions reaching each stage of the funnel."""
    stages = funnel(audit)
    ax = (
        stages["count"]
        .astype(float)
        .plot.barh(figsize=(8, 3), title="Purchase funnel", color="#4c72b0")
    )
    ax.invert_yaxis()
    ax.set_xlabel("paid checkout sessions")
    return ax
