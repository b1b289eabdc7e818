"""Area 7 views: every environment variable with where it is read, documented and set."""

from __future__ import annotations

import pandas as pd

from readiness.workbook import Audit


def env_matrix(audit: Audit) -> pd.DataFrame:
    """One row per variable name: read by, documented in, set in the project (names only)."""
    inp = audit.check_input(
        "code_env_reads", "code_env_file_entries", "code_env_docs", "supabase_secrets"
    )
    if "code_env_reads" not in inp.tables:
        return pd.DataFrame({"note": ["the codebase was not collected"]})
    reads = inp["code_env_reads"]
    documented: dict[str, set[str]] = {}
    for table in ("code_env_file_entries", "code_env_docs"):
        for row in inp.tables.get(table, pd.DataFrame(columns=["name", "path"])).itertuples():
            documented.setdefault(row.name, set()).add(row.path)
    secrets = inp.tables.get("supabase_secrets")
    rows = []
    for name, group in reads.groupby("name", sort=True):
        rows.append(
            {
                "name": name,
                "read at": ", ".join(f"{r.path}:{r.line}" for r in group.itertuples()),
                "fallback": ", ".join(sorted(set(group["fallback_expr"].dropna()))) or "—",
                "documented in": ", ".join(sorted(documented.get(name, set()))) or "—",
                "set (management API)": (name in set(secrets["name"]))
                if secrets is not None
                else "not collected",
            }
        )
    return pd.DataFrame(rows)


def secrets_found(audit: Audit) -> pd.DataFrame:
    """Secrets found in the checkout: kind and location only (never the value)."""
    inp = audit.check_input("code_secrets")
    if "code_secrets" not in inp.tables:
        return pd.DataFrame({"note": ["the codebase was not collected"]})
    return inp["code_secrets"][["path", "line", "kind", "role", "is_live", "fingerprint"]]
