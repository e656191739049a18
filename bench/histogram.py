"""Draws the delivery-latency histogram (PNG) from the load results."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bench.loadclient import HIST_EDGES_MS

COLOURS = {"relay": "#4c72b0", "gateway": "#dd8452"}


def _summed(rounds: list[dict[str, Any]], workload: str, target: str) -> list[int]:
    total = [0] * (len(HIST_EDGES_MS) + 1)
    for one in rounds:
        for i, n in enumerate(one[workload][target]["histogram"]):
            total[i] += n
    return total


def draw(load: dict[str, Any], path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rounds = load["rounds"]
    names = list(load["workloads"])
    fig, axes = plt.subplots(1, len(names), figsize=(6 * len(names), 4), squeeze=False)
    for ax, name in zip(axes[0], names, strict=True):
        w = load["workloads"][name]
        used: list[int] = []
        for target in ("relay", "gateway"):
            counts = _summed(rounds, name, target)[1:-1]  # drop under/overflow bins
            used += [i for i, c in enumerate(counts) if c]
            total = sum(counts) or 1
            ax.stairs([100 * c / total for c in counts], HIST_EDGES_MS, fill=True, alpha=0.5,
                      color=COLOURS[target], label=target)
        ax.set_xscale("log")
        if used:
            low, high = max(min(used) - 2, 0), min(max(used) + 3, len(HIST_EDGES_MS) - 1)
            ax.set_xlim(HIST_EDGES_MS[low], HIST_EDGES_MS[high])
        ax.set_xlabel("delivery latency, send -> recipient receives (ms, log scale)")
        ax.set_ylabel("% of messages")
        ax.set_title(f"{w['pairs']} pairs x {w['messages']} messages, window {w['window']}"
                     f" ({len(rounds)} run{'' if len(rounds) == 1 else 's'})")
        ax.legend()
        ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
