"""Each AWS component under the recording mocks: what it creates, with inventory-style checks."""

from __future__ import annotations

import json

import pytest

from components import common
from components.aws import (
    Bucket,
    Budget,
    Cluster,
    EnvironmentKey,
    GpuNodeGroup,
    Network,
    Pipeline,
    RegistrySettings,
    TeamIdentity,
    TeamRegistry,
    _iam,
)
from components.aws.network import carve
from components.aws.pipeline import canonical_definition, parameter_value, parse_s3_uri
from components.aws.registry import lifecycle_policy
from stacks.plan.engine import PlanError

from .helpers import as_list, named, one, statements

KEY = "arn:aws:kms:us-east-1:111111111111:key/mrk-1"
CLUSTER = "acme-dev"


def count(plan, type_):
    return len(plan.of_type(type_))


# ---- EnvironmentKey ------------------------------------------------------------------------

@pytest.mark.parametrize("production", [False, True])
def test_environment_key_rotates_and_is_protected_in_production(run, production):
    plan = run(lambda: EnvironmentKey("key", {"alias": "alias/acme-dev",
                                              "production": production}))
    key = one(plan, "aws:kms/key:Key", "key")
    assert key.inputs["enableKeyRotation"] is True, "kms key 'key': rotation must be on"
    assert key.protect is production, f"kms key 'key': protect must be {production}"
    assert key.retain_on_delete is production, "kms key 'key': retained only in production"
    assert key.inputs["deletionWindowInDays"] == (30 if production else 7)
    alias = one(plan, "aws:kms/alias:Alias", "key-alias")
    assert alias.inputs["name"] == "alias/acme-dev"
    assert alias.inputs["targetKeyId"] == key.outputs["keyId"]


# ---- Network -------------------------------------------------------------------------------

def test_carve_gives_private_quarters_and_small_public_subnets():
    private, public = carve("10.20.0.0/16", 3)
    assert private == ["10.20.0.0/18", "10.20.64.0/18", "10.20.128.0/18"]
    assert public == ["10.20.192.0/20", "10.20.208.0/20", "10.20.224.0/20"]
    assert carve("10.0.0.0/20", 2) == (["10.0.0.0/22", "10.0.4.0/22"],
                                       ["10.0.12.0/24", "10.0.13.0/24"])
    with pytest.raises(ValueError, match="2 or 3"):
        carve("10.0.0.0/16", 4)


@pytest.mark.parametrize(("per_az", "nats"), [(False, 1), (True, 3)])
def test_network_subnets_nat_and_s3_endpoint(run, per_az, nats):
    plan = run(lambda: Network("network", {"name": "acme-dev", "cidr": "10.20.0.0/16",
                                           "nat_gateway_per_az": per_az,
                                           "availability_zone_ids": ZONES,
                                           "cluster_name": CLUSTER}))
    assert count(plan, "aws:ec2/vpc:Vpc") == 1
    vpc = one(plan, "aws:ec2/vpc:Vpc", "network")
    assert vpc.inputs["enableDnsHostnames"] and vpc.inputs["enableDnsSupport"], \
        "vpc 'network': DNS hostnames/support are needed for the private EKS endpoint"
    subnets = named(plan, "aws:ec2/subnet:Subnet")
    private = {n: s for n, s in subnets.items() if "-private-" in n}
    public = {n: s for n, s in subnets.items() if "-public-" in n}
    assert len(private) == 3 and len(public) == 3, sorted(subnets)
    assert [private[f"network-private-{x}"].inputs["availabilityZoneId"] for x in "abc"] == \
        ZONES, "private subnets go in the given zone IDs, in order (a, b, c)"
    assert [public[f"network-public-{x}"].inputs["availabilityZoneId"] for x in "abc"] == ZONES
    assert not any("availabilityZone" in s.inputs for s in subnets.values()), \
        "subnets are placed by zone ID, never by the per-account zone name"
    for n, s in private.items():
        assert s.inputs["tags"].get("kubernetes.io/role/internal-elb") == "1", \
            f"subnet {n}: private subnets carry kubernetes.io/role/internal-elb=1"
        assert s.inputs["tags"].get(f"kubernetes.io/cluster/{CLUSTER}") == "shared"
    for n, s in public.items():
        assert s.inputs["tags"].get("kubernetes.io/role/elb") == "1", \
            f"subnet {n}: public subnets carry kubernetes.io/role/elb=1"
        assert not s.inputs.get("mapPublicIpOnLaunch"), f"subnet {n}: no public IPs on launch"
    assert count(plan, "aws:ec2/natGateway:NatGateway") == nats, "NAT gateways per tier"
    assert count(plan, "aws:ec2/eip:Eip") == nats
    assert count(plan, "aws:ec2/internetGateway:InternetGateway") == 1
    routes = named(plan, "aws:ec2/route:Route")
    nat_ids = {r.inputs["natGatewayId"] for n, r in routes.items() if "-private-" in n}
    assert len(nat_ids) == nats, "each private route table routes to its AZ's NAT (or the one)"
    endpoint = one(plan, "aws:ec2/vpcEndpoint:VpcEndpoint", "network-s3")
    assert endpoint.inputs["vpcEndpointType"] == "Gateway"
    assert endpoint.inputs["serviceName"] == "com.amazonaws.us-east-1.s3"
    assert len(endpoint.inputs["routeTableIds"]) == 3, "S3 endpoint on every private table"
    sg = one(plan, "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup", "network-default-sg")
    assert not sg.inputs.get("ingress") and not sg.inputs.get("egress"), \
        "default security group must have no rules"


ZONES = ["use1-az1", "use1-az2", "use1-az4"]


def test_network_picks_zone_ids_at_deploy_time_without_the_ones_eks_refuses(run):
    plan = run(lambda: Network("network", {"name": "acme-dev", "availability_zone_count": 3,
                                           "excluded_zone_ids": ["use1-az3"]}))
    zones = sorted(s.inputs["availabilityZoneId"]
                   for s in plan.of_type("aws:ec2/subnet:Subnet") if "-private-" in s.name)
    assert zones == ["use1-az1", "use1-az2", "use1-az4"], \
        "network: the lowest zone IDs of the region, use1-az3 (EKS refuses it) left out"


# ---- Cluster -------------------------------------------------------------------------------

ADMIN = "arn:aws:iam::111111111111:role/admin"
MEMBER = "arn:aws:iam::111111111111:role/ml/lee"


def _cluster(admin_cidrs=(), production=False):
    return lambda: Cluster("cluster", {
        "name": CLUSTER, "subnet_ids": ["subnet-a", "subnet-b", "subnet-c"],
        "kms_key_arn": KEY, "admin_cidrs": list(admin_cidrs),
        "access": {ADMIN: {"cluster_admin": True, "namespaces": ["recsys"]},
                   MEMBER: {"namespaces": ["vision", "research"]}},
        "role_name": "acme-dev-eks-cluster", "autoscaler_role_name": "acme-dev-ca",
        "system_node_group": {"node_group_name": "system", "node_role_name": "acme-dev-sys",
                              "launch_template_name": "acme-dev-sys", "min_nodes": 1,
                              "max_nodes": 3},
        "production": production})


@pytest.fixture(scope="module")
def cluster_plan(run):
    return run(_cluster())


def test_cluster_control_plane(cluster_plan):
    eks = one(cluster_plan, "aws:eks/cluster:Cluster", "cluster")
    i = eks.inputs
    assert i["accessConfig"]["authenticationMode"] == "API", "cluster: API authentication mode"
    assert i["encryptionConfig"] == {"provider": {"keyArn": KEY}, "resources": ["secrets"]}, \
        "cluster: secrets must be envelope-encrypted with the environment key"
    assert set(i["enabledClusterLogTypes"]) == {"api", "audit", "authenticator",
                                                "controllerManager", "scheduler"}
    assert i["vpcConfig"]["endpointPrivateAccess"] is True
    assert i["vpcConfig"]["endpointPublicAccess"] is False, \
        "cluster: public endpoint must be off without admin_cidrs"
    assert "publicAccessCidrs" not in i["vpcConfig"]
    assert i["upgradePolicy"] == {"supportType": "STANDARD"}
    assert eks.protect is False and i["deletionProtection"] is False
    log = one(cluster_plan, "aws:cloudwatch/logGroup:LogGroup", "cluster-logs")
    assert log.inputs["name"] == f"/aws/eks/{CLUSTER}/cluster"
    assert log.urn in eks.dependencies, "cluster: log group must exist before the cluster"


def test_cluster_public_endpoint_only_for_admin_cidrs_and_protected_in_production(run):
    plan = run(_cluster(admin_cidrs=["203.0.113.0/24"], production=True))
    eks = one(plan, "aws:eks/cluster:Cluster", "cluster")
    assert eks.inputs["vpcConfig"]["endpointPublicAccess"] is True
    assert eks.inputs["vpcConfig"]["publicAccessCidrs"] == ["203.0.113.0/24"]
    assert eks.protect is True, "cluster: production clusters are protected"
    assert eks.inputs["deletionProtection"] is True


def test_cluster_access_entries_one_per_principal(cluster_plan):
    entries = named(cluster_plan, "aws:eks/accessEntry:AccessEntry")
    assert sorted(e.inputs["principalArn"] for e in entries.values()) == sorted([ADMIN, MEMBER])
    assocs = named(cluster_plan, "aws:eks/accessPolicyAssociation:AccessPolicyAssociation")
    by = {(a.inputs["principalArn"], a.inputs["policyArn"].rsplit("/", 1)[1]): a
          for a in assocs.values()}
    assert set(by) == {(ADMIN, "AmazonEKSClusterAdminPolicy"), (ADMIN, "AmazonEKSEditPolicy"),
                       (MEMBER, "AmazonEKSEditPolicy")}
    assert by[(ADMIN, "AmazonEKSClusterAdminPolicy")].inputs["accessScope"] == {"type": "cluster"}
    assert by[(MEMBER, "AmazonEKSEditPolicy")].inputs["accessScope"] == {
        "type": "namespace", "namespaces": ["research", "vision"]}, \
        "a member of two teams gets one Edit association listing both namespaces"
    assert "cluster-access-111111111111-ml-lee" in entries


def test_cluster_addons_and_system_nodes(cluster_plan):
    addons = {a.inputs["addonName"]: a for a in cluster_plan.of_type("aws:eks/addon:Addon")}
    assert set(addons) == {"vpc-cni", "coredns", "kube-proxy", "eks-pod-identity-agent"}
    system = one(cluster_plan, "aws:eks/nodeGroup:NodeGroup", "cluster-system")
    assert system.urn in addons["coredns"].dependencies, "coredns needs the system nodes"
    assert addons["vpc-cni"].urn in system.dependencies, "nodes need the VPC CNI first"
    assert system.inputs["instanceTypes"] == ["m7i.xlarge"]
    assert system.inputs["capacityType"] == "ON_DEMAND"
    assert system.inputs["scalingConfig"] == {"minSize": 1, "maxSize": 3, "desiredSize": 1}
    assert system.inputs["taints"] == [
        {"key": "CriticalAddonsOnly", "value": "true", "effect": "NO_SCHEDULE"}], \
        "system nodes run add-ons only: team pods go to the general nodes"
    for name, addon in addons.items():
        assert addon.inputs["addonVersion"].startswith("v"), \
            f"add-on {name}: version resolved for the cluster version, not left to a default"
    assert addons["kube-proxy"].inputs["addonVersion"].startswith(
        f"v{one(cluster_plan, 'aws:eks/cluster:Cluster', 'cluster').inputs['version']}."), \
        "kube-proxy follows the cluster's minor version"
    lt = one(cluster_plan, "aws:ec2/launchTemplate:LaunchTemplate", "cluster-system")
    assert lt.inputs["metadataOptions"]["httpTokens"] == "required"
    assert lt.inputs["metadataOptions"]["httpPutResponseHopLimit"] == 1, \
        "system nodes: hop limit 1, pods never reach the node role"
    pia = one(cluster_plan, "aws:eks/podIdentityAssociation:PodIdentityAssociation",
              "cluster-autoscaler")
    assert (pia.inputs["namespace"], pia.inputs["serviceAccount"]) == (
        "kube-system", "cluster-autoscaler")
    policy = one(cluster_plan, "aws:iam/rolePolicy:RolePolicy", "cluster-autoscaler-policy")
    scale = next(s for s in statements(policy) if s["Sid"] == "ScaleOwnedGroups")
    assert scale["Condition"]["StringEquals"] == {
        f"aws:ResourceTag/k8s.io/cluster-autoscaler/{CLUSTER}": "owned"}, \
        "autoscaler may only scale groups tagged as owned by this cluster"


# ---- GpuNodeGroup --------------------------------------------------------------------------

def _pool(spot=False, min_nodes=0):
    return lambda: GpuNodeGroup("recsys-train", {
        "cluster_name": CLUSTER, "team": "recsys", "pool": "train",
        "node_group_name": "recsys-train", "node_role_name": "acme-dev-recsys-train-node",
        "launch_template_name": "acme-dev-recsys-train-node", "subnet_ids": ["subnet-a"],
        "instance_type": "p5.48xlarge", "accelerator": "h100-80gb", "gpus_per_node": 8,
        "min_nodes": min_nodes, "max_nodes": 2, "spot": spot, "disk_size_gb": 500,
        "tags": {"team": "recsys"}})


@pytest.fixture(scope="module")
def pool_plan(run):
    return run(_pool())


def test_gpu_node_group_shape(pool_plan):
    ng = one(pool_plan, "aws:eks/nodeGroup:NodeGroup", "recsys-train")
    i = ng.inputs
    assert i["amiType"] == "BOTTLEROCKET_x86_64_NVIDIA", \
        "node group recsys-train: Bottlerocket NVIDIA ships the device plugin"
    assert i["instanceTypes"] == ["p5.48xlarge"]
    assert i["capacityType"] == "ON_DEMAND"
    assert i["scalingConfig"] == {"minSize": 0, "maxSize": 2, "desiredSize": 0}
    assert ng.ignore_changes == ["scalingConfig.desiredSize"], \
        "node group recsys-train: the autoscaler owns the desired size"
    assert {"key": "nvidia.com/gpu", "value": "present", "effect": "NO_SCHEDULE"} in i["taints"]
    assert {"key": "trellis.dev/team", "value": "recsys", "effect": "NO_SCHEDULE"} in i["taints"]
    assert i["labels"]["trellis.dev/team"] == "recsys"
    assert i["labels"]["trellis.dev/pool"] == "train"
    assert "remoteAccess" not in i and "diskSize" not in i, "no SSH; disk via launch template"


def test_gpu_node_group_spot(run):
    ng = one(run(_pool(spot=True)), "aws:eks/nodeGroup:NodeGroup", "recsys-train")
    assert ng.inputs["capacityType"] == "SPOT"


def test_gpu_launch_template_imdsv2_and_encrypted_data_volume(pool_plan):
    lt = one(pool_plan, "aws:ec2/launchTemplate:LaunchTemplate", "recsys-train")
    meta = lt.inputs["metadataOptions"]
    assert meta["httpTokens"] == "required", "launch template recsys-train: IMDSv2 required"
    assert meta["httpPutResponseHopLimit"] == 1, \
        "launch template recsys-train: hop limit 1 keeps the node role away from pods"
    os_volume, data = lt.inputs["blockDeviceMappings"]
    assert data["deviceName"] == "/dev/xvdb", "Bottlerocket keeps images on /dev/xvdb"
    assert data["ebs"] == {"volumeSize": 500, "volumeType": "gp3", "encrypted": "true",
                           "deleteOnTermination": "true"}
    assert os_volume["deviceName"] == "/dev/xvda" and os_volume["ebs"]["encrypted"] == "true", \
        "launch template recsys-train: the Bottlerocket OS volume is encrypted too"
    assert "volumeSize" not in os_volume["ebs"], "the OS volume keeps the AMI's size"
    kinds = {t["resourceType"]: t["tags"] for t in lt.inputs["tagSpecifications"]}
    assert kinds["instance"]["team"] == "recsys", "GPU instances carry the team cost tag"
    assert "keyName" not in lt.inputs and "imageId" not in lt.inputs


def test_gpu_node_role_has_exactly_the_node_policies(pool_plan):
    attachments = pool_plan.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
    assert sorted(a.inputs["policyArn"].rsplit("/", 1)[1] for a in attachments) == [
        "AmazonEC2ContainerRegistryPullOnly", "AmazonEKSWorkerNodePolicy",
        "AmazonEKS_CNI_Policy"]
    role = one(pool_plan, "aws:iam/role:Role", "recsys-train-node")
    trust = json.loads(role.inputs["assumeRolePolicy"])
    assert trust["Statement"][0]["Principal"] == {"Service": "ec2.amazonaws.com"}


def test_gpu_autoscaler_node_template_tags(pool_plan):
    ng = one(pool_plan, "aws:eks/nodeGroup:NodeGroup", "recsys-train")
    asg = ng.outputs["resources"][0]["autoscalingGroups"][0]["name"]
    tags = {t.inputs["tag"]["key"]: t.inputs["tag"]["value"]
            for t in pool_plan.of_type("aws:autoscaling/tag:Tag")}
    for t in pool_plan.of_type("aws:autoscaling/tag:Tag"):
        assert t.inputs["autoscalingGroupName"] == asg, f"tag {t.name}: on the group's ASG"
        assert t.inputs["tag"]["propagateAtLaunch"] is False
    ca = "k8s.io/cluster-autoscaler"
    assert tags[f"{ca}/enabled"] == "true"
    assert tags[f"{ca}/{CLUSTER}"] == "owned"
    assert tags[f"{ca}/node-template/resources/nvidia.com/gpu"] == "8"
    assert tags[f"{ca}/node-template/label/trellis.dev/team"] == "recsys"
    assert tags[f"{ca}/node-template/label/trellis.dev/pool"] == "train"
    assert tags[f"{ca}/node-template/taint/nvidia.com/gpu"] == "present:NoSchedule"
    assert tags[f"{ca}/node-template/taint/trellis.dev/team"] == "recsys:NoSchedule"


def test_gpu_scheduling_contract_matches_common(run):
    captured = {}

    def program():
        captured["pool"] = GpuNodeGroup("recsys-train", _pool_args())

    run(program)
    assert captured["pool"].scheduling == common.scheduling_contract("recsys", "train", 8)


def _pool_args():
    return {"cluster_name": CLUSTER, "team": "recsys", "pool": "train",
            "node_group_name": "recsys-train", "node_role_name": "r",
            "launch_template_name": "r", "subnet_ids": ["subnet-a"],
            "instance_type": "p5.48xlarge", "accelerator": "h100-80gb", "gpus_per_node": 8}


# ---- Bucket --------------------------------------------------------------------------------

def _bucket(production=False, versioning=False, days=None):
    return lambda: Bucket("recsys-datasets", {
        "bucket_name": "acme-dev-recsys-datasets", "kms_key_arn": KEY,
        "versioning": versioning, "delete_after_days": days, "production": production,
        "tags": {"team": "recsys"}})


def test_bucket_is_private_encrypted_and_tls_only(run):
    plan = run(_bucket(days=30))
    b = one(plan, "aws:s3/bucket:Bucket", "recsys-datasets")
    assert b.inputs["forceDestroy"] is False
    pab = one(plan, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
              "recsys-datasets-public-access")
    for flag in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls",
                 "restrictPublicBuckets"):
        assert pab.inputs[flag] is True, f"bucket recsys-datasets: {flag} must be on"
    own = one(plan, "aws:s3/bucketOwnershipControls:BucketOwnershipControls",
              "recsys-datasets-ownership")
    assert own.inputs["rule"] == {"objectOwnership": "BucketOwnerEnforced"}
    sse = one(plan, "aws:s3/bucketServerSideEncryptionConfiguration:"
              "BucketServerSideEncryptionConfiguration", "recsys-datasets-encryption")
    assert sse.inputs["rules"] == [{"applyServerSideEncryptionByDefault": {
        "sseAlgorithm": "aws:kms", "kmsMasterKeyId": KEY}, "bucketKeyEnabled": True}]
    policy = one(plan, "aws:s3/bucketPolicy:BucketPolicy", "recsys-datasets-policy")
    [deny] = statements(policy)
    assert deny["Effect"] == "Deny" and deny["Principal"] == "*"
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    life = one(plan, "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
               "recsys-datasets-lifecycle")
    rules = {r["id"]: r for r in life.inputs["rules"]}
    assert rules["expire-objects"]["expiration"] == {"days": 30}
    assert rules["abort-incomplete-multipart-uploads"]["abortIncompleteMultipartUpload"] == {
        "daysAfterInitiation": 7}
    assert rules["expire-noncurrent-versions"]["noncurrentVersionExpiration"] == {
        "noncurrentDays": 30}
    versioning = one(plan, "aws:s3/bucketVersioning:BucketVersioning",
                     "recsys-datasets-versioning")
    assert versioning.inputs["versioningConfiguration"]["status"] == "Suspended"
    assert all(not r.protect for r in plan.resources), "sandbox buckets are not protected"


def test_bucket_without_expiry_has_no_expire_rule(run):
    plan = run(_bucket())
    life = plan.of_type("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration")[0]
    assert "expire-objects" not in {r["id"] for r in life.inputs["rules"]}


def test_production_bucket_versioned_protected_and_retained(run):
    plan = run(_bucket(production=True, versioning=True))
    v = one(plan, "aws:s3/bucketVersioning:BucketVersioning", "recsys-datasets-versioning")
    assert v.inputs["versioningConfiguration"]["status"] == "Enabled"
    for r in plan.resources:
        if r.custom:
            assert r.protect and r.retain_on_delete, \
                f"{r.type} {r.name}: production bucket resources are protected and retained"


# ---- Registries ----------------------------------------------------------------------------

SCANNING = "aws:ecr/registryScanningConfiguration:RegistryScanningConfiguration"


@pytest.mark.parametrize(("scan_type", "frequency"), [
    (None, None), ("BASIC", "SCAN_ON_PUSH"), ("ENHANCED", "CONTINUOUS_SCAN")])
def test_registry_scanning_only_when_asked(run, scan_type, frequency):
    plan = run(lambda: RegistrySettings("registry", {
        "template_role_name": "t", "repository_prefixes": ["dev/recsys"], "kms_key_arn": KEY,
        "scan_type": scan_type}))
    found = plan.of_type(SCANNING)
    if scan_type is None:
        assert not found, "registry scanning is account-wide: left alone unless asked"
        return
    [scan] = found
    assert scan.inputs["scanType"] == scan_type
    assert scan.inputs["rules"][0]["scanFrequency"] == frequency


def test_registry_settings_scoped_template_role(run):
    plan = run(lambda: RegistrySettings("registry", {
        "template_role_name": "acme-dev-ecr-templates",
        "repository_prefixes": ["dev/recsys", "dev/vision"], "kms_key_arn": KEY}))
    policy = one(plan, "aws:iam/rolePolicy:RolePolicy", "registry-template-policy")
    create = next(s for s in statements(policy) if s["Sid"] == "CreateTeamRepositories")
    assert create["Resource"] == [
        "arn:aws:ecr:us-east-1:111111111111:repository/dev/recsys/*",
        "arn:aws:ecr:us-east-1:111111111111:repository/dev/vision/*"]


@pytest.mark.parametrize("production", [False, True])
def test_team_registry(run, production):
    plan = run(lambda: TeamRegistry("recsys-registry", {
        "prefix": "dev/recsys", "template_role_arn": "arn:aws:iam::111111111111:role/t",
        "kms_key_arn": KEY, "immutable_tags": production,
        "model_package_group_name": "acme-dev-recsys-models", "production": production,
        "tags": {"team": "recsys"}}))
    tpl = one(plan, "aws:ecr/repositoryCreationTemplate:RepositoryCreationTemplate",
              "recsys-registry-images")
    assert tpl.inputs["prefix"] == "dev/recsys"
    assert tpl.inputs["appliedFors"] == ["CREATE_ON_PUSH"]
    assert tpl.inputs["imageTagMutability"] == ("IMMUTABLE" if production else "MUTABLE"), \
        "repository template: immutable tags exactly in production"
    assert tpl.inputs["encryptionConfigurations"] == [{"encryptionType": "KMS", "kmsKey": KEY}]
    assert tpl.inputs["resourceTags"] == {"team": "recsys"}
    assert json.loads(tpl.inputs["lifecyclePolicy"])["rules"][0]["selection"]["tagStatus"] == \
        "untagged"
    group = one(plan, "aws:sagemaker/modelPackageGroup:ModelPackageGroup",
                "recsys-registry-models")
    assert group.inputs["modelPackageGroupName"] == "acme-dev-recsys-models"
    assert group.protect is production


def test_lifecycle_policy_is_valid_ecr_json():
    doc = json.loads(lifecycle_policy(50, 3))
    assert [r["rulePriority"] for r in doc["rules"]] == [1, 2]
    assert doc["rules"][1]["selection"]["countNumber"] == 50


# ---- TeamIdentity --------------------------------------------------------------------------

BUCKET_ARN = "arn:aws:s3:::acme-dev-recsys-datasets"


def _identity(scheduler=True):
    return lambda: TeamIdentity("recsys-identity", {
        "team": "recsys", "cluster_name": CLUSTER, "namespace": "recsys",
        "service_account": "recsys", "workload_role_name": "acme-dev-recsys-workload",
        "pipeline_role_name": "acme-dev-recsys-pipelines",
        "scheduler_role_name": "acme-dev-recsys-scheduler" if scheduler else None,
        "bucket_arns": {"datasets": BUCKET_ARN}, "kms_key_arn": KEY,
        "repository_prefix": "dev/recsys", "model_package_group_name": "acme-dev-recsys-models",
        "tags": {"team": "recsys"}})


@pytest.fixture(scope="module")
def identity_plan(run):
    return run(_identity())


def test_workload_role_uses_pod_identity(identity_plan):
    role = one(identity_plan, "aws:iam/role:Role", "recsys-identity-workload")
    [trust] = json.loads(role.inputs["assumeRolePolicy"])["Statement"]
    assert trust["Principal"] == {"Service": "pods.eks.amazonaws.com"}
    assert sorted(trust["Action"]) == ["sts:AssumeRole", "sts:TagSession"]
    pia = one(identity_plan, "aws:eks/podIdentityAssociation:PodIdentityAssociation",
              "recsys-identity-workload")
    assert (pia.inputs["namespace"], pia.inputs["serviceAccount"]) == ("recsys", "recsys")
    assert pia.inputs["roleArn"] == "arn:aws:iam::111111111111:role/acme-dev-recsys-workload"


def test_team_roles_reach_only_team_resources(identity_plan):
    for policy in identity_plan.of_type("aws:iam/rolePolicy:RolePolicy"):
        for s in statements(policy):
            for resource in as_list(s["Resource"]):
                if resource == "*":
                    assert s["Action"] == ["ecr:GetAuthorizationToken"], \
                        f"policy {policy.name} {s['Sid']}: only the ECR login may use '*'"
                elif resource.startswith("arn:aws:s3:::"):
                    assert resource.startswith(BUCKET_ARN), \
                        f"policy {policy.name} {s['Sid']}: {resource} is not a team bucket"
                elif ":ecr:" in resource:
                    assert resource.endswith(":repository/dev/recsys/*"), \
                        f"policy {policy.name} {s['Sid']}: {resource} is outside the prefix"
            kms = [a for a in s["Action"] if a.startswith("kms:")]
            if kms:
                assert s["Resource"] == [KEY]
                assert "kms:ViaService" in s["Condition"]["StringEquals"], \
                    f"policy {policy.name}: the key is usable only through S3 and ECR"


def test_pipeline_and_scheduler_roles(identity_plan, run):
    pipelines = one(identity_plan, "aws:iam/role:Role", "recsys-identity-pipelines")
    trust = json.loads(pipelines.inputs["assumeRolePolicy"])["Statement"][0]
    assert trust["Principal"] == {"Service": "sagemaker.amazonaws.com"}
    policy = one(identity_plan, "aws:iam/rolePolicy:RolePolicy",
                 "recsys-identity-pipelines-policy")
    passrole = next(s for s in statements(policy) if s["Action"] == ["iam:PassRole"])
    assert passrole["Resource"] == ["arn:aws:iam::111111111111:role/acme-dev-recsys-pipelines"]
    scheduler = one(identity_plan, "aws:iam/role:Role", "recsys-identity-scheduler")
    trust = json.loads(scheduler.inputs["assumeRolePolicy"])["Statement"][0]
    assert trust["Condition"] == {"StringEquals": {"aws:SourceAccount": "111111111111"}}
    without = run(_identity(scheduler=False))
    assert "recsys-identity-scheduler" not in named(without, "aws:iam/role:Role")


def test_statement_helper_refuses_wildcard_allow():
    with pytest.raises(ValueError, match="wildcard"):
        _iam.statement("Bad", ["s3:*"], ["*"])
    with pytest.raises(ValueError, match="wildcard"):
        _iam.statement("Worse", ["*"], ["*"], effect="Deny")
    assert _iam.principal_key("arn:aws:iam::111111111111:role/ml/lee") == "111111111111-ml-lee"


# ---- Pipeline ------------------------------------------------------------------------------

DEFINITION = json.dumps({"Version": "2020-12-01", "Steps": []})


def _pipeline(**extra):
    args = {"pipeline_name": "acme-dev-recsys-nightly-train", "role_arn": "arn:role/p",
            "scheduler_role_name": "acme-dev-recsys-scheduler",
            "scheduler_role_arn": "arn:aws:iam::111111111111:role/acme-dev-recsys-scheduler",
            "schedule": "0 3 * * 1-5", "timezone": "Asia/Seoul",
            "schedule_name": "acme-dev-recsys-nightly-train",
            "parameters": {"Epochs": 10, "Mode": "full"}, "tags": {"team": "recsys"}}
    args.update(extra)
    return lambda: Pipeline("recsys-nightly-train", args)


def test_pipeline_inline_definition_and_schedule(run):
    plan = run(_pipeline(definition=DEFINITION))
    pl = one(plan, "aws:sagemaker/pipeline:Pipeline", "recsys-nightly-train")
    assert pl.inputs["pipelineDefinition"] == DEFINITION
    assert "pipelineDefinitionS3Location" not in pl.inputs
    sched = one(plan, "aws:scheduler/schedule:Schedule", "recsys-nightly-train")
    assert sched.inputs["scheduleExpression"] == "cron(0 3 ? * 2-6 *)"
    assert sched.inputs["scheduleExpressionTimezone"] == "Asia/Seoul"
    target = sched.inputs["target"]
    assert target["arn"] == pl.outputs["arn"], "schedule targets its own pipeline"
    assert target["sagemakerPipelineParameters"]["pipelineParameters"] == [
        {"name": "Epochs", "value": "10"}, {"name": "Mode", "value": "full"}]
    start = one(plan, "aws:iam/rolePolicy:RolePolicy", "recsys-nightly-train-start")
    [s] = statements(start)
    assert s["Action"] == ["sagemaker:StartPipelineExecution"]
    assert s["Resource"] == [pl.outputs["arn"]], "scheduler may start this pipeline only"
    assert start.urn in sched.dependencies


def test_pipeline_s3_definition_is_read_by_pulumi_up_and_sent_inline(run):
    plan = run(_pipeline(definition_s3_uri="s3://defs/recsys/eval.json"))
    pl = one(plan, "aws:sagemaker/pipeline:Pipeline", "recsys-nightly-train")
    assert "pipelineDefinitionS3Location" not in pl.inputs, (
        f"{pl.name}: an S3 location breaks updates (terraform-provider-aws #38259)")
    doc = json.loads(pl.inputs["pipelineDefinition"])
    # Offline, the mock answers the object read with a placeholder that names the object.
    assert "s3://defs/recsys/eval.json" in doc["Metadata"]["trellis-offline-plan"]


def test_pipeline_role_may_pull_exactly_the_named_outside_repositories(run):
    repo = "arn:aws:ecr:us-east-1:763104351884:repository/pytorch-training"
    plan = run(_pipeline(definition=DEFINITION, role_name="acme-dev-recsys-pipelines",
                         image_repositories=[repo, repo]))
    grant = one(plan, "aws:iam/rolePolicy:RolePolicy", "recsys-nightly-train-images")
    assert grant.inputs["role"] == "acme-dev-recsys-pipelines"
    [s] = statements(grant)
    assert s["Action"] == ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer",
                           "ecr:BatchCheckLayerAvailability"]
    assert s["Resource"] == [repo], f"{grant.name}: pulls of the named repository only"
    plan = run(_pipeline(definition=DEFINITION))
    assert "recsys-nightly-train-images" not in named(plan, "aws:iam/rolePolicy:RolePolicy")


def test_canonical_definition_refuses_what_create_pipeline_would():
    assert canonical_definition('{"Steps": [], "Version": "2020-12-01"}') == \
        '{"Steps":[],"Version":"2020-12-01"}'
    with pytest.raises(ValueError, match="not JSON"):
        canonical_definition("steps: []")
    with pytest.raises(ValueError, match="no \"Steps\""):
        canonical_definition('{"Version": "2020-12-01"}')
    big = json.dumps({"Steps": [], "Metadata": {"x": "y" * 1_048_576}})
    with pytest.raises(ValueError, match="at most 1,048,576"):
        canonical_definition(big)


def test_pipeline_needs_exactly_one_definition(run):
    with pytest.raises(PlanError, match="exactly one"):
        run(_pipeline())


def test_pipeline_helpers():
    assert parameter_value("x") == "x"
    assert parameter_value(0.5) == "0.5"
    assert parameter_value(True) == "true"
    assert parse_s3_uri("s3://b/k/x.json") == ("b", "k/x.json")
    with pytest.raises(ValueError):
        parse_s3_uri("gs://b/k")


# ---- Budget --------------------------------------------------------------------------------

def test_budget_filters_by_team_tag_and_alerts(run):
    plan = run(lambda: Budget("recsys-budget", {
        "budget_name": "acme-dev-recsys", "amount_usd": 20000, "tag_value": "recsys",
        "contacts": ["a@acme.com"]}))
    b = one(plan, "aws:budgets/budget:Budget", "recsys-budget")
    assert b.inputs["costFilters"] == [{"name": "TagKeyValue", "values": ["user:team$recsys"]}]
    assert b.inputs["limitAmount"] == "20000.00" and b.inputs["timeUnit"] == "MONTHLY"
    actual = sorted(n["threshold"] for n in b.inputs["notifications"]
                    if n["notificationType"] == "ACTUAL")
    assert actual == [50, 90, 100]
    assert all(n["subscriberEmailAddresses"] == ["a@acme.com"]
               for n in b.inputs["notifications"])


def test_budget_without_contacts_has_no_alerts(run):
    plan = run(lambda: Budget("b", {"budget_name": "b", "amount_usd": 1, "tag_value": "t"}))
    assert not plan.of_type("aws:budgets/budget:Budget")[0].inputs.get("notifications")


def test_components_take_only_their_children(run):
    """Children are parented to their component (ResourceOptions(parent=self))."""
    plan = run(_bucket())
    comp = one(plan, "trellis:aws:Bucket", "recsys-datasets")
    assert all(r.parent == comp.urn for r in plan.resources if r.custom), \
        "every resource of a component is its child"


# ---- Scaling and deployer access (issue 18.1, 18.7) ----------------------------------------

@pytest.mark.parametrize(("running", "desired", "ignored"), [
    (None, 1, True),   # a new group starts at min_nodes; the autoscaler owns it afterwards
    (2, 2, True),      # inside the new bounds: leave it to the autoscaler
    (0, 1, False),     # min_nodes raised above what runs: EKS refuses unless desired moves too
    (5, 3, False),     # max_nodes lowered below what runs
])
def test_scaling_changes_apply_whatever_runs_now(running, desired, ignored):
    from components.aws import _nodes

    got, ignore = _nodes.scaling(1, 3, running)
    assert got == desired, f"running {running}: desired size must be {desired} for min 1 max 3"
    assert (ignore == ["scalingConfig.desiredSize"]) is ignored, \
        "the desired size is only sent when the running size is outside the new bounds"


def test_gpu_node_group_sends_the_desired_size_when_min_nodes_is_raised(run):
    args = {**_pool_args(), "min_nodes": 2, "max_nodes": 4, "running_nodes": 0}
    ng = one(run(lambda: GpuNodeGroup("recsys-train", args)), "aws:eks/nodeGroup:NodeGroup",
             "recsys-train")
    assert ng.inputs["scalingConfig"] == {"minSize": 2, "maxSize": 4, "desiredSize": 2}
    assert ng.ignore_changes == [], \
        "node group recsys-train: min_nodes 0 -> 2 with 0 nodes running must send desiredSize 2 " \
        "(terraform-aws-eks #944)"


def test_gpu_nodes_carry_the_autoscaler_accelerator_label(pool_plan):
    ng = one(pool_plan, "aws:eks/nodeGroup:NodeGroup", "recsys-train")
    assert ng.inputs["labels"]["k8s.amazonaws.com/accelerator"] == "nvidia-h100-80gb", \
        "node group recsys-train: the cluster autoscaler waits for GPU nodes it labels so"
    tags = {t.inputs["tag"]["key"]: t.inputs["tag"]["value"]
            for t in pool_plan.of_type("aws:autoscaling/tag:Tag")}
    assert tags["k8s.io/cluster-autoscaler/node-template/label/k8s.amazonaws.com/accelerator"] \
        == "nvidia-h100-80gb", "an empty group's template node carries the label too"


def test_node_groups_wait_for_their_role_policies(pool_plan):
    ng = one(pool_plan, "aws:eks/nodeGroup:NodeGroup", "recsys-train")
    attachments = {a.urn for a in
                   pool_plan.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")}
    assert attachments and attachments <= set(ng.dependencies), \
        "node group recsys-train must depend on its role's policy attachments (created " \
        "before, destroyed after: EKS frees the nodes' ENIs with the CNI policy)"


def test_deployer_gets_a_fixed_name_cluster_admin_entry(run):
    deployer = "arn:aws:iam::111111111111:role/aws-reserved/sso.amazonaws.com/Admin_abc"

    def program():
        Cluster("cluster", {
            "name": CLUSTER, "subnet_ids": ["subnet-a", "subnet-b"], "kms_key_arn": KEY,
            "role_name": "r", "autoscaler_role_name": "ca", "deployer_principal_arn": deployer,
            "system_node_group": {"node_group_name": "system", "node_role_name": "s",
                                  "launch_template_name": "s"}})

    plan = run(program)
    entry = one(plan, "aws:eks/accessEntry:AccessEntry", "cluster-access-deployer")
    assert entry.inputs["principalArn"] == deployer, "the role ARN, path included"
    admin = one(plan, "aws:eks/accessPolicyAssociation:AccessPolicyAssociation",
                "cluster-access-deployer-admin")
    assert admin.inputs["policyArn"].endswith("/AmazonEKSClusterAdminPolicy")
    assert admin.inputs["accessScope"] == {"type": "cluster"}
