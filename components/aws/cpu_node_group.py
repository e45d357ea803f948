"""CpuNodeGroup: the general-purpose EKS node group where the teams' CPU pods run.

A pod a data scientist creates with no node selector and no tolerations (a notebook, a data
preparation Job, a small service) must land on a node that can pull the team's images, and
not on the system nodes that run the cluster's add-ons (those are tainted
``CriticalAddonsOnly``). This group is that node: Bottlerocket, IMDSv2 with hop limit 1,
encrypted volumes, no taints, scaled by the cluster autoscaler from ``min_nodes`` (zero by
default) to ``max_nodes``, which the caller sizes from what the teams declare.
"""

# No `from __future__ import annotations`: hosted for other languages (docs/adr/0006).
from collections.abc import Mapping, Sequence
from typing import NotRequired, TypedDict

import pulumi
import pulumi_aws as aws

from components.aws import _nodes

DEFAULT_AMI_TYPE = "BOTTLEROCKET_x86_64"
DEFAULT_INSTANCE_TYPE = "m7i.2xlarge"
POOL_LABEL = "trellis.dev/pool"


class CpuNodeGroupArgs(TypedDict):
    """Arguments of :class:`CpuNodeGroup`."""

    cluster_name: pulumi.Input[str]
    """EKS cluster the group joins (``AwsCluster.node_cluster_name``, so the group waits for
    the add-ons its nodes need)."""
    node_group_name: str
    """EKS node group name."""
    node_role_name: str
    """IAM role name of the nodes (worker, ECR pull and CNI policies only)."""
    launch_template_name: str
    """EC2 launch template name."""
    subnet_ids: pulumi.Input[Sequence[str]]
    """Private subnets the group places nodes in."""
    max_nodes: int
    """Upper bound of the autoscaler (size it from the teams' CPU work)."""
    min_nodes: NotRequired[int]
    """Nodes kept running. Default: 0 (scales to zero)."""
    instance_type: NotRequired[str]
    """EC2 instance type. Default: ``m7i.2xlarge`` (8 vCPUs, 32 GiB)."""
    disk_size_gb: NotRequired[int]
    """Encrypted gp3 data volume per node, GB. Default: 100."""
    ami_type: NotRequired[str]
    """EKS AMI type. Default: ``BOTTLEROCKET_x86_64``."""
    pool: NotRequired[str]
    """The ``trellis.dev/pool`` label of the nodes. Default: ``general``."""
    running_nodes: NotRequired[int | None]
    """The group's desired size now (``aws.eks.get_node_group``), or None for a new group.
    Default: None."""
    tags: NotRequired[Mapping[str, str]]
    """Tags on every resource and on the instances and volumes it launches. Default: none."""


class CpuNodeGroup(pulumi.ComponentResource):
    """A managed node group of general-purpose instances, untainted, scaling from zero."""

    node_group_name: pulumi.Output[str]
    """EKS node group name."""
    node_role_arn: pulumi.Output[str]
    """ARN of the nodes' IAM role."""
    autoscaling_group_name: pulumi.Output[str]
    """The Auto Scaling group EKS made for the group (carries the autoscaler tags)."""

    def __init__(self, name: str, args: CpuNodeGroupArgs,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("trellis:aws:CpuNodeGroup", name, None, opts)
        tags = dict(args.get("tags", {}))
        min_nodes, max_nodes = int(args.get("min_nodes", 0)), int(args["max_nodes"])
        if not 0 <= min_nodes <= max_nodes or max_nodes < 1:
            raise ValueError(f"CpuNodeGroup '{name}': need 0 <= min_nodes <= max_nodes and "
                             f"max_nodes >= 1; got {min_nodes} and {max_nodes}")
        ami = args.get("ami_type", DEFAULT_AMI_TYPE)
        labels = {POOL_LABEL: args.get("pool", "general")}
        role, attachments = _nodes.node_role(self, f"{name}-node", name=args["node_role_name"],
                                             tags=tags)
        template = _nodes.launch_template(
            self, name, name=args["launch_template_name"], ami_type=ami,
            disk_size_gb=int(args.get("disk_size_gb", 100)), hop_limit=_nodes.HOP_LIMIT,
            tags=tags, instance_tags=tags)
        running = args.get("running_nodes")
        desired, ignore = _nodes.scaling(min_nodes, max_nodes,
                                         None if running is None else int(running))
        group = aws.eks.NodeGroup(
            name, cluster_name=args["cluster_name"], node_group_name=args["node_group_name"],
            node_role_arn=role.arn, subnet_ids=args["subnet_ids"], ami_type=ami,
            capacity_type="ON_DEMAND",
            instance_types=[args.get("instance_type", DEFAULT_INSTANCE_TYPE)],
            scaling_config=aws.eks.NodeGroupScalingConfigArgs(
                min_size=min_nodes, max_size=max_nodes, desired_size=desired),
            update_config=aws.eks.NodeGroupUpdateConfigArgs(max_unavailable=1),
            launch_template=aws.eks.NodeGroupLaunchTemplateArgs(
                id=template.id, version=template.latest_version.apply(str)),
            labels=labels, tags=tags,
            opts=pulumi.ResourceOptions(parent=self, ignore_changes=ignore,
                                        depends_on=list(attachments)))
        self.node_group_name = group.node_group_name
        self.autoscaling_group_name = group.resources.apply(_nodes.asg_name)
        self.node_role_arn = role.arn
        _nodes.autoscaler_tags(self, name, asg_name=self.autoscaling_group_name,
                               cluster=args["cluster_name"], labels=labels, taints=[],
                               resources={})
        self.register_outputs({"node_group_name": self.node_group_name,
                               "autoscaling_group_name": self.autoscaling_group_name,
                               "node_role_arn": self.node_role_arn})
