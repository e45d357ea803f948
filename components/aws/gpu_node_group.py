"""GpuNodeGroup: a team's GPU pool on EKS, complete with identity, taints and autoscaler hints.

Bottlerocket NVIDIA is the AMI: its image ships the NVIDIA driver *and* the Kubernetes device
plugin, so nodes advertise ``nvidia.com/gpu`` with nothing installed in the cluster. (AL2023
NVIDIA ships the driver only; without a device plugin DaemonSet, GPU pods stay Pending
forever.) The pool scales from zero: the cluster autoscaler learns the labels, taints and GPU
count of nodes that do not exist yet from node-template tags on the Auto Scaling group.
"""

# No `from __future__ import annotations`: hosted for other languages (docs/adr/0006).
from collections.abc import Mapping, Sequence
from typing import NotRequired, TypedDict

import pulumi
import pulumi_aws as aws

from components import common
from components.aws import _nodes

DEFAULT_AMI_TYPE = "BOTTLEROCKET_x86_64_NVIDIA"
# The cluster autoscaler treats nodes with this label as GPU nodes: while the device plugin has
# not advertised nvidia.com/gpu yet, such a node counts as coming up instead of "does not fit",
# so no second node is launched for the same pod (cluster-autoscaler/cloudprovider/aws,
# GPULabel).
ACCELERATOR_LABEL = "k8s.amazonaws.com/accelerator"
CAPACITY_MODES = ("on-demand", "spot", "reservation")
"""How a group's instances are obtained (``GpuNodeGroupArgs.capacity``); AWS has no
flex-start."""
# Kubernetes taint effect -> EKS API spelling.
EKS_EFFECT = {"NoSchedule": "NO_SCHEDULE", "NoExecute": "NO_EXECUTE",
              "PreferNoSchedule": "PREFER_NO_SCHEDULE"}


class GpuNodeGroupArgs(TypedDict):
    """Arguments of :class:`GpuNodeGroup`."""

    cluster_name: pulumi.Input[str]
    """EKS cluster the group joins (``AwsCluster.name``, so the group waits for it)."""
    team: str
    """Team slug: the ``trellis.dev/team`` label and taint on every node."""
    pool: str
    """Pool key: the ``trellis.dev/pool`` label."""
    node_group_name: str
    """EKS node group name."""
    node_role_name: str
    """IAM role name of the nodes (worker, ECR pull and CNI policies only)."""
    launch_template_name: str
    """EC2 launch template name."""
    subnet_ids: pulumi.Input[Sequence[str]]
    """Private subnets in availability zones that offer ``instance_type``; the group places
    nodes in any of them (a subnet in a zone without the type fails every launch there)."""
    instance_type: str
    """EC2 instance type (``MachineShape.machine_type``), e.g. ``g6.2xlarge``."""
    accelerator: str
    """Cloud-neutral accelerator name, for the ``trellis.dev/accelerator`` node label."""
    gpus_per_node: int
    """GPUs on one instance: the autoscaler's node-template GPU count."""
    min_nodes: NotRequired[int]
    """Nodes kept running. Default: 0 (scales to zero)."""
    max_nodes: NotRequired[int]
    """Upper bound of the autoscaler. Default: 1."""
    spot: NotRequired[bool]
    """SPOT capacity instead of ON_DEMAND. Default: False. The same as ``capacity: "spot"``."""
    capacity: NotRequired[str]
    """``on-demand``, ``spot`` or ``reservation`` (:data:`CAPACITY_MODES`). ``reservation``
    launches only into :attr:`capacity_reservation_id`: an On-Demand Capacity Reservation
    (capacity type ON_DEMAND, the launch template targets it) or, with :attr:`capacity_block`,
    a Capacity Block for ML (capacity type CAPACITY_BLOCK, market type ``capacity-block``).
    Either lives in one zone: give only that zone's subnet. Default: ``spot`` when ``spot``
    is true, else ``on-demand``."""
    capacity_reservation_id: NotRequired[str]
    """With ``capacity: "reservation"``: the reservation id, ``cr-...``. Default: none."""
    capacity_block: NotRequired[bool]
    """The reservation is a Capacity Block for ML. Default: False."""
    disk_size_gb: NotRequired[int]
    """Encrypted gp3 data volume per node (Bottlerocket: /dev/xvdb), GB. Default: 200."""
    ami_type: NotRequired[str]
    """EKS AMI type. Default: ``BOTTLEROCKET_x86_64_NVIDIA`` (device plugin included).
    https://docs.aws.amazon.com/eks/latest/APIReference/API_Nodegroup.html#AmazonEKS-Type-Nodegroup-amiType"""
    metadata_hop_limit: NotRequired[int]
    """IMDSv2 hop limit. Default: 1 (pods cannot reach the node's credentials; they use EKS
    Pod Identity)."""
    running_nodes: NotRequired[int | None]
    """The group's desired size now (``aws.eks.get_node_group``), or None for a new group.
    Lets a raised ``min_nodes`` or lowered ``max_nodes`` apply. Default: None."""
    tags: NotRequired[Mapping[str, str]]
    """Team tags on every resource and on the instances and volumes it launches. Default: none."""


class GpuNodeGroup(pulumi.ComponentResource):
    """A managed node group of GPU instances, tainted for one team, scaling from zero."""

    scheduling: common.SchedulingContract
    """Node selector, tolerations and resource name for pods that want this pool."""
    node_group_name: pulumi.Output[str]
    """EKS node group name."""
    node_role_arn: pulumi.Output[str]
    """ARN of the nodes' IAM role."""
    autoscaling_group_name: pulumi.Output[str]
    """The Auto Scaling group EKS made for the group (carries the autoscaler tags)."""

    def __init__(self, name: str, args: GpuNodeGroupArgs,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("trellis:aws:GpuNodeGroup", name, None, opts)
        self._name = name
        tags = dict(args.get("tags", {}))
        team, pool = args["team"], args["pool"]
        gpus = int(args["gpus_per_node"])  # numbers arrive as floats from other languages
        min_nodes, max_nodes = int(args.get("min_nodes", 0)), int(args.get("max_nodes", 1))
        if not 0 <= min_nodes <= max_nodes:
            raise ValueError(f"GpuNodeGroup '{name}': min_nodes {min_nodes} must be between 0 "
                             f"and max_nodes {max_nodes}")
        ami = args.get("ami_type", DEFAULT_AMI_TYPE)
        labels = common.merge_labels(common.node_labels(team, pool),
                                     {"trellis.dev/accelerator": args["accelerator"],
                                      ACCELERATOR_LABEL: f"nvidia-{args['accelerator']}"})
        taints = common.gpu_taints(team)
        role, attachments = _nodes.node_role(self, f"{name}-node", name=args["node_role_name"],
                                             tags=tags)
        capacity = capacity_of(name, args)
        reservation = args.get("capacity_reservation_id") if capacity == "reservation" else None
        block = bool(args.get("capacity_block", False)) and reservation is not None
        template = _nodes.launch_template(
            self, name, name=args["launch_template_name"], ami_type=ami,
            disk_size_gb=int(args.get("disk_size_gb", 200)),
            hop_limit=int(args.get("metadata_hop_limit", _nodes.HOP_LIMIT)), tags=tags,
            instance_tags=tags, capacity_reservation_id=reservation, capacity_block=block,
            instance_type=args["instance_type"] if block else None)
        running = args.get("running_nodes")
        group = self._create_node_group(args, role, template, ami, labels, taints, tags,
                                        min_nodes, max_nodes,
                                        None if running is None else int(running), attachments,
                                        capacity_type(capacity, block))
        self.node_group_name = group.node_group_name
        self.autoscaling_group_name = group.resources.apply(_nodes.asg_name)
        _nodes.autoscaler_tags(self, name, asg_name=self.autoscaling_group_name,
                               cluster=args["cluster_name"], labels=labels, taints=taints,
                               resources={common.GPU_RESOURCE: str(gpus)})
        self.node_role_arn = role.arn
        self.scheduling = common.scheduling_contract(team, pool, gpus)
        self.register_outputs({"node_group_name": self.node_group_name,
                               "autoscaling_group_name": self.autoscaling_group_name,
                               "node_role_arn": self.node_role_arn,
                               "scheduling": dict(self.scheduling)})

    def _create_node_group(self, args: GpuNodeGroupArgs, role: aws.iam.Role,
                           template: aws.ec2.LaunchTemplate, ami: str, labels: dict[str, str],
                           taints: list[common.Taint], tags: dict[str, str], min_nodes: int,
                           max_nodes: int, running: int | None,
                           attachments: list[aws.iam.RolePolicyAttachment],
                           kind: str) -> aws.eks.NodeGroup:
        desired, ignore = _nodes.scaling(min_nodes, max_nodes, running)
        return aws.eks.NodeGroup(
            self._name, cluster_name=args["cluster_name"],
            node_group_name=args["node_group_name"], node_role_arn=role.arn,
            subnet_ids=args["subnet_ids"], ami_type=ami,
            capacity_type=kind,
            # A Capacity Block's type is on its launch template, and EKS fails a group with a
            # type in both places (_nodes.launch_template).
            instance_types=None if kind == "CAPACITY_BLOCK" else [args["instance_type"]],
            scaling_config=aws.eks.NodeGroupScalingConfigArgs(
                min_size=min_nodes, max_size=max_nodes, desired_size=desired),
            update_config=update_config(bool(args.get("capacity_reservation_id"))),
            launch_template=aws.eks.NodeGroupLaunchTemplateArgs(
                id=template.id, version=template.latest_version.apply(str)),
            labels=labels,
            taints=[aws.eks.NodeGroupTaintArgs(key=t["key"], value=t["value"],
                                               effect=EKS_EFFECT[t["effect"]]) for t in taints],
            tags=tags,
            # The autoscaler owns the desired size once the group exists (_nodes.scaling); the
            # nodes need their role's policies from the first boot to the last ENI released.
            opts=pulumi.ResourceOptions(parent=self, ignore_changes=ignore,
                                        depends_on=list(attachments)))


def capacity_of(name: str, args: GpuNodeGroupArgs) -> str:
    """The group's capacity mode from ``capacity`` (or the older ``spot``), checked."""
    return common.capacity_mode(f"GpuNodeGroup '{name}'", args, CAPACITY_MODES,
                                "capacity_reservation_id", note=" (AWS has no flex-start)")


def update_config(reserved: bool) -> aws.eks.NodeGroupUpdateConfigArgs:
    """One node at a time; a group on a reservation replaces it in place.

    EKS's DEFAULT update strategy launches the new node before it terminates the old one; a
    group whose reservation is fully used has nowhere to launch that surge node, and the update
    stalls. MINIMAL terminates first (botocore eks ``NodegroupUpdateConfig.updateStrategy``:
    "useful in scenarios where you are constrained to resources or costs (for example, with
    hardware accelerators such as GPUs)"). docs/capacity.md has the procedure for Capacity
    Blocks, which EKS wants at desired size 0 while they are upgraded.
    """
    if reserved:
        return aws.eks.NodeGroupUpdateConfigArgs(max_unavailable=1, update_strategy="MINIMAL")
    return aws.eks.NodeGroupUpdateConfigArgs(max_unavailable=1)


def capacity_type(capacity: str, capacity_block: bool) -> str:
    """The node group's EKS capacity type."""
    if capacity == "spot":
        return "SPOT"
    return "CAPACITY_BLOCK" if capacity_block else "ON_DEMAND"
