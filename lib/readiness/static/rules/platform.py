"""Which parts of a game-hosting platform the code shows: facts for applicability.

Checks that presuppose a Pterodactyl panel (eggs, nodes, provisioning, capacity) mean
nothing on a shop or a booking site. This rule records the evidence that the code talks
to a panel; the checks layer (`checks/platform.py`) decides from it, and from the params
and the schema, which parts the platform has. Evidence, not judgement: a string literal
holding a Pterodactyl API path, or a read of a panel-named environment variable.
"""

from __future__ import annotations

import re

from ..ts.syntax import ParsedFile, line, text

# Pterodactyl's (and its fork Pelican's) HTTP API: /api/application/... for admin keys,
# /api/client/... for user keys.
PANEL_API_PATH = re.compile(r"/api/(?:application|client)(?:/|\b)")
PANEL_ENV_NAME = re.compile(r"PTERO|PTERODACTYL|PELICAN|WINGS_", re.IGNORECASE)
PANEL_PACKAGE = re.compile(r"ptero|pterodactyl|pelican", re.IGNORECASE)
STRING_NODES = ("string", "template_string")


def panel_evidence(pf: ParsedFile) -> list[dict]:
    """Panel API paths in string literals of one file (one row per literal)."""
    rows = []
    for node in pf.nodes(*STRING_NODES):
        literal = text(node)
        if PANEL_API_PATH.search(literal):
            rows.append(
                {
                    "path": pf.path,
                    "line": line(node),
                    "function_slug": pf.function_slug,
                    "part": "panel",
                    "kind": "api_path",
                    "detail": literal[:120],
                }
            )
    return rows
