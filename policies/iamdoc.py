"""Reading IAM as the engine sends it: AWS policy documents, GCP members, roles and bindings.

AWS policy properties arrive as a JSON string (``json.dumps`` / ``Output.json_dumps``) or as an
object (the typed ``PolicyDocumentArgs``); ``Action``/``Resource``/``Principal`` may be a string
or a list. GCP IAM arrives as one member, a member list, or a ``policyData`` JSON string with
bindings. The helpers normalise all of that; anything unknown raises so rules fail closed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from policies.view import as_list, require_known

PUBLIC_GCP_MEMBERS = ("allusers", "allauthenticatedusers")
BASIC_ROLES = ("roles/owner", "roles/editor", "roles/viewer")
DEFAULT_SA_RE = re.compile(r"^(serviceAccount:)?(\d+-compute@developer\.gserviceaccount\.com|"
                           r"[a-z0-9-]+@appspot\.gserviceaccount\.com)$", re.IGNORECASE)


def document(value: Any, where: str) -> dict[str, Any]:
    """A policy document (JSON text or object) as a dict; {} when absent."""
    value = require_known(value, (where,))
    if value is None or value == "":
        return {}
    if isinstance(value, str):
        try:
            parsed = json.loads(value)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{where} is not valid JSON: {exc}") from None
        return parsed if isinstance(parsed, dict) else {}
    return value if isinstance(value, dict) else {}


@dataclass(frozen=True)
class Statement:
    effect: str
    actions: tuple[str, ...]
    not_actions: tuple[str, ...]
    resources: tuple[str, ...]
    principals: tuple[str, ...]  # flattened: "*", "AWS:*", "AWS:arn:...", "Service:..."
    has_condition: bool
    condition: dict[str, Any]
    sid: str
    not_resources: tuple[str, ...] = ()
    not_principals: tuple[str, ...] = ()  # flattened like ``principals``

    @property
    def allow(self) -> bool:
        return self.effect.lower() == "allow"

    @property
    def admin(self) -> bool:
        """Allow ``Action: "*"`` (or ``*:*``) on ``Resource: "*"``."""
        return (self.allow and any(a.strip() in ("*", "*:*") for a in self.actions)
                and any(is_star(r) for r in self.resources))


def _principals(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value if value == "*" else f"?:{value}",)
    out: list[str] = []
    if isinstance(value, dict):
        for kind, ids in value.items():
            out.extend(f"{kind}:{i}" for i in as_list(ids))
    return tuple(out)


def statements(doc: dict[str, Any]) -> Iterator[Statement]:
    for st in as_list(doc.get("Statement") or doc.get("statement")):
        if not isinstance(st, dict):
            continue
        yield Statement(
            effect=str(st.get("Effect", "Allow")),
            actions=tuple(str(a) for a in as_list(st.get("Action"))),
            not_actions=tuple(str(a) for a in as_list(st.get("NotAction"))),
            resources=tuple(str(r) for r in as_list(st.get("Resource"))),
            principals=_principals(st.get("Principal")),
            has_condition=bool(st.get("Condition")),
            condition=st.get("Condition") or {},
            sid=str(st.get("Sid", "")),
            not_resources=tuple(str(r) for r in as_list(st.get("NotResource"))),
            not_principals=_principals(st.get("NotPrincipal")),
        )


def is_public_principal(principal: str) -> bool:
    """``*`` or ``{"AWS": "*"}`` (anyone, any account)."""
    if principal == "*":
        return True
    kind, _, ident = principal.partition(":")
    return kind in ("AWS", "?") and ident.strip() == "*"


#: Condition keys that narrow *who* can use a statement (lower case). ``aws:SourceVpce`` and
#: ``aws:SourceVpc`` narrow the path to callers inside one network, which AWS's own guidance
#: on public buckets accepts too. ``aws:SecureTransport``, ``aws:SourceIp``, ``sts:ExternalId``
#: and the like do not: anyone can use TLS, any address may be listed, an external id is a
#: shared string.
PRINCIPAL_CONDITION_KEYS = frozenset(k.lower() for k in (
    "aws:PrincipalOrgID", "aws:PrincipalOrgPaths", "aws:PrincipalAccount", "aws:PrincipalArn",
    "aws:SourceAccount", "aws:SourceArn", "aws:SourceOrgID", "aws:SourceOrgPaths",
    "aws:SourceVpce", "aws:SourceVpc"))
#: Operators that only match when the key is present and equal to (or like) a listed value.
#: Negated operators (``StringNotEquals``), ``...IfExists`` (true when the key is absent: the
#: caller need not send it) and ``Null`` do not narrow anything.
_MATCHING_OPERATORS = ("stringequals", "stringequalsignorecase", "stringlike", "arnequals",
                       "arnlike")


def _condition_terms(condition: Any) -> list[tuple[str, str, list[Any]]]:
    """``Condition`` -> [(operator, key, values)], operator lower-cased without a set prefix."""
    out: list[tuple[str, str, list[Any]]] = []
    if not isinstance(condition, dict):
        return out
    for op, block in condition.items():
        if not isinstance(block, dict):
            continue
        name = str(op).lower()
        qualifier, _, base = name.rpartition(":")
        if qualifier == "forallvalues":
            continue  # true when the key is absent or empty: narrows nothing on its own
        for key, values in block.items():
            out.append((base, str(key), as_list(values)))
    return out


def _narrowing(op: str, values: list[Any]) -> bool:
    """A matching operator with at least one value that is not the bare wildcard."""
    return op in _MATCHING_OPERATORS and bool(values) and all(
        isinstance(v, str) and v.strip() not in ("", "*") for v in values)


def restricts_principal(condition: Any) -> bool:
    """The condition limits callers to named accounts, organisations, ARNs or networks."""
    return any(key.lower() in PRINCIPAL_CONDITION_KEYS and _narrowing(op, values)
               for op, key, values in _condition_terms(condition))


def public_allows(doc: dict[str, Any]) -> list[Statement]:
    """Allow statements open to anyone (``*``, ``{"AWS": "*"}``, or any ``NotPrincipal``) that no
    condition narrows to named principals (:func:`restricts_principal`)."""
    return [s for s in statements(doc)
            if s.allow and (any(is_public_principal(p) for p in s.principals)
                            or bool(s.not_principals))
            and not restricts_principal(s.condition)]


WEB_IDENTITY_ACTIONS = ("sts:assumerolewithwebidentity", "sts:*", "*")


def federated_providers(st: Statement) -> list[str]:
    """The OIDC/SAML providers of a ``{"Federated": ...}`` principal (ARN or host)."""
    return [p.split(":", 1)[1] for p in st.principals if p.startswith("Federated:")]


def provider_host(provider: str) -> str:
    """``arn:aws:iam::1:oidc-provider/token.actions.githubusercontent.com`` -> the host (the
    prefix of its condition keys); a bare host or ``cognito-identity.amazonaws.com`` as is."""
    return provider.split("oidc-provider/", 1)[-1].strip().lower()


def unscoped_web_identity(st: Statement) -> list[str]:
    """Providers a web-identity trust statement lets *every* identity of assume the role through.

    An OIDC provider (GitHub Actions, an EKS cluster, GitLab, ...) vouches for many subjects; only
    a ``<provider>:sub`` condition with a matching operator says which one may assume the role.
    Cognito identity pools are scoped by ``cognito-identity.amazonaws.com:aud`` instead.
    """
    if not st.allow or not any(a.strip().lower() in WEB_IDENTITY_ACTIONS for a in st.actions):
        return []
    terms = _condition_terms(st.condition)
    out = []
    for provider in federated_providers(st):
        host = provider_host(provider)
        if host == "cognito-identity.amazonaws.com":
            wanted = {f"{host}:aud"}
        elif "saml-provider/" in host:
            continue  # SAML federation: SAML:aud is the identity provider's business
        else:
            wanted = {f"{host}:sub"}
        scoped = any(key.lower() in wanted and _narrowing(op, values)
                     for op, key, values in terms)
        if not scoped:
            out.append(provider)
    return out


def is_service_wildcard(action: str) -> bool:
    """``*`` or ``<service>:*`` (every action of a service); ``s3:Get*`` is not."""
    a = action.strip()
    return a == "*" or (a.endswith(":*") and a.count(":") == 1)


def denies_insecure_transport(doc: dict[str, Any]) -> bool:
    """A Deny on every principal when ``aws:SecureTransport`` is false (the TLS-only idiom)."""
    for s in statements(doc):
        if s.effect.lower() != "deny":
            continue
        if not any(is_public_principal(p) for p in s.principals):
            continue
        for op, cond in s.condition.items():
            if not str(op).lower().startswith("bool") or not isinstance(cond, dict):
                continue
            for key, val in cond.items():
                if key.lower() == "aws:securetransport" and str(
                        as_list(val)[0] if as_list(val) else "").lower() == "false":
                    return True
    return False


def is_star(value: str) -> bool:
    return value.strip() == "*"


def admin_statements(doc: dict[str, Any]) -> list[Statement]:
    """Allow ``Action: "*"`` (or ``*:*``) on ``Resource: "*"``."""
    return [s for s in statements(doc) if s.admin]


ADMIN_POLICY_RE = re.compile(r"(AdministratorAccess|FullAccess|PowerUserAccess|IAMFullAccess)",
                             re.IGNORECASE)


def is_admin_policy_arn(arn: str) -> bool:
    """AWS managed policies that grant (near-)administrator rights."""
    name = arn.rsplit("/", 1)[-1]
    return bool(ADMIN_POLICY_RE.search(name))


def gcp_public_member(member: str) -> bool:
    return member.strip().lower() in PUBLIC_GCP_MEMBERS


def gcp_acl_entity_public(entity: str) -> bool:
    """ACL entities are ``READER:allUsers`` (roleEntities) or ``allUsers`` (entity)."""
    return entity.rsplit(":", 1)[-1].strip().lower() in PUBLIC_GCP_MEMBERS


def is_default_service_account(email: str) -> bool:
    """The Compute Engine or App Engine default service account (shared by everything)."""
    return bool(DEFAULT_SA_RE.match(email.strip())) or email.strip().lower() == "default"


ESCALATION_ROLES = frozenset({
    "roles/iam.serviceAccountKeyAdmin", "roles/iam.serviceAccountTokenCreator",
    "roles/iam.securityAdmin", "roles/iam.roleAdmin", "roles/iam.organizationRoleAdmin",
    "roles/resourcemanager.projectIamAdmin", "roles/resourcemanager.folderIamAdmin",
    "roles/resourcemanager.organizationAdmin"})
"""Roles that let the holder grant itself more, wherever they are granted."""


def is_admin_gcp_role(role: str, *, project_level: bool = True) -> bool:
    """Basic roles, service admin roles (``*.admin``) and privilege-escalation roles.

    Granted on a project, folder or organisation, every ``*Admin`` role counts too
    (``compute.instanceAdmin``, ``iam.serviceAccountUser`` on every account). Granted on one
    resource, data roles such as ``storage.objectAdmin`` on the team's own bucket do not: they
    read and write that resource's data and cannot change who else may.
    """
    r = role.strip()
    if r in BASIC_ROLES or r in ESCALATION_ROLES:
        return True
    tail = r.rsplit("/", 1)[-1]
    if tail.endswith(".admin"):
        return True
    return project_level and (tail.endswith("Admin") or r == "roles/iam.serviceAccountUser")


def gcp_bindings(policy_data: Any, where: str) -> list[tuple[str, list[str]]]:
    """``policyData`` JSON -> [(role, members)]."""
    doc = document(policy_data, where)
    out: list[tuple[str, list[str]]] = []
    for b in as_list(doc.get("bindings")):
        if isinstance(b, dict):
            out.append((str(b.get("role", "")), [str(m) for m in as_list(b.get("members"))]))
    return out


def gcp_grants(res_type: str, props_get: Any) -> list[tuple[str, list[str]]]:
    """(role, members) granted by any GCP IAM Member / Binding / Policy resource."""
    if res_type.endswith(("IAMPolicy", "IamPolicy")):
        return gcp_bindings(props_get("policyData"), "policyData")
    role = props_get("role")
    if res_type.endswith(("IAMMember", "IamMember")):
        member = props_get("member")
        return [(str(role or ""), [str(member or "")])]
    if res_type.endswith(("IAMBinding", "IamBinding")):
        members = require_known(props_get("members"), ("members",))
        return [(str(role or ""), [str(m) for m in as_list(members)])]
    return []


def sa_email_from_member(member: str) -> str | None:
    if member.startswith("serviceAccount:"):
        return member.split(":", 1)[1].strip().lower()
    return None

