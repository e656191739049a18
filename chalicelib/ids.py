"""Message ids and timestamps.

A message id is a ULID (26 Crockford base32 characters: 48 bits of
milliseconds, 80 random bits), so ids sort in time order as plain strings, in
DynamoDB sort keys and SQLite columns alike.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
MESSAGE_ID_PATTERN = re.compile(r"^[0-7][0-9A-HJKMNP-TV-Z]{25}$")


def message_id(now: float, random_bits: int) -> str:
    """ULID for the time ``now`` (seconds) and 80 random bits."""
    value = (int(now * 1000) << 80) | (random_bits & ((1 << 80) - 1))
    chars = []
    for _ in range(26):
        chars.append(_CROCKFORD[value & 31])
        value >>= 5
    return "".join(reversed(chars))


def iso_timestamp(now: float) -> str:
    """ISO-8601 UTC with milliseconds, e.g. 2026-11-25T17:10:05.123Z."""
    moment = datetime.fromtimestamp(now, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
