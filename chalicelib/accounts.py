"""Accounts and sessions: the handlers of register, login, resume, logout and
ping, and binding a connection to its user (with the presence it announces).

No I/O of its own: everything goes through ``turn.store`` and into
``turn.outcome``. Identity comes only from the store's binding, never a frame.
"""

from __future__ import annotations

from chalicelib import auth, protocol
from chalicelib.model import Connection, Session, User
from chalicelib.protocol import ProtocolError
from chalicelib.turn import Outgoing, Turn

# API Gateway closes every WebSocket connection after two hours.
CONNECTION_LIFETIME = 2 * 3600
# presence is pushed to the people of at most this many recent conversations
PRESENCE_FANOUT = 100


def ping(turn: Turn, request: protocol.Ping) -> None:
    turn.reply(protocol.pong())


def register(turn: Turn, request: protocol.Register) -> None:
    user = User(
        username=request.username,
        password_hash=auth.hash_password(request.password, turn.config.scrypt_cost),
        created_at=turn.now,
    )
    if not turn.store.create_user(user):
        raise ProtocolError(protocol.USERNAME_TAKEN, f"'{request.username}' is taken", "register")
    _start_session(turn, request.username)


def login(turn: Turn, request: protocol.Login) -> None:
    user = turn.store.get_user(request.username)
    if user is not None and auth.login_throttled(
        user.failed_logins, user.failed_window_start, turn.now
    ):
        raise ProtocolError(
            protocol.RATE_LIMITED, "too many failed sign-ins; try again in 15 minutes", "login"
        )
    stored_hash = user.password_hash if user is not None else turn.dummy_hash()
    if user is None or not auth.verify_password(request.password, stored_hash):
        if user is not None:
            turn.store.record_failed_login(user.username, turn.now, auth.LOGIN_FAILURE_WINDOW)
        raise ProtocolError(protocol.BAD_CREDENTIALS, "wrong username or password", "login")
    if user.failed_logins:
        turn.store.clear_failed_logins(user.username)
    _start_session(turn, user.username)


def resume(turn: Turn, request: protocol.Resume) -> None:
    token_hash = auth.token_hash(request.token)
    session = turn.store.get_session(token_hash, now=turn.now)
    if session is None or session.expires_at <= turn.now:
        raise ProtocolError(
            protocol.BAD_TOKEN, "this session has expired or was signed out", "resume"
        )
    bind(turn, session.username, token_hash)
    turn.reply(protocol.welcome(session.username, request.token))


def logout(turn: Turn, request: protocol.Logout) -> None:
    binding = turn.binding
    assert binding is not None  # logout needs sign-in
    turn.store.delete_session(binding.token_hash)
    unbind(turn, binding.connection_id)
    turn.reply(protocol.bye())


def _start_session(turn: Turn, username: str) -> None:
    token = turn.new_token()
    token_hash = auth.token_hash(token)
    turn.store.put_session(Session(token_hash, username, turn.now + auth.SESSION_LIFETIME))
    bind(turn, username, token_hash)
    turn.reply(protocol.welcome(username, token))


def bind(turn: Turn, username: str, token_hash: str) -> None:
    """Bind the caller's connection to ``username`` (after unbinding any earlier
    user); announces the user online when this is their first connection."""
    turn.outcome.username = username
    connection_id = turn.connection_id
    if turn.store.get_connection(connection_id, now=turn.now) is not None:
        unbind(turn, connection_id)
    binding = Connection(
        connection_id, username, token_hash, turn.now, turn.now + CONNECTION_LIFETIME
    )
    open_connections = turn.store.bind_connection(binding, now=turn.now)
    if open_connections == {connection_id}:
        _announce(turn, username, True)


def unbind(turn: Turn, connection_id: str) -> None:
    """Forget a connection's binding; announces the user offline when it was
    their last connection."""
    unbound = turn.store.unbind_connection(connection_id, now=turn.now)
    if unbound is None:
        return
    if turn.outcome.username is None:
        turn.outcome.username = unbound.connection.username
    if not unbound.remaining:
        _announce(turn, unbound.connection.username, False)


def _announce(turn: Turn, username: str, online: bool) -> None:
    partners = [c.other for c in turn.store.conversations(username)[:PRESENCE_FANOUT]]
    if not partners:
        return
    frame = protocol.presence(username, online)
    # no presence passes a block, either way
    for connections in turn.store.reachable(username, partners, now=turn.now).values():
        turn.outcome.frames.extend(Outgoing(c, frame) for c in sorted(connections))
