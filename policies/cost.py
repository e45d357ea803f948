"""Cost guardrail: a team's GPU pools, all at their maximum size, must fit the team's budget.

Nobody else checks a GPU pool's worst case against the budget declared beside it. The rule
reads raw pulumi-gcp / pulumi-aws resources (GKE node pools, EKS node groups, budgets), so it
runs the same under ``trellis check`` and ``pulumi preview --policy-pack policies``. Pools are
priced and held against budgets by :mod:`components.pricing`, the model ``trellis cost`` uses
too, so the two always agree. The pack needs nothing from ``stacks``. Definitions: docs/cost.md.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from policies.gpu import (
    NODE_GROUP,
    NODE_POOL,
    _max_nodes,
    gpu_pools,
    instance_types,
    template_finder,
)
from policies.registry import each, stack_rule
from policies.settings import Settings
from policies.view import Res, Stack, as_list, at, labels_of, number

if TYPE_CHECKING:
    from components.pricing import PoolCost, TeamCost

try:
    from components import budget_fit as _budget_fit
    from components import catalog as _catalog
    from components import pricing as _pricing
except ImportError:  # pragma: no cover - the pack copied out of the repository
    _budget_fit = None  # type: ignore[assignment]
    _catalog = None  # type: ignore[assignment]
    _pricing = None  # type: ignore[assignment]

GCP_BUDGET = "gcp:billing/budget:Budget"
AWS_BUDGET = "aws:budgets/budget:Budget"
TEAM_LABEL = "team"
TEAM_NODE_LABEL = "trellis.dev/team"
POOL_NODE_LABEL = "trellis.dev/pool"
_TAG_FILTER_PREFIX = f"user:{TEAM_LABEL}$"

#: Rules whose default enforcement follows the tier: advisory in a sandbox, else mandatory.
#: The registered default is the production one; applying the sandbox default is the pack
#: settings' job (``policies.settings.expand``), see docs/cost.md.
SANDBOX_ADVISORY = ("TRL-COST-001",)


def enforcement_for(tier: str) -> str:
    """TRL-COST-001's default level for ``tier`` (a pack config entry overrides it)."""
    return "advisory" if tier == "sandbox" else "mandatory"


class UnpriceableError(ValueError):
    """A GPU pool whose worst case cannot be computed from what the stack says."""


def _usd(value: float) -> str:
    return f"${value:,.2f}"


def _cloud(res: Res) -> str:
    return "gcp" if res.type == NODE_POOL else "aws"


def team_of(res: Res) -> str | None:
    """The team a GPU pool belongs to: ``team`` label/tag, else node label trellis.dev/team."""
    if res.type == NODE_POOL:
        labels = labels_of(res, ("nodeConfig", "resourceLabels"), ("resourceLabels",))
        node_labels = labels_of(res, ("nodeConfig", "labels"))
    else:
        labels = labels_of(res, ("tagsAll",), ("tags",))
        node_labels = labels_of(res, ("labels",))
    team = labels.get(TEAM_LABEL) or node_labels.get(TEAM_NODE_LABEL)
    return str(team) if team else None


def pool_of(res: Res) -> str:
    """The pool key (node label trellis.dev/pool), else the logical name."""
    path = ("nodeConfig", "labels") if res.type == NODE_POOL else ("labels",)
    return str(labels_of(res, path).get(POOL_NODE_LABEL) or res.name)


def is_spot(res: Res) -> bool:
    if res.type == NODE_POOL:
        return bool(res.get("nodeConfig", "spot") or res.get("nodeConfig", "preemptible"))
    return res.get("capacityType") == "SPOT"


def capacity_of(res: Res) -> str:
    """How the pool's nodes are obtained, read from its properties: GKE ``flexStart`` and a
    ``SPECIFIC_RESERVATION`` affinity, EKS capacity types (CAPACITY_BLOCK is a reservation;
    an On-Demand Capacity Reservation's node group says ON_DEMAND and costs the same)."""
    if is_spot(res):
        return "spot"
    if res.type == NODE_POOL:
        if res.get("nodeConfig", "flexStart") is True:
            return "flex-start"
        if res.get("nodeConfig", "reservationAffinity", "consumeReservationType") == \
                "SPECIFIC_RESERVATION":
            return "reservation"
        return "on-demand"
    return "reservation" if res.get("capacityType") == "CAPACITY_BLOCK" else "on-demand"


def machine_type_of(res: Res, template: Res | None = None) -> str:
    """The pool's machine type; an EKS node group's may be on its launch ``template``."""
    if res.type == NODE_POOL:
        return str(res.get("nodeConfig", "machineType") or "")
    types = instance_types(res, template)
    return types[0] if types else ""


def _min_nodes(res: Res) -> float:
    if res.type == NODE_GROUP:
        return number(res.get("scalingConfig", "minSize")) or 0.0
    auto = res.get("autoscaling")
    if isinstance(auto, dict):
        return number(at(auto, "totalMinNodeCount")) or number(at(auto, "minNodeCount")) or 0.0
    return number(res.get("nodeCount")) or 0.0


def price(res: Res, template: Res | None = None) -> PoolCost:
    """Price one GPU pool; raises :class:`UnpriceableError` when its worst case is unknown.
    ``template``: an EKS node group's launch template (a Capacity Block's type is there)."""
    machine = machine_type_of(res, template)
    max_nodes, how = _max_nodes(res)
    spot = is_spot(res)
    if max_nodes is None:
        raise UnpriceableError(f"the pool has {how}, so its worst case has no upper bound")
    if _catalog is None or _pricing is None:
        raise UnpriceableError("the Trellis catalogue (components.catalog) is not importable")
    shape = _catalog.find_machine_type(_cloud(res), machine)
    if shape is None:
        raise UnpriceableError(f"machine type {machine or 'unset'} is not in the Trellis "
                          "catalogue, so it has no price")
    try:
        return _pricing.pool_cost(shape, pool=pool_of(res), spot=spot,
                                  min_nodes=int(_min_nodes(res)), max_nodes=int(max_nodes),
                                  capacity=capacity_of(res))
    except KeyError as exc:  # CatalogError: a mode the catalogue does not sell for the type
        raise UnpriceableError(str(exc)) from None


#: How the guardrail's message names a capacity mode.
_KINDS = {"spot": "spot (estimate)", "flex-start": "flex-start (estimate)",
          "reservation": "reserved", "on-demand": "on-demand"}


def describe(pool: PoolCost) -> str:
    """``serve: 4 x g2-standard-8 on-demand, $623.15 per node-month``."""
    kind = _KINDS.get(pool.capacity, "on-demand")
    return (f"{pool.pool}: {pool.max_nodes} x {pool.machine_type} {kind}, "
            f"{_usd(pool.node_month_usd)} per node-month")


# --------------------------------------------------------------------------------------------
# Budgets
# --------------------------------------------------------------------------------------------

def _gcp_budget(res: Res) -> tuple[str, float] | None:
    # A budget in the billing account's own currency (platform.budget_currency) cannot be held
    # against USD list prices without an exchange rate, which the pack does not assume: such a
    # budget is not a USD budget, and the team is left uncompared (docs/cost.md).
    currency = res.get("amount", "specifiedAmount", "currencyCode")
    if currency not in (None, "USD"):
        return None
    team = res.get("budgetFilter", "labels", TEAM_LABEL)
    if isinstance(team, list):  # the API's labels are map<string, ListValue>
        team = team[0] if len(team) == 1 else None
    units = number(res.get("amount", "specifiedAmount", "units"))
    if not team or units is None:
        return None
    nanos = number(res.get("amount", "specifiedAmount", "nanos")) or 0.0
    return str(team), units + nanos / 1e9


def _aws_budget(res: Res) -> tuple[str, float] | None:
    amount = number(res.get("limitAmount"))
    if amount is None or res.get("limitUnit") not in (None, "USD"):
        return None
    teams = [str(v)[len(_TAG_FILTER_PREFIX):]
             for f in as_list(res.get_known("costFilters")) if at(f, "name") == "TagKeyValue"
             for v in as_list(at(f, "values")) if str(v).startswith(_TAG_FILTER_PREFIX)]
    if len(teams) != 1:
        return None
    return teams[0], amount


def plan_budgets(stack: Stack) -> dict[str, float]:
    """Team -> monthly budget from the budget resources of the stack (one per team)."""
    out: dict[str, float] = {}
    for res in stack.of_type(GCP_BUDGET, AWS_BUDGET):
        found = _gcp_budget(res) if res.type == GCP_BUDGET else _aws_budget(res)
        if found is not None:
            out[found[0]] = found[1]
    return out


def config_budgets(settings: Settings) -> dict[str, float]:
    """Team -> budget from pack config ``budgets`` (``trellis check`` passes org.yaml's)."""
    raw: Any = getattr(settings, "budgets", None) or {}
    if not isinstance(raw, Mapping):
        raise ValueError(f"policy config budgets must map team -> USD; got {raw!r}")
    out: dict[str, float] = {}
    for team, usd in raw.items():
        value = number(usd)
        if value is None or value < 0:
            raise ValueError(f"policy config budgets.{team} must be a number >= 0; got {usd!r}")
        out[str(team)] = value
    return out


# --------------------------------------------------------------------------------------------
# The rule
# --------------------------------------------------------------------------------------------

def _environment(res: Res) -> str | None:
    """The stack name (a Trellis environment) from ``urn:pulumi:<stack>::<project>::...``."""
    head = res.urn.split("::", 1)[0]
    return head.split(":", 2)[2] if head.count(":") >= 2 else None


def _region(res: Res) -> str | None:
    location = res.get("location") if res.type == NODE_POOL else None
    return str(location) if isinstance(location, str) and location.count("-") == 1 else None


def fit_hint(team: TeamCost, resources: Mapping[str, Res] | None = None) -> str:
    """The largest max_nodes per pool that fits, other pools unchanged (docs/cost.md); a pool
    of which not even one node fits gets what org.yaml accepts instead (never max_nodes 0).
    ``resources``: pool key -> its node pool / node group, for the environment and region."""
    parts = []
    instead = []
    for p in team.pools:
        n = team.largest_fitting_max_nodes(p)
        if n is not None and n >= 1 and team.fits_at_min(p):
            parts.append(f"{p.pool} {n}")
            continue
        parts.append(f"{p.pool} cannot fit alone")
        res = (resources or {}).get(p.pool)
        advice = None if _budget_fit is None else _budget_fit.team_advice(
            team, p, cloud=_cloud(res) if res is not None else (
                "aws" if "." in p.machine_type else "gcp"),
            env=_environment(res) if res is not None else None,
            region=_region(res) if res is not None else None)
        if advice is not None:
            instead.append(f" {advice[0].upper()}{advice[1:]}.")
    hint = "Largest max_nodes that fits: " + "; ".join(parts) + " (other pools unchanged)."
    return hint + "".join(instead)


def over_budget_message(team: TeamCost, resources: Mapping[str, Res] | None = None) -> str:
    budget = team.budget_usd or 0.0
    worst = team.max_monthly_usd
    detail = "; ".join(describe(p) for p in team.pools)
    return (f"team {team.team}: worst-case GPU spend {_usd(worst)}/month exceeds the budget "
            f"{_usd(budget)}/month by {_usd(worst - budget)} ({detail}). "
            f"{fit_hint(team, resources)}")


# `budgets` (team -> USD) is passed by `trellis check` from org.yaml; under `pulumi preview`
# budgets come from the stack's own budget resources.
_CONFIG = ("tier", "budgets")


@stack_rule(
    id="TRL-COST-001", title="GPU worst case within team budget",
    description="A team's GPU pools, all at their maximum size for a whole month, cost no more "
                "than the team's monthly budget.",
    severity="high", enforcement="mandatory", sandbox_enforcement="advisory",
    remediation="Lower `max_nodes` of the team's GPU pools (the message gives the largest that "
                "fits), use spot capacity, or raise the team's `budget_usd` in org.yaml; "
                "`trellis cost --env <env>` shows the arithmetic.",
    types=[NODE_POOL, NODE_GROUP, GCP_BUDGET, AWS_BUDGET], config=_CONFIG)
def gpu_budget(stack: Stack, settings: Settings) -> Iterator[tuple[str, str]]:
    budgets = {**plan_budgets(stack), **config_budgets(settings)}
    if not budgets:
        return
    priced: dict[str, list[tuple[Res, PoolCost]]] = {}
    find = template_finder(stack)

    def collect(res: Res) -> Iterator[str]:
        team = team_of(res)
        if team is None or team not in budgets:
            return  # unattributed pools are TRL-GPU-009's business
        try:
            priced.setdefault(team, []).append((res, price(res, find(res))))
        except UnpriceableError as exc:
            yield f"team {team}: the GPU worst case cannot be estimated: {exc}"

    # A pool that cannot be priced is reported on its own URN (fail closed); the others count.
    yield from each(gpu_pools(stack), collect)
    for name, pools in priced.items():
        team = _pricing.TeamCost(team=name, budget_usd=budgets[name],
                                 pools=tuple(p for _, p in pools))
        if team.over_budget:
            costliest, _ = max(pools, key=lambda rp: rp[1].max_monthly_usd)
            yield costliest.urn, over_budget_message(team, {p.pool: r for r, p in pools})
