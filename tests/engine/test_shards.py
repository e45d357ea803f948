"""Sharded planning (``--jobs``): the merged plan is the plan one process makes, byte for byte.

Teams are planned in forked workers, each registering the environment's shared resources plus
its share of teams (:mod:`stacks.plan.shards`). These tests shard the bundled and example orgs
and random valid orgs (small ones, split by hand: the automatic split only shards orgs of 50
teams or more) and require ``trellis plan --format json`` to be identical, check the merge's
refusals, the fallback to one process, and what a failing or dying worker gives the user.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pulumi
import pytest
import yaml
from hypothesis import HealthCheck, Phase, given, settings

from stacks.compose import program
from stacks.org.load import load
from stacks.org.resolve import resolve
from stacks.plan import shards as shards_mod
from stacks.plan.engine import Plan, PlanError, PlannedResource, plan
from stacks.plan.shards import ShardMismatchError, merge, shards_of
from tests.engine.planned import IDS, ORG_ENVS, planned
from tests.properties.strategies import orgs


def plan_json(result: Plan) -> str:
    """What ``trellis plan --format json`` prints."""
    return json.dumps(result.to_json(), indent=2, sort_keys=False)


def halves(teams: list[str]) -> list[tuple[str, ...]]:
    """Two shards (one when there is a single team)."""
    cut = (len(teams) + 1) // 2
    return [tuple(teams[:cut]), tuple(teams[cut:])] if len(teams) > 1 else [tuple(teams)]


def first_difference(expected: str, got: str) -> str:
    for i, (a, b) in enumerate(zip(expected.splitlines(), got.splitlines(), strict=False)):
        if a != b:
            return f"line {i + 1}: single process {a.strip()!r}, sharded {b.strip()!r}"
    return f"lengths differ: {len(expected)} vs {len(got)} characters"


@pytest.mark.parametrize(("org", "env"), ORG_ENVS, ids=IDS)
def test_every_org_plans_byte_identically_in_shards(org: Path, env: str) -> None:
    spec = resolve(load(org), env)
    split = halves(list(spec.teams))
    sharded = plan(spec, jobs=2, shards=split)
    assert sharded.sharding is not None and not sharded.sharding.fallback, \
        f"{org.name} --env {env}: the shards could not be merged: {sharded.sharding}"
    assert sharded.sharding.shards == len(split)
    single = plan_json(planned(org, env))
    got = plan_json(sharded)
    assert got == single, (f"{org.name} --env {env}: the sharded plan differs from the "
                           f"single-process plan ({first_difference(single, got)})")
    assert sharded.resources == planned(org, env).resources, \
        f"{org.name} --env {env}: recorded outputs or options differ between the two plans"


@settings(max_examples=int(os.environ.get("TRELLIS_SHARD_EXAMPLES", "3")), deadline=None,
          phases=[Phase.explicit, Phase.reuse, Phase.generate],
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(orgs())
def test_random_orgs_plan_byte_identically_one_team_per_worker(
        tmp_path_factory: pytest.TempPathFactory, data: dict[str, Any]) -> None:
    path = tmp_path_factory.mktemp("org") / "org.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    loaded = load(path)
    env = loaded.environments[-1]
    spec = resolve(loaded, env)
    single = plan_json(plan(spec))
    sharded = plan(spec, jobs=2, shards=[(team,) for team in spec.teams])
    assert sharded.sharding is not None and not sharded.sharding.fallback, sharded.sharding
    got = plan_json(sharded)
    assert got == single, (f"random org ({len(spec.teams)} teams, --env {env}): the sharded "
                           f"plan differs ({first_difference(single, got)})")


@pytest.mark.parametrize(("teams", "jobs", "sizes"), [
    (10, 2, []),                      # too small: one process
    (49, 4, []),
    (50, 2, [25, 25]),
    (50, 8, [25, 25]),                # never below 25 teams a worker
    (230, 2, [77, 77, 76]),           # at most 100 teams a worker
    (1000, 2, [100] * 10),
    (1000, 16, [63] * 8 + [62] * 8),
    (5000, 1, []),                    # --jobs 1: one process
])
def test_the_split(teams: int, jobs: int, sizes: list[int]) -> None:
    names = [f"t{i}" for i in range(teams)]
    got = shards_of(names, jobs)
    assert [len(s) for s in got] == sizes, f"{teams} teams, --jobs {jobs}"
    if got:
        assert [t for s in got for t in s] == names, "contiguous, every team once"


def _record(urn: str, **changes: Any) -> PlannedResource:
    base: dict[str, Any] = dict(
        urn=urn, type="gcp:container/nodePool:NodePool", name=urn.rsplit("::", 1)[-1],
        parent=None, inputs={"name": "general"}, outputs={"name": "general"},
        dependencies=["urn:a"], property_dependencies={"name": []}, protect=False,
        retain_on_delete=False, delete_before_replace=False, aliases=[], ignore_changes=[],
        replace_on_changes=[], custom=True, provider="")
    base.update(changes)
    return PlannedResource(**base)


def test_merge_unions_the_dependencies_teams_add_to_a_shared_resource() -> None:
    a = _record("urn:pool", dependencies=["urn:a", "urn:grant-t1"],
                property_dependencies={"name": [], "x": ["urn:grant-t1"]})
    b = _record("urn:pool", dependencies=["urn:a", "urn:grant-t2"],
                property_dependencies={"name": [], "x": ["urn:grant-t2"]})
    resources, outputs = merge(iter([([a], {"teams": {"t1": 1}}), ([b], {"teams": {"t2": 2}})]))
    assert resources[0].dependencies == ["urn:a", "urn:grant-t1", "urn:grant-t2"]
    assert resources[0].property_dependencies == {"name": [], "x": ["urn:grant-t1",
                                                                    "urn:grant-t2"]}
    assert outputs == {"teams": {"t1": 1, "t2": 2}}


@pytest.mark.parametrize(("change", "field"), [
    ({"inputs": {"name": "other"}}, "inputs"),
    ({"outputs": {"name": "general", "id": "x"}}, "outputs"),
    ({"protect": True}, "protect"),
])
def test_merge_refuses_a_shared_resource_that_depends_on_the_shard(
        change: dict[str, Any], field: str) -> None:
    with pytest.raises(ShardMismatchError, match=f"urn:pool: its {field} depends on which"):
        merge(iter([([_record("urn:pool")], {}), ([_record("urn:pool", **change)], {})]))


def test_merge_refuses_stack_outputs_that_disagree() -> None:
    with pytest.raises(ShardMismatchError, match=r"outputs\.environment\.region"):
        merge(iter([([], {"environment": {"region": "a"}}),
                    ([], {"environment": {"region": "b"}})]))


def test_a_program_whose_shared_resource_depends_on_the_shard_is_planned_in_one_process(
        monkeypatch: pytest.MonkeyPatch) -> None:
    spec = resolve(load(ORG_ENVS[0][0]), ORG_ENVS[0][1])
    build = program.build

    def team_list_program(env: Any, teams: Any = None) -> Any:
        # A shared resource listing the teams it was built for: each shard sees another list.
        listed = sorted(teams if teams is not None else env.teams)
        pulumi.CustomResource("gcp:storage/bucket:Bucket", "everyone", {"teams": listed})
        return build(env, teams)

    monkeypatch.setattr(program, "build", team_list_program)
    result = plan(spec, jobs=2, shards=halves(list(spec.teams)))
    assert result.sharding is not None
    assert "everyone" in result.sharding.fallback and "inputs" in result.sharding.fallback, \
        f"the fallback names the resource and what differs: {result.sharding.fallback!r}"
    assert plan_json(result) == plan_json(plan(spec)), "the fallback plan is the full plan"


def test_a_worker_whose_program_fails_fails_the_plan_with_its_message(
        monkeypatch: pytest.MonkeyPatch) -> None:
    spec = resolve(load(ORG_ENVS[0][0]), ORG_ENVS[0][1])
    build = program.build
    doomed = list(spec.teams)[-1]

    def failing(env: Any, teams: Any = None) -> Any:
        if teams is not None and doomed in teams:
            raise ValueError(f"no capacity for {doomed}")
        return build(env, teams)

    monkeypatch.setattr(program, "build", failing)
    with pytest.raises(PlanError, match=f"ValueError: no capacity for {doomed}"):
        plan(spec, jobs=2, shards=halves(list(spec.teams)))


def test_a_worker_that_dies_fails_the_plan_with_a_hint(monkeypatch: pytest.MonkeyPatch) -> None:
    spec = resolve(load(ORG_ENVS[0][0]), ORG_ENVS[0][1])
    build = program.build

    def dying(env: Any, teams: Any = None) -> Any:
        if teams is not None:
            os._exit(137)  # what the kernel's OOM killer leaves the parent to find
        return build(env, teams)

    monkeypatch.setattr(program, "build", dying)
    with pytest.raises(PlanError, match=r"exit status 137; out of memory\?"):
        plan(spec, jobs=2, shards=halves(list(spec.teams)))


def test_default_jobs_is_the_cpus_this_process_may_use() -> None:
    jobs = shards_mod.default_jobs()
    assert jobs >= 1
    if hasattr(os, "sched_getaffinity"):
        assert jobs == len(os.sched_getaffinity(0))
