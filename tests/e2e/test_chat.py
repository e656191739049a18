"""The real app end to end through the local gateway, on SQLite and on DynamoDB (moto):
sign-up, delivery, isolation, multi-device copies, offline delivery, unread counts, restarts."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.e2e.conftest import STORES, Client, Gateway, names, run, store_env


def test_sign_up_and_delivery(chat_gateway: Gateway) -> None:
    alice_name, bob_name = names(2)

    async def body() -> None:
        alice = await (await Client.open(chat_gateway.ws_url)).register(alice_name.upper())
        bob = await (await Client.open(chat_gateway.ws_url)).register(bob_name)
        assert alice.username == alice_name  # lower-cased
        assert alice.token and alice.token != bob.token

        taken = await bob.call("register", "error", username=alice_name, password="password-9")
        assert taken["code"] == "username_taken"

        await alice.send(action="send", to=bob_name, text="hello bob", client_id="c1")
        ack = await alice.expect("ack", client_id="c1")
        message = await bob.expect("message")
        assert message == {
            "type": "message",
            "id": ack["id"],
            "from": alice_name,
            "to": bob_name,
            "text": "hello bob",
            "ts": ack["ts"],
            "client_id": "c1",
        }
        # a retried send is acknowledged again but not delivered again
        await alice.send(action="send", to=bob_name, text="hello bob", client_id="c1")
        assert (await alice.expect("ack", client_id="c1"))["id"] == ack["id"]
        assert [f for f in await bob.drain() if f["type"] == "message"] == []
        await alice.close()
        await bob.close()

    run(body())


def test_isolation_between_users(chat_gateway: Gateway) -> None:
    users = names(4)

    async def body() -> None:
        clients = [await (await Client.open(chat_gateway.ws_url)).register(u) for u in users]
        a, b, c, d = clients
        sends = [(a, b, "a to b"), (b, c, "b to c"), (c, a, "c to a"), (a, c, "a to c")]
        for sender, recipient, text in sends:
            await sender.send(action="send", to=recipient.username, text=text, client_id=text)
            await sender.expect("ack", client_id=text)
        for client in clients:
            frames = await client.drain()
            received = sorted(f["text"] for f in frames if f["type"] == "message")
            expected = sorted(t for _, r, t in sends if r is client)
            assert received == expected, client.username
            for frame in frames:
                if frame["type"] == "message":
                    assert client.username in (frame["from"], frame["to"])
        # d talked to nobody: no history with anyone, no conversations
        history = await d.call("history", "history", **{"with": a.username})
        assert history["messages"] == []
        assert (await d.call("conversations", "conversations"))["items"] == []
        # b cannot read a's conversation with c
        history = await b.call("history", "history", **{"with": c.username})
        assert [m["text"] for m in history["messages"]] == ["b to c"]
        for client in clients:
            await client.close()

    run(body())


def test_every_device_gets_a_copy(chat_gateway: Gateway) -> None:
    alice_name, bob_name = names(2)

    async def body() -> None:
        alice1 = await (await Client.open(chat_gateway.ws_url)).register(alice_name)
        bob1 = await (await Client.open(chat_gateway.ws_url)).register(bob_name)
        alice2 = await (await Client.open(chat_gateway.ws_url)).login(alice_name)
        bob2 = await (await Client.open(chat_gateway.ws_url)).login(bob_name)

        await alice1.send(action="send", to=bob_name, text="to all devices", client_id="m1")
        ack = await alice1.expect("ack", client_id="m1")
        for device in (bob1, bob2, alice2):
            message = await device.expect("message", client_id="m1")
            assert message["id"] == ack["id"]
        # the sending device gets the ack, not a copy
        assert [f for f in await alice1.drain() if f["type"] == "message"] == []
        for device in (alice1, alice2, bob1, bob2):
            await device.close()

    run(body())


def test_offline_then_history(chat_gateway: Gateway) -> None:
    alice_name, bob_name = names(2)

    async def body() -> None:
        bob = await (await Client.open(chat_gateway.ws_url)).register(bob_name)
        await bob.close()
        alice = await (await Client.open(chat_gateway.ws_url)).register(alice_name)
        texts = [f"while you were away {i}" for i in range(5)]
        for i, text in enumerate(texts):
            await alice.send(action="send", to=bob_name, text=text, client_id=f"o{i}")
            await alice.expect("ack", client_id=f"o{i}")

        bob = await (await Client.open(chat_gateway.ws_url)).login(bob_name)
        history = await bob.call("history", "history", **{"with": alice_name})
        assert [m["text"] for m in history["messages"]] == texts  # oldest first
        assert history["more"] is False
        page = await bob.call("history", "history", limit=2, **{"with": alice_name})
        assert [m["text"] for m in page["messages"]] == texts[-2:]
        assert page["more"] is True
        older = await bob.call(
            "history", "history", limit=2, before=page["messages"][0]["id"], **{"with": alice_name}
        )
        assert [m["text"] for m in older["messages"]] == texts[1:3]
        await alice.close()
        await bob.close()

    run(body())


def test_conversations_and_unread_counts(chat_gateway: Gateway) -> None:
    alice_name, bob_name, carol_name = names(3)

    async def body() -> None:
        bob = await (await Client.open(chat_gateway.ws_url)).register(bob_name)
        await bob.close()
        alice = await (await Client.open(chat_gateway.ws_url)).register(alice_name)
        carol = await (await Client.open(chat_gateway.ws_url)).register(carol_name)
        for i in range(3):
            await alice.send(action="send", to=bob_name, text=f"a{i}", client_id=f"a{i}")
            await alice.expect("ack", client_id=f"a{i}")
        await carol.send(action="send", to=bob_name, text="c0", client_id="c0")
        last = await carol.expect("ack", client_id="c0")

        bob = await (await Client.open(chat_gateway.ws_url)).login(bob_name)
        items = (await bob.call("conversations", "conversations"))["items"]
        assert [(i["with"], i["unread"], i["online"]) for i in items] == [
            (carol_name, 1, True),
            (alice_name, 3, True),
        ]
        assert items[0]["last"]["id"] == last["id"]
        assert items[1]["last"]["text"] == "a2"

        read = await bob.call("read", "read", up_to=items[1]["last"]["id"], **{"with": alice_name})
        assert read == {"type": "read", "by": bob_name, "with": alice_name,
                        "up_to": items[1]["last"]["id"]}
        await alice.expect("read", by=bob_name)  # the sender learns it was read
        items = (await bob.call("conversations", "conversations"))["items"]
        assert {i["with"]: i["unread"] for i in items} == {carol_name: 1, alice_name: 0}
        for client in (alice, bob, carol):
            await client.close()

    run(body())


@pytest.mark.parametrize("store", STORES)
def test_history_and_sessions_survive_a_restart(
    store: str,
    request: pytest.FixtureRequest,
    start_gateway: Callable[..., Gateway],
    tmp_path: Path,
) -> None:
    table = request.getfixturevalue("dynamodb_table")() if store == "dynamodb" else None
    endpoint = request.getfixturevalue("moto_endpoint") if store == "dynamodb" else None
    env = store_env(store, tmp_path, table, endpoint)
    alice_name, bob_name = names(2)
    gateway = start_gateway(env, workdir=tmp_path)

    async def before() -> tuple[str, str, list[str]]:
        alice = await (await Client.open(gateway.ws_url)).register(alice_name)
        bob = await (await Client.open(gateway.ws_url)).register(bob_name)
        ids = []
        for i in range(3):
            await alice.send(action="send", to=bob_name, text=f"kept {i}", client_id=f"k{i}")
            ids.append((await alice.expect("ack", client_id=f"k{i}"))["id"])
        # both stay connected: the stop itself must close them and run $disconnect
        return alice.token, bob.token, ids

    alice_token, bob_token, ids = run(before())
    assert gateway.stop() == 0
    gateway.start()

    async def after() -> None:
        bob = await Client.open(gateway.ws_url)
        welcome = await bob.call("resume", "welcome", token=bob_token)
        assert welcome["username"] == bob_name
        history = await bob.call("history", "history", **{"with": alice_name})
        assert [m["id"] for m in history["messages"]] == ids
        items = (await bob.call("conversations", "conversations"))["items"]
        # alice is not online any more: her connection ended with the old process
        assert [(i["with"], i["unread"], i["online"]) for i in items] == [(alice_name, 3, False)]
        alice = await Client.open(gateway.ws_url)
        assert (await alice.call("resume", "welcome", token=alice_token))["username"] == alice_name
        await bob.expect("presence", username=alice_name, online=True)
        await alice.send(action="send", to=bob_name, text="kept 0", client_id="k0")
        # idempotency survives too: same client_id, same message
        assert (await alice.expect("ack", client_id="k0"))["id"] == ids[0]
        # ... and a client_id reused for another message is refused, not dropped (issue 11)
        await alice.send(action="send", to=bob_name, text="after restart", client_id="k0")
        assert (await alice.expect("error", client_id="k0"))["code"] == "invalid"
        await alice.close()
        await bob.close()

    run(after())
