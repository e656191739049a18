"""CloudFormation's intrinsic functions, evaluated the way CloudFormation does for the few
the add-on templates use (Ref, Fn::Sub, Fn::Join, Fn::Split, Fn::Select, Fn::GetAtt), so
tests can read a computed name as the string a stack would get."""

from __future__ import annotations

import re
from typing import Any

ACCOUNT = "123456789012"
REGION = "eu-west-1"
STACK_UUID = "1c2fa620-982a-11e3-aff7-50e2416294e0"
PSEUDO = {
    "AWS::AccountId": ACCOUNT,
    "AWS::Region": REGION,
    "AWS::Partition": "aws",
    "AWS::URLSuffix": "amazonaws.com",
    "AWS::StackName": "serverless-chat-dev",
    "AWS::StackId": f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/serverless-chat-dev/"
    f"{STACK_UUID}",
}
SUB_NAME = re.compile(r"\$\{([^}]+)\}")


def evaluate(value: Any, names: dict[str, str] | None = None) -> Any:
    """``value`` with every intrinsic function applied. ``names`` gives parameters and
    resources (``"Name"`` for a Ref, ``"Name.Attr"`` for a GetAtt); a name it lacks
    stays symbolic (``${Name}``, ``Name.Attr``) instead of failing."""
    known = {**PSEUDO, **(names or {})}

    def run(item: Any) -> Any:
        if isinstance(item, list):
            return [run(v) for v in item]
        if not isinstance(item, dict):
            return item
        if len(item) != 1:
            return {k: run(v) for k, v in item.items()}
        ((key, arg),) = item.items()
        if key == "Ref":
            return known.get(arg, f"${{{arg}}}")
        if key == "Fn::GetAtt":
            name = ".".join(arg)
            return known.get(name, name)
        if key == "Fn::Sub":
            template, variables = (arg, {}) if isinstance(arg, str) else arg
            local = {k: str(run(v)) for k, v in variables.items()}

            def replace(match: re.Match[str]) -> str:
                name = match.group(1)
                if name.startswith("!"):
                    return "${" + name[1:] + "}"
                return local.get(name, known.get(name, match.group(0)))

            return SUB_NAME.sub(replace, template)
        if key == "Fn::Join":
            delimiter, parts = arg
            return delimiter.join(str(p) for p in run(parts))
        if key == "Fn::Split":
            delimiter, source = arg
            return str(run(source)).split(delimiter)
        if key == "Fn::Select":
            index, items = arg
            return run(items)[int(index)]
        return {key: run(arg)}

    return run(value)
