"""Blocking: the handlers of block, unblock and blocks, for a signed-in caller
(``turn.me``).

No I/O of its own. What a block withholds is decided where each frame is made:
``send`` (the store withholds the message), ``typing``, ``read``,
``conversations``, ``users``, presence (accounts.py) and edits.py. The blocked
person is never told; the caller's other connections get the same frame.
"""

from __future__ import annotations

from chalicelib import protocol
from chalicelib.protocol import ProtocolError
from chalicelib.turn import Turn

# keeps the ``blocks`` reply far below API Gateway's 128 KB (35 bytes a name at most)
BLOCKS_MAX = 1000


def block(turn: Turn, request: protocol.Block) -> None:
    me = turn.me
    if request.username == me:
        raise ProtocolError(protocol.INVALID, "you cannot block yourself", "block")
    current = turn.store.blocks_of(me).blocks
    frame = protocol.blocked(request.username)
    if request.username not in current:
        if len(current) >= BLOCKS_MAX:
            raise ProtocolError(
                protocol.INVALID, f"you can block at most {BLOCKS_MAX} people", "block"
            )
        if not turn.store.block(me, request.username):
            raise ProtocolError(
                protocol.NO_SUCH_USER, f"there is no user '{request.username}'", "block"
            )
        turn.push(frame, [me])
    turn.reply(frame)


def unblock(turn: Turn, request: protocol.Unblock) -> None:
    me = turn.me
    frame = protocol.unblocked(request.username)
    if request.username in turn.store.blocks_of(me).blocks:
        turn.store.unblock(me, request.username)
        turn.push(frame, [me])
    turn.reply(frame)


def blocks(turn: Turn, request: protocol.Blocks) -> None:
    turn.reply(protocol.blocks(sorted(turn.store.blocks_of(turn.me).blocks)))
