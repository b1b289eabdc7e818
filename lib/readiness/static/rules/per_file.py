"""Runs the Area 4 / 7 / 9 rules over one collected checkout (called by codebase.py).

Kept apart from the collector so that the collector only needs one call: every rule here
is file-level (checks join ``code_function_files`` for a function's view), and a rule
that trips over an unusual construct loses that file, not the run.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from readiness.sources.base import SourceError

from ..secret_scan.scan import doc_env_mentions, scan_secrets
from ..textfiles import is_text, read_text
from ..ts.syntax import ParsedFile
from . import quality, security

RULE_ERRORS = (RecursionError, ValueError, TypeError, AttributeError, IndexError, KeyError)
SHIPPED_KINDS = frozenset({"function", "shared", "frontend", "server"})


def collect_static_facts(
    root: Path,
    files: list[dict],
    parsed: dict[str, ParsedFile],
    accessors: dict[str, int],
    notes: list[str],
) -> dict[str, list[dict] | None]:
    """Rows for code_secrets, code_unscanned, code_env_docs, code_auth_facts and the quality
    tables; the two secret tables are None when the scanner itself failed."""
    rows: dict[str, list[dict]] = {
        "code_auth_facts": [],
        "code_placeholders": [],
        "code_undefined_identifiers": [],
        "code_function_defs": [],
        "code_any_types": [],
    }
    kinds = {f["path"]: f["kind"] for f in files}

    def safe(rule: str, path: str, fn: Callable[..., list[dict]], *args: Any) -> list[dict]:
        try:
            return fn(*args)
        except RULE_ERRORS as exc:
            notes.append(f"rule {rule} skipped {path}: {type(exc).__name__}: {exc}")
            return []

    ambient: set[str] = set()  # `declare global` / `.d.ts` names count in every file
    for path, pf in parsed.items():
        if path.endswith(".d.ts") or "declare" in pf.source.decode("utf-8", "replace")[:20000]:
            ambient |= set(safe("ambient", path, lambda p=pf: list(quality.ambient_names(p))))
    known_ambient = frozenset(ambient)
    for path, pf in parsed.items():
        rows["code_any_types"] += safe("any_types", path, quality.any_types, pf)
        if kinds.get(path) == "unused":
            # a file nothing imports still holds functions nothing calls (dead code is
            # dead whether or not its file is reached); its other rules would only judge
            # code that never runs
            rows["code_function_defs"] += safe("function_defs", path, quality.function_defs, pf)
        if kinds.get(path) not in SHIPPED_KINDS:
            continue
        if kinds[path] in {"function", "shared"}:
            rows["code_auth_facts"] += safe("auth", path, security.auth_facts, pf, accessors)
        rows["code_placeholders"] += safe("placeholders", path, quality.placeholders, pf)
        rows["code_undefined_identifiers"] += safe(
            "undefined", path, quality.undefined_identifiers, pf, known_ambient
        )
        rows["code_function_defs"] += safe("function_defs", path, quality.function_defs, pf)
    for f in files:
        if f["kind"] == "migration" and is_text(f.get("encoding")):
            try:
                source = read_text(root / f["path"], f["encoding"])
            except OSError:
                continue
            rows["code_placeholders"] += quality.sql_placeholders(f["path"], source)
    rows["code_env_docs"] = doc_env_mentions(root, files)
    result: dict[str, list[dict] | None] = dict(rows)
    if quality.RUNTIME_NAMES is None:
        # without the runtimes' globals every `DOMParser` would be "undefined": the
        # check is not verified rather than wrong
        notes.append(
            f"runtime globals list missing ({quality.RUNTIME_GLOBALS_FILE.name}: run "
            "`make venv`): undefined identifiers not judged"
        )
        result["code_undefined_identifiers"] = None
    try:
        result["code_secrets"], result["code_unscanned"] = scan_secrets(root, files)
    except SourceError:
        raise  # the run is being stopped
    except Exception as exc:  # noqa: BLE001 — a scanner failure must be visible, not fatal
        # Fail closed: without these tables the secret checks are not_verified (with this
        # note as the reason), never a pass over an empty table.
        notes.append(f"secret scan failed: {type(exc).__name__}: {exc}")
        result["code_secrets"] = result["code_unscanned"] = None
    return result
