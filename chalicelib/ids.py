"""Message ids and timestamps.

A message id is a ULID (26 Crockford base32 characters: 48 bits of
milliseconds, 80 random bits), so ids sort in time order as plain strings, in
DynamoDB sort keys and SQLite columns alike. Ids made by one process are
monotonic (ULID's monotonic variant): two sends in the same millisecond keep
their order.
"""

from __future__ import annotations

import re
import secrets
import threading
from collections.abc import Callable
from datetime import UTC, datetime

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
MESSAGE_ID_PATTERN = re.compile(r"^[0-7][0-9A-HJKMNP-TV-Z]{25}$")
_RANDOM_MASK = (1 << 80) - 1


def message_id(now: float, random_bits: int) -> str:
    """ULID for the time ``now`` (seconds) and 80 random bits."""
    return _encode((int(now * 1000) << 80) | (random_bits & _RANDOM_MASK))


class MessageIds:
    """Makes ULIDs that strictly increase within this process."""

    def __init__(self, random_bits: Callable[[int], int] = secrets.randbits) -> None:
        self._random_bits = random_bits
        self._last = 0
        self._lock = threading.Lock()

    def __call__(self, now: float) -> str:
        value = (int(now * 1000) << 80) | (self._random_bits(80) & _RANDOM_MASK)
        with self._lock:
            if value >> 80 <= self._last >> 80:
                value = self._last + 1
            self._last = value
        return _encode(value)


def _encode(value: int) -> str:
    chars = []
    for _ in range(26):
        chars.append(_CROCKFORD[value & 31])
        value >>= 5
    return "".join(reversed(chars))


def iso_timestamp(now: float) -> str:
    """ISO-8601 UTC with milliseconds, e.g. 2026-11-25T17:10:05.123Z."""
    moment = datetime.fromtimestamp(now, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def new_upload_id() -> str:
    """A random, URL-safe upload id (144 bits): it names the upload's blob."""
    return secrets.token_urlsafe(18)
