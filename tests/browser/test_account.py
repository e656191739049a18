"""The Account dialog and sessions that end (issue 11): change the password, sign out
everywhere, a session ended on another device, a revoked token, and rate limits in plain
words — each through the real local gateway, with one browser context per device."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import (
    PASSWORD,
    Gateway,
    Person,
    _gateway,
    expect_signed_in,
    messages,
    open_conversation_via_search,
    send,
    sign_in,
    sign_up,
    unique,
)
from tests.browser.wire import Client

NEW_PASSWORD = "battery staple horse"


def open_account(page: Page) -> None:
    page.get_by_role("button", name="Account").click()
    expect(page.get_by_role("dialog", name="Account")).to_be_visible()
    expect(page.get_by_label("Current password")).to_be_focused()


def expect_signed_out_with(page: Page, notice: str) -> None:
    expect(page.locator("#signin")).to_be_visible()
    expect(page.locator("#chat")).to_be_hidden()
    expect(page.locator("#signin-notice")).to_have_text(notice)
    expect(page.locator("#announcer")).to_have_text(notice)
    stored = page.evaluate("localStorage.getItem('chat.token')")
    assert stored is None, "the stored session is cleared"


def two_devices(people: Callable[..., Person], gateway: Gateway) -> tuple[Person, Person]:
    laptop = people(unique("acc"))
    sign_up(laptop, gateway.url)
    phone = people(laptop.name)
    sign_in(phone, gateway.url)
    return laptop, phone


def test_change_password_keeps_this_device_and_signs_out_the_other(
    gateway: Gateway, people: Callable[..., Person]
) -> None:
    laptop, phone = two_devices(people, gateway)
    page = laptop.page
    open_account(page)
    dialog = page.get_by_role("dialog", name="Account")

    # the sign-up rule, before anything leaves the browser
    page.get_by_label("Current password").fill(PASSWORD)
    page.get_by_label("New password").fill("short")
    dialog.get_by_role("button", name="Change password").click()
    expect(page.locator("#change-password-error")).to_have_text(
        "Choose a new password of at least 8 characters.")
    expect(page.get_by_label("New password")).to_be_focused()
    expect(page.get_by_label("New password")).to_have_attribute("aria-invalid", "true")

    # a wrong current password: the server's bad_credentials
    page.get_by_label("Current password").fill("not my password")
    page.get_by_label("New password").fill(NEW_PASSWORD)
    dialog.get_by_role("button", name="Change password").click()
    expect(page.locator("#change-password-error")).to_have_text(
        "Your current password is not right.")
    expect(page.get_by_label("Current password")).to_be_focused()
    expect(page.get_by_label("Current password")).to_have_attribute("aria-invalid", "true")
    expect_signed_in(phone.page)

    page.get_by_label("Current password").fill(PASSWORD)
    page.get_by_label("New password").fill(NEW_PASSWORD)
    dialog.get_by_role("button", name="Change password").click()
    expect(page.locator("#change-password-done")).to_have_text(
        "Password changed. Your other devices were signed out.")
    expect(dialog.get_by_role("status")).to_have_text(
        "Password changed. Your other devices were signed out."
    )
    expect(page.locator("#change-password-error")).to_be_empty()
    expect(page.get_by_label("Current password")).to_have_value("")

    # the other device: signed out, told why, its stored session gone
    expect_signed_out_with(phone.page,
                           "Your password was changed on another device. Sign in again.")
    phone.page.reload()
    expect(phone.page.locator("#signin")).to_be_visible()

    # this device stays signed in, also after a reload (its token still works)
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(page.get_by_role("button", name="Account")).to_be_focused()
    open_account(page)  # opens afresh: no earlier words, empty fields
    expect(page.get_by_label("New password")).to_have_value("")
    expect(dialog.get_by_role("status")).to_be_empty()
    dialog.get_by_role("button", name="Close").click()
    expect(dialog).to_be_hidden()
    expect(page.get_by_role("button", name="Account")).to_be_focused()
    page.reload()
    expect_signed_in(page)

    # the new password signs in; the old one does not
    phone.page.get_by_label("Username").fill(phone.name)
    phone.page.get_by_label("Password", exact=True).fill(PASSWORD)
    phone.page.get_by_role("button", name="Sign in").click()
    expect(phone.page.locator("#signin-error")).to_have_text("Wrong username or password.")
    expect(phone.page.locator("#signin-notice")).to_be_hidden()
    sign_in(phone, gateway.url, password=NEW_PASSWORD)


def test_sign_out_everywhere_asks_first_then_ends_every_session(
    gateway: Gateway, people: Callable[..., Person]
) -> None:
    laptop, phone = two_devices(people, gateway)
    page = laptop.page
    open_account(page)
    dialog = page.get_by_role("dialog", name="Account")
    dialog.get_by_role("button", name="Sign out everywhere").click()
    expect(page.get_by_role("button", name="Cancel")).to_be_focused()
    question = "Sign out on every device, this one included?"
    expect(page.get_by_role("group", name=question)).to_be_visible()
    page.keyboard.press("Enter")
    expect(page.get_by_role("button", name="Sign out everywhere")).to_be_focused()
    expect_signed_in(phone.page)

    dialog.get_by_role("button", name="Sign out everywhere").click()
    page.get_by_role("button", name="Yes, sign out everywhere").click()
    expect_signed_out_with(page, "You signed out on all your devices.")
    expect(dialog).to_be_hidden()
    expect_signed_out_with(phone.page, "You were signed out on all your devices. Sign in again.")
    for device in (laptop, phone):
        device.page.reload()
        expect(device.page.locator("#signin")).to_be_visible()
    sign_in(phone, gateway.url)


def test_sign_out_still_signs_out_this_device_only(
    gateway: Gateway, people: Callable[..., Person]
) -> None:
    laptop, phone = two_devices(people, gateway)
    laptop.page.get_by_role("button", name="Sign out", exact=True).click()
    expect(laptop.page.locator("#signin")).to_be_visible()
    expect(laptop.page.locator("#signin-notice")).to_be_hidden()
    phone.page.reload()
    expect_signed_in(phone.page)


def test_a_revoked_token_lands_on_sign_in_with_a_reason(
    gateway: Gateway, people: Callable[..., Person]
) -> None:
    """The session was ended while this page was closed: its resume is answered bad_token."""
    person = people(unique("tok"))
    sign_up(person, gateway.url)
    person.page.goto("about:blank")
    with Client(gateway.ws_url) as other:
        other.login(person.name, PASSWORD)
        assert other.call({"action": "logout_all"}, "bye")["reason"] == "signed_out_everywhere"
    person.page.goto(gateway.url + "/")
    expect_signed_out_with(person.page,
                           "Your session has ended: it expired or was signed out. Sign in again.")


def test_too_many_sign_ins_say_how_long_to_wait(
    gateway: Gateway, people: Callable[..., Person]
) -> None:
    person = people(unique("lim"))
    with Client(gateway.ws_url) as client:
        client.register(person.name, PASSWORD)
    page = person.page
    limited: list[dict[str, Any]] = []

    def on_frame(payload: str | bytes) -> None:
        frame = json.loads(payload)
        if frame.get("code") == "rate_limited":
            limited.append(frame)

    page.on("websocket", lambda ws: ws.on("framereceived", on_frame))
    page.goto(gateway.url + "/")
    page.get_by_label("Username").fill(person.name)
    page.get_by_label("Password").fill("wrong password")
    error = page.locator("#signin-error")
    for _ in range(5):
        page.get_by_role("button", name="Sign in").click()
        expect(error).to_have_text("Wrong username or password.")
        page.evaluate("document.getElementById('signin-error').textContent = ''")
    page.get_by_role("button", name="Sign in").click()
    expect(error).to_have_text(re.compile(r"^Too many attempts\. Try again in \d+ minutes\.$"))
    # the wait is the server's retry_after, rounded up to whole minutes
    minutes = math.ceil(limited[-1]["retry_after"] / 60)
    expect(error).to_have_text(f"Too many attempts. Try again in {minutes} minutes.")


@pytest.fixture
def send_limited_gateway(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Gateway]:
    """A gateway that lets 2 messages through every 3 seconds."""
    monkeypatch.setenv("CHAT_LIMIT_SEND", "2/3")
    yield from _gateway(tmp_path_factory, "send-limited")


def test_a_rate_limited_message_can_be_retried_after_the_wait(
    send_limited_gateway: Gateway, people: Callable[..., Person]
) -> None:
    gateway = send_limited_gateway
    peer = unique("peer")
    with Client(gateway.ws_url) as client:
        client.register(peer, PASSWORD)
    person = people(unique("fast"))
    sign_up(person, gateway.url)
    open_conversation_via_search(person, peer)
    page = person.page
    for n in range(3):
        send(person, f"quick {n}")
    last = messages(page).last
    expect(last).to_have_attribute("data-status", "failed")
    expect(last.locator(".msg-status")).to_have_text(
        re.compile(r"^Not sent: Too many messages at once\. Try again in \d seconds?\.$"))
    expect(page.locator("#announcer")).to_contain_text("You can retry it then.")
    expect(last.get_by_role("button", name="Retry")).to_have_count(0)
    expect(last.get_by_role("button", name="Dismiss")).to_be_visible()
    # after the wait: Retry is back, and sends it
    retry = last.get_by_role("button", name="Retry")
    expect(retry).to_be_visible(timeout=8_000)
    expect(page.locator("#announcer")).to_contain_text(f"You can retry your message to {peer} now.")
    retry.click()
    expect(last).to_have_attribute("data-status", "sent")
    with Client(gateway.ws_url) as client:
        client.login(peer, PASSWORD)
        texts = [m["text"] for m in client.all_messages(person.name)]
    assert texts == ["quick 0", "quick 1", "quick 2"]
