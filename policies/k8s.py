"""Kubernetes object rules: cluster-wide admin for everyone, and workloads that take over nodes.

Both are stack rules: a binding is judged with the roles it refers to, and a workload with the
namespace it lands in.

**Team namespaces.** A ``kubernetes:core/v1:Namespace`` in the same stack whose labels carry
``trellis.dev/team`` (the key Trellis puts on team nodes and taints), or ``team`` beside
``managed-by: trellis`` / ``app.kubernetes.io/managed-by: trellis`` (how Trellis labels the
namespaces it creates today). A workload is in one when its ``metadata.namespace`` names it,
or, when that name is not known yet, when it was computed from such a namespace. Namespaces of
other stacks cannot be seen and are not judged. Outside team namespaces, cluster add-ons (CNI,
device plugins, log agents) legitimately run privileged, so they are left alone.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from policies.joins import Index
from policies.registry import each, stack_rule
from policies.settings import Settings
from policies.view import UNKNOWN, Res, Stack, as_list, at, peek_at

_RBAC = "kubernetes:rbac.authorization.k8s.io/v1"
CLUSTER_ROLE_BINDINGS = (f"{_RBAC}:ClusterRoleBinding", f"{_RBAC}:ClusterRoleBindingPatch")
ROLE_BINDINGS = (f"{_RBAC}:RoleBinding", f"{_RBAC}:RoleBindingPatch")
CLUSTER_ROLES = (f"{_RBAC}:ClusterRole", f"{_RBAC}:ClusterRolePatch")
ROLES = (f"{_RBAC}:Role", f"{_RBAC}:RolePatch")
NAMESPACES = ("kubernetes:core/v1:Namespace", "kubernetes:core/v1:NamespacePatch")

#: Subjects that mean "everyone" (or every workload): every authenticated identity (on GKE
#: any Google account), anonymous requests, every service account (of the cluster or of one
#: namespace).
BROAD_GROUPS = ("system:authenticated", "system:unauthenticated", "system:serviceaccounts")
ANONYMOUS_USER = "system:anonymous"
ADMIN_CLUSTER_ROLES = ("cluster-admin",)


def _broad_subjects(binding: Res) -> list[str]:
    out = []
    for subject in as_list(binding.get("subjects")):
        kind, name = str(at(subject, "kind") or ""), str(at(subject, "name") or "")
        group = name in BROAD_GROUPS or name.startswith("system:serviceaccounts:")
        if (kind == "Group" and group) or (kind == "User" and name == ANONYMOUS_USER):
            out.append(name)
    return out


def _all_verbs(role: Res) -> bool:
    """A rule of the role allows every verb (``*``)."""
    return any("*" in [str(v) for v in as_list(at(rule, "verbs"))]
               for rule in as_list(role.get("rules")))


def _name_index(resources: list[Res]) -> Index:
    return Index(resources, lambda r: [n] if isinstance(n := r.peek("metadata", "name"), str)
                 else [])


@stack_rule(
    id="TRL-K8S-001", title="No cluster admin for everyone",
    description="No ClusterRoleBinding or RoleBinding gives cluster-admin, or a role allowing "
                "every verb, to system:authenticated, system:unauthenticated, "
                "system:anonymous or all service accounts.",
    severity="critical", enforcement="mandatory",
    remediation="Bind the role to the named users, groups or service accounts that need it "
                "(on GKE, a Google group through Google Groups for RBAC; on EKS, an access "
                "entry), and give everyone else a role with named verbs and resources.",
    types=[*CLUSTER_ROLE_BINDINGS, *ROLE_BINDINGS, *CLUSTER_ROLES, *ROLES],
    trivy=["AVD-KSV-0111", "AVD-KSV-01011", "AVD-KSV-0122"])
def k8s_admin_for_everyone(stack: Stack, settings: Settings) -> Iterator[tuple[str, str]]:
    cluster_roles = _name_index(stack.of_type(*CLUSTER_ROLES))
    roles = _name_index(stack.of_type(*ROLES))

    def check(binding: Res) -> Iterator[str]:
        broad = _broad_subjects(binding)
        if not broad:
            return
        kind = str(binding.get("roleRef", "kind") or "")
        name = binding.peek("roleRef", "name")
        index = roles if kind == "Role" else cluster_roles
        role = index.resolve(binding, "roleRef", name)
        if kind == "ClusterRole" and name in ADMIN_CLUSTER_ROLES:
            why = f"ClusterRole {name}"
        elif role is not None and _all_verbs(role):
            why = f"{kind} {role.peek('metadata', 'name')!s} (every verb)"
        elif name is UNKNOWN and role is None:
            binding.get("roleRef", "name")  # which role is unknown: fail closed
            return
        else:
            return
        scope = "the whole cluster" if binding.type in CLUSTER_ROLE_BINDINGS \
            else "its namespace"
        yield (f"binds {why} to {', '.join(broad)}: everyone in that group administers "
               f"{scope}")
    yield from each(stack.of_type(*CLUSTER_ROLE_BINDINGS, *ROLE_BINDINGS), check)


# --- workloads -------------------------------------------------------------------------------

_POD = "kubernetes:core/v1:Pod"
#: Where each workload kind keeps its pod spec.
POD_SPEC_PATHS: dict[str, tuple[str, ...]] = {
    **{t: ("spec",) for t in (_POD, f"{_POD}Patch")},
    **{f"kubernetes:{api}:{kind}{patch}": ("spec", "template", "spec")
       for api, kinds in (("apps/v1", ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet")),
                          ("batch/v1", ("Job",)))
       for kind in kinds for patch in ("", "Patch")},
    **{f"kubernetes:batch/v1:CronJob{patch}": ("spec", "jobTemplate", "spec", "template", "spec")
       for patch in ("", "Patch")},
}
TEAM_LABEL = "trellis.dev/team"
_MANAGED_BY = ("managed-by", "app.kubernetes.io/managed-by")


def is_team_namespace(ns: Res) -> bool:
    labels = ns.peek("metadata", "labels")
    if not isinstance(labels, dict):
        return False
    if isinstance(labels.get(TEAM_LABEL), str):
        return True
    return isinstance(labels.get("team"), str) and any(
        labels.get(k) == "trellis" for k in _MANAGED_BY)


def pod_spec_dangers(workload: Res) -> list[str]:
    """What in the workload's pod spec hands a container the node.

    Only the fields read must be known (an image computed from a registry URL is fine); an
    unknown one of them raises, so the rule fails closed.
    """
    spec = workload.get(*POD_SPEC_PATHS[workload.type])
    if not isinstance(spec, dict):
        return []
    out = [f"{key}: true" for key in ("hostNetwork", "hostPID", "hostIPC")
           if at(spec, key) is True]
    for vol in as_list(at(spec, "volumes")):
        if at(vol, "hostPath") is not None:
            out.append(f"hostPath volume {peek_at(vol, 'name')!s} "
                       f"({peek_at(vol, 'hostPath', 'path')!s})")
    for group in ("initContainers", "containers", "ephemeralContainers"):
        for c in as_list(at(spec, group)):
            if at(c, "securityContext", "privileged") is True:
                out.append(f"privileged container {peek_at(c, 'name')!s}")
    return out


@stack_rule(
    id="TRL-K8S-002", title="No node takeover from team namespaces",
    description="Workloads in team namespaces are not privileged and use no hostNetwork, "
                "hostPID, hostIPC or hostPath.",
    severity="critical", enforcement="mandatory",
    remediation="Drop `privileged`, `hostNetwork`, `hostPID`, `hostIPC` and `hostPath` volumes "
                "(use emptyDir, PVCs or CSI volumes); node-level agents belong in a platform "
                "namespace, not a team's.",
    types=[*POD_SPEC_PATHS, *NAMESPACES], checkov=["CKV_K8S_16", "CKV_K8S_17", "CKV_K8S_18",
                                                  "CKV_K8S_19"],
    trivy=["AVD-KSV-0017", "AVD-KSV-0010", "AVD-KSV-0008", "AVD-KSV-0009", "AVD-KSV-0023"])
def k8s_no_node_takeover(stack: Stack, settings: Settings) -> Iterator[tuple[str, str]]:
    namespaces = _name_index(stack.of_type(*NAMESPACES))
    team_names = {n for ns in namespaces.targets if is_team_namespace(ns)
                  for n in [ns.peek("metadata", "name")] if isinstance(n, str)}
    team_urns = {ns.urn for ns in namespaces.targets if is_team_namespace(ns)}

    def check(workload: Res) -> Iterator[str]:
        name = workload.peek("metadata", "namespace")
        target = namespaces.resolve(workload, "metadata", name)
        if target is not None:
            in_team = target.urn in team_urns
        elif isinstance(name, str) or name is None:
            in_team = name in team_names
        else:
            in_team = None  # unknown and not computed from a namespace of this stack
        if in_team is False:
            return
        dangers = pod_spec_dangers(workload)
        if not dangers:
            return
        if in_team is None:
            workload.get("metadata", "namespace")  # might be a team namespace: fail closed
        shown = name if isinstance(name, str) else (
            target.peek("metadata", "name") if target is not None else "?")
        yield (f"{', '.join(dangers)} in team namespace {shown!s}: a container there can take "
               "over the node and use every identity on it, other teams' included")
    yield from each([r for r in stack.resources if r.type in POD_SPEC_PATHS], check)


# --- team namespaces without their isolation objects -------------------------------------------

_ADMISSION = "kubernetes:admissionregistration.k8s.io/v1"
ADMISSION_POLICIES = (f"{_ADMISSION}:ValidatingAdmissionPolicy",)
ADMISSION_BINDINGS = (f"{_ADMISSION}:ValidatingAdmissionPolicyBinding",)
NETWORK_POLICIES = ("kubernetes:networking.k8s.io/v1:NetworkPolicy",)
#: The label :class:`components.k8s.TeamAdmission` puts on its policy (the pack does not import
#: components, so the value is repeated here and pinned by a test).
ISOLATION_POLICY_LABEL = ("trellis.dev/policy", "team-isolation")
PSA_ENFORCE = "pod-security.kubernetes.io/enforce"
PSA_LEVELS = ("baseline", "restricted")
NAME_LABEL = "kubernetes.io/metadata.name"


def selector_matches(selector: Mapping[str, Any], labels: Mapping[str, str]) -> bool:
    """A Kubernetes label selector (matchLabels, matchExpressions) against a label map.

    An empty selector selects everything. Operators: In, NotIn (the key may be absent),
    Exists, DoesNotExist.
    https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#resources-that-support-set-based-requirements
    """
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for req in selector.get("matchExpressions") or []:
        key, op = req.get("key"), req.get("operator")
        values = [str(v) for v in req.get("values") or []]
        present = key in labels
        if op == "In":
            ok = present and labels[key] in values
        elif op == "NotIn":
            ok = not present or labels[key] not in values
        elif op == "Exists":
            ok = present
        elif op == "DoesNotExist":
            ok = not present
        else:
            raise ValueError(f"label selector operator {op!r} is not In, NotIn, Exists or "
                             "DoesNotExist")
        if not ok:
            return False
    return True


def _denies_all_ingress(policy: Res) -> bool:
    """Selects every pod of its namespace for Ingress and allows no ingress at all."""
    spec = policy.get_known("spec")
    if not isinstance(spec, dict):
        return False
    selector = spec.get("podSelector") or {}
    every_pod = not selector.get("matchLabels") and not selector.get("matchExpressions")
    types = spec.get("policyTypes")
    # Without policyTypes, a policy is an Ingress policy (plus Egress if it has egress rules).
    ingress_type = "Ingress" in types if isinstance(types, list) else True
    return every_pod and ingress_type and not spec.get("ingress")


@stack_rule(
    id="TRL-K8S-003", title="Team namespaces keep their isolation objects",
    description="Every team namespace enforces a Pod Security Standard, is covered by the "
                "team isolation admission policy and denies ingress by default.",
    severity="high", enforcement="mandatory",
    remediation="Create team namespaces with components.k8s.TeamNamespace (labels "
                "pod-security.kubernetes.io/enforce: baseline, trellis.dev/team, and the "
                "default-deny-ingress NetworkPolicy) and the cluster's components.k8s."
                "TeamAdmission (the ValidatingAdmissionPolicy and the bindings that cover "
                "namespaces labelled trellis.dev/team).",
    types=[*NAMESPACES, *ADMISSION_POLICIES, *ADMISSION_BINDINGS, *NETWORK_POLICIES],
    checkov=["CKV2_K8S_6"])
def k8s_team_namespace_isolation(stack: Stack, settings: Settings) -> Iterator[tuple[str, str]]:
    namespaces = _name_index(stack.of_type(*NAMESPACES))
    label_key, label_value = ISOLATION_POLICY_LABEL
    isolation = _name_index([p for p in stack.of_type(*ADMISSION_POLICIES)
                             if (p.peek("metadata", "labels") or {}).get(label_key)
                             == label_value])
    bindings = [b for b in stack.of_type(*ADMISSION_BINDINGS)
                if isolation.resolve(b, "spec", b.peek("spec", "policyName")) is not None]
    policies_by_ns: dict[str, list[Res]] = {}
    for np in stack.of_type(*NETWORK_POLICIES):
        target = namespaces.resolve(np, "metadata", np.peek("metadata", "namespace"))
        if target is not None:
            policies_by_ns.setdefault(target.urn, []).append(np)

    def covered(name: str, labels: Mapping[str, str]) -> bool:
        all_labels = {**labels, NAME_LABEL: name}
        return any("Deny" in as_list(b.get_known("spec", "validationActions"))
                   and selector_matches(b.get_known("spec", "matchResources",
                                                    "namespaceSelector") or {}, all_labels)
                   for b in bindings)

    def check(ns: Res) -> Iterator[str]:
        if not is_team_namespace(ns):
            return
        name = ns.get("metadata", "name")
        labels = ns.get_known("metadata", "labels") or {}
        missing = []
        if labels.get(PSA_ENFORCE) not in PSA_LEVELS:
            missing.append(f"the label {PSA_ENFORCE}: baseline (or restricted); it has "
                           f"{labels.get(PSA_ENFORCE)!r}, so privileged and hostPath pods "
                           "that take over a node are admitted")
        if not covered(str(name), labels):
            missing.append("a ValidatingAdmissionPolicyBinding (Deny) of the team isolation "
                           "policy that selects it, so its pods may tolerate and use other "
                           "teams' GPU nodes")
        if not any(_denies_all_ingress(p) for p in policies_by_ns.get(ns.urn, [])):
            missing.append("a NetworkPolicy that denies ingress to every pod by default, so "
                           "any pod of the cluster can reach its pods")
        for what in missing:
            yield f"team namespace {name} has no {what}"
    yield from each(namespaces.targets, check)
