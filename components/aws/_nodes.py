"""Pieces every EKS managed node group needs: a node role and a hardened launch template."""

from __future__ import annotations

from collections.abc import Mapping

import pulumi
import pulumi_aws as aws

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


def data_device(ami_type: str) -> str:
    """Block device that holds images and container data for ``ami_type``."""
    return DATA_DEVICE["BOTTLEROCKET" if ami_type.startswith("BOTTLEROCKET") else "AL2023"]


def node_role(parent: pulumi.Resource, logical: str, *, name: str,
              tags: Mapping[str, str]) -> aws.iam.Role:
    """Role of the EC2 nodes: trusted by ec2.amazonaws.com, the three node policies only."""
    return _iam.role(parent, logical, name=name, trust=_iam.service_trust("ec2.amazonaws.com"),
                     description="EKS managed node group nodes (Trellis)", tags=tags,
                     managed=NODE_POLICIES)


def launch_template(parent: pulumi.Resource, logical: str, *, name: str, ami_type: str,
                    disk_size_gb: int, hop_limit: int, tags: Mapping[str, str],
                    instance_tags: Mapping[str, str]) -> aws.ec2.LaunchTemplate:
    """IMDSv2 only, encrypted gp3 data volume, instance/volume tags for cost allocation.

    No key pair, no security groups (EKS attaches the cluster security group), no AMI (the
    node group's ``ami_type`` picks and updates it). The volume uses the account's default EBS
    key: a customer key would need grants for the Auto Scaling service-linked role.
    """
    return aws.ec2.LaunchTemplate(
        logical, name=name, update_default_version=True,
        metadata_options=aws.ec2.LaunchTemplateMetadataOptionsArgs(
            http_endpoint="enabled", http_tokens="required",
            http_put_response_hop_limit=hop_limit, instance_metadata_tags="disabled"),
        block_device_mappings=[aws.ec2.LaunchTemplateBlockDeviceMappingArgs(
            device_name=data_device(ami_type),
            ebs=aws.ec2.LaunchTemplateBlockDeviceMappingEbsArgs(
                volume_size=disk_size_gb, volume_type="gp3", encrypted="true",
                delete_on_termination="true"))],
        # Default tags do not reach instances an Auto Scaling group launches; these do, so the
        # GPU hours show up under the team's cost allocation tag.
        tag_specifications=[aws.ec2.LaunchTemplateTagSpecificationArgs(
            resource_type=kind, tags=dict(instance_tags))
            for kind in ("instance", "volume", "network-interface")],
        tags=dict(tags),
        opts=pulumi.ResourceOptions(parent=parent))
