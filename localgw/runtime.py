"""The Lambda runtime's part: load the app as Lambda does (module:attribute), find the
callable for each route, build the context object, run one handler and log its REPORT
line, and run the app's own local preparation hook. Used by both invokers; imports no
aiohttp."""

from __future__ import annotations

import importlib
import logging
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

from localgw import events

if TYPE_CHECKING:
    from localgw.blobs_api import BlobServer

logger = logging.getLogger("localgw")

Handler = Callable[[dict[str, Any], Any], Any]
# the function an app's module may offer to make its local resources ready
PREPARE_HOOK = "prepare_local"


@dataclass(frozen=True)
class Prepared:
    """What the app's hook made ready: a line for the banner, a file only one gateway
    may serve at a time (its store), if any, and the embedded blob store the gateway
    serves at /blobs/, if any."""

    description: str
    exclusive_path: str | None = None
    blobs: BlobServer | None = None


NOTHING_PREPARED = Prepared("nothing to prepare (the app offers no prepare_local)")


@dataclass(frozen=True)
class LoadedApp:
    module: ModuleType
    app: Any
    handlers: dict[str, Handler]

    @property
    def function_name(self) -> str:
        return str(getattr(self.app, "app_name", "app"))

    def prepare(self) -> Prepared:
        """Runs the module's ``prepare_local()``: its result's ``description``,
        ``exclusive_path`` and ``blobs`` attributes, or a plain string."""
        hook = getattr(self.module, PREPARE_HOOK, None)
        if hook is None:
            return NOTHING_PREPARED
        result = hook()
        if isinstance(result, str):
            return Prepared(result)
        exclusive = getattr(result, "exclusive_path", None)
        return Prepared(
            str(result.description),
            None if exclusive is None else str(exclusive),
            getattr(result, "blobs", None),
        )


def load_app(spec: str, app_dir: str) -> LoadedApp:
    module_name, _, attribute = spec.partition(":")
    sys.path.insert(0, str(Path(app_dir).resolve()))
    module = importlib.import_module(module_name)
    app = getattr(module, attribute or "app")
    if not hasattr(app, "websocket_handlers"):
        raise SystemExit(f"{spec} is not a Chalice app (no websocket_handlers)")
    return LoadedApp(module, app, lambda_handlers(app))


def lambda_handlers(app: Any) -> dict[str, Handler]:
    """Route key -> the callable Lambda would invoke for it. ``app.websocket_handlers``
    holds each route's config; the deployed Lambda handler is the wrapped function
    Chalice records in ``handler_map`` under the same name."""
    handlers = {}
    for route, config in app.websocket_handlers.items():
        handler = app.handler_map.get(config.name)
        if handler is None:
            module_name, _, attribute = config.handler_string.rpartition(".")
            handler = getattr(importlib.import_module(module_name), attribute)
        handlers[route] = handler
    return handlers


def configure_logging(level: str) -> None:
    logging.basicConfig(
        level=level, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    if level != "DEBUG":
        logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
        logging.getLogger("botocore").setLevel(logging.WARNING)


class LambdaContext:
    """The few attributes of Lambda's context object that handlers read."""

    function_version = "$LATEST"
    memory_limit_in_mb = 128
    timeout_seconds = 60

    def __init__(self, function_name: str, region: str) -> None:
        self.function_name = function_name
        self.aws_request_id = events.new_uuid()
        self.invoked_function_arn = (
            f"arn:aws:lambda:{region}:000000000000:function:{function_name}"
        )
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = f"localgw/[$LATEST]{os.urandom(16).hex()}"
        self._deadline = time.monotonic() + self.timeout_seconds

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


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
