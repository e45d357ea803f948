"""Warm capacity: keep a node pool's minimum of nodes running by giving them something to hold.

GKE's cluster autoscaler never scales a pool *up* to its minimum (it only stops scaling below
it: kubernetes/autoscaler#2288, GKE "node pool size smaller than the minimum"), and a node
pool's initial count is per zone, so ``min_nodes: 1`` over three zones cannot be started
exactly by the pool itself. This component runs ``replicas`` tiny pause pods that select the
pool and tolerate its taints, at most one per node (pod anti-affinity on the hostname): the
autoscaler brings up exactly that many nodes for them and never removes those nodes while the
pods have nowhere else to go. They request 10m CPU and 16Mi, so real jobs still fit.
"""

# No `from __future__ import annotations`: hosted for other languages (docs/adr/0006).
from collections.abc import Mapping, Sequence
from typing import NotRequired, TypedDict

import pulumi
import pulumi_kubernetes as k8s

from components import common
from components.common import Toleration

PAUSE_IMAGE = "registry.k8s.io/pause:3.10"
"""The Kubernetes pause container: sleeps, nothing else (pulled through Cloud NAT / NAT)."""
APP_LABEL = "trellis.dev/warm-capacity"
SKIP_AWAIT = {"pulumi.com/skipAwait": "true"}
"""`pulumi up` does not wait for the placeholders to run: pulumi-kubernetes otherwise waits up to
10 minutes for a Deployment to be Available and fails the update (its Deployment docstring), and
GPU nodes may take longer than that to come (capacity, quota) or never come (no quota yet)."""


class WarmCapacityArgs(TypedDict):
    """Arguments of :class:`WarmCapacity`."""

    namespace: pulumi.Input[str]
    """Namespace of the placeholder pods (the team's, so its quota counts them)."""
    pool: str
    """Pool key: names the Deployment ``warm-<pool>`` and labels its pods."""
    replicas: int
    """Nodes to keep running: the pool's ``min_nodes``."""
    node_selector: Mapping[str, str]
    """The pool's node labels (its scheduling contract)."""
    tolerations: Sequence[Toleration]
    """Tolerations for the pool's taints (its scheduling contract)."""
    labels: NotRequired[Mapping[str, str]]
    """Labels on the Deployment; those Kubernetes would refuse are left out
    (``common.kubernetes_labels``). Default: none."""


class WarmCapacity(pulumi.ComponentResource):
    """One pause pod per node, ``replicas`` nodes: the pool's minimum, started and kept."""

    deployment: pulumi.Output[str]
    """Name of the placeholder Deployment."""

    def __init__(self, name: str, args: WarmCapacityArgs,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("trellis:k8s:WarmCapacity", name, None, opts)
        replicas = int(args["replicas"])
        if replicas < 1:
            raise ValueError(f"WarmCapacity '{name}': replicas must be 1 or more; got {replicas}")
        pod_labels = {APP_LABEL: args["pool"]}
        security = k8s.core.v1.SecurityContextArgs(
            run_as_non_root=True, run_as_user=65535, allow_privilege_escalation=False,
            read_only_root_filesystem=True,
            capabilities=k8s.core.v1.CapabilitiesArgs(drop=["ALL"]))
        deployment = k8s.apps.v1.Deployment(
            f"{name}-warm", opts=pulumi.ResourceOptions(parent=self),
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=f"warm-{args['pool']}", namespace=args["namespace"],
                labels={**common.kubernetes_labels(args.get("labels")), **pod_labels},
                annotations=SKIP_AWAIT),
            spec=k8s.apps.v1.DeploymentSpecArgs(
                replicas=replicas,
                selector=k8s.meta.v1.LabelSelectorArgs(match_labels=pod_labels),
                template=k8s.core.v1.PodTemplateSpecArgs(
                    metadata=k8s.meta.v1.ObjectMetaArgs(labels=pod_labels),
                    spec=k8s.core.v1.PodSpecArgs(
                        node_selector=dict(args["node_selector"]),
                        tolerations=[k8s.core.v1.TolerationArgs(**t) for t in args["tolerations"]],
                        affinity=k8s.core.v1.AffinityArgs(
                            pod_anti_affinity=k8s.core.v1.PodAntiAffinityArgs(
                                required_during_scheduling_ignored_during_execution=[
                                    k8s.core.v1.PodAffinityTermArgs(
                                        topology_key="kubernetes.io/hostname",
                                        label_selector=k8s.meta.v1.LabelSelectorArgs(
                                            match_labels=pod_labels))])),
                        automount_service_account_token=False,
                        # With the container's settings, the pod meets the `restricted` Pod
                        # Security Standard the team namespace warns about.
                        security_context=k8s.core.v1.PodSecurityContextArgs(
                            seccomp_profile=k8s.core.v1.SeccompProfileArgs(
                                type="RuntimeDefault")),
                        termination_grace_period_seconds=0,
                        containers=[k8s.core.v1.ContainerArgs(
                            name="pause", image=PAUSE_IMAGE, security_context=security,
                            resources=k8s.core.v1.ResourceRequirementsArgs(
                                requests={"cpu": "10m", "memory": "16Mi"},
                                limits={"memory": "16Mi"}))]))))
        self.deployment = deployment.metadata.apply(
            lambda m: str(m["name"]) if isinstance(m, dict) else str(m.name))
        self.register_outputs({"deployment": self.deployment})
