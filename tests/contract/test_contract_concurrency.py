"""Store contract under concurrent sends from threads: nothing lost, nothing twice."""

from __future__ import annotations

import secrets
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from chalicelib.ids import iso_timestamp, message_id
from chalicelib.model import Message, SaveOutcome, SaveResult, Store, User
from tests.contract.helpers import now

THREADS = 6
SENDS_PER_THREAD = 12
SHARED_CLIENT_IDS = 6


def _message(sender: str, recipient: str, client_id: str) -> Message:
    now = time.time()
    return Message(
        message_id(now, secrets.randbits(80)),
        sender,
        recipient,
        f"{sender}:{client_id}",
        iso_timestamp(now),
        client_id,
    )


def _all_history(store: Store, a: str, b: str) -> list[Message]:
    messages: list[Message] = []
    before = None
    while True:
        page, more = store.history(a, b, before, 100)
        messages = page + messages
        if not more:
            return messages
        before = page[0].id


def test_concurrent_sends_in_one_conversation(make_store: Callable[[], Store]) -> None:
    stores = [make_store() for _ in range(3)]
    for name in ("alice", "bob"):
        assert stores[0].create_user(User(name, "h", 0.0))
    start = threading.Barrier(THREADS)
    results: list[tuple[Message, SaveResult]] = []
    lock = threading.Lock()

    def run(worker: int) -> None:
        store = stores[worker % len(stores)]
        start.wait()
        for i in range(SENDS_PER_THREAD):
            sender, recipient = ("alice", "bob") if (worker + i) % 2 else ("bob", "alice")
            # every thread also races every other on the same alice client_ids
            client_id = f"shared-{i}" if i < SHARED_CLIENT_IDS else f"w{worker}-{i}"
            if client_id.startswith("shared"):
                sender, recipient = "alice", "bob"
            message = _message(sender, recipient, client_id)
            result = store.save_message(message, 3600, now=now())
            with lock:
                results.append((message, result))

    with ThreadPoolExecutor(THREADS) as pool:
        list(pool.map(run, range(THREADS)))

    outcomes = Counter(result.outcome for _, result in results)
    unique = THREADS * (SENDS_PER_THREAD - SHARED_CLIENT_IDS)
    assert outcomes == {
        SaveOutcome.STORED: unique + SHARED_CLIENT_IDS,
        SaveOutcome.DUPLICATE: (THREADS - 1) * SHARED_CLIENT_IDS,
    }
    stored = {m.id: m for m, r in results if r.outcome is SaveOutcome.STORED}
    # every duplicate answers with the one stored message of its client_id
    for message, result in results:
        if result.outcome is SaveOutcome.DUPLICATE:
            assert result.message is not None
            assert result.message.client_id == message.client_id
            assert stored[result.message.id] == result.message

    history = _all_history(stores[0], "alice", "bob")
    assert [m.id for m in history] == sorted(stored)
    assert {m.id: m for m in history} == stored

    to_bob = sum(1 for m in stored.values() if m.recipient == "bob")
    to_alice = len(stored) - to_bob
    newest = stored[max(stored)]
    alice, bob = stores[0].conversations("alice"), stores[0].conversations("bob")
    assert [(c.other, c.last, c.unread) for c in alice] == [("bob", newest, to_alice)]
    assert [(c.other, c.last, c.unread) for c in bob] == [("alice", newest, to_bob)]


def test_mark_read_racing_new_messages_keeps_unread_exact(
    make_store: Callable[[], Store],
) -> None:
    """A message that lands between mark_read's count and its write must still count."""
    reader, writer = make_store(), make_store()
    for name in ("alice", "bob"):
        assert reader.create_user(User(name, "h", 0.0))
    first = _message("alice", "bob", "first")
    writer.save_message(first, 3600, now=now())
    time.sleep(0.002)  # every later id is in a later millisecond, so above ``first``
    sent = [first]
    done = threading.Event()

    def write() -> None:
        for i in range(25):
            message = _message("alice", "bob", f"m{i}")
            writer.save_message(message, 3600, now=now())
            sent.append(message)
        done.set()

    thread = threading.Thread(target=write)
    thread.start()
    while True:  # at least once, even when the writer finishes first
        finished = done.is_set()
        assert reader.mark_read("bob", "alice", first.id)
        if finished:
            break
    thread.join()
    summary = reader.conversations("bob")[0]
    assert summary.read_up_to == first.id
    assert summary.unread == len(sent) - 1
