"""The whole AWS example, planned per environment: inventories, tier rules, safety rules, URNs."""

from __future__ import annotations

import json

import pytest

from stacks.plan.engine import plan

from .helpers import as_list, named, statements

# Counts per type: a change here is a change in what an environment costs or exposes.
DEV_COUNTS = {
    "pulumi:providers:aws": 1,
    "aws:kms/key:Key": 1, "aws:kms/alias:Alias": 1,
    "aws:ec2/vpc:Vpc": 1, "aws:ec2/subnet:Subnet": 6, "aws:ec2/natGateway:NatGateway": 1,
    "aws:ec2/eip:Eip": 1, "aws:ec2/internetGateway:InternetGateway": 1,
    "aws:ec2/routeTable:RouteTable": 4, "aws:ec2/vpcEndpoint:VpcEndpoint": 1,
    "aws:eks/cluster:Cluster": 1, "aws:eks/addon:Addon": 4,
    # system + general + 5 GPU pools
    "aws:eks/nodeGroup:NodeGroup": 7, "aws:ec2/launchTemplate:LaunchTemplate": 7,
    "aws:autoscaling/tag:Tag": 48,
    # the admin + one member role per team (members reach the cluster through it)
    "aws:eks/accessEntry:AccessEntry": 4,
    "aws:eks/accessPolicyAssociation:AccessPolicyAssociation": 4,
    "aws:eks/podIdentityAssociation:PodIdentityAssociation": 4,
    "aws:iam/role:Role": 20,
    # 14 + the pipeline role's pull of recsys' Deep Learning Container repository + the pull
    # of weekly-eval's s3:// definition, derived from the object at `pulumi up`
    "aws:iam/rolePolicy:RolePolicy": 16,
    "aws:s3/bucket:Bucket": 7, "aws:s3/bucketPolicy:BucketPolicy": 7,
    "aws:ecr/repositoryCreationTemplate:RepositoryCreationTemplate": 3,
    # account-wide: only with platform.registry_scanning
    "aws:ecr/registryScanningConfiguration:RegistryScanningConfiguration": 0,
    "aws:sagemaker/modelPackageGroup:ModelPackageGroup": 3,
    "aws:sagemaker/pipeline:Pipeline": 2, "aws:scheduler/schedule:Schedule": 2,
    "aws:budgets/budget:Budget": 2,
    "trellis:aws:GpuNodeGroup": 5, "trellis:aws:Bucket": 7, "trellis:aws:TeamIdentity": 3,
    "trellis:aws:CpuNodeGroup": 1,
    "pulumi:providers:kubernetes": 1, "trellis:k8s:TeamNamespace": 3,
    "kubernetes:core/v1:Namespace": 3, "kubernetes:core/v1:ServiceAccount": 3,
    "kubernetes:core/v1:ResourceQuota": 6,  # GPUs, and CPU + memory
    "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding": 0,  # EKS access policies do it
}
PROD_COUNTS = {
    **DEV_COUNTS,
    "aws:ec2/natGateway:NatGateway": 3, "aws:ec2/eip:Eip": 3,
    "aws:eks/nodeGroup:NodeGroup": 6, "aws:ec2/launchTemplate:LaunchTemplate": 6,
    "aws:autoscaling/tag:Tag": 39, "aws:eks/accessEntry:AccessEntry": 3,
    "aws:eks/accessPolicyAssociation:AccessPolicyAssociation": 3,
    "aws:eks/podIdentityAssociation:PodIdentityAssociation": 3,
    "aws:iam/role:Role": 16, "aws:iam/rolePolicy:RolePolicy": 13,
    "aws:s3/bucket:Bucket": 6, "aws:s3/bucketPolicy:BucketPolicy": 6,
    "aws:ecr/repositoryCreationTemplate:RepositoryCreationTemplate": 2,
    "aws:sagemaker/modelPackageGroup:ModelPackageGroup": 2,
    "trellis:aws:GpuNodeGroup": 4, "trellis:aws:Bucket": 6, "trellis:aws:TeamIdentity": 2,
    "trellis:k8s:TeamNamespace": 2, "kubernetes:core/v1:Namespace": 2,
    "kubernetes:core/v1:ServiceAccount": 2, "kubernetes:core/v1:ResourceQuota": 4,
}
# A known subset of URNs: renaming any of these replaces real resources (docs/adr/0005).
PINNED_URNS = [
    "urn:pulumi:{env}::trellis::pulumi:providers:aws::aws",
    "urn:pulumi:{env}::trellis::trellis:aws:EnvironmentKey$aws:kms/key:Key::key",
    "urn:pulumi:{env}::trellis::trellis:aws:Network$aws:ec2/vpc:Vpc::network",
    "urn:pulumi:{env}::trellis::trellis:aws:Network$aws:ec2/subnet:Subnet::network-private-a",
    "urn:pulumi:{env}::trellis::trellis:aws:Cluster$aws:eks/cluster:Cluster::cluster",
    "urn:pulumi:{env}::trellis::trellis:aws:Cluster$aws:eks/nodeGroup:NodeGroup::cluster-system",
    "urn:pulumi:{env}::trellis::trellis:aws:Cluster$aws:eks/addon:Addon::cluster-coredns",
    "urn:pulumi:{env}::trellis::trellis:aws:RegistrySettings::registry",
    "urn:pulumi:{env}::trellis::trellis:aws:Bucket$aws:s3/bucket:Bucket::recsys-datasets",
    "urn:pulumi:{env}::trellis::trellis:aws:Bucket$aws:s3/bucket:Bucket::recsys-pipeline-root",
    "urn:pulumi:{env}::trellis::trellis:aws:GpuNodeGroup$aws:eks/nodeGroup:NodeGroup::"
    "recsys-train",
    "urn:pulumi:{env}::trellis::trellis:aws:TeamIdentity$aws:iam/role:Role::"
    "recsys-identity-workload",
    "urn:pulumi:{env}::trellis::trellis:aws:TeamRegistry$aws:sagemaker/modelPackageGroup:"
    "ModelPackageGroup::recsys-registry-models",
    "urn:pulumi:{env}::trellis::trellis:aws:Pipeline$aws:sagemaker/pipeline:Pipeline::"
    "recsys-nightly-train",
    "urn:pulumi:{env}::trellis::trellis:aws:Budget$aws:budgets/budget:Budget::recsys-budget",
    "urn:pulumi:{env}::trellis::pulumi:providers:kubernetes::kubernetes",
    "urn:pulumi:{env}::trellis::trellis:k8s:TeamNamespace::recsys",
]
STATEFUL = ("aws:s3/bucket:Bucket", "aws:kms/key:Key", "aws:eks/cluster:Cluster",
            "aws:sagemaker/modelPackageGroup:ModelPackageGroup")


@pytest.fixture(scope="module", params=["dev", "prod"])
def env_plan(request, dev_plan, prod_plan):
    return {"dev": dev_plan, "prod": prod_plan}[request.param]


def _counts(p):
    out: dict[str, int] = {}
    for r in p.resources:
        out[r.type] = out.get(r.type, 0) + 1
    return out


@pytest.mark.parametrize(("env", "expected"), [("dev", DEV_COUNTS), ("prod", PROD_COUNTS)])
def test_inventory_counts(env, expected, dev_plan, prod_plan):
    counts = _counts({"dev": dev_plan, "prod": prod_plan}[env])
    wrong = {t: (counts.get(t, 0), n) for t, n in expected.items() if counts.get(t, 0) != n}
    assert not wrong, f"{env}: resource counts (have, want) differ: {wrong}"


def test_every_planned_type_has_realistic_mock_outputs(env_plan):
    for r in env_plan.resources:
        if r.custom and r.type.startswith("aws:"):
            assert r.outputs.get("id"), f"{r.type} {r.name}: mock gives no id"
            if r.type.startswith(("aws:iam/role:", "aws:s3/bucket:", "aws:kms/key:",
                                  "aws:eks/cluster:", "aws:sagemaker/")):
                assert str(r.outputs.get("arn", "")).startswith("arn:aws:"), \
                    f"{r.type} {r.name}: mock gives no ARN"


def test_provider_pins_account_region_and_default_tags(dev_plan, prod_plan):
    for p, account, region in ((dev_plan, "111111111111", "us-east-1"),
                               (prod_plan, "222222222222", "us-west-2")):
        [prov] = p.of_type("pulumi:providers:aws")
        assert prov.inputs["region"] == region
        # Provider inputs reach the engine JSON-encoded.
        assert json.loads(prov.inputs["allowedAccountIds"]) == [account], \
            f"{p.environment}: the provider must refuse any account but {account}"
        tags = json.loads(prov.inputs["defaultTags"])
        assert tags["tags"]["env"] == p.environment and tags["tags"]["org"] == "acme"
        for r in p.resources:
            if r.custom and r.type.startswith("aws:"):
                assert r.provider.startswith(prov.urn), \
                    f"{r.type} {r.name}: not on the environment's provider"


def test_team_namespaces_through_the_cluster_provider(env_plan):
    [k8s] = env_plan.of_type("pulumi:providers:kubernetes")
    admin = {r.urn for r in env_plan.of_type(
        "aws:eks/accessPolicyAssociation:AccessPolicyAssociation") if r.name.endswith("-admin")}
    assert admin and admin <= set(k8s.dependencies), \
        "kubernetes provider must wait for the admins' access policies"
    kubeconfig = k8s.inputs["kubeconfig"]
    assert "get-token" in kubeconfig and f"acme-{env_plan.environment}" in kubeconfig, \
        "kubeconfig must authenticate with `aws eks get-token` against this cluster"
    quotas = {r.inputs["metadata"]["namespace"]:
              r.inputs["spec"]["hard"]["requests.nvidia.com/gpu"]
              for r in env_plan.of_type("kubernetes:core/v1:ResourceQuota")
              if r.inputs["metadata"]["name"] == "gpu"}
    if env_plan.environment == "dev":
        assert quotas == {"recsys": "12", "vision": "9", "research": "2"}, quotas
    for r in env_plan.resources:
        if r.type.startswith("kubernetes:"):
            assert r.provider.startswith(k8s.urn), \
                f"{r.type} {r.name}: not on the cluster's kubernetes provider"


def test_production_protects_stateful_resources(dev_plan, prod_plan):
    for p, production in ((dev_plan, False), (prod_plan, True)):
        for r in p.resources:
            if r.type in STATEFUL:
                assert r.protect is production, \
                    f"{p.environment} {r.type} {r.name}: protect must be {production}"
        for r in p.of_type("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"):
            assert r.retain_on_delete is production, f"{r.name}: retained in production only"


def test_nat_per_az_only_in_production(dev_plan, prod_plan):
    assert len(dev_plan.of_type("aws:ec2/natGateway:NatGateway")) == 1, "sandbox: one NAT"
    assert len(prod_plan.of_type("aws:ec2/natGateway:NatGateway")) == 3, "production: one per AZ"


def test_immutable_tags_and_versioning_by_tier(dev_plan, prod_plan):
    for p, mutability in ((dev_plan, "MUTABLE"), (prod_plan, "IMMUTABLE")):
        for r in p.of_type("aws:ecr/repositoryCreationTemplate:RepositoryCreationTemplate"):
            assert r.inputs["imageTagMutability"] == mutability, \
                f"{p.environment} {r.name}: image tags must be {mutability}"
    dev_v = {r.name: r.inputs["versioningConfiguration"]["status"]
             for r in dev_plan.of_type("aws:s3/bucketVersioning:BucketVersioning")}
    prod_v = {r.name: r.inputs["versioningConfiguration"]["status"]
              for r in prod_plan.of_type("aws:s3/bucketVersioning:BucketVersioning")}
    assert dev_v["recsys-datasets-versioning"] == "Suspended", "sandbox default: unversioned"
    assert dev_v["recsys-models-versioning"] == "Enabled", "explicit versioning: true"
    assert prod_v["recsys-datasets-versioning"] == "Enabled", "production default: versioned"
    assert dev_v["vision-checkpoints-versioning"] == "Suspended", "explicit versioning: false"
    assert prod_v["vision-checkpoints-versioning"] == "Enabled", "prod override: versioning"


def test_capacity_type_by_tier_and_override(dev_plan, prod_plan):
    dev = {r.name: r.inputs["capacityType"]
           for r in dev_plan.of_type("aws:eks/nodeGroup:NodeGroup")}
    prod = {r.name: r.inputs["capacityType"]
            for r in prod_plan.of_type("aws:eks/nodeGroup:NodeGroup")}
    assert dev["vision-render"] == "SPOT", "sandbox default: spot"
    assert prod["vision-render"] == "ON_DEMAND", "production default: on-demand"
    assert prod["recsys-train"] == "CAPACITY_BLOCK", "prod override: a Capacity Block"
    assert prod["recsys-serve"] == "ON_DEMAND", "production default: on-demand"
    assert dev["cluster-system"] == prod["cluster-system"] == "ON_DEMAND"
    assert next(r for r in prod_plan.of_type("aws:eks/nodeGroup:NodeGroup")
                if r.name == "vision-finetune").inputs["instanceTypes"] == ["p5.4xlarge"], \
        "prod override: vision finetune on h100 x1"


def test_no_keys_no_users(env_plan):
    for forbidden in ("aws:iam/accessKey:AccessKey", "aws:iam/user:User",
                      "aws:iam/userLoginProfile:UserLoginProfile"):
        assert not env_plan.of_type(forbidden), f"{env_plan.environment}: {forbidden} is banned"


def test_no_policy_grants_every_action(env_plan):
    for r in env_plan.resources:
        for s in statements(r):
            actions = as_list(s.get("Action", []))
            assert "*" not in actions, f"{r.type} {r.name} {s.get('Sid')}: \"Action\": \"*\""
            if s.get("Effect") == "Allow":
                assert not any(a.endswith(":*") for a in actions), \
                    f"{r.type} {r.name} {s.get('Sid')}: allows a whole service {actions}"
    names = [r.inputs["policyArn"] for r in
             env_plan.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")]
    assert not [n for n in names if "FullAccess" in n or n.endswith("/AdministratorAccess")], \
        f"{env_plan.environment}: no *FullAccess managed policies: {names}"


def test_autoscaler_tags_on_every_gpu_group(env_plan):
    tags_by_asg: dict[str, dict[str, str]] = {}
    for t in env_plan.of_type("aws:autoscaling/tag:Tag"):
        tags_by_asg.setdefault(t.inputs["autoscalingGroupName"], {})[t.inputs["tag"]["key"]] = \
            t.inputs["tag"]["value"]
    gpu = [g for g in env_plan.of_type("aws:eks/nodeGroup:NodeGroup")
           if g.inputs["amiType"].endswith("NVIDIA")]
    assert gpu
    ca = "k8s.io/cluster-autoscaler"
    cluster = f"acme-{env_plan.environment}"
    for g in gpu:
        asg = g.outputs["resources"][0]["autoscalingGroups"][0]["name"]
        tags = tags_by_asg.get(asg, {})
        team, pool = g.inputs["labels"]["trellis.dev/team"], g.inputs["labels"]["trellis.dev/pool"]
        want = {f"{ca}/enabled": "true", f"{ca}/{cluster}": "owned",
                f"{ca}/node-template/label/trellis.dev/team": team,
                f"{ca}/node-template/label/trellis.dev/pool": pool,
                f"{ca}/node-template/taint/nvidia.com/gpu": "present:NoSchedule",
                f"{ca}/node-template/taint/trellis.dev/team": f"{team}:NoSchedule"}
        missing = {k: v for k, v in want.items() if tags.get(k) != v}
        assert not missing, f"node group {g.name}: autoscaler tags missing/wrong {missing}"
        assert tags.get(f"{ca}/node-template/resources/nvidia.com/gpu"), \
            f"node group {g.name}: no GPU count for scale-from-zero"


def test_every_launch_template_requires_imdsv2(env_plan):
    for lt in env_plan.of_type("aws:ec2/launchTemplate:LaunchTemplate"):
        assert lt.inputs["metadataOptions"]["httpTokens"] == "required", \
            f"launch template {lt.name}: IMDSv2 (httpTokens=required) is mandatory"
        for bdm in lt.inputs["blockDeviceMappings"]:
            assert bdm["ebs"]["encrypted"] == "true", f"launch template {lt.name}: unencrypted"
    for ng in env_plan.of_type("aws:eks/nodeGroup:NodeGroup"):
        assert "remoteAccess" not in ng.inputs, f"node group {ng.name}: SSH access is banned"
        assert "launchTemplate" in ng.inputs, f"node group {ng.name}: no launch template"


def test_team_resources_carry_team_tags(env_plan):
    teams = {r.name.split("-")[0] for r in env_plan.of_type("trellis:aws:TeamIdentity")}
    for r in env_plan.resources:
        tags = r.inputs.get("tags")
        team = r.name.split("-")[0]
        if r.custom and isinstance(tags, dict) and team in teams:
            assert tags.get("team") == team, f"{r.type} {r.name}: missing team={team} tag"
            assert tags.get("env") == env_plan.environment, f"{r.type} {r.name}: no env tag"


def test_pinned_urns(env_plan):
    urns = set(env_plan.by_urn())
    missing = [u for u in (p.format(env=env_plan.environment) for p in PINNED_URNS)
               if u not in urns]
    assert not missing, f"{env_plan.environment}: pinned URNs changed (add aliases!): {missing}"


def test_renames_become_aliases(dev_plan):
    comps = {r.urn.rsplit("::", 1)[1]: r for r in dev_plan.resources
             if r.type.startswith("trellis:aws:")}
    base = "urn:pulumi:dev::trellis::trellis:aws:"
    assert f"{base}Bucket::recsys-artifacts" in comps["recsys-models"].aliases
    assert f"{base}Pipeline::recsys-eval" in comps["recsys-weekly-eval"].aliases
    assert set(comps["vision-finetune"].aliases) == {
        f"{base}GpuNodeGroup::vision-tune", f"{base}GpuNodeGroup::imaging-finetune",
        f"{base}GpuNodeGroup::imaging-tune"}
    assert f"{base}TeamIdentity::imaging-identity" in comps["vision-identity"].aliases
    buckets = {r.name: r.inputs["bucket"] for r in dev_plan.of_type("aws:s3/bucket:Bucket")}
    assert buckets["recsys-models"] == "acme-dev-recsys-artifacts", \
        "renamed bucket keeps its physical name"
    assert buckets["vision-images"] == "acme-dev-imaging-images", \
        "renamed team keeps its buckets' physical names"


def test_outputs_shape(dev_plan, dev_env):
    out = dev_plan.outputs
    assert set(out["environment"]) == {"name", "cloud", "tier", "region", "account",
                                       "cluster_name", "cluster_endpoint",
                                       "kubernetes_version"}
    assert out["environment"]["kubernetes_version"] == "1.35"
    assert out["environment"]["cluster_endpoint"].startswith("https://")
    recsys = out["teams"]["recsys"]
    assert recsys["workload_identity"] == \
        "arn:aws:iam::111111111111:role/acme-dev-recsys-workload"
    assert recsys["buckets"]["datasets"] == "s3://acme-dev-recsys-datasets"
    assert recsys["pipeline_root"] == "s3://acme-dev-recsys-pipeline-root"
    assert recsys["container_registry"] == \
        "111111111111.dkr.ecr.us-east-1.amazonaws.com/dev/recsys"
    assert recsys["model_registry"] == "acme-dev-recsys-models"
    pool = recsys["gpu_pools"]["train"]
    assert set(pool) == {"node_selector", "tolerations", "resource_name", "gpus_per_node",
                         "accelerator", "machine_type", "min_nodes", "max_nodes", "spot",
                         "capacity", "zones"}
    assert pool["zones"] == ["use1-az1", "use1-az2", "use1-az4"]
    assert recsys["member_role"] == "arn:aws:iam::111111111111:role/acme-dev-recsys-members"
    assert pool["machine_type"] == "p5.48xlarge" and pool["gpus_per_node"] == 8
    nightly = recsys["pipelines"]["nightly-train"]
    assert nightly == {"schedule": "cron(0 3 * * ? *)", "timezone": "Asia/Seoul",
                       "job_name": "acme-dev-recsys-nightly-train",
                       "pipeline_name": "acme-dev-recsys-nightly-train"} | (
        {"template_uri": None} if "template_uri" in nightly else {})
    assert recsys["pipelines"]["weekly-eval"]["template_uri"] == \
        "s3://acme-ml-pipeline-definitions/recsys/weekly-eval.json"
    assert set(out["teams"]) == set(dev_env.teams)


def test_build_returns_every_output_key(dev_env):
    """The dict build_aws returns has the full GCP-shaped keys, None values included."""
    from stacks.compose.aws import build_aws
    from stacks.plan.engine import run_program

    captured = {}
    run_program(dev_env, lambda: captured.update(build_aws(dev_env)))
    team = captured["teams"]["vision"]
    assert set(team) == {"namespace", "service_account", "workload_identity",
                         "pipeline_identity", "buckets", "pipeline_root", "container_registry",
                         "pipeline_registry", "model_registry", "gpu_pools", "pipelines",
                         "member_role"}
    assert team["pipeline_root"] is None and team["pipeline_registry"] is None


def _canonical(p):
    doc = p.to_json()
    for r in doc["resources"]:
        r["dependencies"] = sorted(r["dependencies"])
        r["property_dependencies"] = {k: sorted(v) for k, v in r["property_dependencies"].items()}
    doc["resources"] = sorted(doc["resources"], key=lambda r: r["urn"])
    return json.dumps(doc, sort_keys=True)


def test_identical_plans_on_rebuild(dev_env, dev_plan):
    """Same org file, same plan: every resource, input, dependency and output.

    The Pulumi SDK collects dependencies in a set and registers concurrently, so the order of
    registrations and of dependency URNs may differ between runs; their content may not.
    """
    assert _canonical(plan(dev_env)) == _canonical(dev_plan), \
        "planning twice must give the same plan"


def test_inline_definition_is_the_example_file(dev_plan):
    pl = named(dev_plan, "aws:sagemaker/pipeline:Pipeline")["recsys-nightly-train"]
    doc = json.loads(pl.inputs["pipelineDefinition"])
    assert doc["Version"] == "2020-12-01" and doc["Steps"][0]["Type"] == "Training"


def _pipeline_spec(path):
    from stacks.org.spec import PipelineSpec

    return PipelineSpec(name="nightly", template="pipelines/x.json", template_path=path,
                        schedule="0 3 * * *", timezone="UTC", parameters={}, description="",
                        job_name="j", pipeline_name="p")


def test_read_definition_is_canonical_json(tmp_path):
    from stacks.compose.aws import read_definition

    path = tmp_path / "x.json"
    path.write_text('{"Steps": [], "Version": "2020-12-01",\n "Parameters": []}')
    assert read_definition(_pipeline_spec(path)) == \
        '{"Parameters":[],"Steps":[],"Version":"2020-12-01"}'


def test_read_definition_refuses_what_is_not_json(tmp_path):
    from stacks.compose.aws import read_definition

    path = tmp_path / "x.json"
    path.write_text("steps: []")
    with pytest.raises(ValueError, match="not JSON"):
        read_definition(_pipeline_spec(path))
