"""Fixtures for the browser suite: a local gateway subprocess, Debian's Chromium via Playwright,
pages that record script errors, and helpers that act like a person would."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.sync_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Page,
    Route,
    expect,
    sync_playwright,
)

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
PASSWORD = "correct horse battery"
SERVING = re.compile(r"Serving chat on (http://127\.0\.0\.1:(\d+)/)")
# Chromium reports refused WebSocket connects as console errors; expected while a server is down.
WEBSOCKET_REFUSED = re.compile(r"WebSocket connection to '.*' failed")

expect.set_options(timeout=10_000)


class Gateway:
    """`python -m localgw` on an ephemeral port with its own SQLite file; restartable in place."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.db = workdir / "chat.db"
        self.port = 0
        self.url = ""
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self) -> None:
        self.starts += 1
        log = self.workdir / f"gateway-{self.starts}.log"
        env = {
            **os.environ,
            "CHAT_STORE": f"sqlite:///{self.db}",
            "CHAT_BLOBS": f"file:///{self.workdir / 'blobs'}",
            "CHAT_SCRYPT_COST": "1024,8,1",
            "PYTHONUNBUFFERED": "1",
        }
        with log.open("wb") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "localgw", "--host", "127.0.0.1", "--port", str(self.port)],
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            match = SERVING.search(log.read_text(errors="replace"))
            if match:
                self.url, self.port = match.group(1).rstrip("/"), int(match.group(2))
                return
            if self.process.poll() is not None:
                break
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"local gateway did not start:\n{log.read_text(errors='replace')}")

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)
        self.process = None

    @property
    def ws_url(self) -> str:
        return self.url.replace("http://", "ws://") + "/ws"


def _gateway(tmp_path_factory: pytest.TempPathFactory, name: str) -> Iterator[Gateway]:
    gateway = Gateway(tmp_path_factory.mktemp(name))
    gateway.start()
    try:
        yield gateway
    finally:
        gateway.stop()


@pytest.fixture(scope="package")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    yield from _gateway(tmp_path_factory, "gateway")


@pytest.fixture
def own_gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    """A gateway a test may stop and restart without disturbing the others."""
    yield from _gateway(tmp_path_factory, "own-gateway")


# Package scope: Playwright's sync API keeps an event loop running in this thread
# until it stops, and later suites call asyncio.run().
@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(
            f"{CHROMIUM} is missing: install Debian's chromium (apt-get install chromium)",
            pytrace=False,
        )
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@dataclass
class Person:
    """One browser context (its own localStorage) and its page, with its script errors."""

    name: str
    context: BrowserContext
    page: Page
    errors: list[str] = field(default_factory=list)
    allow_refused_websocket: bool = False

    def watch(self, page: Page) -> None:
        page.on("pageerror", lambda error: self.errors.append(f"pageerror: {error}"))
        page.on("console", self._console)

    def _console(self, message: ConsoleMessage) -> None:
        if message.type != "error":
            return
        if self.allow_refused_websocket and WEBSOCKET_REFUSED.search(message.text):
            return
        self.errors.append(f"console error: {message.text}")


def unique(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:6]}"


@pytest.fixture
def people(browser: Browser) -> Iterator[Callable[..., Person]]:
    """Makes people, each in a fresh browser context; fails the test on any script error."""
    made: list[Person] = []

    def make(name: str, viewport: dict[str, int] | None = None) -> Person:
        context = browser.new_context(viewport=viewport or DESKTOP, locale="en-US")
        page = context.new_page()
        person = Person(name, context, page)
        person.watch(page)
        made.append(person)
        return person

    yield make
    errors = [f"{p.name}: {e}" for p in made for e in p.errors]
    for person in made:
        person.context.close()
    assert not errors, "script errors in the page:\n" + "\n".join(errors)


def serve_a_larger_limit(page: Page, extra: int) -> None:
    """The page gets a /config.js whose maxText is `extra` above the server's (a client
    with an older config), so the server itself refuses a text the client lets through."""

    def larger(route: Route) -> None:
        config = json.loads(route.fetch().text().split("=", 1)[1].strip().rstrip(";"))
        config["maxText"] += extra
        route.fulfill(body=f"window.CHAT_CONFIG = {json.dumps(config)};\n",
                      content_type="text/javascript")

    page.route("**/config.js", larger)


def screenshot(page: Page, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path))
    return path


# what a person does


def expect_signed_in(page: Page) -> None:
    expect(page.locator("#signin")).to_be_hidden()
    expect(page.locator("#chat")).to_be_visible()
    expect(page.locator("#me-name")).not_to_be_empty()


def sign_up(person: Person, base_url: str, password: str = PASSWORD) -> None:
    page = person.page
    page.goto(base_url + "/")
    page.get_by_label("Username").fill(person.name)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Create account").click()
    expect_signed_in(page)


def sign_in(person: Person, base_url: str, password: str = PASSWORD, path: str = "/") -> None:
    page = person.page
    page.goto(base_url + path)
    page.get_by_label("Username").fill(person.name)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect_signed_in(page)


def open_conversation_via_search(person: Person, other: str) -> None:
    page = person.page
    page.get_by_label("Find user").fill(other)
    page.locator("#search-results").get_by_role("link", name=re.compile(re.escape(other))).click()
    expect(page).to_have_url(re.compile(f"/chat/{re.escape(other)}$"))
    expect(page.get_by_role("heading", name=other)).to_be_visible()


def send(person: Person, text: str) -> None:
    box = person.page.get_by_label("Message")
    box.fill(text)
    box.press("Enter")
    expect(box).to_have_value("")


def messages(page: Page):
    return page.locator("#messages li.msg")


def message_texts(page: Page) -> list[str]:
    return page.locator("#messages li.msg .msg-text").all_text_contents()
