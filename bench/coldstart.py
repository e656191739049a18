"""Part 4, cold start: import time of ``app`` beside a bare Chalice WebSocket echo app
(bench/aws_calls.py measures both), the first event's set-up of the chat service, and
the size of the Lambda zip that ``chalice package`` builds."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Any

from bench import aws_calls
from bench.machine import ROOT
from bench.servers import loopback_env

IMPORT_RUNS = 9
FIRST_EVENT = """\
import time
started = time.perf_counter()
import app
imported = time.perf_counter()
app.service()
built = time.perf_counter()
print((imported - started) * 1000, (built - imported) * 1000)
"""


def first_event_ms(runs: int) -> dict[str, Any]:
    """In a fresh interpreter: ``import app`` then building the service the first
    event builds (settings, the DynamoDB store's boto3 client; nothing is contacted)."""
    env = loopback_env({"CHAT_STORE": "dynamodb:cold-start",
                        "AWS_ENDPOINT_URL_DYNAMODB": "http://127.0.0.1:9"})
    imports, builds = [], []
    for _ in range(runs + 1):
        done = subprocess.run([sys.executable, "-c", FIRST_EVENT], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=60, check=True)
        imported, built = (float(x) for x in done.stdout.split())
        imports.append(imported)
        builds.append(built)
    # the first run compiled bytecode and warmed the page cache
    return {
        "runs": runs,
        "import_ms": statistics.median(imports[1:]),
        "service_build_ms": statistics.median(builds[1:]),
    }


def package_zip() -> dict[str, Any]:
    """``chalice package`` into a temporary directory; the zip's size and contents."""
    chalice = Path(sys.executable).parent / "chalice"
    with tempfile.TemporaryDirectory(prefix="chalice-package-") as tmp:
        out = Path(tmp) / "out"
        started = time.monotonic()
        subprocess.run([str(chalice), "package", "--stage", "dev", str(out)], cwd=ROOT,
                       env=loopback_env(), capture_output=True, text=True, timeout=300,
                       check=True)
        seconds = time.monotonic() - started
        path = out / "deployment.zip"
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
        top = sorted({i.filename.split("/")[0] for i in infos})
        return {
            "zip_bytes": os.path.getsize(path),
            "uncompressed_bytes": sum(i.file_size for i in infos),
            "files": len(infos),
            "top_level": top,
            "package_s": seconds,
        }


def run(quick: bool, log: Any = print) -> dict[str, Any]:
    runs = 3 if quick else IMPORT_RUNS
    started = time.monotonic()
    imports = aws_calls.import_times(runs)
    first = first_event_ms(runs)
    package = package_zip()
    log(f"  cold start: import app {imports['app_ms']} ms vs echo app"
        f" {imports['echo_app_ms']} ms (x{imports['ratio']}); service build"
        f" {first['service_build_ms']:.1f} ms; zip {package['zip_bytes'] / 1024:.0f} KiB")
    return {
        "quick": quick,
        "duration_s": time.monotonic() - started,
        "import_time": imports,
        "first_event": first,
        "package": package,
    }
