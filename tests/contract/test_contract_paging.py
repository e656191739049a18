"""Store contract (issue 11): ``conversations_page`` (newest first, by ``before``
and ``limit``) and ``mark_read`` clamped to the conversation's last message,
telling whether it advanced — on every store."""

from __future__ import annotations

import threading

from chalicelib.model import ReadMark, Store
from tests.contract.helpers import Factory


def test_conversations_page_by_before_and_limit(store: Store, factory: Factory) -> None:
    others = [f"user{n:02d}" for n in range(7)]
    factory.users("alice", *others)
    for other in others:
        factory.send(other, "alice")
    factory.send("alice", others[2])  # user02 becomes the newest
    everything = store.conversations("alice")
    assert [c.other for c in everything][:2] == ["user02", "user06"]

    first, more = store.conversations_page("alice", None, 3)
    assert first == everything[:3] and more is True
    second, more = store.conversations_page("alice", first[-1].last.id, 3)
    assert second == everything[3:6] and more is True
    third, more = store.conversations_page("alice", second[-1].last.id, 3)
    assert third == everything[6:] and more is False
    assert store.conversations_page("alice", None, 7) == (everything, False)
    assert store.conversations_page("alice", None, 100) == (everything, False)
    assert store.conversations_page("nobody", None, 10) == ([], False)


def test_mark_read_is_clamped_to_the_last_message(store: Store, factory: Factory) -> None:
    factory.users("alice", "bob")
    received = [factory.send("alice", "bob") for _ in range(2)]
    future = "7ZZZZZZZZZZZZZZZZZZZZZZZZZ"
    assert store.mark_read("bob", "alice", future) == ReadMark(received[-1].id, True)
    (summary,) = store.conversations("bob")
    assert summary.read_up_to == received[-1].id and summary.unread == 0
    (peer,) = store.conversations("alice")
    assert peer.their_read_up_to == received[-1].id
    later = factory.send("alice", "bob")
    (summary,) = store.conversations("bob")
    assert summary.unread == 1  # written after the read: unread
    # the last message may be the reader's own: the clamp is the conversation's last
    mine = factory.send("bob", "alice")
    assert store.mark_read("bob", "alice", future) == ReadMark(mine.id, True)
    (summary,) = store.conversations("bob")
    assert summary.unread == 0 and later.id < mine.id


def test_mark_read_tells_whether_it_advanced(store: Store, factory: Factory) -> None:
    factory.users("alice", "bob")
    first, second = factory.send("alice", "bob"), factory.send("alice", "bob")
    assert store.mark_read("bob", "alice", first.id) == ReadMark(first.id, True)
    assert store.mark_read("bob", "alice", first.id) == ReadMark(first.id, False)
    assert store.mark_read("bob", "alice", "0" * 26) == ReadMark(first.id, False)
    assert store.mark_read("bob", "alice", second.id) == ReadMark(second.id, True)
    assert store.mark_read("bob", "carol", second.id) is None


def test_of_concurrent_identical_reads_one_advances(store: Store, factory: Factory) -> None:
    factory.users("alice", "bob")
    messages = [factory.send("alice", "bob") for _ in range(3)]
    results: list[ReadMark | None] = []
    lock = threading.Lock()
    start = threading.Barrier(8)

    def read() -> None:
        start.wait()
        mark = store.mark_read("bob", "alice", messages[1].id)
        with lock:
            results.append(mark)

    threads = [threading.Thread(target=read) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results, key=lambda m: m.advanced if m else False) == [
        ReadMark(messages[1].id, False)
    ] * 7 + [ReadMark(messages[1].id, True)]
