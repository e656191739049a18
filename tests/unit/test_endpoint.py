"""The @connections endpoint override (chalicelib/endpoint.py): boto3's order, AWS untouched."""

from __future__ import annotations

from chalicelib.endpoint import OverridableWebsocketAPI, override


def test_no_override_keeps_api_gateway_callback_url() -> None:
    api = OverridableWebsocketAPI(env={"AWS_REGION": "eu-west-1"})
    api.configure_from_api_id("abc123", "dev")
    assert api._endpoint == "https://abc123.execute-api.eu-west-1.amazonaws.com/dev"


def test_service_variable_wins_and_is_used_as_is() -> None:
    env = {
        "AWS_ENDPOINT_URL_APIGATEWAYMANAGEMENTAPI": "http://127.0.0.1:9/cb/dev/",
        "AWS_ENDPOINT_URL": "http://127.0.0.1:8",
    }
    assert override(env, "abc123", "dev") == "http://127.0.0.1:9/cb/dev"


def test_global_variable_uses_the_path_based_execute_api_form() -> None:
    api = OverridableWebsocketAPI(env={"AWS_ENDPOINT_URL": "http://127.0.0.1:4566/"})
    api.configure_from_api_id("abc123", "dev")
    assert api._endpoint == "http://127.0.0.1:4566/_aws/execute-api/abc123/dev"


def test_an_endpoint_set_before_the_first_event_is_kept() -> None:
    api = OverridableWebsocketAPI(env={"AWS_ENDPOINT_URL": "http://127.0.0.1:4566"})
    api._endpoint = "http://127.0.0.1:8000/local"
    api.configure_from_api_id("abc123", "dev")
    assert api._endpoint == "http://127.0.0.1:8000/local"
