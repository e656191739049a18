"""The benchmarks themselves keep working: a small run of every part but faults (whose
tests run in tests/faults anyway), written to a temporary directory, must pass its
correctness checks. Figures are not checked here; they belong to `make bench`."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_quick_benchmarks_run_and_pass_their_checks() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bench", "load", "scale", "cost", "attachments", "coldstart",
         "--quick"],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-4000:]
    for check in (
        "PASS  load: 0 lost / 0 duplicated / 0 misrouted",
        "PASS  scale: 100 connections, 0 / 0 / 0",
        "PASS  cost: no Scan",
        "PASS  cost: a send's two PostToConnection calls counted",
        "PASS  cost: a message with an attachment: its S3 requests counted, the file intact",
        "PASS  attachments: every photo delivered, its bytes intact",
    ):
        assert check in done.stdout, output[-4000:]
    assert "bench/results" not in done.stdout  # a quick run never replaces the published ones
