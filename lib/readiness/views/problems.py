"""'All problems': every failing, warning, not verified or waived problem, by area, each
one collapsible, so the first screen can stay short and link here for the rest.

A reader opens one problem and sees why, the fix, every place it occurs (each with its
own reason and status) and the evidence. Evidence can be large (a thousand orders), so
it is shown as bounded text and says what was cut. Everything from data is escaped.
"""

from __future__ import annotations

import html
import json
from collections.abc import Iterable
from typing import Any

from readiness.checks.registry import AREAS
from readiness.findings import SEVERITY_ORDER, STATUS_ORDER, Finding, Status
from readiness.views.summary import ALL_PROBLEMS_ANCHOR as ANCHOR
from readiness.workbook import Audit

PROBLEM_STATUSES = (Status.FAIL, Status.WARN, Status.NOT_VERIFIED, Status.WAIVED)
MAX_ITEMS = 20  # of any one list in the evidence
MAX_EVIDENCE_CHARS = 2000
MAX_LOCATIONS = 200  # per problem; a problem with more says how many are left out

CSS = (
    "<style>"
    ".rp-problems details{border:1px solid #d0d7de;border-radius:4px;margin:4px 0;"
    "padding:2px 8px;overflow-wrap:anywhere}"
    ".rp-problems summary{cursor:pointer;line-height:1.5}"
    ".rp-problems .rp-sev{display:inline-block;min-width:5.5em;font-weight:600}"
    ".rp-problems .rp-crit{color:#cf222e}.rp-problems .rp-high{color:#bc4c00}"
    ".rp-problems pre{white-space:pre-wrap;overflow-wrap:anywhere;max-height:24em;"
    "overflow:auto;background:#f6f8fa;padding:6px;font-size:12px;margin:4px 0}"
    ".rp-problems ul{margin:4px 0;padding-left:1.4em}"
    ".rp-problems code{white-space:normal;overflow-wrap:anywhere}"
    "</style>"
)


def problems_html(audit: Audit) -> str:
    """The 'All problems' section of the report, anchored at `#all-problems`."""
    return render_problems(audit.findings)


def problem_findings(findings: Iterable[Finding]) -> list[Finding]:
    """The problems, worst first within an area: status, then severity, then check."""
    status_rank = {s: i for i, s in enumerate(STATUS_ORDER)}
    sev_rank = {s: i for i, s in enumerate(SEVERITY_ORDER)}
    chosen = [f for f in findings if f.status in PROBLEM_STATUSES]
    return sorted(
        chosen,
        key=lambda f: (
            f.area,
            status_rank[f.status],
            sev_rank[f.severity],
            f.check_id,
            f.resource,
        ),
    )


def render_problems(findings: Iterable[Finding]) -> str:
    """The section as HTML (pure: the findings in, a string out)."""
    problems = problem_findings(findings)
    head = f'<h2 id="{ANCHOR}">All problems</h2>'
    if not problems:
        return f"{head}<p>No failing, warning, not verified or waived problem.</p>"
    uids = {f.uid for f in problems}
    by_area: dict[int, list[Finding]] = {}
    for f in problems:
        by_area.setdefault(f.area, []).append(f)
    counts = ", ".join(
        f"{sum(1 for f in problems if f.status == s)} {s.icon} {s.value.replace('_', ' ')}"
        for s in PROBLEM_STATUSES
        if any(f.status == s for f in problems)
    )
    intro = (
        f"<p>{len(problems)} problems ({html.escape(counts)}), by area, worst first. "
        "Open one for the reason, the fix, every location and the evidence.</p>"
    )
    sections = "".join(
        f"<h3>{area}. {html.escape(AREAS.get(area, f'Area {area}'))} "
        f"<small>({len(fs)})</small></h3>" + "".join(_problem(f, uids) for f in fs)
        for area, fs in sorted(by_area.items())
    )
    return f'{CSS}<div class="rp-problems">{head}{intro}{sections}</div>'


def _problem(f: Finding, uids: set[str]) -> str:
    sev = str(f.severity)
    cls = {"critical": "rp-sev rp-crit", "high": "rp-sev rp-high"}.get(sev, "rp-sev")
    n = len(f.locations)
    where = f.location or f.resource
    count = f" · {n} steps" if f.chain else (f" · {n} locations" if n > 1 else "")
    summary = (
        f'<span class="{cls}">{html.escape(sev)}</span> {f.status.icon} '
        f"<code>{html.escape(f.check_id)}</code> <b>{html.escape(f.title or f.check_id)}</b>"
        f" — {html.escape(where)}{count}"
    )
    body = [f"<p><b>{html.escape(f.status.value.replace('_', ' '))}:</b> {html.escape(f.reason)}"]
    if f.cause:
        cause = (
            f"{html.escape(str(f.cause.get('check_id', '')))} at "
            f"{html.escape(str(f.cause.get('resource', '')))}"
        )
        if f.cause.get("finding_uid") in uids:
            cause = f'<a href="#problem-{html.escape(f.cause["finding_uid"])}">{cause}</a>'
        body.append(f" <i>(a consequence of {cause})</i>")
    body.append("</p>")
    if f.remediation:
        body.append(f"<p><b>Fix:</b> {html.escape(f.remediation)}</p>")
    if f.waiver:
        body.append(f"<p><b>Waiver:</b> {html.escape(_compact(f.waiver, 400)[0])}</p>")
    if f.impact:
        reach = ", ".join(f"{v} {k}" for k, v in sorted(f.impact.items()))
        body.append(f"<p><b>Reach:</b> {html.escape(reach)}</p>")
    body.append(_steps(f) if f.chain else _locations(f))
    if f.evidence:
        text, cut = _compact(f.evidence, MAX_EVIDENCE_CHARS)
        note = f"<p><small>{html.escape(cut)}</small></p>" if cut else ""
        body.append(f"<p><b>Evidence</b></p><pre>{html.escape(text)}</pre>{note}")
    uid = html.escape(f.uid)
    return f'<details id="problem-{uid}"><summary>{summary}</summary>{"".join(body)}</details>'


def _steps(f: Finding) -> str:
    """An attack path's steps in order: where, and what happens there."""
    items = [
        f"<li><code>{html.escape(step.location or step.resource)}</code> — "
        f"{html.escape(step.reason)}</li>"
        for step in f.locations
    ]
    return f"<p><b>Attack path ({len(items)} steps)</b></p><ol>{''.join(items)}</ol>"


def _locations(f: Finding) -> str:
    """Every location with its own status and reason; a problem found in one place says
    where in one line instead of repeating its reason."""
    locations = f.locations
    if len(locations) == 1 and not locations[0].evidence and locations[0].reason == f.reason:
        loc = locations[0]
        place = html.escape(loc.location or loc.resource)
        extra = f" ({html.escape(loc.resource)})" if loc.location else ""
        return f"<p><b>Location:</b> <code>{place}</code>{extra}</p>"
    shown = locations[:MAX_LOCATIONS]
    items = []
    for loc in shown:
        place = loc.location or loc.resource
        extra = f" ({loc.resource})" if loc.location and loc.resource != loc.location else ""
        line = (
            f"<li>{loc.status.icon} <code>{html.escape(place)}</code>{html.escape(extra)}: "
            f"{html.escape(loc.status.value.replace('_', ' '))}"
            + (f", {html.escape(str(loc.severity))}" if loc.severity else "")
            + f" — {html.escape(loc.reason)}"
        )
        if loc.evidence:
            text, cut = _compact(loc.evidence, 600)
            line += f"<pre>{html.escape(text)}</pre>"
            if cut:
                line += f"<small>{html.escape(cut)}</small>"
        items.append(line + "</li>")
    more = len(locations) - len(shown)
    tail = f"<p><small>{more} more location(s) are in findings.json.</small></p>" if more else ""
    return f"<p><b>Locations ({len(locations)})</b></p><ul>{''.join(items)}</ul>{tail}"


def _compact(value: Any, limit: int) -> tuple[str, str]:
    """Evidence as compact JSON, every list cut to its first `MAX_ITEMS` and the whole
    text to `limit` characters; the second value says what was cut ('' when nothing)."""
    cuts: list[str] = []

    def trim(v: Any, path: str) -> Any:
        if isinstance(v, dict):
            return {str(k): trim(x, f"{path}.{k}" if path else str(k)) for k, x in v.items()}
        if isinstance(v, list | tuple):
            if len(v) > MAX_ITEMS:
                cuts.append(f"{path or 'list'}: first {MAX_ITEMS} of {len(v)} items")
            return [trim(x, path) for x in list(v)[:MAX_ITEMS]]
        return v

    text = json.dumps(trim(value, ""), ensure_ascii=False, default=str)
    if len(text) > limit:
        cuts.append(f"text: first {limit} of {len(text)} characters")
        text = text[:limit] + " …"
    note = f"Cut for the report ({'; '.join(cuts)}); the full evidence is in findings.json."
    return text, note if cuts else ""
