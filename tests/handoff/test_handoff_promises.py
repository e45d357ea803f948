"""Issue 19: every step of a team's page is backed by a planned grant, and every sentence by
plan data.

Promises as data (:mod:`stacks.handoff.promises`): each step declares what it needs (cloud
permissions of the person or workload, Kubernetes verbs in the namespace, the network path);
the checker resolves GCP bindings through Google's predefined roles, evaluates AWS identity and
trust policies with the IAM evaluator, and reads the planned RBAC. On every bundled and example
org every step is backed; plans made to break it (a cluster without Google Groups for RBAC, a
member the team role does not trust, a team role without the model registry, a team without
members) are caught, printed with what to ask for, and fail ``--strict``.
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import replace
from pathlib import Path

import pytest
from rich.console import Console

from stacks.cli.commands.handoff import handoff_command
from stacks.handoff import render
from stacks.handoff.model import gather, gather_environment
from stacks.handoff.promises import Promises
from stacks.org.load import load
from stacks.org.resolve import resolve
from stacks.plan.engine import Plan, plan
from stacks.report.cost import estimate

ROOT = Path(__file__).resolve().parents[2]
ORGS = ["stacks/org.yaml", "examples/aws.yaml", "examples/aws-minimal.yaml",
        "examples/many-teams.yaml"]
EVERY_DAY = {"connect", "push-image", "model-registry"}


def _bundle(org: str, plans: dict[str, Plan] | None = None):
    loaded = load(ROOT / org)
    envs = []
    for name in loaded.environments:
        spec = resolve(loaded, name)
        envs.append(gather_environment(spec, (plans or {}).get(name) or plan(spec)))
    return loaded, gather(loaded.org, org, envs)


@pytest.fixture(scope="module", params=ORGS)
def bundled(request):
    return request.param, *_bundle(request.param)


def test_every_step_of_every_page_is_backed_on_bundled_and_example_orgs(bundled):
    org, _, bundle = bundled
    for env in bundle.environments:
        for name, te in env.teams.items():
            keys = {v.step.key for v in te.promises.verdicts}
            wanted = set(EVERY_DAY)
            wanted |= {"gpu-job", "serve"} if te.pools else set()
            wanted |= {"buckets"} if te.buckets else set()
            wanted |= {"pipeline-run"} if te.pipelines else set()
            wanted |= {"pipeline-template"} if te.pipeline_registry else set()
            assert wanted <= keys, f"{org} {env.name}/{name}: steps not checked: {wanted - keys}"
            for v in te.promises.verdicts:
                if v.step.outside:  # a bucket Trellis does not own: printed as a request
                    continue
                assert v.backed, (f"{org} {env.name}/{name}: '{v.step.title}' is promised but "
                                  f"not granted by the plan: {v.missing}")
            assert te.promises.network, f"{org} {env.name}/{name}: no network path stated"


def test_strict_passes_on_the_bundled_org(tmp_path):
    console = Console(record=True, width=200)
    assert handoff_command(load(ROOT / "examples/aws-minimal.yaml"), envs=None,
                           out=tmp_path, console=console, strict=True) == 0
    assert "not backed" not in console.export_text()


def _edited(org: str, env: str, edit) -> tuple[str, object]:
    loaded = load(ROOT / org)
    spec = resolve(loaded, env)
    result = plan(spec)
    resources = [replace(r, inputs=copy.deepcopy(r.inputs)) for r in result.resources]
    edit(resources)
    return spec, replace(result, resources=resources)


def test_a_cluster_without_google_groups_for_rbac_breaks_group_members_kubectl():
    def drop_groups(resources):
        for r in resources:
            if r.type == "gcp:container/cluster:Cluster":
                r.inputs.pop("authenticatorGroupsConfig", None)

    spec, broken = _edited("stacks/org.yaml", "dev", drop_groups)
    env = gather_environment(spec, broken)
    recsys = env.teams["recsys"]
    for key in ("connect", "gpu-job", "serve"):
        v = recsys.promises.get(key)
        assert v is not None and not v.backed, f"recsys {key}: group RBAC promised without " \
                                               "Google Groups for RBAC"
        assert any("group:recsys@acme.com" in m for m in v.missing), v.missing
    # The user: member of vision keeps working (User subjects need no groups).
    vision = env.teams["vision"].promises.get("gpu-job")
    assert vision is not None and any("group:vision@acme.com" in m for m in vision.missing)
    assert not any("user:lee@acme.com" in m for m in vision.missing), vision.missing
    # The page says so, and offers the request instead of "expect: yes".
    loaded = load(ROOT / "stacks/org.yaml")
    page = render(gather(loaded.org, "stacks/org.yaml", [env]))["teams/recsys.md"]
    assert "Run a Job on a GPU pool: not backed by the plan." in page
    assert "Subject: [recsys/dev] access for: Run a Job on a GPU pool" in page
    assert "# expect: yes" not in page


def _aws_role_policy(resources, role_suffix):
    return next(r for r in resources if r.type == "aws:iam/rolePolicy:RolePolicy"
                and str(r.inputs.get("role")).endswith(role_suffix))


def test_an_aws_member_the_team_role_does_not_trust_is_caught():
    def untrust(resources):
        role = next(r for r in resources if r.type == "aws:iam/role:Role"
                    and r.inputs.get("name") == "acme-dev-recsys-members")
        doc = role.inputs["assumeRolePolicy"]
        doc = json.loads(doc) if isinstance(doc, str) else doc
        doc["Statement"][0]["Principal"]["AWS"] = ["arn:aws:iam::111111111111:role/someone"]
        role.inputs["assumeRolePolicy"] = json.dumps(doc)

    spec, broken = _edited("examples/aws.yaml", "dev", untrust)
    te = gather_environment(spec, broken).teams["recsys"]
    assert {v.step.key for v in te.promises.unbacked} >= {"connect", "push-image", "buckets"}
    v = te.promises.get("connect")
    assert v and any("role/recsys-engineers" in m and "sts:AssumeRole" in m for m in v.missing)


def test_model_registry_promise_needs_the_member_grant():
    """Review AWS 7: the guide promised members the model registry they could not read."""
    def drop_models(resources):
        r = _aws_role_policy(resources, "-recsys-members")
        doc = r.inputs["policy"]
        doc = json.loads(doc) if isinstance(doc, str) else doc
        doc["Statement"] = [s for s in doc["Statement"] if s.get("Sid") != "UseTeamModelRegistry"]
        r.inputs["policy"] = json.dumps(doc)

    spec, broken = _edited("examples/aws.yaml", "dev", drop_models)
    te = gather_environment(spec, broken).teams["recsys"]
    v = te.promises.get("model-registry")
    assert v and not v.backed and any("sagemaker:CreateModelPackage" in m for m in v.missing)


NO_MEMBERS = """\
version: 1
org: nomem
cloud: aws
region: us-east-1
platform: {admin_cidrs: [203.0.113.7/32]}
contacts: [platform@nomem.example]
environments:
  dev: {account: "111111111111"}
teams:
  alpha:
    gpu_pools: {train: {accelerator: l4, max_nodes: 2}}
    buckets: {data: {}}
"""


def test_strict_fails_when_a_team_has_no_role_to_assume(tmp_path):
    org = tmp_path / "org.yaml"
    org.write_text(NO_MEMBERS)
    console = Console(record=True, width=200)
    out = tmp_path / "handoff"
    assert handoff_command(load(org), envs=None, out=out, console=console, strict=True) == 1
    log = console.export_text()
    assert "not backed: dev/alpha: Connect kubectl" in log
    page = (out / "teams" / "alpha.md").read_text()
    assert "To: platform@nomem.example" in page
    assert "teams.alpha.members" in page
    # Without --strict the bundle is written and the command succeeds.
    assert handoff_command(load(org), envs=None, out=out, console=Console(record=True)) == 0


# ---- every sentence from the plan ------------------------------------------------------------

def test_scaling_text_follows_each_pools_min_and_max(bundled):
    org, _, bundle = bundled
    files = render(bundle)
    for env in bundle.environments:
        for name, te in env.teams.items():
            page = files[f"teams/{name}.md"]
            for p in te.pools.values():
                assert f"scales from {p.min_nodes} nodes" not in page
                from stacks.handoff.recipes import scaling
                sentence = scaling(p)
                assert sentence in page, f"{org} {env.name}/{name}/{p.name}: scaling text"
                if p.min_nodes:
                    assert "from zero" not in sentence, f"{p.name} keeps {p.min_nodes} running"


def test_idle_and_hourly_costs_are_the_cost_reports(bundled):
    org, loaded, bundle = bundled
    files = render(bundle)
    any_idle = False
    for env in bundle.environments:
        report = estimate(resolve(loaded, env.name))
        for t in report.teams:
            te = env.teams[t.team]
            page = files[f"teams/{t.team}.md"]
            assert te.idle_monthly_usd == t.idle_monthly_usd
            any_idle |= t.idle_monthly_usd > 0.5
            for pc in t.pools:
                assert f"${pc.node_hour_usd:,.2f} on {pc.pool}" in page, \
                    f"{org} {env.name}/{t.team}/{pc.pool}: hourly node price not the report's"
    readme = files["README.md"]
    if any_idle:
        assert "cost nothing idle" not in readme, f"{org}: pools idle at a cost"


def test_quota_and_limitrange_text_is_the_planned_objects(bundled):
    org, loaded, bundle = bundled
    files = render(bundle)
    env = bundle.environments[0]
    result = plan(resolve(loaded, env.name))
    for name, te in env.teams.items():
        page = files[f"teams/{name}.md"]
        hard = {}
        for r in result.resources:
            if r.inputs.get("kind") == "ResourceQuota" and \
                    r.inputs["metadata"]["namespace"] == te.namespace:
                hard.update(r.inputs["spec"]["hard"])
        assert hard == te.quotas, f"{org} {name}: quotas not the planned ResourceQuotas"
        for key, value in hard.items():
            if "gpu" in key:
                assert f"{value} GPUs requested at once" in page, f"{org} {name}: GPU quota"
        assert re.search(r"requests cpu \S+, memory \S+ \(the namespace's LimitRange\)", page) \
            or not te.defaults, f"{org} {name}: LimitRange defaults"


def test_a_budget_in_another_currency_is_never_compared_with_usd(bundled):
    _, _, bundle = bundled
    te = next(iter(bundle.environments[0].teams.values()))
    if te.budget_usd is None:
        pytest.skip("no budget in this org")
    other = replace(te, budget_currency="EUR", budget_usd=1.0)
    assert not other.over_budget, "a 1 EUR budget is not 'over' a USD price"
    from stacks.handoff.content import budget
    assert budget(other) == "1 EUR"


def test_promises_unevaluated_without_a_plan_print_no_table():
    assert Promises(evaluated=False).verdicts == ()
