"""Part 2, scale: 1,000 connections held open at once against the gateway (and the
relay, for comparison); resident memory per connection and delivery checked 0/0/0."""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.load import TARGETS, start
from bench.loadclient import Workload, run_load, sign_in
from bench.machine import raise_open_files
from bench.stats import median, ratio

HOLD_S = 2.0  # every connection open and idle this long before memory is read
WARM_UP_PAIRS = 8  # more than the gateway's handler processes, so each one warms up


def workload(quick: bool) -> Workload:
    connections = 100 if quick else 1000
    return Workload(connections // 2, 10, window=5, deadline_s=90)


async def warm_up(url: str, pairs: int = WARM_UP_PAIRS) -> None:
    """A few users signing in and messaging at once, so imports, the store and each
    handler thread's or process's state exist before the baseline is read."""

    async def pair(n: int) -> None:
        alice = await sign_in(url, f"warm-a{n}")
        bob = await sign_in(url, f"warm-b{n}")
        await alice.send(
            f'{{"action":"send","to":"warm-b{n}","text":"hi","client_id":"w{n}"}}'
        )
        await asyncio.wait_for(bob.recv(), 30)
        await alice.close()
        await bob.close()

    await asyncio.gather(*(pair(n) for n in range(pairs)))


def measure(target: str, plan: Workload, workdir: Path, tag: str) -> dict[str, Any]:
    server = start(target, workdir, tag)
    memory: dict[str, float] = {}

    async def held() -> None:
        await asyncio.sleep(HOLD_S)
        memory["after_kib"] = server.rss_kib()

    try:
        asyncio.run(warm_up(server.ws_url))
        time.sleep(0.5)
        memory["before_kib"] = server.rss_kib()
        result = asyncio.run(run_load(server.ws_url, target, plan, after_connect=held))
    except Exception as error:
        raise RuntimeError(f"{target} failed; its log ends:\n{server.log_tail(40)}") from error
    finally:
        server.stop()
    connections = plan.pairs * 2
    out = result.to_dict()
    out.pop("histogram")
    out.update(
        connections=connections,
        rss_before_mib=memory["before_kib"] / 1024,
        rss_after_mib=memory["after_kib"] / 1024,
        rss_per_connection_kib=(memory["after_kib"] - memory["before_kib"]) / connections,
    )
    return out


def run(runs: int, quick: bool, log: Any = print) -> dict[str, Any]:
    plan = workload(quick)
    soft_limit = raise_open_files(plan.pairs * 2 * 2 + 1024)
    started = time.monotonic()
    rounds: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="bench-scale-") as tmp:
        for index in range(runs):
            one: dict[str, Any] = {}
            for target in TARGETS:
                result = measure(target, plan, Path(tmp), f"scale-{target}-{index}")
                one[target] = result
                log(
                    f"  scale round {index + 1}/{runs} {target:7} {result['connections']} conns"
                    f"  RSS {result['rss_before_mib']:.1f} -> {result['rss_after_mib']:.1f} MiB"
                    f"  ({result['rss_per_connection_kib']:.1f} KiB/conn)"
                    f"  sign-in {result['setup_s']:.1f} s"
                    f"  lost/dup/misrouted {result['lost']}/{result['duplicated']}"
                    f"/{result['misrouted']}{'' if result['completed'] else '  INCOMPLETE'}"
                )
            one["memory_ratio"] = ratio(
                one["gateway"]["rss_per_connection_kib"], one["relay"]["rss_per_connection_kib"]
            )
            rounds.append(one)
    summary: dict[str, Any] = {}
    for target in TARGETS:
        results = [r[target] for r in rounds]
        summary[target] = {
            "connections": plan.pairs * 2,
            "rss_per_connection_kib": median(r["rss_per_connection_kib"] for r in results),
            "rss_before_mib": median(r["rss_before_mib"] for r in results),
            "rss_after_mib": median(r["rss_after_mib"] for r in results),
            "sign_in_s": median(r["setup_s"] for r in results),
            "msgs_per_s": median(r["msgs_per_s"] for r in results),
            "p99_ms": median(r["latency_ms"]["p99"] for r in results),
            "lost": sum(r["lost"] for r in results),
            "duplicated": sum(r["duplicated"] for r in results),
            "misrouted": sum(r["misrouted"] for r in results),
            "all_completed": all(r["completed"] for r in results),
        }
    summary["memory_ratio"] = median(r["memory_ratio"] for r in rounds)
    return {
        "workload": vars(plan),
        "runs": runs,
        "quick": quick,
        "open_files_soft_limit": soft_limit,
        "hold_s": HOLD_S,
        "warm_up_pairs": WARM_UP_PAIRS,
        "duration_s": time.monotonic() - started,
        "rounds": rounds,
        "summary": summary,
    }
