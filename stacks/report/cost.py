"""What one environment costs per month: GPU pools idle and at full scale, against each budget.

Pure functions over an :class:`~stacks.org.spec.EnvSpec` and the catalogue (no Pulumi run, no
network), so ``trellis cost`` is instant. Pools are priced and held against budgets by
:mod:`components.pricing`, the model the budget guardrail (``policies/cost.py``, TRL-COST-001)
uses too, so the numbers are the same there and in the ``trellis plan`` annotations.

Definitions (see docs/cost.md):

* A pool's *node-month* is its node-hour price x :data:`~components.catalog.HOURS_PER_MONTH`
  (730 h). Spot pools use the catalogue's estimated discount per cloud and machine family.
* *Idle* is ``min_nodes`` node-months; *worst case* (``max``) is ``max_nodes`` node-months: every
  node the autoscaler may create, running all month.
* A team's totals cover its **GPU pools only**. Storage, egress, registries and the shared
  platform (cluster fee, NAT, system pool) are not attributed to teams; the platform is one
  separate line of the environment.
* Prices are list prices of the catalogue's reference region at
  :data:`~components.catalog.PRICE_DATE`. Values stay unrounded in the dataclasses; rounding to
  cents happens only in :meth:`CostReport.to_json` and in the rendered table.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from components import budget_fit, catalog, pricing
from components.catalog import HOURS_PER_MONTH, PRICE_DATE, PlatformCost
from components.pricing import PoolCost, TeamCost, fits_at_min, largest_fitting_max_nodes
from stacks.org.spec import EnvSpec, PoolSpec, TeamSpec

# The pricing model lives in components.pricing (shared with the TRL-COST-001 guardrail);
# these names stay importable from here, where `trellis cost` and the handoff look for them.
__all__ = ["CURRENCY", "GPU_POOL_TYPES", "SCOPE_NOTE", "CostReport", "PoolCost", "TeamCost",
           "estimate", "fits_at_min", "largest_fitting_max_nodes", "plan_annotations",
           "pool_cost", "pool_note", "team_cost", "usd"]

CURRENCY = "USD"
SCOPE_NOTE = ("team totals cover GPU node pools only; storage, egress, registries and the shared "
              "platform are not included")

GPU_POOL_TYPES = ("gcp:container/nodePool:NodePool", "aws:eks/nodeGroup:NodeGroup")
"""Physical resource types of a GPU pool; :func:`plan_annotations` matches them by name."""
_COMPONENT_SUFFIXES = (":GpuNodePool", ":GpuNodeGroup")


@dataclass(frozen=True)
class CostReport:
    """Monthly cost of one environment: every team's GPU pools plus the fixed platform."""

    environment: str
    cloud: str
    tier: str
    region: str
    price_region: str  # the catalogue's reference region the prices quote
    price_date: str
    teams: tuple[TeamCost, ...]
    platform: tuple[PlatformCost, ...]
    budget_currency: str = CURRENCY  # platform.budget_currency: what budget_usd is written in

    @property
    def budgets_comparable(self) -> bool:
        """Budgets are USD, like the prices; otherwise they are shown, never compared."""
        return self.budget_currency == CURRENCY

    def budget_note(self) -> str | None:
        """Why budgets are not compared (None when they are)."""
        if self.budgets_comparable:
            return None
        return (f"budgets are in {self.budget_currency} (platform.budget_currency) and prices "
                f"in {CURRENCY}; Trellis assumes no exchange rate, so budgets are shown but not "
                "compared (no over-budget verdict, no headroom, no largest max_nodes that fits)")

    @property
    def platform_monthly_usd(self) -> float:
        return sum(c.monthly_usd for c in self.platform)

    @property
    def total_idle_monthly_usd(self) -> float:
        return self.platform_monthly_usd + sum(t.idle_monthly_usd for t in self.teams)

    @property
    def total_max_monthly_usd(self) -> float:
        return self.platform_monthly_usd + sum(t.max_monthly_usd for t in self.teams)

    @property
    def over_budget(self) -> tuple[TeamCost, ...]:
        return tuple(t for t in self.teams if t.over_budget)

    def spot_discounts(self) -> dict[str, float]:
        """Family -> estimated discount, for every family a spot pool of this report uses."""
        return {p.family: p.spot_discount for t in self.teams for p in t.pools
                if p.spot_discount is not None}

    def flex_start_discounts(self) -> dict[str, float]:
        """Family -> documented flex-start discount, for every family a flex-start pool uses."""
        return {p.family: p.capacity_discount or 0.0 for t in self.teams for p in t.pools
                if p.capacity == "flex-start"}

    def reserved(self) -> tuple[PoolCost, ...]:
        """Pools consuming a reservation (billed whether nodes run or not)."""
        return tuple(p for t in self.teams for p in t.pools if p.capacity == "reservation")

    def estimate_note(self) -> str:
        """One sentence on where the prices come from and what is estimated."""
        parts = [f"list prices of {self.price_region} ({self.cloud}) as of {self.price_date}"]
        if self.region != self.price_region:
            parts.append(f"{self.region} may differ")
        spot = self.spot_discounts()
        if spot:
            (first, d0), *rest = sorted(spot.items())
            offs = ", ".join([f"{d0:.0%} off on-demand for family {first}",
                              *(f"{d:.0%} for {f}" for f, d in rest)])
            parts.append(f"spot prices are estimates: {offs}")
        flex = self.flex_start_discounts()
        if flex:
            offs = ", ".join(f"{d:.0%} off for {f}" for f, d in sorted(flex.items()))
            parts.append(f"flex-start at Google's documented DWS discount ({offs}; 'up to', so "
                         "it may cost more)")
        if self.reserved():
            parts.append("reservation pools are billed for every reserved node whether it "
                         "runs or not: idle = max_nodes at the on-demand rate")
        return "; ".join(parts)

    def to_json(self) -> dict[str, Any]:
        """The ``trellis cost --format json`` contract (docs/cost.md), plus extra keys."""
        return {
            "environment": self.environment,
            "cloud": self.cloud,
            "tier": self.tier,
            "region": self.region,
            "currency": CURRENCY,
            "price_date": self.price_date,
            "price_region": self.price_region,
            "hours_per_month": HOURS_PER_MONTH,
            "scope": SCOPE_NOTE,
            "estimate_note": self.estimate_note(),
            "spot_discounts": {f: d for f, d in sorted(self.spot_discounts().items())},
            "teams": [_team_json(t, self) for t in self.teams],
            "platform": [{"item": c.item, "monthly_usd": _cents(c.monthly_usd), "note": c.note}
                         for c in self.platform],
            "platform_monthly_usd": _cents(self.platform_monthly_usd),
            "total_idle_monthly_usd": _cents(self.total_idle_monthly_usd),
            "total_max_monthly_usd": _cents(self.total_max_monthly_usd),
            "over_budget": [t.team for t in self.over_budget],
            "budget_currency": self.budget_currency,
            "budgets_compared": self.budgets_comparable,
            "budget_note": self.budget_note(),
        }


def _cents(value: float) -> float:
    return round(value, 2) + 0.0  # + 0.0: no "-0.0" in the output


def _team_json(t: TeamCost, report: CostReport) -> dict[str, Any]:
    return {
        "team": t.team,
        "budget_usd": t.budget_usd,
        "idle_monthly_usd": _cents(t.idle_monthly_usd),
        "max_monthly_usd": _cents(t.max_monthly_usd),
        "over_budget": t.over_budget,
        "headroom_usd": None if t.headroom_usd is None else _cents(t.headroom_usd),
        "budget_currency": t.budget_currency,
        "pools": [{
            "pool": p.pool,
            "accelerator": p.accelerator,
            "gpus_per_node": p.gpus_per_node,
            "machine_type": p.machine_type,
            "family": p.family,
            "spot": p.spot,
            "spot_discount": p.spot_discount,
            "capacity": p.capacity,
            "capacity_discount": p.capacity_discount,
            "billed_idle_nodes": p.billed_idle_nodes,
            "node_hour_usd": round(p.node_hour_usd, 4),
            "node_month_usd": _cents(p.node_month_usd),
            "min_nodes": p.min_nodes,
            "max_nodes": p.max_nodes,
            "idle_monthly_usd": _cents(p.idle_monthly_usd),
            "max_monthly_usd": _cents(p.max_monthly_usd),
            "largest_fitting_max_nodes": t.largest_fitting_max_nodes(p.pool),
            "advice": budget_fit.team_advice(t, p, cloud=report.cloud,
                                             env=report.environment, region=report.region),
        } for p in t.pools],
    }


# --------------------------------------------------------------------------------------------
# From the resolved org
# --------------------------------------------------------------------------------------------

def pool_cost(cloud: str, pool: PoolSpec) -> PoolCost:
    """Cost of one resolved pool (``cloud`` is the shape's own; kept for callers)."""
    return pricing.pool_cost(pool.shape, pool=pool.name, spot=pool.spot,
                             min_nodes=pool.min_nodes, max_nodes=pool.max_nodes,
                             node_pool_name=pool.node_pool_name, capacity=pool.capacity)


def team_cost(cloud: str, team: TeamSpec, budget_currency: str = CURRENCY) -> TeamCost:
    return TeamCost(team=team.name, budget_usd=team.budget_usd,
                    pools=tuple(pool_cost(cloud, p) for p in team.pools.values()),
                    budget_currency=budget_currency)


def estimate(env: EnvSpec) -> CostReport:
    """The monthly cost report of one resolved environment (overrides already merged)."""
    currency = env.platform.budget_currency
    return CostReport(
        environment=env.name, cloud=env.cloud, tier=env.tier, region=env.region,
        price_region=catalog.REFERENCE_REGION[env.cloud], price_date=PRICE_DATE,
        teams=tuple(team_cost(env.cloud, t, currency) for t in env.teams.values()),
        platform=_platform(env), budget_currency=currency)


def _platform(env: EnvSpec) -> tuple[PlatformCost, ...]:
    """Fixed platform costs, and the shared CPU pool (free at idle) where there is one."""
    fixed = catalog.platform_costs(env.cloud, production=env.production)
    general = env.platform.general_pool
    if general is None:
        return fixed
    return (*fixed, catalog.general_pool_cost(env.cloud, general.max_nodes))


def usd(value: float, *, cents: bool = False) -> str:
    """``12345.6`` -> ``$12,346`` (or ``$12,345.60`` with ``cents``)."""
    return f"${value:,.2f}" if cents else f"${value:,.0f}"


# --------------------------------------------------------------------------------------------
# Plan annotations
# --------------------------------------------------------------------------------------------

def _physical_name(res: Any) -> str | None:
    inputs: Mapping[str, Any] = res.inputs or {}
    if res.type == GPU_POOL_TYPES[0]:
        return inputs.get("name")
    return inputs.get("nodeGroupName")


def plan_annotations(plan: Any, env: EnvSpec) -> dict[str, str]:
    """URN -> ``"≤ $12,345/mo"`` for every GPU pool of ``plan``, for ``render_plan_tree``.

    Pools are found through their physical node pool / node group, matched by its name input
    (``PoolSpec.node_pool_name``), which is stable whatever the component tree looks like. The
    note goes on the pool's component (``trellis:*:GpuNodePool`` / ``GpuNodeGroup``) when that
    is the parent, else on the node pool resource itself. The system pool is not matched.
    """
    report = estimate(env)
    by_name: dict[str, tuple[TeamCost, PoolCost]] = {
        p.node_pool_name: (t, p) for t in report.teams for p in t.pools}
    by_urn = {r.urn: r for r in plan.resources}
    notes: dict[str, str] = {}
    for res in plan.resources:
        if res.type not in GPU_POOL_TYPES:
            continue
        hit = by_name.get(_physical_name(res) or "")
        if hit is None:
            continue
        team, pool = hit
        parent = by_urn.get(res.parent or "")
        target = parent.urn if parent is not None and parent.type.endswith(
            _COMPONENT_SUFFIXES) else res.urn
        notes[target] = pool_note(team, pool)
    return notes


def pool_note(team: TeamCost, pool: PoolCost) -> str:
    """The short note beside a GPU pool: worst case, spot marker, budget hint."""
    text = f"≤ {usd(pool.max_monthly_usd)}/mo"
    if pool.spot:
        text += " (spot est.)"
    elif pool.capacity == "flex-start":
        text += " (flex-start est.)"
    elif pool.capacity == "reservation":
        # A reservation is consumed only by instances of exactly its type (and platform and
        # zone): say which type to reserve where the plan shows the pool.
        text += f" (reserved: billed idle; reserve {pool.machine_type})"
    if team.over_budget:
        text += ", team over budget"
    return text
