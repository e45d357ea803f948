"""One team's GPU node pool: nodes, their dedicated identity, their IAM, taints and labels.

A pool is complete when it returns: its node service account can write logs and metrics and
pull the team's images, its nodes carry the GPU and team taints and the team/pool labels, and
:attr:`GpuNodePool.scheduling` says exactly what a pod needs to land on it.
"""

# No `from __future__ import annotations`: hosted for other languages (docs/adr/0006).
from collections.abc import Mapping, Sequence
from typing import Any, NotRequired, TypedDict

import pulumi
import pulumi_gcp as gcp

from components import common
from components.gcp import _nodes

LOCAL_SSD_GB = 375
"""Size of one bundled Local SSD partition on A2 Ultra / A3 machine types."""

GPU_DRIVER_VERSION = "LATEST"
"""GKE installs the newest driver it supports for the node version (COS images).

``DEFAULT`` is the older, long-lived branch; current PyTorch/JAX CUDA 12.x wheels need a recent
driver, and GKE still pins the ``LATEST`` driver per GKE version, so node upgrades (gated by
the release channel) are the only thing that moves it. See docs/gcp.md.
https://cloud.google.com/kubernetes-engine/docs/how-to/gpus#installing_drivers"""

INITIAL_NODES_PER_ZONE = 0
"""GPU pools are created empty. ``initial_node_count`` is per zone, so any other value starts a
multiple of the zone count (``min_nodes: 1`` over three zones would start three nodes), and a
zone out of GPUs at creation fails the whole ``pulumi up``. The autoscaler adds nodes when pods
need them (``location_policy: ANY`` takes whichever zone has capacity); ``min_nodes`` is held
by ``total_min_node_count`` and, to start those nodes, by the team namespace's warm-capacity
placeholders (:class:`~components.k8s.warm_capacity.WarmCapacity`): GKE's autoscaler never scales
up to a minimum by itself (kubernetes/autoscaler#2288).
docs/adr/0023-gpu-pool-zones-and-warm-capacity.md"""

UPGRADE_SETTINGS: "gcp.container.NodePoolUpgradeSettingsArgsDict" = {
    "strategy": "SURGE", "max_surge": 0, "max_unavailable": 1}
"""GPUs are scarce: upgrades replace one node at a time in place instead of surging (a surge
node would need a spare GPU machine the zone may not have; blue-green doubles the pool).
https://cloud.google.com/kubernetes-engine/docs/concepts/node-pool-upgrade-strategies"""

CAPACITY_MODES = ("on-demand", "spot", "flex-start", "reservation")
"""How a pool's nodes are obtained (``GpuNodePoolArgs.capacity``)."""

RESERVATION_KEY = "compute.googleapis.com/reservation-name"
"""The label key a SPECIFIC_RESERVATION affinity names a reservation by (GKE docs, Consuming
reserved zonal resources; Cluster Toolkit's gke-node-pool module)."""

_TAINT_EFFECTS = {"NoSchedule": "NO_SCHEDULE", "PreferNoSchedule": "PREFER_NO_SCHEDULE",
                  "NoExecute": "NO_EXECUTE"}


def boot_disk_type(machine_type: str) -> str:
    """A3 Ultra and newer accelerator machines boot from Hyperdisk only; the rest use PD."""
    return ("hyperdisk-balanced" if machine_type.startswith(("a3-ultragpu", "a4"))
            else "pd-balanced")


class GpuNodePoolArgs(TypedDict):
    """Arguments of :class:`GpuNodePool`."""

    project: pulumi.Input[str]
    """Project id (``Services.project``)."""
    location: str
    """The cluster's location (its region)."""
    cluster: pulumi.Input[str]
    """Cluster name (``Cluster.name``), so the pool waits for the cluster."""
    team: str
    """Team slug: node label ``trellis.dev/team``, taint ``trellis.dev/team=<team>``."""
    pool: str
    """Pool key: node label ``trellis.dev/pool``, GCP label ``pool``."""
    node_pool_name: str
    """Physical node pool name (components.naming, kind ``gke_node_pool``)."""
    node_identity_name: str
    """Account id of the pool's dedicated node service account."""
    machine_type: str
    """Compute Engine machine type from the catalogue, e.g. ``a3-highgpu-8g``."""
    accelerator_type: str
    """GCP accelerator type, e.g. ``nvidia-h100-80gb``; also GKE's node label value."""
    gpus_per_node: int
    """GPUs per node, as the machine type carries them."""
    zones: NotRequired[Sequence[str]]
    """Zones the nodes may run in (``node_locations``): only zones that sell the machine type,
    or GKE refuses the pool (``Accelerator type ... does not exist in zone``; the catalogue's
    ``catalog.zones``). Default: the cluster's zones.
    https://cloud.google.com/kubernetes-engine/docs/how-to/gpus#create"""
    min_nodes: NotRequired[int]
    """Autoscaler lower bound, total over the zones. Default: 0, idle pools cost nothing."""
    max_nodes: NotRequired[int]
    """Autoscaler upper bound, total over the zones. Default: 1."""
    spot: NotRequired[bool]
    """Spot VMs (up to ~60-90% cheaper, preemptible). Default: false (on-demand). The same as
    ``capacity: "spot"``; ``capacity`` wins when both are given."""
    capacity: NotRequired[str]
    """``on-demand``, ``spot``, ``flex-start`` or ``reservation`` (:data:`CAPACITY_MODES`).

    * ``flex-start``: GKE's Dynamic Workload Scheduler (``node_config.flex_start``): a pending
      pod's node is created when the GPUs free up and runs up to seven days; no reservation is
      consumed and node auto-repair is off, as GKE requires (Cluster Toolkit's gke-node-pool
      preconditions). Nodes come through the cluster autoscaler (no ProvisioningRequest, so
      ordinary Jobs work).
    * ``reservation``: nodes only from :attr:`reservation` (``SPECIFIC_RESERVATION``).

    Default: ``spot`` when ``spot`` is true, else ``on-demand``."""
    reservation: NotRequired[str]
    """With ``capacity: "reservation"``: the reservation's name, or
    ``projects/OWNER/reservations/NAME`` for one shared by another project. It lives in one
    zone: give that zone as :attr:`zones`. Default: none."""
    disk_size_gb: NotRequired[int]
    """Boot disk per node in GB. Default: 200 (ML images are large)."""
    local_ssd_gb: NotRequired[int]
    """Local SSD bundled with the machine type (catalogue ``bundled_local_ssd_gb``); used as
    pod ephemeral storage. Default: 0, ephemeral storage on the boot disk."""
    gpu_driver_version: NotRequired[str]
    """``LATEST``, ``DEFAULT`` or ``INSTALLATION_DISABLED``. Default: :data:`GPU_DRIVER_VERSION`."""
    registry_repository: NotRequired[pulumi.Input[str]]
    """Id of the team's Docker repository (Artifact Registry, in the pool's project and
    location); the nodes get read access to it. Default: none, nodes pull public images only."""
    labels: NotRequired[Mapping[str, str]]
    """GCP labels on the node VMs and disks; ``pool`` is added. Default: none."""


class GpuNodePool(pulumi.ComponentResource):
    """An autoscaled, tainted GPU node pool with a least-privilege node service account."""

    scheduling: common.SchedulingContract
    """Node selector, tolerations and resource name for pods that want this pool."""
    node_service_account: pulumi.Output[str]
    """Email of the pool's node service account."""

    def __init__(self, name: str, args: GpuNodePoolArgs,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("trellis:gcp:GpuNodePool", name, None, opts)
        # int(): from other languages every number arrives as a float (docs/adr/0006).
        min_nodes, max_nodes = int(args.get("min_nodes", 0)), int(args.get("max_nodes", 1))
        gpus = int(args["gpus_per_node"])
        if not 0 <= min_nodes <= max_nodes:
            raise ValueError(f"GpuNodePool '{name}': min_nodes {min_nodes} must be between 0 "
                             f"and max_nodes {max_nodes}")
        capacity = capacity_of(name, args)
        sa, grants = _nodes.node_identity(
            self, f"{name}-node", project=args["project"],
            account_id=args["node_identity_name"],
            display_name=f"GKE nodes of {args['team']}/{args['pool']}",
            description=f"Node service account of GPU pool {args['node_pool_name']}")
        # The pool waits for its logging/metrics grant, not for the registry read: it is
        # created empty (INITIAL_NODES_PER_ZONE), so no node pulls a team image before
        # `pulumi up` has granted it, and the repository (behind its KMS key) stays off the
        # pool's critical path.
        self._create_registry_read(name, args, sa)
        self._create_pool(name, args, sa, grants, gpus, min_nodes, max_nodes, capacity)
        self.node_service_account = sa.email
        self.scheduling = common.scheduling_contract(args["team"], args["pool"], gpus)
        self.register_outputs({"scheduling": dict(self.scheduling),
                               "node_service_account": self.node_service_account})

    def _create_registry_read(self, name: str, args: GpuNodePoolArgs,
                              sa: gcp.serviceaccount.Account) -> list[pulumi.Resource]:
        repository = args.get("registry_repository")
        if repository is None:
            return []
        return [gcp.artifactregistry.RepositoryIamMember(
            f"{name}-node-registry-reader", project=args["project"],
            location=args["location"], repository=repository,
            role="roles/artifactregistry.reader", member=sa.member,
            opts=pulumi.ResourceOptions(parent=self))]

    def _create_pool(self, name: str, args: GpuNodePoolArgs, sa: gcp.serviceaccount.Account,
                     grants: list[pulumi.Resource], gpus: int, min_nodes: int,
                     max_nodes: int, capacity: str) -> gcp.container.NodePool:
        team, pool = args["team"], args["pool"]
        # Declared explicitly although GKE adds the GPU taint itself: otherwise every preview
        # after the first shows a taint diff that replaces the pool (pulumi-gcp#1139,
        # terraform-provider-google#7928).
        taints = [{"key": t["key"], "value": t["value"], "effect": _TAINT_EFFECTS[t["effect"]]}
                  for t in common.gpu_taints(team)]
        local_ssds = int(args.get("local_ssd_gb", 0)) // LOCAL_SSD_GB
        extra: dict[str, Any] = {
            "guest_accelerators": [{
                "type": args["accelerator_type"], "count": gpus,
                "gpu_driver_installation_config": {
                    "gpu_driver_version": args.get("gpu_driver_version", GPU_DRIVER_VERSION)},
            }],
            "taints": taints,
            "spot": capacity == "spot",
            "gvnic": {"enabled": True},  # required by A3, faster everywhere
            "gcfs_config": {"enabled": True},  # image streaming: multi-GB images start sooner
            **capacity_config(capacity, args.get("reservation")),
        }
        if local_ssds:
            extra["ephemeral_storage_local_ssd_config"] = {"local_ssd_count": local_ssds}
        autoscaling: gcp.container.NodePoolAutoscalingArgsDict = {
            "total_min_node_count": min_nodes, "total_max_node_count": max_nodes,
            # ANY: take capacity in whichever zone has it (GPUs, Spot).
            "location_policy": "ANY"}
        zones = list(args.get("zones", ()))
        return gcp.container.NodePool(
            name, project=args["project"], location=args["location"], cluster=args["cluster"],
            name=args["node_pool_name"], node_locations=zones or None,
            # Per zone; the autoscaler owns the count afterwards (see ignore_changes).
            initial_node_count=INITIAL_NODES_PER_ZONE,
            autoscaling=autoscaling,
            # GKE runs flex-start nodes for at most seven days and replaces none of them:
            # auto-repair must be off there (Cluster Toolkit's flex-start precondition).
            management=FLEX_START_MANAGEMENT if capacity == "flex-start" else _nodes.MANAGEMENT,
            upgrade_settings=UPGRADE_SETTINGS,
            node_config=_nodes.secure_node_config(
                machine_type=args["machine_type"], service_account=sa.email,
                disk_size_gb=int(args.get("disk_size_gb", 200)),
                disk_type=boot_disk_type(args["machine_type"]),
                labels=common.node_labels(team, pool),
                resource_labels={**args.get("labels", {}), "team": team, "pool": pool},
                **extra),
            # Nodes boot with their node grants in place (logs, metrics).
            opts=pulumi.ResourceOptions(parent=self, depends_on=grants,
                                        ignore_changes=_nodes.AUTOSCALED_FIELDS))


FLEX_START_MANAGEMENT: gcp.container.NodePoolManagementArgsDict = {"auto_repair": False,
                                                                    "auto_upgrade": True}
"""Management of flex-start pools: GKE refuses auto-repair there (TRL-GKE-011 knows it)."""


def capacity_of(name: str, args: GpuNodePoolArgs) -> str:
    """The pool's capacity mode from ``capacity`` (or the older ``spot``), checked."""
    capacity = common.capacity_mode(f"GpuNodePool '{name}'", args, CAPACITY_MODES,
                                    "reservation")
    if capacity == "reservation" and len(list(args.get("zones", ()))) != 1:
        raise ValueError(f"GpuNodePool '{name}': a reservation lives in one zone; give it as "
                         "the only entry of `zones`")
    return capacity


def capacity_config(capacity: str, reservation: str | None) -> dict[str, Any]:
    """The ``node_config`` keys of a capacity mode (none for on-demand and Spot, whose pools
    keep the node config they always had: a changed node config replaces a pool)."""
    if capacity == "flex-start":
        # Flex-start capacity comes from DWS, never from a reservation.
        return {"flex_start": True,
                "reservation_affinity": {"consume_reservation_type": "NO_RESERVATION"}}
    if capacity == "reservation":
        return {"reservation_affinity": {"consume_reservation_type": "SPECIFIC_RESERVATION",
                                         "key": RESERVATION_KEY, "values": [reservation]}}
    return {}
