"""Rules every store shares, defined once: the conversation key, the read
pointer, and history and conversation paging.

Pure functions, no I/O. The core (chalicelib/chat.py, chalicelib/auth.py) and
every store (chalicelib/store/) call these rather than restating them.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from chalicelib.model import Conversation

T = TypeVar("T")


def conversation_key(a: str, b: str) -> str:
    """The one key of the conversation between ``a`` and ``b``, whoever asks."""
    low, high = sorted((a, b))
    return f"{low}#{high}"


def advance_read_pointer(current: str, up_to: str) -> str:
    """A read pointer only moves forward (message ids sort by time)."""
    return max(current, up_to)


def read_pointer(current: str, up_to: str, last_id: str) -> str:
    """The read pointer after reading ``up_to``: never past the conversation's
    last message (no marking unwritten messages read), never backwards."""
    return advance_read_pointer(current, min(up_to, last_id))


def history_fetch_size(limit: int) -> int:
    """Fetch one more than asked, to learn whether older messages exist."""
    return limit + 1


def history_page(newest_first: Sequence[T], limit: int) -> tuple[list[T], bool]:
    """From up to ``history_fetch_size(limit)`` records, newest first: the
    page oldest first, and whether older records exist."""
    page = list(newest_first[:limit])
    page.reverse()
    return page, len(newest_first) > limit



def conversation_page(
    newest_first: Sequence[Conversation], before: str | None, limit: int
) -> tuple[list[Conversation], bool]:
    """From conversations newest last message first (all of them, or those
    after ``before`` and at least ``limit + 1``): the page of up to ``limit``
    whose last message id is < ``before``, and whether more follow."""
    after = [c for c in newest_first if before is None or c.last.id < before]
    return after[:limit], len(after) > limit


def edit_window_open(ts: str, now: float, window: float) -> bool:
    """A message sent at ``ts`` (ISO-8601) can still be edited at ``now``."""
    sent = datetime.fromisoformat(ts.replace("Z", "+00:00")).timestamp()
    return now < sent + window
