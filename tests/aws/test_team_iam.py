"""Issue 18.4: every command of a team's guide is allowed by the planned IAM on the team's own
resources and refused on every other team's; every action Trellis writes exists.

The member role is evaluated with :mod:`components.aws.iam_eval` over the policies in the plan
(its inline policy; the environment key keeps the default key policy, which delegates to IAM).
Action names are checked against botocore's service models, the AWS SDK's own description of
every API operation (plus the few permission-only actions IAM defines, each cited).
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

import pytest

from components.aws.iam_eval import actions_of, evaluate
from stacks.org.spec import EnvSpec, TeamSpec
from stacks.plan.engine import Plan

botocore_session = pytest.importorskip("botocore.session")


# ---- the guide's commands as API calls -------------------------------------------------------

def _policies(plan: Plan, role_name: str) -> list[dict[str, Any]]:
    docs = [json.loads(r.inputs["policy"]) for r in plan.of_type("aws:iam/rolePolicy:RolePolicy")
            if r.inputs.get("role") == role_name]
    assert docs, f"role {role_name}: no inline policy in the plan"
    return docs


def guide_calls(env: EnvSpec, team: TeamSpec) -> list[tuple[str, str, str, dict[str, Any]]]:
    """(command, action, resource ARN, request context) for each call the guide makes.

    The commands are the ones stacks/handoff/recipes.py prints for the team; the actions
    they need are from the AWS documentation of each command (cited beside each).
    """
    acct, region = env.account, env.region
    prefix = team.names.container_registry
    repo = f"arn:aws:ecr:{region}:{acct}:repository/{prefix}/trainer"
    calls: list[tuple[str, str, str, dict[str, Any]]] = [
        # https://docs.aws.amazon.com/eks/latest/userguide/create-kubeconfig.html
        ("aws eks update-kubeconfig", "eks:DescribeCluster",
         f"arn:aws:eks:{region}:{acct}:cluster/{env.platform.cluster_name}", {}),
        # https://docs.aws.amazon.com/AmazonECR/latest/userguide/registry_auth.html
        ("aws ecr get-login-password", "ecr:GetAuthorizationToken", "*", {}),
    ]
    # https://docs.aws.amazon.com/AmazonECR/latest/userguide/image-push-iam.html; the first
    # push of a new name creates the repository (CREATE_ON_PUSH creation template)
    for action in ("ecr:CreateRepository", "ecr:BatchCheckLayerAvailability",
                   "ecr:InitiateLayerUpload", "ecr:UploadLayerPart", "ecr:CompleteLayerUpload",
                   "ecr:PutImage", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"):
        calls.append(("docker push / pull", action, repo, {}))
    # https://docs.aws.amazon.com/AmazonS3/latest/userguide/using-with-s3-policy-actions.html;
    # SSE-KMS with bucket keys: the encryption context is the bucket ARN
    for b in team.buckets.values():
        bucket = f"arn:aws:s3:::{b.bucket_name}"
        kms_ctx = {"kms:ViaService": f"s3.{region}.amazonaws.com",
                   "kms:EncryptionContext:aws:s3:arn": bucket}
        calls += [
            ("aws s3 ls", "s3:ListBucket", bucket, {}),
            ("aws s3 cp (upload)", "s3:PutObject", f"{bucket}/raw/data.csv", {}),
            ("aws s3 cp (upload)", "kms:GenerateDataKey", KEY, kms_ctx),
            ("aws s3 cp (download)", "s3:GetObject", f"{bucket}/raw/data.csv", {}),
            ("aws s3 cp (download)", "kms:Decrypt", KEY, kms_ctx),
            ("aws s3 sync", "s3:ListBucket", bucket, {}),
        ]
    # https://docs.aws.amazon.com/sagemaker/latest/dg/build-and-manage-access.html
    for p in team.pipelines.values():
        pipeline = f"arn:aws:sagemaker:{region}:{acct}:pipeline/{p.pipeline_name.lower()}"
        calls += [
            ("aws sagemaker start-pipeline-execution", "sagemaker:StartPipelineExecution",
             pipeline, {}),
            ("aws sagemaker list-pipeline-executions", "sagemaker:ListPipelineExecutions",
             pipeline, {}),
            ("aws sagemaker describe-pipeline-execution", "sagemaker:DescribePipelineExecution",
             f"{pipeline}/execution/abc123", {}),
        ]
        if p.template_is_uri:
            # "Publish a new version": aws s3 cp ./definition.json s3://<bucket>/<key>
            calls.append(("aws s3 cp ./definition.json (publish)", "s3:PutObject",
                          f"arn:aws:s3:::{p.template.removeprefix('s3://')}", {}))
    return calls


KEY = "arn:aws:kms:{region}:{account}:key/*"


def _key(plan: Plan) -> str:
    [key] = plan.of_type("aws:kms/key:Key")
    return str(key.outputs["arn"])


def _calls(env: EnvSpec, plan: Plan, team: TeamSpec) -> list[tuple[str, str, str, dict]]:
    key = _key(plan)
    return [(c, a, key if r == KEY else r, ctx) for c, a, r, ctx in guide_calls(env, team)]


@pytest.fixture(scope="module", params=["dev", "prod"])
def env_and_plan(request, dev_env, prod_env, dev_plan, prod_plan):
    return {"dev": (dev_env, dev_plan), "prod": (prod_env, prod_plan)}[request.param]


def test_every_guide_command_is_allowed_on_the_teams_own_resources(env_and_plan):
    env, plan = env_and_plan
    for team in env.teams.values():
        docs = _policies(plan, str(team.names.member_role))
        for command, action, resource, ctx in _calls(env, plan, team):
            decision = evaluate(docs, action, resource, ctx)
            assert decision.allowed, (
                f"{env.name}/{team.name}: `{command}` needs {action} on {resource} "
                f"{ctx or ''}; the member role {team.names.member_role} refuses it "
                f"({decision.reason})")


def test_no_guide_command_reaches_another_teams_resources(env_and_plan):
    env, plan = env_and_plan
    teams = list(env.teams.values())
    assert len(teams) >= 2, "the example must have several teams for this test to mean much"
    for team in teams:
        docs = _policies(plan, str(team.names.member_role))
        for other in teams:
            if other.name == team.name:
                continue
            for command, action, resource, ctx in _calls(env, plan, other):
                if resource == "*" or action == "eks:DescribeCluster":
                    # Shared by design: the ECR login token is per registry, the cluster is
                    # the environment's (what is per team there is the namespace, below).
                    continue
                decision = evaluate(docs, action, resource, ctx)
                assert not decision.allowed, (
                    f"{env.name}: team {team.name}'s member role may run `{command}` "
                    f"({action}) on team {other.name}'s {resource} {ctx or ''} "
                    f"(statement {decision.reason})")


def test_workload_role_uses_the_key_for_its_own_buckets_only(dev_env, dev_plan):
    teams = list(dev_env.teams.values())
    for team in teams:
        docs = _policies(dev_plan, team.names.workload_identity)
        for other in teams:
            for b in other.buckets.values():
                ctx = {"kms:ViaService": f"s3.{dev_env.region}.amazonaws.com",
                       "kms:EncryptionContext:aws:s3:arn": f"arn:aws:s3:::{b.bucket_name}"}
                decision = evaluate(docs, "kms:Decrypt", _key(dev_plan), ctx)
                assert decision.allowed is (other.name == team.name), (
                    f"workload role of {team.name}: kms:Decrypt through S3 for bucket "
                    f"{b.bucket_name} of {other.name} must be "
                    f"{'allowed' if other.name == team.name else 'refused'} ({decision.reason})")


def test_member_role_edits_its_namespace_through_its_access_entry(dev_env, dev_plan):
    assocs = dev_plan.of_type("aws:eks/accessPolicyAssociation:AccessPolicyAssociation")
    for team in dev_env.teams.values():
        arn = f"arn:aws:iam::{dev_env.account}:role/{team.names.member_role}"
        mine = [a.inputs for a in assocs if a.inputs["principalArn"] == arn]
        assert mine == [{**mine[0], "policyArn":
                         "arn:aws:eks::aws:cluster-access-policy/AmazonEKSEditPolicy",
                         "accessScope": {"type": "namespace", "namespaces": [team.name]}}], \
            f"team {team.name}: kubectl through the member role edits namespace {team.name} only"


# ---- the evaluator can say no ----------------------------------------------------------------

DOC = {"Statement": [
    {"Sid": "A", "Effect": "Allow", "Action": ["s3:Get*"], "Resource": ["arn:aws:s3:::b/*"]},
    {"Sid": "K", "Effect": "Allow", "Action": ["kms:Decrypt"], "Resource": ["*"],
     "Condition": {"StringEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com"}}},
    {"Sid": "D", "Effect": "Deny", "Action": ["s3:GetObject"], "Resource": ["arn:aws:s3:::b/x"]},
]}


@pytest.mark.parametrize(("action", "resource", "ctx", "allowed"), [
    ("s3:GetObject", "arn:aws:s3:::b/k", {}, True),
    ("S3:getobject", "arn:aws:s3:::b/k", {}, True),  # action names are case-insensitive
    ("s3:GetObject", "arn:aws:s3:::B/k", {}, False),  # resources are not
    ("s3:GetObject", "arn:aws:s3:::b/x", {}, False),  # explicit deny wins
    ("s3:PutObject", "arn:aws:s3:::b/k", {}, False),  # implicit deny
    ("kms:Decrypt", "k", {"kms:ViaService": "s3.us-east-1.amazonaws.com"}, True),
    ("kms:Decrypt", "k", {"kms:ViaService": "ecr.us-east-1.amazonaws.com"}, False),
    ("kms:Decrypt", "k", {}, False),  # a condition key absent from the request
])
def test_evaluator(action, resource, ctx, allowed):
    assert evaluate([DOC], action, resource, ctx).allowed is allowed


# ---- every action exists -----------------------------------------------------------------------

#: IAM actions that are permissions, not API operations: each authorizes the operation(s)
#: listed, which must exist in botocore. AWS Service Authorization Reference:
#: https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazons3.html,
#: .../list_awsidentityandaccessmanagementiam.html, .../list_awssecuritytokenservice.html
PERMISSION_ONLY = {
    "s3:ListBucket": ("s3", ("ListObjectsV2", "ListObjects", "HeadBucket")),
    "s3:GetObjectVersion": ("s3", ("GetObject",)),  # GetObject with a versionId
    "s3:ListBucketMultipartUploads": ("s3", ("ListMultipartUploads",)),
    "s3:ListMultipartUploadParts": ("s3", ("ListParts",)),
    "iam:PassRole": ("iam", ()),  # checked when a service is given a role (CreatePipeline...)
    "sts:TagSession": ("sts", ("AssumeRole",)),  # session tags on AssumeRole
    "sts:SetSourceIdentity": ("sts", ("AssumeRole",)),  # SourceIdentity on AssumeRole
}


@cache
def _session():
    return botocore_session.get_session()


@cache
def _service_operations(prefix: str) -> frozenset[str]:
    """Every API operation botocore knows for an IAM service prefix: the service of that
    name (s3, eks, sagemaker...) when its signing name is the prefix, else every service
    signing as it."""
    session = _session()
    try:
        model = session.get_service_model(prefix)
        if (model.metadata.get("signingName") or model.endpoint_prefix) == prefix:
            return frozenset(model.operation_names)
    except Exception:  # noqa: BLE001 - botocore's UnknownServiceError: scan below
        pass
    found: set[str] = set()
    for service in session.get_component("data_loader").list_available_services("service-2"):
        model = session.get_service_model(service)
        if (model.metadata.get("signingName") or model.endpoint_prefix) == prefix:
            found.update(model.operation_names)
    return frozenset(found)


def _operations() -> dict[str, frozenset[str]]:
    return {p: _service_operations(p) for p in ("s3", "iam", "sts")}


def _exists(action: str) -> bool:
    if action in PERMISSION_ONLY:
        return True
    prefix, _, operation = action.partition(":")
    return operation in _service_operations(prefix)


def test_permission_only_actions_authorize_real_operations():
    for action, (prefix, operations) in PERMISSION_ONLY.items():
        for op in operations:
            assert op in _operations()[prefix], f"{action}: botocore has no {prefix} {op}"


def test_every_action_in_every_planned_policy_exists(env_and_plan):
    _, plan = env_and_plan
    missing = set()
    checked = 0
    for r in plan.resources:
        for key in ("policy", "assumeRolePolicy"):
            text = r.inputs.get(key)
            if not (isinstance(text, str) and text.lstrip().startswith("{")):
                continue
            for action in actions_of(json.loads(text)):
                checked += 1
                if "*" not in action and not _exists(action):
                    missing.add(f"{r.name} ({r.type}): {action}")
    assert checked > 100, "the plan's policies were not found"
    assert not missing, ("actions no AWS API defines (typo, or a permission-only action "
                         f"missing from PERMISSION_ONLY with its source): {sorted(missing)}")
