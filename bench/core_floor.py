"""The CPU one direct message costs the app with no gateway around it, in this process,
one thread, no contention:

- the chat core alone: ``Chat.receive`` of a ``send`` on a SQLite store plus encoding
  its frames (no Chalice, no boto3);
- the whole Lambda handler: the API-Gateway-shaped event through Chalice's handler,
  the chat core on SQLite and both posts through boto3's ``apigatewaymanagementapi``
  client, answered by the local gateway's bridge as if the gateway took them at once.

Whatever a gateway adds comes on top, so these bound what any gateway running the
real app could reach against the bare relay."""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3

from bench.servers import loopback_env
from bench.stats import median
from chalicelib import protocol
from chalicelib.auth import ScryptCost
from chalicelib.chat import Chat, ChatConfig
from chalicelib.store.sqlite import SQLiteStore

SENDS = 3000
TEXT = "x" * 64


def _send(i: int) -> str:
    return json.dumps({"action": "send", "to": "bob", "text": TEXT, "client_id": f"c{i}"})


def _register(name: str) -> str:
    return json.dumps({"action": "register", "username": name, "password": "password1"})


def cpu_ms_per_send(sends: int = SENDS) -> float:
    """The chat core alone, in ms of CPU per send."""
    with tempfile.TemporaryDirectory(prefix="bench-core-") as tmp:
        chat = Chat(SQLiteStore(str(Path(tmp) / "chat.db")),
                    ChatConfig(scrypt_cost=ScryptCost(1024, 8, 1)))
        for conn, name in (("A", "alice"), ("B", "bob")):
            chat.receive(conn, _register(name))
        started = time.process_time()
        for i in range(sends):
            outcome = chat.receive("A", _send(i))
            for item in outcome.frames:
                protocol.encode(item.frame)
        return (time.process_time() - started) * 1000 / sends


@contextlib.contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    saved = dict(os.environ)
    os.environ.update(values)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


class _TakesEverything:
    """The gateway side of the bridge: every post accepted at once."""

    def call(self, method: str, connection_id: str, body: bytes) -> Any:
        from localgw.connections_api import TAKEN

        assert method == "POST", "a send makes no other @connections call"
        return TAKEN


def handler_cpu_ms_per_send(sends: int = SENDS) -> float:
    """The whole Lambda handler (app.py, Chalice, chat core, SQLite, boto3 posts), in ms
    of CPU per send. Nothing leaves the process: the bridge answers every post."""
    from localgw import events
    from localgw.bridge import Bridge
    from localgw.runtime import LambdaContext, lambda_handlers

    with tempfile.TemporaryDirectory(prefix="bench-handler-") as tmp, _environment(
        {**loopback_env(), "CHAT_STORE": f"sqlite:///{tmp}/chat.db", "CHAT_LOG_LEVEL": "WARNING"}
    ):
        app_module = importlib.import_module("app")
        app_module.service.cache_clear()
        # Hook a session of its own and put the app's back afterwards: the cost
        # benchmark counts posts on the app's session in this same process.
        api = app_module.app.websocket_api
        saved = api.session, api._client, api._endpoint
        api.session = boto3.Session()
        try:
            bridge = Bridge(_TakesEverything(), api, "http://127.0.0.1:9/local")
            bridge.attach()
            handlers = lambda_handlers(app_module.app)
            context = LambdaContext("bench", "us-east-1")
            peers = {
                name: events.Peer(conn, time.time(), "127.0.0.1", "bench", "127.0.0.1:9",
                                  "local", "benchapi01")
                for conn, name in (("A", "alice"), ("B", "bob"))
            }
            for name, peer in peers.items():
                handlers["$connect"](
                    events.connect_event(peer, [], [], port=9, scheme="ws"), context)
                handlers["$default"](events.message_event(peer, _register(name)), context)
            message = handlers["$default"]
            alice = peers["alice"]
            started = time.process_time()
            for i in range(sends):
                message(events.message_event(alice, _send(i)), context)
            return (time.process_time() - started) * 1000 / sends
        finally:
            app_module.service.cache_clear()
            api.session, api._client, api._endpoint = saved


def measure(runs: int) -> dict[str, float]:
    """Medians over ``runs`` fresh stores, in ms of CPU per send."""
    return {
        "core": median(cpu_ms_per_send() for _ in range(runs)),
        "handler": median(handler_cpu_ms_per_send() for _ in range(runs)),
    }


if __name__ == "__main__":
    print(measure(3))
