"""The effective specification of one environment: what the components are asked to build.

:func:`stacks.org.resolve.resolve` turns the org model plus an environment name into an
:class:`EnvSpec`: team filters applied, overrides merged, tier defaults decided, catalogue
shapes looked up and every physical name made. Everything downstream (composition, cost,
handoff) reads these frozen dataclasses, never the raw model, so a default is decided once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from components.catalog import MachineShape

Labels = dict[str, str]


@dataclass(frozen=True)
class ReservationSpec:
    """The reservation a ``capacity: reservation`` pool consumes."""

    reference: str  # gcp: reservation name, or projects/P/reservations/R when shared; aws: cr-id
    zone: str  # gcp zone name / aws zone ID the reservation lives in (the pool's one zone)
    project: str | None = None  # gcp: project owning the reservation (the env's by default)
    name: str | None = None  # gcp: the reservation name
    capacity_block: bool = False  # aws: a Capacity Block for ML

    @property
    def shared(self) -> bool:
        """gcp: owned by another project (referenced as projects/P/reservations/R)."""
        return self.reference.startswith("projects/")


@dataclass(frozen=True)
class PoolSpec:
    name: str  # the pool key: logical name of the component
    accelerator: str
    gpus_per_node: int
    shape: MachineShape
    min_nodes: int
    max_nodes: int
    spot: bool
    disk_size_gb: int
    node_pool_name: str  # GKE node pool / EKS node group physical name (kept on gcp renames)
    node_identity_name: str  # GCP node service account id / AWS node role name
    previous_names: tuple[str, ...] = ()
    zone_ids: tuple[str, ...] = ()  # aws: AZ IDs the node group uses (offering the type)
    zones: tuple[str, ...] = ()  # gcp: zone names the nodes may run in
    #: catalog.CAPACITY_MODES; empty when built without one: then spot says it (spot/on-demand)
    capacity: str = ""
    reservation: ReservationSpec | None = None

    def __post_init__(self) -> None:
        if not self.capacity:
            object.__setattr__(self, "capacity", "spot" if self.spot else "on-demand")

    @property
    def machine_type(self) -> str:
        return self.shape.machine_type

    @property
    def max_gpus(self) -> int:
        return self.max_nodes * self.gpus_per_node


@dataclass(frozen=True)
class BucketSpec:
    purpose: str  # the bucket key
    bucket_name: str  # physical, globally unique; kept from the original team/purpose
    versioning: bool
    delete_after_days: int | None
    previous_names: tuple[str, ...] = ()


@dataclass(frozen=True)
class PipelineSpec:
    name: str
    template: str  # as written: relative path or gs:// / s3:// URI
    template_path: Path | None  # absolute local path when the template is a file
    schedule: str  # 5-field cron
    timezone: str
    parameters: dict[str, Any]
    description: str
    job_name: str  # Cloud Scheduler job (kept on renames) / EventBridge schedule name
    pipeline_name: str  # SageMaker pipeline name (aws) / display name (gcp)
    previous_names: tuple[str, ...] = ()
    alert_policy_name: str | None = None  # gcp: alert policy on runs that fail to start
    #: aws: ECR repositories outside the team's prefix whose images the steps run (AWS Deep
    #: Learning Containers of the region): the pipeline role is granted pulls on exactly these.
    image_repositories: tuple[str, ...] = ()

    @property
    def template_is_uri(self) -> bool:
        return self.template_path is None


@dataclass(frozen=True)
class TeamNames:
    """Physical names of the team-level identities and registries."""

    workload_identity: str  # GCP SA id / AWS role name
    pipeline_identity: str  # GCP SA id / AWS role name
    scheduler_identity: str  # GCP SA id / AWS role name
    container_registry: str  # AR repository id (kept on team renames) / ECR repository prefix
    pipeline_registry: str  # AR KFP repository id (kept on team renames) / (aws) unused but named
    model_registry: str  # (aws) SageMaker model package group, kept on team renames; (gcp) unused
    pipeline_root_bucket: str | None  # bucket for pipeline runs, when the team has pipelines
    namespace: str  # Kubernetes namespace = team slug
    service_account: str  # Kubernetes service account = team slug
    budget: str  # GCP budget display name / AWS budget name
    member_role: str | None = None  # aws: IAM role the team's members assume


@dataclass(frozen=True)
class TeamSpec:
    name: str
    description: str
    members: tuple[str, ...]
    contacts: tuple[str, ...]
    cost_center: str | None
    budget_usd: float | None
    labels: Labels  # org + env labels + team/env/cost-center
    pools: dict[str, PoolSpec]
    buckets: dict[str, BucketSpec]
    pipelines: dict[str, PipelineSpec]
    names: TeamNames
    previous_names: tuple[str, ...] = ()
    cpu_vcpus: int = 8  # teams.cpu in this environment (effective.DEFAULT_CPU when unset)
    cpu_memory_gb: int = 32

    @property
    def max_gpus(self) -> int:
        return sum(p.max_gpus for p in self.pools.values())

    @property
    def quota_vcpus(self) -> int:
        """CPU requests the namespace may hold: its CPU work plus every GPU pool at max size
        (a GPU pod requests CPUs too; a quota of the CPU work alone would refuse it)."""
        return self.cpu_vcpus + sum(p.max_nodes * p.shape.vcpus for p in self.pools.values())

    @property
    def quota_memory_gb(self) -> int:
        return self.cpu_memory_gb + sum(p.max_nodes * p.shape.memory_gb
                                        for p in self.pools.values())


@dataclass(frozen=True)
class PlatformNames:
    """Physical names of the environment-level resources that are not the cluster itself."""

    system_pool: str  # GKE node pool / EKS node group of the system nodes
    system_node_identity: str  # GCP service account id / AWS IAM role (and launch template)
    cluster_role: str | None = None  # aws: the EKS cluster role
    autoscaler_role: str | None = None  # aws: the cluster autoscaler's role
    registry_template_role: str | None = None  # aws: the ECR creation template role
    key_alias: str | None = None  # aws: KMS alias of the environment key
    general_pool: str | None = None  # node pool / node group of the teams' CPU pods
    general_node_identity: str | None = None  # its node SA (gcp) / node role (aws)
    key_ring: str | None = None  # gcp: Cloud KMS key ring of the environment
    key_gke_secrets: str | None = None  # gcp: key of GKE application-layer secrets encryption
    key_storage: str | None = None  # gcp: default key of the buckets
    key_registry: str | None = None  # gcp: key of the Artifact Registry repositories
    key_vertex: str | None = None  # gcp: key of Vertex AI pipeline runs (encryptionSpec)


@dataclass(frozen=True)
class MaintenanceSpec:
    """GKE maintenance policy: one weekly window and named exclusions, RFC 3339 / RRULE."""

    window_start: str  # first occurrence, e.g. 2025-01-11T00:00:00Z
    window_end: str
    recurrence: str  # FREQ=WEEKLY;BYDAY=SA,SU
    exclusions: dict[str, tuple[str, str, str]] = field(default_factory=dict)
    # name -> (start, end, GKE scope)


@dataclass(frozen=True)
class GeneralPoolSpec:
    """The shared general-purpose CPU pool: where pods without GPU tolerations run."""

    machine_type: str
    min_nodes: int
    max_nodes: int  # holds every team's cpu share (catalog.general_pool_nodes)
    spot: bool
    disk_size_gb: int
    disk_type: str


@dataclass(frozen=True)
class PlatformSpec:
    network_cidr: str
    admin_cidrs: tuple[str, ...]
    billing_account: str | None
    admins: tuple[str, ...]
    cluster_name: str
    network_name: str
    names: PlatformNames
    gke_security_group: str | None = None
    registry_scanning: str | None = None  # aws: None = leave the account's ECR scanning as is
    general_max_nodes: int = 1  # aws: general node group size for the teams' CPU work
    admins_from: str = "platform.admins"  # where `admins` was written (for messages)
    customer_managed_keys: bool = False  # a KMS key ring with keys per service (gcp)
    budget_currency: str = "USD"
    maintenance: MaintenanceSpec | None = None  # gcp production clusters
    general_pool: GeneralPoolSpec | None = None  # gcp

    @property
    def kms_key_ring(self) -> str | None:
        """The key ring when customer-managed keys are on, else None."""
        return self.names.key_ring if self.customer_managed_keys else None


@dataclass(frozen=True)
class EnvSpec:
    org: str
    cloud: str  # "gcp" | "aws"
    name: str  # environment key = Pulumi stack name
    tier: str  # "sandbox" | "production"
    region: str
    project: str | None  # gcp
    account: str | None  # aws
    labels: Labels  # org labels + env labels + managed-by/org/env
    contacts: tuple[str, ...]
    platform: PlatformSpec
    teams: dict[str, TeamSpec]
    org_file: Path
    all_environments: tuple[str, ...] = field(default=())
    kubernetes_version: str | None = None  # aws: EKS minor version
    zone_ids: tuple[str, ...] = ()  # aws: AZ IDs of the network (empty: picked at deploy time)
    #: aws: AZ IDs outside ``zone_ids`` where a reservation pool runs: node-only subnets
    node_zone_ids: tuple[str, ...] = ()

    @property
    def production(self) -> bool:
        return self.tier == "production"

    def kms_key_id(self, purpose: str) -> str | None:
        """Resource id of the environment's Cloud KMS key for ``purpose`` (``gke-secrets``,
        ``storage``, ``registry``, ``vertex``), or None without customer-managed keys.

        ``vertex`` is the key of Vertex AI pipeline runs: a PipelineJob's
        ``encryptionSpec.kmsKeyName`` (the Vertex AI service agent may use it).
        """
        ring = self.platform.kms_key_ring
        if ring is None or self.cloud != "gcp":
            return None
        key = getattr(self.platform.names, f"key_{purpose.replace('-', '_')}", None)
        if key is None:
            raise KeyError(f"no key for {purpose!r}; keys: gke-secrets, storage, registry, "
                           "vertex")
        return (f"projects/{self.project}/locations/{self.region}/keyRings/{ring}/"
                f"cryptoKeys/{key}")
