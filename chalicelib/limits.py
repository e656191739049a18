"""Which rate limits the chat applies, and applying one: ``Limits`` (the
configuration, chalicelib/settings.py reads it from the environment) and
``enforce`` (count a hit in the store, refuse with ``rate_limited`` and
``retry_after`` when over).

No I/O of its own: the counts live in the store (``Store.hit``), so every Lambda
container shares them; the rule is chalicelib/ratelimit.py's.
"""

from __future__ import annotations

from dataclasses import dataclass

from chalicelib import protocol, ratelimit
from chalicelib.model import Store
from chalicelib.protocol import ProtocolError
from chalicelib.ratelimit import Limit

# login attempts per username, counted before the password is verified
LOGIN = Limit("login", 5, 15 * 60)
# login attempts per source IP, across usernames
LOGIN_IP = Limit("login-ip", 30, 15 * 60)
# registrations per source IP
REGISTER_IP = Limit("register-ip", 10, 3600)
# messages per user across their connections: a burst of 30, then about 1 a second
SEND = Limit("send", 30, 30)
# sign-ins (login, resume) per user, which bounds the presence they push
SIGN_IN = Limit("sign-in", 20, 60)
# upload requests per user (each may become up to CHAT_MAX_UPLOAD bytes in the storage)
UPLOAD = Limit("upload", 30, 60)
# typing pushes per (sender, recipient): one per fixed window of this many seconds
TYPING_INTERVAL = 3.0


@dataclass(frozen=True)
class Limits:
    """``None`` turns a limit off (as does a typing interval of 0)."""

    login: Limit | None = LOGIN
    login_ip: Limit | None = LOGIN_IP
    register_ip: Limit | None = REGISTER_IP
    send: Limit | None = SEND
    sign_in: Limit | None = SIGN_IN
    upload: Limit | None = UPLOAD
    typing_interval: float = TYPING_INTERVAL


def enforce(
    store: Store,
    limit: Limit | None,
    subject: str,
    now: float,
    action: str,
    client_id: str | None = None,
) -> None:
    """Count one hit of ``subject`` against ``limit``; raises ``rate_limited``
    (with ``retry_after``) when it is over. Refused hits stay counted."""
    if limit is None:
        return
    counts = store.hit(limit.key(subject), now, limit.window)
    wait = ratelimit.retry_after(limit, counts, now)
    if wait:
        raise ProtocolError(
            protocol.RATE_LIMITED,
            f"too many requests; try again in {wait} s",
            action,
            client_id,
            retry_after=wait,
        )


def typing_allowed(store: Store, interval: float, sender: str, recipient: str, now: float) -> bool:
    """Whether this typing frame may be pushed: the first of its (sender,
    recipient) pair in the current fixed window of ``interval`` seconds."""
    if interval <= 0:
        return True
    counts = store.hit(f"typing#{sender}#{recipient}", now, interval)
    return counts.current == 1


def parse_limit(scope: str, text: str) -> Limit | None:
    """``"<hits>/<seconds>"``, or ``"off"``; raises ValueError."""
    if text.strip().lower() == "off":
        return None
    hits, _, seconds = text.partition("/")
    limit = Limit(scope, int(hits), float(seconds))
    if limit.limit < 1 or limit.window <= 0:
        raise ValueError(f"a limit needs at least 1 hit per a positive window: {text!r}")
    return limit
