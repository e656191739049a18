"""Five behaviours of API Gateway's WebSocket API, as AWS documents them, on each target:
the local gateway and the app deployed into MiniStack (tests/e2e/apps/behaviour_app.py).

Each test asserts AWS's documented behaviour. Where MiniStack 1.5.33 is known to differ,
the test asserts what MiniStack does instead, named in MINISTACK_DIFFERS, so the
"MiniStack" column of docs/localgw.md's table is backed by a test too and a MiniStack
that changes is noticed. Nothing is skipped.

Sources (API Gateway Developer Guide):
- quotas: "WebSocket frame size 32 KB", "Message payload size 128 KB"; a larger frame
  closes the connection with 1009; "binary frames in incoming message payloads are not
  supported" (closed with 1003) —
  https://docs.aws.amazon.com/apigateway/latest/developerguide/limits.html
- @connections: GET answers connectedAt, identity.sourceIp, identity.userAgent,
  lastActiveAt; a post to a connection that is gone answers 410 GoneException —
  https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-how-to-call-websocket-api-connections.html
- $connect: the connection is set up only when the $connect integration returns, so a
  post from inside it fails —
  https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-websocket-api-route-keys-connect-disconnect.html
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import pytest
from websockets.asyncio.client import connect

from tests.deploy import paths
from tests.deploy.ministack import MiniStack
from tests.e2e.conftest import APPS, MINISTACK, Gateway, ask, closed_with, run

FRAME_LIMIT = 32 * 1024
MESSAGE_LIMIT = 128 * 1024
TARGETS = ["localgw", MINISTACK]
# What MiniStack 1.5.33 does where it differs from AWS (read in its
# services/apigateway.py, handle_websocket and handle_connections_api).
MINISTACK_DIFFERS = {
    "binary": "a binary frame is decoded as UTF-8 and routed like text",
    "frame_size": "no 32 KB frame limit: a 33 KB frame is routed",
    "closed_during_invocation": "the socket is not read while a handler runs, so the "
    "connection still exists and the post succeeds",
    "get_shape": "GET answers ConnectedAt/Identity/LastActiveAt capitalised, which "
    "botocore's lower-case shape does not parse: the fields come back missing",
}


@pytest.fixture(scope="module", params=TARGETS)
def target(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, str]]:
    """(target name, WebSocket URL) of the behaviour app."""
    if request.param == MINISTACK:
        server: MiniStack = request.getfixturevalue("ministack")
        workdir = tmp_path_factory.mktemp("behaviour")
        try:
            url = paths.deploy_app(server, workdir, APPS / "behaviour_app.py", "behaviour")
        except paths.StepFailed as error:
            pytest.fail(f"could not deploy the behaviour app into MiniStack: {error}",
                        pytrace=False)
        yield MINISTACK, url
        return
    tmp = tmp_path_factory.mktemp("behaviour-localgw")
    gateway = Gateway(tmp, {"CHAT_STORE": f"sqlite:///{tmp / 'unused.db'}"},
                      ["--app-dir", str(APPS), "--app", "behaviour_app:app"])
    gateway.start()
    yield "localgw", gateway.ws_url
    gateway.kill()


def differs(name: str, behaviour: str) -> bool:
    return name == MINISTACK and behaviour in MINISTACK_DIFFERS


def test_a_binary_frame_closes_with_1003(target: tuple[str, str]) -> None:
    name, url = target

    async def body() -> Any:
        async with connect(url) as ws:
            await ask(ws, "whoami")  # the connection is up
            await ws.send(b"\x00\x01binary")
            if differs(name, "binary"):
                return json.loads(await asyncio.wait_for(ws.recv(), 30))
            return await closed_with(ws)

    outcome = run(body())
    if differs(name, "binary"):
        assert outcome == {"len": len("\x00\x01binary")}, MINISTACK_DIFFERS["binary"]
    else:
        assert outcome[0] == 1003


def test_a_frame_over_32_kb_closes_with_1009_but_a_128_kb_message_in_frames_arrives(
    target: tuple[str, str],
) -> None:
    name, url = target

    async def body() -> Any:
        async with connect(url, max_size=None) as ws:
            # 128 KB in four 32 KB fragments: one message, every frame within the limit.
            fragments = ["x" * FRAME_LIMIT] * (MESSAGE_LIMIT // FRAME_LIMIT)
            await ws.send(iter(fragments))
            whole = json.loads(await asyncio.wait_for(ws.recv(), 30))
            await ws.send("y" * (FRAME_LIMIT + 1024))
            if differs(name, "frame_size"):
                return whole, json.loads(await asyncio.wait_for(ws.recv(), 30))
            return whole, await closed_with(ws)

    whole, outcome = run(body())
    assert whole == {"len": MESSAGE_LIMIT}
    if differs(name, "frame_size"):
        assert outcome == {"len": FRAME_LIMIT + 1024}, MINISTACK_DIFFERS["frame_size"]
    else:
        assert outcome[0] == 1009


def test_a_post_to_a_connection_closed_during_the_invocation_is_gone(
    target: tuple[str, str],
) -> None:
    name, url = target

    async def body() -> dict[str, Any]:
        async with connect(url) as watcher:
            watcher_id = (await ask(watcher, "whoami"))["id"]
            async with connect(url) as leaving:
                await ask(leaving, "whoami")
                await leaving.send(f"later 1.5 {watcher_id}")
                await asyncio.sleep(0.3)  # the handler is running; the client leaves
            result: dict[str, Any] = json.loads(await asyncio.wait_for(watcher.recv(), 30))
            return result

    outcome = run(body())
    expected = "sent" if differs(name, "closed_during_invocation") else "gone"
    assert outcome == {"later": expected}


def test_connections_get_answers_botocores_shape(target: tuple[str, str]) -> None:
    name, url = target

    async def body() -> dict[str, Any]:
        async with connect(url, user_agent_header="behaviour/1") as ws:
            result: dict[str, Any] = await ask(ws, "info")
            return result

    info = run(body())
    if differs(name, "get_shape"):
        assert "ConnectedAt" not in info, MINISTACK_DIFFERS["get_shape"]
        return
    assert set(info) == {"ConnectedAt", "Identity", "LastActiveAt"}
    assert info["Identity"] == {"SourceIp": "127.0.0.1", "UserAgent": "behaviour/1"}
    assert info["ConnectedAt"] <= info["LastActiveAt"]


def test_a_post_from_inside_connect_is_gone(target: tuple[str, str]) -> None:
    _, url = target

    async def body() -> Any:
        async with connect(f"{url}?post=1") as ws:
            await ws.send("whoami")
            return json.loads(await asyncio.wait_for(ws.recv(), 30))

    first = run(body())
    # the post failed with Gone, so the first frame is the reply, not the $connect post
    assert "id" in first, first


