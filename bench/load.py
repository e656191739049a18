"""Part 1, load: the same workloads against the local gateway (the real app on
SQLite) and the bare relay, round after round, with same-round ratios."""

from __future__ import annotations

import asyncio
import os
import resource
import tempfile
import time
from pathlib import Path
from typing import Any

from bench import core_floor, servers
from bench.loadclient import LoadResult, Workload, run_load
from bench.stats import median, ratio

TARGETS = ("relay", "gateway")
# the targets, gateway against the relay of the same round
MIN_THROUGHPUT_RATIO = 0.5
MAX_P99_RATIO = 2.0


def workloads(quick: bool) -> dict[str, Workload]:
    if quick:
        return {"heavy": Workload(20, 20, window=10), "light": Workload(2, 20, window=1)}
    return {
        # the load: 200 pairs x 100 messages, a window of 10 per sender
        "heavy": Workload(200, 100, window=10, deadline_s=100),
        # one message in flight per sender: latency without queueing
        "light": Workload(10, 50, window=1, deadline_s=60),
    }


def _client_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def start(target: str, workdir: Path, tag: str) -> servers.Server:
    if target == "relay":
        return servers.start_relay(workdir / f"{tag}.log")
    return servers.start_gateway(f"sqlite:///{workdir / tag}.db", workdir / f"{tag}.log")


def measure(target: str, workload: Workload, workdir: Path, tag: str) -> LoadResult:
    """One run on a fresh server (and, for the gateway, a fresh SQLite store)."""
    server = start(target, workdir, tag)
    marks: dict[str, float] = {}

    async def connected() -> None:
        marks["server_cpu"] = server.cpu_seconds()
        marks["client_cpu"] = _client_cpu()
        marks["rss_kib"] = server.rss_kib()

    try:
        result = asyncio.run(run_load(server.ws_url, target, workload, after_connect=connected))
        sent = max(result.delivered, 1)
        result.extra = {
            "server_cpu_ms_per_message": (server.cpu_seconds() - marks["server_cpu"]) * 1000 / sent,
            "client_cpu_ms_per_message": (_client_cpu() - marks["client_cpu"]) * 1000 / sent,
            "server_rss_mib": server.rss_kib() / 1024,
        }
    finally:
        server.stop()
    if not result.completed or result.lost or result.duplicated or result.misrouted:
        result.extra["log_tail"] = server.log_tail(20)
    return result


def best_possible_ratio(handler_ms: float, heavy: dict[str, Any], cores: int) -> float:
    """An upper bound on gateway/relay throughput on this machine: every core busy, no
    contention, and per message only the Lambda handler's own CPU plus what the relay
    spends on everything (reading one frame, writing two) plus what the clients spend
    per message in the relay run."""
    relay = heavy["relay"]
    per_message_ms = (
        handler_ms + relay["server_cpu_ms_per_message"] + relay["client_cpu_ms_per_message"]
    )
    return ratio(cores * 1000 / per_message_ms, relay["msgs_per_s"])


def summarize(rounds: list[dict[str, Any]], name: str) -> dict[str, Any]:
    summary: dict[str, Any] = {}
    for target in TARGETS:
        runs = [r[name][target] for r in rounds]
        summary[target] = {
            "msgs_per_s": median(r["msgs_per_s"] for r in runs),
            "p50_ms": median(r["latency_ms"]["p50"] for r in runs),
            "p95_ms": median(r["latency_ms"]["p95"] for r in runs),
            "p99_ms": median(r["latency_ms"]["p99"] for r in runs),
            "server_cpu_ms_per_message": median(
                r["extra"]["server_cpu_ms_per_message"] for r in runs
            ),
            "client_cpu_ms_per_message": median(
                r["extra"]["client_cpu_ms_per_message"] for r in runs
            ),
            "lost": sum(r["lost"] for r in runs),
            "duplicated": sum(r["duplicated"] for r in runs),
            "misrouted": sum(r["misrouted"] for r in runs),
            "all_completed": all(r["completed"] for r in runs),
        }
    summary["throughput_ratio"] = median(r[name]["ratios"]["throughput"] for r in rounds)
    summary["p99_ratio"] = median(r[name]["ratios"]["p99"] for r in rounds)
    summary["p50_ratio"] = median(r[name]["ratios"]["p50"] for r in rounds)
    return summary


def run(runs: int, quick: bool, log: Any = print) -> dict[str, Any]:
    plan = workloads(quick)
    rounds: list[dict[str, Any]] = []
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="bench-load-") as tmp:
        workdir = Path(tmp)
        for index in range(runs):
            one: dict[str, Any] = {}
            for name, workload in plan.items():
                pair: dict[str, Any] = {}
                for target in TARGETS:
                    result = measure(target, workload, workdir, f"{target}-{name}-{index}")
                    pair[target] = result.to_dict()
                    log(
                        f"  load round {index + 1}/{runs} {name:5} {target:7} "
                        f"{result.msgs_per_s:7.0f} msg/s  p50 {result.latency_ms['p50']:8.1f} ms"
                        f"  p99 {result.latency_ms['p99']:8.1f} ms  lost/dup/misrouted "
                        f"{result.lost}/{result.duplicated}/{result.misrouted}"
                        f"{'' if result.completed else '  INCOMPLETE'}"
                    )
                gw, relay = pair["gateway"], pair["relay"]
                pair["ratios"] = {
                    "throughput": ratio(gw["msgs_per_s"], relay["msgs_per_s"]),
                    "p50": ratio(gw["latency_ms"]["p50"], relay["latency_ms"]["p50"]),
                    "p99": ratio(gw["latency_ms"]["p99"], relay["latency_ms"]["p99"]),
                }
                one[name] = pair
            rounds.append(one)
    summary = {name: summarize(rounds, name) for name in plan}
    heavy = summary["heavy"]
    floors = core_floor.measure(runs)
    log(f"  chat core alone (SQLite, no gateway, no boto3): {floors['core']:.3f} ms CPU per send")
    log(f"  whole Lambda handler, one thread, no gateway: {floors['handler']:.3f} ms CPU per send")
    bound = best_possible_ratio(floors["handler"], heavy, os.cpu_count() or 1)
    log(f"  best throughput ratio any gateway running the app could reach here: {bound:.2f}")
    return {
        "core_cpu_ms_per_send": floors["core"],
        "handler_cpu_ms_per_send": floors["handler"],
        "best_possible_throughput_ratio": bound,
        "workloads": {name: vars(w) for name, w in plan.items()},
        "runs": runs,
        "quick": quick,
        "duration_s": time.monotonic() - started,
        "rounds": rounds,
        "summary": summary,
        "targets": {
            "zero_loss": heavy["gateway"]["lost"] == heavy["gateway"]["duplicated"]
            == heavy["gateway"]["misrouted"] == 0 and heavy["gateway"]["all_completed"],
            "throughput_ratio_min": MIN_THROUGHPUT_RATIO,
            "throughput_met": heavy["throughput_ratio"] >= MIN_THROUGHPUT_RATIO,
            "p99_ratio_max": MAX_P99_RATIO,
            "p99_met": heavy["p99_ratio"] <= MAX_P99_RATIO,
        },
    }
