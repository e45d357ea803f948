"""GKE cluster and node pool rules: private nodes and endpoint, identity, legacy auth, logging."""

from __future__ import annotations

from collections.abc import Iterator

from policies.cidr import covers_internet
from policies.registry import resource_rule
from policies.settings import Settings
from policies.view import Res, as_list, at, require_known

CLUSTER = "gcp:container/cluster:Cluster"
NODE_POOL = "gcp:container/nodePool:NodePool"
OPEN_CIDRS = ("0.0.0.0/0", "::/0")
CHANNELS = ("RAPID", "REGULAR", "STABLE", "EXTENDED")


@resource_rule(
    id="TRL-GKE-001", title="GKE private nodes",
    description="GKE nodes have private IP addresses only.",
    severity="high", enforcement="mandatory",
    remediation="Set `private_cluster_config={\"enable_private_nodes\": True, ...}` on the "
                "cluster (egress through Cloud NAT) and do not override it per node pool.",
    types=[CLUSTER, NODE_POOL],
    checkov=["CKV_GCP_64", "CKV_GCP_25"], trivy=["AVD-GCP-0059"])
def gke_private_nodes(res: Res, settings: Settings) -> Iterator[str]:
    if res.type == NODE_POOL:
        if res.get("networkConfig", "enablePrivateNodes") is False:
            yield "networkConfig.enablePrivateNodes is false: nodes get public IPs"
        return
    if res.get("privateClusterConfig", "enablePrivateNodes") is not True:
        yield "privateClusterConfig.enablePrivateNodes is not true: nodes get public IPs"


@resource_rule(
    id="TRL-GKE-002", title="GKE control plane not open",
    description="The GKE control plane is not reachable from the whole internet.",
    severity="critical", enforcement="mandatory",
    remediation="Use a private endpoint (`enable_private_endpoint=True`), or set "
                "`master_authorized_networks_config` with the admin CIDRs only (org.yaml "
                "`platform.admin_cidrs`), never 0.0.0.0/0.",
    types=[CLUSTER], checkov=["CKV_GCP_20", "CKV_GCP_18"],
    trivy=["AVD-GCP-0061", "AVD-GCP-0053"])
def gke_control_plane(res: Res, settings: Settings) -> Iterator[str]:
    if res.get("privateClusterConfig", "enablePrivateEndpoint") is True:
        return
    if res.get("controlPlaneEndpointsConfig", "ipEndpointsConfig", "enabled") is False:
        return
    networks = res.get("masterAuthorizedNetworksConfig")
    if not isinstance(networks, dict):
        yield ("public endpoint without masterAuthorizedNetworksConfig: the API server accepts "
               "connections from any address")
        return
    cidrs = [str(at(b, "cidrBlock")) for b in as_list(
        require_known(networks.get("cidrBlocks"), ("masterAuthorizedNetworksConfig",)))]
    open_ = [c for c in cidrs if c.strip() in OPEN_CIDRS]
    if open_:
        yield f"masterAuthorizedNetworksConfig allows {', '.join(open_)}"
    elif families := covers_internet(cidrs):
        yield (f"masterAuthorizedNetworksConfig lists {', '.join(cidrs)}, which together cover "
               f"{' and '.join(families)}: every address can reach the API server")
    if networks.get("gcpPublicCidrsAccessEnabled") is True:
        yield "gcpPublicCidrsAccessEnabled lets every Google Cloud public IP reach the API server"


@resource_rule(
    id="TRL-GKE-003", title="GKE Workload Identity",
    description="GKE clusters enable Workload Identity and node pools keep the GKE metadata "
                "server.",
    severity="high", enforcement="mandatory",
    remediation="Set `workload_identity_config={\"workload_pool\": \"<project>.svc.id.goog\"}` "
                "on the cluster and leave node pools' workload_metadata_config at GKE_METADATA.",
    types=[CLUSTER, NODE_POOL], checkov=["CKV_GCP_69"], trivy=["AVD-GCP-0057"])
def gke_workload_identity(res: Res, settings: Settings) -> Iterator[str]:
    if res.type == CLUSTER and not res.get("workloadIdentityConfig", "workloadPool"):
        yield ("workloadIdentityConfig.workloadPool is not set: pods fall back to the node's "
               "service account")
    if res.get("nodeConfig", "workloadMetadataConfig", "mode") == "GCE_METADATA":
        yield "workloadMetadataConfig.mode GCE_METADATA exposes the node identity to pods"


@resource_rule(
    id="TRL-GKE-004", title="GKE legacy ABAC off",
    description="GKE clusters do not enable legacy attribute-based access control.",
    severity="high", enforcement="mandatory",
    remediation="Remove `enable_legacy_abac=True`; authorise with RBAC and IAM.",
    types=[CLUSTER], checkov=["CKV_GCP_7"], trivy=["AVD-GCP-0062"])
def gke_legacy_abac(res: Res, settings: Settings) -> Iterator[str]:
    if res.get("enableLegacyAbac") is True:
        yield "enableLegacyAbac is true"


@resource_rule(
    id="TRL-GKE-005", title="GKE client certificates off",
    description="GKE clusters do not issue client certificates.",
    severity="high", enforcement="mandatory",
    remediation="Remove `master_auth.client_certificate_config.issue_client_certificate=True`; "
                "authenticate with Google identities.",
    types=[CLUSTER], checkov=["CKV_GCP_13"], trivy=["AVD-GCP-0064"])
def gke_client_certificate(res: Res, settings: Settings) -> Iterator[str]:
    if res.get("masterAuth", "clientCertificateConfig", "issueClientCertificate") is True:
        yield "masterAuth issues a long-lived client certificate with cluster-admin rights"


@resource_rule(
    id="TRL-GKE-006", title="GKE shielded nodes",
    description="GKE clusters keep shielded nodes and node pools keep integrity monitoring on.",
    severity="medium", enforcement="mandatory",
    remediation="Remove `enable_shielded_nodes=False` and "
                "`shielded_instance_config.enable_integrity_monitoring=False`.",
    types=[CLUSTER, NODE_POOL], checkov=["CKV_GCP_71", "CKV_GCP_72"], trivy=["AVD-GCP-0055"])
def gke_shielded_nodes(res: Res, settings: Settings) -> Iterator[str]:
    if res.type == CLUSTER and res.get("enableShieldedNodes") is False:
        yield "enableShieldedNodes is false"
    if res.get("nodeConfig", "shieldedInstanceConfig", "enableIntegrityMonitoring") is False:
        yield "shieldedInstanceConfig.enableIntegrityMonitoring is false"


@resource_rule(
    id="TRL-GKE-007", title="GKE control-plane logging",
    description="GKE clusters send system and control-plane logs to Cloud Logging.",
    severity="medium", enforcement="mandatory",
    remediation="Leave `logging_service` at its default and, if `logging_config` is set, "
                "include SYSTEM_COMPONENTS (and APISERVER for API server logs).",
    types=[CLUSTER], checkov=["CKV_GCP_1"], trivy=["AVD-GCP-0060"])
def gke_logging(res: Res, settings: Settings) -> Iterator[str]:
    if res.get("loggingService") == "none":
        yield "loggingService is none"
        return
    config = res.get("loggingConfig")
    if isinstance(config, dict):
        components = [str(c) for c in as_list(
            require_known(config.get("enableComponents"), ("loggingConfig",)))]
        if "SYSTEM_COMPONENTS" not in components:
            yield (f"loggingConfig.enableComponents is {components or 'empty'}; "
                   "SYSTEM_COMPONENTS is required")


@resource_rule(
    id="TRL-GKE-008", title="GKE release channel",
    description="GKE clusters are enrolled in a release channel so they stay on a supported "
                "version.",
    severity="low", enforcement="advisory",
    remediation="Set `release_channel={\"channel\": \"REGULAR\"}` (or STABLE) instead of "
                "pinning versions.",
    types=[CLUSTER], checkov=["CKV_GCP_70"])
def gke_release_channel(res: Res, settings: Settings) -> Iterator[str]:
    channel = res.get("releaseChannel", "channel")
    if channel not in CHANNELS:
        yield f"release channel is {channel or 'not set'}"
