"""`readiness diff` as a change report: problems across the 1.1 → 1.2 schema change,
location changes, a missing side, --all, markdown escaping, narrow terminals, JSON
shape, exit codes, and the report notebook's two views."""

from __future__ import annotations

import json
import re

import pytest
from conftest import make_snapshot
from rich.console import Console

from readiness import workbook
from readiness.cli import main
from readiness.findings import Finding, Location, Severity, Status, finding_uid
from readiness.report.diff import KINDS, compare
from readiness.report.diff_render import render_table, to_markdown
from readiness.views import report as report_views
from readiness.workbook import Audit

LONG_CHECK = "STRIPE-WEBHOOK-HANDLES-CHECKOUT-SESSION-COMPLETED"
LONG_RESOURCE = "supabase/functions/stripe-webhook/handlers/checkout_session_completed.ts"


def problem(
    check: str,
    key: str,
    places: list[str],
    status: str = "fail",
    severity: str = "high",
    reason: str = "wrong",
) -> dict:
    """A schema 1.2 finding: one problem with a location per place."""
    st = Status(status)
    return Finding(
        check,
        st,
        Severity(severity),
        key,
        reason,
        area=1,
        locations=[Location(p, reason, st) for p in places],
    ).to_dict()


def row(check: str, resource: str, status: str = "fail", severity: str = "high") -> dict:
    """A schema 1.1 finding: one row per occurrence, keyed by the occurrence."""
    return {
        "finding_uid": finding_uid(check, resource),
        "check_id": check,
        "resource": resource,
        "status": status,
        "severity": severity,
        "reason": "wrong",
    }


def kinds(old: list[dict], new: list[dict]) -> dict[str, int]:
    return {k: n for k, n in compare(old, new).counts.items() if n}


def write(tmp_path, name: str, findings: list[dict], version: str = "1.2"):
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps({"schema_version": version, "findings": findings}))
    return str(path)


# --- the model ------------------------------------------------------------------------


def test_an_old_runs_rows_of_one_problem_are_that_problem_still_failing():
    """1.1 listed each occurrence as a row whose uid is now its location's: three rows
    of one problem against the problem holding those three locations is one problem
    still failing, not three resolved and one new."""
    places = ["a.ts:1", "b.ts:2", "c.ts:3"]
    old = [row("SEC-KEY", p) for p in places]
    new = [problem("SEC-KEY", "sk_live_…1234", places)]
    assert kinds(old, new) == {"still failing": 1}
    (rec,) = compare(old, new).rows
    assert rec["finding_uid"] == new[0]["finding_uid"]
    # the old side lists no locations: no location change is claimed either way
    assert rec["locations_was"] is None and rec["locations_added"] is None
    assert kinds(old, [problem("SEC-KEY", "sk_live_…1234", [*places, "d.ts:4"])]) == {
        "still failing": 1
    }
    # the other way round (a 1.2 run diffed against a newer 1.1 file) reads the same
    assert kinds(new, old) == {"still failing": 1}
    # an occurrence the old run had that the problem no longer lists still maps
    assert kinds([*old, row("SEC-KEY", "z.ts:9")], new) == {"still failing": 1, "resolved": 1}


def test_locations_added_and_removed_between_two_runs_that_list_them():
    old = [
        problem("DB-RLS-NO-POLICY", "t", ["a", "b", "c"]),
        problem("SEC-RLS-ANON-WRITE", "u", ["a", "b"]),
        problem("DB-RLS-ENABLED", "v", ["a"], severity="medium"),
        problem("STRIPE-ACCOUNT-LIVE", "w", ["a"]),
    ]
    new = [
        problem("DB-RLS-NO-POLICY", "t", ["a", "b", "c", "d", "e"]),
        problem("SEC-RLS-ANON-WRITE", "u", ["a", "x"]),
        problem("DB-RLS-ENABLED", "v", ["a", "b"], severity="critical"),
        problem("STRIPE-ACCOUNT-LIVE", "w", ["a"]),
    ]
    recs = {r["check_id"]: r for r in compare(old, new).rows}
    grew = recs["DB-RLS-NO-POLICY"]
    assert grew["change"] == "changed locations"
    assert (grew["locations_was"], grew["locations_now"]) == (3, 5)
    assert (grew["locations_added"], grew["locations_removed"]) == (2, 0)
    moved = recs["SEC-RLS-ANON-WRITE"]
    assert moved["change"] == "changed locations"
    assert (moved["locations_added"], moved["locations_removed"]) == (1, 1)
    # a severity change wins the kind but still says where the problem spread
    worse = recs["DB-RLS-ENABLED"]
    assert worse["change"] == "changed severity"
    assert (worse["severity_was"], worse["severity"], worse["locations_added"]) == (
        "medium",
        "critical",
        1,
    )
    assert recs["STRIPE-ACCOUNT-LIVE"]["change"] == "still failing"
    md = to_markdown(compare(old, new))
    assert "| 3 → 5 (+2) |" in md and "| 2 → 2 (+1 −1) |" in md
    assert "| high → critical |" not in md and "| medium → critical |" in md


def test_every_kind_is_counted_and_reported_in_order():
    old = [
        problem("A-RES", "r", ["r"]),
        problem("A-SEV", "s", ["s"], severity="low"),
        problem("A-STA", "t", ["t"], status="warn"),
        problem("A-STW", "w", ["w"], status="warn"),
        problem("A-STN", "n", ["n"], status="not_verified"),
        problem("A-STF", "f", ["f"]),
        problem("A-PASS", "p", ["p"], status="pass"),
    ]
    new = [
        problem("A-NEW", "x", ["x"]),
        problem("A-SEV", "s", ["s"], severity="high"),
        problem("A-STA", "t", ["t"], status="fail"),
        problem("A-STW", "w", ["w"], status="warn"),
        problem("A-STN", "n", ["n"], status="not_verified"),
        problem("A-STF", "f", ["f"]),
        problem("A-PASS", "p", ["p"], status="pass"),
    ]
    report = compare(old, new)
    assert list(report.counts) == list(KINDS)
    assert [r["change"] for r in report.rows] == [
        "new",
        "resolved",
        "changed severity",
        "changed status",
        "still failing",
        "still warn",
        "still not_verified",
    ]
    assert "A-PASS" not in {r["check_id"] for r in report.rows}


# --- the CLI --------------------------------------------------------------------------


@pytest.fixture
def runs(tmp_path):
    """One problem of each of new, resolved and still failing."""
    old = [problem("DB-RLS-ENABLED", "gone", ["gone"]), problem("STRIPE-ACCOUNT-LIVE", "k", ["k"])]
    new = [
        problem(LONG_CHECK, LONG_RESOURCE, [LONG_RESOURCE], severity="critical"),
        problem("STRIPE-ACCOUNT-LIVE", "k", ["k"]),
    ]
    return write(tmp_path, "old", old), write(tmp_path, "new", new)


def test_json_is_one_document_with_counts_and_null_for_a_missing_side(runs, capsys):
    assert main(["diff", *runs, "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["counts"]["new"] == 1 and doc["counts"]["resolved"] == 1
    assert doc["counts"]["still failing"] == 1 and doc["all"] is False
    by_kind = {c["change"]: c for c in doc["changes"]}
    assert set(by_kind) == {"new", "resolved"}
    assert by_kind["new"]["was"] is None and by_kind["new"]["severity_was"] is None
    assert by_kind["resolved"]["now"] is None
    assert by_kind["new"]["check_id"] == LONG_CHECK

    assert main(["diff", *runs, "--format", "json", "--all"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["all"] is True
    assert [c["change"] for c in doc["changes"]] == ["new", "resolved", "still failing"]


@pytest.mark.parametrize("fmt", ["table", "markdown"])
def test_a_missing_side_is_an_en_dash_never_nan(runs, capsys, fmt):
    assert main(["diff", *runs, "--format", fmt]) == 0
    text = capsys.readouterr().out
    assert "– → fail" in text and "fail → –" in text
    assert not re.search(r"\b(nan|None|NaN|null)\b", text)


@pytest.mark.parametrize("fmt", ["table", "markdown"])
def test_still_there_problems_are_a_count_unless_all(runs, capsys, fmt):
    assert main(["diff", *runs, "--format", fmt]) == 0
    text = capsys.readouterr().out
    assert "Still failing: 1" in text
    assert "STRIPE-ACCOUNT-LIVE" not in text
    assert main(["diff", *runs, "--format", fmt, "--all"]) == 0
    assert "STRIPE-ACCOUNT-LIVE" in capsys.readouterr().out


def test_markdown_is_a_ci_comment_with_escaped_cells(tmp_path, capsys):
    nasty = "orders | <script>x</script> __init__\nsecond line"
    old = write(tmp_path, "old", [])
    new = write(tmp_path, "new", [problem("SEC-RLS-ANON-WRITE", "t|1", ["t|1"], reason=nasty)])
    assert main(["diff", old, new, "--format", "markdown"]) == 0
    md = capsys.readouterr().out
    lines = md.splitlines()
    assert lines[0].startswith("### ") and "1 new" in lines[0] and "0 resolved" in lines[0]
    assert "#### New (1)" in md and "#### Resolved (0)" in md and "#### Changed (0)" in md
    table = [ln for ln in lines if ln.startswith("| SEC-RLS-ANON-WRITE")]
    assert len(table) == 1  # the newline did not break the row
    header = next(ln for ln in lines if ln.startswith("| Check"))
    unescaped = re.compile(r"(?<!\\)\|")
    assert len(unescaped.findall(table[0])) == len(unescaped.findall(header))
    assert "t\\|1" in table[0] and "<br>second line" in table[0]
    assert "<script>" not in md and "\\_\\_init\\_\\_" in md


def unfold(text: str) -> list[str]:
    """Each table cell's text with its folded lines joined, from rich's box drawing."""
    cells: list[str] = []
    current: list[list[str]] = []
    for line in text.splitlines() + ["└"]:
        if line.startswith(("│", "┃")):
            parts = re.split(r"[│┃]", line)[1:-1]
            current = current or [[] for _ in parts]
            for acc, part in zip(current, parts, strict=False):
                acc.append(part.strip())
        elif current:
            cells += ["".join(acc) for acc in current]
            current = []
    return cells


def test_an_80_column_terminal_folds_long_ids_and_resources_never_cuts_them(
    runs, capsys, monkeypatch
):
    monkeypatch.setenv("COLUMNS", "80")
    assert main(["diff", *runs]) == 0
    text = capsys.readouterr().out
    assert max(len(ln) for ln in text.splitlines()) <= 80
    assert "…" not in text
    cells = unfold(text)
    assert LONG_CHECK in cells and LONG_RESOURCE in cells
    assert LONG_CHECK not in text  # it did have to fold: the test would see a cut


def test_a_very_narrow_console_still_shows_every_character():
    old = [problem(LONG_CHECK, LONG_RESOURCE, ["a", "b"])]
    new = [problem(LONG_CHECK, LONG_RESOURCE, ["a", "b", "c"], status="warn")]
    console = Console(width=60, record=True, file=open("/dev/null", "w"))  # noqa: SIM115
    console.print(render_table(compare(old, new)))
    text = console.export_text()
    assert "…" not in text
    cells = unfold(text)
    assert LONG_CHECK in cells and LONG_RESOURCE in cells
    assert "fail→warn" in {c.replace(" ", "") for c in cells}


def test_cell_text_is_never_read_as_rich_markup(tmp_path, capsys):
    old = write(tmp_path, "old", [])
    new = write(tmp_path, "new", [problem("SEC-RLS-ANON-WRITE", "[bold]t[/bold]", ["x"])])
    assert main(["diff", old, new]) == 0
    assert "[bold]t[/bold]" in "".join(unfold(capsys.readouterr().out))


@pytest.mark.parametrize(
    "findings",
    [
        [{**row("A-B", "r"), "status": ["fail"]}],
        [{**row("A-B", "r"), "locations": "a.ts:1"}],
        [{**row("A-B", "r"), "locations": [{"resource": "no uid"}]}],
        [{**row("A-B", "r"), "locations": [{"uid": "u", "status": {"fail": 1}}]}],
    ],
)
def test_a_findings_file_of_the_wrong_shape_is_a_one_line_usage_error(tmp_path, capsys, findings):
    good = write(tmp_path, "good", [])
    bad = write(tmp_path, "bad", findings)
    for args in ([good, bad], [bad, good]):
        assert main(["diff", *args, "--format", "json"]) == 2
        err = capsys.readouterr().err.strip()
        assert "is not a readiness findings.json" in err and "\n" not in err


def test_exit_codes(runs, tmp_path, capsys):
    assert main(["diff", *runs]) == 0
    assert main(["diff", *runs, "--format", "markdown", "--all"]) == 0
    assert main(["diff", runs[0], str(tmp_path / "missing")]) == 2
    assert main(["diff", *runs, "--format", "xml"]) == 2
    assert main(["diff", runs[0]]) == 2
    capsys.readouterr()


# --- the report notebook's views ------------------------------------------------------


def audit_with(demo_config, findings: list[Finding]) -> Audit:
    """A real Audit whose judged findings are the given ones (nothing is collected)."""
    audit = Audit(demo_config, make_snapshot({}))
    audit.__dict__["_judged"] = (findings, [])
    return audit


def test_report_views_show_changes_and_counts_without_the_still_rows(
    demo_config, tmp_path, monkeypatch
):
    history = tmp_path / "outputs"
    earlier = history / "2026-11-20"
    earlier.mkdir(parents=True)
    old = [problem("DB-RLS-ENABLED", "gone", ["gone"]), problem("STRIPE-ACCOUNT-LIVE", "k", ["k"])]
    (earlier / "findings.json").write_text(json.dumps({"findings": old}))
    this_run = history / "2026-11-26"
    this_run.mkdir()
    monkeypatch.chdir(this_run)
    new = [
        Finding.from_dict(problem("SEC-RLS-ANON-WRITE", "t", ["t"])),
        Finding.from_dict(problem("STRIPE-ACCOUNT-LIVE", "k", ["k"])),
    ]
    audit = audit_with(demo_config, new)

    changes = report_views.changes_since_last_run(audit, history)
    assert changes is not None
    assert list(changes["change"]) == ["new", "resolved"]
    assert list(changes["status"]) == ["– → fail", "fail → –"]
    assert "STRIPE-ACCOUNT-LIVE" not in set(changes["check_id"])
    assert not changes.isna().any().any()

    summary = report_views.changes_summary(audit, history)
    assert summary is not None
    assert list(summary["kind"]) == list(KINDS)
    counts = dict(zip(summary["kind"], summary["problems"], strict=True))
    assert counts["still failing"] == 1 and counts["new"] == 1 and counts["resolved"] == 1
    html = workbook.show(summary).to_html() + workbook.show(changes).to_html()
    assert re.search(r">still failing</td>\s*<td[^>]*>1</td>", html)
    assert "– → fail" in html and "nan" not in html

    assert report_views.changes_since_last_run(audit, tmp_path / "empty") is None
    assert report_views.changes_summary(audit, None) is None
