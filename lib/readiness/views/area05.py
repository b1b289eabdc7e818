"""Area 5 views: where the schema came from, tables with their RLS state, status CHECKs,
indexes next to foreign keys, and the migrations that did not apply."""

from __future__ import annotations

import json

import pandas as pd

from readiness.workbook import Audit


def _table(audit: Audit, name: str) -> pd.DataFrame | None:
    return audit.snapshot.table(name)


def schema_origin(audit: Audit) -> pd.DataFrame:
    """Live catalog or migrations replayed on a scratch database, and how that went."""
    info = _table(audit, "schema_info")
    return info if info is not None else pd.DataFrame({"note": ["the schema was not collected"]})


def tables_rls(audit: Audit) -> pd.DataFrame:
    """Every table with RLS on/off and its policy count."""
    t = _table(audit, "schema_tables")
    if t is None:
        return pd.DataFrame({"note": ["the schema was not collected"]})
    return t.sort_values(["rls_enabled", "schema", "table"]).reset_index(drop=True)


def status_values(audit: Audit) -> pd.DataFrame:
    """Allowed values of each CHECK constraint × whether the code writes them."""
    checks = _table(audit, "schema_check_constraints")
    writes = _table(audit, "code_status_writes")
    if checks is None:
        return pd.DataFrame({"note": ["the schema was not collected"]})
    written = set() if writes is None else set(zip(writes["table"], writes["value"], strict=True))
    rows = []
    for row in checks.dropna(subset=["allowed_values"]).itertuples():
        for value in json.loads(row.allowed_values):
            rows.append(
                {
                    "table": row.table,
                    "column": row.columns,
                    "value": value,
                    "written_by_code": (row.table, value) in written,
                }
            )
    return pd.DataFrame(rows)


def foreign_keys(audit: Audit) -> pd.DataFrame:
    fks = _table(audit, "schema_foreign_keys")
    return fks if fks is not None else pd.DataFrame({"note": ["the schema was not collected"]})


def migrations(audit: Audit) -> pd.DataFrame:
    """Statements that failed to apply on the scratch database (empty when all applied)."""
    m = _table(audit, "schema_migrations")
    if m is None:
        return pd.DataFrame({"note": ["the schema was not collected"]})
    return m[~m["ok"].fillna(True).astype(bool)].reset_index(drop=True)


def rls_writes(audit: Audit) -> pd.DataFrame:
    """What anon / authenticated can write, one row per table, command and role."""
    w = _table(audit, "schema_rls_writes")
    if w is None:
        return pd.DataFrame({"note": ["the schema was not collected"]})
    allowed = w[w["allowed"].fillna(False).astype(bool)]
    return (
        allowed.groupby(["schema", "table", "role", "command", "scope", "how"], dropna=False)[
            "column"
        ]
        .apply(lambda c: ", ".join(sorted(c.dropna().astype(str))) or "(row)")
        .reset_index()
    )
