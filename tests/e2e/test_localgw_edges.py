"""The local gateway where it meets API Gateway's documented behaviour and its own edges:
posts to connections that are not (or no longer) there, who may use the HTTP
@connections API, paths no file can have, the store's directory, one gateway per store."""

from __future__ import annotations

import asyncio
import http.client
import json
import os
import re
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import cast

import pytest
from aiohttp.test_utils import make_mocked_request
from websockets.asyncio.client import connect

from localgw.connections_api import GONE, Quotas, Reply
from localgw.gateway import Gateway as WebSocketGateway
from localgw.routes import Frontend, build_app
from tests.e2e.conftest import ROOT, Gateway, Probe, ask, probe_args, run

SERVING_ANY = re.compile(r"Serving chat on http://([^/\s]+)/")


def test_a_post_to_a_connection_that_closed_during_the_invocation_is_gone(
    probe: Probe,
) -> None:
    async def body() -> None:
        async with connect(probe.gateway.ws_url) as sender:
            async with connect(probe.gateway.ws_url) as target:
                target_id = (await ask(target, "whoami"))["id"]
                assert await ask(sender, f"send {target_id} hello") == {"sent": True}
                await sender.send(f"wait-send 0.5 {target_id}")
            # the target has closed while the handler slept
            reply = json.loads(await asyncio.wait_for(sender.recv(), 10))
            assert reply == {"gone": target_id}

    run(body())


def test_a_post_from_inside_connect_is_gone(probe: Probe) -> None:
    tag = uuid.uuid4().hex

    async def body() -> str:
        async with connect(f"{probe.gateway.ws_url}?post=1&tag={tag}") as ws:
            return str((await ask(ws, "whoami"))["id"])

    connection_id = run(body())
    (connect_event,) = [
        e for e in probe.events("$connect")
        if (e.get("queryStringParameters") or {}).get("tag") == tag
    ]
    assert connect_event["requestContext"]["connectionId"] == connection_id
    assert connect_event["probe_post"] == "gone"


@pytest.mark.parametrize("path", ["/js/%00", "/%zz", "/a%2", "/%ff%fe", "/x/%C0%AF"])
def test_paths_no_file_can_have_answer_404_without_a_traceback(
    probe: Probe, path: str
) -> None:
    before = len(probe.gateway.log())
    connection = http.client.HTTPConnection("127.0.0.1", probe.gateway.port, timeout=10)
    connection.request("GET", path)
    response = connection.getresponse()
    assert response.status == 404, response.read()
    response.read()
    connection.close()
    time.sleep(0.1)  # for a log line that would follow
    assert "Traceback" not in probe.gateway.log()[before:]


class Exposed:
    """A probe gateway bound to 0.0.0.0 with the given --connections-api."""

    def __init__(self, tmp: Path, mode: str) -> None:
        self.log_path = tmp / f"gateway-{mode}.log"
        env = {**os.environ, "PYTHONUNBUFFERED": "1", "PROBE_LOG": str(tmp / "events.jsonl"),
               "CHAT_STORE": f"sqlite:///{tmp / 'unused.db'}"}
        with self.log_path.open("wb") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "localgw", "--host", "0.0.0.0", "--port", "0",
                 "--connections-api", mode, *probe_args()],
                cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and self.process.poll() is None:
            match = SERVING_ANY.search(self.log())
            if match:
                self.port = int(match.group(1).rsplit(":", 1)[1])
                return
            time.sleep(0.05)
        self.process.kill()
        pytest.fail(f"local gateway did not start:\n{self.log()}", pytrace=False)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def status(self, host: str, method: str = "GET") -> int:
        connection = http.client.HTTPConnection(host, self.port, timeout=10)
        connection.request(method, "/@connections/AAAAAAAAAAAAAAA=")
        response = connection.getresponse()
        response.read()
        connection.close()
        return response.status


@pytest.fixture
def exposed(tmp_path: Path) -> Iterator[Callable[[str], Exposed]]:
    started: list[Exposed] = []

    def start(mode: str) -> Exposed:
        started.append(Exposed(tmp_path, mode))
        return started[-1]

    yield start
    for gateway in started:
        gateway.process.kill()
        gateway.process.wait(timeout=5)


def test_the_connections_api_answers_only_loopback_peers_by_default(
    exposed: Callable[[str], Exposed],
) -> None:
    gateway = exposed("loopback")
    assert gateway.status("127.0.0.1") == 410  # an unknown connection, as API Gateway says
    assert "other machines can reach" in gateway.log()


def test_connections_api_any_and_off(exposed: Callable[[str], Exposed]) -> None:
    anyone = exposed("any")
    assert anyone.status("127.0.0.1") == 410
    assert "ANYONE can use the HTTP @connections API" in anyone.log()
    off = exposed("off")
    assert off.status("127.0.0.1") == 404
    assert off.status("127.0.0.1", "POST") == 404


class _Peer(asyncio.Transport):
    """A transport whose far end is another machine. Tests here never send traffic
    beyond loopback, so a peer elsewhere is the one part that cannot be real."""

    def get_extra_info(self, name: str, default: object = None) -> object:
        return ("203.0.113.9", 40000) if name == "peername" else default


class _Gone:
    quotas = Quotas()

    async def manage(self, method: str, connection_id: str, body: bytes) -> Reply:
        return GONE

    async def session(self, request: object) -> None:
        raise AssertionError("no WebSocket here")


@pytest.mark.parametrize(("mode", "method", "status"), [
    ("loopback", "GET", 403), ("loopback", "DELETE", 403), ("loopback", "POST", 403),
    ("any", "GET", 410), ("off", "GET", 404),
])
def test_a_peer_on_another_machine(mode: str, method: str, status: int) -> None:
    app = build_app(cast(WebSocketGateway, _Gone()), Frontend(ROOT / "frontend"), mode)
    request = make_mocked_request(method, "/@connections/AAAAAAAAAAAAAAA=", app=app,
                                  transport=_Peer())

    async def answer() -> int:
        match = await app.router.resolve(request)
        request._match_info = match  # what aiohttp's server does before the handler
        response = await match.handler(request)
        return response.status

    assert asyncio.run(answer()) == status


def test_the_sqlite_directory_is_private(start_gateway: Callable[..., Gateway],
                                         tmp_path: Path) -> None:
    db = tmp_path / "fresh" / "chat.db"
    start_gateway({"CHAT_STORE": f"sqlite:///{db}"})
    assert (db.parent.stat().st_mode & 0o777) == 0o700


def test_a_second_gateway_on_the_same_sqlite_store_refuses_to_start(
    start_gateway: Callable[..., Gateway], tmp_path: Path
) -> None:
    db = tmp_path / "chat.db"
    first = start_gateway({"CHAT_STORE": f"sqlite:///{db}"})
    assert first.process is not None
    done = subprocess.run(
        [sys.executable, "-m", "localgw", "--port", "0"],
        cwd=ROOT, env={**os.environ, "CHAT_STORE": f"sqlite:///{db}"},
        capture_output=True, text=True, timeout=60,
    )
    assert done.returncode != 0
    assert f"already served by another local gateway (pid {first.process.pid})" in done.stderr
    assert "Serving" not in done.stdout
    # the first one still serves
    connection = http.client.HTTPConnection("127.0.0.1", first.port, timeout=5)
    connection.request("GET", "/config.js")
    assert connection.getresponse().status == 200
    connection.close()
