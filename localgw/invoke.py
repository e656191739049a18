"""Runs the app's WebSocket handlers in a thread pool, like concurrent Lambda invocations,
and logs one REPORT line per invocation."""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from localgw.events import LambdaContext

logger = logging.getLogger("localgw")

Handler = Callable[[dict[str, Any], Any], Any]


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


class Invoker:
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
            result = await loop.run_in_executor(self.pool, self._call, route, event)
        finally:
            self.busy -= 1
        context = event["requestContext"]
        status = f"error({type(result.error).__name__})" if result.error else str(result.status)
        logger.info(
            "REPORT RequestId: %s Route: %s ConnectionId: %s Status: %s Duration: %.2f ms",
            context["requestId"],
            route,
            context["connectionId"],
            status,
            result.duration_ms,
        )
        return result

    def _call(self, route: str, event: dict[str, Any]) -> Invocation:
        handler = self.handlers[route]
        context = LambdaContext(self.function_name, self.region)
        started = time.perf_counter()
        try:
            self.before_call()
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

    def shutdown(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)
