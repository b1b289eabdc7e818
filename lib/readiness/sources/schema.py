"""The database schema (catalog) — placeholder until the schema source lands; fails closed."""

from __future__ import annotations

from collections.abc import Callable

from readiness.config import AuditConfig, Secrets
from readiness.sources.base import SourceError, SourceResult


def collect_schema(
    config: AuditConfig, secrets: Secrets, progress: Callable[[str], None] | None = None
) -> SourceResult:
    raise SourceError("schema: this source is not implemented yet")
