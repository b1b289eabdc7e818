"""The command line: listing checks, and bad input giving exit code 2 with a clear
message while earlier outputs stay untouched."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from tree_hash import tree_hash

from readiness.cli import main

REPO = Path(__file__).resolve().parents[1]


def test_checks_lists_the_registry(capsys):
    assert main(["checks", "--format", "json"]) == 0
    checks = json.loads(capsys.readouterr().out)
    ids = {c["id"] for c in checks}
    assert {"STRIPE-PRICE-LIVE", "STRIPE-WEBHOOK-SIGNATURE", "STRIPE-ACCOUNT-LIVE"} <= ids
    assert all(c["remediation"] and 1 <= c["area"] <= 9 for c in checks)
    assert main(["checks", "--area", "1"]) == 0


@pytest.mark.parametrize(
    "params_text,needle",
    [
        (None, "params file not found"),
        ("sources:\n  stripe:\n    api_kee_env: X\n", "sources.stripe.api_kee_env: unknown key"),
        ("verdict:\n  fail_on: sometimes\n", "verdict.fail_on"),
    ],
)
def test_bad_params_exit_2_and_leave_outputs_alone(tmp_path, capsys, params_text, needle):
    outputs = tmp_path / "outputs"
    earlier = outputs / "2026-01-01"
    earlier.mkdir(parents=True)
    (earlier / "findings.json").write_text('{"kept": true}')
    before = tree_hash(outputs)
    params = tmp_path / "params.yaml"
    if params_text is not None:
        (tmp_path / "expected_catalog.yaml").write_text(
            (REPO / "params" / "expected_catalog.yaml").read_text()
        )
        params.write_text(params_text)
    code = main(["run", "--params", str(params), "--output-dir", str(outputs)])
    assert code == 2
    assert needle in capsys.readouterr().err
    assert tree_hash(outputs) == before


def test_unknown_command_is_usage_error():
    assert main(["launch"]) == 2


def test_console_script_installed():
    exe = Path(sys.executable).with_name("readiness")
    proc = subprocess.run([str(exe), "checks"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and "STRIPE-PRICE-LIVE" in proc.stdout


def test_sandbox_up_size_flags_override_only_what_is_given():
    """`sandbox up` (what the bench starts) sizes the platform from its flags; the
    defaults stay DatasetSize's own."""
    from readiness.cli import build_parser, dataset_size
    from readiness.sandbox.dataset import DatasetSize

    assert dataset_size(build_parser().parse_args(["sandbox", "up"])) == DatasetSize()
    args = build_parser().parse_args(
        ["sandbox", "up", "--orders", "200000", "--servers", "20000", "--history-days", "90"]
    )
    want = DatasetSize(orders=200_000, servers=20_000, history_days=90)
    assert dataset_size(args) == want
