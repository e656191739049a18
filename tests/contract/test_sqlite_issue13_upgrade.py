"""A SQLite database made before issue 13 (messages without edit, tombstone and
withheld columns; no reactions or blocks tables) opens, keeps its messages, and
takes edits, reactions and blocks."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from chalicelib.store.sqlite import SCHEMA, SQLiteStore


def test_an_older_database_is_upgraded_in_place(tmp_path: Path) -> None:
    path = tmp_path / "chat.db"
    old = sqlite3.connect(path)
    old.executescript(SCHEMA)  # the tables as they were: the upgrade adds to them
    old.executemany(
        "INSERT INTO users (username, password_hash, created_at) VALUES (?, 'h', 0)",
        [("alice",), ("bob",)],
    )
    old.execute(
        "INSERT INTO messages (conversation, id, sender, recipient, text, ts, client_id)"
        " VALUES ('alice#bob', '01KAYZ8Q7R5M6W1X2Y3Z4A5B6C', 'alice', 'bob', 'hi',"
        " '2026-11-25T17:10:05.123Z', 'c1')"
    )
    old.execute(
        "INSERT INTO summaries (owner, other, conversation, last_id, unread) VALUES"
        " ('alice', 'bob', 'alice#bob', '01KAYZ8Q7R5M6W1X2Y3Z4A5B6C', 0),"
        " ('bob', 'alice', 'alice#bob', '01KAYZ8Q7R5M6W1X2Y3Z4A5B6C', 1)"
    )
    old.commit()
    old.close()

    store = SQLiteStore(str(path))
    (message,), _ = store.history("bob", "alice", None, 10)
    assert message.text == "hi" and not message.deleted and message.reactions == ()
    found = store.find_message("bob", message.id)
    assert found == message
    assert store.edit_message(message, "hello", "2026-11-25T17:11:00.000Z") is not None
    assert store.set_reaction(message, "bob", "👍") is not None
    (conversation,) = store.conversations("bob")
    assert conversation.last.text == "hello" and conversation.last.reactions == (("bob", "👍"),)
    assert store.block("bob", "alice")
    assert store.blocks_of("alice").blocked_by == frozenset({"bob"})
    SQLiteStore(str(path))  # opening again changes nothing
