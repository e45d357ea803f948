"""What an environment needs from its cloud before `pulumi up`, read from its spec and plan.

Pure and offline: the GPU pools at their worst case (``max_nodes``), where they run, what they
consume, the permissions the deploying identity needs to create what the plan creates, the APIs
the plan enables and the Kubernetes version. The cloud modules (:mod:`stacks.preflight.gcp`,
:mod:`stacks.preflight.aws`) ask the cloud about each of these.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from components import catalog
from stacks.org.spec import EnvSpec, PoolSpec
from stacks.plan.engine import Plan


@dataclass(frozen=True)
class PoolNeed:
    """One GPU pool at its maximum: what must exist for all of its nodes to start."""

    team: str
    pool: PoolSpec

    @property
    def subject(self) -> str:
        return f"{self.team}/{self.pool.name}"

    @property
    def shape(self) -> catalog.MachineShape:
        return self.pool.shape

    @property
    def preemptible(self) -> bool:
        """Draws on Spot/preemptible quota: Spot and flex-start (GCP: flex-start VMs consume
        preemptible quota, sources.csv gcp-flex-start-vms)."""
        return self.pool.capacity in ("spot", "flex-start")

    @property
    def zones(self) -> tuple[str, ...]:
        """GCP zone names / AWS zone IDs the plan places the pool's nodes in."""
        return self.pool.zones or self.pool.zone_ids

    def describe(self) -> str:
        return (f"{self.pool.max_nodes} x {self.shape.machine_type} "
                f"({self.shape.gpus_per_node} x {self.pool.accelerator}, {self.pool.capacity})")


def pools(env: EnvSpec) -> list[PoolNeed]:
    """Every GPU pool of the environment, by team then pool key."""
    return [PoolNeed(team.name, pool) for team in env.teams.values()
            for pool in team.pools.values()]


# --------------------------------------------------------------------------------------------
# Permissions the plan needs
# --------------------------------------------------------------------------------------------

#: GCP resource type -> project permissions that create it (testIamPermissions on the
#: project). Budgets are granted on the billing account, not the project: not tested here.
GCP_PERMISSIONS: dict[str, tuple[str, ...]] = {
    "gcp:projects/service:Service": ("serviceusage.services.enable",),
    "gcp:projects/serviceIdentity:ServiceIdentity": ("serviceusage.services.use",),
    "gcp:compute/network:Network": ("compute.networks.create",),
    "gcp:compute/subnetwork:Subnetwork": ("compute.subnetworks.create",),
    "gcp:compute/router:Router": ("compute.routers.create",),
    "gcp:compute/routerNat:RouterNat": ("compute.routers.update",),
    "gcp:container/cluster:Cluster": ("container.clusters.create",),
    # Node pools are created through the cluster; their nodes run as the pool's account.
    "gcp:container/nodePool:NodePool": ("container.clusters.update",
                                        "iam.serviceAccounts.actAs"),
    "gcp:serviceaccount/account:Account": ("iam.serviceAccounts.create",),
    "gcp:serviceaccount/iAMMember:IAMMember": ("iam.serviceAccounts.setIamPolicy",),
    "gcp:projects/iAMMember:IAMMember": ("resourcemanager.projects.setIamPolicy",),
    # IamMemberRemove reads the project policy and writes it back without the member.
    "gcp:projects/iamMemberRemove:IamMemberRemove": (
        "resourcemanager.projects.getIamPolicy", "resourcemanager.projects.setIamPolicy"),
    "gcp:storage/bucket:Bucket": ("storage.buckets.create",),
    "gcp:storage/bucketIAMMember:BucketIAMMember": ("storage.buckets.setIamPolicy",),
    "gcp:storage/bucketObject:BucketObject": ("storage.objects.create",),
    "gcp:artifactregistry/repository:Repository": ("artifactregistry.repositories.create",),
    "gcp:artifactregistry/repositoryIamMember:RepositoryIamMember": (
        "artifactregistry.repositories.setIamPolicy",),
    "gcp:kms/keyRing:KeyRing": ("cloudkms.keyRings.create",),
    "gcp:kms/cryptoKey:CryptoKey": ("cloudkms.cryptoKeys.create",),
    "gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember": ("cloudkms.cryptoKeys.setIamPolicy",),
    "gcp:cloudscheduler/job:Job": ("cloudscheduler.jobs.create",),
    "gcp:monitoring/alertPolicy:AlertPolicy": ("monitoring.alertPolicies.create",),
    "gcp:monitoring/notificationChannel:NotificationChannel": (
        "monitoring.notificationChannels.create",),
}

#: The predefined role that grants a GCP permission (docs/gcp.md lists them for a fresh
#: project), by permission prefix: for the next step of a denied permission.
GCP_ROLES: tuple[tuple[str, str], ...] = (
    ("serviceusage.", "roles/serviceusage.serviceUsageAdmin"),
    ("compute.", "roles/compute.networkAdmin"),
    ("container.", "roles/container.admin"),
    ("iam.serviceAccounts.actAs", "roles/iam.serviceAccountUser"),
    ("iam.", "roles/iam.serviceAccountAdmin"),
    ("resourcemanager.", "roles/resourcemanager.projectIamAdmin"),
    ("storage.", "roles/storage.admin"),
    ("artifactregistry.", "roles/artifactregistry.admin"),
    ("cloudkms.", "roles/cloudkms.admin"),
    ("cloudscheduler.", "roles/cloudscheduler.admin"),
    ("monitoring.", "roles/monitoring.editor"),
)

#: AWS resource type -> IAM actions that create it (iam:SimulatePrincipalPolicy). Every action
#: names an operation of botocore's service model (a test holds them to it).
AWS_ACTIONS: dict[str, tuple[str, ...]] = {
    "aws:ec2/vpc:Vpc": ("ec2:CreateVpc",),
    "aws:ec2/subnet:Subnet": ("ec2:CreateSubnet",),
    "aws:ec2/internetGateway:InternetGateway": ("ec2:CreateInternetGateway",),
    "aws:ec2/natGateway:NatGateway": ("ec2:CreateNatGateway",),
    "aws:ec2/eip:Eip": ("ec2:AllocateAddress",),
    "aws:ec2/routeTable:RouteTable": ("ec2:CreateRouteTable",),
    "aws:ec2/route:Route": ("ec2:CreateRoute",),
    "aws:ec2/routeTableAssociation:RouteTableAssociation": ("ec2:AssociateRouteTable",),
    "aws:ec2/vpcEndpoint:VpcEndpoint": ("ec2:CreateVpcEndpoint",),
    "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup": ("ec2:RevokeSecurityGroupIngress",),
    "aws:ec2/launchTemplate:LaunchTemplate": ("ec2:CreateLaunchTemplate",),
    "aws:eks/cluster:Cluster": ("eks:CreateCluster", "iam:PassRole"),
    "aws:eks/nodeGroup:NodeGroup": ("eks:CreateNodegroup", "iam:PassRole"),
    "aws:eks/addon:Addon": ("eks:CreateAddon",),
    "aws:eks/accessEntry:AccessEntry": ("eks:CreateAccessEntry",),
    "aws:eks/accessPolicyAssociation:AccessPolicyAssociation": ("eks:AssociateAccessPolicy",),
    "aws:eks/podIdentityAssociation:PodIdentityAssociation": (
        "eks:CreatePodIdentityAssociation",),
    "aws:iam/role:Role": ("iam:CreateRole",),
    "aws:iam/rolePolicy:RolePolicy": ("iam:PutRolePolicy",),
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": ("iam:AttachRolePolicy",),
    "aws:kms/key:Key": ("kms:CreateKey",),
    "aws:kms/alias:Alias": ("kms:CreateAlias",),
    "aws:s3/bucket:Bucket": ("s3:CreateBucket",),
    "aws:s3/bucketPolicy:BucketPolicy": ("s3:PutBucketPolicy",),
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": (
        "s3:PutBucketPublicAccessBlock",),
    "aws:s3/bucketOwnershipControls:BucketOwnershipControls": (
        "s3:PutBucketOwnershipControls",),
    "aws:s3/bucketVersioning:BucketVersioning": ("s3:PutBucketVersioning",),
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration": (
        "s3:PutLifecycleConfiguration",),
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": (
        "s3:PutEncryptionConfiguration",),
    "aws:ecr/repositoryCreationTemplate:RepositoryCreationTemplate": (
        "ecr:CreateRepositoryCreationTemplate",),
    "aws:ecr/registryScanningConfiguration:RegistryScanningConfiguration": (
        "ecr:PutRegistryScanningConfiguration",),
    "aws:sagemaker/modelPackageGroup:ModelPackageGroup": ("sagemaker:CreateModelPackageGroup",),
    "aws:sagemaker/pipeline:Pipeline": ("sagemaker:CreatePipeline",),
    "aws:scheduler/schedule:Schedule": ("scheduler:CreateSchedule",),
    "aws:budgets/budget:Budget": ("budgets:ModifyBudget",),
    "aws:autoscaling/tag:Tag": ("autoscaling:CreateOrUpdateTags",),
    "aws:cloudwatch/logGroup:LogGroup": ("logs:CreateLogGroup",),
}


@dataclass(frozen=True)
class Permissions:
    """What the deploying identity must be allowed, and the planned types nobody mapped."""

    wanted: tuple[str, ...]  # sorted, unique
    unmapped: tuple[str, ...]  # cloud resource types of the plan without a mapping


def permissions(plan: Plan, cloud: str) -> Permissions:
    """The permissions (GCP) or IAM actions (AWS) that create every cloud resource planned."""
    table = GCP_PERMISSIONS if cloud == "gcp" else AWS_ACTIONS
    types = {r.type for r in plan.resources if r.type.startswith(f"{cloud}:")}
    wanted = sorted({p for t in types for p in table.get(t, ())})
    # Budgets live on the GCP billing account: a project test cannot say.
    skip = {"gcp:billing/budget:Budget"}
    return Permissions(tuple(wanted), tuple(sorted(t for t in types - skip if t not in table)))


def gcp_role_for(permission: str) -> str:
    """The predefined role a denied GCP permission is granted by."""
    return next((role for prefix, role in GCP_ROLES if permission.startswith(prefix)),
                "roles/owner")


def services(plan: Plan) -> tuple[str, ...]:
    """GCP: the APIs the plan enables (``gcp:projects/service:Service``), sorted."""
    return tuple(sorted({str(r.inputs.get("service")) for r in plan.resources
                         if r.type == "gcp:projects/service:Service" and r.inputs.get("service")}))


def release_channel(plan: Plan) -> str | None:
    """GCP: the cluster's release channel as planned (``REGULAR``, ``STABLE``)."""
    for r in plan.resources:
        if r.type == "gcp:container/cluster:Cluster":
            channel = (r.inputs.get("releaseChannel") or {}).get("channel")
            return str(channel) if channel else None
    return None


def chunks(items: Iterable[str], size: int) -> list[list[str]]:
    """``items`` in lists of at most ``size`` (API batch limits)."""
    out: list[list[str]] = []
    for item in items:
        if not out or len(out[-1]) == size:
            out.append([])
        out[-1].append(item)
    return out
