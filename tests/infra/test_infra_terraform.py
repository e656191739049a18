"""The packaged Terraform module (build/terraform): overrides applied, references resolved."""

from __future__ import annotations

import json
import re
from typing import Any

from infra import spec, tfcheck
from infra import tf as tfgen
from tests.infra.conftest import ROOT, Packaged

FUNCTIONS = [name for name, _ in spec.FUNCTIONS]


def unescape(text: str) -> str:
    return text.replace("$${", "${").replace("%%{", "%{")


def test_module_files(packaged: Packaged) -> None:
    names = sorted(p.name for p in packaged.terraform.iterdir())
    assert names == sorted(
        [
            "addon.tf.json",
            "chalice.tf.json",
            "chalice_locals.tf.json",
            "chalice_override.tf.json",
            "deployment.zip",
        ]
    )


def test_every_reference_resolves(tf: dict[str, Any]) -> None:
    assert tfcheck.problems(tf) == []


def test_stage_override_keeps_chalices_arguments_and_adds_settings(tf: dict[str, Any]) -> None:
    stage = tf["resource"]["aws_apigatewayv2_stage"]["websocket_api_stage"]
    assert stage["name"] == "dev"
    assert stage["api_id"] == "${aws_apigatewayv2_api.websocket_api.id}"
    assert stage["deployment_id"].startswith("${aws_apigatewayv2_deployment.")
    settings = stage["default_route_settings"]
    assert settings == {
        "throttling_burst_limit": spec.THROTTLING_BURST_LIMIT,
        "throttling_rate_limit": spec.THROTTLING_RATE_LIMIT,
        "logging_level": "INFO",
        "data_trace_enabled": False,
        "detailed_metrics_enabled": True,
    }
    access = stage["access_log_settings"]
    assert access["destination_arn"] == "${aws_cloudwatch_log_group.stage_access.arn}"
    assert unescape(access["format"]) == spec.ACCESS_LOG_FORMAT


def test_stage_waits_for_the_account_setting_and_its_log_groups(tf: dict[str, Any]) -> None:
    # depends_on may not appear in an override block; the chain goes through
    # the access log group the stage references.
    groups = tf["resource"]["aws_cloudwatch_log_group"]
    needs = set(groups["stage_access"]["depends_on"])
    assert "aws_api_gateway_account.this" in needs
    assert "aws_cloudwatch_log_group.stage_execution" in needs
    assert {f"aws_cloudwatch_log_group.{name}" for name in FUNCTIONS} <= needs


def test_functions_get_the_table_name_and_keep_chalices_environment(
    tf: dict[str, Any], packaged: Packaged
) -> None:
    chalice_tf = json.loads((packaged.terraform / "chalice.tf.json").read_text())
    assert tf["locals"]["chat_store"] == "dynamodb:${aws_dynamodb_table.chat.name}"
    for name in FUNCTIONS:
        function = tf["resource"]["aws_lambda_function"][name]
        assert function["environment"] == {
            "variables": "${merge(local.chalice_environment, "
            "{CHAT_STORE = local.chat_store, CHAT_BLOBS = local.chat_blobs})}"
        }
        original = chalice_tf["resource"]["aws_lambda_function"][name]
        assert function["handler"] == original["handler"]
        expected = dict(original["environment"]["variables"])
        expected.pop("CHAT_STORE")
        expected.pop("CHAT_BLOBS", None)  # present once infra/deploy-chalice.sh wrote it
        assert tf["locals"]["chalice_environment"] == expected
    assert tf["locals"]["stage"] == "dev"
    assert tf["locals"]["app"] == spec.app_name()


def test_api_gateway_account_with_its_cloudwatch_role(tf: dict[str, Any]) -> None:
    resources = tf["resource"]
    account = resources["aws_api_gateway_account"]["this"]
    assert account["cloudwatch_role_arn"] == "${aws_iam_role.apigateway_cloudwatch.arn}"
    role = resources["aws_iam_role"]["apigateway_cloudwatch"]
    trust = json.loads(role["assume_role_policy"])["Statement"]
    assert [s["Principal"] for s in trust] == [{"Service": "apigateway.amazonaws.com"}]
    attachment = resources["aws_iam_role_policy_attachment"]["apigateway_cloudwatch"]
    assert attachment["policy_arn"].endswith(
        ":iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs"
    )


def test_log_groups_with_retention(tf: dict[str, Any]) -> None:
    groups = tf["resource"]["aws_cloudwatch_log_group"]
    assert sorted(groups) == sorted([*FUNCTIONS, "stage_access", "stage_execution"])
    for name in FUNCTIONS:
        assert groups[name]["name"] == f"/aws/lambda/${{aws_lambda_function.{name}.function_name}}"
    assert groups["stage_execution"]["name"] == (
        "API-Gateway-Execution-Logs_${aws_apigatewayv2_api.websocket_api.id}/${local.stage}"
    )
    for name, group in groups.items():
        assert group["retention_in_days"] == spec.LOG_RETENTION_DAYS, name


def test_amplify_app_and_branch(tf: dict[str, Any]) -> None:
    front = spec.frontend()
    assert front.missing == (), f"missing frontend inputs: {front.missing}"
    app = tf["resource"]["aws_amplify_app"]["frontend"]
    assert app["count"] == "${length(var.github_repository) > 0 ? 1 : 0}"
    assert app["repository"] == "${var.github_repository}"
    assert app["access_token"] == "${var.github_access_token}"
    assert tf["variable"]["github_access_token"]["sensitive"] is True
    assert unescape(app["build_spec"]) == (ROOT / "frontend" / "amplify.yml").read_text()
    assert tfcheck.template_expressions(app["build_spec"]) == []  # a literal, not a template
    assert unescape(app["custom_headers"]) == front.custom_headers_yaml(
        "${local.attachments_origin}"
    )
    assert app["custom_rule"] == [
        {
            "source": tfgen.literal(spec.SPA_REWRITE_SOURCE),
            "target": "/index.html",
            "status": "200",
        }
    ]
    assert app["environment_variables"]["CHAT_WEBSOCKET_URL"] == "${local.websocket_url}"
    assert app["environment_variables"]["AMPLIFY_MONOREPO_APP_ROOT"] == front.app_root
    branch = tf["resource"]["aws_amplify_branch"]["frontend"]
    assert branch["app_id"] == "${aws_amplify_app.frontend[0].id}"
    assert branch["branch_name"] == "${var.github_branch}"


def test_outputs_form_the_websocket_and_callback_urls(tf: dict[str, Any]) -> None:
    outputs = tf["output"]
    assert outputs["websocket_url"]["value"] == "${local.websocket_url}"
    assert outputs["connections_callback_url"]["value"] == "${local.connections_callback_url}"
    values = {
        "aws_apigatewayv2_api.websocket_api.id": "a1b2c3d4e5",
        "data.aws_region.chalice.name": "eu-west-1",
        "data.aws_partition.chalice.dns_suffix": "amazonaws.com",
        "local.stage": "dev",
    }

    def render(template: str) -> str:
        return re.sub(r"\$\{([^}]+)\}", lambda m: values[m.group(1)], template)

    assert render(tf["locals"]["websocket_url"]) == (
        "wss://a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com/dev"
    )
    assert render(tf["locals"]["connections_callback_url"]) == (
        "https://a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com/dev"
    )


def test_versions_allow_amplify_custom_headers_and_account_reset(tf: dict[str, Any]) -> None:
    aws = tf["terraform"]["required_providers"]["aws"]
    # custom_headers since 5.24; reset_on_delete in 5.87 (and gone in 6.0)
    assert aws["version"] == ">= 5.87.0, < 6.0.0"
    # a variable validation that names another variable needs Terraform 1.9
    assert tf["terraform"]["required_version"].startswith(">= 1.9.0")
    assert tf["terraform"]["backend"] == {"local": {}}


def test_destroy_resets_the_account_setting(tf: dict[str, Any]) -> None:
    assert tf["resource"]["aws_api_gateway_account"]["this"]["reset_on_delete"] is True


def test_a_repository_without_a_token_is_refused_by_variable_validation(
    tf: dict[str, Any],
) -> None:
    (rule,) = tf["variable"]["github_access_token"]["validation"]
    assert rule["condition"] == (
        '${var.github_repository == "" || var.github_access_token != ""}'
    )
    assert "github_access_token is required" in rule["error_message"]


def test_the_packaged_module_needs_only_the_aws_provider(packaged: Packaged) -> None:
    chalice_tf = json.loads((packaged.terraform / "chalice.tf.json").read_text())
    assert set(chalice_tf["terraform"]["required_providers"]) == {"aws"}
    assert "null_data_source" not in json.dumps(chalice_tf)
