"""Loads a Terraform JSON module as Terraform would and lists references that resolve to nothing.

Primary ``*.tf.json`` files are combined (a block defined twice is an error);
then ``override.tf.json`` and ``*_override.tf.json`` files are merged in name
order with Terraform's override rules: each overriding block must already
exist, its arguments and nested block types replace the original's, ``lifecycle``
merges argument by argument, ``locals`` merge value by value, ``depends_on``
is refused. Every ``${...}`` in a string and every ``depends_on`` entry is then
checked to name a defined variable, local, data source or resource (with an
index exactly when the resource has ``count``). Offline: no provider schema.

    python -m infra.tfcheck DIR
"""

from __future__ import annotations

import copy
import json
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

Config = dict[str, Any]

NESTED_TWO_LEVEL = ("resource", "data")
NESTED_ONE_LEVEL = ("variable", "output", "module", "provider")
BUILTIN_ROOTS = {"path", "terraform", "count", "each", "self"}
KEYWORDS = {"true", "false", "null", "for", "in", "if", "else", "endif", "endfor"}
REFERENCE = re.compile(r"[A-Za-z_][\w-]*(?:\.(?:[A-Za-z_][\w-]*|\*)|\[[^\]]*\])*")


class TerraformError(ValueError):
    pass


def is_override(path: Path) -> bool:
    return path.name == "override.tf.json" or path.name.endswith("_override.tf.json")


def load_module(directory: Path) -> Config:
    hcl = sorted(p.name for p in directory.glob("*.tf"))
    if hcl:
        raise TerraformError(f"HCL files are not supported here (write .tf.json): {hcl}")
    files = sorted(directory.glob("*.tf.json"))
    config: Config = {}
    for path in (p for p in files if not is_override(p)):
        add_primary(config, json.loads(path.read_text()), path.name)
    for path in (p for p in files if is_override(p)):
        apply_override(config, json.loads(path.read_text()), path.name)
    return config


def add_primary(config: Config, data: Config, source: str) -> None:
    for kind, body in data.items():
        if kind in NESTED_TWO_LEVEL:
            for type_, blocks in body.items():
                known = config.setdefault(kind, {}).setdefault(type_, {})
                for name, block in blocks.items():
                    if name in known:
                        raise TerraformError(f"{source}: duplicate {kind} {type_}.{name}")
                    known[name] = copy.deepcopy(block)
        elif kind in NESTED_ONE_LEVEL or kind == "locals":
            known = config.setdefault(kind, {})
            for name, block in body.items():
                if name in known:
                    raise TerraformError(f"{source}: duplicate {kind} {name}")
                known[name] = copy.deepcopy(block)
        elif kind == "terraform":
            merge_terraform(config.setdefault("terraform", {}), body)
        else:
            raise TerraformError(f"{source}: unknown top-level block {kind!r}")


def merge_terraform(original: Config, override: Config) -> None:
    for key, value in override.items():
        if key == "required_providers":
            original.setdefault(key, {}).update(copy.deepcopy(value))
        else:
            original[key] = copy.deepcopy(value)


def merge_block(original: Config, override: Config, where: str) -> None:
    for key, value in override.items():
        if key == "depends_on":
            raise TerraformError(f"{where}: depends_on may not be used in an override block")
        if key == "lifecycle":
            original.setdefault("lifecycle", {}).update(copy.deepcopy(value))
        else:
            # An argument, or every nested block of one type: replaced whole.
            original[key] = copy.deepcopy(value)


def apply_override(config: Config, data: Config, source: str) -> None:
    for kind, body in data.items():
        if kind in NESTED_TWO_LEVEL:
            for type_, blocks in body.items():
                for name, block in blocks.items():
                    where = f"{source}: {kind} {type_}.{name}"
                    target = config.get(kind, {}).get(type_, {}).get(name)
                    if target is None:
                        raise TerraformError(f"{where} overrides nothing")
                    merge_block(target, block, where)
        elif kind in NESTED_ONE_LEVEL:
            for name, block in body.items():
                target = config.get(kind, {}).get(name)
                if target is None:
                    raise TerraformError(f"{source}: {kind} {name} overrides nothing")
                merge_block(target, block, f"{source}: {kind} {name}")
        elif kind == "locals":
            for name, value in body.items():
                if name not in config.get("locals", {}):
                    raise TerraformError(f"{source}: local {name} overrides nothing")
                config["locals"][name] = copy.deepcopy(value)
        elif kind == "terraform":
            merge_terraform(config.setdefault("terraform", {}), body)
        else:
            raise TerraformError(f"{source}: unknown top-level block {kind!r}")


def _skip_string(text: str, i: int) -> int:
    """text[i] is '"'; the index after the closing quote."""
    i += 1
    while i < len(text):
        if text[i] == "\\":
            i += 2
        elif text[i] == '"':
            return i + 1
        elif text.startswith(("$${", "%%{"), i):
            i += 3
        elif text.startswith(("${", "%{"), i):
            i = _skip_expression(text, i + 2)
        else:
            i += 1
    raise TerraformError(f"unterminated string in {text!r}")


def _skip_expression(text: str, i: int) -> int:
    """i is just after '${'; the index after the matching '}'."""
    depth = 0
    while i < len(text):
        char = text[i]
        if char == '"':
            i = _skip_string(text, i)
            continue
        if char == "{":
            depth += 1
        elif char == "}":
            if depth == 0:
                return i + 1
            depth -= 1
        i += 1
    raise TerraformError(f"unterminated interpolation in {text!r}")


def template_expressions(template: str) -> list[str]:
    """The expressions of the ${...} and %{...} sequences of a string template."""
    found = []
    i = 0
    while i < len(template):
        if template.startswith(("$${", "%%{"), i):
            i += 3
        elif template.startswith(("${", "%{"), i):
            end = _skip_expression(template, i + 2)
            found.append(template[i + 2 : end - 1])
            i = end
        else:
            i += 1
    return found


def expression_references(expression: str) -> Iterator[str]:
    """Traversals (a.b[0].c) named by an expression, nested string templates included."""
    code = []
    i = 0
    while i < len(expression):
        if expression[i] == '"':
            end = _skip_string(expression, i)
            for nested in template_expressions(expression[i + 1 : end - 1]):
                yield from expression_references(nested)
            code.append('""')
            i = end
        else:
            code.append(expression[i])
            i += 1
    text = "".join(code)
    for match in REFERENCE.finditer(text):
        before = text[: match.start()].rstrip()
        after = text[match.end() :].lstrip()
        if before.endswith(".") or after.startswith("("):
            continue  # an attribute of something already matched, or a function call
        yield match.group(0)


def strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings(item)


def references(config: Config) -> Iterator[tuple[str, str]]:
    """(where, traversal) for every reference in the module."""
    for kind in ("resource", "data"):
        for type_, blocks in config.get(kind, {}).items():
            for name, block in blocks.items():
                where = f"{kind} {type_}.{name}"
                for dep in block.get("depends_on", []):
                    yield where, dep
                for text in strings({k: v for k, v in block.items() if k != "depends_on"}):
                    for expr in template_expressions(text):
                        for ref in expression_references(expr):
                            yield where, ref
    for kind in ("locals", "output", "variable", "provider", "module"):
        for name, block in config.get(kind, {}).items():
            for text in strings(block):
                for expr in template_expressions(text):
                    for ref in expression_references(expr):
                        yield f"{kind} {name}", ref


def unresolved(config: Config, reference: str) -> str | None:
    """Why a traversal names nothing defined, or None when it resolves."""
    parts = re.sub(r"\[[^\]]*\]", "", reference).split(".")
    root = parts[0]
    if len(parts) == 1 or root in BUILTIN_ROOTS:
        return None  # a keyword, an object key or a built-in such as path.module
    if root == "var":
        return None if parts[1] in config.get("variable", {}) else f"no variable {parts[1]}"
    if root == "local":
        return None if parts[1] in config.get("locals", {}) else f"no local {parts[1]}"
    if root == "module":
        return None if parts[1] in config.get("module", {}) else f"no module {parts[1]}"
    if root == "data":
        if len(parts) < 3 or parts[2] not in config.get("data", {}).get(parts[1], {}):
            return f"no data source {'.'.join(parts[1:3])}"
        return None
    block = config.get("resource", {}).get(root, {}).get(parts[1])
    if block is None:
        return f"no resource {root}.{parts[1]}"
    rest = reference[len(f"{root}.{parts[1]}") :]
    counted = "count" in block or "for_each" in block
    if counted and rest.startswith("."):
        return f"{root}.{parts[1]} has count/for_each: index it before reading an attribute"
    if not counted and rest.startswith("["):
        return f"{root}.{parts[1]} has no count/for_each but is indexed"
    return None


def problems(config: Config) -> list[str]:
    found = []
    for where, ref in references(config):
        reason = unresolved(config, ref)
        if reason:
            found.append(f"{where}: {ref}: {reason}")
    return found


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m infra.tfcheck DIR", file=sys.stderr)
        return 2
    try:
        found = problems(load_module(Path(args[0])))
    except TerraformError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    for line in found:
        print(line, file=sys.stderr)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
