"""Pieces every EKS managed node group needs: a node role, a hardened launch template, scaling
that survives a changed org.yaml, and the autoscaler's node-template tags."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pulumi
import pulumi_aws as aws

from components import common
from components.aws import _iam

# The three policies a managed node needs, and nothing else: join the cluster, pull images,
# run the VPC CNI. https://docs.aws.amazon.com/eks/latest/userguide/create-node-role.html
NODE_POLICIES = {
    "worker": "AmazonEKSWorkerNodePolicy",
    "ecr": "AmazonEC2ContainerRegistryPullOnly",
    "cni": "AmazonEKS_CNI_Policy",
}

# Bottlerocket boots from a small OS volume (/dev/xvda) and keeps images and container state
# on its data volume (/dev/xvdb); AL2023 has one root volume. The size that matters for ML
# images is the one we set.
DATA_DEVICE = {"BOTTLEROCKET": "/dev/xvdb", "AL2023": "/dev/xvda"}
OS_DEVICE = "/dev/xvda"
# Pods get AWS credentials from EKS Pod Identity, never from the node: one hop keeps the
# instance metadata service (and the node role's credentials) out of reach of every pod that
# is not on the host network. https://docs.aws.amazon.com/eks/latest/best-practices/identity-and-access-management.html
HOP_LIMIT = 1
CA = "k8s.io/cluster-autoscaler"
DESIRED = "scalingConfig.desiredSize"


def bottlerocket(ami_type: str) -> bool:
    return ami_type.startswith("BOTTLEROCKET")


def data_device(ami_type: str) -> str:
    """Block device that holds images and container data for ``ami_type``."""
    return DATA_DEVICE["BOTTLEROCKET" if bottlerocket(ami_type) else "AL2023"]


def node_role(parent: pulumi.Resource, logical: str, *, name: str, tags: Mapping[str, str],
              ) -> tuple[aws.iam.Role, list[aws.iam.RolePolicyAttachment]]:
    """Role of the EC2 nodes: trusted by ec2.amazonaws.com, the three node policies only; and
    the attachments, which the node group waits for (and outlives on destroy)."""
    return _iam.role_with_attachments(
        parent, logical, name=name, trust=_iam.service_trust("ec2.amazonaws.com"),
        description="EKS managed node group nodes (Trellis)", tags=tags, managed=NODE_POLICIES)


def _ebs(size_gb: int | None) -> aws.ec2.LaunchTemplateBlockDeviceMappingEbsArgs:
    return aws.ec2.LaunchTemplateBlockDeviceMappingEbsArgs(
        volume_size=size_gb, volume_type="gp3", encrypted="true", delete_on_termination="true")


def launch_template(parent: pulumi.Resource, logical: str, *, name: str, ami_type: str,
                    disk_size_gb: int, hop_limit: int, tags: Mapping[str, str],
                    instance_tags: Mapping[str, str],
                    capacity_reservation_id: str | None = None,
                    capacity_block: bool = False,
                    instance_type: str | None = None) -> aws.ec2.LaunchTemplate:
    """IMDSv2 only, every volume encrypted gp3, instance/volume tags for cost allocation.

    No key pair, no security groups (EKS attaches the cluster security group), no AMI (the
    node group's ``ami_type`` picks and updates it). Bottlerocket's OS volume keeps the AMI's
    size (no ``volume_size``) and is encrypted as well as the data volume. The volumes use the
    account's default EBS key: a customer key would need grants for the Auto Scaling
    service-linked role.

    ``capacity_reservation_id`` targets an On-Demand Capacity Reservation, or with
    ``capacity_block`` a Capacity Block for ML, whose market type is ``capacity-block`` (EKS
    User Guide, "Create a managed node group with Capacity Blocks for ML"). ``instance_type``
    goes on the template only for a Capacity Block: EKS requires it there for CAPACITY_BLOCK
    node groups (same page: "InstanceType set to an instance type that supports Capacity
    Blocks") and fails a group that has a type on both the template and ``instanceTypes``
    (botocore eks ``CreateNodegroup.instanceTypes``); terraform-aws-eks#3091 does the same.
    Every other group keeps its type on the node group.
    """
    devices = [aws.ec2.LaunchTemplateBlockDeviceMappingArgs(
        device_name=data_device(ami_type), ebs=_ebs(disk_size_gb))]
    if bottlerocket(ami_type):
        devices.insert(0, aws.ec2.LaunchTemplateBlockDeviceMappingArgs(
            device_name=OS_DEVICE, ebs=_ebs(None)))
    reservation = None if capacity_reservation_id is None else \
        aws.ec2.LaunchTemplateCapacityReservationSpecificationArgs(
            capacity_reservation_target=aws.ec2.
            LaunchTemplateCapacityReservationSpecificationCapacityReservationTargetArgs(
                capacity_reservation_id=capacity_reservation_id))
    market = aws.ec2.LaunchTemplateInstanceMarketOptionsArgs(
        market_type="capacity-block") if capacity_block else None
    return aws.ec2.LaunchTemplate(
        logical, name=name, update_default_version=True, instance_type=instance_type,
        capacity_reservation_specification=reservation, instance_market_options=market,
        metadata_options=aws.ec2.LaunchTemplateMetadataOptionsArgs(
            http_endpoint="enabled", http_tokens="required",
            http_put_response_hop_limit=hop_limit, instance_metadata_tags="disabled"),
        block_device_mappings=devices,
        # Default tags do not reach instances an Auto Scaling group launches; these do, so the
        # GPU hours show up under the team's cost allocation tag.
        tag_specifications=[aws.ec2.LaunchTemplateTagSpecificationArgs(
            resource_type=kind, tags=dict(instance_tags))
            for kind in ("instance", "volume", "network-interface")],
        tags=dict(tags),
        opts=pulumi.ResourceOptions(parent=parent))


def scaling(min_nodes: int, max_nodes: int, running: int | None) -> tuple[int, list[str]]:
    """``(desired_size, ignore_changes)`` for a node group the autoscaler sizes.

    The autoscaler owns the desired size, so it is ignored on update; but EKS refuses a minimum
    above (or a maximum below) the desired size it has, and with the desired size ignored the
    provider sends the old one (terraform-aws-eks #944, #3306). When ``running`` (the group's
    desired size now, None for a new group) is outside the new bounds, the desired size is sent,
    moved just inside them, so a raised ``min_nodes`` or lowered ``max_nodes`` applies.
    """
    if running is None:
        return min_nodes, [DESIRED]
    if min_nodes <= running <= max_nodes:
        return running, [DESIRED]
    return min(max(running, min_nodes), max_nodes), []


def autoscaler_tags(parent: pulumi.Resource, logical: str, *, asg_name: pulumi.Input[str],
                    cluster: pulumi.Input[str], labels: Mapping[str, str],
                    taints: Sequence[common.Taint], resources: Mapping[str, str]) -> None:
    """Node-template tags on the group's Auto Scaling group, so the cluster autoscaler can
    scale it up from zero (labels, taints and extended resources of nodes that do not exist
    yet). EKS does not copy node group tags to its Auto Scaling group (terraform-aws-eks#2255).
    https://github.com/kubernetes/autoscaler/blob/master/cluster-autoscaler/cloudprovider/aws/README.md
    """
    hints: dict[str, tuple[pulumi.Input[str], pulumi.Input[str]]] = {
        "ca-enabled": (f"{CA}/enabled", "true"),
        "ca-owned": (pulumi.Output.concat(f"{CA}/", cluster), "owned"),
    }
    for name, count in resources.items():
        slug = "ca-gpu-count" if name == common.GPU_RESOURCE else f"ca-resource-{_slug(name)}"
        hints[slug] = (f"{CA}/node-template/resources/{name}", count)
    for key, value in labels.items():
        # Trellis labels keep their short slugs (the logical names of existing tags).
        slug = key.rsplit("/", 1)[-1] if key.startswith("trellis.dev/") else _slug(key)
        hints[f"ca-label-{slug}"] = (f"{CA}/node-template/label/{key}", value)
    for taint in taints:
        hints[f"ca-taint-{_slug(taint['key'])}"] = (
            f"{CA}/node-template/taint/{taint['key']}", f"{taint['value']}:{taint['effect']}")
    for slug, (tag_key, tag_value) in hints.items():
        aws.autoscaling.Tag(
            f"{logical}-{slug}", autoscaling_group_name=asg_name,
            tag=aws.autoscaling.TagTagArgs(key=tag_key, value=tag_value,
                                           propagate_at_launch=False),
            opts=pulumi.ResourceOptions(parent=parent))


def _slug(key: str) -> str:
    return key.replace("/", "-").replace(".", "-")


def asg_name(resources: Sequence[aws.eks.outputs.NodeGroupResource] | None) -> str:
    """The node group's Auto Scaling group: ``resources[0].autoscalingGroups[0].name``."""
    for resource in resources or []:
        for group in resource.autoscaling_groups or []:
            if group.name:
                return group.name
    return ""
