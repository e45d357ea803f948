"""Issue 20, isolation 5: for every pair of teams, the plan gives team A nothing of team B's.

For each ordered pair (A, B) of teams in a multi-team org (examples/many-teams.yaml, a two-team
org per cloud, examples/aws.yaml): A's people and identities get no grant on B's buckets,
registries, service accounts or roles (GCP IAM members; AWS identity policies evaluated by
:mod:`components.aws.iam_eval`, the evaluator the AWS work added, and trust policies), no
Kubernetes RBAC in B's namespace, no admission for B's pools, nodes or images (the planned
ValidatingAdmissionPolicy evaluated with cel-python), and no network path into B's pods (B's
default-deny ingress and allow-list NetworkPolicies, whose peers must not select A's namespace).
"""

from __future__ import annotations

import base64
import json
from functools import cache
from itertools import permutations
from pathlib import Path
from typing import Any

import pytest

from components.aws.iam_eval import evaluate
from components.gcp.roles import table as roles_table
from components.gcp.services import CUSTOM_CODE_AGENT_ROLE
from components.k8s.team_namespace import DENY_INGRESS_POLICY, NAMESPACE_NAME_LABEL
from policies.k8s import selector_matches
from stacks.org.load import load, load_text
from stacks.org.resolve import resolve
from stacks.org.spec import EnvSpec, TeamSpec
from stacks.plan.engine import Plan, plan
from tests.conftest import ROOT

from .admission_cel import Admission, pod

ROLES = roles_table()  # Google's predefined roles, components/data/gcp_roles.json

TWO_TEAMS_GCP = """\
version: 1
org: duo
cloud: gcp
region: europe-west4
platform: {gke_security_group: gke-security-groups@duo.example}
environments:
  dev: {project: duo-ml-dev}
teams:
  alpha:
    members: [group:alpha@duo.example, user:ann@duo.example]
    gpu_pools: {train: {accelerator: l4, max_nodes: 2}}
    buckets: {data: {}, models: {}}
    pipelines:
      nightly: {template: "gs://duo-templates/alpha.yaml", schedule: "0 1 * * *"}
  beta:
    members: [group:beta@duo.example]
    gpu_pools: {train: {accelerator: l4, max_nodes: 1}, serve: {accelerator: l4, max_nodes: 1}}
    buckets: {data: {}}
    pipelines:
      weekly: {template: "gs://duo-templates/beta.yaml", schedule: "0 2 * * 1"}
"""
TWO_TEAMS_AWS = """\
version: 1
org: duo
cloud: aws
region: eu-west-2
platform: {admin_cidrs: [203.0.113.0/24]}
environments:
  dev: {account: "123456789012", admins: [arn:aws:iam::123456789012:role/platform-admin]}
teams:
  alpha:
    members: [arn:aws:iam::123456789012:role/alpha-engineers]
    gpu_pools: {train: {accelerator: l4, max_nodes: 2}}
    buckets: {data: {}, models: {}}
    pipelines:
      nightly: {template: "s3://duo-templates/alpha.json", schedule: "0 1 * * *"}
  beta:
    members: [arn:aws:iam::123456789012:role/beta-engineers]
    gpu_pools: {train: {accelerator: l4, max_nodes: 1}, serve: {accelerator: l4, max_nodes: 1}}
    buckets: {data: {}}
    pipelines:
      weekly: {template: "s3://duo-templates/beta.json", schedule: "0 2 * * 1"}
"""
ORGS = {"gcp-two-teams": TWO_TEAMS_GCP, "aws-two-teams": TWO_TEAMS_AWS,
        "many-teams": ROOT / "examples" / "many-teams.yaml", "aws": ROOT / "examples" / "aws.yaml"}


@cache
def resolved(org: str) -> EnvSpec:
    source = ORGS[org]
    loaded = (load(source) if isinstance(source, Path)
              else load_text(source, f"{org}.yaml", base_dir=ROOT))
    return resolve(loaded, "dev")


@cache
def planned(org: str) -> tuple[EnvSpec, Plan]:
    return resolved(org), plan(resolved(org))


def pairs(*orgs: str) -> list[Any]:
    out = []
    for org in orgs:
        spec = resolved(org)
        out += [pytest.param(org, a, b, id=f"{org}:{a}->{b}")
                for a, b in permutations(sorted(spec.teams), 2)]
    return out


GCP_ORGS = ("gcp-two-teams", "many-teams")
AWS_ORGS = ("aws-two-teams", "aws")


# --- GCP IAM ----------------------------------------------------------------------------------

def gcp_principals(env: EnvSpec, team: TeamSpec) -> set[str]:
    """Every IAM principal that is team A: its people, its service accounts, its pods."""
    names = team.names
    accounts = [names.workload_identity, names.pipeline_identity, names.scheduler_identity]
    return ({*team.members}
            | {f"serviceAccount:{a}@{env.project}.iam.gserviceaccount.com"
               for a in accounts if a}
            | {f"serviceAccount:{env.project}.svc.id.goog[{names.namespace}/"
               f"{names.service_account}]"})


def gcp_owned(env: EnvSpec, team: TeamSpec) -> dict[str, set[str]]:
    names = team.names
    return {
        "bucket": {b.bucket_name for b in team.buckets.values()}
        | ({names.pipeline_root_bucket} if names.pipeline_root_bucket else set()),
        "repository": {names.container_registry}
        | ({names.pipeline_registry} if names.pipeline_registry else set()),
        "serviceAccountId": {
            f"projects/{env.project}/serviceAccounts/{a}@{env.project}.iam.gserviceaccount.com"
            for a in (names.workload_identity, names.pipeline_identity,
                      names.scheduler_identity) if a},
    }


def grants(result: Plan) -> list[dict[str, Any]]:
    return [r.inputs for r in result.resources
            if r.type.startswith("gcp:") and r.type.lower().endswith("iammember")]


@pytest.mark.parametrize(("org", "a", "b"), pairs(*GCP_ORGS))
def test_gcp_a_holds_nothing_on_bs_buckets_registries_or_identities(org, a, b):
    env, result = planned(org)
    mine = gcp_principals(env, env.teams[a]) - gcp_principals(env, env.teams[b])
    theirs = gcp_owned(env, env.teams[b])
    leaks = [f"{g['role']} on {key} {g[key]} to {g['member']}"
             for g in grants(result) for key, owned in theirs.items()
             if g.get(key) in owned and g["member"] in mine]
    assert not leaks, f"{org}: team {a} is granted on team {b}'s resources: {leaks}"


@pytest.mark.parametrize("org", GCP_ORGS)
def test_gcp_team_project_roles_reach_no_bucket_registry_or_identity(org):
    """Project-wide, a team holds only roles without storage, Artifact Registry or service
    account permissions (role contents from Google's predefined roles, tests/data)."""
    env, result = planned(org)
    team_principals = set().union(*(gcp_principals(env, t) for t in env.teams.values()))
    admins = set(env.platform.admins)
    roles = {g["role"] for g in grants(result) if "bucket" not in g and "repository" not in g
             and "serviceAccountId" not in g and "cryptoKeyId" not in g
             and g["member"] in team_principals - admins}
    assert roles, "no project roles found for the teams"
    for role in sorted(roles):
        perms = ROLES["roles"].get(role)
        assert perms is not None, f"{role}: not in components/data/gcp_roles.json, add it"
        reach = [p for p in perms if p.startswith(("storage.", "artifactregistry.",
                                                  "iam.serviceAccounts.", "secretmanager."))]
        assert not reach, f"{org}: teams hold {role} project-wide, which grants {reach}"


@pytest.mark.parametrize("org", GCP_ORGS)
def test_gcp_vertex_custom_code_agent_loses_its_project_role(org):
    env, result = planned(org)
    role = ROLES["roles"][CUSTOM_CODE_AGENT_ROLE]
    # Why: the agent a CustomJob without a service account runs as reads every bucket and
    # mints tokens for every service account of the project.
    assert {"storage.objects.get", "iam.serviceAccounts.getAccessToken"} <= set(role)
    [agent] = [r for r in result.of_type("gcp:projects/serviceIdentity:ServiceIdentity")
               if r.inputs["service"] == "aiplatform.googleapis.com"
               and r.parent and "Services" in r.parent]
    number = str(agent.outputs["email"]).split("@")[0]
    removed = [r.inputs for r in result.of_type("gcp:projects/iamMemberRemove:IamMemberRemove")]
    assert removed == [{"project": env.project, "role": CUSTOM_CODE_AGENT_ROLE,
                        "member": f"serviceAccount:{number}@gcp-sa-aiplatform-cc"
                                  ".iam.gserviceaccount.com"}], removed


@pytest.mark.parametrize(("org", "a", "b"), pairs("gcp-two-teams"))
def test_gcp_bs_pipelines_run_as_bs_identities(org, a, b):
    env, result = planned(org)
    other = env.teams[b]
    email = f"@{env.project}.iam.gserviceaccount.com"
    for job in result.of_type("gcp:cloudscheduler/job:Job"):
        target = job.inputs["httpTarget"]
        if job.inputs["name"] not in {p.job_name for p in other.pipelines.values()}:
            continue
        body = json.loads(base64.b64decode(target["body"]))
        assert target["oauthToken"]["serviceAccountEmail"] == \
            f"{other.names.scheduler_identity}{email}"
        assert body["serviceAccount"] == f"{other.names.pipeline_identity}{email}", \
            f"team {b}'s scheduled run must run as {b}'s pipeline identity, never {a}'s"


# --- AWS IAM ----------------------------------------------------------------------------------

def aws_roles(team: TeamSpec) -> list[str]:
    names = team.names
    return [n for n in (names.member_role, names.workload_identity, names.pipeline_identity,
                        names.scheduler_identity if team.pipelines else None) if n]


def aws_calls(env: EnvSpec, team: TeamSpec, key_arn: str) -> list[tuple[str, str, dict]]:
    """What reaching team B's things takes: (action, resource, request context)."""
    acct, region = env.account, env.region
    calls: list[tuple[str, str, dict]] = []
    for bucket in [b.bucket_name for b in team.buckets.values()] + (
            [team.names.pipeline_root_bucket] if team.names.pipeline_root_bucket else []):
        arn = f"arn:aws:s3:::{bucket}"
        ctx = {"kms:ViaService": f"s3.{region}.amazonaws.com",
               "kms:EncryptionContext:aws:s3:arn": arn}
        calls += [("s3:ListBucket", arn, {}), ("s3:GetObject", f"{arn}/k", {}),
                  ("s3:PutObject", f"{arn}/k", {}), ("s3:DeleteObject", f"{arn}/k", {}),
                  ("kms:Decrypt", key_arn, ctx), ("kms:GenerateDataKey", key_arn, ctx)]
    repo = f"arn:aws:ecr:{region}:{acct}:repository/{team.names.container_registry}/trainer"
    calls += [(a, repo, {}) for a in ("ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer",
                                      "ecr:PutImage", "ecr:InitiateLayerUpload",
                                      "ecr:BatchDeleteImage")]
    group = team.names.model_registry
    calls += [("sagemaker:CreateModelPackage",
               f"arn:aws:sagemaker:{region}:{acct}:model-package/{group}/1", {}),
              ("sagemaker:DescribeModelPackageGroup",
               f"arn:aws:sagemaker:{region}:{acct}:model-package-group/{group}", {})]
    for p in team.pipelines.values():
        arn = f"arn:aws:sagemaker:{region}:{acct}:pipeline/{p.pipeline_name.lower()}"
        calls += [("sagemaker:StartPipelineExecution", arn, {}),
                  ("sagemaker:UpdatePipeline", arn, {})]
    for role in aws_roles(team):
        arn = f"arn:aws:iam::{acct}:role/{role}"
        calls += [("iam:PassRole", arn, {}), ("sts:AssumeRole", arn, {})]
    return calls


def identity_policies(result: Plan, role: str) -> list[dict[str, Any]]:
    docs = [json.loads(r.inputs["policy"]) for r in result.of_type("aws:iam/rolePolicy:RolePolicy")
            if r.inputs.get("role") == role]
    attached = [r.inputs["policyArn"] for r in result.of_type(
        "aws:iam/rolePolicyAttachment:RolePolicyAttachment") if r.inputs.get("role") == role]
    assert not attached, f"team role {role} has managed policies the evaluator cannot see: " \
                         f"{attached}"
    return docs


def trust(result: Plan, role: str) -> dict[str, Any]:
    [r] = [r for r in result.of_type("aws:iam/role:Role") if r.inputs.get("name") == role]
    return json.loads(r.inputs["assumeRolePolicy"])


@pytest.mark.parametrize(("org", "a", "b"), pairs(*AWS_ORGS))
def test_aws_as_roles_reach_nothing_of_bs(org, a, b):
    env, result = planned(org)
    [key] = result.of_type("aws:kms/key:Key")
    calls = aws_calls(env, env.teams[b], str(key.outputs["arn"]))
    for role in aws_roles(env.teams[a]):
        docs = identity_policies(result, role)
        for action, resource, ctx in calls:
            decision = evaluate(docs, action, resource, ctx)
            assert not decision.allowed, (
                f"{org}: team {a}'s role {role} may {action} on team {b}'s {resource} "
                f"{ctx or ''} (statement {decision.reason})")


@pytest.mark.parametrize(("org", "a", "b"), pairs(*AWS_ORGS))
def test_aws_bs_roles_trust_nothing_of_as(org, a, b):
    env, result = planned(org)
    other = env.teams[b]
    workload = trust(result, other.names.workload_identity)
    cluster = f"arn:aws:eks:{env.region}:{env.account}:cluster/{env.platform.cluster_name}"

    def pod_identity(namespace: str) -> dict[str, str]:
        return {"aws:RequestTag/eks-cluster-arn": cluster, "aws:SourceAccount": env.account,
                "aws:RequestTag/kubernetes-namespace": namespace,
                "aws:RequestTag/kubernetes-service-account": namespace}

    assert evaluate([workload], "sts:AssumeRole", "*", pod_identity(b)).allowed, \
        f"{b}'s pods must be able to use {b}'s workload role (the test must be able to say yes)"
    assert not evaluate([workload], "sts:AssumeRole", "*", pod_identity(a)).allowed, \
        f"{org}: pods of {a}'s namespace may assume {b}'s workload role"
    members = trust(result, other.names.member_role)
    principals = {p for s in members["Statement"] for p in s["Principal"]["AWS"]}
    assert not principals & set(env.teams[a].members) - set(other.members), \
        f"{org}: {a}'s people may assume {b}'s member role"
    associations = [r.inputs for r in result.of_type(
        "aws:eks/podIdentityAssociation:PodIdentityAssociation")
        if r.inputs["namespace"] == other.names.namespace]
    assert [x["roleArn"].rsplit("/", 1)[-1] for x in associations] == \
        [other.names.workload_identity], f"{org}: {b}'s namespace gets another team's role"


@pytest.mark.parametrize(("org", "a", "b"), pairs(*AWS_ORGS))
def test_aws_as_member_role_edits_only_its_namespace(org, a, b):
    env, result = planned(org)
    arn = f"arn:aws:iam::{env.account}:role/{env.teams[a].names.member_role}"
    scopes = [r.inputs["accessScope"] for r in result.of_type(
        "aws:eks/accessPolicyAssociation:AccessPolicyAssociation")
        if r.inputs["principalArn"] == arn]
    assert scopes and all(s["type"] == "namespace" and env.teams[b].names.namespace
                          not in s["namespaces"] for s in scopes), \
        f"{org}: {a}'s member role reaches {b}'s namespace: {scopes}"


# --- Kubernetes: RBAC, admission, network -----------------------------------------------------

def k8s(result: Plan, kind: str) -> list[dict[str, Any]]:
    return [r.inputs for r in result.resources
            if r.type.startswith("kubernetes:") and r.type.endswith(f":{kind}")]


@pytest.mark.parametrize(("org", "a", "b"), pairs(*GCP_ORGS, *AWS_ORGS))
def test_rbac_gives_a_nothing_in_bs_namespace(org, a, b):
    env, result = planned(org)
    mine = {m.partition(":")[2] or m for m in env.teams[a].members} - \
        {m.partition(":")[2] or m for m in env.teams[b].members}
    theirs = env.teams[b].names.namespace
    for binding in k8s(result, "RoleBinding") + k8s(result, "ClusterRoleBinding"):
        subjects = {s["name"] for s in binding.get("subjects", [])}
        where = binding["metadata"].get("namespace")
        assert not (where in (theirs, None) and subjects & mine), (
            f"{org}: {binding['metadata']['name']} gives {sorted(subjects & mine)} of team {a} "
            f"rights in {where or 'the whole cluster'}")


@pytest.mark.parametrize(("org", "a", "b"), pairs(*GCP_ORGS, *AWS_ORGS))
def test_admission_keeps_a_off_bs_pools_and_images(org, a, b):
    _, result = planned(org)
    admission = Admission.of(result)
    outputs = result.outputs["teams"]
    labels = {"trellis.dev/team": a}
    image = outputs[b]["container_registry"] + "/server:1"
    assert admission.refusals(pod({"containers": [{"name": "c", "image": image}]}), a, labels), \
        f"{org}: a pod in {a}'s namespace runs {b}'s image {image}"
    for pool, c in outputs[b]["gpu_pools"].items():
        body = {"containers": [{"name": "c", "image": "python:3.11"}],
                "nodeSelector": dict(c["node_selector"]), "tolerations": list(c["tolerations"])}
        assert admission.refusals(pod(body), a, labels), \
            f"{org}: a pod in {a}'s namespace may use {b}'s pool {pool}"


def _selects(peer: dict[str, Any], namespace: str, labels: dict[str, str],
             policy_namespace: str) -> bool:
    """A NetworkPolicy peer admits pods of ``namespace`` (any pod of it)."""
    if "ipBlock" in peer:
        return True  # pod IPs are in the cluster's ranges: an ipBlock may cover them
    if "namespaceSelector" not in peer:
        return namespace == policy_namespace  # podSelector alone: the policy's own namespace
    return selector_matches(peer["namespaceSelector"], {**labels, NAMESPACE_NAME_LABEL: namespace})


@pytest.mark.parametrize(("org", "a", "b"), pairs(*GCP_ORGS, *AWS_ORGS))
def test_no_network_path_from_a_into_bs_pods(org, a, b):
    env, result = planned(org)
    namespaces = {ns["metadata"]["name"]: ns["metadata"]["labels"]
                  for ns in k8s(result, "Namespace")}
    theirs = env.teams[b].names.namespace
    policies = [p for p in k8s(result, "NetworkPolicy") if p["metadata"]["namespace"] == theirs]
    deny = [p for p in policies if p["metadata"]["name"] == DENY_INGRESS_POLICY]
    assert deny and deny[0]["spec"] == {"podSelector": {}, "policyTypes": ["Ingress"]}, \
        f"{org}: {b}'s namespace has no default-deny ingress policy"
    mine = env.teams[a].names.namespace
    for p in policies:
        for rule in p["spec"].get("ingress", []):
            peers = rule.get("from")
            assert peers, f"{org}: {p['metadata']['name']} in {theirs} admits every source"
            assert not any(_selects(peer, mine, namespaces[mine], theirs) for peer in peers), \
                f"{org}: {p['metadata']['name']} lets pods of {a}'s namespace reach {b}'s pods"
