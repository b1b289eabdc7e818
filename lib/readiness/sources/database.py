"""The platform's Postgres, read through a read-only session.

The session is set read-only and given a statement timeout before any query runs, and
the source refuses to collect through a role that row-level security would filter
(counts would silently be wrong).

Every wait is bounded: libpq's connect_timeout bounds the connection, TCP keepalives
and tcp_user_timeout notice a peer that vanished, the server's statement_timeout bounds
a query, and a wall-clock budget (`max_seconds`) bounds the rest — a link that stalls in
the middle of a result (a proxy that stops forwarding but keeps the TCP connection up)
is cut by the watchdog shutting the connection's socket down (see _watchdog; no
process-wide psycopg2 wait callback, which would put every connection in the process,
the sandbox's COPY included, into asynchronous mode).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from readiness.sources._watchdog import WATCHDOG, Watch
from readiness.sources.base import CANCEL, Cancelled, SourceError, SourceResult, check_cancelled

MAX_SECONDS = 300.0  # default wall-clock budget of one pull (sources.database.max_seconds)
# A peer that stops acknowledging (cable pulled, host gone) is given up on after this;
# an idle link is probed after 30 s, then every 10 s, 3 times (libpq: TCP only).
TCP_USER_TIMEOUT_MS = 30_000
KEEPALIVES = {
    "keepalives": 1,
    "keepalives_idle": 30,
    "keepalives_interval": 10,
    "keepalives_count": 3,
}
_WATCH = "readiness_watch"

# snapshot table -> (schema, table, columns to read: None = all)
TABLES: dict[str, tuple[str, str, list[str] | None]] = {
    "db_plans": ("public", "plans", None),
    "db_ptero_nodes": ("public", "ptero_nodes", None),
    "db_orders": ("public", "orders", None),
    "db_external_accounts": ("public", "external_accounts", None),
    # only what the audit needs from auth.users: no other personal data
    "db_auth_users": ("auth", "users", ["id", "email", "created_at"]),
}


def sqlalchemy_url(dsn: str) -> str:
    """Accept the usual libpq URLs and make SQLAlchemy use psycopg2 for them."""
    scheme = urlsplit(dsn).scheme
    if scheme in ("postgres", "postgresql"):
        return "postgresql+psycopg2" + dsn[len(scheme) :]
    if scheme == "postgresql+psycopg2":
        return dsn
    raise SourceError(
        "database: the DSN must be a postgresql:// URL "
        f"(got scheme {scheme or 'none'!r} from the variable named by sources.database.dsn_env)"
    )


def _engine(
    dsn: str,
    statement_timeout_s: float,
    connect_timeout_s: float,
    max_seconds: float | None = None,
) -> sa.Engine:
    """A read-only engine with every libpq bound set; with `max_seconds`, each of its
    connections is also cut when that budget (counted from now) is spent or the run
    is cancelled."""
    options = (
        "-c default_transaction_read_only=on "
        f"-c statement_timeout={int(statement_timeout_s * 1000)} "
        "-c idle_in_transaction_session_timeout=60000"
    )
    engine = sa.create_engine(
        sqlalchemy_url(dsn),
        poolclass=sa.pool.NullPool,
        connect_args={
            "options": options,
            "connect_timeout": max(1, int(connect_timeout_s)),
            "application_name": "readiness-audit",
            **KEEPALIVES,
            "tcp_user_timeout": TCP_USER_TIMEOUT_MS,
        },
    )
    if max_seconds is not None:
        _bound(engine, time.monotonic() + max_seconds)
    return engine


def _bound(engine: sa.Engine, end: float) -> None:
    """Watch every connection the engine opens until `end` (monotonic clock); the
    watches are released when a connection closes, and at the latest on dispose."""
    watches: list[Watch] = []

    @sa.event.listens_for(engine, "connect")
    def _arm(dbapi_conn: Any, record: Any) -> None:
        watch = WATCHDOG.arm(end - time.monotonic())
        watch.attach(dbapi_conn.fileno())
        record.info[_WATCH] = watch
        watches.append(watch)

    @sa.event.listens_for(engine, "close")
    def _disarm(dbapi_conn: Any, record: Any) -> None:
        watch = record.info.pop(_WATCH, None)
        if watch is not None:
            WATCHDOG.disarm(watch)

    @sa.event.listens_for(engine, "engine_disposed")
    def _disarm_all(_engine: sa.Engine) -> None:
        for watch in watches:
            WATCHDOG.disarm(watch)
        watches.clear()


def _columns(conn: Connection) -> pd.DataFrame:
    return pd.read_sql(
        sa.text(
            "SELECT table_schema, table_name, column_name, data_type, is_nullable "
            "FROM information_schema.columns WHERE table_schema IN ('public', 'auth') "
            "ORDER BY table_schema, table_name, ordinal_position"
        ),
        conn,
        dtype_backend="numpy_nullable",
    )


def _guard_session(conn: Connection) -> None:
    read_only = conn.exec_driver_sql("SHOW transaction_read_only").scalar()
    if read_only != "on":
        raise SourceError("database: could not make the session read-only; refusing to read")
    row = conn.exec_driver_sql(
        "SELECT r.rolname, r.rolsuper OR r.rolbypassrls FROM pg_roles r "
        "WHERE r.rolname = current_user"
    ).one()
    if not row[1]:
        rls = (
            conn.exec_driver_sql(
                "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = 'public' AND c.relrowsecurity AND c.relname = ANY(%(t)s)",
                {"t": [t for s, t, _ in TABLES.values() if s == "public"]},
            )
            .scalars()
            .all()
        )
        if rls:
            raise SourceError(
                f"database: role {row[0]} is subject to row level security on "
                f"{', '.join(sorted(rls))}; rows would be filtered. Use a role with BYPASSRLS "
                "(read-only) for the audit"
            )


def _read_table(conn: Connection, schema: str, table: str, cols: list[str] | None) -> pd.DataFrame:
    select = ", ".join(f'"{c}"' for c in cols) if cols else "*"
    df = pd.read_sql(
        sa.text(f'SELECT {select} FROM "{schema}"."{table}"'),
        conn,
        dtype_backend="numpy_nullable",
    )
    for col in df.columns:
        if col.endswith("_at") or pd.api.types.is_datetime64_any_dtype(df[col]):
            df[col] = pd.to_datetime(df[col], utc=True)
        elif (col == "id" or col.endswith("_id")) and df[col].dtype == object:
            df[col] = df[col].astype("string")
    return df


def collect_database(
    dsn: str,
    *,
    statement_timeout_s: float = 30.0,
    connect_timeout_s: float = 10.0,
    max_seconds: float = MAX_SECONDS,
    progress: Callable[[str], None] | None = None,
) -> SourceResult:
    """Pull the platform tables (and the column catalogue) in one read-only session."""
    start = time.monotonic()  # the engine's budget starts just after: it ends no earlier
    engine = _engine(dsn, statement_timeout_s, connect_timeout_s, max_seconds)
    result = SourceResult()
    step = "connecting"
    try:
        with engine.connect() as conn:
            step = "checking the session"
            _guard_session(conn)
            step = "reading the column catalogue"
            columns = _columns(conn)
            result.tables["db_columns"] = columns
            present = set(zip(columns["table_schema"], columns["table_name"], strict=True))
            for name, (schema, table, cols) in TABLES.items():
                check_cancelled("database")
                if (schema, table) not in present:
                    result.notes.append(f"table {schema}.{table} does not exist")
                    continue
                have = set(columns.loc[columns["table_name"] == table, "column_name"])
                wanted = [c for c in cols if c in have] if cols else None
                step = f"reading {schema}.{table}"
                result.tables[name] = _read_table(conn, schema, table, wanted)
                result.requests += 1
                if progress:
                    progress(f"database: {schema}.{table} {len(result.tables[name])} rows")
            conn.rollback()
    except SourceError:
        raise
    except (sa.exc.DBAPIError, pd.errors.DatabaseError) as exc:
        # pandas wraps the driver's error (the SQLAlchemy one is its cause)
        if isinstance(exc.__cause__, sa.exc.DBAPIError):
            exc = exc.__cause__
        if CANCEL.is_set():
            raise Cancelled("database: stopped (the run was interrupted)") from None
        if time.monotonic() - start >= max_seconds:
            raise SourceError(
                f"database: gave up after {max_seconds:g}s while {step} — the server stopped "
                "answering (time budget sources.database.max_seconds)"
            ) from None
        if isinstance(exc, sa.exc.OperationalError):
            raise SourceError(f"database: {_first_line(exc)}") from None
        if isinstance(exc, sa.exc.DBAPIError):
            raise SourceError(f"database: query failed: {_first_line(exc)}") from None
        raise SourceError(f"database: query failed: {type(exc).__name__}") from None
    finally:
        engine.dispose()
    return result


def _first_line(exc: sa.exc.DBAPIError) -> str:
    """The driver's own first line (never the SQL or the parameters)."""
    text = str(exc.orig) if exc.orig is not None else str(exc)
    return text.strip().splitlines()[0] if text.strip() else type(exc).__name__
