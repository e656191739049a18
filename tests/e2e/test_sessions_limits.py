"""Issue 11, sessions & abuse, through the real local gateway (process workers)
with real WebSocket clients, on SQLite and on DynamoDB (moto): logout with two
resumed connections, change_password and logout_all with three devices, 24
concurrent wrong logins at the default scrypt cost, unknown and known usernames
alike in kind and time, the per-IP limits, and each rate limit's retry_after."""

from __future__ import annotations

import asyncio
import statistics
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import PASSWORD, STORES, Client, Gateway, names, run, store_env


@pytest.fixture(params=STORES)
def gateway_with(
    request: pytest.FixtureRequest, start_gateway: Callable[..., Gateway], tmp_path: Path
) -> Callable[..., Gateway]:
    """Starts a gateway of the test's own on each store, with extra environment."""

    def start(**env: str) -> Gateway:
        endpoint = (
            request.getfixturevalue("moto_endpoint") if request.param == "dynamodb" else None
        )
        table = f"e2e-{uuid.uuid4().hex[:12]}"
        return start_gateway({**store_env(request.param, tmp_path, table, endpoint), **env})

    return start


async def signed_in(url: str, username: str, *, token: str = "", new: bool = False) -> Client:
    client = await Client.open(url)
    if new:
        return await client.register(username)
    if token:
        welcome = await client.call("resume", "welcome", token=token)
        client.username, client.token = welcome["username"], welcome["token"]
        return client
    return await client.login(username)


async def first_of(client: Client, kinds: tuple[str, ...], timeout: float = 10) -> dict[str, Any]:
    """The first frame (kept or arriving) whose type is one of ``kinds``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for frame in client.pending:
            if frame.get("type") in kinds:
                client.pending.remove(frame)
                return frame
        client.pending = await client.drain(0.05)
    raise AssertionError(f"no frame of {kinds}; got {client.pending}")


async def is_signed_in(client: Client) -> bool:
    await client.send(action="conversations")
    frame = await first_of(client, ("conversations", "error"))
    if frame["type"] == "error":
        assert frame["code"] == "unauthenticated", frame
    return frame["type"] == "conversations"


def test_logout_signs_out_both_resumed_connections(chat_gateway: Gateway) -> None:
    alice_name, bob_name = names(2)

    async def body() -> None:
        url = chat_gateway.ws_url
        first = await signed_in(url, alice_name, new=True)
        await signed_in(url, bob_name, new=True)
        second = await signed_in(url, alice_name, token=first.token)
        third = await signed_in(url, alice_name, token=first.token)
        elsewhere = await signed_in(url, alice_name)  # a session of its own

        assert await third.call("logout", "bye") == {"type": "bye", "reason": "signed_out"}
        for other in (first, second):
            assert await other.expect("bye") == {"type": "bye", "reason": "signed_out"}
            assert not await is_signed_in(other)
        assert not await is_signed_in(third)
        assert await is_signed_in(elsewhere)
        gone = await (await Client.open(url)).call("resume", "error", token=first.token)
        assert gone["code"] == "bad_token"

    run(body())


def test_change_password_with_three_devices(chat_gateway: Gateway) -> None:
    (name,) = names(1)

    async def body() -> None:
        url = chat_gateway.ws_url
        laptop = await signed_in(url, name, new=True)
        laptop_tab = await signed_in(url, name, token=laptop.token)
        phone = await signed_in(url, name)
        tablet = await signed_in(url, name)

        wrong = await laptop.call("change_password", "error", password="not-the-password",
                                  new_password="new-password-1")
        assert wrong["code"] == "bad_credentials"
        changed = await laptop.call("change_password", "password_changed", password=PASSWORD,
                                    new_password="new-password-1")
        assert changed == {"type": "password_changed"}
        for device in (phone, tablet):
            assert await device.expect("bye") == {"type": "bye", "reason": "password_changed"}
            assert not await is_signed_in(device)
        assert await is_signed_in(laptop) and await is_signed_in(laptop_tab)
        assert [f for f in await laptop_tab.drain() if f["type"] == "bye"] == []
        fresh = await Client.open(url)
        for token in (phone.token, tablet.token):
            assert (await fresh.call("resume", "error", token=token))["code"] == "bad_token"
        assert (await fresh.call("resume", "welcome", token=laptop.token))["username"] == name
        old = await fresh.call("login", "error", username=name, password=PASSWORD)
        assert old["code"] == "bad_credentials"
        await fresh.call("login", "welcome", username=name, password="new-password-1")

    run(body())


def test_logout_all_with_three_devices(chat_gateway: Gateway) -> None:
    name, partner_name = names(2)

    async def body() -> None:
        url = chat_gateway.ws_url
        devices = [await signed_in(url, name, new=True)]
        partner = await signed_in(url, partner_name, new=True)
        await partner.send(action="send", to=name, text="hi", client_id="p1")
        await partner.expect("ack")
        devices += [await signed_in(url, name), await signed_in(url, name)]
        await partner.drain()

        reply = await devices[1].call("logout_all", "bye")
        assert reply == {"type": "bye", "reason": "signed_out_everywhere"}
        for device in (devices[0], devices[2]):
            assert await device.expect("bye") == reply
        for device in devices:
            assert not await is_signed_in(device)
        fresh = await Client.open(url)
        for device in devices:
            assert (await fresh.call("resume", "error", token=device.token))["code"] == "bad_token"
        presence = [f for f in await partner.drain() if f["type"] == "presence"]
        assert presence == [{"type": "presence", "username": name, "online": False}]

    run(body())


def test_24_concurrent_wrong_logins_let_at_most_5_through(
    gateway_with: Callable[..., Gateway],
) -> None:
    # the default scrypt cost (an empty CHAT_SCRYPT_COST), four worker processes
    gateway = gateway_with(CHAT_SCRYPT_COST="")
    (name,) = names(1)

    async def body() -> None:
        await signed_in(gateway.ws_url, name, new=True)
        clients = [await Client.open(gateway.ws_url) for _ in range(24)]
        await asyncio.gather(*(
            c.send(action="login", username=name, password=f"guess-{i:04d}")
            for i, c in enumerate(clients)
        ))
        replies = await asyncio.gather(*(c.expect("error", timeout=60) for c in clients))
        codes = sorted(r["code"] for r in replies)
        assert codes.count("bad_credentials") <= 5, codes
        assert set(codes) == {"bad_credentials", "rate_limited"}, codes
        assert all(r["retry_after"] >= 1 for r in replies if r["code"] == "rate_limited")
        # the limit holds for the right password too
        right = await clients[0].call("login", "error", username=name, password=PASSWORD)
        assert right["code"] == "rate_limited"

    run(body(), timeout=120)


def test_unknown_and_known_usernames_answer_alike_in_kind_and_time(
    gateway_with: Callable[..., Gateway],
) -> None:
    gateway = gateway_with(CHAT_SCRYPT_COST="", CHAT_LIMIT_LOGIN="1000/900")
    known, unknown = names(2)
    rounds = 15

    async def body() -> dict[str, list[float]]:
        await signed_in(gateway.ws_url, known, new=True)
        client = await Client.open(gateway.ws_url)
        # every worker process makes its dummy hash on its first login: warm them all
        for n in range(8):
            await client.call("login", "error", username=f"{unknown}w{n}", password="wrong-pass")
        timings: dict[str, list[float]] = {known: [], unknown: []}
        replies: dict[str, set[str]] = {known: set(), unknown: set()}
        for n in range(rounds):
            for name in (known, unknown) if n % 2 else (unknown, known):
                started = time.perf_counter()
                reply = await client.call("login", "error", username=name, password="wrong-pass")
                timings[name].append(time.perf_counter() - started)
                replies[name].add(f"{reply['code']}: {reply['message']}")
        assert replies[known] == replies[unknown] == {
            "bad_credentials: wrong username or password"
        }
        return timings

    timings = run(body(), timeout=180)
    known_median = statistics.median(timings[known])
    unknown_median = statistics.median(timings[unknown])
    assert abs(unknown_median - known_median) <= 0.2 * known_median, timings


def test_per_ip_limits_on_register_and_login(gateway_with: Callable[..., Gateway]) -> None:
    # tests/conftest.py turns these off for the other suites; here they are the defaults
    gateway = gateway_with(CHAT_LIMIT_REGISTER_IP="10/3600", CHAT_LIMIT_LOGIN_IP="30/900")
    users = names(11)

    async def body() -> None:
        client = await Client.open(gateway.ws_url)
        for name in users[:10]:
            await client.call("register", "welcome", username=name, password=PASSWORD)
        limited = await client.call("register", "error", username=users[10], password=PASSWORD)
        assert limited["code"] == "rate_limited" and limited["retry_after"] >= 1
        for n in range(20):  # 30 attempts in all: 10 of the registrations' names, 20 unknown
            await client.call("login", "error", username=f"{users[n % 10]}x{n}",
                              password="wrong-pass")
        for name in users[:10]:
            await client.call("login", "welcome", username=name, password=PASSWORD)
        limited = await client.call("login", "error", username=users[0], password=PASSWORD)
        assert limited["code"] == "rate_limited" and limited["retry_after"] >= 1
        # the refused registration changed nothing
        nobody = await client.call("users", "users", query=users[10])
        assert nobody["items"] == []

    run(body())


def test_send_typing_and_sign_in_limits(gateway_with: Callable[..., Gateway]) -> None:
    # tests/conftest.py turns the send limit off for the other suites
    gateway = gateway_with(CHAT_LIMIT_SEND="30/30")
    alice_name, bob_name = names(2)

    async def body() -> None:
        url = gateway.ws_url
        alice = await signed_in(url, alice_name, new=True)
        alice_phone = await signed_in(url, alice_name, token=alice.token)
        bob = await signed_in(url, bob_name, new=True)
        acked = 0
        while True:
            sender = (alice, alice_phone)[acked % 2]  # per user, across connections
            await sender.send(action="send", to=bob_name, text=f"m{acked}", client_id=f"k{acked}")
            reply = await first_of(sender, ("ack", "error"))
            if reply["type"] == "error":
                break
            acked += 1
        assert reply["code"] == "rate_limited"
        assert reply["client_id"] == f"k{acked}" and reply["retry_after"] >= 1
        # 30 per 30 s; a burst that straddles a window's edge may get one more (the
        # sliding-window counter weighs the previous window by its overlap)
        assert 30 <= acked <= 31, acked
        history = await bob.call("history", "history", **{"with": alice_name, "limit": 100})
        assert [m["text"] for m in history["messages"]] == [f"m{n}" for n in range(acked)]
        await bob.drain()

        for _ in range(10):
            await alice.send(action="typing", to=bob_name)
        await alice.call("ping", "pong")
        typing = [f for f in await bob.drain(0.5) if f["type"] == "typing"]
        # one per 3-second window: the burst may straddle a window's edge
        assert 1 <= len(typing) <= 2, typing
        assert [f for f in await alice.drain() if f["type"] not in ("message", "pong")] == []

        resumed = 1  # alice_phone's resume
        while True:
            probe = await Client.open(url)
            await probe.send(action="resume", token=alice.token)
            reply = await first_of(probe, ("welcome", "error"))
            if reply["type"] == "error":
                break
            resumed += 1
        assert reply["code"] == "rate_limited" and reply["retry_after"] >= 1
        # 20 sign-ins (login, resume) a minute, alice_phone's the first; a registration
        # is not one; one more may pass at a window's edge
        assert 20 <= resumed <= 21, resumed

    run(body(), timeout=120)
