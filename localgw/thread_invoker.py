"""Handlers in a thread pool of the gateway's own process, sharing the app's module state
(``--isolation thread``)."""

from __future__ import annotations

import asyncio
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from localgw.bridge import Bridge
from localgw.connections_api import ConnectionsAPI, Reply
from localgw.runtime import Invocation, LoadedApp, Prepared, load_app, report, run_handler

REPLY_TIMEOUT = 30.0


class LoopConnections:
    """The gateway's @connections API from a handler thread: a post is taken at once;
    any other call runs on the event loop and the thread waits for its answer."""

    def __init__(self, api: ConnectionsAPI, loop: asyncio.AbstractEventLoop) -> None:
        self.api = api
        self.loop = loop

    def call(self, method: str, connection_id: str, body: bytes) -> Reply:
        if method == "POST":
            return self.api.take(connection_id, body)
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is self.loop:
            raise RuntimeError("the @connections API cannot be called on the event loop")
        future = asyncio.run_coroutine_threadsafe(
            self.api.manage(method, connection_id, body), self.loop
        )
        return future.result(timeout=REPLY_TIMEOUT)


class ThreadInvoker:
    def __init__(self, app_spec: str, app_dir: str, workers: int) -> None:
        self.app_spec = app_spec
        self.app_dir = app_dir
        self.region = os.environ.get("AWS_REGION", "us-east-1")
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="lambda")
        self._loaded: LoadedApp | None = None
        self._before_call = _nothing
        # The first invocation runs alone, like a cold start: the app builds its lazy
        # state (store, clients) once before invocations run concurrently.
        self._warm = False
        self._cold_start = asyncio.Lock()
        self._count = threading.Lock()
        self._running = 0

    async def start(self, connections: ConnectionsAPI, endpoint: str) -> Prepared:
        loaded = self._loaded = load_app(self.app_spec, self.app_dir)
        websocket_api = getattr(loaded.app, "websocket_api", None)
        if websocket_api is not None:
            loop = asyncio.get_running_loop()
            bridge = Bridge(LoopConnections(connections, loop), websocket_api, endpoint)
            bridge.attach()
            self._before_call = bridge.check
        return loaded.prepare()

    def has(self, route: str) -> bool:
        return self._loaded is not None and route in self._loaded.handlers

    async def invoke(self, route: str, event: dict[str, Any]) -> Invocation:
        if not self._warm:
            async with self._cold_start:
                if not self._warm:
                    result = await self._run(route, event)
                    self._warm = True
                    return result
        return await self._run(route, event)

    async def _run(self, route: str, event: dict[str, Any]) -> Invocation:
        loaded = self._loaded
        assert loaded is not None
        with self._count:
            self._running += 1
        running = self.pool.submit(
            run_handler, loaded.handlers[route], route, event, loaded.function_name,
            self.region, self._before_call,
        )
        # a cancelled caller leaves its thread running: busy counts it until it ends
        running.add_done_callback(self._ended)
        result = await asyncio.wrap_future(running)
        report(route, event, result)
        return result

    def _ended(self, _: object) -> None:
        with self._count:
            self._running -= 1

    @property
    def busy(self) -> int:
        return self._running

    def shutdown(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)


def _nothing() -> None:
    pass
