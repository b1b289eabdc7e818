"""Allow-lists of origins or URLs a function defines (`const ALLOWED_ORIGINS = [...]`,
`new Set([...])`, an object of origins), often only for CORS. FE-REDIRECT-ORIGIN uses
them to tell "a redirect from the body that ignores the allow-list you already have"
(a chain, with the list as a step) from one with nothing to validate against.
"""

from __future__ import annotations

import re

from tree_sitter import Node

from ..ts.syntax import ParsedFile, line, string_value, text, unwrap, walk

S, N, B = "string", "Int64", "boolean"
TABLES: dict[str, dict[str, str]] = {
    "code_allow_lists": {
        "path": S,
        "line": N,
        "function_slug": S,
        "name": S,
        "cors": B,  # the file uses it for Access-Control-Allow-Origin
    },
}
LIST_NAME = re.compile(r"allow|whitelist|trusted|permitted|origins", re.I)
URLISH = re.compile(r"^(https?://|\*\.|[a-z0-9-]+(\.[a-z0-9-]+)*\.[a-z]{2,}$)", re.I)


def _urls(node: Node | None) -> list[str]:
    return [
        v
        for n in ([node, *walk(node)] if node is not None else [])
        if n.type == "string" and (v := string_value(n)) is not None and URLISH.match(v)
    ]


def allow_lists(pf: ParsedFile) -> list[dict]:
    """Named constants holding two-or-more origins/URLs, or one under an allow-list name."""
    rows = []
    cors = "access-control-allow-origin" in pf.source.decode("utf-8", "replace").lower()
    for decl in pf.nodes("variable_declarator"):
        name = text(decl.child_by_field_name("name"))
        value = unwrap(decl.child_by_field_name("value"))
        if value is None or value.type not in {"array", "new_expression", "object"}:
            continue
        urls = _urls(value)
        if urls and (LIST_NAME.search(name) or len(urls) >= 2):
            rows.append(
                {
                    "path": pf.path,
                    "line": line(decl),
                    "function_slug": pf.function_slug,
                    "name": name,
                    "cors": cors,
                }
            )
    return rows
