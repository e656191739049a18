"""Part `deploy`: the three deploy paths into MiniStack on 127.0.0.1 (tests/deploy/ harness)
— seconds to deploy, to the first message round trip and to tear down — and one small load
through MiniStack's WebSocket API and through the local gateway in the same run."""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path
from typing import Any

from bench import servers
from bench.loadclient import LoadResult, Workload, run_load
from bench.stats import ratio
from tests.deploy import paths
from tests.deploy.chat import run_chat
from tests.deploy.ministack import MiniStack, pinned_version

PATHS = ("chalice", "cloudformation", "terraform")
LOAD_PATH = "cloudformation"  # the path the load runs on, before its teardown


def workload(quick: bool) -> Workload:
    # the load: 20 pairs x 20 messages, a window of 5
    return Workload(5, 5, window=5, deadline_s=120) if quick else Workload(20, 20, window=5,
                                                                            deadline_s=300)


def _load(url: str, target: str, load: Workload) -> LoadResult:
    return asyncio.run(run_load(url, target, load, tag=target[:2]))


def _one_path(path: str, server: MiniStack, workdir: Path, load: Workload) -> dict[str, Any]:
    deployment = paths.prepare(path, server, workdir)
    row: dict[str, Any] = {"path": path}
    try:
        paths.deploy(deployment)
        row["deploy_s"] = deployment.seconds["deploy"]
        row["first_round_trip_s"] = run_chat(deployment.websocket_url)
        if path == LOAD_PATH:
            row["load"] = _load(deployment.websocket_url, "ministack", load).to_dict()
    finally:
        paths.teardown(deployment)
    row["teardown_s"] = deployment.seconds["teardown"]
    row["left_over"] = paths.leftovers(server)
    return row


def _localgw(workdir: Path, load: Workload) -> dict[str, Any]:
    server = servers.start_gateway(f"sqlite:///{workdir / 'localgw'}.db", workdir / "localgw.log")
    try:
        return _load(server.ws_url, "localgw", load).to_dict()
    finally:
        server.stop()


def run(quick: bool) -> dict[str, Any]:
    started = time.monotonic()
    load = workload(quick)
    chosen = (LOAD_PATH,) if quick else PATHS
    missing = paths.terraform_missing()
    with tempfile.TemporaryDirectory(prefix="bench-deploy-") as tmp:
        workdir = Path(tmp)
        (workdir / "ministack").mkdir()
        server = MiniStack(workdir / "ministack").start()
        rows: list[dict[str, Any]] = []
        try:
            for path in chosen:
                if path == "terraform" and missing:
                    rows.append({"path": path, "error": missing})
                    continue
                rows.append(_one_path(path, server, workdir / path, load))
        finally:
            server.stop()
        localgw = _localgw(workdir, load)
    ministack = next(r["load"] for r in rows if "load" in r)
    return {
        "duration_s": time.monotonic() - started,
        "ministack_version": _ministack_version(),
        "workload": {"pairs": load.pairs, "messages": load.messages, "window": load.window},
        "paths": rows,
        "load": {
            "ministack": ministack,
            "localgw": localgw,
            "ratio_msgs_per_s": ratio(ministack["msgs_per_s"], localgw["msgs_per_s"]),
            "ratio_p50": ratio(ministack["latency_ms"]["p50"], localgw["latency_ms"]["p50"]),
            "ratio_p99": ratio(ministack["latency_ms"]["p99"], localgw["latency_ms"]["p99"]),
        },
    }


def _ministack_version() -> str:
    return pinned_version()  # MiniStack.start() refuses any other


def correct(data: dict[str, Any]) -> list[tuple[bool, str]]:
    checks = []
    for row in data["paths"]:
        gone = "left_over" in row and not any(row["left_over"].values())
        checks.append((gone and "error" not in row,
                       f"deploy: {row['path']} deployed, chatted, left nothing"))
    for target in ("ministack", "localgw"):
        result = data["load"][target]
        checks.append((result["completed"] and result["lost"] == result["duplicated"]
                       == result["misrouted"] == 0, f"deploy: {target} load 0 / 0 / 0"))
    return checks
