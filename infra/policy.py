"""The Lambda functions' least-privilege IAM statements, shared by every deployment path.

Each path supplies the ARNs in its own language (a CloudFormation intrinsic, a
Terraform reference or a literal string); the actions are fixed here. The
functions use DynamoDB's GetItem, PutItem, UpdateItem, DeleteItem, Query,
BatchGetItem and TransactWriteItems (authorised per contained item action, plus
ConditionCheckItem for its condition checks) and never Scan; they post to,
read and close connections through the stage's @connections API. In the
attachments bucket they sign uploads (PutObject, PutObjectTagging: the POST
carries the pending tag), read objects' metadata and sign downloads
(GetObject), re-tag attached ones and delete; ListBucket, limited to the
prefix, makes a HEAD of a missing key a 404 instead of a 403.
"""

from __future__ import annotations

from typing import Any

from chalicelib.store import schema
from infra import spec

TABLE_ACTIONS: tuple[str, ...] = (
    "dynamodb:BatchGetItem",
    "dynamodb:ConditionCheckItem",
    "dynamodb:DeleteItem",
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:Query",
    "dynamodb:UpdateItem",
)
INDEX_ACTIONS: tuple[str, ...] = ("dynamodb:Query",)
CONNECTION_ACTIONS: tuple[str, ...] = ("execute-api:ManageConnections",)
# POST sends a frame, GET reads a connection's info, DELETE closes it.
CONNECTION_METHODS: tuple[str, ...] = ("POST", "GET", "DELETE")
LOG_ACTIONS: tuple[str, ...] = ("logs:CreateLogStream", "logs:PutLogEvents")
OBJECT_ACTIONS: tuple[str, ...] = (
    "s3:DeleteObject",
    "s3:GetObject",
    "s3:PutObject",
    "s3:PutObjectTagging",
)
LIST_ACTIONS: tuple[str, ...] = ("s3:ListBucket",)

# boto3 DynamoDB client methods -> the IAM actions they need.
CLIENT_METHOD_ACTIONS: dict[str, tuple[str, ...]] = {
    "get_item": ("dynamodb:GetItem",),
    "put_item": ("dynamodb:PutItem",),
    "update_item": ("dynamodb:UpdateItem",),
    "delete_item": ("dynamodb:DeleteItem",),
    "query": ("dynamodb:Query",),
    "batch_get_item": ("dynamodb:BatchGetItem",),
    "transact_write_items": (
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
        "dynamodb:DeleteItem",
        "dynamodb:ConditionCheckItem",
    ),
    "scan": ("dynamodb:Scan",),
    "batch_write_item": ("dynamodb:BatchWriteItem",),
    "transact_get_items": ("dynamodb:GetItem",),
    "describe_table": ("dynamodb:DescribeTable",),
    "create_table": ("dynamodb:CreateTable",),
    "update_time_to_live": ("dynamodb:UpdateTimeToLive",),
}

# boto3 S3 client methods of chalicelib/blobs/s3.py -> the IAM actions they need
# (a presigned request is authorised as the request it signs; the POST carries a
# tagging field, so it needs PutObjectTagging besides PutObject).
S3_METHOD_ACTIONS: dict[str, tuple[str, ...]] = {
    "generate_presigned_post": ("s3:PutObject", "s3:PutObjectTagging"),
    "generate_presigned_url": ("s3:GetObject",),  # get_object only (checked by the test)
    "head_object": ("s3:GetObject", "s3:ListBucket"),  # ListBucket: 404, not 403, if missing
    "put_object_tagging": ("s3:PutObjectTagging",),
    "delete_object": ("s3:DeleteObject",),
    "get_object": ("s3:GetObject",),
    "put_object": ("s3:PutObject",),
    "list_objects_v2": ("s3:ListBucket",),
    "copy_object": ("s3:GetObject", "s3:PutObject"),
    "delete_objects": ("s3:DeleteObject",),
    "put_object_acl": ("s3:PutObjectAcl",),
}

Arn = Any  # a literal string or a template expression


def dynamodb_statements(table_arn: Arn, index_arn: Arn) -> list[dict[str, Any]]:
    return [
        {
            "Sid": "ChatTable",
            "Effect": "Allow",
            "Action": list(TABLE_ACTIONS),
            "Resource": [table_arn],
        },
        {
            "Sid": "ChatTableUserIndex",
            "Effect": "Allow",
            "Action": list(INDEX_ACTIONS),
            "Resource": [index_arn],
        },
    ]


def connections_statement(connection_arns: list[Arn]) -> dict[str, Any]:
    return {
        "Sid": "ManageConnections",
        "Effect": "Allow",
        "Action": list(CONNECTION_ACTIONS),
        "Resource": connection_arns,
    }


def logs_statement(log_group_arns: list[Arn]) -> dict[str, Any]:
    return {
        "Sid": "FunctionLogs",
        "Effect": "Allow",
        "Action": list(LOG_ACTIONS),
        "Resource": log_group_arns,
    }


def attachments_statements(objects_arn: Arn, bucket_arn: Arn) -> list[dict[str, Any]]:
    """``objects_arn`` is ``<bucket ARN>/<prefix>*``, in the path's own language."""
    return [
        {
            "Sid": "AttachmentObjects",
            "Effect": "Allow",
            "Action": list(OBJECT_ACTIONS),
            "Resource": [objects_arn],
        },
        {
            "Sid": "AttachmentsList",
            "Effect": "Allow",
            "Action": list(LIST_ACTIONS),
            "Resource": [bucket_arn],
            "Condition": {"StringLike": {"s3:prefix": f"{spec.ATTACHMENTS_PREFIX}*"}},
        },
    ]


def tls_only_bucket_policy(bucket_arn: Arn, all_objects_arn: Arn) -> dict[str, Any]:
    """The bucket policy: every request over plain HTTP is refused. Deny statements
    narrow, so this one names every S3 action (the one wildcard action of the infra:
    a list would leave out actions added later)."""
    return document(
        [
            {
                "Sid": "DenyInsecureTransport",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:*",
                "Resource": [bucket_arn, all_objects_arn],
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            }
        ]
    )


def document(statements: list[dict[str, Any]]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": statements}


def chalice_policy(
    app: str,
    stage: str,
    table: str,
    bucket: str | None = None,
    *,
    partition: str = "aws",
    region: str = "*",
    account: str = "*",
    api_id: str = "*",
) -> dict[str, Any]:
    """The policy file for `chalice deploy` (.chalice/policy-<stage>.json).

    Before the first deploy the region, account and API id are unknown and
    stay wildcards inside otherwise fully named ARNs (the bucket, when not
    given, is the base stack's name for that account and region);
    infra/deploy-chalice.sh rewrites the file with the real values, the API id
    after the first deploy.
    """
    table_arn = f"arn:{partition}:dynamodb:{region}:{account}:table/{table}"
    bucket = bucket or spec.attachments_bucket_name(stage, account, region)
    bucket_arn = f"arn:{partition}:s3:::{bucket}"
    functions = [f"{app}-{stage}-{resource}" for resource, _ in spec.FUNCTIONS]
    return document(
        [
            *dynamodb_statements(table_arn, f"{table_arn}/index/{schema.USER_INDEX}"),
            *attachments_statements(f"{bucket_arn}/{spec.ATTACHMENTS_PREFIX}*", bucket_arn),
            connections_statement(
                [
                    f"arn:{partition}:execute-api:{region}:{account}:{api_id}/{stage}/{method}"
                    "/@connections/*"
                    for method in CONNECTION_METHODS
                ]
            ),
            logs_statement(
                [
                    f"arn:{partition}:logs:{region}:{account}:log-group:/aws/lambda/{name}:*"
                    for name in functions
                ]
            ),
        ]
    )
