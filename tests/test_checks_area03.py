"""Unit tests of the Area 3 checks on small hand-built tables: pass, fail, not_verified."""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd
import pytest

from readiness.checks.area03_eggs import names_match
from readiness.checks.registry import REGISTRY, all_checks, evaluate_check
from readiness.static.rules.tables import frame
from tests.conftest import make_snapshot

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _registry():
    all_checks()


def run(check_id: str, config, tables: dict, failed: dict | None = None) -> dict[str, str]:
    snap = make_snapshot(tables, failed, NOW)
    return {f.resource: str(f.status) for f in evaluate_check(REGISTRY[check_id], snap, config)}


def eggs(*rows: tuple[int, str, list[str]]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {"id": i, "name": n, "docker_images": imgs, "docker_image": imgs[0]}
            for i, n, imgs in rows
        ]
    )


ALL_EGGS = eggs(
    (39, "Paper", ["java_21"]),
    (50, "Rust", ["rust"]),
    (14, "ARK: Survival Evolved", ["src"]),
    (15, "Palworld", ["d"]),
    (16, "Terraria Vanilla", ["debian"]),
    (21, "Factorio", ["debian"]),
    (29, "Mindustry", ["j"]),
    (26, "Rimworld (Open World)", ["m"]),
    (32, "Vintage Story", ["n"]),
    (33, "Teeworlds", ["debian"]),
    (34, "Among Us - Impostor Server", ["n8"]),
)


def test_names_match():
    assert names_match("ARK", "ARK: Survival Evolved")
    assert names_match("Among Us", "Among Us - Impostor Server")
    assert not names_match("Teeworlds", "Xonotic")


def test_egg_ids_and_names(demo_config):
    assert set(run("PANEL-EGG-IDS", demo_config, {"panel_eggs": ALL_EGGS}).values()) == {"pass"}
    assert set(run("PANEL-EGG-NAMES", demo_config, {"panel_eggs": ALL_EGGS}).values()) == {"pass"}
    broken = ALL_EGGS[ALL_EGGS["id"] != 34].copy()
    broken.loc[broken["id"] == 33, "name"] = "Xonotic"
    ids = run("PANEL-EGG-IDS", demo_config, {"panel_eggs": broken})
    names = run("PANEL-EGG-NAMES", demo_config, {"panel_eggs": broken})
    assert ids["game:among_us"] == "fail" and list(ids.values()).count("fail") == 1
    assert names["game:teeworlds"] == "fail" and "game:among_us" not in names
    failed = run("PANEL-EGG-IDS", demo_config, {"panel_eggs": ALL_EGGS}, {"pterodactyl": "x"})
    assert list(failed.values()) == ["not_verified"]


def code(table: str, rows: list[dict]) -> pd.DataFrame:
    base = {"path": "p.ts", "line": 3, "function_slug": "servers-provision"}
    return frame(table, [{**base, **r} for r in rows])


def egg_rows(**eggs_by_game: int) -> pd.DataFrame:
    return code("code_flow_egg_map", [{"game": g, "egg_id": e} for g, e in eggs_by_game.items()])


def test_egg_map(demo_config):
    expected = {g: s.egg_id for g, s in demo_config.catalog.games.items()}
    plans = pd.DataFrame([{"game": "rust", "egg_id": 50}])
    tables = {"code_flow_egg_map": egg_rows(**expected), "panel_eggs": ALL_EGGS, "db_plans": plans}
    assert set(run("PANEL-EGG-MAP", demo_config, tables).values()) == {"pass"}
    wrong = {**expected, "rust": 51}
    del wrong["ark"]
    tables["code_flow_egg_map"] = egg_rows(**wrong)
    got = run("PANEL-EGG-MAP", demo_config, tables)
    assert got["game:rust"] == "fail" and got["game:ark"] == "fail"
    assert got["game:minecraft"] == "pass"


def payload(rows: list[tuple[str, str, str]]) -> pd.DataFrame:
    return code(
        "code_flow_server_payload",
        [{"game": g, "field": f, "value": v, "resolved": True} for g, f, v in rows],
    )


VARS = pd.DataFrame(
    [
        {"egg_id": 21, "env_variable": "SAVE_NAME", "required": True},
        {"egg_id": 21, "env_variable": "FACTORIO_VERSION", "required": True},
        {"egg_id": 21, "env_variable": "MOTD", "required": False},
    ]
)


def test_egg_variables_and_image(demo_config):
    sent = payload(
        [
            ("factorio", "environment", "FACTORIO_VERSION"),
            ("factorio", "environment", "SAVE_NAME"),
            ("factorio", "docker_image", "debian"),
        ]
    )
    tables = {
        "code_flow_server_payload": sent,
        "code_flow_egg_map": egg_rows(factorio=21),
        "panel_eggs": ALL_EGGS,
        "panel_egg_variables": VARS,
    }
    assert run("PANEL-EGG-VARIABLES", demo_config, tables) == {"game:factorio": "pass"}
    assert run("PANEL-EGG-IMAGE", demo_config, tables) == {"game:factorio": "pass"}
    tables["code_flow_server_payload"] = payload(
        [("factorio", "environment", "FACTORIO_VERSION"), ("factorio", "docker_image", "ubuntu")]
    )
    assert run("PANEL-EGG-VARIABLES", demo_config, tables) == {"game:factorio": "fail"}
    assert run("PANEL-EGG-IMAGE", demo_config, tables) == {"game:factorio": "fail"}
    tables["code_flow_server_payload"] = payload([])
    assert list(run("PANEL-EGG-VARIABLES", demo_config, tables).values()) == ["not_verified"]


def node_tables(**over) -> dict:
    db_nodes = pd.DataFrame(
        [
            {
                "id": 1,
                "name": "a",
                "region": "eu",
                "enabled": True,
                "max_ram_gb": 64,
                "reserved_headroom_gb": 8,
                "panel_node_id": 11,
            },
            {
                "id": 2,
                "name": "b",
                "region": "us",
                "enabled": True,
                "max_ram_gb": 32,
                "reserved_headroom_gb": 8,
                "panel_node_id": 12,
            },
            {
                "id": 3,
                "name": "c",
                "region": "us",
                "enabled": False,
                "max_ram_gb": 32,
                "reserved_headroom_gb": 8,
                "panel_node_id": 99,
            },
        ]
    )
    panel = pd.DataFrame(
        [
            {
                "id": 11,
                "maintenance_mode": False,
                "memory": 65536,
                "memory_overallocate": 0,
                "allocated_memory": 4096,
            },
            {
                "id": 12,
                "maintenance_mode": False,
                "memory": 32768,
                "memory_overallocate": 0,
                "allocated_memory": 0,
            },
        ]
    )
    allocs = pd.DataFrame(
        [{"node_id": n, "id": n * 10 + i, "assigned": i == 0} for n in (11, 12) for i in range(4)]
    )
    orders = pd.DataFrame(
        [
            {"id": "o1", "plan_id": "mc-4", "status": "active", "node_id": 1},
            {"id": "o2", "plan_id": "mc-4", "status": "canceled", "node_id": 1},
        ]
    )
    plans = pd.DataFrame(
        [
            {"id": "mc-4", "game": "minecraft", "ram_gb": 4, "active": True},
            {"id": "mc-16", "game": "minecraft", "ram_gb": 16, "active": True},
        ]
    )
    tables = {
        "db_ptero_nodes": db_nodes,
        "panel_nodes": panel,
        "panel_allocations": allocs,
        "db_orders": orders,
        "db_plans": plans,
    }
    tables.update(over)
    return tables


def test_nodes_clean(demo_config):
    tables = node_tables()
    for cid in (
        "PANEL-NODE-EXISTS",
        "PANEL-NODE-MAINTENANCE",
        "PANEL-NODE-MEMORY",
        "PANEL-CAPACITY-NODE",
        "PANEL-NODE-ALLOCATIONS",
    ):
        assert run(cid, demo_config, tables) == {"node:1": "pass", "node:2": "pass"}, cid
    assert run("PANEL-CAPACITY-REGION", demo_config, tables) == {
        "region:eu": "pass",
        "region:us": "pass",
    }


def test_nodes_defects(demo_config):
    base = node_tables()
    panel = base["panel_nodes"].copy()
    panel.loc[0, "maintenance_mode"] = True
    panel.loc[1, "memory"] = 16384
    allocs = base["panel_allocations"]
    allocs = allocs[(allocs["node_id"] != 12) | allocs["assigned"]]
    tables = node_tables(panel_nodes=panel, panel_allocations=allocs)
    assert run("PANEL-NODE-MAINTENANCE", demo_config, tables)["node:1"] == "fail"
    assert run("PANEL-NODE-MEMORY", demo_config, tables)["node:2"] == "fail"
    assert run("PANEL-NODE-ALLOCATIONS", demo_config, tables)["node:2"] == "fail"
    # eu: node in maintenance; us: no free port -> neither region can sell anything
    assert run("PANEL-CAPACITY-REGION", demo_config, tables) == {
        "region:eu": "fail",
        "region:us": "fail",
    }
    missing = node_tables(panel_nodes=base["panel_nodes"].iloc[:1])
    assert run("PANEL-NODE-EXISTS", demo_config, missing)["node:2"] == "fail"
    full = node_tables(
        db_orders=pd.DataFrame(
            [{"id": f"o{i}", "plan_id": "mc-16", "status": "paid", "node_id": 2} for i in range(2)]
        )
    )
    assert run("PANEL-CAPACITY-NODE", demo_config, full)["node:2"] == "fail"
    # node 1 now has no active order but the panel still allocates 4 GB there
    assert run("PANEL-CAPACITY-NODE", demo_config, full)["node:1"] == "warn"
    assert list(run("PANEL-NODE-EXISTS", demo_config, base, {"database": "x"}).values()) == [
        "not_verified"
    ]


def account_tables(**over) -> dict:
    tables = {
        "db_orders": pd.DataFrame(
            [{"user_id": "u1", "status": "active"}, {"user_id": "u3", "status": "pending"}]
        ),
        "db_external_accounts": pd.DataFrame(
            [
                {"user_id": "u1", "pterodactyl_user_id": 7},
                {"user_id": "u2", "pterodactyl_user_id": 8},
            ]
        ),
        "panel_users": pd.DataFrame(
            [
                {"id": 7, "email": "A@x.test", "external_id": "u1"},
                {"id": 8, "email": "b@x.test", "external_id": None},
            ]
        ),
        "db_auth_users": pd.DataFrame(
            [{"id": "u1", "email": "a@x.test"}, {"id": "u2", "email": "b@x.test"}]
        ),
    }
    tables.update(over)
    return tables


def test_accounts_clean(demo_config):
    tables = account_tables()
    assert run("PANEL-ACCOUNT-MAPPED", demo_config, tables) == {"external_accounts": "pass"}
    assert run("PANEL-ACCOUNT-EXISTS", demo_config, tables) == {"external_accounts": "pass"}
    assert run("PANEL-ACCOUNT-EMAIL", demo_config, tables) == {"external_accounts": "pass"}
    assert run("PANEL-ACCOUNT-SHARED", demo_config, tables) == {"panel_users": "pass"}


def test_accounts_defects(demo_config):
    tables = account_tables(
        db_orders=pd.DataFrame([{"user_id": "u9", "status": "error"}]),
        panel_users=pd.DataFrame(
            [
                {"id": 7, "email": "old@x.test", "external_id": "u1"},
                {"id": 9, "email": "b@x.test", "external_id": "u2"},
            ]
        ),
    )
    assert run("PANEL-ACCOUNT-MAPPED", demo_config, tables) == {"user:u9": "fail"}
    assert run("PANEL-ACCOUNT-EXISTS", demo_config, tables) == {"user:u2": "fail"}
    assert run("PANEL-ACCOUNT-EMAIL", demo_config, tables) == {"user:u1": "fail"}
    shared = account_tables(
        panel_users=pd.DataFrame(
            [
                {"id": 7, "email": "a@x.test", "external_id": "u1"},
                {"id": 8, "email": "b@x.test", "external_id": "u1"},
            ]
        )
    )
    assert run("PANEL-ACCOUNT-SHARED", demo_config, shared) == {"panel_user:8": "fail"}


def test_code_capacity_and_password(demo_config):
    rows = [
        {"table": "orders", "statuses": ",".join(demo_config.active_statuses), "resolved": True}
    ]
    table = {"code_flow_capacity_queries": code("code_flow_capacity_queries", rows)}
    assert run("PANEL-CODE-CAPACITY", demo_config, table) == {"function:servers-provision": "pass"}
    rows = [{"table": "orders", "statuses": "paid,active", "resolved": True}]
    table = {"code_flow_capacity_queries": code("code_flow_capacity_queries", rows)}
    assert run("PANEL-CODE-CAPACITY", demo_config, table) == {"function:servers-provision": "fail"}
    empty = {"code_flow_capacity_queries": code("code_flow_capacity_queries", [])}
    assert run("PANEL-CODE-CAPACITY", demo_config, empty) == {"code:capacity": "warn"}
    write = {
        "method": "POST",
        "url_expr": "'/users'",
        "existing_user": False,
        "body_keys": "email",
        "sends_password": False,
    }
    reset = {**write, "method": "PATCH", "existing_user": True, "sends_password": True}
    ok = {"code_flow_panel_user_writes": code("code_flow_panel_user_writes", [write])}
    bad = {"code_flow_panel_user_writes": code("code_flow_panel_user_writes", [write, reset])}
    assert run("PANEL-CODE-PASSWORD", demo_config, ok) == {"function:servers-provision": "pass"}
    assert run("PANEL-CODE-PASSWORD", demo_config, bad) == {"function:servers-provision": "fail"}
