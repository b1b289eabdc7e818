"""Machine-readable outputs next to the report: JSON (documented schema in
docs/findings-schema.json), CSV, SARIF 2.1.0 for code findings, and JUnit XML so a CI
system shows every check as a test case."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from junitparser import Error, Failure, JUnitXml, Skipped, TestCase, TestSuite

from readiness import __version__
from readiness.checks.registry import CheckSpec
from readiness.findings import Finding, Status
from readiness.report.scoring import Verdict, counts_by_status
from readiness.report.tables import findings_frame

FINDINGS_SCHEMA_VERSION = "1.3"
SARIF_LEVELS = {
    "critical": "error",
    "high": "error",
    "medium": "warning",
    "low": "note",
    "info": "note",
}


def findings_document(
    findings: list[Finding], verdict: Verdict, meta: dict[str, Any]
) -> dict[str, Any]:
    return {
        "schema_version": FINDINGS_SCHEMA_VERSION,
        "tool": {"name": "readiness", "version": __version__},
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        **meta,
        "verdict": verdict.verdict,
        "score": verdict.score,
        "score_uncapped": verdict.uncapped,
        "caps": verdict.caps,
        "counts": counts_by_status(findings),
        "findings": [f.to_dict() for f in findings],
    }


def write_json(path: Path, doc: dict[str, Any]) -> None:
    path.write_text(json.dumps(doc, indent=2, ensure_ascii=False, default=str) + "\n")


def write_csv(path: Path, findings: list[Finding]) -> None:
    findings_frame(findings).to_csv(path, index=False)


def sarif_document(findings: list[Finding], specs: list[CheckSpec]) -> dict[str, Any]:
    """Problems that point at code (path:line), failing or warning, as SARIF results: one
    result per problem, its first location in `locations`, the others in
    `relatedLocations`."""
    code = [
        f
        for f in findings
        if f.status in (Status.FAIL, Status.WARN) and any(loc.location for loc in f.locations)
    ]
    used = sorted({f.check_id for f in code})
    by_id = {s.id: s for s in specs}
    rules = [
        {
            "id": cid,
            "name": cid.title().replace("-", ""),
            "shortDescription": {"text": by_id[cid].title},
            "fullDescription": {"text": by_id[cid].rationale},
            "help": {"text": by_id[cid].remediation},
            "defaultConfiguration": {"level": SARIF_LEVELS[str(by_id[cid].severity)]},
            "properties": {
                "area": by_id[cid].area,
                "severity": str(by_id[cid].severity),
                "precision": by_id[cid].precision.level or "not measured",
            },
        }
        for cid in used
        if cid in by_id
    ]
    index = {r["id"]: n for n, r in enumerate(rules)}
    results = []
    for f in code:
        places = _sarif_locations(f)
        result: dict[str, Any] = {
            "ruleId": f.check_id,
            "ruleIndex": index.get(f.check_id, 0),
            "level": SARIF_LEVELS[str(f.severity)] if f.status == Status.FAIL else "warning",
            "message": {"text": f.reason},
            "locations": places[:1],
            "partialFingerprints": {"readinessFindingUid/v1": f.uid},
            "properties": {"occurrences": len(f.locations)},
        }
        if len(places) > 1:
            result["relatedLocations"] = [
                {**place, "id": n} for n, place in enumerate(places[1:], start=1)
            ]
        if f.chain:
            result["codeFlows"] = [_code_flow(f)]
        results.append(result)
    return {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "readiness",
                        "version": __version__,
                        "informationUri": "https://readiness.invalid/",
                        "rules": rules,
                    }
                },
                "originalUriBaseIds": {
                    "CHECKOUT": {"description": {"text": "root of the audited checkout"}}
                },
                "results": results,
            }
        ],
    }


def _code_flow(f: Finding) -> dict[str, Any]:
    """An attack path's steps in their order (SARIF codeFlows/threadFlows), each with
    what happens there; a step without code (a setting, a live object) keeps its text."""
    steps = []
    for n, loc in enumerate(f.locations):
        at = loc.path_line()
        place: dict[str, Any] = {"message": {"text": loc.reason}}
        if loc.location:
            path, line = at if at else (loc.location, 1)
            place["physicalLocation"] = {
                "artifactLocation": {"uri": path, "uriBaseId": "CHECKOUT"},
                "region": {"startLine": max(1, line)},
            }
        steps.append({"location": place, "executionOrder": n + 1, "nestingLevel": 0})
    return {
        "message": {"text": f"{len(steps)} steps: {f.title}"},
        "threadFlows": [{"locations": steps}],
    }


def _sarif_locations(f: Finding) -> list[dict[str, Any]]:
    """Every code location of a problem, the one that speaks for it first."""
    ordered = sorted(f.locations, key=lambda loc: loc.location != f.location)
    out = []
    for loc in ordered:
        if not loc.location:
            continue
        at = loc.path_line()
        path, line = at if at else (loc.location, 1)
        out.append(
            {
                "physicalLocation": {
                    "artifactLocation": {"uri": path, "uriBaseId": "CHECKOUT"},
                    "region": {"startLine": max(1, line)},
                },
                "message": {"text": loc.reason},
            }
        )
    return out


def write_junit(path: Path, findings: list[Finding], specs: list[CheckSpec]) -> None:
    """One test case per check: fail → failure, not_verified → error (with the reason),
    waived or not applicable → skipped, pass/warn/info → passed (warnings listed in
    system-out)."""
    suites: dict[int, TestSuite] = {}
    by_check: dict[str, list[Finding]] = {}
    for f in findings:
        by_check.setdefault(f.check_id, []).append(f)
    for spec in specs:
        suite = suites.setdefault(spec.area, TestSuite(f"area {spec.area}"))
        case = TestCase(f"{spec.id}: {spec.title}", classname=f"readiness.area{spec.area:02d}")
        fs = by_check.get(spec.id, [])
        fails = [f for f in fs if f.status == Status.FAIL]
        unverified = [f for f in fs if f.status == Status.NOT_VERIFIED] or ([] if fs else None)
        lines = "\n".join(f"[{f.status}] {f.location or f.resource}: {f.reason}" for f in fs)
        if fails:
            case.result = [Failure(f"{len(fails)} failing: {fails[0].reason}", str(spec.severity))]
        elif unverified is None or unverified:
            why = unverified[0].reason if unverified else "no finding"
            case.result = [Error(f"not verified: {why}", "not_verified")]
        elif all(f.status == Status.WAIVED for f in fs):
            case.result = [Skipped(f"waived: {fs[0].waiver or ''}")]
        elif all(f.status == Status.NOT_APPLICABLE for f in fs):
            case.result = [Skipped(f"not applicable: {fs[0].reason}")]
        case.system_out = lines
        suite.add_testcase(case)
    xml = JUnitXml("readiness")
    for area in sorted(suites):
        suites[area].update_statistics()
        xml.add_testsuite(suites[area])
    xml.update_statistics()
    xml.write(str(path), pretty=True)


def write_all(
    folder: Path,
    findings: list[Finding],
    specs: list[CheckSpec],
    verdict: Verdict,
    meta: dict[str, Any],
) -> None:
    write_json(folder / "findings.json", findings_document(findings, verdict, meta))
    write_csv(folder / "findings.csv", findings)
    write_json(folder / "findings.sarif", sarif_document(findings, specs))
    write_junit(folder / "junit.xml", findings, specs)
