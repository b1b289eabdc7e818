"""Attack paths: one finding for a chain across parts the other checks judge one at a
time (a policy, the function that trusts what it admits, the panel call it allows).

Not an area module: the chain checks live in their areas and build their results here,
so every chain has the same shape. Each step is a location in the order an attacker
takes them (the finding's `chain` flag; SARIF `codeFlows`); the first step with code is
where the report says the problem is. A chain is only reported when every step was
found: a missing step is no finding, never a weaker one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from readiness.checks.registry import Result
from readiness.findings import Location, Severity, Status


@dataclass(frozen=True)
class Step:
    """One step of a path: what happens, where (`path:line`, or None for a setting or a
    live object), and what it is about (`policy:public.orders`, `function:slug`…)."""

    what: str
    location: str | None
    resource: str


def attack_path(
    resource: str,
    reason: str,
    steps: list[Step],
    *,
    severity: Severity = Severity.CRITICAL,
    status: Status = Status.FAIL,
    evidence: dict[str, Any] | None = None,
    impact: dict[str, int] | None = None,
    cause: tuple[str, str] | list[tuple[str, str]] | None = None,
) -> Result:
    """A chain as one result whose locations are its steps, in order."""
    if len(steps) < 2:
        raise ValueError("an attack path has at least two steps")
    locations = [Location(s.resource, s.what, status, s.location, {}, severity) for s in steps]
    lead = next((s.location for s in steps if s.location), None)
    return Result(
        status,
        resource,
        reason,
        location=lead,
        evidence={**(evidence or {}), "steps": len(steps)},
        severity=severity,
        impact=dict(impact or {}),
        cause=cause,
        locations=locations,
        chain=True,
    )
