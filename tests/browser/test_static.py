"""Checks on the frontend's files: no inline script or style, text never parsed as HTML,
the security headers served, and the Amplify build spec writing config.js."""

from __future__ import annotations

import json
import re
import subprocess
import urllib.request
from pathlib import Path

import yaml

from tests.browser.conftest import ROOT, Gateway

FRONTEND = ROOT / "frontend"
SCRIPTS = sorted((FRONTEND / "js").rglob("*.js"))


def test_html_has_no_inline_script_style_or_handlers() -> None:
    html = (FRONTEND / "index.html").read_text()
    for tag in re.findall(r"<script\b[^>]*>", html):
        assert "src=" in tag, f"inline script: {tag}"
    assert not re.search(r"<style\b", html)
    assert not re.search(r"\sstyle\s*=", html)
    assert not re.search(r"\son[a-z]+\s*=", html)
    # config.js first, by absolute path (index.html is served for /chat/<name> too)
    assert html.index('src="/config.js"') < html.index('src="/js/main.js"')
    assert not (FRONTEND / "config.js").exists(), "config.js is generated, never committed"


def test_scripts_never_parse_text_as_html() -> None:
    assert SCRIPTS
    for path in SCRIPTS:
        source = path.read_text()
        for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("):
            assert sink not in source, f"{path.name} uses {sink}"
        assert not re.search(r"setAttribute\(\s*['\"](style|on)", source), path.name


def test_security_headers_are_served_from_the_single_file(gateway: Gateway) -> None:
    headers = json.loads((FRONTEND / "security-headers.json").read_text())
    csp = headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "no-referrer"
    for path in ("/", "/chat/somebody"):
        with urllib.request.urlopen(gateway.url + path, timeout=10) as response:
            assert "<title>Chat</title>" in response.read().decode()
            for name, value in headers.items():
                assert response.headers[name] == value, name


def test_amplify_build_writes_config_js(tmp_path: Path) -> None:
    spec = yaml.safe_load((FRONTEND / "amplify.yml").read_text())
    (app,) = spec["applications"]
    assert app["appRoot"] == "frontend"
    frontend = app["frontend"]
    assert frontend["artifacts"]["files"] == ["**/*"]
    commands = "\n".join(["set -e", *frontend["phases"]["build"]["commands"]])
    url = "wss://abc123.execute-api.eu-west-1.amazonaws.com/prod"
    done = build(commands, tmp_path, CHAT_WEBSOCKET_URL=url)
    assert done.returncode == 0, done.stderr
    written = (tmp_path / "config.js").read_text()
    assert written == f'window.CHAT_CONFIG = {{"websocketUrl": "{url}"}};\n'
    # the backend's message limit, when the deployment sets one
    limited = build(commands, tmp_path, CHAT_WEBSOCKET_URL=url, CHAT_MAX_TEXT="6000")
    assert limited.returncode == 0, limited.stderr
    config = (tmp_path / "config.js").read_text()
    assert config == f'window.CHAT_CONFIG = {{"websocketUrl": "{url}", "maxText": 6000}};\n'
    for bad in ("4k", "0", "-1", "040"):
        refused = build(commands, tmp_path, CHAT_WEBSOCKET_URL=url, CHAT_MAX_TEXT=bad)
        assert refused.returncode != 0 and "CHAT_MAX_TEXT" in refused.stderr, bad
    both = build(commands, tmp_path, CHAT_WEBSOCKET_URL=url, CHAT_MAX_TEXT="6000",
                 CHAT_MAX_UPLOAD="5242880")
    assert both.returncode == 0, both.stderr
    assert (tmp_path / "config.js").read_text() == (
        f'window.CHAT_CONFIG = {{"websocketUrl": "{url}", "maxText": 6000,'
        ' "maxUpload": 5242880};\n')
    refused = build(commands, tmp_path, CHAT_WEBSOCKET_URL=url, CHAT_MAX_UPLOAD="10MB")
    assert refused.returncode != 0 and "CHAT_MAX_UPLOAD" in refused.stderr
    missing = build(commands, tmp_path)
    assert missing.returncode != 0
    assert "CHAT_WEBSOCKET_URL" in missing.stderr


def build(commands: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "-c", commands], cwd=cwd, env={"PATH": "/usr/bin:/bin", **env},
        capture_output=True, text=True, timeout=30,
    )
