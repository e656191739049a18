"""SQLite implementation of the Store (stdlib sqlite3, WAL): the embedded store
for local runs. One database handle (``Database``) per thread; every write is
one transaction. ``Connection`` is only ever the stored binding record.
"""

from __future__ import annotations

import fcntl
import json
import os
import sqlite3
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, fields, replace
from pathlib import Path
from typing import Any, TypeVar

from chalicelib import rules
from chalicelib.model import (
    Attachment,
    Blocks,
    Connection,
    Conversation,
    Message,
    ReadMark,
    SaveOutcome,
    SaveResult,
    Session,
    Unbound,
    Upload,
    User,
)
from chalicelib.ratelimit import Counts, window_index

SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    username TEXT PRIMARY KEY,
    password_hash TEXT NOT NULL,
    created_at REAL NOT NULL,
    sessions_valid_from REAL NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS sessions (
    token_hash TEXT PRIMARY KEY,
    username TEXT NOT NULL,
    expires_at REAL NOT NULL,
    issued_at REAL NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS connections (
    connection_id TEXT PRIMARY KEY,
    username TEXT NOT NULL,
    token_hash TEXT NOT NULL,
    connected_at REAL NOT NULL,
    expires_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS connections_by_user ON connections (username);
CREATE TABLE IF NOT EXISTS messages (
    conversation TEXT NOT NULL,
    id TEXT NOT NULL,
    sender TEXT NOT NULL,
    recipient TEXT NOT NULL,
    text TEXT NOT NULL,
    ts TEXT NOT NULL,
    client_id TEXT NOT NULL,
    PRIMARY KEY (conversation, id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS sends (
    sender TEXT NOT NULL,
    client_id TEXT NOT NULL,
    conversation TEXT NOT NULL,
    message_id TEXT NOT NULL,
    expires_at REAL NOT NULL,
    PRIMARY KEY (sender, client_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS summaries (
    owner TEXT NOT NULL,
    other TEXT NOT NULL,
    conversation TEXT NOT NULL,
    last_id TEXT NOT NULL,
    unread INTEGER NOT NULL DEFAULT 0,
    read_up_to TEXT NOT NULL DEFAULT '',
    their_read_up_to TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (owner, other)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS hits (
    key TEXT NOT NULL,
    window INTEGER NOT NULL,
    count INTEGER NOT NULL,
    PRIMARY KEY (key, window)
) WITHOUT ROWID;
"""
# columns added to tables of databases created before them (issue 11)
MIGRATIONS = {
    "users": {"sessions_valid_from": "REAL NOT NULL DEFAULT 0"},
    "sessions": {"issued_at": "REAL NOT NULL DEFAULT 0"},
}

# issue 13: the messages' new columns (added to databases made before), reactions, blocks
MESSAGE_COLUMNS_ADDED = {
    "edited_at": "TEXT NOT NULL DEFAULT ''",
    "deleted": "INTEGER NOT NULL DEFAULT 0",
    "withheld": "INTEGER NOT NULL DEFAULT 0",
    # issue 14: the attachment's JSON (id, name, type, size); '' when none
    "attachment": "TEXT NOT NULL DEFAULT ''",
}
SCHEMA_ADDED = """
CREATE INDEX IF NOT EXISTS messages_by_id ON messages (id);
CREATE TABLE IF NOT EXISTS reactions (
    conversation TEXT NOT NULL,
    message_id TEXT NOT NULL,
    username TEXT NOT NULL,
    emoji TEXT NOT NULL,
    PRIMARY KEY (conversation, message_id, username)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS blocks (
    owner TEXT NOT NULL,
    blocked TEXT NOT NULL,
    PRIMARY KEY (owner, blocked)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS blocks_by_blocked ON blocks (blocked);
"""
# issue 14: an upload is attached while ``client_id`` (the send that claimed it) is set
UPLOADS_SCHEMA = """
CREATE TABLE IF NOT EXISTS uploads (
    id TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    name TEXT NOT NULL,
    type TEXT NOT NULL,
    size INTEGER NOT NULL,
    created_at REAL NOT NULL,
    expires_at REAL NOT NULL,
    client_id TEXT NOT NULL DEFAULT ''
) WITHOUT ROWID;
"""

R = TypeVar("R")
# (conversation, message id) pairs per query: 2 parameters each, well under SQLite's 999
_PAIRS_PER_QUERY = 400
# a handle on the database file (not a chat connection)
Database = sqlite3.Connection

# the columns of a message (its reactions are rows of their own)
_MESSAGE_FIELDS = [f.name for f in fields(Message) if f.name != "reactions"]
_MESSAGE_COLUMNS = ", ".join(_MESSAGE_FIELDS)
# a message joined to another table, its columns named m_<field>
_M_COLUMNS = ", ".join(f"m.{name} AS m_{name}" for name in _MESSAGE_FIELDS)
_USER_COLUMNS = ", ".join(f.name for f in fields(User))
_SESSION_COLUMNS = ", ".join(f.name for f in fields(Session))
_CONNECTION_COLUMNS = ", ".join(f.name for f in fields(Connection))
_UPLOAD_COLUMNS = ", ".join(f.name for f in fields(Upload))


def _record(cls: type[R], row: Mapping[str, Any], prefix: str = "") -> R:
    """A record built from the row's columns of the same names (after ``prefix``)."""
    return cls(**{f.name: row[prefix + f.name] for f in fields(cls)})  # type: ignore[arg-type]


def _message(row: Mapping[str, Any], prefix: str = "", reactions: Any = ()) -> Message:
    values = {name: row[prefix + name] for name in _MESSAGE_FIELDS}
    values["deleted"] = bool(values["deleted"])
    values["withheld"] = bool(values["withheld"])
    values["attachment"] = _attachment(values["attachment"])
    return Message(**values, reactions=tuple(reactions))


def _attachment_column(attachment: Attachment | None) -> str:
    return json.dumps(asdict(attachment), ensure_ascii=False) if attachment else ""


def _attachment(column: str) -> Attachment | None:
    return Attachment(**json.loads(column)) if column else None


def _private_file(path: str) -> int:
    """Open ``path`` for appending, creating it readable and writable by its owner only."""
    return os.open(path, os.O_CREAT | os.O_APPEND | os.O_WRONLY, 0o600)


def _migrate(db: Database) -> None:
    for table, columns in MIGRATIONS.items():
        present = {row["name"] for row in db.execute(f"PRAGMA table_info({table})")}
        for name, definition in columns.items():
            if name not in present:
                db.execute(f"ALTER TABLE {table} ADD COLUMN {name} {definition}")


class SQLiteStore:
    def __init__(self, path: str) -> None:
        self.path = path
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        # Writers queue here rather than in SQLite's busy handler, which polls with
        # sleeps of up to 100 ms and so makes a long tail: threads of this process on
        # a lock, then processes (the local gateway's workers) on an flock of a file
        # beside the database, which the kernel hands to the next waiter at once.
        self._write_lock = threading.Lock()
        self._lock_file = os.fdopen(_private_file(f"{path}.lock"), "ab")
        # Processes opening a new database at once would otherwise race to create it:
        # switching to WAL and creating tables fail with "database is locked" rather
        # than wait.
        with self._process_lock():
            # messages and password hashes: readable by their owner only; SQLite gives
            # the -wal and -shm files the database file's permissions
            os.close(_private_file(path))
            db = self._db()
            db.execute("PRAGMA journal_mode=WAL")  # stays set in the file
            db.executescript(SCHEMA)
            _migrate(db)
            present = {row["name"] for row in db.execute("PRAGMA table_info(messages)")}
            for column, declaration in MESSAGE_COLUMNS_ADDED.items():
                if column not in present:
                    db.execute(f"ALTER TABLE messages ADD COLUMN {column} {declaration}")
            db.executescript(SCHEMA_ADDED)
            db.executescript(UPLOADS_SCHEMA)

    # database handles

    def _db(self) -> Database:
        db: Database | None = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(self.path, isolation_level=None, timeout=30)
            db.row_factory = sqlite3.Row
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute("PRAGMA busy_timeout=30000")
            self._local.db = db
        return db

    @contextmanager
    def _process_lock(self) -> Iterator[None]:
        fcntl.flock(self._lock_file, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(self._lock_file, fcntl.LOCK_UN)

    @contextmanager
    def _write(self) -> Iterator[Database]:
        db = self._db()
        with self._write_lock, self._process_lock():
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")

    @contextmanager
    def _read(self) -> Iterator[Database]:
        yield self._db()

    # accounts

    def create_user(self, user: User) -> bool:
        with self._write() as db:
            cursor = db.execute(
                "INSERT OR IGNORE INTO users (username, password_hash, created_at)"
                " VALUES (?, ?, ?)",
                (user.username, user.password_hash, user.created_at),
            )
            return cursor.rowcount == 1

    def get_user(self, username: str) -> User | None:
        with self._read() as db:
            row = db.execute(
                f"SELECT {_USER_COLUMNS} FROM users WHERE username = ?", (username,)
            ).fetchone()
        return _record(User, row) if row else None

    def search_users(self, prefix: str, limit: int, *, now: float) -> list[tuple[str, bool]]:
        escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        with self._read() as db:
            rows = db.execute(
                "SELECT u.username, EXISTS (SELECT 1 FROM connections c"
                "  WHERE c.username = u.username AND c.expires_at > ?)"
                " FROM users u WHERE u.username LIKE ? ESCAPE '\\'"
                " ORDER BY u.username LIMIT ?",
                (now, escaped + "%", limit),
            ).fetchall()
        return [(name, bool(online)) for name, online in rows]

    # sessions

    def put_session(self, session: Session) -> None:
        with self._write() as db:
            db.execute(
                f"INSERT OR REPLACE INTO sessions ({_SESSION_COLUMNS}) VALUES (?, ?, ?, ?)",
                (session.token_hash, session.username, session.expires_at, session.issued_at),
            )

    def get_session(self, token_hash: str, *, now: float) -> Session | None:
        with self._read() as db:
            row = db.execute(
                f"SELECT {_SESSION_COLUMNS} FROM sessions"
                " WHERE token_hash = ? AND expires_at > ?",
                (token_hash, now),
            ).fetchone()
        return _record(Session, row) if row else None

    def delete_session(self, token_hash: str) -> None:
        with self._write() as db:
            db.execute("DELETE FROM sessions WHERE token_hash = ?", (token_hash,))

    # connections

    def bind_connection(self, connection: Connection, *, now: float) -> frozenset[str]:
        with self._write() as db:
            db.execute(
                f"INSERT OR REPLACE INTO connections ({_CONNECTION_COLUMNS})"
                " VALUES (?, ?, ?, ?, ?)",
                (
                    connection.connection_id,
                    connection.username,
                    connection.token_hash,
                    connection.connected_at,
                    connection.expires_at,
                ),
            )
            return self._open_connections(db, connection.username, now)

    def _open_connections(
        self, db: Database, username: str, now: float
    ) -> frozenset[str]:
        rows = db.execute(
            "SELECT connection_id FROM connections WHERE username = ? AND expires_at > ?",
            (username, now),
        ).fetchall()
        return frozenset(row["connection_id"] for row in rows)

    def get_connection(self, connection_id: str, *, now: float) -> Connection | None:
        with self._read() as db:
            row = db.execute(
                f"SELECT {_CONNECTION_COLUMNS} FROM connections"
                " WHERE connection_id = ? AND expires_at > ?",
                (connection_id, now),
            ).fetchone()
        return _record(Connection, row) if row else None

    def unbind_connection(self, connection_id: str, *, now: float) -> Unbound | None:
        with self._write() as db:
            row = db.execute(
                "DELETE FROM connections WHERE connection_id = ?"
                f" RETURNING {_CONNECTION_COLUMNS}",
                (connection_id,),
            ).fetchone()
            if row is None:
                return None
            connection = _record(Connection, row)
            return Unbound(connection, self._open_connections(db, connection.username, now))

    def connections_of(
        self, usernames: list[str], *, now: float
    ) -> dict[str, frozenset[str]]:
        found: dict[str, set[str]] = {name: set() for name in usernames}
        if not usernames:
            return {}
        marks = ",".join("?" * len(found))
        with self._read() as db:
            rows = db.execute(
                f"SELECT username, connection_id FROM connections"
                f" WHERE username IN ({marks}) AND expires_at > ?",
                (*found, now),
            ).fetchall()
        for row in rows:
            found[row["username"]].add(row["connection_id"])
        return {name: frozenset(ids) for name, ids in found.items()}

    # messages

    def save_message(
        self, message: Message, idempotency_ttl: float, *, now: float
    ) -> SaveResult:
        conversation = rules.conversation_key(message.sender, message.recipient)
        with self._write() as db:
            earlier = db.execute(
                f"SELECT {_M_COLUMNS} FROM sends s JOIN messages m"
                " ON m.conversation = s.conversation AND m.id = s.message_id"
                " WHERE s.sender = ? AND s.client_id = ? AND s.expires_at > ?",
                (message.sender, message.client_id, now),
            ).fetchone()
            if earlier is not None:
                return SaveResult(SaveOutcome.DUPLICATE, _message(earlier, "m_"))
            exists = db.execute(
                "SELECT 1 FROM users WHERE username = ?", (message.recipient,)
            ).fetchone()
            if exists is None:
                return SaveResult(SaveOutcome.NO_SUCH_USER)
            if db.execute(
                "SELECT 1 FROM blocks WHERE owner = ? AND blocked = ?",
                (message.recipient, message.sender),
            ).fetchone():
                message = replace(message, withheld=True)
            db.execute(
                "INSERT INTO messages (conversation, id, sender, recipient, text, ts,"
                " client_id, withheld, attachment) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    conversation,
                    message.id,
                    message.sender,
                    message.recipient,
                    message.text,
                    message.ts,
                    message.client_id,
                    int(message.withheld),
                    _attachment_column(message.attachment),
                ),
            )
            db.execute(
                "INSERT OR REPLACE INTO sends"
                " (sender, client_id, conversation, message_id, expires_at)"
                " VALUES (?, ?, ?, ?, ?)",
                (message.sender, message.client_id, conversation, message.id,
                 now + idempotency_ttl),
            )
            for owner, other, unread in (
                (message.sender, message.recipient, 0),
                (message.recipient, message.sender, 1),
            ):
                if message.withheld and owner == message.recipient:
                    continue
                db.execute(
                    "INSERT INTO summaries (owner, other, conversation, last_id, unread)"
                    " VALUES (?, ?, ?, ?, ?)"
                    " ON CONFLICT (owner, other) DO UPDATE SET"
                    " last_id = max(last_id, excluded.last_id),"
                    " unread = unread + excluded.unread",
                    (owner, other, conversation, message.id, unread),
                )
        return SaveResult(SaveOutcome.STORED, message)

    def history(
        self, a: str, b: str, before: str | None, limit: int
    ) -> tuple[list[Message], bool]:
        with self._read() as db:
            rows = db.execute(
                f"SELECT {_MESSAGE_COLUMNS} FROM messages"
                " WHERE conversation = ? AND id < ? AND NOT (withheld AND recipient = ?)"
                " ORDER BY id DESC LIMIT ?",
                (
                    rules.conversation_key(a, b),
                    before or "\U0010ffff",
                    a,
                    rules.history_fetch_size(limit),
                ),
            ).fetchall()
            reactions = self._reactions(db, rules.conversation_key(a, b), [r["id"] for r in rows])
        messages = [_message(row, reactions=reactions.get(row["id"], ())) for row in rows]
        return rules.history_page(messages, limit)

    def conversations(self, username: str) -> list[Conversation]:
        return self._conversations(username, None, None)

    def _conversations(
        self, username: str, before: str | None, fetch: int | None
    ) -> list[Conversation]:
        """The user's conversations with a last message id < ``before``, newest first,
        at most ``fetch`` of them (None: all)."""
        with self._read() as db:
            rows = db.execute(
                "SELECT s.other, s.unread, s.read_up_to, s.their_read_up_to, s.conversation,"
                f" {_M_COLUMNS}"
                " FROM summaries s JOIN messages m"
                " ON m.conversation = s.conversation AND m.id = s.last_id"
                " WHERE s.owner = ? AND s.last_id < ? ORDER BY s.last_id DESC LIMIT ?",
                (username, before or "\U0010ffff", -1 if fetch is None else fetch),
            ).fetchall()
            reactions = self._last_reactions(db, [(r["conversation"], r["m_id"]) for r in rows])
        return [
            Conversation(
                other=row["other"],
                last=_message(row, "m_", reactions.get((row["conversation"], row["m_id"]), ())),
                unread=row["unread"],
                read_up_to=row["read_up_to"],
                their_read_up_to=row["their_read_up_to"],
            )
            for row in rows
        ]

    def mark_read(self, username: str, other: str, up_to: str) -> ReadMark | None:
        with self._write() as db:
            row = db.execute(
                "SELECT conversation, read_up_to, last_id FROM summaries"
                " WHERE owner = ? AND other = ?",
                (username, other),
            ).fetchone()
            if row is None:
                return None
            conversation = row["conversation"]
            pointer = rules.read_pointer(row["read_up_to"], up_to, row["last_id"])
            unread = db.execute(
                "SELECT count(*) AS unread FROM messages"
                " WHERE conversation = ? AND sender = ? AND id > ? AND NOT withheld",
                (conversation, other, pointer),
            ).fetchone()["unread"]
            db.execute(
                "UPDATE summaries SET read_up_to = ?, unread = ? WHERE owner = ? AND other = ?",
                (pointer, unread, username, other),
            )
            db.execute(
                "UPDATE summaries SET their_read_up_to = max(their_read_up_to, ?)"
                " WHERE owner = ? AND other = ?",
                (pointer, other, username),
            )
        return ReadMark(pointer, pointer != row["read_up_to"])

    def conversations_page(
        self, username: str, before: str | None, limit: int
    ) -> tuple[list[Conversation], bool]:
        found = self._conversations(username, before, rules.history_fetch_size(limit))
        return rules.conversation_page(found, before, limit)

    # sessions ended per user, rate limits

    def set_password(
        self, username: str, password_hash: str, *, sessions_valid_from: float
    ) -> None:
        with self._write() as db:
            db.execute(
                "UPDATE users SET password_hash = ?, sessions_valid_from = ? WHERE username = ?",
                (password_hash, sessions_valid_from, username),
            )

    def revoke_sessions(self, username: str, *, valid_from: float) -> None:
        with self._write() as db:
            db.execute(
                "UPDATE users SET sessions_valid_from = ? WHERE username = ?",
                (valid_from, username),
            )

    def hit(self, key: str, now: float, window: float) -> Counts:
        index = window_index(now, window)
        with self._write() as db:
            db.execute("DELETE FROM hits WHERE key = ? AND window < ?", (key, index - 1))
            db.execute(
                "INSERT INTO hits (key, window, count) VALUES (?, ?, 1)"
                " ON CONFLICT (key, window) DO UPDATE SET count = count + 1",
                (key, index),
            )
            rows = db.execute(
                "SELECT window, count FROM hits WHERE key = ? AND window >= ?", (key, index - 1)
            ).fetchall()
        counts = {row["window"]: row["count"] for row in rows}
        return Counts(counts.get(index, 0), counts.get(index - 1, 0))

    def clear_hits(self, key: str) -> None:
        with self._write() as db:
            db.execute("DELETE FROM hits WHERE key = ?", (key,))

    # edit, delete, react, block (issue 13)

    @staticmethod
    def _reactions(
        db: Database, conversation: str, message_ids: list[str]
    ) -> dict[str, list[tuple[str, str]]]:
        """message id -> its (username, emoji) reactions, by username."""
        found: dict[str, list[tuple[str, str]]] = {}
        if not message_ids:
            return found
        marks = ",".join("?" * len(message_ids))
        rows = db.execute(
            "SELECT message_id, username, emoji FROM reactions"
            f" WHERE conversation = ? AND message_id IN ({marks}) ORDER BY username",
            (conversation, *message_ids),
        ).fetchall()
        for row in rows:
            found.setdefault(row["message_id"], []).append((row["username"], row["emoji"]))
        return found

    @staticmethod
    def _last_reactions(
        db: Database, messages: list[tuple[str, str]]
    ) -> dict[tuple[str, str], list[tuple[str, str]]]:
        """(conversation, message id) -> its reactions, by username: one query per
        page of last messages (in chunks, under SQLite's bound on parameters)."""
        found: dict[tuple[str, str], list[tuple[str, str]]] = {}
        for start in range(0, len(messages), _PAIRS_PER_QUERY):
            chunk = messages[start : start + _PAIRS_PER_QUERY]
            pairs = ",".join("(?, ?)" for _ in chunk)
            rows = db.execute(
                "SELECT conversation, message_id, username, emoji FROM reactions"
                f" WHERE (conversation, message_id) IN (VALUES {pairs}) ORDER BY username",
                [value for pair in chunk for value in pair],
            ).fetchall()
            for row in rows:
                key = (row["conversation"], row["message_id"])
                found.setdefault(key, []).append((row["username"], row["emoji"]))
        return found

    def _stored(self, db: Database, message: Message) -> Message | None:
        conversation = rules.conversation_key(message.sender, message.recipient)
        row = db.execute(
            f"SELECT {_MESSAGE_COLUMNS} FROM messages WHERE conversation = ? AND id = ?",
            (conversation, message.id),
        ).fetchone()
        if row is None:
            return None
        reactions = self._reactions(db, conversation, [message.id]).get(message.id, ())
        return _message(row, reactions=reactions)

    def find_message(self, username: str, message_id: str) -> Message | None:
        with self._read() as db:
            row = db.execute(
                f"SELECT {_MESSAGE_COLUMNS} FROM messages WHERE id = ?"
                " AND (sender = ? OR (recipient = ? AND NOT withheld))",
                (message_id, username, username),
            ).fetchone()
            return self._stored(db, _message(row)) if row else None

    def edit_message(self, message: Message, text: str, edited_at: str) -> Message | None:
        conversation = rules.conversation_key(message.sender, message.recipient)
        with self._write() as db:
            cursor = db.execute(
                "UPDATE messages SET text = ?, edited_at = ?"
                " WHERE conversation = ? AND id = ? AND NOT deleted",
                (text, edited_at, conversation, message.id),
            )
            return self._stored(db, message) if cursor.rowcount else None

    def delete_message(self, message: Message) -> Message:
        conversation = rules.conversation_key(message.sender, message.recipient)
        with self._write() as db:
            db.execute(
                "UPDATE messages SET text = '', deleted = 1, attachment = ''"
                " WHERE conversation = ? AND id = ?",
                (conversation, message.id),
            )
            db.execute(
                "DELETE FROM reactions WHERE conversation = ? AND message_id = ?",
                (conversation, message.id),
            )
            stored = self._stored(db, message)
        return stored or replace(
            message, text="", deleted=True, reactions=(), attachment=None
        )

    def set_reaction(self, message: Message, username: str, emoji: str) -> Message | None:
        conversation = rules.conversation_key(message.sender, message.recipient)
        with self._write() as db:
            stored = self._stored(db, message)
            if stored is None or stored.deleted:
                return None
            if emoji:
                db.execute(
                    "INSERT OR REPLACE INTO reactions (conversation, message_id, username, emoji)"
                    " VALUES (?, ?, ?, ?)",
                    (conversation, message.id, username, emoji),
                )
            else:
                db.execute(
                    "DELETE FROM reactions"
                    " WHERE conversation = ? AND message_id = ? AND username = ?",
                    (conversation, message.id, username),
                )
            return self._stored(db, message)

    def block(self, owner: str, other: str) -> bool:
        with self._write() as db:
            if db.execute("SELECT 1 FROM users WHERE username = ?", (other,)).fetchone() is None:
                return False
            db.execute(
                "INSERT OR IGNORE INTO blocks (owner, blocked) VALUES (?, ?)", (owner, other)
            )
        return True

    def unblock(self, owner: str, other: str) -> None:
        with self._write() as db:
            db.execute("DELETE FROM blocks WHERE owner = ? AND blocked = ?", (owner, other))

    def blocks_of(self, username: str) -> Blocks:
        with self._read() as db:
            rows = db.execute(
                "SELECT owner, blocked FROM blocks WHERE owner = ? OR blocked = ?",
                (username, username),
            ).fetchall()
        return Blocks(
            frozenset(r["blocked"] for r in rows if r["owner"] == username),
            frozenset(r["owner"] for r in rows if r["blocked"] == username),
        )

    def reachable(
        self, sender: str, usernames: list[str], *, now: float
    ) -> dict[str, frozenset[str]]:
        blocks = self.blocks_of(sender)
        found = self.connections_of(usernames, now=now)
        return {n: frozenset() if blocks.either_way(n) else c for n, c in found.items()}

    # attachments (issue 14)

    def put_upload(self, upload: Upload) -> None:
        with self._write() as db:
            db.execute(
                f"INSERT OR REPLACE INTO uploads ({_UPLOAD_COLUMNS})"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    upload.id,
                    upload.owner,
                    upload.name,
                    upload.type,
                    upload.size,
                    upload.created_at,
                    upload.expires_at,
                    upload.client_id,
                ),
            )

    def get_upload(self, upload_id: str, *, now: float) -> Upload | None:
        with self._read() as db:
            row = db.execute(
                f"SELECT {_UPLOAD_COLUMNS} FROM uploads"
                " WHERE id = ? AND (client_id != '' OR expires_at > ?)",
                (upload_id, now),
            ).fetchone()
        return _record(Upload, row) if row else None

    def claim_upload(
        self, upload_id: str, owner: str, client_id: str, *, now: float
    ) -> Upload | None:
        if not client_id:
            return None  # "" would mean unattached
        with self._write() as db:
            row = db.execute(
                "UPDATE uploads SET client_id = ?"
                " WHERE id = ? AND owner = ?"
                " AND ((client_id = '' AND expires_at > ?) OR client_id = ?)"
                f" RETURNING {_UPLOAD_COLUMNS}",
                (client_id, upload_id, owner, now, client_id),
            ).fetchone()
        return _record(Upload, row) if row else None

    def release_upload(self, upload_id: str, client_id: str, *, expires_at: float) -> None:
        if not client_id:
            return
        with self._write() as db:
            db.execute(
                "UPDATE uploads SET client_id = '', expires_at = ?"
                " WHERE id = ? AND client_id = ?",
                (expires_at, upload_id, client_id),
            )

    def delete_upload(self, upload_id: str) -> None:
        with self._write() as db:
            db.execute("DELETE FROM uploads WHERE id = ?", (upload_id,))
