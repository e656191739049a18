"""DynamoDB implementation of the Store: one table (chalicelib/store/schema.py), no Scan.

Uses the low-level boto3 client (cheap to import and build on a Lambda cold
start) with hand-written attribute marshalling, and honours the standard AWS
environment (region, ``AWS_ENDPOINT_URL_DYNAMODB``). Throttling is retried by
botocore (standard mode); transaction conflicts are retried here.

A profile's ``conns`` is a map of open connection id -> expiry time, so that
delivery (``connections_of``) knows who is online from one BatchGetItem and can
ignore connections whose ``$disconnect`` never arrived once they expire.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import replace
from typing import Any, cast

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

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
from chalicelib.store.schema import TTL_ATTRIBUTE, USER_INDEX

Item = dict[str, Any]

BATCH_GET_LIMIT = 100
# retries of our own: transaction conflicts and optimistic-concurrency misses
MAX_ATTEMPTS = 8
BACKOFF_BASE = 0.02
BACKOFF_CAP = 1.0
RETRYABLE_REASONS = frozenset(
    {"TransactionConflict", "ThrottlingError", "ProvisionedThroughputExceeded"}
)
CONDITION_FAILED = "ConditionalCheckFailedException"
CONDITION_FAILED_REASON = "ConditionalCheckFailed"  # as a transaction cancellation reason
# windows before the previous one that each hit also removes from a rate-limit item
# (a count is an attribute per window; a key idle for longer leaves at most two
# stale counts behind, and TTL deletes an item idle for two windows)
HIT_CLEANUP_WINDOWS = 8
# the first characters a username can have, in sort order (see protocol.py)
USERNAME_FIRST_CHARS = "".join(sorted("-._0123456789abcdefghijklmnopqrstuvwxyz"))


class StoreConflict(Exception):
    """Gave up after MAX_ATTEMPTS conflicting attempts."""


# keys


def user_key(username: str) -> Item:
    return {"pk": {"S": f"USER#{username}"}, "sk": {"S": "PROFILE"}}


def summary_key(owner: str, other: str) -> Item:
    return {"pk": {"S": f"USER#{owner}"}, "sk": {"S": f"CONV#{other}"}}


def conversation_pk(a: str, b: str) -> str:
    return f"CONV#{rules.conversation_key(a, b)}"


def marker_key(sender: str, client_id: str) -> Item:
    return {"pk": {"S": f"SEND#{sender}"}, "sk": {"S": client_id}}


def session_key(token_hash: str) -> Item:
    return {"pk": {"S": f"SESSION#{token_hash}"}, "sk": {"S": "SESSION"}}


def connection_key(connection_id: str) -> Item:
    return {"pk": {"S": f"CONN#{connection_id}"}, "sk": {"S": "CONN"}}


def hits_key(key: str) -> Item:
    return {"pk": {"S": f"LIMIT#{key}"}, "sk": {"S": "LIMIT"}}


def upload_key(upload_id: str) -> Item:
    return {"pk": {"S": f"UPLOAD#{upload_id}"}, "sk": {"S": "UPLOAD"}}


def window_attribute(index: int) -> str:
    return f"w{index}"


# attribute values


def _s(value: str) -> dict[str, str]:
    return {"S": value}


def _n(value: float) -> dict[str, str]:
    return {"N": repr(value)}


def _str(item: Mapping[str, Any], name: str, default: str = "") -> str:
    value = item.get(name)
    return str(value["S"]) if value else default


def _num(item: Mapping[str, Any], name: str) -> float:
    value = item.get(name)
    return float(value["N"]) if value else 0.0


def _open(conns: Mapping[str, Any] | None, now: float) -> frozenset[str]:
    """Connection ids of a ``conns`` map attribute that have not expired."""
    if not conns:
        return frozenset()
    return frozenset(cid for cid, exp in conns.get("M", {}).items() if float(exp["N"]) > now)


def _message_attributes(message: Message, prefix: str = "") -> Item:
    attributes: Item = {
        f"{prefix}id": _s(message.id),
        f"{prefix}sender": _s(message.sender),
        f"{prefix}recipient": _s(message.recipient),
        f"{prefix}text": _s(message.text),
        f"{prefix}ts": _s(message.ts),
        f"{prefix}client_id": _s(message.client_id),
    }
    if message.withheld:  # a new message has no edit, tombstone or reactions yet
        attributes[f"{prefix}withheld"] = {"BOOL": True}
    if message.attachment:
        attributes[f"{prefix}{ATTACHMENT}"] = _attachment_value(message.attachment)
    return attributes


# a message's attachment (and a summary's copy: last_att): a map of id, name, type, size
ATTACHMENT = "att"


def _attachment_value(attachment: Attachment) -> Item:
    return {
        "M": {
            "id": _s(attachment.id),
            "name": _s(attachment.name),
            "type": _s(attachment.type),
            "size": _n(attachment.size),
        }
    }


def _attachment(value: Mapping[str, Any] | None) -> Attachment | None:
    if not value:
        return None
    fields = value["M"]
    return Attachment(
        _str(fields, "id"), _str(fields, "name"), _str(fields, "type"), int(_num(fields, "size"))
    )


# a reaction is an attribute of the message item (and of a summary's copy of its
# last message): r_<username> = emoji, so one update sets or removes it
REACTION_PREFIX = "r_"


def _message(item: Mapping[str, Any], prefix: str = "") -> Message:
    deleted = bool(item.get(f"{prefix}deleted", {}).get("BOOL", False))
    reactions = prefix + REACTION_PREFIX
    return Message(
        id=_str(item, f"{prefix}id"),
        sender=_str(item, f"{prefix}sender"),
        recipient=_str(item, f"{prefix}recipient"),
        text="" if deleted else _str(item, f"{prefix}text"),
        ts=_str(item, f"{prefix}ts"),
        client_id=_str(item, f"{prefix}client_id"),
        edited_at=_str(item, f"{prefix}edited_at"),
        deleted=deleted,
        reactions=()
        if deleted
        else tuple(
            sorted(
                (name[len(reactions) :], str(value["S"]))
                for name, value in item.items()
                if name.startswith(reactions)
            )
        ),
        withheld=bool(item.get(f"{prefix}withheld", {}).get("BOOL", False)),
        attachment=None if deleted else _attachment(item.get(f"{prefix}{ATTACHMENT}")),
    )


def _conversation(item: Mapping[str, Any]) -> Conversation:
    """A summary item (USER#owner / CONV#other) as the owner's Conversation."""
    return Conversation(
        other=_str(item, "other"),
        last=_message(item, "last_"),
        unread=int(_num(item, "unread")),
        read_up_to=_str(item, "read_up_to"),
        their_read_up_to=_str(item, "their_read_up_to"),
    )


# the items of save_message's transaction, by name
MESSAGE = "message"
MARKER = "marker"
RECIPIENT = "recipient"
SENDER_SUMMARY = "sender_summary"
RECIPIENT_SUMMARY = "recipient_summary"


def _reasons_by_item(names: list[str], reasons: Sequence[Mapping[str, Any]]) -> dict[str, Item]:
    """Cancellation reasons keyed by the name of the item each belongs to
    (DynamoDB lists them in the order of the items)."""
    return {name: dict(reason) for name, reason in zip(names, reasons, strict=False)}


def _failed(reasons: Mapping[str, Item], name: str) -> bool:
    return str(reasons.get(name, {}).get("Code", "None")) == CONDITION_FAILED_REASON


def _backoff(attempt: int) -> None:
    time.sleep(random.uniform(0, min(BACKOFF_CAP, BACKOFF_BASE * 2**attempt)))


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


class DynamoDBStore:
    def __init__(self, table_name: str, client: Any = None) -> None:
        self.table = table_name
        self.client = client or boto3.session.Session().client(
            "dynamodb",
            config=Config(
                retries={"mode": "standard", "max_attempts": 5},
                connect_timeout=3,
                read_timeout=10,
            ),
        )

    # accounts

    def create_user(self, user: User) -> bool:
        item = {
            **user_key(user.username),
            "username": _s(user.username),
            "password_hash": _s(user.password_hash),
            "created_at": _n(user.created_at),
            "conns": {"M": {}},
            "gsi1pk": _s(f"NAME#{user.username[:1]}"),
            "gsi1sk": _s(user.username),
        }
        try:
            self.client.put_item(
                TableName=self.table, Item=item, ConditionExpression="attribute_not_exists(pk)"
            )
        except ClientError as error:
            if _code(error) == CONDITION_FAILED:
                return False
            raise
        return True

    def get_user(self, username: str) -> User | None:
        item = self._get(user_key(username))
        if item is None:
            return None
        return User(
            username=_str(item, "username"),
            password_hash=_str(item, "password_hash"),
            created_at=_num(item, "created_at"),
            sessions_valid_from=_num(item, "sessions_valid_from"),
        )

    def search_users(self, prefix: str, limit: int, *, now: float) -> list[tuple[str, bool]]:
        found: list[tuple[str, bool]] = []
        # A non-empty prefix reads one GSI partition; the protocol never sends
        # an empty one, but the contract allows it (then: every partition in order).
        partitions = prefix[:1] or USERNAME_FIRST_CHARS
        for first in partitions:
            kwargs: dict[str, Any] = {
                "TableName": self.table,
                "IndexName": USER_INDEX,
                "KeyConditionExpression": "gsi1pk = :pk AND begins_with(gsi1sk, :prefix)",
                "ExpressionAttributeValues": {
                    ":pk": _s(f"NAME#{first}"),
                    ":prefix": _s(prefix or first),
                },
                "ProjectionExpression": "gsi1sk, conns",
            }
            for item in self._query(kwargs, limit - len(found)):
                found.append((_str(item, "gsi1sk"), bool(_open(item.get("conns"), now))))
            if len(found) >= limit:
                break
        return found[:limit]

    # sessions

    def put_session(self, session: Session) -> None:
        self.client.put_item(
            TableName=self.table,
            Item={
                **session_key(session.token_hash),
                "username": _s(session.username),
                "expires_at": _n(session.expires_at),
                "issued_at": _n(session.issued_at),
            },
        )

    def get_session(self, token_hash: str, *, now: float) -> Session | None:
        item = self._get(session_key(token_hash))
        # TTL deletes lazily (up to days late): expiry is checked here
        if item is None or _num(item, "expires_at") <= now:
            return None
        return Session(
            token_hash, _str(item, "username"), _num(item, "expires_at"), _num(item, "issued_at")
        )

    def delete_session(self, token_hash: str) -> None:
        self.client.delete_item(TableName=self.table, Key=session_key(token_hash))

    # connections

    def bind_connection(self, connection: Connection, *, now: float) -> frozenset[str]:
        # The connection item (what authenticates) is written first: a crash
        # between the two writes leaves a signed-in connection that gets no
        # pushes until it signs in again, never pushes to an unauthenticated one.
        self.client.put_item(TableName=self.table, Item=self._connection_item(connection))
        reply = self._update_conns(
            connection.username,
            "SET conns.#c = :exp",
            {"#c": connection.connection_id},
            {":exp": _n(connection.expires_at)},
        )
        conns = reply.get("conns")
        stale = set(conns.get("M", {}) if conns else ()) - _open(conns, now)
        if stale:
            self._forget_expired(connection.username, stale, now)
        return _open(conns, now) | {connection.connection_id}

    def _connection_item(self, connection: Connection) -> Item:
        return {
            **connection_key(connection.connection_id),
            "username": _s(connection.username),
            "token_hash": _s(connection.token_hash),
            "connected_at": _n(connection.connected_at),
            "expires_at": _n(connection.expires_at),
        }

    def _update_conns(
        self, username: str, expression: str, names: dict[str, str], values: Item | None = None
    ) -> Item:
        """Update the profile's ``conns`` map; returns the whole new profile item
        (empty when the profile does not exist)."""
        kwargs: dict[str, Any] = {
            "TableName": self.table,
            "Key": user_key(username),
            "UpdateExpression": expression,
            "ConditionExpression": "attribute_exists(pk)",
            "ExpressionAttributeNames": names,
            "ReturnValues": "ALL_NEW",
        }
        if values:
            kwargs["ExpressionAttributeValues"] = values
        try:
            return dict(self.client.update_item(**kwargs).get("Attributes", {}))
        except ClientError as error:
            if _code(error) == CONDITION_FAILED:
                return {}
            raise

    def _forget_expired(self, username: str, stale: set[str], now: float) -> None:
        """Drop expired entries (a ``$disconnect`` that never came) from ``conns``,
        each only while it is still expired."""
        names = {f"#c{i}": cid for i, cid in enumerate(sorted(stale))}
        try:
            self.client.update_item(
                TableName=self.table,
                Key=user_key(username),
                UpdateExpression="REMOVE " + ", ".join(f"conns.{n}" for n in names),
                ConditionExpression=" AND ".join(
                    f"(attribute_not_exists(conns.{n}) OR conns.{n} <= :now)" for n in names
                ),
                ExpressionAttributeNames=names,
                ExpressionAttributeValues={":now": _n(now)},
            )
        except ClientError as error:
            if _code(error) != CONDITION_FAILED:
                raise  # a rebind raced us: leave the map for the next bind

    def get_connection(self, connection_id: str, *, now: float) -> Connection | None:
        item = self._get(connection_key(connection_id))
        if item is None or _num(item, "expires_at") <= now:
            return None
        return self._connection(connection_id, item)

    @staticmethod
    def _connection(connection_id: str, item: Mapping[str, Any]) -> Connection:
        return Connection(
            connection_id=connection_id,
            username=_str(item, "username"),
            token_hash=_str(item, "token_hash"),
            connected_at=_num(item, "connected_at"),
            expires_at=_num(item, "expires_at"),
        )

    def unbind_connection(self, connection_id: str, *, now: float) -> Unbound | None:
        reply = self.client.delete_item(
            TableName=self.table, Key=connection_key(connection_id), ReturnValues="ALL_OLD"
        )
        old = reply.get("Attributes")
        if not old:
            return None
        connection = self._connection(connection_id, old)
        profile = self._update_conns(connection.username, "REMOVE conns.#c", {"#c": connection_id})
        return Unbound(connection, _open(profile.get("conns"), now))

    def connections_of(
        self, usernames: list[str], *, now: float
    ) -> dict[str, frozenset[str]]:
        names = list(dict.fromkeys(usernames))
        found: dict[str, frozenset[str]] = dict.fromkeys(names, frozenset())
        for start in range(0, len(names), BATCH_GET_LIMIT):
            keys = [user_key(name) for name in names[start : start + BATCH_GET_LIMIT]]
            for item in self._batch_get(keys, "username, conns"):
                found[_str(item, "username")] = _open(item.get("conns"), now)
        return found

    # messages

    def save_message(
        self, message: Message, idempotency_ttl: float, *, now: float
    ) -> SaveResult:
        # Out-of-order commits (ids are made before the write) must not move a
        # summary's ``last`` backwards: each summary update is guarded by
        # last_id < id, and when that guard fails the retry leaves ``last`` alone
        # (the recipient's unread count is still incremented, as in SQLite).
        move_sender_last = True
        move_recipient_last = True
        for attempt in range(MAX_ATTEMPTS):
            items = self._save_items(
                message, now, idempotency_ttl, move_sender_last, move_recipient_last
            )
            try:
                self.client.transact_write_items(TransactItems=cast(Any, list(items.values())))
                return SaveResult(SaveOutcome.STORED, message)
            except ClientError as error:
                if _code(error) != "TransactionCanceledException":
                    raise
                reasons = _reasons_by_item(
                    list(items), error.response.get("CancellationReasons", [])
                )
            if _failed(reasons, MARKER):
                earlier = reasons[MARKER].get("Item") or self._get(
                    marker_key(message.sender, message.client_id)
                )
                if earlier is not None:
                    return SaveResult(SaveOutcome.DUPLICATE, _message(earlier))
                continue  # expired and deleted meanwhile: try again
            if _failed(reasons, RECIPIENT):
                # the profile comes back (ALL_OLD) only when it exists
                if message.withheld or not reasons[RECIPIENT].get("Item"):
                    return SaveResult(SaveOutcome.NO_SUCH_USER)
                # the recipient blocks the sender: stored for the sender's view only
                message = replace(message, withheld=True)
                continue
            conflicted = any(
                str(r.get("Code")) in RETRYABLE_REASONS for r in reasons.values()
            )
            guarded = False
            if move_sender_last and _failed(reasons, SENDER_SUMMARY):
                move_sender_last = False
                guarded = True
            if move_recipient_last and _failed(reasons, RECIPIENT_SUMMARY):
                move_recipient_last = False
                guarded = True
            if conflicted:
                _backoff(attempt)
            elif not guarded:
                codes = {name: r.get("Code") for name, r in reasons.items()}
                raise RuntimeError(f"save_message cancelled: {codes}")
        raise StoreConflict("save_message")

    def _save_items(
        self,
        message: Message,
        now: float,
        idempotency_ttl: float,
        move_sender_last: bool,
        move_recipient_last: bool,
    ) -> dict[str, Item]:
        """The transaction's items by name (for its cancellation reasons), in order."""
        sender, recipient = message.sender, message.recipient
        items: dict[str, Item] = {}
        items[MESSAGE] = {
            "Put": {
                "TableName": self.table,
                "Item": {
                    "pk": _s(conversation_pk(sender, recipient)),
                    "sk": _s(f"MSG#{message.id}"),
                    **_message_attributes(message),
                },
            }
        }
        items[MARKER] = {
            "Put": {
                "TableName": self.table,
                "Item": {
                    **marker_key(sender, message.client_id),
                    **_message_attributes(message),
                    "expires_at": _n(now + idempotency_ttl),
                },
                # an expired marker that TTL has not deleted yet no longer counts
                "ConditionExpression": "attribute_not_exists(pk) OR expires_at <= :now",
                "ExpressionAttributeValues": {":now": _n(now)},
                "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
            }
        }
        # the recipient exists and (unless already withheld) does not block the sender
        items[RECIPIENT] = {
            "ConditionCheck": {
                "TableName": self.table,
                "Key": user_key(recipient),
                "ConditionExpression": "attribute_exists(pk)"
                if message.withheld
                else "attribute_exists(pk) AND NOT contains(#blocks, :sender)",
                "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                **({} if message.withheld else {
                    "ExpressionAttributeNames": {"#blocks": "blocks"},
                    "ExpressionAttributeValues": {":sender": _s(sender)},
                }),
            }
        }
        # every value must appear in the expression: ``withheld`` is not copied
        last = _message_attributes(replace(message, withheld=False), ":last_")
        set_last = (
            "SET #other = :other, last_id = :last_id, last_sender = :last_sender,"
            " last_recipient = :last_recipient, last_text = :last_text, last_ts = :last_ts,"
            " last_client_id = :last_client_id"
        )
        # what the previous last message had and this one has not: an edit, a
        # tombstone, reactions (only the two people can react), an attachment
        stale = {
            "#edited": "last_edited_at",
            "#deleted": "last_deleted",
            **{
                f"#r{i}": f"last_{REACTION_PREFIX}{name}"
                for i, name in enumerate(dict.fromkeys((sender, recipient)))
            },
        }
        if message.attachment:
            set_last += f", last_{ATTACHMENT} = :last_{ATTACHMENT}"
        else:
            stale["#att"] = f"last_{ATTACHMENT}"
        remove_last = " REMOVE " + ", ".join(stale)
        guard = "attribute_not_exists(last_id) OR last_id < :last_id"
        if move_sender_last:
            items[SENDER_SUMMARY] = self._summary_update(
                sender,
                recipient,
                f"{set_last}, unread = if_not_exists(unread, :zero){remove_last}",
                guard,
                {**last, ":other": _s(recipient), ":zero": _n(0)},
                stale,
            )
        if message.withheld:
            pass  # the recipient's summary is untouched
        elif move_recipient_last:
            items[RECIPIENT_SUMMARY] = self._summary_update(
                recipient,
                sender,
                f"{set_last} ADD unread :one{remove_last}",
                guard,
                {**last, ":other": _s(sender), ":one": _n(1)},
                stale,
            )
        else:
            items[RECIPIENT_SUMMARY] = self._summary_update(
                recipient, sender, "ADD unread :one", None, {":one": _n(1)}
            )
        return items

    def _summary_update(
        self,
        owner: str,
        other: str,
        expression: str,
        condition: str | None,
        values: Item,
        names: dict[str, str] | None = None,
    ) -> Item:
        update: Item = {
            "TableName": self.table,
            "Key": summary_key(owner, other),
            "UpdateExpression": expression,
            "ExpressionAttributeValues": values,
        }
        if condition:
            update["ConditionExpression"] = condition
        names = dict(names or {})
        if "#other" in expression:
            names["#other"] = "other"  # a reserved word
        if names:
            update["ExpressionAttributeNames"] = names
        return {"Update": update}

    def history(
        self, a: str, b: str, before: str | None, limit: int
    ) -> tuple[list[Message], bool]:
        values = {":pk": _s(conversation_pk(a, b))}
        if before:
            condition = "pk = :pk AND sk < :before"
            values[":before"] = _s(f"MSG#{before}")
        else:
            condition = "pk = :pk AND begins_with(sk, :msg)"
            values[":msg"] = _s("MSG#")
        kwargs = {
            "TableName": self.table,
            "KeyConditionExpression": condition,
            "ExpressionAttributeValues": values,
            "ScanIndexForward": False,
            "ConsistentRead": True,
        }
        wanted = rules.history_fetch_size(limit)
        found: list[Message] = []
        for item in self._query(kwargs, page_size=wanted):
            message = _message(item)
            if not (message.withheld and message.recipient == a):  # withheld from a
                found.append(message)
                if len(found) == wanted:
                    break
        return rules.history_page(found, limit)

    def conversations(self, username: str) -> list[Conversation]:
        kwargs = {
            "TableName": self.table,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :conv)",
            "ExpressionAttributeValues": {":pk": _s(f"USER#{username}"), ":conv": _s("CONV#")},
            "ConsistentRead": True,
        }
        found = [_conversation(item) for item in self._query(kwargs)]
        found.sort(key=lambda c: c.last.id, reverse=True)
        return found

    def mark_read(self, username: str, other: str, up_to: str) -> ReadMark | None:
        key = summary_key(username, other)
        for attempt in range(MAX_ATTEMPTS):
            summary = self._get(key)
            if summary is None:
                return None
            read_up_to = _str(summary, "read_up_to")
            unread = int(_num(summary, "unread"))
            pointer = rules.read_pointer(read_up_to, up_to, _str(summary, "last_id"))
            count = self._count_unread(username, other, pointer)
            if pointer == read_up_to and count == unread:
                self._tell_peer(username, other, pointer)
                return ReadMark(pointer, False)
            # Optimistic: a message received between the count and this write
            # changes ``unread``, fails the condition, and we count again.
            condition = "unread = :unread AND " + (
                "read_up_to = :read" if read_up_to else "attribute_not_exists(read_up_to)"
            )
            values = {":pointer": _s(pointer), ":count": _n(count), ":unread": _n(unread)}
            if read_up_to:
                values[":read"] = _s(read_up_to)
            try:
                self.client.update_item(
                    TableName=self.table,
                    Key=key,
                    UpdateExpression="SET read_up_to = :pointer, unread = :count",
                    ConditionExpression=condition,
                    ExpressionAttributeValues=values,
                )
                self._tell_peer(username, other, pointer)
                # the condition held read_up_to where we read it: this call moved it
                return ReadMark(pointer, pointer != read_up_to)
            except ClientError as error:
                if _code(error) != CONDITION_FAILED:
                    raise
            _backoff(attempt)
        raise StoreConflict("mark_read")

    def _tell_peer(self, username: str, other: str, pointer: str) -> None:
        """Moves ``other``'s view of how far ``username`` has read forward."""
        try:
            self.client.update_item(
                TableName=self.table,
                Key=summary_key(other, username),
                UpdateExpression="SET their_read_up_to = :pointer",
                ConditionExpression="attribute_exists(pk) AND (attribute_not_exists"
                "(their_read_up_to) OR their_read_up_to < :pointer)",
                ExpressionAttributeValues={":pointer": _s(pointer)},
            )
        except ClientError as error:
            if _code(error) != CONDITION_FAILED:
                raise

    def _count_unread(self, username: str, other: str, pointer: str) -> int:
        kwargs: dict[str, Any] = {
            "TableName": self.table,
            "KeyConditionExpression": "pk = :pk AND sk > :after",
            "FilterExpression": "sender = :other AND attribute_not_exists(withheld)",
            "ExpressionAttributeValues": {
                ":pk": _s(conversation_pk(username, other)),
                ":after": _s(f"MSG#{pointer}"),
                ":other": _s(other),
            },
            "Select": "COUNT",
            "ConsistentRead": True,
        }
        count = 0
        while True:
            reply = self.client.query(**kwargs)
            count += int(reply.get("Count", 0))
            if "LastEvaluatedKey" not in reply:
                return count
            kwargs["ExclusiveStartKey"] = reply["LastEvaluatedKey"]

    def conversations_page(
        self, username: str, before: str | None, limit: int
    ) -> tuple[list[Conversation], bool]:
        # Summaries are keyed USER#owner / CONV#other, not by recency: a page
        # queries the order of all of the owner's summaries (projected to their
        # last ids, though DynamoDB bills the whole items read), sorts it here
        # and reads the page's summaries in one BatchGetItem.
        # docs/performance.md weighs this against a GSI sorted by recency.
        kwargs: dict[str, Any] = {
            "TableName": self.table,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :conv)",
            "ExpressionAttributeValues": {":pk": _s(f"USER#{username}"), ":conv": _s("CONV#")},
            "ProjectionExpression": "#other, last_id",
            "ExpressionAttributeNames": {"#other": "other"},  # a reserved word
            "ConsistentRead": True,
        }
        order = sorted(
            ((_str(item, "last_id"), _str(item, "other")) for item in self._query(kwargs)),
            reverse=True,
        )
        after = [other for last_id, other in order if before is None or last_id < before]
        page = after[:limit]
        found: dict[str, Conversation] = {}
        keys = [summary_key(username, other) for other in page]
        for start in range(0, len(keys), BATCH_GET_LIMIT):
            for item in self._batch_get(keys[start : start + BATCH_GET_LIMIT], None):
                conversation = _conversation(item)
                found[conversation.other] = conversation
        ordered = sorted(found.values(), key=lambda c: c.last.id, reverse=True)
        return ordered, len(after) > limit
    # sessions ended per user, rate limits

    def set_password(
        self, username: str, password_hash: str, *, sessions_valid_from: float
    ) -> None:
        self._update_profile(
            username,
            "SET password_hash = :hash, sessions_valid_from = :from",
            {":hash": _s(password_hash), ":from": _n(sessions_valid_from)},
        )

    def revoke_sessions(self, username: str, *, valid_from: float) -> None:
        self._update_profile(
            username, "SET sessions_valid_from = :from", {":from": _n(valid_from)}
        )

    def _update_profile(self, username: str, expression: str, values: Item) -> None:
        try:
            self.client.update_item(
                TableName=self.table,
                Key=user_key(username),
                UpdateExpression=expression,
                ConditionExpression="attribute_exists(pk)",
                ExpressionAttributeValues=values,
            )
        except ClientError as error:
            if _code(error) != CONDITION_FAILED:
                raise

    def hit(self, key: str, now: float, window: float) -> Counts:
        # One UpdateItem (one write request unit: the item stays far under 1 KB):
        # add to this window's count, drop older windows', refresh the TTL, and
        # return the item, which holds the previous window's count too.
        index = window_index(now, window)
        stale = {
            f"#old{n}": window_attribute(index - n) for n in range(2, 2 + HIT_CLEANUP_WINDOWS)
        }
        reply = self.client.update_item(
            TableName=self.table,
            Key=hits_key(key),
            UpdateExpression="ADD #current :one SET expires_at = :expires REMOVE "
            + ", ".join(stale),
            ExpressionAttributeNames={"#current": window_attribute(index), **stale},
            ExpressionAttributeValues={
                ":one": _n(1),
                ":expires": _n(int((index + 2) * window) + 1),
            },
            ReturnValues="ALL_NEW",
        )
        item = reply.get("Attributes", {})
        return Counts(
            int(_num(item, window_attribute(index))), int(_num(item, window_attribute(index - 1)))
        )

    def clear_hits(self, key: str) -> None:
        self.client.delete_item(TableName=self.table, Key=hits_key(key))

    # request helpers

    def _get(self, key: Item) -> Item | None:
        reply = self.client.get_item(TableName=self.table, Key=key, ConsistentRead=True)
        item = reply.get("Item")
        return dict(item) if item else None

    def _query(
        self, kwargs: dict[str, Any], limit: int | None = None, *, page_size: int | None = None
    ) -> Iterator[Item]:
        """Items of a Query, following pages, at most ``limit`` of them (pages of
        ``page_size`` when given)."""
        kwargs = dict(kwargs)
        produced = 0
        while limit is None or produced < limit:
            if page_size is not None:
                kwargs["Limit"] = page_size
            elif limit is not None:
                kwargs["Limit"] = limit - produced
            reply = self.client.query(**kwargs)
            for item in reply.get("Items", []):
                yield item
                produced += 1
            if "LastEvaluatedKey" not in reply:
                return
            kwargs["ExclusiveStartKey"] = reply["LastEvaluatedKey"]

    def _batch_get(
        self, keys: list[Item], projection: str | None, names: dict[str, str] | None = None
    ) -> Iterator[Item]:
        request: dict[str, Any] = {self.table: {"Keys": keys, "ConsistentRead": True}}
        if projection:
            request[self.table]["ProjectionExpression"] = projection
        if names:
            request[self.table]["ExpressionAttributeNames"] = names
        for attempt in range(MAX_ATTEMPTS):
            reply = self.client.batch_get_item(RequestItems=request)
            yield from reply.get("Responses", {}).get(self.table, [])
            request = reply.get("UnprocessedKeys") or {}
            if not request:
                return
            _backoff(attempt)
        raise StoreConflict("batch_get_item: keys left unprocessed")

    # edit, delete, react, block (issue 13)

    def find_message(self, username: str, message_id: str) -> Message | None:
        # Ids do not name their conversation: look in each of the user's
        # conversations at once (one Query of the summaries, one BatchGetItem
        # per 100 of them), rather than write an index item with every send.
        kwargs = {
            "TableName": self.table,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :conv)",
            "ExpressionAttributeValues": {":pk": _s(f"USER#{username}"), ":conv": _s("CONV#")},
            "ProjectionExpression": "pk, sk, #other",
            "ExpressionAttributeNames": {"#other": "other"},
        }
        partners = [_str(item, "other") for item in self._query(kwargs)]
        for start in range(0, len(partners), BATCH_GET_LIMIT):
            keys = [
                {"pk": _s(conversation_pk(username, other)), "sk": _s(f"MSG#{message_id}")}
                for other in partners[start : start + BATCH_GET_LIMIT]
            ]
            for item in self._batch_get(keys, None):
                message = _message(item)
                if message.withheld and message.recipient == username:
                    return None
                return message
        return None

    @staticmethod
    def _message_key(message: Message) -> Item:
        return {
            "pk": _s(conversation_pk(message.sender, message.recipient)),
            "sk": _s(f"MSG#{message.id}"),
        }

    def _change(
        self,
        message: Message,
        expression: str,
        names: dict[str, str],
        values: Item | None,
        *,
        deleted_too: bool = False,
    ) -> Message | None:
        """Update the stored message; the new message, or None when it is gone
        (or deleted, unless ``deleted_too``). Then the same change to both
        summaries whose ``last`` it is (their copies' names prefixed ``last_``)."""
        condition = "attribute_exists(pk)" + (
            "" if deleted_too else " AND attribute_not_exists(deleted)"
        )
        kwargs: dict[str, Any] = {
            "TableName": self.table,
            "Key": self._message_key(message),
            "UpdateExpression": expression,
            "ConditionExpression": condition,
            "ExpressionAttributeNames": names,
            "ReturnValues": "ALL_NEW",
        }
        if values:
            kwargs["ExpressionAttributeValues"] = values
        try:
            changed = _message(self.client.update_item(**kwargs)["Attributes"])
        except ClientError as error:
            if _code(error) == CONDITION_FAILED:
                return None
            raise
        last_names = {key: f"last_{name}" for key, name in names.items()}
        for owner, other in (
            (message.sender, message.recipient),
            (message.recipient, message.sender),
        ):
            try:
                self.client.update_item(
                    TableName=self.table,
                    Key=summary_key(owner, other),
                    UpdateExpression=expression,
                    # a late edit or reaction must not land on a summary's tombstone
                    ConditionExpression="last_id = :last_id"
                    + ("" if deleted_too else " AND attribute_not_exists(last_deleted)"),
                    ExpressionAttributeNames=last_names,
                    ExpressionAttributeValues={**(values or {}), ":last_id": _s(message.id)},
                )
            except ClientError as error:
                if _code(error) != CONDITION_FAILED:
                    raise  # not that summary's last message: nothing to mirror
        return changed

    def edit_message(self, message: Message, text: str, edited_at: str) -> Message | None:
        return self._change(
            message,
            "SET #text = :text, #edited_at = :edited_at",
            {"#text": "text", "#edited_at": "edited_at"},
            {":text": _s(text), ":edited_at": _s(edited_at)},
        )

    def delete_message(self, message: Message) -> Message:
        names = {"#text": "text", "#deleted": "deleted"}
        removed = {
            "#att": ATTACHMENT,
            **{f"#r{i}": REACTION_PREFIX + name for i, (name, _) in enumerate(message.reactions)},
        }
        expression = "SET #text = :empty, #deleted = :true REMOVE " + ", ".join(removed)
        changed = self._change(
            message,
            expression,
            {**names, **removed},
            {":empty": _s(""), ":true": {"BOOL": True}},
            deleted_too=True,
        )
        return changed or replace(
            message, text="", deleted=True, reactions=(), attachment=None
        )

    def set_reaction(self, message: Message, username: str, emoji: str) -> Message | None:
        names = {"#r": REACTION_PREFIX + username}
        if emoji:
            return self._change(message, "SET #r = :emoji", names, {":emoji": _s(emoji)})
        return self._change(message, "REMOVE #r", names, None)

    def _blocks_transaction(self, action: str, owner: str, other: str) -> bool:
        """``ADD`` or ``DELETE`` other in owner's ``blocks`` and owner in other's
        ``blocked_by``, atomically; False when either profile is missing."""
        items = [
            {
                "Update": {
                    "TableName": self.table,
                    "Key": user_key(who),
                    "UpdateExpression": f"{action} #list :name",
                    "ConditionExpression": "attribute_exists(pk)",
                    "ExpressionAttributeNames": {"#list": attribute},
                    "ExpressionAttributeValues": {":name": {"SS": [name]}},
                }
            }
            for who, attribute, name in ((owner, "blocks", other), (other, "blocked_by", owner))
        ]
        for attempt in range(MAX_ATTEMPTS):
            try:
                self.client.transact_write_items(TransactItems=cast(Any, items))
                return True
            except ClientError as error:
                if _code(error) != "TransactionCanceledException":
                    raise
                reasons = error.response.get("CancellationReasons", [])
            if any(str(r.get("Code")) == CONDITION_FAILED_REASON for r in reasons):
                return False
            _backoff(attempt)
        raise StoreConflict(f"{action.lower()} blocks")

    def block(self, owner: str, other: str) -> bool:
        return self._blocks_transaction("ADD", owner, other)

    def unblock(self, owner: str, other: str) -> None:
        self._blocks_transaction("DELETE", owner, other)

    def blocks_of(self, username: str) -> Blocks:
        reply = self.client.get_item(
            TableName=self.table,
            Key=user_key(username),
            ProjectionExpression="#blocks, blocked_by",
            ExpressionAttributeNames={"#blocks": "blocks"},
            ConsistentRead=True,
        )
        item = reply.get("Item") or {}
        return Blocks(
            frozenset(item.get("blocks", {}).get("SS", ())),
            frozenset(item.get("blocked_by", {}).get("SS", ())),
        )

    def reachable(
        self, sender: str, usernames: list[str], *, now: float
    ) -> dict[str, frozenset[str]]:
        # the profiles read for their connections carry the block lists too:
        # no request beyond connections_of's
        names = list(dict.fromkeys(usernames))
        found: dict[str, frozenset[str]] = dict.fromkeys(names, frozenset())
        for start in range(0, len(names), BATCH_GET_LIMIT):
            keys = [user_key(name) for name in names[start : start + BATCH_GET_LIMIT]]
            projection = "username, conns, #blocks, blocked_by"
            for item in self._batch_get(keys, projection, {"#blocks": "blocks"}):
                lists = (item.get("blocks", {}), item.get("blocked_by", {}))
                if not any(sender in value.get("SS", ()) for value in lists):
                    found[_str(item, "username")] = _open(item.get("conns"), now)
        return found

    # attachments (issue 14)

    # An unattached upload carries the table's TTL attribute (``expires_at``), so
    # DynamoDB forgets it some time after it expires; a claim removes it. ``until``
    # keeps the Upload's expires_at either way.

    def put_upload(self, upload: Upload) -> None:
        item: Item = {
            **upload_key(upload.id),
            "owner": _s(upload.owner),
            "name": _s(upload.name),
            "type": _s(upload.type),
            "size": _n(upload.size),
            "created_at": _n(upload.created_at),
            "until": _n(upload.expires_at),
        }
        if upload.client_id:
            item["client_id"] = _s(upload.client_id)
        else:
            item[TTL_ATTRIBUTE] = _n(upload.expires_at)
        self.client.put_item(TableName=self.table, Item=item)

    def get_upload(self, upload_id: str, *, now: float) -> Upload | None:
        item = self._get(upload_key(upload_id))
        if item is None:
            return None
        upload = self._upload(upload_id, item)
        # TTL deletes lazily (up to days late): expiry is checked here
        return None if upload.expired(now) else upload

    @staticmethod
    def _upload(upload_id: str, item: Mapping[str, Any]) -> Upload:
        return Upload(
            id=upload_id,
            owner=_str(item, "owner"),
            name=_str(item, "name"),
            type=_str(item, "type"),
            size=int(_num(item, "size")),
            created_at=_num(item, "created_at"),
            expires_at=_num(item, "until"),
            client_id=_str(item, "client_id"),
        )

    def claim_upload(
        self, upload_id: str, owner: str, client_id: str, *, now: float
    ) -> Upload | None:
        if not client_id:
            return None  # "" would mean unattached
        try:
            reply = self.client.update_item(
                TableName=self.table,
                Key=upload_key(upload_id),
                UpdateExpression="SET client_id = :client_id REMOVE #ttl",
                # a missing item fails the condition too (its owner is no one)
                ConditionExpression="#owner = :owner AND ((attribute_not_exists(client_id)"
                " AND #until > :now) OR client_id = :client_id)",
                ExpressionAttributeNames={
                    "#ttl": TTL_ATTRIBUTE, "#owner": "owner", "#until": "until"
                },
                ExpressionAttributeValues={
                    ":client_id": _s(client_id), ":owner": _s(owner), ":now": _n(now)
                },
                ReturnValues="ALL_NEW",
            )
        except ClientError as error:
            if _code(error) == CONDITION_FAILED:
                return None
            raise
        return self._upload(upload_id, reply["Attributes"])

    def release_upload(self, upload_id: str, client_id: str, *, expires_at: float) -> None:
        if not client_id:
            return
        try:
            self.client.update_item(
                TableName=self.table,
                Key=upload_key(upload_id),
                UpdateExpression="SET #ttl = :expires, #until = :expires REMOVE client_id",
                ConditionExpression="client_id = :client_id",
                ExpressionAttributeNames={"#ttl": TTL_ATTRIBUTE, "#until": "until"},
                ExpressionAttributeValues={
                    ":client_id": _s(client_id), ":expires": _n(expires_at)
                },
            )
        except ClientError as error:
            if _code(error) != CONDITION_FAILED:
                raise  # another send holds it, or it is gone: nothing to undo

    def delete_upload(self, upload_id: str) -> None:
        self.client.delete_item(TableName=self.table, Key=upload_key(upload_id))
