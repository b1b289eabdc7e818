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
        "encoding": S,  # codec the file was read with; "binary" when no text reading fits
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
        "fallback_guard": S,
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
    "code_metadata_reads": {
        "path": S,
        "line": N,
        "function_slug": S,
        "object_expr": S,
        "key": S,
        "event_types": S,  # webhook events the read runs under, comma-separated
    },
    # Areas 4, 7, 9 (secret_scan, rules security and quality); never a secret value
    "code_secrets": {
        "path": S,
        "line": N,
        "kind": S,
        "detector": S,
        "fingerprint": S,
        "is_live": B,
        "role": S,
        "file_kind": S,
    },
    # files the secret scan could not read (unreadable, over its size limit, scan error)
    "code_unscanned": {"path": S, "size_bytes": N, "reason": S, "file_kind": S},
    "code_env_docs": {"path": S, "line": N, "name": S},
    "code_auth_facts": {
        "path": S,
        "line": N,
        "function_slug": S,
        "fact": S,
        "kind": S,
        "detail": S,
        "strict": B,
    },
    "code_placeholders": {"path": S, "line": N, "kind": S, "text": S},
    "code_undefined_identifiers": {"path": S, "line": N, "name": S},
    "code_function_defs": {
        "path": S,
        "line": N,
        "function_slug": S,
        "name": S,
        "exported": B,
        "top_level": B,
        "referenced": B,
        "body_hash": S,
        "body_size": N,
    },
    "code_any_types": {"path": S, "any_count": N, "first_line": N},
}


# What the platform has (rules/platform.py): one row per checkout, for applicability.
TABLES["code_platform"] = {
    "stripe_webhooks": S,  # comma-separated slugs
    "provisioning_functions": S,  # functions moving a row to 'provisioning'/'installing'
    "has_panel_integration": B,  # calls a game panel's API, sends a server payload, reads PTERO*
    "panel_evidence": S,  # up to five path:line
    "order_tables_written": S,  # tables with 'order' in the name the code writes a status to
}

# Purchase flow and panel facts (rules flow and panel).
TABLES.update(
    {
        "code_flow_status_writes": {
            "path": S,
            "line": N,
            "function_slug": S,
            "table": S,
            "column": S,
            "value": S,
            "helper": S,
        },
        "code_flow_status_exits": {
            "path": S,
            "line": N,
            "function_slug": S,
            "claim_line": N,
            "kind": S,
            "final_status_set": B,
            "how": S,
        },
        "code_flow_webhook_actions": {
            "path": S,
            "line": N,
            "function_slug": S,
            "action": S,
            "event_type": S,
            "target": S,
        },
        # status writes under customer.subscription.updated (rules/subscription_status.py)
        "code_flow_subscription_updates": {
            "path": S,
            "line": N,
            "function_slug": S,
            "table": S,
            "value": S,
            "value_kind": S,  # literal | mapped (computed from a status) | other
            "value_expr": S,
            "helper": S,
            "guard": S,  # the subscription-status test over the write, None when none
        },
        "code_flow_egg_map": {
            "path": S,
            "line": N,
            "function_slug": S,
            "game": S,
            "egg_id": N,
            "egg_expr": S,
        },
        "code_flow_server_payload": {
            "path": S,
            "line": N,
            "function_slug": S,
            "game": S,
            "field": S,  # environment | docker_image | user | allocation
            "value": S,
            "resolved": B,
            # user / allocation: literal | constant | env | derived (rules/panel_ids.py)
            "origin": S,
        },
        "code_flow_capacity_queries": {
            "path": S,
            "line": N,
            "function_slug": S,
            "table": S,
            "statuses": S,
            "resolved": B,
        },
        "code_flow_panel_user_writes": {
            "path": S,
            "line": N,
            "function_slug": S,
            "method": S,
            "url_expr": S,
            "existing_user": B,
            "body_keys": S,
            "sends_password": B,
        },
    }
)


def frame(table: str, rows: list[dict]) -> pd.DataFrame:
    """A table with exactly its documented columns and nullable dtypes, even when empty."""
    schema = TABLES[table]
    df = pd.DataFrame(rows, columns=list(schema)) if rows else pd.DataFrame(columns=list(schema))
    return df.astype(schema).reset_index(drop=True)


# Areas 4–8 facts (rules sql, errors, frontend).
from .audit import TABLES as _AUDIT_TABLES  # noqa: E402

TABLES.update(_AUDIT_TABLES)

# What the migrations and seed.sql write into catalogue and order tables (rules.catalog_seed).
from .catalog_seed import TABLES as _SEED_TABLES  # noqa: E402

TABLES.update(_SEED_TABLES)
