"""Issue 21 on the AWS plan: a Capacity Block and an On-Demand Capacity Reservation as EKS takes
them (launch template market type and reservation target, node group capacity type, the one
zone's subnet), other node groups unchanged."""

from __future__ import annotations

import pytest

from components.aws.gpu_node_group import GpuNodeGroup, capacity_of, capacity_type
from tests.plan_queries import one

NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"


def test_capacity_block_pool_targets_its_block_in_its_zone(prod_plan):
    group = one(prod_plan, NODE_GROUP, "recsys-train")
    assert group.inputs["capacityType"] == "CAPACITY_BLOCK", \
        "node group recsys-train: EKS rejects a Capacity Block group of another capacity type"
    assert group.inputs["instanceTypes"] == ["p5.48xlarge"]
    subnets = {r.outputs["id"]: r.inputs["availabilityZoneId"]
               for r in prod_plan.of_type("aws:ec2/subnet:Subnet") if "-private-" in r.name}
    assert [subnets[s] for s in group.inputs["subnetIds"]] == ["usw2-az2"], \
        "node group recsys-train: only the subnet of the Capacity Block's zone"
    template = one(prod_plan, TEMPLATE, "recsys-train")
    assert template.inputs["instanceMarketOptions"] == {"marketType": "capacity-block"}
    assert template.inputs["capacityReservationSpecification"] == {
        "capacityReservationTarget": {"capacityReservationId": "cr-0a1b2c3d4e5f60718"}}
    assert template.inputs["metadataOptions"]["httpTokens"] == "required", \
        "the capacity keys come on top of the hardened template"


def test_other_node_groups_keep_their_templates(prod_plan, dev_plan):
    for plan_, name in ((prod_plan, "recsys-serve"), (dev_plan, "recsys-train")):
        template = one(plan_, TEMPLATE, name)
        assert "capacityReservationSpecification" not in template.inputs and \
            "instanceMarketOptions" not in template.inputs, \
            f"launch template {name}: no capacity keys outside reservation pools"
    assert one(dev_plan, NODE_GROUP, "recsys-train").inputs["capacityType"] == "SPOT"


def test_on_demand_capacity_reservation_group(run):
    def program() -> None:
        GpuNodeGroup("team-odcr", {
            "cluster_name": "c", "team": "team", "pool": "odcr", "node_group_name": "odcr",
            "node_role_name": "odcr", "launch_template_name": "odcr", "subnet_ids": ["s"],
            "instance_type": "g6.12xlarge", "accelerator": "l4", "gpus_per_node": 4,
            "capacity": "reservation", "capacity_reservation_id": "cr-0123456789abcdef0"})

    p = run(program)
    assert one(p, NODE_GROUP, "team-odcr").inputs["capacityType"] == "ON_DEMAND"
    template = one(p, TEMPLATE, "team-odcr")
    assert template.inputs["capacityReservationSpecification"] == {
        "capacityReservationTarget": {"capacityReservationId": "cr-0123456789abcdef0"}}
    assert "instanceMarketOptions" not in template.inputs, \
        "an On-Demand Capacity Reservation is the on-demand market"


def test_component_refuses_flex_start_and_a_reservation_without_its_mode():
    with pytest.raises(ValueError, match="AWS has no flex-start"):
        capacity_of("g", {"capacity": "flex-start"})  # type: ignore[typeddict-item]
    with pytest.raises(ValueError, match="capacity_reservation_id is given exactly"):
        capacity_of("g", {"capacity_reservation_id": "cr-1"})  # type: ignore[typeddict-item]
    assert (capacity_type("spot", False), capacity_type("reservation", True),
            capacity_type("reservation", False)) == ("SPOT", "CAPACITY_BLOCK", "ON_DEMAND")
