"""The report's first screen: can we launch, what blocks it, what could not be checked.

Managers read this and stop, so each blocker is one plain sentence (where, why, the
fix), ranked by severity × the rule's precision × blast radius, at most ten of them with
a link to the rest; what could not be verified comes next, by source, with the reason.
"""

from __future__ import annotations

import html

import pandas as pd

from readiness.findings import Status
from readiness.report.ranking import Ranked, blockers, rank
from readiness.snapshot import SOURCES
from readiness.workbook import Audit

ALL_PROBLEMS_ANCHOR = "all-problems"


def top_blockers(audit: Audit) -> list[Ranked]:
    return blockers(audit.findings, audit.specs, audit.config.verdict.fail_on)


def blockers_html(audit: Audit, limit: int = 10) -> str:
    """'What blocks launch': an ordered list of one-sentence problems, then a link to
    every other problem. Every value from data is escaped."""
    ranked = top_blockers(audit)
    fail_on = html.escape(audit.config.verdict.fail_on)
    if not ranked:
        others = rank(audit.findings, audit.specs, audit.config.verdict.fail_on)
        tail = (
            f" {len(others)} failing problem(s) below {fail_on} are listed in "
            f'<a href="#{ALL_PROBLEMS_ANCHOR}">all problems</a>.'
            if others
            else ""
        )
        return f"<p><b>Nothing blocks launch</b> (no unwaived failure at {fail_on}).{tail}</p>"
    items = "".join(
        "<li style='margin-bottom:6px'>"
        f"<b>[{html.escape(str(r.finding.severity))}] {html.escape(r.finding.title)}</b> — "
        f"{html.escape(r.sentence())} "
        f"<code style='white-space:normal;overflow-wrap:anywhere'>"
        f"{html.escape(r.finding.check_id)}</code></li>"
        for r in ranked[:limit]
    )
    more = len(ranked) - limit
    link = (
        f'<p>{more} more blocking problem(s): see <a href="#{ALL_PROBLEMS_ANCHOR}">all '
        "problems</a>.</p>"
        if more > 0
        else f'<p>Every other problem is in <a href="#{ALL_PROBLEMS_ANCHOR}">all problems</a>.</p>'
    )
    head = (
        f"<p><b>{len(ranked)} problem(s) block launch</b> (unwaived failures at severity ≥ "
        f"{fail_on}), riskiest first: severity × how often the rule is right × how far it "
        "reaches.</p>"
    )
    return f"{head}<ol style='overflow-wrap:anywhere'>{items}</ol>{link}"


def not_verified(audit: Audit) -> pd.DataFrame:
    """Sources that were not read and checks that could not decide, with why and how
    many checks it left not verified (critical ones named)."""
    unverified = [f for f in audit.findings if f.status == Status.NOT_VERIFIED]
    by_id = {s.id: s for s in audit.specs}
    rows = []
    explained: set[str] = set()
    for name in SOURCES:
        state = audit.snapshot.source_state(name)
        if state.ok:
            continue
        needing = sorted({f.check_id for f in unverified if name in by_id[f.check_id].sources})
        explained.update(needing)
        rows.append(_row(f"source {name}", state.describe(), needing, by_id))
    rest: dict[str, list[str]] = {}
    for f in unverified:
        if f.check_id not in explained:
            rest.setdefault(f.reason, []).append(f.check_id)
    for why, ids in sorted(rest.items(), key=lambda kv: (-len(kv[1]), kv[0])):
        rows.append(_row("check", why, sorted(set(ids)), by_id))
    return pd.DataFrame(rows, columns=["what", "why", "checks not verified", "critical"])


def _row(what: str, why: str, ids: list[str], by_id: dict) -> dict[str, object]:
    critical = [i for i in ids if str(by_id[i].severity) == "critical"]
    return {
        "what": what,
        "why": why,
        "checks not verified": len(ids),
        "critical": ", ".join(critical) or "—",
    }
