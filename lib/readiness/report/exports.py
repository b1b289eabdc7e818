"""Machine-readable outputs next to the report."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from readiness import __version__
from readiness.findings import Finding
from readiness.report.scoring import Verdict, counts_by_status

FINDINGS_SCHEMA_VERSION = "1.0"


def findings_document(findings: list[Finding], verdict: Verdict, meta: dict[str, Any]) -> dict:
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
