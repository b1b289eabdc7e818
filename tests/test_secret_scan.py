"""The secret scan on hostile input: every encoding people's tools write, binaries, files
larger than a window or the scan limit, detect-secrets' own escape hatches — and the
checks that judge it never pass on a file that was not read.

Keys are built at run time from parts; none is a live-looking literal in the repository.
"""

from __future__ import annotations

import gzip
import io
import random
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest

from readiness.checks.registry import REGISTRY, all_checks, evaluate, evaluate_check
from readiness.findings import Status
from readiness.snapshot import Snapshot, SourceState
from readiness.sources.base import CANCEL, Cancelled
from readiness.sources.codebase import collect_codebase
from readiness.static.rules.tables import TABLES, frame
from readiness.static.secret_scan import engine as scan_engine
from readiness.static.secret_scan.scan import scan_secrets
from readiness.static.textfiles import BINARY, sniff

KEY = "sk_" + "live_" + "A1b2C3d4E5f6G7h8" * 2
ENV_LINES = ["# Production settings", "SITE_URL=https://example.com", f"STRIPE_SECRET_KEY={KEY}"]


def env_text(key: str | None = KEY, newline: str = "\n", accent: bool = False) -> str:
    lines = [*ENV_LINES]
    if accent:
        lines[0] = "# Réglages de production (café)"
    if key is None:
        lines[2] = "STRIPE_SECRET_KEY="
    return newline.join(lines) + newline


def collect(root: Path, files: dict[str, bytes]) -> dict[str, pd.DataFrame]:
    for rel, data in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)
    return collect_codebase(root).tables


def found(tables: dict[str, pd.DataFrame]) -> list[tuple[str, int, str]]:
    s = tables["code_secrets"]
    return sorted(zip(s["path"], s["line"].astype(int), s["kind"], strict=True))


ENCODINGS = {
    # PowerShell's `>`: UTF-16 LE with a BOM and CRLF line ends
    "utf-16-le-bom-crlf": lambda t: b"\xff\xfe" + t.replace("\n", "\r\n").encode("utf-16-le"),
    "utf-16-le-bom": lambda t: b"\xff\xfe" + t.encode("utf-16-le"),
    "utf-16-be-bom": lambda t: b"\xfe\xff" + t.encode("utf-16-be"),
    "utf-16-le": lambda t: t.encode("utf-16-le"),
    "utf-16-be": lambda t: t.encode("utf-16-be"),
    "utf-8-bom": lambda t: t.encode("utf-8-sig"),
    "utf-32-bom": lambda t: t.encode("utf-32"),
    "latin-1": lambda t: t.encode("latin-1"),
    "cp1252": lambda t: t.replace("(café)", "“café” €").encode("cp1252"),
}


@pytest.mark.parametrize("name", sorted(ENCODINGS))
def test_env_file_in_any_encoding_yields_its_key_at_the_right_line(tmp_path, name) -> None:
    encode = ENCODINGS[name]
    t = collect(tmp_path / "with", {".env.production": encode(env_text(accent=True))})
    assert found(t) == [(".env.production", 3, "stripe-secret-key")]
    assert bool(t["code_secrets"]["is_live"].iloc[0])
    assert t["code_unscanned"].empty
    files = t["code_files"].set_index("path")
    assert files.loc[".env.production", "encoding"] != BINARY
    assert files.loc[".env.production", "lines"] == 3
    # the same decoding feeds the env-file names (the BOM is not part of the first name)
    entries = t["code_env_file_entries"]
    assert list(zip(entries["name"], entries["line"], strict=True)) == [
        ("SITE_URL", 2),
        ("STRIPE_SECRET_KEY", 3),
    ]
    clean = collect(tmp_path / "without", {".env.production": encode(env_text(None, accent=True))})
    assert clean["code_secrets"].empty and clean["code_unscanned"].empty


def test_sniff_tells_text_encodings_from_binary() -> None:
    text = env_text(accent=True)
    assert sniff(b"\xff\xfe" + text.encode("utf-16-le")) == "utf-16"
    assert sniff(text.encode("utf-16-le")) == "utf-16-le"
    assert sniff(text.encode("utf-16-be")) == "utf-16-be"
    assert sniff(text.encode("utf-8-sig")) == "utf-8-sig"
    assert sniff(text.encode("utf-8")) == "utf-8"
    assert sniff(text.encode("latin-1")) == "cp1252"
    rng = random.Random(7)
    png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + rng.randbytes(4000)
    assert sniff(png) == BINARY
    assert sniff(gzip.compress(text.encode() * 50)) == BINARY
    # a few NUL bytes in ASCII text do not make it UTF-16
    assert sniff(b"A=1\x00\n" + b"BB=2\n" * 100) == "utf-8"


def test_binaries_are_not_text_and_not_named(tmp_path: Path) -> None:
    rng = random.Random(12)
    png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + rng.randbytes(200_000)
    t = collect(
        tmp_path,
        {
            "public/logo.png": png,
            "backup/env.gz": gzip.compress(env_text().encode()),
        },
    )
    files = t["code_files"].set_index("path")
    for rel in ("public/logo.png", "backup/env.gz"):
        assert files.loc[rel, "encoding"] == BINARY
        assert pd.isna(files.loc[rel, "lines"])
    # compressed content is not visible to a text scan (and is not reported as unscanned)
    assert t["code_secrets"].empty and t["code_unscanned"].empty


def test_keys_in_binary_or_mixed_files_are_found_through_their_ascii_runs(tmp_path) -> None:
    """NUL padding makes a working dotenv file 'binary'; UTF-16 text can hide an ASCII
    line. Both still yield the key, at the line a dotenv reader would see it on."""
    padded = b"# x\n" + b"\0" * 9000 + b"\nSTRIPE_SECRET_KEY=" + KEY.encode() + b"\n"
    mixed = ("# Production\n" * 4000).encode("utf-16-le") + f"\nK={KEY}\n".encode()
    t = collect(tmp_path, {".env.padded": padded, ".env.mixed": mixed})
    files = t["code_files"].set_index("path")
    assert files.loc[".env.padded", "encoding"] == BINARY
    assert files.loc[".env.mixed", "encoding"] == "utf-16-le"
    assert found(t) == [
        (".env.mixed", 4002, "stripe-secret-key"),
        (".env.padded", 3, "stripe-secret-key"),
    ]


def test_detect_secrets_escape_hatches_do_not_hide_a_key(tmp_path: Path) -> None:
    """`x = f(...)` lines (detect-secrets' indirect-reference heuristic) and inline
    allowlist pragmas are the audited code's say, not the audit's."""
    body = (
        f"const stripe = require('stripe')('{KEY}');\n"
        f"const other = '{KEY}x'; // pragma: allowlist secret\n"
        "// pragma: allowlist nextline secret\n"
        f"const third = '{KEY}y';\n"
    )
    t = collect(tmp_path, {"scripts/pay.js": body.encode()})
    assert [line for _, line, _ in found(t)] == [1, 2, 4]


# Large files ---------------------------------------------------------------------------


def bundle(key_at: int, size: int = 3_500_000) -> tuple[bytes, int]:
    """A minified bundle: two header lines, then one line of `size` chars whose key starts
    at character `key_at` of the file. Returns the bytes and the key's line (3)."""
    head = "/*! app v1 */\n/* licence: MIT */\n"
    line = ("var a=1;function f(b){return b+1}" * (size // 34 + 1))[:size]
    pos = key_at - len(head)
    body = line[:pos] + f"'{KEY}'" + line[pos + len(KEY) + 2 :]
    return (head + body + "\n").encode(), 3


def test_key_at_the_end_of_a_large_minified_bundle(tmp_path: Path) -> None:
    data, line = bundle(key_at=3_500_000 - 60)
    assert len(data) > 3_000_000
    t = collect(tmp_path, {"public/assets/bundle.js": data})
    assert found(t) == [("public/assets/bundle.js", line, "stripe-secret-key")]
    assert t["code_unscanned"].empty
    files = t["code_files"].set_index("path")
    assert files.loc["public/assets/bundle.js", "lines"] == 3


@pytest.mark.parametrize(
    "key_at",
    [
        scan_engine.SCAN_STEP - 10,  # across the end of the first keep range
        # across the first window's end (which sees a truncated key: it must not count)
        scan_engine.SCAN_STEP + scan_engine.SCAN_OVERLAP - 20,
        2 * scan_engine.SCAN_STEP - scan_engine.SCAN_MARGIN - 5,  # across the next one's start
    ],
)
def test_key_straddling_a_window_boundary_is_found_once(tmp_path: Path, key_at: int) -> None:
    data, line = bundle(key_at=key_at)
    assert data[key_at + 1 : key_at + 1 + len(KEY)] == KEY.encode()
    t = collect(tmp_path, {"dist-web/app.js": data})
    assert found(t) == [("dist-web/app.js", line, "stripe-secret-key")]
    assert t["code_secrets"]["fingerprint"].nunique() == 1


def test_every_offset_across_small_windows_is_found_once(tmp_path, monkeypatch) -> None:
    """With tiny windows, a key at every position around the boundaries, on long and
    short lines: each found once, whole, on its line."""
    monkeypatch.setattr(scan_engine, "SCAN_STEP", 120)
    monkeypatch.setattr(scan_engine, "SCAN_OVERLAP", 60)
    monkeypatch.setattr(scan_engine, "SCAN_MARGIN", 16)
    files = []
    decoys = ";".join(f"x{KEY}" for _ in range(6))  # never a key: a letter precedes sk_
    for offset in range(70, 200, 3):
        text = "x " * 20 + "\n" + "a;" * (offset // 2) + f"'{KEY}'" + ";b" * 150 + "\n"
        text += "c" * (offset % 40) + decoys + "\n" + "short\n" * 5 + f"K={KEY}z\n"
        rel = f"f{offset}.txt"
        (tmp_path / rel).write_text(text)
        files.append({"path": rel, "kind": "other"})
    rows, unscanned = scan_secrets(tmp_path, files)
    assert unscanned == []
    by_file: dict[str, list[int]] = {}
    for r in rows:
        by_file.setdefault(r["path"], []).append(r["line"])
    assert by_file == {f["path"]: [2, 9] for f in files}


def test_windows_hold_a_bounded_slice_of_any_stream() -> None:
    class Endless(io.TextIOBase):
        """40 M characters produced on demand; records the largest read."""

        def __init__(self) -> None:
            self.left, self.largest = 40_000_000, 0

        def read(self, n: int = -1) -> str:
            assert n > 0
            n = min(n, self.left)
            self.left -= n
            self.largest = max(self.largest, n)
            return "y" * (n - 1) + "\n" if n else ""

    reader = Endless()
    count = 0
    bound = scan_engine.SCAN_MARGIN + scan_engine.SCAN_STEP + scan_engine.SCAN_OVERLAP
    for w in scan_engine.windows(reader):
        count += 1
        assert len(w.text) <= bound
    assert count == 40
    assert reader.largest <= scan_engine.SCAN_STEP + scan_engine.SCAN_OVERLAP


def test_files_that_cannot_be_scanned_are_named(tmp_path: Path) -> None:
    """Over the scan limit (a sparse 60 MB file, cheap on disk) or gone: named, with why."""
    huge = tmp_path / "dump.sql"
    with huge.open("wb") as fh:
        fh.write(f"-- {KEY}\n".encode())
        fh.truncate(60_000_000)
    t = collect(tmp_path, {})
    un = t["code_unscanned"].set_index("path")
    assert list(un.index) == ["dump.sql"]
    assert "larger than the scan limit" in un.loc["dump.sql", "reason"]
    assert un.loc["dump.sql", "size_bytes"] == 60_000_000
    rows, unscanned = scan_secrets(tmp_path, [{"path": "gone.env", "kind": "env"}])
    assert rows == [] and unscanned[0]["path"] == "gone.env"
    assert unscanned[0]["reason"].startswith("unreadable")


def test_a_failing_scanner_leaves_the_tables_out(tmp_path, monkeypatch, demo_config) -> None:
    """No plugins, no scan: the secret tables are not collected and the checks say why."""
    from readiness.static.secret_scan import scan

    monkeypatch.setattr(scan, "BUILTIN_PLUGINS", ("NoSuchDetector",))
    result = collect_codebase(tmp_path)
    assert "code_secrets" not in result.tables and "code_unscanned" not in result.tables
    assert any("secret scan failed" in n for n in result.notes)
    states = {"codebase": SourceState("codebase", "ok", notes=result.notes)}
    snapshot = Snapshot(datetime(2026, 11, 26, tzinfo=UTC), states, dict(result.tables))
    all_checks()
    for check_id in ("CONFIG-HARDCODED-SECRET", "AUTH-FRONTEND-KEYS"):
        [f] = evaluate_check(REGISTRY[check_id], snapshot, demo_config)
        assert f.status == Status.NOT_VERIFIED and "secret scan failed" in f.reason


def test_cancelling_stops_the_scan(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text(f"K={KEY}\n")
    CANCEL.set()
    try:
        with pytest.raises(Cancelled):
            scan_secrets(tmp_path, [{"path": ".env", "kind": "env"}])
    finally:
        CANCEL.clear()


# The checks -----------------------------------------------------------------------------


def snap(tables: dict[str, pd.DataFrame]) -> Snapshot:
    states = {"codebase": SourceState("codebase", "ok")}
    full = {name: frame(name, []) for name in TABLES}
    full.update(tables)
    return Snapshot(datetime(2026, 11, 26, tzinfo=UTC), states, full)


LIVE_ROW = {
    "path": ".env.production",
    "line": 3,
    "kind": "stripe-secret-key",
    "detector": "Stripe API Key (readiness)",
    "fingerprint": "f00d",
    "is_live": True,
    "file_kind": "env",
}
UNSCANNED_ROW = {
    "path": "public/huge.js",
    "size_bytes": 60_000_000,
    "reason": "larger than the scan limit (50,000,000 bytes)",
    "file_kind": "frontend",
}
FILES = frame(
    "code_files",
    [
        {"path": ".env.production", "kind": "env"},
        {"path": "public/huge.js", "kind": "frontend"},
    ],
)


def judge(check_id: str, tables: dict[str, pd.DataFrame], config) -> dict[str, object]:
    all_checks()
    """Findings by resource: each problem's, and each of its locations'."""
    out: dict[str, object] = {}
    for f in evaluate_check(REGISTRY[check_id], snap(tables), config):
        out.update({loc.resource: f for loc in f.locations})
        out[f.resource] = f
    return out


def test_hardcoded_secret_check_fails_on_a_key_and_never_passes_an_unscanned_file(
    demo_config,
) -> None:
    both = {
        "code_secrets": frame("code_secrets", [LIVE_ROW]),
        "code_unscanned": frame("code_unscanned", [UNSCANNED_ROW]),
    }
    got = judge("CONFIG-HARDCODED-SECRET", both, demo_config)
    assert {r: f.status for r, f in got.items()} == {
        "secret:stripe-secret-key:.env.production": Status.FAIL,
        "secret:stripe-secret-key:f00d": Status.FAIL,
        "public/huge.js": Status.NOT_VERIFIED,
    }
    assert "scan limit" in got["public/huge.js"].reason
    only_unscanned = {"code_unscanned": frame("code_unscanned", [UNSCANNED_ROW])}
    got = judge("CONFIG-HARDCODED-SECRET", only_unscanned, demo_config)
    assert {f.status for f in got.values()} == {Status.NOT_VERIFIED}
    clean = judge("CONFIG-HARDCODED-SECRET", {}, demo_config)
    assert {f.status for f in clean.values()} == {Status.PASS}


def test_secret_checks_are_not_verified_without_the_unscanned_table(demo_config) -> None:
    """An evidence folder from before the table existed cannot pass either check."""
    all_checks()
    tables = {name: frame(name, []) for name in TABLES if name != "code_unscanned"}
    snapshot = Snapshot(
        datetime(2026, 11, 26, tzinfo=UTC), {"codebase": SourceState("codebase", "ok")}, tables
    )
    for check_id in ("CONFIG-HARDCODED-SECRET", "AUTH-FRONTEND-KEYS"):
        [f] = evaluate_check(REGISTRY[check_id], snapshot, demo_config)
        assert f.status == Status.NOT_VERIFIED and "code_unscanned" in f.reason


def test_frontend_keys_check_is_not_verified_for_an_unscanned_public_file(demo_config) -> None:
    tables = {
        "code_files": FILES,
        "code_unscanned": frame(
            "code_unscanned", [UNSCANNED_ROW, {**UNSCANNED_ROW, "path": "scripts/x.bin"}]
        ),
    }
    got = judge("AUTH-FRONTEND-KEYS", tables, demo_config)
    assert {r: f.status for r, f in got.items()} == {"file:public/huge.js": Status.NOT_VERIFIED}
    tables["code_secrets"] = frame("code_secrets", [LIVE_ROW])
    got = judge("AUTH-FRONTEND-KEYS", tables, demo_config)
    assert got["file:.env.production"].status == Status.FAIL


def test_static_audit_of_a_checkout_with_a_utf16_env_file_is_no_go(tmp_path) -> None:
    """End to end: config → codebase source → every check → verdict."""

    from readiness.config import load_config, write_static_params
    from readiness.report import scoring
    from readiness.sandbox.runtime import REPO_PARAMS
    from readiness.snapshot import collect as collect_snapshot

    checkout = tmp_path / "checkout"
    checkout.mkdir()
    (checkout / ".env.production").write_bytes(ENCODINGS["utf-16-le-bom-crlf"](env_text()))
    catalog = REPO_PARAMS / "expected_catalog.yaml"
    config = load_config(write_static_params(tmp_path, checkout, catalog))
    snapshot = collect_snapshot(config, tmp_path / "evidence")
    findings = evaluate(snapshot, config)
    verdict = scoring.decide(findings, all_checks(), config.verdict.fail_on)
    assert verdict.verdict == "NO-GO"
    mine = [f for f in findings if f.check_id == "CONFIG-HARDCODED-SECRET"]
    assert [(f.status, f.location) for f in mine] == [(Status.FAIL, ".env.production:3")]
    assert KEY not in snapshot.table("code_secrets").astype(str).to_csv()
    assert all(KEY not in f.reason for f in findings)
