"""The harness's own pieces: the one template change for MiniStack, the URL mapping, and
the one-line failure when Terraform or its mirror is missing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.deploy import paths
from tests.deploy.ministack import MiniStack, without_api_deployment


def test_the_api_deployment_is_dropped_and_nothing_else(tmp_path: Path) -> None:
    sam = tmp_path / "sam.json"
    sam.write_text(json.dumps({"Resources": {
        "WebsocketAPIDeployment": {"Type": "AWS::ApiGatewayV2::Deployment"},
        "WebsocketAPIStage": {"Type": "AWS::ApiGatewayV2::Stage", "DependsOn": ["Other"],
                              "Properties": {"DeploymentId": {"Ref": "WebsocketAPIDeployment"},
                                             "StageName": "dev"}},
        "Other": {"Type": "AWS::Logs::LogGroup", "DependsOn": ["WebsocketAPIDeployment"]},
    }}))
    without_api_deployment(sam)
    resources = json.loads(sam.read_text())["Resources"]
    assert set(resources) == {"WebsocketAPIStage", "Other"}
    assert resources["WebsocketAPIStage"]["Properties"] == {"StageName": "dev"}
    assert resources["WebsocketAPIStage"]["DependsOn"] == ["Other"]
    assert resources["Other"]["DependsOn"] == []


def test_a_deployed_url_maps_to_ministacks_path_form(tmp_path: Path) -> None:
    server = MiniStack(tmp_path)
    assert server.websocket_url("wss://ab12cd34.execute-api.us-east-1.amazonaws.com/dev") == (
        f"ws://127.0.0.1:{server.port}/_aws/execute-api/ab12cd34/dev"
    )
    with pytest.raises(ValueError):
        server.websocket_url("None")


def test_missing_terraform_or_mirror_is_named_in_one_line(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(paths.shutil, "which", lambda _: None)
    assert paths.terraform_missing() == (
        "Terraform is missing: install Terraform 1.9 or later (terraform on PATH)"
    )
    monkeypatch.setattr(paths.shutil, "which", lambda _: "/usr/bin/terraform")
    monkeypatch.setattr(paths, "TERRAFORM_MIRROR", tmp_path)
    missing = paths.terraform_missing()
    assert missing is not None and "\n" not in missing
    assert "provider mirror is missing" in missing and str(tmp_path) in missing
