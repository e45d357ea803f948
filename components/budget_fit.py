"""What to change when not even one node of a GPU pool fits its team's budget.

Lowering ``max_nodes`` is the first advice for a team over budget, but ``max_nodes`` is at
least 1: once one node of a pool (with the team's other pools unchanged) costs more than the
budget leaves, "max_nodes <= 0" is advice org.yaml refuses. What org.yaml accepts then:

* fewer GPUs per node: a smaller shape of the same accelerator (``gpus_per_node``);
* a cheaper accelerator the region offers (``accelerator``);
* dropping the pool from that environment
  (``overrides.<env>.gpu_pools.<pool>: {enabled: false}``);
* or a larger ``budget_usd``.

The first two come from the catalogue. ``trellis cost`` and TRL-COST-001 both word their advice
with :func:`advice`, so the table and the policy violation say the same thing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from components import catalog
from components.pricing import EPSILON as _EPSILON
from components.pricing import PoolCost, TeamCost


@dataclass(frozen=True)
class Option:
    """A shape one or more nodes of which fit the money left for the pool."""

    accelerator: str
    gpus_per_node: int
    machine_type: str
    node_month_usd: float
    max_nodes: int  # the most nodes of this shape that fit

    def words(self, current_accelerator: str) -> str:
        nodes = f"{self.max_nodes} node fits" if self.max_nodes == 1 else \
            f"{self.max_nodes} nodes fit"
        if self.accelerator == current_accelerator:
            return (f"gpus_per_node: {self.gpus_per_node} ({self.machine_type}, {nodes} at "
                    f"${self.node_month_usd:,.0f} per node-month)")
        return (f"accelerator: {self.accelerator} with gpus_per_node: {self.gpus_per_node} "
                f"({self.machine_type}, {nodes} at ${self.node_month_usd:,.0f} per node-month)")


def fitting_nodes(available_usd: float, node_month_usd: float) -> int:
    """How many nodes at ``node_month_usd`` fit ``available_usd`` (0 when none does)."""
    if node_month_usd <= 0 or available_usd < 0:
        return 0
    return max(0, math.floor(available_usd / node_month_usd + _EPSILON))


def _usable(shape: catalog.MachineShape, *, spot: bool, region: str | None) -> bool:
    if region is not None and region not in shape.regions:
        return False
    return shape.spot_allowed if spot else shape.on_demand_available


def cheaper_shapes(shape: catalog.MachineShape, *, spot: bool, region: str | None,
                   available_usd: float, min_nodes: int = 0) -> list[Option]:
    """At most two shapes of which ``min_nodes`` (at least one) nodes fit ``available_usd``:
    the largest count of the same accelerator below the current one, then the other
    accelerator (offered in ``region``, same capacity type) whose node costs the most while
    still fitting. Empty when nothing in the catalogue fits."""
    cloud = shape.cloud

    def option(s: catalog.MachineShape) -> Option | None:
        month = catalog.node_hour_usd(s, spot=spot) * catalog.HOURS_PER_MONTH
        n = fitting_nodes(available_usd, month)
        if n < max(1, min_nodes) or not _usable(s, spot=spot, region=region):
            return None
        return Option(s.accelerator, s.gpus_per_node, s.machine_type, month, n)

    found: list[Option] = []
    smaller = [o for s in catalog.shapes(cloud, shape.accelerator)
               if s.gpus_per_node < shape.gpus_per_node and (o := option(s)) is not None]
    if smaller:
        found.append(max(smaller, key=lambda o: o.gpus_per_node))
    others = [o for accel in catalog.accelerators(cloud) if accel != shape.accelerator
              for s in catalog.shapes(cloud, accel) if (o := option(s)) is not None]
    if others:
        found.append(max(others, key=lambda o: (o.node_month_usd, o.gpus_per_node)))
    return found


def advice(*, cloud: str, machine_type: str, spot: bool, region: str | None,
           available_usd: float, env: str | None, pool: str, min_nodes: int = 0) -> str:
    """What org.yaml accepts for a pool of which not even one node fits ``available_usd`` (the
    team's budget minus its other pools' worst case), in one sentence."""
    shape = catalog.find_machine_type(cloud, machine_type)
    options = ([] if shape is None else
               cheaper_shapes(shape, spot=spot, region=region, available_usd=available_usd,
                              min_nodes=min_nodes))
    accelerator = shape.accelerator if shape is not None else ""
    where = env or "<env>"
    parts = [o.words(accelerator) for o in options]
    parts.append(f"drop the pool from {where} (overrides.{where}.gpu_pools.{pool}: "
                 "{enabled: false})")
    head = (f"not even 1 node of {pool} ({machine_type}) fits what the budget leaves it "
            f"(${max(available_usd, 0.0):,.0f}/month): ")
    if len(parts) == 1:
        return head + parts[0]
    return head + "use " + "; or ".join(parts)


def team_advice(team: TeamCost, pool: PoolCost, *, cloud: str, env: str | None,
                region: str | None) -> str | None:
    """When not even one node of ``pool`` fits what ``team``'s budget leaves it (the other
    pools unchanged), :func:`advice`; else None (lowering ``max_nodes`` is the advice, or
    nothing about this pool alone can fit)."""
    if team.budget_usd is None or not team.over_budget:
        return None
    available = team.budget_usd - team.others_max_monthly_usd(pool)
    if available < 0 or fitting_nodes(available, pool.node_month_usd) >= max(1, pool.min_nodes):
        return None
    return advice(cloud=cloud, machine_type=pool.machine_type, spot=pool.spot, region=region,
                  available_usd=available, env=env, pool=pool.pool, min_nodes=pool.min_nodes)
