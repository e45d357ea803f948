"""Promises as data: what each step of a team's page needs, checked against the planned grants.

Every step the page tells a team to take (connect, push an image, use the buckets, run a GPU
Job, serve, start a pipeline, publish a template, register a model) declares what it needs:

* cloud permissions of the person or workload that runs it, on a named resource: GCP
  permissions resolved from the planned role bindings through Google's predefined roles
  (:mod:`components.gcp.roles`; a project binding covers the project's resources); AWS actions
  evaluated over the planned identity policies of the team role, the team role's trust policy
  for each member, and the KMS key policy (:mod:`components.aws.iam_eval`);
* Kubernetes verbs in the team's namespace, from the planned RoleBindings (GKE) or EKS access
  policy associations, through the user-facing roles' rules (:mod:`components.k8s.roles`); on
  GKE a ``group:`` member counts only when the cluster has Google Groups for RBAC;
* the network path to the cluster API (GKE DNS endpoint; EKS public endpoint CIDRs), stated as
  a condition the page prints.

:func:`check` returns one :class:`Verdict` per step: backed, or what is missing and of whom
to ask for it. The page prints the request beside an unbacked step; ``trellis handoff
--strict`` exits 1 when any step is unbacked (ADR 37).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from components.aws import iam_eval
from components.gcp.roles import UnknownRoleError, permissions
from components.k8s.roles import allows

if TYPE_CHECKING:
    from stacks.handoff.model import TeamEnv
    from stacks.plan.engine import Plan

MEMBERS, WORKLOAD, PIPELINE = "members", "workload", "pipeline"


@dataclass(frozen=True)
class CloudNeed:
    """``actor`` (members, workload, pipeline) may ``permission`` on ``resource``.

    GCP: ``resource`` is ``(kind, id)`` with kind project, bucket, repository or sa. AWS: an ARN
    (``kind`` is ``arn``) with the request ``context`` the call carries.
    """

    actor: str
    permission: str
    kind: str
    resource: str
    context: tuple[tuple[str, str], ...] = ()

    def text(self) -> str:
        where = self.resource if self.kind == "arn" else f"{self.kind} {self.resource}"
        return f"{self.permission} on {where}"


@dataclass(frozen=True)
class KubeNeed:
    """Members may ``verb`` ``resource`` (of ``api_group``) in the team's namespace."""

    verb: str
    resource: str
    api_group: str = ""

    def text(self, namespace: str) -> str:
        group = f"{self.api_group}/" if self.api_group else ""
        return f"kubectl {self.verb} {group}{self.resource} in namespace {namespace}"


Need = CloudNeed | KubeNeed


@dataclass(frozen=True)
class Step:
    key: str  # connect, push-image, buckets, gpu-job, serve, pipeline-run, ...
    title: str
    needs: tuple[Need, ...]
    #: On a resource outside the stack (a bucket Trellis does not own): the page prints the
    #: command only when the plan backs it, else the request to make; never a broken promise.
    outside: bool = False


@dataclass(frozen=True)
class Verdict:
    step: Step
    missing: tuple[str, ...] = ()  # each unmet need, for whom
    conditions: tuple[str, ...] = ()  # what must hold outside the plan (printed, not checked)

    @property
    def backed(self) -> bool:
        return not self.missing


@dataclass(frozen=True)
class Promises:
    verdicts: tuple[Verdict, ...] = ()
    network: str = ""  # who can reach the cluster API, from the planned cluster
    evaluated: bool = True  # False: built without a plan (tests of the renderers)

    def get(self, key: str) -> Verdict | None:
        return next((v for v in self.verdicts if v.step.key == key), None)

    @property
    def unbacked(self) -> tuple[Verdict, ...]:
        """Steps the page promises and the plan does not grant (``--strict`` fails on them)."""
        return tuple(v for v in self.verdicts if not v.backed and not v.step.outside)

    @property
    def asks(self) -> tuple[Verdict, ...]:
        """Steps on resources outside the stack that the page prints as a request."""
        return tuple(v for v in self.verdicts if not v.backed and v.step.outside)


# --------------------------------------------------------------------------------------------
# The steps of a team's page and what each needs
# --------------------------------------------------------------------------------------------

JOB_VERBS = (KubeNeed("create", "jobs", "batch"), KubeNeed("delete", "jobs", "batch"),
             KubeNeed("watch", "pods"), KubeNeed("get", "pods/log"))
SERVE_VERBS = (KubeNeed("create", "deployments", "apps"), KubeNeed("create", "services"),
               KubeNeed("create", "networkpolicies", "networking.k8s.io"),
               KubeNeed("get", "pods/log"))


def _bucket_name(uri: str) -> str:
    return uri.split("://", 1)[-1].split("/", 1)[0]


def gcp_steps(te: TeamEnv) -> list[Step]:
    project = str(te.project)
    sa = f"projects/{project}/serviceAccounts/"
    repo = te.container_registry.rsplit("/", 1)[-1]
    steps = [Step("connect", "Connect kubectl", (
        CloudNeed(MEMBERS, "container.clusters.get", "project", project),
        CloudNeed(MEMBERS, "container.clusters.connect", "project", project),
        KubeNeed("list", "pods"))),
        Step("push-image", "Build and push an image", (
            CloudNeed(MEMBERS, "artifactregistry.repositories.uploadArtifacts", "repository",
                      repo),
            CloudNeed(MEMBERS, "artifactregistry.repositories.downloadArtifacts", "repository",
                      repo)))]
    buckets = [b.name for b in te.buckets.values()]
    if buckets:
        steps.append(Step("buckets", "Read and write the buckets", tuple(
            CloudNeed(actor, perm, "bucket", name) for name in buckets
            for actor in (MEMBERS, WORKLOAD)
            for perm in ("storage.objects.list", "storage.objects.get",
                         "storage.objects.create"))))
    if te.pools:
        steps += [Step("gpu-job", "Run a Job on a GPU pool", JOB_VERBS),
                  Step("serve", "Serve a model on a GPU pool", SERVE_VERBS)]
    if te.pipelines and te.pipeline_identity:
        # A local template's copy is read from the pipeline root; a gs:// template's request
        # is read from the scheduler job (its copy is named only at `pulumi up`).
        roots = sorted({_bucket_name(p.template_uri or "") for p in te.pipelines.values()
                        if p.template_local and (p.template_uri or "").startswith("gs://")})
        from_schedule = any(not p.template_local for p in te.pipelines.values())
        steps.append(Step("pipeline-run", "Start a pipeline run", (
            CloudNeed(MEMBERS, "aiplatform.pipelineJobs.create", "project", project),
            CloudNeed(MEMBERS, "aiplatform.pipelineJobs.get", "project", project),
            CloudNeed(MEMBERS, "iam.serviceAccounts.actAs", "sa", sa + te.pipeline_identity),
            *(CloudNeed(MEMBERS, "storage.objects.get", "bucket", b) for b in roots),
            *((CloudNeed(MEMBERS, "cloudscheduler.jobs.get", "project", project),
               CloudNeed(MEMBERS, "cloudscheduler.jobs.fullView", "project", project))
              if from_schedule else ()))))
        external = sorted({_bucket_name(p.template) for p in te.pipelines.values()
                           if p.template.startswith("gs://")})
        if external:
            steps.append(Step("pipeline-publish", "Publish a new template version", tuple(
                CloudNeed(MEMBERS, "storage.objects.create", "bucket", b) for b in external),
                outside=True))
    if te.pipeline_registry:
        kfp = te.pipeline_registry.rstrip("/").rsplit("/", 1)[-1]
        steps.append(Step("pipeline-template", "Push a pipeline template", (
            CloudNeed(MEMBERS, "artifactregistry.repositories.uploadArtifacts", "repository",
                      kfp),
            CloudNeed(MEMBERS, "artifactregistry.repositories.downloadArtifacts", "repository",
                      kfp))))
    steps.append(Step("model-registry", "Register a model version", (
        CloudNeed(MEMBERS, "aiplatform.models.upload", "project", project),
        CloudNeed(MEMBERS, "aiplatform.models.list", "project", project))))
    return steps


def aws_steps(te: TeamEnv, key_arn: str) -> list[Step]:
    acct, region = te.account, te.region
    prefix = te.container_registry.split("/", 1)[-1]
    repo = f"arn:aws:ecr:{region}:{acct}:repository/{prefix}/trainer"
    steps = [Step("connect", "Connect kubectl", (
        CloudNeed(MEMBERS, "eks:DescribeCluster", "arn",
                  f"arn:aws:eks:{region}:{acct}:cluster/{te.cluster_name}"),
        KubeNeed("list", "pods"))),
        Step("push-image", "Build and push an image", tuple(
            CloudNeed(MEMBERS, a, "arn", "*" if a == "ecr:GetAuthorizationToken" else repo)
            for a in ("ecr:GetAuthorizationToken", "ecr:CreateRepository",
                      "ecr:BatchCheckLayerAvailability", "ecr:InitiateLayerUpload",
                      "ecr:UploadLayerPart", "ecr:CompleteLayerUpload", "ecr:PutImage",
                      "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer")))]
    needs: list[Need] = []
    for b in te.buckets.values():
        arn = f"arn:aws:s3:::{b.name}"
        ctx = (("kms:ViaService", f"s3.{region}.amazonaws.com"),
               ("kms:EncryptionContext:aws:s3:arn", arn))
        for actor in (MEMBERS, WORKLOAD):
            needs += [CloudNeed(actor, "s3:ListBucket", "arn", arn),
                      CloudNeed(actor, "s3:PutObject", "arn", f"{arn}/examples/hello.txt"),
                      CloudNeed(actor, "s3:GetObject", "arn", f"{arn}/examples/hello.txt")]
            if key_arn:
                needs += [CloudNeed(actor, "kms:GenerateDataKey", "arn", key_arn, ctx),
                          CloudNeed(actor, "kms:Decrypt", "arn", key_arn, ctx)]
    if needs:
        steps.append(Step("buckets", "Read and write the buckets", tuple(needs)))
    if te.pools:
        steps += [Step("gpu-job", "Run a Job on a GPU pool", JOB_VERBS),
                  Step("serve", "Serve a model on a GPU pool", SERVE_VERBS)]
    if te.pipelines:
        steps.append(Step("pipeline-run", "Start a pipeline run", tuple(
            CloudNeed(MEMBERS, a, "arn",
                      f"arn:aws:sagemaker:{region}:{acct}:pipeline/{p.pipeline_name.lower()}")
            for p in te.pipelines.values()
            for a in ("sagemaker:StartPipelineExecution", "sagemaker:ListPipelineExecutions"))))
    group = te.model_registry.lower()
    steps.append(Step("model-registry", "Register a model version", (
        CloudNeed(MEMBERS, "sagemaker:CreateModelPackage", "arn",
                  f"arn:aws:sagemaker:{region}:{acct}:model-package/{group}/1"),
        CloudNeed(MEMBERS, "sagemaker:ListModelPackages", "arn",
                  f"arn:aws:sagemaker:{region}:{acct}:model-package-group/{group}"))))
    return steps


# --------------------------------------------------------------------------------------------
# The planned grants
# --------------------------------------------------------------------------------------------

def _cluster(plan: Plan) -> Mapping[str, Any]:
    kind = "gcp:container/cluster:Cluster" if plan.cloud == "gcp" else "aws:eks/cluster:Cluster"
    found = plan.of_type(kind)
    return found[0].inputs if found else {}


def network(plan: Plan, te: TeamEnv) -> tuple[str, tuple[str, ...]]:
    """(who can reach the cluster API, conditions) from the planned cluster."""
    c = _cluster(plan)
    if plan.cloud == "gcp":
        dns = ((c.get("controlPlaneEndpointsConfig") or {}).get("dnsEndpointConfig") or {})
        authorized = c.get("masterAuthorizedNetworksConfig")
        cidrs = [str(b.get("cidrBlock")) for b in ((authorized or {}).get("cidrBlocks") or [])
                 if b.get("cidrBlock")]
        if dns.get("allowExternalTraffic"):
            return ("from anywhere through the cluster's DNS endpoint (Google IAM decides who "
                    "gets in); " + _gcp_ip_endpoint(c, authorized, cidrs), ())
        where = ", ".join(cidrs) or "the VPC"
        return (f"only from {where}", (f"your machine must be in {where} (VPN)",))
    vpc = c.get("vpcConfig") or {}
    if vpc.get("endpointPublicAccess"):
        cidrs = [str(x) for x in vpc.get("publicAccessCidrs") or []]
        if cidrs and cidrs != ["0.0.0.0/0"]:
            where = ", ".join(cidrs)
            return (f"only from {where} (`platform.admin_cidrs`) or inside the VPC",
                    (f"your machine's public IP must be in {where} (office network or VPN)",))
        return ("from anywhere (AWS IAM decides who gets in)", ())
    return ("only from inside the VPC (private endpoint)",
            ("your machine must be inside the VPC (VPN or a bastion)",))


def _gcp_ip_endpoint(c: Mapping[str, Any], authorized: Mapping[str, Any] | None,
                     cidrs: list[str]) -> str:
    """What the planned cluster's IP endpoint answers, from its private endpoint setting and
    authorized networks (``platform.admin_cidrs``)."""
    if (c.get("privateClusterConfig") or {}).get("enablePrivateEndpoint"):
        return "the IP endpoint is private (inside the VPC only)"
    if authorized is None:
        return "the public IP endpoint answers from anywhere too"
    if cidrs:
        return (f"the public IP endpoint answers only from {', '.join(cidrs)} "
                "(`platform.admin_cidrs`); elsewhere use the DNS endpoint")
    return ("the public IP endpoint admits no outside address (no "
            "`platform.admin_cidrs`): use the DNS endpoint")


def _gcp_grants(plan: Plan) -> list[tuple[str, str, str, str]]:
    """(member, role, kind, id) of every planned IAM member binding."""
    out = []
    for r in plan.resources:
        if not r.type.endswith(("IAMMember", "IamMember")):
            continue
        i = r.inputs
        if "bucket" in i:
            target = ("bucket", str(i["bucket"]))
        elif "repository" in i:
            target = ("repository", str(i["repository"]).rsplit("/", 1)[-1])
        elif "serviceAccountId" in i:
            target = ("sa", str(i["serviceAccountId"]))
        elif "cryptoKeyId" in i:
            target = ("key", str(i["cryptoKeyId"]))
        elif "project" in i:
            target = ("project", str(i["project"]))
        else:
            continue
        out.append((str(i.get("member")), str(i.get("role")), *target))
    return out


def _gcp_allowed(grants: list[tuple[str, str, str, str]], principal: str, need: CloudNeed,
                 project: str) -> bool:
    for member, role, kind, ident in grants:
        if member != principal:
            continue
        if (kind, ident) != (need.kind, need.resource) and (kind, ident) != ("project", project):
            continue
        try:
            if need.permission in permissions(role):
                return True
        except UnknownRoleError:
            continue  # an unknown role promises nothing (the table test names it)
    return False


def _rbac_gcp(plan: Plan, te: TeamEnv) -> tuple[dict[str, set[str]], tuple[str, ...]]:
    """member principal -> ClusterRoles bound in the namespace; conditions."""
    c = _cluster(plan)
    groups = (c.get("authenticatorGroupsConfig") or {}).get("securityGroup")
    bound: dict[str, set[str]] = {}
    conditions: list[str] = []
    for r in plan.resources:
        i = r.inputs
        if i.get("kind") != "RoleBinding" or (i.get("metadata") or {}).get("namespace") != \
                te.namespace:
            continue
        role = str((i.get("roleRef") or {}).get("name"))
        for s in i.get("subjects") or []:
            name = str(s.get("name"))
            if s.get("kind") == "Group":
                if not groups:
                    continue  # GKE sees no groups without Google Groups for RBAC
                bound.setdefault(f"group:{name}", set()).add(role)
            elif s.get("kind") == "User":
                for prefix in ("user:", "serviceAccount:"):
                    bound.setdefault(f"{prefix}{name}", set()).add(role)
    if groups and any(m.startswith("group:") for m in te.members):
        names = ", ".join(m.removeprefix("group:") for m in te.members if m.startswith("group:"))
        conditions.append(f"{names} must be a member of {groups} (Google Groups for RBAC), "
                          "which the platform team manages in Google Groups")
    return bound, tuple(conditions)


def _aws_documents(plan: Plan, role_arn: str | None) -> list[dict[str, Any]]:
    name = (role_arn or "").rsplit("/", 1)[-1]
    docs = []
    for r in plan.of_type("aws:iam/rolePolicy:RolePolicy"):
        if r.inputs.get("role") == name:
            p = r.inputs.get("policy")
            docs.append(json.loads(p) if isinstance(p, str) else dict(p or {}))
    return docs


def _aws_trust(plan: Plan, role_arn: str | None) -> dict[str, Any]:
    name = (role_arn or "").rsplit("/", 1)[-1]
    for r in plan.of_type("aws:iam/role:Role"):
        if r.inputs.get("name") == name:
            doc = r.inputs.get("assumeRolePolicy")
            return json.loads(doc) if isinstance(doc, str) else dict(doc or {})
    return {}


def _aws_key(plan: Plan) -> tuple[str, dict[str, Any] | None]:
    keys = plan.of_type("aws:kms/key:Key")
    if not keys:
        return "", None
    policy = keys[0].inputs.get("policy")
    doc = json.loads(policy) if isinstance(policy, str) else policy
    return str(keys[0].outputs.get("arn", "")), doc


def _rbac_aws(plan: Plan, te: TeamEnv) -> set[str]:
    """EKS access policies of the team role that reach the namespace."""
    out = set()
    for r in plan.of_type("aws:eks/accessPolicyAssociation:AccessPolicyAssociation"):
        if r.inputs.get("principalArn") != te.member_role:
            continue
        scope = r.inputs.get("accessScope") or {}
        if scope.get("type") == "cluster" or te.namespace in (scope.get("namespaces") or []):
            out.add(str(r.inputs.get("policyArn", "")).rsplit("/", 1)[-1])
    return out


# --------------------------------------------------------------------------------------------
# The checker
# --------------------------------------------------------------------------------------------

def _kube_missing(needs: Iterable[Need], roles_of: Mapping[str, set[str]], namespace: str,
                  who: Iterable[str]) -> list[str]:
    out = []
    for need in needs:
        if not isinstance(need, KubeNeed):
            continue
        lacking = [w for w in who if not any(allows(role, need.verb, need.resource,
                                                    need.api_group)
                                             for role in roles_of.get(w, ()))]
        if lacking:
            out.append(f"{', '.join(lacking)}: {need.text(namespace)}")
    return out


def check(plan: Plan, te: TeamEnv) -> Promises:
    """Every step of ``te``'s page against ``plan``'s grants."""
    reach, net_conditions = network(plan, te)
    verdicts = []
    if plan.cloud == "gcp":
        grants = _gcp_grants(plan)
        project = str(te.project)
        actors = {MEMBERS: list(te.members),
                  WORKLOAD: [f"serviceAccount:{te.workload_identity}"],
                  PIPELINE: [f"serviceAccount:{te.pipeline_identity}"]}
        bound, rbac_conditions = _rbac_gcp(plan, te)
        for step in gcp_steps(te):
            missing: list[str] = []
            if not te.members and any(getattr(n, "actor", MEMBERS) == MEMBERS
                                      for n in step.needs):
                missing.append(f"the team lists no members in org.yaml (teams.{te.team}.members)")
            for need in step.needs:
                if isinstance(need, CloudNeed):
                    lacking = [p for p in actors[need.actor]
                               if not _gcp_allowed(grants, p, need, project)]
                    if lacking:
                        missing.append(f"{', '.join(lacking)}: {need.text()}")
            missing += _kube_missing(step.needs, bound, te.namespace, te.members)
            conditions: tuple[str, ...] = ()
            if any(isinstance(n, KubeNeed) for n in step.needs):
                conditions = rbac_conditions
            if step.key == "connect":
                conditions = (*net_conditions, *conditions)
            verdicts.append(Verdict(step, tuple(dict.fromkeys(missing)), conditions))
        return Promises(tuple(verdicts), reach)
    key_arn, key_policy = _aws_key(plan)
    member_docs = _aws_documents(plan, te.member_role)
    docs = {MEMBERS: member_docs, WORKLOAD: _aws_documents(plan, te.workload_identity),
            PIPELINE: _aws_documents(plan, te.pipeline_identity)}
    trust = _aws_trust(plan, te.member_role)
    untrusted = [m for m in te.members if not iam_eval.trusts(trust, m).allowed]
    policies = _rbac_aws(plan, te)
    who = {str(te.member_role): policies}
    for step in aws_steps(te, key_arn):
        missing = []
        member_step = any(getattr(n, "actor", MEMBERS) == MEMBERS for n in step.needs)
        if member_step and not te.member_role:
            missing.append(f"no team role: the team lists no members in org.yaml "
                           f"(teams.{te.team}.members)")
        elif member_step and untrusted:
            missing.append(f"{', '.join(untrusted)}: sts:AssumeRole on {te.member_role} "
                           "(its trust policy does not name them)")
        for need in step.needs:
            if not isinstance(need, CloudNeed):
                continue
            if need.actor == MEMBERS and not te.member_role:
                continue
            role = {MEMBERS: te.member_role, WORKLOAD: te.workload_identity,
                    PIPELINE: te.pipeline_identity}[need.actor]
            decision = iam_eval.evaluate(docs[need.actor], need.permission, need.resource,
                                         dict(need.context))
            if not decision.allowed:
                missing.append(f"{role}: {need.text()}")
            elif need.permission.startswith("kms:") and \
                    not iam_eval.key_policy_delegates(key_policy, str(te.account)):
                missing.append(f"{role}: {need.text()} (the key policy does not delegate to "
                               "IAM)")
        if te.member_role:
            missing += _kube_missing(step.needs, who, te.namespace, [str(te.member_role)])
        verdicts.append(Verdict(step, tuple(dict.fromkeys(missing)),
                                net_conditions if step.key == "connect" else ()))
    return Promises(tuple(verdicts), reach)


def cited_stand_ins(stand_ins: Iterable[str], files: Mapping[str, str]) -> list[tuple[str, str]]:
    """``(file, value)`` for each value the offline plan made up (``Environment.stand_ins``)
    that a written page cites: a recipe built on one fails once the real value is deployed."""
    values = sorted(set(stand_ins), key=len, reverse=True)
    return [(name, v) for name, text in sorted(files.items()) for v in values if v in text]


@dataclass(frozen=True)
class Request:
    """A ready-to-paste request to the platform team."""

    to: tuple[str, ...]
    subject: str
    body: str = field(default="")


def request_for(te: TeamEnv, verdict: Verdict, contacts: tuple[str, ...]) -> Request:
    lines = [f"Team {te.team}, environment {te.env} ({te.cloud}, "
             f"{te.project or te.account}, cluster {te.cluster_name}):",
             f"the handoff step \"{verdict.step.title}\" is not backed by the plan. Missing:"]
    lines += [f"- {m}" for m in verdict.missing]
    fields = (f"teams.{te.team}.members" + (", platform.gke_security_group"
                                            if te.cloud == "gcp" else ""))
    lines.append(f"Please grant these through org.yaml ({fields}) and redeploy, or tell us "
                 "who else can.")
    return Request(contacts, f"[{te.team}/{te.env}] access for: {verdict.step.title}",
                   "\n".join(lines))
