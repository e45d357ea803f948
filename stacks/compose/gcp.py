"""One GCP environment of org.yaml mapped onto the ``components.gcp`` components.

Reads only the resolved :class:`~stacks.org.spec.EnvSpec` (defaults decided, every physical name
made, the names renames keep included) and returns the stack outputs, whose shape is the same on
AWS. Logical names and aliases are explained in docs/adr/0004-gcp-logical-names.md; what each
resource is for in docs/gcp.md.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

import pulumi
import pulumi_gcp as gcp
import pulumi_kubernetes as kubernetes

from components import catalog
from components.gcp import (
    PLATFORM_SERVICES,
    AlertChannels,
    Bucket,
    Budget,
    Cluster,
    CpuNodePool,
    EncryptionKeys,
    GpuNodePool,
    GpuNodePoolArgs,
    Network,
    Pipeline,
    ProjectAccess,
    Services,
    TeamIdentity,
    TeamRegistry,
)
from components.gcp._iam import members_of
from components.gcp.bucket import SOFT_DELETE_SECONDS
from components.gcp.cluster import GcpClusterArgs
from components.gcp.cpu_pool import POOL as GENERAL_POOL_LABEL
from components.gcp.identity import MEMBER_ROLES, SCHEDULE_READER_ROLES
from components.gcp.keys import GcpKeyArgs
from components.gcp.services import BUDGET_SERVICE, KMS_SERVICE
from components.k8s import (
    RbacSubject,
    TeamAdmission,
    TeamAdmissionTeam,
    TeamNamespace,
    WarmCapacity,
    gke_dns_kubeconfig,
)
from stacks.org.spec import EnvSpec, PipelineSpec, PoolSpec, TeamSpec

PROVIDER_NAME = "gcp"
BILLING_PROVIDER_NAME = "gcp-billing"
K8S_PROVIDER_NAME = "kubernetes"
KEY_SERVICES = {"gke-secrets": "container.googleapis.com", "storage": "storage.googleapis.com",
                "registry": "artifactregistry.googleapis.com",
                "vertex": "aiplatform.googleapis.com"}
"""Which service encrypts with each key of the environment's ring (names.KEY_PURPOSES)."""
WORKLOAD_IDENTITY_ANNOTATION = "iam.gke.io/gcp-service-account"
ADMIN_ROLES = ("roles/container.admin", "roles/aiplatform.user")
"""Platform admins: every cluster and Kubernetes object of the project, and Vertex AI."""
GKE_SYSTEM_NAMESPACES = ("kube-system", "kube-public", "kube-node-lease", "gmp-system",
                         "gmp-public", "gke-gmp-system", "gke-managed-system",
                         "gke-managed-cim", "gke-managed-dpv2-observability")
"""Namespaces GKE runs its own components in (Kubernetes', Managed Prometheus', GKE's managed
add-ons): the team admission policy leaves them to GKE (docs/adr/0031)."""
GKE_INGRESS_FROM = ("kube-system", "gmp-system")
"""Namespaces whose pods may reach team pods: GKE's add-ons (konnectivity-agent carries the
API server's connections to pods) and Managed Prometheus' collectors, which scrape the teams'
PodMonitoring targets. https://cloud.google.com/stackdriver/docs/managed-prometheus/setup-managed"""


def _aliases(team: TeamSpec, key: str | None, previous: tuple[str, ...] = ()) -> list[Any]:
    """Aliases for the component named ``<team>`` (key None) or ``<team>-<key>``.

    Every combination of the team's and the entry's earlier names, so renaming a team, an
    entry or both keeps every component (and, by Pulumi's child-alias rule, every child named
    ``<component>-...``) in place.
    """
    teams = (team.name, *team.previous_names)
    current = team.name if key is None else f"{team.name}-{key}"
    names = (list(teams) if key is None
             else [f"{t}-{k}" for t in teams for k in (key, *previous)])
    return [pulumi.Alias(name=n) for n in dict.fromkeys(names) if n != current]


def rbac_subjects(members: tuple[str, ...]) -> list[RbacSubject]:
    """Team members as Kubernetes RBAC subjects, as GKE authenticates them.

    ``user:`` and ``serviceAccount:`` principals are users named by their email; ``group:``
    principals are groups, which GKE only resolves with Google Groups for RBAC configured on
    the cluster. ``domain:`` and ``principal://`` members have no Kubernetes identity.
    """
    out: list[RbacSubject] = []
    for member in members:
        kind, _, name = member.partition(":")
        if kind in ("user", "serviceAccount"):
            out.append(RbacSubject(kind="User", name=name))
        elif kind == "group":
            out.append(RbacSubject(kind="Group", name=name))
    return out


class _Env:
    """The environment-wide pieces every team component is wired to."""

    def __init__(self, env: EnvSpec) -> None:
        if not env.project:
            raise ValueError(f"environment '{env.name}' has no GCP project")
        self.env, self.project_id = env, env.project
        # No user_project_override here: with it every call (the very first service
        # enablements included) is billed to the project's quota, which 403s until Service
        # Usage is on (terraform-provider-google#14174). Only the Budget API needs a quota
        # project with user credentials: it gets its own provider (`billing_provider`).
        self.provider = gcp.Provider(
            PROVIDER_NAME, project=env.project, region=env.region,
            default_labels=dict(env.labels))
        self.billing_provider: gcp.Provider | None = None
        if env.platform.billing_account:
            self.billing_provider = gcp.Provider(
                BILLING_PROVIDER_NAME, project=env.project, region=env.region,
                default_labels=dict(env.labels),
                user_project_override=True, billing_project=env.project)
        services = list(PLATFORM_SERVICES)
        if env.platform.billing_account:
            services.append(BUDGET_SERVICE)
        if env.platform.customer_managed_keys:
            services.append(KMS_SERVICE)
        self.services = Services("services", {"project": env.project, "services": services},
                                 opts=self.opts())
        self.project = self.services.project
        self.keys: dict[str, pulumi.Output[str]] = {}
        ring = env.platform.kms_key_ring
        if ring is not None:
            names = env.platform.names
            key_names = {"gke-secrets": names.key_gke_secrets, "storage": names.key_storage,
                         "registry": names.key_registry, "vertex": names.key_vertex}
            keys: dict[str, GcpKeyArgs] = {
                purpose: {"name": str(key_names[purpose]), "service": service}
                for purpose, service in KEY_SERVICES.items()}
            self.keys = EncryptionKeys("keys", {
                "project": self.project, "location": env.region, "key_ring_name": ring,
                "keys": keys, "protected": env.production, "labels": dict(env.labels)},
                opts=self.opts()).key_ids
        self.network = Network("network", {
            "project": self.project, "region": env.region,
            "network_name": env.platform.network_name, "cidr": env.platform.network_cidr,
            "flow_logs": env.production}, opts=self.opts())
        system = catalog.SYSTEM_POOL["gcp"]
        min_nodes, max_nodes = catalog.system_pool_bounds("gcp", production=env.production)
        cluster_args: GcpClusterArgs = {
            "project": self.project, "project_id": env.project, "region": env.region,
            "cluster_name": env.platform.cluster_name,
            "network": self.network.network_id, "subnetwork": self.network.subnetwork_id,
            "pods_range_name": self.network.pods_range_name,
            "services_range_name": self.network.services_range_name,
            "admin_cidrs": list(env.platform.admin_cidrs),
            "release_channel": "STABLE" if env.production else "REGULAR",
            "deletion_protection": env.production,
            "labels": dict(env.labels),
            "system_pool": {
                "name": env.platform.names.system_pool,
                "machine_type": system["machine_type"], "min_nodes": min_nodes,
                "max_nodes": max_nodes, "disk_size_gb": system["disk_size_gb"],
                "disk_type": system["disk_type"],
                "identity_name": env.platform.names.system_node_identity,
            }}
        if env.platform.gke_security_group:
            cluster_args["rbac_security_group"] = env.platform.gke_security_group
        if "gke-secrets" in self.keys:
            cluster_args["secrets_key"] = self.keys["gke-secrets"]
        window = env.platform.maintenance
        if window is not None:
            cluster_args["maintenance"] = {
                "start_time": window.window_start, "end_time": window.window_end,
                "recurrence": window.recurrence,
                "exclusions": {name: {"start_time": start, "end_time": end, "scope": scope}
                               for name, (start, end, scope) in window.exclusions.items()}}
        self.cluster = Cluster("cluster", cluster_args, opts=self.opts())

        # In-cluster objects (team namespaces) go through a provider built from the cluster's
        # outputs, never a local kubeconfig, on the DNS-based endpoint: `pulumi up` reaches the
        # control plane from anywhere with IAM (container.clusters.connect), no VPN or admin
        # CIDR needed (docs/adr/0021-gke-dns-endpoint.md).
        self.repositories: dict[str, pulumi.Output[str]] = {}
        self.admission: TeamAdmission | None = None
        self.k8s_provider = kubernetes.Provider(
            K8S_PROVIDER_NAME, kubeconfig=gke_dns_kubeconfig(
                self.cluster.name, self.cluster.dns_endpoint))

    def opts(self, aliases: list[Any] | None = None) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions(provider=self.provider, aliases=aliases or None)

    def k8s_opts(self, aliases: list[Any] | None = None) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions(provider=self.k8s_provider, aliases=aliases or None)

    def billing_opts(self, aliases: list[Any] | None = None) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions(provider=self.billing_provider or self.provider,
                                      aliases=aliases or None)


def _team(ctx: _Env, team: TeamSpec) -> dict[str, Any]:
    env, names = ctx.env, team.names
    has_pipelines = bool(team.pipelines) and names.pipeline_root_bucket is not None
    identity = TeamIdentity(team.name, {
        "project": ctx.project, "team": team.name, "workload_pool": ctx.cluster.workload_pool,
        "namespace": names.namespace, "kubernetes_service_account": names.service_account,
        "workload_identity_name": names.workload_identity,
        "pipeline_identity_name": names.pipeline_identity if has_pipelines else None,
        "scheduler_identity_name": names.scheduler_identity if has_pipelines else None,
        "members": list(team.members)}, opts=ctx.opts(_aliases(team, None)))

    namespace = TeamNamespace(team.name, {
        "team": names.namespace, "gpu_quota": team.max_gpus, "labels": team.labels,
        "service_account_annotations": {WORKLOAD_IDENTITY_ANNOTATION: identity.workload_email},
        "edit_subjects": rbac_subjects(team.members),
        # GPU pods request CPU and memory too: the quota is the team's share of the shared
        # CPU nodes plus what its GPU pools hold at full scale.
        "cpu_quota": str(team.quota_vcpus),
        "memory_quota": f"{team.quota_memory_gb}Gi",
        "ingress_from_namespaces": list(GKE_INGRESS_FROM)},
        opts=ctx.k8s_opts(_aliases(team, None)))

    members = members_of(team.members)
    team_writers: dict[str, pulumi.Input[str]] = {**members, "workload": identity.workload_member}
    readers: dict[str, pulumi.Input[str]] = {}
    if identity.pipeline_member is not None:
        readers["pipelines"] = identity.pipeline_member
    if ctx.services.vertex_agent_member is not None and has_pipelines:
        readers["vertex-ai-agent"] = ctx.services.vertex_agent_member
    registry = TeamRegistry(team.name, {
        "project": ctx.project, "location": env.region,
        "repository_id": names.container_registry,
        "pipeline_repository_id": names.pipeline_registry if has_pipelines else None,
        "immutable_tags": env.production, "writers": team_writers, "readers": readers,
        "protected": env.production, "labels": team.labels,
        "kms_key_name": ctx.keys.get("registry")}, opts=ctx.opts(_aliases(team, None)))

    # The pipeline SA is a team identity too: pipelines read datasets and write models.
    bucket_admins = dict(team_writers)
    if identity.pipeline_member is not None:
        bucket_admins["pipelines"] = identity.pipeline_member
    buckets = {key: Bucket(f"{team.name}-{key}", {
        "project": ctx.project, "bucket_name": spec.bucket_name,
        "location": env.region, "versioning": spec.versioning,
        "delete_after_days": spec.delete_after_days, "object_admins": bucket_admins,
        # Scratch buckets expire their objects: keeping deleted ones 7 more days only bills.
        "soft_delete_seconds": 0 if spec.delete_after_days else SOFT_DELETE_SECONDS,
        "kms_key_name": ctx.keys.get("storage"),
        "protected": env.production, "labels": team.labels},
        opts=ctx.opts(_aliases(team, key, spec.previous_names)))
        for key, spec in team.buckets.items()}

    pools = {key: _pool(ctx, team, spec, registry) for key, spec in team.pools.items()}
    for key, spec in team.pools.items():
        if spec.min_nodes > 0:
            contract = pools[key].scheduling
            WarmCapacity(f"{team.name}-{key}", {
                "namespace": namespace.namespace, "pool": key, "replicas": spec.min_nodes,
                "node_selector": contract["node_selector"],
                "tolerations": contract["tolerations"], "labels": team.labels},
                # Its pods are judged by the admission policy: the policy must know the pool.
                opts=pulumi.ResourceOptions.merge(
                    ctx.k8s_opts(_aliases(team, key, spec.previous_names)),
                    pulumi.ResourceOptions(depends_on=[a for a in (ctx.admission,) if a])))

    root: Bucket | None = None
    pipelines: dict[str, Any] = {}
    if has_pipelines and names.pipeline_root_bucket:
        viewers = ({"vertex-ai-agent": ctx.services.vertex_agent_member}
                   if ctx.services.vertex_agent_member is not None else {})
        root = Bucket(f"{team.name}-pipeline-root", {
            "project": ctx.project, "bucket_name": names.pipeline_root_bucket,
            # Production keeps overwritten run artefacts (tier default, like team buckets).
            "location": env.region, "versioning": env.production,
            "object_admins": bucket_admins, "kms_key_name": ctx.keys.get("storage"),
            "object_viewers": viewers, "protected": env.production, "labels": team.labels},
            opts=ctx.opts(_aliases(team, "pipeline-root")))
        # Who hears about a scheduled run that failed to start: the team's contacts.
        channels = AlertChannels(team.name, {
            "project": ctx.project, "display_name": f"{env.org} {env.name} {team.name}",
            "emails": list(team.contacts), "labels": team.labels},
            opts=ctx.opts(_aliases(team, None)))
        pipelines = {key: _pipeline(ctx, team, spec, identity, root, channels)
                     for key, spec in team.pipelines.items()}

    if env.platform.billing_account and team.budget_usd:
        Budget(team.name, {
            "billing_account": env.platform.billing_account, "project": ctx.project,
            "display_name": names.budget,
            "amount_usd": float(team.budget_usd), "currency": env.platform.budget_currency,
            "labels": {"team": team.name},
            "contacts": list(team.contacts), "channel_labels": team.labels},
            opts=ctx.billing_opts(_aliases(team, None)))

    ctx.repositories[team.name] = registry.repository_id
    return {
        "namespace": names.namespace,
        "service_account": names.service_account,
        "workload_identity": identity.workload_email,
        "pipeline_identity": identity.pipeline_email,
        "buckets": {key: b.url for key, b in buckets.items()},
        "pipeline_root": root.url if root is not None else None,
        "container_registry": registry.container_registry,
        "pipeline_registry": registry.pipeline_registry,
        "model_registry": (f"vertex-ai://projects/{ctx.project_id}/locations/{env.region}"
                           "/models"),
        "gpu_pools": {key: _pool_output(team.pools[key], pool) for key, pool in pools.items()},
        "pipelines": pipelines,
    }


def _pool(ctx: _Env, team: TeamSpec, spec: PoolSpec, registry: TeamRegistry) -> GpuNodePool:
    shape = spec.shape
    if shape.gcp_accelerator_type is None:
        raise ValueError(f"pool {team.name}/{spec.name}: {shape.machine_type} is not a GCP shape")
    args: GpuNodePoolArgs = {
        "project": ctx.project, "location": ctx.env.region, "cluster": ctx.cluster.name,
        "team": team.name, "pool": spec.name, "node_pool_name": spec.node_pool_name,
        "node_identity_name": spec.node_identity_name, "machine_type": shape.machine_type,
        "accelerator_type": shape.gcp_accelerator_type, "gpus_per_node": spec.gpus_per_node,
        "min_nodes": spec.min_nodes, "max_nodes": spec.max_nodes, "spot": spec.spot,
        "capacity": spec.capacity, "zones": list(spec.zones),
        "disk_size_gb": spec.disk_size_gb, "local_ssd_gb": shape.bundled_local_ssd_gb,
        "registry_repository": registry.repository_id,
        "labels": team.labels}
    if spec.reservation is not None:
        args["reservation"] = spec.reservation.reference
    return GpuNodePool(f"{team.name}-{spec.name}", args,
                       opts=ctx.opts(_aliases(team, spec.name, spec.previous_names)))


def _pool_output(spec: PoolSpec, pool: GpuNodePool) -> dict[str, Any]:
    contract: Mapping[str, Any] = pool.scheduling
    return {
        "node_selector": contract["node_selector"],
        "tolerations": contract["tolerations"],
        "resource_name": contract["resource_name"],
        "gpus_per_node": contract["gpus_per_node"],
        "accelerator": spec.accelerator,
        "machine_type": spec.machine_type,
        "min_nodes": spec.min_nodes,
        "max_nodes": spec.max_nodes,
        "spot": spec.spot,
        "capacity": spec.capacity,
    }


def _pipeline(ctx: _Env, team: TeamSpec, spec: PipelineSpec, identity: TeamIdentity,
              root: Bucket, channels: AlertChannels) -> dict[str, Any]:
    if identity.pipeline_email is None or identity.scheduler_email is None:
        raise ValueError(f"team {team.name} has pipelines but no pipeline identities")
    pipeline = Pipeline(f"{team.name}-{spec.name}", {
        "project": ctx.project, "project_id": ctx.project_id, "region": ctx.env.region,
        "pipeline": spec.name, "job_name": spec.job_name,
        "display_name": spec.pipeline_name, "schedule": spec.schedule,
        "time_zone": spec.timezone, "pipeline_root": root.bucket_name,
        "pipeline_service_account": identity.pipeline_email,
        "scheduler_service_account": identity.scheduler_email,
        "template_path": str(spec.template_path) if spec.template_path else None,
        "template_uri": spec.template if spec.template_is_uri else None,
        "parameters": spec.parameters, "description": spec.description,
        "labels": {**team.labels, "pipeline": spec.name},
        "alert_policy_name": spec.alert_policy_name,
        "notification_channels": channels.names,
        # Runs encrypt with the environment's Vertex key (resolves once its agent may use it).
        "kms_key_name": ctx.keys.get("vertex")},
        opts=ctx.opts(_aliases(team, spec.name, spec.previous_names)))
    return {"schedule": spec.schedule, "timezone": spec.timezone,
            "template_uri": pipeline.template_uri, "job_name": pipeline.job_name,
            "pipeline_root": pipeline.output_directory}


def _general_pool(ctx: _Env) -> CpuNodePool | None:
    """The shared CPU pool: pods without GPU tolerations run here, and pull any team's image."""
    env = ctx.env
    spec, names = env.platform.general_pool, env.platform.names
    if spec is None or names.general_pool is None or names.general_node_identity is None:
        return None
    return CpuNodePool("general", {
        "project": ctx.project, "location": env.region, "cluster": ctx.cluster.name,
        "node_pool_name": names.general_pool, "node_identity_name": names.general_node_identity,
        "machine_type": spec.machine_type, "min_nodes": spec.min_nodes,
        "max_nodes": spec.max_nodes, "spot": spec.spot, "disk_size_gb": spec.disk_size_gb,
        "disk_type": spec.disk_type, "registry_repositories": dict(ctx.repositories),
        "labels": dict(env.labels)}, opts=ctx.opts())


def image_repository(env: EnvSpec, team: TeamSpec) -> str:
    """The image reference prefix of a team's Docker repository (``docker push`` target)."""
    return f"{env.region}-docker.pkg.dev/{env.project}/{team.names.container_registry}/"


def _admission(ctx: _Env) -> TeamAdmission:
    """The cluster's admission policy: each team's pods on its own pools and images only."""
    env = ctx.env
    teams: dict[str, TeamAdmissionTeam] = {
        team.name: {"pools": sorted(team.pools),
                    "image_repositories": [image_repository(env, team)]}
        for team in env.teams.values()}
    shared = [GENERAL_POOL_LABEL] if env.platform.general_pool is not None else []
    return TeamAdmission("team-admission", {
        "teams": teams, "platform_pools": shared,
        "system_namespaces": list(GKE_SYSTEM_NAMESPACES), "labels": dict(env.labels)},
        opts=ctx.k8s_opts())


def people(env: EnvSpec) -> dict[str, list[str]]:
    """Project roles per human principal: admins and the members of every team, merged."""
    grants: dict[str, set[str]] = {}
    for admin in env.platform.admins:
        grants.setdefault(admin, set()).update(ADMIN_ROLES)
    for team in env.teams.values():
        reads_schedules = any(p.template_is_uri for p in team.pipelines.values())
        for member in team.members:
            grants.setdefault(member, set()).update(MEMBER_ROLES)
            if reads_schedules:
                grants[member].update(SCHEDULE_READER_ROLES)
    return {p: sorted(roles) for p, roles in sorted(grants.items())}


def build_gcp(env: EnvSpec, teams: Collection[str] | None = None) -> dict[str, Any]:
    """Create every resource of one GCP environment; return the stack outputs.

    ``teams``: only these teams' resources (a shard of a sharded plan); the environment's own
    resources are made from every team of ``env`` as always.
    """
    ctx = _Env(env)
    grants = people(env)
    if grants:
        ProjectAccess("access", {"project": ctx.project, "grants": grants}, opts=ctx.opts())
    ctx.admission = _admission(ctx)
    built = {name: _team(ctx, team) for name, team in env.teams.items()
             if teams is None or name in teams}
    _general_pool(ctx)
    return {
        "environment": {
            "name": env.name, "cloud": env.cloud, "tier": env.tier, "region": env.region,
            "project": env.project, "cluster_name": ctx.cluster.name,
            "cluster_endpoint": ctx.cluster.endpoint,
        },
        "teams": built,
    }
