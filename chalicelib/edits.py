"""Changing a sent message: the handlers of edit, delete and react, for a
signed-in caller (``turn.me``).

No I/O of its own. The message is found by id among the caller's own
conversations, so nobody reaches a message of a conversation they are not in.
Each change is pushed as the same frame to the other person's connections and
the caller's other ones, then given as the direct reply; a change that changes
nothing (a retry) is only replied to. While the other person blocks the
caller, the caller's changes are not pushed to them, and edits and reactions
are not stored for them at all (the caller is not told: see docs/protocol.md).
"""

from __future__ import annotations

from chalicelib import attachments, protocol, rules
from chalicelib.ids import iso_timestamp
from chalicelib.model import Blocks, Message
from chalicelib.protocol import ProtocolError
from chalicelib.turn import Turn


def edit(turn: Turn, request: protocol.Edit) -> None:
    me = turn.me
    message = _own(turn, request.id, "edit")
    other = _other(message, me)
    if message.text == request.text:  # a retry, or no change: nothing to store or push
        edited_at = message.edited_at or message.ts
        turn.reply(protocol.edited(message.id, other, message.text, edited_at))
        return
    if not rules.edit_window_open(message.ts, turn.now, turn.config.edit_window):
        hours = turn.config.edit_window / 3600
        raise ProtocolError(
            protocol.FORBIDDEN, f"messages can be edited for {hours:g} hours after sending", "edit"
        )
    edited_at = iso_timestamp(turn.now)
    blocks = turn.store.blocks_of(me)
    if other in blocks.blocked_by and not message.withheld:
        turn.outcome.code = "blocked"  # answered as if done; nothing changes for them
        turn.reply(protocol.edited(message.id, other, request.text, edited_at))
        return
    changed = turn.store.edit_message(message, request.text, edited_at)
    if changed is None:
        raise _not_found("edit")
    frame = protocol.edited(changed.id, other, changed.text, changed.edited_at)
    turn.push(frame, _audience(changed, me, blocks))
    turn.reply(frame)


def delete(turn: Turn, request: protocol.Delete) -> None:
    """Deletes for everyone, whenever it was sent (taking back is always allowed)."""
    me = turn.me
    message = _find(turn, request.id, "delete", deleted_too=True)
    if message.sender != me:
        raise ProtocolError(protocol.FORBIDDEN, "you can only delete your own messages", "delete")
    other = _other(message, me)
    frame = protocol.deleted(message.id, other)
    if not message.deleted:
        attachments.discard(turn, message)  # first: a retry finds the message undeleted
        turn.store.delete_message(message)
        turn.push(frame, _audience(message, me, turn.store.blocks_of(me)))
    turn.reply(frame)


def react(turn: Turn, request: protocol.React) -> None:
    me = turn.me
    message = _find(turn, request.id, "react")
    other = _other(message, me)
    current = dict(message.reactions).get(me, "")
    on = current != request.emoji if request.on is None else request.on
    frame = protocol.reaction(message.id, other, me, request.emoji, on)
    wanted = request.emoji if on else ("" if current == request.emoji else current)
    if wanted == current:  # a retry, or nothing to remove
        turn.reply(frame)
        return
    blocks = turn.store.blocks_of(me)
    if other in blocks.blocks and not message.withheld:
        raise ProtocolError(
            protocol.FORBIDDEN, f"you have blocked '{other}'; unblock them to react", "react"
        )
    if other in blocks.blocked_by and not message.withheld:
        turn.outcome.code = "blocked"  # answered as if done; nothing changes for them
        turn.reply(frame)
        return
    if turn.store.set_reaction(message, me, wanted) is None:
        raise _not_found("react")
    turn.push(frame, _audience(message, me, blocks))
    turn.reply(frame)


def _find(turn: Turn, message_id: str, action: str, *, deleted_too: bool = False) -> Message:
    message = turn.store.find_message(turn.me, message_id)
    if message is None or (message.deleted and not deleted_too):
        raise _not_found(action)
    return message


def _own(turn: Turn, message_id: str, action: str) -> Message:
    message = _find(turn, message_id, action)
    if message.sender != turn.me:
        raise ProtocolError(protocol.FORBIDDEN, f"you can only {action} your own messages", action)
    return message


def _not_found(action: str) -> ProtocolError:
    return ProtocolError(protocol.NOT_FOUND, "there is no such message", action)


def _other(message: Message, me: str) -> str:
    return message.recipient if message.sender == me else message.sender


def _audience(message: Message, me: str, blocks: Blocks) -> list[str]:
    """Who is told of a change live: both people, or only the caller's other
    connections when the other person never saw the message or blocks the caller."""
    other = _other(message, me)
    if message.withheld or other in blocks.blocked_by:
        return [me]
    return [other, me]
