"""Usage mistakes end in exit 2 and one clear line, before anything is collected, with
earlier outputs untouched; exit 1 means NO-GO and nothing else. The console says what
happened (failed sources by name, files really written)."""

from __future__ import annotations

import http.server
import json
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from tree_hash import tree_hash

from readiness.cli import main

REPO = Path(__file__).resolve().parents[1]
STATIC_ONLY = (
    "sources:\n  database: {enabled: false}\n  pterodactyl: {enabled: false}\n"
    "  codebase: {enabled: false}\n  schema: {enabled: false}\n"
)


class _CountingHandler(http.server.BaseHTTPRequestHandler):
    hits: list[str]

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        self.hits.append(self.path)
        self.send_response(503)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def stripe_spy() -> Iterator[tuple[str, list[str]]]:
    """A loopback 'Stripe' that records every request: proof nothing was collected."""
    handler = type("H", (_CountingHandler,), {"hits": []})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", handler.hits
    server.shutdown()
    server.server_close()


@pytest.fixture
def workspace(tmp_path, stripe_spy, monkeypatch):
    """A params folder with a catalogue, the spy as Stripe, and an output root holding an
    earlier run that must never change."""
    url, hits = stripe_spy
    (tmp_path / "expected_catalog.yaml").write_text(
        (REPO / "params" / "expected_catalog.yaml").read_text()
    )
    monkeypatch.setenv("READINESS_TEST_STRIPE_KEY", "rk_test_" + "x" * 24)
    params = (
        f"{STATIC_ONLY}  stripe: {{api_key_env: READINESS_TEST_STRIPE_KEY, api_base: '{url}', "
        "max_retries: 0, max_seconds: 5}\n"
    )
    (tmp_path / "params.yaml").write_text(params)
    outputs = tmp_path / "outputs"
    earlier = outputs / "2026-01-01"
    earlier.mkdir(parents=True)
    (earlier / "findings.json").write_text('{"kept": true}')
    return tmp_path, params, hits


def _run(tmp_path: Path, *extra: str, output: Path | None = None) -> int:
    out = output or tmp_path / "outputs"
    return main(
        ["run", "--params", str(tmp_path / "params.yaml"), "--output-dir", str(out), *extra]
    )


def _one_clear_line(err: str, needle: str) -> None:
    assert needle in err, err
    assert "Traceback" not in err
    assert len([line for line in err.splitlines() if line.strip()]) <= 2, err


@pytest.mark.parametrize(
    "mistake,needle",
    [
        ("params-invalid-utf8", "not valid UTF-8"),
        ("params-empty", "is empty"),
        ("params-only-comments", "is empty"),
        ("env-file-missing", "env_file not found"),
        ("waiver-impossible-date", "waiver #1 is invalid: expires"),
        ("waiver-not-utf8", "not valid UTF-8"),
        ("claims-unknown-check", "unknown check id(s): STRIPE-PRICE-LIVEE (claim prices)"),
        ("claims-not-yaml", "claims.yaml:3:1: not valid YAML"),
    ],
)
def test_usage_mistakes_exit_2_before_collecting(workspace, capsys, mistake, needle):
    tmp_path, params, hits = workspace
    before = tree_hash(tmp_path / "outputs")
    p = tmp_path / "params.yaml"
    if mistake == "params-invalid-utf8":
        p.write_bytes(b"name: caf\xe9\n" + params.encode())
    elif mistake == "params-empty":
        p.write_text("")
    elif mistake == "params-only-comments":
        p.write_text("# nothing here yet\n")
    elif mistake == "env-file-missing":
        p.write_text("env_file: secrets/prod.env\n" + params)
        needle = str(tmp_path / "secrets" / "prod.env")
    elif mistake.startswith("claims-"):
        claims = tmp_path / "claims.yaml"
        if mistake == "claims-unknown-check":
            claims.write_text(
                "claims:\n  - id: prices\n    claim: All prices are live\n"
                "    checks: [STRIPE-PRICE-LIVEE]\n"
            )
        else:
            claims.write_text("claims:\n  - id: [unclosed\n")
        p.write_text("claims_file: claims.yaml\n" + params)
    else:
        waivers = tmp_path / "waivers.yaml"
        if mistake == "waiver-impossible-date":
            waivers.write_text(
                "waivers:\n  - check: STRIPE-PRICE-LIVE\n    reason: known\n"
                "    expires: 2027-02-30\n"
            )
        else:
            waivers.write_bytes(b"waivers:\n  - check: STRIPE-PRICE-LIVE\n    reason: d\xe9j\xe0\n")
        p.write_text("waivers_file: waivers.yaml\n" + params)
    assert _run(tmp_path) == 2
    _one_clear_line(capsys.readouterr().err, needle)
    assert hits == [], "a usage mistake must be caught before anything is collected"
    assert tree_hash(tmp_path / "outputs") == before


@pytest.mark.parametrize("workers", ["0", "-1", "two"])
def test_workers_must_be_positive(workspace, capsys, workers):
    tmp_path, _params, hits = workspace
    assert _run(tmp_path, "--workers", workers) == 2
    err = capsys.readouterr().err
    assert "--workers" in err and "Traceback" not in err
    assert hits == []


def test_output_root_that_is_a_file(workspace, capsys):
    tmp_path, _params, hits = workspace
    target = tmp_path / "outputs-file"
    target.write_text("not a folder")
    assert _run(tmp_path, output=target) == 2
    _one_clear_line(capsys.readouterr().err, "cannot write outputs")
    assert target.read_text() == "not a folder"
    assert hits == []
    assert _run(tmp_path, output=target / "sub") == 2
    _one_clear_line(capsys.readouterr().err, "cannot write outputs")


def _mount_tmpfs(where: Path, options: str) -> bool:
    where.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(where)],
        capture_output=True,
        check=False,
    )
    return proc.returncode == 0


@pytest.mark.parametrize("kind", ["full", "read-only"])
def test_output_root_full_or_read_only(workspace, capsys, kind):
    """A real small or read-only filesystem (root ignores permission bits, so chmod would
    prove nothing): one line, nothing published, the earlier run untouched."""
    tmp_path, _params, _hits = workspace
    root = tmp_path / f"mnt-{kind}"
    if not _mount_tmpfs(root, "size=64k" if kind == "full" else "size=1m"):
        pytest.skip("this machine does not allow mounting a tmpfs")
    try:
        earlier = root / "2026-01-01"
        earlier.mkdir()
        (earlier / "findings.json").write_text('{"kept": true}')
        if kind == "read-only":
            subprocess.run(["mount", "-o", "remount,ro", str(root)], check=True)
        before = tree_hash(root)
        assert _run(tmp_path, output=root) == 2
        _one_clear_line(capsys.readouterr().err, "cannot write outputs")
        assert tree_hash(root) == before
        assert not list(root.glob(".staging-*"))
    finally:
        subprocess.run(["umount", "-l", str(root)], check=False)


@pytest.mark.parametrize(
    "content",
    [
        "[]",
        '{"findings": {}}',
        '{"findings": [{"check_id": "X"}]}',
        '{"findings": ["not a finding"]}',
        "not json at all",
        b"\xff\xfe{",
    ],
)
def test_diff_on_a_wrong_shape_is_a_usage_error(tmp_path, capsys, content):
    good = tmp_path / "good.json"
    good.write_text(json.dumps({"findings": []}))
    bad = tmp_path / "bad.json"
    if isinstance(content, bytes):
        bad.write_bytes(content)
    else:
        bad.write_text(content)
    assert main(["diff", str(good), str(bad)]) == 2
    _one_clear_line(capsys.readouterr().err, "is not a readiness findings.json")
    assert main(["diff", str(bad), str(good)]) == 2


def test_console_names_failed_sources_and_real_files(workspace, capsys):
    """--no-notebooks lists what it wrote (no report HTML it did not write), and each
    failed source is one line with its reason."""
    tmp_path, _params, hits = workspace
    code = _run(tmp_path, "--no-notebooks")
    assert code in (1, 3)
    assert hits, "Stripe was asked"
    out = capsys.readouterr().out
    assert "readiness-report.html" not in out
    assert "findings.json" in out and "run.json" in out
    source_lines = [line for line in out.splitlines() if "source stripe failed:" in line]
    assert len(source_lines) == 1 and "503" in source_lines[0], out
