"""The HTTP side of the local gateway's one port: frontend files with SPA fallback,
/config.js, the frontend's security headers, and the @connections management API."""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import quote

import boto3
import pytest
from websockets.asyncio.client import connect

from chalicelib.client_config import client_config
from chalicelib.settings import Settings
from tests.e2e.conftest import Probe, ask, closed_with, run


def fetch(
    url: str, method: str = "GET", data: bytes | None = None, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def test_frontend_files_and_spa_fallback(probe: Probe, probe_frontend: Path) -> None:
    base = probe.gateway.url
    index = (probe_frontend / "index.html").read_bytes()
    for path in ("/", "/index.html", "/chat/alice", "/chat/a.b-c", "/settings/deep/link"):
        status, headers, body = fetch(base + path)
        assert (status, body) == (200, index), path
        assert headers["Content-Type"] == "text/html; charset=utf-8"
    status, headers, body = fetch(base + "/app.js")
    assert (status, body) == (200, (probe_frontend / "app.js").read_bytes())
    assert headers["Content-Type"] == "text/javascript; charset=utf-8"
    assert fetch(base + "/style.css")[1]["Content-Type"] == "text/css; charset=utf-8"
    assert fetch(base + "/logo.svg")[1]["Content-Type"].startswith("image/svg+xml")
    # nothing outside the directory, and no dotfiles
    for path in ("/.secret", "/%2e%2e/%2e%2e/etc/passwd", "/..%2f..%2fetc%2fpasswd"):
        status, _, body = fetch(base + path)
        assert (status, body) == (200, index), path


def test_security_headers_on_html_js_css_only(probe: Probe) -> None:
    base = probe.gateway.url
    for path in ("/", "/chat/bob", "/app.js", "/style.css", "/config.js"):
        headers = fetch(base + path)[1]
        assert headers["Content-Security-Policy"] == "default-src 'self'", path
        assert headers["X-Frame-Options"] == "DENY", path
    assert "Content-Security-Policy" not in fetch(base + "/logo.svg")[1]


def test_config_js_points_at_the_websocket_api(probe: Probe) -> None:
    status, headers, body = fetch(probe.gateway.url + "/config.js")
    assert status == 200
    assert headers["Content-Type"] == "text/javascript; charset=utf-8"
    text = body.decode()
    prefix, suffix = "window.CHAT_CONFIG = ", ";\n"
    assert text.startswith(prefix) and text.endswith(suffix)
    websocket_url = f"ws://127.0.0.1:{probe.gateway.port}/ws"
    # the server's own rules, as chalicelib/client_config.py states them
    assert json.loads(text[len(prefix) : -len(suffix)]) == client_config(
        Settings.from_env({}), websocket_url
    )
    # formed from the Host header, so it works behind any name or proxy
    body = fetch(probe.gateway.url + "/config.js", headers={"Host": "chat.example:9000"})[2]
    assert b'"ws://chat.example:9000/ws"' in body
    body = fetch(
        probe.gateway.url + "/config.js",
        headers={"Host": "chat.example", "X-Forwarded-Proto": "https"},
    )[2]
    assert b'"wss://chat.example/ws"' in body


def test_ws_path_without_upgrade_is_refused(probe: Probe) -> None:
    assert fetch(probe.gateway.url + "/ws")[0] == 426


@pytest.mark.parametrize("suffix", ["", "/local"])
def test_connections_api_through_boto3(probe: Probe, suffix: str) -> None:
    client = boto3.client(
        "apigatewaymanagementapi",
        endpoint_url=probe.gateway.url + suffix,
        region_name="us-east-1",
    )

    async def body() -> None:
        async with connect(probe.gateway.ws_url, user_agent_header="boto-test/1") as ws:
            connection_id = (await ask(ws, "whoami"))["id"]
            result = await asyncio.to_thread(
                client.post_to_connection, ConnectionId=connection_id, Data=b'{"hi": 1}'
            )
            assert result["ResponseMetadata"]["HTTPStatusCode"] == 200
            assert await asyncio.wait_for(ws.recv(), 5) == '{"hi": 1}'
            info: dict[str, Any] = await asyncio.to_thread(
                client.get_connection, ConnectionId=connection_id
            )
            assert info["Identity"] == {"SourceIp": "127.0.0.1", "UserAgent": "boto-test/1"}
            assert info["ConnectedAt"] <= info["LastActiveAt"]
            await asyncio.to_thread(client.delete_connection, ConnectionId=connection_id)
            assert await closed_with(ws) == (1000, "Connection closed by server")
        with pytest.raises(client.exceptions.GoneException):
            await asyncio.to_thread(
                client.post_to_connection, ConnectionId=connection_id, Data=b"late"
            )
        with pytest.raises(client.exceptions.GoneException):
            await asyncio.to_thread(client.get_connection, ConnectionId=connection_id)
        with pytest.raises(client.exceptions.PayloadTooLargeException):
            async with connect(probe.gateway.ws_url) as other:
                other_id = (await ask(other, "whoami"))["id"]
                await asyncio.to_thread(
                    client.post_to_connection, ConnectionId=other_id, Data=b"x" * (128 * 1024 + 1)
                )

    run(body())


def test_connections_api_over_plain_http(probe: Probe) -> None:
    async def body() -> None:
        async with connect(probe.gateway.ws_url) as ws:
            connection_id = (await ask(ws, "whoami"))["id"]
            url = f"{probe.gateway.url}/@connections/{quote(connection_id, safe='')}"
            status, _, _ = await asyncio.to_thread(fetch, url, "POST", b"plain text")
            assert status == 200
            assert await asyncio.wait_for(ws.recv(), 5) == "plain text"
            status, _, _ = await asyncio.to_thread(fetch, url, "POST", b"\xff\x00")
            assert await asyncio.wait_for(ws.recv(), 5) == b"\xff\x00"  # not UTF-8: binary
            status, headers, raw = await asyncio.to_thread(fetch, url)
            assert status == 200
            info = json.loads(raw)
            assert set(info) == {"connectedAt", "identity", "lastActiveAt"}
            assert info["identity"]["sourceIp"] == "127.0.0.1"
            assert info["connectedAt"].endswith("Z")
            status, _, _ = await asyncio.to_thread(fetch, url, "DELETE")
            assert status == 204
            await closed_with(ws)
            status, headers, _ = await asyncio.to_thread(fetch, url, "POST", b"late")
            assert status == 410
            assert headers["x-amzn-ErrorType"] == "GoneException"
        probe.wait_disconnect(connection_id)

    run(body())
