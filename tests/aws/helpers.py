"""Small queries over a plan, with assertion messages that name the resource."""

from __future__ import annotations

import json
from typing import Any

from stacks.plan.engine import Plan, PlannedResource
from tests.plan_queries import named as named  # re-exported for the tests
from tests.plan_queries import one as one

POLICY_INPUTS = ("policy", "assumeRolePolicy")


def children(plan: Plan, parent: PlannedResource) -> list[PlannedResource]:
    return [r for r in plan.resources if r.parent == parent.urn]


def policies(resource: PlannedResource) -> list[dict[str, Any]]:
    """Every IAM policy document among the resource's inputs, parsed."""
    out = []
    for key in POLICY_INPUTS:
        value = resource.inputs.get(key)
        if isinstance(value, str) and value.strip().startswith("{"):
            out.append(json.loads(value))
    return out


def statements(resource: PlannedResource) -> list[dict[str, Any]]:
    return [s for doc in policies(resource) for s in doc["Statement"]]


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]
