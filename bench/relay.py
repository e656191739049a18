"""The ceiling baseline: a minimal in-memory chat relay on bare ``websockets`` speaking
the protocol subset the load needs (register, login, send -> message + ack) with the
same frames as the app. No storage, no Lambda emulation: what one Python process
moves here. ``python -m bench.relay --port 0`` prints 'Serving relay on http://...'."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal
import time
from collections import defaultdict
from typing import Any

from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed

from chalicelib import protocol
from chalicelib.ids import MessageIds, iso_timestamp


class Relay:
    def __init__(self) -> None:
        self.passwords: dict[str, str] = {}
        self.online: dict[str, set[ServerConnection]] = defaultdict(set)
        self.acks: dict[tuple[str, str], dict[str, Any]] = {}  # (sender, client_id) -> ack
        self.ids = MessageIds()

    async def session(self, ws: ServerConnection) -> None:
        me: str | None = None
        try:
            async for raw in ws:
                try:
                    frame = json.loads(raw)
                    action = frame["action"]
                except (ValueError, KeyError, TypeError):
                    await ws.send(protocol.encode(protocol.error("bad_json", "not JSON")))
                    continue
                if action in ("register", "login"):
                    me = await self._sign_in(ws, action, frame, me)
                elif action == "send" and me is not None:
                    await self._send(ws, me, frame)
                elif action == "ping":
                    await ws.send(protocol.encode(protocol.pong()))
                else:
                    await ws.send(protocol.encode(protocol.error(
                        protocol.UNAUTHENTICATED if me is None else protocol.UNKNOWN_ACTION,
                        "not supported by the relay", action)))
        except ConnectionClosed:
            pass
        finally:
            if me is not None:
                self.online[me].discard(ws)

    async def _sign_in(
        self, ws: ServerConnection, action: str, frame: dict[str, Any], me: str | None
    ) -> str | None:
        name = str(frame.get("username", "")).lower()
        password = str(frame.get("password", ""))
        known = self.passwords.get(name)
        if action == "register" and known is not None:
            await ws.send(protocol.encode(protocol.error(protocol.USERNAME_TAKEN, "taken", action)))
            return me
        if action == "login" and known != password:
            await ws.send(protocol.encode(protocol.error(protocol.BAD_CREDENTIALS, "no", action)))
            return me
        self.passwords[name] = password
        if me is not None:
            self.online[me].discard(ws)
        self.online[name].add(ws)
        await ws.send(protocol.encode(protocol.welcome(name, f"relay-{name}")))
        return name

    async def _send(self, ws: ServerConnection, me: str, frame: dict[str, Any]) -> None:
        to = str(frame.get("to", ""))
        client_id = str(frame.get("client_id", ""))
        if to not in self.passwords:
            await ws.send(protocol.encode(
                protocol.error(protocol.NO_SUCH_USER, "no such user", "send", client_id)))
            return
        earlier = self.acks.get((me, client_id))
        if earlier is None:
            now = time.time()
            wire = {"id": self.ids(now), "from": me, "to": to, "text": str(frame.get("text", "")),
                    "ts": iso_timestamp(now), "client_id": client_id}
            pushed = protocol.encode(protocol.message(wire))
            for target in [*self.online[to], *self.online[me]]:
                if target is not ws:
                    with contextlib.suppress(ConnectionClosed):
                        await target.send(pushed)
            earlier = protocol.ack(client_id, wire["id"], wire["ts"])
            self.acks[(me, client_id)] = earlier
        await ws.send(protocol.encode(earlier))


async def main(host: str, port: int) -> None:
    relay = Relay()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with serve(relay.session, host, port, compression=None, max_queue=None) as server:
        bound = next(iter(server.sockets)).getsockname()
        print(f"Serving relay on http://{bound[0]}:{bound[1]}/", flush=True)
        await stop.wait()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m bench.relay", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    options = parser.parse_args()
    asyncio.run(main(options.host, options.port))
