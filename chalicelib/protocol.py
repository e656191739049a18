"""The wire protocol: client frames -> typed requests, and server frames.

Pure functions, no I/O: the envelope of a client frame (``read_envelope``),
validated field access (``Fields``), one parser per action, and the builders
of every server frame. Which parser belongs to which action is the action
table's (chalicelib/actions.py, whose ``parse`` is the entry point); problems
are raised as ``ProtocolError``, which the core turns into an ``error`` frame.
docs/protocol.md documents every frame.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Protocol

from chalicelib.ids import MESSAGE_ID_PATTERN

# matched in full (``fullmatch``) against ASCII input after lower-casing: see username()
USERNAME_PATTERN = re.compile(r"[a-z0-9_.-]{3,32}")
PASSWORD_MIN = 8
PASSWORD_MAX = 1024
TOKEN_MAX = 256
CLIENT_ID_MAX = 64
QUERY_MAX = 32
HISTORY_DEFAULT_LIMIT = 50
HISTORY_MAX_LIMIT = 100
DEFAULT_MAX_TEXT = 4000
MAX_FRAME_BYTES = 64 * 1024
DEFAULT_EDIT_WINDOW = 24 * 3600  # seconds after sending that a message can be edited
FILE_NAME_MAX = 255
MEDIA_TYPE_MAX = 127
# upload ids: chalicelib/ids.py's new_upload_id (URL-safe, they name blobs)
UPLOAD_ID_PATTERN = re.compile(r"[A-Za-z0-9_-]{16,64}")

# error codes (fixed by the protocol)
BAD_JSON = "bad_json"
UNKNOWN_ACTION = "unknown_action"
INVALID = "invalid"
UNAUTHENTICATED = "unauthenticated"
USERNAME_TAKEN = "username_taken"
BAD_CREDENTIALS = "bad_credentials"
BAD_TOKEN = "bad_token"
NO_SUCH_USER = "no_such_user"
TOO_LARGE = "too_large"
RATE_LIMITED = "rate_limited"
INTERNAL = "internal"
NOT_FOUND = "not_found"
FORBIDDEN = "forbidden"
ERROR_CODES = (
    BAD_JSON, UNKNOWN_ACTION, INVALID, UNAUTHENTICATED, USERNAME_TAKEN, BAD_CREDENTIALS,
    BAD_TOKEN, NO_SUCH_USER, TOO_LARGE, RATE_LIMITED, INTERNAL,
    NOT_FOUND, FORBIDDEN,
)
# the reactions ``react`` accepts (no well-kept emoji library is installed);
# keys are accepted spellings, values the one stored (a heart with or without U+FE0F)
REACTIONS = {
    "👍": "👍", "❤️": "❤️", "❤": "❤️", "😂": "😂", "😮": "😮", "😢": "😢", "🙏": "🙏",
    "🎉": "🎉", "🔥": "🔥", "👎": "👎",
}


@dataclass(frozen=True)
class Register:
    username: str
    password: str


@dataclass(frozen=True)
class Login:
    username: str
    password: str


@dataclass(frozen=True)
class Resume:
    token: str


@dataclass(frozen=True)
class Send:
    to: str
    text: str
    client_id: str
    attachment: str = ""  # an upload id (issue 14); with one, ``text`` may be empty


@dataclass(frozen=True)
class History:
    with_: str
    before: str | None
    limit: int


@dataclass(frozen=True)
class Conversations:
    before: str | None = None
    limit: int = HISTORY_DEFAULT_LIMIT


@dataclass(frozen=True)
class Users:
    query: str


@dataclass(frozen=True)
class Read:
    with_: str
    up_to: str


@dataclass(frozen=True)
class Typing:
    to: str


@dataclass(frozen=True)
class Ping:
    pass


@dataclass(frozen=True)
class Logout:
    pass


@dataclass(frozen=True)
class ChangePassword:
    password: str
    new_password: str


@dataclass(frozen=True)
class LogoutAll:
    pass


# edit, delete, react, block, unblock, blocks (issue 13)


@dataclass(frozen=True)
class Edit:
    id: str
    text: str


@dataclass(frozen=True)
class Delete:
    id: str


@dataclass(frozen=True)
class React:
    id: str
    emoji: str
    on: bool | None  # None: toggle (the fixed behaviour); True/False: set (an extension)


@dataclass(frozen=True)
class Block:
    username: str


@dataclass(frozen=True)
class Unblock:
    username: str


@dataclass(frozen=True)
class Blocks:
    pass


# attachments (issue 14)


@dataclass(frozen=True)
class Upload:
    name: str
    type: str
    size: int
    client_id: str | None  # echoed in the reply, to match concurrent uploads


Request = (
    Register | Login | Resume | Send | History | Conversations | Users | Read | Typing | Ping
    | Logout | ChangePassword | LogoutAll | Edit | Delete | React | Block | Unblock | Blocks
    | Upload
)

# bye reasons (the connection was signed out by ...)
SIGNED_OUT = "signed_out"  # a logout with the session it signed in with
PASSWORD_CHANGED = "password_changed"  # a change_password in another session
SIGNED_OUT_EVERYWHERE = "signed_out_everywhere"  # a logout_all


@dataclass(frozen=True)
class ProtocolError(Exception):
    code: str
    message: str
    action: str | None = None
    client_id: str | None = None
    retry_after: int | None = None  # whole seconds, for rate_limited

    def frame(self) -> dict[str, Any]:
        return error(
            self.code, self.message, self.action, self.client_id, retry_after=self.retry_after
        )


@dataclass(frozen=True)
class Parsed:
    """A well-formed request with the echo fields its replies need."""

    action: str
    request: Request
    client_id: str | None = None


def is_text(value: str) -> bool:
    """Whether ``value`` is valid Unicode text: JSON can carry lone surrogates
    (``"\\ud800"``), which no UTF-8 frame, log line or store can hold."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def canonical_username(value: str) -> str | None:
    """The username ``value`` names under the rule (lower-cased, then a full match
    of ``USERNAME_PATTERN``), or None. ASCII is checked first: ``str.lower`` maps
    some other characters into a-z (KELVIN SIGN "\u212a" -> "k"), which would
    make look-alikes of real names."""
    if not value.isascii():
        return None
    lowered = value.lower()
    return lowered if USERNAME_PATTERN.fullmatch(lowered) else None


def error(
    code: str,
    message: str,
    action: str | None = None,
    client_id: str | None = None,
    *,
    retry_after: int | None = None,
) -> dict[str, Any]:
    frame: dict[str, Any] = {"type": "error", "code": code, "message": message}
    if action is not None:
        frame["action"] = action
    if client_id is not None:
        frame["client_id"] = client_id
    if retry_after is not None:
        frame["retry_after"] = retry_after
    return frame


class Fields:
    """Typed, validated access to one frame's fields; raises ProtocolError."""

    def __init__(self, frame: dict[str, Any], action: str, client_id: str | None) -> None:
        self._frame = frame
        self._action = action
        self._client_id = client_id

    def fail(self, message: str, code: str = INVALID) -> ProtocolError:
        return ProtocolError(code, message, self._action, self._client_id)

    def string(self, name: str, *, min_len: int = 1, max_len: int, optional: bool = False) -> str:
        value = self._frame.get(name)
        if value is None and optional:
            return ""
        if not isinstance(value, str):
            raise self.fail(f"'{name}' must be a string")
        if not is_text(value):
            raise self.fail(f"'{name}' must be valid Unicode text")
        if not min_len <= len(value) <= max_len:
            raise self.fail(f"'{name}' must be {min_len} to {max_len} characters long")
        return value

    def username(self, name: str) -> str:
        value = canonical_username(self.string(name, max_len=64))
        if value is None:
            raise self.fail(
                f"'{name}' must be 3 to 32 characters of a-z, 0-9, '_', '.' and '-'"
            )
        return value

    def message_id(self, name: str, *, optional: bool = False) -> str | None:
        value = self._frame.get(name)
        if value is None and optional:
            return None
        if not isinstance(value, str) or not MESSAGE_ID_PATTERN.fullmatch(value):
            raise self.fail(f"'{name}' must be a message id")
        return value

    def limit(self) -> int:
        value = self._frame.get("limit", HISTORY_DEFAULT_LIMIT)
        if (
            isinstance(value, bool)
            or not isinstance(value, int)
            or not 1 <= value <= HISTORY_MAX_LIMIT
        ):
            raise self.fail(f"'limit' must be a whole number from 1 to {HISTORY_MAX_LIMIT}")
        return int(value)


@dataclass(frozen=True)
class Envelope:
    """A client frame that is a JSON object with a string action."""

    frame: dict[str, Any]
    action: str
    client_id: str | None

    def fields(self) -> Fields:
        return Fields(self.frame, self.action, self.client_id)

    def unknown(self) -> ProtocolError:
        echo = self.action[:32]
        return ProtocolError(UNKNOWN_ACTION, f"unknown action '{echo}'", echo, self.client_id)


def read_envelope(raw: str | bytes) -> Envelope:
    """Decode one client frame as far as its action; raises ProtocolError."""
    if len(raw) > MAX_FRAME_BYTES:
        raise ProtocolError(TOO_LARGE, f"frames are limited to {MAX_FRAME_BYTES} bytes")
    try:
        frame = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise ProtocolError(BAD_JSON, "frames must be JSON objects") from None
    if not isinstance(frame, dict):
        raise ProtocolError(BAD_JSON, "frames must be JSON objects")
    action = frame.get("action")
    raw_client_id = frame.get("client_id")
    # echoed in replies only when it can be encoded (else the reply itself would fail)
    client_id = (
        raw_client_id
        if isinstance(raw_client_id, str)
        and 0 < len(raw_client_id) <= CLIENT_ID_MAX
        and is_text(raw_client_id)
        else None
    )
    if not isinstance(action, str):
        raise ProtocolError(UNKNOWN_ACTION, "frames need a string 'action'", None, client_id)
    if not is_text(action):
        raise ProtocolError(INVALID, "'action' must be valid Unicode text", None, client_id)
    return Envelope(frame, action, client_id)


class Parser(Protocol):
    """Builds one action's request from its fields; raises ProtocolError."""

    def __call__(self, f: Fields, max_text: int, /) -> Request: ...


# parsers, one per action (the action table in chalicelib/actions.py names them)


def parse_register(f: Fields, _: int) -> Register:
    return Register(f.username("username"), _password(f))


def parse_login(f: Fields, _: int) -> Login:
    # A login never reveals the username rules: any string is looked up as it is,
    # lower-cased only when ASCII (see canonical_username), so a look-alike such as
    # "bob\n" or "\u212aate" never matches an account.
    username = f.string("username", max_len=64)
    if username.isascii():
        username = username.lower()
    return Login(username, f.string("password", max_len=PASSWORD_MAX))


def _password(f: Fields) -> str:
    return f.string("password", min_len=PASSWORD_MIN, max_len=PASSWORD_MAX)


def parse_resume(f: Fields, _: int) -> Resume:
    return Resume(f.string("token", max_len=TOKEN_MAX))


def parse_send(f: Fields, max_text: int) -> Send:
    to = f.username("to")
    client_id = f.string("client_id", max_len=CLIENT_ID_MAX)
    attachment = f._frame.get("attachment")
    if attachment is None:
        return Send(to, _text(f, max_text), client_id)
    if not isinstance(attachment, str) or not UPLOAD_ID_PATTERN.fullmatch(attachment):
        raise f.fail("'attachment' must be an upload id from an 'upload' reply")
    text = f._frame.get("text", "")
    return Send(to, _text(f, max_text) if text else "", client_id, attachment)


def _text(f: Fields, max_text: int) -> str:
    text = f._frame.get("text")
    if not isinstance(text, str) or not text.strip():
        raise f.fail("'text' must be a non-empty string")
    if not is_text(text):
        raise f.fail("'text' must be valid Unicode text")
    if len(text) > max_text:
        raise f.fail(f"'text' is limited to {max_text} characters", TOO_LARGE)
    return text


def parse_upload(f: Fields, _: int) -> Upload:
    """The shape only; the handler checks the type and size against the configured
    limits (chalicelib/attachments.py)."""
    name = f.string("name", max_len=FILE_NAME_MAX)
    if any(c in name for c in "/\\") or any(ord(c) < 32 or ord(c) == 127 for c in name):
        raise f.fail("'name' must be a file name: no '/', '\\' or control characters")
    if not name.strip() or name in (".", ".."):
        raise f.fail("'name' must be a file name")
    content_type = f.string("type", max_len=MEDIA_TYPE_MAX).lower()
    size = f._frame.get("size")
    if isinstance(size, bool) or not isinstance(size, int) or size < 1:
        raise f.fail("'size' must be the file's size in bytes, a whole number of at least 1")
    return Upload(name, content_type, size, f._client_id)


def parse_history(f: Fields, _: int) -> History:
    return History(f.username("with"), f.message_id("before", optional=True), f.limit())


def parse_conversations(f: Fields, _: int) -> Conversations:
    return Conversations(f.message_id("before", optional=True), f.limit())


def parse_users(f: Fields, _: int) -> Users:
    return Users(f.string("query", max_len=QUERY_MAX).lower())


def parse_read(f: Fields, _: int) -> Read:
    return Read(f.username("with"), f.message_id("up_to") or "")


def parse_typing(f: Fields, _: int) -> Typing:
    return Typing(f.username("to"))


def parse_ping(f: Fields, _: int) -> Ping:
    return Ping()


def parse_logout(f: Fields, _: int) -> Logout:
    return Logout()


def parse_change_password(f: Fields, _: int) -> ChangePassword:
    # the current password is checked as-is, like a login's; the new one follows
    # the register rule
    current = f.string("password", max_len=PASSWORD_MAX)
    new = f.string("new_password", min_len=PASSWORD_MIN, max_len=PASSWORD_MAX)
    return ChangePassword(current, new)


def parse_logout_all(f: Fields, _: int) -> LogoutAll:
    return LogoutAll()


# parsers of edit, delete, react, block, unblock, blocks (issue 13)


def parse_edit(f: Fields, max_text: int) -> Edit:
    return Edit(f.message_id("id") or "", _text(f, max_text))


def parse_delete(f: Fields, _: int) -> Delete:
    return Delete(f.message_id("id") or "")


def parse_react(f: Fields, _: int) -> React:
    message_id = f.message_id("id") or ""
    emoji = REACTIONS.get(f.string("emoji", max_len=16))
    if emoji is None:
        raise f.fail("'emoji' must be one of " + " ".join(dict.fromkeys(REACTIONS.values())))
    on = f._frame.get("on")
    if on is not None and not isinstance(on, bool):
        raise f.fail("'on' must be true or false when given")
    return React(message_id, emoji, on)


def parse_block(f: Fields, _: int) -> Block:
    return Block(f.username("username"))


def parse_unblock(f: Fields, _: int) -> Unblock:
    return Unblock(f.username("username"))


def parse_blocks(f: Fields, _: int) -> Blocks:
    return Blocks()


# server frames


def welcome(username: str, token: str) -> dict[str, Any]:
    return {"type": "welcome", "username": username, "token": token}


def ack(client_id: str, message_id: str, ts: str) -> dict[str, Any]:
    return {"type": "ack", "client_id": client_id, "id": message_id, "ts": ts}


def upload(
    upload_id: str,
    url: str,
    fields: dict[str, str],
    expires_in: int,
    max_size: int,
    client_id: str | None,
) -> dict[str, Any]:
    frame: dict[str, Any] = {
        "type": "upload",
        "upload_id": upload_id,
        "url": url,
        "fields": fields,
        "expires_in": expires_in,
        "max_size": max_size,
    }
    if client_id is not None:
        frame["client_id"] = client_id
    return frame


def message(wire: dict[str, Any]) -> dict[str, Any]:
    return {"type": "message", **wire}


def presence(username: str, online: bool) -> dict[str, Any]:
    return {"type": "presence", "username": username, "online": online}


def history(with_: str, messages: list[dict[str, Any]], more: bool) -> dict[str, Any]:
    return {"type": "history", "with": with_, "messages": messages, "more": more}


def conversations(
    items: list[dict[str, Any]], more: bool = False, next_: str | None = None
) -> dict[str, Any]:
    return {"type": "conversations", "items": items, "more": more, "next": next_}


def users(items: list[dict[str, Any]]) -> dict[str, Any]:
    return {"type": "users", "items": items}


def read(by: str, with_: str, up_to: str) -> dict[str, Any]:
    return {"type": "read", "by": by, "with": with_, "up_to": up_to}


def typing(sender: str) -> dict[str, Any]:
    return {"type": "typing", "from": sender}


def pong() -> dict[str, Any]:
    return {"type": "pong"}


def bye(reason: str | None = None) -> dict[str, Any]:
    frame: dict[str, Any] = {"type": "bye"}
    if reason is not None:
        frame["reason"] = reason
    return frame


def password_changed() -> dict[str, Any]:
    return {"type": "password_changed"}


# frames of edit, delete, react, block, unblock, blocks (issue 13)


def edited(message_id: str, with_: str, text: str, edited_at: str) -> dict[str, Any]:
    return {"type": "edited", "id": message_id, "with": with_, "text": text,
            "edited_at": edited_at}


def deleted(message_id: str, with_: str) -> dict[str, Any]:
    return {"type": "deleted", "id": message_id, "with": with_}


def reaction(message_id: str, with_: str, by: str, emoji: str, on: bool) -> dict[str, Any]:
    return {"type": "reaction", "id": message_id, "with": with_, "by": by, "emoji": emoji,
            "on": on}


def blocked(username: str) -> dict[str, Any]:
    return {"type": "blocked", "username": username}


def unblocked(username: str) -> dict[str, Any]:
    return {"type": "unblocked", "username": username}


def blocks(items: list[str]) -> dict[str, Any]:
    return {"type": "blocks", "items": items}


def encode(frame: dict[str, Any]) -> str:
    return json.dumps(frame, ensure_ascii=False, separators=(",", ":"))
