"""Identity rules beyond admin roles: who may assume a role, wildcard actions, impersonation of
every service account, public grants on identities, secrets and keys.

Policy documents are read with :mod:`policies.iamdoc`, like the rules in :mod:`policies.iam`.
"""

from __future__ import annotations

from collections.abc import Iterator

from policies import iamdoc
from policies.iam import AWS_POLICY_DOCS, ROLE, _aws_docs
from policies.registry import resource_rule
from policies.settings import Settings
from policies.view import Res


@resource_rule(
    id="TRL-IAM-007", title="No role anyone can assume",
    description="No IAM role trusts every principal without a condition naming the allowed "
                "accounts, or a web-identity provider without a condition on the token's "
                "subject.",
    severity="critical", enforcement="mandatory",
    remediation="Trust named principals (`{\"AWS\": \"arn:aws:iam::<account>:role/<name>\"}`, a "
                "service such as `pods.eks.amazonaws.com`), or add a condition on "
                "aws:PrincipalOrgID / aws:PrincipalAccount / aws:SourceArn; for OIDC "
                "federation add `StringEquals`/`StringLike` on `<provider>:sub` (e.g. "
                "`token.actions.githubusercontent.com:sub: repo:acme/infra:ref:refs/heads/main`) "
                "and `<provider>:aud`.",
    types=[ROLE], checkov=["CKV_AWS_60", "CKV_AWS_393"])
def aws_role_trust(res: Res, settings: Settings) -> Iterator[str]:
    doc = iamdoc.document(res.get("assumeRolePolicy"), "assumeRolePolicy")
    for st in iamdoc.public_allows(doc):
        label = f"statement {st.sid!r}" if st.sid else "a trust statement"
        who = "every principal except those in NotPrincipal" if st.not_principals \
            else "every AWS principal (`*`)"
        yield (f"{label} lets {who} call {', '.join(st.actions) or 'sts:AssumeRole'} with no "
               "condition naming the allowed accounts or organisation: any AWS account can "
               "assume this role")
    for st in iamdoc.statements(doc):
        for provider in iamdoc.unscoped_web_identity(st):
            host = iamdoc.provider_host(provider)
            key = f"{host}:aud" if host == "cognito-identity.amazonaws.com" else f"{host}:sub"
            yield (f"web-identity trust in {provider} has no matching condition on {key}: every "
                   "identity that provider issues tokens for (every repository, every "
                   "service account, ...) can assume this role")


@resource_rule(
    id="TRL-IAM-008", title="No service-wide wildcards in AWS policies",
    description="No IAM policy statement allows NotAction or NotResource, every action (`*`) or "
                "every action of a service (`iam:*`, `s3:*`).",
    severity="high", enforcement="mandatory",
    remediation="List the actions the workload calls (`s3:GetObject`, `s3:PutObject`, ...) on "
                "the resource ARNs it needs; a read-only family such as `s3:Get*` is acceptable, "
                "`iam:*` never is. Replace NotAction/NotResource allows with explicit lists.",
    types=[*AWS_POLICY_DOCS, ROLE], checkov=["CKV_AWS_63", "CKV2_AWS_40"],
    trivy=["AVD-AWS-0057"], cdk_nag=["AwsSolutions-IAM5"])
def aws_no_service_wildcards(res: Res, settings: Settings) -> Iterator[str]:
    for where, doc in _aws_docs(res):
        for st in iamdoc.statements(doc):
            if not st.allow or st.admin:  # * on *: TRL-IAM-002 reports it
                continue
            sid = f" (Sid {st.sid})" if st.sid else ""
            if st.not_actions:
                yield (f"{where} allows NotAction {', '.join(st.not_actions)}{sid}: every other "
                       "action of every service, including ones AWS adds later")
            if st.not_resources:
                yield (f"{where} allows {', '.join(st.actions) or 'actions'} on NotResource "
                       f"{', '.join(st.not_resources)}{sid}: every other resource")
            wild = [a for a in st.actions if iamdoc.is_service_wildcard(a)]
            if wild:
                names = {a.strip().lower() for a in wild}
                extra = (" (iam:* lets the holder grant itself anything)" if "iam:*" in names
                         else " (every action of every service, iam:* included)"
                         if "*" in names else "")
                yield f"{where} allows {', '.join(wild)}{sid}{extra}"


# --- GCP -------------------------------------------------------------------------------------

#: Roles that let the holder act as (or mint credentials for) service accounts. Granted on a
#: project, folder or organisation they cover every service account there, including ones
#: with far more rights than the holder: the classic GCP privilege escalation.
IMPERSONATION_ROLES = (
    "roles/iam.serviceAccountTokenCreator", "roles/iam.serviceAccountUser",
    "roles/iam.serviceAccountKeyAdmin", "roles/iam.serviceAccountOpenIdTokenCreator",
    "roles/iam.workloadIdentityUser", "roles/iam.serviceAccountAdmin",
)
_LEVEL_IAM = tuple(f"gcp:{level}/iAM{kind}:IAM{kind}"
                   for level in ("projects", "folder", "organizations")
                   for kind in ("Member", "Binding", "Policy"))


@resource_rule(
    id="TRL-IAM-009", title="No impersonation of every service account",
    description="No project, folder or organisation grants a role that impersonates or mints "
                "keys or tokens for every service account in it.",
    severity="high", enforcement="mandatory",
    remediation="Grant roles/iam.serviceAccountUser or roles/iam.serviceAccountTokenCreator on "
                "the one service account that is needed (`gcp.serviceaccount.IAMMember` with "
                "`service_account_id`), never on the project, folder or organisation.",
    types=_LEVEL_IAM, checkov=["CKV_GCP_41", "CKV_GCP_49", "CKV_GCP_44", "CKV_GCP_45"],
    trivy=["AVD-GCP-0011", "AVD-GCP-0005", "AVD-GCP-0009"])
def gcp_no_level_impersonation(res: Res, settings: Settings) -> Iterator[str]:
    level = res.type.split(":")[1].split("/")[0]
    scope = {"projects": "project", "folder": "folder", "organizations": "organisation"}[level]
    for role, members in iamdoc.gcp_grants(res.type, res.get):
        if role.strip() in IMPERSONATION_ROLES:
            yield (f"{role} on the whole {scope} lets {', '.join(members) or 'its members'} act "
                   f"as every service account in the {scope}")


_SENSITIVE_IAM = (
    *(f"gcp:serviceaccount/iAM{k}:IAM{k}" for k in ("Member", "Binding", "Policy")),
    *(f"gcp:secretmanager/{s}Iam{k}:{s[0].upper()}{s[1:]}Iam{k}"
      for s in ("secret", "regionalSecret") for k in ("Member", "Binding", "Policy")),
    *(f"gcp:kms/{s}IAM{k}:{s[0].upper()}{s[1:]}IAM{k}"
      for s in ("cryptoKey", "keyRing") for k in ("Member", "Binding", "Policy")),
)


@resource_rule(
    id="TRL-IAM-010", title="No public grants on identities, secrets or keys",
    description="No service account, Secret Manager secret, KMS key or key ring grants a role "
                "to allUsers or allAuthenticatedUsers.",
    severity="critical", enforcement="mandatory",
    remediation="Remove the allUsers / allAuthenticatedUsers member; grant the role to the named "
                "group or service account that needs it.",
    types=_SENSITIVE_IAM, checkov=["CKV_GCP_112", "CKV2_GCP_6", "CKV2_GCP_8"])
def gcp_no_public_sensitive_grants(res: Res, settings: Settings) -> Iterator[str]:
    what = res.type.split(":")[1].split("/")[1]
    for role, members in iamdoc.gcp_grants(res.type, res.get):
        public = [m for m in members if iamdoc.gcp_public_member(m)]
        if public:
            who = ("anyone on the internet" if any(m.strip().lower() == "allusers"
                                                   for m in public)
                   else "anyone with a Google account")
            yield (f"{role} is granted to {', '.join(public)} on a {_NOUNS.get(what, what)}: "
                   f"{who} gets it")


_NOUNS = {"iAMMember": "service account", "iAMBinding": "service account",
          "iAMPolicy": "service account"}
_NOUNS.update({f"{s}Iam{k}": "secret" for s in ("secret", "regionalSecret")
               for k in ("Member", "Binding", "Policy")})
_NOUNS.update({f"cryptoKeyIAM{k}": "KMS key" for k in ("Member", "Binding", "Policy")})
_NOUNS.update({f"keyRingIAM{k}": "KMS key ring" for k in ("Member", "Binding", "Policy")})
