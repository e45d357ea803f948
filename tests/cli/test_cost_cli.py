"""``trellis cost``: the table for people, the JSON contract for machines, exit 0 always."""

from __future__ import annotations

import io
import json

import pytest
from click.testing import CliRunner
from rich.console import Console

from components import catalog
from stacks.cli.commands.cost import cost_command
from stacks.org.load import load
from stacks.org.resolve import resolve
from tests.conftest import ALL_ORGS, BUNDLED_GCP

# recsys: one spot 8xH100 node plus 4 spot L4 nodes against $20k in dev; in prod two on-demand
# 8xH100 nodes plus 8 L4 nodes against $60k. Both over budget; vision fits.
OVER_BUDGET = """\
version: 1
org: acme
cloud: gcp
region: us-central1
platform: {gke_security_group: gke-security-groups@acme.com}
environments:
  dev: {project: acme-ml-dev, tier: sandbox}
  prod: {project: acme-ml-prod, tier: production, region: us-east4}
teams:
  recsys:
    members: [group:recsys@acme.com]
    budget_usd: 20000
    gpu_pools:
      train: {accelerator: h100-80gb, gpus_per_node: 8, max_nodes: 1, spot: true}
      serve: {accelerator: l4, max_nodes: 4}
    overrides:
      prod:
        budget_usd: 60000
        gpu_pools: {train: {max_nodes: 2, spot: false}, serve: {min_nodes: 1, max_nodes: 8}}
  vision:
    members: [group:vision@acme.com]
    budget_usd: 8000
    gpu_pools:
      finetune: {accelerator: a100-80gb, gpus_per_node: 1, max_nodes: 2}
"""


@pytest.fixture
def over_budget(write_org):
    return write_org(OVER_BUDGET)


def run(org, env: str, fmt: str, width: int = 100) -> tuple[int, str]:
    buf = io.StringIO()
    console = Console(file=buf, width=width, force_terminal=False, color_system=None)
    code = cost_command(resolve(load(org), env), fmt=fmt, console=console)
    return code, buf.getvalue()


def test_table_shows_pools_budgets_platform_and_price_date(over_budget):
    code, out = run(over_budget, "dev", "table")
    assert code == 0  # over budget still exits 0 (DESIGN.md)
    for text in ("recsys", "  train", "a3-highgpu-8g (8×h100-80gb)", "  serve", "vision",
                 "Budget $/mo", "20,000", "OVER budget by", "within budget",
                 "GKE cluster management fee", "Cloud NAT", "System node pool",
                 "platform total", catalog.PRICE_DATE, "Environment total"):
        assert text in out, f"table lacks {text!r}:\n{out}"
    flat = " ".join(out.split())  # notes wrap at the console width
    assert "Team totals cover GPU node pools only" in flat
    pct = f"{catalog.spot_discount('gcp', 'a3'):.0%}"
    assert "spot prices are estimates" in flat and f"{pct} for a3" in flat
    assert "recsys is over budget: worst case $26,836/mo > budget $20,000/mo" in flat
    # One 8xH100 node costs more than the budget leaves: never "max_nodes ≤ 0" (validation
    # refuses it), but what org.yaml accepts.
    assert "max_nodes ≤ 0" not in flat, flat
    assert "Not even 1 node of train (a3-highgpu-8g) fits what the budget leaves it" in flat
    assert "use gpus_per_node: 4 (a3-highgpu-4g, 1 node fits" in flat, flat
    assert "or drop the pool from dev (overrides.dev.gpu_pools.train: {enabled: false})" in flat


def test_bundled_org_table_fits_its_budgets():
    code, out = run(BUNDLED_GCP, "dev", "table")
    assert code == 0 and "research" in out
    assert "OVER" not in out and "is over budget" not in out


@pytest.mark.parametrize("org", ALL_ORGS, ids=lambda p: p.name)
def test_table_fits_in_100_columns(org):
    for env in load(org).environments:
        _, out = run(org, env, "table", width=100)
        too_long = [line for line in out.splitlines() if len(line.rstrip()) > 100]
        assert not too_long, too_long
        assert "…" not in out, f"a cell was truncated in {env}:\n{out}"


def test_table_production_has_no_spot_note_and_names_the_region(over_budget):
    _, out = run(over_budget, "prod", "table")
    assert "spot prices are estimates" not in out
    assert "us-east4 may differ" in " ".join(out.split())
    assert "134,181" in out  # recsys worst case after the prod overrides


def test_over_budget_team_is_red_on_a_terminal(over_budget):
    buf = io.StringIO()
    console = Console(file=buf, width=100, force_terminal=True, color_system="standard")
    cost_command(resolve(load(over_budget), "dev"), fmt="table", console=console)
    out = buf.getvalue()
    red = "\x1b[1;31m"
    recsys = next(line for line in out.splitlines() if "recsys" in line and "OVER" in line)
    assert red in recsys
    vision = next(line for line in out.splitlines() if "within budget" in line)
    assert red not in vision


@pytest.mark.parametrize("org", ALL_ORGS, ids=lambda p: p.name)
def test_json_is_the_contract_for_every_example(org):
    for env in load(org).environments:
        code, out = run(org, env, "json", width=40)  # narrow: JSON must never wrap
        assert code == 0
        data = json.loads(out)
        assert data["environment"] == env and data["currency"] == "USD"
        assert data["price_date"] == catalog.PRICE_DATE
        assert {"teams", "platform_monthly_usd", "total_idle_monthly_usd",
                "total_max_monthly_usd"} <= set(data)
        for team in data["teams"]:
            assert {"team", "budget_usd", "idle_monthly_usd", "max_monthly_usd",
                    "pools"} <= set(team)


def test_unknown_format_is_a_bug_not_a_silent_default():
    with pytest.raises(ValueError):
        run(BUNDLED_GCP, "dev", "yaml")


def test_trellis_cost_through_the_cli(over_budget):
    from stacks.cli.app import main

    runner = CliRunner()
    result = runner.invoke(main, ["cost", str(over_budget), "--env", "prod", "--format", "json"])
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    data = json.loads(result.output)
    assert data["environment"] == "prod"
    assert [t["team"] for t in data["teams"]] == ["recsys", "vision"]
    assert data["over_budget"] == ["recsys"]
    result = runner.invoke(main, ["cost", str(over_budget), "--env", "dev"])
    assert result.exit_code == 0, result.output  # over budget still exits 0 (DESIGN.md)
    assert "OVER budget" in result.output
    assert runner.invoke(main, ["cost", str(over_budget)]).exit_code == 2  # --env needed


def test_trellis_plan_tree_shows_worst_case_beside_gpu_pools():
    from stacks.cli.app import main

    result = CliRunner().invoke(main, ["plan", str(BUNDLED_GCP), "--env", "dev"])
    assert result.exit_code == 0, result.output
    pool_lines = [line for line in result.output.splitlines() if "GpuNodePool" in line]
    assert len(pool_lines) == 4, result.output  # recsys train/serve, vision, research
    assert all("/mo" in line and "≤ $" in line for line in pool_lines), pool_lines
