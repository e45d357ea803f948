"""Builders for policy fixtures: small plans of raw provider resources, checked like the CLI does.

Resources are plain dicts with the keys of :class:`stacks.plan.engine.PlannedResource`, so the
fixtures do not depend on the engine; :func:`check` sends them through the same path as
``trellis check`` (:mod:`policies.evaluate`), which ``test_evaluate_equivalence`` holds to the
pack's Analyzer servicer (protobuf requests, as ``pulumi preview --policy-pack``). A uniquely
named module rather than ``conftest`` so test modules can import it unambiguously
(tests/conftest.py exists too).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pytest

from stacks.report.check import run_check
from stacks.report.findings import CheckReport, Finding

PROJECT = "trellis"
STACK = "dev"
UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"  # the engine's unknown-string sentinel
DELETE = object()
COMPONENT_TYPE = "trellis:test:Team"


def urn_for(type_: str, name: str, parent: dict[str, Any] | None) -> str:
    chain = type_ if parent is None else f"{parent['urn'].split('::')[2]}${type_}"
    return f"urn:pulumi:{STACK}::{PROJECT}::{chain}::{name}"


def res(type_: str, name: str, inputs: dict[str, Any] | None = None, *,
        parent: dict[str, Any] | str | None = "team", outputs: dict[str, Any] | None = None,
        protect: bool = False, deps: list[str] | None = None,
        prop_deps: dict[str, list[str]] | None = None, custom: bool = True) -> dict[str, Any]:
    """One planned resource; ``parent="team"`` puts it under the shared Trellis component."""
    parent_res = TEAM if parent == "team" else parent
    assert not isinstance(parent_res, str)
    return {
        "urn": urn_for(type_, name, parent_res), "type": type_, "name": name,
        "parent": parent_res["urn"] if parent_res else None,
        "inputs": copy.deepcopy(inputs or {}), "outputs": copy.deepcopy(outputs or {}),
        "dependencies": list(deps or []), "property_dependencies": dict(prop_deps or {}),
        "protect": protect, "retain_on_delete": protect, "delete_before_replace": False,
        "aliases": [], "ignore_changes": [], "custom": custom, "provider": "",
    }


def component(name: str = "recsys", type_: str = COMPONENT_TYPE,
              parent: dict[str, Any] | None = None) -> dict[str, Any]:
    return res(type_, name, {}, parent=parent, custom=False)


TEAM = component()


def mod(base: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """Deep copy of ``base`` with dotted paths set (``{"a.b": 1}``) or removed (DELETE)."""
    out = copy.deepcopy(base)
    for path, value in changes.items():
        keys = path.split(".")
        cur = out
        for k in keys[:-1]:
            cur = cur.setdefault(k, {})
        if value is DELETE:
            cur.pop(keys[-1], None)
        else:
            cur[keys[-1]] = value
    return out


@dataclass
class FakePlan:
    resources: list[dict[str, Any]]
    org: str = "acme"
    cloud: str = "gcp"
    environment: str = STACK
    tier: str = "production"
    outputs: dict[str, Any] = field(default_factory=dict)


@dataclass
class Stack:
    """A fixture stack: resources plus the tier and pack config to check them with."""

    resources: list[dict[str, Any]]
    tier: str = "production"
    config: dict[str, Any] | None = None
    note: str = ""

    def plan(self) -> FakePlan:
        resources = list(self.resources)
        urns = {r["urn"] for r in resources}
        if any(r["parent"] == TEAM["urn"] for r in resources) and TEAM["urn"] not in urns:
            resources.insert(0, TEAM)
        return FakePlan(resources=resources, tier=self.tier)


def S(*resources: dict[str, Any], tier: str = "production", config: dict[str, Any] | None = None,
      note: str = "") -> Stack:
    return Stack(list(resources), tier, config, note)


def check(stack: Stack, **kwargs: Any) -> CheckReport:
    return run_check(stack.plan(), config=stack.config, **kwargs)


def findings(report: CheckReport, rule_id: str) -> list[Finding]:
    return [f for f in report.findings if f.policy == rule_id]


def describe(report: CheckReport) -> str:
    return "\n".join(f"{f.policy} {f.urn}: {f.message}" for f in report.findings) or "(none)"


def fixture_tests(cases: Mapping[str, Mapping[str, list[Stack]]]
                  ) -> tuple[Callable[[str, Stack], None], Callable[[str, Stack], None]]:
    """The two tests every rule module runs on its ``CASES`` (rule id -> ``{"fail": [...],
    "pass": [...]}``): each violating stack is reported under its rule, each compliant one is
    not. Bind them to module names starting with ``test_`` so pytest collects them."""

    def params(kind: str) -> list[Any]:
        return [pytest.param(rule_id, stack, id=f"{rule_id}-{kind}-{i}")
                for rule_id, by_kind in cases.items()
                for i, stack in enumerate(by_kind.get(kind, []))]

    @pytest.mark.parametrize(("rule_id", "stack"), params("fail"))
    def test_violating_fixture_is_reported(rule_id: str, stack: Stack) -> None:
        report = check(stack)
        assert findings(report, rule_id), (
            f"{rule_id} should flag this stack ({stack.note or 'violating fixture'}) but "
            f"reported only:\n{describe(report)}")

    @pytest.mark.parametrize(("rule_id", "stack"), params("pass"))
    def test_compliant_fixture_passes(rule_id: str, stack: Stack) -> None:
        report = check(stack)
        assert not findings(report, rule_id), (
            f"{rule_id} flagged a compliant stack ({stack.note or 'compliant fixture'}):\n"
            f"{describe(report)}")

    return test_violating_fixture_is_reported, test_compliant_fixture_passes
