"""Identity rules for both clouds: basic roles, admin policies, long-lived keys, IAM ownership."""

from __future__ import annotations

from collections.abc import Iterator

from policies import iamdoc
from policies.joins import Index, ar_index, gcs_index, sa_index
from policies.registry import each, resource_rule, stack_rule, type_matcher
from policies.settings import Settings
from policies.view import UNKNOWN, Res, Stack, as_list, at, require_known

# Every GCP IAM resource family is <target>IAMMember / IAMBinding / IAMPolicy, spelled with
# varying case ("iAMMember", "IamMember"); type_matcher globs ignore case.
GCP_IAM = ("gcp:*/*IamMember:*", "gcp:*/*IamBinding:*", "gcp:*/*IamPolicy:*")
_is_gcp_iam = type_matcher(GCP_IAM)
AWS_POLICY_DOCS = {"aws:iam/policy:Policy": "policy", "aws:iam/rolePolicy:RolePolicy": "policy",
                   "aws:iam/userPolicy:UserPolicy": "policy",
                   "aws:iam/groupPolicy:GroupPolicy": "policy"}
ROLE = "aws:iam/role:Role"
AWS_ATTACHMENTS = ("aws:iam/rolePolicyAttachment:RolePolicyAttachment",
                   "aws:iam/policyAttachment:PolicyAttachment",
                   "aws:iam/userPolicyAttachment:UserPolicyAttachment",
                   "aws:iam/groupPolicyAttachment:GroupPolicyAttachment")
LONG_LIVED_AWS = ("aws:iam/user:User", "aws:iam/accessKey:AccessKey",
                  "aws:iam/userLoginProfile:UserLoginProfile",
                  "aws:iam/serviceSpecificCredential:ServiceSpecificCredential",
                  "aws:iam/signingCertificate:SigningCertificate")


@resource_rule(
    id="TRL-IAM-001", title="No basic GCP roles",
    description="No IAM grant uses the basic roles owner, editor or viewer.",
    severity="high", enforcement="mandatory",
    remediation="Grant predefined roles scoped to the job (roles/storage.objectUser, "
                "roles/artifactregistry.reader, roles/aiplatform.user, ...) instead.",
    types=GCP_IAM, checkov=["CKV_GCP_117", "CKV_GCP_116", "CKV_GCP_115"])
def gcp_no_basic_roles(res: Res, settings: Settings) -> Iterator[str]:
    for role, members in iamdoc.gcp_grants(res.type, res.get):
        if role in iamdoc.BASIC_ROLES:
            yield f"{role} is granted to {', '.join(members) or 'no one yet'}"


def _aws_docs(res: Res) -> list[tuple[str, dict[str, object]]]:
    if res.type == ROLE:
        return [(f"inline policy {at(p, 'name') or ''}".strip(),
                 iamdoc.document(at(p, "policy"), "inlinePolicies"))
                for p in as_list(require_known(res.get("inlinePolicies"), ("inlinePolicies",)))]
    key = AWS_POLICY_DOCS[res.type]
    return [("policy", iamdoc.document(res.get(key), key))]


@resource_rule(
    id="TRL-IAM-002", title="No * on * in AWS policies",
    description="No IAM policy allows every action on every resource.",
    severity="critical", enforcement="mandatory",
    remediation="List the actions and resource ARNs the workload needs; start from the "
                "service's read-only or user managed policy and narrow it.",
    types=[*AWS_POLICY_DOCS, ROLE], checkov=["CKV_AWS_62", "CKV_AWS_63", "CKV_AWS_1"],
    trivy=["AVD-AWS-0057"], cdk_nag=["AwsSolutions-IAM5", "IAMPolicyNoStatementsWithAdminAccess"])
def aws_no_star_star(res: Res, settings: Settings) -> Iterator[str]:
    for where, doc in _aws_docs(res):
        for st in iamdoc.admin_statements(doc):
            sid = f" (Sid {st.sid})" if st.sid else ""
            yield f"{where} allows Action * on Resource *{sid}"


@resource_rule(
    id="TRL-IAM-003", title="No admin managed policies",
    description="No AdministratorAccess, PowerUserAccess or *FullAccess managed policy is "
                "attached to a workload identity.",
    severity="high", enforcement="mandatory",
    remediation="Attach a customer-managed policy with the needed actions on the platform's "
                "own resources (or a service's ReadOnly policy) instead.",
    types=[*AWS_ATTACHMENTS, ROLE], checkov=["CKV_AWS_274", "CKV2_AWS_56"],
    cdk_nag=["AwsSolutions-IAM4", "IAMPolicyNoStatementsWithFullAccess"])
def aws_no_admin_attachments(res: Res, settings: Settings) -> Iterator[str]:
    if res.type == ROLE:
        arns = as_list(require_known(res.get("managedPolicyArns"), ("managedPolicyArns",)))
    else:
        arns = [res.get("policyArn")]
    for arn in arns:
        if isinstance(arn, str) and iamdoc.is_admin_policy_arn(arn):
            yield f"{arn.rsplit('/', 1)[-1]} is attached"


@resource_rule(
    id="TRL-IAM-004", title="No service account keys",
    description="No service account key is created; workloads use Workload Identity.",
    severity="critical", enforcement="mandatory",
    remediation="Delete the key resource; run the workload on GKE with Workload Identity, or "
                "use Workload Identity Federation / service account impersonation outside GCP.",
    types=["gcp:serviceaccount/key:Key"], checkov=["CKV2_GCP_3"])
def gcp_no_sa_keys(res: Res, settings: Settings) -> Iterator[str]:
    yield "a long-lived, exportable service account key would be created"


@resource_rule(
    id="TRL-IAM-005", title="No IAM users or access keys",
    description="No IAM user, access key or other long-lived credential is created.",
    severity="high", enforcement="mandatory",
    remediation="Use roles: IAM Identity Center for people, Pod Identity / IRSA for pods, "
                "OIDC federation for CI.",
    types=LONG_LIVED_AWS, checkov=["CKV_AWS_273"], trivy=["AVD-AWS-0143"])
def aws_no_users_or_keys(res: Res, settings: Settings) -> Iterator[str]:
    yield f"{res.type.rsplit(':', 1)[-1]} creates a long-lived credential"


_NOT_TARGET = {"member", "members", "role", "condition", "policyData", "etag", "id", "urn"}


def _family(res_type: str) -> tuple[str, str]:
    """``gcp:storage/bucketIAMMember:BucketIAMMember`` -> (``gcp:storage/bucketIAM``, member)."""
    token = res_type.split(":")[1]
    for suffix, kind in (("Member", "member"), ("Binding", "binding"), ("Policy", "policy")):
        if token.endswith(suffix):
            return token[: -len(suffix)], kind
    return token, "other"


def _target_key(res: Res, indexes: dict[str, Index]) -> tuple[object, ...]:
    """The IAM target: every non-grant property, canonicalised to a URN where possible."""
    parts: list[object] = []
    for prop in sorted(k for k in res.props if k not in _NOT_TARGET):
        value = res.peek(prop)
        index = indexes.get(prop)
        hit = index.resolve(res, prop, value) if index is not None else None
        if hit is not None:
            parts.append((prop, hit.urn))
        elif value is UNKNOWN:
            deps = res.deps_of(prop)
            if not deps:
                res.get(prop)  # unknown target with no lineage: fail closed
            parts.append((prop, deps[0]))
        elif isinstance(value, str):
            parts.append((prop, value.strip().rsplit("/", 1)[-1].lower()))
        elif value is not None:
            parts.append((prop, repr(value)))
    return tuple(parts)


@stack_rule(
    id="TRL-IAM-006", title="Authoritative and additive IAM not mixed",
    description="One IAM target is managed either authoritatively (IAMPolicy/IAMBinding) or "
                "additively (IAMMember) per role, never both.",
    severity="medium", enforcement="mandatory",
    remediation="Use IAMMember resources only (Trellis' grant style), or one IAMPolicy for the "
                "whole target; never combine an IAMPolicy with anything, or an IAMBinding and "
                "IAMMember for the same role.",
    types=GCP_IAM)
def gcp_iam_not_mixed(stack: Stack, settings: Settings) -> Iterator[tuple[str, str]]:
    indexes = {"bucket": gcs_index(stack), "repository": ar_index(stack),
               "serviceAccountId": sa_index(stack)}
    by_target: dict[tuple[object, ...], list[tuple[Res, str, object]]] = {}

    def collect(res: Res) -> Iterator[str]:
        family, kind = _family(res.type)
        role = res.peek("role") if kind != "policy" else None
        by_target.setdefault((family, _target_key(res, indexes)), []).append((res, kind, role))
        return iter(())

    yield from each([r for r in stack.resources if _is_gcp_iam(r.type)], collect)
    for entries in by_target.values():
        policies = [e for e in entries if e[1] == "policy"]
        for res, kind, role in entries:
            others = [e for e in entries if e[0] is not res]
            if kind == "policy" and others:
                yield res.urn, (f"IAMPolicy replaces the whole policy of a target that "
                                f"{len(others)} other IAM resource(s) also manage")
            elif kind != "policy" and policies:
                yield res.urn, (f"shares its target with IAMPolicy '{policies[0][0].name}', "
                                "which removes this grant on every update")
            elif kind == "binding":
                clash = [e for e in others if e[2] == role and e[2] is not UNKNOWN]
                if clash:
                    yield res.urn, (f"IAMBinding for {role} fights with "
                                    f"{', '.join(repr(e[0].name) for e in clash)} on the same "
                                    "target and role")
            elif kind == "member":
                clash = [e for e in others if e[1] == "binding" and e[2] == role
                         and role is not UNKNOWN]
                if clash:
                    yield res.urn, (f"IAMMember for {role} is removed by IAMBinding "
                                    f"'{clash[0][0].name}' on the same target and role")
