"""Issue 6: identities depend only on map keys; edits change exactly what they name."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from stacks.org.load import load, load_text
from stacks.org.resolve import resolve
from stacks.plan.engine import Plan, plan
from stacks.report.diff import diff_plans
from tests.conftest import ALL_ORGS, BUNDLED_GCP


def plan_text(text: str, env: str, like: Path) -> Plan:
    return plan(resolve(load_text(text, str(like), base_dir=like.parent), env))


def reversed_maps(node: object) -> object:
    """Every mapping with its keys in reverse order (lists keep their order: they are lists)."""
    if isinstance(node, dict):
        return {k: reversed_maps(node[k]) for k in reversed(list(node))}
    if isinstance(node, list):
        return [reversed_maps(v) for v in node]
    return node


def by_urn(p: Plan) -> dict[str, dict]:
    return {r.urn: {"inputs": r.inputs, "parent": r.parent, "deps": r.dependencies,
                    "protect": r.protect} for r in p.resources}


@pytest.mark.parametrize("org", ALL_ORGS, ids=lambda p: p.name)
def test_permuting_every_map_changes_nothing(org):
    loaded = load(org)
    permuted = yaml.safe_dump(reversed_maps(yaml.safe_load(org.read_text())), sort_keys=False)
    for env in loaded.environments:
        original = by_urn(plan(resolve(loaded, env)))
        shuffled = by_urn(plan_text(permuted, env, org))
        assert original.keys() == shuffled.keys(), f"{org.name}/{env}: URNs depend on order"
        for urn, value in original.items():
            assert shuffled[urn] == value, f"{org.name}/{env}: {urn} depends on map order"


ADD_TEAM = """\
  newteam:
    members: [group:newteam@acme.com]
    gpu_pools:
      gpus: {accelerator: l4, max_nodes: 2}
    buckets:
      data: {}
    pipelines:
      daily:
        template: gs://acme-templates/daily.yaml
        schedule: "0 5 * * *"
"""


def test_adding_a_team_changes_no_existing_resource():
    text = BUNDLED_GCP.read_text()
    before = plan(resolve(load(BUNDLED_GCP), "dev"))
    after = plan_text(text.rstrip("\n") + "\n" + ADD_TEAM, "dev", BUNDLED_GCP)
    d = diff_plans(before, after)
    assert not d.removed, [r.urn for r in d.removed]
    # The shared CPU pool grows with the teams' cpu shares (an in-place autoscaler bound, no
    # node is touched), and the admission policy learns the new team's pools and registry (its
    # CEL variables, in place); nothing else of the existing teams or the platform changes.
    changed = {c.urn.rsplit("::", 1)[1]: c.properties for c in d.changed}
    assert set(changed) <= {"general", "team-admission-policy"}, changed
    assert set(changed.get("general", [])) <= {"autoscaling.totalMaxNodeCount"}, changed
    assert all(p.startswith("spec.variables")
               for p in changed.get("team-admission-policy", [])), changed
    assert not d.replaced, [c.urn for c in d.replaced]
    added = [r.urn for r in d.added]
    # The new team's resources, and the shared CPU pool's read access to its images.
    assert added and all("newteam" in u for u in added), added


def test_adding_a_pool_or_bucket_changes_no_existing_resource():
    text = BUNDLED_GCP.read_text().replace(
        "      serve: {accelerator: l4, max_nodes: 4}",
        "      serve: {accelerator: l4, max_nodes: 4}\n      extra: {accelerator: t4}").replace(
        "      scratch: {delete_after_days: 30}",
        "      scratch: {delete_after_days: 30}\n      features: {}")
    d = diff_plans(plan(resolve(load(BUNDLED_GCP), "dev")), plan_text(text, "dev", BUNDLED_GCP))
    assert not d.removed
    # The team's GPU quota is the sum of its pools' maxima, and its CPU/memory quota includes
    # what its GPU pools hold: both must follow a new pool; so does the admission policy's list
    # of the team's pools (its CEL variables, in place).
    changed = {c.urn.rsplit("::", 1)[1]: c.properties for c in d.changed}
    assert set(changed) <= {"recsys-gpu-quota", "recsys-compute-quota",
                            "team-admission-policy"}, changed
    assert all(p.startswith("spec.variables")
               for p in changed.get("team-admission-policy", [])), changed
    names = {r.name for r in d.added}
    assert any(n.startswith("recsys-extra") for n in names), names
    assert any(n.startswith("recsys-features") for n in names), names


def test_changing_max_nodes_changes_only_that_pool():
    text = BUNDLED_GCP.read_text().replace("      serve: {accelerator: l4, max_nodes: 4}",
                                           "      serve: {accelerator: l4, max_nodes: 6}")
    d = diff_plans(plan(resolve(load(BUNDLED_GCP), "dev")), plan_text(text, "dev", BUNDLED_GCP))
    assert not d.added and not d.removed
    changed = {c.urn.rsplit("::", 1)[1]: c.properties for c in d.changed}
    # The node pool's autoscaler bound, and the team's GPU quota, which is the sum of its pools'
    # maxima (issue 11), and its CPU/memory quota, which counts what the pools hold (issue 17):
    # nothing else.
    assert changed == {"recsys-serve": ["autoscaling.totalMaxNodeCount"],
                       "recsys-gpu-quota": ["spec.hard.requests.nvidia.com/gpu"],
                       "recsys-compute-quota": ["spec.hard.requests.cpu",
                                                "spec.hard.requests.memory"]}, changed
    assert not d.replaced, "a max_nodes change is an in-place update"


@pytest.mark.parametrize("section,old,new", [
    ("buckets", "models", "artifacts"),
    ("gpu_pools", "train", "training"),
])
def test_rename_with_previous_names_keeps_the_resources(section, old, new):
    text = BUNDLED_GCP.read_text()
    if section == "buckets":
        renamed = text.replace("      models: {versioning: true}",
                               f"      {new}: {{versioning: true, previous_names: [{old}]}}")
    else:
        renamed = text.replace("      train: {accelerator: h100-80gb",
                               f"      {new}: {{previous_names: [{old}], accelerator: h100-80gb"
                               ).replace("          train: {max_nodes: 2,",
                                         f"          {new}: {{max_nodes: 2,")
        assert renamed.count(new) == 2, "the bundled org's train pool and its prod override"
    for env in ("dev", "prod"):
        before = plan(resolve(load(BUNDLED_GCP), env))
        d = diff_plans(before, plan_text(renamed, env, BUNDLED_GCP))
        assert not d.data_loss, f"{env}: {d.data_loss}"
        assert not d.removed, f"{env}: {[r.urn for r in d.removed]}"
        assert not d.replaced, f"{env}: {[(c.urn, c.properties) for c in d.replaced]}"


def test_rename_without_previous_names_is_reported_as_data_loss():
    text = BUNDLED_GCP.read_text().replace("      models: {versioning: true}",
                                           "      artifacts: {versioning: true}")
    d = diff_plans(plan(resolve(load(BUNDLED_GCP), "prod")), plan_text(text, "prod", BUNDLED_GCP))
    assert any(u.endswith("::acme-prod-recsys-models") or "recsys-models" in u
               for u in d.data_loss), d.data_loss


def test_production_stateful_resources_are_protected_and_retained():
    result = plan(resolve(load(BUNDLED_GCP), "prod"))
    stateful = [r for r in result.resources if r.type in (
        "gcp:storage/bucket:Bucket", "gcp:artifactregistry/repository:Repository",
        "gcp:container/cluster:Cluster")]
    assert stateful
    for r in stateful:
        assert r.protect and r.retain_on_delete, f"{r.urn} is not protected and retained"
