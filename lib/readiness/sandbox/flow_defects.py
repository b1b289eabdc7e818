"""Purchase-flow and account defects planted into the demo dataset (Areas 2 and 3).

Split from `dataset.py` so the generator keeps the clean world (plans, nodes, users,
orders, capacity) while this module holds only the cross-system disagreements the
`defects` profile plants: orders, subscriptions, servers and panel accounts that the
database, Stripe and the panel see differently. Each planted defect names the check id
that must catch it (known-answer tests).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from readiness.sandbox.dataset import Defect, Ids


def plant_flow(
    ids: Ids,
    plans: list[dict[str, Any]],
    nodes: list[dict[str, Any]],
    users: list[dict[str, Any]],
    accounts: list[dict[str, Any]],
    orders: list[dict[str, Any]],
    now: datetime,
    defects: list[Defect],
) -> None:
    """Purchase-flow and account defects: orders, subscriptions, servers and panel users
    that disagree across the database, Stripe and the panel (Areas 2 and 3)."""
    from readiness.sandbox.dataset import Defect

    def add(
        defect_id: str, check_id: str, resource: str, description: str, cause: str | None = None
    ) -> None:
        defects.append(Defect(defect_id, check_id, resource, description, cause))

    live = [p for p in plans if p["_price"] == "live" and p["active"]]
    template = orders[0]

    def new_order(user: dict[str, Any], status: str, age: timedelta, **over: Any) -> dict:
        plan = over.pop("plan", live[0])
        created = now - age
        order = {
            **template,
            "id": ids.uuid(),
            "user_id": user["id"],
            "plan_id": plan["id"],
            "status": status,
            "term": plan["term"],
            "server_name": f"{plan['game']}-server-{len(orders) + 1}",
            "stripe_checkout_session_id": ids.stripe("cs_live", "a1"),
            "stripe_subscription_id": ids.stripe("sub", "1SP"),
            "pterodactyl_server_id": None,
            "node_id": None,
            "amount_cents": plan["price_cents"],
            "error_message": None,
            "created_at": created,
            "updated_at": created,
            **over,
        }
        orders.append(order)
        return order

    def ensure(statuses: tuple[str, ...], count: int) -> list[dict[str, Any]]:
        """Orders in these statuses, topped up with new ones when the dataset is small."""
        found = [o for o in orders if o["status"] in statuses]
        while len(found) < count:
            node = nodes[len(found) % len(nodes)]
            user = users[len(found) % len(users)]
            waiting = statuses[0] == "pending"
            found.append(
                new_order(
                    user,
                    statuses[0],
                    timedelta(days=3),
                    node_id=None if waiting else node["id"],
                    region=node["region"],
                    stripe_subscription_id=None if waiting else ids.stripe("sub", "1SP"),
                )
            )
        return found

    delivered = ensure(("active", "provisioned"), 10)
    ensure(("canceled",), 1)
    ensure(("pending",), 1)
    server_defects = [
        ("server-missing", "FLOW-SERVER-MISSING", {"missing": True}, "has no panel server"),
        ("server-other-owner", "FLOW-SERVER-OWNER", {"user": None}, "is owned by another user"),
        ("server-other-node", "FLOW-SERVER-NODE", {"node": None}, "sits on another node"),
        ("server-other-egg", "FLOW-SERVER-EGG", {"egg": None}, "runs another game's egg"),
        ("server-other-memory", "FLOW-SERVER-MEMORY", {"memory": None}, "has twice the RAM"),
    ]
    for o, (defect_id, check_id, over, what) in zip(delivered, server_defects, strict=False):
        plan = next(p for p in plans if p["id"] == o["plan_id"])
        over = dict(over)
        if "user" in over:
            other = next(a for a in accounts if a["user_id"] != o["user_id"])
            over["user"] = other["pterodactyl_user_id"]
        if "node" in over:
            other = next((n for n in nodes if n["id"] != o["node_id"]), None)
            if other is None:
                continue  # a single node: no other node to misplace the server on
            over["node"] = other["panel_node_id"]
        if "egg" in over:
            over["egg"] = 50 if plan["egg_id"] != 50 else 39
        if "memory" in over:
            over["memory"] = plan["ram_gb"] * 2048
        o["_server"] = over
        add(defect_id, check_id, f"order:{o['id']}", f"a provisioned order's server {what}")
    rest = delivered[len(server_defects) :]
    for o, sub_status in zip(rest[:2], ("canceled", "unpaid"), strict=True):
        o["_sub_status"] = sub_status
        add(
            f"serving-for-free-{sub_status}",
            "FLOW-SUBSCRIPTION-LAPSED",
            f"order:{o['id']}",
            f"an active order whose Stripe subscription is {sub_status}",
            # the endpoint never sends customer.subscription.deleted (stripe_data.py)
            "webhook-missing-event" if sub_status == "canceled" else None,
        )
    rest[2]["term"] = "weekly"
    add("order-bad-term", "FLOW-ORDER-FIELDS", f"order:{rest[2]['id']}", "order term 'weekly'")
    rest[3]["server_name"] = None
    add("order-no-name", "FLOW-ORDER-FIELDS", f"order:{rest[3]['id']}", "order has no name")
    original = rest[4]
    dup = new_order(
        next(u for u in users if u["id"] == original["user_id"]),
        "paid",
        now - original["created_at"] - timedelta(minutes=2),
        plan=next(p for p in plans if p["id"] == original["plan_id"]),
        stripe_checkout_session_id=original["stripe_checkout_session_id"],
        stripe_subscription_id=None,
        region=original["region"],
        _dup_of=original["id"],
    )
    add(
        "duplicate-order",
        "FLOW-ORDER-DUPLICATE",
        f"checkout_session:{dup['stripe_checkout_session_id']}",
        "the webhook recorded a second order for one paid checkout session",
    )
    canceled = next(o for o in orders if o["status"] == "canceled")
    canceled["_sub_status"] = "active"
    add(
        "charging-for-nothing",
        "FLOW-SUBSCRIPTION-ORPHAN",
        f"subscription:{canceled['stripe_subscription_id']}",
        "Stripe still charges a subscription whose order is canceled",
    )
    pending = [o for o in orders if o["status"] == "pending"]
    pending[0]["region"] = "ap-south"
    add(
        "order-no-region",
        "FLOW-ORDER-FIELDS",
        f"order:{pending[0]['id']}",
        "order for region ap-south, which no enabled node serves",
    )
    retired = next(p for p in plans if not p["active"])
    old = new_order(
        users[1 % len(users)],
        "pending",
        timedelta(days=2),
        plan=retired,
        stripe_subscription_id=None,
    )
    add(
        "order-inactive-plan",
        "FLOW-ORDER-FIELDS",
        f"order:{old['id']}",
        "order for a retired (inactive) plan",
    )
    for status, hours in (("paid", 3), ("provisioning", 2)):
        stuck = new_order(users[2 % len(users)], status, timedelta(hours=hours))
        add(
            f"stuck-{status}",
            "FLOW-ORDER-STUCK",
            f"order:{stuck['id']}",
            f"order stuck in {status} for {hours} hours",
        )
    ghost = new_order(users[3 % len(users)], "active", timedelta(days=1), _stripe_only=True)
    add(
        "paid-no-order",
        "FLOW-PAID-NO-ORDER",
        f"checkout_session:{ghost['stripe_checkout_session_id']}",
        "a paid checkout session for which no order was ever recorded",
    )
    add(
        "subscription-no-order",
        "FLOW-SUBSCRIPTION-ORPHAN",
        f"subscription:{ghost['stripe_subscription_id']}",
        "an active subscription with no order (charging for nothing)",
        "paid-no-order",  # the same checkout: its order was never recorded
    )
    _plant_accounts(ids, users, accounts, now, new_order, add)


def _plant_accounts(ids, users, accounts, now, new_order, add) -> None:  # noqa: ANN001
    """Extra customers whose panel accounts disagree with the database."""
    base = len(users)

    def user(tag: str) -> dict[str, Any]:
        u = {
            "id": ids.uuid(),
            "email": f"{tag}{base + len(users):05d}@example.test",
            "created_at": now - timedelta(days=10, minutes=len(users)),
        }
        users.append(u)
        return u

    def account(u: dict[str, Any], **over: Any) -> dict[str, Any]:
        acc = {
            "user_id": u["id"],
            "pterodactyl_user_id": max(a["pterodactyl_user_id"] for a in accounts) + 1,
            "panel_email": u["email"],
            "created_at": u["created_at"] + timedelta(minutes=1),
            **over,
        }
        accounts.append(acc)
        return acc

    unmapped = user("player")
    failed = new_order(
        unmapped, "error", timedelta(hours=6), error_message="Customer has no panel account"
    )
    add(
        "order-error",
        "FLOW-ORDER-ERROR",
        f"order:{failed['id']}",
        "a paid order whose provisioning failed",
        "unmapped-payer",  # it failed because its customer has no panel account
    )
    add(
        "unmapped-payer",
        "PANEL-ACCOUNT-MAPPED",
        f"user:{unmapped['id']}",
        "a paying customer has no external_accounts row (no panel account)",
    )
    lost = user("player")
    account(lost, _panel={"missing": True})
    add(
        "mapping-missing-panel-user",
        "PANEL-ACCOUNT-EXISTS",
        f"user:{lost['id']}",
        "external_accounts points at a panel user that does not exist",
    )
    moved = user("player")
    account(moved, _panel={"email": f"old-address-{len(users)}@example.test"})
    add(
        "email-mismatch",
        "PANEL-ACCOUNT-EMAIL",
        f"user:{moved['id']}",
        "the panel account's email differs from the customer's",
    )
    first, second = user("player"), user("player")
    account(first)
    shared = account(second, _panel={"external_id": first["id"]})
    add(
        "shared-panel-user",
        "PANEL-ACCOUNT-SHARED",
        f"panel_user:{shared['pterodactyl_user_id']}",
        "two customers claim one panel account (mapping and panel external_id disagree)",
    )
