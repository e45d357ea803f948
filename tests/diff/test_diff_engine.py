"""Plan comparison: added/removed/changed/replaced, renames through aliases, data loss."""

from __future__ import annotations

import pulumi
import pulumi_gcp as gcp
import pytest

from stacks.org.load import load
from stacks.org.resolve import resolve
from stacks.plan.engine import run_program
from stacks.report.diff import diff_plans, forces_replacement
from tests.conftest import BUNDLED_GCP


@pytest.fixture(scope="module")
def env():
    return resolve(load(BUNDLED_GCP), "dev")


class Team(pulumi.ComponentResource):
    def __init__(self, name: str, buckets: dict[str, str], old: str | None = None) -> None:
        opts = pulumi.ResourceOptions(aliases=[pulumi.Alias(name=old)]) if old else None
        super().__init__("trellis:test:Team", name, None, opts)
        for purpose, location in buckets.items():
            gcp.storage.Bucket(f"{name}-{purpose}", name=f"acme-dev-x-{purpose}",
                               location=location, opts=pulumi.ResourceOptions(parent=self))
        self.register_outputs({})


def plan_of(env, **teams):
    def program():
        for name, spec in teams.items():
            Team(name, **spec)
    return run_program(env, program)


def test_no_changes(env):
    a = plan_of(env, recsys={"buckets": {"models": "US"}})
    d = diff_plans(a, a)
    assert not (d.added or d.removed or d.changed or d.data_loss)


def test_added_bucket_changes_nothing_else(env):
    a = plan_of(env, recsys={"buckets": {"models": "US"}})
    b = plan_of(env, recsys={"buckets": {"models": "US", "scratch": "US"}})
    d = diff_plans(a, b)
    assert [r.name for r in d.added] == ["recsys-scratch"]
    assert not d.changed and not d.removed


def test_removed_bucket_is_data_loss(env):
    a = plan_of(env, recsys={"buckets": {"models": "US", "scratch": "US"}})
    b = plan_of(env, recsys={"buckets": {"models": "US"}})
    d = diff_plans(a, b)
    assert [r.name for r in d.removed] == ["recsys-scratch"]
    assert d.data_loss == [r.urn for r in d.removed]


def test_forcenew_property_is_a_replacement_and_data_loss(env):
    a = plan_of(env, recsys={"buckets": {"models": "US"}})
    b = plan_of(env, recsys={"buckets": {"models": "EU"}})
    d = diff_plans(a, b)
    assert len(d.replaced) == 1 and d.replaced[0].properties == ["location"]
    assert d.data_loss == [d.replaced[0].urn]


def test_team_rename_with_alias_keeps_children(env):
    a = plan_of(env, recsys={"buckets": {"models": "US"}})
    b = plan_of(env, ranking={"buckets": {"models": "US"}, "old": "recsys"})
    d = diff_plans(a, b)
    assert not d.added and not d.removed, (d.added, d.removed)
    assert not d.data_loss
    renamed = {c.urn.rsplit("::", 1)[1]: c for c in d.changed}
    assert set(renamed) == {"ranking", "ranking-models"}
    assert renamed["ranking-models"].old_urn.endswith("::recsys-models")
    assert not renamed["ranking-models"].replace


def test_team_rename_without_alias_is_data_loss(env):
    a = plan_of(env, recsys={"buckets": {"models": "US"}})
    b = plan_of(env, ranking={"buckets": {"models": "US"}})
    d = diff_plans(a, b)
    assert len(d.data_loss) == 1 and d.data_loss[0].endswith("::recsys-models")


def test_replacement_table():
    # terraform-provider-google updates a node pool's machine type in place, but not its GPUs.
    assert forces_replacement("gcp:container/nodePool:NodePool",
                              ["nodeConfig.guestAccelerators[0].count"])
    assert not forces_replacement("gcp:container/nodePool:NodePool", ["nodeConfig.machineType"])
    assert not forces_replacement("gcp:container/nodePool:NodePool",
                                  ["autoscaling.totalMaxNodeCount"])
    assert forces_replacement("aws:s3/bucket:Bucket", ["bucket"])
    assert not forces_replacement("aws:s3/bucket:Bucket", ["tags.team"])
