"""Report view: the owners' claims (report/claims.yaml or params' claims_file), each
confirmed, refuted or not verified by the checks that decide it."""

from __future__ import annotations

import html

import pandas as pd

from readiness.report.claims import Verdict, claims_frame, load_claims
from readiness.workbook import Audit

COLORS = {
    Verdict.CONFIRMED: "#1a7f37",
    Verdict.REFUTED: "#cf222e",
    Verdict.NEEDS_REVIEW: "#9a6700",
    Verdict.NOT_VERIFIED: "#9a6700",
}

CELL = "text-align:left;vertical-align:top;padding:4px 8px"


def claims_table(audit: Audit) -> pd.DataFrame:
    """One row per claim: verdict, evidence sentence, counter-evidence, deciding checks."""
    claims = load_claims(audit.config.claims_file, audit.specs)
    catalog = audit.config.catalog
    claimed = catalog.claimed_plan_count if catalog else None
    return claims_frame(claims, audit.findings, audit.specs, claimed)


def claims_html(audit: Audit) -> str:
    """A compact table — claim | verdict | evidence — for the shared report. Every value
    comes from data or a user's claims file, so every value is escaped."""
    df = claims_table(audit)
    cell = f'style="{CELL}"'
    rows = []
    for row in df.itertuples():
        color = COLORS[Verdict(row.verdict)]
        wording = (
            f'<br><small style="color:#57606a">tested as: {html.escape(row.wording)}</small>'
            if row.wording
            else ""
        )
        rows.append(
            f'<tr><td style="{CELL};min-width:16em">{html.escape(row.claim)}{wording}</td>'
            f'<td {cell}><b style="color:{color};white-space:nowrap">'
            f"{html.escape(row.result)}</b></td>"
            f"<td {cell}>{html.escape(row.evidence)}</td></tr>"
        )
    head = "".join(f"<th {cell}>{h}</th>" for h in ("Claim", "Verdict", "Evidence"))
    return (
        f'<table class="readiness-claims"><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table>"
    )
