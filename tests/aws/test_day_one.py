"""Issue 18 on the plan: a fresh account's `pulumi up` finishes, in order, and a changed
org.yaml applies. Deployer access, zones by ID, dependency edges for create and destroy, hop
limit 1, the Kubernetes version, scaling changes, account-wide settings, CPU work."""

from __future__ import annotations

from pathlib import Path

import pytest

from components import catalog
from stacks.compose.aws import DeployerNotAdmin, build_aws
from stacks.org.errors import OrgError
from stacks.org.load import load
from stacks.org.resolve import resolve
from stacks.plan import engine
from stacks.plan.engine import Plan, plan, run_program
from stacks.plan.mocks import aws as mocks_aws
from tests.plan_queries import one

REPO = Path(__file__).resolve().parents[2]
MINIMAL = REPO / "examples" / "aws-minimal.yaml"
NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"


@pytest.fixture(scope="module")
def minimal_env():
    return resolve(load(MINIMAL), "dev")


@pytest.fixture(scope="module")
def minimal_plan(minimal_env):
    return plan(minimal_env)


def _with(tmp_path: Path, text: str, old: str, new: str, env: str = "dev"):
    assert old in text, old
    path = tmp_path / "org.yaml"
    path.write_text(text.replace(old, new, 1))
    return resolve(load(path), env)


# ---- 1. admins and the deployer -------------------------------------------------------------

def test_minimal_org_without_admins_plans_with_the_deployers_access_entry(minimal_plan):
    entry = one(minimal_plan, "aws:eks/accessEntry:AccessEntry", "cluster-access-deployer")
    assert entry.inputs["principalArn"] == \
        f"arn:aws:iam::111111111111:role/{mocks_aws.OFFLINE_DEPLOYER_ROLE}", \
        "no admins: the deployer's role (issuer of its session) gets an access entry"
    admin = one(minimal_plan, "aws:eks/accessPolicyAssociation:AccessPolicyAssociation",
                "cluster-access-deployer-admin")
    assert admin.inputs["policyArn"].endswith("/AmazonEKSClusterAdminPolicy")
    [k8s] = minimal_plan.of_type("pulumi:providers:kubernetes")
    assert admin.urn in k8s.dependencies, \
        "the in-cluster provider waits until the deployer may use the API"


def test_listed_admins_get_entries_and_the_deployer_none_of_its_own(dev_plan):
    names = {r.name for r in dev_plan.of_type("aws:eks/accessEntry:AccessEntry")}
    assert "cluster-access-deployer" not in names, \
        "with admins listed, the deployer is one of them: no extra entry"
    assert "cluster-access-111111111111-ml-platform-admin" in names
    assert not any("222222222222" in n for n in names), \
        "environments.dev.admins replaces platform.admins: the prod admin is not a dev admin"


def test_a_deployer_who_is_not_an_admin_is_stopped_before_anything_is_created(
        dev_env, monkeypatch):
    stranger = "arn:aws:sts::111111111111:assumed-role/intern/laptop"
    monkeypatch.setitem(mocks_aws.INVOKES, "aws:index/getCallerIdentity:getCallerIdentity",
                        lambda env, args: {"accountId": "111111111111", "arn": stranger,
                                           "userId": "AROAX", "id": "111111111111"})
    caught: list[Exception] = []

    def program() -> None:
        try:
            build_aws(dev_env)
        except DeployerNotAdmin as exc:
            caught.append(exc)

    result = run_program(dev_env, program)
    assert caught, "pulumi up as a non-admin must stop with DeployerNotAdmin"
    message = str(caught[0])
    assert "arn:aws:iam::111111111111:role/intern" in message and \
        "environments.dev.admins" in message, message
    made = {r.type for r in result.resources}
    assert made <= {"pulumi:providers:aws"}, \
        f"nothing but the provider may be registered before the check; got {sorted(made)}"


def test_an_admin_with_a_path_matches_its_session(prod_env, prod_plan):
    """prod's admin is an SSO role with a path; its session ARN has none. They match."""
    names = {r.name for r in prod_plan.of_type("aws:eks/accessEntry:AccessEntry")}
    assert "cluster-access-deployer" not in names
    [admin] = prod_env.platform.admins
    assert "/aws-reserved/sso.amazonaws.com/" in admin
    entries = [r.inputs["principalArn"] for r in
               prod_plan.of_type("aws:eks/accessEntry:AccessEntry")]
    assert admin in entries, "the access entry takes the role ARN with its path (EKS docs)"


# ---- 2. reachability --------------------------------------------------------------------------

def test_aws_cluster_endpoint_reachable_from_admin_cidrs_and_private(minimal_plan):
    eks = one(minimal_plan, "aws:eks/cluster:Cluster", "cluster")
    vpc = eks.inputs["vpcConfig"]
    assert vpc["endpointPublicAccess"] is True and vpc["publicAccessCidrs"] == ["203.0.113.7/32"]
    assert vpc["endpointPrivateAccess"] is True, "nodes use the private endpoint"


# ---- 3. zones ---------------------------------------------------------------------------------

#: The network's zones per region. Moving one replaces subnets and the cluster: a catalogue
#: refresh that changes this table needs a decision (docs/adr/0015-aws-zones-by-id.md).
PINNED_ZONES = {
    "us-east-1": ("use1-az1", "use1-az2", "use1-az4"),
    "us-west-1": ("usw1-az1", "usw1-az3"),
    "us-west-2": ("usw2-az1", "usw2-az2", "usw2-az3"),
    "ca-central-1": ("cac1-az1", "cac1-az2", "cac1-az4"),
    "eu-west-1": ("euw1-az1", "euw1-az2", "euw1-az3"),
    "af-south-1": ("afs1-az2", "afs1-az3"),
    "sa-east-1": (),  # no zone rows: picked at deploy time
}


@pytest.mark.parametrize(("region", "zones"), PINNED_ZONES.items())
def test_network_zones_per_region_are_pinned(region, zones):
    assert catalog.eks_cluster_zone_ids(region) == zones


@pytest.mark.parametrize("region", sorted(catalog.regions("aws")))
def test_network_zones_avoid_eks_refused_ids_and_place_every_shape(region):
    zones = catalog.eks_cluster_zone_ids(region)
    assert not set(zones) & catalog.eks_excluded_zone_ids(region), \
        f"{region}: EKS refuses cluster subnets in {catalog.eks_excluded_zone_ids(region)}"
    assert len(zones) in (0, 2, 3)
    for shape in catalog.all_shapes("aws"):
        offered = catalog.zones("aws", shape.machine_type, region)
        if offered and zones:
            assert set(offered) & set(zones), \
                f"{region}: {shape.machine_type} is offered in {offered}, none of {zones}"


def test_gpu_node_groups_only_in_subnets_of_zones_that_offer_them(tmp_path):
    text = MINIMAL.read_text()
    env = _with(tmp_path, text, "train: {accelerator: l4, max_nodes: 2}",
                "train: {accelerator: l4, max_nodes: 2, zones: [use1-az2]}")
    p = plan(env)
    subnets = {r.outputs["id"]: r.inputs["availabilityZoneId"]
               for r in p.of_type("aws:ec2/subnet:Subnet") if "-private-" in r.name}
    group = one(p, NODE_GROUP, "ml-train")
    assert [subnets[s] for s in group.inputs["subnetIds"]] == ["use1-az2"], \
        "node group ml-train: zones: [use1-az2] puts its nodes in use1-az2's subnet only"
    assert p.outputs["teams"]["ml"]["gpu_pools"]["train"]["zones"] == ["use1-az2"]


@pytest.mark.parametrize(("pool", "words"), [
    ("accelerator: l4, zones: [us-east-1b]", "'us-east-1b' is a zone name"),
    # p5.48xlarge is offered in use1-az3, where EKS refuses the cluster's subnets
    ("accelerator: h100-80gb, gpus_per_node: 8, zones: [use1-az3]",
     "EKS refuses cluster subnets in use1-az3"),
    ("accelerator: l4, zones: [usw2-az1]", "is not an availability-zone ID of us-east-1"),
    ("accelerator: l4, zones: [use1-az3]", "use1-az3 does not offer g6.2xlarge"),
])
def test_impossible_placements_are_located_errors(tmp_path, pool, words):
    text = MINIMAL.read_text().replace("train: {accelerator: l4, max_nodes: 2}",
                                       f"train: {{{pool}}}")
    (tmp_path / "org.yaml").write_text(text)
    with pytest.raises(OrgError) as info:
        load(tmp_path / "org.yaml")
    msgs = [str(i) for i in info.value.issues]
    assert any(words in m and "teams.ml.gpu_pools.train.zones[0]" in m for m in msgs), msgs


# ---- 5. the Kubernetes version -------------------------------------------------------------

def test_version_from_org_yaml_reaches_cluster_addons_and_autoscaler(prod_env, prod_plan):
    assert prod_env.kubernetes_version == "1.35", "examples/aws.yaml pins prod to 1.35"
    eks = one(prod_plan, "aws:eks/cluster:Cluster", "cluster")
    assert eks.inputs["version"] == "1.35"
    [release] = prod_plan.of_type("kubernetes:helm.sh/v3:Release")
    assert release.inputs["values"]["image"]["tag"] == \
        catalog.eks_version("1.35").autoscaler_image_tag, \
        "cluster-autoscaler image on the cluster's minor version"
    proxy = one(prod_plan, "aws:eks/addon:Addon", "cluster-kube-proxy")
    assert proxy.inputs["addonVersion"].startswith("v1.35."), \
        "add-on versions are looked up for the cluster's version"


def test_default_version_is_the_newest_in_standard_support(minimal_plan):
    eks = one(minimal_plan, "aws:eks/cluster:Cluster", "cluster")
    row = catalog.eks_version(eks.inputs["version"])
    assert row is not None and row.standard_on(catalog.EKS_VERSIONS_DATE), \
        f"default {eks.inputs['version']} must be in EKS standard support on " \
        f"{catalog.EKS_VERSIONS_DATE}"
    assert eks.inputs["version"] == catalog.eks_standard_versions()[0]


# ---- 6. order of create and destroy ----------------------------------------------------------

def _waits_for(p: Plan) -> dict[str, set[str]]:
    """URN -> every URN it waits for, transitively, its provider included (Pulumi destroys
    in the reverse order)."""
    direct = {r.urn: set(r.dependencies) | {u for us in r.property_dependencies.values()
                                             for u in us}
              | ({r.provider.rsplit("::", 1)[0]} if r.provider else set())
              for r in p.resources}
    memo: dict[str, set[str]] = {}

    def up(urn: str) -> set[str]:
        if urn not in memo:
            memo[urn] = set()
            for d in direct.get(urn, ()):
                memo[urn] |= {d} | up(d)
        return memo[urn]

    return {u: up(u) for u in direct}


@pytest.fixture(scope="module", params=["dev", "prod"])
def env_plan(request, dev_plan, prod_plan):
    return {"dev": dev_plan, "prod": prod_plan}[request.param]


def test_node_groups_are_created_after_and_destroyed_before_their_prerequisites(env_plan):
    waits = _waits_for(env_plan)
    addons = {r.inputs["addonName"]: r.urn for r in env_plan.of_type("aws:eks/addon:Addon")}
    for group in env_plan.of_type(NODE_GROUP):
        parent_prefix = group.urn.rsplit("::", 1)[0].rsplit("$", 1)[0]
        role = group.inputs["nodeRoleArn"].rsplit("/", 1)[-1]
        mine = [a.urn for a in env_plan.of_type(ATTACHMENT)
                if a.inputs["role"] == role and a.urn.startswith(parent_prefix)]
        assert len(mine) == 3, f"node group {group.name}: its role has the three node policies"
        for urn in mine:
            assert urn in group.dependencies, (
                f"node group {group.name} must depend on {urn.rsplit('::', 1)[1]}: nodes "
                "boot with their policies, and destroy detaches them only after the group "
                "(and its ENIs) are gone")
        for addon in ("vpc-cni", "kube-proxy", "eks-pod-identity-agent"):
            assert addons[addon] in waits[group.urn], \
                f"node group {group.name}: nodes need the {addon} add-on before they join"


def test_cluster_waits_for_its_role_policies(env_plan):
    eks = one(env_plan, "aws:eks/cluster:Cluster", "cluster")
    needed = {r.urn for r in env_plan.resources
              if r.name in ("cluster-role-cluster", "cluster-role-kms")}
    assert len(needed) == 2 and needed <= set(eks.dependencies), \
        "cluster: AmazonEKSClusterPolicy and the KMS policy first, detached last"


def test_autoscaler_release_waits_for_system_nodes_and_coredns(env_plan):
    waits = _waits_for(env_plan)
    [release] = env_plan.of_type("kubernetes:helm.sh/v3:Release")
    system = one(env_plan, NODE_GROUP, "cluster-system").urn
    coredns = one(env_plan, "aws:eks/addon:Addon", "cluster-coredns").urn
    assert {system, coredns} <= waits[release.urn], \
        "cluster-autoscaler: installed once the system nodes and CoreDNS run (else its " \
        "first install times out); on destroy it goes before them"
    assert release.inputs["values"]["nodeSelector"] == {"trellis.dev/pool": "system"}
    assert {"key": "CriticalAddonsOnly", "operator": "Exists", "effect": "NoSchedule"} in \
        release.inputs["values"]["tolerations"]


def test_namespaces_are_deleted_before_the_cluster(env_plan):
    waits = _waits_for(env_plan)
    eks = one(env_plan, "aws:eks/cluster:Cluster", "cluster").urn
    for ns in env_plan.of_type("kubernetes:core/v1:Namespace"):
        assert eks in waits[ns.urn], f"namespace {ns.name} must go before the cluster"


# ---- 7, 8: scaling changes, node credentials --------------------------------------------------

def test_every_launch_template_has_hop_limit_1_and_encrypted_volumes(env_plan):
    templates = env_plan.of_type("aws:ec2/launchTemplate:LaunchTemplate")
    assert len(templates) >= 3
    for lt in templates:
        meta = lt.inputs["metadataOptions"]
        assert meta["httpTokens"] == "required" and meta["httpPutResponseHopLimit"] == 1, \
            f"launch template {lt.name}: IMDSv2 with hop limit 1 (pods use Pod Identity)"
        for bdm in lt.inputs["blockDeviceMappings"]:
            assert bdm["ebs"]["encrypted"] == "true", \
                f"launch template {lt.name}: {bdm['deviceName']} must be encrypted"


def test_a_raised_min_nodes_applies_to_a_running_group(prod_env, monkeypatch):
    """prod raises serve's min_nodes to 1; EKS runs it at 0 today."""
    monkeypatch.setitem(mocks_aws.INVOKES, "aws:eks/getNodeGroup:getNodeGroup",
                        lambda env, args: {"scalingConfigs": [
                            {"desiredSize": 0, "minSize": 0, "maxSize": 4}],
                            "id": "x"})
    group = one(plan(prod_env), NODE_GROUP, "recsys-serve")
    assert group.inputs["scalingConfig"] == {"minSize": 1, "maxSize": 8, "desiredSize": 1}
    assert group.ignore_changes == [], \
        "node group recsys-serve: desiredSize must be sent when min_nodes rises above it"


def test_pod_identity_trust_is_bound_to_account_cluster_and_service_account(dev_env, dev_plan):
    import json

    roles = {r.inputs["name"]: r for r in dev_plan.of_type("aws:iam/role:Role")}
    cluster_arn = f"arn:aws:eks:us-east-1:111111111111:cluster/{dev_env.platform.cluster_name}"
    for team in dev_env.teams.values():
        trust = json.loads(roles[team.names.workload_identity].inputs["assumeRolePolicy"])
        cond = trust["Statement"][0]["Condition"]["StringEquals"]
        assert cond == {"aws:SourceAccount": "111111111111",
                        "aws:RequestTag/eks-cluster-arn": cluster_arn,
                        "aws:RequestTag/kubernetes-namespace": team.name,
                        "aws:RequestTag/kubernetes-service-account": team.name}, \
            f"workload role of {team.name}: only its own service account on this cluster"


# ---- 9. account-wide settings -------------------------------------------------------------------

def test_registry_scanning_only_when_org_yaml_says_so(tmp_path, minimal_plan):
    scanning = "aws:ecr/registryScanningConfiguration:RegistryScanningConfiguration"
    assert not minimal_plan.of_type(scanning), "unset: the account's scanning is left alone"
    env = _with(tmp_path, MINIMAL.read_text(), "admin_cidrs: [203.0.113.7/32]",
                "admin_cidrs: [203.0.113.7/32]\n  registry_scanning: enhanced")
    [config] = plan(env).of_type(scanning)
    assert config.inputs["scanType"] == "ENHANCED"


# ---- CPU work ---------------------------------------------------------------------------------

def test_team_cpu_pods_land_on_general_nodes_not_system_ones(dev_env, dev_plan):
    general = one(dev_plan, NODE_GROUP, "general")
    assert "taints" not in general.inputs, "general nodes take pods with no tolerations"
    assert general.inputs["amiType"] == "BOTTLEROCKET_x86_64"
    assert general.inputs["scalingConfig"]["minSize"] == 0, "sandbox: scales to zero"
    assert general.inputs["scalingConfig"]["maxSize"] == dev_env.platform.general_max_nodes
    system = one(dev_plan, NODE_GROUP, "cluster-system")
    assert system.inputs["taints"][0]["key"] == "CriticalAddonsOnly"
    quotas = {(r.inputs["metadata"]["namespace"], r.inputs["metadata"]["name"]):
              r.inputs["spec"]["hard"]
              for r in dev_plan.of_type("kubernetes:core/v1:ResourceQuota")}
    recsys = dev_env.teams["recsys"]
    assert quotas["recsys", "compute"]["requests.cpu"] == str(recsys.quota_vcpus)
    gpu_cpus = sum(p.max_nodes * p.shape.vcpus for p in recsys.pools.values())
    assert recsys.quota_vcpus == 32 + gpu_cpus, \
        "recsys: CPU quota = its cpu.vcpus + what its GPU pools hold at max (a GPU pod " \
        "requests CPUs too)"


def test_engine_module_is_the_one_tests_patch():
    # The invokes are answered through stacks.plan.mocks.aws.INVOKES (patched above).
    assert engine.mock_call.__module__ == "stacks.plan.mocks.answers"
