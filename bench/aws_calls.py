"""AWS API calls per chat operation with the DynamoDB store, at 2 and at 500
registered users, and the cold import time of ``app`` beside a bare Chalice
WebSocket echo app: ``python -m bench.aws_calls``.

The real Lambda handlers (app.py) run through Chalice's test client with
API-Gateway-shaped events; DynamoDB is moto's server on loopback; only the
@connections HTTP call is stubbed (answered 200 by a botocore hook), because no
API Gateway exists here. DynamoDB calls are counted twice: by the store's
client (``before-call``) and by the server (every request, retries included).
Prints PASS/FAIL against the issue's targets; asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bench import results
from bench.machine import ROOT, describe
from bench.servers import loopback_env

SCALES = (2, 500)
MAX_SEND_REQUESTS = 4
MAX_IMPORT_RATIO = 1.3
IMPORT_RUNS = 9
PASSWORD = "bench-password"
# Filler accounts never sign in, so any string will do as their hash.
FILLER_HASH = "scrypt$2$1$1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
SEND_EVENTS = ("send (first in conversation)", "send", "send (reply)")

ECHO_APP = '''\
import boto3
from chalice import Chalice

app = Chalice(app_name="echo")
app.experimental_feature_flags.update(["WEBSOCKETS"])
app.websocket_api.session = boto3.Session()


@app.on_ws_message()
def message(event):
    app.websocket_api.send(event.connection_id, event.body)
'''


def _fake_aws_environment() -> None:
    """Fake credentials and a region: nothing here may reach a real AWS account."""
    fake = loopback_env({"CHAT_LOG_LEVEL": "WARNING"})
    os.environ.clear()
    os.environ.update(fake)


class _Raw:
    def __init__(self, data: bytes) -> None:
        self._data = data

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._data


class Meter:
    """Counts AWS calls: DynamoDB by the store's client and by the server, and
    PostToConnection at the stubbed @connections endpoint."""

    def __init__(self) -> None:
        self.client: Counter[str] = Counter()
        self.server: Counter[str] = Counter()
        self.posts = 0

    def reset(self) -> None:
        self.client.clear()
        self.server.clear()
        self.posts = 0

    def on_call(self, model: Any, **_: Any) -> None:
        self.client[model.name] += 1

    def on_post(self, request: Any, **_: Any) -> Any:
        from botocore.awsrequest import AWSResponse

        self.posts += 1
        return AWSResponse(request.url, 200, {}, _Raw(b""))

    def snapshot(self) -> dict[str, Any]:
        return {
            "dynamodb": dict(sorted(self.client.items())),
            "dynamodb_requests": sum(self.client.values()),
            "server_requests": sum(self.server.values()),
            "server": dict(sorted(self.server.items())),
            "post_to_connection": self.posts,
        }


def _count_server_requests(meter: Meter) -> None:
    from moto.dynamodb.responses import DynamoHandler

    call_action = DynamoHandler.call_action

    def counted(self: Any) -> Any:
        meter.server[self._get_action()] += 1
        return call_action(self)

    DynamoHandler.call_action = counted  # type: ignore[method-assign]


def bench_event(route: str, connection_id: str, body: Any = None) -> dict[str, Any]:
    """An API-Gateway-shaped event for one of the three handlers (localgw's builder)."""
    from localgw.events import Peer, route_event

    peer = Peer(connection_id, time.time(), "127.0.0.1", "bench",
                "bench.execute-api.us-east-1.amazonaws.com", "dev", "bench")
    return route_event(route, peer, None if body is None else json.dumps(body))


def measure(endpoint: str, users: int, meter: Meter) -> dict[str, dict[str, Any]]:
    """Runs one scripted session through the handlers; calls per event."""
    import boto3
    from chalice.test import Client

    import app as chat_app
    from chalicelib.model import Connection, User
    from chalicelib.store import schema

    table = f"bench-{users}-{uuid.uuid4().hex[:8]}"
    schema.ensure_table(boto3.client("dynamodb", endpoint_url=endpoint), table)
    os.environ["CHAT_STORE"] = f"dynamodb:{table}"
    chat_app.service.cache_clear()
    service = chat_app.service()  # built now, from this environment
    store = service.chat.store
    store.client.meta.events.register("before-call.dynamodb", meter.on_call)

    # the other accounts go straight into the store; half of them are online
    now = time.time()
    for i in range(users - 2):
        name = f"filler{i:04d}"
        store.create_user(User(name, FILLER_HASH, now))
        if i % 2:
            store.bind_connection(Connection(f"F{i}", name, "x", now, now + 7200), now=now)

    api = chat_app.app.websocket_api
    api._client = None
    api.session.events.register(
        "before-send.apigatewaymanagementapi", meter.on_post, unique_id="bench.aws_calls"
    )
    handlers = {"$connect": "connect", "$disconnect": "disconnect", "$default": "message"}
    counts: dict[str, dict[str, Any]] = {}
    replies: list[Any] = []

    with Client(chat_app.app, project_dir=str(ROOT)) as client:

        def run(label: str, route: str, connection_id: str, body: Any = None) -> None:
            meter.reset()
            event = bench_event(route, connection_id, body)
            response = client.lambda_.invoke(handlers[route], event)
            replies.append(response.payload)
            counts[label] = meter.snapshot()

        def frame(action: str, **fields: Any) -> dict[str, Any]:
            return {"action": action, **fields}

        run("$connect", "$connect", "A1")
        run("register", "$default", "A1", frame("register", username="alice", password=PASSWORD))
        run("$connect (bob)", "$connect", "B1")
        run("register (bob)", "$default", "B1",
            frame("register", username="bob", password=PASSWORD))
        run(SEND_EVENTS[0], "$default", "A1", frame("send", to="bob", text="hi", client_id="c1"))
        run(SEND_EVENTS[1], "$default", "A1", frame("send", to="bob", text="again", client_id="c2"))
        run(SEND_EVENTS[2], "$default", "B1", frame("send", to="alice", text="yo", client_id="c3"))
        run("send (retry: duplicate)", "$default", "A1",
            frame("send", to="bob", text="again", client_id="c2"))
        run("send (no such user)", "$default", "A1",
            frame("send", to="nobody", text="?", client_id="c4"))
        run("history", "$default", "B1", frame("history", **{"with": "alice"}))
        run("conversations", "$default", "B1", frame("conversations"))
        run("users", "$default", "B1", frame("users", query="fil"))
        run("read", "$default", "B1", frame("read", **{"with": "alice", "up_to": _last_id(store)}))
        run("typing", "$default", "B1", frame("typing", to="alice"))
        run("ping", "$default", "B1", frame("ping"))
        run("login (2nd connection)", "$default", "A2",
            frame("login", username="alice", password=PASSWORD))
        run("logout", "$default", "A2", frame("logout"))
        # issue 13: edit, delete, react, block (bob is on B1, alice on A1)
        mine = _last_id(store)  # bob's "yo", the conversation's last message
        run("edit", "$default", "B1", frame("edit", id=mine, text="yo!"))
        run("react", "$default", "A1", frame("react", id=mine, emoji="👍"))
        run("react (same again: removes)", "$default", "A1", frame("react", id=mine, emoji="👍"))
        run("delete", "$default", "B1", frame("delete", id=mine))
        run("block", "$default", "B1", frame("block", username="alice"))
        run("send (to someone who blocks you)", "$default", "A1",
            frame("send", to="bob", text="?", client_id="c5"))
        run("typing (blocked)", "$default", "A1", frame("typing", to="bob"))
        run("blocks", "$default", "B1", frame("blocks"))
        run("unblock", "$default", "B1", frame("unblock", username="alice"))
        run("$disconnect", "$disconnect", "A1")
        run("$disconnect (unbound)", "$disconnect", "A2")
    chat_app.service.cache_clear()
    return counts


def _last_id(store: Any) -> str:
    conversations = store.conversations("bob")
    return str(conversations[0].last.id) if conversations else ""


def import_time_us(cwd: Path) -> int:
    """Cumulative import time of ``app`` (microseconds) in a fresh interpreter."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CHAT_", "PYTHON"))}
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import app"],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    line = re.compile(r"import time:\s+\d+\s+\|\s+(\d+)\s+\|\s?(\S.*)$")
    for text in reversed(done.stderr.splitlines()):
        match = line.match(text)
        if match and match.group(2) == "app":
            return int(match.group(1))
    raise RuntimeError(f"no import time for app in {cwd}: {done.stderr[-500:]}")


def import_times(runs: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="echo-app-") as echo_dir:
        echo = Path(echo_dir)
        (echo / "app.py").write_text(ECHO_APP)
        import_time_us(ROOT)  # warm-up: compiles bytecode, fills the page cache
        import_time_us(echo)
        chat_us, echo_us = [], []
        for _ in range(runs):  # interleaved, so drift on a noisy machine hits both
            chat_us.append(import_time_us(ROOT))
            echo_us.append(import_time_us(echo))
    chat_ms = statistics.median(chat_us) / 1000
    echo_ms = statistics.median(echo_us) / 1000
    return {
        "runs": runs,
        "app_ms": round(chat_ms, 1),
        "echo_app_ms": round(echo_ms, 1),
        "ratio": round(chat_ms / echo_ms, 3),
        "app_runs_ms": [round(u / 1000, 1) for u in chat_us],
        "echo_app_runs_ms": [round(u / 1000, 1) for u in echo_us],
    }


def _cell(row: dict[str, Any]) -> str:
    ops = " ".join(f"{op}:{n}" for op, n in row["dynamodb"].items()) or "-"
    return f"{row['dynamodb_requests']:>2} ({ops}) [{row['post_to_connection']}]"


def report(scales: dict[int, dict[str, dict[str, Any]]], imports: dict[str, Any]) -> dict[str, Any]:
    first, second = SCALES
    labels = list(scales[first])
    width = max(len(label) for label in labels)
    print("\nDynamoDB requests per event (by operation); PostToConnection calls in []\n")
    print(f"{'event':<{width}}  {f'{first} users':<60}  {f'{second} users'}")
    for label in labels:
        a, b = scales[first][label], scales[second][label]
        print(f"{label:<{width}}  {_cell(a):<60}  {_cell(b)}")

    scans = sum(
        row["dynamodb"].get("Scan", 0) + row["server"].get("Scan", 0)
        for rows in scales.values()
        for row in rows.values()
    )
    mismatched = [
        (n, label)
        for n, rows in scales.items()
        for label, row in rows.items()
        if row["dynamodb_requests"] != row["server_requests"]
    ]
    send_counts = {
        label: {n: scales[n][label]["dynamodb_requests"] for n in SCALES} for label in SEND_EVENTS
    }
    worst_send = max(count for counts in send_counts.values() for count in counts.values())
    same = all(len(set(counts.values())) == 1 for counts in send_counts.values()) and all(
        scales[first][label]["dynamodb"] == scales[second][label]["dynamodb"]
        for label in SEND_EVENTS
    )
    # stable key -> (verdict, what was checked)
    checks = {
        "no_scan": (scans == 0, "no Scan on any path"),
        "send_requests": (
            worst_send <= MAX_SEND_REQUESTS,
            f"send to a recipient with one open connection <= {MAX_SEND_REQUESTS}"
            f" DynamoDB requests (worst: {worst_send})",
        ),
        "same_at_scales": (same, f"same count at {first} and {second} users"),
        "import_ratio": (
            imports["ratio"] <= MAX_IMPORT_RATIO,
            f"import time ratio <= {MAX_IMPORT_RATIO} (got {imports['ratio']})",
        ),
    }
    if mismatched:
        print(f"\nnote: client and server counts differ (retries?) for {mismatched}")
    print(
        f"\ncold import (python -X importtime, median of {imports['runs']}):"
        f" app {imports['app_ms']} ms, bare Chalice WebSocket echo app"
        f" {imports['echo_app_ms']} ms, ratio {imports['ratio']}\n"
    )
    for ok, text in checks.values():
        print(f"{'PASS' if ok else 'FAIL'}  {text}")
    return {key: ok for key, (ok, _) in checks.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--import-runs", type=int, default=IMPORT_RUNS)
    args = parser.parse_args(argv)
    _fake_aws_environment()
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's per-request lines
    from moto.server import ThreadedMotoServer

    meter = Meter()
    _count_server_requests(meter)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        endpoint = f"http://{host}:{port}"
        os.environ["AWS_ENDPOINT_URL_DYNAMODB"] = endpoint
        scales = {}
        for users in SCALES:
            started = time.perf_counter()
            scales[users] = measure(endpoint, users, meter)
            print(f"measured with {users} users in {time.perf_counter() - started:.1f} s")
    finally:
        server.stop()
    imports = import_times(args.import_runs)
    checks = report(scales, imports)
    path = results.save(
        "aws_calls",
        {
            "machine": describe(),
            "targets": {
                "max_send_requests": MAX_SEND_REQUESTS,
                "max_import_ratio": MAX_IMPORT_RATIO,
            },
            "calls": {str(n): rows for n, rows in scales.items()},
            "import_time": imports,
            "checks": checks,
        },
    )
    print(f"\nwritten to {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
