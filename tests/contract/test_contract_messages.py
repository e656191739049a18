"""Store contract: saving messages (atomic, idempotent), history, conversations, reads."""

from __future__ import annotations

import time

from chalicelib.model import Conversation, SaveOutcome, SaveResult, Store
from tests.contract.helpers import Factory, now


def test_a_stored_message_is_in_both_histories_and_summaries(
    store: Store, factory: Factory
) -> None:
    factory.users("alice", "bob")
    message = factory.message("alice", "bob", "hello 👋 «bob»")
    assert store.save_message(message, 3600, now=now()) == SaveResult(SaveOutcome.STORED, message)
    assert store.history("alice", "bob", None, 50) == ([message], False)
    assert store.history("bob", "alice", None, 50) == ([message], False)
    assert store.conversations("alice") == [Conversation("bob", message, 0)]
    assert store.conversations("bob") == [Conversation("alice", message, 1)]


def test_a_repeated_client_id_is_a_duplicate_and_changes_nothing(
    store: Store, factory: Factory
) -> None:
    factory.users("alice", "bob", "carol")
    first = factory.send("alice", "bob", "one", client_id="k1")
    retry = factory.message("alice", "bob", "one again", client_id="k1")
    assert store.save_message(retry, 3600, now=now()) == SaveResult(SaveOutcome.DUPLICATE, first)
    # the key is (sender, client_id): even another recipient is a duplicate
    elsewhere = factory.message("alice", "carol", "other", client_id="k1")
    duplicate = SaveResult(SaveOutcome.DUPLICATE, first)
    assert store.save_message(elsewhere, 3600, now=now()) == duplicate
    assert store.history("alice", "bob", None, 50) == ([first], False)
    assert store.history("alice", "carol", None, 50) == ([], False)
    assert store.conversations("bob") == [Conversation("alice", first, 1)]
    assert [c.other for c in store.conversations("alice")] == ["bob"]
    # another sender may use the same client_id
    reply = factory.send("bob", "alice", "hi", client_id="k1")
    assert store.history("alice", "bob", None, 50) == ([first, reply], False)


def test_a_client_id_can_be_reused_once_its_marker_expired(
    store: Store, factory: Factory
) -> None:
    factory.users("alice", "bob")
    first = factory.message("alice", "bob", "one", client_id="k1")
    assert store.save_message(first, 0.05, now=now()).outcome is SaveOutcome.STORED
    time.sleep(0.1)
    later = factory.message("alice", "bob", "two", client_id="k1")
    assert store.save_message(later, 3600, now=now()) == SaveResult(SaveOutcome.STORED, later)
    assert store.history("alice", "bob", None, 50) == ([first, later], False)
    duplicate = factory.message("alice", "bob", "three", client_id="k1")
    earlier = SaveResult(SaveOutcome.DUPLICATE, later)
    assert store.save_message(duplicate, 3600, now=now()) == earlier


def test_an_unknown_recipient_stores_nothing(store: Store, factory: Factory) -> None:
    factory.users("alice")
    message = factory.message("alice", "ghost", client_id="k1")
    assert store.save_message(message, 3600, now=now()) == SaveResult(SaveOutcome.NO_SUCH_USER)
    assert store.history("alice", "ghost", None, 50) == ([], False)
    assert store.conversations("alice") == []
    # the client_id was not used up
    factory.users("ghost")
    assert store.save_message(message, 3600, now=now()).outcome is SaveOutcome.STORED


def test_history_pages_backwards_oldest_first(store: Store, factory: Factory) -> None:
    factory.users("alice", "bob", "carol")
    sent = [factory.send(*(("alice", "bob") if i % 2 else ("bob", "alice"))) for i in range(7)]
    factory.send("alice", "carol")  # another conversation never shows up
    page, more = store.history("alice", "bob", None, 3)
    assert (page, more) == (sent[4:7], True)
    page, more = store.history("bob", "alice", page[0].id, 3)
    assert (page, more) == (sent[1:4], True)
    page, more = store.history("alice", "bob", page[0].id, 3)
    assert (page, more) == (sent[0:1], False)
    assert store.history("alice", "bob", None, 7) == (sent, False)
    assert store.history("alice", "bob", None, 6) == (sent[1:], True)
    assert store.history("alice", "bob", sent[0].id, 5) == ([], False)
    assert store.history("alice", "nobody", None, 5) == ([], False)


def test_long_texts_round_trip(store: Store, factory: Factory) -> None:
    factory.users("alice", "bob")
    texts = ["é" * 4000, "🙂" * 4000, "line\nbreak\ttab \"quotes\" \\ ' <>&", " x "]
    sent = [factory.send("alice", "bob", text) for text in texts]
    assert store.history("bob", "alice", None, 100) == (sent, False)
    assert store.conversations("bob")[0].last == sent[-1]


def test_conversations_newest_first_with_unread_counts(store: Store, factory: Factory) -> None:
    factory.users("alice", "bob", "carol", "dave")
    factory.send("bob", "alice")
    factory.send("carol", "alice")
    factory.send("bob", "alice")
    last_dave = factory.send("alice", "dave")
    last_carol = factory.send("carol", "alice")
    last_bob = factory.send("bob", "alice")
    assert store.conversations("alice") == [
        Conversation("bob", last_bob, 3),
        Conversation("carol", last_carol, 2),
        Conversation("dave", last_dave, 0),
    ]
    assert store.conversations("dave") == [Conversation("alice", last_dave, 1)]
    assert store.conversations("nobody") == []


def test_a_late_commit_of_an_older_message_does_not_move_last_back(
    store: Store, factory: Factory
) -> None:
    """Ids are made before the write, so two sends can commit out of id order."""
    factory.users("alice", "bob")
    older = factory.message("alice", "bob", "made first")
    newer = factory.message("bob", "alice", "made second")
    assert store.save_message(newer, 3600, now=now()).outcome is SaveOutcome.STORED
    assert store.save_message(older, 3600, now=now()).outcome is SaveOutcome.STORED
    assert store.conversations("alice") == [Conversation("bob", newer, 1)]
    assert store.conversations("bob") == [Conversation("alice", newer, 1)]
    assert store.history("alice", "bob", None, 10) == ([older, newer], False)


def test_mark_read_moves_forward_and_recounts(store: Store, factory: Factory) -> None:
    factory.users("alice", "bob")
    received = []
    for i in range(5):
        received.append(factory.send("alice", "bob"))
        if i % 2:
            factory.send("bob", "alice")  # bob's own messages never count as unread
    assert store.conversations("bob")[0].unread == 5

    assert store.mark_read("bob", "alice", received[2].id)
    summary = store.conversations("bob")[0]
    assert (summary.unread, summary.read_up_to) == (2, received[2].id)
    assert store.conversations("alice")[0].their_read_up_to == received[2].id
    # the pointer never moves back
    assert store.mark_read("bob", "alice", received[0].id)
    summary = store.conversations("bob")[0]
    assert (summary.unread, summary.read_up_to) == (2, received[2].id)
    assert store.conversations("alice")[0].their_read_up_to == received[2].id
    # new messages count again
    newest = factory.send("alice", "bob")
    assert store.conversations("bob")[0].unread == 3
    assert store.mark_read("bob", "alice", newest.id)
    summary = store.conversations("bob")[0]
    assert (summary.unread, summary.read_up_to) == (0, newest.id)
    # alice's own read pointer is untouched; she sees how far bob has read
    assert store.conversations("alice")[0].read_up_to == ""
    assert store.conversations("alice")[0].their_read_up_to == newest.id
    assert store.conversations("bob")[0].their_read_up_to == ""


def test_mark_read_without_a_conversation_is_false(store: Store, factory: Factory) -> None:
    factory.users("alice", "bob", "carol")
    message = factory.send("alice", "bob")
    assert not store.mark_read("bob", "carol", message.id)
    assert not store.mark_read("carol", "alice", message.id)
    assert store.conversations("carol") == []


def test_a_newer_last_message_inherits_nothing_of_the_previous_one(
    store: Store, factory: Factory
) -> None:
    """The summary's ``last`` moves on whole: no edit, tombstone or reactions of the
    message it replaces."""
    factory.users("al.ice", "bo-b")
    edited = factory.send("al.ice", "bo-b")
    assert store.edit_message(edited, "edited", "2026-12-02T10:00:00.000Z")
    for name in ("al.ice", "bo-b"):
        assert store.set_reaction(edited, name, "👍")
    newer = factory.send("bo-b", "al.ice")
    for owner in ("al.ice", "bo-b"):
        assert store.conversations(owner)[0].last == newer
    assert store.set_reaction(newer, "al.ice", "😂")
    store.delete_message(newer)
    newest = factory.send("al.ice", "bo-b")
    for owner in ("al.ice", "bo-b"):
        assert store.conversations(owner)[0].last == newest
        assert store.conversations_page(owner, None, 10)[0][0].last == newest
