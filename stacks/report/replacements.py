"""Which input changes replace a resource: one entry for every resource type Trellis plans.

A change to one of these properties cannot be applied in place: the provider deletes the
resource and creates another (``pulumi preview`` shows "replace"). For a bucket, a registry or a
cluster that is data loss, so ``trellis diff`` must know it for every type, not just the famous
ones. ``tests/diff`` plans every bundled and example org and fails when a planned type has no
entry here.

Where each entry comes from (the ``source`` of every entry names the file):

* **GCP**: the ``ForceNew`` attributes of terraform-provider-google's schema, which pulumi-gcp
  bridges: ``hashicorp/terraform-provider-google`` at ``e03b7622`` (2026-08-21), the file named
  per entry. Only attributes Trellis can set or that identify the resource are listed, as
  Pulumi property names (camelCase, lists plural). The SDK docstrings ("Changing this forces a
  new resource") are a partial copy of the same knowledge; ``tests/diff`` checks that every
  property they name for a planned type is here too.
* **AWS**: the ``ForceNew`` attributes of terraform-provider-aws (``hashicorp/
  terraform-provider-aws``, ``internal/service/<service>/<file>.go``). Entries marked "read"
  were read for this table; the others are the resource's identifying arguments, which its
  AWS API cannot change after creation (the resource has no update call for them).
* **Kubernetes**: pulumi-kubernetes' own ``forceNew`` table (``provider/pkg/provider/diff.go``
  at ``94977969``): ``metadata.name``/``metadata.namespace`` for every kind, plus per kind;
  Helm releases replace on ``name``/``namespace`` (``helm_release.go``).
* **Providers**: a provider whose configuration change replaces it replaces every resource it
  manages (:mod:`stacks.report.diff` cascades it). AWS ``region``: pulumi-aws cascades a
  region change to every resource of the provider (pulumi/pulumi-aws#4000). AWS
  ``allowedAccountIds``: Trellis pins each environment's provider to its one account, so a new
  account means every resource is created again there (Pulumi cannot move resources between
  accounts). Kubernetes: the provider is replaced when the kubeconfig's active cluster changes,
  or when the kubeconfig is not known until apply (the cluster is replaced)
  (pulumi-kubernetes ``DiffConfig``, provider.go). GCP resources carry their project and
  location themselves, so the GCP provider has no entry of its own.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ForceNew:
    """Input properties (dotted Pulumi names) whose change replaces a resource of one type; a
    change at or below a listed property counts."""

    properties: tuple[str, ...]
    source: str


_TPG = "terraform-provider-google@e03b7622 google/services/"
_TPG_IAM = "terraform-provider-google@e03b7622 google/tpgiamresource/resource_iam_member.go + "
_TPA = "terraform-provider-aws internal/service/"
_K8S = "pulumi-kubernetes@94977969 provider/pkg/provider/diff.go"
_IAM_MEMBER = ("role", "member", "condition")
_K8S_META = ("metadata.name", "metadata.namespace")

#: GCP node configuration attributes that are ForceNew (node_config.go, schemaNodeConfig): the
#: same block sits in node pools and in the cluster's default node config.
_GKE_NODE_CONFIG = tuple(f"nodeConfig.{p}" for p in (
    "guestAccelerators", "localSsdCount", "ephemeralStorageLocalSsdConfig",
    "localNvmeSsdBlockConfig", "secondaryBootDisks", "metadata", "minCpuPlatform",
    "oauthScopes", "preemptible", "reservationAffinity", "spot", "serviceAccount",
    "shieldedInstanceConfig", "sandboxConfig", "bootDiskKmsKey", "nodeGroup",
    "advancedMachineFeatures", "soleTenantConfig", "hostMaintenancePolicy",
    "confidentialNodes.confidentialInstanceType", "enableConfidentialStorage",
    "localSsdEncryptionMode", "maxRunDuration", "flexStart"))

REPLACEMENTS: dict[str, ForceNew] = {
    # ---- GCP --------------------------------------------------------------------------------
    "gcp:artifactregistry/repository:Repository": ForceNew(
        ("repositoryId", "format", "kmsKeyName", "location", "mode", "remoteRepositoryConfig",
         "project"),
        _TPG + "artifactregistry/resource_artifact_registry_repository.go"),
    "gcp:artifactregistry/repositoryIamMember:RepositoryIamMember": ForceNew(
        ("project", "location", "repository", *_IAM_MEMBER),
        _TPG_IAM + "artifactregistry/iam_artifact_registry_repository.go"),
    "gcp:billing/budget:Budget": ForceNew(
        ("billingAccount",), _TPG + "billingbudgets/resource_billing_budget.go"),
    "gcp:cloudscheduler/job:Job": ForceNew(
        ("name", "region", "project"), _TPG + "cloudscheduler/resource_cloud_scheduler_job.go"),
    "gcp:compute/network:Network": ForceNew(
        ("name", "autoCreateSubnetworks", "description", "internalIpv6Range", "networkProfile",
         "params", "project"), _TPG + "compute/resource_compute_network.go"),
    "gcp:compute/router:Router": ForceNew(
        ("name", "network", "region", "project", "encryptedInterconnectRouter", "nccGateway",
         "params"), _TPG + "compute/resource_compute_router.go"),
    "gcp:compute/routerNat:RouterNat": ForceNew(
        ("name", "router", "region", "project", "endpointTypes", "initialNatIps", "type"),
        _TPG + "compute/resource_compute_router_nat.go"),
    # ipCidrRange is not ForceNew: a primary range is expanded in place (the API refuses to
    # shrink it, at apply).
    "gcp:compute/subnetwork:Subnetwork": ForceNew(
        ("name", "network", "description", "region", "project", "externalIpv6Prefix",
         "internalIpv6Prefix", "params", "reservedInternalRange", "resolveSubnetMask"),
        _TPG + "compute/resource_compute_subnetwork.go"),
    "gcp:container/cluster:Cluster": ForceNew(
        ("name", "location", "project", "network", "subnetwork", "description",
         "initialNodeCount", "enableKubernetesAlpha", "enableTpu", "enableAutopilot",
         "clusterIpv4Cidr", "confidentialNodes", "masterAuth.clientCertificateConfig",
         "nodePools", "ipAllocationPolicy", "networkingMode",
         "privateClusterConfig.masterIpv4CidrBlock",
         "privateClusterConfig.privateEndpointSubnetwork", "defaultMaxPodsPerNode",
         "datapathProvider", "dataplaneOptimizationMode", "userManagedKeysConfig",
         "clusterAutoscaling.autoProvisioningDefaults.bootDiskKmsKey", *_GKE_NODE_CONFIG),
        _TPG + "container/resource_container_cluster.go, container/node_config.go"),
    "gcp:container/nodePool:NodePool": ForceNew(
        ("name", "namePrefix", "cluster", "location", "project", "placementPolicy",
         "queuedProvisioning", "maxPodsPerNode", "initialNodeCount",
         "networkConfig.acceleratorNetworkProfile", "networkConfig.createPodRange",
         "networkConfig.podRange", "networkConfig.podIpv4CidrBlock",
         "networkConfig.additionalNodeNetworkConfigs",
         "networkConfig.additionalPodNetworkConfigs",
         "networkConfig.podCidrOverprovisionConfig", "networkConfig.subnetwork",
         *_GKE_NODE_CONFIG),
        _TPG + "container/resource_container_node_pool.go, container/node_config.go"),
    "gcp:kms/cryptoKey:CryptoKey": ForceNew(
        ("keyRing", "name", "cryptoKeyBackend", "destroyScheduledDuration", "importOnly",
         "purpose", "versionTemplate.protectionLevel"),
        _TPG + "kms/resource_kms_crypto_key.go"),
    "gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember": ForceNew(
        ("cryptoKeyId", *_IAM_MEMBER), _TPG_IAM + "kms/iam_kms_crypto_key.go"),
    "gcp:kms/keyRing:KeyRing": ForceNew(
        ("location", "name", "project"), _TPG + "kms/resource_kms_key_ring.go"),
    "gcp:monitoring/alertPolicy:AlertPolicy": ForceNew(
        ("project",), _TPG + "monitoring/resource_monitoring_alert_policy.go"),
    "gcp:monitoring/notificationChannel:NotificationChannel": ForceNew(
        ("project",), _TPG + "monitoring/resource_monitoring_notification_channel.go"),
    "gcp:projects/iAMMember:IAMMember": ForceNew(
        ("project", *_IAM_MEMBER), _TPG_IAM + "resourcemanager/iam_project.go"),
    "gcp:projects/iamMemberRemove:IamMemberRemove": ForceNew(
        ("project", "role", "member"),
        _TPG + "resourcemanager/resource_google_project_iam_member_remove.go (no update)"),
    "gcp:projects/service:Service": ForceNew(
        ("service", "project"), _TPG + "resourcemanager/resource_google_project_service.go"),
    # google-beta only (pulumi-gcp bridges it): the resource has no update, so every argument
    # replaces it.
    "gcp:projects/serviceIdentity:ServiceIdentity": ForceNew(
        ("project", "service"),
        "terraform-provider-google-beta google/services/resourcemanager/"
        "resource_project_service_identity.go (no update)"),
    "gcp:serviceaccount/account:Account": ForceNew(
        ("accountId", "project"), _TPG + "resourcemanager/resource_google_service_account.go"),
    "gcp:serviceaccount/iAMMember:IAMMember": ForceNew(
        ("serviceAccountId", *_IAM_MEMBER), _TPG_IAM + "resourcemanager/iam_service_account.go"),
    "gcp:storage/bucket:Bucket": ForceNew(
        ("name", "location", "project", "enableObjectRetention",
         "customPlacementConfig.dataLocations", "hierarchicalNamespace"),
        _TPG + "storage/resource_storage_bucket.go"),
    "gcp:storage/bucketIAMMember:BucketIAMMember": ForceNew(
        ("bucket", *_IAM_MEMBER), _TPG_IAM + "storage/iam_storage_bucket.go"),
    # content: a new content gives a new detect_md5hash, which is ForceNew.
    "gcp:storage/bucketObject:BucketObject": ForceNew(
        ("bucket", "name", "content", "source", "cacheControl", "contentDisposition",
         "contentEncoding", "contentLanguage", "contentType", "forceEmptyContentType",
         "storageClass", "kmsKeyName", "customerEncryption", "metadata"),
        _TPG + "storage/resource_storage_bucket_object.go"),
    # ---- AWS --------------------------------------------------------------------------------
    "aws:autoscaling/tag:Tag": ForceNew(
        ("autoscalingGroupName", "tag.key"), _TPA + "autoscaling/group_tag.go (read)"),
    "aws:budgets/budget:Budget": ForceNew(
        ("name", "namePrefix", "accountId"), _TPA + "budgets/budget.go"),
    "aws:cloudwatch/logGroup:LogGroup": ForceNew(
        ("name", "namePrefix", "logGroupClass"), _TPA + "logs/group.go"),
    "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup": ForceNew(
        ("vpcId",), _TPA + "ec2/vpc_default_security_group.go"),
    "aws:ec2/eip:Eip": ForceNew(
        ("domain", "vpc", "address", "customerOwnedIpv4Pool", "networkBorderGroup",
         "publicIpv4Pool", "ipamPoolId"), _TPA + "ec2/ec2_eip.go"),
    "aws:ec2/internetGateway:InternetGateway": ForceNew((), _TPA + "ec2/vpc_internet_gateway.go "
                                                            "(vpcId attaches in place)"),
    "aws:ec2/launchTemplate:LaunchTemplate": ForceNew(
        ("name", "namePrefix"), _TPA + "ec2/ec2_launch_template.go (other changes add a "
                                       "version)"),
    "aws:ec2/natGateway:NatGateway": ForceNew(
        ("allocationId", "subnetId", "connectivityType", "privateIp"),
        _TPA + "ec2/vpc_nat_gateway.go"),
    "aws:ec2/route:Route": ForceNew(
        ("routeTableId", "destinationCidrBlock", "destinationIpv6CidrBlock",
         "destinationPrefixListId"), _TPA + "ec2/vpc_route.go"),
    "aws:ec2/routeTable:RouteTable": ForceNew(("vpcId",), _TPA + "ec2/vpc_route_table.go"),
    "aws:ec2/routeTableAssociation:RouteTableAssociation": ForceNew(
        ("subnetId", "gatewayId"), _TPA + "ec2/vpc_route_table_association.go"),
    "aws:ec2/subnet:Subnet": ForceNew(
        ("vpcId", "cidrBlock", "availabilityZone", "availabilityZoneId", "outpostArn"),
        _TPA + "ec2/vpc_subnet.go"),
    "aws:ec2/vpc:Vpc": ForceNew(
        ("cidrBlock", "instanceTenancy", "ipv4IpamPoolId"), _TPA + "ec2/vpc_.go"),
    "aws:ec2/vpcEndpoint:VpcEndpoint": ForceNew(
        ("vpcId", "serviceName", "vpcEndpointType", "serviceRegion"),
        _TPA + "ec2/vpc_endpoint.go"),
    "aws:ecr/registryScanningConfiguration:RegistryScanningConfiguration": ForceNew(
        (), _TPA + "ecr/registry_scanning_configuration.go (one per registry, updated in "
                   "place)"),
    "aws:ecr/repositoryCreationTemplate:RepositoryCreationTemplate": ForceNew(
        ("prefix",), _TPA + "ecr/repository_creation_template.go"),
    "aws:eks/accessEntry:AccessEntry": ForceNew(
        ("clusterName", "principalArn", "type"), _TPA + "eks/access_entry.go"),
    "aws:eks/accessPolicyAssociation:AccessPolicyAssociation": ForceNew(
        ("clusterName", "principalArn", "policyArn", "accessScope"),
        _TPA + "eks/access_policy_association.go (no update)"),
    "aws:eks/addon:Addon": ForceNew(("clusterName", "addonName"), _TPA + "eks/addon.go"),
    # encryptionConfig: removing it replaces the cluster (encryption cannot be turned off); a
    # first one is added in place. stacks.report.diff applies that condition.
    "aws:eks/cluster:Cluster": ForceNew(
        ("name", "roleArn", "bootstrapSelfManagedAddons",
         "accessConfig.bootstrapClusterCreatorAdminPermissions",
         "kubernetesNetworkConfig.ipFamily", "kubernetesNetworkConfig.serviceIpv4Cidr",
         "outpostConfig", "remoteNetworkConfig", "encryptionConfig"),
        _TPA + "eks/cluster.go (read)"),
    "aws:eks/nodeGroup:NodeGroup": ForceNew(
        ("nodeGroupName", "nodeGroupNamePrefix", "clusterName", "nodeRoleArn", "subnetIds",
         "instanceTypes", "amiType", "capacityType", "diskSize", "remoteAccess",
         "launchTemplate.id", "launchTemplate.name"), _TPA + "eks/node_group.go (read)"),
    "aws:eks/podIdentityAssociation:PodIdentityAssociation": ForceNew(
        ("clusterName", "namespace", "serviceAccount"),
        _TPA + "eks/pod_identity_association.go"),
    "aws:iam/role:Role": ForceNew(("name", "namePrefix", "path"), _TPA + "iam/role.go"),
    "aws:iam/rolePolicy:RolePolicy": ForceNew(
        ("name", "namePrefix", "role"), _TPA + "iam/role_policy.go"),
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": ForceNew(
        ("role", "policyArn"), _TPA + "iam/role_policy_attachment.go (read)"),
    "aws:kms/alias:Alias": ForceNew(("name", "namePrefix"), _TPA + "kms/alias.go"),
    "aws:kms/key:Key": ForceNew(
        ("customerMasterKeySpec", "keyUsage", "multiRegion", "customKeyStoreId", "xksKeyId"),
        _TPA + "kms/key.go (read)"),
    "aws:s3/bucket:Bucket": ForceNew(
        ("bucket", "bucketPrefix", "objectLockEnabled", "bucketNamespace"),
        _TPA + "s3/bucket.go"),
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration": ForceNew(
        ("bucket", "expectedBucketOwner"), _TPA + "s3/bucket_lifecycle_configuration.go"),
    "aws:s3/bucketOwnershipControls:BucketOwnershipControls": ForceNew(
        ("bucket",), _TPA + "s3/bucket_ownership_controls.go"),
    "aws:s3/bucketPolicy:BucketPolicy": ForceNew(("bucket",), _TPA + "s3/bucket_policy.go"),
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": ForceNew(
        ("bucket", "expectedBucketOwner"), _TPA + "s3/bucket_public_access_block.go"),
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration":
        ForceNew(("bucket", "expectedBucketOwner"),
                 _TPA + "s3/bucket_server_side_encryption_configuration.go"),
    "aws:s3/bucketVersioning:BucketVersioning": ForceNew(
        ("bucket", "expectedBucketOwner", "mfa"), _TPA + "s3/bucket_versioning.go"),
    # The description cannot change either: the API has no update for it.
    "aws:sagemaker/modelPackageGroup:ModelPackageGroup": ForceNew(
        ("modelPackageGroupName", "modelPackageGroupDescription"),
        _TPA + "sagemaker/model_package_group.go (read)"),
    "aws:sagemaker/pipeline:Pipeline": ForceNew(("pipelineName",), _TPA + "sagemaker/pipeline.go"),
    "aws:scheduler/schedule:Schedule": ForceNew(
        ("name", "namePrefix", "groupName"), _TPA + "scheduler/schedule.go (read)"),
    # ---- Kubernetes -------------------------------------------------------------------------
    "kubernetes:apps/v1:Deployment": ForceNew(
        (*_K8S_META, "spec.selector"), _K8S + " (deployment: the selector, and its "
                                              "matchLabels/matchExpressions)"),
    "kubernetes:core/v1:Namespace": ForceNew(_K8S_META, _K8S),
    "kubernetes:core/v1:ServiceAccount": ForceNew(_K8S_META, _K8S),
    "kubernetes:core/v1:LimitRange": ForceNew(_K8S_META, _K8S),
    "kubernetes:core/v1:ResourceQuota": ForceNew((*_K8S_META, "spec.scopes"), _K8S),
    # No kind entry in diff.go: only the name (and namespace) replaces them.
    "kubernetes:networking.k8s.io/v1:NetworkPolicy": ForceNew(_K8S_META, _K8S),
    "kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicy": ForceNew(
        _K8S_META, _K8S),
    "kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicyBinding": ForceNew(
        _K8S_META, _K8S),
    "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding": ForceNew(
        (*_K8S_META, "roleRef"), _K8S),
    "kubernetes:helm.sh/v3:Release": ForceNew(
        ("name", "namespace"), "pulumi-kubernetes@94977969 provider/pkg/provider/"
                               "helm_release.go (forceNewFields)"),
    # ---- Providers --------------------------------------------------------------------------
    "pulumi:providers:aws": ForceNew(
        ("region", "allowedAccountIds"),
        "region: pulumi/pulumi-aws#4000 (a region change replaces every resource of the "
        "provider); allowedAccountIds: Trellis pins the provider to the environment's account"),
    "pulumi:providers:gcp": ForceNew(
        (), "GCP resources carry project and location themselves (their own entries)"),
    "pulumi:providers:kubernetes": ForceNew(
        ("kubeconfig",), "pulumi-kubernetes@94977969 provider/pkg/provider/provider.go "
                         "(DiffConfig: the active cluster changed, or is unknown)"),
}

#: Properties whose change replaces only in one direction: (type, property) -> description.
#: :mod:`stacks.report.diff` replaces only when the property goes from set to unset.
REPLACE_WHEN_REMOVED = {
    ("aws:eks/cluster:Cluster", "encryptionConfig"): "secrets encryption cannot be turned off",
}
