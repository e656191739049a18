"""Helpers for infra/deploy-chalice.sh: the stage's config, its policy file, update-stage input.

python -m infra.chalice_stage api-id STAGE
    the WebSocket API id from .chalice/deployed/STAGE.json (empty before the first deploy)
python -m infra.chalice_stage configure STAGE --table T [--bucket B --region R
        --account A --partition P --api-id ID]
    writes CHAT_STORE=dynamodb:T and CHAT_BLOBS=s3://B/attachments/ into
    .chalice/config.json (without --bucket CHAT_BLOBS is left as it is and the
    policy names the base stack's bucket for that account and region) and
    .chalice/policy-STAGE.json; prints "changed" when the policy file changed,
    else "unchanged"
python -m infra.chalice_stage route-settings
python -m infra.chalice_stage access-log-settings --destination-arn ARN
    JSON for `aws apigatewayv2 update-stage`
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from infra import policy, spec


def chalice_dir(project: Path) -> Path:
    return project / ".chalice"


def api_id(project: Path, stage: str) -> str:
    deployed = chalice_dir(project) / "deployed" / f"{stage}.json"
    if not deployed.exists():
        return ""
    for resource in json.loads(deployed.read_text()).get("resources", []):
        if resource.get("resource_type") == "websocket_api":
            return str(resource.get("websocket_api_id", ""))
    return ""


def policy_file(project: Path, stage: str) -> Path:
    config = json.loads((chalice_dir(project) / "config.json").read_text())
    name = config["stages"][stage].get("iam_policy_file", f"policy-{stage}.json")
    return chalice_dir(project) / name


def dump(data: Any) -> str:
    return json.dumps(data, indent=2) + "\n"


def configure(
    project: Path,
    stage: str,
    table: str,
    bucket: str | None = None,
    *,
    partition: str = "aws",
    region: str = "*",
    account: str = "*",
    api: str = "",
) -> bool:
    """Point the stage at its table and bucket and write its policy; True when the
    policy changed."""
    config_path = chalice_dir(project) / "config.json"
    config = json.loads(config_path.read_text())
    stage_config = config["stages"][stage]
    environment = stage_config.setdefault("environment_variables", {})
    environment["CHAT_STORE"] = f"dynamodb:{table}"
    if bucket:
        environment["CHAT_BLOBS"] = spec.chat_blobs(bucket)
    config_path.write_text(dump(config))
    document = policy.chalice_policy(
        config["app_name"],
        stage,
        table,
        bucket,
        partition=partition,
        region=region,
        account=account,
        api_id=api or "*",
    )
    target = policy_file(project, stage)
    text = dump(document)
    changed = not target.exists() or target.read_text() != text
    if changed:
        target.write_text(text)
    return changed


def access_log_settings(destination_arn: str) -> dict[str, str]:
    return {"DestinationArn": destination_arn, "Format": spec.ACCESS_LOG_FORMAT}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.chalice_stage")
    parser.add_argument("--project-dir", type=Path, default=spec.ROOT)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("api-id").add_argument("stage")
    conf = commands.add_parser("configure")
    conf.add_argument("stage")
    conf.add_argument("--table", required=True)
    conf.add_argument("--bucket", default=None)
    conf.add_argument("--partition", default="aws")
    conf.add_argument("--region", default="*")
    conf.add_argument("--account", default="*")
    conf.add_argument("--api-id", default="")
    commands.add_parser("route-settings")
    logs = commands.add_parser("access-log-settings")
    logs.add_argument("--destination-arn", required=True)
    args = parser.parse_args(argv)

    if args.command == "api-id":
        print(api_id(args.project_dir, args.stage))
    elif args.command == "configure":
        changed = configure(
            args.project_dir,
            args.stage,
            args.table,
            args.bucket,
            partition=args.partition,
            region=args.region,
            account=args.account,
            api=args.api_id,
        )
        print("changed" if changed else "unchanged")
    elif args.command == "route-settings":
        print(json.dumps(spec.route_settings()))
    else:
        print(json.dumps(access_log_settings(args.destination_arn)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
