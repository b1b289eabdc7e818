"""Shared fixtures: configs, hand-built snapshots, and one demo platform per session."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest

from readiness.config import AuditConfig, load_config
from readiness.snapshot import Snapshot, SourceState

REPO = Path(__file__).resolve().parents[1]
os.environ.setdefault("JUPYTER_PLATFORM_DIRS", "1")


@pytest.fixture(scope="session")
def demo_config() -> AuditConfig:
    return load_config(REPO / "params" / "demo.yaml")


def make_snapshot(
    tables: dict[str, pd.DataFrame],
    failed: dict[str, str] | None = None,
    now: datetime | None = None,
) -> Snapshot:
    """A snapshot from hand-built tables; every source ok unless named in `failed`."""
    failed = failed or {}
    states = {
        name: SourceState(name, "error", failed[name])
        if name in failed
        else SourceState(name, "ok")
        for name in ("database", "stripe", "pterodactyl", "codebase")
    }
    return Snapshot(now or datetime(2026, 11, 26, 12, 0, tzinfo=UTC), states, dict(tables))
