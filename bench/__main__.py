"""``python -m bench [part ...] [--quick] [--runs N]``: runs the benchmarks (all parts by
default), writes bench/results/<part>.json and the latency histogram, and regenerates
docs/performance.md from the results."""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from bench import (
    attachments,
    coldstart,
    cost,
    deploy,
    faults,
    histogram,
    load,
    report,
    results,
    scale,
)
from bench.machine import describe, raise_open_files

RUNS = 3


def _parts() -> dict[str, Callable[[argparse.Namespace], dict[str, Any]]]:
    return {
        "load": lambda a: load.run(a.runs, a.quick),
        "scale": lambda a: scale.run(a.runs, a.quick),
        "cost": lambda a: cost.run(a.quick),
        "attachments": lambda a: attachments.run(a.quick),
        "coldstart": lambda a: coldstart.run(a.quick),
        "faults": lambda a: faults.run(a.quick),
        "deploy": lambda a: deploy.run(a.quick),
    }


def correctness(part: str, data: dict[str, Any]) -> list[tuple[bool, str]]:
    """The checks a benchmark run must pass (performance targets are reported, not
    enforced: they depend on the machine)."""
    if part == "load":
        return [(data["targets"]["zero_loss"], "load: 0 lost / 0 duplicated / 0 misrouted")]
    if part == "scale":
        g = data["summary"]["gateway"]
        return [(g["all_completed"] and g["lost"] == g["duplicated"] == g["misrouted"] == 0,
                 f"scale: {g['connections']} connections, 0 / 0 / 0")]
    if part == "cost":
        return [(data["checks"]["no_scan"], "cost: no Scan"),
                (data["checks"]["same_at_both_scales"], "cost: same calls at both scales"),
                (data["checks"].get("posts_counted", False),
                 "cost: a send's two PostToConnection calls counted"),
                (data["checks"].get("limiter_adds_at_most_one_wru_per_send", False),
                 "cost: the rate limiter adds at most one WRU per send"),
                (data["checks"].get("attachment_s3_counted", False),
                 "cost: a message with an attachment: its S3 requests counted, the file intact")]
    if part == "attachments":
        return [(data["checks"]["delivered_intact"],
                 "attachments: every photo delivered, its bytes intact")]
    if part == "faults":
        return [(data["failed"] == 0 and data["passed"] > 0, "faults: all tests pass")]
    if part == "deploy":
        return deploy.correct(data)
    return []


def main(argv: Sequence[str] | None = None) -> int:
    parts = _parts()
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    names = [*parts, "report"]
    parser.add_argument("parts", nargs="*", metavar="part",
                        help=f"one of {', '.join(names)} (default: all but report, which"
                        " only rewrites the doc from the results)")
    parser.add_argument("--quick", action="store_true",
                        help="a small smoke run, results to a temporary directory")
    parser.add_argument("--runs", type=int, default=None,
                        help=f"rounds per benchmark (default {RUNS}; 1 with --quick)")
    args = parser.parse_args(argv)
    unknown = [p for p in args.parts if p not in names]
    if unknown:
        parser.error(f"unknown part {unknown[0]!r}: choose from {', '.join(names)}")
    args.runs = args.runs or (1 if args.quick else RUNS)
    chosen = [p for p in args.parts if p != "report"] or (
        [] if args.parts == ["report"] else list(parts))
    out = Path(tempfile.mkdtemp(prefix="bench-quick-")) if args.quick else results.RESULTS
    doc = out / "performance.md" if args.quick else report.DOC
    raise_open_files(8192)
    machine = describe()
    checks: list[tuple[bool, str]] = []
    started = time.monotonic()
    for part in chosen:
        print(f"[bench] {part} ...", flush=True)
        try:
            data = parts[part](args)
        except Exception:
            traceback.print_exc()
            checks.append((False, f"{part}: crashed"))
            continue
        flags = (" --quick" if args.quick else "") + (
            f" --runs {args.runs}" if part in ("load", "scale") and args.runs != RUNS
            and not args.quick else "")
        data = {"machine": machine, "command": f".venv/bin/python -m bench {part}{flags}",
                **data}
        path = results.save(part, data, out)
        print(f"[bench] {part}: {data.get('duration_s', 0):.0f} s -> {report.relative(path)}",
              flush=True)
        checks += correctness(part, data)
    loaded = results.load("load", out)
    if loaded is not None:
        histogram.draw(loaded, out / report.HISTOGRAM)
    print(f"[bench] wrote {report.relative(report.write(out, doc))}"
          f" ({time.monotonic() - started:.0f} s in all)")
    for ok, text in checks:
        print(f"{'PASS' if ok else 'FAIL'}  {text}")
    return 0 if all(ok for ok, _ in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
