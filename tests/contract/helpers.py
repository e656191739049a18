"""Record builders shared by the contract tests."""

from __future__ import annotations

import time

from chalicelib.ids import iso_timestamp, message_id
from chalicelib.model import Connection, Message, SaveOutcome, Store, User


def now() -> float:
    """The time the stores are told (the core's clock, in production)."""
    return time.time()


class Factory:
    """Builds records for tests: users, connections, messages with ids that
    increase by one millisecond per message."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._ms = int(time.time() * 1000)
        self._n = 0

    def users(self, *names: str) -> None:
        for name in names:
            assert self.store.create_user(User(name, f"hash-of-{name}", time.time()))

    def message(self, sender: str, recipient: str, text: str = "", client_id: str = "") -> Message:
        self._ms += 1
        self._n += 1
        now = self._ms / 1000
        return Message(
            id=message_id(now, self._n),
            sender=sender,
            recipient=recipient,
            text=text or f"message {self._n}",
            ts=iso_timestamp(now),
            client_id=client_id or f"client-{self._n}",
        )

    def send(self, sender: str, recipient: str, text: str = "", client_id: str = "") -> Message:
        message = self.message(sender, recipient, text, client_id)
        result = self.store.save_message(message, 3600, now=now())
        assert result.outcome is SaveOutcome.STORED, result
        return message

    @staticmethod
    def connection(connection_id: str, username: str, lifetime: float = 7200) -> Connection:
        now = time.time()
        return Connection(connection_id, username, f"token-{username}", now, now + lifetime)
