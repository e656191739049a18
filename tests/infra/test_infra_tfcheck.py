"""infra/tfcheck.py reads Terraform's override rules and references the way Terraform does."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from infra import tfcheck


def module(tmp_path: Path, files: dict[str, Any]) -> Path:
    for name, content in files.items():
        (tmp_path / name).write_text(json.dumps(content))
    return tmp_path


BASE = {
    "resource": {
        "aws_thing": {
            "a": {
                "size": 1,
                "tags": {"x": "1"},
                "block": [{"n": 1}, {"n": 2}],
                "lifecycle": {"ignore_changes": ["tags"]},
            }
        }
    },
    "locals": {"one": "1", "two": "2"},
    "variable": {"v": {"default": ""}},
}


def test_override_replaces_arguments_and_nested_blocks_and_merges_lifecycle(
    tmp_path: Path,
) -> None:
    override = {
        "resource": {
            "aws_thing": {
                "a": {
                    "size": 2,
                    "block": {"n": 9},
                    "lifecycle": {"create_before_destroy": True},
                }
            }
        },
        "locals": {"two": "II"},
    }
    config = tfcheck.load_module(
        module(tmp_path, {"main.tf.json": BASE, "z_override.tf.json": override})
    )
    thing = config["resource"]["aws_thing"]["a"]
    assert thing["size"] == 2
    assert thing["tags"] == {"x": "1"}
    assert thing["block"] == {"n": 9}
    assert thing["lifecycle"] == {"ignore_changes": ["tags"], "create_before_destroy": True}
    assert config["locals"] == {"one": "1", "two": "II"}


def test_overrides_apply_in_file_name_order(tmp_path: Path) -> None:
    first = {"resource": {"aws_thing": {"a": {"size": 2}}}}
    second = {"resource": {"aws_thing": {"a": {"size": 3}}}}
    config = tfcheck.load_module(
        module(
            tmp_path,
            {"main.tf.json": BASE, "b_override.tf.json": second, "a_override.tf.json": first},
        )
    )
    assert config["resource"]["aws_thing"]["a"]["size"] == 3


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"resource": {"aws_thing": {"b": {"size": 1}}}}, "overrides nothing"),
        ({"resource": {"aws_thing": {"a": {"depends_on": ["x.y"]}}}}, "depends_on"),
        ({"locals": {"three": "3"}}, "overrides nothing"),
    ],
)
def test_invalid_overrides_are_refused(
    tmp_path: Path, override: dict[str, Any], message: str
) -> None:
    files = {"main.tf.json": BASE, "override.tf.json": override}
    with pytest.raises(tfcheck.TerraformError, match=message):
        tfcheck.load_module(module(tmp_path, files))


def test_duplicate_primary_blocks_are_refused(tmp_path: Path) -> None:
    files = {"a.tf.json": BASE, "b.tf.json": {"locals": {"one": "again"}}}
    with pytest.raises(tfcheck.TerraformError, match="duplicate locals one"):
        tfcheck.load_module(module(tmp_path, files))


def test_references_inside_nested_strings_and_escapes() -> None:
    expr = tfcheck.template_expressions(
        'a ${merge(local.x, {K = "p-${aws_thing.a.id}"})} $${not.this} %%{nor.this}'
    )
    assert expr == ['merge(local.x, {K = "p-${aws_thing.a.id}"})']
    refs = set(tfcheck.expression_references(expr[0]))
    assert {"local.x", "aws_thing.a.id"} <= refs
    assert "merge" not in refs


def test_problems_name_what_is_missing_and_misindexed() -> None:
    config = {
        "resource": {
            "aws_thing": {
                "a": {"count": 1, "name": "${aws_thing.b.id}"},
                "b": {"name": "${aws_thing.a.id} ${var.nope} ${local.none} ${data.x.y.z}"},
                "c": {
                    "name": "${aws_thing.a[0].id} ${aws_thing.b[0].id}",
                    "depends_on": ["aws_q.r"],
                },
            }
        }
    }
    found = "\n".join(tfcheck.problems(config))
    assert "aws_thing.a.id: aws_thing.a has count/for_each" in found
    assert "no variable nope" in found
    assert "no local none" in found
    assert "no data source x.y" in found
    assert "aws_thing.b has no count/for_each but is indexed" in found
    assert "no resource aws_q.r" in found
    assert "aws_thing.a[0].id" not in found
