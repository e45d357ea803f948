"""The Kubernetes cluster autoscaler on EKS, so GPU node groups scale up from zero.

GKE scales node pools itself; EKS managed node groups need the cluster autoscaler running in
the cluster. It discovers the node groups by their Auto Scaling group tags and, for groups at
zero nodes, reads the node-template tags (labels, taints, ``nvidia.com/gpu``) that
``GpuNodeGroup`` puts on each group, to know that a pending GPU pod would fit.
"""

# No `from __future__ import annotations`: hosted for other languages (docs/adr/0006).
from typing import NotRequired, TypedDict

import pulumi
import pulumi_kubernetes as k8s

from components import catalog

#: Chart for a Kubernetes minor the EKS version table does not know: the newest chart in it
#: (https://github.com/kubernetes/autoscaler/releases, tags "cluster-autoscaler-chart-*").
#: Known minors use the chart whose appVersion is theirs (``eks_versions.csv``).
CHART_VERSION = "9.59.0"
CHART_REPO = "https://kubernetes.github.io/autoscaler"
SERVICE_ACCOUNT = "cluster-autoscaler"


class ClusterAutoscalerArgs(TypedDict):
    """Arguments of :class:`ClusterAutoscaler`."""

    cluster_name: pulumi.Input[str]
    """EKS cluster whose node groups are discovered (tag k8s.io/cluster-autoscaler/<name>)."""
    region: str
    """AWS region of the cluster."""
    kubernetes_version: str
    """Cluster minor version, e.g. ``1.35``: the autoscaler image must match it (autoscaler
    releases are specific to one Kubernetes minor)."""
    image_tag: NotRequired[str]
    """Autoscaler image tag. Default: the release for ``kubernetes_version`` in the EKS version
    table (``catalog.eks_version(v).autoscaler_image_tag``), else ``v<minor>.0``."""
    node_selector: NotRequired[dict[str, str]]
    """Where the autoscaler runs (it tolerates ``CriticalAddonsOnly``, the system nodes'
    taint). Default: anywhere."""
    chart_version: NotRequired[str]
    """Helm chart version. Default: the chart whose appVersion is ``kubernetes_version``'s
    release (``catalog.eks_version(v).autoscaler_chart_version``: 9.59.0 for 1.35, 9.53.0 for
    1.34, ...), else :data:`CHART_VERSION`. Each chart's templates and flags match its own
    autoscaler release; the image tag stays the one for the cluster's minor."""


class ClusterAutoscaler(pulumi.ComponentResource):
    """The cluster-autoscaler Helm release in kube-system, running as its Pod Identity role."""

    service_account: pulumi.Output[str]
    """Service account the autoscaler runs as (the Pod Identity association targets it)."""

    def __init__(self, name: str, args: ClusterAutoscalerArgs,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("trellis:k8s:ClusterAutoscaler", name, None, opts)
        minor = str(args["kubernetes_version"])
        row = catalog.eks_version(minor)
        tag = args.get("image_tag") or (row.autoscaler_image_tag if row else f"v{minor}.0")
        placement: dict[str, object] = {
            "tolerations": [{"key": "CriticalAddonsOnly", "operator": "Exists",
                             "effect": "NoSchedule"}]}
        if args.get("node_selector"):
            placement["nodeSelector"] = dict(args["node_selector"])
        k8s.helm.v3.Release(
            f"{name}-release", opts=pulumi.ResourceOptions(parent=self),
            name="cluster-autoscaler", namespace="kube-system", chart="cluster-autoscaler",
            version=args.get("chart_version") or (
                row.autoscaler_chart_version if row else CHART_VERSION),
            repository_opts=k8s.helm.v3.RepositoryOptsArgs(repo=CHART_REPO),
            values={
                "cloudProvider": "aws", "awsRegion": args["region"],
                "autoDiscovery": {"clusterName": args["cluster_name"]},
                "image": {"tag": tag},
                **placement,
                "rbac": {"serviceAccount": {"create": True, "name": SERVICE_ACCOUNT}},
                "extraArgs": {
                    # GPU groups differ only by team taint: balancing would mix them up.
                    "balance-similar-node-groups": False,
                    "expander": "least-waste",
                    "skip-nodes-with-system-pods": False,
                    "scale-down-unneeded-time": "10m",
                },
            })
        self.service_account = pulumi.Output.from_input(SERVICE_ACCOUNT)
        self.register_outputs({"service_account": self.service_account})
