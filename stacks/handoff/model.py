"""Everything the handoff bundle says, gathered from the resolved spec, the plan and the costs.

The renderers (Markdown, HTML, SVG, Mermaid, recipes) read only these plain dataclasses, never
org.yaml, so every page says the same thing. Where a value exists in the plan it is taken from
the plan, never re-derived:

* the scheduling contract of a GPU pool (node selector, tolerations) is the planned node pool's
  own ``labels`` and ``taints`` inputs (GKE ``nodeConfig.labels/taints``, EKS ``labels/taints``),
  so a guide can never send pods to labels the pool does not carry;
* names, URIs and identities are the stack outputs (a renamed bucket keeps its old physical
  name; the output says which);
* "who can do what" is read from the planned IAM grants (GCP ``*IAMMember``, AWS role policies
  and EKS access policies);
* money comes from :func:`stacks.report.cost.estimate`, the numbers ``trellis cost`` prints.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from components.common import GPU_RESOURCE, TEAM_LABEL
from stacks.handoff.promises import Promises, check
from stacks.org.spec import EnvSpec, PipelineSpec, TeamSpec
from stacks.plan.engine import Plan, PlannedResource
from stacks.plan.mocks.common import STAND_IN
from stacks.report.cost import CostReport, TeamCost
from stacks.report.cost import estimate as estimate_cost


class HandoffError(Exception):
    """The plan does not hold what the handoff needs (a broken outputs contract)."""


NODE_POOL_TYPES = {"gcp": "gcp:container/nodePool:NodePool", "aws": "aws:eks/nodeGroup:NodeGroup"}
POOL_COMPONENT_SUFFIXES = (":GpuNodePool", ":GpuNodeGroup")
TAINT_EFFECTS = {"NO_SCHEDULE": "NoSchedule", "PREFER_NO_SCHEDULE": "PreferNoSchedule",
                 "NO_EXECUTE": "NoExecute"}
"""Cloud API spelling of a taint effect -> Kubernetes spelling (already-Kubernetes passes)."""


@dataclass(frozen=True)
class Toleration:
    key: str
    value: str
    effect: str  # Kubernetes spelling: NoSchedule
    operator: str = "Equal"

    def to_k8s(self) -> dict[str, str]:
        return {"key": self.key, "operator": self.operator, "value": self.value,
                "effect": self.effect}


@dataclass(frozen=True)
class Pool:
    name: str
    accelerator: str
    gpus_per_node: int
    machine_type: str
    min_nodes: int
    max_nodes: int
    spot: bool
    node_pool_name: str  # physical GKE node pool / EKS node group, as planned
    node_selector: dict[str, str]  # the planned node labels
    tolerations: tuple[Toleration, ...]  # one per planned taint
    resource_name: str = GPU_RESOURCE
    node_month_usd: float | None = None
    node_hour_usd: float | None = None  # one node kept up for an hour (trellis cost)
    idle_monthly_usd: float | None = None
    max_monthly_usd: float | None = None
    capacity: str = ""  # on-demand | spot | flex-start | reservation (empty: spot says it)
    reservation: str | None = None  # the reservation consumed (gcp name/path, aws cr- id)
    capacity_block: bool = False  # aws: the reservation is a Capacity Block for ML

    def __post_init__(self) -> None:
        if not self.capacity:
            object.__setattr__(self, "capacity", "spot" if self.spot else "on-demand")

    @property
    def max_gpus(self) -> int:
        return self.max_nodes * self.gpus_per_node


@dataclass(frozen=True)
class Bucket:
    purpose: str
    uri: str  # gs://name or s3://name
    versioning: bool
    delete_after_days: int | None
    protected: bool  # protected/retained in the plan

    @property
    def name(self) -> str:
        return self.uri.split("://", 1)[-1]


@dataclass(frozen=True)
class Pipeline:
    name: str
    description: str
    schedule: str  # 5-field cron, as in org.yaml
    timezone: str
    template: str  # as written in org.yaml
    template_local: bool  # a file next to org.yaml, deployed by `pulumi up`
    # gcp: the JSON copy of the spec the schedule sends, None when its name is only known at
    # `pulumi up` (a gs:// template: the plan holds a stand-in); aws: the s3 uri or None
    template_uri: str | None
    job_name: str  # Cloud Scheduler job / EventBridge schedule
    pipeline_name: str  # SageMaker pipeline (aws) / PipelineJob display name (gcp)
    parameters: dict[str, Any]
    output_directory: str | None = None  # gcp: gs://.../runs/<pipeline>
    pipeline_arn: str | None = None  # aws


@dataclass(frozen=True)
class AccessRow:
    what: str
    cells: tuple[str, ...]  # one per AccessMatrix.columns; "" = nothing granted


@dataclass(frozen=True)
class AccessMatrix:
    """Who can do what, as planned: columns are principals, rows are the team's resources."""

    columns: tuple[str, ...]
    rows: tuple[AccessRow, ...]
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class TeamEnv:
    """One team in one environment: everything its page says about that environment."""

    team: str
    env: str
    cloud: str
    tier: str
    region: str
    project: str | None
    account: str | None
    cluster_name: str
    description: str
    members: tuple[str, ...]
    contacts: tuple[str, ...]
    cost_center: str | None
    budget_usd: float | None
    namespace: str
    service_account: str
    workload_identity: str
    pipeline_identity: str | None
    container_registry: str
    pipeline_registry: str | None
    model_registry: str
    pipeline_root: str | None
    pipeline_root_protected: bool
    immutable_tags: bool | None
    pools: dict[str, Pool]
    buckets: dict[str, Bucket]
    pipelines: dict[str, Pipeline]
    access: AccessMatrix
    idle_monthly_usd: float | None = None
    max_monthly_usd: float | None = None
    member_role: str | None = None  # aws: the role members assume (stack output member_role)
    pod_security: str | None = None  # the namespace's enforced Pod Security Standard
    ingress_from: tuple[str, ...] | None = None  # namespaces allowed in; None: no default deny
    admission: bool = False  # the team admission policy covers the namespace
    promises: Promises = field(default_factory=lambda: Promises(evaluated=False))
    quotas: dict[str, str] = field(default_factory=dict)  # planned ResourceQuota hard limits
    defaults: dict[str, dict[str, str]] = field(default_factory=dict)  # LimitRange per kind
    budget_currency: str = "USD"
    cmek_key: str | None = None  # gcp: the Vertex AI key pipeline runs are encrypted with
    vpc_cidr: str | None = None  # aws: the planned VPC's range (where load balancers live)
    lb_controller: bool = False  # aws: the plan installs the AWS Load Balancer Controller

    @property
    def budget_comparable(self) -> bool:
        """Prices are USD; a budget in another currency is shown, never compared with them."""
        return self.budget_currency == "USD"

    @property
    def over_budget(self) -> bool:
        return (self.budget_comparable and self.budget_usd is not None
                and self.max_monthly_usd is not None
                and self.max_monthly_usd > self.budget_usd + 1e-6)

    @property
    def max_gpus(self) -> int:
        return sum(p.max_gpus for p in self.pools.values())


@dataclass(frozen=True)
class Environment:
    name: str
    cloud: str
    tier: str
    region: str
    project: str | None
    account: str | None
    cluster_name: str
    cluster_endpoint: str | None
    contacts: tuple[str, ...]
    admins: tuple[str, ...]
    teams: dict[str, TeamEnv]
    protected: dict[str, int]  # kind of protected resource -> count, as planned
    cluster_deletion_protection: bool | None
    price_note: str = ""
    platform_monthly_usd: float | None = None
    #: Values the offline plan made up where only ``pulumi up`` reads the real one (see
    #: :func:`stand_ins`): no page may cite them (``trellis handoff --strict``).
    stand_ins: tuple[str, ...] = ()

    @property
    def location(self) -> str:
        """``project acme-ml-dev`` / ``account 111111111111``."""
        return f"project {self.project}" if self.cloud == "gcp" else f"account {self.account}"

    @property
    def location_id(self) -> str:
        return str(self.project if self.cloud == "gcp" else self.account)


@dataclass(frozen=True)
class TeamInfo:
    name: str
    description: str
    environments: tuple[str, ...]  # in the bundle, in org order


@dataclass(frozen=True)
class Bundle:
    """The whole handoff: one organisation, the chosen environments."""

    org: str
    cloud: str
    org_file: str  # as the reader should type it in `trellis handoff <org_file>`
    contacts: tuple[str, ...]
    admins: tuple[str, ...]
    environments: tuple[Environment, ...]
    teams: tuple[TeamInfo, ...] = field(default=())

    def env(self, name: str) -> Environment:
        return next(e for e in self.environments if e.name == name)

    def team_envs(self, team: str) -> list[TeamEnv]:
        return [e.teams[team] for e in self.environments if team in e.teams]


# --------------------------------------------------------------------------------------------
# Plan lookups
# --------------------------------------------------------------------------------------------

def _get(outputs: Mapping[str, Any], *path: str) -> Any:
    node: Any = outputs
    for part in path:
        if not isinstance(node, Mapping) or part not in node:
            raise HandoffError(f"stack output {'.'.join(path)} is missing: the composition does "
                               "not honour the outputs contract")
        node = node[part]
    return node


def planned_pool(plan: Plan, team: str, pool: str, physical: str) -> PlannedResource:
    """The node pool / node group resource of ``team``'s ``pool``.

    Found through its component (logical name ``<team>-<pool>``, stable across physical
    renames), else by the physical name the spec gives.
    """
    pool_type = NODE_POOL_TYPES[plan.cloud]
    components = {r.urn for r in plan.resources
                  if r.type.endswith(POOL_COMPONENT_SUFFIXES) and r.name == f"{team}-{pool}"}
    by_parent = [r for r in plan.resources if r.type == pool_type and r.parent in components]
    if len(by_parent) == 1:
        return by_parent[0]
    key = "name" if plan.cloud == "gcp" else "nodeGroupName"
    by_name = [r for r in plan.resources if r.type == pool_type and r.inputs.get(key) == physical]
    if len(by_name) == 1:
        return by_name[0]
    raise HandoffError(f"GPU pool {team}/{pool} ({physical}) is not in the plan of "
                       f"{plan.environment}; cannot write its scheduling contract")


def scheduling(plan: Plan, resource: PlannedResource) -> tuple[dict[str, str],
                                                                tuple[Toleration, ...], str]:
    """(node labels, tolerations for its taints, physical name) of a planned pool."""
    inputs = resource.inputs
    if plan.cloud == "gcp":
        config = inputs.get("nodeConfig") or {}
        labels, taints, name = config.get("labels") or {}, config.get("taints") or [], \
            inputs.get("name", resource.name)
    else:
        labels, taints = inputs.get("labels") or {}, inputs.get("taints") or []
        name = inputs.get("nodeGroupName", resource.name)
    tolerations = tuple(
        Toleration(key=str(t["key"]), value=str(t.get("value", "")),
                   effect=TAINT_EFFECTS.get(str(t["effect"]), str(t["effect"])))
        for t in taints)
    return {str(k): str(v) for k, v in sorted(labels.items())}, tolerations, str(name)


PROTECTED_KINDS = {  # stateful resource types worth naming -> (singular, plural)
    "gcp:container/cluster:Cluster": ("cluster", "clusters"),
    "aws:eks/cluster:Cluster": ("cluster", "clusters"),
    "gcp:storage/bucket:Bucket": ("bucket", "buckets"),
    "aws:s3/bucket:Bucket": ("bucket", "buckets"),
    "gcp:artifactregistry/repository:Repository": ("registry", "registries"),
    "aws:ecr/repository:Repository": ("registry", "registries"),
    "aws:ecr/repositoryCreationTemplate:RepositoryCreationTemplate": ("registry", "registries"),
    "aws:sagemaker/modelPackageGroup:ModelPackageGroup": ("model registry", "model registries"),
    "gcp:kms/cryptoKey:CryptoKey": ("encryption key", "encryption keys"),
    "aws:kms/key:Key": ("encryption key", "encryption keys"),
}


def _protected(plan: Plan) -> dict[str, int]:
    """``{"cluster": 1, "buckets": 6, ...}``: stateful resources the plan protects or retains."""
    counts: dict[tuple[str, str], int] = {}
    for r in plan.resources:
        kind = PROTECTED_KINDS.get(r.type)
        if kind and (r.protect or r.retain_on_delete):
            counts[kind] = counts.get(kind, 0) + 1
    order = list(dict.fromkeys(PROTECTED_KINDS.values()))
    return {(one if n == 1 else many): n
            for (one, many), n in sorted(counts.items(), key=lambda kv: order.index(kv[0]))}


def _cluster_deletion_protection(plan: Plan) -> bool | None:
    for r in plan.resources:
        if r.type in ("gcp:container/cluster:Cluster", "aws:eks/cluster:Cluster"):
            value = r.inputs.get("deletionProtection")
            return None if value is None else bool(value)
    return None


def _immutable_tags(plan: Plan, registry_ids: Iterable[str]) -> bool | None:
    """Whether the team's image tags are immutable, from the planned registry."""
    ids = set(registry_ids)
    for r in plan.resources:
        if r.type == "gcp:artifactregistry/repository:Repository" and \
                r.inputs.get("repositoryId") in ids:
            return bool((r.inputs.get("dockerConfig") or {}).get("immutableTags", False))
        if r.type == "aws:ecr/repositoryCreationTemplate:RepositoryCreationTemplate" and \
                r.inputs.get("prefix") in ids:
            return str(r.inputs.get("imageTagMutability", "")).startswith("IMMUTABLE")
    return None


# --------------------------------------------------------------------------------------------
# Who can do what
# --------------------------------------------------------------------------------------------

GCP_ROLE_WORDS = {
    "roles/storage.objectAdmin": "read, write, delete",
    "roles/storage.objectUser": "read, write, delete",
    "roles/storage.objectCreator": "write",
    "roles/storage.objectViewer": "read",
    "roles/artifactregistry.writer": "push, pull",
    "roles/artifactregistry.repoAdmin": "push, pull, delete",
    "roles/artifactregistry.reader": "pull",
    "roles/aiplatform.user": "run pipelines and jobs, register models",
    "roles/cloudscheduler.viewer": "read the pipeline schedules (every job of the project)",
    "roles/container.clusterViewer": "get cluster credentials",
    "roles/container.developer": "deploy workloads",
    "roles/iam.serviceAccountUser": "start runs as it",
    "roles/iam.workloadIdentityUser": "acts as it (Workload Identity)",
}


def _words(roles: Iterable[str]) -> str:
    return "; ".join(dict.fromkeys(GCP_ROLE_WORDS.get(r, r) for r in sorted(roles)))


def _gcp_access(plan: Plan, team: TeamEnv) -> AccessMatrix:
    project = team.project or ""
    members = set(team.members)
    workload = f"serviceAccount:{team.workload_identity}"
    pipeline = f"serviceAccount:{team.pipeline_identity}" if team.pipeline_identity else None
    ksa = f"serviceAccount:{project}.svc.id.goog[{team.namespace}/{team.service_account}]"
    columns: list[tuple[str, set[str]]] = [("Members", members),
                                           (f"Pods ({team.namespace}/{team.service_account})",
                                            {workload, ksa})]
    if pipeline:
        columns.append(("Pipeline runs", {pipeline}))
    # target key -> row label
    targets: dict[tuple[str, str], str] = {}
    for b in team.buckets.values():
        targets[("bucket", b.name)] = f"Bucket {b.purpose} (`{b.uri}`)"
    if team.pipeline_root:
        targets[("bucket", team.pipeline_root.split("://", 1)[-1])] = \
            f"Pipeline root (`{team.pipeline_root}`)"
    repo = team.container_registry.rsplit("/", 1)[-1]
    targets[("repository", repo)] = f"Container registry (`{repo}`)"
    if team.pipeline_registry:
        kfp = team.pipeline_registry.rstrip("/").rsplit("/", 1)[-1]
        targets[("repository", kfp)] = f"Pipeline template registry (`{kfp}`)"
    targets[("project", project)] = f"Vertex AI in `{project}`"
    sa_prefix = f"projects/{project}/serviceAccounts/"
    targets[("sa", sa_prefix + team.workload_identity)] = "Workload identity"
    if team.pipeline_identity:
        targets[("sa", sa_prefix + team.pipeline_identity)] = "Pipeline identity"
    grants: dict[str, dict[int, set[str]]] = {}
    for r in plan.resources:
        if not r.type.endswith(("IAMMember", "IamMember")):
            continue
        member, role = r.inputs.get("member"), r.inputs.get("role")
        if "bucket" in r.inputs:
            key = ("bucket", r.inputs["bucket"])
        elif "repository" in r.inputs:
            key = ("repository", str(r.inputs["repository"]).rsplit("/", 1)[-1])
        elif "serviceAccountId" in r.inputs:
            key = ("sa", r.inputs["serviceAccountId"])
        elif "project" in r.inputs:
            key = ("project", r.inputs["project"])
        else:
            continue
        label = targets.get(key)
        if label is None:
            continue
        for i, (_, principals) in enumerate(columns):
            if member in principals:
                grants.setdefault(label, {}).setdefault(i, set()).add(str(role))
    rows = []
    for label in dict.fromkeys(targets.values()):
        by_col = grants.get(label, {})
        if label.startswith("Vertex AI"):
            # Split the project roles: cluster access reads better as its own row.
            vertex = {i: {r for r in rs if r != "roles/container.clusterViewer"}
                      for i, rs in by_col.items()}
            cluster = {i: {r for r in rs if r == "roles/container.clusterViewer"}
                       for i, rs in by_col.items()}
            rows.append(AccessRow(f"Cluster `{team.cluster_name}`", tuple(
                _words(cluster.get(i, ())) for i in range(len(columns)))))
            by_col = vertex
        cells = tuple(_words(by_col.get(i, ())) for i in range(len(columns)))
        if any(cells):
            rows.append(AccessRow(label, cells))
    notes = ("Access is keyless: pods get the workload identity through GKE Workload Identity, "
             "pipeline runs get the pipeline identity from Vertex AI. No key files exist.",
             "Inside the cluster, Kubernetes RBAC decides what members may do in namespace "
             f"`{team.namespace}`.")
    return AccessMatrix(tuple(c for c, _ in columns), tuple(rows), notes)


def _statements(policy: Any) -> list[dict[str, Any]]:
    doc = json.loads(policy) if isinstance(policy, str) else (policy or {})
    stmts = doc.get("Statement", [])
    return [s for s in (stmts if isinstance(stmts, list) else [stmts])
            if s.get("Effect") == "Allow"]


def _listed(value: Any) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def _aws_words(actions: set[str], kind: str) -> str:
    a = {x.split(":", 1)[-1] for x in actions}
    if kind == "bucket":
        verbs = [v for v, needed in (("list", {"ListBucket"}), ("read", {"GetObject"}),
                                     ("write", {"PutObject"}), ("delete", {"DeleteObject"}))
                 if needed & a]
        return ", ".join(verbs)
    if kind == "ecr":
        return "push, pull" if "PutImage" in a else ("pull" if "BatchGetImage" in a else "")
    if kind == "models":
        return "register, read" if "CreateModelPackage" in a else "read"
    if kind == "jobs":
        return "run training, processing and transform jobs" if a else ""
    if kind == "pipeline":
        return "start" if "StartPipelineExecution" in a else ""
    return ", ".join(sorted(a))


def _aws_access(plan: Plan, team: TeamEnv) -> AccessMatrix:
    def role_name(arn: str | None) -> str:
        return (arn or "").rsplit("/", 1)[-1]

    workload, pipeline = role_name(team.workload_identity), role_name(team.pipeline_identity)
    member = role_name(team.member_role) if team.member_role else None
    columns = ("Members", f"Pods ({team.namespace}/{team.service_account})", "Pipeline runs")
    policies: dict[str, list[dict[str, Any]]] = {workload: [], pipeline: []}
    if member:
        policies[member] = []
    for r in plan.resources:
        if r.type == "aws:iam/rolePolicy:RolePolicy" and r.inputs.get("role") in policies:
            policies[str(r.inputs["role"])].extend(_statements(r.inputs.get("policy")))
    rows: dict[str, list[str]] = {}

    def add(label: str, col: int, text: str) -> None:
        if text:
            cells = rows.setdefault(label, ["", "", ""])
            cells[col] = "; ".join(x for x in (cells[col], text) if x)

    # Members: the team's member role (they assume it) has EKS access to the namespace.
    principals = {*team.members, *([team.member_role] if team.member_role else [])}
    member_policies: dict[str, set[str]] = {}
    for r in plan.resources:
        if r.type == "aws:eks/accessPolicyAssociation:AccessPolicyAssociation" and \
                r.inputs.get("principalArn") in principals:
            scope = r.inputs.get("accessScope") or {}
            if scope.get("type") == "cluster" or team.namespace in (scope.get("namespaces") or []):
                member_policies.setdefault(str(r.inputs["principalArn"]), set()).add(
                    str(r.inputs.get("policyArn", "")).rsplit("/", 1)[-1])
    words = {"AmazonEKSEditPolicy": "edit", "AmazonEKSViewPolicy": "view",
             "AmazonEKSAdminPolicy": "admin", "AmazonEKSClusterAdminPolicy": "cluster admin"}
    member_text = sorted({words.get(p, p) for ps in member_policies.values() for p in ps})
    add(f"Kubernetes namespace `{team.namespace}` on `{team.cluster_name}`", 0,
        ", ".join(member_text))
    add(f"Kubernetes namespace `{team.namespace}` on `{team.cluster_name}`", 1,
        f"runs as service account {team.service_account}")
    bucket_labels = {b.name: f"Bucket {b.purpose} (`{b.uri}`)" for b in team.buckets.values()}
    if team.pipeline_root:
        bucket_labels[team.pipeline_root.split("://", 1)[-1]] = \
            f"Pipeline root (`{team.pipeline_root}`)"
    columns_roles = ((0, member), (1, workload), (2, pipeline)) if member else \
        ((1, workload), (2, pipeline))
    for col, role in columns_roles:
        per_bucket: dict[str, set[str]] = {}
        other: dict[str, set[str]] = {}
        for s in policies.get(role, []):
            actions = set(_listed(s.get("Action", [])))
            for res in _listed(s.get("Resource", [])):
                if res.startswith("arn:aws:s3:::"):
                    name = res.removeprefix("arn:aws:s3:::").split("/", 1)[0]
                    if name in bucket_labels:
                        per_bucket.setdefault(bucket_labels[name], set()).update(actions)
                elif ":repository/" in res:
                    other.setdefault("ecr", set()).update(actions)
                elif ":model-package" in res:
                    other.setdefault("models", set()).update(actions)
                elif ":training-job/" in res or ":processing-job/" in res:
                    other.setdefault("jobs", set()).update(actions)
        for label in bucket_labels.values():
            add(label, col, _aws_words(per_bucket.get(label, set()), "bucket"))
        add(f"Container registry (`{team.container_registry}`)", col,
            _aws_words(other.get("ecr", set()), "ecr"))
        add(f"Model registry (`{team.model_registry}`)", col,
            _aws_words(other.get("models", set()), "models"))
        add("SageMaker jobs", col, _aws_words(other.get("jobs", set()), "jobs"))
    notes = ("Access is keyless: pods get the workload role through EKS Pod Identity, pipeline "
             "steps get the pipeline role from SageMaker. No access keys exist.",
             (f"Members assume the team role `{team.member_role}` (their own roles are trusted "
              "by it): the Members column is what that role may do, from a laptop or CI. "
              if team.member_role else "The team lists no members, so no member role exists. ")
             + "From inside the cluster, pods have everything in the Pods column.")
    return AccessMatrix(columns, tuple(AccessRow(k, tuple(v)) for k, v in rows.items()), notes)


# --------------------------------------------------------------------------------------------
# Gathering
# --------------------------------------------------------------------------------------------

def stand_ins(plan: Plan) -> tuple[str, ...]:
    """What the offline plan made up in place of what ``pulumi up`` reads (marked ``STAND_IN`` by
    the mocks): the copy of a ``gs://`` template is named by its content's hash, so its name in
    the plan is the stand-in's, never the deployed one. Its ``gs://`` URI, object name and file
    name, longest first."""
    out: list[str] = []
    for r in plan.of_type("gcp:storage/bucketObject:BucketObject"):
        if STAND_IN not in str(r.inputs.get("content") or ""):
            continue
        name = str(r.inputs.get("name") or r.outputs.get("name") or "")
        if name:
            out += [f"gs://{r.inputs.get('bucket')}/{name}", name, name.rsplit("/", 1)[-1]]
    return tuple(dict.fromkeys(out))


def _pipeline(spec: PipelineSpec, out: Mapping[str, Any], plan: Plan,
              made_up: Iterable[str] = ()) -> Pipeline:
    arn = None
    if plan.cloud == "aws":
        for r in plan.of_type("aws:scheduler/schedule:Schedule"):
            if r.inputs.get("name") == out.get("job_name"):
                arn = (r.inputs.get("target") or {}).get("arn")
    return Pipeline(
        name=spec.name, description=spec.description, schedule=spec.schedule,
        timezone=str(out.get("timezone") or spec.timezone), template=spec.template,
        template_local=not spec.template_is_uri,
        template_uri=None if out.get("template_uri") in set(made_up) else out.get("template_uri"),
        job_name=str(out.get("job_name") or spec.job_name),
        pipeline_name=str(out.get("pipeline_name") or spec.pipeline_name),
        parameters=dict(spec.parameters), output_directory=out.get("pipeline_root"),
        pipeline_arn=arn)


def _team(env: EnvSpec, plan: Plan, team: TeamSpec, cost: TeamCost | None,
          made_up: tuple[str, ...] = (), lb_controller: bool = False) -> TeamEnv:
    out = _get(plan.outputs, "teams", team.name)
    bucket_uris = _get(out, "buckets")
    protected = {r.inputs.get("name") or r.inputs.get("bucket") for r in plan.resources
                 if r.type in ("gcp:storage/bucket:Bucket", "aws:s3/bucket:Bucket")
                 and (r.protect or r.retain_on_delete)}
    buckets = {}
    for purpose, b in team.buckets.items():
        uri = str(_get(bucket_uris, purpose))
        buckets[purpose] = Bucket(purpose=purpose, uri=uri, versioning=b.versioning,
                                  delete_after_days=b.delete_after_days,
                                  protected=uri.split("://", 1)[-1] in protected)
    pool_costs = {p.pool: p for p in cost.pools} if cost else {}
    pools = {}
    for key, p in team.pools.items():
        resource = planned_pool(plan, team.name, key, p.node_pool_name)
        labels, tolerations, physical = scheduling(plan, resource)
        pout = _get(out, "gpu_pools", key)
        pc = pool_costs.get(key)
        pools[key] = Pool(
            name=key, accelerator=p.accelerator, gpus_per_node=p.gpus_per_node,
            machine_type=p.machine_type, min_nodes=p.min_nodes, max_nodes=p.max_nodes,
            spot=p.spot, node_pool_name=physical, node_selector=labels, tolerations=tolerations,
            resource_name=str(pout.get("resource_name") or GPU_RESOURCE),
            node_month_usd=pc.node_month_usd if pc else None,
            node_hour_usd=pc.node_hour_usd if pc else None,
            idle_monthly_usd=pc.idle_monthly_usd if pc else None,
            max_monthly_usd=pc.max_monthly_usd if pc else None, capacity=p.capacity,
            reservation=p.reservation.reference if p.reservation else None,
            capacity_block=bool(p.reservation and p.reservation.capacity_block))
    pipelines_out = out.get("pipelines") or {}
    pipelines = {k: _pipeline(s, _get(pipelines_out, k), plan, made_up)
                 for k, s in team.pipelines.items()}
    registry = str(_get(out, "container_registry"))
    registry_id = (registry.rsplit("/", 1)[-1] if env.cloud == "gcp"
                   else registry.split("/", 1)[-1])
    pipeline_identity = out.get("pipeline_identity")
    te = TeamEnv(
        team=team.name, env=env.name, cloud=env.cloud, tier=env.tier, region=env.region,
        project=env.project, account=env.account,
        cluster_name=str(_get(plan.outputs, "environment", "cluster_name")),
        description=team.description, members=tuple(team.members),
        contacts=tuple(team.contacts), cost_center=team.cost_center,
        budget_usd=team.budget_usd, namespace=str(_get(out, "namespace")),
        service_account=str(_get(out, "service_account")),
        workload_identity=str(_get(out, "workload_identity")),
        pipeline_identity=str(pipeline_identity) if pipeline_identity else None,
        container_registry=registry, pipeline_registry=out.get("pipeline_registry") or None,
        model_registry=str(_get(out, "model_registry")),
        pipeline_root=out.get("pipeline_root") or None,
        pipeline_root_protected=str(out.get("pipeline_root") or "").split("://", 1)[-1]
        in protected,
        immutable_tags=_immutable_tags(plan, [registry_id]),
        pools=pools, buckets=buckets, pipelines=pipelines,
        access=AccessMatrix((), ()),
        idle_monthly_usd=cost.idle_monthly_usd if cost else None,
        max_monthly_usd=cost.max_monthly_usd if cost else None,
        member_role=str(out["member_role"]) if out.get("member_role") else None)
    access = _gcp_access(plan, te) if env.cloud == "gcp" else _aws_access(plan, te)
    te = replace(te, access=access, budget_currency=env.platform.budget_currency,
                 cmek_key=env.kms_key_id("vertex") if env.cloud == "gcp" else None,
                 vpc_cidr=_vpc_cidr(plan), lb_controller=lb_controller,
                 **_guard_rails(plan, te.namespace), **_limits(plan, te.namespace))
    return replace(te, promises=check(plan, te))


LB_CONTROLLER = "aws-load-balancer-controller"


def _lb_controller(plan: Plan) -> bool:
    """The plan installs the AWS Load Balancer Controller (a release or its service account);
    without it an Ingress or an annotated LoadBalancer Service gets no ALB or NLB."""
    for r in plan.resources:
        i = r.inputs
        if r.type.startswith("kubernetes:helm.sh/") and LB_CONTROLLER in str(i.get("chart", "")):
            return True
        if i.get("kind") == "ServiceAccount" and (i.get("metadata") or {}).get("name") == \
                LB_CONTROLLER:
            return True
    return False


def _vpc_cidr(plan: Plan) -> str | None:
    """The planned AWS VPC's address range: an ALB or NLB with IP targets reaches pods (and
    health-checks them) from its own addresses in it."""
    return next((str(r.inputs["cidrBlock"]) for r in plan.of_type("aws:ec2/vpc:Vpc")
                 if r.inputs.get("cidrBlock")), None)


def _limits(plan: Plan, namespace: str) -> dict[str, Any]:
    """The planned ResourceQuota hard limits and LimitRange defaults of the namespace."""
    quotas: dict[str, str] = {}
    defaults: dict[str, dict[str, str]] = {}
    for r in plan.resources:
        i = r.inputs
        if (i.get("metadata") or {}).get("namespace") != namespace:
            continue
        if i.get("kind") == "ResourceQuota":
            quotas.update({str(k): str(v) for k, v in
                           ((i.get("spec") or {}).get("hard") or {}).items()})
        elif i.get("kind") == "LimitRange":
            for limit in (i.get("spec") or {}).get("limits") or []:
                kind = str(limit.get("type", "Container"))
                for key in ("defaultRequest", "default"):
                    for res, value in (limit.get(key) or {}).items():
                        defaults.setdefault(kind, {})[f"{key}.{res}"] = str(value)
    return {"quotas": quotas, "defaults": defaults}


PSA_ENFORCE = "pod-security.kubernetes.io/enforce"


def _guard_rails(plan: Plan, namespace: str) -> dict[str, Any]:
    """What the planned objects enforce in the team's namespace (nothing assumed)."""
    k8s = [r.inputs for r in plan.resources if r.type.startswith("kubernetes:")]
    labels: dict[str, Any] = next(
        (i["metadata"].get("labels") or {} for i in k8s
         if i.get("kind") == "Namespace" and i["metadata"].get("name") == namespace), {})
    policies = [i["spec"] for i in k8s if i.get("kind") == "NetworkPolicy"
                and i["metadata"].get("namespace") == namespace]
    default_deny = any(p.get("podSelector") == {} and not p.get("ingress")
                       and "Ingress" in (p.get("policyTypes") or []) for p in policies)
    sources: list[str] = [namespace]
    for p in policies:
        for rule in p.get("ingress") or []:
            for peer in rule.get("from") or []:
                for expr in (peer.get("namespaceSelector") or {}).get("matchExpressions") or []:
                    if expr.get("operator") == "In":
                        sources += [str(v) for v in expr.get("values") or []]
    covered = any(i.get("kind") == "ValidatingAdmissionPolicyBinding"
                  and "Deny" in (i["spec"].get("validationActions") or [])
                  for i in k8s) and TEAM_LABEL in labels
    return {"pod_security": labels.get(PSA_ENFORCE),
            "ingress_from": tuple(dict.fromkeys(sources)) if default_deny else None,
            "admission": covered}


def gather_environment(env: EnvSpec, plan: Plan, cost: CostReport | None = None) -> Environment:
    """Everything one environment's pages say, from its spec, plan and cost report."""
    report = cost if cost is not None else estimate_cost(env)
    team_costs = {t.team: t for t in report.teams}
    envout = _get(plan.outputs, "environment")
    made_up, lb = stand_ins(plan), env.cloud == "aws" and _lb_controller(plan)
    teams = {name: _team(env, plan, t, team_costs.get(name), made_up, lb)
             for name, t in env.teams.items()}
    return Environment(
        name=env.name, cloud=env.cloud, tier=env.tier, region=env.region, project=env.project,
        account=env.account, cluster_name=str(envout.get("cluster_name")),
        cluster_endpoint=envout.get("cluster_endpoint"), contacts=tuple(env.contacts),
        admins=tuple(env.platform.admins), teams=teams, protected=_protected(plan),
        cluster_deletion_protection=_cluster_deletion_protection(plan),
        price_note=report.estimate_note(), platform_monthly_usd=report.platform_monthly_usd,
        stand_ins=made_up)


def gather(org: Any, org_file: Path | str, environments: Iterable[Environment]) -> Bundle:
    """The bundle of ``environments`` (in the given order) of the org model ``org``."""
    envs = tuple(environments)
    teams = tuple(
        TeamInfo(name=name, description=team.description,
                 environments=tuple(e.name for e in envs if name in e.teams))
        for name, team in org.teams.items() if any(name in e.teams for e in envs))
    return Bundle(org=org.org, cloud=org.cloud, org_file=str(org_file),
                  contacts=tuple(org.contacts), admins=tuple(org.platform.admins),
                  environments=envs, teams=teams)
