"""Params: a validated, typed audit configuration.

Params files carry the *names* of environment variables, never secret values, because
papermill writes every parameter into the executed notebook. Validation errors name the
offending key and never echo the value (it might be a pasted secret).
"""

from __future__ import annotations

import io
import os
import re
from pathlib import Path
from typing import Any, Literal

from dotenv import dotenv_values
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from readiness.userfiles import FileError, StrictLoader, load_yaml, read_text

ENV_NAME = re.compile(r"^[A-Z_][A-Z0-9_]{0,99}$")
DEFAULT_ACTIVE_STATUSES = ["paid", "provisioning", "installing", "active", "provisioned"]


class ConfigError(Exception):
    """Bad params: the CLI turns this into exit code 2."""


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _env_name(value: str | None) -> str | None:
    if value is not None and not ENV_NAME.match(value):
        raise ValueError(
            "must be the NAME of an environment variable "
            "(UPPER_CASE letters, digits, _), not a value"
        )
    return value


class DatabaseSource(Strict):
    enabled: bool = True
    dsn_env: str = "READINESS_DATABASE_URL"
    statement_timeout_s: float = Field(30, gt=0)
    connect_timeout_s: float = Field(10, gt=0)
    max_seconds: float = Field(
        300, gt=0, description="time budget for the whole pull (a stalled link is cut)"
    )

    _check_env = field_validator("dsn_env")(_env_name)


class StripeSource(Strict):
    enabled: bool = True
    api_key_env: str = "READINESS_STRIPE_KEY"
    test_api_key_env: str | None = None
    api_base: str | None = None
    api_base_env: str | None = None
    timeout_s: float = Field(20, gt=0)
    max_retries: int = Field(3, ge=0, le=10)
    max_seconds: float = Field(600, gt=0, description="time budget for the whole pull")
    concurrency: int = Field(8, ge=1, le=64, description="parallel requests for long lists")
    rate_limit_per_s: float | None = Field(
        90, gt=0, description="client-side pacing; Stripe allows 100 reads/s in live mode"
    )
    lookback_days: int = Field(30, ge=1, le=400)

    _check_env = field_validator("api_key_env", "test_api_key_env", "api_base_env")(_env_name)


class PterodactylSource(Strict):
    enabled: bool = True
    url: str | None = None
    url_env: str | None = None
    api_key_env: str = "READINESS_PANEL_KEY"
    timeout_s: float = Field(20, gt=0)
    max_retries: int = Field(3, ge=0, le=10)
    max_seconds: float = Field(600, gt=0, description="time budget for the whole pull")
    concurrency: int = Field(4, ge=1, le=32, description="pages fetched in parallel")

    _check_env = field_validator("url_env", "api_key_env")(_env_name)


class CodebaseSource(Strict):
    enabled: bool = True
    path: Path | None = None


class SchemaSource(Strict):
    """Where the schema checks read the catalog from: the live database (read-only) or a
    scratch embedded Postgres with the checkout's migrations applied."""

    enabled: bool = True
    mode: Literal["auto", "live", "migrations"] = "auto"
    migrations_path: Path | None = None  # default: <codebase>/supabase/migrations
    statement_timeout_s: float = Field(
        30, gt=0, description="per migration statement; enforced even if a migration lifts it"
    )
    max_seconds: float = Field(300, gt=0, description="time budget for the whole source")


class SupabaseApiSource(Strict):
    """The Supabase management API (deployed functions, secret names, advisors)."""

    enabled: bool = False
    url: str = "https://api.supabase.com"
    url_env: str | None = None
    token_env: str = "READINESS_SUPABASE_TOKEN"
    project_ref: str | None = None
    project_ref_env: str | None = None
    timeout_s: float = Field(20, gt=0)
    max_retries: int = Field(3, ge=0, le=10)
    max_seconds: float = Field(120, gt=0, description="time budget for the whole pull")

    _check_env = field_validator("url_env", "token_env", "project_ref_env")(_env_name)


class Sources(Strict):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    database: DatabaseSource = DatabaseSource()
    stripe: StripeSource = StripeSource()
    pterodactyl: PterodactylSource = PterodactylSource()
    codebase: CodebaseSource = CodebaseSource()
    schema_: SchemaSource = Field(SchemaSource(), alias="schema")
    supabase_api: SupabaseApiSource = SupabaseApiSource()

    def get(self, name: str) -> BaseModel:
        """A source's settings by its snapshot name ('schema' is `schema_` in Python)."""
        return getattr(self, "schema_" if name == "schema" else name)


class Supabase(Strict):
    project_url: str | None = Field(
        None, description="https://<ref>.supabase.co; the webhook endpoint must point here"
    )
    webhook_function: str | None = Field(None, description="slug; detected from code if absent")


class Thresholds(Strict):
    undelivered_event_minutes: int = Field(60, ge=0)
    order_sla_minutes: int = Field(30, ge=0)
    checkout_lookback_days: int = Field(
        30, ge=1, le=400, description="paid checkout sessions this recent must have an order"
    )
    capacity_headroom_pct: float = Field(
        10, ge=0, le=100, description="warn when a node has less free RAM than this share"
    )
    min_free_allocations: int = Field(2, ge=0, description="warn below this many free ports")


class Verdict(Strict):
    fail_on: Literal["critical", "high", "medium", "low"] = "critical"


class TermSpec(Strict):
    interval: Literal["day", "week", "month", "year"]
    interval_count: int = Field(1, ge=1)


class GameSpec(Strict):
    egg_id: int | None = None
    egg_name: str | None = None
    ram_gb: list[int]
    amount_cents: dict[int, int] = Field(default_factory=dict, description="RAM GB -> cents")


class Catalog(Strict):
    """The catalogue the business expects to sell (what the seed claims)."""

    claimed_plan_count: int | None = None
    currency: str = "usd"
    terms: dict[str, TermSpec] = Field(
        default_factory=lambda: {"monthly": TermSpec(interval="month")}
    )
    price_id_prefixes: list[str] = Field(default_factory=list)
    games: dict[str, GameSpec]

    @property
    def expected_plans(self) -> list[tuple[str, int]]:
        return [(g, r) for g, spec in self.games.items() for r in spec.ram_gb]


class AuditConfig(Strict):
    name: str = "audit"
    environment: Literal["production", "staging", "demo"] = "production"
    env_file: Path | None = None
    catalog_file: Path = Path("expected_catalog.yaml")
    waivers_file: Path | None = None
    # the owners' claims the report confirms or refutes; None: the seed's (report/claims.yaml)
    claims_file: Path | None = None
    sources: Sources = Sources()
    supabase: Supabase = Supabase()
    thresholds: Thresholds = Thresholds()
    active_statuses: list[str] = Field(default_factory=lambda: list(DEFAULT_ACTIVE_STATUSES))
    verdict: Verdict = Verdict()
    # Filled in by load_config, not by the params file:
    params_path: Path | None = None
    catalog: Catalog | None = None

    def secrets(self) -> Secrets:
        return Secrets(self.env_file)

    def check_env_file(self) -> None:
        """A run must not start when the env_file named in params is missing: a typo would
        silently drop every credential. (Notebooks opened alone stay lenient: each source
        then says which variable is not set.)"""
        if self.env_file is not None and not self.env_file.is_file():
            raise ConfigError(f"env_file not found: {self.env_file} (named by env_file in params)")


class Secrets:
    """Looks up secrets by variable name: the process environment first, then the env file."""

    def __init__(self, env_file: Path | None = None) -> None:
        self._file: dict[str, str] = {}
        candidates = [env_file] if env_file else []
        candidates.append(Path.cwd() / ".env")
        for path in candidates:
            if path and path.is_file():
                for k, v in _env_file_values(path).items():
                    if v is not None:
                        self._file.setdefault(k, v)

    def get(self, name: str | None) -> str | None:
        if not name:
            return None
        value = os.environ.get(name)
        if value is None:
            value = self._file.get(name)
        return value or None

    def values(self, names: list[str | None]) -> list[str]:
        """Known secret values, for scanning outputs before publishing."""
        return [v for v in (self.get(n) for n in names) if v]


def _env_file_values(path: Path) -> dict[str, str | None]:
    """An env file's variables. python-dotenv warns about a line it cannot parse by its
    number only (never its text), so a malformed line's value does not reach the logs."""
    try:
        text = read_text(path, "env file")
    except FileError as exc:
        raise ConfigError(str(exc)) from None
    return dotenv_values(stream=io.StringIO(text))


def secret_env_names(config: AuditConfig) -> list[str | None]:
    s = config.sources
    return [
        s.database.dsn_env,
        s.stripe.api_key_env,
        s.stripe.test_api_key_env,
        s.pterodactyl.api_key_env,
        s.supabase_api.token_env if s.supabase_api.enabled else None,
    ]


def _format_validation(path: Path, err: ValidationError) -> str:
    lines = [f"{path}: invalid params"]
    for e in err.errors(include_input=False, include_url=False):
        loc = ".".join(str(p) for p in e["loc"]) or "(top level)"
        msg = e["msg"]
        if e["type"] == "extra_forbidden":
            msg = "unknown key (typo?)"
        lines.append(f"  {loc}: {msg}")
    return "\n".join(lines)


def one_line_errors(err: ValidationError) -> str:
    """A pydantic error as `loc: problem; loc: problem` for a one-line ConfigError about
    one entry of a user file (a waiver, a claim); never the offending value."""
    problems = []
    for e in err.errors(include_input=False, include_url=False):
        msg = "unknown key" if e["type"] == "extra_forbidden" else e["msg"]
        msg = msg.removeprefix("Value error, ")  # a validator's own sentence
        loc = ".".join(map(str, e["loc"]))
        problems.append(f"{loc}: {msg}" if loc else msg)
    return "; ".join(problems)


def read_yaml_file(path: Path, what: str, loader: type[StrictLoader] = StrictLoader) -> Any:
    """A user's YAML file; a ConfigError names file:line:column, never the line's text."""
    try:
        return load_yaml(path, what, loader)
    except FileError as exc:
        raise ConfigError(str(exc)) from None


def _read_yaml(path: Path, what: str) -> dict[str, Any]:
    data = read_yaml_file(path, what)
    if data is None:
        raise ConfigError(f"{path}: the {what} is empty")
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: must be a mapping of keys to values")
    return data


def _resolve(base: Path, p: Path | None) -> Path | None:
    if p is None:
        return None
    return p if p.is_absolute() else (base / p).resolve()


def load_config(params_path: str | Path) -> AuditConfig:
    """Read and validate a params file; relative paths are relative to the file."""
    path = Path(params_path).resolve()
    raw = _read_yaml(path, "params file")
    for forbidden in ("params_path", "catalog"):
        if forbidden in raw:
            raise ConfigError(f"{path}: invalid params\n  {forbidden}: unknown key (typo?)")
    try:
        cfg = AuditConfig.model_validate(raw)
    except ValidationError as err:
        raise ConfigError(_format_validation(path, err)) from None
    base = path.parent
    catalog_path = _resolve(base, cfg.catalog_file)
    assert catalog_path is not None
    try:
        catalog = Catalog.model_validate(_read_yaml(catalog_path, "catalog file"))
    except ValidationError as err:
        raise ConfigError(_format_validation(catalog_path, err)) from None
    codebase = cfg.sources.codebase.model_copy(
        update={"path": _resolve(base, cfg.sources.codebase.path)}
    )
    schema = cfg.sources.schema_.model_copy(
        update={"migrations_path": _resolve(base, cfg.sources.schema_.migrations_path)}
    )
    sources = cfg.sources.model_copy(update={"codebase": codebase, "schema_": schema})
    return cfg.model_copy(
        update={
            "params_path": path,
            "env_file": _resolve(base, cfg.env_file),
            "catalog_file": catalog_path,
            "waivers_file": _resolve(base, cfg.waivers_file),
            "claims_file": _resolve(base, cfg.claims_file),
            "catalog": catalog,
            "sources": sources,
        }
    )


LIVE_SOURCES = ("database", "stripe", "pterodactyl", "supabase_api")


def write_static_params(
    folder: Path,
    checkout: Path,
    catalog_file: Path,
    *,
    schema: bool = False,
    name: str = "static audit",
) -> Path:
    """Params for a code-only audit of `checkout` (every live source off; the schema from
    its supabase/migrations when `schema`), as the precision bench and the tests run it.
    Returns the params file written in `folder`."""
    import yaml

    sources: dict[str, Any] = {source: {"enabled": False} for source in LIVE_SOURCES}
    sources["codebase"] = {"enabled": True, "path": str(checkout)}
    sources["schema"] = {"enabled": True, "mode": "migrations"} if schema else {"enabled": False}
    params = {"name": name, "catalog_file": str(catalog_file), "sources": sources}
    path = folder / "params.yaml"
    path.write_text(yaml.safe_dump(params, sort_keys=False), encoding="utf-8")
    return path
