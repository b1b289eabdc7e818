"""Pterodactyl panel objects (Application API attributes) for the demo dataset."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from readiness.sandbox.dataset import Defect, Ids

# egg id -> (nest id, egg name, docker images, required variables); every egg also has an
# optional variable. Images and variables agree with the clean platform's provisioning code.
EGGS: dict[int, tuple[int, str, list[str], dict[str, str]]] = {
    39: (
        1,
        "Paper",
        ["ghcr.io/pterodactyl/yolks:java_21", "ghcr.io/pterodactyl/yolks:java_17"],
        {"SERVER_JARFILE": "server.jar", "MINECRAFT_VERSION": "latest", "BUILD_NUMBER": "latest"},
    ),
    50: (
        2,
        "Rust",
        ["ghcr.io/pterodactyl/games:rust"],
        {"HOSTNAME": "A Rust Server", "LEVEL": "Procedural Map", "WORLD_SIZE": "3000"},
    ),
    14: (
        2,
        "ARK: Survival Evolved",
        ["ghcr.io/parkervcp/steamcmd:debian", "ghcr.io/pterodactyl/games:source"],
        {"SERVER_MAP": "TheIsland", "SESSION_NAME": "ARK Server"},
    ),
    15: (
        2,
        "Palworld",
        ["ghcr.io/parkervcp/steamcmd:debian"],
        {"MAX_PLAYERS": "32", "SERVER_NAME": "Palworld Server"},
    ),
    16: (
        3,
        "Terraria Vanilla",
        ["ghcr.io/parkervcp/yolks:debian"],
        {"WORLD_NAME": "world", "MAX_PLAYERS": "8"},
    ),
    21: (
        3,
        "Factorio",
        ["ghcr.io/parkervcp/yolks:debian"],
        {"FACTORIO_VERSION": "latest", "SAVE_NAME": "world"},
    ),
    29: (3, "Mindustry", ["ghcr.io/parkervcp/yolks:java_17"], {"VERSION": "latest"}),
    26: (
        3,
        "Rimworld (Open World)",
        ["ghcr.io/parkervcp/yolks:dotnet_8", "ghcr.io/parkervcp/yolks:mono_latest"],
        {"VERSION": "latest"},
    ),
    32: (
        3,
        "Vintage Story",
        ["ghcr.io/parkervcp/yolks:dotnet_8", "ghcr.io/parkervcp/yolks:dotnet_7"],
        {"VERSION": "latest"},
    ),
    33: (3, "Teeworlds", ["ghcr.io/parkervcp/yolks:debian"], {"SERVER_NAME": "Teeworlds"}),
    34: (
        3,
        "Among Us - Impostor Server",
        ["ghcr.io/parkervcp/yolks:dotnet_8"],
        {"VERSION": "latest"},
    ),
}
NESTS = {1: "Minecraft", 2: "Survival Games", 3: "Indie Games"}
REGION_LOCATIONS = {"eu-west": 1, "us-east": 2, "us-west": 3}


def _iso(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%dT%H:%M:%S+00:00")


def _egg(ids: Ids, egg_id: int, created: str, renamed: dict[int, tuple[int, str]]) -> dict:
    nest, name, images, variables = EGGS[egg_id]
    new_id, name = renamed.get(egg_id, (egg_id, name))
    optional = {
        "name": "Message of the day",
        "description": "",
        "env_variable": "SERVER_MOTD",
        "default_value": "",
        "user_viewable": True,
        "user_editable": True,
        "rules": "nullable|string|max:120",
    }
    return {
        "id": new_id,
        "uuid": ids.uuid(),
        "name": name,
        "nest": nest,
        "author": "eggs@demo-hosting.example",
        "description": f"{name} server",
        "docker_image": images[0],
        "docker_images": {img.rsplit(":", 1)[-1]: img for img in images},
        "startup": "./start.sh",
        "created_at": created,
        "updated_at": created,
        "variables": [
            {
                "name": var.replace("_", " ").title(),
                "description": "",
                "env_variable": var,
                "default_value": default,
                "user_viewable": True,
                "user_editable": True,
                "rules": "required|string|max:64",
            }
            for var, default in variables.items()
        ]
        + [optional],
    }


def build(
    ids: Ids,
    rng: random.Random,
    nodes: list[dict[str, Any]],
    users: list[dict[str, Any]],
    accounts: list[dict[str, Any]],
    orders: list[dict[str, Any]],
    plans: list[dict[str, Any]],
    now: datetime,
    plant: bool = False,
    defects: list[Defect] | None = None,
) -> dict[str, Any]:
    """The panel's view of the world. Orders and accounts may carry `_server` / `_panel`
    overrides (set by the dataset's planting) that make the panel disagree on purpose."""
    from readiness.sandbox.dataset import Defect

    def add(
        defect_id: str, check_id: str, resource: str, description: str, cause: str | None = None
    ) -> None:
        if defects is not None:
            defects.append(Defect(defect_id, check_id, resource, description, cause))

    created = _iso(now - timedelta(days=200))
    locations = [
        {
            "id": lid,
            "short": region,
            "long": region.replace("-", " ").title(),
            "created_at": created,
            "updated_at": created,
        }
        for region, lid in REGION_LOCATIONS.items()
    ]
    by_region: dict[str, list[dict[str, Any]]] = {}
    for n in nodes:
        by_region.setdefault(n["region"], []).append(n)
    maintenance = by_region.get("us-east", nodes)[0]["id"] if plant else None
    half_memory = by_region.get("eu-west", nodes)[-1]["id"] if plant else None
    no_ports = by_region.get("eu-west", nodes)[0]["id"] if plant else None
    panel_nodes = [
        {
            "id": n["panel_node_id"],
            "uuid": ids.uuid(),
            "public": True,
            "name": n["name"],
            "description": f"{n['region']} game node",
            "location_id": REGION_LOCATIONS[n["region"]],
            "fqdn": f"{n['name']}.nodes.demo-hosting.example",
            "scheme": "https",
            "behind_proxy": False,
            "maintenance_mode": n["id"] == maintenance,
            "memory": n["max_ram_gb"] * 1024 // (2 if n["id"] == half_memory else 1),
            "memory_overallocate": 0,
            "disk": 2_000_000,
            "disk_overallocate": 0,
            "upload_size": 100,
            "daemon_listen": 8080,
            "daemon_sftp": 2022,
            "daemon_base": "/var/lib/pterodactyl/volumes",
            "created_at": created,
            "updated_at": created,
        }
        for n in nodes
    ]
    if plant:
        add(
            "node-maintenance",
            "PANEL-NODE-MAINTENANCE",
            f"node:{maintenance}",
            "an enabled node is in maintenance mode in the panel",
        )
        add(
            "node-memory-mismatch",
            "PANEL-NODE-MEMORY",
            f"node:{half_memory}",
            "the panel node has half the memory ptero_nodes.max_ram_gb claims",
        )
    nests = [
        {
            "id": nid,
            "uuid": ids.uuid(),
            "author": "support@pterodactyl.io",
            "name": name,
            "description": f"{name} eggs",
            "created_at": created,
            "updated_at": created,
        }
        for nid, name in NESTS.items()
    ]
    # defects: Among Us lives under another egg id than expected; egg 33 is another game
    renamed = {34: (35, EGGS[34][1]), 33: (33, "Xonotic")} if plant else {}
    eggs: dict[int, list[dict[str, Any]]] = {nid: [] for nid in NESTS}
    for egg_id in EGGS:
        eggs[EGGS[egg_id][0]].append(_egg(ids, egg_id, created, renamed))
    if plant:
        add(
            "egg-id-mismatch",
            "PANEL-EGG-IDS",
            "game:among_us",
            "the panel has no egg 34: the Among Us egg has id 35",
        )
        add(
            "egg-wrong-name",
            "PANEL-EGG-NAMES",
            "game:teeworlds",
            "panel egg 33 (expected Teeworlds) is named Xonotic",
        )
    panel_users = []
    for acc in accounts:
        over = acc.get("_panel") or {}
        if over.get("missing"):
            continue
        user = next(u for u in users if u["id"] == acc["user_id"])
        email = over.get("email", user["email"])
        panel_users.append(
            {
                "id": acc["pterodactyl_user_id"],
                "external_id": over.get("external_id", acc["user_id"]),
                "uuid": ids.uuid(),
                "username": email.split("@")[0],
                "email": email,
                "first_name": "Player",
                "last_name": str(acc["pterodactyl_user_id"]),
                "language": "en",
                "root_admin": False,
                "2fa": False,
                "created_at": _iso(acc["created_at"]),
                "updated_at": _iso(acc["created_at"]),
            }
        )
    panel_user_of = {a["user_id"]: a["pterodactyl_user_id"] for a in accounts}
    plan_of = {p["id"]: p for p in plans}
    panel_node_of = {n["id"]: n["panel_node_id"] for n in nodes}
    # enough ports for every server planned on a node, plus spare ones
    planned: dict[int, int] = {}
    for o in orders:
        if o.get("node_id") is not None and o["status"] in ("active", "provisioned"):
            planned[o["node_id"]] = planned.get(o["node_id"], 0) + 1
    allocations: dict[int, list[dict[str, Any]]] = {
        n["panel_node_id"]: [
            {
                "id": n["panel_node_id"] * 1_000_000 + port,
                "ip": f"10.0.{n['id']}.10",
                "alias": None,
                "port": 25565 + port,
                "notes": None,
                "assigned": False,
            }
            for port in range(max(64, planned.get(n["id"], 0) + 16))
        ]
        for n in nodes
    }
    servers: list[dict[str, Any]] = []

    def server(o: dict[str, Any], plan: dict[str, Any], node: int, over: dict) -> dict:
        egg = over.get("egg", plan["egg_id"])
        nest, _, images, variables = EGGS[egg]
        free = next(a for a in allocations[node] if not a["assigned"])
        free["assigned"] = True
        return {
            "id": len(servers) + 1,
            "external_id": o["id"],
            "uuid": ids.uuid(),
            "identifier": ids.token(8).lower(),
            "name": o["server_name"] or f"server-{len(servers) + 1}",
            "description": f"order {o['id']}",
            "status": None,
            "suspended": False,
            "limits": {
                "memory": over.get("memory", plan["ram_gb"] * 1024),
                "swap": 0,
                "disk": plan["ram_gb"] * 5120,
                "io": 500,
                "cpu": 100 * max(1, plan["ram_gb"] // 4),
                "threads": None,
                "oom_disabled": True,
            },
            "feature_limits": {"databases": 1, "allocations": 1, "backups": 2},
            "user": over.get("user", panel_user_of.get(o["user_id"])),
            "node": node,
            "allocation": free["id"],
            "nest": nest,
            "egg": egg,
            "container": {
                "startup_command": "./start.sh",
                "image": images[0],
                "installed": 1,
                "environment": dict(variables),
            },
            "created_at": _iso(o["updated_at"]),
            "updated_at": _iso(o["updated_at"]),
        }

    for o in orders:
        if o["status"] not in ("active", "provisioned") or o.get("_stripe_only"):
            continue
        over = o.get("_server") or {}
        if over.get("missing"):
            continue
        node = over.get("node", panel_node_of[o["node_id"]])
        servers.append(server(o, plan_of[o["plan_id"]], node, over))
        o["pterodactyl_server_id"] = servers[-1]["id"]
    if plant:
        # a server someone made by hand in the panel: no order accounts for it
        stray = {**orders[0], "id": None, "server_name": "staff-test-server"}
        node = panel_node_of[nodes[0]["id"]]
        servers.append(server(stray, plans[0], node, {}))
        servers[-1]["description"] = "made by hand"
        add(
            "orphan-server",
            "FLOW-SERVER-ORPHAN",
            f"server:{servers[-1]['id']}",
            "a panel server that no order accounts for uses capacity",
        )
        add(
            "panel-allocation-mismatch",
            "PANEL-CAPACITY-NODE",
            f"node:{nodes[0]['id']}",
            "the panel allocates more RAM on the node than its orders commit (the orphan server)",
            "orphan-server",
        )
        allocations[panel_node_of[no_ports]] = [
            a for a in allocations[panel_node_of[no_ports]] if a["assigned"]
        ]
        add(
            "node-no-free-allocation",
            "PANEL-NODE-ALLOCATIONS",
            f"node:{no_ports}",
            "every allocation (port) of an enabled node is assigned",
        )
    return {
        "locations": locations,
        "nodes": panel_nodes,
        "allocations": allocations,
        "nests": nests,
        "eggs": eggs,
        "servers": servers,
        "users": panel_users,
    }
