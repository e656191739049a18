"""Builds the CloudFormation add-ons: the `chalice package` merge template and the base stack.

``merge_template()`` is infra/cloudformation/resources.json, deep-merged by
``chalice package --merge-template`` into Chalice's SAM output; it patches
Chalice's logical ids (WebsocketAPIStage, WebsocketConnect/Message/Disconnect
and their roles WebsocketConnectRole/...). ``base_stack()`` is
infra/cloudformation/chalice-deploy.json, the standalone stack that the
`chalice deploy` path puts beside Chalice's own resources. Both take the table
from chalicelib/store/schema.py and the attachments bucket's settings from
infra/spec.py.

The bucket's name is computed in each template (from the stack id, or from
stage, account and region) instead of referenced: the bucket's CORS rule names
the Amplify app's URL and the app's CSP names the bucket, and the functions'
environment and roles name it too, so a Ref anywhere but in the bucket policy
and the outputs would make a dependency cycle.
"""

from __future__ import annotations

import copy
from typing import Any

from chalicelib.store import schema
from infra import policy, spec

Template = dict[str, Any]

STAGE = "WebsocketAPIStage"
API = "WebsocketAPI"
TABLE = "ChatTable"
BUCKET = "AttachmentsBucket"
NO_VALUE = {"Ref": "AWS::NoValue"}
AMPLIFY_URL = "https://${GitHubBranch}.${AmplifyApp.DefaultDomain}"
GITHUB_PARAMETERS: dict[str, dict[str, Any]] = {
    "GitHubRepository": {
        "Type": "String",
        "Default": "",
        "Description": "HTTPS URL of the GitHub repository Amplify builds the frontend from; "
        "empty creates no Amplify app.",
    },
    "GitHubAccessToken": {
        "Type": "String",
        "Default": "",
        "NoEcho": True,
        "Description": "GitHub personal access token Amplify uses to read the repository "
        "and install its webhook.",
    },
    "GitHubBranch": {
        "Type": "String",
        "Default": "main",
        "Description": "Branch Amplify builds and hosts.",
    },
}
FRONTEND_PARAMETERS: dict[str, dict[str, Any]] = {
    "FrontendOrigin": {
        "Type": "String",
        "Default": "",
        "AllowedPattern": f"^$|{spec.ORIGIN_PATTERN}",
        "Description": "Origin (https://host[:port]) of a browser client hosted elsewhere "
        "than this stack's Amplify app; the attachments bucket's CORS rule allows it "
        "beside the Amplify app's URL. Empty: only the Amplify app.",
    },
}
HAS_FRONTEND_ORIGIN = {"Fn::Not": [{"Fn::Equals": [{"Ref": "FrontendOrigin"}, ""]}]}
HAS_REPOSITORY = {"Fn::Not": [{"Fn::Equals": [{"Ref": "GitHubRepository"}, ""]}]}
HAS_ACCESS_TOKEN = {"Fn::Not": [{"Fn::Equals": [{"Ref": "GitHubAccessToken"}, ""]}]}
# Checked before any resource is touched: a repository without a token would
# only fail later, in the middle of the stack, with Amplify's own message.
TOKEN_RULES = {
    "AccessTokenWithRepository": {
        "RuleCondition": HAS_REPOSITORY,
        "Assertions": [
            {
                "Assert": HAS_ACCESS_TOKEN,
                "AssertDescription": "GitHubAccessToken is required when GitHubRepository is set",
            }
        ],
    }
}


def sub(text: str) -> dict[str, str]:
    return {"Fn::Sub": text}


def table(extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """The table resource. Deleted with the stack (teardown leaves nothing billable);
    kept if an update ever has to replace it, so a schema change cannot drop the data."""
    return {
        "Type": "AWS::DynamoDB::Table",
        "DeletionPolicy": "Delete",
        "UpdateReplacePolicy": "Retain",
        "Properties": {**(extra or {}), **table_properties()},
    }


def table_properties() -> dict[str, Any]:
    """The table as CloudFormation properties, straight from the schema module."""
    return copy.deepcopy(
        {
            "BillingMode": schema.BILLING_MODE,
            "AttributeDefinitions": schema.ATTRIBUTE_DEFINITIONS,
            "KeySchema": schema.KEY_SCHEMA,
            "GlobalSecondaryIndexes": schema.GLOBAL_SECONDARY_INDEXES,
            "TimeToLiveSpecification": {"AttributeName": schema.TTL_ATTRIBUTE, "Enabled": True},
            "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
            "SSESpecification": {"SSEEnabled": True},
        }
    )


def log_group(name: Any) -> dict[str, Any]:
    return {
        "Type": "AWS::Logs::LogGroup",
        "DeletionPolicy": "Delete",
        "UpdateReplacePolicy": "Delete",
        "Properties": {"LogGroupName": name, "RetentionInDays": spec.LOG_RETENTION_DAYS},
    }


def log_group_arn(logical_id: str) -> dict[str, str]:
    """The plain log-group ARN (GetAtt Arn ends in ':*', which destinations don't want)."""
    return sub(
        f"arn:${{AWS::Partition}}:logs:${{AWS::Region}}:${{AWS::AccountId}}:log-group:${{{logical_id}}}"
    )


def api_gateway_logging() -> dict[str, Any]:
    """The role API Gateway assumes to write logs, set account-wide by AWS::ApiGateway::Account.

    The role is retained on stack deletion: the account setting is one per
    region and another stage's stack may be relying on it.
    """
    return {
        "ApiGatewayCloudWatchRole": {
            "Type": "AWS::IAM::Role",
            "DeletionPolicy": "Retain",
            "UpdateReplacePolicy": "Retain",
            "Properties": {
                "AssumeRolePolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"Service": "apigateway.amazonaws.com"},
                            "Action": "sts:AssumeRole",
                        }
                    ],
                },
                "ManagedPolicyArns": [
                    sub(
                        "arn:${AWS::Partition}:iam::aws:policy/service-role/"
                        "AmazonAPIGatewayPushToCloudWatchLogs"
                    )
                ],
            },
        },
        "ApiGatewayAccount": {
            "Type": "AWS::ApiGateway::Account",
            # Explicit as well as implied by GetAtt: the setting must never be
            # applied while its role is still being created or already deleted.
            "DependsOn": ["ApiGatewayCloudWatchRole"],
            "Properties": {
                "CloudWatchRoleArn": {"Fn::GetAtt": ["ApiGatewayCloudWatchRole", "Arn"]}
            },
        },
    }


def named(template: str, bucket_name: Any) -> dict[str, Any]:
    """``template`` with ``${Bucket}`` replaced by the bucket's computed name."""
    return {"Fn::Sub": [template, {"Bucket": bucket_name}]}


def stack_bucket_name() -> dict[str, Any]:
    """The CloudFormation path's bucket: the app's prefix and the stack id's UUID
    without dashes; unique, stable across updates, known before anything exists."""
    uuid = {"Fn::Select": [2, {"Fn::Split": ["/", {"Ref": "AWS::StackId"}]}]}
    hex_digits = {"Fn::Join": ["", {"Fn::Split": ["-", uuid]}]}
    return {"Fn::Join": ["", [spec.stack_bucket_prefix(), hex_digits]]}


def base_bucket_name() -> dict[str, str]:
    """The `chalice deploy` path's bucket, named as on the Terraform path."""
    return sub(spec.attachments_bucket_name("${Stage}", "${AWS::AccountId}", "${AWS::Region}"))


def bucket_origin(bucket_name: Any) -> dict[str, Any]:
    origin = spec.bucket_origin("${Bucket}", "${AWS::Region}", "${AWS::URLSuffix}")
    return named(origin, bucket_name)


def chat_blobs(bucket_name: Any) -> dict[str, Any]:
    return named(spec.chat_blobs("${Bucket}"), bucket_name)


def attachments_statements(bucket_name: Any) -> list[dict[str, Any]]:
    arn = "arn:${AWS::Partition}:s3:::${Bucket}"
    return policy.attachments_statements(
        named(f"{arn}/{spec.ATTACHMENTS_PREFIX}*", bucket_name), named(arn, bucket_name)
    )


def lifecycle_rules() -> list[dict[str, Any]]:
    return [
        {
            "Id": "ExpirePendingUploads",
            "Status": "Enabled",
            "Prefix": spec.ATTACHMENTS_PREFIX,
            "TagFilters": [dict(spec.PENDING_TAG)],
            "ExpirationInDays": spec.PENDING_EXPIRATION_DAYS,
        },
        {
            "Id": "AbortIncompleteMultipartUploads",
            "Status": "Enabled",
            "AbortIncompleteMultipartUpload": {
                "DaysAfterInitiation": spec.ABORT_INCOMPLETE_MULTIPART_DAYS
            },
        },
    ]


def attachments_bucket(bucket_name: Any, amplify_condition: str) -> dict[str, Any]:
    """The private bucket and its TLS-only policy. The CORS rule allows the Amplify
    app's URL and FrontendOrigin, whichever there are (none: no CORS rule)."""
    origins = [
        {"Fn::If": ["HasFrontendOrigin", {"Ref": "FrontendOrigin"}, NO_VALUE]},
        {"Fn::If": [amplify_condition, sub(AMPLIFY_URL), NO_VALUE]},
    ]
    encryption = {"SSEAlgorithm": spec.BUCKET_SSE_ALGORITHM}
    cors_rule = {
        "Id": "BrowserClient",
        "AllowedMethods": list(spec.CORS_ALLOWED_METHODS),
        "AllowedOrigins": origins,
        "ExposedHeaders": list(spec.CORS_EXPOSE_HEADERS),
        "MaxAge": spec.CORS_MAX_AGE_SECONDS,
    }
    return {
        BUCKET: {
            "Type": "AWS::S3::Bucket",
            # Deleted with the stack once emptied (docs/deploy.md, Teardown); kept
            # if an update ever has to replace it, like the table.
            "DeletionPolicy": "Delete",
            "UpdateReplacePolicy": "Retain",
            "Properties": {
                "BucketName": bucket_name,
                "PublicAccessBlockConfiguration": dict(spec.PUBLIC_ACCESS_BLOCK),
                "OwnershipControls": {"Rules": [{"ObjectOwnership": spec.BUCKET_OBJECT_OWNERSHIP}]},
                "BucketEncryption": {
                    "ServerSideEncryptionConfiguration": [
                        {"ServerSideEncryptionByDefault": encryption}
                    ]
                },
                "CorsConfiguration": {
                    "Fn::If": ["HasCorsOrigin", {"CorsRules": [cors_rule]}, NO_VALUE]
                },
                "LifecycleConfiguration": {"Rules": lifecycle_rules()},
            },
        },
        f"{BUCKET}Policy": {
            "Type": "AWS::S3::BucketPolicy",
            "Properties": {
                "Bucket": {"Ref": BUCKET},
                "PolicyDocument": policy.tls_only_bucket_policy(
                    {"Fn::GetAtt": [BUCKET, "Arn"]}, sub(f"${{{BUCKET}.Arn}}/*")
                ),
            },
        },
    }


def cors_conditions(amplify_condition: str) -> dict[str, Any]:
    return {
        "HasFrontendOrigin": HAS_FRONTEND_ORIGIN,
        "HasCorsOrigin": {
            "Fn::Or": [{"Condition": "HasFrontendOrigin"}, {"Condition": amplify_condition}]
        },
    }


def custom_headers(bucket_name: Any) -> dict[str, Any]:
    """Amplify's customHeaders, the CSP naming the bucket's origin (a Fn::Sub: any
    other ``${`` of the headers stays literal)."""
    text = spec.frontend().custom_headers_yaml(spec.ORIGIN_PLACEHOLDER)
    text = text.replace("${", "${!").replace(spec.ORIGIN_PLACEHOLDER, "${AttachmentsOrigin}")
    return {"Fn::Sub": [text, {"AttachmentsOrigin": bucket_origin(bucket_name)}]}


def amplify(websocket_url: Any, condition: str, name: Any, bucket_name: Any) -> dict[str, Any]:
    front = spec.frontend()
    variables = {spec.WEBSOCKET_URL_VARIABLE: websocket_url, **front.environment()}
    return {
        "AmplifyApp": {
            "Type": "AWS::Amplify::App",
            "Condition": condition,
            "Properties": {
                "Name": name,
                "Repository": {"Ref": "GitHubRepository"},
                "AccessToken": {
                    "Fn::If": [
                        "HasAccessToken",
                        {"Ref": "GitHubAccessToken"},
                        {"Ref": "AWS::NoValue"},
                    ]
                },
                "Platform": "WEB",
                "BuildSpec": front.build_spec,
                "CustomHeaders": custom_headers(bucket_name),
                "CustomRules": [
                    {
                        "Source": spec.SPA_REWRITE_SOURCE,
                        "Target": spec.SPA_REWRITE_TARGET,
                        "Status": spec.SPA_REWRITE_STATUS,
                    }
                ],
                "EnvironmentVariables": [
                    {"Name": key, "Value": value} for key, value in variables.items()
                ],
            },
        },
        "AmplifyBranch": {
            "Type": "AWS::Amplify::Branch",
            "Condition": condition,
            "Properties": {
                "AppId": {"Fn::GetAtt": ["AmplifyApp", "AppId"]},
                "BranchName": {"Ref": "GitHubBranch"},
                "EnableAutoBuild": True,
            },
        },
    }


def amplify_outputs(condition: str) -> dict[str, Any]:
    return {
        "AmplifyAppId": {"Condition": condition, "Value": {"Fn::GetAtt": ["AmplifyApp", "AppId"]}},
        "AmplifyURL": {
            "Condition": condition,
            "Value": sub(AMPLIFY_URL),
        },
    }


def merge_template() -> Template:
    """infra/cloudformation/resources.json: merged into Chalice's SAM template."""
    endpoint = f"${{{API}}}.execute-api.${{AWS::Region}}.${{AWS::URLSuffix}}/${{{STAGE}}}"
    websocket_url = sub(f"wss://{endpoint}")
    connections = [
        sub(
            "arn:${AWS::Partition}:execute-api:${AWS::Region}:${AWS::AccountId}:"
            f"${{{API}}}/${{{STAGE}}}/{method}/@connections/*"
        )
        for method in policy.CONNECTION_METHODS
    ]
    bucket_name = stack_bucket_name()
    resources: dict[str, Any] = {
        TABLE: table(),
        **attachments_bucket(bucket_name, "HasRepository"),
        **api_gateway_logging(),
        "StageAccessLogGroup": log_group(sub(f"/aws/apigateway/${{{API}}}/access")),
        STAGE: {
            # The account's CloudWatch role must be set before a stage may log;
            # its execution log group is added at package time (stage_literals).
            "DependsOn": ["ApiGatewayAccount"],
            "Properties": {
                # DefaultRouteSettings covers every route ($connect, $disconnect,
                # $default), not just the $default route.
                "DefaultRouteSettings": spec.route_settings(),
                "AccessLogSettings": {
                    "DestinationArn": log_group_arn("StageAccessLogGroup"),
                    "Format": spec.ACCESS_LOG_FORMAT,
                },
            },
        },
        **amplify(websocket_url, "HasRepository", sub("${AWS::StackName}"), bucket_name),
    }
    for _, fn in spec.FUNCTIONS:
        variables = {
            "CHAT_STORE": sub(f"dynamodb:${{{TABLE}}}"),
            "CHAT_BLOBS": chat_blobs(bucket_name),
        }
        resources[fn] = {"Properties": {"Environment": {"Variables": variables}}}
        resources[f"{fn}LogGroup"] = log_group(sub(f"/aws/lambda/${{{fn}}}"))
        # With autogen_policy false Chalice gives each function its own role
        # carrying .chalice/policy-<stage>.json; its policies are replaced here.
        # DynamoDB access stays inline. The statements that name the stage and
        # the function's log group are a separate policy: inline they would
        # make a cycle (role -> stage -> routes -> functions -> role).
        resources[f"{fn}Role"] = {
            "Properties": {
                "Policies": [
                    {
                        "PolicyName": "ChatTableAccess",
                        "PolicyDocument": policy.document(
                            policy.dynamodb_statements(
                                {"Fn::GetAtt": [TABLE, "Arn"]},
                                sub(f"${{{TABLE}.Arn}}/index/{schema.USER_INDEX}"),
                            )
                        ),
                    },
                    {
                        "PolicyName": "AttachmentsAccess",
                        "PolicyDocument": policy.document(attachments_statements(bucket_name)),
                    },
                ]
            }
        }
        # AWS::IAM::Policy with Roles grants exactly what an AWS::IAM::RolePolicy
        # would, and is the type more tools (MiniStack among them) implement.
        resources[f"{fn}RuntimePolicy"] = {
            "Type": "AWS::IAM::Policy",
            "Properties": {
                "Roles": [{"Ref": f"{fn}Role"}],
                "PolicyName": "ConnectionsAndLogs",
                "PolicyDocument": policy.document(
                    [
                        policy.connections_statement(connections),
                        policy.logs_statement([{"Fn::GetAtt": [f"{fn}LogGroup", "Arn"]}]),
                    ]
                ),
            },
        }
    return {
        "Parameters": copy.deepcopy({**GITHUB_PARAMETERS, **FRONTEND_PARAMETERS}),
        "Conditions": {
            "HasRepository": HAS_REPOSITORY,
            "HasAccessToken": HAS_ACCESS_TOKEN,
            **cors_conditions("HasRepository"),
        },
        "Rules": copy.deepcopy(TOKEN_RULES),
        "Resources": resources,
        "Outputs": {
            "WebSocketURL": {"Value": websocket_url},
            # API Gateway has no attribute for the @connections endpoint; the
            # functions and operators need it, so it is formed here.
            "ConnectionsCallbackURL": {"Value": sub(f"https://{endpoint}")},
            "TableName": {"Value": {"Ref": TABLE}},
            "AttachmentsBucketName": {"Value": {"Ref": BUCKET}},
            "StageAccessLogGroupName": {"Value": {"Ref": "StageAccessLogGroup"}},
            **amplify_outputs("HasRepository"),
        },
    }


def execution_log_group(stage_name: str) -> dict[str, Any]:
    """API Gateway's own name for a stage's execution logs, with the stage name literal.

    Made by the stack so it gets a retention period instead of "never expire",
    and before the stage: the name must not Ref the stage, or the group would
    come after it and API Gateway would already have made one of its own.
    """
    return log_group(sub(f"API-Gateway-Execution-Logs_${{{API}}}/{stage_name}"))


def stage_literals(sam: Template) -> Template:
    """The packaged SAM template with the stage's execution log group, named from
    the literal StageName of Chalice's stage and made before the stage."""
    out = copy.deepcopy(sam)
    stage = out["Resources"][STAGE]
    stage_name = stage["Properties"]["StageName"]
    if not isinstance(stage_name, str):
        raise ValueError(f"{STAGE} has no literal StageName: {stage_name!r}")
    out["Resources"]["StageExecutionLogGroup"] = execution_log_group(stage_name)
    depends = stage.get("DependsOn", [])
    depends = [depends] if isinstance(depends, str) else list(depends)
    stage["DependsOn"] = [*depends, "StageExecutionLogGroup"]
    return out


def base_stack() -> Template:
    """infra/cloudformation/chalice-deploy.json: what `chalice deploy` does not create."""
    app = spec.app_name()
    endpoint = "${ApiId}.execute-api.${AWS::Region}.${AWS::URLSuffix}/${Stage}"
    bucket_name = base_bucket_name()
    resources: dict[str, Any] = {
        TABLE: table({"TableName": sub(f"{app}-${{Stage}}")}),
        **attachments_bucket(bucket_name, "CreateAmplify"),
        **api_gateway_logging(),
        "StageAccessLogGroup": log_group(sub(f"/aws/apigateway/{app}-${{Stage}}/access")),
        "StageExecutionLogGroup": {
            **log_group(sub("API-Gateway-Execution-Logs_${ApiId}/${Stage}")),
            "Condition": "HasApiId",
        },
        **amplify(sub(f"wss://{endpoint}"), "CreateAmplify", sub(f"{app}-${{Stage}}"), bucket_name),
    }
    for resource, fn in spec.FUNCTIONS:
        resources[f"{fn}LogGroup"] = log_group(sub(f"/aws/lambda/{app}-${{Stage}}-{resource}"))
    return {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": f"{app}: the table, the attachments bucket, API Gateway logging and "
        "Amplify hosting that `chalice deploy` does not create (infra/deploy-chalice.sh).",
        "Parameters": {
            "Stage": {"Type": "String", "AllowedValues": spec.stages()},
            "ApiId": {
                "Type": "String",
                "Default": "",
                "Description": "The WebSocket API id from .chalice/deployed/<stage>.json; "
                "empty before the first `chalice deploy`.",
            },
            **copy.deepcopy({**GITHUB_PARAMETERS, **FRONTEND_PARAMETERS}),
        },
        "Conditions": {
            "HasApiId": {"Fn::Not": [{"Fn::Equals": [{"Ref": "ApiId"}, ""]}]},
            "HasRepository": HAS_REPOSITORY,
            "HasAccessToken": HAS_ACCESS_TOKEN,
            "CreateAmplify": {
                "Fn::And": [{"Condition": "HasApiId"}, {"Condition": "HasRepository"}]
            },
            **cors_conditions("CreateAmplify"),
        },
        "Rules": copy.deepcopy(TOKEN_RULES),
        "Resources": resources,
        "Outputs": {
            "TableName": {"Value": {"Ref": TABLE}},
            "TableArn": {"Value": {"Fn::GetAtt": [TABLE, "Arn"]}},
            "AttachmentsBucketName": {"Value": {"Ref": BUCKET}},
            "StageAccessLogGroupArn": {"Value": log_group_arn("StageAccessLogGroup")},
            "WebSocketURL": {"Condition": "HasApiId", "Value": sub(f"wss://{endpoint}")},
            "ConnectionsCallbackURL": {
                "Condition": "HasApiId",
                "Value": sub(f"https://{endpoint}"),
            },
            **amplify_outputs("CreateAmplify"),
        },
    }
