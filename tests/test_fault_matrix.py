"""The fault matrix: every source × every fault, driven through the emulators' knobs and a
real Postgres (behind a loopback proxy that can cut the connection).

For each case the run finishes in bounded time, the faulted source is an `error` whose
reason names the source and the fault, every check that needs it is `not_verified`
(never `pass`), checks that do not need it are unaffected, and the verdict is never GO.
The table `CASES` below is the documentation of the matrix.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from readiness.checks.registry import all_checks, evaluate
from readiness.cli import main
from readiness.config import load_config
from readiness.findings import Status
from readiness.report import scoring
from readiness.sandbox.dataset import DatasetSize
from readiness.sandbox.httpbase import Fault
from readiness.sandbox.runtime import Sandbox
from readiness.sandbox.tcp_proxy import ProxyKnobs, TcpProxy
from readiness.snapshot import collect

pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("faults")]

# Short limits so faulted runs stay fast; the cap on a whole source is max_seconds.
FAST = {
    "stripe": {"timeout_s": 0.5, "max_retries": 1, "max_seconds": 4},
    "pterodactyl": {"timeout_s": 0.5, "max_retries": 1, "max_seconds": 4},
    "database": {"statement_timeout_s": 5, "connect_timeout_s": 2, "max_seconds": 8},
    "supabase_api": {"timeout_s": 0.5, "max_retries": 1, "max_seconds": 4},
}
TIMINGS: dict[str, float] = {}


@dataclass
class Ctx:
    sandbox: Sandbox
    params: dict
    env: dict[str, str]
    cleanups: list[Callable[[], None]]


def _emulator(ctx: Ctx, source: str):
    return {
        "stripe": ctx.sandbox.stripe,
        "panel": ctx.sandbox.panel,
        "supabase_api": ctx.sandbox.supabase,
    }[source]


def fault(source: str, **kw) -> Callable[[Ctx], None]:
    def apply(ctx: Ctx) -> None:
        knobs = _emulator(ctx, source).knobs
        knobs.faults.append(Fault(**kw))
        ctx.cleanups.append(knobs.faults.clear)

    return apply


def rate_storm(source: str) -> Callable[[Ctx], None]:
    """One request per minute allowed: every later request is a 429 with Retry-After."""

    def apply(ctx: Ctx) -> None:
        knobs = _emulator(ctx, source).knobs
        knobs.rate_limit, knobs.rate_window_s = 1, 60.0

        def reset() -> None:
            knobs.rate_limit = None

        ctx.cleanups.append(reset)

    return apply


def env(name: str, value: str) -> Callable[[Ctx], None]:
    def apply(ctx: Ctx) -> None:
        ctx.env[name] = value

    return apply


def params(path: list[str], value) -> Callable[[Ctx], None]:
    def apply(ctx: Ctx) -> None:
        node = ctx.params
        for key in path[:-1]:
            node = node.setdefault(key, {})
        node[path[-1]] = value

    return apply


def db_via_proxy(
    drop_after: int | None = None, stall_after: int | None = None
) -> Callable[[Ctx], None]:
    """Route the database through a loopback proxy that cuts the link mid-pull, or
    stalls it (stops forwarding but keeps the connection open)."""

    def apply(ctx: Ctx) -> None:
        knobs = ProxyKnobs(drop_after_bytes=drop_after, stall_after_bytes=stall_after)
        proxy = TcpProxy(ctx.sandbox.db_socket, knobs)
        port = proxy.start()
        ctx.cleanups.append(proxy.stop)
        ctx.env["READINESS_DATABASE_URL"] = (
            f"postgresql://readiness_auditor@127.0.0.1:{port}/postgres"
        )

    return apply


def broken_codebase(kind: str) -> Callable[[Ctx], None]:
    def apply(ctx: Ctx) -> None:
        root = Path(ctx.params["sources"]["codebase"]["path"])
        if kind == "missing":
            ctx.params["sources"]["codebase"]["path"] = str(root.parent / "no-such-checkout")
            return
        config = root / "supabase" / "config.toml"
        original = config.read_text()
        config.write_text("[functions.stripe-webhook\nverify_jwt = maybe\n")
        ctx.cleanups.append(lambda: config.write_text(original))

    return apply


def live_schema(dsn: str | None, statement_timeout: float | None = None):
    """Read the schema from the live database (optionally a broken DSN / tiny timeout)."""

    def apply(ctx: Ctx) -> None:
        ctx.params["sources"]["schema"] = {"enabled": True, "mode": "live"}
        if dsn:
            ctx.env["READINESS_DATABASE_URL"] = dsn
        if statement_timeout:
            ctx.params["sources"]["database"]["statement_timeout_s"] = statement_timeout

    return apply


def combined(*applies: Callable[[Ctx], None]) -> Callable[[Ctx], None]:
    def apply(ctx: Ctx) -> None:
        for one in applies:
            one(ctx)

    return apply


CLOSED = "http://127.0.0.1:9"  # discard port: nothing listens there on loopback

# (case id, source, fault applied, words one of which the reason must contain)
CASES = [
    ("stripe-refused", "stripe", env("READINESS_STRIPE_API_BASE", CLOSED), ["connect"]),
    (
        "stripe-timeout",
        "stripe",
        fault("stripe", kind="slow", delay_s=1.5),
        ["timed out", "gave up"],
    ),
    ("stripe-500", "stripe", fault("stripe", kind="status", status=500), ["500"]),
    ("stripe-429-storm", "stripe", rate_storm("stripe"), ["429", "rate", "gave up"]),
    (
        "stripe-401",
        "stripe",
        env("READINESS_STRIPE_KEY", "rk_live_not_a_real_key_000"),
        ["401", "authentication"],
    ),
    ("stripe-403", "stripe", fault("stripe", kind="status", status=403), ["403", "permission"]),
    ("stripe-malformed", "stripe", fault("stripe", kind="malformed"), ["malformed", "json"]),
    (
        "stripe-endless-pages",
        "stripe",
        fault("stripe", kind="endless_pagination", path_prefix="/v1/prices"),
        ["does not advance", "pages"],
    ),
    ("stripe-dropped", "stripe", fault("stripe", kind="drop"), ["dropped", "connection"]),
    # one byte every 0.2 s: each socket read beats the 0.5 s timeout, the answer never ends
    (
        "stripe-trickle-headers",
        "stripe",
        fault("stripe", kind="trickle_headers", delay_s=0.2),
        ["timed out", "gave up"],
    ),
    (
        "stripe-trickle-body",
        "stripe",
        fault("stripe", kind="trickle_body", delay_s=0.2),
        ["timed out", "gave up"],
    ),
    ("panel-refused", "pterodactyl", env("READINESS_PANEL_URL", CLOSED), ["connect"]),
    (
        "panel-timeout",
        "pterodactyl",
        fault("panel", kind="slow", delay_s=1.5),
        ["timed out", "gave up"],
    ),
    ("panel-500", "pterodactyl", fault("panel", kind="status", status=500), ["500"]),
    ("panel-429-storm", "pterodactyl", rate_storm("panel"), ["429", "rate", "gave up"]),
    (
        "panel-401",
        "pterodactyl",
        env("READINESS_PANEL_KEY", "ptla_" + "0" * 43),
        ["401", "authentication"],
    ),
    (
        "panel-403",
        "pterodactyl",
        fault("panel", kind="status", status=403),
        ["403", "authentication"],
    ),
    ("panel-malformed", "pterodactyl", fault("panel", kind="malformed"), ["malformed", "json"]),
    (
        "panel-endless-pages",
        "pterodactyl",
        fault("panel", kind="endless_pagination", path_prefix="/api/application/users"),
        ["does not advance", "pages", "returned twice"],
    ),
    ("panel-dropped", "pterodactyl", fault("panel", kind="drop"), ["dropped", "connection"]),
    (
        "panel-trickle-headers",
        "pterodactyl",
        fault("panel", kind="trickle_headers", delay_s=0.2),
        ["timed out", "gave up"],
    ),
    (
        "panel-trickle-body",
        "pterodactyl",
        fault("panel", kind="trickle_body", delay_s=0.2),
        ["timed out", "gave up"],
    ),
    (
        "db-refused",
        "database",
        env("READINESS_DATABASE_URL", "postgresql://u@127.0.0.1:9/postgres"),
        ["refused", "connect"],
    ),
    (
        "db-no-socket",
        "database",
        env("READINESS_DATABASE_URL", "postgresql://u@/postgres?host=/nonexistent"),
        ["no such file", "connect"],
    ),
    (
        "db-not-a-dsn",
        "database",
        env("READINESS_DATABASE_URL", "mysql://u@127.0.0.1/db"),
        ["postgresql://"],
    ),
    (
        "db-drop-mid-pull",
        "database",
        db_via_proxy(drop_after=6000),
        ["closed", "terminat", "connection", "server"],
    ),
    (
        "db-stall-mid-result",
        "database",
        db_via_proxy(stall_after=6000),  # part of a result, then silence on a live link
        ["gave up", "time budget", "stopped answering"],
    ),
    (
        "db-statement-timeout",
        "database",
        params(["sources", "database", "statement_timeout_s"], 0.001),
        ["statement timeout", "cancel"],
    ),
    ("db-dsn-unset", "database", env("READINESS_DATABASE_URL", ""), ["not set"]),
    ("code-missing", "codebase", broken_codebase("missing"), ["does not exist"]),
    ("mgmt-refused", "supabase_api", env("READINESS_SUPABASE_API_URL", CLOSED), ["connect"]),
    (
        "mgmt-timeout",
        "supabase_api",
        fault("supabase_api", kind="slow", delay_s=1.5),
        ["timed out", "gave up"],
    ),
    ("mgmt-500", "supabase_api", fault("supabase_api", kind="status", status=500), ["500"]),
    ("mgmt-429-storm", "supabase_api", rate_storm("supabase_api"), ["429", "rate", "gave up"]),
    (
        "mgmt-401",
        "supabase_api",
        env("READINESS_SUPABASE_TOKEN", "sbp_" + "0" * 40),
        ["401", "authentication"],
    ),
    (
        "mgmt-malformed",
        "supabase_api",
        fault("supabase_api", kind="malformed"),
        ["malformed", "json"],
    ),
    ("mgmt-dropped", "supabase_api", fault("supabase_api", kind="drop"), ["dropped", "connection"]),
    (
        "mgmt-trickle-headers",
        "supabase_api",
        fault("supabase_api", kind="trickle_headers", delay_s=0.2),
        ["timed out", "gave up"],
    ),
    (
        "mgmt-trickle-body",
        "supabase_api",
        fault("supabase_api", kind="trickle_body", delay_s=0.2),
        ["timed out", "gave up"],
    ),
    (
        "schema-live-refused",
        "schema+database",
        live_schema("postgresql://u@127.0.0.1:9/postgres"),
        ["refused", "connect"],
    ),
    (
        "schema-live-timeout",
        "schema+database",
        live_schema(None, statement_timeout=0.001),
        ["statement timeout", "cancel"],
    ),
    (
        "schema-live-stall-mid-result",
        "schema+database",
        combined(live_schema(None), db_via_proxy(stall_after=6000)),
        ["gave up", "time budget", "stopped answering"],
    ),
    (
        "schema-no-migrations",
        "schema",
        params(["sources", "schema", "migrations_path"], "/nonexistent/migrations"),
        ["not found", "no .sql"],
    ),
]


@pytest.fixture(scope="module")
def platform(tmp_path_factory):
    with Sandbox(
        tmp_path_factory.mktemp("sb-faults"),
        profile="clean",
        size=DatasetSize(users=12, orders=20, nodes=3),
    ) as sb:
        yield sb


@pytest.fixture(scope="module")
def baseline(platform, tmp_path_factory):
    ctx = Ctx(platform, yaml.safe_load(platform.params_file.read_text()), {}, [])
    config = load_config(_write_params(ctx, tmp_path_factory.mktemp("baseline")))
    snapshot = collect(config)
    findings = evaluate(snapshot, config)
    return {f.check_id: worst(findings, f.check_id) for f in findings}


def worst(findings, check_id):
    from readiness.findings import worst_status

    return worst_status([f.status for f in findings if f.check_id == check_id])


def _write_params(ctx: Ctx, tmp_path: Path) -> Path:
    for source, values in FAST.items():
        for k, v in values.items():
            ctx.params["sources"][source].setdefault(k, v)
    # the scratch-Postgres schema source is slow-ish; only its own cases turn it on
    ctx.params["sources"].setdefault("schema", {"enabled": False})
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(ctx.params))
    return path


@pytest.mark.parametrize("case_id,source,apply,words", CASES, ids=[c[0] for c in CASES])
def test_fault(platform, baseline, tmp_path, monkeypatch, case_id, source, apply, words):
    ctx = Ctx(platform, yaml.safe_load(platform.params_file.read_text()), {}, [])
    try:
        apply(ctx)
        for name, value in ctx.env.items():
            monkeypatch.setenv(name, value)
        config = load_config(_write_params(ctx, tmp_path))
        start = time.monotonic()
        snapshot = collect(config)
        findings = evaluate(snapshot, config)
        TIMINGS[case_id] = time.monotonic() - start
    finally:
        for undo in reversed(ctx.cleanups):
            undo()

    affected = source.split("+")  # a live schema reads through the database DSN too
    for name in affected:
        state = snapshot.sources[name]
        assert state.status == "error", (case_id, state)
        assert state.reason.lower().startswith(name.split("_")[0][:5]), state.reason
    reason = snapshot.sources[affected[0]].reason.lower()
    assert any(w.lower() in reason for w in words), (case_id, reason)
    assert TIMINGS[case_id] < 60, "a faulted source must give up in bounded time"

    specs = {s.id: s for s in all_checks()}
    for f in findings:
        if set(affected) & set(specs[f.check_id].sources):
            assert f.status == Status.NOT_VERIFIED, (f.check_id, f.status, f.reason)
            assert any(name in f.reason for name in affected), f.reason
    for cid, spec in specs.items():
        if set(affected) & (set(spec.sources) | _optional_sources(spec)):
            continue
        if baseline.get(cid) is not None:
            assert worst(findings, cid) == baseline[cid], cid

    verdict = scoring.decide(findings, list(specs.values()))
    assert verdict.verdict != "GO"
    if any(set(affected) & set(s.sources) and s.severity == "critical" for s in specs.values()):
        assert verdict.exit_code in (1, 3)


def _optional_sources(spec) -> set[str]:
    """Sources a check may read through optional tables (its result may legitimately
    change when they are missing)."""
    prefixes = {
        "code_": "codebase",
        "stripe_": "stripe",
        "panel_": "pterodactyl",
        "db_": "database",
    }
    return {src for t in spec.optional_tables for p, src in prefixes.items() if t.startswith(p)}


def test_malformed_config_toml_is_reported_and_never_assumed(platform, tmp_path):
    """A broken config.toml does not stop the static audit, but verify_jwt becomes unknown
    (not Supabase's default) and the reason is recorded."""
    ctx = Ctx(platform, yaml.safe_load(platform.params_file.read_text()), {}, [])
    try:
        broken_codebase("toml")(ctx)
        config = load_config(_write_params(ctx, tmp_path))
        snapshot = collect(config)
    finally:
        for undo in ctx.cleanups:
            undo()
    state = snapshot.sources["codebase"]
    assert any("config.toml does not parse" in n for n in state.notes), state.notes
    functions = snapshot.table("code_functions")
    assert functions["verify_jwt_effective"].isna().all()


def test_cli_exit_code_when_stripe_is_down(platform, tmp_path, monkeypatch, capsys):
    """Through the command line: a dead Stripe means the run cannot confirm (exit 3), the
    new run is published on its own and an earlier run is left byte-for-byte alone."""
    out = tmp_path / "out"
    earlier = out / "2026-01-01"
    earlier.mkdir(parents=True)
    (earlier / "findings.json").write_text('{"kept": true}')
    before = (earlier / "findings.json").read_bytes()
    monkeypatch.setenv("READINESS_STRIPE_API_BASE", CLOSED)
    ctx = Ctx(platform, yaml.safe_load(platform.params_file.read_text()), {}, [])
    params_path = _write_params(ctx, tmp_path)
    code = main(["run", "--params", str(params_path), "--no-notebooks", "--output-dir", str(out)])
    assert code == 3
    assert "CANNOT CONFIRM" in capsys.readouterr().out
    assert sorted(p.name for p in out.iterdir())[0] == "2026-01-01"
    assert len([p for p in out.iterdir() if not p.name.startswith(".")]) == 2
    assert (earlier / "findings.json").read_bytes() == before
    assert [p.name for p in earlier.iterdir()] == ["findings.json"]


def test_waivers_cannot_buy_a_go_when_stripe_rejects_the_key(
    platform, tmp_path, monkeypatch, capsys
):
    """Stripe answers 401 and every check that needs it is waived: the waivers do not
    apply (not verified is not an accepted risk), so the run still cannot confirm."""
    monkeypatch.setenv("READINESS_STRIPE_KEY", "rk_live_not_a_real_key_000")
    ctx = Ctx(platform, yaml.safe_load(platform.params_file.read_text()), {}, [])
    stripe_checks = [s.id for s in all_checks() if "stripe" in s.sources]
    (tmp_path / "waivers.yaml").write_text(
        yaml.safe_dump(
            {"waivers": [{"check": c, "reason": "stripe is flaky today"} for c in stripe_checks]}
        )
    )
    ctx.params["waivers_file"] = str(tmp_path / "waivers.yaml")
    params_path = _write_params(ctx, tmp_path)
    out = tmp_path / "out"
    code = main(["run", "--params", str(params_path), "--no-notebooks", "--output-dir", str(out)])
    assert code == 3, capsys.readouterr().out
    (folder,) = [p for p in out.iterdir() if not p.name.startswith(".")]
    doc = json.loads((folder / "findings.json").read_text())
    assert doc["verdict"] == "CANNOT CONFIRM" and doc["score"] <= scoring.UNVERIFIED_CAP
    states = {w["check"]: w for w in doc["waivers"]}
    assert {w["state"] for w in states.values()} == {"does not apply"}
    assert all(
        "401" in w["detail"] or "authentication" in w["detail"].lower() for w in states.values()
    )
    assert not [f for f in doc["findings"] if f["status"] == "waived"]


def test_cancel_stops_a_stalled_database_promptly(platform, monkeypatch):
    """Ctrl-C while the database link is stalled mid-result: the source stops within
    a second or two, long before its time budget."""
    import threading

    from readiness.sources.base import CANCEL, Cancelled
    from readiness.sources.database import collect_database

    proxy = TcpProxy(platform.db_socket, ProxyKnobs(stall_after_bytes=6000))
    port = proxy.start()
    dsn = f"postgresql://readiness_auditor@127.0.0.1:{port}/postgres"
    out: dict[str, BaseException] = {}

    def run() -> None:
        try:
            collect_database(dsn, statement_timeout_s=30, connect_timeout_s=2, max_seconds=120)
        except BaseException as exc:  # noqa: BLE001 -- handed to the test
            out["exc"] = exc

    thread = threading.Thread(target=run, daemon=True)
    try:
        thread.start()
        time.sleep(1.5)
        assert thread.is_alive(), out  # it is stalled, not finished
        CANCEL.set()
        cancelled_at = time.monotonic()
        thread.join(15)
        assert not thread.is_alive(), "a cancelled database source kept waiting"
        assert time.monotonic() - cancelled_at < 3
    finally:
        CANCEL.clear()
        proxy.stop()
    assert isinstance(out.get("exc"), Cancelled), out
    assert str(out["exc"]).startswith("database: stopped")
