"""Precision bench: the static audit over real public Supabase + Stripe projects, with
its fail/warn findings scored against hand labels.

    python bench/precision.py                       # every corpus project present
    python bench/precision.py --repo OWNER/NAME     # one project
    python bench/precision.py --dump DIR            # also one findings file per project
    python bench/precision.py --json                # machine-readable
    python bench/precision.py --unlabelled          # list critical/high left to label
    python bench/precision.py --fetch-help          # how to get the projects

The projects are listed with pinned commits in bench/corpus.yaml; their trees live
outside the repo (default /work/corpus/OWNER+NAME) and the bench needs no network. Only
the code sources run (codebase; schema from supabase/migrations when present): database,
Stripe, panel and management API are off, so checks that need them are not_verified and
not scored. Labels are bench/labels.jsonl and bench/labels/*.jsonl (see bench/LABELS.md);
a finding is labelled when repo + check + location (its `location`, or its `resource`
when it has none) match.

Labels are a sample, so precision per check is TRUE / labelled, and precision per
severity is *estimated*: each check's sample precision weighted by its number of
findings (checks with no label are left out, and the share of findings they hold is
printed as coverage). The same is shown for fail findings alone, the ones that move the
verdict.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import yaml

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
CORPUS_FILE = BENCH / "corpus.yaml"
LABELS_FILE = BENCH / "labels.jsonl"
LABELS_DIR = BENCH / "labels"
CATALOG = ROOT / "params" / "expected_catalog.yaml"
METADATA_FILE = ROOT / "lib" / "readiness" / "checks" / "precision.json"
DEFAULT_CORPUS_DIR = Path("/work/corpus")
SEVERITIES = ["critical", "high", "medium", "low", "info"]
LABEL_KEYS = {"repo", "commit", "check", "location", "label", "why"}


class BenchError(Exception):
    """A usage or input problem: printed as one line, exit 2."""


def folder_name(repo: str) -> str:
    return repo.replace("/", "+")


def load_corpus(path: Path = CORPUS_FILE) -> list[dict[str, str]]:
    entries = yaml.safe_load(path.read_text(encoding="utf-8")) or []
    for i, e in enumerate(entries, 1):
        if not isinstance(e, dict) or not {"repo", "commit", "why"} <= set(e):
            raise BenchError(f"{path}: entry {i} needs repo, commit and why")
        if len(str(e["commit"])) != 40:
            raise BenchError(f"{path}: entry {i} ({e['repo']}): commit must be 40 hex digits")
    return entries


def label_files(paths: list[Path] | None) -> list[Path]:
    """The label files to read: those given, or labels.jsonl and labels/*.jsonl."""
    if paths:
        return paths
    return [LABELS_FILE, *sorted(LABELS_DIR.glob("*.jsonl"))]


def load_labels(path: Path) -> list[dict[str, str]]:
    """Labels, one JSON object a line; a malformed line is an error naming its number."""
    if not path.is_file():
        return []
    labels = []
    for no, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise BenchError(f"{path}:{no}: not JSON ({exc.msg})") from None
        missing = LABEL_KEYS - set(obj) if isinstance(obj, dict) else LABEL_KEYS
        if missing:
            raise BenchError(f"{path}:{no}: missing {', '.join(sorted(missing))}")
        if obj["label"] not in ("TRUE", "FALSE"):
            raise BenchError(f"{path}:{no}: label must be TRUE or FALSE")
        labels.append(obj)
    return labels


def fetch_help(entries: list[dict[str, str]], corpus_dir: Path) -> str:
    lines = [
        "# Get the corpus: a bare mirror of each project, then its pinned commit's files.",
        "# (The session's `fetch` tool gives /work/.mirror/OWNER+NAME/repo; elsewhere use",
        "#  `git clone --bare https://github.com/OWNER/NAME GIT_DIR`.)",
    ]
    for e in entries:
        name = folder_name(e["repo"])
        git = f"/work/.mirror/{name}/repo"
        lines.append(f"# fetch github:{e['repo']}")
        lines.append(f"/work/shared/tools/export_tree.sh {git} {e['commit']} {corpus_dir / name}")
    return "\n".join(lines)


def audit(tree: Path) -> dict[str, Any]:
    """Collect and judge one tree in-process; every fail/warn finding, problems, timings."""
    from readiness.checks.registry import evaluate
    from readiness.config import load_config, write_static_params
    from readiness.findings import link_causes
    from readiness.snapshot import collect

    with tempfile.TemporaryDirectory(prefix="precision-") as tmp:
        has_migrations = (tree / "supabase" / "migrations").is_dir()
        name = f"precision bench: {tree.name}"
        params = write_static_params(Path(tmp), tree, CATALOG, schema=has_migrations, name=name)
        config = load_config(params)
        t0 = time.monotonic()
        snapshot = collect(config)
        t1 = time.monotonic()
        findings = link_causes(evaluate(snapshot, config))
        t2 = time.monotonic()
    problems: list[str] = []
    for name, state in snapshot.sources.items():
        if state.status == "error":
            problems.append(f"source {name} failed: {state.reason}")
        problems += [f"{name}: {n}" for n in state.notes if "skipped" in n or "unexpected" in n]
    status = Counter(str(f.status) for f in findings)
    not_applicable = sorted({f.check_id for f in findings if str(f.status) == "not_applicable"})
    kept = []
    for f in findings:
        if str(f.status) == "not_verified" and "check failed to run" in f.reason:
            problems.append(f"check {f.check_id} crashed: {f.reason}")
        if str(f.status) not in ("fail", "warn"):
            continue
        kept.append(
            {
                "check": f.check_id,
                "title": f.title,
                "severity": str(f.severity),
                "status": str(f.status),
                "resource": f.resource,
                "location": f.location,
                "reason": f.reason,
                "evidence": f.evidence,
                "occurrences": len(f.locations),
                "places": [loc.location or loc.resource for loc in f.locations],
                "cause": f.cause,
            }
        )
    sources = {
        n: {"status": s.status, "seconds": s.seconds, "notes": len(s.notes)}
        for n, s in snapshot.sources.items()
        if s.status != "disabled"
    }
    return {
        "findings": kept,
        "not_applicable": not_applicable,
        "statuses": dict(status),
        "problems": problems,
        "sources": sources,
        "seconds": {"collect": round(t1 - t0, 2), "evaluate": round(t2 - t1, 2)},
    }


def label_location(finding: dict[str, Any]) -> str:
    return finding["location"] or finding["resource"]


def score(results: list[dict[str, Any]], labels: list[dict[str, str]]) -> dict[str, Any]:
    """Join findings with labels; precision per check, per severity and per severity for
    fail findings alone, each severity figure estimated from the per-check samples."""
    by_key: dict[tuple[str, str, str], dict[str, str]] = {}
    stale: list[str] = []
    commits = {r["repo"]: r["commit"] for r in results}
    for lab in labels:
        if lab["repo"] in commits and lab["commit"] != commits[lab["repo"]]:
            stale.append(f"{lab['repo']} {lab['check']} {lab['location']}: other commit")
            continue
        key = (lab["repo"], lab["check"], lab["location"])
        if key in by_key and by_key[key]["label"] != lab["label"]:
            stale.append(f"{' '.join(key)}: labelled both TRUE and FALSE")
        by_key[key] = lab
    used: set[tuple[str, str, str]] = set()
    per_check: dict[str, Counter] = defaultdict(Counter)
    # (check, severity, status) -> counts: the severity estimates weight each check's
    # sample precision by its findings in that stratum.
    strata: dict[tuple[str, str, str], Counter] = defaultdict(Counter)
    unlabelled: list[dict[str, Any]] = []
    for r in results:
        for f in r["findings"]:
            key = (r["repo"], f["check"], label_location(f))
            # a problem is labelled by its lead place, else by the first labelled one of
            # its other places (labels written when each occurrence was a finding)
            places = [(r["repo"], f["check"], p) for p in f.get("places") or []]
            lab = by_key.get(key) or next((by_key[k] for k in places if k in by_key), None)
            used.update(k for k in places if k in by_key)
            f["label"] = lab["label"] if lab else None
            for c in (per_check[f["check"]], strata[(f["check"], f["severity"], f["status"])]):
                c["findings"] += 1
                if lab:
                    c["labelled"] += 1
                    c[lab["label"]] += 1
            if lab:
                used.add(key)
            elif f["severity"] in ("critical", "high"):
                unlabelled.append({"repo": r["repo"], **f})
    # Only labels of the projects audited in this run can be lost or gone.
    unmatched = [(k, v) for k, v in by_key.items() if k not in used and k[0] in commits]
    # a TRUE label whose check no longer applies to that platform is not recall lost
    na = {(r["repo"], c) for r in results for c in r.get("not_applicable", [])}
    now_na = [k for k, v in unmatched if v["label"] == "TRUE" and (k[0], k[1]) in na]
    unmatched = [(k, v) for k, v in unmatched if k not in now_na]
    lost = [" ".join(k) for k, v in unmatched if v["label"] == "TRUE"]
    gone = sum(1 for _, v in unmatched if v["label"] == "FALSE")

    def row(c: Counter) -> dict[str, Any]:
        done = c["labelled"]
        return {
            "findings": c["findings"],
            "labelled": done,
            "TRUE": c["TRUE"],
            "FALSE": c["FALSE"],
            "precision": round(c["TRUE"] / done, 3) if done else None,
        }

    checks = {name: row(c) for name, c in per_check.items()}

    def estimate(severities: set[str], statuses: set[str]) -> dict[str, Any]:
        """Σ findings × the check's sample precision in this stratum (or, when the
        stratum has no label, the check's overall precision) / Σ findings covered."""
        n = covered = true = labelled = 0
        for (check, sev, status), c in strata.items():
            if sev not in severities or status not in statuses:
                continue
            n += c["findings"]
            labelled += c["labelled"]
            p = c["TRUE"] / c["labelled"] if c["labelled"] else checks[check]["precision"]
            if p is not None:
                covered += c["findings"]
                true += c["findings"] * p
        return {
            "findings": n,
            "labelled": labelled,
            "coverage": round(covered / n, 3) if n else None,
            "precision": round(true / covered, 3) if covered else None,
        }

    fail_warn = {"fail", "warn"}
    per_sev = {s: estimate({s}, fail_warn) | {"fail": estimate({s}, {"fail"})} for s in SEVERITIES}
    top = {"critical", "high"}
    return {
        "per_check": checks,
        "per_severity": per_sev,
        "critical_high": estimate(top, fail_warn) | {"fail": estimate(top, {"fail"})},
        "true_labels_lost": lost,
        "true_labels_not_applicable": len(now_na),
        "false_labels_gone": gone,
        "unlabelled_critical_high": unlabelled,
        "stale_labels": stale,
    }


def write_metadata(results: list[dict[str, Any]], scored: dict[str, Any], path: Path) -> None:
    """The per-check precision the checks carry (readiness.checks.precision)."""
    checks = {
        name: {
            "labelled": v["labelled"],
            "true": v["TRUE"],
            "precision": v["precision"],
            "findings": v["findings"],
        }
        for name, v in sorted(scored["per_check"].items())
        if v["labelled"]
    }
    doc = {
        "about": "written by `python bench/precision.py --write-metadata`; do not edit",
        "corpus": [f"{r['repo']}@{r['commit'][:12]}" for r in results],
        "checks": checks,
    }
    path.write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")


def dump(result: dict[str, Any], folder: Path) -> Path:
    """One findings file per project, each finding with the label key to copy."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{folder_name(result['repo'])}.json"
    rows = []
    for f in result["findings"]:
        key = {"repo": result["repo"], "commit": result["commit"], "check": f["check"]}
        rows.append({**f, "label_key": {**key, "location": label_location(f)}})
    doc = {k: v for k, v in result.items() if k != "findings"} | {"findings": rows}
    path.write_text(json.dumps(doc, indent=2, default=str), encoding="utf-8")
    return path


def print_report(
    results: list[dict[str, Any]],
    scored: dict[str, Any],
    missing: list[str],
    list_unlabelled: bool = False,
) -> None:
    from rich.console import Console
    from rich.table import Table

    con = Console(highlight=False, markup=False, width=160, soft_wrap=True)
    t = Table(title="fail/warn findings per project (static audit)")
    cols = [
        "project",
        "files",
        *SEVERITIES,
        "total",
        "own",
        "occurrences",
        "collect s",
        "judge s",
        "errors",
    ]
    for col in cols:
        t.add_column(col, justify="left" if col == "project" else "right")
    totals: Counter = Counter()
    for r in results:
        sev = Counter(f["severity"] for f in r["findings"])
        totals.update(sev)
        s = r["seconds"]
        cells = [str(sev[x]) for x in SEVERITIES]
        t.add_row(
            r["repo"],
            str(r["files"]),
            *cells,
            str(len(r["findings"])),
            str(sum(1 for f in r["findings"] if not f.get("cause"))),
            str(sum(f.get("occurrences", 1) for f in r["findings"])),
            f"{s['collect']:.1f}",
            f"{s['evaluate']:.1f}",
            str(len(r["problems"])),
        )
    t.add_row(
        "total",
        "",
        *[str(totals[x]) for x in SEVERITIES],
        str(sum(totals.values())),
        str(sum(1 for r in results for f in r["findings"] if not f.get("cause"))),
        str(sum(f.get("occurrences", 1) for r in results for f in r["findings"])),
        f"{sum(r['seconds']['collect'] for r in results):.1f}",
        f"{sum(r['seconds']['evaluate'] for r in results):.1f}",
        "",
        style="bold",
    )
    con.print(t)

    def precision_table(title: str, rows: dict[str, dict[str, Any]], order: list[str]) -> None:
        pt = Table(title=title)
        for col in ["", "findings", "labelled", "TRUE", "FALSE", "precision"]:
            pt.add_column(col, justify="left" if not col else "right")
        for name in order:
            if name in rows:
                v = rows[name]
                p = "—" if v["precision"] is None else f"{v['precision']:.2f}"
                pt.add_row(name, *(str(v[k]) for k in ("findings", "labelled", "TRUE", "FALSE")), p)
        con.print(pt)

    checks = scored["per_check"]
    precision_table("per check", checks, sorted(checks, key=lambda c: -checks[c]["findings"]))

    def pct(x: float | None) -> str:
        return "—" if x is None else f"{x:.0%}"

    st = Table(title="per severity (precision estimated from the per-check samples)")
    for col in ["", "findings", "labelled", "coverage", "precision", "fail", "fail precision"]:
        st.add_column(col, justify="left" if not col else "right")
    rows = [
        *((s, scored["per_severity"][s]) for s in SEVERITIES),
        ("critical+high", scored["critical_high"]),
    ]
    for name, v in rows:
        f = v["fail"]
        st.add_row(
            name,
            str(v["findings"]),
            str(v["labelled"]),
            pct(v["coverage"]),
            pct(v["precision"]),
            str(f["findings"]),
            pct(f["precision"]),
        )
    con.print(st)
    con.print(
        f"TRUE labels no longer found (recall lost): {len(scored['true_labels_lost'])}; "
        f"FALSE labels whose finding is gone: {scored['false_labels_gone']}; "
        f"TRUE labels whose check is now not applicable: "
        f"{scored['true_labels_not_applicable']}"
    )
    for line in scored["true_labels_lost"]:
        con.print(f"  lost: {line}")
    if scored["unlabelled_critical_high"] and list_unlabelled:
        con.print(f"\nunlabelled critical/high ({len(scored['unlabelled_critical_high'])}):")
        for f in scored["unlabelled_critical_high"]:
            con.print(
                f"  {f['repo']} {f['check']} [{f['severity']}/{f['status']}] "
                f"{label_location(f)} — {f['reason'][:110]}"
            )
    for line in scored["stale_labels"]:
        con.print(f"stale label: {line}")
    for r in results:
        for p in r["problems"]:
            con.print(f"problem in {r['repo']}: {p[:200]}")
    if missing:
        con.print(f"not in the corpus dir (skipped): {', '.join(missing)}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpus-dir", type=Path, default=DEFAULT_CORPUS_DIR)
    ap.add_argument(
        "--labels", type=Path, action="append", help="label file (repeatable; default: all)"
    )
    ap.add_argument("--repo", help="only this OWNER/NAME")
    ap.add_argument("--dump", type=Path, metavar="DIR", help="write findings per project here")
    ap.add_argument("--json", action="store_true", help="print JSON instead of tables")
    ap.add_argument(
        "--unlabelled", action="store_true", help="list the unlabelled critical/high findings"
    )
    ap.add_argument("--fetch-help", action="store_true", help="print how to get the corpus")
    ap.add_argument(
        "--write-metadata",
        action="store_true",
        help=f"write the per-check precision the checks carry ({METADATA_FILE.name})",
    )
    args = ap.parse_args(argv)
    try:
        entries = load_corpus()
        if args.fetch_help:
            print(fetch_help(entries, args.corpus_dir))
            return 0
        if args.repo:
            entries = [e for e in entries if e["repo"] == args.repo]
            if not entries:
                raise BenchError(f"{args.repo} is not in {CORPUS_FILE.name}")
        if args.write_metadata and (args.repo or args.labels):
            raise BenchError("--write-metadata measures the whole corpus with every label")
        labels = [lab for path in label_files(args.labels) for lab in load_labels(path)]
        present = [e for e in entries if (args.corpus_dir / folder_name(e["repo"])).is_dir()]
        missing = [e["repo"] for e in entries if e not in present]
        if args.write_metadata and missing:
            raise BenchError(f"--write-metadata needs every corpus project; missing: {missing}")
        if not present:
            raise BenchError(
                f"none of the {len(entries)} corpus project(s) is under {args.corpus_dir}: "
                "see `python bench/precision.py --fetch-help`"
            )
    except BenchError as exc:
        print(f"precision: {exc}", file=sys.stderr)
        return 2
    from readiness.sources.base import CANCEL

    results = []
    try:
        for e in present:
            tree = args.corpus_dir / folder_name(e["repo"])
            if not args.json:
                print(f"auditing {e['repo']} …", file=sys.stderr, flush=True)
            files = sum(1 for p in tree.rglob("*") if p.is_file())
            entry = {"repo": e["repo"], "commit": e["commit"], "files": files}
            results.append(entry | audit(tree))
            if args.dump:
                dump(results[-1], args.dump)
    except KeyboardInterrupt:
        CANCEL.set()
        print("precision: interrupted", file=sys.stderr)
        return 130
    scored = score(results, labels)
    if args.write_metadata:
        write_metadata(results, scored, METADATA_FILE)
    if args.json:
        summary = [
            {k: r[k] for k in ("repo", "commit", "files", "seconds", "statuses", "problems")}
            | {"by_severity": dict(Counter(f["severity"] for f in r["findings"]))}
            for r in results
        ]
        doc = {"projects": summary, "missing": missing, **scored}
        print(json.dumps(doc, indent=2, default=str))
    else:
        print_report(results, scored, missing, args.unlabelled)
    return 0


if __name__ == "__main__":
    sys.exit(main())
