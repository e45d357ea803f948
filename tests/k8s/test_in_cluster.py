"""Issue 11: inside the cluster, per team: namespace, service account wired to the cloud
identity, member access, GPU quota and defaults, all in the same `pulumi up`."""

from __future__ import annotations

import json
import re

import pytest

from components.aws.cluster import AUTOSCALER_SERVICE_ACCOUNT
from components.k8s.cluster_autoscaler import SERVICE_ACCOUNT
from stacks.org.load import load, load_text
from stacks.org.resolve import resolve
from stacks.plan.engine import plan
from stacks.report.diff import diff_plans
from tests.conftest import BUNDLED_GCP, ROOT

AWS = ROOT / "examples" / "aws.yaml"


@pytest.fixture(scope="module")
def plans():
    out = {}
    for cloud, path in (("gcp", BUNDLED_GCP), ("aws", AWS)):
        loaded = load(path)
        for env in loaded.environments:
            spec = resolve(loaded, env)
            out[cloud, env] = (spec, plan(spec))
    return out


def objects(result, kind: str) -> dict[str, dict]:
    """Kubernetes objects of one kind by namespace (or name for namespaces)."""
    found = {}
    for r in result.resources:
        if r.type.endswith(f":{kind}") and r.type.startswith("kubernetes:"):
            meta = r.inputs["metadata"]
            found[meta.get("namespace") or meta["name"]] = r.inputs
    return found


@pytest.mark.parametrize("key", [("gcp", "dev"), ("gcp", "prod"), ("aws", "dev"), ("aws", "prod")])
def test_every_team_gets_namespace_sa_quota_and_defaults(plans, key):
    spec, result = plans[key]
    namespaces = objects(result, "Namespace")
    sas = objects(result, "ServiceAccount")
    quotas = objects(result, "ResourceQuota")
    limits = objects(result, "LimitRange")
    for team in spec.teams.values():
        ns = team.names.namespace
        assert ns in namespaces, f"{key}: no namespace for team {team.name}"
        assert namespaces[ns]["metadata"]["labels"]["team"] == team.name
        assert sas[ns]["metadata"]["name"] == team.names.service_account
        hard = quotas[ns]["spec"]["hard"]["requests.nvidia.com/gpu"]
        assert hard == str(team.max_gpus), f"{key}: {team.name} quota {hard} != {team.max_gpus}"
        assert limits[ns]["spec"]["limits"][0]["defaultRequest"]["cpu"]


def test_quota_follows_per_environment_overrides(plans):
    # recsys: dev train 1x8 + serve 4x1 = 12 GPUs; prod train 2x8 + serve 8x1 = 24.
    dev = objects(plans["gcp", "dev"][1], "ResourceQuota")["recsys"]
    prod = objects(plans["gcp", "prod"][1], "ResourceQuota")["recsys"]
    assert (dev["spec"]["hard"]["requests.nvidia.com/gpu"],
            prod["spec"]["hard"]["requests.nvidia.com/gpu"]) == ("12", "24")


def test_gke_service_account_acts_as_the_team_workload_identity(plans):
    spec, result = plans["gcp", "prod"]
    sas = objects(result, "ServiceAccount")
    for team in spec.teams.values():
        email = f"{team.names.workload_identity}@{spec.project}.iam.gserviceaccount.com"
        annotations = sas[team.names.namespace]["metadata"]["annotations"]
        assert annotations["iam.gke.io/gcp-service-account"] == email


def test_eks_pod_identity_targets_the_team_service_account(plans):
    spec, result = plans["aws", "prod"]
    assocs = {(r.inputs["namespace"], r.inputs["serviceAccount"])
              for r in result.of_type("aws:eks/podIdentityAssociation:PodIdentityAssociation")}
    for team in spec.teams.values():
        assert (team.names.namespace, team.names.service_account) in assocs, team.name


def test_gke_members_edit_only_their_namespace(plans):
    spec, result = plans["gcp", "prod"]
    bindings = [r.inputs for r in result.resources
                if r.type == "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding"]
    for team in spec.teams.values():
        (binding,) = [b for b in bindings if b["metadata"]["namespace"] == team.name]
        assert binding["roleRef"]["name"] == "edit" and binding["roleRef"]["kind"] == "ClusterRole"
        names = {s["name"] for s in binding["subjects"]}
        expected = {m.split(":", 1)[1] for m in team.members
                    if m.startswith(("user:", "group:", "serviceAccount:"))}
        assert names == expected, team.name
    assert not [r for r in result.resources if r.type.endswith("ClusterRoleBinding")], \
        "team access must be namespaced"


def test_eks_members_edit_through_namespace_scoped_access_policies(plans):
    """Members reach the cluster through their team's member role (issue 18.4): its access
    entry is scoped to the team's namespace, and the role trusts exactly the members."""
    spec, result = plans["aws", "prod"]
    policies = result.of_type("aws:eks/accessPolicyAssociation:AccessPolicyAssociation")
    roles = {r.inputs["name"]: r for r in result.of_type("aws:iam/role:Role")}
    for team in spec.teams.values():
        role_name = team.names.member_role
        role_arn = f"arn:aws:iam::{spec.account}:role/{role_name}"
        scoped = [p.inputs for p in policies if p.inputs["principalArn"] == role_arn
                  and p.inputs["policyArn"].endswith("AmazonEKSEditPolicy")]
        assert scoped, f"team {team.name}: member role {role_name} has no edit policy"
        scope = scoped[0]["accessScope"]
        assert scope == {"type": "namespace", "namespaces": [team.names.namespace]}, \
            f"team {team.name}: edit rights in its own namespace only"
        trust = json.loads(roles[role_name].inputs["assumeRolePolicy"])
        assert trust["Statement"][0]["Principal"] == {"AWS": sorted(team.members)}, \
            f"team {team.name}: member role trusts exactly the team's members"
        for member in team.members:
            assert not [p for p in policies if p.inputs["principalArn"] == member], \
                f"{member}: no access entry of its own, it assumes {role_name}"


@pytest.mark.parametrize("cloud", ["gcp", "aws"])
def test_kubernetes_provider_is_built_from_cluster_outputs(plans, cloud):
    _, result = plans[cloud, "dev"]
    (provider,) = result.of_type("pulumi:providers:kubernetes")
    kubeconfig = provider.inputs["kubeconfig"]
    if cloud == "gcp":
        # The DNS-based endpoint (reachable without VPN or admin CIDR, authorised by IAM);
        # its certificate is publicly trusted, so no cluster CA is embedded.
        (server,) = [c["cluster"]["server"] for c in json.loads(kubeconfig)["clusters"]]
        assert re.fullmatch(r"https://gke-\w+\.us-central1\.gke\.goog", server), (
            f"kubernetes provider: server {server} is not the cluster's DNS endpoint")
    else:
        assert "certificate-authority-data" in kubeconfig
    assert ("gke-gcloud-auth-plugin" if cloud == "gcp" else "get-token") in kubeconfig
    cluster_type = "gcp:container/cluster:Cluster" if cloud == "gcp" else "aws:eks/cluster:Cluster"
    (cluster,) = result.of_type(cluster_type)
    assert cluster.urn in provider.dependencies, "the provider must wait for the cluster"
    for r in result.resources:
        if r.type.startswith("kubernetes:"):
            assert r.provider.startswith(provider.urn), f"{r.urn} bypasses the cluster provider"


def test_eks_runs_the_cluster_autoscaler_as_its_pod_identity(plans):
    _, result = plans["aws", "dev"]
    (release,) = result.of_type("kubernetes:helm.sh/v3:Release")
    values = release.inputs["values"]
    assert values["rbac"]["serviceAccount"]["name"] == SERVICE_ACCOUNT == AUTOSCALER_SERVICE_ACCOUNT
    assert values["autoDiscovery"]["clusterName"] == "acme-dev"
    assert values["image"]["tag"].startswith("v1.")
    assocs = {(r.inputs["namespace"], r.inputs["serviceAccount"])
              for r in result.of_type("aws:eks/podIdentityAssociation:PodIdentityAssociation")}
    assert ("kube-system", SERVICE_ACCOUNT) in assocs


def test_removing_a_team_removes_only_its_namespace_objects(plans):
    _, before = plans["gcp", "dev"]
    text = BUNDLED_GCP.read_text()
    start = text.index("  research:")
    without = load_text(text[:start], str(BUNDLED_GCP), base_dir=BUNDLED_GCP.parent)
    after = plan(resolve(without, "dev"))
    d = diff_plans(before, after)
    removed_k8s = [r for r in d.removed if r.type.startswith("kubernetes:")]
    assert removed_k8s, "the research namespace objects should go"
    for r in removed_k8s:
        ns = r.inputs["metadata"].get("namespace") or r.inputs["metadata"]["name"]
        assert ns == "research", r.urn
    # The admission policy forgets the team's pools and registry (its CEL variables).
    changed = {c.urn.rsplit("::", 1)[1]: c.properties for c in d.changed
               if c.type.startswith("kubernetes:")}
    assert set(changed) == {"team-admission-policy"} and all(
        p.startswith("spec.variables") for p in changed["team-admission-policy"]), \
        f"other teams' namespace objects must not change: {changed}"
