"""The chat core: turns each event into the frames to deliver.

No I/O of its own: ``Chat`` is given a ``Store`` and returns the frames to
deliver as ``Outgoing`` values; the adapters (chalicelib/service.py for Lambda,
localgw for local runs) deliver them. The core owns time: it reads its clock
once per event and hands that ``now`` to the handlers and the store. What each
action does is in the action table (chalicelib/actions.py) and its handlers
(chalicelib/accounts.py, chalicelib/messaging.py).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable

from chalicelib import actions, auth
from chalicelib.accounts import unbind
from chalicelib.blobs import Blobs
from chalicelib.ids import MessageIds
from chalicelib.model import Store
from chalicelib.protocol import ProtocolError
from chalicelib.turn import ChatConfig, Outcome, Outgoing, Turn

__all__ = [
    "Chat",
    "ChatConfig",
    "InternalFailure",
    "Outcome",
    "Outgoing",
]

DEFAULT_CONFIG = ChatConfig()


class InternalFailure(Exception):
    """An unexpected failure while handling a well-formed frame; the adapter
    logs the cause and answers ``internal`` with these echo fields."""

    def __init__(self, action: str | None, client_id: str | None) -> None:
        super().__init__(action)
        self.action = action
        self.client_id = client_id


class Chat:
    def __init__(
        self,
        store: Store,
        config: ChatConfig = DEFAULT_CONFIG,
        *,
        clock: Callable[[], float] = time.time,
        message_ids: Callable[[float], str] | None = None,
        new_token: Callable[[], str] = auth.new_token,
        blobs: Blobs | None = None,
    ) -> None:
        self.store = store
        self.blobs = blobs
        self.config = config
        self._clock = clock
        self._message_ids = message_ids or MessageIds()
        self._new_token = new_token
        self._dummy_hash: str | None = None

    # events

    def connect(self, connection_id: str) -> Outcome:
        # Nothing to store: a connection is bound to a user when it signs in.
        return Outcome()

    def disconnect(self, connection_id: str) -> Outcome:
        turn = self._turn(connection_id, Outcome())
        unbind(turn, connection_id)
        return turn.outcome

    def forget(self, connection_ids: Iterable[str]) -> Outcome:
        """Drop connections that API Gateway reports gone."""
        turn = self._turn("", Outcome())
        for connection_id in connection_ids:
            unbind(turn, connection_id)
        return turn.outcome

    def receive(
        self, connection_id: str, raw: str | bytes, *, source_ip: str | None = None
    ) -> Outcome:
        """``source_ip``: the caller's address as the gateway saw it (API
        Gateway's ``requestContext.identity.sourceIp``), for the per-IP limits."""
        try:
            parsed = actions.parse(raw, max_text=self.config.max_text)
        except ProtocolError as problem:
            return self._refuse(connection_id, problem)
        turn = self._turn(connection_id, Outcome(action=parsed.action))
        turn.source_ip = source_ip
        try:
            actions.dispatch(turn, parsed)
        except ProtocolError as problem:
            return self._refuse(connection_id, problem, parsed.action)
        except Exception as failure:
            raise InternalFailure(parsed.action, parsed.client_id) from failure
        return turn.outcome

    def _turn(self, connection_id: str, outcome: Outcome) -> Turn:
        return Turn(
            store=self.store,
            config=self.config,
            now=self._clock(),
            connection_id=connection_id,
            outcome=outcome,
            new_message_id=self._message_ids,
            new_token=self._new_token,
            dummy_hash=self._dummy,
            blobs=self.blobs,
        )

    def _refuse(
        self, connection_id: str, problem: ProtocolError, action: str | None = None
    ) -> Outcome:
        return Outcome(
            frames=[Outgoing(connection_id, problem.frame())],
            code=problem.code,
            action=problem.action or action,
        )

    def _dummy(self) -> str:
        if self._dummy_hash is None:
            self._dummy_hash = auth.dummy_hash(self.config.scrypt_cost)
        return self._dummy_hash
