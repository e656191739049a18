"""Attachments: the ``upload`` handler, and what ``send`` and ``delete`` do with an
attachment (check and claim the upload, sign download URLs, delete the blob).

No I/O of its own: the bytes go from the client straight to the storage through a
presigned POST, and come back through presigned GETs; here the core only asks ``turn.blobs``
(chalicelib/blobs) to sign, to look at what arrived, and to delete, and records uploads in
``turn.store``. Only the two people of a conversation ever get its URLs: they are signed
into the frames that carry the message, and those go only to them.
"""

from __future__ import annotations

from collections.abc import Callable

from chalicelib import limits, protocol
from chalicelib.blobs import Blobs
from chalicelib.model import Attachment, Message, Upload
from chalicelib.protocol import ProtocolError
from chalicelib.turn import INLINE_TYPES, Turn


def upload(turn: Turn, request: protocol.Upload) -> None:
    blobs = _blobs(turn, "upload", request.client_id)
    rules = turn.config.attachments
    if request.type not in rules.types:
        raise ProtocolError(
            protocol.INVALID,
            f"files of type '{request.type}' cannot be sent; allowed: {', '.join(rules.types)}",
            "upload",
            request.client_id,
        )
    if request.size > rules.max_size:
        raise ProtocolError(
            protocol.TOO_LARGE,
            f"files are limited to {rules.max_size} bytes",
            "upload",
            request.client_id,
        )
    limits.enforce(
        turn.store, turn.config.limits.upload, turn.me, turn.now, "upload", request.client_id
    )
    record = Upload(
        id=turn.new_upload_id(),
        owner=turn.me,
        name=request.name,
        type=request.type,
        size=request.size,
        created_at=turn.now,
        expires_at=turn.now + rules.upload_ttl,
    )
    post = blobs.presign_upload(record.id, record.type, record.size, rules.post_ttl)
    turn.store.put_upload(record)
    turn.reply(
        protocol.upload(
            record.id, post.url, post.fields, rules.post_ttl, record.size, request.client_id
        )
    )


def attach(turn: Turn, request: protocol.Send) -> Attachment:
    """Claim the sender's upload for this send, once what arrived in the storage is
    checked against what was declared; raises ``invalid`` otherwise. A retry of the
    same send (same ``client_id``) claims it again."""
    blobs = _blobs(turn, "send", request.client_id)

    def refuse(why: str) -> ProtocolError:
        return ProtocolError(protocol.INVALID, why, "send", request.client_id)

    found = turn.store.get_upload(request.attachment, now=turn.now)
    if found is None or found.owner != turn.me:
        raise refuse("no such upload: ask for one with 'upload' (they expire unattached)")
    if found.client_id not in ("", request.client_id):
        raise refuse("that upload is attached to another message already")
    stored = blobs.head(found.id)
    if stored is None:
        raise refuse("the file has not been uploaded yet: POST it to the upload's url first")
    if stored.size != found.size or stored.type != found.type:
        raise refuse(
            f"the uploaded file is not what was declared ({found.size} bytes of {found.type})"
        )
    claimed = turn.store.claim_upload(found.id, turn.me, request.client_id, now=turn.now)
    if claimed is None:
        raise refuse("that upload is attached to another message already")
    return claimed.attachment()


def attached(turn: Turn, attachment: Attachment) -> None:
    """The message carrying ``attachment`` is stored: its blob no longer expires."""
    _blobs(turn, "send").mark_attached(attachment.id)


def release(turn: Turn, attachment: Attachment, client_id: str) -> None:
    """The send that claimed ``attachment`` stored nothing: the upload is free again."""
    turn.store.release_upload(
        attachment.id, client_id, expires_at=turn.now + turn.config.attachments.upload_ttl
    )


def signer(turn: Turn) -> Callable[[Attachment], str] | None:
    """Signs each attachment's download URL for a frame being built (no I/O)."""
    blobs = turn.blobs
    if blobs is None:
        return None
    ttl = turn.config.attachments.download_ttl

    def download_url(attachment: Attachment) -> str:
        return blobs.presign_download(
            attachment.id,
            name=attachment.name,
            content_type=attachment.type,
            inline=attachment.type in INLINE_TYPES,
            expires_in=ttl,
        )

    return download_url


def discard(turn: Turn, message: Message) -> None:
    """A deleted message's attachment: its blob and its upload record go."""
    if message.attachment is None or turn.blobs is None:
        return
    turn.blobs.delete(message.attachment.id)
    turn.store.delete_upload(message.attachment.id)


def _blobs(turn: Turn, action: str, client_id: str | None = None) -> Blobs:
    if turn.blobs is None:
        raise ProtocolError(
            protocol.INVALID, "this server does not take attachments", action, client_id
        )
    return turn.blobs
