"""A small WebSocket chat client for the fault suite: sign in, send with a window of
unacknowledged messages, and read a whole conversation's history."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from websockets.asyncio.client import ClientConnection, connect

PASSWORD = "fault-password"
REPLY_TIMEOUT = 20.0


async def sign_in(url: str, username: str, action: str = "register") -> ClientConnection:
    ws = await connect(url, compression=None, max_queue=None, ping_interval=None,
                       open_timeout=20, close_timeout=3)
    await ws.send(json.dumps({"action": action, "username": username, "password": PASSWORD}))
    reply = await next_of(ws, "welcome", "error")
    assert reply["type"] == "welcome", f"{action} {username}: {reply}"
    return ws


async def next_of(ws: ClientConnection, *types: str) -> dict[str, Any]:
    """The next frame of one of ``types``; others (presence, pushes) are skipped."""
    while True:
        frame = json.loads(await asyncio.wait_for(ws.recv(), REPLY_TIMEOUT))
        if frame.get("type") in types:
            return dict(frame)


def send_frame(to: str, client_id: str) -> str:
    return json.dumps({"action": "send", "to": to, "text": f"text of {client_id}",
                       "client_id": client_id})


async def history(ws: ClientConnection, other: str) -> list[dict[str, Any]]:
    """Every message with ``other``, oldest first, following ``before`` pages.
    Only for a connection whose reader is not running."""
    messages: list[dict[str, Any]] = []
    before: str | None = None
    while True:
        request: dict[str, Any] = {"action": "history", "with": other, "limit": 100}
        if before:
            request["before"] = before
        await ws.send(json.dumps(request))
        page = await next_of(ws, "history", "error")
        assert page["type"] == "history", page
        messages[:0] = page["messages"]
        if not page["more"] or not page["messages"]:
            return messages
        before = page["messages"][0]["id"]
