"""The report as a reader sees it: 'All problems' (escaped, bounded, every location), the
charts' data and their 'not collected' fallback, the notebook's table of contents, and
the reader / analyst templates (offline, no scripts, anchors that resolve)."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import nbformat
import pandas as pd
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output
from reporthtml import links

from readiness.findings import Finding, Location, Severity, Status
from readiness.notebook_exec import render_html
from readiness.views import charts, problems
from readiness.workbook import Audit

REPO = Path(__file__).resolve().parents[1]
REPORT = REPO / "notebooks" / "10_readiness_report.ipynb"
EVIL = "<script>alert(1)</script>"


def _finding(check: str, status: str, severity: str = "high", area: int = 1, **kw) -> Finding:
    return Finding(
        check,
        Status(status),
        Severity(severity),
        kw.pop("resource", f"res:{check}"),
        kw.pop("reason", "broken"),
        area,
        title=kw.pop("title", f"{check} title"),
        **kw,
    )


def test_all_problems_escapes_everything_from_data():
    f = _finding(
        "SEC-X",
        "fail",
        "critical",
        resource=f"table:{EVIL}",
        reason=f"reason {EVIL}",
        title=f"title {EVIL}",
        location=f"src/{EVIL}.ts:3",
        remediation=f"fix {EVIL}",
        evidence={"rows": [EVIL], EVIL: 1},
        locations=[
            Location(f"table:{EVIL}", f"loc reason {EVIL}", Status.FAIL, f"a/{EVIL}.ts:1"),
            Location("table:other", "other reason", Status.WARN, None, {"why": EVIL}),
        ],
    )
    out = problems.render_problems([f])
    assert "<script" not in out
    assert out.count("&lt;script&gt;alert(1)&lt;/script&gt;") >= 8
    parsed = links(out)
    assert parsed.scripts == 0 and not parsed.external


def test_all_problems_lists_every_location_with_its_own_status_and_reason():
    locs = [
        Location(
            f"file:f{i}.ts", f"reason {i}", Status.FAIL if i % 2 else Status.WARN, f"f{i}.ts:{i}"
        )
        for i in range(5)
    ]
    f = _finding("CODE-X", "fail", locations=locs, location="f0.ts:0", remediation="Do it.")
    out = problems.render_problems([f, _finding("CODE-Y", "pass")])
    assert "5 locations" in out and "Locations (5)" in out
    for i in range(5):
        assert f"f{i}.ts:{i}" in out and f"reason {i}" in out
    assert out.count("<details") == 1  # the passing one is not a problem
    assert "<b>Fix:</b> Do it." in out
    assert 'id="all-problems"' in out and f'id="problem-{f.uid}"' in out


def test_all_problems_bounds_evidence_and_says_what_was_cut():
    big = {"orders": [{"id": f"o{i}", "note": "x" * 50} for i in range(500)]}
    f = _finding("FLOW-X", "fail", evidence=big)
    out = problems.render_problems([f])
    assert "orders: first 20 of 500 items" in out
    assert "o19" in out and "o20" not in out
    pre = html.unescape(re.search(r"<pre>(.*?)</pre>", out, re.S)[1])
    assert len(pre) <= problems.MAX_EVIDENCE_CHARS + 2
    long = problems.render_problems([_finding("FLOW-Y", "fail", evidence={"t": "y" * 9000})])
    assert "text: first 2000 of 9009 characters" in long and "y" * 2001 not in long
    assert "full evidence is in findings.json" in out


def test_all_problems_groups_by_area_worst_first_and_covers_every_problem_status():
    fs = [
        _finding("B-WARN", "warn", "critical", area=2),
        _finding("A-FAIL-LOW", "fail", "low", area=2),
        _finding("A-FAIL-CRIT", "fail", "critical", area=2),
        _finding("Z-NV", "not_verified", area=1),
        _finding("Z-WAIVED", "waived", area=9),
        _finding("Z-INFO", "info", area=9),
    ]
    out = problems.render_problems(fs)
    order = re.findall(r"<code>([A-Z-]+)</code>", out)
    assert order == ["Z-NV", "A-FAIL-CRIT", "A-FAIL-LOW", "B-WARN", "Z-WAIVED"]
    assert out.index("1. Stripe") < out.index("2. End-to-end") < out.index("9. Code quality")
    assert "No failing" in problems.render_problems([_finding("OK", "pass")])


def test_problems_chart_counts_problems_by_area_and_severity():
    fs = [
        _finding("A", "fail", "critical", area=2),
        _finding("B", "warn", "critical", area=2),
        _finding("C", "fail", "low", area=1),
        _finding("D", "pass", "high", area=1),
    ]
    df = charts.problems_by_area_severity(fs)
    assert list(df.columns) == ["critical", "low"]
    assert df.loc["2. End-to-end purchase flow", "critical"] == 2
    assert df.loc["1. Stripe integration & pricing"].tolist() == [0, 1]
    assert charts.problems_by_area_severity([fs[-1]]).empty


def test_order_flow_follows_the_purchase_and_puts_the_rest_after():
    orders = pd.DataFrame({"status": ["active", "pending", "error", "paid", "active", "odd"]})
    df = charts.order_flow(orders)
    assert df.index.tolist() == ["pending", "paid", "active", "error", "odd"]
    assert df["orders"].tolist() == [1, 1, 2, 1, 1]
    assert df["on_flow"].tolist() == [True, True, True, False, False]
    assert charts.order_flow(None).empty


def test_region_memory_adds_up_and_shows_over_commitment():
    cap = pd.DataFrame(
        {
            "region": ["eu", "eu", "us"],
            "usable_gb": [10.0, 10.0, 4.0],
            "committed_gb": [4.0, 6.0, 6.0],
            "headroom_gb": [1.0, 1.0, 1.0],
            "max_ram_gb": [11.0, 11.0, 5.0],
        }
    )
    df = charts.region_memory(cap)
    assert df.loc["eu"].tolist() == [10.0, 0.0, 10.0, 2.0]
    assert df.loc["us"].tolist() == [4.0, 2.0, 0.0, 1.0]


def test_charts_say_not_collected_instead_of_crashing(demo_config, capsys):
    from conftest import make_snapshot

    audit = Audit(demo_config, make_snapshot({}))
    assert charts.orders_flow(audit).empty and charts.memory_by_region(audit).empty
    assert charts.plot_order_flow(audit) is None
    assert charts.plot_memory(audit) is None
    shown = capsys.readouterr().out
    assert "Not collected: the orders table" in shown and "Not collected: nodes" in shown


def test_report_notebook_is_stripped_and_its_contents_resolve():
    nb = json.loads(REPORT.read_text())
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert all(not c["outputs"] and c["execution_count"] is None for c in code)
    markdown = "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown")
    toc = links(markdown)
    ids = toc.ids | {problems.ANCHOR}  # the problems section names its own heading
    assert len(toc.fragments) >= 10
    assert not [f for f in toc.fragments if f not in ids]
    sources = "\n".join("".join(c["source"]) for c in nb["cells"])
    order = ["## What blocks launch", "## What could not be verified"]
    order += ["## The owners' claims, checked", "## Are all Stripe prices live", "## Charts"]
    order += ["problems_html", "## Trend across runs"]
    at = [sources.index(s) for s in order]
    assert at == sorted(at)
    assert "blockers_html" in sources and "summary.not_verified" in sources


def _tiny_report(tmp_path: Path) -> Path:
    nb = new_notebook(
        cells=[
            new_markdown_cell('# Report\n\n<nav><a href="#one">One</a></nav>'),
            new_markdown_cell('## One<a id="one"></a>'),
            new_code_cell(
                "secret_code_marker = 1",
                outputs=[
                    new_output(
                        "display_data",
                        data={
                            "text/html": "<table><tr><td>cell</td></tr></table>",
                            "text/plain": "table",
                        },
                    )
                ],
            ),
        ]
    )
    path = tmp_path / "readiness-report.ipynb"
    nbformat.write(nb, path)
    return path


def test_reader_and_analyst_html_open_offline(tmp_path):
    render_html(_tiny_report(tmp_path))
    reader = (tmp_path / "readiness-report.html").read_text()
    analyst = (tmp_path / "readiness-report.analyst.html").read_text()
    for page in (reader, analyst):
        parsed = links(page)
        assert parsed.scripts == 0 and not parsed.external, parsed.external
        assert not re.search(r"url\(\s*['\"]?https?://|@import", page)
        assert "one" in parsed.ids and "<td>cell</td>" in page
    assert "secret_code_marker" not in reader and "secret_code_marker" in analyst
    assert len(reader) < 20_000  # its own small stylesheet, not JupyterLab's
    assert "overflow-x: auto" in reader  # wide tables scroll in their own box


def test_a_consequence_links_to_its_cause_and_one_place_is_one_line():
    cause = _finding("STRIPE-SEED-PLACEHOLDER", "fail", "critical", location="m/003.sql:20")
    follower = _finding(
        "STRIPE-PRICE-LIVE",
        "fail",
        "critical",
        cause={"finding_uid": cause.uid, "check_id": cause.check_id, "resource": cause.resource},
    )
    out = problems.render_problems([cause, follower])
    assert f'<a href="#problem-{cause.uid}">STRIPE-SEED-PLACEHOLDER at ' in out
    assert f'id="problem-{cause.uid}"' in out
    assert "<b>Location:</b> <code>m/003.sql:20</code>" in out and "Locations (" not in out
    alone = problems.render_problems([follower])  # the cause is not shown: no dead link
    assert "a consequence of STRIPE-SEED-PLACEHOLDER" in alone and "#problem-" not in alone
