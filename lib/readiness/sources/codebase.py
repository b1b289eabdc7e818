"""Static facts about a Supabase project checkout: files, functions, env reads, Stripe code.

A thin adapter: the walk, the parse and every rule are the static-analysis engine's
(`readiness.static`); this source only checks the folder and hands back its tables (see
`TABLES` for their columns), so the snapshot treats it like any other source.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from readiness.static.codebase import codebase_facts
from readiness.static.rules.tables import TABLES

from .base import SourceError, SourceResult

__all__ = ["TABLES", "collect_codebase"]


def collect_codebase(root: Path, progress: Callable[[str], None] | None = None) -> SourceResult:
    """Parse a Supabase project checkout into fact tables (see TABLES for the schema)."""
    root = Path(root)
    if not root.is_dir():
        raise SourceError(f"codebase: path does not exist: {root}")
    return codebase_facts(root, progress)
