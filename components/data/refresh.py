"""Regenerate the GPU catalogue's zone tables and spot discounts from SkyPilot catalogue files.

Offline: download ``catalogs/v8/gcp/vms.csv`` and/or ``catalogs/v8/aws/vms.csv`` of
``skypilot-org/skypilot-catalog`` yourself, note the commit, then::

    python -m components.data.refresh --gcp gcp-vms.csv --gcp-commit <sha> \\
        --aws aws-vms.csv --aws-commit <sha> [--read-date YYYY-MM-DD] [--out components/data]
    python -m components.data.refresh --spot-only      # after editing shapes.csv prices

It writes ``gcp_gpu_zones.csv`` / ``aws_gpu_zones.csv`` (the transformations are listed in
``components/data/README.md`` and implemented below), updates the ``skypilot-*-vms`` rows of
``sources.csv`` (commit, read date) and recomputes ``spot_discounts.csv``; then it loads the
result with the catalogue's own loader, so a shape that lost every zone fails here, before
anything is written to ``--out``. Review ``git diff components/data`` (regions gained or lost
change what ``trellis validate`` accepts) and update the figures in ``README.md``.
"""

from __future__ import annotations

import argparse
import csv
import datetime
import os
import re
import shutil
import statistics
import sys
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import replace

from components import catalog
from components.catalog import CLOUDS, REFERENCE_REGION, SpotDiscount

ZONE_COLUMNS = ("instance_type", "accelerator_name", "accelerator_count", "region", "zone",
                "price_usd_hour", "spot_price_usd_hour")
SPOT_COLUMNS = ("cloud", "family", "discount", "method", "samples", "machine_types", "source",
                "date", "note")

# SkyPilot v8 vms.csv columns this tool reads (the files carry more; order is not relied on).
GCP_NEEDS = ("InstanceType", "AcceleratorName", "AcceleratorCount", "AvailabilityZone", "Price",
             "SpotPrice")
AWS_NEEDS = ("InstanceType", "AcceleratorName", "AcceleratorCount", "Region",
             "AvailabilityZone", "Price", "SpotPrice")

# GCP machine-type rows leave the accelerator columns empty: derive them from the type name.
# fullmatch leaves out the -nolssd variants and a3-edgegpu-8g on purpose.
GCP_MACHINES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"a2-highgpu-(\d+)g"), "A100"),
    (re.compile(r"a2-megagpu-(16)g"), "A100"),
    (re.compile(r"a2-ultragpu-(\d+)g"), "A100-80GB"),
    (re.compile(r"a3-highgpu-(\d+)g"), "H100"),
    (re.compile(r"a3-megagpu-(8)g"), "H100-MEGA"),
    (re.compile(r"a3-ultragpu-(8)g"), "H200"),
    (re.compile(r"a4-highgpu-(8)g"), "B200"),
)
G2 = re.compile(r"g2-standard-(\d+)")
# L4 GPUs per g2-standard size (cloud.google.com/compute/docs/gpus).
G2_GPUS = {4: 1, 8: 1, 12: 1, 16: 1, 32: 1, 24: 2, 48: 4, 96: 8}
# Accelerator-only rows kept (the GPU part of machine prices; T4: the N1-attachable GPU).
GCP_ACCELERATORS = frozenset({"A100", "A100-80GB", "B200", "H100", "H100-MEGA", "H200", "L4",
                              "T4"})
AWS_FAMILIES = frozenset({"g4dn", "g5", "g6", "g6e", "p4d", "p4de", "p5", "p5e", "p5en"})
AWS_FAMILY_PREFIXES = ("p6-",)  # p6-b200, p6-b300, ...

PRICE_TOLERANCE = 0.001
"""Relative difference under which a snapshot on-demand price is the catalogue's own figure."""


class RefreshError(Exception):
    """An input the tool cannot convert, with where and what to do."""


def _source_rows(path: str, needs: Sequence[str]) -> Iterator[tuple[int, dict[str, str]]]:
    with open(path, encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in needs if c not in (reader.fieldnames or ())]
        if missing:
            raise RefreshError(f"{path}:1: not a SkyPilot v8 vms.csv: missing columns "
                               f"{', '.join(missing)} (header: {reader.fieldnames})")
        yield from enumerate(reader, start=2)


def _count(text: str, path: str, line: int) -> int:
    try:
        value = float(text)
    except ValueError:
        raise RefreshError(f"{path}:{line}: AcceleratorCount {text!r} is not a number") from None
    if value < 1 or value != int(value):
        raise RefreshError(f"{path}:{line}: AcceleratorCount {text!r} is not a GPU count")
    return int(value)


def _price(text: str) -> str:
    """A price as the catalogue gives it; "nan" (no figure) becomes empty."""
    return "" if text.strip().lower() in ("", "nan") else text.strip()


def _trim_zeros(text: str) -> str:
    """``0.267000`` -> ``0.267``; ``5.000000`` -> ``5.0``: AWS spot prices have six decimals."""
    text = _price(text)
    if "." not in text:
        return text
    whole, _, fraction = text.partition(".")
    return f"{whole}.{fraction.rstrip('0') or '0'}"


def _gcp_accelerator(machine_type: str, path: str, line: int) -> tuple[str, int] | None:
    for pattern, name in GCP_MACHINES:
        found = pattern.fullmatch(machine_type)
        if found:
            return name, int(found.group(1))
    found = G2.fullmatch(machine_type)
    if found:
        size = int(found.group(1))
        if size not in G2_GPUS:
            raise RefreshError(f"{path}:{line}: {machine_type}: L4 count unknown; add it to "
                               "G2_GPUS in components/data/refresh.py (see "
                               "cloud.google.com/compute/docs/gpus)")
        return "L4", G2_GPUS[size]
    return None


def _add(rows: dict[tuple[str, str, int, str], list[str]], row: list[str], path: str,
         line: int) -> None:
    key = (row[0], row[1], int(row[2]), row[4])
    kept = rows.setdefault(key, row)
    if kept != row:  # the source repeats some rows verbatim; differing figures are an error
        raise RefreshError(f"{path}:{line}: two rows for {key} with different figures: "
                           f"{kept} and {row}")


def _sorted(rows: dict[tuple[str, str, int, str], list[str]]) -> list[list[str]]:
    return [rows[k] for k in sorted(rows, key=lambda k: (k[0], k[1], k[2], rows[k][3], k[3]))]


def gcp_zone_rows(path: str) -> list[list[str]]:
    """The rows of ``gcp_gpu_zones.csv`` from a SkyPilot ``catalogs/v8/gcp/vms.csv``."""
    rows: dict[tuple[str, str, int, str], list[str]] = {}
    for line, rec in _source_rows(path, GCP_NEEDS):
        machine, zone = rec["InstanceType"].strip(), rec["AvailabilityZone"].strip()
        if machine:
            accelerator = _gcp_accelerator(machine, path, line)
            if accelerator is None:
                continue
            name, count = accelerator
        else:
            name = rec["AcceleratorName"].strip()
            if name not in GCP_ACCELERATORS:
                continue  # TPUs, P100, P4, V100
            count = _count(rec["AcceleratorCount"], path, line)
        region = zone.rsplit("-", 1)[0]  # us-central1-a -> us-central1
        _add(rows, [machine, name, str(count), region, zone, _price(rec["Price"]),
                    _price(rec["SpotPrice"])], path, line)
    return _sorted(rows)


def aws_zone_rows(path: str) -> list[list[str]]:
    """The rows of ``aws_gpu_zones.csv`` from a SkyPilot ``catalogs/v8/aws/vms.csv``."""
    rows: dict[tuple[str, str, int, str], list[str]] = {}
    for line, rec in _source_rows(path, AWS_NEEDS):
        itype = rec["InstanceType"].strip()
        family = itype.split(".", 1)[0]
        if family not in AWS_FAMILIES and not family.startswith(AWS_FAMILY_PREFIXES):
            continue
        name = rec["AcceleratorName"].strip()
        if not name:
            raise RefreshError(f"{path}:{line}: {itype} has no AcceleratorName")
        count = _count(rec["AcceleratorCount"], path, line)
        _add(rows, [itype, name, str(count), rec["Region"].strip(),
                    rec["AvailabilityZone"].strip(), _price(rec["Price"]),
                    _trim_zeros(rec["SpotPrice"])], path, line)
    return _sorted(rows)


def write_table(path: str, columns: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows(rows)


def derive_spot_discounts(data_dir: str,
                          previous: Sequence[SpotDiscount]) -> list[SpotDiscount]:
    """Spot discount per machine family: the snapshot's median where it applies.

    For each family of the catalogued shapes (defaults and alternatives), the types whose
    snapshot on-demand price in the reference region is the catalogue's own list price (within
    :data:`PRICE_TOLERANCE`) contribute every zone row that has both prices: ``1 - spot /
    on-demand``. The median, to two decimals, is the family's discount. A family no type
    qualifies for keeps its ``estimate`` row from ``previous``, with the reason in ``note``;
    without one this raises, because a discount must come from somewhere said.
    """
    prior = {(s.cloud, s.family): s for s in previous if s.method == "estimate"}
    dates = {cloud: _source_date(data_dir, f"skypilot-{cloud}-vms") for cloud in CLOUDS}
    found: list[SpotDiscount] = []
    for cloud in CLOUDS:
        tables = catalog.load_tables(cloud, data_dir)
        reference = REFERENCE_REGION[cloud]
        families: dict[str, list[catalog.MachineShape]] = {}
        for s in tables.shapes + tables.alternatives:
            families.setdefault(s.family, []).append(s)
        for family in sorted(families):
            used: list[str] = []
            samples: list[float] = []
            why: list[str] = []
            for s in families[family]:
                priced = [o.on_demand_hour_usd for o in tables.offers(s.machine_type, reference)
                          if o.on_demand_hour_usd is not None]
                if not priced:
                    why.append(f"{s.machine_type} has no snapshot on-demand price in {reference}")
                    continue
                other = [p for p in priced
                         if abs(p - s.on_demand_hour_usd) > PRICE_TOLERANCE * s.on_demand_hour_usd]
                if other:
                    why.append(f"{s.machine_type} is {other[0]:.2f}/h in the snapshot, "
                               f"{s.on_demand_hour_usd:.2f}/h in the catalogue ({reference})")
                    continue
                used.append(s.machine_type)
                for region in sorted(s.regions):
                    for o in tables.offers(s.machine_type, region):
                        if o.on_demand_hour_usd is not None and o.spot_hour_usd is not None:
                            samples.append(1.0 - o.spot_hour_usd / o.on_demand_hour_usd)
            if samples:
                found.append(SpotDiscount(
                    cloud, family, round(statistics.median(samples), 2), "snapshot-median",
                    len(samples), tuple(used), f"skypilot-{cloud}-vms", dates[cloud],
                    "left out: " + "; ".join(why) if why else ""))
                continue
            estimate = prior.get((cloud, family))
            if estimate is None:
                raise RefreshError(
                    f"{cloud} family {family}: the snapshot cannot price it ({'; '.join(why)}) "
                    "and spot_discounts.csv has no estimate row for it; add one "
                    "(method=estimate, with its source in sources.csv)")
            found.append(replace(estimate, note="not derived: " + "; ".join(why)))
    return found


def _source_date(data_dir: str, source_id: str) -> str:
    with open(os.path.join(data_dir, "sources.csv"), encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            if row["id"] == source_id:
                return row["date"]
    raise RefreshError(f"{data_dir}/sources.csv has no row {source_id!r}")


def write_spot_discounts(path: str, discounts: Sequence[SpotDiscount]) -> None:
    write_table(path, SPOT_COLUMNS, [
        [d.cloud, d.family, f"{d.discount:.2f}", d.method, str(d.samples),
         " ".join(d.machine_types), d.source, d.date, d.note] for d in discounts])


def _update_sources(path: str, updates: dict[str, tuple[str, str]]) -> None:
    """Set reference and date of the given source ids (``skypilot-<cloud>-vms``)."""
    with open(path, encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        rows = list(reader)
    for row in rows:
        if row[0] in updates:
            row[2], row[3] = updates.pop(row[0])
    if updates:
        raise RefreshError(f"{path}: no rows for {sorted(updates)}")
    write_table(path, header, rows)


def refresh(out: str, *, gcp: str | None = None, aws: str | None = None,
            commits: dict[str, str] | None = None, read_date: str = "") -> list[SpotDiscount]:
    """Regenerate the tables in ``out`` (a copy of ``components/data``); returns the discounts.

    Everything is built and checked in a scratch copy first; ``out`` changes only on success.
    """
    commits = commits or {}
    inputs = {"gcp": gcp, "aws": aws}
    with tempfile.TemporaryDirectory() as scratch:
        for name in catalog.DATA_FILES:
            shutil.copy(os.path.join(out, name), os.path.join(scratch, name))
        updates: dict[str, tuple[str, str]] = {}
        for cloud, path in inputs.items():
            if path is None:
                continue
            commit = commits.get(cloud, "")
            if not re.fullmatch(r"[0-9a-f]{7,40}", commit):
                raise RefreshError(f"--{cloud}-commit: give the skypilot-catalog commit the "
                                   f"file was read at (got {commit!r}); it is the provenance")
            rows = gcp_zone_rows(path) if cloud == "gcp" else aws_zone_rows(path)
            write_table(os.path.join(scratch, catalog.ZONE_FILES[cloud]), ZONE_COLUMNS, rows)
            updates[f"skypilot-{cloud}-vms"] = (
                f"skypilot-org/skypilot-catalog, catalogs/v8/{cloud}/vms.csv @ {commit}",
                read_date)
        if updates:
            _update_sources(os.path.join(scratch, "sources.csv"), updates)
        discounts = derive_spot_discounts(scratch, catalog.read_spot_discounts(scratch))
        write_spot_discounts(os.path.join(scratch, "spot_discounts.csv"), discounts)
        for cloud in CLOUDS:  # the catalogue's own checks: every shape still has zones, ...
            catalog.load_tables(cloud, scratch)
        catalog.read_spot_discounts(scratch)
        for name in catalog.DATA_FILES:
            shutil.copy(os.path.join(scratch, name), os.path.join(out, name))
    return discounts


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m components.data.refresh",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--gcp", help="SkyPilot catalogs/v8/gcp/vms.csv (a local file)")
    parser.add_argument("--gcp-commit", default="", help="skypilot-catalog commit it was read at")
    parser.add_argument("--aws", help="SkyPilot catalogs/v8/aws/vms.csv (a local file)")
    parser.add_argument("--aws-commit", default="", help="skypilot-catalog commit it was read at")
    parser.add_argument("--read-date", default=datetime.date.today().isoformat(),
                        help="date the files were read (default: today)")
    parser.add_argument("--spot-only", action="store_true",
                        help="only recompute spot_discounts.csv from the current tables")
    parser.add_argument("--out", default=catalog.DATA_DIR, help="data directory to update")
    args = parser.parse_args(argv)
    if not args.spot_only and args.gcp is None and args.aws is None:
        parser.error("give --gcp and/or --aws, or --spot-only")
    try:
        discounts = refresh(args.out, gcp=args.gcp, aws=args.aws, read_date=args.read_date,
                            commits={"gcp": args.gcp_commit, "aws": args.aws_commit})
    except (RefreshError, catalog.CatalogDataError, OSError) as exc:
        print(f"refresh: error: {exc}", file=sys.stderr)
        return 1
    for d in discounts:
        print(f"{d.cloud} {d.family}: spot discount {d.discount:.2f} ({d.method}"
              + (f", {d.samples} zone rows" if d.samples else "") + ")")
    print(f"updated {args.out}; review `git diff --stat {args.out}` and README.md's figures")
    return 0


if __name__ == "__main__":  # pragma: no cover - exercised through main() in tests
    raise SystemExit(main())
