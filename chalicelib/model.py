"""The chat core's records and the Store interface it needs.

No I/O here. Stores (chalicelib/store/) implement ``Store``; the core
(chalicelib/chat.py) talks only to this interface.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Protocol

from chalicelib.ratelimit import Counts


@dataclass(frozen=True)
class Attachment:
    """A file attached to a message: the upload it came from (``id``, which names its
    blob) and what the sender declared and the storage confirmed."""

    id: str
    name: str
    type: str
    size: int


@dataclass(frozen=True)
class Message:
    id: str
    sender: str
    recipient: str
    text: str
    ts: str
    client_id: str
    # issue 13 (edit, delete, react, block); the wire leaves each out when unset
    edited_at: str = ""
    deleted: bool = False
    reactions: tuple[tuple[str, str], ...] = ()  # (username, emoji), by username
    withheld: bool = False  # the recipient blocks the sender: the sender's view only
    # issue 14; a tombstone has none
    attachment: Attachment | None = None

    def to_wire(self, download_url: Callable[[Attachment], str] | None = None) -> dict[str, Any]:
        """The message as frames carry it; ``download_url`` signs its attachment's URL
        (afresh for every frame), and without it the attachment has no ``url``."""
        wire: dict[str, Any] = {
            "id": self.id,
            "from": self.sender,
            "to": self.recipient,
            "text": self.text,
            "ts": self.ts,
            "client_id": self.client_id,
        }
        if self.edited_at:
            wire["edited_at"] = self.edited_at
        if self.deleted:
            wire["deleted"] = True
        elif self.reactions:
            wire["reactions"] = reactions_by_emoji(self.reactions)
        if self.attachment and not self.deleted:
            a = self.attachment
            wire["attachment"] = {"id": a.id, "name": a.name, "type": a.type, "size": a.size}
            if download_url is not None:
                wire["attachment"]["url"] = download_url(a)
        return wire


def reactions_by_emoji(reactions: tuple[tuple[str, str], ...]) -> dict[str, list[str]]:
    """The wire's ``reactions``: emoji -> usernames in order."""
    grouped: dict[str, list[str]] = {}
    for username, emoji in sorted(reactions):
        grouped.setdefault(emoji, []).append(username)
    return grouped


@dataclass(frozen=True)
class User:
    username: str
    password_hash: str
    created_at: float
    # sessions issued before this time are revoked (change_password, logout_all)
    sessions_valid_from: float = 0.0


@dataclass(frozen=True)
class Session:
    token_hash: str
    username: str
    expires_at: float
    issued_at: float = 0.0  # compared with the user's ``sessions_valid_from``


@dataclass(frozen=True)
class Connection:
    """The stored binding of one WebSocket connection id (API Gateway's) to the
    user who signed in on it, with the session token it signed in with."""

    connection_id: str
    username: str
    token_hash: str
    connected_at: float
    expires_at: float


@dataclass(frozen=True)
class Conversation:
    """One person's view of a conversation with ``other``."""

    other: str
    last: Message
    unread: int
    read_up_to: str = ""  # newest message id of ``other``'s that this person has read
    their_read_up_to: str = ""  # newest message id of this person's that ``other`` has read


@dataclass(frozen=True)
class Upload:
    """One ``upload`` request: the blob its owner may POST, until ``expires_at`` unless
    a send attaches it. ``client_id`` is the send (of ``owner``) that claimed it."""

    id: str
    owner: str
    name: str
    type: str
    size: int  # declared: the most bytes the POST may carry, and what send requires
    created_at: float
    expires_at: float
    client_id: str = ""  # "" while unattached

    def attachment(self) -> Attachment:
        return Attachment(self.id, self.name, self.type, self.size)

    def expired(self, now: float) -> bool:
        """Unattached and past ``expires_at``: as if it never was (a claim stops expiry)."""
        return not self.client_id and self.expires_at <= now


class SaveOutcome(Enum):
    STORED = "stored"
    DUPLICATE = "duplicate"
    NO_SUCH_USER = "no_such_user"


@dataclass(frozen=True)
class SaveResult:
    outcome: SaveOutcome
    message: Message | None = None  # the stored message, or the earlier one for a duplicate


@dataclass(frozen=True)
class ReadMark:
    """Where a ``mark_read`` left the reader's pointer, and whether it moved."""

    pointer: str
    advanced: bool


@dataclass(frozen=True)
class Unbound:
    """What unbinding a connection left behind."""

    connection: Connection
    remaining: frozenset[str] = field(default_factory=frozenset)


@dataclass(frozen=True)
class Blocks:
    """Whom a user blocks and who blocks them."""

    blocks: frozenset[str] = frozenset()
    blocked_by: frozenset[str] = frozenset()

    def either_way(self, other: str) -> bool:
        return other in self.blocks or other in self.blocked_by


class Store(Protocol):
    """Persistence the chat core needs. Every method is one logical operation
    that the implementation makes atomic where the docstring says so.

    The core owns time: every method that compares times is given ``now``
    (seconds since the epoch, from the core's clock); no store reads a clock.
    Rules the stores share are in chalicelib/rules.py.
    """

    # accounts
    def create_user(self, user: User) -> bool:
        """Insert unless the username exists (atomic); False when taken."""
        ...

    def get_user(self, username: str) -> User | None: ...

    def search_users(self, prefix: str, limit: int, *, now: float) -> list[tuple[str, bool]]:
        """Usernames starting with ``prefix`` in order, with whether each has a
        connection open at ``now``."""
        ...

    # sessions
    def put_session(self, session: Session) -> None: ...

    def get_session(self, token_hash: str, *, now: float) -> Session | None:
        """The session, unless it has expired by ``now``."""
        ...

    def delete_session(self, token_hash: str) -> None: ...

    # connections
    def bind_connection(self, connection: Connection, *, now: float) -> frozenset[str]:
        """Bind a connection to its user; returns the user's connection ids open
        at ``now``, this one included."""
        ...

    def get_connection(self, connection_id: str, *, now: float) -> Connection | None:
        """The binding, unless it has expired by ``now``."""
        ...

    def unbind_connection(self, connection_id: str, *, now: float) -> Unbound | None:
        """Forget a connection; None when it was not bound. ``remaining`` are
        the user's other connections open at ``now``."""
        ...

    def connections_of(
        self, usernames: list[str], *, now: float
    ) -> dict[str, frozenset[str]]:
        """Connection ids open at ``now`` for each named user (missing users map
        to empty)."""
        ...

    # messages
    def save_message(
        self, message: Message, idempotency_ttl: float, *, now: float
    ) -> SaveResult:
        """Atomically: store the message, mark (sender, client_id) as used until
        ``now + idempotency_ttl``, update both conversation summaries (the
        recipient's unread count + 1; ``last`` only moves to a newer id).
        A (sender, client_id) whose mark is unexpired at ``now`` returns
        DUPLICATE with the earlier message and changes nothing; an unknown
        recipient returns NO_SUCH_USER. When the recipient blocks the sender,
        the message is stored ``withheld`` (the result's message says so): the
        sender's summary moves, the recipient's is untouched. The message's
        ``attachment`` (issue 14) is stored with it and in both summaries' ``last``;
        ``edit_message`` and ``set_reaction`` keep it, ``delete_message`` drops it."""
        ...

    def history(
        self, a: str, b: str, before: str | None, limit: int
    ) -> tuple[list[Message], bool]:
        """Up to ``limit`` messages between a and b with id < ``before``,
        oldest first, and whether older ones exist (``rules.history_page``),
        as ``a`` sees them: messages withheld from ``a`` are left out."""
        ...

    def conversations(self, username: str) -> list[Conversation]:
        """The user's conversations, newest last message first."""
        ...

    def mark_read(self, username: str, other: str, up_to: str) -> ReadMark | None:
        """Atomically move the user's read pointer in the conversation with
        ``other`` forward to ``up_to``, clamped to the conversation's last
        message (``rules.read_pointer``), recount unread messages after it, and
        move ``other``'s ``their_read_up_to`` forward likewise. Returns the
        pointer and whether this call moved it (of concurrent identical calls,
        exactly one has ``advanced``); None when there is no such conversation."""
        ...

    def conversations_page(
        self, username: str, before: str | None, limit: int
    ) -> tuple[list[Conversation], bool]:
        """Up to ``limit`` of the user's conversations whose last message id is
        < ``before``, newest last message first, and whether more follow
        (``rules.conversation_page``)."""
        ...

    # sessions ended per user, rate limits (issue 11)
    def set_password(
        self, username: str, password_hash: str, *, sessions_valid_from: float
    ) -> None:
        """Replace the user's password hash and revoke their sessions issued
        before ``sessions_valid_from``, in one write."""
        ...

    def revoke_sessions(self, username: str, *, valid_from: float) -> None:
        """Revoke every session of the user issued before ``valid_from`` (one
        write: sessions are checked against it at resume, never scanned)."""
        ...

    def hit(self, key: str, now: float, window: float) -> Counts:
        """Add one to ``key``'s count for the fixed window holding ``now``
        (``ratelimit.window_index``), atomically, and return it with the
        previous window's count. Older windows may be forgotten."""
        ...

    def clear_hits(self, key: str) -> None:
        """Forget every count of ``key``."""
        ...

    # edit, delete, react, block (issue 13)
    def find_message(self, username: str, message_id: str) -> Message | None:
        """The message with this id in one of ``username``'s conversations
        (sent or received); None when there is none, or it is withheld from
        ``username`` (a message of someone they block)."""
        ...

    def edit_message(self, message: Message, text: str, edited_at: str) -> Message | None:
        """Set the stored message's text and ``edited_at`` (both summaries'
        ``last`` show it); None when it is gone or deleted."""
        ...

    def delete_message(self, message: Message) -> Message:
        """Make the stored message a tombstone (``deleted``, no text, no
        reactions; ``edited_at`` kept), summaries included; idempotent."""
        ...

    def set_reaction(self, message: Message, username: str, emoji: str) -> Message | None:
        """Set (``emoji``) or clear (``""``) ``username``'s one reaction to the
        stored message; None when it is gone or deleted."""
        ...

    def block(self, owner: str, other: str) -> bool:
        """``owner`` blocks ``other`` (idempotent, atomic on both sides);
        False when ``other`` does not exist."""
        ...

    def unblock(self, owner: str, other: str) -> None:
        """Lift ``owner``'s block of ``other`` (idempotent)."""
        ...

    def blocks_of(self, username: str) -> Blocks:
        """Whom ``username`` blocks and who blocks them."""
        ...

    def reachable(
        self, sender: str, usernames: list[str], *, now: float
    ) -> dict[str, frozenset[str]]:
        """``connections_of``, but a user with a block between them and
        ``sender`` (either way) maps to empty: who a push from ``sender`` may reach."""
        ...

    # attachments (issue 14)
    def put_upload(self, upload: Upload) -> None:
        """Record a new upload (its id is fresh and random)."""
        ...

    def get_upload(self, upload_id: str, *, now: float) -> Upload | None:
        """The upload; None when unknown, or unattached and expired by ``now``."""
        ...

    def claim_upload(
        self, upload_id: str, owner: str, client_id: str, *, now: float
    ) -> Upload | None:
        """Atomically mark ``owner``'s upload as attached by their send ``client_id``
        (no longer expiring); the same ``client_id`` may claim it again (a retried
        send). None when unknown, another's, expired unattached, or claimed by another
        send."""
        ...

    def release_upload(self, upload_id: str, client_id: str, *, expires_at: float) -> None:
        """Undo ``client_id``'s claim (its send stored nothing): unattached again,
        expiring at ``expires_at``. Nothing happens when another send holds it."""
        ...

    def delete_upload(self, upload_id: str) -> None:
        """Forget the upload (its message was deleted); idempotent."""
        ...
