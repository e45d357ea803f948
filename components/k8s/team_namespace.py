"""A team's home in the cluster: namespace, service account, edit access, quotas, defaults,
and the walls around it.

Without it, the workload identity binding points at a Kubernetes service account nobody
created, and the first Job a data scientist submits fails. One component = the whole unit.

The walls: the namespace carries the ``trellis.dev/team`` label (the admission policy of
:mod:`components.k8s.isolation` reads it) and Pod Security Admission labels (enforce
``baseline``: no privileged, host-namespace or hostPath pods that would take over a node and
borrow every identity on it; warn and audit ``restricted``), and NetworkPolicies deny ingress
from other namespaces except the cluster's own add-ons. docs/adr/0031-in-cluster-team-isolation.md
"""

# No `from __future__ import annotations`: hosted for other languages (docs/adr/0006).
from typing import Any, NotRequired, TypedDict

import pulumi
import pulumi_kubernetes as k8s

from components import common
from components.common import TEAM_LABEL

GPU_QUOTA_KEY = "requests.nvidia.com/gpu"
PSA_PREFIX = "pod-security.kubernetes.io"
PSA_ENFORCE_VERSION = "v1.34"
"""The Pod Security Standards version ``enforce`` is pinned to. GKE upgrades the control plane
on its release channel, outside ``pulumi up``: with ``latest``, a new control in a Kubernetes
release would start refusing pods that ran the day before, with no change anyone reviewed.
v1.34 is the newest change to ``baseline`` (KEP-4940: no ``host`` in probes and lifecycle
handlers; on an older cluster PSA applies its own latest). ``warn`` and ``audit`` follow
``latest``, so teams see newer rules before they are enforced; raise this constant to move
enforcement on. https://kubernetes.io/docs/concepts/security/pod-security-admission/"""
NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"
"""Set by the API server on every namespace: NetworkPolicies select namespaces by it."""
DENY_INGRESS_POLICY = "default-deny-ingress"
ALLOW_INGRESS_POLICY = "allow-team-and-system"
INGRESS_FROM_NAMESPACES: tuple[str, ...] = ("kube-system",)
"""Namespaces whose pods may reach a team's pods by default: the cluster's own add-ons."""


def pod_security_labels(enforce: str = "baseline") -> dict[str, str]:
    """Pod Security Admission labels of a team namespace."""
    return {f"{PSA_PREFIX}/enforce": enforce,
            f"{PSA_PREFIX}/enforce-version": PSA_ENFORCE_VERSION,
            f"{PSA_PREFIX}/warn": "restricted", f"{PSA_PREFIX}/warn-version": "latest",
            f"{PSA_PREFIX}/audit": "restricted", f"{PSA_PREFIX}/audit-version": "latest"}


class RbacSubject(TypedDict):
    """Who gets edit rights in the namespace (a Kubernetes RBAC subject)."""

    kind: str
    """``User`` or ``Group``."""
    name: str
    """The user or group name as the cluster's authenticator reports it (GKE: the Google email;
    EKS: the Kubernetes group of the team's access entries)."""


class TeamNamespaceArgs(TypedDict):
    """Arguments of :class:`TeamNamespace`."""

    team: str
    """Team slug: the namespace and the Kubernetes service account are both named after it, and
    the namespace carries it as ``trellis.dev/team`` (the team of its GPU nodes' taint)."""
    gpu_quota: int
    """Hard limit on ``requests.nvidia.com/gpu`` in the namespace: the team's maximum GPUs in
    this environment (sum over its pools of max_nodes x GPUs per node)."""
    labels: NotRequired[dict[str, str]]
    """Labels on the namespace and its objects (team, env, cost center); those Kubernetes
    would refuse (a space, ``:``, over 63 characters, a ``kubernetes.io`` prefix...) are left
    out (``common.kubernetes_labels``). Default: none."""
    service_account_annotations: NotRequired[dict[str, pulumi.Input[str]]]
    """Annotations on the service account, e.g. GKE's ``iam.gke.io/gcp-service-account``.
    Default: none (EKS Pod Identity needs no annotation)."""
    edit_subjects: NotRequired[list[RbacSubject]]
    """Subjects bound to the built-in ``edit`` ClusterRole in this namespace only. Default: none."""
    cpu_quota: NotRequired[str]
    """Hard limit on ``requests.cpu`` in the namespace (a Kubernetes quantity, e.g. ``"104"``):
    the team's CPU work plus what its GPU pools hold at max size. Default: no CPU quota."""
    memory_quota: NotRequired[str]
    """Hard limit on ``requests.memory`` (e.g. ``"1200Gi"``). Default: no memory quota."""
    default_cpu: NotRequired[str]
    """CPU request given to containers that set none. Default: ``500m``."""
    default_memory: NotRequired[str]
    """Memory request given to containers that set none. No default *limit* is set: a limit
    default would reject a container that requests more than it (200Gi on a GPU node) and
    kill one that sets nothing at that size. Default: ``1Gi``."""
    pod_security: NotRequired[str]
    """Pod Security Standard enforced in the namespace, ``baseline`` or ``restricted``
    (``warn`` and ``audit`` are always ``restricted``). Default: ``baseline``: privileged,
    host-namespace and hostPath pods are refused, ordinary images running as root are not."""
    ingress_from_namespaces: NotRequired[list[str]]
    """Namespaces whose pods may open connections to the team's pods, besides the team's own
    (every other ingress from pods is denied; the node itself, i.e. kubelet probes, is always
    allowed). Default: ``["kube-system"]``."""


class TeamNamespace(pulumi.ComponentResource):
    """A team's namespace with its service account, RBAC, GPU ResourceQuota and LimitRange."""

    namespace: pulumi.Output[str]
    """The namespace name."""
    service_account: pulumi.Output[str]
    """The Kubernetes service account pods should use for the team's workload identity."""

    def __init__(self, name: str, args: TeamNamespaceArgs,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("trellis:k8s:TeamNamespace", name, None, opts)
        team = args["team"]
        enforce = args.get("pod_security", "baseline")
        if enforce not in ("baseline", "restricted"):
            raise ValueError(f"TeamNamespace '{name}': pod_security must be baseline or "
                             f"restricted; got {enforce!r}")
        labels = {**common.kubernetes_labels(args.get("labels")),
                  "app.kubernetes.io/managed-by": "trellis"}
        ns = k8s.core.v1.Namespace(
            f"{name}-namespace", metadata=k8s.meta.v1.ObjectMetaArgs(
                name=team, labels={**labels, TEAM_LABEL: team,
                                   **pod_security_labels(enforce)}),
            opts=pulumi.ResourceOptions(parent=self))
        in_ns = pulumi.ResourceOptions(parent=self, depends_on=[ns])

        def meta(obj: str, **extra: object) -> k8s.meta.v1.ObjectMetaArgs:
            return k8s.meta.v1.ObjectMetaArgs(name=obj, namespace=team, labels=labels,
                                              **extra)  # type: ignore[arg-type]

        sa = k8s.core.v1.ServiceAccount(
            f"{name}-sa", opts=in_ns,
            metadata=meta(team, annotations=dict(args.get("service_account_annotations", {}))))
        subjects = args.get("edit_subjects", [])
        if subjects:
            k8s.rbac.v1.RoleBinding(
                f"{name}-edit", opts=in_ns, metadata=meta(f"{team}-edit"),
                role_ref=k8s.rbac.v1.RoleRefArgs(api_group="rbac.authorization.k8s.io",
                                                 kind="ClusterRole", name="edit"),
                subjects=[k8s.rbac.v1.SubjectArgs(api_group="rbac.authorization.k8s.io",
                                                  kind=s["kind"], name=s["name"])
                          for s in subjects])
        k8s.core.v1.ResourceQuota(
            f"{name}-gpu-quota", opts=in_ns, metadata=meta("gpu"),
            spec=k8s.core.v1.ResourceQuotaSpecArgs(
                hard={GPU_QUOTA_KEY: str(int(args["gpu_quota"]))}))
        compute = {k: str(v) for k, v in (("requests.cpu", args.get("cpu_quota")),
                                          ("requests.memory", args.get("memory_quota")))
                   if v}
        if compute:
            k8s.core.v1.ResourceQuota(
                f"{name}-compute-quota", opts=in_ns, metadata=meta("compute"),
                spec=k8s.core.v1.ResourceQuotaSpecArgs(hard=compute))
        cpu, memory = args.get("default_cpu", "500m"), args.get("default_memory", "1Gi")
        # Containers without requests get modest default *requests* instead of BestEffort (and
        # the compute quota can count them). No default limit: it would reject a container that
        # requests more memory than the limit without setting one, and cap a job that sets
        # nothing at a fraction of a 1.8 TB GPU node.
        k8s.core.v1.LimitRange(
            f"{name}-defaults", opts=in_ns, metadata=meta("defaults"),
            spec=k8s.core.v1.LimitRangeSpecArgs(limits=[k8s.core.v1.LimitRangeItemArgs(
                type="Container", default_request={"cpu": cpu, "memory": memory})]))
        self._create_network_policies(name, args, meta, in_ns)
        self.namespace = ns.metadata.apply(lambda m: str(m["name"]) if isinstance(m, dict)
                                           else str(m.name))
        self.service_account = sa.metadata.apply(lambda m: str(m["name"]) if isinstance(m, dict)
                                                 else str(m.name))
        self.register_outputs({"namespace": self.namespace,
                               "service_account": self.service_account})

    def _create_network_policies(self, name: str, args: TeamNamespaceArgs, meta: Any,
                                 opts: pulumi.ResourceOptions) -> None:
        # Ingress only: egress (DNS, the API server, the metadata server or Pod Identity agent,
        # registries and buckets) stays open, so nothing a pod needs to start breaks.
        every_pod = k8s.meta.v1.LabelSelectorArgs()
        k8s.networking.v1.NetworkPolicy(
            f"{name}-deny-ingress", opts=opts, metadata=meta(DENY_INGRESS_POLICY),
            spec=k8s.networking.v1.NetworkPolicySpecArgs(
                pod_selector=every_pod, policy_types=["Ingress"]))
        sources = sorted(set(args.get("ingress_from_namespaces", INGRESS_FROM_NAMESPACES)))
        rules = [k8s.networking.v1.NetworkPolicyIngressRuleArgs(
            from_=[k8s.networking.v1.NetworkPolicyPeerArgs(pod_selector=every_pod)])]
        if sources:
            rules.append(k8s.networking.v1.NetworkPolicyIngressRuleArgs(
                from_=[k8s.networking.v1.NetworkPolicyPeerArgs(
                    namespace_selector=k8s.meta.v1.LabelSelectorArgs(match_expressions=[
                        k8s.meta.v1.LabelSelectorRequirementArgs(
                            key=NAMESPACE_NAME_LABEL, operator="In", values=sources)]))]))
        k8s.networking.v1.NetworkPolicy(
            f"{name}-allow-ingress", opts=opts, metadata=meta(ALLOW_INGRESS_POLICY),
            spec=k8s.networking.v1.NetworkPolicySpecArgs(
                pod_selector=every_pod, policy_types=["Ingress"], ingress=rules))
