"""In-memory implementation of the Store: the reference for the contract suite
and the fast store of the core's unit tests. Thread-safe (one lock); its data
lives and dies with the object.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, replace
from typing import Any

from chalicelib import rules
from chalicelib.model import (
    Blocks,
    Connection,
    Conversation,
    Message,
    ReadMark,
    SaveOutcome,
    SaveResult,
    Session,
    Unbound,
    Upload,
    User,
)
from chalicelib.ratelimit import Counts, window_index


@dataclass
class _Summary:
    """One person's summary of a conversation."""

    last_id: str
    unread: int = 0
    read_up_to: str = ""
    their_read_up_to: str = ""


@dataclass(frozen=True)
class _Mark:
    """A used (sender, client_id), until ``expires_at``."""

    message: Message
    expires_at: float


class MemoryStore:
    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._users: dict[str, User] = {}
        self._sessions: dict[str, Session] = {}
        self._connections: dict[str, Connection] = {}
        # conversation key -> message id -> message
        self._messages: dict[str, dict[str, Message]] = {}
        self._marks: dict[tuple[str, str], _Mark] = {}
        # (owner, other) -> summary
        self._summaries: dict[tuple[str, str], _Summary] = {}
        # rate-limit key -> fixed window number -> hits
        self._hits: dict[str, dict[int, int]] = {}
        # owner -> the usernames they block
        self._blocks: dict[str, set[str]] = {}
        self._uploads: dict[str, Upload] = {}

    # accounts

    def create_user(self, user: User) -> bool:
        with self._lock:
            if user.username in self._users:
                return False
            self._users[user.username] = user
            return True

    def get_user(self, username: str) -> User | None:
        with self._lock:
            return self._users.get(username)

    def search_users(self, prefix: str, limit: int, *, now: float) -> list[tuple[str, bool]]:
        with self._lock:
            names = sorted(name for name in self._users if name.startswith(prefix))[:limit]
            return [(name, bool(self._open_connections(name, now))) for name in names]

    # sessions

    def put_session(self, session: Session) -> None:
        with self._lock:
            self._sessions[session.token_hash] = session

    def get_session(self, token_hash: str, *, now: float) -> Session | None:
        with self._lock:
            session = self._sessions.get(token_hash)
        return session if session is not None and session.expires_at > now else None

    def delete_session(self, token_hash: str) -> None:
        with self._lock:
            self._sessions.pop(token_hash, None)

    # connections

    def bind_connection(self, connection: Connection, *, now: float) -> frozenset[str]:
        with self._lock:
            self._connections[connection.connection_id] = connection
            return self._open_connections(connection.username, now)

    def _open_connections(self, username: str, now: float) -> frozenset[str]:
        return frozenset(
            c.connection_id
            for c in self._connections.values()
            if c.username == username and c.expires_at > now
        )

    def get_connection(self, connection_id: str, *, now: float) -> Connection | None:
        with self._lock:
            connection = self._connections.get(connection_id)
        return connection if connection is not None and connection.expires_at > now else None

    def unbind_connection(self, connection_id: str, *, now: float) -> Unbound | None:
        with self._lock:
            connection = self._connections.pop(connection_id, None)
            if connection is None:
                return None
            return Unbound(connection, self._open_connections(connection.username, now))

    def connections_of(
        self, usernames: list[str], *, now: float
    ) -> dict[str, frozenset[str]]:
        with self._lock:
            return {name: self._open_connections(name, now) for name in usernames}

    # messages

    def save_message(
        self, message: Message, idempotency_ttl: float, *, now: float
    ) -> SaveResult:
        mark_key = (message.sender, message.client_id)
        conversation = rules.conversation_key(message.sender, message.recipient)
        with self._lock:
            mark = self._marks.get(mark_key)
            if mark is not None and mark.expires_at > now:
                return SaveResult(SaveOutcome.DUPLICATE, mark.message)
            if message.recipient not in self._users:
                return SaveResult(SaveOutcome.NO_SUCH_USER)
            if message.sender in self._blocks.get(message.recipient, ()):
                message = replace(message, withheld=True)
            self._messages.setdefault(conversation, {})[message.id] = message
            self._marks[mark_key] = _Mark(message, now + idempotency_ttl)
            for owner, other, unread in (
                (message.sender, message.recipient, 0),
                (message.recipient, message.sender, 1),
            ):
                if message.withheld and owner == message.recipient:
                    continue
                summary = self._summaries.setdefault((owner, other), _Summary(message.id))
                summary.last_id = max(summary.last_id, message.id)
                summary.unread += unread
        return SaveResult(SaveOutcome.STORED, message)

    def history(
        self, a: str, b: str, before: str | None, limit: int
    ) -> tuple[list[Message], bool]:
        with self._lock:
            messages = self._messages.get(rules.conversation_key(a, b), {})
            ids = sorted(
                (
                    i
                    for i, m in messages.items()
                    if (before is None or i < before) and not (m.withheld and m.recipient == a)
                ),
                reverse=True,
            )
            newest_first = [messages[i] for i in ids[: rules.history_fetch_size(limit)]]
        return rules.history_page(newest_first, limit)

    def conversations(self, username: str) -> list[Conversation]:
        with self._lock:
            found = [
                Conversation(
                    other=other,
                    last=self._messages[rules.conversation_key(owner, other)][summary.last_id],
                    unread=summary.unread,
                    read_up_to=summary.read_up_to,
                    their_read_up_to=summary.their_read_up_to,
                )
                for (owner, other), summary in self._summaries.items()
                if owner == username
            ]
        found.sort(key=lambda c: c.last.id, reverse=True)
        return found

    def mark_read(self, username: str, other: str, up_to: str) -> ReadMark | None:
        with self._lock:
            summary = self._summaries.get((username, other))
            if summary is None:
                return None
            pointer = rules.read_pointer(summary.read_up_to, up_to, summary.last_id)
            advanced = pointer != summary.read_up_to
            messages = self._messages.get(rules.conversation_key(username, other), {}).values()
            summary.read_up_to = pointer
            summary.unread = sum(
                1 for m in messages if m.sender == other and m.id > pointer and not m.withheld
            )
            peer = self._summaries.get((other, username))
            if peer is not None:
                peer.their_read_up_to = rules.advance_read_pointer(peer.their_read_up_to, pointer)
        return ReadMark(pointer, advanced)

    def conversations_page(
        self, username: str, before: str | None, limit: int
    ) -> tuple[list[Conversation], bool]:
        return rules.conversation_page(self.conversations(username), before, limit)

    # sessions ended per user, rate limits

    def set_password(
        self, username: str, password_hash: str, *, sessions_valid_from: float
    ) -> None:
        with self._lock:
            user = self._users.get(username)
            if user is not None:
                self._users[username] = replace(
                    user, password_hash=password_hash, sessions_valid_from=sessions_valid_from
                )

    def revoke_sessions(self, username: str, *, valid_from: float) -> None:
        with self._lock:
            user = self._users.get(username)
            if user is not None:
                self._users[username] = replace(user, sessions_valid_from=valid_from)

    def hit(self, key: str, now: float, window: float) -> Counts:
        index = window_index(now, window)
        with self._lock:
            counts = self._hits.setdefault(key, {})
            for old in [i for i in counts if i < index - 1]:
                del counts[old]
            counts[index] = counts.get(index, 0) + 1
            return Counts(counts[index], counts.get(index - 1, 0))

    def clear_hits(self, key: str) -> None:
        with self._lock:
            self._hits.pop(key, None)

    # edit, delete, react, block (issue 13)

    def find_message(self, username: str, message_id: str) -> Message | None:
        with self._lock:
            for owner, other in self._summaries:
                if owner != username:
                    continue
                conversation = self._messages.get(rules.conversation_key(owner, other), {})
                message = conversation.get(message_id)
                if message is not None:
                    hidden = message.withheld and message.recipient == username
                    return None if hidden else message
        return None

    def _change(self, message: Message, **changes: Any) -> Message | None:
        """Replace fields of the stored message; None when it is gone or deleted."""
        with self._lock:
            conversation = self._messages.get(
                rules.conversation_key(message.sender, message.recipient), {}
            )
            stored = conversation.get(message.id)
            if stored is None or stored.deleted:
                return None
            changed = replace(stored, **changes)
            conversation[message.id] = changed
            return changed

    def edit_message(self, message: Message, text: str, edited_at: str) -> Message | None:
        return self._change(message, text=text, edited_at=edited_at)

    def delete_message(self, message: Message) -> Message:
        tombstone: dict[str, Any] = {
            "text": "",
            "deleted": True,
            "reactions": (),
            "attachment": None,
        }
        return self._change(message, **tombstone) or replace(message, **tombstone)

    def set_reaction(self, message: Message, username: str, emoji: str) -> Message | None:
        with self._lock:
            conversation = self._messages.get(
                rules.conversation_key(message.sender, message.recipient), {}
            )
            stored = conversation.get(message.id)
            if stored is None or stored.deleted:
                return None
            others = tuple(r for r in stored.reactions if r[0] != username)
            mine = ((username, emoji),) if emoji else ()
            return self._change(stored, reactions=tuple(sorted(others + mine)))

    def block(self, owner: str, other: str) -> bool:
        with self._lock:
            if other not in self._users:
                return False
            self._blocks.setdefault(owner, set()).add(other)
            return True

    def unblock(self, owner: str, other: str) -> None:
        with self._lock:
            self._blocks.get(owner, set()).discard(other)

    def blocks_of(self, username: str) -> Blocks:
        with self._lock:
            return Blocks(
                frozenset(self._blocks.get(username, ())),
                frozenset(o for o, names in self._blocks.items() if username in names),
            )

    def reachable(
        self, sender: str, usernames: list[str], *, now: float
    ) -> dict[str, frozenset[str]]:
        with self._lock:
            blocks = self.blocks_of(sender)
            return {
                name: frozenset() if blocks.either_way(name) else self._open_connections(name, now)
                for name in usernames
            }

    # attachments (issue 14)

    def put_upload(self, upload: Upload) -> None:
        with self._lock:
            self._uploads[upload.id] = upload

    def get_upload(self, upload_id: str, *, now: float) -> Upload | None:
        with self._lock:
            upload = self._uploads.get(upload_id)
        if upload is None or upload.expired(now):
            return None
        return upload

    def claim_upload(
        self, upload_id: str, owner: str, client_id: str, *, now: float
    ) -> Upload | None:
        with self._lock:
            upload = self.get_upload(upload_id, now=now)
            if upload is None or upload.owner != owner:
                return None
            if upload.client_id not in ("", client_id):
                return None
            claimed = replace(upload, client_id=client_id)
            self._uploads[upload_id] = claimed
            return claimed

    def release_upload(self, upload_id: str, client_id: str, *, expires_at: float) -> None:
        with self._lock:
            upload = self._uploads.get(upload_id)
            if upload is not None and upload.client_id == client_id:
                self._uploads[upload_id] = replace(upload, client_id="", expires_at=expires_at)

    def delete_upload(self, upload_id: str) -> None:
        with self._lock:
            self._uploads.pop(upload_id, None)
