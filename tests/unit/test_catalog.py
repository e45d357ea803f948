"""Unit tests of components.catalog: lookups, zones, consistency of the data, prices, load cost.

The data files themselves (sources, provenance, package data) are checked in
``test_catalog_data.py``; the refresh tool in ``test_catalog_refresh.py``.
"""

from __future__ import annotations

import doctest
import subprocess
import sys
from pathlib import Path

import pytest

from components import catalog
from components.catalog import (
    ACCELERATORS,
    ALTERNATIVE_SHAPES,
    CLOUDS,
    HOURS_PER_MONTH,
    SYSTEM_POOL,
    CatalogError,
    MachineShape,
)

REPO = Path(__file__).resolve().parents[2]
EVERY_SHAPE = catalog.all_shapes() + ALTERNATIVE_SHAPES


def _ids(shape: MachineShape) -> str:
    return f"{shape.cloud}:{shape.machine_type}"


# ---- lookups ------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("cloud", "accelerator", "gpus", "machine_type"),
    [
        ("gcp", "t4", 1, "n1-standard-8"),
        ("gcp", "t4", 4, "n1-standard-32"),
        ("gcp", "l4", 1, "g2-standard-8"),
        ("gcp", "l4", 8, "g2-standard-96"),
        ("gcp", "a100-40gb", 16, "a2-megagpu-16g"),
        ("gcp", "a100-80gb", 2, "a2-ultragpu-2g"),
        ("gcp", "h100-80gb", 8, "a3-highgpu-8g"),
        ("gcp", "h200", 8, "a3-ultragpu-8g"),
        ("aws", "t4", 8, "g4dn.metal"),
        ("aws", "a10g", 1, "g5.2xlarge"),
        ("aws", "l4", 4, "g6.12xlarge"),
        ("aws", "l40s", 8, "g6e.48xlarge"),
        ("aws", "a100-40gb", 8, "p4d.24xlarge"),
        ("aws", "a100-80gb", 8, "p4de.24xlarge"),
        ("aws", "h100-80gb", 1, "p5.4xlarge"),
        ("aws", "h100-80gb", 8, "p5.48xlarge"),
        ("aws", "h200", 8, "p5en.48xlarge"),
    ],
)
def test_shape_lookup(cloud: str, accelerator: str, gpus: int, machine_type: str) -> None:
    found = catalog.shape(cloud, accelerator, gpus)
    assert found.machine_type == machine_type
    assert catalog.find_shape(cloud, accelerator, gpus) is found
    assert catalog.find_machine_type(cloud, machine_type) is found


def test_gcp_accelerator_types() -> None:
    expected = {
        "t4": "nvidia-tesla-t4",
        "l4": "nvidia-l4",
        "a100-40gb": "nvidia-tesla-a100",
        "a100-80gb": "nvidia-a100-80gb",
        "h100-80gb": "nvidia-h100-80gb",
        "h200": "nvidia-h200-141gb",
    }
    for accelerator, gcp_type in expected.items():
        for s in catalog.shapes("gcp", accelerator):
            assert s.gcp_accelerator_type == gcp_type, f"{s.machine_type}: wrong guest type"
    assert all(s.gcp_accelerator_type is None for s in catalog.all_shapes("aws"))


def test_gpu_counts_and_defaults() -> None:
    assert catalog.gpu_counts("gcp", "h100-80gb") == (1, 2, 4, 8)
    assert catalog.gpu_counts("gcp", "a100-40gb") == (1, 2, 4, 8, 16)
    assert catalog.gpu_counts("gcp", "t4") == (1, 2, 4)
    assert catalog.gpu_counts("aws", "a10g") == (1, 4, 8)
    assert catalog.default_gpus_per_node("gcp", "l4") == 1
    assert catalog.default_gpus_per_node("aws", "h200") == 8
    assert catalog.gpu_counts("gcp", "a10g") == ()


def test_accelerators_per_cloud_are_sorted_and_known() -> None:
    for cloud in CLOUDS:
        offered = catalog.accelerators(cloud)
        assert offered == tuple(sorted(offered)), f"{cloud}: accelerators() not sorted"
        assert set(offered) <= set(ACCELERATORS), f"{cloud}: name missing from ACCELERATORS"
    union = set(catalog.accelerators("gcp")) | set(catalog.accelerators("aws"))
    assert union == set(ACCELERATORS), "ACCELERATORS lists a name no cloud offers"
    assert "a10g" not in catalog.accelerators("gcp")
    assert "l40s" in catalog.accelerators("aws")


def test_shapes_sorted_by_gpu_count() -> None:
    for cloud in CLOUDS:
        for accelerator in catalog.accelerators(cloud):
            counts = [s.gpus_per_node for s in catalog.shapes(cloud, accelerator)]
            assert counts == sorted(set(counts)), f"{cloud}/{accelerator}: {counts}"


# ---- error messages -----------------------------------------------------------------------

def test_wrong_count_names_allowed_counts_and_types() -> None:
    with pytest.raises(KeyError) as err:
        catalog.shape("gcp", "h100-80gb", 3)
    message = str(err.value)
    assert message == (
        "h100-80gb on gcp comes in 1, 2, 4 or 8 GPUs per node (a3-highgpu-1g, a3-highgpu-2g, "
        "a3-highgpu-4g, a3-highgpu-8g); got 3"
    )
    with pytest.raises(CatalogError, match=r"comes only with 8 GPUs per node \(p5en"):
        catalog.shape("aws", "h200", 1)


def test_unknown_accelerator_suggests_and_lists() -> None:
    with pytest.raises(KeyError, match=r"did you mean 'h200'\?.*gcp offers .*h100-80gb"):
        catalog.shape("gcp", "h20", 8)
    with pytest.raises(KeyError, match="a10g is not offered on gcp \\(only on aws\\)"):
        catalog.shape("gcp", "a10g", 1)
    with pytest.raises(KeyError, match="a10g is not offered on gcp"):
        catalog.default_gpus_per_node("gcp", "a10g")


def test_unknown_cloud() -> None:
    with pytest.raises(KeyError, match="unknown cloud 'azure'"):
        catalog.accelerators("azure")
    with pytest.raises(KeyError, match="unknown cloud"):
        catalog.shape("azure", "t4", 1)
    assert catalog.find_shape("azure", "t4", 1) is None


def test_error_str_is_not_quoted() -> None:
    with pytest.raises(KeyError) as err:
        catalog.shape("gcp", "t4", 8)
    assert not str(err.value).startswith("'"), "KeyError message would print with quotes"


# ---- data consistency ---------------------------------------------------------------------

@pytest.mark.parametrize("s", EVERY_SHAPE, ids=_ids)
def test_shape_is_consistent(s: MachineShape) -> None:
    assert s.cloud in CLOUDS
    assert s.accelerator in ACCELERATORS
    assert s.gpus_per_node >= 1
    assert s.vcpus > 0 and s.memory_gb > 0 and s.gpu_memory_gb > 0
    assert s.on_demand_hour_usd > 0, f"{s.machine_type}: price must be positive"
    assert s.regions, f"{s.machine_type}: no regions"
    assert s.regions <= catalog.regions(s.cloud), (
        f"{s.machine_type}: regions not in regions({s.cloud!r}): "
        f"{sorted(s.regions - catalog.regions(s.cloud))}"
    )
    if s.cloud == "gcp":
        # The GPU count is part of the GCP type name: a3-highgpu-8g, a2-megagpu-16g.
        if s.family != "n1" and s.family != "g2":
            assert s.machine_type.split("-")[2] == f"{s.gpus_per_node}g", s.machine_type
        assert s.machine_type.startswith(s.family + "-")
        assert s.gcp_accelerator_type is not None
    else:
        assert s.machine_type.startswith(s.family + ".")
        assert s.gcp_accelerator_type is None
        assert s.bundled_local_ssd_gb == 0


def test_reference_region_offers_every_default_shape_or_is_documented() -> None:
    for s in catalog.all_shapes():
        ref = catalog.REFERENCE_REGION[s.cloud]
        assert ref in s.regions, f"{_ids(s)}: priced in {ref} but not offered there"


def test_one_default_per_count_and_alternatives_do_not_shadow() -> None:
    keys = [(s.cloud, s.accelerator, s.gpus_per_node) for s in catalog.all_shapes()]
    assert len(keys) == len(set(keys))
    for alt in ALTERNATIVE_SHAPES:
        default = catalog.shape(alt.cloud, alt.accelerator, alt.gpus_per_node)
        assert default.machine_type != alt.machine_type
        assert alt in catalog.alternatives(alt.cloud, alt.accelerator)
    assert catalog.shape("gcp", "h100-80gb", 8).machine_type == "a3-highgpu-8g"


def test_a3_high_small_shapes_are_spot_or_flex_only() -> None:
    for gpus in (1, 2, 4):
        assert not catalog.shape("gcp", "h100-80gb", gpus).on_demand_available
    assert catalog.shape("gcp", "h100-80gb", 8).on_demand_available


def test_single_gpu_nodes_have_eight_vcpus() -> None:
    for s in catalog.all_shapes():
        if s.gpus_per_node == 1 and s.family not in ("a2", "a3", "p5"):
            assert s.vcpus == 8, f"{_ids(s)}: 1-GPU nodes get 8 vCPUs"


def test_only_n1_needs_attached_gpus() -> None:
    attached = {s.machine_type for s in catalog.all_shapes() if s.gpu_attached}
    assert attached == {"n1-standard-8", "n1-standard-16", "n1-standard-32"}


def test_regions() -> None:
    assert {"us-central1", "europe-west4", "asia-northeast3"} <= catalog.regions("gcp")
    assert {"us-east-1", "eu-west-1", "ap-northeast-2"} <= catalog.regions("aws")
    assert "cn-north-1" not in catalog.regions("aws")
    assert "us-central1" in catalog.accelerator_regions("gcp", "h200")
    # H200 (A3 Ultra) is not in Tokyo; H100 (A3 High) is.
    assert "asia-northeast1" not in catalog.accelerator_regions("gcp", "h200")
    assert "asia-northeast1" in catalog.accelerator_regions("gcp", "h100-80gb")
    assert catalog.accelerator_regions("gcp", "a10g") == frozenset()


# ---- zones and derived regions ----------------------------------------------------------
# Hand-checked rows. Each expectation cites rows of the shipped zone tables, which are copies of
# skypilot-org/skypilot-catalog catalogs/v8/{gcp,aws}/vms.csv (commits in sources.csv); the GCP
# a2-ultragpu and AWS g6.2xlarge rows were also read in the source file itself.

@pytest.mark.parametrize(
    ("cloud", "machine_type", "region", "expected"),
    [
        # gcp_gpu_zones.csv: a2-ultragpu-1g,A100-80GB,1,us-central1,us-central1-a|-c,1.09962,...
        # and us-east4-c only (issue 17: "A100 80GB exists only in us-central1-a/c, us-east4-c").
        ("gcp", "a2-ultragpu-1g", "us-central1", ("us-central1-a", "us-central1-c")),
        ("gcp", "a2-ultragpu-8g", "us-east4", ("us-east4-c",)),
        # a3-ultragpu-8g (H200): one zone per region, us-central1-b.
        ("gcp", "a3-ultragpu-8g", "us-central1", ("us-central1-b",)),
        # a3-highgpu-1g,H100,1,europe-west8,europe-west8-c: the 1-GPU size is there, the 8-GPU
        # size is not (no a3-highgpu-8g row in europe-west8).
        ("gcp", "a3-highgpu-1g", "europe-west8", ("europe-west8-c",)),
        ("gcp", "a3-highgpu-8g", "europe-west8", ()),
        # n1-standard-8 + 1 T4: the T4 rows ",T4,1,us-central1,us-central1-{a,b,c,f},0.35,0.175".
        ("gcp", "n1-standard-8", "us-central1",
         ("us-central1-a", "us-central1-b", "us-central1-c", "us-central1-f")),
        # aws_gpu_zones.csv: g6.2xlarge,L4,1,us-east-1,use1-az{1,2,4,6},0.9776,...
        ("aws", "g6.2xlarge", "us-east-1", ("use1-az1", "use1-az2", "use1-az4", "use1-az6")),
        # p5.48xlarge,H100,8,us-east-1,use1-az1..az6 and use1-atl2-az1 (Atlanta Local Zone, left
        # out): offered in use1-az3 too, where EKS refuses cluster subnets (node groups may go).
        ("aws", "p5.48xlarge", "us-east-1",
         ("use1-az1", "use1-az2", "use1-az3", "use1-az4", "use1-az5", "use1-az6")),
        ("aws", "g6.2xlarge", "sa-east-1", ()),
    ],
)
def test_zones_against_hand_checked_rows(cloud: str, machine_type: str, region: str,
                                         expected: tuple[str, ...]) -> None:
    found = catalog.zones(cloud, machine_type, region)
    assert found == expected, f"{cloud} {machine_type} in {region}: zones {found}"


def test_aws_zones_leave_out_local_zones_unless_asked() -> None:
    # g4dn.2xlarge,T4,1,us-west-2,usw2-lax1-az1|-az2 (Los Angeles Local Zone, opt-in).
    default = catalog.zones("aws", "g4dn.2xlarge", "us-west-2")
    every = catalog.zones("aws", "g4dn.2xlarge", "us-west-2", include_local_zones=True)
    assert not any(catalog.is_local_zone(z) for z in default), default
    assert set(every) - set(default) == {"usw2-lax1-az1", "usw2-lax1-az2"}
    assert catalog.is_local_zone("use1-atl2-az1") and not catalog.is_local_zone("use1-az2")
    assert not catalog.is_local_zone("us-central1-a")


def test_eks_excluded_zone_ids_per_region() -> None:
    assert catalog.eks_excluded_zone_ids("us-east-1") == {"use1-az3"}
    assert catalog.eks_excluded_zone_ids("us-west-1") == {"usw1-az2"}
    assert catalog.eks_excluded_zone_ids("ca-central-1") == {"cac1-az3"}
    assert catalog.eks_excluded_zone_ids("eu-west-1") == frozenset()
    assert catalog.eks_excluded_zone_ids() == {"use1-az3", "usw1-az2", "cac1-az3"}


def test_unknown_machine_type_is_an_error_with_a_suggestion() -> None:
    with pytest.raises(CatalogError, match=r"'a2-ultragpu-1' is not in the GPU catalogue "
                                           r"\(did you mean 'a2-ultragpu-1g'\?\)"):
        catalog.zones("gcp", "a2-ultragpu-1", "us-central1")
    with pytest.raises(CatalogError, match="unknown cloud 'azure'"):
        catalog.zones("azure", "x", "y")
    # Types of the snapshot that are not default shapes still answer (g2-standard-4, a4).
    assert catalog.zones("gcp", "g2-standard-4", "us-central1")
    assert catalog.zones("gcp", "a4-highgpu-8g", "us-central1") == ("us-central1-b",)


@pytest.mark.parametrize("s", EVERY_SHAPE, ids=_ids)
def test_every_shape_has_zones_in_each_of_its_regions(s: MachineShape) -> None:
    for region in sorted(s.regions):
        found = catalog.zones(s.cloud, s.machine_type, region)
        assert found, f"{_ids(s)}: region {region} is listed but no zone offers it"
        prefix = region + "-" if s.cloud == "gcp" else ""
        assert all(z.startswith(prefix) for z in found), f"{_ids(s)}: {found} not in {region}"
    for region in sorted(catalog.regions(s.cloud) - s.regions):
        assert catalog.zones(s.cloud, s.machine_type, region) == (), f"{_ids(s)} in {region}"


def test_regions_are_derived_from_the_zone_snapshot() -> None:
    # Regions = the regions of the zone rows; see the CHANGELOG for what moved against the
    # hand-written sets (e.g. A3 High left asia-northeast3, g5.2xlarge left us-west-1).
    assert catalog.shape("gcp", "a100-80gb", 1).regions == {
        "asia-southeast1", "europe-west4", "us-central1", "us-east4", "us-east5"}
    h100 = catalog.shape("gcp", "h100-80gb", 1)
    assert "europe-west8" in h100.regions and "asia-northeast3" not in h100.regions
    assert "europe-west8" not in catalog.shape("gcp", "h100-80gb", 8).regions
    assert "us-west-1" not in catalog.shape("aws", "a10g", 1).regions
    assert "ap-northeast-2" in catalog.shape("aws", "h200", 8).regions
    assert catalog.shape("gcp", "t4", 1).regions == catalog.shape("gcp", "t4", 4).regions


def test_bundled_org_regions_keep_their_shapes() -> None:
    # The bundled and example orgs plan exactly as before the data move: their regions still
    # offer every shape they use.
    used = {
        "gcp": {("us-central1", "h100-80gb", 8), ("us-central1", "l4", 1),
                ("us-central1", "a100-80gb", 1), ("us-central1", "t4", 1),
                ("us-east4", "h100-80gb", 8), ("us-east4", "l4", 1),
                ("us-east4", "a100-80gb", 1), ("us-east4", "t4", 1),
                ("europe-west4", "a100-80gb", 1), ("europe-west4", "l4", 1),
                ("europe-west4", "l4", 4), ("europe-west4", "l4", 2),
                ("europe-west4", "h100-80gb", 8), ("europe-west4", "t4", 1)},
        "aws": {(r, a, g) for r in ("us-east-1", "us-west-2") for a, g in (
            ("h100-80gb", 8), ("l4", 1), ("a10g", 4), ("l40s", 1), ("h100-80gb", 1),
            ("t4", 1))},
    }
    for cloud, triples in used.items():
        for region, accelerator, gpus in sorted(triples):
            s = catalog.shape(cloud, accelerator, gpus)
            assert region in s.regions, f"{_ids(s)} no longer offered in {region}"


def test_gpu_zones_cover_every_shape_of_the_region() -> None:
    found = catalog.gpu_zones("gcp", "us-central1")
    assert set(found) == {"us-central1-a", "us-central1-b", "us-central1-c", "us-central1-f"}
    aws = catalog.gpu_zones("aws", "us-east-1")
    assert "use1-az3" in aws and not any(catalog.is_local_zone(z) for z in aws)


def test_offers_add_the_gcp_gpu_rows_to_the_vm_row() -> None:
    # a2-highgpu-1g in us-central1-a: 0.73948 (VM row) + 2.93391 (",A100,1" row) = 3.67339,
    # the catalogue's list price of 3.673385 from another source.
    offer = next(o for o in catalog.offers("gcp", "a2-highgpu-1g", "us-central1")
                 if o.zone == "us-central1-a")
    assert offer.on_demand_hour_usd == pytest.approx(3.67339)
    assert offer.on_demand_hour_usd == pytest.approx(
        catalog.shape("gcp", "a100-40gb", 1).on_demand_hour_usd, rel=1e-5)
    assert offer.spot_hour_usd == pytest.approx(0.36975 + 1.4341)
    # Unknown in the snapshot: a4-highgpu-8g (0.0) and the N1 VM under the T4s.
    assert all(o.on_demand_hour_usd is None
               for o in catalog.offers("gcp", "a4-highgpu-8g", "us-central1"))
    assert all(o.on_demand_hour_usd is None
               for o in catalog.offers("gcp", "n1-standard-8", "us-central1"))
    aws = catalog.offers("aws", "g6.2xlarge", "us-east-1")
    assert [o.zone for o in aws] == list(catalog.zones("aws", "g6.2xlarge", "us-east-1"))
    assert {o.on_demand_hour_usd for o in aws} == {0.9776}


def test_docs_catalog_examples_run() -> None:
    # docs/catalog.md shows the zone lookups as a doctest: it must stay true.
    failures, tried = doctest.testfile(str(REPO / "docs" / "catalog.md"), module_relative=False,
                                       optionflags=doctest.NORMALIZE_WHITESPACE)
    assert tried >= 6 and failures == 0, f"docs/catalog.md: {failures} of {tried} examples fail"


def test_zone_snapshot_names_its_commit() -> None:
    gcp = catalog.zone_snapshot("gcp")
    assert "catalogs/v8/gcp/vms.csv @ 006059e0f18acb1341e22a27751e9f80df6ba92f" in gcp.reference
    assert catalog.zone_snapshot("aws").date == "2026-12-03"


# ---- prices -------------------------------------------------------------------------------

def test_price_date_format() -> None:
    year, month = catalog.PRICE_DATE.split("-")
    assert len(year) == 4 and 1 <= int(month) <= 12


@pytest.mark.parametrize("s", EVERY_SHAPE, ids=_ids)
def test_spot_is_cheaper(s: MachineShape) -> None:
    discount = catalog.spot_discount(s.cloud, s.family)
    assert 0 < discount < 1
    spot = catalog.node_hour_usd(s, spot=True)
    assert 0 < spot < catalog.node_hour_usd(s, spot=False) == s.on_demand_hour_usd


def test_prices_grow_with_gpu_count() -> None:
    for cloud in CLOUDS:
        for accelerator in catalog.accelerators(cloud):
            prices = [s.on_demand_hour_usd for s in catalog.shapes(cloud, accelerator)]
            assert prices == sorted(prices), f"{cloud}/{accelerator}: {prices}"


def test_known_list_prices() -> None:
    assert catalog.shape("gcp", "h100-80gb", 8).on_demand_hour_usd == pytest.approx(88.49)
    assert catalog.shape("gcp", "a100-40gb", 1).on_demand_hour_usd == pytest.approx(3.673385)
    assert catalog.shape("gcp", "t4", 1).on_demand_hour_usd == pytest.approx(0.38 + 0.35, 1e-3)
    assert catalog.shape("aws", "h100-80gb", 8).on_demand_hour_usd == pytest.approx(55.04)
    s = catalog.shape("aws", "t4", 1)
    assert s.monthly_usd == pytest.approx(0.752 * HOURS_PER_MONTH)


def test_spot_discounts_come_from_the_snapshot_where_it_applies() -> None:
    g2 = catalog.spot_discount_info("gcp", "g2")
    assert g2.method == "snapshot-median" and g2.samples > 100, g2
    assert g2.source == "skypilot-gcp-vms"
    # a3: the snapshot's on-demand A3 prices are not the catalogue's basis, so the discount
    # stays an estimate, and the row says why.
    a3 = catalog.spot_discount_info("gcp", "a3")
    assert a3.method == "estimate" and "a3-highgpu-8g" in a3.note, a3
    for cloud in CLOUDS:
        families = {s.family for s in catalog.all_shapes(cloud)}
        for family in families:
            info = catalog.spot_discount_info(cloud, family)
            assert info.method in ("snapshot-median", "estimate"), info
            assert info.source in catalog.sources(), f"{cloud}/{family}: unknown source"


def test_unknown_spot_family() -> None:
    with pytest.raises(KeyError, match="no spot estimate for gcp family 'zz'"):
        catalog.spot_discount("gcp", "zz")


# ---- platform costs -----------------------------------------------------------------------

@pytest.mark.parametrize("cloud", CLOUDS)
@pytest.mark.parametrize("production", [False, True])
def test_platform_costs_positive(cloud: str, production: bool) -> None:
    costs = catalog.platform_costs(cloud, production=production)
    assert costs
    for c in costs:
        assert c.monthly_usd > 0, c.item
        assert c.item and c.note
    cluster_fee = costs[0]
    assert cluster_fee.monthly_usd == pytest.approx(0.10 * HOURS_PER_MONTH)


@pytest.mark.parametrize("cloud", CLOUDS)
def test_production_costs_more_and_matches_system_pool(cloud: str) -> None:
    def total(production: bool) -> float:
        return sum(c.monthly_usd for c in catalog.platform_costs(cloud, production=production))

    assert total(True) > total(False)
    pool = SYSTEM_POOL[cloud]
    low, high = catalog.system_pool_bounds(cloud, production=True)
    assert (low, high) == (pool["production_min_nodes"], pool["production_max_nodes"])
    assert catalog.system_pool_bounds(cloud, production=False) == (
        pool["min_nodes"], pool["max_nodes"])
    items = " ".join(c.item for c in catalog.platform_costs(cloud, production=True))
    assert f"{low} x {pool['machine_type']}" in items


def test_aws_nat_gateways_per_tier() -> None:
    def nat(production: bool) -> float:
        costs = catalog.platform_costs("aws", production=production)
        return next(c.monthly_usd for c in costs if c.item.startswith("NAT gateways"))

    assert nat(False) == pytest.approx(0.045 * HOURS_PER_MONTH, abs=0.01)
    assert nat(True) == pytest.approx(3 * 0.045 * HOURS_PER_MONTH, abs=0.01)


def test_gcp_nat_is_capped() -> None:
    assert catalog.gcp_nat_hour_usd(1) == pytest.approx(0.0014)
    assert catalog.gcp_nat_hour_usd(100) == pytest.approx(0.044)


# ---- load cost ------------------------------------------------------------------------------

def test_import_pulls_in_no_pulumi_or_pydantic_and_reads_no_data() -> None:
    code = (
        "import sys, components.catalog as c\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in "
        "('pulumi', 'pulumi_gcp', 'pulumi_aws', 'pulumi_kubernetes', 'pydantic', 'yaml'))\n"
        "print(','.join(bad))\n"
        "print(c._tables.cache_info().currsize, c._all_regions.cache_info().currsize)\n"
        "c.regions('gcp')\n"
        "print(c._tables.cache_info().currsize)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True
    )
    modules, loaded_at_import, loaded_by_regions = result.stdout.splitlines()
    assert modules == "", f"catalog import loaded: {modules}"
    assert loaded_at_import == "0 0", "importing components.catalog read data files"
    assert loaded_by_regions == "0", "regions() read the shape and zone tables"
