"""Fixtures for the end-to-end suite: `python -m localgw` subprocesses on ephemeral ports
(the real app on SQLite or on moto's DynamoDB server, or the probe app), the same apps
deployed into MiniStack (the `ministack` target, tests/deploy/), and a small WebSocket
chat client.

The target parameter: protocol tests take `chat_gateway`, whose params are the local
gateway on each store and "ministack" (the chat deployed by the CloudFormation path into
a MiniStack of the session); tests that restart or inspect the gateway process stay on
localgw."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from tests.conftest import FAST_SCRYPT, SUITE_SETTINGS
from tests.deploy import conftest as deploy_fixtures
from tests.deploy import paths
from tests.deploy.ministack import MiniStack

ROOT = Path(__file__).resolve().parents[2]
APPS = Path(__file__).resolve().parent / "apps"
SERVING = re.compile(r"Serving chat on http://127\.0\.0\.1:(\d+)/")
PASSWORD = "password-123"
STORES = ["sqlite", "dynamodb"]
MINISTACK = "ministack"

CHAT_TARGETS = [*STORES, MINISTACK]


class Gateway:
    """One `python -m localgw --port 0` process, as a user runs it."""

    def __init__(self, workdir: Path, env: dict[str, str], args: list[str]) -> None:
        self.workdir = workdir
        self.env = env
        self.args = args
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None
        self.log_path = workdir / "gateway.log"

    def start(self, timeout: float = 20) -> Gateway:
        """Starts (or restarts) the process; returns once it printed its URL."""
        env = {
            **os.environ,
            "PYTHONUNBUFFERED": "1",
            "CHAT_SCRYPT_COST": FAST_SCRYPT,
            # the embedded blob store in the test's own directory, not the checkout's .chat
            "CHAT_BLOBS": f"file:///{self.workdir / 'blobs'}",
            **self.env,
        }
        offset = len(self.log())
        with self.log_path.open("ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "localgw", "--host", "127.0.0.1", "--port", "0", *self.args],
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.process.poll() is None:
            match = SERVING.search(self.log()[offset:])
            if match:
                self.port = int(match.group(1))
                return self
            time.sleep(0.05)
        self.kill()
        pytest.fail(f"local gateway did not start:\n{self.log()}", pytrace=False)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 10) -> int:
        assert self.process is not None
        self.process.send_signal(sig)
        try:
            return self.process.wait(timeout=timeout)
        finally:
            self.kill()

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=5)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws"


@pytest.fixture
def start_gateway(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Callable[..., Gateway]]:
    """Starts gateways that are killed at the end of the test."""
    started: list[Gateway] = []

    def start(env: dict[str, str], *args: str, workdir: Path | None = None) -> Gateway:
        gateway = Gateway(workdir or tmp_path_factory.mktemp("gw"), env, list(args))
        started.append(gateway)
        return gateway.start()

    yield start
    for gateway in started:
        gateway.kill()


def store_env(store: str, tmp: Path, table: str | None, endpoint: str | None) -> dict[str, str]:
    if store == "sqlite":
        return {"CHAT_STORE": f"sqlite:///{tmp / 'chat.db'}"}
    assert table and endpoint
    return {"CHAT_STORE": f"dynamodb:{table}", "AWS_ENDPOINT_URL_DYNAMODB": endpoint}


# The session's MiniStack, the same fixture as tests/deploy's.
ministack = deploy_fixtures.ministack


@dataclass(frozen=True)
class Deployed:
    """An app deployed into MiniStack: only its WebSocket URL, as a user of AWS has."""

    ws_url: str


@pytest.fixture(scope="session")
def ministack_chat(ministack: MiniStack, tmp_path_factory: pytest.TempPathFactory) -> Deployed:
    """The chat, deployed into MiniStack as docs/deploy.md's CloudFormation path does."""
    deployment = paths.prepare("cloudformation", ministack, tmp_path_factory.mktemp("cfn"))
    # The suite's settings (tests/conftest.py) for the deployed functions too: every
    # simulated person comes from 127.0.0.1, so the per-IP limits would count them as one.
    config_path = deployment.project / ".chalice" / "config.json"
    config = json.loads(config_path.read_text())
    config["stages"][paths.STAGE]["environment_variables"].update(
        SUITE_SETTINGS
    )
    config_path.write_text(json.dumps(config, indent=2))
    try:
        paths.deploy(deployment)
    except paths.StepFailed as error:
        pytest.fail(f"could not deploy the chat into MiniStack: {error}", pytrace=False)
    return Deployed(deployment.websocket_url)


@pytest.fixture(scope="module", params=CHAT_TARGETS)
def chat_gateway(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Gateway | Deployed]:
    """The real app, shared by a module's tests, on each store through localgw, and
    deployed into MiniStack. With DynamoDB the local gateway creates the table itself
    (from the single table definition) on moto's server."""
    if request.param == MINISTACK:
        yield request.getfixturevalue("ministack_chat")
        return
    tmp = tmp_path_factory.mktemp(f"chat-{request.param}")
    endpoint = request.getfixturevalue("moto_endpoint") if request.param == "dynamodb" else None
    table = f"e2e-{uuid.uuid4().hex[:12]}"
    gateway = Gateway(tmp, store_env(request.param, tmp, table, endpoint), [])
    gateway.start()
    yield gateway
    gateway.kill()


@pytest.fixture(scope="session")
def probe_frontend(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("frontend")
    (root / "index.html").write_text(
        '<!doctype html><title>probe</title><script src="/app.js"></script>\n'
    )
    (root / "app.js").write_text("console.log('probe');\n")
    (root / "style.css").write_text("body { margin: 0 }\n")
    (root / "logo.svg").write_text('<svg xmlns="http://www.w3.org/2000/svg"/>\n')
    (root / ".secret").write_text("not for the web\n")
    (root / "security-headers.json").write_text(
        json.dumps({"Content-Security-Policy": "default-src 'self'", "X-Frame-Options": "DENY"})
    )
    return root


class Probe:
    """A gateway running tests/e2e/apps/probe_app.py, and the events it recorded."""

    def __init__(self, gateway: Gateway, log: Path) -> None:
        self.gateway = gateway
        self.log = log

    def events(self, route: str | None = None) -> list[dict[str, Any]]:
        if not self.log.exists():
            return []
        lines = self.log.read_text().splitlines()
        found = [json.loads(line) for line in lines if line.strip()]
        return [e for e in found if route is None or e["requestContext"]["routeKey"] == route]

    def disconnects(self, connection_id: str) -> list[dict[str, Any]]:
        return [
            e["requestContext"]
            for e in self.events("$disconnect")
            if e["requestContext"]["connectionId"] == connection_id
        ]

    def wait_disconnect(self, connection_id: str, timeout: float = 5) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.disconnects(connection_id)
            if found:
                time.sleep(0.2)  # a second $disconnect would show up by now
                found = self.disconnects(connection_id)
                assert len(found) == 1, found
                return found[0]
            time.sleep(0.05)
        raise AssertionError(f"no $disconnect for {connection_id}:\n{self.gateway.log()}")


def probe_args(*extra: str) -> list[str]:
    return ["--app-dir", str(APPS), "--app", "probe_app:app", *extra]


@pytest.fixture(scope="session", params=["process", "thread"])
def probe(
    tmp_path_factory: pytest.TempPathFactory, probe_frontend: Path, request: pytest.FixtureRequest
) -> Iterator[Probe]:
    """The contract holds whichever way the handlers run (--isolation)."""
    tmp = tmp_path_factory.mktemp("probe")
    log = tmp / "events.jsonl"
    env = {"PROBE_LOG": str(log), "CHAT_STORE": f"sqlite:///{tmp / 'unused.db'}"}
    args = probe_args("--frontend", str(probe_frontend), "--isolation", request.param)
    gateway = Gateway(tmp, env, args)
    gateway.start()
    yield Probe(gateway, log)
    gateway.kill()


@pytest.fixture
def start_probe(
    start_gateway: Callable[..., Gateway], tmp_path: Path
) -> Callable[..., Probe]:
    """A probe gateway of the test's own, with extra flags."""

    def start(*extra: str) -> Probe:
        log = tmp_path / "events.jsonl"
        env = {"PROBE_LOG": str(log), "CHAT_STORE": f"sqlite:///{tmp_path / 'unused.db'}"}
        return Probe(start_gateway(env, *probe_args(*extra)), log)

    return start


def names(count: int) -> list[str]:
    """Fresh usernames, so tests sharing a gateway never meet."""
    tag = uuid.uuid4().hex[:8]
    return [f"u{tag}{i}" for i in range(count)]


class Client:
    """A chat client over a real WebSocket. Frames not yet asked for are kept, so pushes
    and replies can be awaited in any order."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.pending: list[dict[str, Any]] = []
        self.username = ""
        self.token = ""

    @classmethod
    async def open(cls, url: str) -> Client:
        return cls(await connect(url, open_timeout=10, max_size=None))

    async def send(self, **frame: Any) -> None:
        # as a browser's JSON.stringify sends it: UTF-8, non-ASCII unescaped (an emoji
        # is 4 bytes, not a 12-byte escape pair); only a lone surrogate travels escaped
        text = json.dumps(frame, ensure_ascii=False)
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            text = json.dumps(frame)
        await self.ws.send(text)

    async def expect(
        self, kind: str, timeout: float = 10, **fields: Any
    ) -> dict[str, Any]:
        """The first frame of type ``kind`` whose fields match."""

        def matches(frame: dict[str, Any]) -> bool:
            return frame.get("type") == kind and all(frame.get(k) == v for k, v in fields.items())

        for frame in self.pending:
            if matches(frame):
                self.pending.remove(frame)
                return frame
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                raise AssertionError(f"no {kind} {fields} frame; got {self.pending}")
            try:
                raw = await asyncio.wait_for(self.ws.recv(), remaining)
            except TimeoutError:
                continue
            frame = json.loads(raw)
            if matches(frame):
                return frame
            self.pending.append(frame)

    async def call(self, action: str, reply: str, **fields: Any) -> dict[str, Any]:
        """Send one frame and take its reply: the first ``reply`` frame that echoes the
        request's ``client_id`` or ``id``, so a push of the same type (another
        message's ``edited``) is never taken for it."""
        await self.send(action=action, **fields)
        echoed = {k: fields[k] for k in ("client_id", "id") if k in fields}
        return await self.expect(reply, **echoed)

    async def drain(self, wait: float = 0.3) -> list[dict[str, Any]]:
        """Every frame that arrives within ``wait`` seconds, plus those kept."""
        with_pending, self.pending = self.pending, []
        try:
            while True:
                with_pending.append(json.loads(await asyncio.wait_for(self.ws.recv(), wait)))
        except TimeoutError:
            return with_pending

    async def register(self, username: str) -> Client:
        welcome = await self.call("register", "welcome", username=username, password=PASSWORD)
        self.username, self.token = welcome["username"], welcome["token"]
        return self

    async def login(self, username: str) -> Client:
        welcome = await self.call("login", "welcome", username=username, password=PASSWORD)
        self.username, self.token = welcome["username"], welcome["token"]
        return self

    async def close(self) -> None:
        await self.ws.close()


async def ask(ws: ClientConnection, text: str | bytes) -> dict[str, Any]:
    """Sends one frame to the probe app and returns its JSON reply."""
    await ws.send(text)
    return json.loads(await asyncio.wait_for(ws.recv(), 10))


async def closed_with(ws: ClientConnection, timeout: float = 10) -> tuple[int, str]:
    """Reads until the server closes; returns the close code and reason it sent."""
    with pytest.raises(ConnectionClosed) as closed:
        while True:
            await asyncio.wait_for(ws.recv(), timeout)
    assert closed.value.rcvd is not None
    return closed.value.rcvd.code, closed.value.rcvd.reason


def run(coroutine: Any, timeout: float = 60) -> Any:
    """Runs one test's async body with a hard bound."""
    return asyncio.run(asyncio.wait_for(coroutine, timeout))
