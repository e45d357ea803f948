"""Issue 17: the GCP plan is right against Google Cloud itself, and every team can use what it
got. One section per point of the issue; each assertion names the resource and the rule."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path
from typing import Any

import pytest

from components import catalog
from components.gcp.keys import ROTATION_PERIOD
from stacks.org.load import LoadedOrg, load, load_text
from stacks.org.resolve import resolve
from stacks.org.spec import EnvSpec
from stacks.plan.engine import Plan, plan
from tests.conftest import ALL_ORGS, BUNDLED_GCP, GCP_PLATFORM
from tests.gcp.helpers import (
    ACCOUNT,
    BUCKET,
    BUDGET,
    CLUSTER,
    NODE_POOL,
    PROJECT_IAM,
    REPO,
    REPO_IAM,
    SERVICE,
    named,
    one,
)

GCP_ORGS = [org for org in ALL_ORGS if load(org).org.cloud == "gcp"]
CASES = [(org, env) for org in GCP_ORGS for env in load(org).org.environments]
KEY = "gcp:kms/cryptoKey:CryptoKey"
KEY_GRANT = "gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember"
QUOTA = "kubernetes:core/v1:ResourceQuota"
LIMIT_RANGE = "kubernetes:core/v1:LimitRange"
DEPLOYMENT = "kubernetes:apps/v1:Deployment"
DISCOVERY = Path(__import__("googleapiclient").__file__).parent / "discovery_cache" / "documents"


def _plan(org: Path, env: str) -> tuple[EnvSpec, Plan]:
    spec = resolve(load(org), env)
    return spec, plan(spec)


@pytest.fixture(scope="module")
def plans() -> dict[tuple[str, str], tuple[EnvSpec, Plan]]:
    return {(org.name, env): _plan(org, env) for org, env in CASES}


def _bundled_variant(text: str) -> LoadedOrg:
    """The bundled org edited, loaded beside it (its pipeline template path resolves)."""
    return load_text(text, str(BUNDLED_GCP), base_dir=BUNDLED_GCP.parent)


def _discovery(api: str) -> dict[str, Any]:
    return json.loads((DISCOVERY / f"{api}.json").read_text(encoding="utf-8"))


def _gpu_pools(spec: EnvSpec, result: Plan) -> dict[str, Any]:
    names = {f"{t.name}-{p.name}": p for t in spec.teams.values() for p in t.pools.values()}
    return {name: (names[name], res) for name, res in named(result, NODE_POOL).items()
            if name in names}


# ---- 1. GPU pools only in zones that sell their machine type ------------------------------

@pytest.mark.parametrize(("org", "env"), CASES, ids=lambda v: getattr(v, "name", v))
def test_every_gpu_pool_runs_only_in_zones_that_sell_its_machine_type(plans, org, env):
    spec, result = plans[org.name, env]
    pools = _gpu_pools(spec, result)
    assert pools, f"{org.name}/{env}: no GPU pools planned"
    for name, (pool, res) in pools.items():
        zones = res.inputs.get("nodeLocations")
        offered = set(catalog.zones("gcp", pool.machine_type, spec.region))
        assert zones, (f"{org.name}/{env} node pool {name}: no node_locations, so GKE spreads it "
                       "over the cluster's zones, some of which do not sell its GPUs")
        assert set(zones) <= offered, (
            f"{org.name}/{env} node pool {name}: {sorted(set(zones) - offered)} do not offer "
            f"{pool.machine_type} in {spec.region} (GKE refuses the pool)")


def test_a100_80gb_pool_is_placed_where_a2_ultragpu_exists(plans):
    """The issue's example: a2-ultragpu-1g exists only in us-central1-a/c and us-east4-c."""
    for env, zones in (("dev", ["us-central1-a", "us-central1-c"]), ("prod", ["us-east4-c"])):
        _, result = plans["org.yaml", env]
        pool = one(result, NODE_POOL, "vision-finetune")
        assert pool.inputs["nodeLocations"] == zones, f"{env} vision-finetune: node_locations"


def test_gpu_pools_start_empty_and_min_nodes_is_started_exactly(plans):
    spec, result = plans["org.yaml", "prod"]
    serve = spec.teams["recsys"].pools["serve"]
    assert serve.min_nodes == 1 and len(serve.zones) > 1, "the case of the issue"
    pool = one(result, NODE_POOL, "recsys-serve")
    assert pool.inputs["initialNodeCount"] == 0, (
        "recsys-serve: initial_node_count is per zone; anything but 0 starts zones x count")
    assert pool.inputs["autoscaling"]["totalMinNodeCount"] == 1, "recsys-serve: total minimum"
    warm = one(result, DEPLOYMENT, "recsys-serve-warm")
    pod = warm.inputs["spec"]["template"]["spec"]
    assert warm.inputs["metadata"]["annotations"] == {"pulumi.com/skipAwait": "true"}, (
        "recsys-serve-warm: `pulumi up` must not wait (and fail after 10 minutes) for GPU "
        "nodes that a new project has no quota for yet")
    assert warm.inputs["spec"]["replicas"] == 1, "recsys-serve: one placeholder = one node"
    assert pod["nodeSelector"] == {"trellis.dev/team": "recsys", "trellis.dev/pool": "serve"}
    assert {t["key"] for t in pod["tolerations"]} == {"nvidia.com/gpu", "trellis.dev/team"}
    anti = pod["affinity"]["podAntiAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
    assert anti[0]["topologyKey"] == "kubernetes.io/hostname", (
        "recsys-serve-warm: one placeholder per node, so replicas = nodes")
    requests = pod["containers"][0]["resources"]["requests"]
    assert requests == {"cpu": "10m", "memory": "16Mi"}, "placeholders must leave the GPUs free"
    assert not named(plans["org.yaml", "dev"][1], DEPLOYMENT), "min_nodes 0: no placeholders"


def test_zones_narrow_a_pool_and_overrides_narrow_per_environment(write_org):
    text = f"""\
version: 1
org: acme
cloud: gcp
region: us-central1
{GCP_PLATFORM.strip()}
environments:
  dev: {{project: acme-ml-dev}}
  prod: {{project: acme-ml-prod, tier: production}}
teams:
  recsys:
    members: [group:recsys@acme.com]
    gpu_pools:
      serve: {{accelerator: l4, max_nodes: 2, zones: [us-central1-a, us-central1-c]}}
    overrides:
      prod: {{gpu_pools: {{serve: {{zones: [us-central1-b]}}}}}}
"""
    loaded = load(write_org(text))
    for env, zones in (("dev", ["us-central1-a", "us-central1-c"]), ("prod", ["us-central1-b"])):
        pool = one(plan(resolve(loaded, env)), NODE_POOL, "recsys-serve")
        assert pool.inputs["nodeLocations"] == zones, f"{env} recsys-serve: zones as written"


# ---- 4. The control plane is reachable: DNS-based endpoint --------------------------------

@pytest.mark.parametrize(("org", "env"), CASES, ids=lambda v: getattr(v, "name", v))
def test_cluster_serves_its_dns_endpoint_and_the_stack_uses_it(plans, org, env):
    spec, result = plans[org.name, env]
    cluster = one(result, CLUSTER, "cluster-gke")
    dns = cluster.inputs["controlPlaneEndpointsConfig"]["dnsEndpointConfig"]
    assert dns["allowExternalTraffic"] is True, (
        f"{org.name}/{env} cluster-gke: the DNS endpoint must accept traffic from outside the "
        "VPC, or `pulumi up` cannot create the team namespaces")
    private = cluster.inputs["privateClusterConfig"]["enablePrivateEndpoint"]
    assert private is (not spec.platform.admin_cidrs), (
        f"{org.name}/{env} cluster-gke: the IP endpoint stays private unless admin_cidrs")
    provider = one(result, "pulumi:providers:kubernetes", "kubernetes")
    (server,) = [c["cluster"]["server"] for c in json.loads(provider.inputs["kubeconfig"])
                 ["clusters"]]
    assert server.endswith(".gke.goog"), f"{org.name}/{env}: provider server {server}"


def test_dns_endpoint_config_fields_exist_in_the_container_api():
    schemas = _discovery("container.v1")["schemas"]
    assert "allowExternalTraffic" in schemas["DNSEndpointConfig"]["properties"]
    assert "dnsEndpointConfig" in schemas["ControlPlaneEndpointsConfig"]["properties"]


def test_team_members_may_connect_to_the_dns_endpoint(plans):
    """container.clusters.connect is in roles/container.clusterViewer (members get it)."""
    spec, result = plans["org.yaml", "dev"]
    grants = {(r.inputs["member"], r.inputs["role"]) for r in result.of_type(PROJECT_IAM)}
    for team in spec.teams.values():
        for member in team.members:
            assert (member, "roles/container.clusterViewer") in grants, (
                f"{member}: needs container.clusters.connect to reach the DNS endpoint")


# ---- 5. Google Groups members are never silently shut out ----------------------------------

def test_group_members_without_the_security_group_are_a_located_error(write_org):
    from stacks.org.errors import OrgError

    text = """\
version: 1
org: acme
cloud: gcp
region: us-central1
environments:
  dev: {project: acme-ml-dev}
teams:
  recsys:
    members: [user:ana@acme.com, group:recsys@acme.com]
    overrides:
      dev: {members: [group:oncall@acme.com]}
"""
    with pytest.raises(OrgError) as info:
        load(write_org(text))
    messages = [str(i) for i in info.value.issues]
    assert len(messages) == 2, messages
    first, second = messages
    assert "org.yaml:9:34 teams.recsys.members[1]: 'group:recsys@acme.com'" in first, first
    assert "platform.gke_security_group: gke-security-groups@acme.com" in first, first
    assert "make recsys@acme.com a member of that group" in first, first
    assert "teams.recsys.overrides.dev.members[0]" in second, second
    assert load(write_org(text.replace("region: us-central1\n",
                                       "region: us-central1\n" + GCP_PLATFORM))), "valid with it"


def test_user_members_need_no_security_group(write_org):
    text = """\
version: 1
org: acme
cloud: gcp
region: us-central1
environments:
  dev: {project: acme-ml-dev}
teams:
  recsys:
    members: [user:ana@acme.com]
"""
    assert load(write_org(text)).org.teams["recsys"].members == ("user:ana@acme.com",)


# ---- 6. CPU work has somewhere to run ------------------------------------------------------

def _schedulable_without_tolerations(pool: Any) -> bool:
    taints = pool.inputs["nodeConfig"].get("taints") or []
    return not [t for t in taints if t["effect"] in ("NO_SCHEDULE", "NO_EXECUTE")]


@pytest.mark.parametrize(("org", "env"), CASES, ids=lambda v: getattr(v, "name", v))
def test_a_pod_without_selector_or_tolerations_lands_where_it_can_pull_its_image(plans, org,
                                                                                 env):
    spec, result = plans[org.name, env]
    eligible = [p for p in result.of_type(NODE_POOL) if _schedulable_without_tolerations(p)]
    assert [p.name for p in eligible] == ["general"], (
        f"{org.name}/{env}: a plain pod may land on {[p.name for p in eligible]}; only the "
        "shared CPU pool may take it (the system pool is for GKE-managed components)")
    general = eligible[0]
    sa = general.inputs["nodeConfig"]["serviceAccount"]
    readers = {(r.inputs["repository"], r.inputs["member"]) for r in result.of_type(REPO_IAM)
               if r.inputs["role"] == "roles/artifactregistry.reader"}
    for team in spec.teams.values():
        assert (team.names.container_registry, f"serviceAccount:{sa}") in readers, (
            f"{org.name}/{env} general: its nodes cannot pull team {team.name}'s images (403)")
    system = one(result, NODE_POOL, "cluster-system")
    assert {"key": "components.gke.io/gke-managed-components", "value": "true",
            "effect": "NO_SCHEDULE"} in system.inputs["nodeConfig"]["taints"], (
        "cluster-system: GKE-managed components only")


def test_shared_cpu_pool_scales_to_zero_and_is_sized_from_the_teams(plans):
    for env, spot in (("dev", True), ("prod", False)):
        spec, result = plans["org.yaml", env]
        pool = one(result, NODE_POOL, "general")
        expected = catalog.general_pool_nodes(
            "gcp", sum(t.cpu_vcpus for t in spec.teams.values()),
            sum(t.cpu_memory_gb for t in spec.teams.values()))
        assert pool.inputs["autoscaling"]["totalMinNodeCount"] == 0, f"{env} general: to zero"
        assert pool.inputs["autoscaling"]["totalMaxNodeCount"] == expected, f"{env} general"
        assert pool.inputs["nodeConfig"]["spot"] is spot, f"{env} general: spot iff sandbox"
        assert pool.inputs["initialNodeCount"] == 0, f"{env} general: starts empty"


def test_team_cpu_share_becomes_its_namespace_quota(write_org):
    text = f"""\
version: 1
org: acme
cloud: gcp
region: us-central1
{GCP_PLATFORM.strip()}
environments:
  dev: {{project: acme-ml-dev}}
  prod: {{project: acme-ml-prod, tier: production}}
teams:
  data:
    members: [group:data@acme.com]
    cpu: {{vcpus: 32, memory_gb: 128}}
    overrides:
      prod: {{cpu: {{vcpus: 64, memory_gb: 256}}}}
  vision:
    members: [group:vision@acme.com]
    gpu_pools:
      train: {{accelerator: l4, gpus_per_node: 8, max_nodes: 2}}
"""
    loaded = load(write_org(text))
    dev = plan(resolve(loaded, "dev"))
    hard = one(dev, QUOTA, "data-compute-quota").inputs["spec"]["hard"]
    assert hard == {"requests.cpu": "32", "requests.memory": "128Gi"}, "data: its cpu share"
    prod = plan(resolve(loaded, "prod"))
    hard = one(prod, QUOTA, "data-compute-quota").inputs["spec"]["hard"]
    assert hard == {"requests.cpu": "64", "requests.memory": "256Gi"}, "data: prod override"
    # vision: the default share (8 vCPU / 32 GB) plus two g2-standard-96 (96 vCPU, 384 GB).
    hard = one(dev, QUOTA, "vision-compute-quota").inputs["spec"]["hard"]
    assert hard == {"requests.cpu": str(8 + 2 * 96), "requests.memory": f"{32 + 2 * 384}Gi"}, (
        "vision: GPU pods request CPU and memory too; the quota must hold its pools at max")


# ---- 7. The LimitRange never rejects or starves a GPU job ----------------------------------

def _admit(limit_range: dict[str, Any], container: dict[str, Any]) -> dict[str, Any]:
    """Kubernetes' LimitRanger for one container: defaults filled in, then the checks that
    reject it (request above limit, above max, below min). Returns the admitted resources;
    raises ValueError with the reason it would be rejected."""
    resources = {k: dict(v) for k, v in container.get("resources", {}).items()}
    for item in limit_range["spec"]["limits"]:
        if item["type"] != "Container":
            continue
        limits = resources.setdefault("limits", {})
        requests = resources.setdefault("requests", {})
        for name, value in item.get("default", {}).items():
            limits.setdefault(name, value)
        for name, value in item.get("defaultRequest", {}).items():
            requests.setdefault(name, limits.get(name, value))
        for name, value in limits.items():
            requests.setdefault(name, value)
        for name, request in requests.items():
            if name in limits and _qty(request) > _qty(limits[name]):
                raise ValueError(f"{name} request {request} is above its limit {limits[name]}")
    return resources


def _qty(text: str) -> float:
    units = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "m": 1e-3}
    for unit, factor in units.items():
        if str(text).endswith(unit):
            return float(str(text)[: -len(unit)]) * factor
    return float(text)


@pytest.mark.parametrize("team", ["recsys", "vision"])
def test_limit_range_admits_a_big_gpu_job_and_does_not_cap_an_unsized_one(plans, team):
    _, result = plans["org.yaml", "prod"]
    limit_range = one(result, LIMIT_RANGE, f"{team}-defaults").inputs
    big = {"resources": {"requests": {"memory": "200Gi", "cpu": "16",
                                      "nvidia.com/gpu": "1"}}}
    admitted = _admit(limit_range, big)
    assert admitted["requests"]["memory"] == "200Gi", f"{team}-defaults: 200Gi job admitted"
    assert "memory" not in admitted.get("limits", {}), (
        f"{team}-defaults: a default memory limit would cap the 200Gi job at the default")
    bare = _admit(limit_range, {})
    assert bare["requests"] == {"cpu": "500m", "memory": "1Gi"}, f"{team}-defaults: requests"
    assert not bare.get("limits"), (
        f"{team}-defaults: a container that sets nothing must not be killed at a default limit")


def test_limit_range_simulator_rejects_what_kubernetes_rejects():
    """The simulator above is held to the rule it checks: a default limit below a request."""
    old_style = {"spec": {"limits": [{"type": "Container", "default": {"memory": "1Gi"},
                                      "defaultRequest": {"memory": "1Gi"}}]}}
    with pytest.raises(ValueError, match="above its limit"):
        _admit(old_style, {"resources": {"requests": {"memory": "200Gi"}}})


def test_compute_quota_admits_a_pod_that_fills_the_largest_gpu_node(plans):
    spec, result = plans["org.yaml", "prod"]
    recsys = spec.teams["recsys"]
    hard = one(result, QUOTA, "recsys-compute-quota").inputs["spec"]["hard"]
    train = recsys.pools["train"].shape
    assert _qty(hard["requests.cpu"]) >= train.vcpus, "recsys: one full 8xH100 node's vCPUs"
    assert _qty(hard["requests.memory"]) >= train.memory_gb * 2**30, "recsys: and its memory"


# ---- 8. Provider: the quota project only where it is needed --------------------------------

def test_only_budgets_use_a_quota_project_provider(plans):
    _, result = plans["org.yaml", "dev"]
    providers = named(result, "pulumi:providers:gcp")
    assert "userProjectOverride" not in providers["gcp"].inputs, (
        "provider gcp: user_project_override bills every call (service enablement included) "
        "to a project whose APIs are not on yet")
    billing = providers["gcp-billing"]
    assert billing.inputs["userProjectOverride"] in (True, "true"), "gcp-billing: override"
    assert billing.inputs["billingProject"] == "acme-ml-dev"
    for r in result.resources:
        if r.provider and "::gcp-billing::" in r.provider:
            assert r.type in (BUDGET, "gcp:monitoring/notificationChannel:NotificationChannel"), (
                f"{r.type} {r.name}: only budgets need the quota-project provider")
    services = {s.inputs["service"] for s in result.of_type(SERVICE)}
    assert {"serviceusage.googleapis.com", "billingbudgets.googleapis.com"} <= services


# ---- 9. Customer-managed keys --------------------------------------------------------------

def test_production_encrypts_with_rotating_customer_managed_keys(plans):
    spec, result = plans["org.yaml", "prod"]
    keys = {r.inputs["name"]: r for r in result.of_type(KEY)}
    assert set(keys) == {"gke-secrets", "storage", "registry", "vertex"}
    for name, key in keys.items():
        assert key.inputs["rotationPeriod"] == ROTATION_PERIOD, f"key {name}: rotation"
        assert key.protect and key.retain_on_delete, f"key {name}: protected in production"
    key_id = {purpose: spec.kms_key_id(purpose) for purpose in keys}
    cluster = one(result, CLUSTER, "cluster-gke")
    assert cluster.inputs["databaseEncryption"] == {"state": "ENCRYPTED",
                                                    "keyName": key_id["gke-secrets"]}
    for bucket in result.of_type(BUCKET):
        assert bucket.inputs["encryption"]["defaultKmsKeyName"] == key_id["storage"], (
            f"bucket {bucket.name}: default key")
    for repo in result.of_type(REPO):
        assert repo.inputs["kmsKeyName"] == key_id["registry"], f"repository {repo.name}: key"
    assert key_id["vertex"] == (
        "projects/acme-ml-prod/locations/us-east4/keyRings/acme-prod/cryptoKeys/vertex")
    job = one(result, "gcp:cloudscheduler/job:Job", "recsys-nightly-train")
    body = json.loads(base64.b64decode(job.inputs["httpTarget"]["body"]))
    assert body["encryptionSpec"] == {"kmsKeyName": key_id["vertex"]}, (
        "recsys-nightly-train: scheduled runs must encrypt with the environment's Vertex key")


def test_each_key_is_usable_by_its_service_agent_before_anything_uses_it(plans):
    _, result = plans["org.yaml", "prod"]
    agents = {"gke-secrets": "container-engine-robot", "storage": "gs-project-accounts",
              "registry": "gcp-sa-artifactregistry", "vertex": "gcp-sa-aiplatform"}
    grants = {g.name: g for g in result.of_type(KEY_GRANT)}
    for purpose, domain in agents.items():
        grant = grants[f"keys-{purpose}-encrypter"]
        assert grant.inputs["role"] == "roles/cloudkms.cryptoKeyEncrypterDecrypter"
        assert re.fullmatch(rf"serviceAccount:service-\d+@{domain}\.iam\.gserviceaccount\.com",
                            grant.inputs["member"]), f"key {purpose}: {grant.inputs['member']}"
    by_urn = result.by_urn()

    def waits(urn: str, target: str) -> bool:
        seen, todo = set(), [urn]
        while todo:
            u = todo.pop()
            if u == target:
                return True
            if u not in seen and u in by_urn:
                seen.add(u)
                todo.extend(by_urn[u].dependencies)
        return False

    users = {"gke-secrets": [one(result, CLUSTER, "cluster-gke")],
             "storage": list(result.of_type(BUCKET)), "registry": list(result.of_type(REPO))}
    for purpose, resources in users.items():
        grant = grants[f"keys-{purpose}-encrypter"].urn
        for r in resources:
            assert waits(r.urn, grant), (
                f"{r.type} {r.name}: created before its service agent may use the {purpose} key")


def test_sandbox_opts_in_and_the_registry_rule_then_passes(plans):
    from stacks.report.check import run_check

    dev = run_check(plans["org.yaml", "dev"][1])
    assert [f for f in dev.findings if f.policy == "TRL-REG-003"], "dev: advisory without keys"
    prod = run_check(plans["org.yaml", "prod"][1])
    assert not [f for f in prod.findings if f.policy == "TRL-REG-003"], (
        "prod: TRL-REG-003 must pass once org.yaml turns customer-managed keys on")
    text = BUNDLED_GCP.read_text().replace(
        "  gke_security_group:", "  encryption: {customer_managed_keys: true}\n"
        "  gke_security_group:")
    opted = plan(resolve(_bundled_variant(text), "dev"))
    assert len(opted.of_type(KEY)) == 4, "sandbox: customer_managed_keys: true adds the keys"


# ---- 10. Maintenance window, exclusions and GPU upgrade settings ---------------------------

def test_production_has_a_maintenance_window_sandbox_does_not(plans):
    prod = one(plans["org.yaml", "prod"][1], CLUSTER, "cluster-gke").inputs
    window = prod["maintenancePolicy"]["recurringWindow"]
    assert window == {"startTime": "2025-01-11T00:00:00Z", "endTime": "2025-01-11T08:00:00Z",
                      "recurrence": "FREQ=WEEKLY;BYDAY=SA,SU"}, "prod cluster-gke: window"
    dev = one(plans["org.yaml", "dev"][1], CLUSTER, "cluster-gke").inputs
    assert "maintenancePolicy" not in dev, "dev cluster-gke: sandboxes upgrade any time"
    scopes = _discovery("container.v1")["schemas"]["MaintenanceExclusionOptions"]["properties"]
    assert "NO_MINOR_OR_NODE_UPGRADES" in scopes["scope"]["enum"]


def test_exclusions_from_org_yaml_reach_the_cluster(write_org):
    text = """\
version: 1
org: acme
cloud: gcp
region: us-central1
platform:
  gke_security_group: gke-security-groups@acme.com
  maintenance:
    window: "Mon,Wed,Fri 22:00-04:00"
    exclusions:
      launch: {start: 2026-11-20, end: 2026-12-02}
      freeze: {start: 2026-12-20, end: 2027-01-05, scope: no_upgrades}
environments:
  prod: {project: acme-ml-prod, tier: production}
"""
    cluster = one(plan(resolve(load(write_org(text)), "prod")), CLUSTER, "cluster-gke")
    policy = cluster.inputs["maintenancePolicy"]
    assert policy["recurringWindow"] == {"startTime": "2025-01-06T22:00:00Z",
                                         "endTime": "2025-01-07T04:00:00Z",
                                         "recurrence": "FREQ=WEEKLY;BYDAY=MO,WE,FR"}
    assert policy["maintenanceExclusions"] == [
        {"exclusionName": "freeze", "startTime": "2026-12-20T00:00:00Z",
         "endTime": "2027-01-05T23:59:59Z", "exclusionOptions": {"scope": "NO_UPGRADES"}},
        {"exclusionName": "launch", "startTime": "2026-11-20T00:00:00Z",
         "endTime": "2026-12-02T23:59:59Z",
         "exclusionOptions": {"scope": "NO_MINOR_OR_NODE_UPGRADES"}}]


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_gpu_pools_upgrade_without_a_spare_gpu_node(plans, env):
    spec, result = plans["org.yaml", env]
    for name, (_, pool) in _gpu_pools(spec, result).items():
        assert pool.inputs["upgradeSettings"] == {"strategy": "SURGE", "maxSurge": 0,
                                                  "maxUnavailable": 1}, (
            f"{env} {name}: a surge node needs a GPU machine the zone may not have")


# ---- 11. Cost leaks ------------------------------------------------------------------------

def test_registry_cleanup_deletes_old_tagged_versions_but_keeps_the_newest(plans):
    _, result = plans["org.yaml", "dev"]
    for repo in result.of_type(REPO):
        policies = {p["id"]: p for p in repo.inputs["cleanupPolicies"]}
        assert policies["keep-recent"]["mostRecentVersions"]["keepCount"] == 20, repo.name
        old = policies["delete-old"]
        assert (old["action"], old["condition"]["tagState"]) == ("DELETE", "ANY"), (
            f"repository {repo.name}: tagged images must not be kept forever")
        assert repo.inputs["cleanupPolicyDryRun"] is False, repo.name


def test_scratch_buckets_do_not_pay_for_soft_deleted_objects(plans):
    spec, result = plans["org.yaml", "dev"]
    for team in spec.teams.values():
        for b in team.buckets.values():
            res = one(result, BUCKET, f"{team.name}-{b.purpose}")
            seconds = res.inputs["softDeletePolicy"]["retentionDurationSeconds"]
            expected = 0 if b.delete_after_days else 7 * 24 * 3600
            assert seconds == expected, (
                f"bucket {res.name}: soft delete {seconds}s; scratch buckets (objects expire) "
                "turn it off, others keep the 7-day default")


def test_budgets_are_in_the_billing_accounts_currency():
    text = BUNDLED_GCP.read_text().replace(
        "  billing_account: 01ABCD-23EF45-6789AB",
        "  billing_account: 01ABCD-23EF45-6789AB\n  budget_currency: EUR")
    result = plan(resolve(_bundled_variant(text), "dev"))
    for budget in result.of_type(BUDGET):
        money = budget.inputs["amount"]["specifiedAmount"]
        assert money["currencyCode"] == "EUR", f"budget {budget.name}: currency"
    schema = _discovery("billingbudgets.v1")["schemas"]["GoogleTypeMoney"]["properties"]
    assert "currencyCode" in schema


# ---- 12. Node service accounts -------------------------------------------------------------

@pytest.mark.parametrize("env", ["dev", "prod"])
def test_node_service_accounts_get_the_default_node_role_only(plans, env):
    spec, result = plans["org.yaml", env]
    node_sas = {a.inputs["accountId"] for a in result.of_type(ACCOUNT)
                if a.name.endswith("-node")}
    assert len(node_sas) == 2 + sum(len(t.pools) for t in spec.teams.values())
    for grant in result.of_type(PROJECT_IAM):
        account = grant.inputs["member"].removeprefix("serviceAccount:").split("@")[0]
        if account in node_sas:
            assert grant.inputs["role"] == "roles/container.defaultNodeServiceAccount", (
                f"{grant.name}: node service accounts get roles/container."
                "defaultNodeServiceAccount and nothing else on the project")
