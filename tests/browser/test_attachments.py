"""Attachments in real Chromium against the local gateway and its embedded store: a photo
(scaled down in the browser) and a PDF go from one person to the other and stay after a
reload; files the server would refuse are refused before anything leaves the browser; the
progress bar moves to 100 %; a file chosen offline arrives once; axe-core in each state."""

from __future__ import annotations

import io
import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from playwright.sync_api import Browser, CDPSession, FilePayload, Locator, Page, expect

from tests.browser.axe import axe_violations, describe, require_axe
from tests.browser.conftest import (
    DESKTOP,
    PASSWORD,
    Gateway,
    Person,
    messages,
    open_conversation_via_search,
    screenshot,
    sign_up,
    unique,
)
from tests.browser.wire import Client

LIMIT = 10 * 1024 * 1024
REFUSED_TYPE = "can't be sent: only photos (PNG, JPEG, GIF, WebP), PDF and text files are allowed"
# Collects every value each progress bar shows, including ones drawn and gone between polls.
WATCH_PROGRESS = """() => {
  window.progressSeen = [];
  const note = (el) => window.progressSeen.push(
    [el.getAttribute('aria-label'), Number(el.getAttribute('aria-valuenow'))]);
  new MutationObserver((records) => {
    for (const r of records) {
      if (r.type === 'attributes') note(r.target);
      for (const n of r.addedNodes) {
        if (n.nodeType === 1) n.querySelectorAll('[role=progressbar]').forEach(note);
      }
    }
  }).observe(document.getElementById('uploads'), {
    subtree: true, childList: true, attributes: true, attributeFilter: ['aria-valuenow'],
  });
}"""


def photo(width: int, height: int) -> bytes:
    """A PNG with some detail in it (a gradient), so a scaled copy is a real image."""
    image = Image.linear_gradient("L").resize((width, height)).convert("RGB")
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def payload(name: str, mime: str, data: bytes) -> FilePayload:
    return {"name": name, "mimeType": mime, "buffer": data}


def attach(page: Page, *files: FilePayload | Path) -> None:
    page.get_by_label("Attach", exact=True).set_input_files(list(files))  # type: ignore[arg-type]


def throttle_uploads(page: Page, bytes_per_second: int) -> CDPSession:
    """Chromium's own network throttling (DevTools), so a POST on loopback takes a while."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.emulateNetworkConditions", {
        "offline": False, "latency": 0, "downloadThroughput": -1,
        "uploadThroughput": bytes_per_second,
    })
    return cdp


def unthrottle(cdp: CDPSession) -> None:
    cdp.send("Network.emulateNetworkConditions", {
        "offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1,
    })


def row_with(page: Page, inner: Locator) -> Locator:
    rows: Locator = messages(page)
    return rows.filter(has=inner)


def pair(gateway: Gateway, people: Callable[..., Person]) -> tuple[Person, Person]:
    alice, bob = people(unique("alice")), people(unique("bob"))
    sign_up(alice, gateway.url)
    sign_up(bob, gateway.url)
    open_conversation_via_search(alice, bob.name)
    open_conversation_via_search(bob, alice.name)
    return alice, bob


def stored(gateway: Gateway, me: str, other: str) -> list[dict[str, Any]]:
    with Client(gateway.ws_url) as client:
        client.login(me, PASSWORD)
        return client.all_messages(other)


def test_a_photo_and_a_pdf_reach_the_other_person_and_stay_after_a_reload(
    gateway: Gateway, people: Callable[..., Person], tmp_path: Path
) -> None:
    alice, bob = pair(gateway, people)
    attach(alice.page, payload("beach.png", "image/png", photo(3000, 1500)))

    # alice sees her own photo at once (her file), then sent
    mine = row_with(alice.page, alice.page.get_by_role("img", name="beach.png"))
    expect(mine).to_have_attribute("data-status", re.compile("sent|read"))
    # bob sees it inline: a lazy image named by the file, in a link to the full image
    img = bob.page.locator("#messages").get_by_role("img", name="beach.png")
    expect(img).to_be_visible()
    expect(img).to_have_attribute("loading", "lazy")
    link = bob.page.locator("#messages").get_by_role("link", name="beach.png")
    expect(link).to_have_attribute("target", "_blank")
    expect(link).to_have_attribute("rel", re.compile(r"\bnoopener\b"))
    # scaled down in alice's browser: the longest side is 2,048 px
    img.evaluate("i => i.decode()")
    assert img.evaluate("i => [i.naturalWidth, i.naturalHeight]") == [2048, 1024]
    preview = bob.page.locator("#conversation-list").get_by_role(
        "link", name=re.compile(alice.name))
    expect(preview).to_contain_text("Photo")
    # attachment-only: no empty text line under the photo
    expect(row_with(bob.page, img).locator(".msg-text")).to_be_hidden()

    pdf = b"%PDF-1.4\n" + os.urandom(40_000) + b"\n%%EOF\n"
    attach(alice.page, payload("report.pdf", "application/pdf", pdf))
    download = bob.page.get_by_role("link", name="Download report.pdf", exact=True)
    expect(download).to_have_attribute("download", "report.pdf")
    chip = row_with(bob.page, download)
    expect(chip).to_contain_text("report.pdf")
    expect(chip).to_contain_text("39 KB")
    expect(preview).to_contain_text("📎 report.pdf")
    with bob.page.expect_download() as got:
        download.click()
    assert Path(got.value.path()).read_bytes() == pdf
    screenshot(bob.page, "attachments-received")

    for person in (alice, bob):
        person.page.reload()
        page = person.page
        again = page.locator("#messages").get_by_role("img", name="beach.png")
        expect(again).to_be_visible()
        again.evaluate("i => i.decode()")
        assert again.evaluate("i => i.naturalWidth") == 2048
        expect(page.get_by_role("link", name="Download report.pdf", exact=True)).to_be_visible()
        expect(messages(page)).to_have_count(2)
    with alice.page.expect_download() as got:
        alice.page.get_by_role("link", name="Download report.pdf", exact=True).click()
    assert Path(got.value.path()).read_bytes() == pdf
    kept = stored(gateway, bob.name, alice.name)
    assert [(m["text"], m["attachment"]["name"]) for m in kept] == [
        ("", "beach.png"), ("", "report.pdf")]


def test_too_big_and_svg_are_refused_in_words_and_a_drop_and_a_paste_are_taken(
    gateway: Gateway, people: Callable[..., Person], tmp_path: Path
) -> None:
    alice, bob = people(unique("alice")), people(unique("bob"))
    sent: list[str] = []
    alice.page.on("websocket", lambda ws: ws.on("framesent", lambda f: sent.append(str(f))))
    sign_up(alice, gateway.url)
    sign_up(bob, gateway.url)
    open_conversation_via_search(alice, bob.name)
    page = alice.page
    big = tmp_path / "big.pdf"
    big.write_bytes(b"%PDF-1.4\n" + b"0" * LIMIT)
    tray = page.locator("#uploads")
    announcer = page.locator("#announcer")

    attach(page, big)
    expect(tray).to_contain_text("big.pdf is too big: the limit is 10 MB")
    expect(announcer).to_have_text("big.pdf is too big: the limit is 10 MB")
    attach(page, payload("drawing.svg", "image/svg+xml", b'<svg xmlns="http://www.w3.org/2000/svg"/>'))
    expect(tray).to_contain_text(f"drawing.svg {REFUSED_TYPE}")
    expect(announcer).to_have_text(f"drawing.svg {REFUSED_TYPE}")
    screenshot(page, "attachments-refused")
    assert not any('"upload"' in frame for frame in sent)
    expect(messages(page)).to_have_count(0)
    expect(tray.get_by_role("button", name="Retry")).to_have_count(0)  # sending again won't help
    # Dismiss, one by one
    tray.locator("li", has_text="big.pdf").get_by_role("button", name="Dismiss").click()
    expect(tray).not_to_contain_text("big.pdf")
    tray.get_by_role("button", name="Dismiss").click()
    expect(tray).to_be_hidden()
    expect(page.get_by_label("Attach", exact=True)).to_be_focused()

    # a file dropped on the conversation is checked the same way
    page.locator("#thread").dispatch_event("drop", {"dataTransfer": page.evaluate_handle(
        """() => { const dt = new DataTransfer();
                   dt.items.add(new File(['<svg/>'], 'dropped.svg', {type: 'image/svg+xml'}));
                   return dt; }""")})
    expect(tray).to_contain_text(f"dropped.svg {REFUSED_TYPE}")
    assert not any('"upload"' in frame for frame in sent)
    # a photo pasted into the message box is sent
    page.get_by_label("Message").evaluate(
        """async (box) => {
          const canvas = new OffscreenCanvas(40, 30);
          canvas.getContext('2d').fillRect(0, 0, 40, 30);
          const dt = new DataTransfer();
          dt.items.add(new File([await canvas.convertToBlob()], 'image.png', {type: 'image/png'}));
          box.dispatchEvent(new ClipboardEvent('paste', {clipboardData: dt, bubbles: true}));
        }""")
    pasted = row_with(page, page.get_by_role("img", name="image.png"))
    expect(pasted).to_have_attribute("data-status", re.compile("sent|read"))
    expect(page.get_by_label("Message")).to_have_value("")
    assert [m["attachment"]["name"] for m in stored(gateway, bob.name, alice.name)] == [
        "image.png"]


def test_the_progress_bar_moves_to_100_and_cancel_upload_stops_a_file(
    gateway: Gateway, people: Callable[..., Person]
) -> None:
    alice, bob = pair(gateway, people)
    page = alice.page
    page.evaluate(WATCH_PROGRESS)
    cdp = throttle_uploads(page, 1024 * 1024)  # 1 MB/s: a 3 MB file takes a few seconds
    slides = b"%PDF-1.4\n" + os.urandom(3 * 1024 * 1024)
    attach(page, payload("slides.pdf", "application/pdf", slides))
    bar = page.get_by_role("progressbar", name="Uploading slides.pdf")
    expect(bar).to_be_visible()
    expect(page.locator("#uploads .upload-percent")).to_have_text(re.compile(r"^\d{1,3} %$"))
    expect(bob.page.get_by_role("link", name="Download slides.pdf", exact=True)).to_be_visible(
        timeout=30_000)
    seen = [value for name, value in page.evaluate("window.progressSeen")
            if name == "Uploading slides.pdf"]
    assert seen[-1] == 100, seen
    assert seen == sorted(seen), seen
    assert any(0 < value < 100 for value in seen), seen

    # a slow one, cancelled half-way: it never becomes a message
    throttle_uploads(page, 100 * 1024)
    huge = b"%PDF-1.4\n" + os.urandom(3 * 1024 * 1024)
    attach(page, payload("huge.pdf", "application/pdf", huge))
    bar = page.get_by_role("progressbar", name="Uploading huge.pdf")
    expect(bar).to_be_visible()
    expect(bar).not_to_have_attribute("aria-valuenow", "0")
    cancel = page.get_by_role("button", name="Cancel upload", exact=True)
    expect(cancel).to_have_accessible_description("huge.pdf")
    cancel.click()
    expect(page.locator("#uploads")).to_be_hidden()
    expect(page.locator("#announcer")).to_have_text("Upload of huge.pdf cancelled.")
    unthrottle(cdp)
    expect(messages(page)).to_have_count(1)
    assert [m["attachment"]["name"] for m in stored(gateway, bob.name, alice.name)] == [
        "slides.pdf"]


def test_a_file_chosen_offline_is_sent_once_after_the_reconnect(
    own_gateway: Gateway, people: Callable[..., Person]
) -> None:
    hana, ivan = people(unique("hana")), people(unique("ivan"))
    hana.allow_refused_websocket = ivan.allow_refused_websocket = True
    sign_up(hana, own_gateway.url)
    sign_up(ivan, own_gateway.url)
    open_conversation_via_search(hana, ivan.name)
    open_conversation_via_search(ivan, hana.name)

    own_gateway.stop()
    expect(hana.page.locator("#connection-banner")).to_be_visible()
    notes = b"written while the server was away\n"
    attach(hana.page, payload("notes.txt", "text/plain", notes))
    tray = hana.page.locator("#uploads")
    expect(tray).to_contain_text("Waiting for the connection…")
    expect(tray.get_by_role("progressbar", name="Uploading notes.txt")).to_be_visible()
    expect(tray.get_by_role("button", name="Cancel upload", exact=True)).to_be_visible()

    own_gateway.start()  # same port, same SQLite file
    expect(hana.page.locator("#connection-banner")).to_be_hidden(timeout=20_000)
    download = ivan.page.get_by_role("link", name="Download notes.txt", exact=True)
    expect(download).to_have_count(1, timeout=20_000)
    expect(tray).to_be_hidden()
    mine = row_with(hana.page, hana.page.get_by_role("link", name="Download notes.txt"))
    expect(mine).to_have_attribute("data-status", re.compile("sent|read"))
    with ivan.page.expect_download() as got:
        download.click()
    assert Path(got.value.path()).read_bytes() == notes
    kept = stored(own_gateway, ivan.name, hana.name)
    assert [m["attachment"]["name"] for m in kept] == ["notes.txt"]
    hana.page.reload()
    expect(messages(hana.page)).to_have_count(1)


@pytest.fixture
def viewer(browser: Browser) -> Iterator[Person]:
    """A person whose page lets axe-core in (bypass_csp: it is injected as a script)."""
    require_axe()
    context = browser.new_context(
        viewport={"width": DESKTOP["width"], "height": DESKTOP["height"]},
        locale="en-US",
        bypass_csp=True,  # axe is injected as a script
        reduced_motion="reduce",  # no transitions: colours switch at once with the scheme
    )
    page = context.new_page()
    person = Person(unique("axe"), context, page)
    person.watch(page)
    yield person
    context.close()
    assert not person.errors, person.errors


def check(page: Page, name: str) -> None:
    for scheme in ("light", "dark"):
        page.emulate_media(color_scheme=scheme)
        violations = axe_violations(page)
        screenshot(page, f"axe-attachments-{name}-{scheme}")
        assert not violations, f"{name}, {scheme}:\n{describe(violations)}"


def test_axe_finds_nothing_serious_in_the_attachment_states(
    gateway: Gateway, people: Callable[..., Person], viewer: Person
) -> None:
    sender = people(unique("pal"))
    sign_up(sender, gateway.url)
    sign_up(viewer, gateway.url)
    open_conversation_via_search(sender, viewer.name)
    open_conversation_via_search(viewer, sender.name)
    attach(sender.page, payload("garden.png", "image/png", photo(640, 480)),
           payload("minutes.pdf", "application/pdf", b"%PDF-1.4\n" + b"1" * 5000))
    page = viewer.page
    expect(page.get_by_role("img", name="garden.png")).to_be_visible()
    expect(page.get_by_role("link", name="Download minutes.pdf", exact=True)).to_be_visible()
    page.get_by_role("img", name="garden.png").evaluate("i => i.decode()")
    check(page, "thread")

    attach(page, payload("drawing.svg", "image/svg+xml", b"<svg/>"))
    expect(page.locator("#uploads")).to_contain_text(REFUSED_TYPE)
    check(page, "refused")
    page.locator("#uploads").get_by_role("button", name="Dismiss").click()

    cdp = throttle_uploads(page, 50 * 1024)
    attach(page, payload("slow.pdf", "application/pdf", b"%PDF-1.4\n" + os.urandom(1024 * 1024)))
    expect(page.get_by_role("progressbar", name="Uploading slow.pdf")).to_be_visible()
    check(page, "progress")
    page.get_by_role("button", name="Cancel upload", exact=True).click()
    unthrottle(cdp)
    expect(page.locator("#uploads")).to_be_hidden()
