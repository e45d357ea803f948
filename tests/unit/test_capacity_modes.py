"""Issue 21, capacity modes: org.yaml `capacity` and `reservation` are validated per cloud,
accelerator and region with located errors, decide the default shape, and are priced."""

from __future__ import annotations

import pytest

from components import catalog
from stacks.org.load import load
from stacks.org.resolve import resolve
from stacks.report.cost import estimate
from tests.conftest import MINIMAL_GCP, errors_of, one_error

MINIMAL_AWS = """\
version: 1
org: acme
cloud: aws
region: us-east-1
platform: {admin_cidrs: [203.0.113.7/32]}
environments:
  dev: {account: "111111111111"}
teams:
  ml:
    members: [arn:aws:iam::111111111111:role/ml-engineers]
    gpu_pools:
      serve: {accelerator: l4, max_nodes: 2}
"""


def gcp_pool(pool: str, *, tier: str = "sandbox") -> str:
    text = MINIMAL_GCP.replace("      serve: {accelerator: l4, max_nodes: 2}", f"      {pool}")
    return text.replace("dev: {project: acme-ml-dev}",
                        f"dev: {{project: acme-ml-dev, tier: {tier}}}")


def aws_pool(pool: str, *, region: str = "us-east-1") -> str:
    return MINIMAL_AWS.replace("      serve: {accelerator: l4, max_nodes: 2}",
                               f"      {pool}").replace("region: us-east-1", f"region: {region}")



def pool_spec(write_org, text: str, pool: str = "serve"):
    env = resolve(load(write_org(text)), "dev")
    return next(iter(env.teams.values())).pools[pool]


# ---- capacity and spot say the same thing ---------------------------------------------------

def test_capacity_and_spot_that_contradict_each_other_are_a_located_error(write_org):
    err = one_error(write_org, gcp_pool("serve: {accelerator: l4, capacity: on-demand, "
                                        "spot: true}"))
    assert "teams.recsys.gpu_pools.serve.spot: spot: true contradicts capacity: on-demand" \
        in err, err
    assert "remove `spot`" in err, err


def test_agreeing_spot_and_capacity_and_an_override_that_replaces_spot(write_org):
    assert pool_spec(write_org, gcp_pool("serve: {accelerator: l4, capacity: spot, "
                                         "spot: true}")).capacity == "spot"
    text = gcp_pool("serve: {accelerator: l4, spot: true}") + \
        "    overrides:\n      dev: {gpu_pools: {serve: {capacity: flex-start}}}\n"
    spec = pool_spec(write_org, text)
    assert (spec.capacity, spec.spot) == ("flex-start", False), \
        "the override's capacity replaces the team's spot: true (the more specific layer wins)"


def test_tier_default_still_decides_without_either_key(write_org):
    assert pool_spec(write_org, gcp_pool("serve: {accelerator: l4}")).capacity == "spot"
    assert pool_spec(write_org, gcp_pool("serve: {accelerator: l4}",
                                         tier="production")).capacity == "on-demand"


# ---- defaults follow the mode ---------------------------------------------------------------

@pytest.mark.parametrize(("tier", "capacity", "gpus", "machine"), [
    ("production", None, 8, "a3-highgpu-8g"),   # on demand: only the 8-GPU shape is sold
    ("sandbox", None, 1, "a3-highgpu-1g"),      # spot: the smallest
    ("production", "flex-start", 1, "a3-highgpu-1g"),
])
def test_gpus_per_node_defaults_to_the_smallest_count_sold_in_the_mode(
        write_org, tier, capacity, gpus, machine):
    extra = f", capacity: {capacity}" if capacity else ""
    spec = pool_spec(write_org, gcp_pool(f"serve: {{accelerator: h100-80gb{extra}}}",
                                         tier=tier).replace("us-central1", "us-east4"))
    assert (spec.gpus_per_node, spec.machine_type) == (gpus, machine), \
        f"{tier} h100-80gb ({capacity or 'tier default'}) should default to {machine}"


def test_production_h200_without_a_mode_says_which_modes_are_sold(write_org):
    err = one_error(write_org, gcp_pool("serve: {accelerator: h200}", tier="production"))
    assert "teams.recsys.gpu_pools.serve.accelerator: a3-ultragpu-8g (h200 x8) has no " \
           "on-demand capacity on gcp" in err, err
    assert "set capacity: spot, capacity: flex-start or capacity: reservation" in err, err


# ---- modes each shape is sold in ------------------------------------------------------------

def test_reservation_of_a_spot_or_flex_start_only_shape_is_refused_with_what_works(write_org):
    err = one_error(write_org, gcp_pool(
        "serve: {accelerator: h100-80gb, gpus_per_node: 2, capacity: reservation, "
        "reservation: {name: h100-res}, zones: [us-central1-a]}"))
    assert "serve.capacity: a3-highgpu-2g (h100-80gb x2) is not sold as reservation on gcp: " \
           "A3 High with 1, 2 or 4 GPUs is sold only as Spot or flex-start VMs" in err, err
    assert "use 8 GPUs per node (a3-highgpu-8g, sold as reservation)" in err, err


def test_flex_start_needs_an_accelerator_optimized_type(write_org):
    err = one_error(write_org, gcp_pool("serve: {accelerator: t4, capacity: flex-start}"))
    assert "n1-standard-8 (t4 x1) is not sold as flex-start on gcp in any GPU count: N1 + T4 " \
           "is a general-purpose type" in err, err
    assert "set capacity: on-demand, capacity: spot or capacity: reservation" in err, err


def test_flex_start_keeps_no_nodes_running(write_org):
    err = one_error(write_org, gcp_pool("serve: {accelerator: l4, capacity: flex-start, "
                                        "min_nodes: 1}"))
    assert "serve.min_nodes: min_nodes 1 with capacity: flex-start" in err, err
    assert "last at most 7 days" in err, err


def test_aws_has_no_flex_start_and_says_what_to_use_instead(write_org):
    err = one_error(write_org, aws_pool("serve: {accelerator: l4, capacity: flex-start}"))
    assert "teams.ml.gpu_pools.serve.capacity: AWS has no flex-start" in err, err
    assert "Capacity Block for ML" in err and "capacity: spot" in err, err


def test_capacity_blocks_only_for_the_types_and_regions_sold(write_org):
    err = one_error(write_org, aws_pool(
        "serve: {accelerator: l4, capacity: reservation, zones: [use1-az1], "
        "reservation: {id: cr-0123456789abcdef0, capacity_block: true}}"))
    assert "serve.reservation.capacity_block: g6.2xlarge (l4 x1) is not sold as a Capacity " \
           "Block for ML" in err, err
    assert "p5.48xlarge in ap-northeast-1, us-east-1, us-east-2, us-west-2" in err, err
    err = one_error(write_org, aws_pool(
        "serve: {accelerator: h200, capacity: reservation, zones: [use1-az2], "
        "reservation: {id: cr-0123456789abcdef0, capacity_block: true}}"))
    assert "p5en.48xlarge (h200 x8) is not sold as a Capacity Block in us-east-1" in err, err
    spec = pool_spec(write_org, aws_pool(
        "serve: {accelerator: h100-80gb, capacity: reservation, zones: [use1-az4], "
        "reservation: {id: cr-0123456789abcdef0, capacity_block: true}}"))
    assert (spec.machine_type, spec.reservation.capacity_block, spec.zone_ids) == \
        ("p5.48xlarge", True, ("use1-az4",)), \
        "a Capacity Block pool defaults to the 8-GPU p5 (the 1-GPU p5.4xlarge has no blocks)"


# ---- reservations ---------------------------------------------------------------------------

def test_reservation_mode_needs_a_reservation_and_a_reservation_needs_the_mode(write_org):
    err = one_error(write_org, gcp_pool("serve: {accelerator: l4, capacity: reservation, "
                                        "zones: [us-central1-a]}"))
    assert "serve.capacity: capacity: reservation needs the reservation to consume; add " \
           "`reservation: {name: h100-reservation}`" in err, err
    err = one_error(write_org, gcp_pool("serve: {accelerator: l4, reservation: {name: r1}}"))
    assert "serve.reservation: a reservation is only consumed with capacity: reservation " \
           "(this pool is spot in environment 'dev')" in err, err


def test_reservation_fields_are_written_the_clouds_way(write_org):
    errs = errors_of(write_org, gcp_pool(
        "serve: {accelerator: l4, capacity: reservation, zones: [us-central1-a], "
        "reservation: {id: cr-0123456789abcdef0, project: X}}"))
    assert any("reservation.id: id is for aws reservations" in e for e in errs), errs
    assert any("serve.reservation: name is required on gcp" in e for e in errs), errs
    assert any("reservation.project: 'X' is not valid: expected a GCP project id" in e
               for e in errs), errs
    errs = errors_of(write_org, aws_pool(
        "serve: {accelerator: l4, capacity: reservation, zones: [use1-az1], "
        "reservation: {id: cr-123, name: mine}}"))
    assert any("reservation.name: name is for gcp reservations" in e for e in errs), errs
    assert any("reservation.id: 'cr-123' is not valid: expected a capacity reservation id"
               in e for e in errs), errs


def test_a_reservation_pool_runs_in_the_one_zone_of_its_reservation(write_org):
    err = one_error(write_org, gcp_pool("serve: {accelerator: l4, capacity: reservation, "
                                        "reservation: {name: l4-res, project: acme-shared}}"))
    assert "serve.reservation: a reservation lives in one zone" in err, err
    assert "gcloud compute reservations list --filter=name=l4-res --project=acme-shared" in err
    err = one_error(write_org, aws_pool(
        "serve: {accelerator: l4, capacity: reservation, zones: [use1-az1, use1-az2], "
        "reservation: {id: cr-0123456789abcdef0}}"))
    assert "serve.zones: a reservation lives in one zone" in err and "got 2 zones" in err, err
    assert "aws ec2 describe-capacity-reservations --capacity-reservation-ids " \
           "cr-0123456789abcdef0 --region us-east-1" in err, err
    assert "the reservation must be for g6.2xlarge (Linux/UNIX) in that zone" in err, \
        "EC2 matches a reservation by instance type, platform and zone: say which type"


def test_shared_and_own_reservations_resolve_to_the_reference_gke_takes(write_org):
    shared = pool_spec(write_org, gcp_pool(
        "serve: {accelerator: l4, capacity: reservation, zones: [us-central1-a], "
        "reservation: {name: l4-res, project: acme-shared}}"))
    assert shared.reservation.reference == "projects/acme-shared/reservations/l4-res"
    own = pool_spec(write_org, gcp_pool(
        "serve: {accelerator: l4, capacity: reservation, zones: [us-central1-a], "
        "reservation: {name: l4-res}}"))
    assert (own.reservation.reference, own.reservation.project, own.zones) == \
        ("l4-res", "acme-ml-dev", ("us-central1-a",))


# ---- cost knows the mode --------------------------------------------------------------------

def test_cost_prices_each_mode_its_own_way(write_org):
    text = gcp_pool(
        "serve: {accelerator: l4, capacity: reservation, zones: [us-central1-a], max_nodes: 3, "
        "reservation: {name: l4-res}}\n"
        "      tune: {accelerator: a100-80gb, gpus_per_node: 1, capacity: flex-start, "
        "max_nodes: 2}\n"
        "      big: {accelerator: h100-80gb, gpus_per_node: 8, capacity: spot}")
    report = estimate(resolve(load(write_org(text)), "dev"))
    pools = {p.pool: p for t in report.teams for p in t.pools}
    l4 = catalog.shape("gcp", "l4", 1)
    assert pools["serve"].idle_monthly_usd == pytest.approx(
        3 * l4.on_demand_hour_usd * 730), "a reservation bills every reserved node at idle"
    a100 = catalog.shape("gcp", "a100-80gb", 1)
    assert pools["tune"].node_hour_usd == pytest.approx(a100.on_demand_hour_usd * (1 - 0.53)), \
        "flex-start: Google's documented DWS discount for A2"
    assert pools["tune"].idle_monthly_usd == 0
    h100 = catalog.shape("gcp", "h100-80gb", 8)
    assert pools["big"].node_hour_usd == pytest.approx(88.49 * 0.40, rel=1e-3), \
        "a3 Spot is 60% off (GCP price list of 2025-03: $35.40/h for $88.49/h)"
    assert h100.on_demand_hour_usd == pytest.approx(88.49)
    note = report.estimate_note()
    assert "flex-start at Google's documented DWS discount (53% off for a2" in note, note
    assert "reservation pools are billed for every reserved node" in note, note
    row = next(p for p in report.to_json()["teams"][0]["pools"] if p["pool"] == "serve")
    assert (row["capacity"], row["billed_idle_nodes"]) == ("reservation", 3)


def test_every_catalogued_shape_has_capacity_data_that_agrees_with_shapes_csv():
    for cloud in catalog.CLOUDS:
        for shape in catalog.all_shapes(cloud):
            options = catalog.capacity_options(cloud, shape.machine_type)
            assert options.supports("on-demand") == shape.on_demand_available, shape
            assert options.pool_modes, f"{shape.machine_type} is sold in no mode"
            assert catalog.gpu_quotas(shape, preemptible=False), \
                f"{shape.machine_type}: no quota the preflight could check"


def test_an_unknown_region_is_one_error_even_for_a_pool_with_zones(write_org):
    """The reservation pool's zone cannot be judged in a region that does not exist (found by
    the CLI fuzz test: it crashed deriving the region's zone-ID prefix)."""
    err = one_error(write_org, aws_pool(
        "serve: {accelerator: h100-80gb, capacity: reservation, zones: [use1-az4], "
        "reservation: {id: cr-0123456789abcdef0}}", region="nowhere"))
    assert "region: 'nowhere' is not a aws region" in err, err
