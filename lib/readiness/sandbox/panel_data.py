"""Pterodactyl panel objects (Application API attributes) for the demo dataset."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from readiness.sandbox.dataset import Ids

# egg id -> (nest id, egg name, docker images, required variables)
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
        ["ghcr.io/pterodactyl/games:source"],
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
    29: (3, "Mindustry", ["ghcr.io/pterodactyl/yolks:java_17"], {"SERVER_JARFILE": "server.jar"}),
    26: (
        3,
        "Rimworld (Open World)",
        ["ghcr.io/parkervcp/yolks:mono_latest"],
        {"SERVER_NAME": "Rimworld"},
    ),
    32: (3, "Vintage Story", ["ghcr.io/parkervcp/yolks:dotnet_7"], {"VS_VERSION": "latest"}),
    33: (3, "Teeworlds", ["ghcr.io/parkervcp/yolks:debian"], {"SERVER_NAME": "Teeworlds"}),
    34: (
        3,
        "Among Us - Impostor Server",
        ["ghcr.io/parkervcp/yolks:dotnet_8"],
        {"IMPOSTOR_VERSION": "latest"},
    ),
}
NESTS = {1: "Minecraft", 2: "Survival Games", 3: "Indie Games"}
REGION_LOCATIONS = {"eu-west": 1, "us-east": 2, "us-west": 3}


def _iso(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%dT%H:%M:%S+00:00")


def build(
    ids: Ids,
    rng: random.Random,
    nodes: list[dict[str, Any]],
    users: list[dict[str, Any]],
    accounts: list[dict[str, Any]],
    orders: list[dict[str, Any]],
    plans: list[dict[str, Any]],
    now: datetime,
) -> dict[str, Any]:
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
            "maintenance_mode": False,
            "memory": n["max_ram_gb"] * 1024,
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
    eggs: dict[int, list[dict[str, Any]]] = {nid: [] for nid in NESTS}
    for egg_id, (nest, name, images, variables) in EGGS.items():
        eggs[nest].append(
            {
                "id": egg_id,
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
                ],
            }
        )
    panel_users = [
        {
            "id": acc["pterodactyl_user_id"],
            "external_id": acc["user_id"],
            "uuid": ids.uuid(),
            "username": u["email"].split("@")[0],
            "email": u["email"],
            "first_name": "Player",
            "last_name": str(acc["pterodactyl_user_id"]),
            "language": "en",
            "root_admin": False,
            "2fa": False,
            "created_at": _iso(acc["created_at"]),
            "updated_at": _iso(acc["created_at"]),
        }
        for acc, u in zip(accounts, users, strict=True)
    ]
    panel_user_of = {a["user_id"]: a["pterodactyl_user_id"] for a in accounts}
    plan_of = {p["id"]: p for p in plans}
    panel_node_of = {n["id"]: n["panel_node_id"] for n in nodes}
    allocations: dict[int, list[dict[str, Any]]] = {
        n["panel_node_id"]: [
            {
                "id": n["panel_node_id"] * 10_000 + port,
                "ip": f"10.0.{n['id']}.10",
                "alias": None,
                "port": 25565 + port,
                "notes": None,
                "assigned": False,
            }
            for port in range(max(64, len(orders)))
        ]
        for n in nodes
    }
    servers = []
    for o in orders:
        if o["status"] not in ("active", "provisioned"):
            continue
        plan = plan_of[o["plan_id"]]
        nest, _, images, variables = EGGS[plan["egg_id"]]
        node = panel_node_of[o["node_id"]]
        free = next(a for a in allocations[node] if not a["assigned"])
        free["assigned"] = True
        sid = len(servers) + 1
        o["pterodactyl_server_id"] = sid
        servers.append(
            {
                "id": sid,
                "external_id": o["id"],
                "uuid": ids.uuid(),
                "identifier": ids.token(8).lower(),
                "name": o["server_name"],
                "description": f"order {o['id']}",
                "status": None,
                "suspended": False,
                "limits": {
                    "memory": plan["ram_gb"] * 1024,
                    "swap": 0,
                    "disk": plan["ram_gb"] * 5120,
                    "io": 500,
                    "cpu": 100 * max(1, plan["ram_gb"] // 4),
                    "threads": None,
                    "oom_disabled": True,
                },
                "feature_limits": {"databases": 1, "allocations": 1, "backups": 2},
                "user": panel_user_of[o["user_id"]],
                "node": node,
                "allocation": free["id"],
                "nest": nest,
                "egg": plan["egg_id"],
                "container": {
                    "startup_command": "./start.sh",
                    "image": images[0],
                    "installed": 1,
                    "environment": dict(variables),
                },
                "created_at": _iso(o["updated_at"]),
                "updated_at": _iso(o["updated_at"]),
            }
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
