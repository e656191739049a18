"""The numbers and names every deployment path shares, and the inputs read from the repo.

Both template generators (CloudFormation and Terraform) and the `chalice deploy`
script take their throttling limits, log retention, access-log format, function
names, Amplify settings and the attachments bucket's settings from here, so the
three paths cannot drift apart.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from chalicelib.blobs.s3 import STATE_TAG

ROOT = Path(__file__).resolve().parent.parent
CHALICE_CONFIG = ROOT / ".chalice" / "config.json"
AMPLIFY_BUILD_SPEC = ROOT / "frontend" / "amplify.yml"
SECURITY_HEADERS = ROOT / "frontend" / "security-headers.json"

# Stage-wide WebSocket limits. API Gateway needs BOTH numbers in a route
# settings block: with only one of them set the other reads as 0 and every
# message is refused with "429 throttling limit exceeded".
THROTTLING_BURST_LIMIT = 200
THROTTLING_RATE_LIMIT = 100.0
# INFO execution logs; data tracing stays off because it would copy every
# frame, passwords of `register`/`login` included, into CloudWatch.
LOGGING_LEVEL = "INFO"
DATA_TRACE_ENABLED = False
DETAILED_METRICS_ENABLED = True
LOG_RETENTION_DAYS = 30

# $context variables listed for WebSocket APIs in API Gateway's logging guide.
# messageString is the error message already quoted (and escaped), so an error
# containing quotes still leaves a line of valid JSON.
ACCESS_LOG_FORMAT = (
    '{"requestId":"$context.requestId","connectionId":"$context.connectionId",'
    '"eventType":"$context.eventType","routeKey":"$context.routeKey",'
    '"status":"$context.status","requestTime":"$context.requestTime",'
    '"ip":"$context.identity.sourceIp","integrationStatus":"$context.integration.status",'
    '"integrationLatency":"$context.integrationLatency",'
    '"error":$context.error.messageString}'
)

# Chalice's names for the three WebSocket handlers: (Chalice resource name,
# SAM logical id). Function names are "<app>-<stage>-<resource name>".
FUNCTIONS: tuple[tuple[str, str], ...] = (
    ("websocket_connect", "WebsocketConnect"),
    ("websocket_message", "WebsocketMessage"),
    ("websocket_disconnect", "WebsocketDisconnect"),
)

# Amplify's documented rewrite for single-page apps: every path without a
# file extension (or with one not in the list) is answered with /index.html.
SPA_REWRITE_SOURCE = (
    "</^[^.]+$|\\.(?!(css|gif|ico|jpg|js|png|txt|svg|woff|woff2|ttf|map|json|webp)$)([^.]+$)/>"
)
SPA_REWRITE_TARGET = "/index.html"
SPA_REWRITE_STATUS = "200"
WEBSOCKET_URL_VARIABLE = "CHAT_WEBSOCKET_URL"
CUSTOM_HEADERS_PATTERN = "**/*"

# The attachments bucket (docs/deploy.md "The attachments bucket"). The functions
# reach only ATTACHMENTS_PREFIX; uploads never attached keep the tag the presigned
# POST gives them (chalicelib/blobs/s3.py) and expire; the app forgets them after
# CHAT_UPLOAD_TTL (24 h by default), which must not exceed the expiry.
ATTACHMENTS_PREFIX = "attachments/"
PENDING_TAG = {"Key": STATE_TAG, "Value": "pending"}
PENDING_EXPIRATION_DAYS = 1
ABORT_INCOMPLETE_MULTIPART_DAYS = 1
BUCKET_SSE_ALGORITHM = "AES256"  # SSE-S3: S3's own keys, nothing billed per request
BUCKET_OBJECT_OWNERSHIP = "BucketOwnerEnforced"  # ACLs off: the policy alone decides
PUBLIC_ACCESS_BLOCK = {
    "BlockPublicAcls": True,
    "IgnorePublicAcls": True,
    "BlockPublicPolicy": True,
    "RestrictPublicBuckets": True,
}
# The browser POSTs the upload form (XMLHttpRequest, for its progress events,
# which force a preflight) and may GET or HEAD a download. The preflight asks
# for the method only: a FormData body's multipart/form-data Content-Type is
# CORS-safelisted and the form fields travel in the body, so no request header
# needs allowing (no AllowedHeaders).
CORS_ALLOWED_METHODS = ("GET", "HEAD", "POST")
CORS_EXPOSE_HEADERS = ("ETag",)
CORS_MAX_AGE_SECONDS = 3600
# A browser origin: scheme, host, optional port; no path, no trailing slash
# (S3 compares it with the Origin header as a string).
ORIGIN_PATTERN = r"^https?://[A-Za-z0-9.-]+(:[0-9]+)?$"
# Bucket names are at most 63 characters; the longest region names have 14.
MAX_BUCKET_NAME = 63
LONGEST_REGION = "ap-southeast-2"
CSP_HEADER = "Content-Security-Policy"
ATTACHMENTS_CSP_DIRECTIVES = ("img-src", "connect-src")
# Stands for the bucket's origin in the custom headers until each template puts
# its own expression there.
ORIGIN_PLACEHOLDER = "ATTACHMENTS-BUCKET-ORIGIN"

PLACEHOLDER_BUILD_SPEC = """\
# Placeholder: frontend/amplify.yml was missing when this template was generated.
version: 1
frontend:
  phases:
    build:
      commands: []
  artifacts:
    baseDirectory: frontend
    files:
      - '**/*'
"""


def chalice_config() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(CHALICE_CONFIG.read_text())
    return data


def app_name() -> str:
    return str(chalice_config()["app_name"])


def stages() -> list[str]:
    return sorted(chalice_config()["stages"])


def function_name(stage: str, resource_name: str) -> str:
    return f"{app_name()}-{stage}-{resource_name}"


@dataclass(frozen=True)
class Frontend:
    """What Amplify needs from frontend/: build spec, app root, security headers."""

    build_spec: str
    app_root: str | None
    headers: dict[str, str]
    missing: tuple[str, ...]

    def custom_headers_yaml(self, attachments_origin: str | None = None) -> str:
        """Amplify's customHeaders YAML (monorepo form when the build spec has an appRoot),
        the CSP letting the page load images from and post uploads to
        ``attachments_origin`` when one is given."""
        headers = dict(self.headers)
        if attachments_origin and CSP_HEADER in headers:
            headers[CSP_HEADER] = with_attachments_origin(headers[CSP_HEADER], attachments_origin)
        rules = [
            {
                "pattern": CUSTOM_HEADERS_PATTERN,
                "headers": [{"key": k, "value": v} for k, v in headers.items()],
            }
        ]
        doc: dict[str, Any] = (
            {"applications": [{"appRoot": self.app_root, "customHeaders": rules}]}
            if self.app_root
            else {"customHeaders": rules}
        )
        return yaml.safe_dump(doc, sort_keys=False, width=10_000)

    def environment(self) -> dict[str, str]:
        """Amplify app variables other than the WebSocket URL."""
        return {"AMPLIFY_MONOREPO_APP_ROOT": self.app_root} if self.app_root else {}


def frontend() -> Frontend:
    missing: list[str] = []
    if AMPLIFY_BUILD_SPEC.exists():
        build_spec = AMPLIFY_BUILD_SPEC.read_text()
    else:
        missing.append(str(AMPLIFY_BUILD_SPEC.relative_to(ROOT)))
        build_spec = PLACEHOLDER_BUILD_SPEC
    spec = yaml.safe_load(build_spec) or {}
    apps = spec.get("applications") or []
    app_root = str(apps[0]["appRoot"]) if apps and apps[0].get("appRoot") else None
    if SECURITY_HEADERS.exists():
        headers = {str(k): str(v) for k, v in json.loads(SECURITY_HEADERS.read_text()).items()}
    else:
        missing.append(str(SECURITY_HEADERS.relative_to(ROOT)))
        headers = {}
    return Frontend(build_spec, app_root, headers, tuple(missing))


def route_settings() -> dict[str, Any]:
    """The stage's DefaultRouteSettings (API Gateway's names), for every deploy path."""
    return {
        "ThrottlingBurstLimit": THROTTLING_BURST_LIMIT,
        "ThrottlingRateLimit": THROTTLING_RATE_LIMIT,
        "LoggingLevel": LOGGING_LEVEL,
        "DataTraceEnabled": DATA_TRACE_ENABLED,
        "DetailedMetricsEnabled": DETAILED_METRICS_ENABLED,
    }


def with_attachments_origin(csp: str, origin: str) -> str:
    """The CSP with ``origin`` added to img-src (downloads shown inline) and connect-src
    (the upload POST); a directive the policy lacks starts from default-src's sources."""
    directives = [d.strip() for d in csp.split(";") if d.strip()]
    sources = {d.split()[0]: d.split()[1:] for d in directives}
    fallback = sources.get("default-src", [])
    for name in ATTACHMENTS_CSP_DIRECTIVES:
        if name not in sources:
            directives.append(name)
            sources[name] = list(fallback)
    out = []
    for directive in directives:
        name = directive.split()[0]
        values = sources[name]
        if name in ATTACHMENTS_CSP_DIRECTIVES:
            values = [v for v in values if v != "'none'"]
            if origin not in values:
                values = [*values, origin]
        out.append(" ".join([name, *values]))
    return "; ".join(out)


def attachments_bucket_name(stage: str, account: str, region: str, app: str | None = None) -> str:
    """The bucket of the `chalice deploy` and Terraform paths, fixed like their table's
    name: account and region make it globally unique."""
    return f"{app or app_name()}-{stage}-attachments-{account}-{region}"


def stack_bucket_prefix() -> str:
    """The CloudFormation path's bucket name before the stack id's 32 hex digits."""
    return f"{app_name()}-attachments-"


def check_bucket_names() -> None:
    """Every stage's bucket name fits S3's rules in the longest region."""
    names = [attachments_bucket_name(s, "123456789012", LONGEST_REGION) for s in stages()]
    names.append(stack_bucket_prefix() + "0" * 32)
    for name in names:
        if len(name) > MAX_BUCKET_NAME or not re.fullmatch(r"[a-z0-9][a-z0-9-]*[a-z0-9]", name):
            raise ValueError(f"bucket name {name!r} is not a valid S3 bucket name")


def chat_blobs(bucket: str) -> str:
    """CHAT_BLOBS for the functions: the bucket and the prefix they may use."""
    return f"s3://{bucket}/{ATTACHMENTS_PREFIX}"


def bucket_origin(bucket: str, region: str, dns_suffix: str = "amazonaws.com") -> str:
    """The origin of the bucket's presigned URLs (virtual-hosted, regional endpoint:
    chalicelib/blobs/s3.py)."""
    return f"https://{bucket}.s3.{region}.{dns_suffix}"
