"""API Gateway's WebSocket contract as the local gateway emulates it, one test per behaviour,
against tests/e2e/apps/probe_app.py."""

from __future__ import annotations

import asyncio
import json
import re
import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from tests.e2e.conftest import Probe, ask, closed_with, run

ID = re.compile(r"^[A-Za-z0-9_-]{15}=$")


def test_events_have_api_gateway_shape(probe: Probe) -> None:
    async def body() -> tuple[str, dict[str, Any]]:
        async with connect(
            probe.gateway.ws_url + "?room=a&room=b&x=1", user_agent_header="probe-agent/1"
        ) as ws:
            connection_id = (await ask(ws, "whoami"))["id"]
            return connection_id, await ask(ws, "event")

    connection_id, message = run(body())
    assert ID.match(connection_id)
    (connect_event,) = [
        e for e in probe.events("$connect")
        if e["requestContext"]["connectionId"] == connection_id
    ]
    context = connect_event["requestContext"]
    assert context["eventType"] == "CONNECT"
    assert context["messageDirection"] == "IN"
    assert context["stage"] == "local"
    assert context["domainName"] == f"127.0.0.1:{probe.gateway.port}"
    assert re.match(r"^[a-z0-9]{10}$", context["apiId"])
    assert ID.match(context["requestId"]) and context["extendedRequestId"] == context["requestId"]
    assert context["identity"] == {"sourceIp": "127.0.0.1", "userAgent": "probe-agent/1"}
    assert re.match(r"^\d\d/[A-Z][a-z]{2}/\d{4}:\d\d:\d\d:\d\d \+0000$", context["requestTime"])
    assert abs(context["requestTimeEpoch"] - time.time() * 1000) < 60_000
    assert connect_event["queryStringParameters"] == {"room": "b", "x": "1"}
    assert connect_event["multiValueQueryStringParameters"] == {"room": ["a", "b"], "x": ["1"]}
    assert connect_event["headers"]["User-Agent"] == "probe-agent/1"
    assert connect_event["headers"]["X-Forwarded-For"] == "127.0.0.1"
    assert "Sec-WebSocket-Key" in connect_event["multiValueHeaders"]
    assert connect_event["isBase64Encoded"] is False

    context = message["requestContext"]
    assert context["routeKey"] == "$default"
    assert context["eventType"] == "MESSAGE"
    assert ID.match(context["messageId"])
    assert context["connectedAt"] == connect_event["requestContext"]["connectedAt"]
    assert context["apiId"] == connect_event["requestContext"]["apiId"]
    assert message["body"] == "event"
    assert message["isBase64Encoded"] is False

    disconnect = probe.wait_disconnect(connection_id)
    assert disconnect["eventType"] == "DISCONNECT"
    assert disconnect["disconnectStatusCode"] == 1000


def test_a_binary_frame_closes_with_1003(probe: Probe) -> None:
    # API Gateway: "binary frames in incoming message payloads are not supported"
    async def body() -> None:
        async with connect(probe.gateway.ws_url) as ws:
            connection_id = (await ask(ws, "whoami"))["id"]
            await ws.send(b"\x00\xffbinary")
            code, _ = await closed_with(ws)
            assert code == 1003
        assert probe.wait_disconnect(connection_id)["disconnectStatusCode"] == 1003
        assert not [e for e in probe.events() if e.get("isBase64Encoded")]

    run(body())


@pytest.mark.parametrize(
    ("query", "status"), [("reject=403", 403), ("reject=401", 401), ("boom=1", 502)]
)
def test_connect_handler_can_reject_the_handshake(probe: Probe, query: str, status: int) -> None:
    tag = uuid.uuid4().hex

    async def body() -> None:
        with pytest.raises(InvalidStatus) as rejected:
            async with connect(f"{probe.gateway.ws_url}?{query}&tag={tag}"):
                pass
        assert rejected.value.response.status_code == status

    run(body())
    (event,) = [
        e
        for e in probe.events("$connect")
        if (e.get("queryStringParameters") or {}).get("tag") == tag
    ]
    time.sleep(0.2)
    # a connection that never opened gets no $disconnect, and cannot be reached
    assert probe.disconnects(event["requestContext"]["connectionId"]) == []


def test_disconnect_runs_exactly_once_whoever_closes(probe: Probe) -> None:
    async def body() -> dict[str, str]:
        ids = {}
        async with connect(probe.gateway.ws_url) as ws:  # client closes normally
            ids["client"] = (await ask(ws, "whoami"))["id"]
        ws = await connect(probe.gateway.ws_url)  # client closes with its own code
        ids["client-code"] = (await ask(ws, "whoami"))["id"]
        await ws.close(code=4001, reason="bye now")
        ws = await connect(probe.gateway.ws_url)  # the app closes it through @connections
        ids["server"] = (await ask(ws, "whoami"))["id"]
        await ws.send("close")
        assert await closed_with(ws) == (1000, "Connection closed by server")
        ws = await connect(probe.gateway.ws_url)  # the TCP connection just drops
        ids["dropped"] = (await ask(ws, "whoami"))["id"]
        ws.transport.abort()
        return ids

    ids = run(body())
    codes = {name: probe.wait_disconnect(cid) for name, cid in ids.items()}
    assert (codes["client"]["disconnectStatusCode"], codes["client"]["disconnectReason"]) == (
        1000, "")
    assert (codes["client-code"]["disconnectStatusCode"],
            codes["client-code"]["disconnectReason"]) == (4001, "bye now")
    assert codes["server"]["disconnectStatusCode"] == 1000
    assert codes["dropped"]["disconnectStatusCode"] == 1006


def test_closed_connection_raises_gone_exception(probe: Probe) -> None:
    async def body() -> None:
        async with connect(probe.gateway.ws_url) as other:
            other_id = (await ask(other, "whoami"))["id"]
        async with connect(probe.gateway.ws_url) as ws:
            # Chalice raises WebsocketDisconnectedError only for the client's GoneException
            assert await ask(ws, f"send {other_id} hello?") == {"gone": other_id}
            assert await ask(ws, "send AAAAAAAAAAAAAAA= hello?") == {"gone": "AAAAAAAAAAAAAAA="}
            async with connect(probe.gateway.ws_url) as live:
                live_id = (await ask(live, "whoami"))["id"]
                assert await ask(ws, f"send {live_id} psst") == {"sent": True}
                assert await asyncio.wait_for(live.recv(), 5) == "psst"

    run(body())


def test_an_app_that_replaces_its_session_still_reaches_the_gateway(probe: Probe) -> None:
    async def body() -> None:
        async with connect(probe.gateway.ws_url) as ws:
            connection_id = (await ask(ws, "whoami"))["id"]
            assert await ask(ws, "swap") == {"swapped": True}
            assert await ask(ws, "whoami") == {"id": connection_id}

    run(body())


def test_info_describes_the_connection(probe: Probe) -> None:
    async def body() -> dict[str, Any]:
        async with connect(probe.gateway.ws_url, user_agent_header="probe-info/2") as ws:
            return await ask(ws, "info")

    info = run(body())
    assert info["Identity"] == {"SourceIp": "127.0.0.1", "UserAgent": "probe-info/2"}
    assert info["ConnectedAt"] <= info["LastActiveAt"]  # datetimes, printed by the app


def test_handler_exception_sends_internal_server_error_and_keeps_serving(probe: Probe) -> None:
    async def body() -> None:
        async with connect(probe.gateway.ws_url) as ws:
            connection_id = (await ask(ws, "whoami"))["id"]
            error = await ask(ws, "boom")
            assert error["message"] == "Internal server error"
            assert error["connectionId"] == connection_id
            assert ID.match(error["requestId"])
            assert await ask(ws, "whoami") == {"id": connection_id}

    run(body())
    assert "RuntimeError: handler failed on purpose" in probe.gateway.log()


FRAME_LIMIT = 32 * 1024
MESSAGE_LIMIT = 128 * 1024


def test_a_message_of_128_kb_may_come_in_frames_of_32_kb(probe: Probe) -> None:
    async def body() -> None:
        async with connect(probe.gateway.ws_url, max_size=None) as ws:
            assert await ask(ws, "x" * FRAME_LIMIT) == {"len": FRAME_LIMIT}
            fragments = ["x" * FRAME_LIMIT] * (MESSAGE_LIMIT // FRAME_LIMIT)
            await ws.send(fragments)
            assert json.loads(await asyncio.wait_for(ws.recv(), 10)) == {"len": MESSAGE_LIMIT}

    run(body())


@pytest.mark.parametrize(
    "message",
    [["x" * (FRAME_LIMIT + 1)], ["x" * FRAME_LIMIT, "x" * (FRAME_LIMIT + 1)],
     ["x" * FRAME_LIMIT] * 4 + ["x"]],
    ids=["one frame over 32 KB", "second frame over 32 KB", "message over 128 KB"],
)
def test_a_frame_over_32_kb_or_a_message_over_128_kb_closes_with_1009(
    probe: Probe, message: list[str]
) -> None:
    async def body() -> None:
        async with connect(probe.gateway.ws_url, max_size=None) as ws:
            connection_id = (await ask(ws, "whoami"))["id"]
            await ws.send(message[0] if len(message) == 1 else message)
            code, _ = await closed_with(ws)
            assert code == 1009
        assert probe.wait_disconnect(connection_id)["disconnectStatusCode"] == 1009

    run(body())


def test_messages_of_one_connection_are_handled_in_order(probe: Probe) -> None:
    async def body() -> None:
        async with connect(probe.gateway.ws_url) as first, connect(probe.gateway.ws_url) as second:
            for i in range(40):
                await first.send(f"seq {i}")
                await second.send(f"seq {i}")
            for ws in (first, second):
                got = [json.loads(await asyncio.wait_for(ws.recv(), 10))["seq"] for _ in range(40)]
                assert got == list(range(40))

    run(body())


def test_idle_timeout_and_maximum_duration(start_probe: Callable[..., Probe]) -> None:
    probe = start_probe("--idle-timeout", "1", "--max-connection-duration", "2.5")

    async def keep_talking(ws: ClientConnection) -> tuple[int, tuple[int, str], float]:
        answered = 0
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                await ask(ws, "whoami")
                answered += 1
                await asyncio.sleep(0.25)
        assert closed.value.rcvd is not None
        return answered, (closed.value.rcvd.code, closed.value.rcvd.reason), time.monotonic()

    async def body() -> None:
        started = time.monotonic()
        idle = await connect(probe.gateway.ws_url)
        busy = await connect(probe.gateway.ws_url)
        idle_id = (await ask(idle, "whoami"))["id"]
        busy_id = (await ask(busy, "whoami"))["id"]
        talking = asyncio.create_task(keep_talking(busy))
        assert await closed_with(idle) == (1001, "Going away")
        assert 0.8 < time.monotonic() - started < 2.0
        # busy keeps talking, so it is never idle, but is closed when its time is up
        answered, close, ended = await talking
        assert close == (1001, "Going away")
        assert 2.3 < ended - started < 3.5
        assert answered >= 6
        for connection_id in (idle_id, busy_id):
            disconnect = probe.wait_disconnect(connection_id)
            assert (disconnect["disconnectStatusCode"], disconnect["disconnectReason"]) == (
                1001, "Going away")

    run(body())
