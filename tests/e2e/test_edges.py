"""Issue 11 "replies & inputs" end to end: the real app behind the real local gateway
(which refuses posts over 128 KB as API Gateway does), on SQLite and DynamoDB (moto).

Largest possible messages fill ``history`` pages of 100 and every reply arrives under
the limit; ``conversations`` with 1,000 partners pages within it; a reply the gateway
still refuses is answered ``too_large``; look-alike names, client_id reuse, ``read``
clamping and pushes, and lone surrogates in fields each get their one reply.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from chalicelib import budget
from chalicelib.ids import MessageIds, iso_timestamp
from chalicelib.model import Message, User
from chalicelib.store.sqlite import SQLiteStore
from tests.e2e.conftest import PASSWORD, Client, Gateway, names, run, store_env

ESCAPED = "\x01" * 4000  # 6 bytes a character in JSON
EMOJI = "\U0001f600" * 4000  # 4 bytes a character in UTF-8


class Raw:
    """Reads a client's frames with their size on the wire."""

    def __init__(self, client: Client) -> None:
        self.client = client

    async def reply(self, timeout: float = 30, **frame: Any) -> tuple[dict[str, Any], int]:
        """Sends ``frame``; returns the next frame of this connection and its size."""
        await self.client.ws.send(json.dumps(frame))
        raw = await asyncio.wait_for(self.client.ws.recv(), timeout)
        data = raw.encode() if isinstance(raw, str) else raw
        return json.loads(data), len(data)


@pytest.mark.parametrize("text", [ESCAPED, EMOJI], ids=["escaped", "emoji"])
def test_history_pages_of_100_largest_messages_arrive_within_the_limit(
    chat_gateway: Gateway, text: str
) -> None:
    alice_name, bob_name = names(2)

    async def body() -> None:
        alice = await (await Client.open(chat_gateway.ws_url)).register(alice_name)
        bob = await (await Client.open(chat_gateway.ws_url)).register(bob_name)
        for n in range(100):
            await bob.send(action="send", to=alice_name, text=text, client_id=f"k{n}")
            await bob.expect("ack", client_id=f"k{n}", timeout=30)
        await asyncio.sleep(0.2)
        await alice.drain(0.2)  # the pushed messages
        raw = Raw(alice)
        seen: list[str] = []
        before: str | None = None
        while True:
            frame: dict[str, Any] = {"action": "history", "with": bob_name, "limit": 100}
            if before:
                frame["before"] = before
            reply, size = await raw.reply(**frame)
            assert reply["type"] == "history", reply
            assert size <= budget.DEFAULT_BUDGET
            assert reply["messages"]
            seen[:0] = [m["id"] for m in reply["messages"]]
            if not reply["more"]:
                break
            before = reply["messages"][0]["id"]
        assert len(seen) == len(set(seen)) == 100
        assert seen == sorted(seen)
        await alice.close()
        await bob.close()

    run(body(), timeout=240)


def fill_conversations(path: Path, owner: str, count: int, text: str) -> None:
    """``count`` partners who each sent ``owner`` the largest message, written
    straight into the gateway's SQLite file (signing up 1,000 people through the
    socket would only measure scrypt)."""
    store = SQLiteStore(str(path))
    ids = MessageIds()
    now = time.time()
    for n in range(count):
        partner = f"{owner}p{n:04d}"
        store.create_user(User(partner, "unused", now))
        moment = now + n / 1000
        message = Message(ids(moment), partner, owner, text, iso_timestamp(moment), f"k{n}")
        store.save_message(message, 3600, now=now)


def test_conversations_with_1000_partners_page_within_the_limit(
    start_gateway: Callable[..., Gateway], tmp_path: Path
) -> None:
    (alice_name,) = names(1)
    gateway = start_gateway(store_env("sqlite", tmp_path, None, None), workdir=tmp_path)

    async def body() -> None:
        alice = await (await Client.open(gateway.ws_url)).register(alice_name)
        fill_conversations(tmp_path / "chat.db", alice_name, 1000, ESCAPED)
        raw = Raw(alice)
        # an old client, sending neither field, gets the first page
        first, size = await raw.reply(action="conversations")
        assert first["type"] == "conversations" and size <= budget.DEFAULT_BUDGET
        assert first["more"] is True and first["next"] == first["items"][-1]["last"]["id"]
        partners: list[str] = []
        before: str | None = None
        while True:
            frame: dict[str, Any] = {"action": "conversations", "limit": 100}
            if before:
                frame["before"] = before
            reply, size = await raw.reply(**frame)
            assert reply["type"] == "conversations", reply
            assert size <= budget.DEFAULT_BUDGET
            partners.extend(item["with"] for item in reply["items"])
            if not reply["more"]:
                assert reply["next"] is None
                break
            before = reply["next"]
        assert partners == [f"{alice_name}p{n:04d}" for n in reversed(range(1000))]
        await alice.close()

    run(body(), timeout=300)


def test_a_reply_the_gateway_refuses_is_answered_too_large(
    start_gateway: Callable[..., Gateway], tmp_path: Path
) -> None:
    """A gateway whose limit is under the app's budget (a misconfiguration) still
    gives the caller exactly one reply."""
    alice_name, bob_name = names(2)
    env = {**store_env("sqlite", tmp_path, None, None), "LOCALGW_MAX_MESSAGE_BYTES": "20000"}
    gateway = start_gateway(env, workdir=tmp_path)

    async def body() -> None:
        alice = await (await Client.open(gateway.ws_url)).register(alice_name)
        bob = await (await Client.open(gateway.ws_url)).register(bob_name)
        for n in range(6):
            await bob.send(action="send", to=alice_name, text="x" * 4000, client_id=f"k{n}")
            await bob.expect("ack", client_id=f"k{n}")
        await alice.drain(0.3)
        raw = Raw(alice)
        reply, _ = await raw.reply(action="history", **{"with": bob_name})
        assert reply["type"] == "error" and reply["code"] == "too_large", reply
        assert reply["action"] == "history"
        pong, _ = await raw.reply(action="ping")  # nothing else was queued
        assert pong == {"type": "pong"}
        await alice.close()
        await bob.close()

    run(body())
    deadline = time.monotonic() + 5
    while '"outcome":"undelivered"' not in gateway.log() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert '"outcome":"undelivered"' in gateway.log()


def test_look_alikes_reuse_reads_and_surrogates(chat_gateway: Gateway) -> None:
    alice_name, bob_name, carol_name = names(3)

    async def body() -> None:
        alice = await (await Client.open(chat_gateway.ws_url)).register(alice_name)
        bob = await (await Client.open(chat_gateway.ws_url)).register(bob_name)
        await (await Client.open(chat_gateway.ws_url)).register(carol_name)
        stranger = await Client.open(chat_gateway.ws_url)

        # look-alike names
        for name in (f"{bob_name}\n", f"\u212a{bob_name[1:]}"):
            reply = await stranger.call("register", "error", username=name, password=PASSWORD)
            assert reply["code"] == "invalid"
        refused = await stranger.call(
            "login", "error", username=f"{bob_name}\n", password=PASSWORD
        )
        assert refused["code"] == "bad_credentials"

        # client_id reuse
        await alice.send(action="send", to=bob_name, text="hi", client_id="c1")
        ack = await alice.expect("ack", client_id="c1")
        await alice.send(action="send", to=carol_name, text="hi", client_id="c1")
        error = await alice.expect("error", client_id="c1")
        assert error["code"] == "invalid"
        assert error["message"] == "client_id already used for another message"

        # read: clamped, pushed once however often repeated
        await bob.drain(0.3)
        future = "7ZZZZZZZZZZZZZZZZZZZZZZZZZ"
        for _ in range(50):
            await bob.send(action="read", up_to=future, **{"with": alice_name})
        for _ in range(50):
            assert (await bob.expect("read"))["up_to"] == ack["id"]
        receipts = [f for f in await alice.drain(0.5) if f["type"] == "read"]
        assert receipts == [
            {"type": "read", "by": bob_name, "with": alice_name, "up_to": ack["id"]}
        ]

        # lone surrogates: each frame gets its one reply, nothing echoed unencodable
        frames = [
            '{"action": "ping", "client_id": "\\ud800"}',
            '{"action": "\\ud800", "client_id": "k"}',
            '{"action": "send", "to": "' + bob_name + '", "text": "a\\udc00", "client_id": "s1"}',
            '{"action": "users", "query": "\\ud800"}',
            '{"action": "send", "to": "' + bob_name + '", "text": "hi", "client_id": "\\ud800"}',
        ]
        replies = []
        for raw in frames:
            await alice.ws.send(raw)
            replies.append(json.loads(await asyncio.wait_for(alice.ws.recv(), 10)))
        assert replies[0] == {"type": "pong"}
        assert [r["code"] for r in replies[1:]] == ["invalid"] * 4
        assert "action" not in replies[1] and replies[1]["client_id"] == "k"
        assert "client_id" not in replies[4]
        assert [f for f in await bob.drain(0.3) if f["type"] == "message"] == []
        for client in (alice, bob, stranger):
            await client.close()

    run(body())
