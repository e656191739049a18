"""Where the @connections client posts: API Gateway's callback URL, or the standard override.

Chalice builds its apigatewaymanagementapi client with a fixed
``endpoint_url=https://{api}.execute-api.{region}.amazonaws.com/{stage}``, and
an explicit ``endpoint_url`` beats the SDK's own endpoint settings, so
emulators could never redirect it. This WebsocketAPI honours, in boto3's
order, ``AWS_ENDPOINT_URL_APIGATEWAYMANAGEMENTAPI`` (the callback URL as is,
stage included, since that is what the service's endpoint is) and then
``AWS_ENDPOINT_URL`` (an emulator's single endpoint, addressed in the
path-based execute-api form ``{endpoint}/_aws/execute-api/{api}/{stage}`` that
MiniStack and LocalStack both serve). On AWS neither is set and Chalice's own
endpoint is used unchanged.
"""

from __future__ import annotations

from collections.abc import Mapping

from chalice.app import WebsocketAPI

SERVICE_VARIABLE = "AWS_ENDPOINT_URL_APIGATEWAYMANAGEMENTAPI"
GLOBAL_VARIABLE = "AWS_ENDPOINT_URL"


def override(env: Mapping[str, str], api_id: str, stage: str) -> str | None:
    """The @connections endpoint the environment asks for, or None for API Gateway's own."""
    service = env.get(SERVICE_VARIABLE, "").strip()
    if service:
        return service.rstrip("/")
    common = env.get(GLOBAL_VARIABLE, "").strip()
    if common:
        return f"{common.rstrip('/')}/_aws/execute-api/{api_id}/{stage}"
    return None


class OverridableWebsocketAPI(WebsocketAPI):
    """Chalice's WebsocketAPI, with the endpoint override applied on the first event."""

    def configure_from_api_id(self, api_id: str, stage: str) -> None:
        if self._endpoint is None:
            self._endpoint = override(self._env, api_id, stage)
        super().configure_from_api_id(api_id, stage)
