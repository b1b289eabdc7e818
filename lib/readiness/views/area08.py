"""Area 8 views: redirect URLs and routes, the values the frontend sends, sign-up flows."""

from __future__ import annotations

import pandas as pd

from readiness.workbook import Audit


def _get(audit: Audit, name: str) -> pd.DataFrame:
    df = audit.snapshot.table(name)
    return df if df is not None else pd.DataFrame({"note": [f"{name} was not collected"]})


def redirects(audit: Audit) -> pd.DataFrame:
    return _get(audit, "code_redirect_urls")


def routes(audit: Audit) -> pd.DataFrame:
    return _get(audit, "code_frontend_routes")


def frontend_values(audit: Audit) -> pd.DataFrame:
    return _get(audit, "code_frontend_values")


def signup(audit: Audit) -> pd.DataFrame:
    return _get(audit, "code_signup_flows")
