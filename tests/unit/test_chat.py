"""The chat core's decisions, on the in-memory reference store: accounts, sessions,
delivery, history, conversations, receipts, presence, and every error code."""

from __future__ import annotations

import json

import pytest

from chalicelib import protocol
from chalicelib.accounts import CONNECTION_LIFETIME
from chalicelib.chat import Chat, InternalFailure
from chalicelib.store.memory import MemoryStore

from .conftest import Clock, Driver


def send(d: Driver, conn: str, to: str, text: str, client_id: str) -> dict[str, object]:
    return d.send(conn, action="send", to=to, text=text, client_id=client_id)


def test_register_signs_in_and_lowercases(driver: Driver) -> None:
    reply = driver.send("c1", action="register", username="Alice", password="correct horse")
    assert reply["type"] == "welcome" and reply["username"] == "alice"
    assert isinstance(reply["token"], str) and len(reply["token"]) >= 43


def test_username_taken_case_insensitively(driver: Driver) -> None:
    driver.sign_up("c1", "alice")
    reply = driver.send("c2", action="register", username="ALICE", password="another one")
    assert reply["code"] == protocol.USERNAME_TAKEN and reply["action"] == "register"


def test_passwords_are_stored_only_as_hashes(driver: Driver, store: MemoryStore) -> None:
    driver.sign_up("c1", "alice", "correct horse")
    user = store.get_user("alice")
    assert user is not None and "correct horse" not in user.password_hash
    assert user.password_hash.startswith("scrypt$")


def test_login_and_bad_credentials(driver: Driver) -> None:
    driver.sign_up("c1", "alice", "correct horse")
    wrong = driver.send("c2", action="login", username="alice", password="wrong horse")
    assert wrong["code"] == protocol.BAD_CREDENTIALS
    unknown = driver.send("c2", action="login", username="nobody", password="wrong horse")
    assert unknown["code"] == protocol.BAD_CREDENTIALS
    assert unknown["message"] == wrong["message"]  # no username enumeration
    ok = driver.send("c2", action="login", username="Alice", password="correct horse")
    assert ok["type"] == "welcome" and ok["username"] == "alice"


def test_failed_logins_are_throttled_per_username(driver: Driver, clock: Clock) -> None:
    driver.sign_up("c1", "alice", "correct horse")
    for _ in range(5):
        assert driver.send("c2", action="login", username="alice",
                           password="wrong horse")["code"] == protocol.BAD_CREDENTIALS
    limited = driver.send("c2", action="login", username="alice", password="correct horse")
    assert limited["code"] == protocol.RATE_LIMITED
    # the limit is a sliding-window counter: it opens when retry_after says
    clock.advance(limited["retry_after"])
    assert driver.send("c2", action="login", username="alice",
                       password="correct horse")["type"] == "welcome"
    # a success resets the count
    assert driver.send("c3", action="login", username="alice",
                       password="wrong horse")["code"] == protocol.BAD_CREDENTIALS


def test_resume_with_token_and_expiry(driver: Driver, chat: Chat, clock: Clock) -> None:
    token = driver.sign_up("c1", "alice")
    reply = driver.send("c2", action="resume", token=token)
    assert reply == {"type": "welcome", "username": "alice", "token": token}
    assert driver.send("c3", action="resume", token="forged")["code"] == protocol.BAD_TOKEN
    clock.advance(7 * 24 * 3600 + 1)
    # the store's own expiry uses wall time; the core checks the session's expiry too
    assert driver.send("c4", action="resume", token=token)["code"] == protocol.BAD_TOKEN


def test_logout_revokes_token_and_unbinds(driver: Driver) -> None:
    token = driver.sign_up("c1", "alice")
    assert driver.send("c1", action="logout") == {"type": "bye", "reason": "signed_out"}
    assert driver.send("c1", action="conversations")["code"] == protocol.UNAUTHENTICATED
    assert driver.send("c2", action="resume", token=token)["code"] == protocol.BAD_TOKEN


@pytest.mark.parametrize(
    "frame",
    [
        {"action": "send", "to": "bob", "text": "hi", "client_id": "c"},
        {"action": "history", "with": "bob"},
        {"action": "conversations"},
        {"action": "users", "query": "b"},
        {"action": "read", "with": "bob", "up_to": "01KAAAAAAAAAAAAAAAAAAAAAAA"},
        {"action": "typing", "to": "bob"},
        {"action": "logout"},
    ],
)
def test_only_sign_in_and_ping_before_sign_in(driver: Driver, frame: dict[str, object]) -> None:
    reply = driver.send("anon", **frame)
    assert reply["code"] == protocol.UNAUTHENTICATED
    assert reply["action"] == frame["action"]


def test_ping_needs_no_sign_in(driver: Driver) -> None:
    assert driver.send("anon", action="ping") == {"type": "pong"}


def test_send_stores_then_delivers_to_every_device_then_acks(driver: Driver) -> None:
    driver.sign_up("a1", "alice")
    driver.sign_up("b1", "bob")
    driver.send("a2", action="login", username="alice", password="correct horse")
    driver.send("b2", action="login", username="bob", password="correct horse")
    driver.inbox.clear()
    outcome = driver.raw("a1", json.dumps(
        {"action": "send", "to": "bob", "text": "hello", "client_id": "k1"}))
    targets = [f.connection_id for f in outcome.frames]
    assert targets[-1] == "a1" and outcome.frames[-1].frame["type"] == "ack"
    assert sorted(targets[:-1]) == ["a2", "b1", "b2"]
    (message,) = driver.take("b1")
    ack = driver.take("a1")[0]
    assert message == {
        "type": "message", "id": ack["id"], "from": "alice", "to": "bob", "text": "hello",
        "ts": ack["ts"], "client_id": "k1",
    }
    assert driver.take("a2") == [message] and driver.take("b2") == [message]


def test_send_is_idempotent_on_client_id(driver: Driver) -> None:
    driver.sign_up("a1", "alice")
    driver.sign_up("b1", "bob")
    driver.inbox.clear()
    first = send(driver, "a1", "bob", "once", "same")
    again = send(driver, "a1", "bob", "once", "same")
    assert first == again and first["type"] == "ack"
    assert len(driver.take("b1")) == 1
    history = driver.send("b1", action="history", **{"with": "alice"})
    assert [m["text"] for m in history["messages"]] == ["once"]


def test_identity_comes_from_the_connection_not_the_frame(driver: Driver) -> None:
    driver.sign_up("a1", "alice")
    driver.sign_up("b1", "bob")
    driver.sign_up("m1", "mallory")
    driver.inbox.clear()
    driver.send("m1", action="send", to="bob", text="it's alice", client_id="x",
                **{"from": "alice", "username": "alice"})
    (message,) = driver.take("b1")
    assert message["from"] == "mallory"
    assert driver.take("a1") == []


def test_offline_recipient_gets_history_and_unread(driver: Driver) -> None:
    driver.sign_up("a1", "alice")
    driver.sign_up("b1", "bob")
    driver.disconnect("b1")
    for i in range(3):
        assert send(driver, "a1", "bob", f"m{i}", f"c{i}")["type"] == "ack"
    driver.send("b2", action="login", username="bob", password="correct horse")
    convs = driver.send("b2", action="conversations")
    assert convs["items"][0]["with"] == "alice" and convs["items"][0]["unread"] == 3
    assert convs["items"][0]["last"]["text"] == "m2" and convs["items"][0]["online"] is True
    history = driver.send("b2", action="history", **{"with": "alice"})
    assert [m["text"] for m in history["messages"]] == ["m0", "m1", "m2"]


def test_unknown_recipient_and_self(driver: Driver) -> None:
    driver.sign_up("a1", "alice")
    assert send(driver, "a1", "nobody", "hi", "c")["code"] == protocol.NO_SUCH_USER
    reply = send(driver, "a1", "alice", "hi", "c2")
    assert reply["code"] == protocol.INVALID and reply["client_id"] == "c2"


def test_text_limit_is_too_large(driver: Driver) -> None:
    driver.sign_up("a1", "alice")
    driver.sign_up("b1", "bob")
    assert send(driver, "a1", "bob", "x" * 4001, "c")["code"] == protocol.TOO_LARGE


def test_history_pages_oldest_first_with_more(driver: Driver, clock: Clock) -> None:
    driver.sign_up("a1", "alice")
    driver.sign_up("b1", "bob")
    for i in range(7):
        clock.advance(0.01)
        send(driver, "a1" if i % 2 else "b1", "bob" if i % 2 else "alice", f"m{i}", f"c{i}")
    page = driver.send("a1", action="history", limit=3, **{"with": "bob"})
    assert [m["text"] for m in page["messages"]] == ["m4", "m5", "m6"] and page["more"] is True
    older = driver.send("a1", action="history", limit=3, before=page["messages"][0]["id"],
                        **{"with": "bob"})
    assert [m["text"] for m in older["messages"]] == ["m1", "m2", "m3"] and older["more"]
    oldest = driver.send("a1", action="history", limit=3, before=older["messages"][0]["id"],
                         **{"with": "bob"})
    assert [m["text"] for m in oldest["messages"]] == ["m0"] and oldest["more"] is False


def test_conversations_newest_first_and_read_receipts(driver: Driver, clock: Clock) -> None:
    for name in ("alice", "bob", "carol"):
        driver.sign_up(f"{name}1", name)
    send(driver, "bob1", "alice", "from bob", "b1")
    clock.advance(1)
    send(driver, "carol1", "alice", "from carol", "c1")
    clock.advance(1)
    last = send(driver, "carol1", "alice", "again carol", "c2")
    convs = driver.send("alice1", action="conversations")["items"]
    assert [(c["with"], c["unread"]) for c in convs] == [("carol", 2), ("bob", 1)]
    driver.send("alice2", action="login", username="alice", password="correct horse")
    driver.inbox.clear()
    first_id = driver.send("alice1", action="history", **{"with": "carol"})["messages"][0]["id"]
    receipt = driver.send("alice1", action="read", up_to=first_id, **{"with": "carol"})
    assert receipt == {"type": "read", "by": "alice", "with": "carol", "up_to": first_id}
    assert driver.take("carol1") == [receipt] and driver.take("alice2") == [receipt]
    assert driver.send("alice1", action="conversations")["items"][0]["unread"] == 1
    driver.send("alice1", action="read", up_to=last["id"], **{"with": "carol"})
    # the pointer never moves back
    driver.send("alice1", action="read", up_to=first_id, **{"with": "carol"})
    assert driver.send("alice1", action="conversations")["items"][0]["unread"] == 0
    # after a reload carol still sees how far alice has read (her read receipts)
    carols = driver.send("carol1", action="conversations")["items"][0]
    assert carols["with"] == "alice" and carols["their_read_up_to"] == last["id"]
    assert driver.send("bob1", action="conversations")["items"][0]["their_read_up_to"] == ""
    stranger = driver.send("alice1", action="read", up_to=first_id, **{"with": "nobody"})
    assert stranger["code"] == protocol.INVALID


def test_users_prefix_search(driver: Driver) -> None:
    for i, name in enumerate(["anna", "annie", "ann_b", "bob"]):
        driver.sign_up(f"c{i}", name)
    driver.disconnect("c1")
    found = driver.send("c3", action="users", query="AN")["items"]
    assert found == [
        {"username": "ann_b", "online": True},
        {"username": "anna", "online": True},
        {"username": "annie", "online": False},
    ]
    assert driver.send("c0", action="users", query="ann_")["items"] == [
        {"username": "ann_b", "online": True}
    ]
    assert all(u["username"] != "anna" for u in driver.send("c0", action="users",
                                                             query="a")["items"])


def test_users_returns_at_most_twenty(driver: Driver) -> None:
    for i in range(23):
        driver.sign_up(f"c{i}", f"user{i:02d}")
    assert len(driver.send("c0", action="users", query="user")["items"]) == 20


def test_typing_is_pushed_without_reply(driver: Driver) -> None:
    driver.sign_up("a1", "alice")
    driver.sign_up("b1", "bob")
    driver.inbox.clear()
    outcome = driver.raw("a1", json.dumps({"action": "typing", "to": "bob"}))
    assert [(f.connection_id, f.frame) for f in outcome.frames] == [
        ("b1", {"type": "typing", "from": "alice"})
    ]
    bad = driver.raw("a1", json.dumps({"action": "typing"}))
    assert [f.frame["code"] for f in bad.frames] == [protocol.INVALID]


def test_presence_goes_to_conversation_partners_on_first_and_last_connection(
    driver: Driver,
) -> None:
    driver.sign_up("a1", "alice")
    driver.sign_up("b1", "bob")
    driver.sign_up("c1", "carol")
    send(driver, "a1", "bob", "hi", "k")
    driver.disconnect("a1")
    assert driver.take("b1")[-1] == {"type": "presence", "username": "alice", "online": False}
    driver.inbox.clear()
    driver.send("a2", action="login", username="alice", password="correct horse")
    assert driver.take("b1") == [{"type": "presence", "username": "alice", "online": True}]
    driver.send("a3", action="login", username="alice", password="correct horse")
    assert driver.take("b1") == []  # not the first connection
    driver.disconnect("a2")
    assert driver.take("b1") == []  # not the last
    assert driver.send("a3", action="logout") == {"type": "bye", "reason": "signed_out"}
    assert driver.take("b1") == [{"type": "presence", "username": "alice", "online": False}]
    assert driver.take("c1") == []  # carol shares no conversation with alice


def test_disconnect_runs_once_safely(driver: Driver) -> None:
    driver.sign_up("a1", "alice")
    driver.disconnect("a1")
    assert driver.disconnect("a1").frames == []
    assert driver.disconnect("never-bound").frames == []


def test_forget_gone_connections(
    driver: Driver, chat: Chat, store: MemoryStore, clock: Clock
) -> None:
    driver.sign_up("a1", "alice")
    chat.forget(["a1"])
    assert store.get_connection("a1", now=clock.now) is None
    assert store.connections_of(["alice"], now=clock.now) == {"alice": frozenset()}


def test_connection_binding_expires_after_api_gateway_limit(
    driver: Driver, store: MemoryStore, clock: Clock
) -> None:
    driver.sign_up("a1", "alice")
    binding = store.get_connection("a1", now=clock.now)
    assert binding is not None
    assert binding.expires_at - binding.connected_at == CONNECTION_LIFETIME


def test_store_failures_surface_as_internal_failure(chat: Chat, driver: Driver) -> None:
    driver.sign_up("a1", "alice")

    def broken(*args: object) -> None:
        raise RuntimeError("disk on fire")

    chat.store.history = broken  # type: ignore[method-assign]
    with pytest.raises(InternalFailure) as caught:
        chat.receive("a1", json.dumps({"action": "history", "with": "bob", "client_id": "q"}))
    assert caught.value.action == "history" and caught.value.client_id == "q"
