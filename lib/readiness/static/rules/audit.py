"""Runs the Area 4–8 fact rules (SQL migrations, status writes, error handling, frontend)
over one parsed checkout and returns their tables; called once by the codebase source.

A file shared by several functions (e.g. `_shared/db.ts`) yields its function-scoped facts
once per function that imports it, like the Stripe facts do.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import Any

import pandas as pd

from ..textfiles import is_text, read_text
from ..ts.responses import Responses
from ..ts.scope import with_slug
from ..ts.syntax import ParsedFile
from . import (
    admin_bootstrap,
    admin_bootstrap_code,
    allow_lists,
    body_keys,
    definer,
    errors,
    frontend,
    function_calls,
    panel_access,
    provision_errors,
    reversible,
    sql,
    sql_calls,
    status,
    subscription_end,
    table_uses,
)
from .hooks import FunctionIndex

TABLES: dict[str, dict[str, str]] = {
    **sql.TABLES,
    **status.TABLES,
    **errors.TABLES,
    **provision_errors.TABLES,
    **frontend.TABLES,
    **table_uses.TABLES,
    **function_calls.TABLES,
    **reversible.TABLES,
    **panel_access.TABLES,
    **admin_bootstrap.TABLES,
    **definer.TABLES,
    **subscription_end.TABLES,
    **allow_lists.TABLES,
}
RULE_ERRORS = (RecursionError, ValueError, TypeError, AttributeError, IndexError, KeyError)


def frame(name: str, rows: list[dict]) -> pd.DataFrame:
    schema = TABLES[name]
    df = pd.DataFrame(rows, columns=list(schema)) if rows else pd.DataFrame(columns=list(schema))
    return df.astype(schema).reset_index(drop=True)


def collect_audit_facts(
    root: Path,
    files: list[dict],
    parsed: dict[str, ParsedFile],
    owners: dict[str, list[str | None]],
    notes: list[str],
) -> dict[str, pd.DataFrame]:
    """Tables of the four rule modules (see each module's TABLES for the columns)."""
    rows: dict[str, list[dict]] = {t: [] for t in TABLES}

    def safe(rule: str, fn: Callable[..., Any], *args: Any) -> list[dict]:
        try:
            return fn(*args)
        except RULE_ERRORS as exc:  # one odd construct loses that file, not the run
            where = getattr(args[0], "path", args[0])
            notes.append(f"rule {rule} skipped {where}: {type(exc).__name__}: {exc}")
            return []

    kinds = {f["path"]: f["kind"] for f in files}
    migrations: list[tuple[str, str]] = []
    for f in files:
        if not is_text(f.get("encoding")):
            continue  # binary or unreadable (recorded in code_files)
        if f["kind"] == "migration":
            text = read_text(root / f["path"], f["encoding"])
            try:
                facts = sql.migration_facts(f["path"], text)
            except RULE_ERRORS as exc:
                notes.append(f"rule migrations skipped {f['path']}: {type(exc).__name__}: {exc}")
                continue
            for name, found in facts.items():
                rows[name] += found
            rows["code_scheduled_calls"] += provision_errors.scheduled_calls(f["path"], text)
            migrations.append((f["path"], text))
            rows["code_reversible_secrets"] += safe(
                "reversible", reversible.sql_writes, f["path"], text
            )
            rows["code_admin_bootstraps"] += safe(
                "admin_bootstrap", admin_bootstrap.admin_bootstraps, f["path"], text
            )
            rows["code_definer_user_reads"] += safe(
                "definer", definer.definer_user_reads, f["path"], text
            )
            rows["code_function_grants"] += safe(
                "definer", definer.function_grants, f["path"], text
            )
        elif f["kind"] == "env" and "functions" not in PurePosixPath(f["path"]).parts:
            text = read_text(root / f["path"], f["encoding"])
            rows["code_frontend_keys"] += frontend.key_kinds(f["path"], text)

    rows["code_function_calls"] += safe("sql_calls", sql_calls.sql_calls, migrations)
    responses = Responses(list(parsed.values()))
    index = FunctionIndex(list(parsed.values()))
    roles = panel_access.ClientRoles(list(parsed.values()))
    for path, pf in parsed.items():
        kind = kinds.get(path)
        for slug in owners.get(path) or [pf.function_slug]:
            view = with_slug(pf, slug)
            writes = safe("status_writes", status.status_writes, view)
            rows["code_status_writes"] += writes
            rows["code_query_filters"] += safe("query_filters", status.query_filters, view)
            rows["code_table_uses"] += safe("table_uses", table_uses.table_uses, view, roles)
            rows["code_catches"] += safe("catches", errors.catch_facts, view, responses, index)
            rows["code_handlers"] += safe("handlers", errors.handler_facts, view, responses, writes)
            rows["code_write_errors"] += safe("write_errors", errors.write_errors, view, responses)
            rows["code_provision_errors"] += safe(
                "provision_errors", provision_errors.provision_errors, view, responses
            )
            if kind in {"function", "shared"} and slug:
                rows["code_function_calls"] += safe(
                    "function_calls", function_calls.function_calls, view, slug, kind
                )
                rows["code_function_body_keys"] += safe(
                    "body_keys", body_keys.body_keys, view, responses
                )
                rows["code_reversible_secrets"] += safe(
                    "reversible", reversible.code_writes, view, slug
                )
                rows["code_admin_bootstraps"] += safe(
                    "admin_bootstrap", admin_bootstrap_code.code_bootstraps, view
                )
                rows["code_panel_calls"] += safe(
                    "panel_calls", panel_access.panel_calls, view, roles
                )
                rows["code_payment_checks"] += safe(
                    "payment_checks", panel_access.payment_checks, view
                )
            if kind in {"function", "shared"}:
                rows["code_allow_lists"] += safe("allow_lists", allow_lists.allow_lists, view)
                rows["code_panel_suspends"] += safe(
                    "panel_suspends", subscription_end.panel_suspends, view
                )
                rows["code_flow_subscription_ends"] += safe(
                    "subscription_ends", subscription_end.subscription_ends, view, None, index
                )
                rows["code_redirect_urls"] += safe("redirects", frontend.redirect_urls, view)
        caller_kind = function_calls.caller_kind(path, kind)
        if caller_kind is not None:
            rows["code_function_calls"] += safe(
                "function_calls", function_calls.function_calls, pf, f"file:{path}", caller_kind
            )
            rows["code_reversible_secrets"] += safe(
                "reversible", reversible.code_writes, pf, f"file:{path}"
            )
        if kind in {"frontend", "server"}:  # a Next.js server component is a page too
            rows["code_redirect_urls"] += safe("redirects", frontend.redirect_urls, pf)
            rows["code_frontend_routes"] += safe("routes", frontend.routes, pf)
            page = frontend.file_route(path)
            if page is not None:
                rows["code_frontend_routes"].append(
                    {"path": path, "line": 1, "route": page, "style": "file"}
                )
        if kind == "frontend":
            rows["code_frontend_values"] += safe("values", frontend.frontend_values, pf)
            rows["code_signup_flows"] += safe("signup", frontend.signup_flows, pf)
            rows["code_frontend_keys"] += safe("keys", frontend.frontend_keys, pf)
    for f in files:  # a page the parser could not read is still a route of the router
        page = frontend.file_route(f["path"]) if f["path"] not in parsed else None
        if page is not None and f["kind"] in {"frontend", "server"}:
            rows["code_frontend_routes"].append(
                {"path": f["path"], "line": 1, "route": page, "style": "file"}
            )
    return {name: frame(name, found) for name, found in rows.items()}
