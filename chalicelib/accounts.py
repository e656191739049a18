"""Accounts and sessions: the handlers of register, login, resume, logout,
change_password, logout_all and ping, binding a connection to its user (with
the presence it announces) and signing connections out.

No I/O of its own: everything goes through ``turn.store`` and into
``turn.outcome``. Identity comes only from the store's binding, never a frame.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from chalicelib import auth, limits, protocol
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
    if turn.source_ip is not None:
        limits.enforce(
            turn.store, turn.config.limits.register_ip, turn.source_ip, turn.now, "register"
        )
    user = User(
        username=request.username,
        password_hash=auth.hash_password(request.password, turn.config.scrypt_cost),
        created_at=turn.now,
    )
    if not turn.store.create_user(user):
        raise ProtocolError(protocol.USERNAME_TAKEN, f"'{request.username}' is taken", "register")
    _start_session(turn, request.username)


def login(turn: Turn, request: protocol.Login) -> None:
    configured = turn.config.limits
    if turn.source_ip is not None:
        limits.enforce(turn.store, configured.login_ip, turn.source_ip, turn.now, "login")
    # counted before the password is verified, and for unknown usernames alike, so
    # that neither concurrency nor the answer tells more than the limit allows
    limits.enforce(turn.store, configured.login, request.username, turn.now, "login")
    user = _verified(turn, request.username, request.password)
    if user is None:
        raise ProtocolError(protocol.BAD_CREDENTIALS, "wrong username or password", "login")
    _forget_attempts(turn, user.username)
    limits.enforce(turn.store, configured.sign_in, user.username, turn.now, "login")
    _start_session(turn, user.username)


def _verified(turn: Turn, username: str, password: str) -> User | None:
    """The user when ``password`` is theirs. An unknown username is verified
    against the dummy hash, so that it costs the same time as a wrong password."""
    dummy = turn.dummy_hash()
    user = turn.store.get_user(username)
    matches = auth.verify_password(password, user.password_hash if user is not None else dummy)
    return user if matches and user is not None else None


def _forget_attempts(turn: Turn, username: str) -> None:
    if turn.config.limits.login is not None:
        turn.store.clear_hits(turn.config.limits.login.key(username))


def resume(turn: Turn, request: protocol.Resume) -> None:
    token_hash = auth.token_hash(request.token)
    session = turn.store.get_session(token_hash, now=turn.now)
    if session is None or session.expires_at <= turn.now or _revoked(turn, session):
        raise ProtocolError(
            protocol.BAD_TOKEN, "this session has expired or was signed out", "resume"
        )
    limits.enforce(turn.store, turn.config.limits.sign_in, session.username, turn.now, "resume")
    bind(turn, session.username, token_hash)
    turn.reply(protocol.welcome(session.username, request.token))


def _revoked(turn: Turn, session: Session) -> bool:
    """Whether a change_password or logout_all since the session began revoked it."""
    user = turn.store.get_user(session.username)
    return user is None or session.issued_at < user.sessions_valid_from


def logout(turn: Turn, request: protocol.Logout) -> None:
    binding = _binding(turn)
    turn.store.delete_session(binding.token_hash)
    _sign_out(turn, lambda c: c.token_hash == binding.token_hash, protocol.SIGNED_OUT)
    turn.reply(protocol.bye(protocol.SIGNED_OUT))


def change_password(turn: Turn, request: protocol.ChangePassword) -> None:
    binding = _binding(turn)
    me = binding.username
    limits.enforce(turn.store, turn.config.limits.login, me, turn.now, "change_password")
    if _verified(turn, me, request.password) is None:
        raise ProtocolError(protocol.BAD_CREDENTIALS, "wrong password", "change_password")
    _forget_attempts(turn, me)
    # The calling session is re-stamped first, so that it survives the revocation.
    session = turn.store.get_session(binding.token_hash, now=turn.now)
    if session is not None:
        turn.store.put_session(replace(session, issued_at=turn.now))
    new_hash = auth.hash_password(request.new_password, turn.config.scrypt_cost)
    turn.store.set_password(me, new_hash, sessions_valid_from=turn.now)
    _sign_out(turn, lambda c: c.token_hash != binding.token_hash, protocol.PASSWORD_CHANGED)
    turn.reply(protocol.password_changed())


def logout_all(turn: Turn, request: protocol.LogoutAll) -> None:
    binding = _binding(turn)
    turn.store.revoke_sessions(binding.username, valid_from=turn.now)
    turn.store.delete_session(binding.token_hash)
    _sign_out(turn, lambda c: True, protocol.SIGNED_OUT_EVERYWHERE)
    turn.reply(protocol.bye(protocol.SIGNED_OUT_EVERYWHERE))


def _binding(turn: Turn) -> Connection:
    if turn.binding is None:
        raise RuntimeError("handler of an action that needs sign-in ran signed out")
    return turn.binding


def _sign_out(turn: Turn, which: Callable[[Connection], bool], reason: str) -> None:
    """Unbind the caller's user's connections that ``which`` picks, the caller's
    own last (its direct reply is the handler's); each other one gets ``bye``.
    Connections are found through the user's open ones, never by a scan."""
    binding = _binding(turn)
    open_ids = turn.store.connections_of([binding.username], now=turn.now)[binding.username]
    for connection_id in sorted(open_ids - {turn.connection_id}):
        connection = turn.store.get_connection(connection_id, now=turn.now)
        if connection is None or connection.username != binding.username:
            continue
        if which(connection):
            unbind(turn, connection_id)
            turn.outcome.frames.append(Outgoing(connection_id, protocol.bye(reason)))
    if which(binding):
        unbind(turn, turn.connection_id)


def _start_session(turn: Turn, username: str) -> None:
    token = turn.new_token()
    token_hash = auth.token_hash(token)
    turn.store.put_session(
        Session(token_hash, username, turn.now + auth.SESSION_LIFETIME, issued_at=turn.now)
    )
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
