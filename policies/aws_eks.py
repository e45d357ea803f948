"""EKS cluster rules: API endpoint exposure, pod identity, secrets encryption, logging, version."""

from __future__ import annotations

from collections.abc import Iterator

from policies.cidr import covers_internet
from policies.joins import Index
from policies.registry import each, resource_rule, stack_rule
from policies.settings import Settings, parse_version
from policies.view import Res, Stack, as_list, require_known

CLUSTER = "aws:eks/cluster:Cluster"
ADDON = "aws:eks/addon:Addon"
POD_IDENTITY = "aws:eks/podIdentityAssociation:PodIdentityAssociation"
OIDC_PROVIDER = "aws:iam/openIdConnectProvider:OpenIdConnectProvider"
REQUIRED_LOGS = ("api", "audit", "authenticator")
OPEN_CIDRS = ("0.0.0.0/0", "::/0")


@resource_rule(
    id="TRL-EKS-001", title="EKS API endpoint not open",
    description="The EKS API endpoint is private or limited to listed CIDRs other than "
                "0.0.0.0/0.",
    severity="critical", enforcement="mandatory",
    remediation="Set `vpc_config.endpoint_public_access=False`, or keep it public with "
                "`public_access_cidrs` listing the admin networks only (org.yaml "
                "`platform.admin_cidrs`).",
    types=[CLUSTER], checkov=["CKV_AWS_38", "CKV_AWS_39"],
    trivy=["AVD-AWS-0040", "AVD-AWS-0041"], cdk_nag=["AwsSolutions-EKS1"])
def eks_endpoint(res: Res, settings: Settings) -> Iterator[str]:
    public = res.get("vpcConfig", "endpointPublicAccess")
    if public is False:
        return
    cidrs = [str(c) for c in as_list(require_known(res.get("vpcConfig", "publicAccessCidrs"),
                                                   ("vpcConfig", "publicAccessCidrs")))]
    if not cidrs:
        yield ("the public endpoint is on (the default) with no publicAccessCidrs, which means "
               "0.0.0.0/0")
    elif any(c.strip() in OPEN_CIDRS for c in cidrs):
        yield f"publicAccessCidrs includes {', '.join(c for c in cidrs if c in OPEN_CIDRS)}"
    elif families := covers_internet(cidrs):
        yield (f"publicAccessCidrs {', '.join(cidrs)} together cover {' and '.join(families)}: "
               "every address can reach the API endpoint")


@resource_rule(
    id="TRL-EKS-002", title="EKS private endpoint access",
    description="EKS clusters enable private endpoint access so nodes reach the API inside the "
                "VPC.",
    severity="medium", enforcement="mandatory",
    remediation="Set `vpc_config.endpoint_private_access=True`.",
    types=[CLUSTER])
def eks_private_access(res: Res, settings: Settings) -> Iterator[str]:
    if res.get("vpcConfig", "endpointPrivateAccess") is not True:
        yield "endpointPrivateAccess is not true: node traffic to the API leaves the VPC"


def _cluster_index(stack: Stack) -> Index:
    return Index(stack.of_type(CLUSTER), lambda c: [v for v in (
        c.peek("name"), c.peek("id"), c.peek("arn")) if isinstance(v, str)])


@stack_rule(
    id="TRL-EKS-003", title="EKS Pod Identity or IRSA",
    description="EKS clusters give pods AWS identities through Pod Identity or IRSA, not the "
                "node role.",
    severity="high", enforcement="mandatory",
    remediation="Install the `eks-pod-identity-agent` add-on (aws.eks.Addon) and bind roles "
                "with aws.eks.PodIdentityAssociation, or create the cluster's IAM OIDC provider "
                "for IRSA.",
    types=[CLUSTER, ADDON, POD_IDENTITY, OIDC_PROVIDER])
def eks_pod_identity(stack: Stack, settings: Settings) -> Iterator[tuple[str, str]]:
    index = _cluster_index(stack)
    enabled: set[str] = set()
    for addon in stack.of_type(ADDON):
        if addon.get("addonName") == "eks-pod-identity-agent":
            target = index.resolve(addon, "clusterName")
            if target is not None:
                enabled.add(target.urn)
    for assoc in stack.of_type(POD_IDENTITY):
        target = index.resolve(assoc, "clusterName")
        if target is not None:
            enabled.add(target.urn)
    for provider in stack.of_type(OIDC_PROVIDER):
        # The provider's url is the cluster's issuer, an output of the cluster.
        for urn in (*provider.deps_of("url"), *provider.dependencies):
            if urn in index.by_urn:
                enabled.add(urn)

    def check(cluster: Res) -> Iterator[str]:
        if cluster.urn not in enabled:
            yield ("no eks-pod-identity-agent add-on, pod identity association or IAM OIDC "
                   "provider for this cluster: pods can only use the node role")
    yield from each(stack.of_type(CLUSTER), check)


@resource_rule(
    id="TRL-EKS-004", title="EKS secrets encryption",
    description="EKS clusters envelope-encrypt Kubernetes secrets with a KMS key.",
    severity="high", enforcement="mandatory",
    remediation="Set `encryption_config={\"resources\": [\"secrets\"], \"provider\": "
                "{\"key_arn\": <kms key arn>}}`.",
    types=[CLUSTER], checkov=["CKV_AWS_58"], trivy=["AVD-AWS-0039"])
def eks_secrets_encryption(res: Res, settings: Settings) -> Iterator[str]:
    config = res.get("encryptionConfig")
    resources = [str(r) for r in as_list(require_known(
        config.get("resources") if isinstance(config, dict) else None, ("encryptionConfig",)))]
    if "secrets" not in resources:
        yield "encryptionConfig does not cover secrets"
    elif not res.get("encryptionConfig", "provider", "keyArn"):
        yield "encryptionConfig has no provider.keyArn"


@resource_rule(
    id="TRL-EKS-005", title="EKS control-plane logging",
    description="EKS clusters ship api, audit and authenticator control-plane logs.",
    severity="medium", enforcement="mandatory",
    remediation="Set `enabled_cluster_log_types=[\"api\", \"audit\", \"authenticator\", "
                "\"controllerManager\", \"scheduler\"]` (the first three at least).",
    types=[CLUSTER], checkov=["CKV_AWS_37"], trivy=["AVD-AWS-0038"],
    cdk_nag=["AwsSolutions-EKS2"])
def eks_logging(res: Res, settings: Settings) -> Iterator[str]:
    enabled = {str(t) for t in as_list(require_known(res.get("enabledClusterLogTypes"),
                                                     ("enabledClusterLogTypes",)))}
    missing = [t for t in REQUIRED_LOGS if t not in enabled]
    if missing:
        yield f"control-plane log types missing: {', '.join(missing)}"


@resource_rule(
    id="TRL-EKS-006", title="EKS supported version",
    description="EKS clusters pin a Kubernetes version that is still supported.",
    severity="medium", enforcement="advisory",
    remediation="Set `version` to a supported minor version (at least the pack's "
                "`minKubernetesVersion`) and upgrade one minor version at a time.",
    types=[CLUSTER], config=["minKubernetesVersion"], checkov=["CKV_AWS_339"])
def eks_version(res: Res, settings: Settings) -> Iterator[str]:
    version = res.get("version")
    if not version:
        yield "version is not pinned: the cluster gets whatever is default on creation day"
        return
    have = parse_version(str(version))
    want = parse_version(settings.min_kubernetes_version)
    if have is None or (want is not None and have < want):
        yield f"version {version} is older than {settings.min_kubernetes_version}"


@resource_rule(
    id="TRL-EKS-007", title="EKS access entries",
    description="EKS clusters authenticate with access entries (API mode), not the aws-auth "
                "ConfigMap alone.",
    severity="low", enforcement="advisory",
    remediation="Set `access_config={\"authentication_mode\": \"API\"}` and grant access with "
                "aws.eks.AccessEntry.",
    types=[CLUSTER])
def eks_access_entries(res: Res, settings: Settings) -> Iterator[str]:
    mode = res.get("accessConfig", "authenticationMode")
    if mode not in ("API", "API_AND_CONFIG_MAP"):
        yield f"authenticationMode is {mode or 'CONFIG_MAP (default)'}"
