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


# --- the embedded demo platform, shared by every integration test of a worker -------------
# Tests using these fixtures carry `pytest.mark.xdist_group("sandbox")` so that one xdist
# worker starts each platform once and runs the full audit (with notebooks) once.


@pytest.fixture(scope="session")
def defects_sandbox(tmp_path_factory):
    from readiness.sandbox.runtime import Sandbox

    sb = Sandbox(tmp_path_factory.mktemp("sb-defects"), profile="defects").start()
    yield sb
    sb.stop()


@pytest.fixture(scope="session")
def defects_run(defects_sandbox, tmp_path_factory):
    """One full audit of the defects platform: evidence, findings, notebooks, HTML."""
    from readiness.runner import run_audit

    config = load_config(defects_sandbox.params_file)
    return run_audit(config, tmp_path_factory.mktemp("outputs"))


def found_problems(findings: list[dict]) -> set[tuple[str, str]]:
    """(check_id, resource) of every failing/warning problem and each of its locations:
    a planted defect may be one occurrence of a folded problem (findings schema 1.2)."""
    return {
        (f["check_id"], res)
        for f in findings
        if f["status"] in ("fail", "warn")
        for res in [f["resource"], *(loc["resource"] for loc in f.get("locations") or [])]
    }


@pytest.fixture(scope="session")
def defects_findings(defects_run) -> list[dict]:
    import json

    return json.loads((defects_run.folder / "findings.json").read_text())["findings"]


@pytest.fixture(scope="session")
def clean_audit(tmp_path_factory):
    """The clean platform collected and judged once (no notebooks): (snapshot, findings)."""
    from readiness.checks.registry import evaluate
    from readiness.sandbox.runtime import Sandbox
    from readiness.snapshot import collect

    with Sandbox(tmp_path_factory.mktemp("sb-clean"), profile="clean") as sb:
        config = load_config(sb.params_file)
        snapshot = collect(config, tmp_path_factory.mktemp("clean-evidence"))
        findings = evaluate(snapshot, config)
    return snapshot, findings


def pytest_terminal_summary(terminalreporter) -> None:  # noqa: ANN001 - pytest's reporter
    """Print the fault matrix figures (cases, slowest faulted run) under the results."""
    import sys

    matrix = sys.modules.get("test_fault_matrix") or sys.modules.get("tests.test_fault_matrix")
    timings = getattr(matrix, "TIMINGS", None)
    if timings:
        slowest = max(timings, key=timings.get)
        terminalreporter.write_line(
            f"fault matrix: {len(timings)} faulted runs, slowest {slowest} {timings[slowest]:.1f}s"
        )
