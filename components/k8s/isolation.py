"""Teams kept apart inside one cluster: the admission policy that ties GPU pools and images to
their team.

A team's GPU nodes carry the taint ``trellis.dev/team=<team>:NoSchedule``; without this policy
the taint is a hint, and anyone may add the toleration, run on another team's GPUs and bill them,
or run another team's image (every node can pull what its node identity can read: on the shared
CPU nodes, and on AWS on every node, that is every team's registry). This component is one
``ValidatingAdmissionPolicy`` (``admissionregistration.k8s.io/v1``, GA since Kubernetes 1.30)
with two bindings:

* in a **team namespace** (label ``trellis.dev/team``), a pod or pod template may not tolerate
  another team's taint (a toleration of ``trellis.dev/team`` for another value, with
  ``operator: Exists``, or a key-less ``Exists`` that tolerates everything), may not select
  another team's nodes or a pool that is not one of its team's (``nodeSelector`` or node
  affinity on ``trellis.dev/team`` / ``trellis.dev/pool``), may not name a node
  (``spec.nodeName`` skips the scheduler and with it every ``NoSchedule`` taint), and may not
  run an image from another team's registry;
* in **other namespaces** except the cluster's own (``kube-system`` and the cloud's system
  namespaces), a pod may not tolerate or select team nodes, unless it is a node agent: a
  DaemonSet, a pod a DaemonSet owns, or a kubelet's mirror pod, that requests no GPU. Node
  agents (the NVIDIA device plugin, log and metrics agents, the CNI) tolerate every taint with
  ``operator: Exists`` and must keep running on GPU nodes; a DaemonSet cannot choose which
  nodes' GPUs it takes, one pod per node, so it may not request GPUs there.

On UPDATE the policy judges only what the update changes against ``oldObject`` (tolerations,
node selector and affinity, node name, images): controllers must still be able to remove a
finalizer from a pod that was admitted before its team or pool was removed.

The CEL uses only the standard library (``has``, ``in``, the ``all``/``exists``/``map`` macros,
``matches`` with RE2): the tests evaluate the planned expressions with cel-python against real
pod specs, GKE's and EKS's own DaemonSets included (tests/k8s/test_admission_cel.py).
docs/adr/0031-in-cluster-team-isolation.md
"""

# No `from __future__ import annotations`: hosted for other languages (docs/adr/0006).
import json
import re
from collections.abc import Mapping, Sequence
from typing import NotRequired, TypedDict

import pulumi
import pulumi_kubernetes as k8s

from components import common
from components.common import POOL_LABEL, TEAM_LABEL, TEAM_TAINT_KEY

POLICY_NAME = "trellis-team-isolation"
"""Name of the ValidatingAdmissionPolicy (cluster-scoped, one per cluster)."""
POLICY_LABEL = "trellis.dev/policy"
"""Label that marks the policy (and its bindings) as Trellis's team isolation: the policy pack
(TRL-K8S-003) looks for it."""
POLICY_LABEL_VALUE = "team-isolation"
TEAM_BINDING = f"{POLICY_NAME}-teams"
"""Binding for the team namespaces (label ``trellis.dev/team``)."""
OTHERS_BINDING = f"{POLICY_NAME}-others"
"""Binding for every other namespace but the cluster's own."""
SYSTEM_NAMESPACES: tuple[str, ...] = ("kube-system", "kube-public", "kube-node-lease")
"""Namespaces of the cluster itself, left to their owners (Kubernetes and the cloud)."""
MIRROR_ANNOTATION = "kubernetes.io/config.mirror"
GPU_RESOURCE = "nvidia.com/gpu"
NAME_LABEL = "kubernetes.io/metadata.name"
"""Set by the API server on every namespace (immutable), so selectors can name namespaces."""
_OPERATIONS = ["CREATE", "UPDATE"]


class TeamAdmissionTeam(TypedDict):
    """What belongs to one team, as the admission policy sees it."""

    pools: Sequence[str]
    """Its GPU pool keys (the nodes' ``trellis.dev/pool`` label values)."""
    image_repositories: NotRequired[Sequence[str]]
    """Image reference prefixes of its registries, ``host/path/`` (e.g.
    ``us-central1-docker.pkg.dev/acme-ml-dev/acme-dev-recsys/`` or
    ``111111111111.dkr.ecr.us-east-1.amazonaws.com/acme-dev-recsys/``). Other teams' pods may
    not run images under them. Default: none (images are not restricted)."""


class TeamAdmissionArgs(TypedDict):
    """Arguments of :class:`TeamAdmission`."""

    teams: Mapping[str, TeamAdmissionTeam]
    """Team slug (the ``trellis.dev/team`` label of its namespace, nodes and taint) -> what it
    owns. Teams absent here may still have namespaces: they get no pool and no registry."""
    platform_pools: NotRequired[Sequence[str]]
    """``trellis.dev/pool`` values every team may select (the shared CPU pool). Default: none."""
    system_namespaces: NotRequired[Sequence[str]]
    """Namespaces neither binding covers: the cluster's and the cloud's own, whose pods (some
    Deployments tolerate every taint) Trellis does not manage. Default:
    :data:`SYSTEM_NAMESPACES`."""
    labels: NotRequired[Mapping[str, str]]
    """Labels on the policy and its bindings; those Kubernetes refuses are left out
    (``common.kubernetes_labels``). Default: none."""


# --------------------------------------------------------------------------------------------
# The CEL, kept as data so the tests evaluate exactly what is planned.
# --------------------------------------------------------------------------------------------

def _lit(value: object) -> str:
    """A CEL literal of a JSON-able value (CEL's string and list/map syntax is JSON's)."""
    return json.dumps(value, sort_keys=True)


def _effect_ok(t: str) -> str:
    # A toleration without an effect tolerates every effect; the team taint is NoSchedule.
    return f"(!has({t}.effect) || {t}.effect == '' || {t}.effect == 'NoSchedule')"


def _key_matches(t: str) -> str:
    # A key-less toleration with operator Exists tolerates every taint key.
    return (f"((has({t}.key) && {t}.key == '{TEAM_TAINT_KEY}') || "
            f"((!has({t}.key) || {t}.key == '') && has({t}.operator) && "
            f"{t}.operator == 'Exists'))")


def _exists(t: str) -> str:
    return f"(has({t}.operator) && {t}.operator == 'Exists')"


def _terms_exist(condition: str) -> str:
    """Some node-affinity match expression ``e`` the request adds satisfies ``condition``."""
    return ("variables.nodeTerms.exists(t, has(t.matchExpressions) && "
            f"t.matchExpressions.exists(e, !{_kept_expression('e')} && {condition}))")


def _spec_of(obj: str) -> str:
    """The pod spec of ``obj``: a Pod's own, a CronJob's job template's, else the template's."""
    return (f"request.kind.kind == 'Pod' ? {obj}.spec : "
            f"(request.kind.kind == 'CronJob' ? {obj}.spec.jobTemplate.spec.template.spec"
            f" : {obj}.spec.template.spec)")


def _node_terms(spec: str) -> str:
    """Every node-affinity term of ``spec``: required terms and preferred preferences."""
    required = f"{spec}.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution"
    preferred = f"{spec}.affinity.nodeAffinity.preferredDuringSchedulingIgnoredDuringExecution"
    return (f"has({spec}.affinity) && has({spec}.affinity.nodeAffinity) ? "
            f"((has({required}) ? {required}.nodeSelectorTerms : []) + "
            f"(has({preferred}) ? {preferred}.map(p, p.preference) : [])) : []")


def _containers(spec: str) -> str:
    return (f"(has({spec}.containers) ? {spec}.containers : []) + "
            f"(has({spec}.initContainers) ? {spec}.initContainers : []) + "
            f"(has({spec}.ephemeralContainers) ? {spec}.ephemeralContainers : [])")


# On UPDATE only what the update changes is judged (against oldObject): a pod or template
# that was admitted keeps what it had, so after a team or pool is removed the controllers can
# still remove finalizers, scale, and add labels to what already runs; a new toleration, node
# selection, node name or image is judged as on CREATE. (Pods may gain tolerations and
# ephemeral containers, and change images, after creation.)

def _kept_toleration(t: str) -> str:
    return f"(variables.update && {t} in variables.oldTolerations)"


def _kept_expression(e: str) -> str:
    return f"(variables.update && variables.oldTermExpressions.exists(l, {e} in l))"


def _kept_selector(key: str) -> str:
    return (f"(variables.update && '{key}' in variables.oldSelector && "
            f"variables.oldSelector['{key}'] == variables.selector['{key}'])")


def variables(teams: Mapping[str, TeamAdmissionTeam],
              platform_pools: Sequence[str]) -> list[tuple[str, str]]:
    """The policy's CEL variables, in evaluation order: (name, expression)."""
    pools = {team: sorted(set(t.get("pools", ()))) for team, t in sorted(teams.items())}
    registries = {team: [image_pattern(prefix) for prefix in t.get("image_repositories", ())]
                  for team, t in sorted(teams.items())}
    spec, old = "variables.spec", "variables.oldSpec"
    return [
        ("team", "has(namespaceObject.metadata.labels) && "
                 f"'{TEAM_LABEL}' in namespaceObject.metadata.labels ? "
                 f"namespaceObject.metadata.labels['{TEAM_LABEL}'] : ''"),
        ("spec", _spec_of("object")),
        ("update", "request.operation == 'UPDATE'"),
        # On CREATE there is no oldObject; the spec stands in, and every "kept" test is false.
        ("oldSpec", f"variables.update ? ({_spec_of('oldObject')}) : variables.spec"),
        ("tolerations", f"has({spec}.tolerations) ? {spec}.tolerations : []"),
        ("oldTolerations", f"has({old}.tolerations) ? {old}.tolerations : []"),
        ("selector", f"has({spec}.nodeSelector) ? {spec}.nodeSelector : {{}}"),
        ("oldSelector", f"has({old}.nodeSelector) ? {old}.nodeSelector : {{}}"),
        ("nodeTerms", _node_terms(spec)),
        ("oldTermExpressions", f"({_node_terms(old)})"
                               ".map(t, has(t.matchExpressions) ? t.matchExpressions : [])"),
        ("containers", _containers(spec)),
        ("oldImages", f"({_containers(old)}).map(c, has(c.image) ? c.image : '')"),
        ("requestsGpu",
         "variables.containers.exists(c, has(c.resources) && "
         f"((has(c.resources.limits) && '{GPU_RESOURCE}' in c.resources.limits) || "
         f"(has(c.resources.requests) && '{GPU_RESOURCE}' in c.resources.requests)))"),
        ("nodeAgent",
         "request.kind.kind == 'DaemonSet' || (request.kind.kind == 'Pod' && "
         "((has(object.metadata.ownerReferences) && object.metadata.ownerReferences.exists("
         "r, r.kind == 'DaemonSet' || r.kind == 'Node')) || "
         "(has(object.metadata.annotations) && "
         f"'{MIRROR_ANNOTATION}' in object.metadata.annotations)))"),
        ("pools", _lit(pools)),
        ("allowedPools", f"(variables.team in variables.pools ? "
                         f"variables.pools[variables.team] : []) + {_lit(sorted(platform_pools))}"),
        ("registries", _lit(registries)),
    ]


def validations() -> list[tuple[str, str, str]]:
    """(name, expression that must hold, message) of each rule, team namespaces first."""
    return [
        ("foreign-toleration",
         "variables.team == '' || !variables.tolerations.exists(t, "
         f"!{_kept_toleration('t')} && {_effect_ok('t')} && {_key_matches('t')} && "
         f"({_exists('t')} || !has(t.value) || t.value != variables.team))",
         f"tolerates another team's GPU nodes (taint {TEAM_TAINT_KEY}): in a team namespace, "
         f"tolerate only {TEAM_TAINT_KEY}=<your team> with operator Equal, as the pool's "
         "scheduling contract says; a toleration with operator Exists tolerates every team"),
        ("foreign-team-selector",
         "variables.team == '' || ("
         f"(!('{TEAM_LABEL}' in variables.selector) || {_kept_selector(TEAM_LABEL)} || "
         f"variables.selector['{TEAM_LABEL}'] == variables.team) && "
         "!" + _terms_exist(f"e.key == '{TEAM_LABEL}' && !((e.operator == 'In' && "
                            "has(e.values) && e.values.all(v, v == variables.team)) || "
                            "e.operator == 'DoesNotExist')") + ")",
         f"selects another team's nodes ({TEAM_LABEL}): in a team namespace, select only "
         f"{TEAM_LABEL}=<your team>"),
        ("foreign-pool-selector",
         "variables.team == '' || ("
         f"(!('{POOL_LABEL}' in variables.selector) || {_kept_selector(POOL_LABEL)} || "
         f"variables.selector['{POOL_LABEL}'] in variables.allowedPools) && "
         "!" + _terms_exist(f"e.key == '{POOL_LABEL}' && e.operator == 'In' && "
                            "has(e.values) && e.values.exists(v, !(v in variables.allowedPools))")
         + ")",
         f"selects a pool ({POOL_LABEL}) that is not one of the team's GPU pools nor a shared "
         "pool: use the scheduling contract of one of your team's pools"),
        ("node-name",
         "variables.team == '' || (request.kind.kind == 'Pod' && request.operation != 'CREATE') "
         "|| !has(variables.spec.nodeName) || variables.spec.nodeName == '' || "
         "(variables.update && has(variables.oldSpec.nodeName) && "
         "variables.oldSpec.nodeName == variables.spec.nodeName)",
         "sets spec.nodeName, which skips the scheduler and every NoSchedule taint: in a team "
         "namespace, let the scheduler place pods (select your pool with nodeSelector)"),
        ("foreign-image",
         "variables.team == '' || variables.containers.all(c, !has(c.image) || "
         "(variables.update && c.image in variables.oldImages) || "
         "variables.registries.all(t, t == variables.team || "
         "variables.registries[t].all(p, !c.image.matches(p))))",
         "runs an image from another team's registry: push the image to your team's registry "
         "(the nodes can pull it, but the other team's images are theirs)"),
        ("outside-toleration",
         "variables.team != '' || (variables.nodeAgent && !variables.requestsGpu) || "
         f"!variables.tolerations.exists(t, !{_kept_toleration('t')} && {_effect_ok('t')} && "
         f"{_key_matches('t')})",
         f"tolerates the teams' GPU nodes (taint {TEAM_TAINT_KEY}) outside a team namespace: "
         "only node agents (DaemonSets that request no GPU) may; run GPU work in a team "
         "namespace"),
        ("outside-selector",
         "variables.team != '' || variables.nodeAgent || "
         f"((!('{TEAM_LABEL}' in variables.selector) || {_kept_selector(TEAM_LABEL)}) && !"
         + _terms_exist(f"e.key == '{TEAM_LABEL}' && (e.operator == 'In' || "
                        "e.operator == 'Exists')") + ")",
         f"selects the teams' nodes ({TEAM_LABEL}) outside a team namespace: run GPU work in "
         "a team namespace"),
    ]


def image_pattern(prefix: str) -> str:
    """An RE2 pattern matching every image reference under a registry prefix ``host/path/``.

    The host is matched case-insensitively and with an optional port (``host:443/...`` pulls
    the same image); an ECR host matches each of its endpoints (``dkr.ecr``, ``dkr-ecr`` dual
    stack, ``-fips``; ``amazonaws.com`` and ``on.aws``), which all serve the same repositories.
    https://docs.aws.amazon.com/general/latest/gr/ecr.html
    """
    host, _, path = prefix.strip().partition("/")
    if not host or not path:
        raise ValueError(f"image repository prefix {prefix!r}: expected host/path/")
    path = path.rstrip("/") + "/"
    ecr = re.fullmatch(r"(\d{12})\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com", host.lower())
    if ecr:
        account, region = ecr.groups()
        host_re = (rf"{account}\.dkr[.-]ecr(-fips)?\.{re.escape(region)}\."
                   r"(amazonaws\.com|on\.aws)")
    else:
        host_re = re.escape(host.lower())
    return rf"^(?i:{host_re})(:[0-9]+)?/{re.escape(path)}"


class TeamAdmission(pulumi.ComponentResource):
    """The ValidatingAdmissionPolicy that keeps teams to their own GPU pools and images."""

    policy_name: pulumi.Output[str]
    """Name of the ValidatingAdmissionPolicy."""

    def __init__(self, name: str, args: TeamAdmissionArgs,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("trellis:k8s:TeamAdmission", name, None, opts)
        labels = {**common.kubernetes_labels(args.get("labels")),
                  "app.kubernetes.io/managed-by": "trellis",
                  POLICY_LABEL: POLICY_LABEL_VALUE}
        system = sorted(set(args.get("system_namespaces", SYSTEM_NAMESPACES)))
        workloads = [
            ("", ["pods", "pods/ephemeralcontainers"]),
            ("apps", ["deployments", "replicasets", "statefulsets", "daemonsets"]),
            ("batch", ["jobs", "cronjobs"]),
        ]
        policy = k8s.admissionregistration.v1.ValidatingAdmissionPolicy(
            f"{name}-policy", opts=pulumi.ResourceOptions(parent=self),
            metadata=k8s.meta.v1.ObjectMetaArgs(name=POLICY_NAME, labels=labels),
            spec=k8s.admissionregistration.v1.ValidatingAdmissionPolicySpecArgs(
                # Fail: a request the policy cannot judge is refused (fail closed); the system
                # namespaces are outside both bindings, so the cluster's own pods never are.
                failure_policy="Fail",
                match_constraints=k8s.admissionregistration.v1.MatchResourcesArgs(
                    resource_rules=[k8s.admissionregistration.v1.NamedRuleWithOperationsArgs(
                        api_groups=[group], api_versions=["v1"], operations=_OPERATIONS,
                        resources=resources, scope="Namespaced")
                        for group, resources in workloads]),
                variables=[k8s.admissionregistration.v1.VariableArgs(name=n, expression=e)
                           for n, e in variables(args["teams"],
                                                 args.get("platform_pools", ()))],
                validations=[k8s.admissionregistration.v1.ValidationArgs(
                    expression=e, message=m, reason="Forbidden")
                    for _, e, m in validations()]))
        in_policy = pulumi.ResourceOptions(parent=self, depends_on=[policy])
        selectors = {
            # Team namespaces, whatever their name.
            TEAM_BINDING: k8s.meta.v1.LabelSelectorArgs(match_expressions=[
                k8s.meta.v1.LabelSelectorRequirementArgs(key=TEAM_LABEL, operator="Exists")]),
            # Every other namespace but the cluster's own.
            OTHERS_BINDING: k8s.meta.v1.LabelSelectorArgs(match_expressions=[
                k8s.meta.v1.LabelSelectorRequirementArgs(key=TEAM_LABEL,
                                                         operator="DoesNotExist"),
                k8s.meta.v1.LabelSelectorRequirementArgs(key=NAME_LABEL, operator="NotIn",
                                                         values=system)]),
        }
        for binding, selector in selectors.items():
            k8s.admissionregistration.v1.ValidatingAdmissionPolicyBinding(
                f"{name}-{binding.removeprefix(POLICY_NAME + '-')}", opts=in_policy,
                metadata=k8s.meta.v1.ObjectMetaArgs(name=binding, labels=labels),
                spec=k8s.admissionregistration.v1.ValidatingAdmissionPolicyBindingSpecArgs(
                    policy_name=POLICY_NAME, validation_actions=["Deny"],
                    match_resources=k8s.admissionregistration.v1.MatchResourcesArgs(
                        namespace_selector=selector)))
        self.policy_name = policy.metadata.apply(
            lambda m: str(m["name"]) if isinstance(m, dict) else str(m.name))
        self.register_outputs({"policy_name": self.policy_name})
