"""The numbers and names every deployment path shares, and the inputs read from the repo.

Both template generators (CloudFormation and Terraform) and the `chalice deploy`
script take their throttling limits, log retention, access-log format, function
names and Amplify settings from here, so the three paths cannot drift apart.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

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

    def custom_headers_yaml(self) -> str:
        """Amplify's customHeaders YAML (monorepo form when the build spec has an appRoot)."""
        rules = [
            {
                "pattern": CUSTOM_HEADERS_PATTERN,
                "headers": [{"key": k, "value": v} for k, v in self.headers.items()],
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
