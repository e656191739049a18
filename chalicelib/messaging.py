"""Messaging: the handlers of send, history, conversations, users, read and
typing, for a signed-in caller (``turn.me``).

No I/O of its own: everything goes through ``turn.store`` and into
``turn.outcome``.
"""

from __future__ import annotations

from typing import Any

from chalicelib import auth, protocol
from chalicelib.ids import iso_timestamp
from chalicelib.model import Blocks, Message, SaveOutcome
from chalicelib.protocol import ProtocolError
from chalicelib.turn import Turn

IDEMPOTENCY_LIFETIME = auth.SESSION_LIFETIME
USERS_LIMIT = 20


def send(turn: Turn, request: protocol.Send) -> None:
    me = turn.me
    if request.to == me:
        raise ProtocolError(
            protocol.INVALID, "you cannot send a message to yourself", "send", request.client_id
        )
    candidate = Message(
        id=turn.new_message_id(turn.now),
        sender=me,
        recipient=request.to,
        text=request.text,
        ts=iso_timestamp(turn.now),
        client_id=request.client_id,
    )
    result = turn.store.save_message(candidate, IDEMPOTENCY_LIFETIME, now=turn.now)
    if result.outcome is SaveOutcome.NO_SUCH_USER:
        raise ProtocolError(
            protocol.NO_SUCH_USER, f"there is no user '{request.to}'", "send", request.client_id
        )
    stored = result.message or candidate
    if result.outcome is SaveOutcome.STORED:
        # withheld (the recipient blocks me): my other connections only
        audience = [me] if stored.withheld else [request.to, me]
        turn.push(protocol.message(stored.to_wire()), audience)
    else:
        turn.outcome.code = "duplicate"
    turn.reply(protocol.ack(request.client_id, stored.id, stored.ts))


def history(turn: Turn, request: protocol.History) -> None:
    messages, more = turn.store.history(turn.me, request.with_, request.before, request.limit)
    turn.reply(protocol.history(request.with_, [m.to_wire() for m in messages], more))


def conversations(turn: Turn, request: protocol.Conversations) -> None:
    found = turn.store.conversations(turn.me)
    partners = [c.other for c in found]
    online = turn.store.connections_of(partners, now=turn.now) if partners else {}
    blocks = turn.store.blocks_of(turn.me) if partners else Blocks()
    items: list[dict[str, Any]] = [
        {
            "with": c.other,
            "last": c.last.to_wire(),
            "unread": c.unread,
            "online": bool(online.get(c.other)),
            "their_read_up_to": c.their_read_up_to,
        }
        for c in found
    ]
    for item in items:  # while a block stands: no presence, no receipts (either way)
        if blocks.either_way(item["with"]):
            item.update(online=False, their_read_up_to="")
        if item["with"] in blocks.blocks:
            item["blocked"] = True
    turn.reply(protocol.conversations(items))


def users(turn: Turn, request: protocol.Users) -> None:
    found = turn.store.search_users(request.query, USERS_LIMIT + 1, now=turn.now)
    blocks = turn.store.blocks_of(turn.me) if found else Blocks()
    items = [
        {"username": name, "online": online and not blocks.either_way(name)}
        for name, online in found
        if name != turn.me
    ]
    turn.reply(protocol.users(items[:USERS_LIMIT]))


def read(turn: Turn, request: protocol.Read) -> None:
    me = turn.me
    if not turn.store.mark_read(me, request.with_, request.up_to):
        raise ProtocolError(
            protocol.INVALID, f"you have no conversation with '{request.with_}'", "read"
        )
    frame = protocol.read(me, request.with_, request.up_to)
    turn.push_unblocked(frame, [request.with_, me])  # no receipts through a block
    turn.reply(frame)


def typing(turn: Turn, request: protocol.Typing) -> None:
    """No reply, by protocol: a push to the other person only."""
    if request.to != turn.me:
        turn.push_unblocked(protocol.typing(turn.me), [request.to])
