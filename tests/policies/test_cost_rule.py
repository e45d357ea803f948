"""TRL-COST-001 (GPU worst case within the team budget), through the Analyzer servicer the CLI uses.

``CASES`` has the same shape as ``test_rules.CASES`` (rule ID -> compliant / violating stacks) so
the pack-wide "every rule has fixtures" meta-test can include it.
"""

from __future__ import annotations

import math
import re
from types import SimpleNamespace

import pytest
from policy_fixtures import UNKNOWN, S, Stack, check, describe, findings, mod, res

import policies.cost as cost_rule
from components import budget_fit, catalog
from policies.registry import get_rule
from policies.view import Res
from policies.view import Stack as ViewStack
from stacks.org.load import load
from stacks.org.resolve import resolve
from stacks.plan.engine import plan as build_plan
from stacks.report import cost

RULE = "TRL-COST-001"
NODE_POOL = "gcp:container/nodePool:NodePool"
NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
GCP_BUDGET = "gcp:billing/budget:Budget"
AWS_BUDGET = "aws:budgets/budget:Budget"

L4_GCP = catalog.find_machine_type("gcp", "g2-standard-8")
H100_GCP = catalog.find_machine_type("gcp", "a3-highgpu-8g")
L4_AWS = catalog.find_machine_type("aws", "g6.2xlarge")
assert L4_GCP and H100_GCP and L4_AWS


def month(shape: catalog.MachineShape, *, spot: bool = False) -> float:
    return catalog.node_hour_usd(shape, spot=spot) * catalog.HOURS_PER_MONTH


GOOD_POOL = {
    "name": "recsys-serve", "cluster": "acme-dev", "location": "us-central1",
    "nodeConfig": {
        "machineType": "g2-standard-8", "spot": False,
        "resourceLabels": {"team": "recsys", "env": "dev"},
        "labels": {"trellis.dev/team": "recsys", "trellis.dev/pool": "serve"},
        "guestAccelerators": [{"type": "nvidia-l4", "count": 1}],
    },
    "autoscaling": {"totalMinNodeCount": 0, "totalMaxNodeCount": 4},
}


def pool(name: str = "serve", **changes: object) -> dict:
    inputs = mod(GOOD_POOL, {"name": f"recsys-{name}", **changes})
    inputs["nodeConfig"]["labels"]["trellis.dev/pool"] = name  # a dotted key: not via mod()
    return res(NODE_POOL, f"recsys-{name}", inputs)


def gcp_budget(usd: float, team: str = "recsys") -> dict:
    units, frac = divmod(round(usd * 100), 100)
    return res(GCP_BUDGET, team, {
        "displayName": f"acme dev {team}", "billingAccount": "01ABCD-23EF45-6789AB",
        "budgetFilter": {"labels": {"team": team}, "calendarPeriod": "MONTH"},
        "amount": {"specifiedAmount": {"currencyCode": "USD", "units": str(units),
                                       "nanos": frac * 10_000_000}}})


GOOD_GROUP = {
    "nodeGroupName": "recsys-serve", "clusterName": "acme-dev", "instanceTypes": ["g6.2xlarge"],
    "amiType": "BOTTLEROCKET_x86_64_NVIDIA", "capacityType": "ON_DEMAND",
    "scalingConfig": {"minSize": 0, "maxSize": 2, "desiredSize": 0},
    "labels": {"trellis.dev/team": "recsys", "trellis.dev/pool": "serve"},
    "tags": {"team": "recsys", "env": "dev"},
}


def group(**changes: object) -> dict:
    return res(NODE_GROUP, "recsys-serve", mod(GOOD_GROUP, changes))


def aws_budget(usd: float, team: str = "recsys") -> dict:
    return res(AWS_BUDGET, f"{team}-budget", {
        "name": f"acme-dev-{team}", "budgetType": "COST", "timeUnit": "MONTHLY",
        "limitAmount": f"{usd:.2f}", "limitUnit": "USD",
        "costFilters": [{"name": "TagKeyValue", "values": [f"user:team${team}"]}]})


FOUR_L4 = 4 * month(L4_GCP)  # the worst case of GOOD_POOL

CASES: dict[str, dict[str, list[Stack]]] = {
    RULE: {
        "pass": [
            S(pool(), gcp_budget(FOUR_L4 + 1), note="4 x L4 on-demand under the budget"),
            S(pool(), gcp_budget(math.ceil(FOUR_L4 * 100) / 100),
              note="the worst case rounded up to the cent fits"),
            S(pool(**{"autoscaling.totalMaxNodeCount": 100}),
              note="no budget anywhere: nothing to compare with"),
            S(pool(**{"autoscaling.totalMaxNodeCount": 100}), gcp_budget(10, team="vision"),
              note="the budget belongs to another team"),
            S(pool(**{"nodeConfig.machineType": "e2-standard-4", "nodeConfig.guestAccelerators":
                      [], "autoscaling.totalMaxNodeCount": 50}), gcp_budget(10),
              note="a CPU pool is not a GPU pool"),
            S(pool(**{"autoscaling.totalMaxNodeCount": 40, "nodeConfig.spot": True}),
              gcp_budget(40 * month(L4_GCP, spot=True)), note="spot price (estimate) fits"),
            S(group(), aws_budget(2 * month(L4_AWS) + 0.01), note="EKS under the AWS budget"),
        ],
        "fail": [
            S(pool(), gcp_budget(FOUR_L4 - 1), note="4 x L4 on-demand over the budget"),
            S(pool(**{"autoscaling": {"maxNodeCount": 2},
                      "nodeLocations": ["us-central1-a", "us-central1-b", "us-central1-c"]}),
              gcp_budget(5 * month(L4_GCP)), note="per-zone max x 3 zones = 6 nodes"),
            S(pool(**{"autoscaling.totalMaxNodeCount": 40, "nodeConfig.spot": True}),
              gcp_budget(40 * month(L4_GCP, spot=True) - 1), note="spot worst case over"),
            S(pool(**{"nodeConfig.machineType": "a3-highgpu-8g"}), pool("train"),
              gcp_budget(50_000), note="the team's pools are added up"),
            S(group(**{"scalingConfig.maxSize": 20}), aws_budget(1000), note="EKS over budget"),
            S(pool(**{"nodeConfig.machineType": "g4-standard-48"}), gcp_budget(100_000),
              note="a GPU machine type the catalogue cannot price fails closed"),
            S(group(**{"scalingConfig.maxSize": UNKNOWN}), aws_budget(1000),
              note="an unknown size fails closed"),
        ],
    },
}


def _cases(kind: str) -> list[object]:
    return [pytest.param(stack, id=f"{kind}-{i}") for i, stack in enumerate(CASES[RULE][kind])]


@pytest.mark.parametrize("stack", _cases("fail"))
def test_violating_fixture_is_reported(stack: Stack) -> None:
    assert findings(check(stack), RULE), f"{RULE} should flag: {stack.note}"


@pytest.mark.parametrize("stack", _cases("pass"))
def test_compliant_fixture_passes(stack: Stack) -> None:
    report = check(stack)
    assert not findings(report, RULE), f"{RULE} flagged: {stack.note}\n{describe(report)}"


# ---- the message ------------------------------------------------------------------------------

def test_message_gives_both_numbers_and_the_largest_fitting_max_nodes() -> None:
    budget = 5000.0
    report = check(S(pool(**{"autoscaling.totalMaxNodeCount": 10}), gcp_budget(budget)))
    (f,) = findings(report, RULE)
    worst = 10 * month(L4_GCP)
    fits = math.floor(budget / month(L4_GCP))
    assert f.urn.endswith("::recsys-serve")
    assert f"worst-case GPU spend ${worst:,.2f}/month" in f.message, f.message
    assert f"exceeds the budget ${budget:,.2f}/month by ${worst - budget:,.2f}" in f.message
    assert f"10 x g2-standard-8 on-demand, ${month(L4_GCP):,.2f} per node-month" in f.message
    assert f"Largest max_nodes that fits: serve {fits}" in f.message, f.message
    assert fits == 8  # hand-checked: 5000 / (0.853624 x 730 = 623.15) = 8.02
    assert "trellis cost" in f.remediation and "max_nodes" in f.remediation


def test_message_with_several_pools_holds_the_others_fixed() -> None:
    # train: 1 x 8xH100 ($64.6k); serve: 4 x L4 ($2.5k); budget $30k: only train can move.
    report = check(S(pool(), pool("train", **{"nodeConfig.machineType": "a3-highgpu-8g",
                                              "autoscaling.totalMaxNodeCount": 1}),
                     gcp_budget(30_000)))
    (f,) = findings(report, RULE)
    assert f.urn.endswith("::recsys-train"), "reported on the costliest pool"
    assert ("Largest max_nodes that fits: serve cannot fit alone; train cannot fit alone "
            "(other pools unchanged)") in f.message, f.message
    # max_nodes is at least 1: never advise 0, say what org.yaml accepts instead.
    assert "train 0" not in f.message and "max_nodes 0" not in f.message, f.message
    assert "Not even 1 node of train (a3-highgpu-8g) fits" in f.message, f.message
    assert "drop the pool from dev (overrides.dev.gpu_pools.train: {enabled: false})" \
        in f.message, f.message
    # Every shape it suggests is one org.yaml accepts and one node of it fits what is left.
    left = 30_000 - 4 * month(L4_GCP)
    suggested = re.findall(r"gpus_per_node: (\d+) \(([\w.-]+), (\d+) nodes? fits?", f.message)
    assert suggested, f.message
    for gpus, machine, nodes in suggested:
        shape = catalog.find_machine_type("gcp", machine)
        assert shape is not None and shape.gpus_per_node == int(gpus), machine
        assert shape.on_demand_available, f"{machine} is spot-only; the pool is on-demand"
        assert int(nodes) >= 1 and int(nodes) * month(shape) <= left + 0.01, (machine, left)


def test_unpriceable_pool_names_the_machine_type() -> None:
    report = check(S(pool(**{"nodeConfig.machineType": "g4-standard-48"}), gcp_budget(1)))
    (f,) = findings(report, RULE)
    assert "cannot be estimated" in f.message and "g4-standard-48" in f.message


def test_unknown_size_fails_closed_as_cannot_be_verified() -> None:
    report = check(S(group(**{"scalingConfig.maxSize": UNKNOWN}), aws_budget(1000)))
    (f,) = findings(report, RULE)
    assert "cannot be verified" in f.message


# ---- enforcement per tier ---------------------------------------------------------------------

OVER = S(pool(), gcp_budget(100))


def level(stack: Stack, *, tier: str, config: dict | None = None) -> str:
    (f,) = findings(check(S(*stack.resources, tier=tier, config=config)), RULE)
    return f.enforcement


def test_mandatory_in_production_by_default() -> None:
    assert get_rule(RULE).enforcement == "mandatory"
    assert level(OVER, tier="production") == "mandatory"
    assert cost_rule.enforcement_for("production") == "mandatory"


def test_enforcement_is_configurable() -> None:
    assert level(OVER, tier="production", config={RULE: "advisory"}) == "advisory"
    assert level(OVER, tier="sandbox", config={RULE: "mandatory"}) == "mandatory"
    assert not findings(check(S(*OVER.resources, config={RULE: "disabled"})), RULE)


def test_advisory_in_sandbox_by_default() -> None:
    assert cost_rule.enforcement_for("sandbox") == "advisory"
    assert level(OVER, tier="sandbox") == "advisory"


# ---- budgets from pack config, and agreement with `trellis cost` ------------------------------

def _view(resources: list[dict]) -> ViewStack:
    return ViewStack([Res(type=r["type"], urn=r["urn"], name=r["name"], props=r["inputs"],
                          parent=r["parent"]) for r in resources])


def test_config_budgets_win_over_budget_resources() -> None:
    stack = _view([pool(), gcp_budget(FOUR_L4 + 1)])
    settings = SimpleNamespace(tier="production", budgets={"recsys": 100})
    (hit,) = list(cost_rule.gpu_budget(stack, settings))  # type: ignore[arg-type]
    assert "budget $100.00/month" in hit[1]
    only_config = _view([pool()])
    assert list(cost_rule.gpu_budget(only_config, settings))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"budgets\.recsys"):
        cost_rule.config_budgets(SimpleNamespace(budgets={"recsys": "a lot"}))  # type: ignore[arg-type]


def test_budget_resources_are_read_on_both_clouds() -> None:
    stack = _view([gcp_budget(1234.5), aws_budget(999, team="vision")])
    assert cost_rule.plan_budgets(stack) == {"recsys": pytest.approx(1234.5), "vision": 999.0}


OVER_BUDGET_ORG = {
    "gcp": """\
version: 1
org: acme
cloud: gcp
region: us-central1
platform: {billing_account: 01ABCD-23EF45-6789AB, gke_security_group: gke-security-groups@acme.com}
environments:
  prod: {project: acme-ml-prod, tier: production}
teams:
  recsys:
    members: [group:recsys@acme.com]
    budget_usd: 60000
    gpu_pools:
      train: {accelerator: h100-80gb, gpus_per_node: 8, max_nodes: 2}
      serve: {accelerator: l4, min_nodes: 1, max_nodes: 8}
""",
    "aws": """\
version: 1
org: acme
cloud: aws
region: us-east-1
platform: {admins: ["arn:aws:iam::222222222222:role/platform-admin"],
           admin_cidrs: [203.0.113.0/24]}
environments:
  prod: {account: "222222222222", tier: production}
teams:
  recsys:
    members: [arn:aws:iam::222222222222:role/recsys]
    budget_usd: 60000
    gpu_pools:
      train: {accelerator: h100-80gb, gpus_per_node: 8, max_nodes: 2}
      serve: {accelerator: l4, min_nodes: 1, max_nodes: 8}
""",
}


@pytest.mark.parametrize("cloud", ["gcp", "aws"])
def test_rule_agrees_with_trellis_cost_on_a_real_plan(write_org, cloud) -> None:
    spec = resolve(load(write_org(OVER_BUDGET_ORG[cloud])), "prod")
    report = cost.estimate(spec)
    (team,) = report.teams
    assert team.over_budget
    (f,) = findings(cost_check(spec), RULE)
    worst = re.search(r"worst-case GPU spend \$([\d,.]+)/month", f.message)
    assert worst, f.message
    assert float(worst.group(1).replace(",", "")) == pytest.approx(team.max_monthly_usd, abs=0.01)
    for p in team.pools:
        n = team.largest_fitting_max_nodes(p.pool)
        others = team.max_monthly_usd - p.max_monthly_usd
        if n and n >= 1 and cost.fits_at_min(60_000, p.node_month_usd, others,
                                             min_nodes=p.min_nodes):
            assert f"{p.pool} {n}" in f.message, f.message
        else:
            assert f"{p.pool} cannot fit alone" in f.message, f.message
            assert f"{p.pool} 0" not in f.message, "max_nodes is at least 1: never advise 0"
        advice = budget_fit.team_advice(team, p, cloud=cloud, env="prod", region=spec.region)
        if advice is not None:  # trellis cost and the rule give the same advice
            assert advice[0].upper() + advice[1:] in f.message, (advice, f.message)


def cost_check(spec):  # type: ignore[no-untyped-def]
    from stacks.report.check import run_check

    return run_check(build_plan(spec))


@pytest.mark.parametrize("cloud", ["gcp", "aws"])
def test_rule_prices_planned_pools_as_trellis_cost_does(write_org, cloud) -> None:
    """One cost model: the pool the rule rebuilds from the planned node pool / node group is
    the very PoolCost `trellis cost` computes from org.yaml (only the physical name, which the
    rule does not need, is left out)."""
    from dataclasses import replace

    from components.pricing import PoolCost
    from policies.evaluate import Record, stack_of
    from policies.gpu import gpu_pools

    spec = resolve(load(write_org(OVER_BUDGET_ORG[cloud])), "prod")
    expected = {p.pool: replace(p, node_pool_name="")
                for t in cost.estimate(spec).teams for p in t.pools}
    planned = build_plan(spec)
    stack = stack_of([Record(type=r.type, urn=r.urn, name=r.name, inputs=r.inputs,
                             outputs=r.outputs) for r in planned.resources])
    from policies.gpu import template_finder

    find = template_finder(stack)
    got = {p.pool: p for p in (cost_rule.price(r, find(r)) for r in gpu_pools(stack))}
    assert cost.PoolCost is PoolCost, "stacks.report.cost must re-export the one model"
    assert got == expected, f"TRL-COST-001 and `trellis cost` price {cloud} pools differently"
