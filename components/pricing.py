"""What a GPU pool costs per month, and how large it may grow within a budget: one model.

``trellis cost`` (:mod:`stacks.report.cost`, from org.yaml) and the TRL-COST-001 guardrail
(:mod:`policies.cost`, from the planned node pools and node groups) both price pools with
:func:`pool_cost` and compare them with budgets through :class:`TeamCost`, so the two can never
disagree. Pure: no Pulumi, no org.yaml, no I/O; prices come from :mod:`components.catalog`
(its public functions only). Definitions are in docs/cost.md:

* a *node-month* is the node-hour price x :data:`~components.catalog.HOURS_PER_MONTH` (730 h);
  spot pools use the catalogue's estimated discount for the machine family;
* *idle* is ``min_nodes`` node-months (a reservation: ``max_nodes``, it bills unused), the
  *worst case* ``max_nodes`` node-months; flex-start pools use the documented DWS discount;
* "fits" allows :data:`EPSILON` of the budget for float error (a budget of $2,500 holds one
  $2,500.0000000001 node).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from components import catalog
from components.catalog import HOURS_PER_MONTH, MachineShape

#: Relative slack of every budget comparison: floors of (budget / price) must not lose a node to
#: float error (20000 / 2500.0000000001), and an exact fit must fit.
EPSILON = 1e-9


@dataclass(frozen=True)
class PoolCost:
    """Monthly cost of one GPU pool: ``min_nodes`` to ``max_nodes`` nodes of one shape."""

    pool: str  # the pool's key in org.yaml (node label trellis.dev/pool in a plan)
    accelerator: str
    gpus_per_node: int
    machine_type: str
    family: str
    spot: bool
    spot_discount: float | None  # fraction off on-demand when spot, else None
    node_hour_usd: float  # on-demand list price, or the estimated spot price
    min_nodes: int
    max_nodes: int
    node_pool_name: str  # physical GKE node pool / EKS node group name
    capacity: str = ""  # catalog.CAPACITY_MODES; empty: spot says it
    capacity_discount: float | None = None  # fraction off on demand (spot or flex-start)

    def __post_init__(self) -> None:
        if not self.capacity:
            object.__setattr__(self, "capacity", "spot" if self.spot else "on-demand")
        if self.capacity_discount is None and self.spot_discount is not None:
            object.__setattr__(self, "capacity_discount", self.spot_discount)

    @property
    def node_month_usd(self) -> float:
        return self.node_hour_usd * HOURS_PER_MONTH

    @property
    def billed_idle_nodes(self) -> int:
        """Nodes billed when nothing runs: ``min_nodes``, or every node of a reservation (it
        bills whether nodes run or not; sized here as ``max_nodes``)."""
        return self.max_nodes if self.capacity == "reservation" else self.min_nodes

    @property
    def idle_monthly_usd(self) -> float:
        return self.billed_idle_nodes * self.node_month_usd

    @property
    def max_monthly_usd(self) -> float:
        return self.max_nodes * self.node_month_usd


def pool_cost(shape: MachineShape, *, pool: str, spot: bool, min_nodes: int, max_nodes: int,
              node_pool_name: str = "", capacity: str = "") -> PoolCost:
    """Price a pool of ``shape`` nodes obtained as ``capacity`` (default: ``spot`` says it):
    Spot and flex-start at their discount, on-demand and reservations at the list price
    (``catalog.capacity_hour_usd``). Raises :class:`components.catalog.CatalogError` when the
    catalogue has no price for the mode (no spot estimate, not sold as flex-start)."""
    mode = capacity or ("spot" if spot else "on-demand")
    return PoolCost(
        pool=pool, accelerator=shape.accelerator, gpus_per_node=shape.gpus_per_node,
        machine_type=shape.machine_type, family=shape.family, spot=mode == "spot",
        spot_discount=catalog.spot_discount(shape.cloud, shape.family) if mode == "spot"
        else None, node_hour_usd=catalog.capacity_hour_usd(shape, mode), min_nodes=min_nodes,
        max_nodes=max_nodes, node_pool_name=node_pool_name, capacity=mode,
        capacity_discount=catalog.capacity_discount(shape, mode))


#: The currency of every price in the catalogue.
PRICE_CURRENCY = "USD"


@dataclass(frozen=True)
class TeamCost:
    """Monthly GPU cost of one team in one environment, and its budget.

    ``budget_usd`` is the amount org.yaml gives, in ``budget_currency`` (the GCP billing
    account's currency, ``platform.budget_currency``). Prices are USD list prices and no
    exchange rate is assumed: a budget in another currency is shown but never compared
    (:attr:`budget_comparable`), so a team is then neither over budget nor has headroom.
    """

    team: str
    budget_usd: float | None
    pools: tuple[PoolCost, ...]
    budget_currency: str = PRICE_CURRENCY

    @property
    def budget_comparable(self) -> bool:
        """A budget that can be held against USD prices: set, and in USD."""
        return self.budget_usd is not None and self.budget_currency == PRICE_CURRENCY

    @property
    def idle_monthly_usd(self) -> float:
        return sum(p.idle_monthly_usd for p in self.pools)

    @property
    def max_monthly_usd(self) -> float:
        return sum(p.max_monthly_usd for p in self.pools)

    @property
    def over_budget(self) -> bool:
        """True when the worst case exceeds the budget (never when there is no budget)."""
        return (self.budget_comparable and self.budget_usd is not None
                and not fits(self.max_monthly_usd, self.budget_usd))

    @property
    def headroom_usd(self) -> float | None:
        """Budget minus worst case (negative when over budget); None without a budget, or
        with one in another currency."""
        if not self.budget_comparable or self.budget_usd is None:
            return None
        return self.budget_usd - self.max_monthly_usd

    def _pool(self, pool: str | PoolCost) -> PoolCost:
        if isinstance(pool, PoolCost):
            return pool
        return next(p for p in self.pools if p.pool == pool)

    def others_max_monthly_usd(self, pool: str | PoolCost) -> float:
        """The worst case of every pool of the team but ``pool`` (a key or one of
        :attr:`pools`): what :func:`largest_fitting_max_nodes` holds fixed."""
        this = self._pool(pool)
        return sum(p.max_monthly_usd for p in self.pools if p is not this)

    def fits_at_min(self, pool: str | PoolCost) -> bool:
        """:func:`fits_at_min` for one of this team's pools (False without a comparable
        budget)."""
        if not self.budget_comparable or self.budget_usd is None:
            return False
        this = self._pool(pool)
        return fits_at_min(self.budget_usd, this.node_month_usd,
                           self.others_max_monthly_usd(this), min_nodes=this.min_nodes)

    def largest_fitting_max_nodes(self, pool: str | PoolCost) -> int | None:
        """:func:`largest_fitting_max_nodes` for one of this team's pools; None without a
        comparable budget."""
        if not self.budget_comparable or self.budget_usd is None:
            return None
        this = self._pool(pool)
        return largest_fitting_max_nodes(self.budget_usd, this.node_month_usd,
                                         self.others_max_monthly_usd(this),
                                         min_nodes=this.min_nodes)


def fits(cost_usd: float, budget_usd: float) -> bool:
    """``cost_usd`` is within ``budget_usd``, allowing :data:`EPSILON` of it for float error."""
    return cost_usd <= budget_usd + EPSILON * max(1.0, abs(budget_usd))


def largest_fitting_max_nodes(budget_usd: float, node_month_usd: float,
                              other_pools_max_usd: float = 0.0, *, min_nodes: int = 0) -> int:
    """The largest ``max_nodes`` of one pool with which its team's worst case fits the budget.

    "Fits" means: this pool at ``n`` nodes plus every *other* pool of the team at its own
    current ``max_nodes``, all running 730 h, costs no more than ``budget_usd``. So the answer
    is ``floor((budget - other pools' worst case) / node-month price)``: the other pools are
    held where they are, and the answer is per pool, not a joint plan. It is never below
    ``min_nodes`` (``max_nodes`` cannot go lower); when even ``min_nodes`` does not fit, lowering
    this pool alone is not enough and the caller should say so (check with
    :func:`fits_at_min`).
    """
    if node_month_usd <= 0:
        raise ValueError(f"node_month_usd must be positive; got {node_month_usd}")
    available = budget_usd - other_pools_max_usd
    n = math.floor(available / node_month_usd + EPSILON)
    return max(n, min_nodes)


def fits_at_min(budget_usd: float, node_month_usd: float, other_pools_max_usd: float = 0.0, *,
                min_nodes: int = 0) -> bool:
    """True when the pool at ``min_nodes`` plus the other pools' worst case fits the budget."""
    return fits(other_pools_max_usd + min_nodes * node_month_usd, budget_usd)
