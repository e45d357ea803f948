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
    assert "instanceTypes" not in group.inputs, \
        "node group recsys-train: EKS fails a CAPACITY_BLOCK group with instanceTypes set " \
        "when its launch template has the type (EKS UG capacity-blocks-mng)"
    assert group.inputs["updateConfig"] == {"maxUnavailable": 1, "updateStrategy": "MINIMAL"}, \
        "node group recsys-train: a full block has no room for a surge node on update"
    subnets = {r.outputs["id"]: r.inputs["availabilityZoneId"]
               for r in prod_plan.of_type("aws:ec2/subnet:Subnet") if "-private-" in r.name}
    assert [subnets[s] for s in group.inputs["subnetIds"]] == ["usw2-az2"], \
        "node group recsys-train: only the subnet of the Capacity Block's zone"
    template = one(prod_plan, TEMPLATE, "recsys-train")
    assert template.inputs["instanceMarketOptions"] == {"marketType": "capacity-block"}
    assert template.inputs["instanceType"] == "p5.48xlarge", \
        "launch template recsys-train: EKS requires a Capacity Block's InstanceType here"
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
        assert "instanceType" not in template.inputs, \
            f"launch template {name}: the type stays on the node group outside Capacity Blocks"
        group = one(plan_, NODE_GROUP, name)
        assert group.inputs["instanceTypes"], f"node group {name}: its type is on the group"
        assert group.inputs["updateConfig"] == {"maxUnavailable": 1}, \
            f"node group {name}: on-demand and Spot groups keep EKS's surge-first update"
    assert one(dev_plan, NODE_GROUP, "recsys-train").inputs["capacityType"] == "SPOT"


def test_on_demand_capacity_reservation_group(run):
    def program() -> None:
        GpuNodeGroup("team-odcr", {
            "cluster_name": "c", "team": "team", "pool": "odcr", "node_group_name": "odcr",
            "node_role_name": "odcr", "launch_template_name": "odcr", "subnet_ids": ["s"],
            "instance_type": "g6.12xlarge", "accelerator": "l4", "gpus_per_node": 4,
            "capacity": "reservation", "capacity_reservation_id": "cr-0123456789abcdef0"})

    p = run(program)
    group = one(p, NODE_GROUP, "team-odcr")
    assert group.inputs["capacityType"] == "ON_DEMAND"
    # An ODCR matches by instance type, platform and zone; the group's one type is the
    # reservation's (aws-ia eks-blueprints "targeted-odcr" keeps it on the node group).
    assert group.inputs["instanceTypes"] == ["g6.12xlarge"], \
        "node group team-odcr: an ODCR group keeps its type on the node group"
    assert group.inputs["updateConfig"]["updateStrategy"] == "MINIMAL", \
        "node group team-odcr: a fully used reservation has no room for a surge node"
    template = one(p, TEMPLATE, "team-odcr")
    assert "instanceType" not in template.inputs, \
        "launch template team-odcr: a type on both the template and the group fails EKS"
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


def test_policies_read_a_capacity_block_type_from_its_launch_template(prod_plan):
    """The pack (TRL-GPU-001/002, TRL-COST-001) and `trellis check` see the Capacity Block
    group's p5.48xlarge on its launch template, not an unknown GPU AMI."""
    from policies.cost import price
    from policies.evaluate import Record, stack_of
    from policies.gpu import gpu_accels, template_finder
    from stacks.report.check import run_check

    group = one(prod_plan, NODE_GROUP, "recsys-train")
    stack = stack_of([Record(type=r.type, urn=r.urn, name=r.name, inputs=r.inputs,
                             outputs=r.outputs) for r in prod_plan.resources])
    planned = next(r for r in stack.of_type(NODE_GROUP) if r.urn == group.urn)
    template = template_finder(stack)(planned)
    assert template is not None and template.name == "recsys-train"
    assert [(a.name, a.gpus_per_node) for a in gpu_accels(planned, template)] == \
        [("h100-80gb", 8.0)], "node group recsys-train: accelerator from its launch template"
    assert price(planned, template).machine_type == "p5.48xlarge"
    report = run_check(prod_plan)
    flagged = [f"{f.policy}: {f.message}" for f in report.findings
               if f.urn == group.urn and f.policy in ("TRL-GPU-001", "TRL-GPU-002",
                                                       "TRL-COST-001")]
    assert not flagged, f"node group recsys-train: {flagged}"


def test_the_plan_says_which_instance_type_to_reserve(prod_env, prod_plan):
    """EC2 matches an On-Demand Capacity Reservation by instance type, platform and zone: the
    plan's cost note beside a reservation pool names the type to reserve."""
    from stacks.report.cost import plan_annotations

    notes = plan_annotations(prod_plan, prod_env)
    group = one(prod_plan, "trellis:aws:GpuNodeGroup", "recsys-train")
    assert "reserve p5.48xlarge" in notes[group.urn], notes[group.urn]
