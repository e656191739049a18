"""The packaged SAM template (build/cloudformation/sam.json): cfn-lint and every add-on property."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import zipfile
from pathlib import Path
from typing import Any

import yaml
from cfnlint.api import ManualArgs, lint_file

from infra import cfn, spec
from tests.infra.conftest import ROOT, Packaged, venv_env

FUNCTIONS = [logical for _, logical in spec.FUNCTIONS]


def lint_errors(path: Path) -> list[str]:
    matches = lint_file(path, ManualArgs(regions=["us-east-1"]))
    return [str(m) for m in matches if m.rule.id.startswith("E")]


def resources(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in template["Resources"].items() if v.get("Type") == kind}


def test_cfn_lint_reports_no_errors(packaged: Packaged) -> None:
    assert lint_errors(packaged.cloudformation / "sam.json") == []


def test_cfn_lint_does_flag_a_broken_template(packaged: Packaged, tmp_path: Path) -> None:
    broken = packaged.sam
    broken["Resources"]["ChatTable"]["Properties"]["BillingMode"] = "FREE_OF_CHARGE"
    path = tmp_path / "sam.json"
    path.write_text(json.dumps(broken))
    assert lint_errors(path), "cfn-lint found nothing wrong with an invalid BillingMode"


def test_every_resource_has_a_type(sam: dict[str, Any]) -> None:
    # A merge-template entry whose logical id Chalice doesn't generate would
    # end up here as a typeless resource.
    untyped = [k for k, v in sam["Resources"].items() if "Type" not in v]
    assert untyped == []


def test_table_is_on_demand_with_ttl_pitr_and_encryption(sam: dict[str, Any]) -> None:
    table = sam["Resources"]["ChatTable"]
    assert table["Type"] == "AWS::DynamoDB::Table"
    props = table["Properties"]
    assert props == cfn.table_properties()
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert props["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}
    assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert props["SSESpecification"] == {"SSEEnabled": True}
    assert "TableName" not in props  # generated, so stacks of two stages never collide


def test_the_table_name_is_in_every_functions_environment(sam: dict[str, Any]) -> None:
    functions = resources(sam, "AWS::Serverless::Function")
    assert sorted(functions) == sorted(FUNCTIONS)
    for name, function in functions.items():
        variables = function["Properties"]["Environment"]["Variables"]
        assert variables["CHAT_STORE"] == {"Fn::Sub": "dynamodb:${ChatTable}"}, name
        assert variables["CHAT_BLOBS"] == cfn.chat_blobs(cfn.stack_bucket_name()), name
        assert variables["CHAT_LOG_LEVEL"] == "INFO", name  # Chalice's own values stay


def test_api_gateway_has_a_cloudwatch_role_through_the_account_setting(
    sam: dict[str, Any],
) -> None:
    role = sam["Resources"]["ApiGatewayCloudWatchRole"]
    assert role["Type"] == "AWS::IAM::Role"
    trust = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert trust == [
        {
            "Effect": "Allow",
            "Principal": {"Service": "apigateway.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ]
    (managed,) = role["Properties"]["ManagedPolicyArns"]
    assert managed["Fn::Sub"].endswith(
        ":iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs"
    )
    account = sam["Resources"]["ApiGatewayAccount"]
    assert account["Type"] == "AWS::ApiGateway::Account"
    assert account["Properties"]["CloudWatchRoleArn"] == {
        "Fn::GetAtt": ["ApiGatewayCloudWatchRole", "Arn"]
    }


def test_stage_throttles_logs_and_waits_for_the_account_setting(sam: dict[str, Any]) -> None:
    stage = sam["Resources"]["WebsocketAPIStage"]
    assert stage["Type"] == "AWS::ApiGatewayV2::Stage"
    assert stage["Properties"]["StageName"] == "dev"
    assert "ApiGatewayAccount" in stage["DependsOn"]
    assert "StageExecutionLogGroup" in stage["DependsOn"]  # exists before the stage logs
    settings = stage["Properties"]["DefaultRouteSettings"]
    assert settings["ThrottlingBurstLimit"] == spec.THROTTLING_BURST_LIMIT
    assert settings["ThrottlingRateLimit"] == spec.THROTTLING_RATE_LIMIT
    assert settings["ThrottlingBurstLimit"] > 0 and settings["ThrottlingRateLimit"] > 0
    assert settings["LoggingLevel"] == "INFO"
    assert settings["DetailedMetricsEnabled"] is True
    assert settings["DataTraceEnabled"] is False
    assert "RouteSettings" not in stage["Properties"]
    access = stage["Properties"]["AccessLogSettings"]
    assert "${StageAccessLogGroup}" in access["DestinationArn"]["Fn::Sub"]
    assert access["Format"] == spec.ACCESS_LOG_FORMAT  # a JSON line once filled in


def test_log_groups_with_retention_for_the_stage_and_each_function(sam: dict[str, Any]) -> None:
    groups = resources(sam, "AWS::Logs::LogGroup")
    names = {k: v["Properties"]["LogGroupName"] for k, v in groups.items()}
    assert names["StageAccessLogGroup"] == {"Fn::Sub": "/aws/apigateway/${WebsocketAPI}/access"}
    # The stage name is literal, so the group does not wait for the stage.
    assert names["StageExecutionLogGroup"] == {
        "Fn::Sub": "API-Gateway-Execution-Logs_${WebsocketAPI}/dev"
    }
    for function in FUNCTIONS:
        assert names[f"{function}LogGroup"] == {"Fn::Sub": f"/aws/lambda/${{{function}}}"}
    assert len(groups) == 2 + len(FUNCTIONS)
    for name, group in groups.items():
        assert group["Properties"]["RetentionInDays"] == spec.LOG_RETENTION_DAYS, name


def spa_regex() -> re.Pattern[str]:
    source = spec.SPA_REWRITE_SOURCE
    assert source.startswith("</") and source.endswith("/>")
    return re.compile(source[2:-2])


def test_the_spa_rewrite_sends_unknown_paths_to_index_html() -> None:
    rule = spa_regex()
    for path in ("/", "/chat", "/chat/alice", "/settings/"):
        assert rule.search(path), path
    for path in ("/app.css", "/js/app.js", "/favicon.svg", "/config.js", "/data.json"):
        assert not rule.search(path), path


def test_amplify_app_and_branch(sam: dict[str, Any]) -> None:
    front = spec.frontend()
    assert front.missing == (), f"missing frontend inputs: {front.missing}"
    assert sam["Parameters"]["GitHubAccessToken"]["NoEcho"] is True
    app = sam["Resources"]["AmplifyApp"]
    assert app["Type"] == "AWS::Amplify::App"
    assert app["Condition"] == "HasRepository"
    props = app["Properties"]
    assert props["Repository"] == {"Ref": "GitHubRepository"}
    assert props["AccessToken"]["Fn::If"][1] == {"Ref": "GitHubAccessToken"}
    assert props["BuildSpec"] == (ROOT / "frontend" / "amplify.yml").read_text()
    assert props["CustomRules"] == [
        {"Source": spec.SPA_REWRITE_SOURCE, "Target": "/index.html", "Status": "200"}
    ]
    variables = {v["Name"]: v["Value"] for v in props["EnvironmentVariables"]}
    assert variables["CHAT_WEBSOCKET_URL"] == sam["Outputs"]["WebSocketURL"]["Value"]
    build_spec = yaml.safe_load(props["BuildSpec"])
    app_root = build_spec["applications"][0]["appRoot"]
    assert variables["AMPLIFY_MONOREPO_APP_ROOT"] == app_root
    # the CSP gains the bucket's origin (tests/infra/test_infra_attachments.py)
    template, variables = props["CustomHeaders"]["Fn::Sub"]
    assert set(variables) == {"AttachmentsOrigin"}
    headers_doc = yaml.safe_load(template.replace("${AttachmentsOrigin}", "https://bucket"))
    (entry,) = headers_doc["applications"]
    assert entry["appRoot"] == app_root
    (rule,) = entry["customHeaders"]
    served = {h["key"]: h["value"] for h in rule["headers"]}
    expected = json.loads((ROOT / "frontend" / "security-headers.json").read_text())
    csp = "Content-Security-Policy"
    expected[csp] = spec.with_attachments_origin(expected[csp], "https://bucket")
    assert served == expected
    branch = sam["Resources"]["AmplifyBranch"]
    assert branch["Type"] == "AWS::Amplify::Branch"
    assert branch["Condition"] == "HasRepository"
    assert branch["Properties"]["AppId"] == {"Fn::GetAtt": ["AmplifyApp", "AppId"]}
    assert branch["Properties"]["BranchName"] == {"Ref": "GitHubBranch"}


def render_sub(value: dict[str, str], names: dict[str, str]) -> str:
    return re.sub(r"\$\{([^}]+)\}", lambda m: names[m.group(1)], value["Fn::Sub"])


def test_outputs_form_the_websocket_and_callback_urls(sam: dict[str, Any]) -> None:
    names = {
        "WebsocketAPI": "a1b2c3d4e5",
        "AWS::Region": "eu-west-1",
        "AWS::URLSuffix": "amazonaws.com",
        "WebsocketAPIStage": "dev",
    }
    outputs = sam["Outputs"]
    assert render_sub(outputs["WebSocketURL"]["Value"], names) == (
        "wss://a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com/dev"
    )
    assert render_sub(outputs["ConnectionsCallbackURL"]["Value"], names) == (
        "https://a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com/dev"
    )
    assert outputs["TableName"]["Value"] == {"Ref": "ChatTable"}
    assert outputs["AttachmentsBucketName"]["Value"] == {"Ref": "AttachmentsBucket"}


def test_another_stage_packages_with_the_same_add_on(tmp_path: Path) -> None:
    out = tmp_path / "prod"
    result = subprocess.run(
        [
            "chalice",
            "package",
            "--stage",
            "prod",
            "--merge-template",
            "infra/cloudformation/resources.json",
            str(out),
        ],
        cwd=ROOT,
        env=venv_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    template = json.loads((out / "sam.json").read_text())
    assert template["Resources"]["WebsocketAPIStage"]["Properties"]["StageName"] == "prod"
    named = cfn.stage_literals(template)["Resources"]["StageExecutionLogGroup"]
    assert named["Properties"]["LogGroupName"] == {
        "Fn::Sub": "API-Gateway-Execution-Logs_${WebsocketAPI}/prod"
    }
    assert [k for k, v in template["Resources"].items() if "Type" not in v] == []
    shutil.rmtree(out)


def test_the_lambda_zip_holds_only_the_app(packaged: Packaged) -> None:
    for directory in (packaged.cloudformation, packaged.terraform):
        with zipfile.ZipFile(directory / "deployment.zip") as archive:
            tops = {name.split("/", 1)[0] for name in archive.namelist()}
        # Chalice adds its own runtime package; nothing from infra/, tests/ or frontend/.
        assert tops == {"app.py", "chalicelib", "chalice"}, directory


def test_the_account_setting_depends_on_its_role(sam: dict[str, Any]) -> None:
    for template in (sam, cfn.base_stack()):
        account = template["Resources"]["ApiGatewayAccount"]
        assert account["DependsOn"] == ["ApiGatewayCloudWatchRole"]
