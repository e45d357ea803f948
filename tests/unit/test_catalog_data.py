"""The GPU catalogue's data files: they parse, cite their sources, agree with each other, ship.

Lookups over the data are tested in ``test_catalog.py``; the refresh tool in
``test_catalog_refresh.py``.
"""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from components import catalog
from components.catalog import CLOUDS, DATA_DIR, DATA_FILES, REFERENCE_REGION, ZONE_FILES
from components.data import refresh

REPO = Path(__file__).resolve().parents[2]
DATA = Path(DATA_DIR)
ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def table(name: str) -> list[dict[str, str]]:
    with open(DATA / name, encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


# ---- every file parses -------------------------------------------------------------------

def test_data_dir_holds_exactly_the_files_the_catalogue_reads() -> None:
    present = {p.name for p in DATA.iterdir() if p.is_file() and p.suffix == ".csv"}
    assert present == set(DATA_FILES), "a data file is unused, or catalog.DATA_FILES lags"


@pytest.mark.parametrize("cloud", CLOUDS)
def test_tables_load_and_check(cloud: str) -> None:
    tables = catalog.load_tables(cloud)  # raises CatalogDataError naming file:line
    assert tables.shapes and tables.by_type
    assert {s.cloud for s in tables.shapes + tables.alternatives} == {cloud}


@pytest.mark.parametrize("name", ZONE_FILES.values())
def test_zone_tables_are_well_formed(name: str) -> None:
    rows = table(name)
    gcp = name.startswith("gcp")
    keys = [(r["instance_type"], r["accelerator_name"], r["accelerator_count"], r["zone"])
            for r in rows]
    assert len(keys) == len(set(keys)), f"{name}: duplicate rows"
    for line, r in enumerate(rows, start=2):
        where = f"{name}:{line}"
        assert int(r["accelerator_count"]) >= 1, where
        for column in ("price_usd_hour", "spot_price_usd_hour"):
            assert r[column] == "" or float(r[column]) >= 0, f"{where}: {column}"
        if gcp:
            assert r["zone"].rsplit("-", 1)[0] == r["region"], f"{where}: zone not in region"
        else:
            assert re.fullmatch(r"[a-z]+[0-9]+(-[a-z]+[0-9]+)?-az[0-9]+", r["zone"]), (
                f"{where}: {r['zone']} is not an AZ ID")
            assert r["instance_type"], f"{where}: AWS rows name their instance type"
    # Sorted the way refresh.py writes them, so a refresh diffs row by row.
    order = [(r["instance_type"], r["accelerator_name"], int(r["accelerator_count"]),
              r["region"], r["zone"]) for r in rows]
    assert order == sorted(order), f"{name}: rows not in refresh.py's order"


def test_zone_tables_match_the_documented_counts() -> None:
    # components/data/README.md states these figures; they move only with a refresh.
    readme = (DATA / "README.md").read_text(encoding="utf-8")
    for cloud, name in ZONE_FILES.items():
        rows = table(name)
        regions = {r["region"] for r in rows}
        zones = {r["zone"] for r in rows}
        label = "zone IDs" if cloud == "aws" else "zones"
        figure = f"{len(rows):,} rows, {len(regions)} regions, {len(zones)} {label}"
        assert figure in readme, f"README.md should say {cloud.upper()}: {figure}"


# ---- sources and provenance ---------------------------------------------------------------

def test_every_row_cites_a_known_source_with_a_date() -> None:
    known = catalog.sources()
    assert all(ISO_DATE.fullmatch(s.date) for s in known.values()), "sources.csv: dates"
    cited: list[tuple[str, str]] = []
    for line, r in enumerate(table("shapes.csv"), start=2):
        cited += [(f"shapes.csv:{line}", sid) for sid in r["price_source"].split("+")]
        cited.append((f"shapes.csv:{line}", r["spec_source"]))
        assert ISO_DATE.fullmatch(r["price_date"]), f"shapes.csv:{line}: price_date"
    for name in ("regions.csv", "spot_discounts.csv", "eks_excluded_zones.csv"):
        cited += [(f"{name}:{i}", r["source"]) for i, r in enumerate(table(name), start=2)]
    unknown = [(where, sid) for where, sid in cited if sid not in known]
    assert not unknown, f"source ids missing from sources.csv: {unknown}"


def test_price_date_is_the_month_of_the_reference_prices() -> None:
    for s in catalog.all_shapes():
        if "approx" not in s.note and "estimate" not in s.price_source:
            assert s.price_date.startswith(catalog.PRICE_DATE), (
                f"{s.machine_type}: priced {s.price_date}, PRICE_DATE says {catalog.PRICE_DATE}")


def test_readme_provenance_matches_sources_csv() -> None:
    readme = (DATA / "README.md").read_text(encoding="utf-8")
    for cloud, name in ZONE_FILES.items():
        snap = catalog.zone_snapshot(cloud)
        commit = snap.reference.rsplit("@", 1)[1].strip()
        row = f"| `{name}` | `catalogs/v8/{cloud}/vms.csv` | `{commit}` | {snap.date} |"
        assert row in readme, f"README.md provenance row for {name} should read: {row}"


def test_eks_exclusions_cite_the_eks_user_guide() -> None:
    source = catalog.sources()["eks-network-reqs"]
    assert "awsdocs/amazon-eks-user-guide" in source.reference
    assert "network-reqs.adoc" in source.reference


# ---- the data agree with each other -------------------------------------------------------

@pytest.mark.parametrize("cloud", CLOUDS)
def test_shape_accelerators_match_the_zone_rows(cloud: str) -> None:
    tables = catalog.load_tables(cloud)
    for s in tables.shapes + tables.alternatives:
        for rows in tables.zone_rows(s.machine_type).values():
            names = {(r.accelerator, r.gpus) for r in rows}
            assert names == {(s.zone_accelerator, s.gpus_per_node)}, (
                f"{s.machine_type}: zone rows say {names}, shapes.csv says "
                f"{s.zone_accelerator} x{s.gpus_per_node}")


def test_snapshot_prices_confirm_or_differ_where_documented() -> None:
    # Where the snapshot prices a type in the reference region, it confirms the catalogue's
    # list price (two sources, one figure) except for the GCP types documented in
    # components/data/README.md, whose catalogue price is kept.
    differ: set[str] = set()
    for cloud in CLOUDS:
        for s in catalog.all_shapes(cloud) + catalog.alternatives(cloud, "h100-80gb"):
            ref = REFERENCE_REGION[cloud]
            prices = {o.on_demand_hour_usd for o in catalog.offers(cloud, s.machine_type, ref)
                      if o.on_demand_hour_usd is not None}
            if any(abs(p - s.on_demand_hour_usd) > 1e-3 * s.on_demand_hour_usd for p in prices):
                differ.add(s.machine_type)
    assert differ == {
        "a2-ultragpu-1g", "a2-ultragpu-2g", "a2-ultragpu-4g", "a2-ultragpu-8g",
        "a3-highgpu-1g", "a3-highgpu-2g", "a3-highgpu-4g", "a3-highgpu-8g",
        "a3-ultragpu-8g", "a3-megagpu-8g",
    }, "the set of types whose snapshot price differs moved: update README.md and docs"


def test_spot_discounts_file_is_what_refresh_derives() -> None:
    derived = refresh.derive_spot_discounts(DATA_DIR, catalog.read_spot_discounts())
    shipped = catalog.read_spot_discounts()
    assert [(d.cloud, d.family, d.discount, d.method, d.samples) for d in derived] == [
        (d.cloud, d.family, d.discount, d.method, d.samples) for d in shipped
    ], "spot_discounts.csv is stale: run python -m components.data.refresh --spot-only"
    assert derived == list(shipped)


def test_every_family_has_a_spot_discount_and_only_those() -> None:
    for cloud in CLOUDS:
        families = {s.family for s in catalog.all_shapes(cloud)}
        listed = {d.family for d in catalog.read_spot_discounts() if d.cloud == cloud}
        assert families <= listed, f"{cloud}: no spot discount for {families - listed}"


def test_loader_names_file_and_line_of_a_bad_row(tmp_path: Path) -> None:
    for name in DATA_FILES:
        shutil.copy(DATA / name, tmp_path / name)
    shapes = (tmp_path / "shapes.csv").read_text(encoding="utf-8").splitlines()
    assert shapes[4].startswith("gcp,l4,1,g2-standard-8,")
    shapes[4] = shapes[4].replace(",l4,", ",l5,", 1)  # line 5: an accelerator org.yaml lacks
    (tmp_path / "shapes.csv").write_text("\n".join(shapes) + "\n", encoding="utf-8")
    with pytest.raises(catalog.CatalogDataError,
                       match=r"shapes\.csv:5: accelerator 'l5' is not in catalog\.ACCELERATORS"):
        catalog.load_tables("gcp", str(tmp_path))
    zones = (tmp_path / "gcp_gpu_zones.csv").read_text(encoding="utf-8")
    (tmp_path / "shapes.csv").write_text("\n".join(
        line.replace(",l5,", ",l4,") for line in shapes) + "\n", encoding="utf-8")
    (tmp_path / "gcp_gpu_zones.csv").write_text(
        "\n".join(line for line in zones.splitlines() if not line.startswith("g2-standard-8,"))
        + "\n", encoding="utf-8")
    with pytest.raises(catalog.CatalogDataError, match=r"g2-standard-8 has no rows in "
                                                        r"gcp_gpu_zones\.csv"):
        catalog.load_tables("gcp", str(tmp_path))


# ---- package data --------------------------------------------------------------------------

def test_a_built_package_would_include_every_data_file() -> None:
    # Ask setuptools' own build_py which data files it would put in the wheel, with the
    # configuration of pyproject.toml (no build, no files written).
    code = (
        "import json, warnings\n"
        "warnings.simplefilter('ignore')\n"
        "from setuptools.dist import Distribution\n"
        "from setuptools.config.pyprojecttoml import apply_configuration\n"
        "dist = apply_configuration(Distribution(), 'pyproject.toml')\n"
        "cmd = dist.get_command_obj('build_py'); cmd.ensure_finalized()\n"
        "cmd.manifest_files = {}\n"
        "print(json.dumps({'packages': dist.packages,\n"
        "    'files': cmd.find_data_files('components.data', 'components/data')}))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True,
                            text=True, check=True)
    found = json.loads(result.stdout)
    assert "components.data" in found["packages"], "components/data is not a package"
    shipped = {os.path.basename(f) for f in found["files"]}
    missing = (set(DATA_FILES) | {"README.md"}) - shipped
    assert not missing, f"pyproject package-data leaves out {sorted(missing)}"
