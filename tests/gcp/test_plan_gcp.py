"""The bundled GCP example planned per environment: inventories, tier differences, security
invariants, pinned URNs, aliases for renames, stack outputs and determinism."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from components import naming
from components.gcp._iam import NODE_ROLES
from components.gcp.identity import MEMBER_ROLES
from stacks.compose.gcp import ADMIN_ROLES, build_gcp, people, rbac_subjects
from stacks.org.load import load
from stacks.org.resolve import resolve
from stacks.org.spec import EnvSpec, TeamSpec
from stacks.plan.engine import Plan, PlannedResource, plan, run_program
from tests.gcp.helpers import (
    ACCOUNT,
    BUCKET,
    BUCKET_IAM,
    BUDGET,
    CHANNEL,
    CLUSTER,
    IAM_TYPES,
    JOB,
    NODE_POOL,
    PROJECT_IAM,
    REPO,
    REPO_IAM,
    SA_IAM,
    SA_KEY,
    SERVICE,
    counts,
    named,
    one,
)

PRIMITIVE_ROLES = {"roles/owner", "roles/editor", "roles/viewer"}
VERTEX_AGENT = re.compile(
    r"serviceAccount:service-\d+@gcp-sa-aiplatform\.iam\.gserviceaccount\.com")
KEY_RING = "gcp:kms/keyRing:KeyRing"
CRYPTO_KEY = "gcp:kms/cryptoKey:CryptoKey"
STATEFUL = (BUCKET, REPO, CLUSTER, KEY_RING, CRYPTO_KEY)
GPU_POOLS = {"dev": {"recsys-train", "recsys-serve", "vision-finetune", "research-notebooks"},
             "prod": {"recsys-train", "recsys-serve", "vision-finetune"}}

# ---- inventories --------------------------------------------------------------------------

K8S_TYPES = ("core/v1:Namespace", "core/v1:ServiceAccount", "core/v1:ResourceQuota",
             "core/v1:LimitRange", "rbac.authorization.k8s.io/v1:RoleBinding")

DEV_INVENTORY = {
    "pulumi:providers:gcp": 2,  # everything + the budgets' quota-project provider
    "trellis:gcp:Services": 1, SERVICE: 15, "gcp:projects/serviceIdentity:ServiceIdentity": 1,
    "trellis:gcp:Network": 1, "gcp:compute/network:Network": 1,
    "gcp:compute/subnetwork:Subnetwork": 1, "gcp:compute/router:Router": 1,
    "gcp:compute/routerNat:RouterNat": 1,
    "trellis:gcp:Cluster": 1, CLUSTER: 1,
    NODE_POOL: 6,  # system + general + recsys train/serve + vision finetune + research notebooks
    "trellis:gcp:GpuNodePool": 4, "trellis:gcp:CpuNodePool": 1,
    ACCOUNT: 11,  # system + general nodes, 4 GPU pools, 3 workload, recsys pipelines + scheduler
    "trellis:gcp:TeamIdentity": 3, "trellis:gcp:TeamRegistry": 3,
    REPO: 4,  # 3 docker + recsys KFP
    "trellis:gcp:Bucket": 7, BUCKET: 7,  # 6 team buckets + recsys pipeline root
    "trellis:gcp:Pipeline": 1, JOB: 1, "gcp:storage/bucketObject:BucketObject": 1,
    "gcp:monitoring/alertPolicy:AlertPolicy": 1,  # recsys' pipeline failed to start
    "trellis:gcp:Budget": 3, BUDGET: 3,
    "trellis:gcp:AlertChannels": 1,
    CHANNEL: 4,  # one per budget contact, and recsys' contact for pipeline alerts
    "trellis:gcp:ProjectAccess": 1,
    # 6 node SAs x 1 role, people 10, workload/pipeline/scheduler aiplatform.user 5
    PROJECT_IAM: 21, BUCKET_IAM: 21, REPO_IAM: 20, SA_IAM: 5,
    # one namespace per team with its service account, edit binding, GPU and compute quotas
    # and default requests
    "pulumi:providers:kubernetes": 1, "trellis:k8s:TeamNamespace": 3,
    **{f"kubernetes:{t}": 3 for t in K8S_TYPES}, "kubernetes:core/v1:ResourceQuota": 6,
    # isolation: default-deny + allow-list ingress per namespace, one admission policy with
    # its two bindings, the Vertex AI custom code agent's project role removed
    "kubernetes:networking.k8s.io/v1:NetworkPolicy": 6, "trellis:k8s:TeamAdmission": 1,
    "kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicy": 1,
    "kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicyBinding": 2,
    "gcp:projects/iamMemberRemove:IamMemberRemove": 1,
}
PROD_INVENTORY = {
    **DEV_INVENTORY,  # no research team in prod
    NODE_POOL: 5, "trellis:gcp:GpuNodePool": 3, ACCOUNT: 9,
    "trellis:gcp:TeamIdentity": 2, "trellis:gcp:TeamRegistry": 2, REPO: 3,
    "trellis:gcp:Bucket": 6, BUCKET: 6, "trellis:gcp:Budget": 2, BUDGET: 2, CHANNEL: 3,
    PROJECT_IAM: 17, BUCKET_IAM: 19, REPO_IAM: 16, SA_IAM: 4,
    "trellis:k8s:TeamNamespace": 2, **{f"kubernetes:{t}": 2 for t in K8S_TYPES},
    "kubernetes:core/v1:ResourceQuota": 4, "kubernetes:networking.k8s.io/v1:NetworkPolicy": 4,
    # production: customer-managed keys (cloudkms API, a ring, four keys, their service agents)
    SERVICE: 16, "trellis:gcp:EncryptionKeys": 1, KEY_RING: 1, CRYPTO_KEY: 4,
    "gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember": 4,
    "gcp:projects/serviceIdentity:ServiceIdentity": 4,  # vertex (Services) + gke, AR, vertex
    # serve keeps one warm L4 node (min_nodes: 1)
    "trellis:k8s:WarmCapacity": 1, "kubernetes:apps/v1:Deployment": 1,
}


@pytest.mark.parametrize(("env_name", "inventory"), [("dev", DEV_INVENTORY),
                                                      ("prod", PROD_INVENTORY)])
def test_inventory_per_environment(env_name, inventory, dev_plan, prod_plan):
    got = counts(dev_plan if env_name == "dev" else prod_plan)
    assert dict(got) == inventory, (
        f"{env_name}: resource counts per type changed; "
        f"extra {dict(got - type(got)(inventory))}, missing {dict(type(got)(inventory) - got)}")


# ---- production vs sandbox ----------------------------------------------------------------

def test_stateful_resources_protected_and_retained_in_production_only(dev_plan, prod_plan):
    for r in (r for r in prod_plan.resources if r.type in STATEFUL):
        assert r.protect and r.retain_on_delete, (
            f"prod {r.type} {r.name}: stateful resources are protected and retained in production")
    for r in (r for r in dev_plan.resources if r.type in STATEFUL):
        assert not r.protect and not r.retain_on_delete, (
            f"dev {r.type} {r.name}: a sandbox must be deletable")
    for plan_ in (dev_plan, prod_plan):
        stateless = [r.name for r in plan_.resources if r.protect and r.type not in STATEFUL]
        assert not stateless, f"{plan_.environment}: only stateful resources are protected"


def test_cluster_tier_settings(dev_plan, prod_plan):
    dev, prod = one(dev_plan, CLUSTER, "cluster-gke"), one(prod_plan, CLUSTER, "cluster-gke")
    assert (dev.inputs["deletionProtection"], prod.inputs["deletionProtection"]) == (False, True)
    assert dev.inputs["releaseChannel"]["channel"] == "REGULAR"
    assert prod.inputs["releaseChannel"]["channel"] == "STABLE"
    dev_sys, prod_sys = (one(p, NODE_POOL, "cluster-system") for p in (dev_plan, prod_plan))
    assert dev_sys.inputs["autoscaling"]["totalMinNodeCount"] == 1
    assert prod_sys.inputs["autoscaling"]["totalMinNodeCount"] == 3, "one system node per zone"
    subnet = "gcp:compute/subnetwork:Subnetwork"
    assert "logConfig" in one(prod_plan, subnet, "network-subnet").inputs, "prod flow logs"
    assert "logConfig" not in one(dev_plan, subnet, "network-subnet").inputs


def test_immutable_tags_in_production_only(dev_plan, prod_plan):
    for plan_, expected in ((dev_plan, False), (prod_plan, True)):
        for repo in plan_.of_type(REPO):
            if repo.inputs["format"] == "DOCKER":
                assert repo.inputs["dockerConfig"]["immutableTags"] is expected, (
                    f"{plan_.environment} {repo.name}: immutable tags iff production")


def test_versioning_defaults_by_tier(dev_plan, prod_plan):
    def versioned(plan_: Plan) -> dict[str, bool]:
        return {b.name: b.inputs["versioning"]["enabled"] for b in plan_.of_type(BUCKET)}
    dev, prod = versioned(dev_plan), versioned(prod_plan)
    assert dev["recsys-datasets"] is False and prod["recsys-datasets"] is True, (
        "unset versioning follows the tier")
    assert dev["recsys-models"] is True and prod["recsys-models"] is True, "explicit versioning"


def test_spot_by_tier_and_override(dev_plan, prod_plan):
    def spot(plan_: Plan) -> dict[str, bool]:
        return {p.name: p.inputs["nodeConfig"]["spot"] for p in plan_.of_type(NODE_POOL)
                if p.name in GPU_POOLS[plan_.environment]}
    assert spot(dev_plan) == {"recsys-train": True, "recsys-serve": True,
                              "vision-finetune": True, "research-notebooks": True}
    assert spot(prod_plan) == {"recsys-train": False, "recsys-serve": False,
                               "vision-finetune": False}


# ---- GPU pools ----------------------------------------------------------------------------

@pytest.mark.parametrize("env_name", ["dev", "prod"])
def test_every_gpu_pool_declares_taint_driver_and_labels(env_name, dev_plan, prod_plan):
    plan_ = dev_plan if env_name == "dev" else prod_plan
    pools = [p for p in plan_.of_type(NODE_POOL) if p.name in GPU_POOLS[env_name]]
    assert len(pools) == len(GPU_POOLS[env_name])
    for pool in pools:
        config = pool.inputs["nodeConfig"]
        who = f"{env_name} node pool {pool.name}"
        assert {"key": "nvidia.com/gpu", "value": "present", "effect": "NO_SCHEDULE"} in \
            config["taints"], f"{who}: GPU taint must be explicit (pulumi-gcp#1139)"
        for acc in config["guestAccelerators"]:
            driver = acc["gpuDriverInstallationConfig"]["gpuDriverVersion"]
            assert driver in ("LATEST", "DEFAULT"), (
                f"{who}: GPU driver installation must be set explicitly, got {driver}")
        assert set(pool.ignore_changes) >= {"initialNodeCount", "nodeCount"}, (
            f"{who}: autoscaler node counts must be ignored")
        assert config["workloadMetadataConfig"]["mode"] == "GKE_METADATA", who
        assert config["shieldedInstanceConfig"]["enableSecureBoot"] is True, who
        assert not config["serviceAccount"].endswith("-compute@developer.gserviceaccount.com"), (
            f"{who}: never the default compute service account")
        assert {"team", "pool", "env", "cost-center"} <= set(config["resourceLabels"]), (
            f"{who}: GCP labels team/pool/env/cost-center")


# ---- team namespaces ----------------------------------------------------------------------

def test_team_namespaces_carry_the_workload_identity(dev_env, dev_plan):
    for team in dev_env.teams.values():
        sa = one(dev_plan, "kubernetes:core/v1:ServiceAccount", f"{team.name}-sa")
        meta = sa.inputs["metadata"]
        assert (meta["namespace"], meta["name"]) == (team.names.namespace,
                                                     team.names.service_account), sa.name
        assert meta["annotations"]["iam.gke.io/gcp-service-account"] == (
            f"{team.names.workload_identity}@{dev_env.project}.iam.gserviceaccount.com"), (
            f"{sa.name}: the Kubernetes SA must name the GCP workload SA it acts as")
        quota = one(dev_plan, "kubernetes:core/v1:ResourceQuota", f"{team.name}-gpu-quota")
        assert quota.inputs["spec"]["hard"] == {"requests.nvidia.com/gpu": str(team.max_gpus)}
    binding = one(dev_plan, "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding", "vision-edit")
    assert [(s["kind"], s["name"]) for s in binding.inputs["subjects"]] == [
        ("Group", "vision@acme.com"), ("User", "lee@acme.com")]
    provider = one(dev_plan, "pulumi:providers:kubernetes", "kubernetes")
    assert "gke-gcloud-auth-plugin" in provider.inputs["kubeconfig"], (
        "the kubeconfig comes from the cluster's outputs, authenticated by gcloud")


def test_rbac_subjects_from_principals():
    principals = ("group:a@x.com", "user:b@x.com", "serviceAccount:c@p.iam.gserviceaccount.com",
                  "domain:x.com")
    assert rbac_subjects(principals) == [
        {"kind": "Group", "name": "a@x.com"}, {"kind": "User", "name": "b@x.com"},
        {"kind": "User", "name": "c@p.iam.gserviceaccount.com"}]


# ---- security invariants ------------------------------------------------------------------

@pytest.mark.parametrize("env_name", ["dev", "prod"])
def test_no_keys_and_no_primitive_roles(env_name, dev_plan, prod_plan):
    plan_ = dev_plan if env_name == "dev" else prod_plan
    assert not plan_.of_type(SA_KEY), "no service account keys, ever"
    for r in plan_.resources:
        if r.type in IAM_TYPES:
            assert r.inputs["role"] not in PRIMITIVE_ROLES, (
                f"{r.type} {r.name}: primitive role {r.inputs['role']} is not allowed")
        if r.type.startswith("gcp:"):
            kind = r.type.rsplit(":", 1)[-1]
            iam = "iam" in kind.lower()
            assert not (iam and ("Binding" in kind or "Policy" in kind)), (
                f"{r.type} {r.name}: grants are additive members, never authoritative")


def test_people_get_project_roles_once_whatever_their_teams(dev_env):
    grants = people(dev_env)
    assert grants["user:lee@acme.com"] == sorted(MEMBER_ROLES)
    assert grants["group:ml-platform@acme.com"] == sorted(ADMIN_ROLES), "platform admins"
    for roles in grants.values():
        assert not PRIMITIVE_ROLES & set(roles)


def _sa(env: EnvSpec, account_id: str) -> str:
    return f"serviceAccount:{account_id}@{env.project}.iam.gserviceaccount.com"


def _team_identities(env: EnvSpec, team: TeamSpec) -> dict[str, str]:
    names = team.names
    out = {"workload": _sa(env, names.workload_identity)}
    if team.pipelines:
        out.update(pipelines=_sa(env, names.pipeline_identity),
                   scheduler=_sa(env, names.scheduler_identity))
    return out


def _check_grants(env: EnvSpec, plan_: Plan) -> None:
    """Every IAM member of the plan grants the right identity the right role on the right thing."""
    by_bucket = {b.bucket_name: t for t in env.teams.values() for b in t.buckets.values()}
    roots = {t.names.pipeline_root_bucket: t for t in env.teams.values()
             if t.names.pipeline_root_bucket}
    by_repo = {r: t for t in env.teams.values()
               for r in (t.names.container_registry, t.names.pipeline_registry)}
    general = _sa(env, str(env.platform.names.general_node_identity))
    node_sas = {_sa(env, naming.gcp_service_account(env.platform.cluster_name, "gke")), general}
    node_sas |= {_sa(env, p.node_identity_name) for t in env.teams.values()
                 for p in t.pools.values()}
    allowed_project = {(sa, role) for sa in node_sas for role in NODE_ROLES}
    allowed_project |= {(a, role) for a in env.platform.admins for role in ADMIN_ROLES}
    for team in env.teams.values():
        ids = _team_identities(env, team)
        allowed_project |= {(m, role) for m in team.members for role in MEMBER_ROLES}
        allowed_project |= {(sa, "roles/aiplatform.user") for sa in ids.values()}

    for r in plan_.resources:
        member, role, who = r.inputs.get("member"), r.inputs.get("role"), f"{r.type} {r.name}"
        if r.type == PROJECT_IAM:
            assert (member, role) in allowed_project, f"{who}: {member} must not get {role}"
        elif r.type == BUCKET_IAM:
            bucket = r.inputs["bucket"]
            team = by_bucket.get(bucket) or roots.get(bucket)
            assert team is not None, f"{who}: grant on a bucket no team owns: {bucket}"
            ids = _team_identities(env, team)
            if role == "roles/storage.objectViewer":
                assert bucket in roots and VERTEX_AGENT.fullmatch(member), (
                    f"{who}: only the Vertex AI agent reads pipeline roots")
            else:
                assert role == "roles/storage.objectAdmin", who
                assert member in {*team.members, ids["workload"], ids.get("pipelines")}, (
                    f"{who}: {member} is not an identity of team {team.name}")
        elif r.type == REPO_IAM:
            team = by_repo[r.inputs["repository"]]
            ids = _team_identities(env, team)
            pool_sas = {_sa(env, p.node_identity_name) for p in team.pools.values()}
            if role == "roles/artifactregistry.writer":
                assert member in {*team.members, ids["workload"]}, (
                    f"{who}: only team {team.name}'s members and workload write")
            else:
                assert role == "roles/artifactregistry.reader", who
                # The shared CPU pool's nodes pull every team's images (ADR 22).
                assert (member in {ids.get("pipelines"), general, *pool_sas}
                        or VERTEX_AGENT.fullmatch(member)), (
                    f"{who}: {member} may not read team {team.name}'s registry")
        elif r.type == SA_IAM:
            target = r.inputs["serviceAccountId"].rsplit("/", 1)[-1]
            owner = next(t for t in env.teams.values()
                         if f"serviceAccount:{target}" in _team_identities(env, t).values())
            ids = _team_identities(env, owner)
            if role == "roles/iam.workloadIdentityUser":
                assert f"serviceAccount:{target}" == ids["workload"], who
                assert member == (f"serviceAccount:{env.project}.svc.id.goog"
                                  f"[{owner.names.namespace}/{owner.names.service_account}]"), who
            else:
                assert role == "roles/iam.serviceAccountUser", who
                assert f"serviceAccount:{target}" == ids.get("pipelines"), (
                    f"{who}: serviceAccountUser only on the pipeline SA")
                assert member in {*owner.members, ids["scheduler"]}, who


def test_every_grant_references_the_right_identity(dev_env, dev_plan, prod_env, prod_plan):
    _check_grants(dev_env, dev_plan)
    _check_grants(prod_env, prod_plan)


def _depends_on(plan_: Plan, resource: PlannedResource, targets: set[str]) -> bool:
    """True when ``resource`` depends on one of ``targets``, directly or through others."""
    by_urn, seen, todo = plan_.by_urn(), set(), list(resource.dependencies)
    while todo:
        urn = todo.pop()
        if urn in targets:
            return True
        if urn not in seen and urn in by_urn:
            seen.add(urn)
            todo.extend(by_urn[urn].dependencies)
    return False


def test_services_never_disabled_and_resources_wait_for_them(dev_plan):
    services = dev_plan.of_type(SERVICE)
    assert all(s.inputs["disableOnDestroy"] is False for s in services)
    service_urns = {s.urn for s in services}
    for r in dev_plan.resources:
        if r.custom and r.type.startswith("gcp:") and r.type != SERVICE:
            assert _depends_on(dev_plan, r, service_urns), (
                f"{r.type} {r.name}: must wait for the project services it uses")


# ---- names --------------------------------------------------------------------------------

PINNED_URNS = [
    "pulumi:providers:gcp::gcp",
    "trellis:gcp:Services::services",
    "trellis:gcp:ProjectAccess$gcp:projects/iAMMember:IAMMember::"
    "access-group:recsys@acme.com-container.clusterViewer",
    "trellis:gcp:Network$gcp:compute/network:Network::network-vpc",
    "trellis:gcp:Cluster$gcp:container/cluster:Cluster::cluster-gke",
    "trellis:gcp:Cluster$gcp:container/nodePool:NodePool::cluster-system",
    "trellis:gcp:GpuNodePool::recsys-train",
    "trellis:gcp:GpuNodePool$gcp:container/nodePool:NodePool::recsys-train",
    "trellis:gcp:GpuNodePool$gcp:serviceaccount/account:Account::recsys-train-node",
    "trellis:gcp:Bucket::recsys-datasets",
    "trellis:gcp:Bucket$gcp:storage/bucket:Bucket::recsys-datasets",
    "trellis:gcp:Bucket$gcp:storage/bucket:Bucket::recsys-pipeline-root",
    "trellis:gcp:TeamRegistry$gcp:artifactregistry/repository:Repository::recsys-images",
    "trellis:gcp:TeamRegistry$gcp:artifactregistry/repository:Repository::recsys-pipelines",
    "trellis:gcp:TeamIdentity$gcp:serviceaccount/account:Account::recsys-workload",
    "trellis:gcp:Pipeline$gcp:cloudscheduler/job:Job::recsys-nightly-train",
    "trellis:gcp:Budget$gcp:billing/budget:Budget::recsys",
]


@pytest.mark.parametrize("urn", PINNED_URNS)
def test_urns_are_pinned(urn, dev_plan):
    full = f"urn:pulumi:dev::trellis::{urn}"
    assert full in dev_plan.by_urn(), (
        f"URN {full} disappeared: renaming a logical name or type replaces real resources; "
        "ship an alias (see docs/adr/0004-gcp-logical-names.md)")


def test_physical_names_come_from_the_spec(dev_env, dev_plan):
    recsys = dev_env.teams["recsys"]
    assert one(dev_plan, BUCKET, "recsys-datasets").inputs["name"] == \
        recsys.buckets["datasets"].bucket_name
    assert one(dev_plan, NODE_POOL, "recsys-train").inputs["name"] == \
        recsys.pools["train"].node_pool_name
    assert one(dev_plan, JOB, "recsys-nightly-train").inputs["name"] == \
        recsys.pipelines["nightly-train"].job_name
    assert one(dev_plan, CLUSTER, "cluster-gke").inputs["name"] == dev_env.platform.cluster_name


RENAMED = """\
version: 1
org: acme
cloud: gcp
region: us-central1
platform: {gke_security_group: gke-security-groups@acme.com}
environments:
  dev: {project: acme-ml-dev}
teams:
  recsys:
    members: [group:recsys@acme.com]
    gpu_pools:
      training: {accelerator: l4, max_nodes: 2, previous_names: [train]}
    buckets:
      data: {previous_names: [datasets]}
    pipelines:
      nightly:
        template: gs://acme-templates/train.yaml
        schedule: "0 3 * * *"
        previous_names: [nightly-train]
"""


def test_renamed_entries_keep_urns_through_aliases_and_keep_physical_names(write_org):
    env = resolve(load(write_org(RENAMED)), "dev")
    plan_ = plan(env)
    base = "urn:pulumi:dev::trellis::"
    expected = {
        ("trellis:gcp:GpuNodePool", "recsys-training"): "trellis:gcp:GpuNodePool::recsys-train",
        ("trellis:gcp:Bucket", "recsys-data"): "trellis:gcp:Bucket::recsys-datasets",
        ("trellis:gcp:Pipeline", "recsys-nightly"): "trellis:gcp:Pipeline::recsys-nightly-train",
    }
    for (type_, name), old in expected.items():
        assert base + old in one(plan_, type_, name).aliases, (
            f"{type_} {name}: renamed entry must alias its old URN {old}")
    assert one(plan_, BUCKET, "recsys-data").inputs["name"] == "acme-dev-recsys-datasets", (
        "a renamed bucket keeps its physical name (its data)")
    assert one(plan_, NODE_POOL, "recsys-training").inputs["name"] == "recsys-train"
    assert one(plan_, JOB, "recsys-nightly").inputs["name"] == "recsys-nightly-train"


def test_renamed_team_aliases_team_components(write_org):
    text = RENAMED.replace("  recsys:\n", "  ranking:\n    previous_names: [recsys]\n")
    plan_ = plan(resolve(load(write_org(text)), "dev"))
    identity = one(plan_, "trellis:gcp:TeamIdentity", "ranking")
    assert "urn:pulumi:dev::trellis::trellis:gcp:TeamIdentity::recsys" in identity.aliases
    pool = one(plan_, "trellis:gcp:GpuNodePool", "ranking-training")
    assert "urn:pulumi:dev::trellis::trellis:gcp:GpuNodePool::recsys-train" in pool.aliases, (
        "team and entry renamed together still alias the original component")


# ---- outputs ------------------------------------------------------------------------------

TEAM_KEYS = {"namespace", "service_account", "workload_identity", "pipeline_identity",
             "buckets", "pipeline_root", "container_registry", "pipeline_registry",
             "model_registry", "gpu_pools", "pipelines"}
POOL_KEYS = {"node_selector", "tolerations", "resource_name", "gpus_per_node", "accelerator",
             "machine_type", "min_nodes", "max_nodes", "spot", "capacity"}
PIPELINE_KEYS = {"schedule", "timezone", "template_uri", "job_name", "pipeline_root"}


def test_build_gcp_returns_the_cross_cloud_output_shape(dev_env):
    captured: dict[str, Any] = {}
    run_program(dev_env, lambda: captured.update(build_gcp(dev_env)))
    assert set(captured) == {"environment", "teams"}
    assert set(captured["environment"]) == {"name", "cloud", "tier", "region", "project",
                                            "cluster_name", "cluster_endpoint"}
    for name, team in captured["teams"].items():
        assert set(team) == TEAM_KEYS, f"team {name}: output keys"
        for pool_name, pool in team["gpu_pools"].items():
            assert set(pool) == POOL_KEYS, f"team {name} pool {pool_name}: output keys"
        for pl_name, pl in team["pipelines"].items():
            assert set(pl) == PIPELINE_KEYS, f"team {name} pipeline {pl_name}: output keys"
    vision = captured["teams"]["vision"]
    assert vision["pipeline_root"] is None and vision["pipeline_registry"] is None
    assert vision["pipeline_identity"] is None


def test_stack_outputs_resolve_to_usable_values(dev_plan):
    out = dev_plan.outputs
    assert out["environment"] == {"name": "dev", "cloud": "gcp", "tier": "sandbox",
                                  "region": "us-central1", "project": "acme-ml-dev",
                                  "cluster_name": "acme-dev", "cluster_endpoint": "172.16.0.2"}
    recsys = out["teams"]["recsys"]
    assert recsys["namespace"] == recsys["service_account"] == "recsys"
    assert recsys["workload_identity"] == "recsys-workload@acme-ml-dev.iam.gserviceaccount.com"
    assert recsys["pipeline_identity"] == "recsys-pipelines@acme-ml-dev.iam.gserviceaccount.com"
    assert recsys["buckets"] == {"datasets": "gs://acme-dev-recsys-datasets",
                                 "models": "gs://acme-dev-recsys-models",
                                 "scratch": "gs://acme-dev-recsys-scratch"}
    assert recsys["pipeline_root"] == "gs://acme-dev-recsys-pipeline-root"
    assert recsys["container_registry"] == "us-central1-docker.pkg.dev/acme-ml-dev/recsys-images"
    assert recsys["pipeline_registry"] == (
        "https://us-central1-kfp.pkg.dev/acme-ml-dev/recsys-pipelines")
    assert recsys["model_registry"] == (
        "vertex-ai://projects/acme-ml-dev/locations/us-central1/models")
    train = recsys["gpu_pools"]["train"]
    assert train["node_selector"] == {"trellis.dev/team": "recsys", "trellis.dev/pool": "train"}
    assert train["resource_name"] == "nvidia.com/gpu"
    assert (train["accelerator"], train["machine_type"], train["gpus_per_node"]) == (
        "h100-80gb", "a3-highgpu-8g", 8)
    assert {"key": "nvidia.com/gpu", "operator": "Equal", "value": "present",
            "effect": "NoSchedule"} in train["tolerations"]
    nightly = recsys["pipelines"]["nightly-train"]
    assert nightly["job_name"] == "recsys-nightly-train"
    assert nightly["template_uri"].startswith(
        "gs://acme-dev-recsys-pipeline-root/templates/nightly-train-")
    assert nightly["pipeline_root"] == "gs://acme-dev-recsys-pipeline-root/runs/nightly-train"
    assert (nightly["schedule"], nightly["timezone"]) == ("0 3 * * *", "Asia/Seoul")


def test_without_billing_account_there_are_no_budgets(write_org):
    plan_ = plan(resolve(load(write_org(RENAMED)), "dev"))
    assert not plan_.of_type(BUDGET)
    assert not [c for c in plan_.of_type(CHANNEL) if "-budget-" in c.name], "no budget channels"
    assert "services-billingbudgets" not in named(plan_, SERVICE)


def _canonical(plan_: Plan) -> str:
    """The plan as JSON without registration order: the SDK registers resources and collects
    dependencies concurrently, so only orders (never contents) may differ between runs."""
    data = plan_.to_json()
    for res in data["resources"]:
        res["dependencies"] = sorted(res["dependencies"])
        res["property_dependencies"] = {k: sorted(v)
                                        for k, v in res["property_dependencies"].items()}
    data["resources"].sort(key=lambda res: res["urn"])
    return json.dumps(data, sort_keys=True)


def test_same_org_twice_gives_identical_plans(dev_env, dev_plan):
    assert _canonical(plan(dev_env)) == _canonical(dev_plan)


# ---- the policy pack ----------------------------------------------------------------------

@pytest.mark.parametrize("env_name", ["dev", "prod"])
def test_bundled_example_passes_the_policy_pack(env_name, dev_plan, prod_plan):
    from stacks.report.check import run_check

    report = run_check(dev_plan if env_name == "dev" else prod_plan)
    failing = [f"{f.policy} {f.logical_path}: {f.message}" for f in report.failing()]
    assert not failing, f"{env_name}: the bundled GCP example must pass `trellis check`: {failing}"
