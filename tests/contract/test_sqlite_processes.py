"""The SQLite store shared by several processes, as the local gateway's handler workers
share it: opening a new database at once, and writing at once, never fail."""

from __future__ import annotations

import multiprocessing
from pathlib import Path
from typing import Any

from chalicelib.ids import MessageIds, iso_timestamp
from chalicelib.model import Message, SaveOutcome, User
from chalicelib.store.sqlite import SQLiteStore

PROCESSES = 4
SENDS = 50


def _open_and_send(path: str, sender: str, barrier: Any, results: Any) -> None:
    try:
        barrier.wait(timeout=30)
        store = SQLiteStore(path)  # every process creates the new database at once
        store.create_user(User(sender, "x", 0.0))
        store.create_user(User("bob", "x", 0.0))  # False for all but one: no matter
        ids = MessageIds()
        for i in range(SENDS):
            now = 1_800_000_000.0 + i
            saved = store.save_message(
                Message(ids(now), sender, "bob", f"m{i}", iso_timestamp(now), f"{sender}-{i}"),
                3600, now=now,
            )
            assert saved.outcome is SaveOutcome.STORED
        results.put(None)
    except BaseException as error:  # reported to the test, not lost in the child
        results.put(repr(error))


def test_processes_open_and_write_one_new_database_at_once(tmp_path: Path) -> None:
    context = multiprocessing.get_context("spawn")
    for attempt in range(3):
        path = str(tmp_path / f"chat-{attempt}.db")
        barrier, results = context.Barrier(PROCESSES + 1), context.Queue()
        workers = [
            context.Process(target=_open_and_send, args=(path, f"s{n}", barrier, results))
            for n in range(PROCESSES)
        ]
        for worker in workers:
            worker.start()
        barrier.wait(timeout=30)
        outcomes = [results.get(timeout=60) for _ in workers]
        for worker in workers:
            worker.join(timeout=10)
        assert outcomes == [None] * PROCESSES
        store = SQLiteStore(path)
        for n in range(PROCESSES):
            messages, more = store.history(f"s{n}", "bob", None, 100)
            assert [m.text for m in messages] == [f"m{i}" for i in range(SENDS)]
            assert not more


def test_the_database_files_are_private(tmp_path: Path) -> None:
    from chalicelib.store.sqlite import SQLiteStore

    path = tmp_path / "chat.db"
    SQLiteStore(str(path))
    files = sorted(tmp_path.iterdir())
    assert {f.name for f in files} >= {"chat.db", "chat.db.lock", "chat.db-wal", "chat.db-shm"}
    assert {f.name: f.stat().st_mode & 0o777 for f in files} == {f.name: 0o600 for f in files}
