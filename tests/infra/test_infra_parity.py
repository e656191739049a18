"""The deployment paths agree with each other and with the table local runs create."""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

import boto3

from chalicelib.store import schema
from infra import chalice_stage, policy, spec
from tests.infra.conftest import ROOT
from tests.infra.intrinsics import ACCOUNT, REGION, evaluate

Table = dict[str, Any]


def from_cfn(props: dict[str, Any]) -> Table:
    keys = {k["KeyType"]: k["AttributeName"] for k in props["KeySchema"]}
    return {
        "keys": (keys["HASH"], keys["RANGE"]),
        "attributes": {
            a["AttributeName"]: a["AttributeType"] for a in props["AttributeDefinitions"]
        },
        "indexes": {
            g["IndexName"]: (
                tuple(k["AttributeName"] for k in g["KeySchema"]),
                g["Projection"]["ProjectionType"],
                sorted(g["Projection"].get("NonKeyAttributes", [])),
            )
            for g in props["GlobalSecondaryIndexes"]
        },
        "ttl": props["TimeToLiveSpecification"]["AttributeName"]
        if props["TimeToLiveSpecification"]["Enabled"]
        else None,
        "billing": props["BillingMode"],
    }


def from_tf(table: dict[str, Any]) -> Table:
    return {
        "keys": (table["hash_key"], table["range_key"]),
        "attributes": {a["name"]: a["type"] for a in table["attribute"]},
        "indexes": {
            g["name"]: (
                (g["hash_key"], g["range_key"]),
                g["projection_type"],
                sorted(g.get("non_key_attributes", [])),
            )
            for g in table["global_secondary_index"]
        },
        "ttl": table["ttl"]["attribute_name"] if table["ttl"]["enabled"] else None,
        "billing": table["billing_mode"],
    }


def from_dynamodb(endpoint: str) -> Table:
    """The table local runs and tests create (schema.ensure_table), as DynamoDB describes it."""
    client = boto3.client("dynamodb", endpoint_url=endpoint)
    name = f"parity-{uuid.uuid4().hex[:8]}"
    schema.ensure_table(client, name)
    try:
        described = client.describe_table(TableName=name)["Table"]
        ttl = client.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
    finally:
        client.delete_table(TableName=name)
    keys = {k["KeyType"]: k["AttributeName"] for k in described["KeySchema"]}
    return {
        "keys": (keys["HASH"], keys["RANGE"]),
        "attributes": {
            a["AttributeName"]: a["AttributeType"] for a in described["AttributeDefinitions"]
        },
        "indexes": {
            g["IndexName"]: (
                tuple(k["AttributeName"] for k in g["KeySchema"]),
                g["Projection"]["ProjectionType"],
                sorted(g["Projection"].get("NonKeyAttributes", [])),
            )
            for g in described["GlobalSecondaryIndexes"]
        },
        "ttl": ttl["AttributeName"] if ttl["TimeToLiveStatus"] == "ENABLED" else None,
        "billing": described["BillingModeSummary"]["BillingMode"],
    }


def base_stack() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(
        (ROOT / "infra" / "cloudformation" / "chalice-deploy.json").read_text()
    )
    return data


def test_the_table_is_the_same_everywhere(
    sam: dict[str, Any], tf: dict[str, Any], moto_endpoint: str
) -> None:
    local = from_dynamodb(moto_endpoint)
    assert local["keys"] == (schema.PARTITION_KEY, schema.SORT_KEY)
    assert local["ttl"] == schema.TTL_ATTRIBUTE
    assert local["indexes"][schema.USER_INDEX][1] == "INCLUDE"
    assert from_cfn(sam["Resources"]["ChatTable"]["Properties"]) == local
    assert from_cfn(base_stack()["Resources"]["ChatTable"]["Properties"]) == local
    assert from_tf(tf["resource"]["aws_dynamodb_table"]["chat"]) == local


def test_encryption_and_recovery_agree(sam: dict[str, Any], tf: dict[str, Any]) -> None:
    for props in (
        sam["Resources"]["ChatTable"]["Properties"],
        base_stack()["Resources"]["ChatTable"]["Properties"],
    ):
        assert props["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
        assert props["SSESpecification"]["SSEEnabled"] is True
    table = tf["resource"]["aws_dynamodb_table"]["chat"]
    assert table["point_in_time_recovery"] == {"enabled": True}
    assert table["server_side_encryption"] == {"enabled": True}


def test_throttling_logging_and_access_log_format_agree(
    sam: dict[str, Any], tf: dict[str, Any]
) -> None:
    cfn_stage = sam["Resources"]["WebsocketAPIStage"]["Properties"]
    tf_stage = tf["resource"]["aws_apigatewayv2_stage"]["websocket_api_stage"]
    cli = spec.route_settings()
    assert cfn_stage["DefaultRouteSettings"] == cli
    tf_settings = tf_stage["default_route_settings"]
    assert {
        "ThrottlingBurstLimit": tf_settings["throttling_burst_limit"],
        "ThrottlingRateLimit": tf_settings["throttling_rate_limit"],
        "LoggingLevel": tf_settings["logging_level"],
        "DataTraceEnabled": tf_settings["data_trace_enabled"],
        "DetailedMetricsEnabled": tf_settings["detailed_metrics_enabled"],
    } == cli
    formats = {
        cfn_stage["AccessLogSettings"]["Format"],
        tf_stage["access_log_settings"]["format"],
        chalice_stage.access_log_settings("arn")["Format"],
    }
    assert formats == {spec.ACCESS_LOG_FORMAT}


def test_access_log_lines_are_json_whatever_the_error_says() -> None:
    # What API Gateway substitutes: plain values in quotes, messageString already
    # quoted and escaped (JSON string syntax).
    def line(error: str) -> str:
        out = spec.ACCESS_LOG_FORMAT.replace("$context.error.messageString", json.dumps(error))
        return re.sub(r"\$context\.[\w.]+", "x", out)

    for error in ("", 'Forbidden "route"', "Internal server error\n"):
        record = json.loads(line(error))
        assert record["error"] == error
        assert {"requestId", "connectionId", "routeKey", "status", "integrationStatus"} <= set(
            record
        )


def test_log_retention_agrees(sam: dict[str, Any], tf: dict[str, Any]) -> None:
    retention = set()
    for template in (sam, base_stack()):
        for resource in template["Resources"].values():
            if resource["Type"] == "AWS::Logs::LogGroup":
                retention.add(resource["Properties"]["RetentionInDays"])
    for group in tf["resource"]["aws_cloudwatch_log_group"].values():
        retention.add(group["retention_in_days"])
    assert retention == {spec.LOG_RETENTION_DAYS}


def test_amplify_settings_agree(sam: dict[str, Any], tf: dict[str, Any]) -> None:
    cfn_apps = [sam["Resources"]["AmplifyApp"], base_stack()["Resources"]["AmplifyApp"]]
    tf_app = tf["resource"]["aws_amplify_app"]["frontend"]

    def unescape(text: str) -> str:
        return text.replace("$${", "${").replace("%%{", "%{")

    tf_headers = unescape(tf_app["custom_headers"]).replace("${local.attachments_origin}", "O")
    for app in cfn_apps:
        props = app["Properties"]
        assert props["BuildSpec"] == unescape(tf_app["build_spec"])
        template, _ = props["CustomHeaders"]["Fn::Sub"]
        assert template.replace("${AttachmentsOrigin}", "O") == tf_headers
        (rule,) = props["CustomRules"]
        (tf_rule,) = tf_app["custom_rule"]
        assert (rule["Source"], rule["Target"], rule["Status"]) == (
            unescape(tf_rule["source"]),
            tf_rule["target"],
            tf_rule["status"],
        )
        names = {v["Name"] for v in props["EnvironmentVariables"]}
        assert names == set(tf_app["environment_variables"])


def camel(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("_"))


def bucket_from_cfn(props: dict[str, Any]) -> dict[str, Any]:
    (sse,) = props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    (ownership,) = props["OwnershipControls"]["Rules"]
    (cors,) = props["CorsConfiguration"]["Fn::If"][1]["CorsRules"]
    pending, multipart = props["LifecycleConfiguration"]["Rules"]
    return {
        "public_access_block": props["PublicAccessBlockConfiguration"],
        "sse": sse["ServerSideEncryptionByDefault"]["SSEAlgorithm"],
        "ownership": ownership["ObjectOwnership"],
        "cors": (
            sorted(cors["AllowedMethods"]),
            sorted(cors.get("AllowedHeaders", [])),
            sorted(cors["ExposedHeaders"]),
            cors["MaxAge"],
        ),
        "expire": (
            pending["Status"],
            pending["Prefix"],
            {t["Key"]: t["Value"] for t in pending["TagFilters"]},
            pending["ExpirationInDays"],
        ),
        "abort": (
            multipart["Status"],
            multipart.get("Prefix", ""),
            multipart["AbortIncompleteMultipartUpload"]["DaysAfterInitiation"],
        ),
    }


def bucket_from_tf(resources: dict[str, Any]) -> dict[str, Any]:
    pab = resources["aws_s3_bucket_public_access_block"]["attachments"]
    sse = resources["aws_s3_bucket_server_side_encryption_configuration"]["attachments"]
    ownership = resources["aws_s3_bucket_ownership_controls"]["attachments"]
    cors = resources["aws_s3_bucket_cors_configuration"]["attachments"]["cors_rule"]
    pending, multipart = resources["aws_s3_bucket_lifecycle_configuration"]["attachments"]["rule"]
    return {
        "public_access_block": {camel(k): v for k, v in pab.items() if k != "bucket"},
        "sse": sse["rule"]["apply_server_side_encryption_by_default"]["sse_algorithm"],
        "ownership": ownership["rule"]["object_ownership"],
        "cors": (
            sorted(cors["allowed_methods"]),
            sorted(cors.get("allowed_headers", [])),
            sorted(cors["expose_headers"]),
            cors["max_age_seconds"],
        ),
        "expire": (
            pending["status"],
            pending["filter"]["and"]["prefix"],
            pending["filter"]["and"]["tags"],
            pending["expiration"]["days"],
        ),
        "abort": (
            multipart["status"],
            multipart["filter"].get("prefix", ""),
            multipart["abort_incomplete_multipart_upload"]["days_after_initiation"],
        ),
    }


def test_attachments_bucket_settings_agree(sam: dict[str, Any], tf: dict[str, Any]) -> None:
    """The CloudFormation path, the `chalice deploy` path (its base stack) and Terraform."""
    expected = {
        "public_access_block": spec.PUBLIC_ACCESS_BLOCK,
        "sse": "AES256",
        "ownership": "BucketOwnerEnforced",
        "cors": (["GET", "HEAD", "POST"], [], ["ETag"], spec.CORS_MAX_AGE_SECONDS),
        "expire": ("Enabled", "attachments/", {"chat-state": "pending"}, 1),
        "abort": ("Enabled", "", 1),
    }
    assert bucket_from_cfn(sam["Resources"]["AttachmentsBucket"]["Properties"]) == expected
    base = base_stack()["Resources"]["AttachmentsBucket"]["Properties"]
    assert bucket_from_cfn(base) == expected
    assert bucket_from_tf(tf["resource"]) == expected


def test_attachments_bucket_names_agree_where_they_are_fixed(tf: dict[str, Any]) -> None:
    """`chalice deploy` and Terraform name the bucket alike (as their table); the
    committed policy files name it with wildcards for account and region."""
    base = base_stack()["Resources"]["AttachmentsBucket"]["Properties"]["BucketName"]
    from_base = evaluate(base, {"Stage": "dev"})
    from_tf = tf["locals"]["attachments_bucket"]
    for name, value in (
        ("local.app", spec.app_name()),
        ("local.stage", "dev"),
        ("data.aws_caller_identity.chalice.account_id", ACCOUNT),
        ("data.aws_region.chalice.name", REGION),
    ):
        from_tf = from_tf.replace(f"${{{name}}}", value)
    assert from_base == from_tf == spec.attachments_bucket_name("dev", ACCOUNT, REGION)
    committed = json.loads((ROOT / ".chalice" / "policy-dev.json").read_text())
    (objects,) = (s for s in committed["Statement"] if s["Sid"] == "AttachmentObjects")
    assert re.fullmatch(
        r"arn:aws:s3:::serverless-chat-dev-attachments-(\*|\d{12})-(\*|[a-z0-9-]+)/attachments/\*",
        objects["Resource"][0],
    )


def test_tls_only_bucket_policies_agree(sam: dict[str, Any], tf: dict[str, Any]) -> None:
    documents = [
        evaluate(
            t["Resources"]["AttachmentsBucketPolicy"]["Properties"]["PolicyDocument"],
            {"AttachmentsBucket.Arn": "BUCKET"},
        )
        for t in (sam, base_stack())
    ]
    documents.append(
        json.loads(
            json.dumps(tf["locals"]["attachments_bucket_policy"]).replace(
                "${aws_s3_bucket.attachments.arn}", "BUCKET"
            )
        )
    )
    expected = policy.tls_only_bucket_policy("BUCKET", "BUCKET/*")
    assert documents == [expected] * 3


def test_chat_blobs_agrees(sam: dict[str, Any], tf: dict[str, Any]) -> None:
    bucket = evaluate(sam["Resources"]["AttachmentsBucket"]["Properties"]["BucketName"])
    variables = sam["Resources"]["WebsocketMessage"]["Properties"]["Environment"]["Variables"]
    assert evaluate(variables["CHAT_BLOBS"]) == spec.chat_blobs(bucket)
    assert tf["locals"]["chat_blobs"] == spec.chat_blobs("${aws_s3_bucket.attachments.bucket}")
    # the `chalice deploy` path: tests/infra/test_infra_deploy_scripts.py
    assert spec.chat_blobs("b") == "s3://b/attachments/" and spec.ATTACHMENTS_PREFIX.endswith("/")


def test_frontend_origin_reaches_every_path() -> None:
    for template in (
        json.loads((ROOT / "infra" / "cloudformation" / "resources.json").read_text()),
        base_stack(),
    ):
        assert template["Parameters"]["FrontendOrigin"]["Default"] == ""
    scripts = {
        name: (ROOT / "infra" / name).read_text()
        for name in ("deploy-cfn.sh", "deploy-chalice.sh", "deploy-tf.sh")
    }
    assert '"FrontendOrigin=${FRONTEND_ORIGIN:-}"' in scripts["deploy-cfn.sh"]
    assert 'frontend_origin="${FRONTEND_ORIGIN:-}"' in scripts["deploy-chalice.sh"]
    assert '"FrontendOrigin=$frontend_origin"' in scripts["deploy-chalice.sh"]
    assert 'TF_VAR_frontend_origin="${FRONTEND_ORIGIN:-}"' in scripts["deploy-tf.sh"]
