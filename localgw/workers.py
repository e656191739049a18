"""Runs the app's handlers in worker processes, one event at a time each, as Lambda runs
every invocation in an execution environment of its own.

Each worker imports the app itself (its own module state, like a warm Lambda container)
and talks to the gateway over a pipe. The gateway writes to a worker only while that
worker waits for it (an event when it is idle, the answer to an @connections call it
made), so neither side can block the other on a full pipe. Handler posts to connections
the gateway has told the worker are open go one way: the worker answers 200 itself, as
API Gateway does once it has taken a message, and the gateway sends the frame when it
reads the post. A post to any other connection waits for the gateway's answer.

Messages, worker -> gateway: ``("ready", routes)``, ``("failed", text)``,
``("post", id, data)``, ``("manage", method, id, body)``,
``("done", response, error, duration_ms)``; gateway -> worker:
``("invoke", route, event, opened, closed)``, ``("reply", status, body, error_type)``,
``("stop",)``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import os
import signal
import time
from collections import deque
from dataclasses import dataclass, field
from multiprocessing.connection import Connection as Pipe
from multiprocessing.process import BaseProcess
from typing import Any

from localgw.gateway import GONE, Gateway, Quotas, Reply, refusal
from localgw.invoke import Invocation, RemoteError, report, run_handler

logger = logging.getLogger("localgw")

START_TIMEOUT = 60.0
STOP_TIMEOUT = 1.0


@dataclass(frozen=True)
class WorkerSettings:
    """What a worker needs to load and run the app; picklable."""

    app_spec: str
    app_dir: str
    log_level: str
    quotas: Quotas


# the worker process


class PipeConnections:
    """The gateway as a worker's bridge reaches it (localgw.bridge.Connections)."""

    def __init__(self, pipe: Pipe, quotas: Quotas) -> None:
        self.pipe = pipe
        self.quotas = quotas
        self.open: set[str] = set()

    def post(self, connection_id: str, data: bytes) -> Reply:
        if connection_id not in self.open:
            # Opened since this invocation began (its notice comes with the next one),
            # closed, or never seen: only the gateway knows, so ask it.
            return self.manage("POST", connection_id, data)
        refused = refusal(True, data, self.quotas)
        if refused is not None:
            return refused
        self.pipe.send(("post", connection_id, data))
        return Reply(200)

    def manage(self, method: str, connection_id: str, body: bytes) -> Reply:
        self.pipe.send(("manage", method, connection_id, body))
        kind, status, reply_body, error_type = self.pipe.recv()
        assert kind == "reply", kind
        reply = Reply(status, reply_body, error_type)
        if reply.error_type == GONE.error_type or (method == "DELETE" and status < 300):
            self.open.discard(connection_id)
        elif method == "POST" and status < 300:
            self.open.add(connection_id)
        return reply


def worker_main(pipe: Pipe, settings: WorkerSettings, endpoint: str) -> None:
    # Ctrl-C (and a supervisor's SIGTERM) can reach the whole process group; the gateway
    # decides when workers stop, after the $disconnect handlers of a clean shutdown have
    # run here. Should the gateway die instead, the pipe closes and the worker ends.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    from localgw.bridge import Bridge
    from localgw.cli import configure_logging, lambda_handlers, load_app

    configure_logging(settings.log_level)
    try:
        app = load_app(settings.app_spec, settings.app_dir)
        handlers = lambda_handlers(app)
    except BaseException as error:  # an app that fails to import, or SystemExit
        pipe.send(("failed", f"{type(error).__name__}: {error}"))
        return
    connections = PipeConnections(pipe, settings.quotas)
    before_call = _no_check
    if getattr(app, "websocket_api", None) is not None:
        bridge = Bridge(connections, app.websocket_api, endpoint)
        bridge.attach()
        before_call = bridge.check
    function_name = getattr(app, "app_name", "app")
    region = os.environ.get("AWS_REGION", "us-east-1")
    pipe.send(("ready", sorted(handlers)))
    while True:
        try:
            message = pipe.recv()
        except (EOFError, OSError):
            return  # the gateway is gone
        if message[0] == "stop":
            return
        _, route, event, opened, closed = message
        connections.open.update(opened)
        connections.open.difference_update(closed)
        result = run_handler(handlers[route], route, event, function_name, region, before_call)
        failure = (
            None if result.error is None else (type(result.error).__name__, str(result.error))
        )
        pipe.send(("done", result.response, failure, result.duration_ms))


def _no_check() -> None:
    pass


# the gateway side


class WorkerExited(Exception):
    """A worker process ended during an invocation (Lambda: 'Runtime exited')."""


@dataclass(eq=False)
class Worker:
    process: BaseProcess
    pipe: Pipe
    # news of connections for the worker's next event; an id is never reused, so a
    # connection that opened and closed in between cancels out (an idle worker's news
    # stays as small as the set of open connections)
    opened: set[str] = field(default_factory=set)
    closed: set[str] = field(default_factory=set)
    pending: asyncio.Future[Invocation] | None = None
    started: float = 0.0
    alive: bool = True


class ProcessInvoker:
    def __init__(self, settings: WorkerSettings, workers: int) -> None:
        self.settings = settings
        self.size = max(1, workers)
        self.routes: frozenset[str] = frozenset()
        self.busy = 0
        self._context = multiprocessing.get_context("spawn")
        self._workers: set[Worker] = set()
        # Workers go to waiting invocations first come, first served. (An asyncio.Queue
        # would let a connection whose invocation just ended take the worker it freed
        # ahead of others that had been waiting for seconds.)
        self._idle: list[Worker] = []
        self._waiting: deque[asyncio.Future[Worker]] = deque()
        self._open: set[str] = set()
        self._stopping = False
        self._gateway: Gateway | None = None
        self._endpoint = ""
        self._ready: dict[Worker, asyncio.Future[None]] = {}

    async def start(self, gateway: Gateway, endpoint: str) -> None:
        """Start every worker and wait until each has imported the app."""
        self._gateway = gateway
        self._endpoint = endpoint
        await asyncio.gather(*(self._spawn() for _ in range(self.size)))

    async def _spawn(self) -> None:
        loop = asyncio.get_running_loop()
        ours, theirs = self._context.Pipe()
        process = self._context.Process(
            target=worker_main, args=(theirs, self.settings, self._endpoint),
            name="localgw-lambda", daemon=True,
        )
        process.start()
        theirs.close()
        worker = Worker(process, ours, opened=set(self._open))
        self._workers.add(worker)
        ready = self._ready[worker] = loop.create_future()
        loop.add_reader(ours.fileno(), self._readable, worker)
        try:
            await asyncio.wait_for(ready, START_TIMEOUT)
        finally:
            self._ready.pop(worker, None)
        self._release(worker)

    async def _acquire(self) -> Worker:
        while self._idle:
            worker = self._idle.pop()
            if worker.alive:
                return worker
        waiter: asyncio.Future[Worker] = asyncio.get_running_loop().create_future()
        self._waiting.append(waiter)
        try:
            return await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self._release(waiter.result())
            raise

    def _release(self, worker: Worker) -> None:
        if not worker.alive:
            return
        while self._waiting:
            waiter = self._waiting.popleft()
            if not waiter.done():
                waiter.set_result(worker)
                return
        self._idle.append(worker)

    def has(self, route: str) -> bool:
        return route in self.routes

    def opened(self, connection_id: str) -> None:
        self._open.add(connection_id)
        for worker in self._workers:
            worker.opened.add(connection_id)

    def closed(self, connection_id: str) -> None:
        if connection_id not in self._open:
            return
        self._open.discard(connection_id)
        for worker in self._workers:
            if connection_id in worker.opened:
                worker.opened.discard(connection_id)
            else:
                worker.closed.add(connection_id)

    async def invoke(self, route: str, event: dict[str, Any]) -> Invocation:
        self.busy += 1
        try:
            result = await self._run(await self._acquire(), route, event)
        finally:
            self.busy -= 1
        report(route, event, result)
        return result

    async def _run(self, worker: Worker, route: str, event: dict[str, Any]) -> Invocation:
        future: asyncio.Future[Invocation] = asyncio.get_running_loop().create_future()
        worker.pending, worker.started = future, time.perf_counter()
        opened, closed = worker.opened, worker.closed
        worker.opened, worker.closed = set(), set()
        try:
            worker.pipe.send(("invoke", route, event, opened, closed))
        except OSError:
            self._lost(worker)
        try:
            return await future
        finally:
            worker.pending = None
            self._release(worker)

    def _readable(self, worker: Worker) -> None:
        try:
            while worker.alive and worker.pipe.poll():
                self._handle(worker, worker.pipe.recv())
        except (EOFError, OSError):
            self._lost(worker)

    def _handle(self, worker: Worker, message: tuple[Any, ...]) -> None:
        kind = message[0]
        gateway = self._gateway
        assert gateway is not None
        if kind == "post":
            gateway.send_later(message[1], message[2])
        elif kind == "done":
            _, response, error, duration_ms = message
            failure = None if error is None else RemoteError(*error)
            if worker.pending is not None and not worker.pending.done():
                worker.pending.set_result(Invocation(response, failure, duration_ms))
        elif kind == "manage":
            gateway.spawn(self._manage(worker, *message[1:]))
        elif kind == "ready":
            self.routes = frozenset(message[1])
            self._set_ready(worker, None)
        elif kind == "failed":
            self._set_ready(worker, SystemExit(f"the app failed to load: {message[1]}"))

    async def _manage(self, worker: Worker, method: str, connection_id: str, body: bytes) -> None:
        assert self._gateway is not None
        reply = await self._gateway.manage(method, connection_id, body)
        with contextlib.suppress(OSError):
            worker.pipe.send(("reply", reply.status, reply.body, reply.error_type))

    def _set_ready(self, worker: Worker, error: BaseException | None) -> None:
        ready = self._ready.get(worker)
        if ready is not None and not ready.done():
            if error is None:
                ready.set_result(None)
            else:
                ready.set_exception(error)

    def _lost(self, worker: Worker) -> None:
        if not worker.alive:
            return
        worker.alive = False
        starting = worker in self._ready
        self._workers.discard(worker)
        loop = asyncio.get_running_loop()
        loop.remove_reader(worker.pipe.fileno())
        worker.pipe.close()
        worker.process.join(timeout=0.1)
        code = worker.process.exitcode
        self._set_ready(worker, SystemExit(f"a handler process exited (code {code})"))
        if worker.pending is not None and not worker.pending.done():
            logger.error("[ERROR] Runtime exited with error: exit status %s", code)
            elapsed = (time.perf_counter() - worker.started) * 1000
            worker.pending.set_result(
                Invocation(None, WorkerExited(f"exit status {code}"), elapsed))
        if not self._stopping and not starting:
            # Lambda starts a new execution environment for the next invocation
            assert self._gateway is not None
            self._gateway.spawn(self._replace())

    async def _replace(self) -> None:
        try:
            await self._spawn()
        except (Exception, SystemExit) as error:
            # e.g. the app no longer imports: no retry loop; the other workers go on
            logger.error("could not start a new handler process: %s", error)

    def shutdown(self) -> None:
        self._stopping = True
        for worker in list(self._workers):
            with contextlib.suppress(OSError):
                worker.pipe.send(("stop",))
        deadline = time.monotonic() + STOP_TIMEOUT
        for worker in list(self._workers):
            worker.process.join(timeout=max(0.0, deadline - time.monotonic()))
            if worker.process.is_alive():
                worker.process.kill()
                worker.process.join(timeout=1.0)
