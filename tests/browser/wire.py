"""A plain WebSocket client for seeding conversations and checking what the server stored."""

from __future__ import annotations

import json
import uuid
from typing import Any

from websockets.sync.client import ClientConnection, connect

TIMEOUT = 10.0


class Client:
    """Use as a context manager: ``with Client(url) as client: ...``."""

    def __init__(self, ws_url: str) -> None:
        self._connect = connect(ws_url, open_timeout=TIMEOUT)
        self.ws: ClientConnection | None = None

    def __enter__(self) -> Client:
        self.ws = self._connect.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._connect.__exit__(*exc)

    def call(self, frame: dict[str, Any], reply_type: str) -> dict[str, Any]:
        """Sends a frame and returns its direct reply, skipping pushed frames."""
        assert self.ws is not None, "use Client as a context manager"
        self.ws.send(json.dumps(frame))
        while True:
            reply = json.loads(self.ws.recv(timeout=TIMEOUT))
            if reply["type"] == reply_type and "id" in frame and reply.get("id") != frame["id"]:
                continue  # the same kind of frame pushed for another message (edit, react...)
            if reply["type"] in (reply_type, "error"):
                assert reply["type"] == reply_type, reply
                return reply

    def register(self, username: str, password: str) -> dict[str, Any]:
        frame = {"action": "register", "username": username, "password": password}
        return self.call(frame, "welcome")

    def login(self, username: str, password: str) -> dict[str, Any]:
        return self.call({"action": "login", "username": username, "password": password}, "welcome")

    def send(self, to: str, text: str) -> dict[str, Any]:
        frame = {"action": "send", "to": to, "text": text, "client_id": uuid.uuid4().hex}
        return self.call(frame, "ack")

    def typing(self, to: str) -> None:
        """typing has no direct reply."""
        assert self.ws is not None
        self.ws.send(json.dumps({"action": "typing", "to": to}))

    def history(self, other: str, limit: int = 100, before: str | None = None) -> dict[str, Any]:
        frame: dict[str, Any] = {"action": "history", "with": other, "limit": limit}
        if before:
            frame["before"] = before
        return self.call(frame, "history")

    def all_messages(self, other: str) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        before = None
        while True:
            page = self.history(other, 100, before)
            found = page["messages"] + found
            if not page["more"] or not page["messages"]:
                return found
            before = page["messages"][0]["id"]
