"""What the platform has, as the code shows it: a Stripe webhook, a provisioning function,
a game-panel integration. One row per checkout (`code_platform`).

Checks that presuppose one of these parts (the webhook's order and provisioning checks,
the panel-code checks, provisioning statuses) can ask here whether the part exists before
judging it; the facts say nothing about whether the part works. Rules only record.
"""

from __future__ import annotations

import re

from ..ts.syntax import ParsedFile, line, string_value

IN_PROGRESS = frozenset({"provisioning", "installing"})
# the Pterodactyl application / client APIs, and the env names panels are configured with
PANEL_URL = re.compile(r"/api/(application|client)(/|$)")
PANEL_ENV = re.compile(r"PTERO|PTERODACTYL|PELICAN|WINGS|(^|_)PANEL_(URL|API|KEY|TOKEN)", re.I)
# client packages for a panel's API (npm / deno specifiers)
PANEL_PACKAGE = re.compile(r"ptero|pterodactyl|pelican", re.IGNORECASE)


def panel_mentions(pf: ParsedFile) -> list[str]:
    """`path:line` of string literals that address a game panel's API."""
    found = []
    for node in pf.nodes("string", "string_fragment"):
        value = (
            string_value(node) if node.type == "string" else node.text.decode("utf-8", "replace")
        )
        if value and PANEL_URL.search(value):
            found.append(f"{pf.path}:{line(node)}")
    return found


def platform_row(rows: dict[str, list[dict]], mentions: list[str]) -> dict:
    """The one `code_platform` row, from tables already extracted."""
    webhooks = sorted(r["slug"] for r in rows["code_functions"] if r["is_stripe_webhook"])
    provisioning = sorted(
        {
            r["function_slug"]
            for r in rows["code_flow_status_writes"]
            if r["value"] in IN_PROGRESS and r["function_slug"]
        }
    )
    evidence = list(mentions)
    evidence += [f"{r['path']}:{r['line']}" for r in rows["code_flow_server_payload"]]
    evidence += [
        f"{r['path']}:{r['line']}" for r in rows["code_env_reads"] if PANEL_ENV.search(r["name"])
    ]
    order_tables = sorted(
        {
            r["table"]
            for r in rows["code_flow_status_writes"]
            if r["table"] and "order" in r["table"].lower()
        }
    )
    return {
        "stripe_webhooks": ",".join(webhooks) or None,
        "provisioning_functions": ",".join(provisioning) or None,
        "has_panel_integration": bool(evidence),
        "panel_evidence": ",".join(sorted(set(evidence))[:5]) or None,
        "order_tables_written": ",".join(order_tables) or None,
    }
