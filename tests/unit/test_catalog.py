"""Unit tests of components.catalog: lookups, consistency of the data, prices, import cost."""

from __future__ import annotations

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


# ---- import cost --------------------------------------------------------------------------

def test_import_pulls_in_no_pulumi_or_pydantic() -> None:
    code = (
        "import sys, components.catalog\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in "
        "('pulumi', 'pulumi_gcp', 'pulumi_aws', 'pulumi_kubernetes', 'pydantic', 'yaml'))\n"
        "print(','.join(bad))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "", f"catalog import loaded: {result.stdout.strip()}"
