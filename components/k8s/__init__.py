"""Kubernetes objects inside the cluster: per-team namespaces, identities, access and quotas, and
the admission policy that keeps teams to their own GPU pools and images."""

from components.k8s.cluster_autoscaler import ClusterAutoscaler, ClusterAutoscalerArgs
from components.k8s.isolation import TeamAdmission, TeamAdmissionArgs, TeamAdmissionTeam
from components.k8s.kubeconfig import eks_kubeconfig, gke_dns_kubeconfig, gke_kubeconfig
from components.k8s.team_namespace import RbacSubject, TeamNamespace, TeamNamespaceArgs
from components.k8s.warm_capacity import WarmCapacity, WarmCapacityArgs

__all__ = [
    "ClusterAutoscaler", "ClusterAutoscalerArgs", "RbacSubject", "TeamAdmission",
    "TeamAdmissionArgs", "TeamAdmissionTeam", "TeamNamespace", "TeamNamespaceArgs",
    "WarmCapacity", "WarmCapacityArgs", "eks_kubeconfig", "gke_dns_kubeconfig",
    "gke_kubeconfig",
]
