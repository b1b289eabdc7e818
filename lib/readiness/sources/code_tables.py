"""The codebase source's tables: names, columns and nullable dtypes (the checks' contract).

Every table is always present with exactly these columns, even when empty, so checks can
rely on the shape. 'string', 'Int64' and 'boolean' are pandas' nullable dtypes: NA means
"not known" (e.g. verify_jwt of a function absent from config.toml), never a default.
"""

from __future__ import annotations

import pandas as pd

S, N, B = "string", "Int64", "boolean"
TABLES: dict[str, dict[str, str]] = {
    "code_files": {
        "path": S,
        "kind": S,
        "function_slug": S,
        "language": S,
        "lines": N,
        "size_bytes": N,
        "parse_ok": B,
        "parse_error": S,
    },
    "code_functions": {
        "slug": S,
        "path": S,
        "in_config": B,
        "verify_jwt": B,
        "verify_jwt_effective": B,
        "is_stripe_webhook": B,
    },
    "code_function_files": {"function_slug": S, "path": S, "via": S},
    "code_imports": {
        "path": S,
        "line": N,
        "function_slug": S,
        "specifier": S,
        "is_relative": B,
        "resolved_path": S,
        "resolved": B,
    },
    "code_env_reads": {
        "path": S,
        "line": N,
        "function_slug": S,
        "name": S,
        "fallback": S,
        "fallback_expr": S,
        "via": S,
    },
    "code_env_file_entries": {"path": S, "line": N, "name": S, "has_value": B},
    "code_webhook_events": {
        "path": S,
        "line": N,
        "function_slug": S,
        "event_type": S,
        "pattern": S,
    },
    "code_signature_checks": {
        "path": S,
        "line": N,
        "function_slug": S,
        "call": S,
        "secret_env": S,
        "secret_expr": S,
        "payload_expr": S,
        "before_side_effects": B,
        "first_side_effect_line": N,
    },
    "code_checkout_sessions": {
        "path": S,
        "line": N,
        "function_slug": S,
        "mode": S,
        "success_url_expr": S,
        "cancel_url_expr": S,
        "params_resolved": B,
    },
    "code_checkout_prices": {
        "path": S,
        "line": N,
        "function_slug": S,
        "property": S,
        "price_expr": S,
        "source": S,
        "table": S,
    },
    "code_metadata_writes": {"path": S, "line": N, "function_slug": S, "container": S, "key": S},
    "code_metadata_reads": {"path": S, "line": N, "function_slug": S, "object_expr": S, "key": S},
}


def frame(table: str, rows: list[dict]) -> pd.DataFrame:
    """A table with exactly its documented columns and nullable dtypes, even when empty."""
    schema = TABLES[table]
    df = pd.DataFrame(rows, columns=list(schema)) if rows else pd.DataFrame(columns=list(schema))
    return df.astype(schema).reset_index(drop=True)
