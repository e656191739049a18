"""Fixtures for the unit and handler suites: a chat core on the in-memory
reference store with an adjustable clock, and a driver that sends frames and
collects what comes out."""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

import pytest

from chalicelib.auth import ScryptCost
from chalicelib.chat import Chat, ChatConfig, Outcome
from chalicelib.store.memory import MemoryStore


class Clock:
    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class Driver:
    """Feeds frames to a Chat and keeps every frame each connection received."""

    def __init__(self, chat: Chat) -> None:
        self.chat = chat
        self.inbox: dict[str, list[dict[str, Any]]] = defaultdict(list)

    def _collect(self, outcome: Outcome) -> Outcome:
        for item in outcome.frames:
            self.inbox[item.connection_id].append(item.frame)
        return outcome

    def raw(self, connection_id: str, raw: str | bytes) -> Outcome:
        return self._collect(self.chat.receive(connection_id, raw))

    def send(self, connection_id: str, **frame: Any) -> dict[str, Any]:
        """Send a frame; return the single direct reply (asserting there is one)."""
        before = len(self.inbox[connection_id])
        outcome = self.raw(connection_id, json.dumps(frame))
        own = [f.frame for f in outcome.frames if f.connection_id == connection_id]
        assert len(own) == 1, own
        del self.inbox[connection_id][before:]
        return own[0]

    def disconnect(self, connection_id: str) -> Outcome:
        return self._collect(self.chat.disconnect(connection_id))

    def take(self, connection_id: str) -> list[dict[str, Any]]:
        frames = self.inbox.pop(connection_id, [])
        return frames

    def sign_up(self, connection_id: str, username: str, password: str = "correct horse") -> str:
        reply = self.send(connection_id, action="register", username=username, password=password)
        assert reply["type"] == "welcome", reply
        return str(reply["token"])


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store() -> MemoryStore:
    return MemoryStore()


@pytest.fixture
def chat(store: MemoryStore, clock: Clock) -> Chat:
    return Chat(store, ChatConfig(scrypt_cost=ScryptCost(1024, 8, 1)), clock=clock)


@pytest.fixture
def driver(chat: Chat) -> Driver:
    return Driver(chat)
