"""Budget advice never recommends a value org.yaml refuses (max_nodes <= 0), and what it
suggests instead really fits: trellis cost and TRL-COST-001 word the same advice."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from components import budget_fit, catalog
from components.pricing import PoolCost, TeamCost
from stacks.cli.commands.cost import fit_hint

SHAPES = [s for s in catalog.all_shapes() if s.on_demand_available or s.spot_allowed]


def month(shape: catalog.MachineShape, spot: bool) -> float:
    return catalog.node_hour_usd(shape, spot=spot) * catalog.HOURS_PER_MONTH


@settings(max_examples=150, deadline=None)
@given(shape=st.sampled_from(SHAPES), spot=st.booleans(),
       fraction=st.floats(min_value=0.0, max_value=0.999))
def test_every_option_fits_and_is_offered(shape, spot, fraction):
    if not (shape.spot_allowed if spot else shape.on_demand_available):
        spot = not spot
    available = fraction * month(shape, spot)  # less than one node of the pool
    region = min(shape.regions) if shape.regions else None
    for option in budget_fit.cheaper_shapes(shape, spot=spot, region=region,
                                            available_usd=available):
        other = catalog.find_machine_type(shape.cloud, option.machine_type)
        assert other is not None and other.machine_type != shape.machine_type
        assert option.max_nodes >= 1, option
        assert option.max_nodes * option.node_month_usd <= available + 1e-6, option
        assert region is None or region in other.regions, (option, region)
        assert other.spot_allowed if spot else other.on_demand_available, option
        if other.accelerator == shape.accelerator:
            assert other.gpus_per_node < shape.gpus_per_node, option


@settings(max_examples=150, deadline=None)
@given(shape=st.sampled_from([s for s in SHAPES if s.on_demand_available]),
       max_nodes=st.integers(1, 8), budget=st.floats(min_value=0.0, max_value=200_000.0))
def test_cost_hint_never_advises_max_nodes_below_one(shape, max_nodes, budget):
    pool = PoolCost(pool="train", accelerator=shape.accelerator,
                    gpus_per_node=shape.gpus_per_node, machine_type=shape.machine_type,
                    family=shape.family, spot=False, spot_discount=None,
                    node_hour_usd=shape.on_demand_hour_usd, min_nodes=0, max_nodes=max_nodes,
                    node_pool_name="x")
    team = TeamCost(team="recsys", budget_usd=budget, pools=(pool,))
    if not team.over_budget:
        return
    hint = fit_hint(team)
    for n in re.findall(r"max_nodes ≤ (-?\d+)", hint):
        assert int(n) >= 1, hint
    if budget < pool.node_month_usd:
        assert "Not even 1 node of train" in hint and "{enabled: false}" in hint, hint
