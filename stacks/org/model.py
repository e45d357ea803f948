"""The typed model of org.yaml, version 1 (field names are a contract: add, never rename).

pydantic checks shapes and types here; rules that need the cloud catalogue, other fields or
the file system live in :mod:`stacks.org.validate`, which reports everything with a
position.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_core import PydanticCustomError

from stacks.org import rules

Tier = Literal["sandbox", "production"]
Cloud = Literal["gcp", "aws"]
Capacity = Literal["on-demand", "spot", "flex-start", "reservation"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# Numbers and booleans are strict (a boolean is never a number, a quoted "4" is text, 4.0 is
# not a count) and bounded (what the clouds allow, see stacks/org/rules.py); floats are finite.
# Strict per field, not per model: lists must still fill the tuple fields.
def _count(default: Any, *, ge: int, le: int | None = None, desc: str) -> Any:
    return Field(default=default, ge=ge, le=le, strict=True, description=desc)


def _flag(default: Any, desc: str) -> Any:
    return Field(default=default, strict=True, description=desc)


def _budget(desc: str) -> Any:
    return Field(default=None, ge=0, le=rules.MAX_BUDGET_USD, strict=True, allow_inf_nan=False,
                 description=desc)


ENABLED = ("false: no environment gets this entry, except where an override sets "
           "`enabled: true` (an entry for some environments only). Default: true.")
ENABLED_OVERRIDE = ("false: this environment does not get the entry (it is dropped there: "
                    "`trellis diff` shows what that deletes); true: it gets an entry declared "
                    "with `enabled: false`. Default: the entry's own `enabled`.")


def _names(desc: str) -> Any:
    return Field(default=(), description=desc)


ZONES = (
    "Zones the pool's nodes may run in; default: every zone of the environment that offers the "
    "pool's machine type. gcp: zone names (us-central1-a). aws: availability-zone IDs (use1-az2; "
    "`aws ec2 describe-availability-zones --region R` lists ZoneName and ZoneId), which name the "
    "same zone in every account, unlike zone names."
)

PREVIOUS_NAMES = (
    "Earlier keys of this entry. Renaming a key and listing the old one here keeps the existing "
    "cloud resources (Pulumi aliases, unchanged physical names) instead of replacing them."
)


CAPACITY = (
    "How the pool's nodes are obtained. on-demand: pay per use, when the cloud has capacity "
    "and quota. spot: up to 60-91% cheaper, nodes can be reclaimed mid-run. flex-start (gcp): "
    "GKE's Dynamic Workload Scheduler; a Job waits until the GPUs are free, nodes run up to 7 "
    "days, DWS price. reservation: capacity reserved for you (see `reservation`), billed "
    "whether nodes run or not. Default: spot in sandbox, on-demand in production; `spot: "
    "true|false` says the same for spot and on-demand."
)


class Reservation(_Strict):
    """The reserved capacity a `capacity: reservation` pool consumes."""

    name: str | None = Field(default=None, description="gcp: the Compute Engine reservation "
                             "name (a specific reservation: `--require-specific-reservation`), "
                             "in the zone listed under the pool's `zones`.")
    project: str | None = Field(default=None, description="gcp: project that owns a shared "
                                "reservation. Default: the environment's project.")
    id: str | None = Field(default=None, description="aws: the capacity reservation id "
                           "(cr-...) of an On-Demand Capacity Reservation or a Capacity Block, "
                           "in the zone listed under the pool's `zones`.")
    capacity_block: bool = _flag(False, "aws: the reservation is a Capacity Block for ML (p5, "
                                 "p5en, p4d in some regions): nodes start when the block does and "
                                 "stop before it ends. Default: false, an On-Demand Capacity "
                                 "Reservation.")


class GpuPool(_Strict):
    """A GPU node pool: nodes of one machine shape, scaled between min_nodes and max_nodes."""

    accelerator: str = Field(description="Cloud-neutral accelerator name: t4, l4, a10g, l40s, "
                             "a100-40gb, a100-80gb, h100-80gb, h200. The catalogue maps it to "
                             "the cloud's machine shape.")
    gpus_per_node: int | None = _count(None, ge=1, desc="GPUs on each node, one of the counts "
                                       "the catalogue lists for the accelerator. Default: the "
                                       "smallest count the cloud offers.")
    min_nodes: int = _count(0, ge=0, le=rules.GKE_MAX_NODES_PER_POOL, desc="Nodes kept "
                            "running. Default: 0, idle GPUs cost nothing.")
    max_nodes: int = _count(1, ge=1, le=rules.GKE_MAX_NODES_PER_POOL, desc="Upper bound of the "
                            "autoscaler: on gcp at most 1,000 per zone the pool spans, on aws "
                            "450 (nodes per EKS managed node group). Default: 1.")
    spot: bool | None = _flag(None, "Spot/preemptible capacity. Default: true in sandbox, false "
                              "in production. Same as `capacity: spot` / `capacity: on-demand`.")
    capacity: Capacity | None = Field(default=None, description=CAPACITY)
    reservation: Reservation | None = Field(default=None, description="With `capacity: "
                                            "reservation`: the reservation the nodes consume.")
    disk_size_gb: int = _count(200, ge=50, le=65536, desc="Boot disk per node in GB (ML images "
                               "are large); at most 65,536 on gcp and 16,384 on aws. Default: "
                               "200.")
    zones: tuple[str, ...] | None = Field(default=None, description=ZONES)
    enabled: bool = _flag(True, ENABLED)
    previous_names: tuple[str, ...] = _names(PREVIOUS_NAMES)


class GpuPoolOverride(_Strict):
    """Per-environment changes to a GPU pool; unset fields keep the team's value."""

    accelerator: str | None = Field(default=None, description="See gpu_pools.accelerator.")
    gpus_per_node: int | None = _count(None, ge=1, desc="See gpu_pools.gpus_per_node.")
    min_nodes: int | None = _count(None, ge=0, le=rules.GKE_MAX_NODES_PER_POOL,
                                   desc="See gpu_pools.min_nodes.")
    max_nodes: int | None = _count(None, ge=1, le=rules.GKE_MAX_NODES_PER_POOL,
                                   desc="See gpu_pools.max_nodes.")
    spot: bool | None = _flag(None, "See gpu_pools.spot.")
    capacity: Capacity | None = Field(default=None, description="See gpu_pools.capacity.")
    reservation: Reservation | None = Field(default=None, description="See "
                                            "gpu_pools.reservation (replaces it).")
    disk_size_gb: int | None = _count(None, ge=50, le=65536, desc="See gpu_pools.disk_size_gb.")
    zones: tuple[str, ...] | None = Field(default=None, description="See gpu_pools.zones.")
    enabled: bool | None = _flag(None, ENABLED_OVERRIDE)


class Bucket(_Strict):
    """An object storage bucket owned by the team; the key is its purpose (datasets, models)."""

    versioning: bool | None = _flag(None, "Keep old object versions. Default: on in "
                                    "production, off in sandbox.")
    delete_after_days: int | None = _count(None, ge=1, le=rules.MAX_DELETE_AFTER_DAYS,
                                           desc="Delete objects this many days after creation "
                                           "(at most 36,500). Default: keep.")
    enabled: bool = _flag(True, ENABLED)
    previous_names: tuple[str, ...] = _names(PREVIOUS_NAMES)


class BucketOverride(_Strict):
    """Per-environment changes to a bucket."""

    versioning: bool | None = _flag(None, "See buckets.versioning.")
    delete_after_days: int | None = _count(None, ge=1, le=rules.MAX_DELETE_AFTER_DAYS,
                                           desc="See buckets.delete_after_days.")
    enabled: bool | None = _flag(None, ENABLED_OVERRIDE)


class Pipeline(_Strict):
    """A scheduled managed pipeline (Vertex AI Pipelines on GCP, SageMaker Pipelines on AWS)."""

    template: str = Field(description="Pipeline definition: a path relative to org.yaml (a "
                          "compiled KFP YAML on GCP, a SageMaker pipeline definition JSON on "
                          "AWS) or a gs:// / s3:// URI.")
    schedule: str = Field(description="5-field cron expression, e.g. '0 3 * * *'.")
    timezone: str = Field(default="UTC", description="IANA time zone of the schedule. "
                          "Default: UTC.")
    parameters: dict[str, Any] = Field(default_factory=dict, description="Pipeline parameter "
                                       "values passed on every run.")
    description: str = Field(default="", description="What the pipeline does (shown in the "
                             "handoff guide).")
    enabled: bool = _flag(True, ENABLED)
    previous_names: tuple[str, ...] = _names(PREVIOUS_NAMES)


class PipelineOverride(_Strict):
    """Per-environment changes to a pipeline."""

    template: str | None = Field(default=None, description="See pipelines.template.")
    schedule: str | None = Field(default=None, description="See pipelines.schedule.")
    timezone: str | None = Field(default=None, description="See pipelines.timezone.")
    parameters: dict[str, Any] | None = Field(default=None, description="Merged over the "
                                              "pipeline's parameters.")
    enabled: bool | None = _flag(None, ENABLED_OVERRIDE)


class Cpu(_Strict):
    """CPU and memory for a team's work without GPUs (notebooks, data preparation, services)."""

    vcpus: int = Field(ge=1, le=100000, strict=True, description="vCPUs the team's pods may "
                       "request in total besides what its GPU pools hold.")
    memory_gb: int = Field(ge=1, le=1000000, strict=True, description="Memory (GB) the team's "
                           "pods may request in total besides what its GPU pools hold.")


class TeamOverride(_Strict):
    """Partial team settings for one environment, deep-merged over the team's own."""

    description: str | None = Field(default=None, description="See teams.description.")
    members: tuple[str, ...] | None = Field(default=None, description="Replaces the members "
                                            "in this environment.")
    cost_center: str | None = Field(default=None, description="See teams.cost_center.")
    budget_usd: float | None = _budget("See teams.budget_usd.")
    cpu: Cpu | None = Field(default=None, description="See teams.cpu.")
    gpu_pools: dict[str, GpuPoolOverride] = Field(default_factory=dict,
                                                  description="Changes per pool, by pool key; "
                                                  "`{enabled: false}` drops the pool here.")
    buckets: dict[str, BucketOverride] = Field(default_factory=dict,
                                               description="Changes per bucket, by purpose; "
                                               "`{enabled: false}` drops the bucket here.")
    pipelines: dict[str, PipelineOverride] = Field(default_factory=dict,
                                                   description="Changes per pipeline, by name; "
                                                   "`{enabled: false}` drops it here.")


class Team(_Strict):
    """One ML team and what it needs, in its own words."""

    description: str = Field(default="", description="What the team does.")
    members: tuple[str, ...] = Field(default=(), description="Who is in the team. GCP: IAM "
                                     "principals (user:, group:, serviceAccount:, domain:). "
                                     "AWS: IAM role ARNs.")
    contacts: tuple[str, ...] = Field(default=(), description="Who to ask about this team's "
                                      "platform. Default: the org contacts.")
    cost_center: str | None = Field(default=None, description="Cost center label on every "
                                    "resource of the team.")
    environments: tuple[str, ...] | None = Field(default=None, description="Environments the "
                                                 "team is deployed to. Default: all.")
    budget_usd: float | None = _budget("Monthly budget in USD, per environment (0 to "
                                       "1,000,000,000). Default: no budget.")
    cpu: Cpu | None = Field(default=None, description="CPU work of the team per environment: "
                            "sizes the environment's general-purpose nodes and caps the "
                            "namespace's CPU and memory requests (plus what its GPU pools "
                            "hold). Default: 8 vCPUs and 32 GB.")
    gpu_pools: dict[str, GpuPool] = Field(default_factory=dict, description="GPU node pools "
                                          "by name.")
    buckets: dict[str, Bucket] = Field(default_factory=dict, description="Buckets by purpose.")
    pipelines: dict[str, Pipeline] = Field(default_factory=dict, description="Scheduled "
                                           "pipelines by name.")
    overrides: dict[str, TeamOverride] = Field(default_factory=dict, description="Partial "
                                               "settings per environment.")
    previous_names: tuple[str, ...] = _names(PREVIOUS_NAMES)


class Environment(_Strict):
    """One deployment of the platform; its key is the Pulumi stack name."""

    project: str | None = Field(default=None, description="GCP project id (gcp only).")
    account: str | None = Field(default=None, description="AWS account id, 12 digits, quoted "
                                "(aws only).")
    tier: Tier = Field(default="sandbox", description="production: protected, retained, "
                       "versioned, on-demand GPUs. sandbox: cheap, spot, scales to zero.")
    region: str | None = Field(default=None, description="Region of this environment. "
                               "Default: the org region.")
    labels: dict[str, str] = Field(default_factory=dict, description="Extra labels/tags for "
                                   "this environment, merged over the org labels.")
    admins: tuple[str, ...] | None = Field(default=None, description="Cluster administrators "
                                           "of this environment; replaces platform.admins "
                                           "here (a dev role need not be an admin in prod).")
    kubernetes_version: str | None = Field(default=None, description="aws only: EKS "
                                           "Kubernetes minor version, e.g. '1.35'. Default: "
                                           "the newest version in EKS standard support (gcp: "
                                           "the release channel decides).")


class Encryption(_Strict):
    """How data at rest is encrypted."""

    customer_managed_keys: bool | None = _flag(None, "Encrypt with keys the organisation "
                                               "controls (GCP: a Cloud KMS key ring per "
                                               "environment: GKE secrets, buckets, registries, "
                                               "Vertex AI pipeline runs). Default: on in "
                                               "production, off in sandbox.")


class MaintenanceExclusion(_Strict):
    """A period without automatic upgrades (a launch, a long training run, a freeze)."""

    start: str = Field(description="First day, YYYY-MM-DD (00:00 UTC).")
    end: str = Field(description="Last day, YYYY-MM-DD (until 23:59:59 UTC).")
    scope: Literal["no_upgrades", "no_minor_upgrades", "no_minor_or_node_upgrades"] = Field(
        default="no_minor_or_node_upgrades", description="What is held back. "
        "no_minor_or_node_upgrades (default; up to 180 days): nodes are not upgraded, so "
        "running jobs are not evicted, while the control plane still gets patches. "
        "no_upgrades (up to 30 days): nothing, not even patches.")


class Maintenance(_Strict):
    """When automatic cluster upgrades may run, in production environments."""

    window: str = Field(default="Sat,Sun 00:00-08:00", description="Recurring window in UTC, "
                        "'<days> HH:MM-HH:MM' with days Mon..Sun joined by ','. At least 4 "
                        "hours, and 12 hours a week in total (GKE needs 48 hours in any 32 "
                        "days). Default: Sat,Sun 00:00-08:00.")
    exclusions: dict[str, MaintenanceExclusion] = Field(default_factory=dict, description=
                                                        "Named periods without upgrades.")


class Platform(_Strict):
    """Shared platform settings, all defaulted."""

    network_cidr: str = Field(default="10.0.0.0/16", description="Address range of the "
                              "platform network (IPv4, /8 to /20).")
    admin_cidrs: tuple[str, ...] = Field(default=(), description="Who may reach the cluster "
                                         "API. gcp: empty means private endpoint only. aws: "
                                         "required, the public ranges `pulumi up` runs from "
                                         "(it creates the team namespaces through the API).")
    billing_account: str | None = Field(default=None, description="GCP billing account "
                                        "(XXXXXX-XXXXXX-XXXXXX); enables budgets (gcp only).")
    admins: tuple[str, ...] = Field(default=(), description="Platform administrators with "
                                    "cluster-wide access (GCP principals / AWS IAM role or user "
                                    "ARNs), in every environment that does not list its own "
                                    "`admins`. aws: when none are listed, whoever runs `pulumi "
                                    "up` gets cluster-admin; when some are, `pulumi up` must "
                                    "run as one of them.")
    registry_scanning: Literal["basic", "enhanced"] | None = Field(
        default=None, description="aws only: the account's ECR scanning, one setting per "
        "account and region: basic (scan on push) or enhanced (Amazon Inspector, continuous). "
        "Default: leave the account's setting as it is.")
    gke_security_group: str | None = Field(default=None, description="gcp only: the "
                                           "gke-security-groups@<your domain> Google Group, so "
                                           "`group:` members get Kubernetes access (Google "
                                           "Groups for RBAC). Required on gcp when a team "
                                           "lists `group:` members; each team group must be "
                                           "a member of it.")
    encryption: Encryption = Field(default_factory=Encryption, description="Encryption at "
                                   "rest.")
    budget_currency: str = Field(default="USD", description="ISO 4217 currency of the billing "
                                 "account (GCP budgets must use it). Budgets are written in "
                                 "this currency. Default: USD.")
    maintenance: Maintenance = Field(default_factory=Maintenance, description="gcp: when "
                                     "production clusters may be upgraded automatically.")


class Org(_Strict):
    """An organisation's ML platform: org.yaml, version 1."""

    version: Literal[1] = Field(description="Schema version of this file. Only 1 exists.")
    org: str = Field(description="Short organisation name, [a-z][a-z0-9]{1,11}; prefix of "
                     "every physical name.")
    cloud: Cloud = Field(description="gcp or aws.")
    region: str = Field(description="Default region of every environment.")
    labels: dict[str, str] = Field(default_factory=dict, description="Labels/tags on every "
                                   "resource that takes them.")
    contacts: tuple[str, ...] = Field(default=(), description="Platform contacts: budget "
                                      "alerts, 'who to ask' in the handoff.")
    platform: Platform = Field(default_factory=Platform, description="Shared platform "
                               "settings.")
    environments: dict[str, Environment] = Field(description="Environments by name; the key is "
                                                 "the Pulumi stack name.")
    teams: dict[str, Team] = Field(default_factory=dict, description="ML teams by slug.")

    @field_validator("version", mode="before")
    @classmethod
    def _version_is_a_number(cls, value: Any) -> Any:
        # Literal[1] takes True and 1.0 (they equal 1); a version is the number 1, nothing else.
        if type(value) is not int:
            raise PydanticCustomError("literal_error", "Input should be 1", {"expected": "1"})
        return value


def json_schema() -> dict[str, Any]:
    """JSON Schema of org.yaml for editors (yaml-language-server) and CI."""
    from stacks.org import rules  # the same patterns the validator enforces

    schema = Org.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "https://trellis.dev/schema/org.v1.json"
    schema["title"] = "Trellis org.yaml (version 1)"
    rules.annotate_schema(schema)
    return schema
