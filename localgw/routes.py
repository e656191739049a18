"""The HTTP side of the one port: frontend files with SPA fallback, /config.js, /ws, the
@connections management API (for loopback peers only, unless told otherwise), and the
app's embedded blob store at /blobs/ when it has one (localgw/blobs.py)."""

from __future__ import annotations

import ipaddress
import json
import logging
import mimetypes
import re
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import unquote_to_bytes

from aiohttp import web

from localgw.connections_api import FORBIDDEN, NOT_FOUND
from localgw.gateway import Gateway

if TYPE_CHECKING:
    from localgw.blobs_api import BlobServer

logger = logging.getLogger("localgw")

SECURITY_HEADERS_FILE = "security-headers.json"
_TYPES = {
    ".html": "text/html",
    ".js": "text/javascript",
    ".mjs": "text/javascript",
    ".css": "text/css",
    ".json": "application/json",
    ".webmanifest": "application/manifest+json",
    ".svg": "image/svg+xml",
    ".txt": "text/plain",
}
_TEXT = ("text/", "application/json", "application/manifest+json", "image/svg+xml")
# the responses the frontend's policy headers (CSP etc.) apply to
_POLICY_TYPES = ("text/html", "text/javascript", "text/css")
# who may use the HTTP @connections API (--connections-api)
CONNECTIONS_API_MODES = ("loopback", "any", "off")
_BAD_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")


def unservable(raw_path: str) -> bool:
    """A path no file can have: a bad percent-escape, NUL, or bytes that are not UTF-8."""
    if _BAD_ESCAPE.search(raw_path):
        return True
    decoded = unquote_to_bytes(raw_path.split("?", 1)[0])
    if b"\x00" in decoded:
        return True
    try:
        decoded.decode("utf-8")
    except UnicodeDecodeError:
        return True
    return False


def is_loopback(address: str | None) -> bool:
    if not address:
        return False
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_loopback


class Frontend:
    """Serves a directory; any path that is not a file there gets index.html."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self._headers_cache: tuple[float, dict[str, str]] | None = None

    def security_headers(self) -> dict[str, str]:
        path = self.root / SECURITY_HEADERS_FILE
        try:
            mtime = path.stat().st_mtime
        except OSError:
            return {}
        if self._headers_cache is None or self._headers_cache[0] != mtime:
            try:
                loaded = json.loads(path.read_text(encoding="utf-8"))
                headers = {str(k): str(v) for k, v in loaded.items()}
            except (OSError, ValueError, AttributeError):
                logger.warning("ignoring unreadable %s", path)
                headers = {}
            self._headers_cache = (mtime, headers)
        return dict(self._headers_cache[1])

    def respond(self, body: bytes, content_type: str) -> web.Response:
        headers = {"Cache-Control": "no-cache"}
        if content_type.startswith(_POLICY_TYPES):
            headers.update(self.security_headers())
        if content_type.startswith(_TEXT):
            content_type += "; charset=utf-8"
        headers["Content-Type"] = content_type
        return web.Response(body=body, headers=headers)

    def _file(self, tail: str) -> Path | None:
        parts = [p for p in tail.split("/") if p]
        if any(p.startswith(".") for p in parts):
            return None
        candidate = self.root.joinpath(*parts).resolve() if parts else self.root
        if not candidate.is_relative_to(self.root):
            return None
        if candidate.is_dir():
            candidate = candidate / "index.html"
        return candidate if candidate.is_file() else None

    async def handle(self, request: web.Request) -> web.Response:
        if unservable(request.raw_path):
            return web.Response(status=404, text="Not Found")
        path = self._file(request.match_info.get("tail", ""))
        if path is None:
            path = self.root / "index.html"
            if not path.is_file():
                return web.Response(status=404, text="Not Found: no index.html in frontend")
        content_type = _TYPES.get(path.suffix.lower()) or (
            mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        )
        return self.respond(path.read_bytes(), content_type)


def config_script(request: web.Request) -> str:
    # The client's rules are the app's: chalicelib says what they are, from its settings.
    from chalicelib.client_config import client_config
    from chalicelib.settings import Settings

    forwarded = request.headers.get("X-Forwarded-Proto", "").lower()
    scheme = "wss" if forwarded == "https" or request.secure else "ws"
    config = client_config(Settings.from_env(), f"{scheme}://{request.host}/ws")
    return f"window.CHAT_CONFIG = {json.dumps(config)};\n"


def build_app(
    gateway: Gateway,
    frontend: Frontend,
    connections_api: str = "loopback",
    blobs: BlobServer | None = None,
) -> web.Application:
    async def config_js(request: web.Request) -> web.Response:
        response = frontend.respond(config_script(request).encode(), "text/javascript")
        response.headers["Cache-Control"] = "no-store"
        return response

    async def connections(request: web.Request) -> web.Response:
        if connections_api == "off":
            reply = NOT_FOUND
        elif connections_api == "loopback" and not is_loopback(request.remote):
            reply = FORBIDDEN
        else:
            reply = await gateway.manage(
                request.method, request.match_info["connection_id"], await request.read()
            )
        return web.Response(status=reply.status, body=reply.body or None, headers=reply.headers())

    app = web.Application(client_max_size=gateway.quotas.max_message_bytes + 1024)
    app.router.add_get("/config.js", config_js)
    app.router.add_get("/ws", gateway.session)
    for prefix in ("", "/{stage}"):
        for method in ("POST", "GET", "DELETE"):
            app.router.add_route(method, prefix + "/@connections/{connection_id}", connections)
    if blobs is not None:
        from localgw.blobs import add_blob_routes

        add_blob_routes(app, blobs)
    app.router.add_get("/{tail:.*}", frontend.handle)
    return app
