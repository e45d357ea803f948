"""GPU quotas at the worst case, summed over every pool that draws on the same quota.

Pure arithmetic over a :class:`QuotaBook` (limits and usage, from the cloud's API or its CLI's
saved output) and the pools' needs. Rules (sources in ``components/data/sources.csv``):

* A pool at ``max_nodes`` needs ``max_nodes x GPUs per node`` of its GPU quota (GCP, counted in
  GPUs) or ``max_nodes x vCPUs`` (AWS, counted in vCPUs), plus GCP's global
  ``GPUS_ALL_REGIONS``.
* Spot and flex-start pools draw on the preemptible quota (GCP ``PREEMPTIBLE_NVIDIA_*``, AWS
  Spot instance requests). On GCP a project without preemptible quota for a GPU (limit 0 or
  not listed) runs its Spot VMs on the standard quota instead.
* Reservation pools draw on no quota: the reservation holds it (Google's Cluster Toolkit skips
  them likewise); their check is the reservation's own.
* Every pool sharing a quota counts against it together: each of them is short by the total
  shortfall, and the row names the others.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from components import catalog
from components.catalog import GpuQuota
from stacks.preflight.needs import PoolNeed
from stacks.preflight.report import Row


@dataclass(frozen=True)
class QuotaValue:
    """A quota's limit and what is used of it now (None: the source does not say)."""

    limit: float
    usage: float | None


class QuotaBook:
    """Limits and usage by (quota, scope), scope being a region or ``global``."""

    def __init__(self, source: str) -> None:
        self.source = source  # for messages: "the Compute Engine API", "us-central1.json"
        self._values: dict[tuple[str, str], QuotaValue] = {}
        #: scope -> (verdict, why): a scope the source could not give ("unknown": the API
        #: failed) or was not asked for ("skipped": not in the saved output)
        self.missing_scopes: dict[str, tuple[str, str]] = {}

    def set(self, quota: str, scope: str, value: QuotaValue) -> None:
        self._values[(quota, scope)] = value

    def get(self, quota: str, scope: str) -> QuotaValue | None:
        return self._values.get((quota, scope))

    def has_scope(self, scope: str) -> bool:
        return any(s == scope for _, s in self._values) and scope not in self.missing_scopes


@dataclass(frozen=True)
class Demand:
    need: PoolNeed
    quota: GpuQuota
    scope: str
    amount: int
    fallback: bool = False  # GCP Spot on the standard quota (no preemptible quota)


NextStep = Callable[[GpuQuota, str, float], str]
"""(quota, scope, the limit to ask for) -> the request, with the numbers filled in."""


def demands(needs: list[PoolNeed], region: str, book: QuotaBook) -> list[Demand]:
    """What each pool draws at ``max_nodes``, quota by quota."""
    out: list[Demand] = []
    for need in needs:
        if need.pool.capacity == "reservation":
            continue
        shape = need.shape
        for quota in catalog.gpu_quotas(shape, preemptible=need.preemptible):
            scope = "global" if quota.scope == "global" else region
            chosen, fallback = quota, False
            if need.preemptible and quota.scope == "region" and shape.cloud == "gcp":
                value = book.get(quota.quota, scope)
                standard = catalog.gpu_quota_fallback(shape)
                if standard is not None and (value is None or value.limit <= 0) \
                        and book.has_scope(scope):
                    chosen, fallback = standard, True
            out.append(Demand(need, chosen, scope, chosen.amount(shape, need.pool.max_nodes),
                              fallback))
    return out


def rows(needs: list[PoolNeed], region: str, book: QuotaBook, next_step: NextStep,
         *, usage_note: str = "") -> list[Row]:
    """One row per pool and quota it draws on, with the shared totals."""
    found = demands(needs, region, book)
    groups: dict[tuple[str, str], list[Demand]] = {}
    for d in found:
        groups.setdefault((d.quota.quota, d.scope), []).append(d)
    out: list[Row] = []
    for d in found:
        group = groups[(d.quota.quota, d.scope)]
        out.append(_row(d, group, book, next_step, usage_note))
    for need in needs:
        if need.pool.capacity == "reservation":
            out.append(Row(need.subject, "quota", "ok", "none drawn: the reservation holds the "
                           "capacity (and its quota); its own check says whether it has room"))
    return out


def _label(d: Demand) -> str:
    if d.quota.cloud == "aws":  # codes say nothing to people: name them too
        return f"quota {d.quota.name} ({d.quota.quota})"
    return f"quota {d.quota.quota}" + ("" if d.scope == "global" else f" ({d.scope})")


def _row(d: Demand, group: list[Demand], book: QuotaBook, next_step: NextStep,
         usage_note: str) -> Row:
    unit = d.quota.unit
    total = sum(x.amount for x in group)
    others = [x.need.subject for x in group if x.need.subject != d.need.subject]
    shared = f" (with {', '.join(others)}: {total:g} {unit} together)" if others else ""
    need = (f"needs {d.amount:g} {unit} for {d.need.describe()}{shared}")
    if d.fallback:
        need += (f"; no {_preemptible_name(d)} quota in {d.scope}, so Spot and flex-start "
                 f"VMs draw on {d.quota.quota}")
    missing = book.missing_scopes.get(d.scope)
    if missing is not None:
        return Row(d.need.subject, _label(d), missing[0], f"{need}; {missing[1]}")
    value = book.get(d.quota.quota, d.scope)
    if value is None:
        if d.quota.scope == "global":
            return Row(d.need.subject, _label(d), "skipped",
                       f"{need}; {d.quota.quota} is not listed for the project (Google's "
                       "Cluster Toolkit skips it too: new projects often do not return it)")
        value = QuotaValue(0.0, 0.0)
        need += f"; {d.quota.quota} is not listed in {d.scope}: no quota granted"
    used = value.usage if value.usage is not None else 0.0
    available = value.limit - used
    usage = (f"used {value.usage:g}" if value.usage is not None
             else f"usage not in {book.source}{usage_note}, assumed 0")
    detail = f"{need}; limit {value.limit:g}, {usage}"
    if total <= available:
        return Row(d.need.subject, _label(d), "ok", detail)
    short = total - available
    return Row(d.need.subject, _label(d), "short", detail,
               next_step=next_step(d.quota, d.scope, used + total),
               short_by=int(short) if float(short).is_integer() else None, unit=unit)


def _preemptible_name(d: Demand) -> str:
    return f"PREEMPTIBLE_{d.quota.quota}"
