"""The chat's decisions: who may do what, what to store, what goes where.

No I/O of its own: ``Chat`` is given a ``Store`` and returns the frames to
deliver as ``Outgoing`` values; the adapters (chalicelib/service.py for Lambda,
localgw for local runs) deliver them. Identity comes only from the store's
binding of a connection to a user, never from a frame.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from chalicelib import auth, protocol
from chalicelib.ids import MessageIds, iso_timestamp
from chalicelib.model import Connection, Message, SaveOutcome, Session, Store, User
from chalicelib.protocol import ProtocolError

# API Gateway closes every WebSocket connection after two hours.
CONNECTION_LIFETIME = 2 * 3600
IDEMPOTENCY_LIFETIME = auth.SESSION_LIFETIME
USERS_LIMIT = 20
# presence is pushed to the people of at most this many recent conversations
PRESENCE_FANOUT = 100


@dataclass(frozen=True)
class Outgoing:
    connection_id: str
    frame: dict[str, Any]


@dataclass
class Outcome:
    """What one event produced: frames in delivery order (pushes to others
    first, the reply to the calling connection last) and a code for the log."""

    frames: list[Outgoing] = field(default_factory=list)
    code: str = "ok"
    action: str | None = None
    username: str | None = None


class InternalFailure(Exception):
    """An unexpected failure while handling a well-formed frame; the adapter
    logs the cause and answers ``internal`` with these echo fields."""

    def __init__(self, action: str | None, client_id: str | None) -> None:
        super().__init__(action)
        self.action = action
        self.client_id = client_id


@dataclass(frozen=True)
class ChatConfig:
    max_text: int = protocol.DEFAULT_MAX_TEXT
    scrypt_cost: auth.ScryptCost = field(default_factory=auth.ScryptCost)


class Chat:
    def __init__(
        self,
        store: Store,
        config: ChatConfig = ChatConfig(),
        *,
        clock: Callable[[], float] = time.time,
        message_ids: Callable[[float], str] | None = None,
        new_token: Callable[[], str] = auth.new_token,
    ) -> None:
        self.store = store
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
        outcome = Outcome()
        self._unbind(connection_id, outcome)
        return outcome

    def forget(self, connection_ids: Iterable[str]) -> Outcome:
        """Drop connections that API Gateway reports gone."""
        outcome = Outcome()
        for connection_id in connection_ids:
            self._unbind(connection_id, outcome)
        return outcome

    def receive(self, connection_id: str, raw: str | bytes) -> Outcome:
        try:
            parsed = protocol.parse(raw, max_text=self.config.max_text)
        except ProtocolError as problem:
            return self._refuse(connection_id, problem)
        outcome = Outcome(action=parsed.action)
        try:
            self._dispatch(connection_id, parsed, outcome)
        except ProtocolError as problem:
            return self._refuse(connection_id, problem, parsed.action)
        except Exception as failure:
            raise InternalFailure(parsed.action, parsed.client_id) from failure
        return outcome

    # dispatch

    def _dispatch(self, connection_id: str, parsed: protocol.Parsed, outcome: Outcome) -> None:
        request = parsed.request
        if isinstance(request, protocol.Ping):
            outcome.frames.append(Outgoing(connection_id, protocol.pong()))
            return
        if isinstance(request, protocol.Register):
            self._register(connection_id, request, outcome)
            return
        if isinstance(request, protocol.Login):
            self._login(connection_id, request, outcome)
            return
        if isinstance(request, protocol.Resume):
            self._resume(connection_id, request, outcome)
            return
        connection = self.store.get_connection(connection_id)
        if connection is None:
            raise ProtocolError(
                protocol.UNAUTHENTICATED,
                "sign in first: register, login or resume",
                parsed.action,
                parsed.client_id,
            )
        me = connection.username
        outcome.username = me
        if isinstance(request, protocol.Send):
            self._send(connection_id, me, request, outcome)
        elif isinstance(request, protocol.History):
            self._history(connection_id, me, request, outcome)
        elif isinstance(request, protocol.Conversations):
            self._conversations(connection_id, me, outcome)
        elif isinstance(request, protocol.Users):
            self._users(connection_id, me, request, outcome)
        elif isinstance(request, protocol.Read):
            self._read(connection_id, me, request, outcome)
        elif isinstance(request, protocol.Typing):
            self._typing(me, request, outcome)
        elif isinstance(request, protocol.Logout):
            self._logout(connection, outcome)

    def _refuse(
        self, connection_id: str, problem: ProtocolError, action: str | None = None
    ) -> Outcome:
        return Outcome(
            frames=[Outgoing(connection_id, problem.frame())],
            code=problem.code,
            action=problem.action or action,
        )

    # accounts and sessions

    def _register(self, connection_id: str, request: protocol.Register, outcome: Outcome) -> None:
        now = self._clock()
        user = User(
            username=request.username,
            password_hash=auth.hash_password(request.password, self.config.scrypt_cost),
            created_at=now,
        )
        if not self.store.create_user(user):
            raise ProtocolError(
                protocol.USERNAME_TAKEN, f"'{request.username}' is taken", "register"
            )
        self._start_session(connection_id, request.username, outcome)

    def _login(self, connection_id: str, request: protocol.Login, outcome: Outcome) -> None:
        now = self._clock()
        user = self.store.get_user(request.username)
        if user is not None and auth.login_throttled(
            user.failed_logins, user.failed_window_start, now
        ):
            raise ProtocolError(
                protocol.RATE_LIMITED,
                "too many failed sign-ins; try again in 15 minutes",
                "login",
            )
        stored_hash = user.password_hash if user is not None else self._dummy()
        if user is None or not auth.verify_password(request.password, stored_hash):
            if user is not None:
                self.store.record_failed_login(user.username, now, auth.LOGIN_FAILURE_WINDOW)
            raise ProtocolError(
                protocol.BAD_CREDENTIALS, "wrong username or password", "login"
            )
        if user.failed_logins:
            self.store.clear_failed_logins(user.username)
        self._start_session(connection_id, user.username, outcome)

    def _dummy(self) -> str:
        if self._dummy_hash is None:
            self._dummy_hash = auth.dummy_hash(self.config.scrypt_cost)
        return self._dummy_hash

    def _resume(self, connection_id: str, request: protocol.Resume, outcome: Outcome) -> None:
        token_hash = auth.token_hash(request.token)
        session = self.store.get_session(token_hash)
        if session is None or session.expires_at <= self._clock():
            raise ProtocolError(
                protocol.BAD_TOKEN, "this session has expired or was signed out", "resume"
            )
        self._bind(connection_id, session.username, token_hash, outcome)
        outcome.frames.append(
            Outgoing(connection_id, protocol.welcome(session.username, request.token))
        )

    def _start_session(self, connection_id: str, username: str, outcome: Outcome) -> None:
        token = self._new_token()
        token_hash = auth.token_hash(token)
        self.store.put_session(
            Session(token_hash, username, self._clock() + auth.SESSION_LIFETIME)
        )
        self._bind(connection_id, username, token_hash, outcome)
        outcome.frames.append(Outgoing(connection_id, protocol.welcome(username, token)))

    def _bind(self, connection_id: str, username: str, token_hash: str, outcome: Outcome) -> None:
        outcome.username = username
        previous = self.store.get_connection(connection_id)
        if previous is not None:
            self._unbind(connection_id, outcome)
        now = self._clock()
        open_connections = self.store.bind_connection(
            Connection(connection_id, username, token_hash, now, now + CONNECTION_LIFETIME)
        )
        if open_connections == {connection_id}:
            self._announce(username, True, outcome)

    def _unbind(self, connection_id: str, outcome: Outcome) -> None:
        unbound = self.store.unbind_connection(connection_id)
        if unbound is None:
            return
        if outcome.username is None:
            outcome.username = unbound.connection.username
        if not unbound.remaining:
            self._announce(unbound.connection.username, False, outcome)

    def _announce(self, username: str, online: bool, outcome: Outcome) -> None:
        partners = [c.other for c in self.store.conversations(username)[:PRESENCE_FANOUT]]
        if not partners:
            return
        frame = protocol.presence(username, online)
        for connections in self.store.connections_of(partners).values():
            outcome.frames.extend(Outgoing(c, frame) for c in sorted(connections))

    def _logout(self, connection: Connection, outcome: Outcome) -> None:
        self.store.delete_session(connection.token_hash)
        self._unbind(connection.connection_id, outcome)
        outcome.frames.append(Outgoing(connection.connection_id, protocol.bye()))

    # messaging

    def _send(self, connection_id: str, me: str, request: protocol.Send, outcome: Outcome) -> None:
        if request.to == me:
            raise ProtocolError(
                protocol.INVALID, "you cannot send a message to yourself", "send", request.client_id
            )
        now = self._clock()
        candidate = Message(
            id=self._message_ids(now),
            sender=me,
            recipient=request.to,
            text=request.text,
            ts=iso_timestamp(now),
            client_id=request.client_id,
        )
        result = self.store.save_message(candidate, IDEMPOTENCY_LIFETIME)
        if result.outcome is SaveOutcome.NO_SUCH_USER:
            raise ProtocolError(
                protocol.NO_SUCH_USER, f"there is no user '{request.to}'", "send", request.client_id
            )
        stored = result.message or candidate
        if result.outcome is SaveOutcome.STORED:
            frame = protocol.message(stored.to_wire())
            self._push(frame, [request.to, me], connection_id, outcome)
        else:
            outcome.code = "duplicate"
        outcome.frames.append(
            Outgoing(connection_id, protocol.ack(request.client_id, stored.id, stored.ts))
        )

    def _push(
        self, frame: dict[str, Any], usernames: list[str], origin: str, outcome: Outcome
    ) -> None:
        """Queue ``frame`` for every open connection of ``usernames`` but ``origin``."""
        for connections in self.store.connections_of(usernames).values():
            outcome.frames.extend(
                Outgoing(c, frame) for c in sorted(connections) if c != origin
            )

    def _history(
        self, connection_id: str, me: str, request: protocol.History, outcome: Outcome
    ) -> None:
        messages, more = self.store.history(me, request.with_, request.before, request.limit)
        outcome.frames.append(
            Outgoing(
                connection_id,
                protocol.history(request.with_, [m.to_wire() for m in messages], more),
            )
        )

    def _conversations(self, connection_id: str, me: str, outcome: Outcome) -> None:
        conversations = self.store.conversations(me)
        partners = [c.other for c in conversations]
        online = self.store.connections_of(partners) if partners else {}
        items = [
            {
                "with": c.other,
                "last": c.last.to_wire(),
                "unread": c.unread,
                "online": bool(online.get(c.other)),
                "their_read_up_to": c.their_read_up_to,
            }
            for c in conversations
        ]
        outcome.frames.append(Outgoing(connection_id, protocol.conversations(items)))

    def _users(
        self, connection_id: str, me: str, request: protocol.Users, outcome: Outcome
    ) -> None:
        found = self.store.search_users(request.query, USERS_LIMIT + 1)
        items = [{"username": name, "online": online} for name, online in found if name != me]
        outcome.frames.append(Outgoing(connection_id, protocol.users(items[:USERS_LIMIT])))

    def _read(self, connection_id: str, me: str, request: protocol.Read, outcome: Outcome) -> None:
        if not self.store.mark_read(me, request.with_, request.up_to):
            raise ProtocolError(
                protocol.INVALID, f"you have no conversation with '{request.with_}'", "read"
            )
        frame = protocol.read(me, request.with_, request.up_to)
        self._push(frame, [request.with_, me], connection_id, outcome)
        outcome.frames.append(Outgoing(connection_id, frame))

    def _typing(self, me: str, request: protocol.Typing, outcome: Outcome) -> None:
        if request.to != me:
            self._push(protocol.typing(me), [request.to], "", outcome)
