"""Kubernetes objects inside the cluster: per-team namespaces, identities, access and quotas."""

from components.k8s.cluster_autoscaler import ClusterAutoscaler, ClusterAutoscalerArgs
from components.k8s.kubeconfig import eks_kubeconfig, gke_kubeconfig
from components.k8s.team_namespace import RbacSubject, TeamNamespace, TeamNamespaceArgs

__all__ = [
    "ClusterAutoscaler", "ClusterAutoscalerArgs", "RbacSubject", "TeamNamespace",
    "TeamNamespaceArgs", "eks_kubeconfig", "gke_kubeconfig",
]
