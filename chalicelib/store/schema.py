"""The one DynamoDB table definition: keys, indexes and TTL.

The DynamoDB store, the tests, the local gateway (which creates the table when
missing) and both infra templates read this module, so the table is defined
exactly once. Item layout (pk / sk):

    USER#<name>          / PROFILE            account, password hash,
                                              ``sessions_valid_from`` (sessions
                                              issued before it are revoked),
                                              ``conns`` (map of open connection
                                              id -> its expiry time, so expired
                                              ones are ignored without reading
                                              them); GSI1 keys
    USER#<name>          / CONV#<other>       conversation summary: last message,
                                              unread count, read pointer
    CONV#<a>#<b>         / MSG#<message id>   a message (a < b)
    SEND#<name>          / <client_id>        idempotency marker for a send (TTL)
    SESSION#<sha256>     / SESSION            session token hash -> user,
                                              ``issued_at`` (TTL)
    CONN#<connection id> / CONN               connection -> user binding (TTL)
    LIMIT#<scope>#<subj> / LIMIT              rate-limit counts: one attribute
                                              ``w<fixed window number>`` per
                                              window (TTL)
    UPLOAD#<upload id>   / UPLOAD             an upload (issue 14): owner, name,
                                              type, size, ``until`` (its expiry);
                                              ``client_id`` of the send that
                                              claimed it, or else the TTL

Issue 13 added attributes, no keys: a profile's ``blocks`` and ``blocked_by``
(string sets: whom the user blocks, who blocks them; the recipient's profile is
checked in the send transaction, so a send costs no extra request); a message's
``edited_at``, ``deleted`` (a tombstone), ``withheld`` (the recipient blocks the
sender: the sender's view only) and one ``r_<username>`` = emoji per reaction;
a summary copies them as ``last_edited_at``, ``last_deleted``, ``last_r_<name>``.

Issue 14 added a message's ``att`` (its attachment: a map of id, name, type and
size; a tombstone has none), copied by a summary as ``last_att``.

GSI1 (``gsi1pk`` = ``NAME#<first letter>``, ``gsi1sk`` = username) serves the
prefix search of the ``users`` action without a Scan.
"""

from __future__ import annotations

from typing import Any

PARTITION_KEY = "pk"
SORT_KEY = "sk"
TTL_ATTRIBUTE = "expires_at"
USER_INDEX = "gsi1"
USER_INDEX_PARTITION_KEY = "gsi1pk"
USER_INDEX_SORT_KEY = "gsi1sk"
USER_INDEX_PROJECTED = ["username", "conns"]

ATTRIBUTE_DEFINITIONS: list[dict[str, str]] = [
    {"AttributeName": PARTITION_KEY, "AttributeType": "S"},
    {"AttributeName": SORT_KEY, "AttributeType": "S"},
    {"AttributeName": USER_INDEX_PARTITION_KEY, "AttributeType": "S"},
    {"AttributeName": USER_INDEX_SORT_KEY, "AttributeType": "S"},
]

KEY_SCHEMA: list[dict[str, str]] = [
    {"AttributeName": PARTITION_KEY, "KeyType": "HASH"},
    {"AttributeName": SORT_KEY, "KeyType": "RANGE"},
]

GLOBAL_SECONDARY_INDEXES: list[dict[str, Any]] = [
    {
        "IndexName": USER_INDEX,
        "KeySchema": [
            {"AttributeName": USER_INDEX_PARTITION_KEY, "KeyType": "HASH"},
            {"AttributeName": USER_INDEX_SORT_KEY, "KeyType": "RANGE"},
        ],
        "Projection": {
            "ProjectionType": "INCLUDE",
            "NonKeyAttributes": USER_INDEX_PROJECTED,
        },
    }
]

BILLING_MODE = "PAY_PER_REQUEST"


def create_table_kwargs(table_name: str) -> dict[str, Any]:
    """Arguments for boto3's ``create_table`` (TTL is a separate call)."""
    return {
        "TableName": table_name,
        "AttributeDefinitions": ATTRIBUTE_DEFINITIONS,
        "KeySchema": KEY_SCHEMA,
        "GlobalSecondaryIndexes": GLOBAL_SECONDARY_INDEXES,
        "BillingMode": BILLING_MODE,
    }


def ensure_table(client: Any, table_name: str) -> bool:
    """Create the table and enable TTL when missing; True when it was created."""
    try:
        client.describe_table(TableName=table_name)
        return False
    except client.exceptions.ResourceNotFoundException:
        pass
    client.create_table(**create_table_kwargs(table_name))
    client.get_waiter("table_exists").wait(TableName=table_name)
    client.update_time_to_live(
        TableName=table_name,
        TimeToLiveSpecification={"Enabled": True, "AttributeName": TTL_ATTRIBUTE},
    )
    return True
