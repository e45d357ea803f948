"""Cluster: an EKS control plane that is complete when it returns.

The control plane (private endpoint, public only for the admin ranges, secrets encrypted with
the environment key, every control-plane log type), API-mode authentication with access
entries, the managed add-ons a GPU platform needs, a small CPU system node group for them,
and the IAM role the cluster autoscaler runs as (Pod Identity; the chart itself is a
Kubernetes-layer concern, see docs/aws.md).
"""

# No `from __future__ import annotations`: hosted for other languages (docs/adr/0006).
import json
from collections.abc import Mapping, Sequence
from typing import NotRequired, TypedDict

import pulumi
import pulumi_aws as aws

from components import catalog
from components.aws import _iam, _nodes
from components.aws.identity import pod_identity_trust

LOG_TYPES = ("api", "audit", "authenticator", "controllerManager", "scheduler")
ADMIN_POLICY = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"
EDIT_POLICY = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSEditPolicy"
# Installed before the nodes (networking, kube-proxy, credentials); CoreDNS needs nodes.
ADDONS_BEFORE_NODES = ("vpc-cni", "kube-proxy", "eks-pod-identity-agent")
ADDONS_AFTER_NODES = ("coredns",)
# System nodes run the cluster's add-ons only: CoreDNS and the cluster autoscaler tolerate this
# taint, the add-on DaemonSets tolerate every taint, and team pods go to the general nodes. EKS
# Auto Mode taints its own `system` node pool the same way, for add-ons that tolerate it.
# https://docs.aws.amazon.com/eks/latest/userguide/critical-workload.html
# (awsdocs/amazon-eks-user-guide, latest/ug/automode/critical-workload.adoc)
SYSTEM_TAINT = {"key": "CriticalAddonsOnly", "value": "true", "effect": "NO_SCHEDULE"}
# CoreDNS tolerates it by default; said explicitly, so an add-on default that changes cannot
# leave DNS pending (the add-on's configuration schema takes `tolerations`:
# `aws eks describe-addon-configuration --addon-name coredns`).
# The VPC CNI enforces Kubernetes NetworkPolicies (the teams' default-deny ingress) only with
# `enableNetworkPolicy` on: its node agent then programs eBPF filters on each pod's interface.
# Standard mode (the default): a new pod starts allowing traffic for the moment its policies
# take to apply; strict mode would start every pod, CoreDNS included, denying everything.
# https://docs.aws.amazon.com/eks/latest/userguide/cni-network-policy-configure.html
# (awsdocs/amazon-eks-user-guide, latest/ug/networking/cni-network-policy-configure.adoc)
ADDON_CONFIGURATION = {
    "coredns": json.dumps({"tolerations": [
        {"key": "CriticalAddonsOnly", "operator": "Exists"},
        {"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}]},
        sort_keys=True),
    "vpc-cni": json.dumps({"enableNetworkPolicy": "true"}, sort_keys=True),
}
SYSTEM_LABELS = {"trellis.dev/pool": "system"}
AUTOSCALER_NAMESPACE = "kube-system"
AUTOSCALER_SERVICE_ACCOUNT = "cluster-autoscaler"


class AwsClusterAccess(TypedDict):
    """What one IAM principal may do in the cluster (one access entry per principal)."""

    cluster_admin: NotRequired[bool]
    """AmazonEKSClusterAdminPolicy on the whole cluster. Default: False."""
    namespaces: NotRequired[list[str]]
    """AmazonEKSEditPolicy scoped to these namespaces. Default: none.
    https://docs.aws.amazon.com/eks/latest/userguide/access-policy-permissions.html"""


class AwsSystemNodeGroupArgs(TypedDict):
    """The CPU node group for cluster add-ons (components.catalog.SYSTEM_POOL["aws"])."""

    node_group_name: str
    """EKS node group name."""
    node_role_name: str
    """IAM role name of the nodes."""
    launch_template_name: str
    """EC2 launch template name."""
    instance_type: NotRequired[str]
    """EC2 instance type. Default: ``m7i.xlarge``."""
    min_nodes: NotRequired[int]
    """Nodes always running (total, not per AZ). Default: 1."""
    max_nodes: NotRequired[int]
    """Upper bound for the autoscaler. Default: 3."""
    disk_size_gb: NotRequired[int]
    """Encrypted gp3 root volume per node, GB. Default: 50."""
    running_nodes: NotRequired[int | None]
    """The group's desired size now (``aws.eks.get_node_group``), or None for a new group.
    Default: None."""


class AwsClusterArgs(TypedDict):
    """Arguments of :class:`AwsCluster`."""

    name: str
    """EKS cluster name (``naming.make("eks_cluster", ...)``)."""
    subnet_ids: pulumi.Input[Sequence[str]]
    """Private subnets (two AZs or more) for the control plane ENIs and the system nodes."""
    kms_key_arn: pulumi.Input[str]
    """KMS key for envelope encryption of Kubernetes secrets."""
    role_name: str
    """IAM role name of the control plane."""
    autoscaler_role_name: str
    """IAM role name for the cluster autoscaler (Pod Identity, kube-system/cluster-autoscaler)."""
    system_node_group: AwsSystemNodeGroupArgs
    """The CPU system node group."""
    kubernetes_version: NotRequired[str]
    """Kubernetes minor version. Default: the newest version in EKS standard support
    (``catalog.eks_default_version()``); the upgrade policy is STANDARD so the cluster never
    drifts into extended-support pricing. Add-on versions are resolved for it.
    https://docs.aws.amazon.com/eks/latest/userguide/kubernetes-versions.html"""
    admin_cidrs: NotRequired[list[str]]
    """Ranges that may reach the public API endpoint. Default: none, and the public endpoint
    is off (private endpoint only)."""
    access: NotRequired[Mapping[str, AwsClusterAccess]]
    """Access entries keyed by IAM principal ARN (roles may be in other accounts).
    Default: none; the cluster creator gets no implicit admin access."""
    deployer_principal_arn: NotRequired[pulumi.Input[str] | None]
    """The IAM role or user running ``pulumi up``, given cluster admin through an access entry
    of its own with a fixed logical name (``<name>-access-deployer``): another deployer
    replaces it rather than adding one. Give it when ``access`` names no admin (and not a
    principal ``access`` already has). Default: None."""
    metadata_hop_limit: NotRequired[int]
    """IMDSv2 hop limit on the system nodes. Default: 1 (pods use Pod Identity, never the
    node's credentials)."""
    log_retention_days: NotRequired[int]
    """Retention of the control-plane log group. Default: 30 (365 in production)."""
    production: NotRequired[bool]
    """Protected against deletion (Pulumi protect + EKS deletion protection). Default: False."""
    tags: NotRequired[Mapping[str, str]]
    """Tags on every resource, merged over the provider's default tags. Default: none."""


class AwsCluster(pulumi.ComponentResource):
    """EKS control plane, access entries, managed add-ons, system nodes, autoscaler role."""

    name: pulumi.Output[str]
    """Cluster name."""
    endpoint: pulumi.Output[str]
    """HTTPS endpoint of the Kubernetes API."""
    arn: pulumi.Output[str]
    """ARN of the cluster."""
    certificate_authority: pulumi.Output[str]
    """Base64 PEM of the cluster CA (for kubeconfigs)."""
    security_group_id: pulumi.Output[str]
    """The cluster security group EKS created (attached to every managed node)."""
    autoscaler_role_arn: pulumi.Output[str]
    """Role the cluster autoscaler runs as (Pod Identity on kube-system/cluster-autoscaler)."""
    admin_principals: pulumi.Output[list[str]]
    """Principals with cluster-wide admin, known once their access policies are associated.
    Build in-cluster providers from it so they wait until the deployer may use the API."""
    kubernetes_version: str
    """The cluster's Kubernetes minor version."""
    node_cluster_name: pulumi.Output[str]
    """The cluster name, known once the add-ons nodes need (VPC CNI, kube-proxy, Pod Identity
    agent) exist: node groups given it wait for them."""
    system_ready_name: pulumi.Output[str]
    """The cluster name, known once the system nodes and CoreDNS run: what in-cluster
    controllers (the cluster autoscaler) wait for."""

    def __init__(self, name: str, args: AwsClusterArgs,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("trellis:aws:Cluster", name, None, opts)
        self._name = name
        self._tags = dict(args.get("tags", {}))
        self.kubernetes_version = str(args.get("kubernetes_version")
                                      or catalog.eks_default_version())
        production = args.get("production", False)
        role, role_policies = self._create_role(args)
        self._cluster = self._create_cluster(args, role, role_policies, production)
        self.admin_principals = self._create_access(args.get("access", {}),
                                                    args.get("deployer_principal_arn"))
        before = [self._addon(a) for a in ADDONS_BEFORE_NODES]
        self.node_cluster_name = pulumi.Output.all(
            self._cluster.name, *[a.arn for a in before]).apply(lambda v: str(v[0]))
        system = self._create_system_nodes(args)
        after = [self._addon(addon, depends_on=[system]) for addon in ADDONS_AFTER_NODES]
        self.autoscaler_role_arn, association = self._create_autoscaler_identity(args)
        # The Pod Identity webhook gives credentials to pods created after the association:
        # the autoscaler's pod must not start before it.
        self.system_ready_name = pulumi.Output.all(
            self._cluster.name, system.arn, association.association_arn,
            *[a.arn for a in after]).apply(lambda v: str(v[0]))
        self.name = self._cluster.name
        self.endpoint = self._cluster.endpoint
        self.arn = self._cluster.arn
        self.certificate_authority = self._cluster.certificate_authority.apply(
            lambda ca: ca.data or "")
        self.security_group_id = self._cluster.vpc_config.apply(
            lambda vpc: vpc.cluster_security_group_id or "")
        self.register_outputs({"name": self.name, "endpoint": self.endpoint, "arn": self.arn,
                               "kubernetes_version": self.kubernetes_version,
                               "certificate_authority": self.certificate_authority,
                               "security_group_id": self.security_group_id,
                               "autoscaler_role_arn": self.autoscaler_role_arn,
                               "admin_principals": self.admin_principals})

    def _create_role(self, args: AwsClusterArgs,
                     ) -> tuple[aws.iam.Role, list[pulumi.Resource]]:
        role, attachments = _iam.role_with_attachments(
            self, f"{self._name}-role", name=args["role_name"],
            trust=_iam.service_trust("eks.amazonaws.com",
                                     actions=("sts:AssumeRole", "sts:TagSession")),
            description="EKS control plane (Trellis)", tags=self._tags,
            managed={"cluster": "AmazonEKSClusterPolicy"})
        # Secrets encryption: the control plane uses the key through grants it creates.
        kms = _iam.inline(self, f"{self._name}-role-kms", role=role, name="secrets-encryption",
                          policy=_iam.document(_iam.statement(
                              "SecretsEnvelopeEncryption",
                              ["kms:Encrypt", "kms:Decrypt", "kms:ListGrants",
                               "kms:DescribeKey"], [args["kms_key_arn"]])))
        return role, [*attachments, kms]

    def _create_cluster(self, args: AwsClusterArgs, role: aws.iam.Role,
                        role_policies: list[pulumi.Resource],
                        production: bool) -> aws.eks.Cluster:
        name = args["name"]
        # EKS would create this group itself with no retention; owning it bounds the cost.
        logs = aws.cloudwatch.LogGroup(
            f"{self._name}-logs", name=f"/aws/eks/{name}/cluster",
            retention_in_days=int(args.get("log_retention_days", 365 if production else 30)),
            tags=self._tags, opts=pulumi.ResourceOptions(parent=self))
        admin_cidrs = list(args.get("admin_cidrs", []))
        return aws.eks.Cluster(
            self._name, name=name, role_arn=role.arn,
            version=self.kubernetes_version,
            vpc_config=aws.eks.ClusterVpcConfigArgs(
                subnet_ids=args["subnet_ids"], endpoint_private_access=True,
                endpoint_public_access=bool(admin_cidrs),
                public_access_cidrs=admin_cidrs or None),
            access_config=aws.eks.ClusterAccessConfigArgs(
                authentication_mode="API", bootstrap_cluster_creator_admin_permissions=False),
            encryption_config=aws.eks.ClusterEncryptionConfigArgs(
                provider=aws.eks.ClusterEncryptionConfigProviderArgs(
                    key_arn=args["kms_key_arn"]),
                resources=["secrets"]),
            enabled_cluster_log_types=list(LOG_TYPES),
            upgrade_policy=aws.eks.ClusterUpgradePolicyArgs(support_type="STANDARD"),
            bootstrap_self_managed_addons=False,
            deletion_protection=production,
            tags=self._tags,
            # The control plane's policies exist before it and outlive it (destroy detaches
            # them last, after EKS has cleaned up its network interfaces).
            opts=pulumi.ResourceOptions(parent=self, protect=production,
                                        depends_on=[logs, *role_policies]))

    def _create_access(self, access: Mapping[str, AwsClusterAccess],
                       deployer: pulumi.Input[str] | None) -> pulumi.Output[list[str]]:
        # One access entry per principal (EKS refuses a second one), then one association per
        # policy: a member of two teams gets one Edit association listing both namespaces.
        admins: list[pulumi.Output[str]] = []
        if deployer is not None:
            # A fixed logical name: the next deployer's `pulumi up` replaces this entry (the
            # principal of an access entry cannot change) instead of adding a second admin.
            key = f"{self._name}-access-deployer"
            entry = aws.eks.AccessEntry(key, cluster_name=self._cluster.name,
                                        principal_arn=deployer, type="STANDARD",
                                        tags=self._tags, opts=pulumi.ResourceOptions(parent=self))
            admins.append(aws.eks.AccessPolicyAssociation(
                f"{key}-admin", cluster_name=self._cluster.name,
                principal_arn=entry.principal_arn, policy_arn=ADMIN_POLICY,
                access_scope=aws.eks.AccessPolicyAssociationAccessScopeArgs(type="cluster"),
                opts=pulumi.ResourceOptions(parent=self)).principal_arn)
        for arn in sorted(access):
            grant = access[arn]
            key = f"{self._name}-access-{_iam.principal_key(arn)}"
            entry = aws.eks.AccessEntry(key, cluster_name=self._cluster.name, principal_arn=arn,
                                        type="STANDARD", tags=self._tags,
                                        opts=pulumi.ResourceOptions(parent=self))
            if grant.get("cluster_admin"):
                admin = aws.eks.AccessPolicyAssociation(
                    f"{key}-admin", cluster_name=self._cluster.name,
                    principal_arn=entry.principal_arn, policy_arn=ADMIN_POLICY,
                    access_scope=aws.eks.AccessPolicyAssociationAccessScopeArgs(type="cluster"),
                    opts=pulumi.ResourceOptions(parent=self))
                admins.append(admin.principal_arn)
            namespaces = sorted(set(grant.get("namespaces", [])))
            if namespaces:
                aws.eks.AccessPolicyAssociation(
                    f"{key}-edit", cluster_name=self._cluster.name,
                    principal_arn=entry.principal_arn, policy_arn=EDIT_POLICY,
                    access_scope=aws.eks.AccessPolicyAssociationAccessScopeArgs(
                        type="namespace", namespaces=namespaces),
                    opts=pulumi.ResourceOptions(parent=self))
        return pulumi.Output.all(*admins)

    def _addon(self, addon: str, depends_on: list[pulumi.Resource] | None = None) -> aws.eks.Addon:
        # The newest version EKS offers for the cluster's Kubernetes version, looked up at every
        # `pulumi up`: a cluster upgrade brings compatible add-ons instead of stale pins.
        version = aws.eks.get_addon_version_output(
            addon_name=addon, kubernetes_version=self.kubernetes_version, most_recent=True,
            opts=pulumi.InvokeOutputOptions(parent=self))
        return aws.eks.Addon(f"{self._name}-{addon}", cluster_name=self._cluster.name,
                             addon_name=addon, addon_version=version.version,
                             configuration_values=ADDON_CONFIGURATION.get(addon),
                             resolve_conflicts_on_create="OVERWRITE",
                             resolve_conflicts_on_update="OVERWRITE", tags=self._tags,
                             opts=pulumi.ResourceOptions(parent=self, depends_on=depends_on))

    def _create_system_nodes(self, args: AwsClusterArgs) -> aws.eks.NodeGroup:
        pool = args["system_node_group"]
        ami = "AL2023_x86_64_STANDARD"
        role, attachments = _nodes.node_role(self, f"{self._name}-system-node",
                                             name=pool["node_role_name"], tags=self._tags)
        template = _nodes.launch_template(
            self, f"{self._name}-system", name=pool["launch_template_name"], ami_type=ami,
            disk_size_gb=int(pool.get("disk_size_gb", 50)),
            hop_limit=int(args.get("metadata_hop_limit", _nodes.HOP_LIMIT)), tags=self._tags,
            instance_tags=self._tags)
        min_nodes, max_nodes = int(pool.get("min_nodes", 1)), int(pool.get("max_nodes", 3))
        running = pool.get("running_nodes")
        desired, ignore = _nodes.scaling(min_nodes, max_nodes,
                                         None if running is None else int(running))
        return aws.eks.NodeGroup(
            # cluster_name waits for the add-ons nodes need; the policies come first and go
            # last.
            f"{self._name}-system", cluster_name=self.node_cluster_name,
            node_group_name=pool["node_group_name"], node_role_arn=role.arn,
            subnet_ids=args["subnet_ids"], ami_type=ami, capacity_type="ON_DEMAND",
            instance_types=[pool.get("instance_type", "m7i.xlarge")],
            scaling_config=aws.eks.NodeGroupScalingConfigArgs(
                min_size=min_nodes, max_size=max_nodes, desired_size=desired),
            update_config=aws.eks.NodeGroupUpdateConfigArgs(max_unavailable=1),
            launch_template=aws.eks.NodeGroupLaunchTemplateArgs(
                id=template.id, version=template.latest_version.apply(str)),
            labels=dict(SYSTEM_LABELS),
            taints=[aws.eks.NodeGroupTaintArgs(**SYSTEM_TAINT)], tags=self._tags,
            opts=pulumi.ResourceOptions(parent=self, depends_on=list(attachments),
                                        ignore_changes=ignore))

    def _create_autoscaler_identity(
            self, args: AwsClusterArgs,
    ) -> tuple[pulumi.Output[str], aws.eks.PodIdentityAssociation]:
        account = self._cluster.arn.apply(lambda arn: arn.split(":")[4])
        role = _iam.role(self, f"{self._name}-autoscaler", name=args["autoscaler_role_name"],
                         trust=pod_identity_trust(account=account, cluster_arn=self._cluster.arn,
                                                  namespace=AUTOSCALER_NAMESPACE,
                                                  service_account=AUTOSCALER_SERVICE_ACCOUNT),
                         description="Cluster autoscaler (Trellis, EKS Pod Identity)",
                         tags=self._tags)
        cluster_name = args["name"]
        nodegroups = self._cluster.arn.apply(
            lambda arn: arn.replace(":cluster/", ":nodegroup/", 1) + "/*/*")
        # https://github.com/kubernetes/autoscaler/blob/master/cluster-autoscaler/cloudprovider/aws/README.md
        _iam.inline(self, f"{self._name}-autoscaler-policy", role=role, name="cluster-autoscaler",
                    policy=_iam.document(
                        _iam.statement(
                            "ScaleOwnedGroups",
                            ["autoscaling:SetDesiredCapacity",
                             "autoscaling:TerminateInstanceInAutoScalingGroup"], ["*"],
                            {"StringEquals": {
                                f"aws:ResourceTag/k8s.io/cluster-autoscaler/{cluster_name}":
                                    "owned"}}),
                        _iam.statement(
                            "Discover",
                            ["autoscaling:DescribeAutoScalingGroups",
                             "autoscaling:DescribeAutoScalingInstances",
                             "autoscaling:DescribeLaunchConfigurations",
                             "autoscaling:DescribeScalingActivities",
                             "autoscaling:DescribeTags", "ec2:DescribeImages",
                             "ec2:DescribeInstanceTypes", "ec2:DescribeLaunchTemplateVersions",
                             "ec2:GetInstanceTypesFromInstanceRequirements"], ["*"]),
                        _iam.statement("NodeGroups", ["eks:DescribeNodegroup"], [nodegroups])))
        association = aws.eks.PodIdentityAssociation(
            f"{self._name}-autoscaler", cluster_name=self._cluster.name,
            namespace=AUTOSCALER_NAMESPACE, service_account=AUTOSCALER_SERVICE_ACCOUNT,
            role_arn=role.arn, tags=self._tags, opts=pulumi.ResourceOptions(parent=self))
        return role.arn, association


Cluster = AwsCluster
"""Python name of :class:`AwsCluster` (the any-language schema needs unique class names)."""
ClusterArgs = AwsClusterArgs
ClusterAccess = AwsClusterAccess
SystemNodeGroupArgs = AwsSystemNodeGroupArgs
