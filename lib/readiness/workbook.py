"""What the notebooks call: open an audit (from a run's snapshot, or live) and get the
tables an analyst wants to look at. Keeps notebooks thin and their logic testable."""

from __future__ import annotations

import html
import tempfile
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import pandas as pd

from readiness.checks.registry import (
    REGISTRY,
    CheckInput,
    CheckSpec,
    all_checks,
    evaluate,
)
from readiness.config import AuditConfig, load_config
from readiness.findings import Finding, link_causes
from readiness.report import prices, scoring, tables
from readiness.report.waivers import WaiverOutcome, apply_waivers, load_waivers
from readiness.snapshot import Snapshot, collect, source_summary


@dataclass
class Audit:
    config: AuditConfig
    snapshot: Snapshot
    specs: list[CheckSpec] = field(default_factory=all_checks)
    _areas: dict[int, list[Finding]] = field(default_factory=dict, repr=False)

    def _judge(self, areas: list[int] | None = None) -> tuple[list[Finding], list[WaiverOutcome]]:
        """Judge, waive, then fold consequences into their causes. An area judged alone
        also judges the areas its findings name causes in, so a consequence folds the
        same way as in the whole audit."""
        waivers = load_waivers(self.config.waivers_file)
        found = evaluate(self.snapshot, self.config, areas)
        if areas is not None:
            wanted, judged = set(areas), set(areas)
            while (
                named := {
                    REGISTRY[check].area
                    for f in found
                    for check, _ in f.cause_ref or ()
                    if check in REGISTRY
                }
                - judged
            ):
                found += evaluate(self.snapshot, self.config, sorted(named))
                judged |= named
            waived, outcomes = apply_waivers(found, waivers, self.snapshot.now.date())
            return [f for f in link_causes(waived) if f.area in wanted], outcomes
        waived, outcomes = apply_waivers(found, waivers, self.snapshot.now.date())
        return link_causes(waived), outcomes

    @cached_property
    def _judged(self) -> tuple[list[Finding], list[WaiverOutcome]]:
        return self._judge()

    def _area(self, area: int) -> list[Finding]:
        """One area's findings. An area notebook judges only its own checks (a check's
        findings never depend on another's), unless every check has run already."""
        if "_judged" in self.__dict__:
            return [f for f in self.findings if f.area == area]
        if area not in self._areas:
            self._areas[area] = self._judge([area])[0]
        return self._areas[area]

    @property
    def findings(self) -> list[Finding]:
        """Every check's findings on this snapshot, with waivers applied."""
        return self._judged[0]

    @property
    def waivers(self) -> list[WaiverOutcome]:
        return self._judged[1]

    @cached_property
    def verdict(self) -> scoring.Verdict:
        return scoring.decide(self.findings, self.specs, self.config.verdict.fail_on)

    def sources(self) -> pd.DataFrame:
        return source_summary(self.snapshot)

    def area_findings(self, area: int) -> pd.DataFrame:
        df = tables.findings_frame(self._area(area))
        order = {
            "fail": 0,
            "not_verified": 1,
            "warn": 2,
            "waived": 3,
            "info": 4,
            "pass": 5,
            "not_applicable": 6,
        }
        return df.sort_values(
            ["status", "check_id", "resource"],
            key=lambda s: s.map(order) if s.name == "status" else s,
        )

    def area_checks(self, area: int) -> pd.DataFrame:
        specs = [s for s in self.specs if s.area == area]
        rows = scoring.check_table(self._area(area), specs)
        return rows.drop(columns=["credit", "lost", "weight"])

    def check_input(self, *names: str) -> CheckInput:
        """The same view a check gets, for exploring tables in a notebook."""
        present = {n: t for n in names if (t := self.snapshot.table(n)) is not None}
        return CheckInput(present, self.config, self.snapshot.now)


def open_audit(params_file: str | Path, snapshot_dir: str | Path | None = None) -> Audit:
    """From a run's evidence folder when given, else collect live now (read-only)."""
    config = load_config(params_file)
    if snapshot_dir:
        snapshot = Snapshot.load(snapshot_dir)
    else:
        evidence = Path(tempfile.mkdtemp(prefix="readiness-live-")) / "evidence"
        snapshot = collect(config, evidence)
    return Audit(config, snapshot)


def show(df: pd.DataFrame, max_rows: int = 60):  # noqa: ANN201 - a pandas Styler
    """A readable table for the report: no index column, text left-aligned, at most
    `max_rows` rows (the full data stays in evidence/), every value HTML-escaped."""
    from pandas.io.formats.style import Styler

    shown = df.head(max_rows)
    styler = (
        Styler(shown, cell_ids=False)
        .hide(axis="index")
        .format(escape="html", na_rep="", precision=2)
        # one rule for the table, not one per cell: the report stays small
        .set_table_styles(
            [
                {"selector": "th", "props": [("text-align", "left")]},
                {"selector": "td", "props": [("text-align", "left"), ("vertical-align", "top")]},
            ]
        )
    )
    if len(df) > max_rows:
        styler = styler.set_caption(
            f"first {max_rows} of {len(df)} rows — the full table is in the run's evidence"
        )
    return styler


def headline_html(audit: Audit) -> str:
    """The verdict banner, a few lines high so the blockers stay on the first screen;
    every value that came from data is escaped."""
    v = audit.verdict
    color = {"GO": "#1a7f37", "NO-GO": "#cf222e", "CANNOT CONFIRM": "#9a6700"}[v.verdict]
    counts = scoring.counts_by_status(audit.findings)
    caps = "".join(f"<li>{html.escape(c)}</li>" for c in v.caps)
    tally = " · ".join(
        f'<span class="rp-count">{html.escape(k)}: {n}</span>' for k, n in counts.items() if n
    )
    return (
        f'<div class="rp-verdict" style="border-left:8px solid {color};padding:4px 12px;'
        'margin:4px 0">'
        f'<h2 style="margin:0 0 2px;color:{color};font-size:1.5em">Verdict: '
        f"{html.escape(v.verdict)} <span style='font-size:.75em'>· score {v.score:.1f} / 10"
        f"</span></h2>"
        f'<p style="margin:0;font-size:.9em">audit of <b>{html.escape(audit.config.name)}</b> '
        f"({html.escape(audit.config.environment)}) · data collected "
        f"{html.escape(audit.snapshot.now.strftime('%Y-%m-%d %H:%M UTC'))} · score before caps "
        f"{v.uncapped:.1f} · {tally}</p>"
        f'<ul style="margin:2px 0;padding-left:1.2em;font-size:.9em">{caps}</ul></div>'
    )


def price_counts(audit: Audit) -> prices.PriceCounts:
    """The price checks' findings counted per sold plan (report/prices.py)."""
    catalog = audit.config.catalog
    return prices.price_counts(audit.findings, catalog.claimed_plan_count if catalog else None)


def prices_confirmation(audit: Audit) -> tuple[bool | None, str]:
    """The seed's 'confirm all Stripe prices are live and correct': yes, no, or cannot
    say, with the counts (plans sold, correct live prices, placeholders, mismatches)."""
    return prices.confirmation(price_counts(audit))


def prices_confirmation_html(audit: Audit) -> str:
    """The confirmation sentence as HTML; plan ids come from data, so they are escaped
    (a plan named `<script>` must show as text, never run in the shared report)."""
    ok, sentence = prices_confirmation(audit)
    color = {True: "#1a7f37", False: "#cf222e", None: "#9a6700"}[ok]
    return f'<p style="color:{color}"><b>{html.escape(sentence)}</b></p>'
