"""Rate limits as sliding-window counters: the rule, free of I/O.

A ``Limit`` allows ``limit`` hits per ``window`` seconds for one key (a user, a source
IP, a username being guessed). The store keeps, per key, a count for each fixed window
(aligned to multiples of ``window`` seconds) and adds a hit to the current one in one
atomic write; this module decides from the current and the previous window's counts,
weighting the previous one by how much of it still lies inside the sliding window that
ends now (the sliding-window counter Cloudflare described for its rate limiting).

The hit being decided is counted before the decision, so concurrent callers can never
all pass: of any number of simultaneous hits on one key, at most ``limit`` are allowed
within a window. Refused hits stay counted, so hammering a limit keeps it closed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Limit:
    scope: str  # names the counter in the store, e.g. "send" or "login-ip"
    limit: int  # hits allowed per window
    window: float  # seconds

    def key(self, subject: str) -> str:
        return f"{self.scope}#{subject}"


@dataclass(frozen=True)
class Counts:
    """A key's counts after a hit: ``current`` includes that hit."""

    current: int
    previous: int


def window_start(now: float, window: float) -> float:
    return math.floor(now / window) * window


def _overlap(now: float, window: float) -> float:
    """The share of the previous fixed window still inside the sliding window."""
    return 1.0 - (now - window_start(now, window)) / window


def estimate(limit: Limit, counts: Counts, now: float) -> float:
    """Hits in the sliding window ending now, as the counter estimates them."""
    return counts.previous * _overlap(now, limit.window) + counts.current


def retry_after(limit: Limit, counts: Counts, now: float) -> int:
    """0 when the hit just counted is allowed; else whole seconds (at least 1) until a
    new hit would be, if none came meanwhile."""
    if estimate(limit, counts, now) <= limit.limit:
        return 0
    start = window_start(now, limit.window)
    room = limit.limit - counts.current - 1  # for the next hit within this window
    if room >= 0 and counts.previous > 0:
        allowed_at = start + limit.window * (1.0 - room / counts.previous)
    else:
        # not before the next window, where this window's count becomes the previous one
        spare = (limit.limit - 1) / counts.current if counts.current else 1.0
        allowed_at = start + limit.window * (1.0 + max(0.0, 1.0 - spare))
    # a hair past the boundary: at it exactly, rounding can leave the estimate a hair over
    return max(1, math.ceil(allowed_at - now + 1e-6))


def window_index(now: float, window: float) -> int:
    """The number of the fixed window holding ``now`` (stores key counts by it)."""
    return math.floor(now / window)
