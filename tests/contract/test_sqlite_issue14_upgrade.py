"""A SQLite database made before issue 14 (messages without the attachment column,
no uploads table) opens, keeps its messages, and takes attachments and uploads."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from pathlib import Path

from chalicelib.model import Attachment, Message, SaveOutcome, Upload
from chalicelib.store.sqlite import SCHEMA, SCHEMA_ADDED, SQLiteStore

MESSAGE_ID = "01KAYZ8Q7R5M6W1X2Y3Z4A5B6C"


def make_issue13_database(path: Path) -> None:
    old = sqlite3.connect(path)
    old.executescript(SCHEMA)
    for column, declaration in (
        ("edited_at", "TEXT NOT NULL DEFAULT ''"),
        ("deleted", "INTEGER NOT NULL DEFAULT 0"),
        ("withheld", "INTEGER NOT NULL DEFAULT 0"),
    ):
        old.execute(f"ALTER TABLE messages ADD COLUMN {column} {declaration}")
    old.executescript(SCHEMA_ADDED)
    old.executemany(
        "INSERT INTO users (username, password_hash, created_at) VALUES (?, 'h', 0)",
        [("alice",), ("bob",)],
    )
    old.execute(
        "INSERT INTO messages (conversation, id, sender, recipient, text, ts, client_id,"
        " edited_at) VALUES ('alice#bob', ?, 'alice', 'bob', 'hi', '2026-11-25T17:10:05.123Z',"
        " 'c1', '2026-11-25T17:11:00.000Z')",
        (MESSAGE_ID,),
    )
    old.execute(
        "INSERT INTO reactions (conversation, message_id, username, emoji)"
        " VALUES ('alice#bob', ?, 'bob', '👍')",
        (MESSAGE_ID,),
    )
    old.execute(
        "INSERT INTO summaries (owner, other, conversation, last_id, unread) VALUES"
        " ('alice', 'bob', 'alice#bob', ?, 0), ('bob', 'alice', 'alice#bob', ?, 1)",
        (MESSAGE_ID, MESSAGE_ID),
    )
    old.commit()
    old.close()


def test_an_issue13_database_is_upgraded_in_place(tmp_path: Path) -> None:
    path = tmp_path / "chat.db"
    make_issue13_database(path)

    store = SQLiteStore(str(path))
    (message,), _ = store.history("bob", "alice", None, 10)
    assert message == Message(MESSAGE_ID, "alice", "bob", "hi", "2026-11-25T17:10:05.123Z",
                              "c1", edited_at="2026-11-25T17:11:00.000Z",
                              reactions=(("bob", "👍"),))
    assert store.find_message("alice", MESSAGE_ID) == message
    assert store.conversations("bob")[0].last == message

    attachment = Attachment("up-1", "cat.png", "image/png", 12345)
    store.put_upload(Upload("up-1", "bob", "cat.png", "image/png", 12345, 0.0, 100.0))
    assert store.claim_upload("up-1", "bob", "c2", now=50.0) is not None
    reply = Message("01KAYZ8Q7R5M6W1X2Y3Z4A5B6D", "bob", "alice", "", "2026-11-25T17:12:00.000Z",
                    "c2", attachment=attachment)
    assert store.save_message(reply, 3600, now=50.0).outcome is SaveOutcome.STORED
    assert store.conversations("alice")[0].last == reply
    assert store.delete_message(message).attachment is None

    SQLiteStore(str(path))  # opening again changes nothing
    assert SQLiteStore(str(path)).history("alice", "bob", None, 10)[0] == [
        replace(message, text="", deleted=True, reactions=()), reply
    ]
    assert store.get_upload("up-1", now=10**9) == Upload(
        "up-1", "bob", "cat.png", "image/png", 12345, 0.0, 100.0, "c2"
    )
