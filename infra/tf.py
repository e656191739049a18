"""Builds the Terraform add-on that sits beside Chalice's chalice.tf.json.

``addon()`` is infra/terraform/addon.tf.json (the table, the attachments
bucket, API Gateway's logging role and account setting, log groups, Amplify,
outputs); ``overrides()`` is
infra/terraform/chalice_override.tf.json, which changes Chalice's own
resources with Terraform's override-file merge (Chalice's Terraform output has
no --merge-template). ``stage_locals()`` writes chalice_locals.tf.json at
package time from the chalice.tf.json of the stage being packaged.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from chalicelib.store import schema
from infra import policy, spec

Config = dict[str, Any]

# Set from this module's resources, whatever chalice.tf.json says.
ENV_EXCLUDED = ("CHAT_STORE", "CHAT_BLOBS")
STAGE_LOCALS_FILE = "chalice_locals.tf.json"
PARTITION = "${data.aws_partition.chalice.partition}"
REGION = "${data.aws_region.chalice.name}"
ACCOUNT = "${data.aws_caller_identity.chalice.account_id}"
API_ID = "${aws_apigatewayv2_api.websocket_api.id}"
AMPLIFY_COUNT = "${length(var.github_repository) > 0 ? 1 : 0}"
BUCKET = "${aws_s3_bucket.attachments.bucket}"
BUCKET_ID = "${aws_s3_bucket.attachments.id}"
BUCKET_ARN = "${aws_s3_bucket.attachments.arn}"
# Known at plan time (count may not wait for the Amplify app's domain).
CORS_COUNT = '${var.frontend_origin != "" || length(var.github_repository) > 0 ? 1 : 0}'


def literal(text: str) -> str:
    """Escape text so Terraform's JSON syntax reads it as a plain string, not a template."""
    return text.replace("${", "$${").replace("%{", "%%{")


def table() -> dict[str, Any]:
    """The table as an aws_dynamodb_table, straight from the schema module."""
    types = {a["AttributeName"]: a["AttributeType"] for a in schema.ATTRIBUTE_DEFINITIONS}
    keys = {k["KeyType"]: k["AttributeName"] for k in schema.KEY_SCHEMA}
    indexes = []
    for gsi in schema.GLOBAL_SECONDARY_INDEXES:
        gsi_keys = {k["KeyType"]: k["AttributeName"] for k in gsi["KeySchema"]}
        indexes.append(
            {
                "name": gsi["IndexName"],
                "hash_key": gsi_keys["HASH"],
                "range_key": gsi_keys["RANGE"],
                "projection_type": gsi["Projection"]["ProjectionType"],
                "non_key_attributes": list(gsi["Projection"].get("NonKeyAttributes", [])),
            }
        )
    return {
        "name": "${local.app}-${local.stage}",
        "billing_mode": schema.BILLING_MODE,
        "hash_key": keys["HASH"],
        "range_key": keys["RANGE"],
        "attribute": [{"name": name, "type": kind} for name, kind in types.items()],
        "global_secondary_index": indexes,
        "ttl": {"attribute_name": schema.TTL_ATTRIBUTE, "enabled": True},
        "point_in_time_recovery": {"enabled": True},
        "server_side_encryption": {"enabled": True},
    }


def lambda_policy(function: str) -> dict[str, Any]:
    """The policy of one function's role (Chalice makes one role per function)."""
    table_arn = "${aws_dynamodb_table.chat.arn}"
    return policy.document(
        [
            *policy.dynamodb_statements(table_arn, f"{table_arn}/index/{schema.USER_INDEX}"),
            *policy.attachments_statements(f"{BUCKET_ARN}/{spec.ATTACHMENTS_PREFIX}*", BUCKET_ARN),
            policy.connections_statement(
                [
                    f"arn:{PARTITION}:execute-api:{REGION}:{ACCOUNT}:{API_ID}/${{local.stage}}/"
                    f"{method}/@connections/*"
                    for method in policy.CONNECTION_METHODS
                ]
            ),
            policy.logs_statement([f"${{aws_cloudwatch_log_group.{function}.arn}}:*"]),
        ]
    )


def attachments_bucket() -> dict[str, Any]:
    """The bucket and its settings, one resource each as provider 5 wants them."""
    pending = spec.PENDING_TAG
    return {
        "aws_s3_bucket": {"attachments": {"bucket": "${local.attachments_bucket}"}},
        "aws_s3_bucket_public_access_block": {
            "attachments": {
                "bucket": BUCKET_ID,
                **{snake(k): v for k, v in spec.PUBLIC_ACCESS_BLOCK.items()},
            }
        },
        "aws_s3_bucket_ownership_controls": {
            "attachments": {
                "bucket": BUCKET_ID,
                "rule": {"object_ownership": spec.BUCKET_OBJECT_OWNERSHIP},
            }
        },
        "aws_s3_bucket_server_side_encryption_configuration": {
            "attachments": {
                "bucket": BUCKET_ID,
                "rule": {
                    "apply_server_side_encryption_by_default": {
                        "sse_algorithm": spec.BUCKET_SSE_ALGORITHM
                    }
                },
            }
        },
        "aws_s3_bucket_cors_configuration": {
            "attachments": {
                "count": CORS_COUNT,
                "bucket": BUCKET_ID,
                "cors_rule": {
                    "id": "BrowserClient",
                    "allowed_methods": list(spec.CORS_ALLOWED_METHODS),
                    "allowed_origins": "${compact([var.frontend_origin, local.amplify_url])}",
                    "expose_headers": list(spec.CORS_EXPOSE_HEADERS),
                    "max_age_seconds": spec.CORS_MAX_AGE_SECONDS,
                },
            }
        },
        "aws_s3_bucket_lifecycle_configuration": {
            "attachments": {
                "bucket": BUCKET_ID,
                "rule": [
                    {
                        "id": "ExpirePendingUploads",
                        "status": "Enabled",
                        "filter": {
                            "and": {
                                "prefix": spec.ATTACHMENTS_PREFIX,
                                "tags": {pending["Key"]: pending["Value"]},
                            }
                        },
                        "expiration": {"days": spec.PENDING_EXPIRATION_DAYS},
                    },
                    {
                        "id": "AbortIncompleteMultipartUploads",
                        "status": "Enabled",
                        "filter": {},
                        "abort_incomplete_multipart_upload": {
                            "days_after_initiation": spec.ABORT_INCOMPLETE_MULTIPART_DAYS
                        },
                    },
                ],
            }
        },
        "aws_s3_bucket_policy": {
            "attachments": {
                "bucket": BUCKET_ID,
                "policy": "${jsonencode(local.attachments_bucket_policy)}",
                # S3 refuses concurrent changes to one bucket's settings.
                "depends_on": ["aws_s3_bucket_public_access_block.attachments"],
            }
        },
    }


def snake(name: str) -> str:
    """CloudFormation's BlockPublicAcls -> Terraform's block_public_acls."""
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name).lstrip("_")


def log_group(name: str, depends_on: list[str] | None = None) -> dict[str, Any]:
    group: dict[str, Any] = {"name": name, "retention_in_days": spec.LOG_RETENTION_DAYS}
    if depends_on:
        group["depends_on"] = depends_on
    return group


def addon() -> Config:
    front = spec.frontend()
    endpoint = f"{API_ID}.execute-api.{REGION}.${{data.aws_partition.chalice.dns_suffix}}"
    function_groups = {
        name: log_group(f"/aws/lambda/${{aws_lambda_function.{name}.function_name}}")
        for name, _ in spec.FUNCTIONS
    }
    amplify_env = {spec.WEBSOCKET_URL_VARIABLE: "${local.websocket_url}", **front.environment()}
    return {
        "terraform": {"backend": {"local": {}}},
        "variable": {
            "github_repository": {
                "type": "string",
                "default": "",
                "description": "HTTPS URL of the GitHub repository Amplify builds the frontend "
                "from; empty creates no Amplify app.",
            },
            "github_access_token": {
                "type": "string",
                "default": "",
                "sensitive": True,
                "description": "GitHub personal access token for Amplify "
                "(set it as TF_VAR_github_access_token).",
                # Refused at plan time, as the CloudFormation rule does, instead
                # of halfway through apply with Amplify's own message.
                "validation": [
                    {
                        "condition": '${var.github_repository == "" || '
                        'var.github_access_token != ""}',
                        "error_message": "github_access_token is required when "
                        "github_repository is set.",
                    }
                ],
            },
            "github_branch": {
                "type": "string",
                "default": "main",
                "description": "Branch Amplify builds and hosts.",
            },
            "frontend_origin": {
                "type": "string",
                "default": "",
                "description": "Origin (https://host[:port]) of a browser client hosted "
                "elsewhere than the Amplify app; the attachments bucket's CORS rule allows "
                "it beside the Amplify app's URL. Empty: only the Amplify app.",
                "validation": [
                    {
                        "condition": '${var.frontend_origin == "" || '
                        f'can(regex("{spec.ORIGIN_PATTERN}", var.frontend_origin))}}',
                        "error_message": "frontend_origin must be an origin such as "
                        "https://chat.example.com (no path, no trailing slash).",
                    }
                ],
            },
        },
        "locals": {
            "chat_store": "dynamodb:${aws_dynamodb_table.chat.name}",
            "attachments_bucket": spec.attachments_bucket_name(
                "${local.stage}", ACCOUNT, REGION, app="${local.app}"
            ),
            "chat_blobs": spec.chat_blobs(BUCKET),
            "attachments_origin": spec.bucket_origin(
                BUCKET, REGION, "${data.aws_partition.chalice.dns_suffix}"
            ),
            "attachments_bucket_policy": policy.tls_only_bucket_policy(
                BUCKET_ARN, f"{BUCKET_ARN}/*"
            ),
            "amplify_url": "${length(aws_amplify_branch.frontend) > 0 ? "
            'format("https://%s.%s", aws_amplify_branch.frontend[0].branch_name, '
            "aws_amplify_app.frontend[0].default_domain) : null}",
            "websocket_url": f"wss://{endpoint}/${{local.stage}}",
            "connections_callback_url": f"https://{endpoint}/${{local.stage}}",
            **{f"lambda_policy_{name}": lambda_policy(name) for name, _ in spec.FUNCTIONS},
        },
        "resource": {
            "aws_dynamodb_table": {"chat": table()},
            **attachments_bucket(),
            "aws_iam_role": {
                "apigateway_cloudwatch": {
                    "name_prefix": "${local.app}-${local.stage}-apigw-logs-",
                    "assume_role_policy": json.dumps(
                        {
                            "Version": "2012-10-17",
                            "Statement": [
                                {
                                    "Effect": "Allow",
                                    "Principal": {"Service": "apigateway.amazonaws.com"},
                                    "Action": "sts:AssumeRole",
                                }
                            ],
                        }
                    ),
                }
            },
            "aws_iam_role_policy_attachment": {
                "apigateway_cloudwatch": {
                    "role": "${aws_iam_role.apigateway_cloudwatch.name}",
                    "policy_arn": f"arn:{PARTITION}:iam::aws:policy/service-role/"
                    "AmazonAPIGatewayPushToCloudWatchLogs",
                }
            },
            "aws_api_gateway_account": {
                "this": {
                    "cloudwatch_role_arn": "${aws_iam_role.apigateway_cloudwatch.arn}",
                    # Without it destroy leaves the region's setting pointing at
                    # the deleted role (provider 5.x; 6.0 always resets).
                    "reset_on_delete": True,
                    "depends_on": ["aws_iam_role_policy_attachment.apigateway_cloudwatch"],
                }
            },
            "aws_cloudwatch_log_group": {
                **function_groups,
                "stage_execution": log_group(
                    f"API-Gateway-Execution-Logs_{API_ID}/${{local.stage}}"
                ),
                # Override files may not add depends_on to Chalice's stage, so the
                # stage waits for the account setting and the other log groups
                # through this group, which its access_log_settings references.
                "stage_access": log_group(
                    f"/aws/apigateway/{API_ID}/access",
                    depends_on=[
                        "aws_api_gateway_account.this",
                        "aws_cloudwatch_log_group.stage_execution",
                        *(f"aws_cloudwatch_log_group.{name}" for name in function_groups),
                    ],
                ),
            },
            "aws_amplify_app": {
                "frontend": {
                    "count": AMPLIFY_COUNT,
                    "name": "${local.app}-${local.stage}",
                    "repository": "${var.github_repository}",
                    "access_token": "${var.github_access_token}",
                    "platform": "WEB",
                    "build_spec": literal(front.build_spec),
                    "custom_headers": literal(
                        front.custom_headers_yaml(spec.ORIGIN_PLACEHOLDER)
                    ).replace(spec.ORIGIN_PLACEHOLDER, "${local.attachments_origin}"),
                    "custom_rule": [
                        {
                            "source": literal(spec.SPA_REWRITE_SOURCE),
                            "target": spec.SPA_REWRITE_TARGET,
                            "status": spec.SPA_REWRITE_STATUS,
                        }
                    ],
                    "environment_variables": amplify_env,
                }
            },
            "aws_amplify_branch": {
                "frontend": {
                    "count": AMPLIFY_COUNT,
                    "app_id": "${aws_amplify_app.frontend[0].id}",
                    "branch_name": "${var.github_branch}",
                    "enable_auto_build": True,
                }
            },
        },
        "output": {
            "websocket_url": {"value": "${local.websocket_url}"},
            "connections_callback_url": {"value": "${local.connections_callback_url}"},
            "table_name": {"value": "${aws_dynamodb_table.chat.name}"},
            "attachments_bucket": {"value": BUCKET},
            "stage_access_log_group": {"value": "${aws_cloudwatch_log_group.stage_access.name}"},
            "amplify_app_id": {"value": "${one(aws_amplify_app.frontend[*].id)}"},
            "amplify_url": {"value": "${local.amplify_url}"},
        },
    }


def overrides() -> Config:
    """Changes to Chalice's own resources, merged by Terraform's override-file rules."""
    environment = {
        "variables": "${merge(local.chalice_environment, "
        "{CHAT_STORE = local.chat_store, CHAT_BLOBS = local.chat_blobs})}"
    }
    return {
        "terraform": {
            # chalice.tf.json pins Terraform < 1.4 and the AWS provider < 5. A
            # variable validation naming another variable needs Terraform 1.9;
            # the Amplify app's custom_headers needs provider 5.24, the account
            # setting's reset_on_delete a later 5.x (5.87 has it; 6.0 drops it).
            "required_version": ">= 1.9.0, < 2.0.0",
            "required_providers": {
                "aws": {"source": "hashicorp/aws", "version": ">= 5.87.0, < 6.0.0"}
            },
        },
        "resource": {
            "aws_apigatewayv2_stage": {
                "websocket_api_stage": {
                    # Applies to every route, not only $default; both throttling
                    # numbers are set (one alone reads the other as 0 -> 429s).
                    "default_route_settings": {
                        "throttling_burst_limit": spec.THROTTLING_BURST_LIMIT,
                        "throttling_rate_limit": spec.THROTTLING_RATE_LIMIT,
                        "logging_level": spec.LOGGING_LEVEL,
                        "data_trace_enabled": spec.DATA_TRACE_ENABLED,
                        "detailed_metrics_enabled": spec.DETAILED_METRICS_ENABLED,
                    },
                    "access_log_settings": {
                        "destination_arn": "${aws_cloudwatch_log_group.stage_access.arn}",
                        "format": literal(spec.ACCESS_LOG_FORMAT),
                    },
                }
            },
            "aws_lambda_function": {
                name: {"environment": environment} for name, _ in spec.FUNCTIONS
            },
            # Chalice's role policies carry .chalice/policy-<stage>.json, written
            # for `chalice deploy`; here they name this module's resources.
            "aws_iam_role_policy": {
                f"{name}_role": {"policy": f"${{jsonencode(local.lambda_policy_{name})}}"}
                for name, _ in spec.FUNCTIONS
            },
        },
    }


def stage_locals(chalice_tf: Config) -> Config:
    """chalice_locals.tf.json: app, stage and the functions' environment from chalice.tf.json."""
    functions = chalice_tf["resource"]["aws_lambda_function"]
    environments = []
    for name, _ in spec.FUNCTIONS:
        variables = dict(functions[name].get("environment", {}).get("variables", {}))
        for excluded in ENV_EXCLUDED:
            variables.pop(excluded, None)
        environments.append(variables)
    if any(env != environments[0] for env in environments):
        raise ValueError("the WebSocket functions have different environments in chalice.tf.json")
    inputs = chalice_tf["data"]["null_data_source"]["chalice"]["inputs"]
    return {
        "locals": {
            "app": inputs["app"],
            "stage": inputs["stage"],
            "chalice_environment": {k: literal(str(v)) for k, v in environments[0].items()},
        }
    }


def without_null_provider(chalice_tf: Config) -> Config:
    """chalice.tf.json without its ``null_data_source`` (deprecated by the null provider
    itself in favour of locals, and referenced by nothing once its inputs are in
    chalice_locals.tf.json) and so without the hashicorp/null provider: the module
    then needs only hashicorp/aws, one provider less to download or mirror."""
    out = json.loads(json.dumps(chalice_tf))
    data = out.get("data", {})
    data.pop("null_data_source", None)
    if not data:
        out.pop("data", None)
    out.get("terraform", {}).get("required_providers", {}).pop("null", None)
    if "null_data_source" in json.dumps(out):
        raise ValueError("chalice.tf.json still refers to data.null_data_source")
    return out


def write_stage_locals(directory: Path) -> Path:
    source = directory / "chalice.tf.json"
    chalice_tf = json.loads(source.read_text())
    target = directory / STAGE_LOCALS_FILE
    target.write_text(json.dumps(stage_locals(chalice_tf), indent=2) + "\n")
    source.write_text(json.dumps(without_null_provider(chalice_tf), indent=2) + "\n")
    return target
