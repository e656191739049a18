"""A worker process: loads the app itself (its own module state, like a warm Lambda
execution environment), then runs one request at a time from the gateway's pipe.

Every message carries an id. Gateway -> worker: ``("invoke", id, route, event)``,
``("prepare", id)``, ``("reply", call_id, status, body, error_type)``, ``("stop",)``.
Worker -> gateway: ``("ready", routes)`` or ``("failed", text)`` once loaded,
``("call", call_id, method, connection_id, body)`` for each @connections call a handler
makes, ``("done", id, response, error, duration_ms)``, and
``("prepared", id, description, exclusive_path, blobs, error)`` (``blobs``: the app's
blob server, pickled; the gateway serves it at /blobs/). A call's answer is matched to
it by ``call_id``, so handler threads calling at once never take each other's answers.

No aiohttp is imported here: a worker needs only the runtime, the bridge and the
@connections replies.
"""

from __future__ import annotations

import itertools
import logging
import os
import signal
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection as Pipe
from typing import Any, TypeVar

from localgw.connections_api import Reply
from localgw.runtime import LoadedApp, configure_logging, load_app, run_handler

logger = logging.getLogger("localgw")

T = TypeVar("T")


@dataclass(frozen=True)
class WorkerSettings:
    """What a worker needs to load and run the app; picklable."""

    app_spec: str
    app_dir: str
    log_level: str


class PipeConnections:
    """The worker's end of the pipe: @connections calls from any handler thread, and the
    gateway's requests for the worker's main loop. Whichever thread waits reads the
    pipe and files what it reads: answers by call id, anything else as a request."""

    def __init__(self, pipe: Pipe) -> None:
        self.pipe = pipe
        self._send_lock = threading.Lock()
        self._state = threading.Condition()
        self._call_ids = itertools.count(1)
        self._answers: dict[int, Reply] = {}
        self._requests: deque[tuple[Any, ...]] = deque()
        self._reading = False
        self._broken: BaseException | None = None

    def send(self, message: tuple[Any, ...]) -> None:
        with self._send_lock:
            self.pipe.send(message)

    def call(self, method: str, connection_id: str, body: bytes) -> Reply:
        with self._state:
            call_id = next(self._call_ids)
        self.send(("call", call_id, method, connection_id, body))
        return self._wait(lambda: self._answers.pop(call_id, None))

    def request(self) -> tuple[Any, ...]:
        """The gateway's next request (for the main loop)."""
        return self._wait(lambda: self._requests.popleft() if self._requests else None)

    def _wait(self, take: Callable[[], T | None]) -> T:
        with self._state:
            while True:
                found = take()
                if found is not None:
                    return found
                if self._broken is not None:
                    raise EOFError("the gateway's pipe closed") from self._broken
                if self._reading:
                    self._state.wait()
                    continue
                self._read_one()

    def _read_one(self) -> None:
        """Reads one message with the lock released; called holding it."""
        self._reading = True
        self._state.release()
        message: tuple[Any, ...] | None = None
        try:
            message = self.pipe.recv()
        except (EOFError, OSError) as error:
            self._broken = error
        finally:
            self._state.acquire()
            self._reading = False
            self._state.notify_all()
        if message is None:
            return
        if message[0] == "reply":
            self._answers[message[1]] = Reply(*message[2:])
        else:
            self._requests.append(message)


def worker_main(pipe: Pipe, settings: WorkerSettings, endpoint: str) -> None:
    # Ctrl-C (and a supervisor's SIGTERM) can reach the whole process group; the gateway
    # decides when workers stop, after the $disconnect handlers of a clean shutdown have
    # run here. Should the gateway die instead, the pipe closes and the worker ends.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    configure_logging(settings.log_level)
    try:
        loaded = load_app(settings.app_spec, settings.app_dir)
    except BaseException as error:  # an app that fails to import, or SystemExit
        pipe.send(("failed", f"{type(error).__name__}: {error}"))
        return
    connections = PipeConnections(pipe)
    before_call = _hook(loaded, connections, endpoint)
    region = os.environ.get("AWS_REGION", "us-east-1")
    connections.send(("ready", sorted(loaded.handlers)))
    while True:
        try:
            message = connections.request()
        except (EOFError, OSError):
            return  # the gateway is gone
        kind = message[0]
        if kind == "stop":
            return
        if kind == "prepare":
            connections.send(("prepared", message[1], *_prepare(loaded)))
        elif kind == "invoke":
            _, request_id, route, event = message
            result = run_handler(
                loaded.handlers[route], route, event, loaded.function_name, region, before_call
            )
            failure = (
                None if result.error is None
                else (type(result.error).__name__, str(result.error))
            )
            connections.send(("done", request_id, result.response, failure, result.duration_ms))


def _hook(loaded: LoadedApp, connections: PipeConnections, endpoint: str) -> Callable[[], None]:
    websocket_api = getattr(loaded.app, "websocket_api", None)
    if websocket_api is None:
        return _nothing
    from localgw.bridge import Bridge  # botocore: only in workers of apps that post

    bridge = Bridge(connections, websocket_api, endpoint)
    bridge.attach()
    return bridge.check


def _prepare(loaded: LoadedApp) -> tuple[str | None, str | None, Any, str | None]:
    try:
        prepared = loaded.prepare()
    except SystemExit as refused:
        return None, None, None, str(refused)
    except Exception as error:
        logger.exception("the app's prepare_local failed")
        return None, None, None, f"{type(error).__name__}: {error}"
    return prepared.description, prepared.exclusive_path, prepared.blobs, None


def _nothing() -> None:
    pass
