"""The functions' IAM policy in every deployment path: least privilege, no wildcards."""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Iterator
from typing import Any

import pytest

from chalicelib.store import schema
from infra import cfn, policy, spec
from tests.infra.conftest import ROOT
from tests.infra.intrinsics import STACK_UUID, evaluate

STORE_MODULE = ROOT / "chalicelib" / "store" / "dynamodb.py"
BLOBS_MODULE = ROOT / "chalicelib" / "blobs" / "s3.py"
# The bucket ARN of each path: the stack's computed name, Terraform's reference, the
# policy file's name with wildcards or real values for account and region.
BUCKET_ARNS = re.compile(
    r"\$\{aws_s3_bucket\.attachments\.arn\}|arn:aws:s3:::(?:"
    + re.escape(spec.stack_bucket_prefix() + STACK_UUID.replace("-", ""))
    + r"|serverless-chat-\w+-attachments-(?:\*|\d{12})-(?:\*|[a-z0-9-]+))"
)


def statements(document: dict[str, Any]) -> list[dict[str, Any]]:
    found = document["Statement"]
    return found if isinstance(found, list) else [found]


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def text(resource: Any) -> str:
    """A resource as text: a literal; an intrinsic function evaluated as CloudFormation
    would (pseudo parameters filled in, a GetAtt left as 'Name.Attr', a Ref or Fn::Sub
    name of the template as '${Name}')."""
    value = evaluate(resource)
    if not isinstance(value, str):
        raise AssertionError(f"unexpected resource form {resource!r}")
    return value


def cfn_documents(sam: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for name, resource in sam["Resources"].items():
        if resource["Type"] == "AWS::IAM::Role" and name != "ApiGatewayCloudWatchRole":
            for inline in resource["Properties"].get("Policies", []):
                yield f"{name}/{inline['PolicyName']}", inline["PolicyDocument"]
        if resource["Type"] in ("AWS::IAM::RolePolicy", "AWS::IAM::Policy"):
            yield name, resource["Properties"]["PolicyDocument"]


def tf_documents(tf: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for name, _ in spec.FUNCTIONS:
        override = tf["resource"]["aws_iam_role_policy"][f"{name}_role"]["policy"]
        local = re.fullmatch(r"\$\{jsonencode\(local\.(\w+)\)\}", override)
        assert local, f"{name}: role policy is not a jsonencode of a local: {override}"
        yield name, tf["locals"][local.group(1)]


def chalice_documents() -> Iterator[tuple[str, dict[str, Any]]]:
    for stage in spec.stages():
        path = ROOT / ".chalice" / f"policy-{stage}.json"
        yield str(path.relative_to(ROOT)), json.loads(path.read_text())


def all_documents(sam: dict[str, Any], tf: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [*cfn_documents(sam), *tf_documents(tf), *chalice_documents()]


def test_no_wildcard_action_and_no_wildcard_resource(
    sam: dict[str, Any], tf: dict[str, Any]
) -> None:
    documents = all_documents(sam, tf)
    assert len(documents) >= 3 * len(spec.FUNCTIONS)
    for where, document in documents:
        for statement in statements(document):
            assert statement["Effect"] == "Allow", where
            assert "NotAction" not in statement and "NotResource" not in statement, where
            for action in as_list(statement["Action"]):
                assert "*" not in action, f"{where}: wildcard action {action}"
            for resource in as_list(statement["Resource"]):
                assert text(resource).strip() != "*", f"{where}: '*' resource"


def bucket_policies(sam: dict[str, Any], tf: dict[str, Any]) -> list[dict[str, Any]]:
    from_cfn = [
        r["Properties"]["PolicyDocument"]
        for template in (sam, cfn.base_stack())
        for r in template["Resources"].values()
        if r["Type"] == "AWS::S3::BucketPolicy"
    ]
    return [*from_cfn, tf["locals"]["attachments_bucket_policy"]]


def test_bucket_policies_grant_nothing_and_refuse_plain_http(
    sam: dict[str, Any], tf: dict[str, Any]
) -> None:
    documents = bucket_policies(sam, tf)
    assert len(documents) == 3
    for document in documents:
        (statement,) = statements(document)
        # The one wildcard action anywhere: a Deny, which narrows; listing actions
        # would leave out whatever S3 adds later.
        assert statement["Effect"] == "Deny"
        assert statement["Action"] == "s3:*"
        assert statement["Principal"] == "*"
        assert statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
        names = {"AttachmentsBucket.Arn": "arn:aws:s3:::b"}
        bucket, objects = (evaluate(r, names) for r in statement["Resource"])
        assert bucket in ("arn:aws:s3:::b", "${aws_s3_bucket.attachments.arn}")
        assert objects == f"{bucket}/*"


def test_dynamodb_is_limited_to_the_table_and_its_index(
    sam: dict[str, Any], tf: dict[str, Any]
) -> None:
    for where, document in all_documents(sam, tf):
        for statement in statements(document):
            actions = as_list(statement["Action"])
            if not any(a.startswith("dynamodb:") for a in actions):
                continue
            assert all(a.startswith("dynamodb:") for a in actions), where
            assert "dynamodb:Scan" not in actions, where
            resources = [text(r) for r in as_list(statement["Resource"])]
            if statement["Sid"] == "ChatTable":
                assert sorted(actions) == sorted(policy.TABLE_ACTIONS), where
                assert all(
                    r in ("ChatTable.Arn", "${aws_dynamodb_table.chat.arn}")
                    or re.fullmatch(r"arn:[\w-]+:dynamodb:[^:]+:[^:]+:table/serverless-chat-\w+", r)
                    for r in resources
                ), (where, resources)
            else:
                assert actions == list(policy.INDEX_ACTIONS), where
                assert all(r.endswith(f"/index/{schema.USER_INDEX}") for r in resources), where


def test_s3_is_limited_to_the_attachments_prefix(sam: dict[str, Any], tf: dict[str, Any]) -> None:
    seen = 0
    for where, document in all_documents(sam, tf):
        for statement in statements(document):
            actions = as_list(statement["Action"])
            if not any(a.startswith("s3:") for a in actions):
                continue
            seen += 1
            (resource,) = (text(r) for r in as_list(statement["Resource"]))
            if statement["Sid"] == "AttachmentObjects":
                assert sorted(actions) == sorted(policy.OBJECT_ACTIONS), where
                assert resource.endswith(f"/{spec.ATTACHMENTS_PREFIX}*"), where
                bucket = resource.removesuffix(f"/{spec.ATTACHMENTS_PREFIX}*")
                assert "Condition" not in statement, where
            else:
                assert statement["Sid"] == "AttachmentsList", where
                assert actions == ["s3:ListBucket"], where
                bucket = resource
                assert statement["Condition"] == {
                    "StringLike": {"s3:prefix": f"{spec.ATTACHMENTS_PREFIX}*"}
                }, where
            assert BUCKET_ARNS.fullmatch(bucket), (where, bucket)
    # two statements per function role (CloudFormation, Terraform) and policy file
    assert seen == 2 * (2 * len(spec.FUNCTIONS) + len(spec.stages()))


def test_execute_api_is_limited_to_this_stages_connections(
    sam: dict[str, Any], tf: dict[str, Any]
) -> None:
    seen = 0
    for where, document in all_documents(sam, tf):
        for statement in statements(document):
            actions = as_list(statement["Action"])
            if not any(a.startswith("execute-api:") for a in actions):
                continue
            seen += 1
            assert actions == ["execute-api:ManageConnections"], where
            resources = [text(r) for r in as_list(statement["Resource"])]
            methods = sorted(r.split("/")[-3] for r in resources)
            assert methods == sorted(policy.CONNECTION_METHODS), where
            for resource in resources:
                assert resource.startswith("arn:"), where
                api, stage, _method, connections, rest = resource.split(":")[-1].split("/")
                assert (connections, rest) == ("@connections", "*"), where
                assert stage in ("${WebsocketAPIStage}", "${local.stage}", *spec.stages()), where
                assert api in (
                    "${WebsocketAPI}",
                    "${aws_apigatewayv2_api.websocket_api.id}",
                    "*",  # chalice policy file before the first deploy; see the next test
                ), where
    assert seen == 2 * len(spec.FUNCTIONS) + len(spec.stages())


def placeholder_pattern(document: dict[str, Any]) -> re.Pattern[str]:
    """A committed policy file as a regex: region, account and API id may be concrete."""
    rendered = re.escape(json.dumps(document, indent=2))
    rendered = rendered.replace(re.escape("arn:aws:"), r"arn:aws(?:-cn|-us-gov)?:")
    rendered = rendered.replace(re.escape("REGION"), r"(?:\*|[a-z]{2}(?:-[a-z]+)+-\d)")
    rendered = rendered.replace(re.escape("ACCOUNT"), r"(?:\*|\d{12})")
    rendered = rendered.replace(re.escape("APIID"), r"(?:\*|[a-z0-9]{10})")
    return re.compile(rendered + r"\n")


@pytest.mark.parametrize("stage", spec.stages())
def test_chalice_policy_file_is_the_generated_one(stage: str) -> None:
    config = json.loads((ROOT / ".chalice" / "config.json").read_text())
    table = config["stages"][stage]["environment_variables"]["CHAT_STORE"].split(":", 1)[1]
    blobs = config["stages"][stage]["environment_variables"].get("CHAT_BLOBS")
    bucket = blobs.removeprefix("s3://").split("/", 1)[0] if blobs else None
    expected = policy.chalice_policy(
        config["app_name"],
        stage,
        table,
        bucket,
        region="REGION",
        account="ACCOUNT",
        api_id="APIID",
    )
    committed = (ROOT / ".chalice" / f"policy-{stage}.json").read_text()
    assert placeholder_pattern(expected).fullmatch(committed), (
        f".chalice/policy-{stage}.json differs from infra.policy.chalice_policy(); "
        f"rewrite it with `python -m infra.chalice_stage configure {stage} --table {table}`"
    )


def test_each_function_role_gets_table_connections_and_only_its_own_logs(
    sam: dict[str, Any],
) -> None:
    for _, function in spec.FUNCTIONS:
        role = sam["Resources"][f"{function}Role"]
        granted: dict[str, list[str]] = {}
        docs = [p["PolicyDocument"] for p in role["Properties"]["Policies"]]
        attached = sam["Resources"][f"{function}RuntimePolicy"]
        assert attached["Type"] == "AWS::IAM::Policy"
        assert attached["Properties"]["Roles"] == [{"Ref": f"{function}Role"}]
        docs.append(attached["Properties"]["PolicyDocument"])
        for document in docs:
            for statement in statements(document):
                for action in as_list(statement["Action"]):
                    granted.setdefault(action, []).extend(
                        text(r) for r in as_list(statement["Resource"])
                    )
        assert set(policy.TABLE_ACTIONS) <= set(granted)
        assert set(policy.OBJECT_ACTIONS) | {"s3:ListBucket"} <= set(granted)
        assert granted["execute-api:ManageConnections"]
        assert granted["logs:PutLogEvents"] == [f"{function}LogGroup.Arn"]
        assert "logs:CreateLogGroup" not in granted  # the groups are made with retention


def store_client_calls() -> set[str]:
    tree = ast.parse(STORE_MODULE.read_text())
    return {
        node.func.attr
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in policy.CLIENT_METHOD_ACTIONS
    }


def test_every_dynamodb_call_of_the_store_is_allowed() -> None:
    assert STORE_MODULE.exists(), (
        f"{STORE_MODULE.relative_to(ROOT)} is missing: cannot check its DynamoDB calls "
        "against the Lambda policy"
    )
    calls = store_client_calls()
    assert calls, "found no DynamoDB client calls in the store"
    needed = {action for call in calls for action in policy.CLIENT_METHOD_ACTIONS[call]}
    allowed = set(policy.TABLE_ACTIONS)
    assert needed <= allowed, f"store calls need {sorted(needed - allowed)}"
    assert "scan" not in calls


def blobs_client_calls() -> dict[str, list[ast.Call]]:
    calls: dict[str, list[ast.Call]] = {}
    for node in ast.walk(ast.parse(BLOBS_MODULE.read_text())):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and isinstance(node.func.value, ast.Attribute)
            and node.func.value.attr == "_s3"
        ):
            calls.setdefault(node.func.attr, []).append(node)
    return calls


def test_every_s3_call_of_the_blobs_is_allowed() -> None:
    assert BLOBS_MODULE.exists(), (
        f"{BLOBS_MODULE.relative_to(ROOT)} is missing: cannot check its S3 calls "
        "against the Lambda policy"
    )
    calls = blobs_client_calls()
    assert calls, "found no S3 client calls in the blobs module"
    unknown = set(calls) - set(policy.S3_METHOD_ACTIONS)
    assert not unknown, f"add {sorted(unknown)} to infra.policy.S3_METHOD_ACTIONS"
    for node in calls.get("generate_presigned_url", []):
        (operation, *_) = node.args
        assert isinstance(operation, ast.Constant) and operation.value == "get_object"
    needed = {action for call in calls for action in policy.S3_METHOD_ACTIONS[call]}
    allowed = set(policy.OBJECT_ACTIONS) | set(policy.LIST_ACTIONS)
    assert needed <= allowed, f"the blobs module needs {sorted(needed - allowed)}"
