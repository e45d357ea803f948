"""The GKE cluster of an environment: regional, private, Workload Identity, one system pool.

The default node pool is removed; a small autoscaled CPU pool with its own least-privilege
service account runs cluster add-ons, tainted so only GKE-managed components (which tolerate
``components.gke.io/gke-managed-components``) run there. Team workloads go to the shared
general-purpose pool (:class:`~components.gcp.cpu_pool.CpuNodePool`) and the GPU pools
(:class:`~components.gcp.gpu_pool.GpuNodePool`), separate components so adding one never
touches the cluster.

The control plane is reached through its DNS-based endpoint (IAM-authorised, no public IP, no
VPN): ``pulumi up`` and team members use it wherever they are; ``admin_cidrs`` keeps the IP
endpoint for those who want it (docs/adr/0021-gke-dns-endpoint.md).
"""

# No `from __future__ import annotations`: hosted for other languages (docs/adr/0006).
from collections.abc import Mapping, Sequence
from typing import NotRequired, TypedDict

import pulumi
import pulumi_gcp as gcp

from components import common
from components.gcp import _nodes

SYSTEM_TAINT = {"key": "components.gke.io/gke-managed-components", "value": "true",
                "effect": "NO_SCHEDULE"}
"""Keeps team pods off the system pool; GKE-managed components tolerate it.
https://cloud.google.com/kubernetes-engine/docs/how-to/isolate-workloads-dedicated-nodes
(GoogleCloudPlatform/prometheus-engine#1211 made Managed Prometheus tolerate it)."""


class GcpMaintenanceExclusionArgs(TypedDict):
    """One period without automatic upgrades (RFC 3339 UTC times)."""

    start_time: str
    """e.g. ``2026-11-20T00:00:00Z``."""
    end_time: str
    """e.g. ``2026-12-02T23:59:59Z``."""
    scope: str
    """``NO_UPGRADES``, ``NO_MINOR_UPGRADES`` or ``NO_MINOR_OR_NODE_UPGRADES``."""


class GcpMaintenanceArgs(TypedDict):
    """When GKE may upgrade the cluster automatically.
    https://cloud.google.com/kubernetes-engine/docs/concepts/maintenance-windows-and-exclusions"""

    start_time: str
    """Start of the first window, RFC 3339 UTC, e.g. ``2025-01-11T00:00:00Z``."""
    end_time: str
    """End of the first window; the difference is each window's length (4 h or more)."""
    recurrence: str
    """RFC 5545 RRULE, e.g. ``FREQ=WEEKLY;BYDAY=SA,SU`` (days are UTC days)."""
    exclusions: NotRequired[Mapping[str, GcpMaintenanceExclusionArgs]]
    """Named periods without upgrades. Default: none."""


class GcpSystemPoolArgs(TypedDict):
    """The CPU pool for add-ons (DNS, autoscaler, GPU device plugin, agents)."""

    name: str
    """Physical node pool name (components.naming, kind ``gke_node_pool``)."""
    machine_type: str
    """Compute Engine machine type, e.g. ``e2-standard-4`` (catalog.SYSTEM_POOL)."""
    min_nodes: int
    """Autoscaler lower bound, total for the cluster (``total_min_node_count``)."""
    max_nodes: int
    """Autoscaler upper bound, total for the cluster (``total_max_node_count``)."""
    disk_size_gb: int
    """Boot disk per node, GB."""
    disk_type: str
    """Boot disk type, e.g. ``pd-balanced``."""
    identity_name: str
    """Account id of the pool's dedicated node service account (6-30 chars)."""


class GcpClusterArgs(TypedDict):
    """Arguments of :class:`Cluster`."""

    project: pulumi.Input[str]
    """Project id. Pass ``Services.project`` so the cluster waits for container.googleapis.com."""
    project_id: str
    """The same project id as a plain string: the Workload Identity pool is ``<id>.svc.id.goog``."""
    region: str
    """Region: the cluster is regional (control plane and nodes spread over its zones)."""
    cluster_name: str
    """Physical cluster name (components.naming, kind ``gke_cluster``)."""
    network: pulumi.Input[str]
    """VPC id (``Network.network_id``)."""
    subnetwork: pulumi.Input[str]
    """Subnet id (``Network.subnetwork_id``)."""
    pods_range_name: pulumi.Input[str]
    """Secondary range of the subnet for pod IPs (``Network.pods_range_name``)."""
    services_range_name: pulumi.Input[str]
    """Secondary range of the subnet for Service IPs (``Network.services_range_name``)."""
    system_pool: GcpSystemPoolArgs
    """The add-on pool; see :class:`GcpSystemPoolArgs`."""
    admin_cidrs: NotRequired[Sequence[str]]
    """CIDRs allowed to reach the control plane's public endpoint (master authorized
    networks). Default: empty, which makes the endpoint private (reachable from the VPC only).
    https://cloud.google.com/kubernetes-engine/docs/concepts/network-isolation"""
    release_channel: NotRequired[str]
    """GKE release channel: ``RAPID``, ``REGULAR`` or ``STABLE``. Default: ``REGULAR``.
    https://cloud.google.com/kubernetes-engine/docs/concepts/release-channels"""
    deletion_protection: NotRequired[bool]
    """GKE deletion protection plus Pulumi ``protect`` and ``retain_on_delete``. Default: off."""
    labels: NotRequired[Mapping[str, str]]
    """GCP labels on the cluster (``resource_labels``). Default: none beyond provider labels."""
    rbac_security_group: NotRequired[str]
    """``gke-security-groups@<domain>``: turns on Google Groups for RBAC so Kubernetes RBAC
    bindings to ``group:`` members work. Default: none, groups are not resolved (users are).
    https://cloud.google.com/kubernetes-engine/docs/how-to/google-groups-rbac"""
    secrets_key: NotRequired[pulumi.Input[str]]
    """Cloud KMS key id for application-layer secrets encryption (the GKE service agent needs
    encrypter/decrypter on it first: ``EncryptionKeys.key_ids``). Default: none, Google-managed
    encryption only. https://cloud.google.com/kubernetes-engine/docs/how-to/encrypting-secrets"""
    maintenance: NotRequired[GcpMaintenanceArgs]
    """Maintenance window and exclusions. Default: none, GKE upgrades at any time."""


class GcpCluster(pulumi.ComponentResource):
    """A private, regional GKE Standard cluster with Workload Identity and a system pool."""

    name: pulumi.Output[str]
    """Cluster name, resolved once the cluster exists (node pools depend on it through this)."""
    endpoint: pulumi.Output[str]
    """Control plane IP address (private when ``admin_cidrs`` is empty)."""
    ca_certificate: pulumi.Output[str]
    """Base64 PEM of the cluster CA, for kubeconfigs."""
    location: pulumi.Output[str]
    """The cluster's region."""
    workload_pool: pulumi.Output[str]
    """``<project>.svc.id.goog``, resolved once the cluster (and so the pool) exists."""
    dns_endpoint: pulumi.Output[str]
    """The control plane's DNS name, e.g. ``gke-0123abcd.us-central1.gke.goog``: reachable from
    anywhere that reaches Google APIs, authorised by IAM (``container.clusters.connect``)."""

    def __init__(self, name: str, args: GcpClusterArgs,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("trellis:gcp:Cluster", name, None, opts)
        system_sa, system_grants = _nodes.node_identity(
            self, f"{name}-system-node", project=args["project"],
            account_id=args["system_pool"]["identity_name"],
            display_name="GKE system node pool",
            description=f"Nodes of the system pool of cluster {args['cluster_name']}")
        cluster = self._create_cluster(name, args, system_sa)
        self._create_system_pool(name, args, cluster, system_sa, system_grants)
        self.name, self.endpoint = cluster.name, cluster.endpoint
        self.location = cluster.location
        self.ca_certificate = cluster.master_auth.apply(
            lambda auth: str(auth.get("cluster_ca_certificate") if isinstance(auth, dict)
                             else auth.cluster_ca_certificate))
        project_id = args["project_id"]
        self.workload_pool = cluster.id.apply(lambda _id: f"{project_id}.svc.id.goog")
        self.dns_endpoint = cluster.control_plane_endpoints_config.apply(_dns_endpoint)
        self.register_outputs({"name": self.name, "endpoint": self.endpoint,
                               "location": self.location, "workload_pool": self.workload_pool,
                               "ca_certificate": self.ca_certificate,
                               "dns_endpoint": self.dns_endpoint})

    def _create_cluster(self, name: str, args: GcpClusterArgs,
                        system_sa: gcp.serviceaccount.Account) -> gcp.container.Cluster:
        admin_cidrs = list(args.get("admin_cidrs", ()))
        protected = args.get("deletion_protection", False)
        pool = args["system_pool"]
        return gcp.container.Cluster(
            f"{name}-gke", project=args["project"], name=args["cluster_name"],
            location=args["region"], network=args["network"], subnetwork=args["subnetwork"],
            networking_mode="VPC_NATIVE",
            ip_allocation_policy={
                "cluster_secondary_range_name": args["pods_range_name"],
                "services_secondary_range_name": args["services_range_name"],
            },
            # The default pool cannot be created without nodes; it is removed right after
            # creation. Its node_config still uses the system SA so no node ever runs as the
            # default compute account; later reads report another pool's config, hence the
            # ignore_changes below.
            remove_default_node_pool=True, initial_node_count=1,
            node_config=_nodes.secure_node_config(
                machine_type=pool["machine_type"], service_account=system_sa.email,
                disk_size_gb=int(pool["disk_size_gb"]), disk_type=pool["disk_type"], labels={},
                resource_labels=dict(args.get("labels", {}))),
            private_cluster_config={
                "enable_private_nodes": True,
                "enable_private_endpoint": not admin_cidrs,
            },
            # The DNS endpoint serves kubectl and the stack's Kubernetes provider from anywhere,
            # authorised by IAM; the IP endpoint stays private unless admin_cidrs list ranges.
            control_plane_endpoints_config={
                "dns_endpoint_config": {"allow_external_traffic": True}},
            master_authorized_networks_config={
                "cidr_blocks": [{"cidr_block": c, "display_name": f"admin {c}"}
                                for c in admin_cidrs],
                "gcp_public_cidrs_access_enabled": False,
            },
            master_auth={"client_certificate_config": {"issue_client_certificate": False}},
            enable_legacy_abac=False,
            workload_identity_config={"workload_pool": f"{args['project_id']}.svc.id.goog"},
            release_channel={"channel": args.get("release_channel", "REGULAR")},
            enable_shielded_nodes=True,
            datapath_provider="ADVANCED_DATAPATH",  # Dataplane V2: eBPF, network policy built in
            cost_management_config={"enabled": True},
            # Idle GPU nodes are released sooner: the autoscaler favours utilisation.
            cluster_autoscaling={"autoscaling_profile": "OPTIMIZE_UTILIZATION"},
            logging_config={"enable_components": ["SYSTEM_COMPONENTS", "WORKLOADS"]},
            monitoring_config={"enable_components": ["SYSTEM_COMPONENTS", "DCGM"],
                               "managed_prometheus": {"enabled": True}},
            addons_config={
                "gcs_fuse_csi_driver_config": {"enabled": True},  # mount team buckets in pods
                "gce_persistent_disk_csi_driver_config": {"enabled": True},
                "http_load_balancing": {"disabled": False},
                "horizontal_pod_autoscaling": {"disabled": False},
            },
            authenticator_groups_config=(
                {"security_group": args["rbac_security_group"]}
                if args.get("rbac_security_group") else None),
            database_encryption=({"state": "ENCRYPTED", "key_name": args["secrets_key"]}
                                 if args.get("secrets_key") is not None else None),
            maintenance_policy=_maintenance_policy(args.get("maintenance")),
            deletion_protection=protected,
            resource_labels=dict(args.get("labels", {})),
            opts=pulumi.ResourceOptions(parent=self, protect=protected,
                                        retain_on_delete=protected,
                                        ignore_changes=["nodeConfig", "initialNodeCount"]))

    def _create_system_pool(self, name: str, args: GcpClusterArgs, cluster: gcp.container.Cluster,
                            system_sa: gcp.serviceaccount.Account,
                            grants: list[pulumi.Resource]) -> gcp.container.NodePool:
        pool = args["system_pool"]
        autoscaling: gcp.container.NodePoolAutoscalingArgsDict = {
            "total_min_node_count": int(pool["min_nodes"]),
            "total_max_node_count": int(pool["max_nodes"]),
            "location_policy": "BALANCED"}
        return gcp.container.NodePool(
            f"{name}-system", project=args["project"], location=args["region"],
            cluster=cluster.name, name=pool["name"], initial_node_count=1,
            autoscaling=autoscaling,
            management=_nodes.MANAGEMENT,
            node_config=_nodes.secure_node_config(
                machine_type=pool["machine_type"], service_account=system_sa.email,
                disk_size_gb=int(pool["disk_size_gb"]), disk_type=pool["disk_type"],
                labels={common.POOL_LABEL: "system"},
                resource_labels={**args.get("labels", {}), "pool": "system"},
                taints=[SYSTEM_TAINT]),
            opts=pulumi.ResourceOptions(parent=self, depends_on=grants,
                                        ignore_changes=_nodes.AUTOSCALED_FIELDS))


def _dns_endpoint(config: object) -> str:
    dns = (config.get("dns_endpoint_config") if isinstance(config, dict)
           else getattr(config, "dns_endpoint_config", None)) if config else None
    endpoint = (dns.get("endpoint") if isinstance(dns, dict)
                else getattr(dns, "endpoint", None)) if dns else None
    return str(endpoint or "")


def _maintenance_policy(policy: GcpMaintenanceArgs | None
                        ) -> gcp.container.ClusterMaintenancePolicyArgsDict | None:
    if policy is None:
        return None
    exclusions: list[gcp.container.ClusterMaintenancePolicyMaintenanceExclusionArgsDict] = [
        {"exclusion_name": name, "start_time": e["start_time"], "end_time": e["end_time"],
         "exclusion_options": {"scope": e["scope"]}}
        for name, e in sorted(policy.get("exclusions", {}).items())]
    out: gcp.container.ClusterMaintenancePolicyArgsDict = {"recurring_window": {
        "start_time": policy["start_time"], "end_time": policy["end_time"],
        "recurrence": policy["recurrence"]}}
    if exclusions:
        out["maintenance_exclusions"] = exclusions
    return out


Cluster = GcpCluster
"""Python name of :class:`GcpCluster` (the any-language schema needs unique class names)."""
ClusterArgs = GcpClusterArgs
SystemPoolArgs = GcpSystemPoolArgs
