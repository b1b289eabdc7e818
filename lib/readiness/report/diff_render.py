"""`readiness diff` as a change report: counts by kind first, then the new, resolved and
changed problems in full, as a terminal table, GitHub-flavoured markdown (a CI comment)
or JSON. Still-there problems are a count unless asked for."""

from __future__ import annotations

from typing import Any

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from readiness.report.diff import CHANGED, KINDS, STILL, ChangeReport

MISSING = "–"  # en dash: the side where the problem does not exist (or was not listed)
SECTIONS = (
    ("New", ("new",)),
    ("Resolved", ("resolved",)),
    ("Changed", CHANGED),
)
STILL_TITLES = {
    "still failing": "Still failing",
    "still warn": "Still warn",
    "still not_verified": "Still not verified",
}
HEADERS = ("check", "resource", "status", "severity", "locations", "reason")


def _side(value: object) -> str:
    return MISSING if value is None or value != value else str(value)  # None or NaN


def _arrow(was: object, now: object) -> str:
    return f"{_side(was)} → {_side(now)}"


def _status(value: object) -> str:
    return _side(value).replace("_", " ")  # "not verified" wraps between its words


def status_cell(r: dict[str, Any]) -> str:
    """`warn → fail` when it changed (or a side is missing), else the one status."""
    was, now = _status(r["was"]), _status(r["now"])
    return now if was == now else f"{was} → {now}"


def severity_cell(r: dict[str, Any]) -> str:
    if r["change"] == "changed severity":
        return _arrow(r["severity_was"], r["severity"])
    return _side(r["severity"])


def locations_cell(r: dict[str, Any]) -> str:
    """`3 → 5 (+2)` when both sides list locations and they differ, `3` when they are
    the same, `– → 3` for a new problem; one count when only one side lists them."""
    was, now = r["locations_was"], r["locations_now"]
    if r["change"] in ("new", "resolved"):
        return MISSING if was is None and now is None else _arrow(was, now)
    if was is None or now is None:
        return _side(now if was is None else was)
    added, removed = r["locations_added"], r["locations_removed"]
    if not added and not removed:
        return str(now)
    delta = ([f"+{added}"] if added else []) + ([f"−{removed}"] if removed else [])
    return f"{was} → {now} ({' '.join(delta)})"


def cells(r: dict[str, Any]) -> list[str]:
    """One record as the report's cells (HEADERS), every value text, none missing."""
    return [
        r["check_id"],
        r["resource"],
        status_cell(r),
        severity_cell(r),
        locations_cell(r),
        _side(r["reason"]),
    ]


def summary_line(counts: dict[str, int]) -> str:
    """`25 new, 25 resolved, 349 still failing`: new and resolved always, others when any."""
    shown = [k for k in KINDS if counts[k] or k in ("new", "resolved")]
    return ", ".join(f"{counts[k]} {k.replace('_', ' ')}" for k in shown)


# --- terminal ------------------------------------------------------------------------


def _table(title: str, rows: list[dict[str, Any]], with_change: bool) -> Table:
    """Long ids and resources fold onto more lines, never cut: on 80 columns too."""
    table = Table(title=title, title_justify="left", show_lines=True)
    headers = (("change",) if with_change else ()) + HEADERS
    for h in headers:  # rich shrinks the widest columns first when space runs out
        table.add_column(h, overflow="fold", no_wrap=False)
    for r in rows:
        row = ([r["change"].removeprefix("changed ")] if with_change else []) + cells(r)
        table.add_row(*(Text(c) for c in row))  # Text: no rich markup from data
    return table


def render_table(report: ChangeReport, *, show_all: bool = False) -> RenderableType:
    counts = report.counts
    head = Table(title="Changes by kind", title_justify="left")
    head.add_column("kind", overflow="fold")
    head.add_column("problems", justify="right")
    for k in KINDS:
        head.add_row(Text(k.replace("_", " ")), str(counts[k]))
    parts: list[RenderableType] = [head]
    sections = [*SECTIONS, *((STILL_TITLES[k], (k,)) for k in STILL)] if show_all else SECTIONS
    for title, kinds in sections:
        rows = [r for r in report.rows if r["change"] in kinds]
        if rows:
            parts.append(_table(f"{title} ({len(rows)})", rows, with_change=len(kinds) > 1))
    if not show_all:
        still = [f"{STILL_TITLES[k]}: {counts[k]}" for k in STILL if counts[k]]
        if still:
            parts.append(Text(" · ".join(still) + " (--all lists them)"))
    if not report.changes():
        parts.append(Text("No new, resolved or changed problems."))
    return Group(*parts)


# --- markdown ------------------------------------------------------------------------

_MD_SPECIAL = set("\\`*_[]<>|~&")


def md_cell(value: object) -> str:
    """A GFM table cell: markdown and HTML characters backslash-escaped (a `|` would
    end the cell, `<b>` or `__init__` would render), line breaks as `<br>`."""
    text = "".join("\\" + ch if ch in _MD_SPECIAL else ch for ch in str(value))
    return "<br>".join(text.replace("\r\n", "\n").replace("\r", "\n").split("\n"))


def _md_table(rows: list[dict[str, Any]], with_change: bool) -> list[str]:
    headers = (("Change",) if with_change else ()) + tuple(h.capitalize() for h in HEADERS)
    out = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    for r in rows:
        row = ([r["change"].removeprefix("changed ")] if with_change else []) + cells(r)
        out.append("| " + " | ".join(md_cell(c) for c in row) + " |")
    return out


def to_markdown(
    report: ChangeReport, *, show_all: bool = False, old: str = "", new: str = ""
) -> str:
    """A CI comment: a heading with the counts, then New / Resolved / Changed tables,
    then one line per still-there kind (their tables too with `show_all`)."""
    counts = report.counts
    lines = [f"### Readiness changes: {summary_line(counts)}", ""]
    if old or new:
        lines += [f"Compared {md_cell(old)} → {md_cell(new)}.", ""]
    for title, kinds in SECTIONS:
        rows = [r for r in report.rows if r["change"] in kinds]
        lines.append(f"#### {title} ({len(rows)})")
        lines.append("")
        lines += _md_table(rows, len(kinds) > 1) if rows else [f"No {title.lower()} problems."]
        lines.append("")
    for k in STILL:
        lines += [f"{STILL_TITLES[k]}: {counts[k]}", ""]
        rows = [r for r in report.rows if r["change"] == k]
        if show_all and rows:
            lines += [*_md_table(rows, False), ""]
    return "\n".join(lines).rstrip() + "\n"


# --- json ----------------------------------------------------------------------------


def to_json_doc(report: ChangeReport, *, show_all: bool = False) -> dict[str, Any]:
    """`{"counts": {kind: n}, "all": bool, "changes": [record]}`; a missing side is null."""
    return {
        "counts": report.counts,
        "all": show_all,
        "changes": report.changes(include_still=show_all),
    }
