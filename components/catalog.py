"""GPU catalogue: which machine shapes carry which accelerator, where, and at what list price.

org.yaml names accelerators in cloud-neutral words (``h100-80gb``, ``l4``); this module maps
each (cloud, accelerator, GPUs per node) to exactly one machine shape, the regions and zones
that offer it and its on-demand list price, and holds the fixed per-environment platform
costs. It is lookups over data (stdlib only, no Pulumi, no pydantic) because ``trellis
validate`` and ``trellis cost`` use it on their fast path, offline.

The data lives in CSV files under ``components/data/`` (shipped as package data; sources, dates
and how to refresh them: ``components/data/README.md`` and ``docs/catalog.md``):

* ``shapes.csv``: one row per machine shape, with the source and date of its figures.
* ``gcp_gpu_zones.csv``, ``aws_gpu_zones.csv``: a dated SkyPilot catalogue snapshot of which
  zones offer which GPU machine type, with the snapshot's prices. A shape's ``regions`` are
  derived from these rows: the snapshot is dated and sourced, the hand-written sets it replaced
  were not.
* ``spot_discounts.csv`` (derived from the zone snapshot where it prices a family on the
  catalogue's own on-demand basis, estimates otherwise), ``regions.csv``,
  ``eks_excluded_zones.csv`` and ``sources.csv`` (what every source id stands for).

Nothing is read at import. The first lookup of a cloud reads and checks that cloud's files once
(a few ms: a figure of ``benchmarks/run.py``) and keeps them for the
process; ``regions()`` reads only the small region list.

Decisions others code against:

* One shape per (cloud, accelerator, GPU count). Same-count variants that are not the default
  (``a3-megagpu-8g``) live in :data:`ALTERNATIVE_SHAPES` and never answer :func:`shape`.
* Single-GPU nodes get 8 vCPUs on both clouds (n1-standard-8 + T4, g2-standard-8,
  g4dn/g5/g6/g6e ``.2xlarge``): the ``.xlarge`` sizes leave 4 vCPUs, too few for a data loader
  next to the kubelet, GPU device plugin and logging agents. Multi-GPU N1+T4 keeps 8 vCPUs per
  GPU (n1-standard-16 / -32).
* GCP ``a3-highgpu-{1,2,4}g`` can only be created as Spot or flex-start VMs, so their shapes
  say ``on_demand_available=False``; the listed price is still the on-demand reference.
* Zones: GCP answers zone names (``us-central1-a``); AWS answers availability-zone **IDs**
  (``use1-az2``), which name the same physical zone in every account, while zone names
  (``us-east-1a``) are shuffled per account. See :func:`zones`.
"""

from __future__ import annotations

import csv
import difflib
import fnmatch
import math
import os
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, NamedTuple, TypedDict

PRICE_DATE = "2026-07"
"""Month the reference list prices were published (per-row dates: ``shapes.csv``)."""

CLOUDS = ("gcp", "aws")
HOURS_PER_MONTH = 730
REFERENCE_REGION = {"gcp": "us-central1", "aws": "us-east-1"}
"""Region whose on-demand Linux list price ``on_demand_hour_usd`` quotes."""

DATA_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data")
"""Directory of the catalogue's data files (package data of ``components``)."""

ZONE_FILES = {"gcp": "gcp_gpu_zones.csv", "aws": "aws_gpu_zones.csv"}
DATA_FILES = (
    "shapes.csv", "regions.csv", "spot_discounts.csv", "eks_excluded_zones.csv", "sources.csv",
    *ZONE_FILES.values(), "eks_versions.csv", "service_gaps.csv", "capacity_modes.csv",
    "gpu_quotas.csv",
)
"""Every data file the catalogue reads, relative to :data:`DATA_DIR`."""

ACCELERATORS: tuple[str, ...] = (
    "t4", "l4", "a10g", "l40s", "a100-40gb", "a100-80gb", "h100-80gb", "h200",
)
"""Every cloud-neutral accelerator name known on any cloud, roughly by capability.

The vocabulary of org.yaml (a contract: names are added, never renamed); ``shapes.csv`` may only
use these names, which its loader checks."""


class CatalogError(KeyError):
    """An accelerator, GPU count, region, machine type or cloud the catalogue does not know.

    A ``KeyError`` so callers can ``except KeyError``; ``str()`` gives the plain message
    (``KeyError`` would wrap it in quotes), written to be shown to the user as is.
    """

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class CatalogDataError(RuntimeError):
    """A catalogue data file is malformed: ``file:line: what is wrong; how to fix it``.

    Raised on first use, never for user input: it means ``components/data`` was edited badly.
    """


@dataclass(frozen=True)
class MachineShape:
    """One node shape: a machine type carrying ``gpus_per_node`` GPUs of one accelerator."""

    cloud: str  # "gcp" | "aws"
    accelerator: str  # cloud-neutral name, e.g. "h100-80gb"
    gpus_per_node: int
    machine_type: str  # gcp: "a3-highgpu-8g"; aws: "p5.48xlarge"
    family: str  # gcp: "a3", "g2", "a2", "n1"; aws: "p5", "g6", ...
    vcpus: int
    memory_gb: int  # GiB, as the cloud lists it
    gpu_memory_gb: int  # per GPU
    on_demand_hour_usd: float  # per node-hour, list price in REFERENCE_REGION, GPUs included
    regions: frozenset[str]  # regions with a zone offering it (zone snapshot; no Local Zones)
    gcp_accelerator_type: str | None  # guest accelerator / GKE node label value; None on aws
    spot_allowed: bool = True
    on_demand_available: bool = True  # False: only Spot or flex-start (DWS) capacity
    bundled_local_ssd_gb: int = 0  # GCP Local SSD included in (and billed with) the type
    note: str = ""
    zone_accelerator: str = ""  # the zone snapshot's GPU name: "H100", "A100-80GB", "T4"
    price_source: str = ""  # source ids (sources.csv), "+"-joined when the price is a sum
    price_date: str = ""  # ISO date of the price figure
    spec_source: str = ""  # source id of vCPUs, memory and GPUs

    @property
    def gpu_attached(self) -> bool:
        """True when the GPUs are attached to a general-purpose type (GCP N1 + T4).

        Such node pools must declare ``guest_accelerator`` themselves; accelerator-optimized
        types (A2, A3, G2, every AWS type) come with their GPUs.
        """
        return self.cloud == "gcp" and self.family == "n1"

    @property
    def monthly_usd(self) -> float:
        """On-demand list price of one node running all month."""
        return self.on_demand_hour_usd * HOURS_PER_MONTH


@dataclass(frozen=True)
class ZoneOffer:
    """One zone offering a machine type, with the zone snapshot's hourly prices.

    Prices are the snapshot's (``sources.csv``: ``skypilot-<cloud>-vms``), not the catalogue's
    reference list price; on GCP they add the GPU rows to the VM row. ``None`` where the
    snapshot has no figure (a4-highgpu-8g, p5e.48xlarge, N1 VMs, some spot prices).
    """

    zone: str  # gcp: "us-central1-a"; aws: zone ID "use1-az2"
    region: str
    on_demand_hour_usd: float | None
    spot_hour_usd: float | None


@dataclass(frozen=True)
class SpotDiscount:
    """Where the spot discount of one machine family comes from (``spot_discounts.csv``)."""

    cloud: str
    family: str
    discount: float  # fraction off the on-demand price
    method: str  # "snapshot-median" | "estimate"
    samples: int  # zone rows behind a snapshot median; 0 for an estimate
    machine_types: tuple[str, ...]  # types whose rows were used
    source: str
    date: str
    note: str


@dataclass(frozen=True)
class Source:
    """One source of catalogue data (``sources.csv``)."""

    id: str
    title: str
    reference: str
    date: str


# --------------------------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------------------------

_ZONE_COLUMNS = ("instance_type", "accelerator_name", "accelerator_count", "region", "zone",
                 "price_usd_hour", "spot_price_usd_hour")
_SHAPE_COLUMNS = ("cloud", "accelerator", "gpus_per_node", "machine_type", "role", "vcpus",
                  "memory_gb", "gpu_memory_gb", "on_demand_hour_usd", "gcp_accelerator_type",
                  "zone_accelerator", "on_demand_available", "spot_allowed",
                  "bundled_local_ssd_gb", "price_source", "price_date", "spec_source", "note")
_SPOT_COLUMNS = ("cloud", "family", "discount", "method", "samples", "machine_types", "source",
                 "date", "note")
# An AWS zone ID: use1-az2; Local Zones and Wavelength Zones carry a location part
# (usw2-lax1-az1, use1-atl2-az1) and must be opted in per account.
_AWS_ZONE_ID = re.compile(r"[a-z]+[0-9]+(-[a-z]+[0-9]+)?-az[0-9]+")


def _read(data_dir: str, name: str, columns: tuple[str, ...]) -> list[list[str]]:
    """The data rows of a file (``rows[i]`` is line ``i + 2``), header and width checked."""
    path = os.path.join(data_dir, name)
    try:
        with open(path, encoding="utf-8", newline="") as handle:
            reader = csv.reader(handle)
            header = next(reader, None)
            rows = list(reader)
    except OSError as exc:
        raise CatalogDataError(f"{path}: cannot read the catalogue data file ({exc}); "
                               "reinstall trellis-ml or restore the file from git") from None
    if header is None or tuple(header) != columns:
        raise CatalogDataError(f"{path}:1: header is {header}; expected {list(columns)}")
    width = len(columns)
    if any(len(fields) != width for fields in rows):
        line, fields = next((i, f) for i, f in enumerate(rows, 2) if len(f) != width)
        raise CatalogDataError(f"{path}:{line}: {len(fields)} fields, expected {width} "
                               f"({', '.join(columns)})")
    return rows


def _rows(data_dir: str, name: str, columns: tuple[str, ...]) -> Iterator[tuple[int, list[str]]]:
    """(line number, fields) of each data row of a small file."""
    return enumerate(_read(data_dir, name, columns), start=2)


def _bad(data_dir: str, name: str, line: int, message: str) -> CatalogDataError:
    return CatalogDataError(f"{os.path.join(data_dir, name)}:{line}: {message}")


def _price(text: str) -> float | None:
    """A snapshot price; empty or 0.0 (the snapshot's "unknown") is None."""
    if not text:
        return None
    value = float(text)
    return value if value > 0 else None


class _ZoneRow(NamedTuple):  # a tuple: ~2,500 of them are built on first use
    zone: str
    region: str
    accelerator: str
    gpus: int
    price: str  # as in the file; _price() reads it
    spot: str


_ByRegion = dict[str, list[_ZoneRow]]


class CatalogTables:
    """One cloud's catalogue as loaded (and checked) from a data directory.

    The module-level lookups use the tables of :data:`DATA_DIR`, loaded once per process;
    ``components/data/refresh.py`` and tests load other directories with :func:`load_tables`.
    """

    def __init__(self, cloud: str, data_dir: str, all_regions: frozenset[str]) -> None:
        self.cloud = cloud
        self.data_dir = data_dir
        self.by_type: dict[str, _ByRegion] = {}  # machine rows: type -> region -> rows
        self.by_accelerator: dict[tuple[str, int], _ByRegion] = {}  # GCP GPU-only rows
        self._read_zones(all_regions)
        self.shapes, self.alternatives = self._read_shapes()
        self.by_key = {(s.accelerator, s.gpus_per_node): s for s in self.shapes}
        self.by_machine = {s.machine_type: s for s in self.shapes + self.alternatives}

    def _read_zones(self, all_regions: frozenset[str]) -> None:
        # The hot part of a first lookup (~2,500 rows): prices stay text until offers().
        name = ZONE_FILES[self.cloud]
        rows = _read(self.data_dir, name, _ZONE_COLUMNS)
        by_type, by_accelerator = self.by_type, self.by_accelerator
        try:
            for itype, accel, count, region, zone, price, spot in rows:
                gpus = int(count)
                table = (by_type.setdefault(itype, {}) if itype else
                         by_accelerator.setdefault((accel, gpus), {}))
                table.setdefault(region, []).append(
                    _ZoneRow(zone, region, accel, gpus, price, spot))
        except ValueError:
            line = next(i for i, f in enumerate(rows, 2) if not f[2].isdigit())
            raise _bad(self.data_dir, name, line, f"accelerator_count {rows[line - 2][2]!r} "
                       "is not a whole number") from None
        used = {r.region for t in (*by_type.values(), *by_accelerator.values())
                for rs in t.values() for r in rs}
        for region in sorted(used - all_regions):
            line = next(i for i, f in enumerate(rows, 2) if f[3] == region)
            raise _bad(self.data_dir, name, line,
                       f"region {region!r} is not in regions.csv for {self.cloud}; add it there "
                       "(with its source) or drop the row")

    def _read_shapes(self) -> tuple[tuple[MachineShape, ...], tuple[MachineShape, ...]]:
        name = "shapes.csv"
        defaults: list[MachineShape] = []
        alternatives: list[MachineShape] = []
        keys: set[tuple[str, int]] = set()
        for line, f in _rows(self.data_dir, name, _SHAPE_COLUMNS):
            if f[0] != self.cloud:
                continue
            (_, accel, gpus, mtype, role, vcpus, mem, gpu_mem, hour, gcp_type, zone_accel,
             on_demand, spot_ok, ssd, price_source, price_date, spec_source, note) = f
            if accel not in ACCELERATORS:
                raise _bad(self.data_dir, name, line,
                           f"accelerator {accel!r} is not in catalog.ACCELERATORS; add the "
                           "name there first (it becomes an org.yaml value)")
            if role not in ("default", "alternative") or not {on_demand, spot_ok} <= {"yes",
                                                                                        "no"}:
                raise _bad(self.data_dir, name, line,
                           "role must be default|alternative and the flags yes|no")
            try:
                count, price = int(gpus), float(hour)
                numbers = (int(vcpus), int(mem), int(gpu_mem), int(ssd))
            except ValueError as exc:
                raise _bad(self.data_dir, name, line, f"not a number ({exc})") from None
            if count < 1 or price <= 0:
                raise _bad(self.data_dir, name, line, "gpus_per_node and price must be > 0")
            family = mtype.split("-" if self.cloud == "gcp" else ".", 1)[0]
            attached = self.cloud == "gcp" and family == "n1"
            by_region = (self.by_accelerator.get((zone_accel, count), {}) if attached
                         else self.by_type.get(mtype, {}))
            # Regions with a regular zone: Local Zones need an account opt-in (zones()).
            placeable = frozenset(region for region, rows in by_region.items()
                                  if not all(is_local_zone(r.zone) for r in rows))
            if not placeable:
                raise _bad(self.data_dir, name, line,
                           f"{mtype} has no rows in {ZONE_FILES[self.cloud]}: a shape no zone "
                           "offers cannot be placed; refresh the zone tables or drop the shape")
            shape = MachineShape(
                cloud=self.cloud, accelerator=accel, gpus_per_node=count, machine_type=mtype,
                family=family, vcpus=numbers[0], memory_gb=numbers[1],
                gpu_memory_gb=numbers[2], on_demand_hour_usd=price,
                regions=placeable, gcp_accelerator_type=gcp_type or None,
                spot_allowed=spot_ok == "yes", on_demand_available=on_demand == "yes",
                bundled_local_ssd_gb=numbers[3], note=note, zone_accelerator=zone_accel,
                price_source=price_source, price_date=price_date, spec_source=spec_source,
            )
            if role == "default":
                if (accel, count) in keys:
                    raise _bad(self.data_dir, name, line,
                               f"a second default shape for {self.cloud}/{accel} x{count}; "
                               "mark one role=alternative")
                keys.add((accel, count))
                defaults.append(shape)
            else:
                alternatives.append(shape)
        return tuple(defaults), tuple(alternatives)

    def zone_rows(self, machine_type: str) -> _ByRegion:
        """Rows (by region) of the zones that offer ``machine_type``; CatalogError if unknown.

        A catalogued GPU-attached shape (N1 + T4) answers its GPU rows: the N1 type itself
        runs in nearly every zone, the GPUs decide where the node can run.
        """
        shape = self.by_machine.get(machine_type)
        if shape is not None and shape.gpu_attached:
            return self.by_accelerator.get((shape.zone_accelerator, shape.gpus_per_node), {})
        found = self.by_type.get(machine_type)
        if found is None:
            known = tuple(sorted(self.by_type.keys() | self.by_machine.keys()))
            raise CatalogError(
                f"{self.cloud} machine type {machine_type!r} is not in the GPU catalogue"
                f"{_suggest(machine_type, known)}; known types: {', '.join(known)}"
            )
        return found

    def offers(self, machine_type: str, region: str) -> tuple[ZoneOffer, ...]:
        """Zones of ``region`` offering ``machine_type`` with the snapshot's prices."""
        rows = self.zone_rows(machine_type).get(region, [])
        shape = self.by_machine.get(machine_type)
        found: list[ZoneOffer] = []
        for row in rows:
            price, spot = _price(row.price), _price(row.spot)
            if self.cloud == "gcp":
                if shape is not None and shape.gpu_attached:
                    price = spot = None  # the snapshot prices the T4s, not the N1 VM
                else:  # GCP machine rows price the VM; the GPUs are their own rows
                    gpus = self._gpu_row(row)
                    price = _add(price, _price(gpus.price) if gpus else None)
                    spot = _add(spot, _price(gpus.spot) if gpus else None)
            found.append(ZoneOffer(row.zone, row.region, price, spot))
        return tuple(sorted(found, key=lambda o: o.zone))

    def _gpu_row(self, vm: _ZoneRow) -> _ZoneRow | None:
        for row in self.by_accelerator.get((vm.accelerator, vm.gpus), {}).get(vm.region, []):
            if row.zone == vm.zone:
                return row
        return None


def _add(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else round(a + b, 6)


def load_tables(cloud: str, data_dir: str = DATA_DIR) -> CatalogTables:
    """Load and check one cloud's tables from ``data_dir`` (uncached; lookups use a cache)."""
    _check_cloud(cloud)
    return CatalogTables(cloud, data_dir, _read_regions(data_dir)[cloud])


def _read_regions(data_dir: str) -> dict[str, frozenset[str]]:
    found: dict[str, set[str]] = {cloud: set() for cloud in CLOUDS}
    for line, (cloud, region, _source) in _rows(data_dir, "regions.csv",
                                                ("cloud", "region", "source")):
        if cloud not in found:
            raise _bad(data_dir, "regions.csv", line, f"unknown cloud {cloud!r}")
        found[cloud].add(region)
    return {cloud: frozenset(regions) for cloud, regions in found.items()}


@cache
def _tables(cloud: str) -> CatalogTables:
    return load_tables(cloud)


@cache
def _all_regions() -> dict[str, frozenset[str]]:
    return _read_regions(DATA_DIR)


@cache
def _spot_table(cloud: str) -> dict[str, SpotDiscount]:
    return {s.family: s for s in read_spot_discounts(DATA_DIR) if s.cloud == cloud}


def read_spot_discounts(data_dir: str = DATA_DIR) -> tuple[SpotDiscount, ...]:
    """Every row of ``spot_discounts.csv`` in ``data_dir``."""
    name = "spot_discounts.csv"
    found: list[SpotDiscount] = []
    for line, (cloud, family, discount, method, samples, types, source, date, note) in _rows(
            data_dir, name, _SPOT_COLUMNS):
        try:
            value, count = float(discount), int(samples)
        except ValueError as exc:
            raise _bad(data_dir, name, line, f"not a number ({exc})") from None
        if not 0 < value < 1 or method not in ("snapshot-median", "estimate"):
            raise _bad(data_dir, name, line,
                       "discount must be a fraction in (0, 1) and method "
                       "snapshot-median|estimate")
        found.append(SpotDiscount(cloud, family, value, method, count, tuple(types.split()),
                                  source, date, note))
    return tuple(found)


@cache
def sources() -> dict[str, Source]:
    """Every source id of the data files, with what it stands for (``sources.csv``)."""
    return {f[0]: Source(*f) for _, f in _rows(DATA_DIR, "sources.csv",
                                                 ("id", "title", "reference", "date"))}


@cache
def _eks_excluded() -> dict[str, frozenset[str]]:
    found: dict[str, set[str]] = {}
    for _, (region, zone_id, _source) in _rows(DATA_DIR, "eks_excluded_zones.csv",
                                               ("region", "zone_id", "source")):
        found.setdefault(region, set()).add(zone_id)
    return {region: frozenset(ids) for region, ids in found.items()}


if TYPE_CHECKING:
    ALTERNATIVE_SHAPES: tuple[MachineShape, ...]
else:
    def __getattr__(name: str) -> object:
        # ALTERNATIVE_SHAPES is data: read on first use, like the rest of the catalogue.
        if name == "ALTERNATIVE_SHAPES":
            return _tables("gcp").alternatives + _tables("aws").alternatives
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

# ALTERNATIVE_SHAPES: shapes with the same accelerator and GPU count as a default shape; never
# chosen by :func:`shape`, offered for callers that let the user name a machine type.


# --------------------------------------------------------------------------------------------
# Lookups
# --------------------------------------------------------------------------------------------

def _check_cloud(cloud: str) -> None:
    if cloud not in CLOUDS:
        raise CatalogError(f"unknown cloud {cloud!r}; Trellis supports {_or_list(CLOUDS)}")


def _or_list(items: Sequence[object]) -> str:
    words = [str(i) for i in items]
    if len(words) <= 1:
        return "".join(words)
    return ", ".join(words[:-1]) + " or " + words[-1]


def _suggest(word: str, choices: Sequence[str]) -> str:
    close = difflib.get_close_matches(word, choices, n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def all_shapes(cloud: str | None = None) -> tuple[MachineShape, ...]:
    """Every default shape, optionally of one cloud."""
    if cloud is None:
        return _tables("gcp").shapes + _tables("aws").shapes
    _check_cloud(cloud)
    return _tables(cloud).shapes


@cache  # the tables are constant; validation asks per pool
def accelerators(cloud: str) -> tuple[str, ...]:
    """Accelerators offered on ``cloud``, sorted by name."""
    _check_cloud(cloud)
    return tuple(sorted({s.accelerator for s in _tables(cloud).shapes}))


def _check_accelerator(cloud: str, accelerator: str) -> None:
    offered = accelerators(cloud)
    if accelerator in offered:
        return
    if accelerator in ACCELERATORS:
        elsewhere = [c for c in CLOUDS if accelerator in accelerators(c)]
        raise CatalogError(
            f"{accelerator} is not offered on {cloud} (only on {_or_list(elsewhere)}); "
            f"{cloud} offers {_or_list(list(offered))}"
        )
    raise CatalogError(
        f"unknown accelerator {accelerator!r}{_suggest(accelerator, ACCELERATORS)}; "
        f"{cloud} offers {_or_list(list(offered))}"
    )


@cache  # the tables are constant; validation asks per pool
def shapes(cloud: str, accelerator: str) -> tuple[MachineShape, ...]:
    """Default shapes of ``accelerator`` on ``cloud``, by GPUs per node (empty if none)."""
    _check_cloud(cloud)
    found = [s for s in _tables(cloud).shapes if s.accelerator == accelerator]
    return tuple(sorted(found, key=lambda s: s.gpus_per_node))


def alternatives(cloud: str, accelerator: str) -> tuple[MachineShape, ...]:
    """Non-default shapes of ``accelerator`` on ``cloud`` (see ``ALTERNATIVE_SHAPES``)."""
    _check_cloud(cloud)
    return tuple(s for s in _tables(cloud).alternatives if s.accelerator == accelerator)


@cache  # the tables are constant; validation asks per pool
def gpu_counts(cloud: str, accelerator: str) -> tuple[int, ...]:
    """GPUs-per-node counts offered for ``accelerator`` on ``cloud``, ascending."""
    return tuple(s.gpus_per_node for s in shapes(cloud, accelerator))


def default_gpus_per_node(cloud: str, accelerator: str) -> int:
    """The smallest count offered; used when org.yaml omits ``gpus_per_node``."""
    _check_accelerator(cloud, accelerator)
    return gpu_counts(cloud, accelerator)[0]


def find_shape(cloud: str, accelerator: str, gpus_per_node: int) -> MachineShape | None:
    """The shape for this combination, or None (also for an unknown cloud or accelerator)."""
    if cloud not in CLOUDS:
        return None
    return _tables(cloud).by_key.get((accelerator, gpus_per_node))


def shape(cloud: str, accelerator: str, gpus_per_node: int) -> MachineShape:
    """The shape for this combination.

    Raises:
        CatalogError (a KeyError): with a message naming what is offered, e.g.
        ``h100-80gb on gcp comes in 1, 2, 4 or 8 GPUs per node (a3-highgpu-1g, ...); got 3``.
    """
    found = find_shape(cloud, accelerator, gpus_per_node)
    if found is not None:
        return found
    _check_cloud(cloud)
    _check_accelerator(cloud, accelerator)
    offered = shapes(cloud, accelerator)
    types = ", ".join(s.machine_type for s in offered)
    if len(offered) == 1:
        counts = f"only with {offered[0].gpus_per_node}"
    else:
        counts = "in " + _or_list([s.gpus_per_node for s in offered])
    raise CatalogError(
        f"{accelerator} on {cloud} comes {counts} GPUs per node ({types}); "
        f"got {gpus_per_node}"
    )


def find_machine_type(cloud: str, machine_type: str) -> MachineShape | None:
    """The shape (default or alternative) with this machine type, or None."""
    if cloud not in CLOUDS:
        return None
    return _tables(cloud).by_machine.get(machine_type)


def regions(cloud: str) -> frozenset[str]:
    """Every public region of ``cloud`` where Trellis can run, GPU or not (``regions.csv``)."""
    _check_cloud(cloud)
    return _all_regions()[cloud]


def accelerator_regions(cloud: str, accelerator: str) -> frozenset[str]:
    """Regions offering ``accelerator`` on ``cloud`` in at least one GPU count."""
    found: frozenset[str] = frozenset()
    for s in shapes(cloud, accelerator):
        found |= s.regions
    return found


# --------------------------------------------------------------------------------------------
# Zones
# --------------------------------------------------------------------------------------------

@cache  # the tables are constant; every pool of every environment asks
def zones(cloud: str, machine_type: str, region: str, *,
          include_local_zones: bool = False) -> tuple[str, ...]:
    """Zones of ``region`` that offer ``machine_type`` (its GPUs included), sorted.

    * GCP: zone names (``("us-central1-a", "us-central1-c")``), what a GKE node pool's
      ``node_locations`` takes. For a catalogued N1 shape (``n1-standard-8`` = T4 x1) the zones
      are those offering its T4 count.
    * AWS: availability-zone IDs (``("use1-az1", "use1-az2", ...)``), the same physical zone in
      every account; a subnet takes one as ``availability_zone_id``. Local Zones
      (``usw2-lax1-az1``) need an account opt-in and are left out unless
      ``include_local_zones``. Node groups may use any of these; only the *cluster's* subnets
      must avoid :func:`eks_excluded_zone_ids`.

    Empty when no zone of ``region`` offers the type (also for a region the cloud does not
    have: check :func:`regions` for that). Data: the zone snapshot (:func:`zone_snapshot`); a
    listing is not a capacity guarantee.

    Raises:
        CatalogError: unknown cloud, or a machine type in neither the shapes nor the zone
        snapshot (with the closest known type).
    """
    _check_cloud(cloud)
    rows = _tables(cloud).zone_rows(machine_type).get(region, [])
    return tuple(sorted(r.zone for r in rows if include_local_zones or not is_local_zone(r.zone)))


def offers(cloud: str, machine_type: str, region: str) -> tuple[ZoneOffer, ...]:
    """Like :func:`zones`, with the snapshot's on-demand and spot price in each zone.

    Local Zones included (see :func:`is_local_zone`). The catalogue's own price for costing
    stays :attr:`MachineShape.on_demand_hour_usd`; these are per-zone snapshot figures.
    """
    _check_cloud(cloud)
    return _tables(cloud).offers(machine_type, region)


def gpu_zones(cloud: str, region: str, *, include_local_zones: bool = False) -> tuple[str, ...]:
    """Zones of ``region`` offering at least one catalogued shape (default or alternative).

    Not every zone of the region: the snapshot lists only zones with GPU types. Useful to
    choose network zones that cover every GPU pool.
    """
    _check_cloud(cloud)
    tables = _tables(cloud)
    found: set[str] = set()
    for s in tables.shapes + tables.alternatives:
        found.update(zones(cloud, s.machine_type, region,
                           include_local_zones=include_local_zones))
    return tuple(sorted(found))


def is_local_zone(zone: str) -> bool:
    """True for an AWS Local Zone or Wavelength Zone ID (``usw2-lax1-az1``); never on GCP."""
    found = _AWS_ZONE_ID.fullmatch(zone)
    return found is not None and found.group(1) is not None


def eks_excluded_zone_ids(region: str | None = None) -> frozenset[str]:
    """AZ IDs where EKS refuses *cluster* (control-plane) subnets: ``use1-az3``, ...

    Of ``region``, or of every region when None. From the EKS User Guide, "Subnet requirements
    for clusters" (``sources.csv``: ``eks-network-reqs``). Node groups are not bound by it:
    their subnets need not be the cluster's subnets.
    """
    table = _eks_excluded()
    if region is None:
        return frozenset().union(*table.values())
    return table.get(region, frozenset())


# The most AZs an EKS environment's network spans (EKS needs two; three survive one AZ's loss
# with a majority of the system nodes). https://docs.aws.amazon.com/eks/latest/userguide/network-reqs.html
EKS_MAX_ZONES = 3
# Zone numbers (``use1-azN``, N = 1..8) that can have a node-only subnet: a reservation's zone
# outside the network (components.aws.network.node_subnet_cidr); AWS regions number theirs 1-6.
AWS_NODE_SUBNET_SLOTS = 8
# Zone ID prefix of a region: us-east-1 -> use1, ap-southeast-2 -> apse2 (AWS names zone IDs
# after the region's short form; used only where the zone table has no row for the region).
_DIRECTIONS = {"east": "e", "west": "w", "north": "n", "south": "s", "central": "c",
               "northeast": "ne", "northwest": "nw", "southeast": "se", "southwest": "sw"}


def aws_zone_prefix(region: str) -> str:
    """The zone-ID prefix of an AWS region: ``us-east-1`` -> ``use1``, ``ap-southeast-2`` ->
    ``apse2`` (``use1-az1`` is then a zone ID of us-east-1)."""
    area, direction, number = region.split("-")
    return f"{area}{_DIRECTIONS.get(direction, direction)}{number}"


def _zone_number(zone_id: str) -> int:
    return int(zone_id.rsplit("az", 1)[1])


def aws_region_zone_ids(region: str) -> tuple[str, ...]:
    """Every regular AZ ID of ``region`` the zone table knows, by zone number.

    The table lists zones that offer at least one GPU instance type: nearly every zone (G4dn
    runs almost everywhere), but not all (af-south-1 lists az2 and az3 only). Empty for a
    region it has no row for.
    """
    tables = _tables("aws")
    found = {row.zone for rows in tables.by_type.values() for row in rows.get(region, [])
             if not is_local_zone(row.zone)}
    return tuple(sorted(found, key=_zone_number))


def eks_cluster_zone_ids(region: str) -> tuple[str, ...]:
    """The AZ IDs an EKS environment's network uses in ``region``: up to :data:`EKS_MAX_ZONES`.

    The lowest-numbered zone IDs of the region that EKS accepts for cluster subnets
    (:func:`eks_excluded_zone_ids` left out). Lowest numbers, not "most GPU types": the choice
    should not move when the zone table is refreshed, because moving a subnet replaces it and
    the cluster on it (a test pins the choice per region, so a refresh that moves one is seen);
    in every region of the table these zones also offer every catalogued instance type the
    region has. Empty when the table knows fewer than two such zones in the region: the
    network then picks at deploy time.
    """
    excluded = eks_excluded_zone_ids(region)
    usable = [z for z in aws_region_zone_ids(region) if z not in excluded]
    return tuple(usable[:EKS_MAX_ZONES]) if len(usable) >= 2 else ()


def zone_snapshot(cloud: str) -> Source:
    """Where the zone table of ``cloud`` comes from: repository, path, commit, read date."""
    _check_cloud(cloud)
    return sources()[f"skypilot-{cloud}-vms"]


# --------------------------------------------------------------------------------------------
# EKS Kubernetes versions
# --------------------------------------------------------------------------------------------

EKS_VERSIONS_DATE = "2026-12-03"
"""The day ``eks_versions.csv`` was read: "in standard support" means on this day."""

_EKS_VERSION_COLUMNS = ("version", "eks_release", "end_of_standard_support",
                        "end_of_extended_support", "source", "autoscaler_image_tag",
                        "autoscaler_source", "autoscaler_chart_version",
                        "autoscaler_chart_app_version", "autoscaler_chart_source")


@dataclass(frozen=True)
class EksVersion:
    """One Kubernetes minor version on EKS (a row of ``eks_versions.csv``)."""

    version: str  # "1.35"
    eks_release: str  # ISO dates, UTC (the EKS release calendar's)
    end_of_standard_support: str
    end_of_extended_support: str
    source: str
    autoscaler_image_tag: str  # the cluster-autoscaler release for this minor, "v1.35.0"
    autoscaler_source: str
    autoscaler_chart_version: str  # Helm chart cluster-autoscaler for this minor, "9.59.0"
    autoscaler_chart_app_version: str  # that chart's appVersion, "1.35.0"
    autoscaler_chart_source: str

    @property
    def minor(self) -> int:
        return int(self.version.split(".")[1])

    def standard_on(self, day: str = EKS_VERSIONS_DATE) -> bool:
        """In EKS standard support on ``day`` (ISO date; extended billing starts on the end
        date itself)."""
        return self.eks_release <= day < self.end_of_standard_support


@cache
def eks_versions() -> tuple[EksVersion, ...]:
    """Every row of ``eks_versions.csv``, newest first."""
    name = "eks_versions.csv"
    found = []
    date = re.compile(r"\d{4}-\d{2}-\d{2}")
    known = sources()
    for line, fields in _rows(DATA_DIR, name, _EKS_VERSION_COLUMNS):
        row = EksVersion(*fields)
        if not re.fullmatch(r"1\.\d+", row.version) or not all(
                date.fullmatch(d) for d in (row.eks_release, row.end_of_standard_support,
                                            row.end_of_extended_support)):
            raise _bad(DATA_DIR, name, line, "version must look like 1.35 and dates like "
                       "2026-01-28")
        if not {row.source, row.autoscaler_source, row.autoscaler_chart_source} <= set(known):
            raise _bad(DATA_DIR, name, line, "source ids must be rows of sources.csv")
        # Autoscaler releases are specific to one Kubernetes minor (kubernetes#72579): the
        # image and the chart's appVersion must be the row's minor.
        if not re.fullmatch(r"\d+\.\d+\.\d+", row.autoscaler_chart_version) or not all(
                re.fullmatch(rf"v?{re.escape(row.version)}\.\d+", v)
                for v in (row.autoscaler_image_tag, row.autoscaler_chart_app_version)):
            raise _bad(DATA_DIR, name, line, f"the autoscaler image tag and chart appVersion "
                       f"must be releases of {row.version} (v{row.version}.N) and the chart "
                       "version look like 9.59.0")
        found.append(row)
    return tuple(sorted(found, key=lambda v: v.minor, reverse=True))


def eks_version(version: str) -> EksVersion | None:
    """The table's row for ``version`` (``"1.35"``), or None."""
    return next((v for v in eks_versions() if v.version == version), None)


def eks_standard_versions(day: str = EKS_VERSIONS_DATE) -> tuple[str, ...]:
    """Versions in EKS standard support on ``day``, newest first."""
    return tuple(v.version for v in eks_versions() if v.standard_on(day))


def eks_default_version() -> str:
    """The newest version in standard support on :data:`EKS_VERSIONS_DATE`."""
    return eks_standard_versions()[0]


# --------------------------------------------------------------------------------------------
# Capacity modes and GPU quotas
# --------------------------------------------------------------------------------------------

CAPACITY_MODES: tuple[str, ...] = ("on-demand", "spot", "flex-start", "reservation")
"""How a GPU pool obtains its nodes (org.yaml ``gpu_pools.<pool>.capacity``; a contract: add,
never rename). ``reservation`` on AWS is an On-Demand Capacity Reservation or, with
``capacity_block``, a Capacity Block for ML (data mode :data:`CAPACITY_BLOCK`)."""

CAPACITY_BLOCK = "capacity-block"
"""The data mode of AWS Capacity Blocks for ML (a reservation kind, not an org.yaml mode)."""

_DATA_MODES = (*CAPACITY_MODES, CAPACITY_BLOCK)
_CAPACITY_COLUMNS = ("cloud", "machine_types", "modes", "capacity_block_regions",
                     "flex_start_discount", "source", "note")
_QUOTA_COLUMNS = ("cloud", "applies_to", "draws", "quota", "name", "unit", "scope", "source")


@dataclass(frozen=True)
class CapacityOptions:
    """How one machine type can be obtained (a row of ``capacity_modes.csv``)."""

    cloud: str
    machine_type: str
    modes: tuple[str, ...]  # data modes, in CAPACITY_MODES order, then capacity-block
    capacity_block_regions: frozenset[str]  # aws: regions selling Capacity Blocks of it
    flex_start_discount: float | None  # fraction off on demand for flex-start (DWS)
    source: str  # source ids, "+"-joined
    note: str

    def supports(self, mode: str, region: str | None = None) -> bool:
        """``mode`` (a data mode) is sold for this type (in ``region`` for Capacity Blocks)."""
        if mode not in self.modes:
            return False
        return not (mode == CAPACITY_BLOCK and region is not None
                    and region not in self.capacity_block_regions)

    @property
    def pool_modes(self) -> tuple[str, ...]:
        """The org.yaml modes (:data:`CAPACITY_MODES`) sold for this type."""
        return tuple(m for m in CAPACITY_MODES if m in self.modes)


@dataclass(frozen=True)
class GpuQuota:
    """A cloud quota a GPU node draws on (a row of ``gpu_quotas.csv``).

    GCP: a Compute Engine quota metric (``NVIDIA_H100_GPUS``) counted in GPUs, per region, or
    the global ``GPUS_ALL_REGIONS``. AWS: a Service Quotas code of service ``ec2``
    (``L-DB2E81BA``) counted in vCPUs per region.
    """

    cloud: str
    quota: str  # GCP metric / AWS quota code
    name: str  # what the console calls it
    unit: str  # "GPUs" | "vCPUs"
    scope: str  # "region" | "global"
    draws: str  # "standard" | "preemptible" | "any"
    source: str

    def amount(self, shape: MachineShape, nodes: int) -> int:
        """What ``nodes`` nodes of ``shape`` count against this quota."""
        per_node = shape.gpus_per_node if self.unit == "GPUs" else shape.vcpus
        return per_node * nodes


def _capacity_rows(cloud: str) -> list[tuple[int, list[str]]]:
    return [(line, f) for line, f in _rows(DATA_DIR, "capacity_modes.csv", _CAPACITY_COLUMNS)
            if f[0] == cloud]


@cache
def _capacity_table(cloud: str) -> dict[str, CapacityOptions]:
    """Machine type -> its options, for every catalogued shape; checked against shapes.csv."""
    name = "capacity_modes.csv"
    tables, known = _tables(cloud), sources()
    rows: list[tuple[int, list[str], tuple[str, ...]]] = []
    for line, fields in _capacity_rows(cloud):
        _, _patterns, modes, cb_regions, flex, source, _note = fields
        listed = tuple(modes.split())
        if not listed or any(m not in _DATA_MODES for m in listed):
            raise _bad(DATA_DIR, name, line, f"modes {modes!r}: use {', '.join(_DATA_MODES)}")
        if ("flex-start" in listed) != bool(flex):
            raise _bad(DATA_DIR, name, line, "flex_start_discount is required exactly when "
                       "flex-start is listed")
        if (CAPACITY_BLOCK in listed) != bool(cb_regions):
            raise _bad(DATA_DIR, name, line, "capacity_block_regions are required exactly "
                       "when capacity-block is listed")
        if any(s not in known for s in source.split("+")):
            raise _bad(DATA_DIR, name, line, f"source {source!r} is not in sources.csv")
        rows.append((line, fields, listed))
    found: dict[str, CapacityOptions] = {}
    for s in tables.shapes + tables.alternatives:
        match = next(((line, f, listed) for line, f, listed in rows
                      if any(fnmatch.fnmatchcase(s.machine_type, p) for p in f[1].split())),
                     None)
        if match is None:
            raise CatalogDataError(f"{os.path.join(DATA_DIR, name)}: no row for {cloud} "
                                   f"{s.machine_type}; every catalogued shape needs one")
        line, f, listed = match
        order = [m for m in _DATA_MODES if m in listed]
        options = CapacityOptions(
            cloud=cloud, machine_type=s.machine_type, modes=tuple(order),
            capacity_block_regions=frozenset(f[3].split()),
            flex_start_discount=float(f[4]) if f[4] else None, source=f[5], note=f[6])
        if options.supports("on-demand") != s.on_demand_available or \
                options.supports("spot") != s.spot_allowed:
            raise _bad(DATA_DIR, name, line, f"{s.machine_type}: on-demand/spot disagree with "
                       "shapes.csv (on_demand_available, spot_allowed); fix one of them")
        found[s.machine_type] = options
    return found


def capacity_options(cloud: str, machine_type: str) -> CapacityOptions:
    """How ``machine_type`` can be obtained: modes, Capacity Block regions, flex-start price.

    Raises:
        CatalogError: a machine type that is not a catalogued shape.
    """
    _check_cloud(cloud)
    table = _capacity_table(cloud)
    try:
        return table[machine_type]
    except KeyError:
        raise CatalogError(f"{cloud} machine type {machine_type!r} is not a catalogued shape"
                           f"{_suggest(machine_type, tuple(table))}") from None


def sells(shape: MachineShape, capacity: str, region: str, *,
          capacity_block: bool = False) -> bool:
    """``shape`` can be obtained as ``capacity`` (an org.yaml mode) in ``region``.

    A reservation with ``capacity_block`` asks for a Capacity Block for ML (AWS), sold for
    fewer types and regions; the zones offering the type are checked elsewhere
    (:func:`zones`).
    """
    options = capacity_options(shape.cloud, shape.machine_type)
    if capacity == "reservation" and capacity_block:
        return options.supports(CAPACITY_BLOCK, region)
    return options.supports(capacity)


def capacity_shapes(cloud: str, accelerator: str, capacity: str, region: str, *,
                    capacity_block: bool = False) -> tuple[MachineShape, ...]:
    """Default shapes of ``accelerator`` sold as ``capacity`` with a zone in ``region``, by
    GPUs per node (empty when none is)."""
    return tuple(s for s in shapes(cloud, accelerator)
                 if sells(s, capacity, region, capacity_block=capacity_block)
                 and zones(cloud, s.machine_type, region))


def default_gpus_for(cloud: str, accelerator: str, capacity: str, region: str, *,
                     capacity_block: bool = False) -> int:
    """GPUs per node when org.yaml omits ``gpus_per_node``: the smallest count sold as
    ``capacity`` in ``region`` (an h100-80gb pool on demand on GCP gets the 8-GPU
    a3-highgpu-8g; a Spot one the 1-GPU a3-highgpu-1g); :func:`default_gpus_per_node` when no
    count is sold that way (validation then says why)."""
    found = capacity_shapes(cloud, accelerator, capacity, region,
                            capacity_block=capacity_block)
    return found[0].gpus_per_node if found else default_gpus_per_node(cloud, accelerator)


def flex_start_discount(shape: MachineShape) -> float:
    """Fraction off the on-demand price of a flex-start (DWS) node of ``shape``: Google's
    documented figure, "up to 53%" for A2/A3 and none for G2 (``capacity_modes.csv``).

    Raises:
        CatalogError: the type is not sold as flex-start.
    """
    options = capacity_options(shape.cloud, shape.machine_type)
    if options.flex_start_discount is None:
        raise CatalogError(f"{shape.machine_type} is not sold as flex-start on {shape.cloud}")
    return options.flex_start_discount


@cache
def _quota_rows(cloud: str) -> tuple[tuple[tuple[str, ...], GpuQuota], ...]:
    name = "gpu_quotas.csv"
    known = sources()
    found = []
    for line, (c, applies, draws, quota, label, unit, scope, source) in _rows(
            DATA_DIR, name, _QUOTA_COLUMNS):
        if c != cloud:
            continue
        if draws not in ("standard", "preemptible", "any") or unit not in ("GPUs", "vCPUs") \
                or scope not in ("region", "global") or source not in known:
            raise _bad(DATA_DIR, name, line, "draws standard|preemptible|any, unit GPUs|vCPUs, "
                       "scope region|global and a source of sources.csv")
        found.append((tuple(applies.split()),
                      GpuQuota(cloud, quota, label, unit, scope, draws, source)))
    return tuple(found)


def _quota_key(shape: MachineShape) -> str:
    return shape.zone_accelerator if shape.cloud == "gcp" else shape.family


def gpu_quotas(shape: MachineShape, *, preemptible: bool) -> tuple[GpuQuota, ...]:
    """The quotas a node of ``shape`` draws on: its standard or preemptible (Spot,
    flex-start) regional quota, then any global one (GCP ``GPUS_ALL_REGIONS``).

    GCP Spot and flex-start VMs draw on the preemptible quota once the project has one
    (limit above zero) and on the standard quota otherwise: callers that know the limits pick
    (:func:`gpu_quota_fallback`). Empty for a shape the table does not know.
    """
    want = "preemptible" if preemptible else "standard"
    key = _quota_key(shape)
    regional = [q for applies, q in _quota_rows(shape.cloud)
                if q.draws == want and key in applies]
    every = [q for applies, q in _quota_rows(shape.cloud) if q.draws == "any"
             and ("*" in applies or key in applies)]
    return tuple(regional + every)


def gpu_quota_fallback(shape: MachineShape) -> GpuQuota | None:
    """GCP: the standard regional quota a Spot/flex-start node draws on when the project has
    no preemptible quota for its GPU (None on AWS: Spot has its own quota, 0 by default)."""
    if shape.cloud != "gcp":
        return None
    standard = gpu_quotas(shape, preemptible=False)
    return standard[0] if standard and standard[0].scope == "region" else None


# --------------------------------------------------------------------------------------------
# Prices
# --------------------------------------------------------------------------------------------

def spot_discount(cloud: str, family: str) -> float:
    """Fraction off the on-demand price for Spot VMs/instances of ``family`` (an estimate).

    From ``spot_discounts.csv``: the median over the zone snapshot's rows where the snapshot
    prices the family on the catalogue's own on-demand basis, an estimate otherwise (see
    :func:`spot_discount_info`).
    """
    return spot_discount_info(cloud, family).discount


def spot_discount_info(cloud: str, family: str) -> SpotDiscount:
    """The spot discount of ``family`` with how it was obtained."""
    _check_cloud(cloud)
    table = _spot_table(cloud)
    try:
        return table[family]
    except KeyError:
        raise CatalogError(
            f"no spot estimate for {cloud} family {family!r}; known: {', '.join(sorted(table))}"
        ) from None


def node_hour_usd(shape: MachineShape, *, spot: bool) -> float:
    """List price of one node-hour in the reference region, on-demand or estimated Spot."""
    if not spot:
        return shape.on_demand_hour_usd
    return shape.on_demand_hour_usd * (1.0 - spot_discount(shape.cloud, shape.family))


def capacity_discount(shape: MachineShape, capacity: str) -> float | None:
    """Fraction off the on-demand price for ``capacity`` (an org.yaml mode), or None when the
    mode is billed at the on-demand rate (on-demand; a reservation, billed for every reserved
    node whether it runs or not; a Capacity Block, priced here at that rate too)."""
    if capacity == "spot":
        return spot_discount(shape.cloud, shape.family)
    if capacity == "flex-start":
        return flex_start_discount(shape)
    return None


def capacity_hour_usd(shape: MachineShape, capacity: str) -> float:
    """One node-hour of ``shape`` obtained as ``capacity``, reference region list prices:
    Spot and flex-start at their discount (estimates), the rest at the on-demand rate."""
    discount = capacity_discount(shape, capacity)
    return shape.on_demand_hour_usd * (1.0 - (discount or 0.0))


# --------------------------------------------------------------------------------------------
# Fixed platform costs
# --------------------------------------------------------------------------------------------

class SystemPool(TypedDict):
    """Shape of the small CPU system pool every cluster gets (see :data:`SYSTEM_POOL`)."""

    machine_type: str
    min_nodes: int  # sandbox tier, total for the cluster
    max_nodes: int  # sandbox tier
    production_min_nodes: int  # production tier: one node per zone
    production_max_nodes: int
    disk_size_gb: int
    disk_type: str


SYSTEM_POOL: dict[str, SystemPool] = {
    # Small CPU pool for cluster add-ons (DNS, autoscaler, GPU device plugin, agents). Node
    # counts are totals for the cluster (GKE total_min/total_max_node_count; EKS scaling_config).
    # Production runs one node per zone (3); a sandbox keeps one. e2-standard-4 and m7i.xlarge
    # are both 4 vCPU / 16 GiB so the clouds behave alike.
    "gcp": {
        "machine_type": "e2-standard-4", "min_nodes": 1, "max_nodes": 3,
        "production_min_nodes": 3, "production_max_nodes": 6, "disk_size_gb": 50,
        "disk_type": "pd-balanced",
    },
    "aws": {
        "machine_type": "m7i.xlarge", "min_nodes": 1, "max_nodes": 3,
        "production_min_nodes": 3, "production_max_nodes": 6, "disk_size_gb": 50,
        "disk_type": "gp3",
    },
}


class GeneralPool(TypedDict):
    """Shape of the shared general-purpose CPU pool (see :data:`GENERAL_POOL`)."""

    machine_type: str
    vcpus: int
    memory_gb: int
    disk_size_gb: int
    disk_type: str


GENERAL_POOL: dict[str, GeneralPool] = {
    # Where team pods without GPU tolerations run (data prep, notebooks, CPU serving). 8 vCPU /
    # 32 GB nodes: a data loader or notebook fits with room to pack a few per node; the pool's
    # size comes from the teams' `cpu` shares (general_pool_nodes);
    # docs/adr/0022-shared-cpu-pool.md.
    "gcp": {"machine_type": "e2-standard-8", "vcpus": 8, "memory_gb": 32, "disk_size_gb": 100,
            "disk_type": "pd-balanced"},
    "aws": {"machine_type": "m7i.2xlarge", "vcpus": 8, "memory_gb": 32, "disk_size_gb": 100,
            "disk_type": "gp3"},
}

DAEMONSET_ALLOWANCE = (0.5, 1.0)
"""(vCPU, GB) the per-node agents take on a GKE node (logging, metrics, Dataplane V2, CSI
drivers): an estimate, subtracted from allocatable when sizing the general pool."""


def gke_allocatable(vcpus: float, memory_gb: float) -> tuple[float, float]:
    """(vCPU, GB) a GKE node leaves for pods: capacity minus GKE's kubelet/system reservation.

    CPU: 6% of the first core, 1% of the next, 0.5% of the next 2, 0.25% above 4 cores.
    Memory: 25% of the first 4 GB, 20% of the next 4, 10% of the next 8, 6% of the next 112,
    2% above 128, plus the 100 MiB eviction threshold. GKE docs, "About GKE node sizing"
    (https://cloud.google.com/kubernetes-engine/docs/concepts/plan-node-sizes).
    """
    def tiers(value: float, steps: tuple[tuple[float, float], ...], rest: float) -> float:
        reserved, left = 0.0, value
        for size, rate in steps:
            part = min(left, size)
            reserved += part * rate
            left -= part
        return reserved + max(left, 0.0) * rest

    cpu = vcpus - tiers(vcpus, ((1, 0.06), (1, 0.01), (2, 0.005)), 0.0025)
    memory = memory_gb - tiers(memory_gb, ((4, 0.25), (4, 0.20), (8, 0.10), (112, 0.06)),
                               0.02) - 0.1
    return cpu, memory


_GENERAL_POOL_HOUR = {"gcp": 2 * 0.13402284, "aws": 2 * 0.2016}
# e2-standard-8 / m7i.2xlarge: twice e2-standard-4 / m7i.xlarge (E2 and M7i are priced per vCPU
# and GB, so the 8-vCPU size is exactly double; same sources and date as the system pool).


def general_pool_cost(cloud: str, max_nodes: int) -> PlatformCost:
    """The shared CPU pool as a platform line: nothing at idle, its worst case in the note."""
    _check_cloud(cloud)
    pool = GENERAL_POOL[cloud]
    node_month = _GENERAL_POOL_HOUR[cloud] * HOURS_PER_MONTH
    return _cost(f"Shared CPU pool (0 to {max_nodes} x {pool['machine_type']})", 0.0,
                 f"scales to zero; all {max_nodes} nodes all month: "
                 f"${max_nodes * node_month:,.0f} on demand (Spot in sandboxes: less)")


def general_pool_nodes(cloud: str, vcpus: float, memory_gb: float) -> int:
    """Nodes of :data:`GENERAL_POOL` that hold ``vcpus`` and ``memory_gb`` of pod requests."""
    _check_cloud(cloud)
    pool = GENERAL_POOL[cloud]
    cpu, memory = gke_allocatable(pool["vcpus"], pool["memory_gb"])
    cpu, memory = cpu - DAEMONSET_ALLOWANCE[0], memory - DAEMONSET_ALLOWANCE[1]
    return max(1, math.ceil(vcpus / cpu - 1e-9), math.ceil(memory_gb / memory - 1e-9))


def system_pool_bounds(cloud: str, *, production: bool) -> tuple[int, int]:
    """(min_nodes, max_nodes) of the system pool for the tier."""
    _check_cloud(cloud)
    pool = SYSTEM_POOL[cloud]
    if production:
        return pool["production_min_nodes"], pool["production_max_nodes"]
    return pool["min_nodes"], pool["max_nodes"]


@dataclass(frozen=True)
class PlatformCost:
    """One fixed monthly cost of an environment, whatever the teams run."""

    item: str
    monthly_usd: float  # rounded to cents
    note: str


def _cost(item: str, monthly_usd: float, note: str) -> PlatformCost:
    return PlatformCost(item, round(monthly_usd, 2), note)


# List prices, reference regions, PRICE_DATE.
# GCP: GKE cluster management fee $0.10/h (cloud.google.com/kubernetes-engine/pricing; the
# free-tier credit covers one zonal/Autopilot cluster per billing account, not regional ones);
# Cloud NAT gateway $0.0014 per VM-hour up to a $0.044/h cap at 32 VMs, plus $0.045/GB
# processed; external IPv4 $0.005/h; e2-standard-4 $0.134023/h; pd-balanced $0.10/GB-month.
_GKE_FEE_HOUR = 0.10
_GCP_NAT_VM_HOUR = 0.0014
_GCP_NAT_CAP_HOUR = 0.044
_GCP_IP_HOUR = 0.005
_GCP_SYSTEM_HOUR = 0.13402284
_GCP_PD_BALANCED_GB_MONTH = 0.10
# AWS: EKS standard support $0.10/h (aws.amazon.com/eks/pricing); NAT gateway $0.045/h plus
# $0.045/GB processed; public IPv4 $0.005/h; KMS customer managed key $1/month;
# m7i.xlarge $0.2016/h; gp3 $0.08/GB-month.
_EKS_FEE_HOUR = 0.10
_AWS_NAT_HOUR = 0.045
_AWS_IP_HOUR = 0.005
_AWS_KMS_KEY_MONTH = 1.0
_AWS_SYSTEM_HOUR = 0.2016
_AWS_GP3_GB_MONTH = 0.08


def gcp_nat_hour_usd(vms: int) -> float:
    """Cloud NAT gateway hourly charge for ``vms`` VMs using it (capped at 32 VMs)."""
    return min(max(vms, 0) * _GCP_NAT_VM_HOUR, _GCP_NAT_CAP_HOUR)


def platform_costs(cloud: str, *, production: bool) -> tuple[PlatformCost, ...]:
    """Fixed monthly platform costs of one environment, at idle (GPU pools at zero).

    Usage-based charges (NAT data processing, egress, storage, logging) are not included.
    """
    _check_cloud(cloud)
    nodes, _ = system_pool_bounds(cloud, production=production)
    pool = SYSTEM_POOL[cloud]
    disk_gb = pool["disk_size_gb"]
    h = HOURS_PER_MONTH
    if cloud == "gcp":
        return (
            _cost("GKE cluster management fee", _GKE_FEE_HOUR * h,
                         "regional Standard cluster, $0.10/h"),
            _cost("Cloud NAT gateway", gcp_nat_hour_usd(nodes) * h,
                         f"$0.0014 per VM-hour for the {nodes} system node(s); each GPU node "
                         "adds $0.0014/h up to $0.044/h; $0.045/GB processed not included"),
            _cost("Cloud NAT external IP", _GCP_IP_HOUR * h, "1 IPv4 address, $0.005/h"),
            _cost(f"System node pool ({nodes} x {pool['machine_type']})",
                         nodes * (_GCP_SYSTEM_HOUR * h + disk_gb * _GCP_PD_BALANCED_GB_MONTH),
                         f"on-demand, {disk_gb} GB {pool['disk_type']} boot disk each"),
        )
    nat_gateways = 3 if production else 1
    return (
        _cost("EKS cluster fee", _EKS_FEE_HOUR * h, "standard support, $0.10/h"),
        _cost(f"NAT gateways ({nat_gateways})", nat_gateways * _AWS_NAT_HOUR * h,
                     ("one per AZ" if production else "one, shared by all AZs")
                     + ", $0.045/h each; $0.045/GB processed not included"),
        _cost("Public IPv4 for NAT gateways", nat_gateways * _AWS_IP_HOUR * h,
                     "$0.005/h per address"),
        _cost("KMS key", _AWS_KMS_KEY_MONTH, "customer managed key for secrets, $1/month"),
        _cost(f"System node group ({nodes} x {pool['machine_type']})",
                     nodes * (_AWS_SYSTEM_HOUR * h + disk_gb * _AWS_GP3_GB_MONTH),
                     f"on-demand, {disk_gb} GB {pool['disk_type']} root volume each"),
    )
