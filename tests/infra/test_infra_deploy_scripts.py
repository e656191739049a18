"""The deploy scripts and .chalice/ set-up, run against stand-ins for the aws, chalice and
terraform commands (AWS itself is the one thing mocked: nothing leaves the machine)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import botocore.session
import pytest
from botocore.validate import validate_parameters
from cfnlint.api import ManualArgs, lint_file

from infra import chalice_stage, spec
from tests.infra.conftest import ROOT

API_ID = "a1b2c3d4e5"
ACCOUNT = "123456789012"
OUTPUTS = {
    "TableName": "serverless-chat-dev",
    "AttachmentsBucketName": f"serverless-chat-dev-attachments-{ACCOUNT}-us-east-1",
    "StageAccessLogGroupArn": f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:/x/access",
    "WebSocketURL": f"wss://{API_ID}.execute-api.us-east-1.amazonaws.com/dev",
    "ConnectionsCallbackURL": f"https://{API_ID}.execute-api.us-east-1.amazonaws.com/dev",
    "AmplifyURL": "https://main.d1.amplifyapp.com",
}

AWS_STUB = r"""
import json, os, re, sys
args = sys.argv[1:]
with open(os.environ["STUB_LOG"], "a") as log:
    log.write(json.dumps(["aws", *args]) + "\n")
def opt(name):
    return args[args.index(name) + 1]
if args[:2] == ["sts", "get-caller-identity"]:
    print(os.environ["STUB_ACCOUNT"] if opt("--query") == "Account"
          else f"arn:aws:iam::{os.environ['STUB_ACCOUNT']}:user/dev")
elif args[:2] == ["configure", "get"]:
    print("us-east-1")
elif args[:2] == ["cloudformation", "describe-stacks"]:
    key = re.search(r"OutputKey=='(\w+)'", opt("--query")).group(1)
    print(json.loads(os.environ["STUB_OUTPUTS"])[key])
elif args[:2] == ["cloudformation", "package"]:
    open(opt("--output-template-file"), "w").write("{}")
elif args[:2] == ["s3api", "head-bucket"]:
    sys.exit(1)
elif args[:2] in (["cloudformation", "deploy"], ["apigatewayv2", "update-stage"], ["s3", "mb"]):
    pass
else:
    sys.exit(f"unexpected aws call: {args}")
"""

CHALICE_STUB = r"""
import json, os, sys
args = sys.argv[1:]
stage = args[args.index("--stage") + 1]
policy = open(f".chalice/policy-{stage}.json").read()
with open(os.environ["STUB_LOG"], "a") as log:
    log.write(json.dumps(["chalice", *args, {"policy": json.loads(policy)}]) + "\n")
assert args[0] == "deploy", args
os.makedirs(".chalice/deployed", exist_ok=True)
record = {"resources": [{"name": "websocket_api", "resource_type": "websocket_api",
          "websocket_api_id": os.environ["STUB_API_ID"]}], "schema_version": "2.0"}
json.dump(record, open(f".chalice/deployed/{stage}.json", "w"))
"""

TERRAFORM_STUB = r"""
import json, os, sys
args = sys.argv[1:]
with open(os.environ["STUB_LOG"], "a") as log:
    log.write(json.dumps(["terraform", *args]) + "\n")
if "output" in args:
    print("wss://stub")
"""


class Sandbox:
    """A copy of the parts of the project the scripts touch, with stub commands first on PATH."""

    def __init__(self, tmp_path: Path) -> None:
        self.root = tmp_path / "project"
        for part in ("infra", "chalicelib", ".chalice", "frontend"):
            shutil.copytree(
                ROOT / part,
                self.root / part,
                ignore=shutil.ignore_patterns("__pycache__", "deployed", "deployments"),
            )
        self.bin = tmp_path / "bin"
        self.bin.mkdir()
        for name, body in (
            ("aws", AWS_STUB),
            ("chalice", CHALICE_STUB),
            ("terraform", TERRAFORM_STUB),
        ):
            stub = self.bin / name
            stub.write_text(f"#!{sys.executable}\n{body}")
            stub.chmod(0o755)
        self.log = tmp_path / "calls.jsonl"

    def run(self, script: str, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
        environ = dict(os.environ)
        environ.update(
            PATH=f"{self.bin}{os.pathsep}{ROOT / '.venv' / 'bin'}{os.pathsep}{environ['PATH']}",
            STUB_LOG=str(self.log),
            STUB_ACCOUNT=ACCOUNT,
            STUB_API_ID=API_ID,
            STUB_OUTPUTS=json.dumps(OUTPUTS),
        )
        for name in ("GITHUB_REPOSITORY", "GITHUB_TOKEN", "GITHUB_BRANCH", "STAGE"):
            environ.pop(name, None)
        environ.update(env)
        return subprocess.run(
            ["bash", str(self.root / "infra" / script), *args],
            cwd=self.root,
            env=environ,
            capture_output=True,
            text=True,
            timeout=120,
        )

    def calls(self) -> list[list[Any]]:
        if not self.log.exists():
            return []
        return [json.loads(line) for line in self.log.read_text().splitlines()]


def overrides(call: list[Any]) -> dict[str, str]:
    start = call.index("--parameter-overrides") + 1
    return dict(arg.split("=", 1) for arg in call[start:])


def test_chalice_config_stages_and_policy_files() -> None:
    config = json.loads((ROOT / ".chalice" / "config.json").read_text())
    assert sorted(config["stages"]) == ["dev", "prod"]
    for stage, settings in config["stages"].items():
        assert settings["autogen_policy"] is False
        assert settings["iam_policy_file"] == f"policy-{stage}.json"
        assert (ROOT / ".chalice" / settings["iam_policy_file"]).exists()
        assert (
            settings["environment_variables"]["CHAT_STORE"] == f"dynamodb:serverless-chat-{stage}"
        )
    # the base stack of the `chalice deploy` path names its table the same way
    base = json.loads((ROOT / "infra" / "cloudformation" / "chalice-deploy.json").read_text())
    assert base["Resources"]["ChatTable"]["Properties"]["TableName"] == {
        "Fn::Sub": f"{config['app_name']}-${{Stage}}"
    }


def test_base_stack_lints_clean_and_gates_on_the_api_id() -> None:
    path = ROOT / "infra" / "cloudformation" / "chalice-deploy.json"
    errors = [
        str(m) for m in lint_file(path, ManualArgs(regions=["us-east-1"])) if m.rule.id[0] == "E"
    ]
    assert errors == []
    base = json.loads(path.read_text())
    assert base["Parameters"]["Stage"]["AllowedValues"] == spec.stages()
    resources = base["Resources"]
    assert resources["StageExecutionLogGroup"]["Condition"] == "HasApiId"
    assert resources["AmplifyApp"]["Condition"] == "CreateAmplify"
    assert resources["ApiGatewayAccount"]["Properties"]["CloudWatchRoleArn"] == {
        "Fn::GetAtt": ["ApiGatewayCloudWatchRole", "Arn"]
    }
    for resource, logical in spec.FUNCTIONS:
        name = resources[f"{logical}LogGroup"]["Properties"]["LogGroupName"]["Fn::Sub"]
        assert name == f"/aws/lambda/{spec.app_name()}-${{Stage}}-{resource}"
    assert set(OUTPUTS) <= set(base["Outputs"])


def test_update_stage_input_matches_the_apigatewayv2_model() -> None:
    model = botocore.session.get_session().get_service_model("apigatewayv2")
    shape = model.operation_model("UpdateStage").input_shape
    validate_parameters(
        {
            "ApiId": API_ID,
            "StageName": "dev",
            "DefaultRouteSettings": spec.route_settings(),
            "AccessLogSettings": chalice_stage.access_log_settings(
                OUTPUTS["StageAccessLogGroupArn"]
            ),
        },
        shape,
    )


def test_configure_points_the_stage_at_its_table_and_scopes_the_policy(tmp_path: Path) -> None:
    box = Sandbox(tmp_path)
    assert chalice_stage.api_id(box.root, "dev") == ""
    changed = chalice_stage.configure(
        box.root, "dev", "my-table", "my-bucket", region="eu-west-1", account=ACCOUNT, api=API_ID
    )
    assert changed
    config = json.loads((box.root / ".chalice" / "config.json").read_text())
    environment = config["stages"]["dev"]["environment_variables"]
    assert environment["CHAT_STORE"] == "dynamodb:my-table"
    assert environment["CHAT_BLOBS"] == "s3://my-bucket/attachments/"
    document = json.loads((box.root / ".chalice" / "policy-dev.json").read_text())
    resources = [r for s in document["Statement"] for r in s["Resource"]]
    assert f"arn:aws:dynamodb:eu-west-1:{ACCOUNT}:table/my-table" in resources
    assert f"arn:aws:execute-api:eu-west-1:{ACCOUNT}:{API_ID}/dev/POST/@connections/*" in resources
    assert "arn:aws:s3:::my-bucket/attachments/*" in resources
    assert "arn:aws:s3:::my-bucket" in resources
    assert not chalice_stage.configure(
        box.root, "dev", "my-table", "my-bucket", region="eu-west-1", account=ACCOUNT, api=API_ID
    )


def test_configure_without_a_bucket_names_the_base_stacks_one(tmp_path: Path) -> None:
    box = Sandbox(tmp_path)
    chalice_stage.configure(box.root, "dev", "my-table", region="eu-west-1", account=ACCOUNT)
    config = json.loads((box.root / ".chalice" / "config.json").read_text())
    assert "CHAT_BLOBS" not in config["stages"]["dev"]["environment_variables"]
    document = json.loads((box.root / ".chalice" / "policy-dev.json").read_text())
    resources = [r for s in document["Statement"] for r in s["Resource"]]
    bucket = spec.attachments_bucket_name("dev", ACCOUNT, "eu-west-1")
    assert f"arn:aws:s3:::{bucket}/attachments/*" in resources


def test_deploy_chalice_runs_every_step_in_order(tmp_path: Path) -> None:
    box = Sandbox(tmp_path)
    result = box.run(
        "deploy-chalice.sh",
        "dev",
        GITHUB_REPOSITORY="https://github.com/o/r",
        GITHUB_TOKEN="t",
        FRONTEND_ORIGIN="https://chat.example.com",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    calls = box.calls()
    steps = [" ".join(str(a) for a in c[:3]) for c in calls]
    assert steps == [
        "aws sts get-caller-identity",
        "aws configure get",
        "aws sts get-caller-identity",
        "aws cloudformation deploy",
        "aws cloudformation describe-stacks",
        "aws cloudformation describe-stacks",
        "chalice deploy --stage",
        "chalice deploy --stage",
        "aws cloudformation deploy",
        "aws cloudformation describe-stacks",
        "aws apigatewayv2 update-stage",
        "aws cloudformation describe-stacks",
        "aws cloudformation describe-stacks",
        "aws cloudformation describe-stacks",
    ], result.stdout
    base = json.loads((ROOT / "infra" / "cloudformation" / "chalice-deploy.json").read_text())
    first, second = (c for c in calls if c[1:3] == ["cloudformation", "deploy"])
    for deploy in (first, second):
        assert set(overrides(deploy)) <= set(base["Parameters"])
        assert overrides(deploy)["Stage"] == "dev"
        assert overrides(deploy)["FrontendOrigin"] == "https://chat.example.com"
    bucket = OUTPUTS["AttachmentsBucketName"]
    config = json.loads((box.root / ".chalice" / "config.json").read_text())
    assert config["stages"]["dev"]["environment_variables"]["CHAT_BLOBS"] == (
        f"s3://{bucket}/attachments/"
    )
    assert overrides(first)["ApiId"] == ""
    assert overrides(second)["ApiId"] == API_ID
    # the first deploy cannot know the API id yet; the second one is scoped to it
    deploys = [c for c in calls if c[0] == "chalice"]
    arns = [
        [r for s in d[-1]["policy"]["Statement"] for r in s["Resource"] if ":execute-api:" in r]
        for d in deploys
    ]
    assert all(f":{ACCOUNT}:*/dev/" in arn for arn in arns[0])
    assert all(f":{ACCOUNT}:{API_ID}/dev/" in arn for arn in arns[1])
    for deployed in deploys:  # both deploys already name the stack's bucket
        s3 = [r for s in deployed[-1]["policy"]["Statement"] for r in s["Resource"] if ":s3:" in r]
        assert s3 == [f"arn:aws:s3:::{bucket}/attachments/*", f"arn:aws:s3:::{bucket}"]
    (update,) = (c for c in calls if c[1] == "apigatewayv2")
    assert update[update.index("--api-id") + 1] == API_ID
    assert update[update.index("--stage-name") + 1] == "dev"
    assert json.loads(update[update.index("--default-route-settings") + 1]) == (
        spec.route_settings()
    )
    access = json.loads(update[update.index("--access-log-settings") + 1])
    assert access == chalice_stage.access_log_settings(OUTPUTS["StageAccessLogGroupArn"])
    assert OUTPUTS["WebSocketURL"] in result.stdout

    # A second run knows the API id from .chalice/deployed/dev.json: one chalice deploy.
    box.log.unlink()
    again = box.run("deploy-chalice.sh", "dev")
    assert again.returncode == 0, again.stderr
    assert sum(1 for c in box.calls() if c[0] == "chalice") == 1
    assert (
        overrides(next(c for c in box.calls() if c[1:3] == ["cloudformation", "deploy"]))["ApiId"]
        == API_ID
    )


@pytest.mark.parametrize("script", ["deploy-cfn.sh", "deploy-tf.sh"])
def test_template_deploys_refuse_a_build_of_another_stage(tmp_path: Path, script: str) -> None:
    box = Sandbox(tmp_path)
    (box.root / "build").mkdir()
    (box.root / "build" / "stage").write_text("dev\n")
    result = box.run(script, "prod")
    assert result.returncode != 0
    assert "run make package STAGE=prod" in result.stderr
    assert box.calls() == []


def test_deploy_cfn_uploads_then_deploys_the_packaged_template(tmp_path: Path) -> None:
    box = Sandbox(tmp_path)
    (box.root / "build" / "cloudformation").mkdir(parents=True)
    (box.root / "build" / "stage").write_text("dev\n")
    result = box.run(
        "deploy-cfn.sh",
        "dev",
        GITHUB_REPOSITORY="https://github.com/o/r",
        FRONTEND_ORIGIN="https://chat.example.com",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    calls = box.calls()
    (package,) = (c for c in calls if c[1:3] == ["cloudformation", "package"])
    assert package[package.index("--template-file") + 1] == "build/cloudformation/sam.json"
    (deploy,) = (c for c in calls if c[1:3] == ["cloudformation", "deploy"])
    assert deploy[deploy.index("--template-file") + 1] == "build/cloudformation/packaged.yaml"
    assert "CAPABILITY_AUTO_EXPAND" in deploy
    merge = json.loads((ROOT / "infra" / "cloudformation" / "resources.json").read_text())
    assert set(overrides(deploy)) <= set(merge["Parameters"])
    assert overrides(deploy)["FrontendOrigin"] == "https://chat.example.com"
    assert f"Attachments:    s3://{OUTPUTS['AttachmentsBucketName']}" in result.stdout
    assert calls.index(package) < calls.index(deploy)
    assert any(c[1:3] == ["s3", "mb"] for c in calls)


def test_deploy_tf_keeps_state_outside_build(tmp_path: Path) -> None:
    box = Sandbox(tmp_path)
    (box.root / "build" / "terraform").mkdir(parents=True)
    (box.root / "build" / "stage").write_text("dev\n")
    result = box.run("deploy-tf.sh", "dev")
    assert result.returncode == 0, result.stdout + result.stderr
    init, apply, *_ = box.calls()
    assert init[1:3] == ["-chdir=build/terraform", "init"]
    state = box.root / ".chalice" / "deployed" / "terraform-dev.tfstate"
    assert f"-backend-config=path={state}" in init
    assert apply[1:3] == ["-chdir=build/terraform", "apply"]


@pytest.mark.parametrize(
    "script", ["package.sh", "deploy-chalice.sh", "deploy-cfn.sh", "deploy-tf.sh"]
)
def test_scripts_are_strict_bash(script: str) -> None:
    path = ROOT / "infra" / script
    assert "set -euo pipefail" in path.read_text()
    assert subprocess.run(["bash", "-n", str(path)], capture_output=True).returncode == 0


@pytest.mark.parametrize("missing", ["None", ""])
def test_chalice_deploy_stops_on_an_output_the_stack_lacks(tmp_path: Path, missing: str) -> None:
    box = Sandbox(tmp_path)
    result = box.run(
        "deploy-chalice.sh", "dev", STUB_OUTPUTS=json.dumps({**OUTPUTS, "TableName": missing})
    )
    assert result.returncode != 0
    assert "has no output TableName" in result.stderr
    config = json.loads((box.root / ".chalice" / "config.json").read_text())
    assert "None" not in config["stages"]["dev"]["environment_variables"]["CHAT_STORE"]
    assert not any(call[0] == "chalice" for call in box.calls())
