"""The core's decisions about attachments (chalicelib/attachments.py): what an
``upload`` is answered, what ``send`` checks before it stores a message with an
attachment, who gets download URLs, and what ``delete`` removes. On the reference
store and MemoryBlobs; the same flows run over HTTP against moto's S3, MiniStack's
and the local gateway's embedded store in tests/e2e and tests/deploy."""

from __future__ import annotations

import json
from typing import Any

import pytest

from chalicelib import protocol
from chalicelib.actions import parse
from chalicelib.auth import ScryptCost
from chalicelib.chat import Chat, ChatConfig
from chalicelib.limits import Limits
from chalicelib.ratelimit import Limit
from chalicelib.settings import Settings
from chalicelib.store.memory import MemoryStore
from chalicelib.turn import AttachmentRules

from .conftest import Clock, Driver
from .memory_blobs import MemoryBlobs

PHOTO = b"\x89PNG\r\n\x1a\n" + b"p" * 500


@pytest.fixture
def blobs() -> MemoryBlobs:
    return MemoryBlobs()


@pytest.fixture
def driver(store: MemoryStore, clock: Clock, blobs: MemoryBlobs) -> Driver:
    config = ChatConfig(
        scrypt_cost=ScryptCost(1024, 8, 1),
        attachments=AttachmentRules(max_size=4096, upload_ttl=600),
        limits=Limits(upload=Limit("upload", 5, 60)),
    )
    d = Driver(Chat(store, config, clock=clock, blobs=blobs))
    d.sign_up("a", "alice")
    d.sign_up("b", "bob")
    d.sign_up("m", "mallory")
    return d


def ask_upload(driver: Driver, who: str = "a", **fields: Any) -> dict[str, Any]:
    frame = {"name": "beach.png", "type": "image/png", "size": len(PHOTO), **fields}
    return driver.send(who, action="upload", **frame)


def uploaded(driver: Driver, blobs: MemoryBlobs, who: str = "a", data: bytes = PHOTO) -> str:
    reply = ask_upload(driver, who, size=len(data))
    assert reply["type"] == "upload", reply
    blobs.put(reply["upload_id"], data, "image/png")
    return str(reply["upload_id"])


def test_an_upload_is_answered_with_a_presigned_post_for_exactly_that_file(
    driver: Driver,
) -> None:
    reply = ask_upload(driver, client_id="u1")
    assert reply["type"] == "upload"
    assert protocol.UPLOAD_ID_PATTERN.fullmatch(reply["upload_id"])
    assert reply["fields"]["Content-Type"] == "image/png"
    assert reply["max_size"] == len(PHOTO) and reply["expires_in"] == 900
    assert reply["client_id"] == "u1"


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"type": "image/svg+xml"}, "invalid"),
        ({"type": "text/html"}, "invalid"),
        ({"type": "application/zip"}, "invalid"),
        ({"size": 4097}, "too_large"),
        ({"size": 0}, "invalid"),
        ({"size": True}, "invalid"),
        ({"size": 1.5}, "invalid"),
        ({"name": ""}, "invalid"),
        ({"name": "../etc/passwd"}, "invalid"),
        ({"name": "a\\b.png"}, "invalid"),
        ({"name": "line\nbreak.png"}, "invalid"),
        ({"name": ".."}, "invalid"),
        ({"name": "x" * 256}, "invalid"),
        ({"name": "\ud800.png"}, "invalid"),
    ],
)
def test_uploads_outside_the_rules_are_refused_and_record_nothing(
    driver: Driver, store: MemoryStore, fields: dict[str, Any], code: str
) -> None:
    reply = ask_upload(driver, client_id="u2", **fields)
    assert reply["type"] == "error" and reply["code"] == code, reply
    assert reply["action"] == "upload" and reply["client_id"] == "u2"
    assert store._uploads == {}


def test_svg_and_html_can_never_be_allowed() -> None:
    with pytest.raises(ValueError, match="svg"):
        AttachmentRules(types=("image/png", "image/svg+xml"))
    with pytest.raises(ValueError):
        Settings.from_env({"CHAT_UPLOAD_TYPES": "image/png,text/html"})
    assert Settings.from_env({"CHAT_UPLOAD_TYPES": "image/png, Text/Plain"}).attachments.types == (
        "image/png",
        "text/plain",
    )


def test_uploads_are_rate_limited_per_user(driver: Driver) -> None:
    for _ in range(5):
        assert ask_upload(driver)["type"] == "upload"
    refused = ask_upload(driver, client_id="u9")
    assert refused["code"] == "rate_limited" and refused["retry_after"] >= 1
    assert ask_upload(driver, "b")["type"] == "upload"


def test_a_sent_attachment_reaches_both_people_with_a_download_url(
    driver: Driver, blobs: MemoryBlobs
) -> None:
    upload_id = uploaded(driver, blobs)
    ack = driver.send("a", action="send", to="bob", attachment=upload_id, client_id="c1")
    assert ack["type"] == "ack"
    pushed = [f for f in driver.take("b") if f["type"] == "message"]
    assert pushed[0]["text"] == ""
    attachment = pushed[0]["attachment"]
    assert attachment["id"] == upload_id and attachment["name"] == "beach.png"
    assert attachment["type"] == "image/png" and attachment["size"] == len(PHOTO)
    assert attachment["url"].startswith(f"memory://blobs/{upload_id}?") and "inline=1" in (
        attachment["url"]
    )
    assert upload_id in blobs.attached
    history = driver.send("b", action="history", **{"with": "alice"})
    again = history["messages"][0]["attachment"]["url"]
    assert again != attachment["url"]  # signed afresh for every frame
    listed = driver.send("b", action="conversations")
    assert listed["items"][0]["last"]["attachment"]["id"] == upload_id


def test_text_goes_with_an_attachment_and_pdfs_are_downloaded_not_shown(
    driver: Driver, blobs: MemoryBlobs
) -> None:
    reply = ask_upload(driver, name="plan.pdf", type="application/pdf", size=10)
    blobs.put(reply["upload_id"], b"%PDF-1.7\n\n", "application/pdf")
    driver.send("a", action="send", to="bob", text="the plan", attachment=reply["upload_id"],
                client_id="c1")
    message = driver.send("b", action="history", **{"with": "alice"})["messages"][0]
    assert message["text"] == "the plan" and "inline=0" in message["attachment"]["url"]


def test_a_stranger_never_receives_a_url(driver: Driver, blobs: MemoryBlobs) -> None:
    upload_id = uploaded(driver, blobs)
    driver.send("a", action="send", to="bob", attachment=upload_id, client_id="c1")
    seen = json.dumps(driver.take("m"))
    seen += json.dumps(driver.send("m", action="history", **{"with": "alice"}))
    seen += json.dumps(driver.send("m", action="history", **{"with": "bob"}))
    seen += json.dumps(driver.send("m", action="conversations"))
    assert upload_id not in seen


@pytest.mark.parametrize(
    "problem",
    ["not uploaded", "another's", "too big", "other type", "unknown", "expired"],
)
def test_send_refuses_an_attachment_that_is_not_the_callers_declared_upload(
    driver: Driver, blobs: MemoryBlobs, clock: Clock, store: MemoryStore, problem: str
) -> None:
    reply = ask_upload(driver, "m" if problem == "another's" else "a")
    upload_id = reply["upload_id"]
    if problem != "not uploaded":
        data = PHOTO + b"!" if problem == "too big" else PHOTO
        blobs.put(upload_id, data, "image/gif" if problem == "other type" else "image/png")
    if problem == "unknown":
        upload_id = "x" * 24
    if problem == "expired":
        clock.advance(601)
    refused = driver.send("a", action="send", to="bob", attachment=upload_id, client_id="c1")
    assert refused["type"] == "error" and refused["code"] == "invalid", refused
    assert refused["client_id"] == "c1"
    assert driver.send("b", action="history", **{"with": "alice"})["messages"] == []
    assert not any(f["type"] == "message" for f in driver.take("b"))


def test_an_upload_is_attached_once_and_a_retry_gets_the_first_ack(
    driver: Driver, blobs: MemoryBlobs
) -> None:
    upload_id = uploaded(driver, blobs)
    first = driver.send("a", action="send", to="bob", attachment=upload_id, client_id="c1")
    retry = driver.send("a", action="send", to="bob", attachment=upload_id, client_id="c1")
    assert retry == first
    other = driver.send("a", action="send", to="bob", attachment=upload_id, client_id="c2")
    assert other["code"] == "invalid" and "another message" in other["message"]
    without = driver.send("a", action="send", to="bob", text="hi", client_id="c1")
    assert without["code"] == "invalid"  # c1 was a message with an attachment
    assert len(driver.send("b", action="history", **{"with": "alice"})["messages"]) == 1


def test_a_send_that_stores_nothing_leaves_the_upload_free(
    driver: Driver, blobs: MemoryBlobs
) -> None:
    upload_id = uploaded(driver, blobs)
    nobody = driver.send("a", action="send", to="nobody", attachment=upload_id, client_id="c1")
    assert nobody["code"] == "no_such_user"
    driver.send("a", action="send", to="bob", text="first", client_id="c2")
    reused = driver.send("a", action="send", to="bob", attachment=upload_id, client_id="c2")
    assert reused["code"] == "invalid"  # c2 was another message
    ack = driver.send("a", action="send", to="bob", attachment=upload_id, client_id="c3")
    assert ack["type"] == "ack"


def test_deleting_a_message_deletes_its_file(
    driver: Driver, blobs: MemoryBlobs, store: MemoryStore
) -> None:
    upload_id = uploaded(driver, blobs)
    ack = driver.send("a", action="send", to="bob", attachment=upload_id, client_id="c1")
    driver.take("b")
    assert driver.send("a", action="delete", id=ack["id"])["type"] == "deleted"
    assert upload_id not in blobs.blobs and upload_id in blobs.deleted
    assert upload_id not in store._uploads
    tombstone = driver.send("b", action="history", **{"with": "alice"})["messages"][0]
    assert tombstone["deleted"] is True and "attachment" not in tombstone


def test_attachments_off_means_a_clear_answer(store: MemoryStore, clock: Clock) -> None:
    d = Driver(Chat(store, ChatConfig(scrypt_cost=ScryptCost(1024, 8, 1)), clock=clock))
    d.sign_up("a", "alice")
    refused = d.send("a", action="upload", name="a.png", type="image/png", size=3)
    assert refused["code"] == "invalid" and "attachments" in refused["message"]


def test_send_parses_an_attachment_and_lets_the_text_be_empty() -> None:
    frame = {"action": "send", "to": "bob", "client_id": "c", "attachment": "A" * 24}
    assert parse(json.dumps(frame)).request == protocol.Send("bob", "", "c", "A" * 24)
    for bad in (5, "", "../x", "a" * 65, None):
        with pytest.raises(protocol.ProtocolError):
            parse(json.dumps({**frame, "attachment": bad} if bad is not None else {
                "action": "send", "to": "bob", "client_id": "c", "text": ""}))
