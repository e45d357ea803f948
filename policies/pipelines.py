"""Pipeline and schedule identity rules: who a pipeline runs as and what its trigger may do.

GCP pipelines are started by Cloud Scheduler jobs (an HTTP call authenticated as a service
account, e.g. to Vertex AI ``pipelineJobs.create``) or Workflows; AWS pipelines are SageMaker
pipelines started by EventBridge Scheduler schedules that assume a role. Identities are joined
to their grants through :mod:`policies.joins`: by e-mail or ARN when known, by the property
dependency on the account or role created in the stack when not.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterator
from dataclasses import dataclass

from policies import iamdoc
from policies.joins import Index, iam_role_index, role_name_from_arn, sa_index
from policies.registry import each, stack_rule
from policies.settings import Settings
from policies.view import UNKNOWN, Res, Stack, as_list, at, require_known

SCHEDULER_JOB = "gcp:cloudscheduler/job:Job"
WORKFLOW = "gcp:workflows/workflow:Workflow"
SERVICE_ACCOUNT = "gcp:serviceaccount/account:Account"
SM_PIPELINE = "aws:sagemaker/pipeline:Pipeline"
SCHEDULE = "aws:scheduler/schedule:Schedule"
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
ROLE_ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
POLICY_ATTACHMENT = "aws:iam/policyAttachment:PolicyAttachment"
START_PIPELINE = "sagemaker:startpipelineexecution"
# Resource-level GCP grants that only let an identity act as (or on) a service account.
SA_LEVEL_IAM = ("gcp:serviceaccount/iAMMember:IAMMember",
                "gcp:serviceaccount/iAMBinding:IAMBinding",
                "gcp:serviceaccount/iAMPolicy:IAMPolicy")
PROJECT_LEVEL_IAM_PREFIXES = ("gcp:projects/", "gcp:folder/", "gcp:organizations/")


def is_gcp_iam(res_type: str) -> bool:
    tail = res_type.rsplit(":", 1)[-1]
    return res_type.startswith("gcp:") and tail.endswith(
        ("IAMMember", "IAMBinding", "IAMPolicy", "IamMember", "IamBinding", "IamPolicy"))


# --- GCP identities --------------------------------------------------------------------------

@dataclass(frozen=True)
class Identity:
    """A GCP service account (``key`` = account URN when in the stack, else the e-mail)."""

    key: str
    label: str


def _gcp_identity(accounts: Index, res: Res, prop: str, value: object) -> Identity | None:
    if value is None or value == "":
        return None
    target = accounts.resolve(res, prop, value)
    if target is not None:
        email = target.peek("email")
        return Identity(target.urn, email if isinstance(email, str) else f"'{target.name}'")
    if value is UNKNOWN:
        res.get(prop)  # unknown and not from an account in the stack: fail closed
    return Identity(str(value).lower().removeprefix("serviceaccount:"), str(value))


def job_identity(accounts: Index, job: Res) -> Identity | None:
    for token in ("oauthToken", "oidcToken"):
        value = job.peek("httpTarget", token, "serviceAccountEmail")
        if value is not None:
            return _gcp_identity(accounts, job, "httpTarget", value)
    return None


def pipeline_identity_in_body(accounts: Index, job: Res) -> Identity | None:
    """The runtime service account of a Vertex pipeline job the scheduler creates, if stated.

    The job body is base64 JSON (``{"pipelineJob": {"serviceAccount": ...}}`` or the pipeline
    job itself); a body we cannot read yields None, never a guess.
    """
    body = job.peek("httpTarget", "body")
    if not isinstance(body, str) or not body:
        return None
    try:
        doc = json.loads(base64.b64decode(body, validate=True))
    except (binascii.Error, ValueError):
        return None
    if not isinstance(doc, dict):
        return None
    inner = doc.get("pipelineJob") if isinstance(doc.get("pipelineJob"), dict) else doc
    email = inner.get("serviceAccount") if isinstance(inner, dict) else None
    if not isinstance(email, str) or not email:
        return None
    return _gcp_identity(accounts, job, "httpTarget", email)


def gcp_grants_to(stack: Stack, accounts: Index) -> dict[str, list[tuple[Res, str]]]:
    """Identity key -> [(IAM resource, role)] for every GCP IAM grant to a service account."""
    out: dict[str, list[tuple[Res, str]]] = {}
    for res in stack.resources:
        if not is_gcp_iam(res.type):
            continue
        if res.type.endswith(("IAMMember", "IamMember")) and res.peek("member") is UNKNOWN:
            ident = _gcp_identity(accounts, res, "member", UNKNOWN)
            if ident is not None:
                out.setdefault(ident.key, []).append((res, str(res.get("role"))))
            continue
        for role, members in iamdoc.gcp_grants(res.type, res.get):
            for member in members:
                email = iamdoc.sa_email_from_member(member)
                if email is None:
                    continue
                target = accounts.resolve(res, "member", email)
                key = target.urn if target is not None else email
                out.setdefault(key, []).append((res, role))
    return out


# --- AWS identities --------------------------------------------------------------------------

def _aws_role(roles: Index, res: Res, prop: str, value: object) -> tuple[str, Res | None]:
    """(label, role resource in the stack or None) for a role ARN reference."""
    target = roles.resolve(res, prop, value)
    if target is not None:
        return f"role '{target.name}'", target
    if value is UNKNOWN:
        res.get(prop)  # unknown and not from a role in the stack: fail closed
    return f"role {value}", None


_Attached = tuple[list[Res], list[Res], list[Res]]


def _attached(stack: Stack, roles: Index) -> dict[int, _Attached]:
    """Role (by identity) -> (role policy attachments, policy attachments naming it once per
    mention, inline role policies), each in stack order.

    Resolved once per stack and role index and kept in ``stack.memo``: looking every
    attachment up again for each role checked was quadratic (3,750 roles x 47,000 attachments
    at 5,000 AWS teams). Nothing of an attachment is read here beyond what resolving it
    reads, as before; what :func:`role_grants` reads of it, it reads for that role only.
    """
    hit = stack.memo.get(("role-grants", id(roles)))
    if hit is not None and hit[0] is roles:
        return hit[1]
    groups: dict[int, _Attached] = {}
    for att in stack.of_type(ROLE_ATTACHMENT):
        target = roles.resolve(att, "role")
        if target is not None:
            groups.setdefault(id(target), ([], [], []))[0].append(att)
    for att in stack.of_type(POLICY_ATTACHMENT):
        for name in as_list(require_known(att.get("roles"), ("roles",))):
            target = roles.resolve(att, "roles", name)
            if target is not None:
                groups.setdefault(id(target), ([], [], []))[1].append(att)
    for pol in stack.of_type(ROLE_POLICY):
        target = roles.resolve(pol, "role")
        if target is not None:
            groups.setdefault(id(target), ([], [], []))[2].append(pol)
    stack.memo[("role-grants", id(roles))] = (roles, groups)
    return groups


def role_grants(stack: Stack, roles: Index, role: Res) -> tuple[list[str], list[dict[str, object]]]:
    """(managed policy ARNs, inline policy documents) attached to ``role``."""
    arns = [str(a) for a in as_list(require_known(role.get("managedPolicyArns"),
                                                  ("managedPolicyArns",)))]
    docs = [iamdoc.document(at(p, "policy"), "inlinePolicies")
            for p in as_list(require_known(role.get("inlinePolicies"), ("inlinePolicies",)))]
    role_atts, policy_atts, inline = _attached(stack, roles).get(id(role), ([], [], []))
    arns += [str(att.get("policyArn")) for att in (*role_atts, *policy_atts)]
    docs += [iamdoc.document(pol.get("policy"), "policy") for pol in inline]
    return arns, docs


def _schedule_role_ref(schedule: Res) -> object:
    return schedule.peek("target", "roleArn")


@stack_rule(
    id="TRL-PIPE-001", title="Pipeline identity dedicated",
    description="Pipelines and their schedulers run as a named identity, never a default "
                "service account.",
    severity="high", enforcement="mandatory",
    remediation="GCP: create a service account per pipeline (and one for its scheduler) and "
                "set it on the job (`http_target.oauth_token.service_account_email`) or "
                "workflow; AWS: give the SageMaker pipeline its own execution role.",
    types=[SCHEDULER_JOB, WORKFLOW, SM_PIPELINE, SCHEDULE], trivy=["AVD-GCP-0006"])
def pipeline_identity(stack: Stack, settings: Settings) -> Iterator[tuple[str, str]]:
    accounts = sa_index(stack)
    roles = iam_role_index(stack)

    def check(res: Res) -> Iterator[str]:
        if res.type == SCHEDULER_JOB:
            if res.get("httpTarget") is None:
                return  # Pub/Sub and App Engine targets run as Google service agents
            ident = job_identity(accounts, res)
            if ident is None:
                yield "the HTTP target sends no OAuth/OIDC token of a service account"
            elif iamdoc.is_default_service_account(ident.key):
                yield f"the job authenticates as the default account {ident.label}"
            body = pipeline_identity_in_body(accounts, res)
            if body is not None and iamdoc.is_default_service_account(body.key):
                yield f"the pipeline it starts runs as the default account {body.label}"
        elif res.type == WORKFLOW:
            ident = _gcp_identity(accounts, res, "serviceAccount", res.peek("serviceAccount"))
            if ident is None:
                yield "no serviceAccount: the workflow runs as the Compute Engine default account"
            elif iamdoc.is_default_service_account(ident.key):
                yield f"the workflow runs as the default account {ident.label}"
        else:
            ref = res.peek("roleArn") if res.type == SM_PIPELINE else _schedule_role_ref(res)
            prop = "roleArn" if res.type == SM_PIPELINE else "target"
            if ref is None or ref == "":
                yield "no execution role"
                return
            label, role = _aws_role(roles, res, prop, ref)
            name = role_name_from_arn(str(ref)) if role is None else str(role.peek("name"))
            if "AWSServiceRole" in str(ref) or name.startswith("AmazonSageMaker-ExecutionRole"):
                yield f"{label} is a default/shared role, not one made for this pipeline"
    yield from each(stack.of_type(SCHEDULER_JOB, WORKFLOW, SM_PIPELINE, SCHEDULE), check)


def _gcp_pipeline_identities(stack: Stack, accounts: Index) -> dict[str, tuple[Res, Identity]]:
    out: dict[str, tuple[Res, Identity]] = {}
    for job in stack.of_type(SCHEDULER_JOB):
        for ident in (job_identity(accounts, job), pipeline_identity_in_body(accounts, job)):
            if ident is not None:
                out.setdefault(ident.key, (job, ident))
    for wf in stack.of_type(WORKFLOW):
        ident = _gcp_identity(accounts, wf, "serviceAccount", wf.peek("serviceAccount"))
        if ident is not None:
            out.setdefault(ident.key, (wf, ident))
    return out


@stack_rule(
    id="TRL-PIPE-002", title="No admin roles on pipeline identities",
    description="Pipeline and scheduler identities hold no owner, editor, admin or FullAccess "
                "role.",
    severity="high", enforcement="mandatory",
    remediation="Grant the pipeline identity narrow roles on its own resources (bucket object "
                "user on its buckets, registry reader, Vertex AI user) instead of admin or "
                "FullAccess policies.",
    types=[SCHEDULER_JOB, WORKFLOW, SM_PIPELINE, SCHEDULE, ROLE, ROLE_POLICY, ROLE_ATTACHMENT],
    checkov=["CKV_GCP_42", "CKV_AWS_274"], trivy=["AVD-GCP-0007"],
    cdk_nag=["IAMPolicyNoStatementsWithAdminAccess", "IAMPolicyNoStatementsWithFullAccess"])
def pipeline_no_admin(stack: Stack, settings: Settings) -> Iterator[tuple[str, str]]:
    accounts = sa_index(stack)
    roles = iam_role_index(stack)
    grants = gcp_grants_to(stack, accounts)
    gcp = _gcp_pipeline_identities(stack, accounts)
    for key, (owner, ident) in gcp.items():
        for grant, role in grants.get(key, []):
            if iamdoc.is_admin_gcp_role(
                    role, project_level=grant.type.startswith(PROJECT_LEVEL_IAM_PREFIXES)):
                yield grant.urn, (f"{role} is granted to {ident.label}, the identity of "
                                  f"{owner.label}")

    def check(res: Res) -> Iterator[str]:
        ref = res.peek("roleArn") if res.type == SM_PIPELINE else _schedule_role_ref(res)
        if ref is None or ref == "":
            return
        label, role = _aws_role(roles, res, "roleArn" if res.type == SM_PIPELINE else "target",
                                ref)
        if role is None:
            yield f"{label} is not managed in this stack, so its policies cannot be checked"
            return
        arns, docs = role_grants(stack, roles, role)
        for arn in arns:
            if iamdoc.is_admin_policy_arn(arn):
                yield f"{label} has {arn.rsplit('/', 1)[-1]} attached"
        for doc in docs:
            if iamdoc.admin_statements(doc):
                yield f"{label} has an inline policy allowing * on *"
    yield from each(stack.of_type(SM_PIPELINE, SCHEDULE), check)


def _only_starts_pipelines(doc: dict[str, object]) -> list[str]:
    problems = []
    for st in iamdoc.statements(doc):
        if not st.allow:
            continue
        extra = [a for a in st.actions if a.lower() != START_PIPELINE]
        if extra or st.not_actions:
            problems.append(f"allows {', '.join(extra or ['NotAction'])}")
        if any(iamdoc.is_star(r) for r in st.resources):
            problems.append("allows StartPipelineExecution on every pipeline (Resource *)")
    return problems


@stack_rule(
    id="TRL-PIPE-003", title="Scheduler identity only starts its pipeline",
    description="A schedule's identity can start its pipeline and do nothing else.",
    severity="high", enforcement="mandatory",
    remediation="AWS: give the schedule its own role whose only statement allows "
                "sagemaker:StartPipelineExecution on the pipeline's ARN; GCP: give the "
                "scheduler job its own service account with only the roles in "
                "`schedulerAllowedRoles` (e.g. roles/aiplatform.user) plus actAs on the "
                "pipeline's service account.",
    types=[SCHEDULER_JOB, SCHEDULE, SM_PIPELINE, ROLE, ROLE_POLICY, ROLE_ATTACHMENT],
    config=["schedulerAllowedRoles"])
def scheduler_least_privilege(stack: Stack, settings: Settings) -> Iterator[tuple[str, str]]:
    accounts = sa_index(stack)
    roles = iam_role_index(stack)
    grants = gcp_grants_to(stack, accounts)
    pipeline_roles = {}
    for p in stack.of_type(SM_PIPELINE):
        ref = p.peek("roleArn")
        if ref not in (None, ""):
            _, role = _aws_role(roles, p, "roleArn", ref)
            pipeline_roles[role.urn if role is not None else str(ref)] = p

    def check(res: Res) -> Iterator[str]:
        if res.type == SCHEDULER_JOB:
            ident = job_identity(accounts, res)
            if ident is None:
                return
            body = pipeline_identity_in_body(accounts, res)
            if body is not None and body.key == ident.key:
                yield (f"the job and the pipeline it starts share {ident.label}: the trigger "
                       "gets every right of the pipeline")
            for grant, granted in grants.get(ident.key, []):
                if grant.type in SA_LEVEL_IAM:
                    continue  # actAs on the pipeline's account is what starting it needs
                if not grant.type.startswith(PROJECT_LEVEL_IAM_PREFIXES):
                    yield f"{granted} on {grant.label} is data access a trigger does not need"
                elif granted not in settings.scheduler_allowed_roles:
                    yield (f"{granted} is not one of the roles a scheduler may hold "
                           f"({', '.join(settings.scheduler_allowed_roles)})")
            return
        ref = _schedule_role_ref(res)
        if ref is None or ref == "":
            return
        label, role = _aws_role(roles, res, "target", ref)
        if role is None:
            yield f"{label} is not managed in this stack, so its policies cannot be checked"
            return
        if role.urn in pipeline_roles:
            yield (f"{label} is also the execution role of pipeline "
                   f"'{pipeline_roles[role.urn].name}': the trigger gets every right of the "
                   "pipeline")
        arns, docs = role_grants(stack, roles, role)
        for arn in arns:
            yield f"{label} has managed policy {arn.rsplit('/', 1)[-1]} attached"
        for doc in docs:
            for problem in _only_starts_pipelines(doc):
                yield f"{label}: {problem}"
    yield from each(stack.of_type(SCHEDULER_JOB, SCHEDULE), check)
