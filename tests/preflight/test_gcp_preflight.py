"""`trellis preflight` on GCP, through google-api-python-client and recorded API responses.

The bundled org's prod: recsys/train on a reservation shared by acme-ml-shared (us-east4-b),
recsys/serve 8 on-demand L4 nodes, vision/finetune 2 flex-start A100 80GB nodes. The recorded
quotas are tests/data/preflight/gcp-region-us-east4.json (NVIDIA_L4_GPUS 4, no preemptible
A100 80GB quota, A100 80GB 8) and gcp-project-acme-ml-prod.json (GPUS_ALL_REGIONS 16).
"""

from __future__ import annotations

import json

import pytest

from components import catalog
from stacks.org.load import load
from stacks.org.resolve import resolve
from stacks.plan.engine import plan
from stacks.preflight import gcp
from tests.conftest import BUNDLED_GCP
from tests.preflight.recorded import (
    COMPUTE,
    GCP_REGION,
    error,
    google_environment,
    reservation,
)

RESERVATION = f"{COMPUTE}/acme-ml-shared/zones/us-east4-b/reservations/acme-h100-prod"


@pytest.fixture(scope="module")
def prod():
    env = resolve(load(BUNDLED_GCP), "prod")
    return env, plan(env)


def offered_everywhere() -> dict[str, set[str]]:
    offered: dict[str, set[str]] = {}
    for machine in ("g2-standard-8", "a2-ultragpu-1g", "a3-highgpu-8g"):
        for zone in catalog.zones("gcp", machine, "us-east4"):
            offered.setdefault(zone, set()).add(machine)
    return offered


def healthy(**kwargs):
    """Everything answered, the reservation READY with room: only the L4 quota is short."""
    g = google_environment(offered=offered_everywhere(), **kwargs)
    g.json("GET", RESERVATION, "compute.v1", "Reservation", reservation(
        "acme-ml-shared", "us-east4-b", "acme-h100-prod", machine="a3-highgpu-8g", count=4,
        in_use=1, shared_with=("acme-ml-prod",)))
    return g


def run(prod, g):
    env, planned = prod
    return gcp.run(env, planned, gcp.GcpApis(http=g), source="recorded responses")


def rows(report, subject: str) -> dict[str, object]:
    return {r.check: r for r in report.rows if r.subject == subject}


def test_enough_quota_everywhere_exits_zero(prod):
    g = healthy()
    region = json.loads(GCP_REGION.read_text())
    for q in region["quotas"]:
        if q["metric"] == "NVIDIA_L4_GPUS":
            q["limit"] = 8.0
    g.json("GET", f"{COMPUTE}/acme-ml-prod/regions/us-east4", "compute.v1", "Region", region)
    report = run(prod, g)
    assert report.exit_code == 0, [r for r in report.rows if r.verdict != "ok"]
    assert report.to_json()["pools"] == {"recsys/train": "ok", "recsys/serve": "ok",
                                         "vision/finetune": "ok"}
    serve = rows(report, "recsys/serve")["quota NVIDIA_L4_GPUS (us-east4)"]
    assert serve.detail.endswith("limit 8, used 0"), serve.detail


def test_too_little_quota_is_short_by_the_gpus_missing_with_the_request(prod):
    report = run(prod, healthy())
    row = rows(report, "recsys/serve")["quota NVIDIA_L4_GPUS (us-east4)"]
    assert (row.verdict, row.short_by, row.unit) == ("short", 4, "GPUs"), row
    assert row.verdict_text == "short by 4 GPUs"
    assert "request NVIDIA_L4_GPUS = 8 in us-east4 for project acme-ml-prod" in row.next_step
    assert report.exit_code == 1 and report.pool_verdict("vision/finetune") == "ok"


def test_flex_start_without_preemptible_quota_draws_on_the_standard_quota(prod):
    row = rows(run(prod, healthy()), "vision/finetune")["quota NVIDIA_A100_80GB_GPUS (us-east4)"]
    assert row.verdict == "ok", row
    assert "no PREEMPTIBLE_NVIDIA_A100_80GB_GPUS quota in us-east4" in row.detail, row.detail


def test_global_quota_is_shared_by_every_pool(prod):
    report = run(prod, healthy())
    for subject in ("recsys/serve", "vision/finetune"):
        row = rows(report, subject)["quota GPUS_ALL_REGIONS"]
        assert "10 GPUs together" in row.detail and row.verdict == "ok", row
    assert "quota GPUS_ALL_REGIONS" not in rows(report, "recsys/train"), \
        "a reservation pool draws on its reservation, not on quota"


def test_a_zone_that_does_not_sell_the_machine_type(prod):
    g = healthy()
    del g.routes[("GET", f"{COMPUTE}/acme-ml-prod/zones/us-east4-c/machineTypes/g2-standard-8")]
    row = rows(run(prod, g), "recsys/serve")["zones"]
    assert (row.verdict, row.short_by) == ("short", 1), row
    assert "g2-standard-8 is not offered to acme-ml-prod in us-east4-c" in row.detail
    assert row.next_step == "set zones: [us-east4-a] on the pool"
    assert ("GET", f"{COMPUTE}/acme-ml-prod/zones/us-east4-a/machineTypes/g2-standard-8",
            None) in g.calls


def test_a_missing_reservation_gets_the_command_that_creates_it(prod):
    g = healthy()
    del g.routes[("GET", RESERVATION)]
    row = rows(run(prod, g), "recsys/train")["reservation acme-h100-prod"]
    assert (row.verdict, row.short_by, row.unit) == ("short", 2, "VMs"), row
    assert row.next_step == (
        "gcloud compute reservations create acme-h100-prod --project=acme-ml-shared "
        "--zone=us-east4-b --machine-type=a3-highgpu-8g --vm-count=2 "
        "--require-specific-reservation --share-setting=projects --share-with=acme-ml-prod")


@pytest.mark.parametrize(("change", "words"), [
    ({"count": 2, "in_use": 1}, "short by 1 VMs"),
    ({"shared_with": ()}, "it is not shared with acme-ml-prod"),
    ({"specific": False}, "it is not specific-only"),
    ({"machine": "a3-megagpu-8g"}, "it reserves a3-megagpu-8g, the pool runs a3-highgpu-8g"),
])
def test_a_reservation_without_room_for_the_pool(prod, change, words):
    g = healthy()
    spec = {"machine": "a3-highgpu-8g", "count": 4, "in_use": 1,
            "shared_with": ("acme-ml-prod",), **change}
    g.json("GET", RESERVATION, "compute.v1", "Reservation",
           reservation("acme-ml-shared", "us-east4-b", "acme-h100-prod", **spec))
    row = rows(run(prod, g), "recsys/train")["reservation acme-h100-prod"]
    assert row.verdict == "short" and (words in row.detail or words in row.verdict_text), row


def test_a_denied_permission_names_it_and_the_role_that_grants_it(prod):
    g = healthy(denied=frozenset({"container.clusters.create", "container.clusters.update"}))
    report = run(prod, g)
    [row] = [r for key, r in rows(report, "environment").items()
             if key.startswith("permissions (")]
    assert (row.verdict, row.short_by) == ("short", 2), row
    assert "denied on acme-ml-prod: container.clusters.create, container.clusters.update" \
        in row.detail
    assert row.next_step == ("gcloud projects add-iam-policy-binding acme-ml-prod "
                             "--member=user:$(gcloud config get-value account) "
                             "--role=roles/container.admin")
    asked = next(body for method, path, body in g.calls if path.endswith(":testIamPermissions"))
    assert {"container.clusters.create", "iam.serviceAccounts.create",
            "storage.buckets.create", "cloudkms.keyRings.create"} <= set(asked["permissions"]), \
        "testIamPermissions asks for what the plan creates"


def test_disabled_apis_are_fine_when_the_deployer_may_enable_them(prod):
    g = healthy(disabled=frozenset({"aiplatform.googleapis.com"}))
    row = rows(run(prod, g), "environment")["APIs (16)"]
    assert row.verdict == "ok" and "pulumi up` enables them" in row.detail, row
    g = healthy(disabled=frozenset({"aiplatform.googleapis.com"}),
                denied=frozenset({"serviceusage.services.enable"}))
    row = rows(run(prod, g), "environment")["APIs (16)"]
    assert row.verdict == "short", row
    assert row.next_step == "gcloud services enable aiplatform.googleapis.com " \
                            "--project=acme-ml-prod"


def test_an_api_error_is_unknown_not_ok(prod):
    g = healthy()
    g.on("GET", f"{COMPUTE}/acme-ml-prod/regions/us-east4", "compute.v1", "Region",
         lambda _q, _b: error(403, "Required 'compute.regions.get' permission for "
                                   "'projects/acme-ml-prod'", "forbidden"))
    report = run(prod, g)
    row = rows(report, "recsys/serve")["quota NVIDIA_L4_GPUS (us-east4)"]
    assert row.verdict == "unknown" and "compute.regions.get us-east4 failed: 403" in row.detail
    assert report.exit_code == 1


def test_json_report_is_the_documented_contract(prod):
    data = run(prod, healthy()).to_json()
    assert set(data) == {"org", "cloud", "environment", "region", "target", "source", "pools",
                         "rows", "summary", "exit_code"}
    assert data["summary"] == "2 of 3 GPU pools can start at max_nodes, 1 short"
    assert {"subject", "check", "verdict", "verdict_text", "short_by", "unit", "detail",
            "next_step"} == set(data["rows"][0])


def test_kubernetes_version_has_what_the_plan_needs(prod):
    """prod is on STABLE (recorded default 1.32.9-gke.1108000): flex-start (vision/finetune)
    needs 1.32.2-gke.1652000, the admission policy 1.30; both there."""
    _, planned = prod
    assert [v for v, _ in gcp.version_needs(planned)] == ["1.32.2-gke.1652000", "1.30"]
    row = rows(run(prod, healthy()), "environment")["Kubernetes version"]
    assert row.verdict == "ok" and "1.32.9-gke.1108000" in row.detail, row


@pytest.mark.parametrize(("default", "words"), [
    ("1.32.1-gke.1729000", "flex-start node pools (vision-finetune) need 1.32.2-gke.1652000"),
    ("1.29.15-gke.1000000", "ValidatingAdmissionPolicy (admissionregistration.k8s.io/v1) "
                            "need 1.30"),
])
def test_a_channel_default_older_than_the_plan_needs_is_short(prod, default, words):
    from tests.preflight.recorded import server_config

    config = server_config()
    for c in config["channels"]:
        if c["channel"] == "STABLE":
            c["defaultVersion"] = default
    g = healthy()
    g.json("GET", "/v1/projects/acme-ml-prod/locations/us-east4/serverConfig", "container.v1",
           "ServerConfig", config)
    report = run(prod, g)
    row = rows(report, "environment")["Kubernetes version"]
    assert row.verdict == "short" and words in row.detail, row
    assert "--filter=channel=STABLE" in row.next_step, row.next_step
    assert report.exit_code == 1


def test_gke_versions_compare_by_number():
    assert gcp.gke_version("1.32.2-gke.1652000") == (1, 32, 2, 1652000)
    assert gcp.gke_version("1.32.10-gke.1") > gcp.gke_version("1.32.2-gke.1652000")
    assert gcp.gke_version("1.30") <= gcp.gke_version("1.30.0-gke.1")
