"""The attachments bucket on the template paths: private, encrypted, TLS only, CORS for the
frontend's origin alone, pending uploads expiring; its name, CHAT_BLOBS and the CSP."""

from __future__ import annotations

import re
from typing import Any

import pytest
import yaml

from chalicelib.blobs.s3 import PENDING_TAGGING, STATE_TAG
from infra import cfn, spec
from tests.infra.intrinsics import ACCOUNT, REGION, STACK_UUID, evaluate

BUCKET_NAME = re.compile(r"[a-z0-9][a-z0-9-]{1,61}[a-z0-9]")


def base_stack() -> dict[str, Any]:
    return cfn.base_stack()


def templates(sam: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [("sam.json", sam), ("chalice-deploy.json", base_stack())]


def stack_names() -> dict[str, str]:
    return {"Stage": "dev"}


def test_the_pending_tag_is_the_one_the_app_posts() -> None:
    assert spec.PENDING_TAG == {"Key": STATE_TAG, "Value": "pending"}
    tag = spec.PENDING_TAG
    assert f"<Key>{tag['Key']}</Key><Value>{tag['Value']}</Value>" in PENDING_TAGGING


def test_bucket_names_are_valid_and_computed_not_referenced(sam: dict[str, Any]) -> None:
    spec.check_bucket_names()
    stack = evaluate(sam["Resources"]["AttachmentsBucket"]["Properties"]["BucketName"])
    assert stack == "serverless-chat-attachments-" + STACK_UUID.replace("-", "")
    base = evaluate(
        base_stack()["Resources"]["AttachmentsBucket"]["Properties"]["BucketName"], stack_names()
    )
    assert base == f"serverless-chat-dev-attachments-{ACCOUNT}-{REGION}"
    assert base == spec.attachments_bucket_name("dev", ACCOUNT, REGION)
    for name in (stack, base):
        assert BUCKET_NAME.fullmatch(name) and len(name) <= 63, name
    # a Ref of the bucket outside its policy and the outputs would close the
    # cycle bucket (CORS) -> Amplify app (CSP) -> bucket
    for _, template in templates(sam):
        for logical, resource in template["Resources"].items():
            if logical not in ("AttachmentsBucket", "AttachmentsBucketPolicy"):
                assert "AttachmentsBucket" not in str(resource), logical


@pytest.mark.parametrize("which", ["sam.json", "chalice-deploy.json"])
def test_the_bucket_is_private_encrypted_and_owner_enforced(
    sam: dict[str, Any], which: str
) -> None:
    bucket = dict(templates(sam))[which]["Resources"]["AttachmentsBucket"]
    assert bucket["Type"] == "AWS::S3::Bucket"
    assert (bucket["DeletionPolicy"], bucket["UpdateReplacePolicy"]) == ("Delete", "Retain")
    props = bucket["Properties"]
    assert props["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "IgnorePublicAcls": True,
        "BlockPublicPolicy": True,
        "RestrictPublicBuckets": True,
    }
    assert props["BucketEncryption"] == {
        "ServerSideEncryptionConfiguration": [
            {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}
        ]
    }
    assert props["OwnershipControls"] == {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}
    assert "VersioningConfiguration" not in props  # a deleted attachment is gone


@pytest.mark.parametrize("which", ["sam.json", "chalice-deploy.json"])
def test_pending_uploads_and_incomplete_multipart_uploads_expire(
    sam: dict[str, Any], which: str
) -> None:
    props = dict(templates(sam))[which]["Resources"]["AttachmentsBucket"]["Properties"]
    pending, multipart = props["LifecycleConfiguration"]["Rules"]
    assert pending == {
        "Id": "ExpirePendingUploads",
        "Status": "Enabled",
        "Prefix": "attachments/",
        "TagFilters": [{"Key": "chat-state", "Value": "pending"}],
        "ExpirationInDays": 1,
    }
    assert multipart == {
        "Id": "AbortIncompleteMultipartUploads",
        "Status": "Enabled",
        "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1},
    }


@pytest.mark.parametrize(
    ("which", "amplify"), [("sam.json", "HasRepository"), ("chalice-deploy.json", "CreateAmplify")]
)
def test_cors_allows_only_the_frontends_origins(
    sam: dict[str, Any], which: str, amplify: str
) -> None:
    template = dict(templates(sam))[which]
    cors = template["Resources"]["AttachmentsBucket"]["Properties"]["CorsConfiguration"]
    condition, config, otherwise = cors["Fn::If"]
    assert (condition, otherwise) == ("HasCorsOrigin", {"Ref": "AWS::NoValue"})
    assert template["Conditions"]["HasCorsOrigin"] == {
        "Fn::Or": [{"Condition": "HasFrontendOrigin"}, {"Condition": amplify}]
    }
    (rule,) = config["CorsRules"]
    assert sorted(rule["AllowedMethods"]) == ["GET", "HEAD", "POST"]
    assert rule["ExposedHeaders"] == ["ETag"]
    assert rule["MaxAge"] == spec.CORS_MAX_AGE_SECONDS
    # the XHR's preflight asks for no header (multipart/form-data is safelisted)
    assert "AllowedHeaders" not in rule
    assert rule["AllowedOrigins"] == [
        {"Fn::If": ["HasFrontendOrigin", {"Ref": "FrontendOrigin"}, {"Ref": "AWS::NoValue"}]},
        {
            "Fn::If": [
                amplify,
                {"Fn::Sub": "https://${GitHubBranch}.${AmplifyApp.DefaultDomain}"},
                {"Ref": "AWS::NoValue"},
            ]
        },
    ]
    parameter = template["Parameters"]["FrontendOrigin"]
    assert parameter["Default"] == ""
    pattern = re.compile(parameter["AllowedPattern"])
    for good in ("", "https://chat.example.com", "http://localhost:8000"):
        assert pattern.fullmatch(good), good
    for bad in ("*", "https://chat.example.com/", "chat.example.com", "https://a.com/x"):
        assert not pattern.fullmatch(bad), bad


@pytest.mark.parametrize("which", ["sam.json", "chalice-deploy.json"])
def test_the_bucket_policy_refuses_plain_http(sam: dict[str, Any], which: str) -> None:
    resource = dict(templates(sam))[which]["Resources"]["AttachmentsBucketPolicy"]
    assert resource["Type"] == "AWS::S3::BucketPolicy"
    assert resource["Properties"]["Bucket"] == {"Ref": "AttachmentsBucket"}
    (statement,) = resource["Properties"]["PolicyDocument"]["Statement"]
    assert statement == {
        "Sid": "DenyInsecureTransport",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": [
            {"Fn::GetAtt": ["AttachmentsBucket", "Arn"]},
            {"Fn::Sub": "${AttachmentsBucket.Arn}/*"},
        ],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }


def test_functions_get_chat_blobs_naming_the_bucket_and_prefix(sam: dict[str, Any]) -> None:
    bucket = evaluate(sam["Resources"]["AttachmentsBucket"]["Properties"]["BucketName"])
    for _, function in spec.FUNCTIONS:
        variables = sam["Resources"][function]["Properties"]["Environment"]["Variables"]
        assert evaluate(variables["CHAT_BLOBS"]) == f"s3://{bucket}/attachments/", function


def test_outputs_name_the_bucket(sam: dict[str, Any]) -> None:
    for _, template in templates(sam):
        assert template["Outputs"]["AttachmentsBucketName"] == {
            "Value": {"Ref": "AttachmentsBucket"}
        }


def served_headers(custom_headers: str) -> dict[str, str]:
    (entry,) = yaml.safe_load(custom_headers)["applications"]
    (rule,) = entry["customHeaders"]
    return {h["key"]: h["value"] for h in rule["headers"]}


def csp_directives(csp: str) -> dict[str, list[str]]:
    return {d.split()[0]: d.split()[1:] for d in csp.split(";") if d.strip()}


def test_amplifys_csp_adds_the_buckets_origin_to_img_and_connect_src(sam: dict[str, Any]) -> None:
    local = spec.frontend().headers
    for _, template in templates(sam):
        props = template["Resources"]["AttachmentsBucket"]["Properties"]
        bucket = evaluate(props["BucketName"], stack_names())
        origin = f"https://{bucket}.s3.{REGION}.amazonaws.com"
        app = template["Resources"]["AmplifyApp"]["Properties"]
        served = served_headers(evaluate(app["CustomHeaders"], stack_names()))
        assert set(served) == set(local)
        for key, value in local.items():
            if key != "Content-Security-Policy":
                assert served[key] == value, key
        directives = csp_directives(served["Content-Security-Policy"])
        for name, sources in csp_directives(local["Content-Security-Policy"]).items():
            if name in ("img-src", "connect-src"):
                assert directives[name] == [*sources, origin], name
            else:
                assert directives[name] == sources, name


def test_the_local_csp_stays_same_origin() -> None:
    csp = spec.frontend().headers["Content-Security-Policy"]
    assert "amazonaws.com" not in csp and spec.ORIGIN_PLACEHOLDER not in csp


@pytest.mark.parametrize(
    ("csp", "expected"),
    [
        (
            "default-src 'self'; img-src 'self' data: blob:; connect-src 'self' wss:",
            "default-src 'self'; img-src 'self' data: blob: O; connect-src 'self' wss: O",
        ),
        (
            "default-src 'self'; img-src 'none'; frame-ancestors 'none'",
            "default-src 'self'; img-src O; frame-ancestors 'none'; connect-src 'self' O",
        ),
        ("img-src O; connect-src O", "img-src O; connect-src O"),
    ],
)
def test_with_attachments_origin(csp: str, expected: str) -> None:
    assert spec.with_attachments_origin(csp, "O") == expected


def test_tf_bucket_and_its_settings(tf: dict[str, Any]) -> None:
    resources = tf["resource"]
    bucket = resources["aws_s3_bucket"]["attachments"]
    assert bucket["bucket"] == "${local.attachments_bucket}"
    assert "force_destroy" not in bucket  # emptied by hand before teardown, as elsewhere
    assert tf["locals"]["attachments_bucket"] == (
        "${local.app}-${local.stage}-attachments-"
        "${data.aws_caller_identity.chalice.account_id}-${data.aws_region.chalice.name}"
    )
    assert tf["locals"]["chat_blobs"] == "s3://${aws_s3_bucket.attachments.bucket}/attachments/"
    assert tf["locals"]["attachments_origin"] == (
        "https://${aws_s3_bucket.attachments.bucket}.s3.${data.aws_region.chalice.name}"
        ".${data.aws_partition.chalice.dns_suffix}"
    )
    this = "${aws_s3_bucket.attachments.id}"
    pab = resources["aws_s3_bucket_public_access_block"]["attachments"]
    assert pab == {
        "bucket": this,
        "block_public_acls": True,
        "ignore_public_acls": True,
        "block_public_policy": True,
        "restrict_public_buckets": True,
    }
    assert resources["aws_s3_bucket_ownership_controls"]["attachments"] == {
        "bucket": this,
        "rule": {"object_ownership": "BucketOwnerEnforced"},
    }
    sse = resources["aws_s3_bucket_server_side_encryption_configuration"]["attachments"]
    assert sse["rule"] == {"apply_server_side_encryption_by_default": {"sse_algorithm": "AES256"}}
    cors = resources["aws_s3_bucket_cors_configuration"]["attachments"]
    assert cors["count"] == (
        '${var.frontend_origin != "" || length(var.github_repository) > 0 ? 1 : 0}'
    )
    assert cors["cors_rule"]["allowed_origins"] == (
        "${compact([var.frontend_origin, local.amplify_url])}"
    )
    assert "allowed_headers" not in cors["cors_rule"]
    lifecycle = resources["aws_s3_bucket_lifecycle_configuration"]["attachments"]
    pending, multipart = lifecycle["rule"]
    assert pending["filter"] == {
        "and": {"prefix": "attachments/", "tags": {"chat-state": "pending"}}
    }
    assert pending["expiration"] == {"days": 1}
    assert multipart["filter"] == {}
    assert multipart["abort_incomplete_multipart_upload"] == {"days_after_initiation": 1}
    bucket_policy = resources["aws_s3_bucket_policy"]["attachments"]
    assert bucket_policy["policy"] == "${jsonencode(local.attachments_bucket_policy)}"
    assert tf["output"]["attachments_bucket"] == {"value": "${aws_s3_bucket.attachments.bucket}"}


def test_tf_frontend_origin_validation_matches_the_cfn_pattern(tf: dict[str, Any]) -> None:
    (rule,) = tf["variable"]["frontend_origin"]["validation"]
    assert f'regex("{spec.ORIGIN_PATTERN}", var.frontend_origin)' in rule["condition"]
    assert tf["variable"]["frontend_origin"]["default"] == ""


def test_tf_amplify_csp_names_the_buckets_origin(tf: dict[str, Any]) -> None:
    app = tf["resource"]["aws_amplify_app"]["frontend"]
    expected = spec.frontend().custom_headers_yaml("${local.attachments_origin}")
    assert app["custom_headers"].replace("$${", "${").replace("%%{", "%{") == expected
