"""The shared general-purpose CPU node pool: where every pod without GPU tolerations runs.

GPU pools are tainted and the system pool is tainted for GKE-managed components, so a data
scientist's pod with no node selector and no tolerations (a notebook, data prep, a CPU step)
lands here. The pool is complete when it returns: its dedicated node service account can write
logs and metrics (``roles/container.defaultNodeServiceAccount``) and read every Docker
repository it is given, so the pod's image pull never fails with a 403.
Why one shared pool and not one per team: docs/adr/0022-shared-cpu-pool.md.
"""

# No `from __future__ import annotations`: hosted for other languages (docs/adr/0006).
from collections.abc import Mapping, Sequence
from typing import NotRequired, TypedDict

import pulumi
import pulumi_gcp as gcp

from components import common
from components.gcp import _nodes

POOL = "general"
"""Node label ``trellis.dev/pool`` of the pool's nodes."""


class GcpCpuNodePoolArgs(TypedDict):
    """Arguments of :class:`CpuNodePool`."""

    project: pulumi.Input[str]
    """Project id (``Services.project``)."""
    location: str
    """The cluster's location (its region)."""
    cluster: pulumi.Input[str]
    """Cluster name (``Cluster.name``), so the pool waits for the cluster."""
    node_pool_name: str
    """Physical node pool name (components.naming, kind ``gke_node_pool``)."""
    node_identity_name: str
    """Account id of the pool's dedicated node service account."""
    machine_type: NotRequired[str]
    """Compute Engine machine type. Default: ``e2-standard-8`` (catalog.GENERAL_POOL)."""
    min_nodes: NotRequired[int]
    """Autoscaler lower bound, total over the zones. Default: 0, an idle pool costs nothing."""
    max_nodes: int
    """Autoscaler upper bound, total over the zones (size it for the teams' CPU quotas)."""
    spot: NotRequired[bool]
    """Spot VMs (preemptible, much cheaper). Default: false."""
    disk_size_gb: NotRequired[int]
    """Boot disk per node in GB. Default: 100."""
    disk_type: NotRequired[str]
    """Boot disk type. Default: ``pd-balanced``."""
    zones: NotRequired[Sequence[str]]
    """Zones the nodes may run in (``node_locations``). Default: the cluster's zones."""
    registry_repositories: NotRequired[Mapping[str, pulumi.Input[str]]]
    """Docker repositories (Artifact Registry ids in the pool's project and location) the
    nodes may pull from, keyed by a stable name (the team). Default: none."""
    labels: NotRequired[Mapping[str, str]]
    """GCP labels on the node VMs and disks; ``pool`` is added. Default: none."""


class GcpCpuNodePool(pulumi.ComponentResource):
    """An autoscaled, untainted CPU node pool with a least-privilege node service account."""

    node_service_account: pulumi.Output[str]
    """Email of the pool's node service account."""
    node_selector: dict[str, str]
    """Labels every node carries, for pods that want this pool explicitly."""

    def __init__(self, name: str, args: GcpCpuNodePoolArgs,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("trellis:gcp:CpuNodePool", name, None, opts)
        # int(): from other languages every number arrives as a float (docs/adr/0006).
        min_nodes, max_nodes = int(args.get("min_nodes", 0)), int(args["max_nodes"])
        if not 0 <= min_nodes <= max_nodes or max_nodes < 1:
            raise ValueError(f"CpuNodePool '{name}': need 0 <= min_nodes {min_nodes} <= "
                             f"max_nodes {max_nodes} and max_nodes >= 1")
        sa, grants = _nodes.node_identity(
            self, f"{name}-node", project=args["project"],
            account_id=args["node_identity_name"], display_name="GKE general-purpose nodes",
            description=f"Node service account of CPU pool {args['node_pool_name']}")
        # The pool waits for its logging/metrics grant only: it is created empty, so no node
        # pulls an image before `pulumi up` has granted the reads, and waiting for every
        # team's repository would put them all on the pool's critical path.
        self._create_registry_reads(name, args, sa)
        self._create_pool(name, args, sa, grants, min_nodes, max_nodes)
        self.node_service_account = sa.email
        self.node_selector = {common.POOL_LABEL: POOL}
        self.register_outputs({"node_service_account": self.node_service_account,
                               "node_selector": self.node_selector})

    def _create_registry_reads(self, name: str, args: GcpCpuNodePoolArgs,
                               sa: gcp.serviceaccount.Account) -> list[pulumi.Resource]:
        return [gcp.artifactregistry.RepositoryIamMember(
            f"{name}-registry-reader-{key}", project=args["project"], location=args["location"],
            repository=repository, role="roles/artifactregistry.reader", member=sa.member,
            opts=pulumi.ResourceOptions(parent=self))
            for key, repository in sorted(args.get("registry_repositories", {}).items())]

    def _create_pool(self, name: str, args: GcpCpuNodePoolArgs, sa: gcp.serviceaccount.Account,
                     grants: list[pulumi.Resource], min_nodes: int,
                     max_nodes: int) -> gcp.container.NodePool:
        autoscaling: gcp.container.NodePoolAutoscalingArgsDict = {
            "total_min_node_count": min_nodes, "total_max_node_count": max_nodes,
            "location_policy": "BALANCED" if not args.get("spot") else "ANY"}
        zones = list(args.get("zones", ()))
        return gcp.container.NodePool(
            name, project=args["project"], location=args["location"], cluster=args["cluster"],
            name=args["node_pool_name"], node_locations=zones or None,
            # Created empty like the GPU pools (the count is per zone); pods bring nodes up.
            initial_node_count=0,
            autoscaling=autoscaling,
            management=_nodes.MANAGEMENT,
            upgrade_settings={"strategy": "SURGE", "max_surge": 1, "max_unavailable": 0},
            node_config=_nodes.secure_node_config(
                machine_type=args.get("machine_type", "e2-standard-8"),
                service_account=sa.email, disk_size_gb=int(args.get("disk_size_gb", 100)),
                disk_type=args.get("disk_type", "pd-balanced"),
                labels={common.POOL_LABEL: POOL},
                resource_labels={**args.get("labels", {}), "pool": POOL},
                spot=bool(args.get("spot", False)),
                gcfs_config={"enabled": True}),  # image streaming: big ML images start sooner
            # Nodes boot with their grants in place (logs, metrics, image pulls).
            opts=pulumi.ResourceOptions(parent=self, depends_on=grants,
                                        ignore_changes=_nodes.AUTOSCALED_FIELDS))


CpuNodePool = GcpCpuNodePool
"""Python name of :class:`GcpCpuNodePool` (the any-language schema needs unique class names)."""
CpuNodePoolArgs = GcpCpuNodePoolArgs
