"""The Supabase management API — placeholder until the schema source lands; fails closed."""

from __future__ import annotations

from collections.abc import Callable

from readiness.config import AuditConfig, Secrets
from readiness.sources.base import SourceError, SourceResult


def collect_supabase_api(
    config: AuditConfig, secrets: Secrets, progress: Callable[[str], None] | None = None
) -> SourceResult:
    raise SourceError("supabase_api: this source is not implemented yet")
