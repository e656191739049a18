"""Server frames that fit API Gateway's limit by construction: list replies keep as
many of their items as fit a byte budget.

API Gateway refuses a PostToConnection over 128 KB (PayloadTooLargeException), so a
reply that would be larger never reaches the client. Replies that carry lists
(``history``, ``conversations``) are cut to the budget instead, and say so with
``more``. The budget keeps a margin under the limit and is configurable
(``CHAT_FRAME_BUDGET``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from chalicelib.protocol import encode

FRAME_LIMIT = 128 * 1024  # bytes, API Gateway's WebSocket message and @connections limit
DEFAULT_BUDGET = 120 * 1024
# the most bytes one character of a string takes in JSON ("\u0001")
JSON_BYTES_PER_CHAR = 6
# room for everything in a list item but its text: ids, names, client_id, counts, and an
# attachment (a 255-character name, and a presigned URL: with a Lambda role's session
# token, S3's are about 1.5 KB)
ITEM_OVERHEAD = 2048 + 6 * 255 + 4096


def minimum_budget(max_text: int) -> int:
    """The smallest budget that still fits the largest possible message (or
    conversation item) in a frame, so a page never comes back empty."""
    return JSON_BYTES_PER_CHAR * max_text + ITEM_OVERHEAD


def size(frame: dict[str, Any]) -> int:
    """Bytes the frame takes on the wire (UTF-8 JSON, as delivery encodes it)."""
    return len(encode(frame).encode("utf-8"))


def fitting(
    items: Sequence[dict[str, Any]],
    frame: Callable[[list[dict[str, Any]]], dict[str, Any]],
    budget: int,
) -> int:
    """How many of ``items``, taken in order from the first, fit into ``frame(items)``
    within ``budget`` bytes. ``frame`` builds the reply around a list of items."""
    room = budget - size(frame([]))
    count = 0
    for item in items:
        room -= size(item) + (1 if count else 0)  # a comma between items
        if room < 0:
            break
        count += 1
    return count
