"""Issue 17: the new org.yaml fields and rules, each mistake a located, actionable error."""

from __future__ import annotations

import pytest

from stacks.org import maintenance
from stacks.org.load import load
from tests.conftest import GCP_PLATFORM, MINIMAL_GCP, one_error


def with_pool(pool: str) -> str:
    return MINIMAL_GCP.replace("      serve: {accelerator: l4, max_nodes: 2}", f"      {pool}")


def with_platform(extra: str) -> str:
    return MINIMAL_GCP.replace(GCP_PLATFORM, GCP_PLATFORM.rstrip("}\n") + f", {extra}}}\n")


# ---- zones ----------------------------------------------------------------------------------

def test_zone_of_another_region_lists_the_zones_that_work(write_org):
    err = one_error(write_org, with_pool(
        "serve: {accelerator: a100-80gb, gpus_per_node: 1, zones: [us-east4-c]}"))
    assert "teams.recsys.gpu_pools.serve.zones[0]: zone 'us-east4-c' is not in us-central1" in err
    assert "us-central1-a, us-central1-c" in err, err


def test_zone_that_does_not_sell_the_machine_type_suggests_one_that_does(write_org):
    err = one_error(write_org, with_pool(
        "serve: {accelerator: a100-80gb, gpus_per_node: 1, zones: [us-central1-b]}"))
    assert "zone 'us-central1-b' does not offer a2-ultragpu-1g (a100-80gb x1)" in err, err
    assert "zones of us-central1 that do: us-central1-a, us-central1-c" in err, err


def test_empty_or_repeated_zones_are_errors(write_org):
    err = one_error(write_org, with_pool("serve: {accelerator: l4, zones: []}"))
    assert "an empty list leaves the pool nowhere to run" in err, err
    err = one_error(write_org, with_pool(
        "serve: {accelerator: l4, zones: [us-central1-a, us-central1-a]}"))
    assert "zones[1]: zone 'us-central1-a' is listed twice" in err, err


def test_no_zone_of_the_region_is_a_located_error(write_org):
    err = one_error(write_org, with_pool("serve: {accelerator: h200, gpus_per_node: 8}")
                    .replace("region: us-central1", "region: europe-west2"))
    assert "teams.recsys.gpu_pools.serve.accelerator: no zone of europe-west2" in err, err
    assert "could not be placed" in err and "regions that offer it" in err, err


def test_h200_on_demand_is_refused_with_the_reason(write_org):
    text = with_pool("serve: {accelerator: h200, gpus_per_node: 8, spot: false}")
    err = one_error(write_org, text)
    assert "teams.recsys.gpu_pools.serve.spot: a3-ultragpu-8g (h200 x8) has no on-demand" in err
    assert "sold through reservations" in err and "set spot: true" in err, err
    assert load(write_org(text.replace("spot: false", "spot: true")))


# ---- cpu share ----------------------------------------------------------------------------

def test_cpu_share_needs_both_numbers(write_org):
    err = one_error(write_org, MINIMAL_GCP.replace("    gpu_pools:", "    cpu: {vcpus: 8}\n"
                                                   "    gpu_pools:"))
    assert "teams.recsys.cpu: 'memory_gb' is required here" in err, err
    err = one_error(write_org, MINIMAL_GCP.replace(
        "    gpu_pools:", "    cpu: {vcpus: 0, memory_gb: 8}\n    gpu_pools:"))
    assert "teams.recsys.cpu.vcpus: got 0; allowed: at least 1" in err, err


# ---- currency -------------------------------------------------------------------------------

def test_budget_currency_is_an_iso_code(write_org):
    err = one_error(write_org, with_platform("budget_currency: eur"))
    assert "platform.budget_currency: 'eur' is not valid" in err, err
    assert "(did you mean 'EUR'?)" in err, err
    assert load(write_org(with_platform("budget_currency: JPY")))


# ---- maintenance ----------------------------------------------------------------------------

@pytest.mark.parametrize(("window", "problem"), [
    ("Sat 02:00-06:00", "as little as 16 hours of maintenance in 32 days; GKE needs 48"),
    ("Sat,Sun 01:00-03:00", "GKE counts only windows of at least 4 hours"),
    ("Caturday 00:00-08:00", "are not days"),
    ("Sat,Sun 25:00-08:00", "'25:00' is not a time of day"),
    ("weekends", "is not a window"),
])
def test_maintenance_windows_gke_would_refuse(write_org, window, problem):
    err = one_error(write_org, with_platform(f'maintenance: {{window: "{window}"}}'))
    assert "platform.maintenance.window:" in err and problem in err, err


@pytest.mark.parametrize(("exclusion", "field", "problem"), [
    ("{start: 2026-12-01, end: 2026-11-01}", "end", "ends (2026-11-01) before it starts"),
    ("{start: 2026-12-01, end: 2027-01-15, scope: no_upgrades}", "end",
     "lasts 46 days; GKE allows no_upgrades exclusions of at most 30 days"),
    ("{start: 2026-01-01, end: 2026-12-31}", "end", "at most 180 days"),
    ("{start: 1st of May, end: 2026-05-03}", "start", "'1st of May' is not a date"),
])
def test_maintenance_exclusions_gke_would_refuse(write_org, exclusion, field, problem):
    err = one_error(write_org, with_platform(
        f"maintenance: {{exclusions: {{launch: {exclusion}}}}}"))
    assert f"platform.maintenance.exclusions.launch.{field}:" in err and problem in err, err


def test_window_wrapping_midnight_is_one_window():
    window, problem = maintenance.parse_window("Fri 20:00-08:00")
    assert problem is None and window is not None
    assert window.hours == 12 and window.first() == ("2025-01-10T20:00:00Z",
                                                      "2025-01-11T08:00:00Z")
    assert window.recurrence == "FREQ=WEEKLY;BYDAY=FR"


def test_maintenance_is_for_gcp_only(write_org):
    text = (MINIMAL_GCP.replace(GCP_PLATFORM, "").replace("cloud: gcp", "cloud: aws")
            .replace("us-central1", "us-east-1")
            .replace("project: acme-ml-dev", "account: '123456789012'")
            .replace("group:recsys@acme.com", "arn:aws:iam::123456789012:role/recsys")
            + "platform: {admin_cidrs: [203.0.113.0/24], "
              "maintenance: {window: 'Sat,Sun 00:00-08:00'}}\n")
    assert "platform.maintenance: maintenance is for gcp only" in one_error(write_org, text)
