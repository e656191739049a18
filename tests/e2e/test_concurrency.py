"""50 pairs chatting at once through the local gateway lose, duplicate and misroute nothing."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.e2e.conftest import STORES, Client, Gateway, names, run, store_env

PAIRS = 50
PER_SENDER = 4


@pytest.mark.parametrize("store", STORES)
def test_fifty_pairs_at_once(
    store: str,
    request: pytest.FixtureRequest,
    start_gateway: Callable[..., Gateway],
    tmp_path: Path,
) -> None:
    # moto_endpoint serializes moto's DynamoDB (tests/moto_tuning.py), so the
    # gateway's handler threads run concurrently against it as against DynamoDB
    endpoint = request.getfixturevalue("moto_endpoint") if store == "dynamodb" else None
    env = store_env(store, tmp_path, f"e2e-{uuid.uuid4().hex[:12]}", endpoint)
    chat_gateway = start_gateway(env, workdir=tmp_path)
    users = names(2 * PAIRS)
    partner = {users[i]: users[i ^ 1] for i in range(2 * PAIRS)}

    async def chat(client: Client) -> tuple[list[dict], list[dict]]:
        other = partner[client.username]
        for n in range(PER_SENDER):
            await client.send(
                action="send", to=other, text=f"{client.username}>{other}#{n}", client_id=f"m{n}"
            )
        acks = [await client.expect("ack", timeout=60, client_id=f"m{n}")
                for n in range(PER_SENDER)]
        messages = [await client.expect("message", timeout=60) for _ in range(PER_SENDER)]
        return acks, messages

    async def body() -> None:
        clients = await asyncio.gather(*(Client.open(chat_gateway.ws_url) for _ in users))
        await asyncio.gather(*(c.register(u) for c, u in zip(clients, users, strict=True)))
        results = await asyncio.gather(*(chat(c) for c in clients))
        leftovers = await asyncio.gather(*(c.drain(0.5) for c in clients))
        all_ids: list[str] = []
        for client, (acks, messages), extra in zip(clients, results, leftovers, strict=True):
            me, other = client.username, partner[client.username]
            # everything from my partner, in the order it was sent, and only that
            assert [m["text"] for m in messages] == [f"{other}>{me}#{n}" for n in range(PER_SENDER)]
            assert all(m["from"] == other and m["to"] == me for m in messages)
            assert [f for f in extra if f["type"] == "message"] == [], me
            all_ids += [a["id"] for a in acks]
        assert len(set(all_ids)) == len(all_ids) == 2 * PAIRS * PER_SENDER
        # and the store agrees
        history = await clients[0].call("history", "history", **{"with": partner[users[0]]})
        assert len(history["messages"]) == 2 * PER_SENDER
        await asyncio.gather(*(c.close() for c in clients))

    run(body(), timeout=120)
