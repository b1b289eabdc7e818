"""A deterministic, scalable dataset for the demo platform, with planted defects.

One generator feeds the database, the Stripe emulator and the panel emulator, so the
three systems agree with each other exactly where the `clean` profile says they should,
and disagree exactly where the `defects` profile plants a defect. Every planted defect
is listed in the manifest with the check id that must catch it (known-answer tests).
"""

from __future__ import annotations

import random
import string
import uuid
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from readiness.sandbox import panel_data, stripe_data

PROFILES = ("defects", "clean")

# game -> (display name, RAM tiers, cents per GB per month, panel egg id)
GAMES: dict[str, tuple[str, list[int], int, int]] = {
    "minecraft": ("Minecraft", [1, 2, 4, 6, 8, 12, 16], 300, 39),
    "rust": ("Rust", [4, 8, 12, 16], 350, 50),
    "ark": ("ARK", [6, 8, 12, 16], 350, 14),
    "palworld": ("Palworld", [8, 12, 16], 320, 15),
    "terraria": ("Terraria", [1, 2, 4], 250, 16),
    "factorio": ("Factorio", [2, 4, 8], 280, 21),
    "mindustry": ("Mindustry", [1, 2, 4], 220, 29),
    "rimworld": ("Rimworld", [2, 4], 260, 26),
    "vintage_story": ("Vintage Story", [2, 4, 8], 280, 32),
    "teeworlds": ("Teeworlds", [1, 2], 200, 33),
    "among_us": ("Among Us", [1, 2, 4], 200, 34),
}
REGIONS = ["eu-west", "us-east", "us-west"]
ALNUM = string.ascii_letters + string.digits


@dataclass(frozen=True)
class DatasetSize:
    users: int = 40
    orders: int = 80
    nodes: int = 6


@dataclass
class Defect:
    defect_id: str
    check_id: str
    resource: str
    description: str


@dataclass
class Dataset:
    profile: str
    seed: int
    now: datetime
    db: dict[str, list[dict[str, Any]]]
    stripe: dict[str, Any]
    panel: dict[str, Any]
    keys: dict[str, str]
    defects: list[Defect] = field(default_factory=list)

    def manifest(self) -> dict[str, Any]:
        """Machine-readable list of what was planted (no secret values)."""
        return {
            "profile": self.profile,
            "seed": self.seed,
            "generated_at": self.now.isoformat(),
            "counts": {name: len(rows) for name, rows in self.db.items()},
            "defects": [asdict(d) for d in self.defects],
        }


class Ids:
    """Deterministic id factory shaped like the real systems' ids."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def token(self, n: int) -> str:
        return "".join(self.rng.choice(ALNUM) for _ in range(n))

    def stripe(self, prefix: str, lead: str = "1SP") -> str:
        return f"{prefix}_{lead}{self.token(24 - len(lead))}"

    def uuid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))


def generate(
    profile: str = "defects",
    *,
    seed: int = 7,
    size: DatasetSize | None = None,
    now: datetime | None = None,
) -> Dataset:
    """Build the whole demo world for one profile."""
    if profile not in PROFILES:
        raise ValueError(f"unknown profile {profile!r}; choose one of {', '.join(PROFILES)}")
    size = size or DatasetSize()
    now = (now or datetime.now(UTC)).replace(microsecond=0)
    rng = random.Random(seed)
    ids = Ids(rng)
    defects: list[Defect] = []
    plant = profile == "defects"

    plans = _plans(ids, plant, defects)
    nodes = _nodes(size.nodes)
    users = _users(ids, size.users, now)
    accounts = _external_accounts(users)
    # defects: the panel has no egg under Among Us's expected id, so none was ever sold
    unsold = {"among_us"} if plant else set()
    orders = _orders(ids, rng, size.orders, users, plans, nodes, now, unsold)
    if plant:
        _plant_flow(ids, plans, nodes, users, accounts, orders, now, defects)
    _fit_capacity(nodes, orders, plans, plant, defects)
    keys = {
        "stripe_live": ("sk_live_" if plant else "rk_live_") + ids.token(24),
        "stripe_test": "sk_test_" + ids.token(24),
        "panel": "ptla_" + ids.token(43),
    }
    if plant:
        defects.append(
            Defect(
                "stripe-full-secret-key",
                "STRIPE-KEY-RESTRICTED",
                "stripe:key",
                "the audit runs with a full live secret key instead of a restricted one",
            )
        )
    stripe = stripe_data.build(ids, rng, plans, users, orders, now, plant, defects)
    panel = panel_data.build(ids, rng, nodes, users, accounts, orders, plans, now, plant, defects)
    if plant:
        ghost = max(n["id"] for n in nodes) + 1
        nodes.append(
            {**nodes[0], "id": ghost, "name": f"eu-west-node-{ghost}", "panel_node_id": 900 + ghost}
        )
        defects.append(
            Defect(
                "node-missing-in-panel",
                "PANEL-NODE-EXISTS",
                f"node:{ghost}",
                "an enabled ptero_nodes row points at a panel node that does not exist",
            )
        )
    db = {
        "auth.users": users,
        "plans": _db_rows(plans),
        "ptero_nodes": nodes,
        "external_accounts": _db_rows(a for a in accounts if a.get("_db", True)),
        "orders": _db_rows(o for o in orders if not o.get("_stripe_only")),
    }
    return Dataset(profile, seed, now, db, stripe, panel, keys, defects)


def _plans(ids: Ids, plant: bool, defects: list[Defect]) -> list[dict[str, Any]]:
    """One monthly plan per game x RAM tier, each with its own live price id."""
    plans: list[dict[str, Any]] = []
    for game, (name, tiers, per_gb, egg) in GAMES.items():
        for ram in tiers:
            plans.append(
                {
                    "id": f"{game}-{ram}gb",
                    "item_type": "game",
                    "game": game,
                    "ram_gb": ram,
                    "term": "monthly",
                    "price_cents": per_gb * ram - 1,
                    "currency": "usd",
                    "stripe_price_id": ids.stripe("price", "1SQK" if ram > 8 else "1SP"),
                    "egg_id": egg,
                    "display_name": f"{name} {ram} GB",
                    "active": True,
                    # underscore keys steer the Stripe side and are not stored in the DB
                    "_price": "live",
                }
            )
    if not plant:
        return plans

    def plan(pid: str) -> dict[str, Any]:
        return next(p for p in plans if p["id"] == pid)

    def add(defect_id: str, check_id: str, resource: str, description: str) -> None:
        defects.append(Defect(defect_id, check_id, resource, description))

    plans.remove(plan("rust-12gb"))
    add(
        "catalog-missing-plan",
        "STRIPE-CATALOG-COVERAGE",
        "catalog:rust-12gb",
        "the expected Rust 12 GB plan does not exist",
    )
    plan("terraria-1gb")["stripe_price_id"] = "price_terraria_1gb_monthly"
    plan("terraria-1gb")["_price"] = "none"
    add(
        "placeholder-price-id",
        "STRIPE-PRICE-PLACEHOLDER",
        "plan:terraria-1gb",
        "plan uses the placeholder price id price_terraria_1gb_monthly",
    )
    plan("minecraft-1gb")["_price"] = "test"
    add(
        "test-mode-price",
        "STRIPE-PRICE-LIVE",
        "plan:minecraft-1gb",
        "plan's price exists only in Stripe test mode",
    )
    plan("factorio-8gb")["_price"] = "archived"
    add(
        "archived-price",
        "STRIPE-PRICE-ACTIVE",
        "plan:factorio-8gb",
        "plan's price is archived (active=false) in Stripe",
    )
    plan("ark-16gb")["_price"] = "yearly"
    add(
        "interval-mismatch",
        "STRIPE-PRICE-TERMS",
        "plan:ark-16gb",
        "monthly plan charged by a yearly price",
    )
    plan("palworld-12gb")["_price"] = "amount"
    add(
        "amount-mismatch",
        "STRIPE-PRICE-TERMS",
        "plan:palworld-12gb",
        "Stripe charges a different amount than the plan's price_cents",
    )
    plan("rimworld-4gb")["stripe_price_id"] = plan("rimworld-2gb")["stripe_price_id"]
    plan("rimworld-4gb")["_price"] = "shared"
    add(
        "shared-price",
        "STRIPE-PRICE-SHARED",
        f"price:{plan('rimworld-2gb')['stripe_price_id']}",
        "rimworld-2gb and rimworld-4gb share one Stripe price",
    )
    plan("mindustry-4gb")["_price"] = "archived-product"
    add(
        "archived-product",
        "STRIPE-PRODUCT-ACTIVE",
        "plan:mindustry-4gb",
        "plan's price is active but its product is archived",
    )
    legacy = {**plan("minecraft-2gb"), "id": "minecraft-3gb", "ram_gb": 3, "active": False}
    legacy.update(display_name="Minecraft 3 GB (retired)", price_cents=899)
    legacy["stripe_price_id"] = ids.stripe("price", "1SP")
    plans.append(legacy)
    plan("teeworlds-2gb")["stripe_price_id"] = ids.stripe("price", "1RZ")
    add(
        "unusual-prefix",
        "STRIPE-PRICE-PREFIX",
        "plan:teeworlds-2gb",
        "a real live price whose id does not match the seed's prefix rule (heuristic warning)",
    )
    return plans


def _nodes(count: int) -> list[dict[str, Any]]:
    nodes = []
    for i in range(1, count + 1):
        region = REGIONS[(i - 1) % len(REGIONS)]
        nodes.append(
            {
                "id": i,
                "name": f"{region}-node-{(i - 1) // len(REGIONS) + 1}",
                "region": region,
                "enabled": True,
                "max_ram_gb": 256,
                "reserved_headroom_gb": 16,
                "panel_node_id": i,
            }
        )
    return nodes


def _users(ids: Ids, count: int, now: datetime) -> list[dict[str, Any]]:
    return [
        {
            "id": ids.uuid(),
            "email": f"player{n:05d}@example.test",
            "created_at": now - timedelta(days=90, minutes=n),
        }
        for n in range(1, count + 1)
    ]


def _external_accounts(users: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {
            "user_id": u["id"],
            "pterodactyl_user_id": n,
            "panel_email": u["email"],
            "created_at": u["created_at"] + timedelta(minutes=1),
        }
        for n, u in enumerate(users, start=1)
    ]


ORDER_STATUSES = [("active", 55), ("provisioned", 20), ("canceled", 15), ("pending", 10)]


def _orders(
    ids: Ids,
    rng: random.Random,
    count: int,
    users: list[dict[str, Any]],
    plans: list[dict[str, Any]],
    nodes: list[dict[str, Any]],
    now: datetime,
    unsold: set[str] | frozenset[str] = frozenset(),
) -> list[dict[str, Any]]:
    """Orders spread over 60 days; servers and Stripe objects follow from them."""
    sellable = [p for p in plans if p["_price"] == "live" and p["active"]]
    sellable = [p for p in sellable if p["game"] not in unsold]
    statuses, weights = zip(*ORDER_STATUSES, strict=True)
    orders = []
    for n in range(count):
        user = users[n % len(users)]
        plan = rng.choice(sellable)
        status = rng.choices(statuses, weights)[0]
        node = rng.choice(nodes)
        created = now - timedelta(days=rng.uniform(1, 60))
        delivered = status in ("active", "provisioned", "canceled")
        orders.append(
            {
                "id": ids.uuid(),
                "user_id": user["id"],
                "plan_id": plan["id"],
                "status": status,
                "region": node["region"],
                "term": plan["term"],
                "server_name": f"{plan['game']}-server-{n + 1}",
                "stripe_checkout_session_id": ids.stripe("cs_live", "a1"),
                "stripe_subscription_id": ids.stripe("sub", "1SP") if status != "pending" else None,
                "stripe_customer_id": None,
                "pterodactyl_server_id": None,
                "node_id": node["id"] if delivered else None,
                "amount_cents": plan["price_cents"],
                "currency": plan["currency"],
                "error_message": None,
                "created_at": created,
                "updated_at": created + timedelta(minutes=3),
            }
        )
    return orders


def _db_rows(rows: Any) -> list[dict[str, Any]]:
    """Rows as stored: underscore keys only steer Stripe and the panel."""
    return [{k: v for k, v in r.items() if not k.startswith("_")} for r in rows]


ACTIVE = ("paid", "provisioning", "installing", "active", "provisioned")


def _fit_capacity(
    nodes: list[dict[str, Any]],
    orders: list[dict[str, Any]],
    plans: list[dict[str, Any]],
    plant: bool,
    defects: list[Defect],
) -> None:
    """Size nodes so that every node keeps ample room (any dataset size); in the defects
    profile, leave us-west with less free RAM than its largest plans need."""
    ram = {p["id"]: p["ram_gb"] for p in plans}
    used = {n["id"]: 0 for n in nodes}
    for o in orders:
        if o["status"] in ACTIVE and o["node_id"] is not None and not o.get("_stripe_only"):
            used[o["node_id"]] += ram[o["plan_id"]]
    for n in nodes:
        if plant and n["region"] == "us-west":
            n["max_ram_gb"] = used[n["id"]] + n["reserved_headroom_gb"] + 8
        else:
            need = 2 * used[n["id"]] + n["reserved_headroom_gb"]
            n["max_ram_gb"] = max(256, -(-need // 64) * 64)
    if plant and any(n["region"] == "us-west" for n in nodes):
        defects.append(
            Defect(
                "region-capacity-exhausted",
                "PANEL-CAPACITY-REGION",
                "region:us-west",
                "every us-west node has under 16 GB free: the largest plans cannot be sold there",
            )
        )


def _plant_flow(
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

    def add(defect_id: str, check_id: str, resource: str, description: str) -> None:
        defects.append(Defect(defect_id, check_id, resource, description))

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
