"""The action table: for each client action its name, parser, handler, whether
it needs sign-in, and the type of its direct reply. Parsing, dispatch and the
unknown-action answer all read it; so does tests/unit/test_actions.py, which
checks it against docs/protocol.md.

No I/O here. Adding an action: a request type and parser (protocol.py), a
handler (accounts.py or messaging.py), an entry below; see docs/architecture.md.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from chalicelib import accounts, attachments, blocking, edits, messaging, protocol
from chalicelib.protocol import Parsed, ProtocolError
from chalicelib.turn import Turn

R = TypeVar("R", bound=protocol.Request)


@dataclass(frozen=True)
class Action(Generic[R]):
    name: str
    parse: Callable[[protocol.Fields, int], R]
    handle: Callable[[Turn, R], None]
    needs_sign_in: bool
    # the type of the direct reply on success (``None``: no reply, by protocol);
    # any action may instead be answered with an ``error``
    reply: str | None


_TABLE: tuple[Action[Any], ...] = (
    Action("register", protocol.parse_register, accounts.register, False, "welcome"),
    Action("login", protocol.parse_login, accounts.login, False, "welcome"),
    Action("resume", protocol.parse_resume, accounts.resume, False, "welcome"),
    Action("ping", protocol.parse_ping, accounts.ping, False, "pong"),
    Action("logout", protocol.parse_logout, accounts.logout, True, "bye"),
    Action("send", protocol.parse_send, messaging.send, True, "ack"),
    Action("history", protocol.parse_history, messaging.history, True, "history"),
    Action(
        "conversations",
        protocol.parse_conversations,
        messaging.conversations,
        True,
        "conversations",
    ),
    Action("users", protocol.parse_users, messaging.users, True, "users"),
    Action("read", protocol.parse_read, messaging.read, True, "read"),
    Action("typing", protocol.parse_typing, messaging.typing, True, None),
    Action(
        "change_password",
        protocol.parse_change_password,
        accounts.change_password,
        True,
        "password_changed",
    ),
    Action("logout_all", protocol.parse_logout_all, accounts.logout_all, True, "bye"),
    # issue 13
    Action("edit", protocol.parse_edit, edits.edit, True, "edited"),
    Action("delete", protocol.parse_delete, edits.delete, True, "deleted"),
    Action("react", protocol.parse_react, edits.react, True, "reaction"),
    Action("block", protocol.parse_block, blocking.block, True, "blocked"),
    Action("unblock", protocol.parse_unblock, blocking.unblock, True, "unblocked"),
    Action("blocks", protocol.parse_blocks, blocking.blocks, True, "blocks"),
    # issue 14
    Action("upload", protocol.parse_upload, attachments.upload, True, "upload"),
)

ACTIONS: Mapping[str, Action[Any]] = {action.name: action for action in _TABLE}


def parse(raw: str | bytes, *, max_text: int = protocol.DEFAULT_MAX_TEXT) -> Parsed:
    """Turn one client frame into a request of a known action; raises ProtocolError."""
    envelope = protocol.read_envelope(raw)
    action = ACTIONS.get(envelope.action)
    if action is None:
        raise envelope.unknown()
    return Parsed(envelope.action, action.parse(envelope.fields(), max_text), envelope.client_id)


def dispatch(turn: Turn, parsed: Parsed) -> None:
    """Run the action's handler, after checking sign-in where it needs it, and
    check it gave the caller exactly the replies the table says; raises
    ProtocolError for the caller."""
    action = ACTIONS[parsed.action]
    if action.needs_sign_in:
        binding = turn.store.get_connection(turn.connection_id, now=turn.now)
        if binding is None:
            raise ProtocolError(
                protocol.UNAUTHENTICATED,
                "sign in first: register, login or resume",
                parsed.action,
                parsed.client_id,
            )
        turn.binding = binding
        turn.outcome.username = binding.username
    action.handle(turn, parsed.request)
    replies = sum(1 for o in turn.outcome.frames if o.connection_id == turn.connection_id)
    if replies != (0 if action.reply is None else 1):
        # a handler bug: the adapter answers ``internal`` rather than break the protocol
        raise RuntimeError(f"the {action.name} handler gave {replies} direct replies")
