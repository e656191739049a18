"""The sliding-window rule (chalicelib/ratelimit.py), driven by a model of the store's
fixed-window counters."""

from __future__ import annotations

from collections import Counter

from hypothesis import example, given
from hypothesis import strategies as st

from chalicelib.ratelimit import Counts, Limit, estimate, retry_after, window_start

LOGIN = Limit("login", 5, 900.0)


class Counters:
    """What the store does: add a hit to the current fixed window, return both counts."""

    def __init__(self) -> None:
        self.windows: Counter[float] = Counter()

    def hit(self, limit: Limit, now: float) -> Counts:
        start = window_start(now, limit.window)
        self.windows[start] += 1
        return Counts(self.windows[start], self.windows[start - limit.window])


def test_a_burst_gets_exactly_the_limit_through() -> None:
    counters = Counters()
    now = 1_800_000_000.0 + 10
    allowed = [retry_after(LOGIN, counters.hit(LOGIN, now), now) == 0 for _ in range(24)]
    assert allowed.count(True) == 5
    assert allowed[:5] == [True] * 5


def test_a_window_boundary_does_not_reopen_the_limit() -> None:
    counters = Counters()
    start = 1_800_000_000.0 - 1_800_000_000.0 % 900
    for _ in range(5):
        assert retry_after(LOGIN, counters.hit(LOGIN, start + 899), start + 899) == 0
    after = start + 900.5
    assert retry_after(LOGIN, counters.hit(LOGIN, after), after) > 0


def test_retry_after_is_whole_seconds_and_honest() -> None:
    limit = Limit("send", 30, 30.0)
    counters = Counters()
    now = 1_800_000_015.0
    for _ in range(30):
        assert retry_after(limit, counters.hit(limit, now), now) == 0
    wait = retry_after(limit, counters.hit(limit, now), now)
    assert isinstance(wait, int) and wait >= 1
    later = now + wait
    assert retry_after(limit, counters.hit(limit, later), later) == 0


@given(
    limit=st.integers(1, 40),
    window=st.sampled_from([3.0, 30.0, 900.0, 3600.0]),
    gaps=st.lists(st.floats(0, 120, allow_nan=False), min_size=1, max_size=120),
)
def test_allowed_hits_never_exceed_the_limit_in_a_fixed_window(
    limit: int, window: float, gaps: list[float]
) -> None:
    rule = Limit("x", limit, window)
    counters = Counters()
    now = 1_800_000_000.0
    allowed_per_window: Counter[float] = Counter()
    for gap in gaps:
        now += gap
        counts = counters.hit(rule, now)
        wait = retry_after(rule, counts, now)
        assert wait >= 0
        if wait == 0:
            allowed_per_window[window_start(now, window)] += 1
            assert estimate(rule, counts, now) <= limit
    assert all(n <= limit for n in allowed_per_window.values())


@example(limit=17, window=900.0, burst=90, offset=0.0)  # a boundary hit exactly
@given(
    limit=st.integers(1, 40),
    window=st.sampled_from([3.0, 30.0, 900.0]),
    burst=st.integers(1, 100),
    offset=st.floats(0, 1, allow_nan=False, exclude_max=True),
)
def test_waiting_retry_after_opens_the_limit(
    limit: int, window: float, burst: int, offset: float
) -> None:
    rule = Limit("x", limit, window)
    counters = Counters()
    now = 1_800_000_000.0 - 1_800_000_000.0 % window + offset * window
    wait = 0
    for _ in range(burst):
        wait = retry_after(rule, counters.hit(rule, now), now)
    if wait:
        later = now + wait
        assert retry_after(rule, counters.hit(rule, later), later) == 0
