"""The plan's speed shortcuts change speed, never the plan.

``stacks.plan.sdk`` holds every shortcut the plan engine takes around the Pulumi SDK and one
switch for all of them (``TRELLIS_PLAN_SHORTCUTS=0`` / ``sdk.shortcuts(False)``). With them
off the run is the SDK's own (stock serializer, collector on, threads, ``wait_for_rpcs``): every
bundled and example org must plan to byte-identical ``trellis plan --format json`` both ways.
"""

from __future__ import annotations

import asyncio
import difflib
import gc
import json
from typing import Any

import pulumi
import pytest
from pulumi import _types as pulumi_types
from pulumi.runtime import resource as presource
from pulumi.runtime import rpc

from stacks.org.load import load
from stacks.org.resolve import resolve
from stacks.plan import sdk
from stacks.plan.engine import Plan, plan, run_program
from tests.conftest import BUNDLED_GCP
from tests.engine.planned import IDS, ORG_ENVS, planned


def plan_json(result: Plan) -> str:
    """What ``trellis plan --format json`` prints (stacks/cli/app.py)."""
    return json.dumps(result.to_json(), indent=2, sort_keys=False)


@pytest.mark.parametrize(("org", "env"), ORG_ENVS, ids=IDS)
def test_every_org_plans_byte_identically_without_shortcuts(org: Any, env: str) -> None:
    fast = plan_json(planned(org, env))
    with sdk.shortcuts(False):
        slow = plan_json(plan(resolve(load(org), env)))
    if slow != fast:
        diff = "".join(list(difflib.unified_diff(
            fast.splitlines(keepends=True), slow.splitlines(keepends=True),
            "with shortcuts", "without shortcuts", n=2))[:60])
        pytest.fail(f"{org.name} --env {env}: a plan shortcut changes the plan JSON "
                    f"(stacks/plan/sdk.py):\n{diff}")


def _observe() -> dict[str, Any]:
    """What a program sees of the runtime while it runs."""
    seen: dict[str, Any] = {}

    def program() -> None:
        seen["gc"] = gc.isenabled()
        seen["contains_unknowns"] = rpc.contains_unknowns
        seen["stack_trace"] = presource._get_stack_trace
        seen["unwrap_type"] = pulumi_types.unwrap_type
        seen["loop"] = type(asyncio.get_event_loop())
        pulumi.CustomResource("gcp:serviceaccount/account:Account", "sa",
                              {"accountId": "observer"})

    run_program(resolve(load(BUNDLED_GCP), "dev"), program)
    return seen


def test_the_switch_turns_every_runtime_shortcut_off(monkeypatch: pytest.MonkeyPatch) -> None:
    sdk_functions = (rpc.contains_unknowns, presource._get_stack_trace, pulumi_types.unwrap_type)
    assert gc.isenabled()
    on = _observe()
    assert on["gc"] is False, "shortcuts on: the collector is paused during the plan"
    replaced = (on["contains_unknowns"], on["stack_trace"], on["unwrap_type"])
    assert all(a is not b for a, b in zip(replaced, sdk_functions, strict=True)), \
        "shortcuts on: contains_unknowns, _get_stack_trace and unwrap_type are replaced"
    assert on["loop"] is sdk.PlanLoop, "shortcuts on: the plan runs on sdk.PlanLoop"

    monkeypatch.setenv(sdk.ENV_SWITCH, "0")
    off = _observe()
    assert off["gc"] is True, f"{sdk.ENV_SWITCH}=0: the collector must stay on"
    assert off["loop"] is not sdk.PlanLoop, f"{sdk.ENV_SWITCH}=0: asyncio's own event loop"
    assert (off["contains_unknowns"], off["stack_trace"], off["unwrap_type"]) == sdk_functions, \
        f"{sdk.ENV_SWITCH}=0: the SDK's own functions must run"
    assert (rpc.contains_unknowns, presource._get_stack_trace,
            pulumi_types.unwrap_type) == sdk_functions, "restored after the plan"


@pytest.mark.parametrize(("value", "enabled"), [
    (None, True), ("1", True), ("yes", True), ("0", False), ("false", False), (" OFF ", False),
    ("no", False)])
def test_the_environment_switch(monkeypatch: pytest.MonkeyPatch, value: str | None,
                                enabled: bool) -> None:
    if value is None:
        monkeypatch.delenv(sdk.ENV_SWITCH, raising=False)
    else:
        monkeypatch.setenv(sdk.ENV_SWITCH, value)
    assert sdk.shortcuts_enabled() is enabled, f"{sdk.ENV_SWITCH}={value!r}"
    with sdk.shortcuts(not enabled):
        assert sdk.shortcuts_enabled() is (not enabled), "the context manager wins"
    assert sdk.shortcuts_enabled() is enabled, "and is undone on exit"
