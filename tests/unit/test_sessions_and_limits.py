"""Issue 11, sessions & abuse, through the real core and handlers (MemoryStore,
adjustable clock): logout/change_password/logout_all sign out the right
connections; every rate limit refuses with ``retry_after`` and changes nothing,
and opens again when ``retry_after`` says; login counts before verifying and
treats unknown usernames like known ones; per-IP limits use the adapter's IP."""

from __future__ import annotations

import json
from typing import Any

from chalicelib import protocol
from chalicelib.auth import ScryptCost
from chalicelib.chat import Chat, ChatConfig
from chalicelib.limits import Limits
from chalicelib.ratelimit import Limit
from chalicelib.store.memory import MemoryStore

from .conftest import Clock, Driver

PASSWORD = "correct horse"


def bye(reason: str) -> dict[str, Any]:
    return {"type": "bye", "reason": reason}


def from_ip(driver: Driver, connection_id: str, ip: str, **frame: Any) -> dict[str, Any]:
    outcome = driver.chat.receive(connection_id, json.dumps(frame), source_ip=ip)
    own = [o.frame for o in outcome.frames if o.connection_id == connection_id]
    assert len(own) == 1, own
    return own[0]


# sessions


def test_logout_signs_out_every_connection_of_its_token(driver: Driver) -> None:
    token = driver.sign_up("a1", "alice")
    driver.sign_up("b1", "bob")
    driver.send("a1", action="send", to="bob", text="hi", client_id="k1")
    assert driver.send("a2", action="resume", token=token)["type"] == "welcome"
    assert driver.send("a3", action="resume", token=token)["type"] == "welcome"
    other = driver.send("a4", action="login", username="alice", password=PASSWORD)
    driver.inbox.clear()

    assert driver.send("a2", action="logout") == bye(protocol.SIGNED_OUT)
    assert driver.take("a1") == [bye(protocol.SIGNED_OUT)]
    assert driver.take("a3") == [bye(protocol.SIGNED_OUT)]
    assert driver.take("a4") == []
    assert driver.take("b1") == []  # alice is still online on a4
    for signed_out in ("a1", "a2", "a3"):
        reply = driver.send(signed_out, action="conversations")
        assert reply["code"] == protocol.UNAUTHENTICATED
    assert driver.send("a4", action="conversations")["type"] == "conversations"
    assert driver.send("a5", action="resume", token=token)["code"] == protocol.BAD_TOKEN
    assert driver.send("a5", action="resume", token=other["token"])["type"] == "welcome"


def test_change_password_keeps_the_calling_session_and_revokes_the_others(
    driver: Driver, clock: Clock
) -> None:
    first = driver.sign_up("d1", "alice", PASSWORD)
    second = driver.send("d2", action="login", username="alice", password=PASSWORD)["token"]
    third = driver.send("d3", action="login", username="alice", password=PASSWORD)["token"]
    assert driver.send("d1b", action="resume", token=first)["type"] == "welcome"
    driver.inbox.clear()
    clock.advance(1)

    wrong = driver.send("d1", action="change_password", password="not it at all",
                        new_password="battery staple")
    assert wrong["code"] == protocol.BAD_CREDENTIALS
    short = driver.send("d1", action="change_password", password=PASSWORD, new_password="short")
    assert short["code"] == protocol.INVALID
    assert driver.take("d2") == [] and driver.take("d3") == []

    changed = driver.send("d1", action="change_password", password=PASSWORD,
                          new_password="battery staple")
    assert changed == {"type": "password_changed"}
    assert driver.take("d2") == [bye(protocol.PASSWORD_CHANGED)]
    assert driver.take("d3") == [bye(protocol.PASSWORD_CHANGED)]
    assert driver.take("d1b") == []  # the calling session's other connection stays
    assert driver.send("d1b", action="conversations")["type"] == "conversations"
    assert driver.send("d2", action="conversations")["code"] == protocol.UNAUTHENTICATED
    for revoked in (second, third):
        assert driver.send("x", action="resume", token=revoked)["code"] == protocol.BAD_TOKEN
    assert driver.send("x", action="resume", token=first)["type"] == "welcome"
    old = driver.send("y", action="login", username="alice", password=PASSWORD)
    assert old["code"] == protocol.BAD_CREDENTIALS
    new = driver.send("y", action="login", username="alice", password="battery staple")
    assert new["type"] == "welcome"


def test_wrong_current_passwords_count_like_failed_logins(driver: Driver) -> None:
    driver.sign_up("d1", "alice", PASSWORD)
    for _ in range(4):
        reply = driver.send("d1", action="change_password", password="wrong wrong",
                            new_password="battery staple")
        assert reply["code"] == protocol.BAD_CREDENTIALS
    # the fifth attempt of the window is a login
    assert driver.send("d2", action="login", username="alice",
                       password="wrong wrong")["code"] == protocol.BAD_CREDENTIALS
    limited = driver.send("d1", action="change_password", password=PASSWORD,
                          new_password="battery staple")
    assert limited["code"] == protocol.RATE_LIMITED and limited["retry_after"] > 0


def test_logout_all_signs_out_every_device(driver: Driver, clock: Clock) -> None:
    tokens = [driver.sign_up("d1", "alice", PASSWORD)]
    driver.sign_up("b1", "bob")
    driver.send("b1", action="send", to="alice", text="hi", client_id="k")
    for device in ("d2", "d3"):
        tokens.append(driver.send(device, action="login", username="alice",
                                  password=PASSWORD)["token"])
    driver.inbox.clear()
    clock.advance(1)

    assert driver.send("d2", action="logout_all") == bye(protocol.SIGNED_OUT_EVERYWHERE)
    assert driver.take("d1") == [bye(protocol.SIGNED_OUT_EVERYWHERE)]
    assert driver.take("d3") == [bye(protocol.SIGNED_OUT_EVERYWHERE)]
    # one offline presence, once the last device is signed out
    assert driver.take("b1") == [{"type": "presence", "username": "alice", "online": False}]
    for device in ("d1", "d2", "d3"):
        assert driver.send(device, action="conversations")["code"] == protocol.UNAUTHENTICATED
    for token in tokens:
        assert driver.send("x", action="resume", token=token)["code"] == protocol.BAD_TOKEN
    assert driver.send("x", action="login", username="alice",
                       password=PASSWORD)["type"] == "welcome"


def test_session_actions_need_sign_in(driver: Driver) -> None:
    for frame in ({"action": "logout_all"},
                  {"action": "change_password", "password": "a" * 8, "new_password": "b" * 8}):
        assert driver.send("c", **frame)["code"] == protocol.UNAUTHENTICATED


# login throttling


def test_login_counts_attempts_for_unknown_usernames_alike(driver: Driver) -> None:
    driver.sign_up("c0", "alice")
    replies: dict[str, list[str]] = {}
    for name in ("alice", "nobody"):
        replies[name] = [
            driver.send("c1", action="login", username=name, password="wrong wrong")["code"]
            for _ in range(6)
        ]
    expected = [protocol.BAD_CREDENTIALS] * 5 + [protocol.RATE_LIMITED]
    assert replies == {"alice": expected, "nobody": expected}


def test_an_unknown_username_is_verified_against_the_dummy_hash(
    driver: Driver, monkeypatch: Any
) -> None:
    from chalicelib import auth

    verified: list[str] = []
    real = auth.verify_password

    def spy(password: str, stored: str) -> bool:
        verified.append(stored)
        return real(password, stored)

    monkeypatch.setattr(auth, "verify_password", spy)
    driver.send("c1", action="login", username="nobody", password="wrong wrong")
    assert verified == [driver.chat._dummy()]


def test_a_successful_login_clears_the_username_count(driver: Driver) -> None:
    driver.sign_up("c0", "alice", PASSWORD)
    for _ in range(4):
        driver.send("c1", action="login", username="alice", password="wrong wrong")
    assert driver.send("c1", action="login", username="alice",
                       password=PASSWORD)["type"] == "welcome"
    for _ in range(5):
        assert driver.send("c2", action="login", username="alice",
                           password="wrong wrong")["code"] == protocol.BAD_CREDENTIALS


def test_login_and_register_are_limited_per_source_ip(driver: Driver, clock: Clock) -> None:
    for n in range(10):
        reply = from_ip(driver, f"r{n}", "203.0.113.7", action="register",
                        username=f"user{n}", password=PASSWORD)
        assert reply["type"] == "welcome"
    limited = from_ip(driver, "r10", "203.0.113.7", action="register", username="user10",
                      password=PASSWORD)
    assert limited["code"] == protocol.RATE_LIMITED and limited["retry_after"] > 0
    assert driver.chat.store.get_user("user10") is None  # changed nothing
    # another address is counted apart
    assert from_ip(driver, "r11", "198.51.100.1", action="register", username="user10",
                   password=PASSWORD)["type"] == "welcome"
    clock.advance(limited["retry_after"])
    assert from_ip(driver, "r12", "203.0.113.7", action="register", username="user11",
                   password=PASSWORD)["type"] == "welcome"

    for n in range(30):
        reply = from_ip(driver, "l", "192.0.2.9", action="login", username=f"guess{n}",
                        password="wrong wrong")
        assert reply["code"] == protocol.BAD_CREDENTIALS
    limited = from_ip(driver, "l", "192.0.2.9", action="login", username="user1",
                      password=PASSWORD)
    assert limited["code"] == protocol.RATE_LIMITED and limited["retry_after"] > 0


# authenticated actions


def test_send_is_limited_per_user_across_connections(driver: Driver, clock: Clock) -> None:
    driver.sign_up("a1", "alice")
    driver.send("a2", action="login", username="alice", password=PASSWORD)
    driver.sign_up("b1", "bob")
    for n in range(30):
        reply = driver.send(f"a{1 + n % 2}", action="send", to="bob", text="x",
                            client_id=f"k{n}")
        assert reply["type"] == "ack"
    limited = driver.send("a1", action="send", to="bob", text="x", client_id="k30")
    assert limited["code"] == protocol.RATE_LIMITED
    assert limited["client_id"] == "k30" and limited["retry_after"] >= 1
    messages, _ = driver.chat.store.history("alice", "bob", None, 100)
    assert len(messages) == 30  # the refused one changed nothing
    clock.advance(limited["retry_after"])
    assert driver.send("a1", action="send", to="bob", text="x", client_id="k30")["type"] == "ack"
    # then about one a second
    limited = driver.send("a1", action="send", to="bob", text="x", client_id="k31")
    assert limited["code"] == protocol.RATE_LIMITED


def test_typing_pushes_at_most_one_per_recipient_per_window(
    driver: Driver, clock: Clock
) -> None:
    driver.sign_up("a1", "alice")
    driver.sign_up("b1", "bob")
    driver.sign_up("c1", "carol")
    clock.now = 1_800_000_000.0  # the start of a 3-second window
    driver.inbox.clear()
    for _ in range(20):
        driver.raw("a1", json.dumps({"action": "typing", "to": "bob"}))
    driver.raw("a1", json.dumps({"action": "typing", "to": "carol"}))
    assert driver.take("b1") == [{"type": "typing", "from": "alice"}]
    assert driver.take("c1") == [{"type": "typing", "from": "alice"}]  # per recipient
    assert driver.take("a1") == []  # typing has no reply
    clock.advance(3)
    driver.raw("a1", json.dumps({"action": "typing", "to": "bob"}))
    assert driver.take("b1") == [{"type": "typing", "from": "alice"}]


def test_sign_ins_are_limited_per_user(driver: Driver, clock: Clock) -> None:
    token = driver.sign_up("a0", "alice")
    for n in range(20):
        assert driver.send(f"a{n}", action="resume", token=token)["type"] == "welcome"
    limited = driver.send("a20", action="resume", token=token)
    assert limited["code"] == protocol.RATE_LIMITED and limited["retry_after"] >= 1
    also = driver.send("a21", action="login", username="alice", password=PASSWORD)
    assert also["code"] == protocol.RATE_LIMITED
    assert driver.chat.store.get_connection("a20", now=clock.now) is None
    # retry_after counts from the latest refusal (refused attempts stay counted)
    clock.advance(also["retry_after"])
    assert driver.send("a20", action="resume", token=token)["type"] == "welcome"


def test_limits_are_configurable_and_can_be_off(clock: Clock) -> None:
    config = ChatConfig(
        scrypt_cost=ScryptCost(1024, 8, 1),
        limits=Limits(send=Limit("send", 2, 60), typing_interval=0, sign_in=None),
    )
    driver = Driver(Chat(MemoryStore(), config, clock=clock))
    token = driver.sign_up("a1", "alice")
    driver.sign_up("b1", "bob")
    codes = [driver.send("a1", action="send", to="bob", text="x", client_id=f"k{n}")["type"]
             for n in range(3)]
    assert codes == ["ack", "ack", "error"]
    for _ in range(30):
        assert driver.send("a2", action="resume", token=token)["type"] == "welcome"
    driver.inbox.clear()
    for _ in range(3):
        driver.raw("a1", json.dumps({"action": "typing", "to": "bob"}))
    assert len(driver.take("b1")) == 3


def test_limits_come_from_the_environment() -> None:
    from chalicelib.settings import Settings

    assert Settings.from_env({}).limits == Limits()
    chosen = Settings.from_env({
        "CHAT_LIMIT_SEND": "10/5", "CHAT_LIMIT_LOGIN": "off", "CHAT_TYPING_INTERVAL": "0",
    }).limits
    assert chosen.send == Limit("send", 10, 5.0)
    assert chosen.login is None and chosen.typing_interval == 0
    assert chosen.sign_in == Limits().sign_in


def test_the_lambda_adapter_passes_the_source_ip_from_the_event() -> None:
    from chalicelib.service import source_ip

    assert source_ip({"requestContext": {"identity": {"sourceIp": "203.0.113.7"}}}) == (
        "203.0.113.7"
    )
    assert source_ip({"requestContext": {}}) is None
    assert source_ip({}) is None
