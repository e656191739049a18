"""Edit, react, delete and block (issue 13) over real WebSockets, on each target:
what the other person sees live and in history afterwards."""

from __future__ import annotations

from tests.e2e.conftest import Client, Gateway, names, run


def test_edit_react_delete_and_block_end_to_end(chat_gateway: Gateway) -> None:
    alice_name, bob_name = names(2)

    async def body() -> None:
        alice = await (await Client.open(chat_gateway.ws_url)).register(alice_name)
        bob = await (await Client.open(chat_gateway.ws_url)).register(bob_name)
        await alice.send(action="send", to=bob_name, text="helo", client_id="c1")
        ack = await alice.expect("ack", client_id="c1")
        await bob.expect("message", id=ack["id"])

        edited = await alice.call("edit", "edited", id=ack["id"], text="hello")
        assert await bob.expect("edited", id=ack["id"]) == edited
        reaction = await bob.call("react", "reaction", id=ack["id"], emoji="👍")
        assert await alice.expect("reaction", id=ack["id"]) == reaction
        history = await bob.call("history", "history", **{"with": alice_name})
        (shown,) = history["messages"]
        assert shown["text"] == "hello" and shown["reactions"] == {"👍": [bob_name]}

        deleted = await alice.call("delete", "deleted", id=ack["id"])
        assert await bob.expect("deleted", id=ack["id"]) == deleted
        (last,) = (await bob.call("conversations", "conversations"))["items"]
        assert last["last"]["deleted"] is True and last["last"]["text"] == ""

        assert (await bob.call("block", "blocked", username=alice_name))["username"] == alice_name
        await alice.send(action="send", to=bob_name, text="hidden", client_id="c2")
        await alice.expect("ack", client_id="c2")
        await alice.send(action="typing", to=bob_name)
        assert [f for f in await bob.drain() if f["type"] in ("message", "typing")] == []
        history = await bob.call("history", "history", **{"with": alice_name})
        assert [m["text"] for m in history["messages"]] == [""]
        assert (await bob.call("blocks", "blocks"))["items"] == [alice_name]
        await bob.call("unblock", "unblocked", username=alice_name)
        await alice.close()
        await bob.close()

    run(body())
