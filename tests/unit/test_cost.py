"""Cost estimates: arithmetic on catalogue shapes, spot, overrides, budget fit, JSON contract."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from components import catalog
from components.catalog import HOURS_PER_MONTH
from stacks.org.load import load
from stacks.org.resolve import resolve
from stacks.report import cost
from stacks.report.cost import estimate, largest_fitting_max_nodes, plan_annotations
from tests.conftest import ALL_ORGS, BUNDLED_GCP

ONE_TEAM = """\
version: 1
org: acme
cloud: {cloud}
region: {region}
environments:
  dev: {{{dev}, tier: sandbox}}
  prod: {{{prod}, tier: production}}
teams:
  recsys:
    members: [{member}]
    budget_usd: {budget}
    gpu_pools:
{pools}
"""

WHERE = {"gcp": ("us-central1", "project: acme-ml-{env}", "group:recsys@acme.com"),
         "aws": ("us-east-1", 'account: "{account}"', "arn:aws:iam::111111111111:role/r")}
ACCOUNTS = {"dev": "111111111111", "prod": "222222222222"}


def org_text(cloud: str, pools: dict[str, str], budget: float = 10_000) -> str:
    region, where, member = WHERE[cloud]
    body = "\n".join(f"      {k}: {{{v}}}" for k, v in pools.items())
    dev, prod = (where.format(env=e, account=ACCOUNTS[e]) for e in ("dev", "prod"))
    text = ONE_TEAM.format(cloud=cloud, region=region, dev=dev, prod=prod, member=member,
                           budget=budget, pools=body)
    if cloud == "aws":  # the API must be reachable from where `pulumi up` runs (ADR 16)
        text += "platform: {admin_cidrs: [203.0.113.0/24]}\n"
    else:  # `group:` members need Google Groups for RBAC (validation requires it)
        text += "platform: {gke_security_group: gke-security-groups@acme.com}\n"
    return text


def report_of(write_org, cloud: str, pools: dict[str, str], env: str = "dev",
              budget: float = 10_000) -> cost.CostReport:
    return estimate(resolve(load(write_org(org_text(cloud, pools, budget))), env))


def only_pool(report: cost.CostReport) -> cost.PoolCost:
    (team,) = report.teams
    (pool,) = team.pools
    return pool


# ---- arithmetic ---------------------------------------------------------------------------

def test_hand_checked_l4_on_demand(write_org):
    # g2-standard-8 (1 x L4), us-central1 list price $0.853624/h, checked by hand:
    # 0.853624 x 730 = 623.14552 per node-month; x 4 nodes = 2,492.58208 -> $2,492.58.
    report = report_of(write_org, "gcp", {"serve": "accelerator: l4, max_nodes: 4, spot: false"})
    pool = only_pool(report)
    assert pool.machine_type == "g2-standard-8"
    assert pool.node_hour_usd == pytest.approx(0.853624)
    data = report.to_json()["teams"][0]["pools"][0]
    assert data["max_monthly_usd"] == 2492.58
    assert data["idle_monthly_usd"] == 0.0


@pytest.mark.parametrize(("cloud", "accelerator", "gpus"), [
    # (GCP H200, a3-ultragpu-8g, has no on-demand capacity: reservations only, issue 17)
    ("gcp", "t4", 1), ("gcp", "a100-40gb", 8), ("gcp", "h100-80gb", 8), ("gcp", "a100-80gb", 8),
    ("aws", "a10g", 4), ("aws", "l40s", 1), ("aws", "h100-80gb", 8), ("aws", "h200", 8),
])
def test_on_demand_pool_is_catalogue_price_times_730_times_nodes(write_org, cloud, accelerator,
                                                                  gpus):
    shape = catalog.shape(cloud, accelerator, gpus)
    pools = {"p": f"accelerator: {accelerator}, gpus_per_node: {gpus}, min_nodes: 1, "
                  "max_nodes: 3, spot: false"}
    pool = only_pool(report_of(write_org, cloud, pools, env="prod"))  # min_nodes 1: production
    month = shape.on_demand_hour_usd * HOURS_PER_MONTH
    assert pool.machine_type == shape.machine_type
    assert pool.idle_monthly_usd == pytest.approx(1 * month), f"{shape.machine_type} idle"
    assert pool.max_monthly_usd == pytest.approx(3 * month), f"{shape.machine_type} max"


def test_team_and_environment_totals_add_up(write_org):
    pools = {"a": "accelerator: l4, min_nodes: 1, max_nodes: 2, spot: false",
             "b": "accelerator: t4, max_nodes: 5, spot: true"}
    report = report_of(write_org, "gcp", pools, env="prod")
    (team,) = report.teams
    assert team.idle_monthly_usd == pytest.approx(sum(p.idle_monthly_usd for p in team.pools))
    assert team.max_monthly_usd == pytest.approx(sum(p.max_monthly_usd for p in team.pools))
    platform = sum(c.monthly_usd for c in catalog.platform_costs("gcp", production=True))
    assert report.platform_monthly_usd == pytest.approx(platform)
    assert report.total_idle_monthly_usd == pytest.approx(platform + team.idle_monthly_usd)
    assert report.total_max_monthly_usd == pytest.approx(platform + team.max_monthly_usd)


@pytest.mark.parametrize("cloud", ["gcp", "aws"])
@pytest.mark.parametrize("production", [False, True])
def test_platform_line_is_the_catalogue_platform_cost(write_org, cloud, production):
    report = report_of(write_org, cloud, {"p": "accelerator: l4, max_nodes: 1"},
                       env="prod" if production else "dev")
    expected = catalog.platform_costs(cloud, production=production)
    if cloud == "gcp":  # the shared CPU pool: nothing at idle, its worst case in the note
        shared = report.platform[-1]
        assert shared.item.startswith("Shared CPU pool (0 to ") and shared.monthly_usd == 0
        assert "scales to zero" in shared.note, shared.note
        expected = (*expected, shared)
    assert report.platform == expected
    items = [c["item"] for c in report.to_json()["platform"]]
    assert items == [c.item for c in expected]


# ---- spot ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("cloud", "accelerator"), [("gcp", "l4"), ("gcp", "t4"),
                                                    ("aws", "l4"), ("aws", "a10g")])
def test_spot_price_is_on_demand_minus_the_family_discount(write_org, cloud, accelerator):
    spot = only_pool(report_of(write_org, cloud,
                               {"p": f"accelerator: {accelerator}, max_nodes: 2, spot: true"}))
    od = only_pool(report_of(write_org, cloud,
                             {"p": f"accelerator: {accelerator}, max_nodes: 2, spot: false"}))
    discount = catalog.spot_discount(cloud, od.family)
    assert spot.spot and not od.spot
    assert spot.spot_discount == discount and od.spot_discount is None
    assert spot.node_hour_usd == pytest.approx(od.node_hour_usd * (1 - discount))
    assert spot.max_monthly_usd < od.max_monthly_usd


def test_spot_is_stated_as_an_estimate_with_its_discount(write_org):
    report = report_of(write_org, "gcp", {"p": "accelerator: l4, max_nodes: 2, spot: true"})
    pct = f"{catalog.spot_discount('gcp', 'g2'):.0%}"
    assert f"spot prices are estimates: {pct} off on-demand for family g2" in (
        report.estimate_note())
    assert report.to_json()["spot_discounts"] == {"g2": catalog.spot_discount("gcp", "g2")}


def test_tier_default_spot_sandbox_on_demand_production(write_org):
    pools = {"p": "accelerator: l4, max_nodes: 2"}
    assert only_pool(report_of(write_org, "gcp", pools, env="dev")).spot
    assert not only_pool(report_of(write_org, "gcp", pools, env="prod")).spot


# ---- overrides per environment (bundled org) ----------------------------------------------

def bundled(env: str) -> cost.CostReport:
    return estimate(resolve(load(BUNDLED_GCP), env))


def test_prod_overrides_change_the_numbers_of_the_bundled_org():
    dev, prod = bundled("dev"), bundled("prod")
    d = {t.team: t for t in dev.teams}
    p = {t.team: t for t in prod.teams}
    # recsys overrides: budget 40000 -> 150000; train max 1 spot -> max 2 on-demand;
    # serve min 0 max 4 -> min 1 max 8 (on-demand by the production tier).
    assert (d["recsys"].budget_usd, p["recsys"].budget_usd) == (40000, 150000)
    dtrain, ptrain = (next(x for x in t.pools if x.pool == "train") for t in (d["recsys"],
                                                                              p["recsys"]))
    assert (dtrain.max_nodes, dtrain.spot) == (1, True)
    assert (ptrain.max_nodes, ptrain.spot) == (2, False)
    h100 = catalog.shape("gcp", "h100-80gb", 8)
    assert ptrain.max_monthly_usd == pytest.approx(2 * h100.on_demand_hour_usd * 730)
    assert dtrain.max_monthly_usd == pytest.approx(
        h100.on_demand_hour_usd * (1 - catalog.spot_discount("gcp", "a3")) * 730)
    pserve = next(x for x in p["recsys"].pools if x.pool == "serve")
    assert pserve.idle_monthly_usd == pytest.approx(catalog.shape("gcp", "l4", 1).monthly_usd)
    assert d["recsys"].idle_monthly_usd == 0 and p["recsys"].idle_monthly_usd > 0
    # research is dev only; vision's budget is overridden in prod.
    assert "research" in d and "research" not in p
    assert (d["vision"].budget_usd, p["vision"].budget_usd) == (8000, 15000)
    assert prod.total_max_monthly_usd > dev.total_max_monthly_usd
    assert prod.platform_monthly_usd > dev.platform_monthly_usd  # 3 system nodes, not 1


def test_bundled_org_teams_fit_their_budgets():
    # The bundled example is meant to pass `trellis check` in production, guardrail included.
    for report in (bundled("dev"), bundled("prod")):
        assert not report.over_budget, report.environment


def over_budget_report(write_org) -> cost.CostReport:
    """recsys: 2 on-demand 8xH100 nodes plus up to 4 L4 nodes against a $100k budget."""
    pools = {"train": "accelerator: h100-80gb, gpus_per_node: 8, max_nodes: 2",
             "serve": "accelerator: l4, max_nodes: 4"}
    return report_of(write_org, "gcp", pools, env="prod", budget=100_000)


@pytest.mark.parametrize("org", ALL_ORGS, ids=lambda p: p.name)
def test_every_example_org_estimates_every_environment(org):
    loaded = load(org)
    for env in loaded.environments:
        report = estimate(resolve(loaded, env))
        json.dumps(report.to_json())  # JSON-serialisable
        assert report.total_max_monthly_usd >= report.total_idle_monthly_usd > 0


# ---- largest fitting max_nodes ------------------------------------------------------------

def test_largest_fitting_max_nodes_pure():
    assert largest_fitting_max_nodes(1000, 300) == 3
    assert largest_fitting_max_nodes(1000, 300, 200) == 2
    assert largest_fitting_max_nodes(900, 300) == 3  # exactly the budget fits
    assert largest_fitting_max_nodes(100, 300) == 0
    assert largest_fitting_max_nodes(100, 300, min_nodes=1) == 1  # never below min_nodes
    assert largest_fitting_max_nodes(100, 300, 500) == 0  # others alone are over budget
    # Float error must not cost a node: 0.1 + 0.2 > 0.3 in binary.
    assert largest_fitting_max_nodes(0.1 + 0.2, 0.1) == 3
    assert largest_fitting_max_nodes(0.3, 0.1) == 3
    assert cost.fits_at_min(1000, 300, 200, min_nodes=2)
    assert not cost.fits_at_min(1000, 300, 500, min_nodes=2)
    with pytest.raises(ValueError):
        largest_fitting_max_nodes(1000, 0)


def test_largest_fitting_max_nodes_is_the_boundary_for_the_team(write_org):
    pools = {"train": "accelerator: a100-40gb, gpus_per_node: 8, max_nodes: 6, spot: false",
             "serve": "accelerator: l4, min_nodes: 1, max_nodes: 10, spot: false"}
    budget = 50_000
    report = report_of(write_org, "gcp", pools, budget=budget)
    (team,) = report.teams
    assert team.over_budget
    for pool in team.pools:
        n = team.largest_fitting_max_nodes(pool.pool)
        assert n is not None and n < pool.max_nodes, pool.pool
        others = team.max_monthly_usd - pool.max_monthly_usd
        # n nodes fit, n + 1 do not (the other pools held at their max).
        if cost.fits_at_min(budget, pool.node_month_usd, others, min_nodes=pool.min_nodes):
            assert others + n * pool.node_month_usd <= budget, pool.pool
        assert others + (n + 1) * pool.node_month_usd > budget, pool.pool
    train_month = catalog.shape("gcp", "a100-40gb", 8).monthly_usd
    serve_max = 10 * catalog.shape("gcp", "l4", 1).monthly_usd
    assert team.largest_fitting_max_nodes("train") == int((budget - serve_max) // train_month)


def test_team_fit_holds_the_other_pools_by_identity_not_by_name():
    """components.pricing.TeamCost answers for a pool object too: two planned pools that carry
    the same pool label (TRL-COST-001 reads labels) are still priced apart."""
    from components.pricing import TeamCost, pool_cost

    l4 = catalog.shape("gcp", "l4", 1)
    a = pool_cost(l4, pool="serve", spot=False, min_nodes=0, max_nodes=4)
    b = pool_cost(l4, pool="serve", spot=False, min_nodes=1, max_nodes=2)
    team = TeamCost(team="recsys", budget_usd=5 * l4.monthly_usd, pools=(a, b))
    assert team.others_max_monthly_usd(a) == pytest.approx(2 * l4.monthly_usd)
    assert team.largest_fitting_max_nodes(a) == 3, "5 node-months minus the other pool's 2"
    assert team.largest_fitting_max_nodes(b) == 1, "5 minus 4 leaves 1"
    assert team.fits_at_min(b) and team.over_budget


def test_no_budget_means_never_over_and_no_fit(write_org):
    text = org_text("gcp", {"p": "accelerator: l4, max_nodes: 100"}).replace(
        "    budget_usd: 10000\n", "")
    (team,) = estimate(resolve(load(write_org(text)), "dev")).teams
    assert team.budget_usd is None and not team.over_budget
    assert team.largest_fitting_max_nodes("p") is None and team.headroom_usd is None


# ---- JSON contract ------------------------------------------------------------------------

CONTRACT_TOP = {"environment": str, "currency": str, "price_date": str, "teams": list,
                "platform_monthly_usd": float, "total_idle_monthly_usd": float,
                "total_max_monthly_usd": float}
CONTRACT_TEAM = {"team": str, "budget_usd": (float, int, type(None)), "idle_monthly_usd": float,
                 "max_monthly_usd": float, "pools": list}
CONTRACT_POOL = {"pool": str, "accelerator": str, "machine_type": str, "spot": bool,
                 "node_hour_usd": float, "min_nodes": int, "max_nodes": int,
                 "idle_monthly_usd": float, "max_monthly_usd": float}


def check_types(obj: dict, contract: dict, where: str) -> None:
    for key, kind in contract.items():
        assert key in obj, f"{where}: contract key {key!r} missing"
        assert isinstance(obj[key], kind), f"{where}.{key}: {type(obj[key]).__name__}"
        assert not isinstance(obj[key], bool) or kind is bool, f"{where}.{key} is a bool"


def test_json_contract_keys_and_types():
    data = json.loads(json.dumps(bundled("prod").to_json()))
    check_types(data, CONTRACT_TOP, "report")
    assert data["currency"] == "USD" and data["price_date"] == catalog.PRICE_DATE
    assert data["environment"] == "prod"
    assert data["teams"], "bundled prod has teams"
    for team in data["teams"]:
        check_types(team, CONTRACT_TEAM, f"teams.{team['team']}")
        for pool in team["pools"]:
            check_types(pool, CONTRACT_POOL, f"teams.{team['team']}.pools.{pool['pool']}")
    for item in data["platform"]:
        assert set(item) == {"item", "monthly_usd", "note"}
    # Money is rounded to cents at output, and the totals are consistent at cent precision.
    assert data["total_max_monthly_usd"] == pytest.approx(
        data["platform_monthly_usd"] + sum(t["max_monthly_usd"] for t in data["teams"]),
        abs=0.01 * (1 + len(data["teams"])))
    for team in data["teams"]:
        for pool in team["pools"]:
            assert round(pool["max_monthly_usd"], 2) == pool["max_monthly_usd"]


def test_json_reports_over_budget_and_the_fitting_max_nodes(write_org):
    data = json.loads(json.dumps(over_budget_report(write_org).to_json()))
    assert data["over_budget"] == ["recsys"]
    recsys = data["teams"][0]
    assert recsys["over_budget"] is True and recsys["headroom_usd"] < 0
    pools = {p["pool"]: p for p in recsys["pools"]}
    # One 8xH100 node ($64.6k) plus the L4s at max fits $100k; two do not.
    assert pools["train"]["largest_fitting_max_nodes"] == 1


# ---- plan annotations ---------------------------------------------------------------------

def _res(urn: str, type_: str, parent: str | None = None, **inputs: object) -> SimpleNamespace:
    return SimpleNamespace(urn=urn, type=type_, name=urn.rsplit("::", 1)[-1], parent=parent,
                           inputs=inputs)


def test_plan_annotations_on_the_pool_component_by_node_pool_name(write_org):
    pools = {"train": "accelerator: h100-80gb, gpus_per_node: 8, max_nodes: 2",
             "serve": "accelerator: l4, max_nodes: 4"}
    spec = resolve(load(write_org(org_text("gcp", pools, 100_000))), "prod")
    train = spec.teams["recsys"].pools["train"]
    serve = spec.teams["recsys"].pools["serve"]
    comp = "urn:pulumi:prod::trellis::trellis:gcp:GpuNodePool::recsys-train"
    plan = SimpleNamespace(resources=[
        _res(comp, "trellis:gcp:GpuNodePool"),
        _res(comp + "-pool", "gcp:container/nodePool:NodePool", parent=comp,
             name=train.node_pool_name),
        # No component parent: the note goes on the node pool itself.
        _res("urn:x::serve", "gcp:container/nodePool:NodePool", name=serve.node_pool_name),
        _res("urn:x::system", "gcp:container/nodePool:NodePool", name="system"),
    ])
    notes = plan_annotations(plan, spec)
    assert set(notes) == {comp, "urn:x::serve"}
    worst = 2 * catalog.shape("gcp", "h100-80gb", 8).monthly_usd
    assert notes[comp].startswith(f"≤ ${worst:,.0f}/mo")
    assert "over budget" in notes[comp]


def test_plan_annotations_aws_node_group(write_org):
    spec = resolve(load(write_org(org_text("aws", {"p": "accelerator: l4, max_nodes: 2"}))),
                   "dev")
    name = spec.teams["recsys"].pools["p"].node_pool_name
    plan = SimpleNamespace(resources=[
        _res("urn:c", "trellis:aws:GpuNodeGroup"),
        _res("urn:ng", "aws:eks/nodeGroup:NodeGroup", parent="urn:c", nodeGroupName=name)])
    assert plan_annotations(plan, spec) == {"urn:c": plan_annotations(plan, spec)["urn:c"]}
    assert plan_annotations(plan, spec)["urn:c"].endswith("/mo (spot est.)")


def test_plan_annotations_on_a_real_plan():
    pytest.importorskip("stacks.compose.gcp")
    from stacks.plan.engine import plan as build_plan

    spec = resolve(load(BUNDLED_GCP), "dev")
    notes = plan_annotations(build_plan(spec), spec)
    n_pools = sum(len(t.pools) for t in spec.teams.values())
    assert len(notes) == n_pools, notes
    assert all(note.startswith("≤ $") for note in notes.values())
