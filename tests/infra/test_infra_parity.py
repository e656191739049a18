"""The deployment paths agree with each other and with the table local runs create."""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

import boto3

from chalicelib.store import schema
from infra import chalice_stage, spec
from tests.infra.conftest import ROOT

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

    for app in cfn_apps:
        props = app["Properties"]
        assert props["BuildSpec"] == unescape(tf_app["build_spec"])
        assert props["CustomHeaders"] == unescape(tf_app["custom_headers"])
        (rule,) = props["CustomRules"]
        (tf_rule,) = tf_app["custom_rule"]
        assert (rule["Source"], rule["Target"], rule["Status"]) == (
            unescape(tf_rule["source"]),
            tf_rule["target"],
            tf_rule["status"],
        )
        names = {v["Name"] for v in props["EnvironmentVariables"]}
        assert names == set(tf_app["environment_variables"])
