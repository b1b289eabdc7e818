"""Benchmark: the secret scan on hostile files and on the demo platform's checkout,
printing figures (never asserting them).

    python bench/secret_scan.py

Cases: a live Stripe key in a UTF-16 LE (BOM) `.env.production`, and at the end of a
3.5 MB minified `bundle.js`. For each: does CONFIG-HARDCODED-SECRET find it, its status,
and the verdict of a static-only audit (database, Stripe, panel, management API off).
Then the codebase source's time on the sample platform (defects profile), best of 3.
Keys are built at run time and never printed.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from readiness.checks.registry import all_checks, evaluate
from readiness.config import load_config, write_static_params
from readiness.report import scoring
from readiness.sandbox.platform_tree import materialize_platform
from readiness.sandbox.runtime import REPO_PARAMS
from readiness.snapshot import collect
from readiness.sources.codebase import collect_codebase

KEY = "sk_" + "live_" + "A1b2C3d4E5f6" * 3


def static_config(tmp: Path, checkout: Path):
    catalog = REPO_PARAMS / "expected_catalog.yaml"
    return load_config(write_static_params(tmp, checkout, catalog))


def judge(name: str, files: dict[str, bytes]) -> None:
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        checkout = tmp / "checkout"
        for rel, data in files.items():
            (checkout / rel).parent.mkdir(parents=True, exist_ok=True)
            (checkout / rel).write_bytes(data)
        config = static_config(tmp, checkout)
        started = time.monotonic()
        snapshot = collect(config, tmp / "evidence")
        findings = evaluate(snapshot, config)
        seconds = time.monotonic() - started
        verdict = scoring.decide(findings, all_checks(), config.verdict.fail_on)
        mine = [f for f in findings if f.check_id == "CONFIG-HARDCODED-SECRET"]
        statuses = sorted({str(f.status) for f in mine})
        found = any(f.status == "fail" for f in mine)
        print(
            f"{name}: key found={found}, CONFIG-HARDCODED-SECRET={statuses}, "
            f"verdict={verdict.verdict} ({seconds:.2f} s)"
        )


def main() -> None:
    env = f"# production\nSTRIPE_SECRET_KEY={KEY}\nSITE_URL=https://example.com\n"
    judge("UTF-16 LE .env.production", {".env.production": env.encode("utf-16")})
    line = "var a=1;function f(b){return b+1}" * 110_000
    bundle = f"/*! bundle */\n{line}var k='{KEY}';\n".encode()
    judge(f"bundle.js {len(bundle) / 1e6:.1f} MB", {"public/bundle.js": bundle})
    with tempfile.TemporaryDirectory() as d:
        root = Path(d)
        materialize_platform("defects", root)
        times = []
        for _ in range(3):
            started = time.monotonic()
            collect_codebase(root)
            times.append(time.monotonic() - started)
        count = sum(1 for p in root.rglob("*") if p.is_file())
        print(f"demo codebase source ({count} files): best {min(times):.2f} s of 3")


if __name__ == "__main__":
    main()
