"""Isolation through the chat core: 50 users in 25 pairs, two connections each,
exchange messages concurrently; each connection gets exactly its own frames."""

from __future__ import annotations

import json
import threading
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from chalicelib.auth import ScryptCost
from chalicelib.chat import Chat, ChatConfig, Outcome
from chalicelib.model import Store

PAIRS = 25
MESSAGES_PER_PAIR = 6


class Capture:
    """Every frame the core addressed to each connection, in order (thread-safe)."""

    def __init__(self, chat: Chat) -> None:
        self.chat = chat
        self.inbox: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self._lock = threading.Lock()

    def frame(self, connection_id: str, **frame: Any) -> dict[str, Any]:
        """Send a client frame; return the direct reply."""
        outcome: Outcome = self.chat.receive(connection_id, json.dumps(frame))
        with self._lock:
            for item in outcome.frames:
                self.inbox[item.connection_id].append(item.frame)
        replies = [f.frame for f in outcome.frames if f.connection_id == connection_id]
        assert len(replies) == 1, replies
        return replies[0]


def test_fifty_users_see_only_their_own_conversation(make_store: Callable[[], Store]) -> None:
    stores = [make_store() for _ in range(4)]
    chats = [Chat(store, ChatConfig(scrypt_cost=ScryptCost(1024, 8, 1))) for store in stores]
    captures = [Capture(chat) for chat in chats]
    pairs = [(f"user{2 * i:02d}", f"user{2 * i + 1:02d}") for i in range(PAIRS)]
    partner = {a: b for a, b in pairs} | {b: a for a, b in pairs}

    def sign_in(index: int, name: str) -> None:
        capture = captures[index % len(captures)]
        welcome = capture.frame(f"{name}-1", action="register", username=name, password="pw-" * 4)
        assert welcome["type"] == "welcome", welcome
        welcome = capture.frame(f"{name}-2", action="login", username=name, password="pw-" * 4)
        assert welcome["type"] == "welcome", welcome

    # expected frames per connection, and the messages of each pair in order
    expected: dict[str, list[dict[str, Any]]] = defaultdict(list)
    exchanged: dict[tuple[str, str], list[dict[str, Any]]] = {}

    def converse(index: int) -> None:
        capture = captures[index % len(captures)]
        a, b = pairs[index]
        log: list[dict[str, Any]] = []
        for i in range(MESSAGES_PER_PAIR):
            sender, recipient = (a, b) if i % 2 == 0 else (b, a)
            origin, other = (f"{sender}-1", f"{sender}-2") if i % 3 else (
                f"{sender}-2",
                f"{sender}-1",
            )
            client_id = f"{sender}-{i}"
            text = f"private note {i} from {sender} to {recipient}"
            ack = capture.frame(origin, action="send", to=recipient, text=text, client_id=client_id)
            assert ack["type"] == "ack", ack
            message = {
                "id": ack["id"],
                "from": sender,
                "to": recipient,
                "text": text,
                "ts": ack["ts"],
                "client_id": client_id,
            }
            log.append(message)
            pushed = {"type": "message", **message}
            for connection in (f"{recipient}-1", f"{recipient}-2", other):
                expected[connection].append(pushed)
        exchanged[(a, b)] = log

    with ThreadPoolExecutor(6) as pool:
        list(pool.map(lambda args: sign_in(*args), enumerate(partner)))
        for capture in captures:
            capture.inbox.clear()  # welcomes checked above
        list(pool.map(converse, range(PAIRS)))

    received: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for capture in captures:
        for connection, frames in capture.inbox.items():
            received[connection].extend(frames)
    for name in partner:
        for connection in (f"{name}-1", f"{name}-2"):
            frames = received.pop(connection, [])
            pushed = [f for f in frames if f["type"] != "ack"]
            acks = [f for f in frames if f["type"] == "ack"]
            assert pushed == expected[connection], connection
            assert all(f["client_id"].startswith(f"{name}-") for f in acks), connection
    assert not received, f"frames for unknown connections: {sorted(received)}"

    # histories: each pair sees exactly its own messages; nobody sees another pair's
    capture = captures[0]
    for (a, b), log in exchanged.items():
        for me, other in ((a, b), (b, a)):
            history = capture.frame(f"{me}-1", action="history", **{"with": other})
            assert history == {"type": "history", "with": other, "messages": log, "more": False}
        stranger = partner[pairs[(pairs.index((a, b)) + 1) % PAIRS][0]]
        history = capture.frame(f"{a}-1", action="history", **{"with": stranger})
        assert history["messages"] == []
        conversations = capture.frame(f"{b}-2", action="conversations")
        assert [item["with"] for item in conversations["items"]] == [a]
        assert conversations["items"][0]["last"] == log[-1]
        assert conversations["items"][0]["unread"] == MESSAGES_PER_PAIR // 2
