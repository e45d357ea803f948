"""Construct as another language triggers it: inputs as the engine sends them, through the provider.

A TypeScript `new trellis.GpuNodePool(...)` reaches Python as `ComponentProvider.construct` with
camelCase keys and every number a float (protobuf has only doubles, and the SDK's int conversion
does not stick; docs/adr/0006-any-language-components.md). The GPU pools are run that way under
the offline engine's recording mocks, and must come out as they do from Python.
"""

from __future__ import annotations

import re
from typing import Any

import pulumi
import pytest
from pulumi.provider.experimental.component import ComponentProvider

from components import __main__ as plugin
from stacks.org.load import load
from stacks.org.resolve import resolve
from stacks.plan.engine import Plan, run_program
from tests.conftest import BUNDLED_GCP, ROOT

PUBLIC = plugin.public_components()
CASES: dict[str, tuple[Any, dict[str, Any]]] = {
    "trellis:gcp:GpuNodePool": (BUNDLED_GCP, {
        "project": "acme-ml-dev", "location": "us-central1", "cluster": "acme-dev",
        "team": "recsys", "pool": "train", "nodePoolName": "acme-dev-recsys-train",
        "nodeIdentityName": "acme-dev-recsys-train", "machineType": "a3-highgpu-8g",
        "acceleratorType": "nvidia-h100-80gb", "gpusPerNode": 8.0, "minNodes": 1.0,
        "maxNodes": 2.0, "diskSizeGb": 300.0, "localSsdGb": 750.0, "spot": False,
    }),
    "trellis:aws:GpuNodeGroup": (ROOT / "examples" / "aws.yaml", {
        "clusterName": "acme-dev", "team": "recsys", "pool": "train",
        "nodeGroupName": "recsys-train", "nodeRoleName": "acme-dev-recsys-train-node",
        "launchTemplateName": "acme-dev-recsys-train-node", "subnetIds": ["subnet-a"],
        "instanceType": "p5.48xlarge", "accelerator": "h100-80gb", "gpusPerNode": 8.0,
        "minNodes": 1.0, "maxNodes": 2.0, "diskSizeGb": 500.0, "spot": False,
    }),
}
FLOAT_AS_TEXT = re.compile(r"(?<![\d.])\d+\.0(?![\d.])")  # "8.0", "a3-highgpu-8.0g"


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in (*_strings(k), *_strings(v))]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


def _construct(type_string: str) -> tuple[Plan, dict[str, Any]]:
    org_file, inputs = CASES[type_string]
    env = resolve(load(org_file), "dev")
    cls = PUBLIC[type_string]
    provider = ComponentProvider([cls], plugin.PACKAGE, None, plugin.package_version())
    state: dict[str, Any] = {}

    def program() -> None:
        result = provider.construct("recsys-train", f"{plugin.PACKAGE}:index:{cls.__name__}",
                                    dict(inputs), pulumi.ResourceOptions())
        state.update(result.state)

    return run_program(env, program), state


@pytest.mark.parametrize("type_string", sorted(CASES))
def test_gpu_pool_constructs_from_wire_inputs(type_string):
    plan, state = _construct(type_string)
    component = [r for r in plan.resources if r.type == type_string]
    assert len(component) == 1, (
        f"{type_string}: construct must register the component under its Python type string "
        f"(the URN contract); registered {sorted({r.type for r in plan.resources})}")
    assert len(plan.resources) > 1, f"{type_string}: construct created no children"
    for r in plan.resources:
        # Numbers are doubles on the wire either way; text is where 8.0 != 8.
        floats = [s for s in _strings(r.inputs) if FLOAT_AS_TEXT.search(s)]
        assert not floats, (
            f"{type_string}: {r.type} {r.name} formats an integer input as a float in {floats}; "
            f"numbers arrive as floats from other languages, int() them first (ADR 0006)")
    scheduling = state["scheduling"]
    assert set(scheduling) == {"nodeSelector", "tolerations", "resourceName", "gpusPerNode"}
    assert scheduling["gpusPerNode"] == 8
    assert scheduling["nodeSelector"]["trellis.dev/pool"] == "train"
    assert {"key": "nvidia.com/gpu", "operator": "Equal", "value": "present",
            "effect": "NoSchedule"} in scheduling["tolerations"]
