"""What one event produces (``Outcome`` of ``Outgoing`` frames) and what a
handler is given to decide it (``Turn``: the store, the core's clock reading,
the caller and its binding).

No I/O here. The core (chalicelib/chat.py) makes one ``Turn`` per event; the
handlers (chalicelib/accounts.py, chalicelib/messaging.py) add frames to it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from chalicelib import auth, budget, ids, protocol
from chalicelib.blobs import Blobs
from chalicelib.limits import Limits
from chalicelib.model import Connection, Store


@dataclass(frozen=True)
class Outgoing:
    connection_id: str
    frame: dict[str, Any]


@dataclass
class Outcome:
    """What one event produced: frames in delivery order (pushes to others
    first, the reply to the calling connection last) and a code for the log."""

    frames: list[Outgoing] = field(default_factory=list)
    code: str = "ok"
    action: str | None = None
    username: str | None = None


# attachments (issue 14): what may be uploaded, and for how long URLs and uploads last
DEFAULT_MAX_UPLOAD = 10 * 1024 * 1024  # bytes
DEFAULT_UPLOAD_TYPES = (
    "image/png",
    "image/jpeg",
    "image/gif",
    "image/webp",
    "application/pdf",
    "text/plain",
)
# never allowed, whatever CHAT_UPLOAD_TYPES says: they run script when opened
NEVER_UPLOADED = ("image/svg+xml", "text/html", "application/xhtml+xml", "text/xml",
                  "application/xml", "text/javascript", "application/javascript")
# shown in the thread rather than downloaded
INLINE_TYPES = ("image/png", "image/jpeg", "image/gif", "image/webp")


@dataclass(frozen=True)
class AttachmentRules:
    max_size: int = DEFAULT_MAX_UPLOAD
    types: tuple[str, ...] = DEFAULT_UPLOAD_TYPES
    download_ttl: int = 3600  # seconds a signed download URL lasts
    upload_ttl: float = 24 * 3600  # seconds an unattached upload lasts
    post_ttl: int = 900  # seconds the presigned POST lasts

    def __post_init__(self) -> None:
        refused = [t for t in self.types if t in NEVER_UPLOADED]
        if refused:
            raise ValueError(f"CHAT_UPLOAD_TYPES may not allow {', '.join(refused)}")


@dataclass(frozen=True)
class ChatConfig:
    max_text: int = protocol.DEFAULT_MAX_TEXT
    scrypt_cost: auth.ScryptCost = field(default_factory=auth.ScryptCost)
    limits: Limits = field(default_factory=Limits)
    # bytes a server frame may take (chalicelib/budget.py; CHAT_FRAME_BUDGET)
    frame_budget: int = budget.DEFAULT_BUDGET
    edit_window: float = protocol.DEFAULT_EDIT_WINDOW  # seconds after sending
    attachments: AttachmentRules = field(default_factory=AttachmentRules)


@dataclass
class Turn:
    """One event being handled. ``now`` is the core's one clock reading for
    the whole event; every store call that compares times is given it."""

    store: Store
    config: ChatConfig
    now: float
    connection_id: str
    outcome: Outcome
    new_message_id: Callable[[float], str]
    new_token: Callable[[], str]
    dummy_hash: Callable[[], str]
    # the caller's binding to a user, when it is signed in
    binding: Connection | None = None
    # the caller's address as API Gateway saw it (never from a frame); None when
    # the adapter has none, and then the per-IP limits do not apply
    source_ip: str | None = None
    # where attachments' bytes live (None: attachments are off)
    blobs: Blobs | None = None
    new_upload_id: Callable[[], str] = ids.new_upload_id

    @property
    def me(self) -> str:
        """The signed-in caller (actions that need sign-in only get here signed in)."""
        if self.binding is None:
            raise RuntimeError("handler of an action that needs sign-in ran signed out")
        return self.binding.username

    def reply(self, frame: dict[str, Any]) -> None:
        """The direct reply to the caller (always the last frame)."""
        self.outcome.frames.append(Outgoing(self.connection_id, frame))

    def push_unblocked(self, frame: dict[str, Any], usernames: list[str]) -> None:
        """``push``, but to nobody with a block between them and the caller."""
        for connections in self.store.reachable(self.me, usernames, now=self.now).values():
            self.outcome.frames.extend(
                Outgoing(c, frame) for c in sorted(connections) if c != self.connection_id
            )

    def push(self, frame: dict[str, Any], usernames: list[str]) -> None:
        """Queue ``frame`` for every open connection of ``usernames`` but the caller's."""
        for connections in self.store.connections_of(usernames, now=self.now).values():
            self.outcome.frames.extend(
                Outgoing(c, frame) for c in sorted(connections) if c != self.connection_id
            )
