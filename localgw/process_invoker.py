"""Handlers in worker processes (localgw.worker), one request at a time each, as Lambda
runs every invocation in an execution environment of its own (``--isolation process``).

The gateway writes to a worker only while that worker waits for it (a request when it
is idle, the answer to an @connections call it made), so neither side can block the
other on a full pipe. Each request carries an id, and a worker is free again only when
its answer to that id arrives, or when it dies: a caller that gave up (a cancelled
invocation) leaves the worker busy until its handler has ended, and a late answer can
never be taken for the next request's.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import multiprocessing
import time
from collections import deque
from collections.abc import Coroutine
from dataclasses import dataclass
from multiprocessing.connection import Connection as Pipe
from multiprocessing.process import BaseProcess
from typing import Any

from localgw.connections_api import ConnectionsAPI, Reply
from localgw.runtime import Invocation, Prepared, RemoteError, report
from localgw.worker import WorkerSettings, worker_main

logger = logging.getLogger("localgw")

START_TIMEOUT = 60.0
STOP_TIMEOUT = 1.0


class WorkerExited(Exception):
    """A worker process ended during a request (Lambda: 'Runtime exited')."""

    def __init__(self, text: str, elapsed_ms: float) -> None:
        super().__init__(text)
        self.elapsed_ms = elapsed_ms


@dataclass(eq=False)
class Worker:
    process: BaseProcess
    pipe: Pipe
    # the request it runs (None: free), and its caller's future (may be cancelled)
    request: int | None = None
    pending: asyncio.Future[Any] | None = None
    started: float = 0.0
    alive: bool = True


class ProcessInvoker:
    def __init__(self, settings: WorkerSettings, workers: int) -> None:
        self.settings = settings
        self.size = max(1, workers)
        self.routes: frozenset[str] = frozenset()
        self._context = multiprocessing.get_context("spawn")
        self._workers: set[Worker] = set()
        # Workers go to waiting invocations first come, first served. (An asyncio.Queue
        # would let a connection whose invocation just ended take the worker it freed
        # ahead of others that had been waiting for seconds.)
        self._idle: list[Worker] = []
        self._waiting: deque[asyncio.Future[Worker]] = deque()
        self._request_ids = itertools.count(1)
        self._stopping = False
        self._connections: ConnectionsAPI | None = None
        self._endpoint = ""
        self._ready: dict[Worker, asyncio.Future[None]] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def busy(self) -> int:
        return sum(1 for worker in self._workers if worker.request is not None)

    async def start(self, connections: ConnectionsAPI, endpoint: str) -> Prepared:
        """Starts every worker, waits until each has imported the app, then has one of
        them run the app's preparation."""
        self._connections = connections
        self._endpoint = endpoint
        await asyncio.gather(*(self._spawn() for _ in range(self.size)))
        try:
            description, exclusive_path, blobs, error = await self._request("prepare")
        except WorkerExited as exited:
            error = f"the app's prepare_local ended its process ({exited})"
        if error is not None:
            raise SystemExit(error)
        return Prepared(description, exclusive_path, blobs)

    def has(self, route: str) -> bool:
        return route in self.routes

    async def invoke(self, route: str, event: dict[str, Any]) -> Invocation:
        try:
            response, error, duration_ms = await self._request("invoke", route, event)
            result = Invocation(
                response, None if error is None else RemoteError(*error), duration_ms
            )
        except WorkerExited as exited:
            result = Invocation(None, exited, exited.elapsed_ms)
        report(route, event, result)
        return result

    async def _request(self, kind: str, *args: Any) -> Any:
        """Sends one request to a free worker; its answer's fields after the id."""
        worker = await self._acquire()
        request_id = next(self._request_ids)
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        worker.request, worker.pending, worker.started = request_id, future, time.perf_counter()
        try:
            worker.pipe.send((kind, request_id, *args))
        except OSError:
            self._lost(worker)
        return await future

    def _answered(self, worker: Worker, request_id: int, fields: tuple[Any, ...]) -> None:
        if request_id != worker.request:
            logger.error("a worker answered request %s while running %s; ignored",
                         request_id, worker.request)
            return
        future = worker.pending
        worker.request = worker.pending = None
        if future is not None and not future.done():
            future.set_result(fields)
        self._release(worker)

    # the pool

    async def _spawn(self) -> None:
        loop = asyncio.get_running_loop()
        ours, theirs = self._context.Pipe()
        process = self._context.Process(
            target=worker_main, args=(theirs, self.settings, self._endpoint),
            name="localgw-lambda", daemon=True,
        )
        process.start()
        theirs.close()
        worker = Worker(process, ours)
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

    # the pipe

    def _readable(self, worker: Worker) -> None:
        try:
            while worker.alive and worker.pipe.poll():
                self._handle(worker, worker.pipe.recv())
        except (EOFError, OSError):
            self._lost(worker)

    def _handle(self, worker: Worker, message: tuple[Any, ...]) -> None:
        kind = message[0]
        if kind == "call":
            _, call_id, method, connection_id, body = message
            assert self._connections is not None
            if method == "POST":  # the hot path: answered at once, no task
                self._answer(worker, call_id, self._connections.take(connection_id, body))
            else:
                self._spawn_task(self._call(worker, call_id, method, connection_id, body))
        elif kind in ("done", "prepared"):
            self._answered(worker, message[1], message[2:])
        elif kind == "ready":
            self.routes = frozenset(message[1])
            self._set_ready(worker, None)
        elif kind == "failed":
            self._set_ready(worker, SystemExit(f"the app failed to load: {message[1]}"))

    async def _call(
        self, worker: Worker, call_id: int, method: str, connection_id: str, body: bytes
    ) -> None:
        assert self._connections is not None
        self._answer(worker, call_id, await self._connections.manage(method, connection_id, body))

    def _answer(self, worker: Worker, call_id: int, reply: Reply) -> None:
        with contextlib.suppress(OSError):
            worker.pipe.send(("reply", call_id, reply.status, reply.body, reply.error_type))

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
        future, worker.request, worker.pending = worker.pending, None, None
        if future is not None and not future.done():
            logger.error("[ERROR] Runtime exited with error: exit status %s", code)
            elapsed = (time.perf_counter() - worker.started) * 1000
            future.set_exception(WorkerExited(f"exit status {code}", elapsed))
        if not self._stopping and not starting:
            # Lambda starts a new execution environment for the next invocation
            self._spawn_task(self._replace())

    async def _replace(self) -> None:
        try:
            await self._spawn()
        except (Exception, SystemExit) as error:
            # e.g. the app no longer imports: no retry loop; the other workers go on
            logger.error("could not start a new handler process: %s", error)

    def _spawn_task(self, coroutine: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

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
