"""Each GCP component alone under the recording mocks: what it creates, with which settings."""

from __future__ import annotations

import base64
import json

import pulumi
import pytest

from components import common
from components.gcp import (
    PLATFORM_SERVICES,
    Bucket,
    Budget,
    Cluster,
    GpuNodePool,
    Network,
    Pipeline,
    ProjectAccess,
    Services,
    TeamIdentity,
    TeamRegistry,
    subnet_ranges,
)
from components.gcp._iam import NODE_ROLES
from components.gcp.gpu_pool import boot_disk_type
from components.gcp.pipeline import read_template, runtime_config, template_object_name
from stacks.plan.engine import PlanError
from tests.conftest import ROOT
from tests.gcp.helpers import (
    ACCOUNT,
    BUCKET,
    BUCKET_IAM,
    BUCKET_OBJECT,
    BUDGET,
    CHANNEL,
    CLUSTER,
    JOB,
    NODE_POOL,
    PROJECT_IAM,
    REPO,
    REPO_IAM,
    SA_IAM,
    SERVICE,
    counts,
    named,
    one,
    subset,
)

PROJECT = "acme-ml-dev"
TEMPLATE = ROOT / "stacks" / "pipelines" / "train.yaml"


# ---- Services -----------------------------------------------------------------------------

def test_services_enabled_never_disabled_and_vertex_agent(run):
    plan = run(lambda: Services("services", {"project": PROJECT}))
    services = plan.of_type(SERVICE)
    assert sorted(r.inputs["service"] for r in services) == sorted(PLATFORM_SERVICES)
    for svc in services:
        assert svc.inputs["disableOnDestroy"] is False, (
            f"{svc.name}: a service must never be disabled on destroy")
    agent = one(plan, "gcp:projects/serviceIdentity:ServiceIdentity", "services-aiplatform-agent")
    assert agent.inputs["service"] == "aiplatform.googleapis.com"
    assert one(plan, SERVICE, "services-aiplatform").urn in agent.dependencies, (
        "the Vertex AI agent must wait for aiplatform.googleapis.com")


def test_services_project_output_waits_for_every_service(run):
    def program() -> None:
        services = Services("services", {"project": PROJECT,
                                         "services": ["storage.googleapis.com"],
                                         "vertex_service_agent": False})
        Bucket("b", {"project": services.project, "bucket_name": "acme-dev-b",
                     "location": "us-central1"})
    plan = run(program)
    bucket = one(plan, BUCKET, "b")
    assert one(plan, SERVICE, "services-storage").urn in bucket.dependencies, (
        "resources given Services.project must depend on the enabled services")


def test_services_vertex_agent_needs_aiplatform(run):
    with pytest.raises(PlanError, match=r"aiplatform\.googleapis\.com"):
        run(lambda: Services("services", {"project": PROJECT,
                                          "services": ["storage.googleapis.com"]}))


# ---- Network ------------------------------------------------------------------------------

@pytest.mark.parametrize(("cidr", "nodes", "pods", "services"), [
    ("10.0.0.0/16", "10.0.128.0/18", "10.0.0.0/17", "10.0.192.0/18"),
    ("10.8.0.0/20", "10.8.8.0/22", "10.8.0.0/21", "10.8.12.0/22"),
    ("10.0.0.0/8", "10.128.0.0/10", "10.0.0.0/9", "10.192.0.0/10"),
])
def test_subnet_ranges_carve_without_overlap(cidr, nodes, pods, services):
    ranges = subnet_ranges(cidr)
    assert ranges == (nodes, pods, services)


@pytest.mark.parametrize("cidr", ["10.0.0.0/21", "fd00::/48", "10.0.0.1/16"])
def test_subnet_ranges_reject_unusable_cidrs(cidr):
    with pytest.raises(ValueError):
        subnet_ranges(cidr)


def test_network_private_access_secondary_ranges_and_nat(run):
    plan = run(lambda: Network("network", {"project": PROJECT, "region": "us-central1",
                                           "network_name": "acme-dev", "cidr": "10.0.0.0/16"}))
    assert counts(plan) == {"trellis:gcp:Network": 1, "gcp:compute/network:Network": 1,
                            "gcp:compute/subnetwork:Subnetwork": 1,
                            "gcp:compute/router:Router": 1, "gcp:compute/routerNat:RouterNat": 1}
    subset(one(plan, "gcp:compute/network:Network", "network-vpc"),
           {"name": "acme-dev", "autoCreateSubnetworks": False})
    subnet = one(plan, "gcp:compute/subnetwork:Subnetwork", "network-subnet")
    subset(subnet, {"name": "acme-dev-us-central1", "privateIpGoogleAccess": True,
                    "ipCidrRange": "10.0.128.0/18",
                    "network": "projects/acme-ml-dev/global/networks/acme-dev"})
    assert subnet.inputs["secondaryIpRanges"] == [
        {"rangeName": "pods", "ipCidrRange": "10.0.0.0/17"},
        {"rangeName": "services", "ipCidrRange": "10.0.192.0/18"}]
    assert "logConfig" not in subnet.inputs, "flow logs are off unless asked for"
    subset(one(plan, "gcp:compute/routerNat:RouterNat", "network-nat"),
           {"router": "acme-dev-router", "natIpAllocateOption": "AUTO_ONLY",
            "sourceSubnetworkIpRangesToNat": "ALL_SUBNETWORKS_ALL_IP_RANGES"})


# ---- Cluster ------------------------------------------------------------------------------

def _cluster(admin_cidrs=(), protected=False, **extra):
    return lambda: Cluster("cluster", {**extra,
        "project": PROJECT, "project_id": PROJECT, "region": "us-central1",
        "cluster_name": "acme-dev", "network": "net", "subnetwork": "subnet",
        "pods_range_name": "pods", "services_range_name": "services",
        "admin_cidrs": list(admin_cidrs), "deletion_protection": protected,
        "labels": {"env": "dev"},
        "system_pool": {"name": "system", "machine_type": "e2-standard-4", "min_nodes": 1,
                        "max_nodes": 3, "disk_size_gb": 50, "disk_type": "pd-balanced",
                        "identity_name": "acme-dev-gke"}})


def test_cluster_is_private_hardened_and_observable(run):
    plan = run(_cluster(admin_cidrs=["203.0.113.0/24"]))
    cluster = one(plan, CLUSTER, "cluster-gke")
    subset(cluster, {
        "name": "acme-dev", "location": "us-central1", "removeDefaultNodePool": True,
        "privateClusterConfig": {"enablePrivateNodes": True, "enablePrivateEndpoint": False},
        "masterAuthorizedNetworksConfig": {
            "cidrBlocks": [{"cidrBlock": "203.0.113.0/24", "displayName": "admin 203.0.113.0/24"}],
            "gcpPublicCidrsAccessEnabled": False},
        "enableLegacyAbac": False,
        "masterAuth": {"clientCertificateConfig": {"issueClientCertificate": False}},
        "workloadIdentityConfig": {"workloadPool": "acme-ml-dev.svc.id.goog"},
        "releaseChannel": {"channel": "REGULAR"}, "enableShieldedNodes": True,
        "datapathProvider": "ADVANCED_DATAPATH", "costManagementConfig": {"enabled": True},
        "deletionProtection": False,
        "ipAllocationPolicy": {"clusterSecondaryRangeName": "pods",
                               "servicesSecondaryRangeName": "services"},
        "nodeConfig": {"serviceAccount": "acme-dev-gke@acme-ml-dev.iam.gserviceaccount.com",
                       "workloadMetadataConfig": {"mode": "GKE_METADATA"}},
    })
    assert "WORKLOADS" in cluster.inputs["loggingConfig"]["enableComponents"]
    assert "SYSTEM_COMPONENTS" in cluster.inputs["monitoringConfig"]["enableComponents"]
    assert not cluster.protect and not cluster.retain_on_delete
    assert "nodeConfig" in cluster.ignore_changes, (
        "the removed default pool's node_config must not diff (it would replace the cluster)")


def test_cluster_without_admin_cidrs_has_a_private_endpoint(run):
    cluster = one(run(_cluster()), CLUSTER, "cluster-gke")
    assert cluster.inputs["privateClusterConfig"]["enablePrivateEndpoint"] is True
    assert cluster.inputs["masterAuthorizedNetworksConfig"]["cidrBlocks"] == []


def test_cluster_google_groups_for_rbac_only_when_given(run):
    assert "authenticatorGroupsConfig" not in one(run(_cluster()), CLUSTER, "cluster-gke").inputs
    cluster = one(run(_cluster(rbac_security_group="gke-security-groups@acme.com")), CLUSTER,
                  "cluster-gke")
    assert cluster.inputs["authenticatorGroupsConfig"] == {
        "securityGroup": "gke-security-groups@acme.com"}


def test_cluster_protected_in_production(run):
    cluster = one(run(_cluster(protected=True)), CLUSTER, "cluster-gke")
    assert cluster.inputs["deletionProtection"] is True
    assert cluster.protect and cluster.retain_on_delete, "a protected cluster is also retained"


def test_cluster_system_pool_is_autoscaled_with_a_least_privilege_sa(run):
    plan = run(_cluster())
    pool = one(plan, NODE_POOL, "cluster-system")
    subset(pool, {"name": "system", "cluster": "acme-dev",
                  "autoscaling": {"totalMinNodeCount": 1, "totalMaxNodeCount": 3},
                  "management": {"autoRepair": True, "autoUpgrade": True},
                  "nodeConfig": {
                      "machineType": "e2-standard-4",
                      "serviceAccount": "acme-dev-gke@acme-ml-dev.iam.gserviceaccount.com",
                      "shieldedInstanceConfig": {"enableSecureBoot": True},
                      "workloadMetadataConfig": {"mode": "GKE_METADATA"}}})
    assert set(pool.ignore_changes) == {"initialNodeCount", "nodeCount"}
    roles = sorted(r.inputs["role"] for r in plan.of_type(PROJECT_IAM))
    assert roles == sorted(NODE_ROLES), "the system node SA gets exactly the node roles"


# ---- GpuNodePool ---------------------------------------------------------------------------

def _pool(**overrides):
    args = {"project": PROJECT, "location": "us-central1", "cluster": "acme-dev",
            "team": "recsys", "pool": "train", "node_pool_name": "recsys-train",
            "node_identity_name": "recsys-train-gpu", "machine_type": "a3-highgpu-8g",
            "accelerator_type": "nvidia-h100-80gb", "gpus_per_node": 8, "min_nodes": 0,
            "max_nodes": 2, "spot": True, "local_ssd_gb": 6000,
            "registry_repository": "recsys-images",
            "labels": {"env": "dev", "cost-center": "cc-1"}, **overrides}
    holder: dict[str, GpuNodePool] = {}

    def program() -> None:
        holder["pool"] = GpuNodePool("recsys-train", args)  # type: ignore[arg-type]
    return program, holder


def test_gpu_pool_nodes_taints_driver_and_autoscaling(run):
    program, holder = _pool()
    plan = run(program)
    assert counts(plan) == {"trellis:gcp:GpuNodePool": 1, NODE_POOL: 1, ACCOUNT: 1,
                            PROJECT_IAM: len(NODE_ROLES), REPO_IAM: 1}
    pool = one(plan, NODE_POOL, "recsys-train")
    subset(pool, {
        "name": "recsys-train", "cluster": "acme-dev", "initialNodeCount": 0,
        "autoscaling": {"totalMinNodeCount": 0, "totalMaxNodeCount": 2, "locationPolicy": "ANY"},
        "management": {"autoRepair": True, "autoUpgrade": True},
        "nodeConfig": {
            "machineType": "a3-highgpu-8g", "spot": True, "imageType": "COS_CONTAINERD",
            "serviceAccount": "recsys-train-gpu@acme-ml-dev.iam.gserviceaccount.com",
            "workloadMetadataConfig": {"mode": "GKE_METADATA"},
            "shieldedInstanceConfig": {"enableSecureBoot": True},
            "labels": {"trellis.dev/team": "recsys", "trellis.dev/pool": "train"},
            "resourceLabels": {"team": "recsys", "pool": "train", "env": "dev",
                               "cost-center": "cc-1"},
            "ephemeralStorageLocalSsdConfig": {"localSsdCount": 16},
            "guestAccelerators": [{"type": "nvidia-h100-80gb", "count": 8,
                                   "gpuDriverInstallationConfig":
                                       {"gpuDriverVersion": "LATEST"}}],
        }})
    assert pool.inputs["nodeConfig"]["taints"] == [
        {"key": "nvidia.com/gpu", "value": "present", "effect": "NO_SCHEDULE"},
        {"key": "trellis.dev/team", "value": "recsys", "effect": "NO_SCHEDULE"}], (
        "the GPU taint must be declared explicitly (pulumi-gcp#1139) plus the team taint")
    assert set(pool.ignore_changes) == {"initialNodeCount", "nodeCount"}, (
        "node counts changed by the autoscaler must not diff")
    grants = {g.urn for g in plan.of_type(PROJECT_IAM)}
    assert grants <= set(pool.dependencies), "nodes boot able to write logs and metrics"
    # The image-pull grant is not waited for: the pool is created empty, so no node pulls a
    # team image before `pulumi up` is done, and the repository stays off its critical path.
    assert plan.of_type(REPO_IAM), "the pool's nodes may pull the team's images"
    reader = one(plan, REPO_IAM, "recsys-train-node-registry-reader")
    subset(reader, {
        "repository": "recsys-images", "role": "roles/artifactregistry.reader",
        "member": "serviceAccount:recsys-train-gpu@acme-ml-dev.iam.gserviceaccount.com"})
    assert holder["pool"].scheduling == common.scheduling_contract("recsys", "train", 8)


def test_gpu_pool_node_sa_has_only_node_roles(run):
    program, _ = _pool()
    plan = run(program)
    for grant in plan.of_type(PROJECT_IAM):
        assert grant.inputs["member"] == (
            "serviceAccount:recsys-train-gpu@acme-ml-dev.iam.gserviceaccount.com"), grant.name
    assert sorted(g.inputs["role"] for g in plan.of_type(PROJECT_IAM)) == sorted(NODE_ROLES)


def test_gpu_pool_with_minimum_starts_nodes_and_without_local_ssd(run):
    program, _ = _pool(min_nodes=4, max_nodes=8, local_ssd_gb=0, spot=False,
                       machine_type="g2-standard-8", accelerator_type="nvidia-l4",
                       gpus_per_node=1)
    pool = one(run(program), NODE_POOL, "recsys-train")
    # initial_node_count is per zone: GPU pools start empty (min_nodes is held by the
    # autoscaler's total_min_node_count and started by WarmCapacity), never zones x count.
    assert pool.inputs["initialNodeCount"] == 0, "recsys-train: GPU pools are created empty"
    assert pool.inputs["autoscaling"]["totalMinNodeCount"] == 4, "recsys-train: total minimum"
    assert "ephemeralStorageLocalSsdConfig" not in pool.inputs["nodeConfig"]
    assert pool.inputs["nodeConfig"]["spot"] is False


def test_gpu_pool_rejects_min_above_max(run):
    program, _ = _pool(min_nodes=3, max_nodes=2)
    with pytest.raises(PlanError, match="min_nodes 3"):
        run(program)


@pytest.mark.parametrize(("machine_type", "disk"), [
    ("a3-ultragpu-8g", "hyperdisk-balanced"), ("a3-highgpu-8g", "pd-balanced"),
    ("n1-standard-8", "pd-balanced"), ("g2-standard-8", "pd-balanced")])
def test_boot_disk_type_per_machine_family(machine_type, disk):
    assert boot_disk_type(machine_type) == disk


# ---- Bucket -------------------------------------------------------------------------------

def _bucket(**overrides):
    return lambda: Bucket("recsys-models", {
        "project": PROJECT, "bucket_name": "acme-dev-recsys-models", "location": "us-central1",
        "object_admins": {"workload": "serviceAccount:w@p.iam.gserviceaccount.com",
                          "group:recsys@acme.com": "group:recsys@acme.com"},
        "labels": {"team": "recsys"}, **overrides})


def test_bucket_is_private_bounded_and_granted_additively(run):
    plan = run(_bucket(versioning=True, delete_after_days=30))
    assert counts(plan) == {"trellis:gcp:Bucket": 1, BUCKET: 1, BUCKET_IAM: 2}
    bucket = one(plan, BUCKET, "recsys-models")
    subset(bucket, {"name": "acme-dev-recsys-models", "location": "us-central1",
                    "uniformBucketLevelAccess": True, "publicAccessPrevention": "enforced",
                    "versioning": {"enabled": True}, "forceDestroy": False,
                    "softDeletePolicy": {"retentionDurationSeconds": 604800},
                    "labels": {"team": "recsys"}})
    rules = bucket.inputs["lifecycleRules"]
    assert {"action": {"type": "Delete"}, "condition": {"age": 30}} in rules, "expiry rule"
    assert {"action": {"type": "Delete"},
            "condition": {"daysSinceNoncurrentTime": 30, "withState": "ARCHIVED"}} in rules, (
        "versioned buckets expire noncurrent versions")
    assert not bucket.protect and not bucket.retain_on_delete
    for grant in plan.of_type(BUCKET_IAM):
        assert grant.inputs["bucket"] == "acme-dev-recsys-models", grant.name
        assert grant.inputs["role"] == "roles/storage.objectAdmin", grant.name


def test_bucket_without_expiry_or_versioning_keeps_objects(run):
    bucket = one(run(_bucket()), BUCKET, "recsys-models")
    assert bucket.inputs["versioning"] == {"enabled": False}
    assert [r["action"]["type"] for r in bucket.inputs["lifecycleRules"]] == [
        "AbortIncompleteMultipartUpload"]


def test_bucket_protected_is_retained(run):
    bucket = one(run(_bucket(protected=True)), BUCKET, "recsys-models")
    assert bucket.protect and bucket.retain_on_delete


# ---- TeamRegistry -------------------------------------------------------------------------

def _registry(**overrides):
    return lambda: TeamRegistry("recsys", {
        "project": PROJECT, "location": "us-central1", "repository_id": "recsys-images",
        "writers": {"workload": "serviceAccount:w@p.iam.gserviceaccount.com"},
        "readers": {"pipelines": "serviceAccount:p@p.iam.gserviceaccount.com"},
        **overrides})


def test_registry_docker_repo_scanned_and_cleaned(run):
    plan = run(_registry(immutable_tags=True, protected=True,
                         pipeline_repository_id="recsys-pipelines"))
    repos = named(plan, REPO)
    assert set(repos) == {"recsys-images", "recsys-pipelines"}
    docker, kfp = repos["recsys-images"], repos["recsys-pipelines"]
    subset(docker, {"repositoryId": "recsys-images", "format": "DOCKER",
                    "dockerConfig": {"immutableTags": True},
                    "vulnerabilityScanningConfig": {"enablementConfig": "INHERITED"},
                    "cleanupPolicyDryRun": False})
    policies = {p["id"]: p for p in docker.inputs["cleanupPolicies"]}
    assert policies["keep-recent"]["action"] == "KEEP"
    assert policies["delete-old-untagged"]["condition"]["tagState"] == "UNTAGGED"
    subset(kfp, {"repositoryId": "recsys-pipelines", "format": "KFP"})
    assert docker.protect and docker.retain_on_delete and kfp.protect and kfp.retain_on_delete
    grants = {(g.inputs["repository"], g.inputs["role"]) for g in plan.of_type(REPO_IAM)}
    assert grants == {(repo, f"roles/artifactregistry.{role}")
                      for repo in repos for role in ("writer", "reader")}


def test_registry_without_pipelines_has_no_kfp_repo(run):
    plan = run(_registry())
    assert set(named(plan, REPO)) == {"recsys-images"}
    assert not one(plan, REPO, "recsys-images").protect


# ---- TeamIdentity -------------------------------------------------------------------------

def _identity(pipelines=True):
    return lambda: TeamIdentity("recsys", {
        "project": PROJECT, "team": "recsys", "workload_pool": f"{PROJECT}.svc.id.goog",
        "namespace": "recsys", "kubernetes_service_account": "recsys",
        "workload_identity_name": "recsys-workload",
        "pipeline_identity_name": "recsys-pipelines" if pipelines else None,
        "scheduler_identity_name": "recsys-scheduler" if pipelines else None,
        "members": ["group:recsys@acme.com"]})


def test_identity_workload_identity_binding(run):
    plan = run(_identity())
    assert set(named(plan, ACCOUNT)) == {"recsys-workload", "recsys-pipelines",
                                         "recsys-scheduler"}
    binding = one(plan, SA_IAM, "recsys-workload-iam.workloadIdentityUser-ksa")
    subset(binding, {
        "serviceAccountId": "projects/acme-ml-dev/serviceAccounts/"
                            "recsys-workload@acme-ml-dev.iam.gserviceaccount.com",
        "role": "roles/iam.workloadIdentityUser",
        "member": "serviceAccount:acme-ml-dev.svc.id.goog[recsys/recsys]"})


def test_identity_scheduler_may_act_as_the_pipeline_sa_only(run):
    plan = run(_identity())
    acting = [g for g in plan.of_type(SA_IAM) if g.inputs["role"] == "roles/iam.serviceAccountUser"]
    pipeline_sa = ("projects/acme-ml-dev/serviceAccounts/"
                   "recsys-pipelines@acme-ml-dev.iam.gserviceaccount.com")
    assert {g.inputs["member"] for g in acting} == {
        "serviceAccount:recsys-scheduler@acme-ml-dev.iam.gserviceaccount.com",
        "group:recsys@acme.com"}
    for grant in acting:
        assert grant.inputs["serviceAccountId"] == pipeline_sa, (
            f"{grant.name}: serviceAccountUser only on the pipeline SA")
    project_roles = {(g.inputs["member"], g.inputs["role"]) for g in plan.of_type(PROJECT_IAM)}
    assert project_roles == {
        ("serviceAccount:recsys-workload@acme-ml-dev.iam.gserviceaccount.com",
         "roles/aiplatform.user"),
        ("serviceAccount:recsys-pipelines@acme-ml-dev.iam.gserviceaccount.com",
         "roles/aiplatform.user"),
        ("serviceAccount:recsys-scheduler@acme-ml-dev.iam.gserviceaccount.com",
         "roles/aiplatform.user"),
    }


def test_identity_without_pipelines(run):
    plan = run(_identity(pipelines=False))
    assert set(named(plan, ACCOUNT)) == {"recsys-workload"}
    assert [g.inputs["role"] for g in plan.of_type(SA_IAM)] == ["roles/iam.workloadIdentityUser"]


# ---- ProjectAccess ------------------------------------------------------------------------

def test_project_access_one_member_per_principal_and_role(run):
    plan = run(lambda: ProjectAccess("access", {"project": PROJECT, "grants": {
        "user:lee@acme.com": ["roles/aiplatform.user", "roles/container.clusterViewer",
                              "roles/aiplatform.user"]}}))
    grants = sorted((g.name, g.inputs["member"], g.inputs["role"])
                    for g in plan.of_type(PROJECT_IAM))
    assert grants == [
        ("access-user:lee@acme.com-aiplatform.user", "user:lee@acme.com", "roles/aiplatform.user"),
        ("access-user:lee@acme.com-container.clusterViewer", "user:lee@acme.com",
         "roles/container.clusterViewer")]


def test_project_access_refuses_primitive_roles(run):
    with pytest.raises(PlanError, match="primitive roles"):
        run(lambda: ProjectAccess("access", {"project": PROJECT,
                                             "grants": {"user:a@b.com": ["roles/editor"]}}))


# ---- Pipeline -----------------------------------------------------------------------------

def _pipeline(**overrides):
    args = {"project": PROJECT, "project_id": PROJECT, "region": "us-central1",
            "pipeline": "nightly-train", "job_name": "recsys-nightly-train",
            "display_name": "acme-dev-recsys-nightly-train", "schedule": "0 3 * * *",
            "time_zone": "Asia/Seoul", "pipeline_root": "acme-dev-recsys-pipeline-root",
            "pipeline_service_account": "recsys-pipelines@acme-ml-dev.iam.gserviceaccount.com",
            "scheduler_service_account": "recsys-scheduler@acme-ml-dev.iam.gserviceaccount.com",
            "template_path": str(TEMPLATE), "parameters": {"epochs": 10},
            "labels": {"team": "recsys"}, **overrides}
    return lambda: Pipeline("recsys-nightly-train", args)  # type: ignore[arg-type]


ALERT = "gcp:monitoring/alertPolicy:AlertPolicy"


def _spec() -> dict:
    spec, _ = read_template(TEMPLATE.read_text(), str(TEMPLATE))
    return spec


def test_pipeline_posts_the_compiled_spec_and_keeps_a_json_copy(run):
    plan = run(_pipeline())
    assert counts(plan) == {"trellis:gcp:Pipeline": 1, BUCKET_OBJECT: 1, JOB: 1}, (
        "no alert policy without alert_policy_name")
    obj = one(plan, BUCKET_OBJECT, "recsys-nightly-train-template")
    expected_object = template_object_name("nightly-train", _spec())
    assert obj.inputs["bucket"] == "acme-dev-recsys-pipeline-root"
    assert obj.inputs["name"] == expected_object
    content = obj.inputs["content"]  # pulumi-gcp marks an object's content secret
    content = content["value"] if isinstance(content, dict) else content
    assert json.loads(content) == _spec(), (
        f"{obj.name}: the copy is the pipeline spec the schedule runs, as JSON")
    job = one(plan, JOB, "recsys-nightly-train")
    subset(job, {"name": "recsys-nightly-train", "schedule": "0 3 * * *",
                 "timeZone": "Asia/Seoul", "region": "us-central1",
                 "retryConfig": {"retryCount": 0},
                 "httpTarget": {
                     "httpMethod": "POST",
                     "uri": "https://us-central1-aiplatform.googleapis.com/v1/projects/"
                            "acme-ml-dev/locations/us-central1/pipelineJobs",
                     "oauthToken": {"serviceAccountEmail":
                                    "recsys-scheduler@acme-ml-dev.iam.gserviceaccount.com"}}})
    body = json.loads(base64.b64decode(job.inputs["httpTarget"]["body"]))
    assert "templateUri" not in body, (
        f"{job.name}: Vertex AI reads templateUri only from Artifact Registry, never gs://")
    assert body == {
        "displayName": "acme-dev-recsys-nightly-train",
        "pipelineSpec": _spec(),
        "runtimeConfig": {
            "gcsOutputDirectory": "gs://acme-dev-recsys-pipeline-root/runs/nightly-train",
            "parameterValues": {"epochs": 10}},
        "serviceAccount": "recsys-pipelines@acme-ml-dev.iam.gserviceaccount.com",
        "labels": {"team": "recsys"}}


def test_pipeline_template_object_name_follows_content():
    a, b = {"root": {"dag": {}}, "x": 1}, {"root": {"dag": {}}, "x": 2}
    assert template_object_name("p", a).startswith("templates/p-")
    assert template_object_name("p", a).endswith(".json")
    assert template_object_name("p", a) != template_object_name("p", b)
    assert template_object_name("p", a) == template_object_name("p", dict(reversed(a.items())))


def test_pipeline_gs_template_is_read_by_pulumi_up_and_sent_inline(run):
    uri = "gs://shared-templates/train-v3.yaml"
    plan = run(_pipeline(template_path=None, template_uri=uri))
    body = json.loads(base64.b64decode(one(plan, JOB, "recsys-nightly-train")
                                       .inputs["httpTarget"]["body"]))
    assert "templateUri" not in body
    # Offline, the mock answers the object read with a placeholder that names the URI.
    assert uri in body["pipelineSpec"]["pipelineInfo"]["description"]
    obj = one(plan, BUCKET_OBJECT, "recsys-nightly-train-template")
    assert obj.inputs["name"] == template_object_name("nightly-train", body["pipelineSpec"])


def test_pipeline_encryption_key_is_set_on_every_run(run):
    key = "projects/acme-ml-dev/locations/us-central1/keyRings/acme-dev/cryptoKeys/vertex"
    plan = run(_pipeline(kms_key_name=key))
    body = json.loads(base64.b64decode(one(plan, JOB, "recsys-nightly-train")
                                       .inputs["httpTarget"]["body"]))
    assert body["encryptionSpec"] == {"kmsKeyName": key}


def test_pipeline_alerts_the_channels_when_a_run_fails_to_start(run):
    channels = ["projects/acme-ml-dev/notificationChannels/1",
                "projects/acme-ml-dev/notificationChannels/2"]
    plan = run(_pipeline(alert_policy_name="acme dev recsys nightly-train did not start",
                         notification_channels=channels))
    alert = one(plan, ALERT, "recsys-nightly-train")
    subset(alert, {"displayName": "acme dev recsys nightly-train did not start",
                   "notificationChannels": channels, "combiner": "OR",
                   "alertStrategy": {"notificationRateLimit": {"period": "3600s"}}})
    (condition,) = alert.inputs["conditions"]
    lines = condition["conditionMatchedLog"]["filter"].splitlines()
    assert lines == [
        'resource.type="cloud_scheduler_job"',
        'resource.labels.project_id="acme-ml-dev"',
        'resource.labels.location="us-central1"',
        'resource.labels.job_id="recsys-nightly-train"',
        'logName="projects/acme-ml-dev/logs/cloudscheduler.googleapis.com%2Fexecutions"',
        'jsonPayload."@type"="type.googleapis.com/google.cloud.scheduler.logging.AttemptFinished"',
        "severity>=ERROR"], f"{alert.name}: the filter must match only this job's failures"
    assert "gcloud scheduler jobs run recsys-nightly-train" in \
        alert.inputs["documentation"]["content"], "the alert says how to start the missed run"


def test_runtime_config_follows_the_schema_version():
    spec_21 = {"schemaVersion": "2.1.0", "root": {"dag": {}}}
    assert runtime_config(spec_21, {"n": 3}, "gs://b/runs/p") == {
        "gcsOutputDirectory": "gs://b/runs/p", "parameterValues": {"n": 3}}
    spec_20 = {"schemaVersion": "2.0.0", "root": {"inputDefinitions": {"parameters": {
        "n": {"type": "INT"}, "lr": {"type": "DOUBLE"}, "s": {"type": "STRING"}}}}}
    assert runtime_config(spec_20, {"n": 3, "lr": 0.1, "s": "x"}, "gs://b/r",
                          {"parameters": {"s": {"stringValue": "default"}}}) == {
        "gcsOutputDirectory": "gs://b/r",
        "parameters": {"n": {"intValue": "3"}, "lr": {"doubleValue": 0.1},
                       "s": {"stringValue": "x"}}}


def test_read_template_takes_the_first_document_and_unwraps_pipeline_jobs():
    spec, runtime = read_template("root: {dag: {}}\n---\nplatforms: {}\n")
    assert spec == {"root": {"dag": {}}} and runtime == {}
    spec, runtime = read_template(json.dumps({
        "pipelineSpec": {"root": {"dag": {}}},
        "runtimeConfig": {"parameterValues": {"a": 1}}}))
    assert spec == {"root": {"dag": {}}} and runtime == {"parameterValues": {"a": 1}}
    with pytest.raises(ValueError, match="not a compiled KFP pipeline spec"):
        read_template("hello: world\n", "t.yaml")


def test_pipeline_needs_exactly_one_template(run):
    with pytest.raises(PlanError, match="exactly one"):
        run(_pipeline(template_uri="gs://x/y.yaml"))


# ---- Budget -------------------------------------------------------------------------------

def _budget(contacts=("a@acme.com", "b@acme.com"), labels=None):
    return lambda: Budget("recsys", {
        "billing_account": "01ABCD-23EF45-6789AB", "project": PROJECT,
        "display_name": "acme dev recsys", "amount_usd": 1234.5,
        "labels": labels or {"team": "recsys"}, "contacts": list(contacts)})


def test_budget_filters_by_team_label_and_alerts_contacts(run):
    plan = run(_budget())
    assert counts(plan) == {"trellis:gcp:Budget": 1, BUDGET: 1, CHANNEL: 2}
    budget = one(plan, BUDGET, "recsys")
    channels = sorted(c.outputs["name"] for c in plan.of_type(CHANNEL))
    subset(budget, {
        "billingAccount": "01ABCD-23EF45-6789AB", "displayName": "acme dev recsys",
        "budgetFilter": {"labels": {"team": "recsys"}, "calendarPeriod": "MONTH"},
        "amount": {"specifiedAmount": {"currencyCode": "USD", "units": "1234",
                                       "nanos": 500_000_000}}})
    assert budget.inputs["budgetFilter"]["projects"][0].startswith("projects/")
    assert budget.inputs["budgetFilter"]["projects"][0].removeprefix("projects/").isdigit(), (
        "budgets scope projects by number")
    assert [t["thresholdPercent"] for t in budget.inputs["thresholdRules"]] == [0.5, 0.9, 1.0]
    assert sorted(budget.inputs["allUpdatesRule"]["monitoringNotificationChannels"]) == channels
    for channel in plan.of_type(CHANNEL):
        assert channel.inputs["type"] == "email", channel.name


def test_budget_limits(run):
    with pytest.raises(PlanError, match="at most 5"):
        run(_budget(contacts=[f"c{i}@acme.com" for i in range(6)]))
    with pytest.raises(PlanError, match="exactly one label"):
        run(_budget(labels={"team": "recsys", "env": "dev"}))


# ---- composition hooks --------------------------------------------------------------------

def test_component_aliases_carry_over_to_the_urn(run):
    def program() -> None:
        Bucket("recsys-data", {"project": PROJECT, "bucket_name": "acme-dev-recsys-datasets",
                               "location": "us-central1"},
               opts=pulumi.ResourceOptions(aliases=[pulumi.Alias(name="recsys-datasets")]))
    component = one(run(program), "trellis:gcp:Bucket", "recsys-data")
    assert component.aliases == ["urn:pulumi:dev::trellis::trellis:gcp:Bucket::recsys-datasets"]
