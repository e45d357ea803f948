"""Pulumi.yaml and the stack files work as documented for `pulumi up -s <env>`."""

from __future__ import annotations

import yaml

from stacks.org.load import load
from tests.conftest import BUNDLED_GCP, ROOT


def test_pulumi_yaml():
    project = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())
    assert project["name"] == "trellis"
    assert project["runtime"]["name"] == "python"
    assert project["main"] == "stacks/"
    assert (ROOT / project["main"] / "__main__.py").is_file()
    assert project["stackConfigDir"] == "stacks"
    assert project["config"]["trellis:org"]["default"] == "stacks/org.yaml"


def test_a_stack_file_per_bundled_environment():
    for env in load(BUNDLED_GCP).environments:
        stack = yaml.safe_load((ROOT / "stacks" / f"Pulumi.{env}.yaml").read_text())
        org = stack["config"]["trellis:org"]
        assert (ROOT / org).is_file(), f"Pulumi.{env}.yaml points at a missing org file {org}"


def test_policy_pack_and_plugin_manifests_exist():
    assert yaml.safe_load((ROOT / "policies" / "PulumiPolicy.yaml").read_text())["runtime"]
