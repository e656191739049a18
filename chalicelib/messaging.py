"""Messaging: the handlers of send, history, conversations, users, read and
typing, for a signed-in caller (``turn.me``).

No I/O of its own: everything goes through ``turn.store`` and into
``turn.outcome``. Replies that carry lists (``history``, ``conversations``) are
cut to the frame budget (chalicelib/budget.py), so every frame fits API
Gateway's limit by construction.
"""

from __future__ import annotations

from typing import Any

from chalicelib import attachments, auth, budget, limits, protocol
from chalicelib.ids import iso_timestamp
from chalicelib.model import Blocks, Message, SaveOutcome
from chalicelib.protocol import ProtocolError
from chalicelib.turn import Turn

IDEMPOTENCY_LIFETIME = auth.SESSION_LIFETIME
USERS_LIMIT = 20
# sizes a reply's frame as its longest form: "more": false, and a full-length "next"
_LONGEST_NEXT = "0" * 26


def send(turn: Turn, request: protocol.Send) -> None:
    me = turn.me
    if request.to == me:
        raise ProtocolError(
            protocol.INVALID, "you cannot send a message to yourself", "send", request.client_id
        )
    limits.enforce(turn.store, turn.config.limits.send, me, turn.now, "send", request.client_id)
    attachment = attachments.attach(turn, request) if request.attachment else None
    candidate = Message(
        id=turn.new_message_id(turn.now),
        sender=me,
        recipient=request.to,
        text=request.text,
        ts=iso_timestamp(turn.now),
        client_id=request.client_id,
        attachment=attachment,
    )
    result = turn.store.save_message(candidate, IDEMPOTENCY_LIFETIME, now=turn.now)
    if result.outcome is SaveOutcome.NO_SUCH_USER:
        if attachment is not None:
            attachments.release(turn, attachment, request.client_id)
        raise ProtocolError(
            protocol.NO_SUCH_USER, f"there is no user '{request.to}'", "send", request.client_id
        )
    stored = result.message or candidate
    if result.outcome is SaveOutcome.DUPLICATE and (
        stored.recipient != request.to
        or stored.text != request.text
        or (stored.attachment.id if stored.attachment else "") != request.attachment
    ):
        # a retry must be the same message; anything else would be dropped unseen
        if attachment is not None and attachment != stored.attachment:
            attachments.release(turn, attachment, request.client_id)
        raise ProtocolError(
            protocol.INVALID,
            "client_id already used for another message",
            "send",
            request.client_id,
        )
    if attachment is not None:  # again on a retry: the first may have stopped short
        attachments.attached(turn, attachment)
    if result.outcome is SaveOutcome.STORED:
        # withheld (the recipient blocks me): my other connections only
        audience = [me] if stored.withheld else [request.to, me]
        turn.push(protocol.message(stored.to_wire(attachments.signer(turn))), audience)
    else:
        turn.outcome.code = "duplicate"
    turn.reply(protocol.ack(request.client_id, stored.id, stored.ts))


def history(turn: Turn, request: protocol.History) -> None:
    messages, more = turn.store.history(turn.me, request.with_, request.before, request.limit)
    sign = attachments.signer(turn)
    newest_first = [m.to_wire(sign) for m in reversed(messages)]
    fit = budget.fitting(
        newest_first,
        lambda items: protocol.history(request.with_, items, False),
        turn.config.frame_budget,
    )
    fit = _at_least_one(fit, len(newest_first))
    page = newest_first[:fit]
    page.reverse()
    turn.reply(protocol.history(request.with_, page, more or fit < len(newest_first)))


def conversations(turn: Turn, request: protocol.Conversations) -> None:
    found, more = turn.store.conversations_page(turn.me, request.before, request.limit)
    partners = [c.other for c in found]
    online = turn.store.connections_of(partners, now=turn.now) if partners else {}
    blocks = turn.store.blocks_of(turn.me) if partners else Blocks()
    sign = attachments.signer(turn)
    items: list[dict[str, Any]] = [
        {
            "with": c.other,
            "last": c.last.to_wire(sign),
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
    fit = budget.fitting(
        items,
        lambda page: protocol.conversations(page, False, _LONGEST_NEXT),
        turn.config.frame_budget,
    )
    fit = _at_least_one(fit, len(items))
    more = more or fit < len(items)
    next_ = found[fit - 1].last.id if more and fit else None
    turn.reply(protocol.conversations(items[:fit], more, next_))


def _at_least_one(fit: int, available: int) -> int:
    """Never an empty page that says ``more``: a budget too small for one item
    (Settings refuses such a budget) lets delivery answer ``too_large`` instead."""
    return max(fit, 1) if available else 0


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
    """The reply carries the pointer as stored (clamped to the last message,
    never backwards); others hear of it only when it moved."""
    me = turn.me
    mark = turn.store.mark_read(me, request.with_, request.up_to)
    if mark is None:
        raise ProtocolError(
            protocol.INVALID, f"you have no conversation with '{request.with_}'", "read"
        )
    frame = protocol.read(me, request.with_, mark.pointer)
    if mark.advanced:
        turn.push_unblocked(frame, [request.with_, me])  # no receipts through a block
    turn.reply(frame)


def typing(turn: Turn, request: protocol.Typing) -> None:
    """No reply, by protocol: a push to the other person only."""
    me = turn.me
    if request.to == me:
        return
    # at most one push per recipient per interval; extra frames are dropped silently
    if limits.typing_allowed(
        turn.store, turn.config.limits.typing_interval, me, request.to, turn.now
    ):
        turn.push_unblocked(protocol.typing(me), [request.to])
