"""Measured precision in the check metadata: levels from the bench's counts, rules below
*high* warn instead of failing, and every export shows the level."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from readiness.checks import precision as precision_mod
from readiness.checks.precision import MIN_LABELS, from_counts, level_for
from readiness.checks.registry import REGISTRY, _finding, all_checks, failed, passed
from readiness.findings import Status

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize(
    ("value", "level"),
    [
        (1.0, "very-high"),
        (0.95, "very-high"),
        (0.949, "high"),
        (0.85, "high"),
        (0.84, "medium"),
        (0.6, "medium"),
        (0.59, "low"),
        (0.0, "low"),
    ],
)
def test_levels_follow_codeql_names(value, level) -> None:
    assert level_for(value) == level


def test_too_few_labels_is_not_a_measurement() -> None:
    assert not from_counts(MIN_LABELS - 1, 0).measured
    assert from_counts(MIN_LABELS - 1, 0).may_fail
    assert from_counts(MIN_LABELS, MIN_LABELS).level == "very-high"
    assert "not measured (4 label(s))" in from_counts(4, 1).describe()


@pytest.fixture
def measured(monkeypatch):
    """Pretend the bench measured some checks (the real file is tested below)."""

    def install(checks: dict[str, tuple[int, int]]) -> None:
        data = {cid: {"labelled": n, "true": t} for cid, (n, t) in checks.items()}
        monkeypatch.setattr(precision_mod, "_measurements", lambda: data)

    return install


def test_a_medium_precision_rule_warns_for_review(measured) -> None:
    all_checks()
    spec = REGISTRY["FE-HOOK-ERRORS"]
    measured({spec.id: (20, 14)})  # 70%: medium
    f = _finding(spec, failed("file:x.ts", "the catch only logs", location="x.ts:3"))
    assert f.status == Status.WARN and f.precision == "medium"
    assert "review: precision medium: 70% of 20 labelled true" in f.reason
    assert f.evidence["precision"]["value"] == 0.7
    # a pass is untouched, and so is a high-precision rule's failure
    assert _finding(spec, passed("file:y.ts", "fine")).status == Status.PASS
    measured({spec.id: (20, 18)})
    assert _finding(spec, failed("file:x.ts", "r")).status == Status.FAIL


def test_an_unmeasured_rule_keeps_failing(measured) -> None:
    all_checks()
    measured({})
    f = _finding(REGISTRY["STRIPE-PRICE-LIVE"], failed("plan:x", "no live price"))
    assert f.status == Status.FAIL and f.precision == "not measured"


def test_the_committed_measurements_name_real_checks_and_keep_the_blockers() -> None:
    """precision.json is the bench's output; the three findings the issue says must stay
    NO-GO (a committed live key, an anon-writable table, an unauthenticated service-role
    function) are on rules precise enough to fail."""
    all_checks()
    doc = json.loads(precision_mod.PRECISION_FILE.read_text())
    assert set(doc["checks"]) <= set(REGISTRY)
    for row in doc["checks"].values():
        assert row["labelled"] > 0 and 0 <= row["true"] <= row["labelled"]
    for cid in ("CONFIG-HARDCODED-SECRET", "SEC-RLS-ANON-WRITE", "AUTH-NOJWT-SERVICE-ROLE"):
        assert REGISTRY[cid].precision.may_fail, cid


def test_checks_listing_and_findings_carry_the_precision(measured) -> None:
    all_checks()
    measured({"FE-HOOK-ERRORS": (10, 7)})
    d = REGISTRY["FE-HOOK-ERRORS"].to_dict()
    assert d["precision"] == {"level": "medium", "value": 0.7, "labelled": 10, "true": 7}
    f = _finding(REGISTRY["FE-HOOK-ERRORS"], failed("file:x.ts", "r"))
    assert f.to_dict()["precision"] == "medium"
    assert type(f).from_dict(f.to_dict()).precision == "medium"


def _bench():
    spec = importlib.util.spec_from_file_location("precision_bench", REPO / "bench/precision.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_bench_weights_each_checks_sample_by_its_findings() -> None:
    """Severity precision is estimated: check A (90 findings, 1 of 2 labels true) and
    check B (10 findings, 2 of 2 true) give (90×0.5 + 10×1) / 100 = 55%, not 3/4."""
    bench = _bench()

    def f(check, loc, status="fail"):
        return {
            "check": check,
            "severity": "high",
            "status": status,
            "location": loc,
            "resource": loc,
        }

    findings = [f("A", f"a.ts:{i}") for i in range(90)] + [f("B", f"b.ts:{i}") for i in range(10)]
    results = [{"repo": "o/r", "commit": "c" * 40, "findings": findings, "not_applicable": ["C"]}]

    def lab(check, loc, label):
        return {
            "repo": "o/r",
            "commit": "c" * 40,
            "check": check,
            "location": loc,
            "label": label,
            "why": "w",
        }

    labels = [
        lab("A", "a.ts:0", "TRUE"),
        lab("A", "a.ts:1", "FALSE"),
        lab("B", "b.ts:0", "TRUE"),
        lab("B", "b.ts:1", "TRUE"),
        lab("A", "a.ts:999", "TRUE"),
        lab("C", "c.ts:1", "TRUE"),
    ]
    scored = bench.score(results, labels)
    assert scored["critical_high"]["precision"] == 0.55
    assert scored["critical_high"]["coverage"] == 1.0
    assert scored["per_check"]["A"]["precision"] == 0.5
    # a TRUE label that matches nothing is recall lost, unless its check became N/A
    assert scored["true_labels_lost"] == ["o/r A a.ts:999"]
    assert scored["true_labels_not_applicable"] == 1
