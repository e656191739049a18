"""The three deploy paths run as docs/deploy.md tells a user, into MiniStack, and their
teardowns; shared by tests/deploy and `python -m bench deploy`.

Each step is the user's command in a copy of the project (tests/deploy/project.py), with
the environment of MiniStack.client_env() and, for Terraform, a CLI config naming the
provider mirror. `make package` is run as its recipe (`bash infra/package.sh` with the
venv on PATH), so no test can trigger the Makefile's reinstall of the venv.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import boto3

from tests.deploy.ministack import ROOT, MiniStack, without_api_deployment
from tests.deploy.project import copy_project

STAGE = "dev"
APP = "serverless-chat"
URL_LINE = re.compile(r"^WebSocket URL:\s+(\S+)\s*$", re.M)
TERRAFORM_MIRROR = Path("/opt/tf-plugins")
MIRRORED_PROVIDER = "registry.terraform.io/hashicorp/aws"


class StepFailed(AssertionError):
    pass


@dataclass
class Deployment:
    """One path deployed into one MiniStack: where it answers and how long it took."""

    path: str
    ministack: MiniStack
    project: Path
    env: dict[str, str]
    deployed_url: str = ""
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def websocket_url(self) -> str:
        return self.ministack.websocket_url(self.deployed_url)

    def run(self, *command: str, stdin: str | None = None, timeout: float = 600) -> str:
        result = subprocess.run(
            command,
            cwd=self.project,
            env=self.env,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if result.returncode != 0:
            raise StepFailed(
                f"{' '.join(command)} failed ({result.returncode}):\n"
                f"{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
            )
        return result.stdout

    def timed(self, name: str, *command: str, stdin: str | None = None) -> str:
        started = time.monotonic()
        out = self.run(*command, stdin=stdin)
        self.seconds[name] = self.seconds.get(name, 0.0) + time.monotonic() - started
        return out

    def url_from(self, output: str) -> str:
        match = URL_LINE.search(output)
        if not match:
            raise StepFailed(f"the deploy printed no WebSocket URL:\n{output[-2000:]}")
        self.deployed_url = match.group(1)
        return self.deployed_url

    def package(self, adapt_for_ministack: bool) -> None:
        """`make package`; the CloudFormation path then needs without_api_deployment."""
        self.timed("deploy", "bash", "infra/package.sh")
        if adapt_for_ministack:
            without_api_deployment(self.project / "build" / "cloudformation" / "sam.json")


def terraform_missing() -> str | None:
    """One line naming what to install, or None when Terraform and its mirror are here."""
    if shutil.which("terraform") is None:
        return "Terraform is missing: install Terraform 1.9 or later (terraform on PATH)"
    if not (TERRAFORM_MIRROR / MIRRORED_PROVIDER).is_dir():
        return (
            f"the Terraform provider mirror is missing: put {MIRRORED_PROVIDER} 5.87+ (5.x) "
            f"under {TERRAFORM_MIRROR} (terraform providers mirror {TERRAFORM_MIRROR})"
        )
    return None


def terraform_cli_config(workdir: Path) -> Path:
    """The CLI config a user without registry access writes: providers from the mirror only."""
    path = workdir / "terraform.rc"
    path.write_text(
        "provider_installation {\n"
        "  filesystem_mirror {\n"
        f'    path    = "{TERRAFORM_MIRROR}"\n'
        f'    include = ["{MIRRORED_PROVIDER}"]\n'
        "  }\n"
        "}\n"
    )
    return path


def prepare(path: str, ministack: MiniStack, workdir: Path) -> Deployment:
    project = copy_project(workdir / f"project-{path}")
    env = ministack.client_env()
    if path == "terraform":
        env["TF_CLI_CONFIG_FILE"] = str(terraform_cli_config(workdir))
        env["TF_IN_AUTOMATION"] = "1"
    return Deployment(path, ministack, project, env)


def deploy(deployment: Deployment) -> Deployment:
    """The path's deploy, as docs/deploy.md tells it."""
    if deployment.path == "chalice":
        deployment.url_from(deployment.timed("deploy", "bash", "infra/deploy-chalice.sh", STAGE))
    elif deployment.path == "cloudformation":
        deployment.package(adapt_for_ministack=True)
        deployment.url_from(deployment.timed("deploy", "bash", "infra/deploy-cfn.sh", STAGE))
    elif deployment.path == "terraform":
        deployment.package(adapt_for_ministack=False)
        # `terraform apply` asks; the user answers yes.
        out = deployment.timed("deploy", "bash", "infra/deploy-tf.sh", STAGE, stdin="yes\n")
        deployment.url_from(out)
    else:
        raise ValueError(f"unknown path {deployment.path!r}")
    return deployment


def terraform_checks(deployment: Deployment) -> str:
    """Before the apply: `terraform init`, `validate` and `plan` of the packaged module
    against MiniStack, then a plan with a repository but no token, which the variable
    validation must refuse; returns that refusal's output."""
    d = deployment
    state = d.project / ".chalice" / "deployed" / f"terraform-{STAGE}.tfstate"
    state.parent.mkdir(parents=True, exist_ok=True)
    d.run("terraform", "-chdir=build/terraform", "init", "-input=false", "-reconfigure",
          f"-backend-config=path={state}")
    d.run("terraform", "-chdir=build/terraform", "validate")
    d.run("terraform", "-chdir=build/terraform", "plan", "-input=false")
    refused = subprocess.run(
        ["terraform", "-chdir=build/terraform", "plan", "-input=false",
         "-no-color", "-var", "github_repository=https://github.com/example/chat"],
        cwd=d.project, env=d.env, capture_output=True, text=True, timeout=300,
    )
    if refused.returncode == 0:
        raise StepFailed("terraform plan accepted a repository without a token")
    return refused.stdout + refused.stderr


def stack_output(deployment: Deployment, stack: str, key: str) -> str:
    return deployment.run("aws", "cloudformation", "describe-stacks", "--stack-name", stack,
                          "--query", f"Stacks[0].Outputs[?OutputKey=='{key}'].OutputValue",
                          "--output", "text").strip()


def attachments_bucket(deployment: Deployment) -> str:
    """The deployment's attachments bucket, from the path's outputs."""
    d = deployment
    if d.path == "terraform":
        return d.run("terraform", "-chdir=build/terraform", "output", "-raw",
                     "attachments_bucket").strip()
    stack = f"{APP}-{STAGE}-base" if d.path == "chalice" else f"{APP}-{STAGE}"
    return stack_output(d, stack, "AttachmentsBucketName")


def teardown(deployment: Deployment) -> None:
    """docs/deploy.md "Teardown", for the path: the attachments bucket emptied first."""
    d = deployment
    try:
        bucket = attachments_bucket(d)
    except StepFailed:  # a deploy that failed early made no bucket
        bucket = ""
    if bucket and bucket != "None":
        d.timed("teardown", "aws", "s3", "rm", f"s3://{bucket}", "--recursive")
    if d.path == "chalice":
        d.timed("teardown", "chalice", "delete", "--stage", STAGE)
        d.timed("teardown", "aws", "cloudformation", "delete-stack",
                "--stack-name", f"{APP}-{STAGE}-base")
        d.timed("teardown", "aws", "cloudformation", "wait", "stack-delete-complete",
                "--stack-name", f"{APP}-{STAGE}-base")
    elif d.path == "cloudformation":
        d.timed("teardown", "aws", "cloudformation", "delete-stack",
                "--stack-name", f"{APP}-{STAGE}")
        d.timed("teardown", "aws", "cloudformation", "wait", "stack-delete-complete",
                "--stack-name", f"{APP}-{STAGE}")
        account = d.run("aws", "sts", "get-caller-identity", "--query", "Account",
                        "--output", "text").strip()
        d.timed("teardown", "aws", "s3", "rb",
                f"s3://{APP}-artifacts-{account}-{d.env['AWS_DEFAULT_REGION']}", "--force")
    elif d.path == "terraform":
        state = d.project / ".chalice" / "deployed" / f"terraform-{STAGE}.tfstate"
        d.timed("teardown", "terraform", "-chdir=build/terraform", "init", "-input=false",
                "-reconfigure", f"-backend-config=path={state}")
        d.timed("teardown", "terraform", "-chdir=build/terraform", "destroy", "-input=false",
                stdin="yes\n")


def leftovers(ministack: MiniStack) -> dict[str, list[str]]:
    """The chat's APIs, functions, tables, buckets and stacks still in MiniStack."""
    session = boto3.Session(aws_access_key_id="test", aws_secret_access_key="test",
                            region_name="us-east-1")

    def client(name: str):  # type: ignore[no-untyped-def]
        return session.client(name, endpoint_url=ministack.endpoint)  # type: ignore[call-overload]

    apis = [a["Name"] for a in client("apigatewayv2").get_apis()["Items"]]
    functions = [f["FunctionName"] for f in client("lambda").list_functions()["Functions"]]
    tables = client("dynamodb").list_tables()["TableNames"]
    buckets = [b["Name"] for b in client("s3").list_buckets()["Buckets"]]
    stacks = [
        s["StackName"]
        for s in client("cloudformation").list_stacks()["StackSummaries"]
        if s["StackStatus"] != "DELETE_COMPLETE"
    ]
    found = {"apis": apis, "functions": functions, "tables": tables, "buckets": buckets,
             "stacks": stacks}
    return {kind: [n for n in names if APP in n] for kind, names in found.items()}


def deploy_app(ministack: MiniStack, workdir: Path, app_source: Path, stack: str) -> str:
    """Any one-file Chalice WebSocket app (with chalicelib/endpoint.py beside it) by the
    CloudFormation path: `chalice package`, `aws cloudformation package` and `deploy`;
    returns its MiniStack WebSocket URL."""
    project = workdir / f"app-{stack}"
    (project / ".chalice").mkdir(parents=True)
    (project / "chalicelib").mkdir()
    shutil.copy2(app_source, project / "app.py")
    shutil.copy2(ROOT / "chalicelib" / "endpoint.py", project / "chalicelib" / "endpoint.py")
    (project / "chalicelib" / "__init__.py").write_text("")
    (project / "requirements.txt").write_text("")
    config = {"version": "2.0", "app_name": stack,
              "stages": {STAGE: {"api_gateway_stage": STAGE}}}
    (project / ".chalice" / "config.json").write_text(json.dumps(config))
    deployment = Deployment("app", ministack, project, ministack.client_env())
    deployment.run("chalice", "package", "--stage", STAGE, "out")
    without_api_deployment(project / "out" / "sam.json")
    bucket = f"{stack}-artifacts"
    deployment.run("aws", "s3", "mb", f"s3://{bucket}")
    deployment.run("aws", "cloudformation", "package", "--template-file", "out/sam.json",
                   "--s3-bucket", bucket, "--output-template-file", "out/packaged.yaml")
    deployment.run("aws", "cloudformation", "deploy", "--stack-name", stack,
                   "--template-file", "out/packaged.yaml",
                   "--capabilities", "CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND")
    url = deployment.run("aws", "cloudformation", "describe-stacks", "--stack-name", stack,
                         "--query", "Stacks[0].Outputs[?OutputKey=='WebsocketConnectEndpointURL']"
                         ".OutputValue", "--output", "text").strip()
    return ministack.websocket_url(url.rstrip("/"))


def settings_ministack_ignores(deployment: Deployment) -> dict[str, object]:
    """What the CloudFormation stack asked for and MiniStack did not apply (documented in
    docs/deploy.md "Try it without AWS"): TTL, PITR, SSE and the stage's route settings,
    and the attachments bucket's lifecycle rules."""
    d = deployment

    def aws(*args: str) -> object:
        return json.loads(d.run("aws", *args, "--output", "json") or "null")

    table = d.run("aws", "cloudformation", "describe-stacks", "--stack-name", f"{APP}-{STAGE}",
                  "--query", "Stacks[0].Outputs[?OutputKey=='TableName'].OutputValue",
                  "--output", "text").strip()
    return {
        "ttl": aws("dynamodb", "describe-time-to-live", "--table-name", table,
                   "--query", "TimeToLiveDescription.TimeToLiveStatus"),
        "pitr": aws("dynamodb", "describe-continuous-backups", "--table-name", table, "--query",
                    "ContinuousBackupsDescription.PointInTimeRecoveryDescription"
                    ".PointInTimeRecoveryStatus"),
        "sse": aws("dynamodb", "describe-table", "--table-name", table,
                   "--query", "Table.SSEDescription"),
        "route_settings": stage_route_settings(d),
        "bucket_lifecycle": bucket_lifecycle(d, attachments_bucket(d)),
    }


def bucket_lifecycle(deployment: Deployment, bucket: str) -> object:
    """The bucket's lifecycle rules; None when S3 says it has none."""
    try:
        out = deployment.run("aws", "s3api", "get-bucket-lifecycle-configuration", "--bucket",
                             bucket, "--query", "Rules", "--output", "json")
    except StepFailed as failure:
        if "NoSuchLifecycleConfiguration" in str(failure):
            return None
        raise
    return json.loads(out or "null")


def stage_route_settings(deployment: Deployment) -> object:
    """The deployed stage's DefaultRouteSettings, as MiniStack reports them."""
    api = deployment.deployed_url.split("//", 1)[1].split(".", 1)[0]
    out = deployment.run("aws", "apigatewayv2", "get-stage", "--api-id", api, "--stage-name",
                         STAGE, "--query", "DefaultRouteSettings", "--output", "json")
    return json.loads(out or "null")
