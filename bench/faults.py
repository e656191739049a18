"""Part 5, faults: runs the fault suite (tests/faults, also part of `make test`) and
keeps each test's outcome, duration and the figures it recorded."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ElementTree
from pathlib import Path
from typing import Any

from bench.machine import ROOT

SUITE = "tests/faults"


def run(quick: bool, log: Any = print) -> dict[str, Any]:
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="bench-faults-") as tmp:
        figures_path = Path(tmp) / "figures.json"
        junit = Path(tmp) / "junit.xml"
        # what other parts set in this process (store, endpoint) must not leak in
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("CHAT_", "AWS_ENDPOINT_URL"))}
        env["BENCH_FAULTS_FIGURES"] = str(figures_path)
        done = subprocess.run(
            [sys.executable, "-m", "pytest", SUITE, "-q", "-p", "no:cacheprovider",
             f"--junitxml={junit}"],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=600, check=False,
        )
        figures = json.loads(figures_path.read_text()) if figures_path.exists() else {}
        tests: dict[str, Any] = {}
        if junit.exists():
            for case in ElementTree.parse(junit).getroot().iter("testcase"):
                failed = case.find("failure") is not None or case.find("error") is not None
                skipped = case.find("skipped") is not None
                name = case.get("name", "")
                tests[name] = {
                    "module": case.get("classname", ""),
                    "outcome": "failed" if failed else "skipped" if skipped else "passed",
                    "seconds": float(case.get("time", 0)),
                    "figures": figures.get(name, {}),
                }
    passed = sum(1 for t in tests.values() if t["outcome"] == "passed")
    log(f"  faults: {passed}/{len(tests)} passed (pytest exit {done.returncode})")
    return {
        "quick": quick,
        "command": f"{Path(sys.executable).name} -m pytest {SUITE}",
        "exit_code": done.returncode,
        "passed": passed,
        "failed": len(tests) - passed,
        "duration_s": time.monotonic() - started,
        "tests": tests,
        "output_tail": done.stdout.splitlines()[-5:],
    }
