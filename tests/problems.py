"""Reading findings in tests: a problem is found by its own resource or by any of its
locations' (the resource an occurrence had before problems were grouped)."""

from __future__ import annotations

from collections.abc import Iterable

from readiness.findings import Finding


def statuses(findings: Iterable[Finding]) -> dict[str, str]:
    """Status by resource: each problem's, and each of its locations' own."""
    out: dict[str, str] = {}
    for f in findings:
        for loc in f.locations:
            out.setdefault(loc.resource, str(loc.status))
        out[f.resource] = str(f.status)
    return out


def by_resource(findings: Iterable[Finding]) -> dict[str, Finding]:
    """The problem by its resource and by each of its locations' resources."""
    out: dict[str, Finding] = {}
    for f in findings:
        for loc in f.locations:
            out.setdefault(loc.resource, f)
        out[f.resource] = f
    return out


def found_keys(findings: Iterable[dict]) -> set[tuple[str, str]]:
    """(check, resource) of every failing or warning problem of a findings.json and of
    each of its locations."""
    return {
        (f["check_id"], r)
        for f in findings
        if f["status"] in ("fail", "warn")
        for r in [f["resource"], *(loc["resource"] for loc in f.get("locations") or [])]
    }
