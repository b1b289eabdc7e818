"""Area 6 views: each function's handler shape, every catch block, and what happens when a
database write fails."""

from __future__ import annotations

import pandas as pd

from readiness.workbook import Audit


def _get(audit: Audit, name: str) -> pd.DataFrame:
    df = audit.snapshot.table(name)
    return df if df is not None else pd.DataFrame({"note": [f"{name} was not collected"]})


def handlers(audit: Audit) -> pd.DataFrame:
    return _get(audit, "code_handlers")


def catches(audit: Audit) -> pd.DataFrame:
    df = _get(audit, "code_catches")
    return df.drop_duplicates(["path", "line"]) if "path" in df else df


def write_errors(audit: Audit) -> pd.DataFrame:
    return _get(audit, "code_write_errors")
