"""Every code rule run over one parsed checkout: the codebase source's fact tables.

Sources fetch and never judge, and so does this engine: `checkout.py` walks and parses
the checkout once, the rules here (Stripe, flow and panel facts per function; env reads
and imports per file), in `rules/per_file.py` (Areas 4 / 7 / 9 and the secret scan) and
in `rules/audit.py` (Areas 4–8) read the same trees, and checks (elsewhere) turn the
tables into findings.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from readiness.sources.base import SourceResult

from .checkout import Checkout
from .reach import refine_kinds
from .rules import catalog_seed, common, platform, signature
from .rules import flow as flow_rules
from .rules import panel as panel_rules
from .rules import sessions as session_rules
from .rules import stripe as stripe_rules
from .rules.audit import collect_audit_facts
from .rules.per_file import collect_static_facts
from .rules.tables import TABLES, frame
from .textfiles import is_text, read_text
from .ts.scope import with_slug
from .ts.syntax import ParsedFile

RULE_ERRORS = (RecursionError, ValueError, TypeError, AttributeError, IndexError, KeyError)


def _catalog_writes(root: Path, col: Checkout) -> list[dict]:
    """Catalogue writes of the migrations and seed.sql, in the CLI's apply order."""
    encodings = {f["path"]: f.get("encoding") for f in col.files}
    order = catalog_seed.apply_order(list(encodings))
    texts = [(p, read_text(root / p, encodings[p])) for p in order if is_text(encodings[p])]
    try:
        return catalog_seed.catalog_writes(texts)
    except RULE_ERRORS as exc:
        col.notes.append(f"rule catalog_writes skipped: {type(exc).__name__}: {exc}")
        return []


def codebase_facts(root: Path, progress: Callable[[str], None] | None = None) -> SourceResult:
    """Parse a Supabase project checkout (an existing folder) into the fact tables of
    `rules.tables.TABLES`; a rule that trips over one file loses that file, not the run."""
    col = Checkout(root, progress or (lambda _msg: None))
    col.scan()
    refined = refine_kinds(root, col.files, col.parsed)  # "frontend": what the browser runs
    for f in col.files:
        f["kind"] = refined.get(f["path"], f["kind"])
    if col.config_error:
        col.notes.append(f"{col.config_error}: verify_jwt of every function is unknown")
    elif col.config is None:
        col.notes.append("no supabase/config.toml found: verify_jwt is unknown (default true)")
    fn_rows, closures = col.functions()
    webhook_slugs = {r["slug"] for r in fn_rows if r["is_stripe_webhook"]}

    rows: dict[str, list[dict]] = {t: [] for t in TABLES}

    def safe(rule: str, pf: ParsedFile, fn: Callable[..., Any], *args: Any) -> Any:
        """A rule that trips over an unusual construct loses that file, not the run."""
        try:
            return fn(pf, *args)
        except RULE_ERRORS as exc:
            col.notes.append(f"rule {rule} skipped {pf.path}: {type(exc).__name__}: {exc}")
            return {} if rule in {"checkout", "env_accessors"} else []

    accessors: dict[str, int] = {}
    helpers: dict[str, int] = {}  # functions verifying with a secret they are given
    for pf in col.parsed.values():
        accessors.update(safe("env_accessors", pf, common.env_accessors) or {})
        helpers.update(safe("env_accessors", pf, signature.signature_helpers) or {})
    for pf in col.parsed.values():
        rows["code_env_reads"] += safe("env_reads", pf, common.env_reads, accessors)
        rows["code_imports"] += safe("imports", pf, lambda f: col.imports(f.path))

    # Function-scoped Stripe facts: a file counts for every function that imports it.
    owners: dict[str, list[str | None]] = {}
    for slug, files in closures.items():
        for path, via in files:
            rows["code_function_files"].append({"function_slug": slug, "path": path, "via": via})
            owners.setdefault(path, []).append(slug)
    for path, pf in col.parsed.items():
        for slug in owners.get(path) or [pf.function_slug]:
            view = with_slug(pf, slug)
            if slug in webhook_slugs:
                rows["code_webhook_events"] += safe(
                    "webhook_events", view, stripe_rules.webhook_events
                )
            rows["code_signature_checks"] += safe(
                "signature_checks", view, stripe_rules.signature_checks, accessors, helpers
            )
            facts = safe("checkout", view, session_rules.checkout_facts, accessors)
            rows["code_checkout_sessions"] += facts.get("sessions", [])
            rows["code_checkout_prices"] += facts.get("prices", [])
            rows["code_metadata_writes"] += facts.get("writes", [])
            rows["code_metadata_reads"] += safe(
                "metadata_reads", view, session_rules.metadata_reads
            )
            for found in (
                safe("flow", view, flow_rules.facts, slug in webhook_slugs) or {},
                safe("panel", view, panel_rules.facts) or {},
            ):
                for table, found_rows in found.items():
                    rows[table] += found_rows
    col.progress("codebase: extracted facts")

    rows["code_files"] = col.files
    rows["code_functions"] = fn_rows
    rows["code_env_file_entries"] = col.env_entries
    mentions = [m for pf in col.parsed.values() for m in platform.panel_mentions(pf)]
    rows["code_platform"] = [platform.platform_row(rows, mentions)] if col.parsed else []
    static = collect_static_facts(root, col.files, col.parsed, accessors, col.notes)
    for table, found in static.items():
        rows[table] += found or []
    # a table the scanner could not fill is left out, so its checks are not_verified
    tables = {name: frame(name, rows[name]) for name in TABLES if static.get(name, []) is not None}
    tables.update(collect_audit_facts(root, col.files, col.parsed, owners, col.notes))
    tables["code_catalog_writes"] = frame("code_catalog_writes", _catalog_writes(root, col))
    return SourceResult(tables=tables, requests=0, notes=col.notes)
