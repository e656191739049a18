"""The chat a user has after a deploy, over the deployed WebSocket URL: two people sign up,
talk both ways, a retry is idempotent, history and conversations agree, a reconnect with
`resume` works and $disconnect clears the connection. Returns when the first message
made its round trip, for `python -m bench deploy`."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

from tests.e2e.conftest import Client
from tests.e2e.uploads import download, post_file

TIMEOUT = 30  # MiniStack starts a Lambda worker on the first event of each function


async def _open(url: str) -> Client:
    return await Client.open(url)


async def chat(url: str) -> float:
    """Runs the whole conversation; returns seconds to the first message round trip."""
    tag = uuid.uuid4().hex[:8]
    alice_name, bob_name = f"a{tag}", f"b{tag}"
    started = time.monotonic()
    alice = await (await _open(url)).register(alice_name)
    bob = await (await _open(url)).register(bob_name)

    await alice.send(action="send", to=bob_name, text="hello bob", client_id="a1")
    ack = await alice.expect("ack", TIMEOUT, client_id="a1")
    got = await bob.expect("message", TIMEOUT, id=ack["id"])
    first_round_trip = time.monotonic() - started
    assert (got["from"], got["to"], got["text"]) == (alice_name, bob_name, "hello bob")

    await bob.send(action="send", to=alice_name, text="hi alice", client_id="b1")
    reply_ack = await bob.expect("ack", TIMEOUT, client_id="b1")
    assert (await alice.expect("message", TIMEOUT, id=reply_ack["id"]))["text"] == "hi alice"

    # A file goes through the stack's bucket: presigned POST, then a presigned GET.
    await _exchange_a_file(alice, bob, url)

    # A retry with the same client_id is acknowledged with the same id, stored once.
    await alice.send(action="send", to=bob_name, text="hello bob", client_id="a1")
    assert (await alice.expect("ack", TIMEOUT, client_id="a1"))["id"] == ack["id"]

    history = await alice.call("history", "history", **{"with": bob_name})
    assert [m["id"] for m in history["messages"]][:2] == [ack["id"], reply_ack["id"]]
    conversations = await bob.call("conversations", "conversations")
    (item,) = conversations["items"]
    assert item["with"] == alice_name and item["online"] is True
    assert _unsigned(item["last"]) == _unsigned(history["messages"][-1])

    # Bob reconnects with his token; Alice's message sent meanwhile waits in history.
    await bob.close()
    assert await _goes_offline(alice), "$disconnect left bob's connection in place"
    await alice.send(action="send", to=bob_name, text="while you were away", client_id="a2")
    away = await alice.expect("ack", TIMEOUT, client_id="a2")
    again = await _open(url)
    welcome = await again.call("resume", "welcome", token=bob.token)
    assert welcome["username"] == bob_name
    later = await again.call("history", "history", **{"with": alice_name})
    assert later["messages"][-1]["id"] == away["id"]
    await again.close()
    await alice.close()
    return first_round_trip


FILE = b"%PDF-1.7\n" + bytes(range(256)) * 8 + b"\n%%EOF\n"


async def _exchange_a_file(alice: Client, bob: Client, url: str) -> None:
    offer = await alice.call("upload", "upload", name="plan.pdf", type="application/pdf",
                             size=len(FILE), client_id="f1")
    posted = await asyncio.to_thread(post_file, url, offer, FILE, "application/pdf")
    assert posted.status_code in (200, 201, 204), posted.text
    await alice.send(action="send", to=bob.username, text="the plan", client_id="a-file",
                     attachment=offer["upload_id"])
    ack = await alice.expect("ack", TIMEOUT, client_id="a-file")
    got = await bob.expect("message", TIMEOUT, id=ack["id"])
    attachment = got["attachment"]
    assert (attachment["name"], attachment["size"]) == ("plan.pdf", len(FILE))
    fetched = await asyncio.to_thread(download, url, attachment["url"])
    assert fetched.status_code == 200 and fetched.content == FILE
    assert fetched.headers["Content-Disposition"].startswith("attachment")


def _unsigned(message: dict[str, Any]) -> dict[str, Any]:
    """The message without its download URL, which is signed afresh for every frame."""
    if "attachment" not in message:
        return message
    return {**message, "attachment": {k: v for k, v in message["attachment"].items()
                                      if k != "url"}}


async def _goes_offline(watcher: Client, wait: float = TIMEOUT) -> bool:
    """Whether the watcher's only contact shows offline within ``wait`` seconds
    ($disconnect runs after the close, asynchronously)."""
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        items = (await watcher.call("conversations", "conversations"))["items"]
        if items[0]["online"] is False:
            return True
        await asyncio.sleep(0.2)
    return False


def run_chat(url: str, timeout: float = 180) -> float:
    return asyncio.run(asyncio.wait_for(chat(url), timeout))
