"""Runs the app's WebSocket handlers like concurrent Lambda invocations and logs one
REPORT line per invocation. Two ways: a thread pool in this process (``Invoker``), or
worker processes, one event at a time each (``localgw.workers.ProcessInvoker``)."""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Protocol

from localgw.events import LambdaContext

logger = logging.getLogger("localgw")

Handler = Callable[[dict[str, Any], Any], Any]


class RemoteError(Exception):
    """A handler's exception as a worker process reports it: its type's name and text."""

    def __init__(self, name: str, text: str) -> None:
        super().__init__(text)
        self.name = name


@dataclass(frozen=True)
class Invocation:
    """What one handler call produced: the integration response or the exception."""

    response: dict[str, Any] | None
    error: BaseException | None
    duration_ms: float

    @property
    def status(self) -> int:
        if self.error is not None:
            return 502
        status = (self.response or {}).get("statusCode", 200)
        try:
            return int(status)
        except (TypeError, ValueError):
            return 502

    @property
    def error_name(self) -> str | None:
        if self.error is None:
            return None
        return getattr(self.error, "name", None) or type(self.error).__name__


class Invokes(Protocol):
    """What the gateway needs from either way of running handlers."""

    busy: int

    def has(self, route: str) -> bool: ...

    async def invoke(self, route: str, event: dict[str, Any]) -> Invocation: ...

    def opened(self, connection_id: str) -> None: ...

    def closed(self, connection_id: str) -> None: ...

    def shutdown(self) -> None: ...


def run_handler(
    handler: Handler, route: str, event: dict[str, Any], function_name: str, region: str,
    before_call: Callable[[], None],
) -> Invocation:
    """One invocation in the calling thread, as Lambda's runtime makes it."""
    context = LambdaContext(function_name, region)
    started = time.perf_counter()
    try:
        before_call()
        response = handler(event, context)
    except Exception as error:
        # Lambda logs the unhandled exception with its traceback
        logger.error(
            "[ERROR] %s in %s (RequestId: %s)",
            type(error).__name__,
            route,
            event["requestContext"]["requestId"],
            exc_info=error,
        )
        return Invocation(None, error, (time.perf_counter() - started) * 1000)
    duration = (time.perf_counter() - started) * 1000
    return Invocation(response if isinstance(response, dict) else None, None, duration)


def report(route: str, event: dict[str, Any], result: Invocation) -> None:
    context = event["requestContext"]
    status = f"error({result.error_name})" if result.error else str(result.status)
    logger.info(
        "REPORT RequestId: %s Route: %s ConnectionId: %s Status: %s Duration: %.2f ms",
        context["requestId"],
        route,
        context["connectionId"],
        status,
        result.duration_ms,
    )


class Invoker:
    """Handlers in a thread pool of this process, sharing the app's module state."""

    def __init__(self, handlers: Mapping[str, Handler], workers: int, function_name: str) -> None:
        self.handlers = handlers
        # called in the worker thread before each handler
        self.before_call: Callable[[], None] = lambda: None
        self.function_name = function_name
        self.region = os.environ.get("AWS_REGION", "us-east-1")
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="lambda")
        # The first invocation runs alone, like a cold start: the app builds its lazy
        # state (store, clients) once before invocations run concurrently.
        self._warm = False
        self._cold_start = asyncio.Lock()
        self.busy = 0

    def has(self, route: str) -> bool:
        return route in self.handlers

    def opened(self, connection_id: str) -> None:
        """The bridge asks the gateway itself whether a connection is open."""

    def closed(self, connection_id: str) -> None:
        """As ``opened``."""

    async def invoke(self, route: str, event: dict[str, Any]) -> Invocation:
        if not self._warm:
            async with self._cold_start:
                if not self._warm:
                    result = await self._run(route, event)
                    self._warm = True
                    return result
        return await self._run(route, event)

    async def _run(self, route: str, event: dict[str, Any]) -> Invocation:
        loop = asyncio.get_running_loop()
        self.busy += 1
        try:
            result = await loop.run_in_executor(
                self.pool, run_handler, self.handlers[route], route, event, self.function_name,
                self.region, self.before_call,
            )
        finally:
            self.busy -= 1
        report(route, event, result)
        return result

    def shutdown(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)
