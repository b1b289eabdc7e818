"""The platform's Postgres, read through a read-only session.

The session is set read-only and given a statement timeout before any query runs, and
the source refuses to collect through a role that row-level security would filter
(counts would silently be wrong).
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlsplit

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from readiness.sources.base import SourceError, SourceResult

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


def _engine(dsn: str, statement_timeout_s: float, connect_timeout_s: float) -> sa.Engine:
    options = (
        "-c default_transaction_read_only=on "
        f"-c statement_timeout={int(statement_timeout_s * 1000)} "
        "-c idle_in_transaction_session_timeout=60000"
    )
    return sa.create_engine(
        sqlalchemy_url(dsn),
        poolclass=sa.pool.NullPool,
        connect_args={
            "options": options,
            "connect_timeout": max(1, int(connect_timeout_s)),
            "application_name": "readiness-audit",
        },
    )


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
    progress: Callable[[str], None] | None = None,
) -> SourceResult:
    """Pull the platform tables (and the column catalogue) in one read-only session."""
    engine = _engine(dsn, statement_timeout_s, connect_timeout_s)
    result = SourceResult()
    try:
        with engine.connect() as conn:
            _guard_session(conn)
            columns = _columns(conn)
            result.tables["db_columns"] = columns
            present = set(zip(columns["table_schema"], columns["table_name"], strict=True))
            for name, (schema, table, cols) in TABLES.items():
                if (schema, table) not in present:
                    result.notes.append(f"table {schema}.{table} does not exist")
                    continue
                have = set(columns.loc[columns["table_name"] == table, "column_name"])
                wanted = [c for c in cols if c in have] if cols else None
                result.tables[name] = _read_table(conn, schema, table, wanted)
                result.requests += 1
                if progress:
                    progress(f"database: {schema}.{table} {len(result.tables[name])} rows")
            conn.rollback()
    except SourceError:
        raise
    except sa.exc.OperationalError as exc:
        raise SourceError(f"database: {_first_line(exc)}") from None
    except sa.exc.DBAPIError as exc:
        raise SourceError(f"database: query failed: {_first_line(exc)}") from None
    finally:
        engine.dispose()
    return result


def _first_line(exc: sa.exc.DBAPIError) -> str:
    text = str(exc.orig) if exc.orig is not None else str(exc)
    return text.strip().splitlines()[0] if text.strip() else type(exc).__name__
