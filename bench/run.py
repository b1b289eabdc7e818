"""Benchmark: the audit against the demo platform at a given size, with emulated latency
and the real rate limits, printing figures (never asserting them).

    python bench/run.py --size demo
    python bench/run.py --size large --latency-ms 30

Per source: requests made, the minimum needed (ceil(rows / page size) per list), seconds,
and the lower bound the rate limit and latency impose; then sequential single-cursor
collection in the same run for comparison; analysis time (all checks); peak RSS; and the
size of the rendered report (with --notebooks).
"""

from __future__ import annotations

import argparse
import json
import math
import resource
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
import yaml
from rich.console import Console
from rich.table import Table

from readiness.config import load_config
from readiness.snapshot import collect

SIZES = {
    "demo": {},
    # 200k orders over 90 days (~65k checkout sessions and events in the 30-day window,
    # ~180k subscriptions), 20k running servers on 200 nodes
    "large": {
        "users": 20_000,
        "orders": 200_000,
        "nodes": 200,
        "servers": 20_000,
        "history_days": 90,
    },
}
STRIPE_LISTS = [
    "stripe_products",
    "stripe_webhook_endpoints",
    "stripe_events",
    "stripe_checkout_sessions",
    "stripe_subscriptions",
]
PANEL_LISTS = ["panel_locations", "panel_nodes", "panel_servers", "panel_users"]
console = Console(highlight=False, width=150)


def pages(rows: int, per_page: int = 100) -> int:
    return max(1, math.ceil(rows / per_page))


def min_requests(snapshot) -> dict[str, int]:
    """The fewest requests that can return every row collected."""
    rows = {n: len(snapshot.table(n)) for n in snapshot.tables}
    prices = snapshot.table("stripe_prices")
    active = int(prices["active"].fillna(False).sum()) if prices is not None else 0
    stripe = 1 + pages(active) + pages(rows.get("stripe_prices", 0) - active)
    stripe += sum(pages(rows.get(n, 0)) for n in STRIPE_LISTS)
    if rows.get("stripe_test_prices"):
        stripe += 2 * pages(rows["stripe_test_prices"])
    eggs = snapshot.table("panel_eggs")
    nests = eggs["nest_id"].nunique() if eggs is not None else 0
    panel = sum(pages(rows.get(n, 0)) for n in PANEL_LISTS) + 1 + nests
    return {"stripe": stripe, "pterodactyl": panel}


def lower_bound(
    requests: int, limit: float, window_s: float, latency_s: float, workers: int
) -> float:
    """Seconds no client can beat: full rate-limit windows that must pass (a fixed window
    admits `limit` requests at once), or latency spread over the workers."""
    windows = math.ceil(requests / limit) - 1
    return max(windows * window_s, math.ceil(requests / workers) * latency_s)


TOTALS = {  # collected table -> (API, resource) whose whole list it must equal
    "stripe_prices": ("stripe", "prices"),
    "stripe_products": ("stripe", "products"),
    "stripe_webhook_endpoints": ("stripe", "webhook_endpoints"),
    "stripe_subscriptions": ("stripe", "subscriptions"),
    "panel_locations": ("panel", "locations"),
    "panel_nodes": ("panel", "nodes"),
    "panel_allocations": ("panel", "allocations"),
    "panel_eggs": ("panel", "eggs"),
    "panel_servers": ("panel", "servers"),
    "panel_users": ("panel", "users"),
}
WINDOWED = ["stripe_events", "stripe_checkout_sessions"]  # lookback window: vs one cursor


def completeness(
    snapshot, api_counts: dict, sequential=None, lookback_days: int = 30
) -> tuple[bool, str]:
    """Collected rows against what the platform holds; lists cut by the lookback window
    against single-cursor collection of the same window (which, run later, starts later:
    only objects older than its start may be missing from it)."""
    parts, ok = [], True
    for table, (api, listed) in TOTALS.items():
        got, want = len(snapshot.table(table)), api_counts[api][listed]
        ok &= got == want
        parts.append(f"{table.split('_', 1)[1]} {got}/{want}")
    for table in WINDOWED if sequential is not None else []:
        a, b = snapshot.table(table), sequential.table(table)
        start = pd.Timestamp(sequential.now) - pd.Timedelta(days=lookback_days)
        later = a[~a["id"].isin(b["id"])]
        same = bool(b["id"].isin(a["id"]).all() and (later["created"] < start).all())
        ok &= same
        left = f", {len(later)} left the window since" if len(later) else ""
        sign = "=" if same else "≠"
        parts.append(f"{table.split('_', 1)[1]} {len(a)} {sign} 1 cursor ({len(b)}{left})")
    return ok, ", ".join(parts)


def timed_checks(snapshot, config) -> tuple[list, float, list[tuple[float, str]]]:
    """All checks on one snapshot, with the time each took (slowest first)."""
    from readiness.checks.registry import all_checks, evaluate_check

    findings, per_check, memo = [], [], {}
    start = time.monotonic()
    for spec in all_checks():
        t = time.monotonic()
        findings.extend(evaluate_check(spec, snapshot, config, memo))
        per_check.append((time.monotonic() - t, spec.id))
    return findings, time.monotonic() - start, sorted(per_check, reverse=True)


def analyse(evidence: Path, params: Path) -> dict:
    """Load saved evidence and run every check on it, as the runner does: its time and
    this process's peak RSS (run in a fresh process, so collection does not count)."""
    from readiness.snapshot import Snapshot

    snapshot, config = Snapshot.load(evidence), load_config(params)
    t = time.monotonic()
    for path in evidence.glob("*.parquet"):
        snapshot.table(path.stem)
    load_s = time.monotonic() - t
    findings, analysis_s, slowest = timed_checks(snapshot, config)
    return {
        "load_s": load_s,
        "analysis_s": analysis_s,
        "findings": len(findings),
        "slowest": slowest[:8],
        "rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def analyse_apart(evidence: Path, params: Path) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--evidence", str(evidence), "--params", str(params), "--json"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


# Runs a command and prints, last, the peak RSS of its largest process (kernels included).
_MEASURE = (
    "import json, resource, subprocess, sys; "
    "code = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL).returncode; "
    "print(json.dumps(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)); "
    "sys.exit(code)"
)


def audit_apart(params: Path, output_dir: Path) -> dict:
    """The whole audit as a user runs it (`readiness run`), in its own processes."""
    cli = str(Path(sys.executable).with_name("readiness"))
    cmd = [cli, "run", "--params", str(params), "--output-dir", str(output_dir)]
    t = time.monotonic()
    out = subprocess.run(
        [sys.executable, "-c", _MEASURE, *cmd], capture_output=True, text=True, check=False
    )
    seconds = time.monotonic() - t
    if out.returncode not in (0, 1):  # 1 = NO-GO, the demo platform's expected verdict
        raise SystemExit(f"readiness run failed:\n{out.stderr[-2000:]}")
    folder = max(output_dir.glob("20*"), key=lambda p: p.stat().st_mtime)
    return {
        "seconds": seconds,
        "rss_mib": json.loads(out.stdout.strip().splitlines()[-1]),
        "run": json.loads((folder / "run.json").read_text()),
        "html_bytes": (folder / "readiness-report.html").stat().st_size,
    }


def start_platform(workdir: Path, size: dict, args: argparse.Namespace) -> subprocess.Popen:
    """The demo platform in its own process, so serving requests never competes with
    the audit for this process's interpreter lock (that would blur the figures)."""
    cmd = [
        str(Path(sys.executable).with_name("readiness")),
        "sandbox",
        "up",
        "--workdir",
        str(workdir),
        "--latency-ms",
        str(args.latency_ms),
        "--stripe-rate",
        str(int(args.stripe_rate)),
        "--panel-rate",
        str(int(args.panel_rate)),
    ]
    for key, value in size.items():
        cmd += [f"--{key.replace('_', '-')}", str(value)]
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL)


def settle(panel_requests: int, limit_per_min: float) -> None:
    """Let the panel's rate-limit window empty when the last run used much of it, so one
    run does not pay for the one before (the panel counts per key over a sliding minute)."""
    if 2 * panel_requests <= limit_per_min:
        return
    console.print("[dim]waiting 60s for the panel's rate-limit window to empty[/]")
    time.sleep(60.0)


def params_for(sandbox_params: Path, workdir: Path, **overrides) -> Path:
    data = yaml.safe_load(sandbox_params.read_text())
    for source, values in overrides.items():
        data["sources"].setdefault(source, {}).update(values)
    path = workdir / f"params-{len(list(workdir.glob('params-*')))}.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", choices=sorted(SIZES), default="demo")
    ap.add_argument("--latency-ms", type=float, default=30.0)
    ap.add_argument("--stripe-rate", type=float, default=100.0, help="requests per second")
    ap.add_argument("--panel-rate", type=float, default=240.0, help="requests per minute")
    ap.add_argument("--no-sequential", action="store_true")
    ap.add_argument("--notebooks", action="store_true", help="also render the report")
    ap.add_argument("--evidence", help="only time the checks on a saved snapshot")
    ap.add_argument("--params", help="params of that snapshot (with --evidence)")
    ap.add_argument("--json", action="store_true", help="with --evidence: figures as JSON")
    args = ap.parse_args(argv)
    if args.evidence:
        figures = analyse(Path(args.evidence), Path(args.params))
        if args.json:
            print(json.dumps(figures))
            return 0
        console.print(
            f"load {figures['load_s']:.2f}s · analysis ({figures['findings']} findings) "
            f"{figures['analysis_s']:.2f}s · peak RSS {figures['rss_mib']:.0f} MiB"
        )
        console.print("slowest: " + ", ".join(f"{c} {t:.2f}s" for t, c in figures["slowest"]))
        return 0

    latency = args.latency_ms / 1000
    work = Path(tempfile.mkdtemp(prefix="readiness-bench-"))
    platform = start_platform(work / "sandbox", SIZES[args.size], args)
    try:
        t0 = time.monotonic()
        while not (work / "sandbox" / "ready").exists():
            if platform.poll() is not None:
                raise SystemExit("the demo platform did not start (see its output above)")
            time.sleep(0.2)
        setup_s = time.monotonic() - t0
        sandbox_params = work / "sandbox" / "params.yaml"
        manifest = json.loads((work / "sandbox" / "manifest.json").read_text())
        api_counts = manifest["api_counts"]
        config = load_config(params_for(sandbox_params, work))
        t = time.monotonic()
        snapshot = collect(config, work / "evidence")
        collect_s = time.monotonic() - t
        analysis = analyse_apart(work / "evidence", config.params_path)
        # Stripe and the panel alone, concurrent then sequential, under the same limits
        off = {"enabled": False}
        alone = {"database": off, "codebase": off, "schema": off, "supabase_api": off}
        settle(snapshot.sources["pterodactyl"].requests, args.panel_rate)
        isolated = collect(load_config(params_for(sandbox_params, work, **alone)))
        concurrent = {n: isolated.sources[n].seconds for n in ("stripe", "pterodactyl")}
        del isolated  # the bench holds the first collection and, later, the sequential one
        sequential: dict[str, float] = {}
        complete = completeness(snapshot, api_counts)
        if not args.no_sequential:
            seq_cfg = load_config(
                params_for(
                    sandbox_params,
                    work,
                    stripe={"concurrency": 1},
                    pterodactyl={"concurrency": 1},
                    **alone,
                )
            )
            settle(snapshot.sources["pterodactyl"].requests, args.panel_rate)
            t = time.monotonic()
            seq = collect(seq_cfg)
            sequential = {n: seq.sources[n].seconds for n in ("stripe", "pterodactyl")}
            lookback = config.sources.stripe.lookback_days
            complete = completeness(snapshot, api_counts, seq, lookback)
            sequential["wall"] = time.monotonic() - t
        audit = None
        if args.notebooks:
            settle(snapshot.sources["pterodactyl"].requests, args.panel_rate)
            audit = audit_apart(config.params_path, work / "outputs")
    finally:
        platform.send_signal(signal.SIGTERM)
        platform.wait(timeout=60)

    needed = min_requests(snapshot)
    table = Table(
        title=f"collection — size {args.size}, latency {args.latency_ms:g} ms, "
        f"Stripe {args.stripe_rate:g}/s, panel {args.panel_rate:g}/min"
    )
    for col in (
        "source",
        "rows",
        "requests",
        "429s",
        "min requests",
        "s (full run)",
        "s (alone)",
        "lower bound s",
        "alone ÷ bound",
        "sequential s",
        "speed-up",
    ):
        table.add_column(col, justify="right")
    cfg = config.sources
    bounds: dict[str, float] = {}
    for name, state in snapshot.sources.items():
        bound: float | None = None
        if name == "stripe":
            bound = lower_bound(
                needed[name], args.stripe_rate, 1.0, latency, cfg.stripe.concurrency
            )
        elif name == "pterodactyl":
            bound = lower_bound(
                needed[name], args.panel_rate, 60.0, latency, cfg.pterodactyl.concurrency
            )
        bounds[name] = bound or 0.0
        con_s, seq_s = concurrent.get(name), sequential.get(name)
        table.add_row(
            name,
            str(sum(state.rows.values())),
            str(state.requests),
            str(state.throttled),
            str(needed.get(name, "")),
            f"{state.seconds:.2f}",
            f"{con_s:.2f}" if con_s else "",
            f"{bound:.2f}" if bound else "",
            f"{con_s / bound:.2f}" if bound and con_s else "",
            f"{seq_s:.2f}" if seq_s else "",
            f"{seq_s / con_s:.1f}×" if seq_s and con_s else "",
        )
    console.print(table)
    bench_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    rows = {
        n: len(snapshot.table(n))
        for n in (
            "db_orders",
            "stripe_subscriptions",
            "stripe_checkout_sessions",
            "panel_servers",
            "panel_nodes",
        )
    }
    console.print(f"dataset: {rows}")
    mark = "[green]complete[/]" if complete[0] else "[red]INCOMPLETE[/]"
    console.print(f"{mark}: {complete[1]}")
    console.print(
        f"platform start-up {setup_s:.1f}s · collection wall {collect_s:.2f}s · "
        f"analysis of the saved evidence ({analysis['findings']} findings, own process): "
        f"load {analysis['load_s']:.2f}s + checks {analysis['analysis_s']:.2f}s, "
        f"peak RSS {analysis['rss_mib']:.0f} MiB · this bench process (two collections "
        f"held) {bench_rss:.0f} MiB"
    )
    console.print(
        "slowest checks: " + ", ".join(f"{c} {t:.2f}s" for t, c in analysis["slowest"][:5])
    )
    if sequential:
        console.print(
            f"sequential single-cursor collection (Stripe + panel only): {sequential['wall']:.2f}s"
        )
        floor = max(bounds.values())
        console.print(
            f"collection wall ÷ its lower bound ({floor:.1f}s, the slowest source's): "
            f"{collect_s / floor:.2f}× · sequential ÷ collection wall: "
            f"{sequential['wall'] / collect_s:.1f}× (at most {sequential['wall'] / floor:.1f}× "
            "is possible under that bound)"
        )
    if audit is not None:
        nbs, times = audit["run"]["notebooks"], audit["run"]["timings_s"]
        kernel = times["kernel_start_total"]
        console.print(
            f"`readiness run` (collect, judge, {len(nbs)} notebooks on 2 workers, publish): "
            f"{audit['seconds']:.1f}s — collect {times['collect']:.1f}s, judge "
            f"{times['checks']:.1f}s, notebooks {times['notebooks']:.1f}s; peak RSS of its "
            f"largest process {audit['rss_mib']:.0f} MiB"
        )
        console.print(
            f"notebooks: kernel start-up {kernel:.1f}s in all ({kernel / max(1, len(nbs)):.2f}s "
            f"each), cells {sum(n['cells_s'] for n in nbs):.1f}s, HTML "
            f"{sum(n['render_s'] for n in nbs):.1f}s (summed over the workers)"
        )
        console.print(f"reader HTML {audit['html_bytes'] / 1e6:.2f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
