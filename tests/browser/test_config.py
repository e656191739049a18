"""/config.js carries the server's rules, and the client applies them exactly as the server
does: the username rule run by the browser's own RegExp against the server's pattern, the
client's fallback defaults equal to the server's defaults, and the text limit on the composer."""

from __future__ import annotations

import json
import re
import urllib.request
from collections.abc import Callable
from typing import Any

from playwright.sync_api import expect

from chalicelib import protocol
from chalicelib.client_config import client_config
from chalicelib.settings import Settings
from tests.browser.conftest import Gateway, Person, screenshot, sign_up, unique

CONFIG = re.compile(r"window\.CHAT_CONFIG = (\{.*\});\n", re.DOTALL)
NAMES = [
    "bob", "BOB", "b.o-b_", "0123", "ab", "x" * 32, "x" * 33, "", "bob\n", "Bob\n", "bob ",
    " bob", "bo b", "bøb", "b\u0131b", "\u212aab", "\u0130ab", "bob!", "a\u0000b",
    "\uff42\uff4f\uff42",  # fullwidth "bob"
    "\u0661\u0662\u0663",  # Arabic-Indic digits
]


def served_config(gateway: Gateway) -> dict[str, Any]:
    with urllib.request.urlopen(gateway.url + "/config.js", timeout=10) as response:
        match = CONFIG.fullmatch(response.read().decode())
    assert match, "config.js is not one window.CHAT_CONFIG assignment"
    config: dict[str, Any] = json.loads(match.group(1))
    return config


def server_accepts(name: str) -> bool:
    """The server's rule: lower-cased, then a full match of its pattern."""
    return protocol.USERNAME_PATTERN.fullmatch(name.lower()) is not None


def test_config_js_carries_the_servers_rules(gateway: Gateway) -> None:
    config = served_config(gateway)
    assert config == client_config(Settings.from_env({}), gateway.ws_url)
    assert config["maxText"] == protocol.DEFAULT_MAX_TEXT
    assert config["passwordMin"] == protocol.PASSWORD_MIN


def test_the_browser_applies_the_username_rule_as_the_server_does(
    gateway: Gateway, people: Callable[..., Person]
) -> None:
    page = people(unique("rule")).page
    page.goto(gateway.url + "/")
    verdicts = page.evaluate(
        """async (names) => {
          const { isUsername, readConfig } = await import('/js/rules.js');
          const { rules } = readConfig(window.CHAT_CONFIG);
          return names.map((n) => isUsername(n.toLowerCase(), rules));
        }""",
        NAMES,
    )
    assert dict(zip(NAMES, verdicts, strict=True)) == {n: server_accepts(n) for n in NAMES}


def test_the_clients_defaults_are_the_servers_defaults(
    gateway: Gateway, people: Callable[..., Person]
) -> None:
    page = people(unique("defaults")).page
    page.goto(gateway.url + "/")
    defaults = page.evaluate("async () => (await import('/js/rules.js')).DEFAULT_RULES")
    expected = client_config(Settings.from_env({}), "")
    del expected["websocketUrl"]
    assert defaults == expected


def test_a_look_alike_name_is_refused_before_it_leaves_the_browser(
    gateway: Gateway, people: Callable[..., Person]
) -> None:
    visitor = people(unique("eve"))
    page = visitor.page
    sent: list[str] = []
    page.on("websocket", lambda ws: ws.on("framesent", lambda payload: sent.append(str(payload))))
    page.goto(gateway.url + "/")
    page.get_by_label("Username").fill("bøb")
    page.get_by_label("Password").fill("long enough password")
    page.get_by_role("button", name="Create account").click()
    expect(page.locator("#signin-error")).to_have_text(
        served_config(gateway)["username"]["message"]
    )
    assert not any('"register"' in frame for frame in sent)


def test_the_composer_is_limited_to_the_servers_max_text(
    gateway: Gateway, people: Callable[..., Person]
) -> None:
    """Not cut silently (the box takes more, as in mainstream messengers): a counter near the
    limit counts code points like the server, and a text over it is not sent."""
    writer, reader = people(unique("max")), people(unique("maxr"))
    sign_up(writer, gateway.url)
    sign_up(reader, gateway.url)
    limit = served_config(gateway)["maxText"]
    page = writer.page
    page.goto(f"{gateway.url}/chat/{reader.name}")
    box = page.get_by_label("Message")
    count = page.locator("#composer-count")
    box.fill("x" * (limit // 2))
    expect(count).to_be_hidden()
    box.fill("😀" * limit)  # one character each, as the server counts
    expect(count).to_have_text("0 characters left")
    expect(box).to_have_attribute("aria-invalid", "false")
    box.fill("x" * (limit + 3))
    expect(count).to_have_text("3 characters too many")
    expect(box).to_have_attribute("aria-invalid", "true")
    screenshot(page, "rough-counter")
    box.press("Enter")
    expect(page.locator("#announcer")).to_have_text(
        "Not sent: the message is 3 characters too long."
    )
    expect(box).to_have_value("x" * (limit + 3))
    expect(page.locator("#messages li.msg")).to_have_count(0)
    assert "maxlength" not in (box.evaluate("el => el.outerHTML"))
