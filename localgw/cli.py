"""Command line: flags and environment, wiring the gateway to the invoker the flags
choose, serving, and a clean stop on SIGINT/SIGTERM."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ipaddress
import logging
import os
import signal
import socket
from collections.abc import Sequence
from pathlib import Path

from aiohttp import web

from localgw import store_lock
from localgw.connections_api import Quotas
from localgw.gateway import Gateway
from localgw.invoker import Invoker
from localgw.process_invoker import ProcessInvoker
from localgw.routes import CONNECTIONS_API_MODES, Frontend, build_app
from localgw.runtime import configure_logging
from localgw.thread_invoker import ThreadInvoker
from localgw.worker import WorkerSettings

logger = logging.getLogger("localgw")

PROJECT_ROOT = Path(__file__).resolve().parent.parent
PROCESS_WORKERS = 4
THREAD_WORKERS = 16
STOP_TIMEOUT = 2.0  # for $disconnect handlers; the process exits within 5 s of a signal

EPILOG = """\
environment:
  CHAT_STORE                  the app's store: sqlite:///<path> (default
                              sqlite:///.chat/chat.db) or dynamodb:<table>
  AWS_ENDPOINT_URL_DYNAMODB   with dynamodb:<table>, a local DynamoDB-compatible
                              server; the table is created when missing
  CHAT_BLOBS                  attachments: file:///<path> (default
                              file:///.chat/blobs), s3://<bucket>/<prefix> or off
  CHAT_LOG_LEVEL              the app's log level (default: --log-level)
  LOCALGW_*                   defaults for the flags above, e.g. LOCALGW_IDLE_TIMEOUT=5

Before serving, the gateway calls the app module's prepare_local(), if it has one
(this app's makes its store ready, and its attachments' directory when CHAT_BLOBS is
file:///<path>, the default: the gateway then serves them at /blobs/). The
@connections API is served at http://HOST:PORT/@connections/{connectionId} (POST
sends, GET describes, DELETE closes) to loopback peers only, unless --connections-api
says otherwise. It checks no credentials: anyone who reaches it can post to, read and
close any connection. E.g.
  aws apigatewaymanagementapi post-to-connection --endpoint-url http://127.0.0.1:8000 \\
      --connection-id ID --cli-binary-format raw-in-base64-out --data '{"type":"pong"}'
See docs/localgw.md.
"""


def _env(name: str, default: str) -> str:
    return os.environ.get(f"LOCALGW_{name}", default)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m localgw",
        description=(
            "Serve the Chalice WebSocket app on one port like API Gateway would: the "
            "frontend at /, the WebSocket API at /ws, /config.js, and @connections."
        ),
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add = parser.add_argument
    add("--host", default=_env("HOST", "127.0.0.1"), help="bind address (default %(default)s)")
    add("--port", type=int, default=int(_env("PORT", "8000")),
        help="port; 0 picks a free one (default %(default)s)")
    add("--app", default=_env("APP", "app:app"),
        help="the Chalice app as module:attribute (default %(default)s)")
    add("--app-dir", default=_env("APP_DIR", str(PROJECT_ROOT)),
        help="directory put first on sys.path to import the app (default: project root)")
    add("--frontend", default=_env("FRONTEND", str(PROJECT_ROOT / "frontend")),
        help="directory of static files served at / (default: project frontend/)")
    add("--stage", default=_env("STAGE", "local"),
        help="stage name in events (default %(default)s)")
    add("--idle-timeout", type=float, default=float(_env("IDLE_TIMEOUT", "600")),
        help="seconds without messages before a connection is closed (default %(default)s)")
    add("--max-connection-duration", type=float,
        default=float(_env("MAX_CONNECTION_DURATION", "7200")),
        help="seconds before any connection is closed (default %(default)s)")
    add("--max-message-bytes", type=int, default=int(_env("MAX_MESSAGE_BYTES", "131072")),
        help="largest message; a larger one closes the connection with 1009 (default %(default)s)")
    add("--isolation", choices=["thread", "process"], default=_env("ISOLATION", "process"),
        help="run handlers in threads of this process, sharing the app's module state, or"
        " in worker processes, one event at a time each, as Lambda runs them (default"
        " %(default)s)")
    add("--workers", type=int, default=int(_env("WORKERS", "0")) or None,
        help="handlers that run at once, like concurrent Lambdas (default:"
        f" {PROCESS_WORKERS} processes or {THREAD_WORKERS} threads)")
    add("--connections-api", choices=CONNECTIONS_API_MODES,
        default=_env("CONNECTIONS_API", "loopback"),
        help="who may call the HTTP @connections API: loopback peers, any peer (anyone who"
        " reaches the port can then forge, read and close connections), or no one"
        " (default %(default)s; the app's own calls never go over HTTP)")
    add("--log-level", default=_env("LOG_LEVEL", "INFO"),
        choices=["DEBUG", "INFO", "WARNING", "ERROR"], type=str.upper,
        help="gateway log level (default %(default)s)")
    args = parser.parse_args(argv)
    if not args.workers:
        args.workers = PROCESS_WORKERS if args.isolation == "process" else THREAD_WORKERS
    return args


def configure_environment(log_level: str) -> None:
    # What Lambda's environment always has; a laptop may not.
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
    os.environ.setdefault("AWS_REGION", region)
    os.environ.setdefault("AWS_DEFAULT_REGION", region)
    # No instance metadata lookups for credentials on a laptop (they only add delays).
    os.environ.setdefault("AWS_EC2_METADATA_DISABLED", "true")
    os.environ.setdefault("CHAT_LOG_LEVEL", log_level)


def listening_socket(host: str, port: int) -> socket.socket:
    """A TCP socket bound to the first address ``host`` resolves to, listening."""
    family, _, _, _, address = socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )[0]
    try:
        return socket.create_server(address, family=family, backlog=1024)
    except OSError as error:
        raise SystemExit(f"cannot listen on {host}:{port}: {error.strerror}") from error


def invoker_for(args: argparse.Namespace) -> Invoker:
    if args.isolation == "thread":
        return ThreadInvoker(args.app, args.app_dir, args.workers)
    return ProcessInvoker(WorkerSettings(args.app, args.app_dir, args.log_level), args.workers)


def warn_if_exposed(host: str, connections_api: str) -> None:
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = host == "localhost"
    if loopback:
        return
    logger.warning(
        "listening on %s: other machines can reach the chat and its WebSocket API%s",
        host,
        {"loopback": "; the HTTP @connections API still answers only loopback peers",
         "off": "; the HTTP @connections API is off",
         "any": ", and ANYONE can use the HTTP @connections API (no credentials): post"
                " to, read and close every connection"}[connections_api],
    )


async def serve(args: argparse.Namespace) -> None:
    quotas = Quotas(args.idle_timeout, args.max_connection_duration, args.max_message_bytes)
    invoker = invoker_for(args)
    gateway = Gateway(invoker, quotas, args.stage)
    warn_if_exposed(args.host, args.connections_api)

    # Bound first, served last: the handlers need the port for their @connections
    # endpoint, and no client may reach the gateway before they can run.
    sock = listening_socket(args.host, args.port)
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    local = {"0.0.0.0": "127.0.0.1", "::": "[::1]"}.get(host, shown)
    endpoint = f"http://{local}:{port}/{args.stage}"
    try:
        prepared = await invoker.start(gateway, endpoint)
        lock = store_lock.hold(prepared.exclusive_path) if prepared.exclusive_path else None
    except BaseException:
        invoker.shutdown()
        raise
    app = build_app(
        gateway, Frontend(Path(args.frontend)), args.connections_api, prepared.blobs
    )
    runner = web.AppRunner(app, shutdown_timeout=1.0)
    await runner.setup()
    await web.SockSite(runner, sock, shutdown_timeout=1.0).start()

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    print(f"Serving chat on http://{shown}:{port}/", flush=True)
    logger.info(
        "store: %s; handlers: %d %s; WebSocket API at ws://%s:%s/ws; frontend from %s",
        prepared.description, args.workers,
        "processes" if args.isolation == "process" else "threads", shown, port, args.frontend,
    )
    await stop.wait()

    logger.info("stopping: closing %d connection(s)", len(gateway.connections))
    with contextlib.suppress(Exception):
        await gateway.shutdown(STOP_TIMEOUT)
    with contextlib.suppress(Exception):
        await asyncio.wait_for(runner.cleanup(), timeout=1.0)
    invoker.shutdown()
    store_lock.release(lock)
    if invoker.busy:
        # a handler that is still running would keep the process alive past 5 s
        logger.warning("exiting with %d handler(s) running", invoker.busy)
        logging.shutdown()
        os._exit(0)


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    configure_environment(args.log_level)
    configure_logging(args.log_level)
    asyncio.run(serve(args))
