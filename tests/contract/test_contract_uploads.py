"""Attachments (issue 14) on every store: a message's attachment wherever the
message shows, kept by edits and reactions, dropped by delete; uploads that
expire until a send claims them, claimed by one send only."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

from chalicelib.model import Attachment, Message, SaveOutcome, Store, Upload
from tests.contract.helpers import Factory, now

CAT = Attachment("up-cat", "café ☕ \"x\".png", "image/png", 12345)


def upload(owner: str, upload_id: str = "up-1", lifetime: float = 3600) -> Upload:
    created = now()
    return Upload(upload_id, owner, "report.pdf", "application/pdf", 2048, created,
                  created + lifetime)


def send_with(factory: Factory, sender: str, recipient: str,
              attachment: Attachment | None = CAT) -> Message:
    message = replace(factory.message(sender, recipient), attachment=attachment)
    result = factory.store.save_message(message, 3600, now=now())
    assert result.outcome is SaveOutcome.STORED, result
    assert result.message == message
    return message


def shown(store: Store, message: Message) -> list[Message]:
    """The message as history, both summaries and find_message show it to each person."""
    views: list[Message] = []
    for me, other in ((message.sender, message.recipient), (message.recipient, message.sender)):
        views.extend(m for m in store.history(me, other, None, 50)[0] if m.id == message.id)
        views.extend(c.last for c in store.conversations(me) if c.other == other)
        found = store.find_message(me, message.id)
        assert found is not None
        views.append(found)
    assert len(views) == 6, views
    return views


# a message's attachment


def test_the_attachment_is_stored_with_the_message_everywhere(
    store: Store, factory: Factory
) -> None:
    factory.users("alice", "bob")
    message = send_with(factory, "alice", "bob")
    assert all(view == message for view in shown(store, message))
    assert all(view.attachment == CAT for view in shown(store, message))
    # a retried send answers with the stored message, attachment included
    retry = replace(message, id=factory.message("alice", "bob").id)
    again = store.save_message(retry, 3600, now=now())
    assert again.outcome is SaveOutcome.DUPLICATE and again.message == message


def test_a_message_without_one_has_none(store: Store, factory: Factory) -> None:
    factory.users("alice", "bob")
    message = send_with(factory, "alice", "bob", None)
    assert all(view.attachment is None for view in shown(store, message))


def test_a_newer_last_message_does_not_inherit_the_attachment(
    store: Store, factory: Factory
) -> None:
    factory.users("alice", "bob")
    send_with(factory, "alice", "bob")
    plain = send_with(factory, "bob", "alice", None)
    for me in ("alice", "bob"):
        (conversation,) = store.conversations(me)
        assert conversation.last == plain
    other = Attachment("up-other", "b.txt", "text/plain", 1)
    newest = send_with(factory, "alice", "bob", other)
    for me in ("alice", "bob"):
        assert store.conversations(me)[0].last.attachment == other
    assert [m.attachment for m in store.history("alice", "bob", None, 10)[0]] == [
        CAT, None, other
    ]
    assert store.conversations_page("bob", None, 10)[0][0].last == newest


def test_edits_and_reactions_keep_the_attachment(store: Store, factory: Factory) -> None:
    factory.users("alice", "bob")
    message = send_with(factory, "alice", "bob")
    edited = store.edit_message(message, "look at this", "2026-12-02T10:00:00.000Z")
    assert edited is not None and edited.attachment == CAT
    reacted = store.set_reaction(message, "bob", "👍")
    assert reacted is not None and reacted.attachment == CAT
    assert reacted.text == "look at this" and reacted.reactions == (("bob", "👍"),)
    assert all(view == reacted for view in shown(store, message))
    cleared = store.set_reaction(message, "bob", "")
    assert cleared is not None and cleared.attachment == CAT


def test_delete_drops_the_attachment(store: Store, factory: Factory) -> None:
    factory.users("alice", "bob")
    message = send_with(factory, "alice", "bob")
    store.set_reaction(message, "bob", "😂")
    tombstone = store.delete_message(message)
    assert tombstone.deleted and tombstone.attachment is None
    assert all(view == tombstone for view in shown(store, message))
    assert store.delete_message(message) == tombstone  # idempotent


def test_a_withheld_message_keeps_its_attachment_for_the_sender(
    store: Store, factory: Factory
) -> None:
    factory.users("alice", "bob")
    assert store.block("bob", "alice")
    message = replace(factory.message("alice", "bob"), attachment=CAT)
    stored = store.save_message(message, 3600, now=now()).message
    assert stored is not None and stored.withheld and stored.attachment == CAT
    (conversation,) = store.conversations("alice")
    assert conversation.last.attachment == CAT
    assert store.conversations("bob") == []
    assert store.history("bob", "alice", None, 10) == ([], False)


# uploads


def test_put_and_get(store: Store) -> None:
    first, second = upload("alice", "up-1"), upload("bob", "up-2")
    store.put_upload(first)
    store.put_upload(second)
    assert store.get_upload("up-1", now=now()) == first
    assert store.get_upload("up-2", now=now()) == second
    assert store.get_upload("up-3", now=now()) is None


def test_an_unattached_upload_expires_an_attached_one_never(store: Store) -> None:
    pending, attached = upload("alice", "up-1", 60), upload("alice", "up-2", 60)
    store.put_upload(pending)
    store.put_upload(attached)
    assert store.claim_upload("up-2", "alice", "k1", now=now()) is not None
    later = now() + 61
    assert store.get_upload("up-1", now=pending.expires_at - 1) == pending
    assert store.get_upload("up-1", now=pending.expires_at) is None
    assert store.get_upload("up-2", now=later + 10**6) == replace(attached, client_id="k1")


def test_the_owner_claims_an_upload(store: Store) -> None:
    mine = upload("alice")
    store.put_upload(mine)
    claimed = store.claim_upload(mine.id, "alice", "k1", now=now())
    assert claimed == replace(mine, client_id="k1")
    assert store.get_upload(mine.id, now=now()) == claimed


def test_no_one_else_claims_it(store: Store) -> None:
    mine = upload("alice")
    store.put_upload(mine)
    assert store.claim_upload(mine.id, "bob", "k1", now=now()) is None
    assert store.get_upload(mine.id, now=now()) == mine
    assert store.claim_upload("up-unknown", "alice", "k1", now=now()) is None
    assert store.get_upload("up-unknown", now=now()) is None


def test_one_send_holds_it_and_may_claim_again(store: Store) -> None:
    mine = upload("alice")
    store.put_upload(mine)
    claimed = store.claim_upload(mine.id, "alice", "k1", now=now())
    assert store.claim_upload(mine.id, "alice", "k2", now=now()) is None
    assert store.claim_upload(mine.id, "alice", "k1", now=now()) == claimed  # a retried send
    # held: the claim outlasts the upload's expiry
    assert store.claim_upload(mine.id, "alice", "k1", now=mine.expires_at + 1) == claimed
    assert store.get_upload(mine.id, now=now()) == claimed


def test_an_expired_upload_cannot_be_claimed(store: Store) -> None:
    old = upload("alice", lifetime=60)
    store.put_upload(old)
    assert store.claim_upload(old.id, "alice", "k1", now=old.expires_at) is None
    assert store.get_upload(old.id, now=old.expires_at - 1) == old


def test_release_lets_another_send_claim_it(store: Store) -> None:
    mine = upload("alice")
    store.put_upload(mine)
    assert store.claim_upload(mine.id, "alice", "k1", now=now()) is not None
    expires_at = now() + 7200
    store.release_upload(mine.id, "k1", expires_at=expires_at)
    released = replace(mine, expires_at=expires_at)
    assert store.get_upload(mine.id, now=now()) == released
    assert store.get_upload(mine.id, now=expires_at) is None  # expiring again
    assert store.claim_upload(mine.id, "alice", "k2", now=now()) == replace(
        released, client_id="k2"
    )


def test_release_by_another_send_changes_nothing(store: Store) -> None:
    mine, pending = upload("alice", "up-1"), upload("alice", "up-2")
    store.put_upload(mine)
    store.put_upload(pending)
    claimed = store.claim_upload(mine.id, "alice", "k1", now=now())
    store.release_upload(mine.id, "k2", expires_at=now() + 10)
    assert store.get_upload(mine.id, now=now() + 10**6) == claimed
    store.release_upload(pending.id, "k2", expires_at=now() + 10)  # no one holds it
    assert store.get_upload(pending.id, now=now()) == pending
    store.release_upload("up-unknown", "k1", expires_at=now() + 10)
    assert store.get_upload("up-unknown", now=now()) is None


def test_delete_upload_is_idempotent(store: Store) -> None:
    pending, attached = upload("alice", "up-1"), upload("alice", "up-2")
    store.put_upload(pending)
    store.put_upload(attached)
    store.claim_upload(attached.id, "alice", "k1", now=now())
    for _ in range(2):
        store.delete_upload(pending.id)
        store.delete_upload(attached.id)
    store.delete_upload("up-unknown")
    assert store.get_upload(pending.id, now=now()) is None
    assert store.get_upload(attached.id, now=now()) is None
    assert store.claim_upload(attached.id, "alice", "k1", now=now()) is None


def test_two_sends_racing_for_one_upload_one_wins(make_store: Callable[[], Store]) -> None:
    stores = [make_store(), make_store()]
    uploads = [upload("alice", f"up-{i}") for i in range(8)]
    for each in uploads:
        stores[0].put_upload(each)
    start = threading.Barrier(2, timeout=60)
    won: dict[str, list[str]] = {each.id: [] for each in uploads}
    lock = threading.Lock()

    def claim(worker: int) -> None:
        client_id = f"k{worker}"
        for each in uploads:
            start.wait()
            if stores[worker].claim_upload(each.id, "alice", client_id, now=now()):
                with lock:
                    won[each.id].append(client_id)

    with ThreadPoolExecutor(2) as pool:
        list(pool.map(claim, (0, 1)))
    for each in uploads:
        (winner,) = won[each.id]
        stored = stores[0].get_upload(each.id, now=now())
        assert stored is not None and stored.client_id == winner
