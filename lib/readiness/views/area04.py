"""Area 4 views: one row per Edge Function with what protects it and what it can do."""

from __future__ import annotations

import pandas as pd

from readiness.workbook import Audit

FACTS = (
    "caller_check",
    "internal_check",
    "ownership_check",
    "resource_lookup",
    "body_identity",
    "privileged_op",
    "admin_check",
    "cors_origin",
    "ambient_credentials",
)


def function_security(audit: Audit) -> pd.DataFrame:
    """Per function: verify_jwt (repo and deployed), service role, and each security fact."""
    inp = audit.check_input(
        "code_functions",
        "code_function_files",
        "code_auth_facts",
        "code_env_reads",
        "supabase_functions",
    )
    if not {"code_functions", "code_function_files", "code_auth_facts"} <= set(inp.tables):
        return pd.DataFrame({"note": ["the codebase was not collected"]})
    from readiness.checks.area04_auth import function_facts, service_role_functions

    facts = function_facts(inp)
    service = service_role_functions(inp) if "code_env_reads" in inp.tables else {}
    deployed = inp.tables.get("supabase_functions")
    rows = []
    for fn in inp["code_functions"].itertuples():
        mine = facts[facts["function_slug"] == fn.slug]
        row = {
            "function": fn.slug,
            "verify_jwt (config)": fn.verify_jwt_effective,
            "verify_jwt (deployed)": None,
            "service role": fn.slug in service,
        }
        if deployed is not None and fn.slug in set(deployed["slug"]):
            row["verify_jwt (deployed)"] = deployed.set_index("slug").loc[fn.slug, "verify_jwt"]
        for fact in FACTS:
            kinds = sorted({str(k) for k in mine.loc[mine["fact"] == fact, "kind"].dropna()})
            details = sorted({str(d) for d in mine.loc[mine["fact"] == fact, "detail"].dropna()})
            row[fact.replace("_", " ")] = ", ".join(kinds or details) or "—"
        rows.append(row)
    return pd.DataFrame(rows)
