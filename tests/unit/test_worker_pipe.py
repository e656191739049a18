"""The worker pipe (localgw/worker.py, localgw/process_invoker.py): calls and requests
carry ids, so answers never go to the wrong caller, and a worker is free again only on
its answer or its death."""

from __future__ import annotations

import asyncio
import threading
from multiprocessing import Pipe
from pathlib import Path
from typing import Any

from localgw.connections_api import GONE, TAKEN, Reply
from localgw.process_invoker import ProcessInvoker
from localgw.worker import PipeConnections, WorkerSettings
from tests.unit.events import websocket_event

APPS = Path(__file__).resolve().parent / "apps"


def message(body: str) -> dict[str, Any]:
    return websocket_event("$default", "c1", body)


class Unused:
    """The gateway's @connections API, for an app that never calls it."""

    def take(self, connection_id: str, data: bytes) -> Reply:
        raise AssertionError("the echo app makes no @connections call")

    async def manage(self, method: str, connection_id: str, body: bytes) -> Reply:
        raise AssertionError("the echo app makes no @connections call")


def test_answers_reach_their_own_caller_whichever_thread_reads_them() -> None:
    ours, theirs = Pipe()
    connections = PipeConnections(ours)
    answers: dict[str, Reply] = {}

    def caller(connection_id: str) -> None:
        answers[connection_id] = connections.call("POST", connection_id, b"x")

    threads = [threading.Thread(target=caller, args=(c,)) for c in ("a", "b", "c")]
    for thread in threads:
        thread.start()
    calls = [theirs.recv() for _ in threads]
    # answered in the reverse order, with a request for the main loop in between
    for kind, call_id, _method, connection_id, _body in reversed(calls):
        assert kind == "call"
        if connection_id == "b":
            theirs.send(("invoke", 7, "$default", {}))
        reply = GONE if connection_id == "a" else TAKEN
        theirs.send(("reply", call_id, reply.status, reply.body, reply.error_type))
    for thread in threads:
        thread.join(timeout=5)
    assert answers == {"a": GONE, "b": TAKEN, "c": TAKEN}
    assert connections.request() == ("invoke", 7, "$default", {})


def test_a_cancelled_invocation_never_leaks_into_the_next() -> None:
    async def body() -> None:
        invoker = ProcessInvoker(WorkerSettings("echo_app:app", str(APPS), "WARNING"), 1)
        await invoker.start(Unused(), "http://127.0.0.1:9/local")
        try:
            slow = asyncio.ensure_future(invoker.invoke("$default", message("sleep 0.5")))
            await asyncio.sleep(0.2)
            slow.cancel()
            result = await invoker.invoke("$default", message("second"))
            assert result.error is None
            assert result.response == {"statusCode": 200, "body": "second"}
            third = await invoker.invoke("$default", message("third"))
            assert third.response == {"statusCode": 200, "body": "third"}
            assert [w.process.is_alive() for w in invoker._workers] == [True]
        finally:
            invoker.shutdown()

    asyncio.run(asyncio.wait_for(body(), 60))


def test_the_app_without_a_prepare_hook_prepares_nothing() -> None:
    async def body() -> Any:
        invoker = ProcessInvoker(WorkerSettings("echo_app:app", str(APPS), "WARNING"), 1)
        try:
            return await invoker.start(Unused(), "http://127.0.0.1:9/local")
        finally:
            invoker.shutdown()

    prepared = asyncio.run(asyncio.wait_for(body(), 60))
    assert prepared.exclusive_path is None
    assert "nothing to prepare" in prepared.description
