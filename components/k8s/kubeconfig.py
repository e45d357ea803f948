"""Kubeconfigs built from a cluster's outputs, so nothing is read from a local ~/.kube/config.

Authentication uses each cloud's standard exec plugin (``gke-gcloud-auth-plugin``, ``aws eks
get-token``): short-lived tokens from the deployer's own credentials, no static secrets.
"""

import json

import pulumi


def _kubeconfig(name: str, endpoint: str, ca_data: str, exec_spec: dict[str, object]) -> str:
    return json.dumps({
        "apiVersion": "v1", "kind": "Config", "current-context": name,
        "clusters": [{"name": name, "cluster": {"server": endpoint,
                                                "certificate-authority-data": ca_data}}],
        "contexts": [{"name": name, "context": {"cluster": name, "user": name}}],
        "users": [{"name": name, "user": {"exec": exec_spec}}],
    }, sort_keys=True)


def gke_kubeconfig(name: pulumi.Input[str], endpoint: pulumi.Input[str],
                   ca_certificate: pulumi.Input[str]) -> pulumi.Output[str]:
    """Kubeconfig for a GKE cluster (private endpoint reachable from where `pulumi up` runs)."""
    exec_spec = {"apiVersion": "client.authentication.k8s.io/v1beta1",
                 "command": "gke-gcloud-auth-plugin", "provideClusterInfo": True,
                 "installHint": "gcloud components install gke-gcloud-auth-plugin"}
    return pulumi.Output.all(name, endpoint, ca_certificate).apply(
        lambda v: _kubeconfig(str(v[0]), f"https://{v[1]}", str(v[2]), exec_spec))


def gke_dns_kubeconfig(name: pulumi.Input[str],
                       dns_endpoint: pulumi.Input[str]) -> pulumi.Output[str]:
    """Kubeconfig for a GKE cluster's DNS-based endpoint (``gke-<id>.<region>.gke.goog``).

    Reachable from anywhere that reaches Google APIs, authorised by IAM
    (``container.clusters.connect``) before Kubernetes RBAC; its certificate is publicly
    trusted, so no cluster CA is embedded. Same result as ``gcloud container clusters
    get-credentials NAME --dns-endpoint``.
    https://cloud.google.com/kubernetes-engine/docs/concepts/network-isolation
    """
    exec_spec = {"apiVersion": "client.authentication.k8s.io/v1beta1",
                 "command": "gke-gcloud-auth-plugin", "provideClusterInfo": True,
                 "installHint": "gcloud components install gke-gcloud-auth-plugin"}

    def build(v: list[object]) -> str:
        return json.dumps({
            "apiVersion": "v1", "kind": "Config", "current-context": str(v[0]),
            "clusters": [{"name": str(v[0]), "cluster": {"server": f"https://{v[1]}"}}],
            "contexts": [{"name": str(v[0]), "context": {"cluster": str(v[0]),
                                                         "user": str(v[0])}}],
            "users": [{"name": str(v[0]), "user": {"exec": exec_spec}}],
        }, sort_keys=True)

    return pulumi.Output.all(name, dns_endpoint).apply(build)


def eks_kubeconfig(name: pulumi.Input[str], endpoint: pulumi.Input[str],
                   ca_data: pulumi.Input[str], region: str) -> pulumi.Output[str]:
    """Kubeconfig for an EKS cluster, authenticated with ``aws eks get-token``."""
    def build(v: list[object]) -> str:
        exec_spec: dict[str, object] = {
            "apiVersion": "client.authentication.k8s.io/v1beta1", "command": "aws",
            "args": ["eks", "get-token", "--cluster-name", str(v[0]), "--region", region,
                     "--output", "json"]}
        return _kubeconfig(str(v[0]), str(v[1]), str(v[2]), exec_spec)

    return pulumi.Output.all(name, endpoint, ca_data).apply(build)
