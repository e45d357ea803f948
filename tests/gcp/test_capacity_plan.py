"""Issue 21 on the GCP plan: flex-start and reservation node pools are what GKE takes, and the
pools of the two older modes keep the node config they always had (a changed one replaces a
pool)."""

from __future__ import annotations

import pytest

from components.gcp.gpu_pool import RESERVATION_KEY, capacity_config, capacity_of
from tests.gcp.helpers import NODE_POOL, one, subset


def test_reservation_pool_consumes_exactly_the_shared_reservation(prod_plan):
    pool = one(prod_plan, NODE_POOL, "recsys-train")
    subset(pool, {"nodeConfig": {
        "spot": False, "machineType": "a3-highgpu-8g",
        "reservationAffinity": {
            "consumeReservationType": "SPECIFIC_RESERVATION", "key": RESERVATION_KEY,
            "values": ["projects/acme-ml-shared/reservations/acme-h100-prod"]}},
        "management": {"autoRepair": True}})
    assert pool.inputs["nodeLocations"] == ["us-east4-b"], \
        "node pool recsys-train: a reservation lives in one zone; the pool runs there only"
    assert "flexStart" not in pool.inputs["nodeConfig"]
    assert prod_plan.outputs["teams"]["recsys"]["gpu_pools"]["train"]["capacity"] == \
        "reservation"


def test_flex_start_pool_is_dws_without_reservations_or_auto_repair(prod_plan):
    pool = one(prod_plan, NODE_POOL, "vision-finetune")
    subset(pool, {"nodeConfig": {
        "flexStart": True, "spot": False,
        "reservationAffinity": {"consumeReservationType": "NO_RESERVATION"}},
        "management": {"autoRepair": False, "autoUpgrade": True},
        "autoscaling": {"totalMinNodeCount": 0, "locationPolicy": "ANY"}})
    assert "queuedProvisioning" not in pool.inputs, \
        "node pool vision-finetune: no queued provisioning, so ordinary Jobs get nodes"


def test_pools_of_the_older_modes_keep_their_node_config(prod_plan, dev_plan):
    for plan_, name in ((prod_plan, "recsys-serve"), (dev_plan, "recsys-train"),
                        (dev_plan, "vision-finetune")):
        config = one(plan_, NODE_POOL, name).inputs["nodeConfig"]
        assert "reservationAffinity" not in config and "flexStart" not in config, \
            f"node pool {name}: on-demand/Spot pools must not gain capacity keys (replacement)"


def test_component_refuses_a_capacity_it_cannot_build():
    base = {"zones": ["us-central1-a"]}
    with pytest.raises(ValueError, match="spot: true contradicts capacity 'flex-start'"):
        capacity_of("p", {**base, "spot": True, "capacity": "flex-start"})  # type: ignore
    with pytest.raises(ValueError, match="reservation is given exactly with capacity"):
        capacity_of("p", {**base, "capacity": "reservation"})  # type: ignore[typeddict-item]
    with pytest.raises(ValueError, match="one zone"):
        capacity_of("p", {"capacity": "reservation", "reservation": "r",  # type: ignore
                          "zones": ["us-central1-a", "us-central1-b"]})
    assert capacity_of("p", {"spot": True}) == "spot"  # type: ignore[typeddict-item]
    assert capacity_config("on-demand", None) == capacity_config("spot", None) == {}
