"""The check registry: metadata for every check, and the fail-closed runner around them.

Checks are pure functions over DataFrames. The framework, not each check, decides
`not_verified` when a source or table the check needs was not collected, so no check
can pass on data that is not there.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

import pandas as pd

from readiness.checks.platform import presupposed_by
from readiness.checks.precision import Precision, precision_of
from readiness.findings import (
    PROBLEM_STATUSES,
    SEVERITY_ORDER,
    STATUS_ORDER,
    Finding,
    Location,
    Severity,
    Status,
)

if TYPE_CHECKING:
    from readiness.config import AuditConfig
    from readiness.snapshot import Snapshot

AREAS: dict[int, str] = {
    1: "Stripe integration & pricing",
    2: "End-to-end purchase flow",
    3: "Pterodactyl integration",
    4: "Security & authentication",
    5: "Database schema & data",
    6: "Error handling & logging",
    7: "Configuration & environment",
    8: "Frontend integration",
    9: "Code quality",
    10: "Checklist & verdict",
}


@dataclass
class Result:
    """What a check function yields; the framework adds the check's metadata."""

    status: Status
    resource: str
    reason: str
    location: str | None = None
    evidence: dict[str, Any] = field(default_factory=dict)
    severity: Severity | None = None
    # what makes occurrences one problem (the same key, env var, table and command…);
    # results of a check with the same problem fold into one finding. None: the resource.
    problem: str | None = None
    # how far it reaches, for ranking: {"orders": 12, "customers": 5}
    impact: dict[str, int] = field(default_factory=dict)
    # (check_id, resource): another check's problem this one follows from, e.g. a live
    # price missing because the plan's id is a placeholder (findings.link_causes)
    cause: tuple[str, str] | list[tuple[str, str]] | None = None
    # the occurrences, when the check already gathered them into this one result
    locations: list[Location] = field(default_factory=list)
    # the locations are the ordered steps of one attack path (SARIF codeFlows), not
    # independent occurrences (checks/attack_paths.py builds such results)
    chain: bool = False


def passed(resource: str, reason: str, **kw: Any) -> Result:
    return Result(Status.PASS, resource, reason, **kw)


def failed(resource: str, reason: str, **kw: Any) -> Result:
    return Result(Status.FAIL, resource, reason, **kw)


def warned(resource: str, reason: str, **kw: Any) -> Result:
    return Result(Status.WARN, resource, reason, **kw)


def informed(resource: str, reason: str, **kw: Any) -> Result:
    return Result(Status.INFO, resource, reason, **kw)


def unverified(resource: str, reason: str, **kw: Any) -> Result:
    return Result(Status.NOT_VERIFIED, resource, reason, **kw)


@dataclass
class CheckInput:
    """Everything a check may look at: declared tables, params, and the snapshot time."""

    tables: Mapping[str, pd.DataFrame]
    config: AuditConfig
    now: datetime
    memo: dict[str, Any] = field(default_factory=dict)

    def __getitem__(self, name: str) -> pd.DataFrame:
        return self.tables[name]

    def shared(self, key: str, compute: Callable[[], Any]) -> Any:
        """A derived table computed once per evaluation and reused by every check that
        asks for it (e.g. the order ⋈ server join behind five reconciliation checks).
        The memo lives for one `evaluate` call, i.e. one snapshot."""
        if key not in self.memo:
            self.memo[key] = compute()
        return self.memo[key]


class DataProblem(Exception):
    """Collected data cannot answer the check (e.g. a required column is missing)."""


def require_columns(df: pd.DataFrame, table: str, columns: Iterable[str]) -> pd.DataFrame:
    """Stop a check with `not_verified` naming the columns the platform's table lacks."""
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise DataProblem(f"table '{table}' lacks column(s): {', '.join(missing)}")
    return df


def records(df: pd.DataFrame, limit: int = 20) -> list[dict[str, Any]]:
    """A JSON-safe sample of rows for a finding's evidence (full data stays in evidence/)."""
    import json

    return json.loads(df.head(limit).to_json(orient="records", date_format="iso"))


CheckFunc = Callable[[CheckInput], Iterable[Result]]


@dataclass(frozen=True)
class CheckSpec:
    id: str
    area: int
    title: str
    severity: Severity
    sources: tuple[str, ...]
    tables: tuple[str, ...]
    rationale: str
    remediation: str
    func: CheckFunc
    docs: str | None = None
    optional_tables: tuple[str, ...] = ()
    # parts of the platform the check is about (checks.platform.PARTS): absent → N/A
    presupposes: tuple[str, ...] = ()

    @property
    def precision(self) -> Precision:
        return precision_of(self.id)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "area": self.area,
            "area_name": AREAS[self.area],
            "title": self.title,
            "severity": str(self.severity),
            "sources": list(self.sources),
            "tables": list(self.tables),
            "rationale": self.rationale,
            "remediation": self.remediation,
            "docs": self.docs,
            "presupposes": list(self.presupposes),
            "precision": self.precision.to_dict(),
        }


REGISTRY: dict[str, CheckSpec] = {}


def check(
    *,
    id: str,
    area: int,
    title: str,
    severity: Severity,
    sources: Iterable[str],
    tables: Iterable[str],
    rationale: str,
    remediation: str,
    docs: str | None = None,
    optional_tables: Iterable[str] = (),
    presupposes: Iterable[str] = (),
) -> Callable[[CheckFunc], CheckFunc]:
    """Register a check function with its metadata (the single source for docs and exports)."""

    def register(func: CheckFunc) -> CheckFunc:
        if id in REGISTRY:
            raise ValueError(f"duplicate check id {id}")
        if area not in AREAS:
            raise ValueError(f"check {id}: unknown area {area}")
        REGISTRY[id] = CheckSpec(
            id=id,
            area=area,
            title=title,
            severity=severity,
            sources=tuple(sources),
            tables=tuple(tables),
            rationale=rationale,
            remediation=remediation,
            func=func,
            docs=docs,
            optional_tables=tuple(optional_tables),
            presupposes=tuple(presupposes) or presupposed_by(id),
        )
        return func

    return register


def all_checks(areas: Iterable[int] | None = None) -> list[CheckSpec]:
    """Registered checks (importing every area module first), ordered by area then id."""
    from readiness.checks import load_all

    load_all()
    wanted = set(areas) if areas is not None else None
    specs = [s for s in REGISTRY.values() if wanted is None or s.area in wanted]
    return sorted(specs, key=lambda s: (s.area, s.id))


def _finding(spec: CheckSpec, r: Result) -> Finding:
    status, reason, evidence = r.status, r.reason, r.evidence
    precision = spec.precision
    if status == Status.FAIL and not precision.may_fail:
        # A rule that is often wrong on real code asks for review instead of blocking.
        status = Status.WARN
        reason = f"{reason} (review: {precision.describe()}, so this rule warns, not fails)"
        evidence = {**evidence, "precision": precision.to_dict()}
    return Finding(
        check_id=spec.id,
        status=status,
        severity=r.severity or spec.severity,
        resource=r.resource,
        reason=reason,
        area=spec.area,
        title=spec.title,
        location=r.location,
        evidence=evidence,
        remediation=spec.remediation,
        precision=precision.level or "not measured",
        impact=dict(r.impact),
        cause_ref=_causes(r.cause),
        locations=list(r.locations),
        chain=r.chain,
    )


def _causes(cause: tuple[str, str] | list[tuple[str, str]] | None) -> tuple | None:
    if not cause:
        return None
    return (cause,) if isinstance(cause[0], str) else tuple(cause)  # type: ignore[arg-type]


def _folded(results: list[Result]) -> list[tuple[str, list[Result]]]:
    """Results grouped by problem, in first-seen order. A problem never mixes a failing
    occurrence with a passing one: passes fold among themselves."""
    groups: dict[tuple[str, bool], list[Result]] = {}
    for r in results:
        key = r.problem or r.resource
        groups.setdefault((key, r.status in PROBLEM_STATUSES), []).append(r)
    return [(key, rs) for (key, _), rs in groups.items()]


def _problem(spec: CheckSpec, key: str, results: list[Result]) -> Finding:
    """One finding for one problem: the worst occurrence speaks for it, every occurrence
    is a location, and the impact counts add up."""
    occurrences = [_finding(spec, r) for r in results]
    if len(occurrences) == 1 and key == results[0].resource:
        return occurrences[0]
    rank = {s: n for n, s in enumerate(STATUS_ORDER)}
    sev = {s: n for n, s in enumerate(SEVERITY_ORDER)}
    lead = min(occurrences, key=lambda f: (rank[f.status], sev[f.severity]))
    places = [f.location or f.resource for f in occurrences]
    reason = lead.reason
    if len(occurrences) > 1 and lead.status not in PROBLEM_STATUSES:
        reason = f"{lead.reason} ({len(occurrences)} alike)"
    elif len(occurrences) > 1:
        others = [p for p in dict.fromkeys(places) if p != (lead.location or lead.resource)]
        shown = ", ".join(others[:3]) + (f" and {len(others) - 3} more" if len(others) > 3 else "")
        reason = f"{reason} The same problem occurs at {len(others)} more location(s): {shown}."
        if not others:
            reason = f"{lead.reason} ({len(occurrences)} occurrences)"
    impact: dict[str, int] = {}
    for f in occurrences:
        for k, n in f.impact.items():
            impact[k] = impact.get(k, 0) + n
    return Finding(
        check_id=spec.id,
        status=lead.status,
        severity=min((f.severity for f in occurrences if f.status == lead.status), key=sev.get),
        resource=key,
        reason=reason,
        area=spec.area,
        title=spec.title,
        location=lead.location,
        evidence=lead.evidence,
        remediation=spec.remediation,
        precision=lead.precision,
        locations=[
            loc
            for f in occurrences
            for loc in (
                f.locations
                if len(f.locations) > 1 or f.locations[0].resource != f.resource
                else [Location(f.resource, f.reason, f.status, f.location, f.evidence, f.severity)]
            )
        ],
        impact=impact,
        cause_ref=lead.cause_ref,
        chain=lead.chain,
    )


def _not_verified(spec: CheckSpec, reason: str) -> Finding:
    return _finding(spec, unverified(f"check:{spec.id}", reason))


def evaluate_check(
    spec: CheckSpec,
    snapshot: Snapshot,
    config: AuditConfig,
    memo: dict[str, Any] | None = None,
) -> list[Finding]:
    """Run one check fail-closed: missing sources, missing tables, crashes and silence
    all become `not_verified` with the reason, never `pass`. A check about a part the
    platform was seen to lack is `not_applicable`."""
    if spec.presupposes:
        parts = _platform(snapshot, config, memo)
        absent = [parts[name] for name in spec.presupposes if parts[name].absent]
        if absent:
            why = "; ".join(part.describe() for part in absent)
            return [_finding(spec, Result(Status.NOT_APPLICABLE, f"check:{spec.id}", why))]
    missing = [snapshot.source_state(source) for source in spec.sources]
    missing = [state for state in missing if not state.ok]
    if missing:
        why = "; ".join(f"source '{state.name}' {state.describe()}" for state in missing)
        return [_not_verified(spec, why)]
    tables: dict[str, pd.DataFrame] = {}
    for name in spec.tables:
        table = snapshot.table(name)
        if table is None:
            why = "; ".join(snapshot.table_notes())
            reason = f"table '{name}' was not collected" + (f" ({why})" if why else "")
            return [_not_verified(spec, reason)]
        tables[name] = table
    for name in spec.optional_tables:
        table = snapshot.table(name)
        if table is not None:
            tables[name] = table
    try:
        inp = CheckInput(
            tables=tables, config=config, now=snapshot.now, memo={} if memo is None else memo
        )
        results = list(spec.func(inp))
    except DataProblem as exc:
        return [_not_verified(spec, str(exc))]
    except Exception as exc:  # a broken check must not look like a pass
        return [_not_verified(spec, f"check failed to run: {type(exc).__name__}: {exc}")]
    if not results:
        return [_not_verified(spec, "check produced no result")]
    return [_problem(spec, key, rs) for key, rs in _folded(results)]


def _platform(snapshot: Snapshot, config: AuditConfig, memo: dict[str, Any] | None):
    from readiness.checks.platform import platform_parts

    if memo is None:
        return platform_parts(snapshot, config)
    if "platform_parts" not in memo:
        memo["platform_parts"] = platform_parts(snapshot, config)
    return memo["platform_parts"]


def evaluate(
    snapshot: Snapshot, config: AuditConfig, areas: Iterable[int] | None = None
) -> list[Finding]:
    """Judge one snapshot with every registered check (optionally only some areas)."""
    findings: list[Finding] = []
    memo: dict[str, Any] = {}
    for spec in all_checks(areas):
        findings.extend(evaluate_check(spec, snapshot, config, memo))
    return findings
