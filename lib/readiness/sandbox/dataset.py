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

from readiness.sandbox import flow_defects, panel_data, stripe_data

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
    servers: int | None = None  # cap on running (delivered) orders; the rest are history
    history_days: int = 60  # orders are spread over this many days before now


@dataclass
class Defect:
    defect_id: str
    check_id: str
    resource: str
    description: str
    # another planted defect this one follows from (the audit reports it under that one)
    cause: str | None = None


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
            # what the APIs hold, so a benchmark can prove collection complete
            "api_counts": {
                "stripe": {k: len(v) for k, v in self.stripe["live"].items()},
                "panel": {
                    k: sum(len(x) for x in v.values()) if isinstance(v, dict) else len(v)
                    for k, v in self.panel.items()
                },
            },
            "defects": [
                {k: v for k, v in asdict(d).items() if k != "cause" or v} for d in self.defects
            ],
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
    orders = _orders(ids, rng, size, users, plans, nodes, now, unsold)
    if plant:
        flow_defects.plant_flow(ids, plans, nodes, users, accounts, orders, now, defects)
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

    def add(
        defect_id: str, check_id: str, resource: str, description: str, cause: str | None = None
    ) -> None:
        defects.append(Defect(defect_id, check_id, resource, description, cause))

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
    size: DatasetSize,
    users: list[dict[str, Any]],
    plans: list[dict[str, Any]],
    nodes: list[dict[str, Any]],
    now: datetime,
    unsold: set[str] | frozenset[str] = frozenset(),
) -> list[dict[str, Any]]:
    """Orders spread over `history_days`; servers and Stripe objects follow from them.
    Beyond `servers` running orders, further delivered orders become canceled history."""
    sellable = [p for p in plans if p["_price"] == "live" and p["active"]]
    sellable = [p for p in sellable if p["game"] not in unsold]
    statuses, weights = zip(*ORDER_STATUSES, strict=True)
    orders = []
    running = 0
    for n in range(size.orders):
        user = users[n % len(users)]
        plan = rng.choice(sellable)
        status = rng.choices(statuses, weights)[0]
        if status in ("active", "provisioned"):
            running += 1
            if size.servers is not None and running > size.servers:
                status = "canceled"
        node = rng.choice(nodes)
        created = now - timedelta(days=rng.uniform(1, size.history_days))
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
