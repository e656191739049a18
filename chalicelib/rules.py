"""Rules every store shares, defined once: the conversation key, the read
pointer, history paging and the failed-login window.

Pure functions, no I/O. The core (chalicelib/chat.py, chalicelib/auth.py) and
every store (chalicelib/store/) call these rather than restating them.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TypeVar

T = TypeVar("T")


def conversation_key(a: str, b: str) -> str:
    """The one key of the conversation between ``a`` and ``b``, whoever asks."""
    low, high = sorted((a, b))
    return f"{low}#{high}"


def advance_read_pointer(current: str, up_to: str) -> str:
    """A read pointer only moves forward (message ids sort by time)."""
    return max(current, up_to)


def history_fetch_size(limit: int) -> int:
    """Fetch one more than asked, to learn whether older messages exist."""
    return limit + 1


def history_page(newest_first: Sequence[T], limit: int) -> tuple[list[T], bool]:
    """From up to ``history_fetch_size(limit)`` records, newest first: the
    page oldest first, and whether older records exist."""
    page = list(newest_first[:limit])
    page.reverse()
    return page, len(newest_first) > limit


def failed_login_cutoff(now: float, window: float) -> float:
    """A failed-login window that started at or before this time is over."""
    return now - window


def failed_login_window_open(window_start: float, now: float, window: float) -> bool:
    return window_start > failed_login_cutoff(now, window)


def edit_window_open(ts: str, now: float, window: float) -> bool:
    """A message sent at ``ts`` (ISO-8601) can still be edited at ``now``."""
    sent = datetime.fromisoformat(ts.replace("Z", "+00:00")).timestamp()
    return now < sent + window
