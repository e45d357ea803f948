"""TeamIdentity: who a team is on AWS, with no keys anywhere.

Up to four roles per team. The *workload* role is what the team's pods run as (EKS Pod
Identity on ``<team>/<team>``, trusted only for that cluster, namespace and service account);
the *pipeline* role is what SageMaker runs the team's pipelines and jobs as; the *scheduler*
role is what EventBridge Scheduler starts those pipelines as (each
:class:`~components.aws.pipeline.Pipeline` adds the one permission for its own pipeline); the
*member* role is what the team's people assume to do what their guide says (connect kubectl,
push images, use the buckets, start and watch the pipelines), with an EKS access entry that
gives it edit rights in the team's namespace (docs/adr/0017-aws-team-member-role.md). Each
role reaches the team's buckets, the environment key (through S3, for the team's buckets only, and
ECR) and the team's ECR prefix; nothing else. No IAM users, no access keys.
"""

# No `from __future__ import annotations`: hosted for other languages (docs/adr/0006).
from collections.abc import Mapping
from typing import Any, NotRequired, TypedDict

import pulumi
import pulumi_aws as aws

from components.aws import _iam

POD_IDENTITY = "pods.eks.amazonaws.com"
EDIT_POLICY = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSEditPolicy"


class AwsTeamIdentityArgs(TypedDict):
    """Arguments of :class:`AwsTeamIdentity`."""

    team: str
    """Team slug, for descriptions and the Kubernetes names' defaults."""
    cluster_name: pulumi.Input[str]
    """EKS cluster of the Pod Identity association."""
    workload_role_name: str
    """IAM role name for the team's pods."""
    pipeline_role_name: str
    """IAM role name SageMaker runs the team's pipelines and jobs as."""
    kms_key_arn: pulumi.Input[str]
    """Environment key; usable only through S3 and ECR."""
    repository_prefix: str
    """The team's ECR prefix (``<env>/<team>``)."""
    model_package_group_name: str
    """The team's SageMaker model package group."""
    namespace: NotRequired[str]
    """Kubernetes namespace of the team's pods. Default: the team slug."""
    service_account: NotRequired[str]
    """Kubernetes service account the team's pods use. Default: the team slug."""
    scheduler_role_name: NotRequired[str | None]
    """IAM role name EventBridge Scheduler uses. Default: None (no role; teams without
    pipelines)."""
    bucket_arns: NotRequired[Mapping[str, pulumi.Input[str]]]
    """The team's buckets by purpose (including the pipeline root). Default: none."""
    cluster_arn: NotRequired[pulumi.Input[str]]
    """ARN of the cluster: the Pod Identity trust names it (``aws:RequestTag/eks-cluster-arn``)
    and the member role may describe it. Default: the ARN of ``cluster_name`` in this
    account and region."""
    member_role_name: NotRequired[str | None]
    """IAM role name the team's members assume. Default: None (no member role)."""
    members: NotRequired[list[str]]
    """IAM role or user ARNs that may assume the member role (roles may be in other accounts,
    whose own policies must then allow ``sts:AssumeRole`` on it). Default: none, and no member
    role."""
    pipeline_names: NotRequired[list[str]]
    """The team's SageMaker pipelines, which the member role may start and watch. Default:
    none."""
    job_tags: NotRequired[Mapping[str, str]]
    """Tags that mark the team's SageMaker jobs and models: the pipeline role may create them
    only with these tags, and describe, stop and list the tags of only those that carry them,
    so one team's pipelines cannot touch another's jobs in the account. The team's pipelines
    must put them on every job (``Pipeline`` ``job_tags`` does). Default: ``{"team": team}``."""
    definition_object_arns: NotRequired[list[str]]
    """S3 objects (``arn:aws:s3:::bucket/key``) of the team's ``s3://`` pipeline definitions:
    the member role may upload (``s3:PutObject``) exactly these, as its guide tells members to
    publish a new version. Default: none."""
    tags: NotRequired[Mapping[str, str]]
    """Team tags on every resource, merged over the provider's default tags. Default: none."""


class AwsTeamIdentity(pulumi.ComponentResource):
    """Workload, pipeline and scheduler roles of one team, scoped to its own resources."""

    workload_role_arn: pulumi.Output[str]
    """Role the team's pods run as (EKS Pod Identity on ``<namespace>/<service_account>``)."""
    pipeline_role_arn: pulumi.Output[str]
    """Role SageMaker runs the team's pipelines and jobs as."""
    scheduler_role_name: pulumi.Output[str] | None
    """Role EventBridge Scheduler starts the team's pipelines as (None without pipelines)."""
    scheduler_role_arn: pulumi.Output[str] | None
    """ARN of that role (None without pipelines)."""
    member_role_arn: pulumi.Output[str] | None
    """Role the team's members assume (None without members)."""

    def __init__(self, name: str, args: AwsTeamIdentityArgs,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("trellis:aws:TeamIdentity", name, None, opts)
        self._name = name
        self._tags = dict(args.get("tags", {}))
        ident = aws.get_caller_identity_output(opts=pulumi.InvokeOutputOptions(parent=self))
        self._account = ident.account_id
        self._region = aws.get_region_output(opts=pulumi.InvokeOutputOptions(parent=self)).region
        self._cluster_arn = args.get("cluster_arn") or pulumi.Output.format(
            "arn:aws:eks:{0}:{1}:cluster/{2}", self._region, self._account,
            args["cluster_name"])
        self.workload_role_arn = self._create_workload(args)
        self.pipeline_role_arn = self._create_pipeline_role(args)
        self.scheduler_role_name = None
        self.scheduler_role_arn = None
        self.member_role_arn = None
        if args.get("scheduler_role_name"):
            scheduler = _iam.role(
                self, f"{name}-scheduler", name=str(args["scheduler_role_name"]),
                trust=_iam.service_trust("scheduler.amazonaws.com",
                                         source_account=self._account),
                description=f"Starts the {args['team']} team's SageMaker pipelines (Trellis)",
                tags=self._tags)
            self.scheduler_role_name = scheduler.name
            self.scheduler_role_arn = scheduler.arn
        if args.get("member_role_name") and args.get("members"):
            self.member_role_arn = self._create_member_role(args)
        self.register_outputs({"workload_role_arn": self.workload_role_arn,
                               "pipeline_role_arn": self.pipeline_role_arn,
                               "scheduler_role_name": self.scheduler_role_name,
                               "scheduler_role_arn": self.scheduler_role_arn,
                               "member_role_arn": self.member_role_arn})

    # ---- shared statements ---------------------------------------------------------------

    def _buckets(self, args: AwsTeamIdentityArgs) -> list[pulumi.Input[str]]:
        return [args["bucket_arns"][k] for k in sorted(args.get("bucket_arns", {}))]

    def _key_through_s3(self, args: AwsTeamIdentityArgs,
                        actions: tuple[str, ...] = ("kms:Decrypt", "kms:GenerateDataKey"),
                        ) -> list[dict[str, Any]]:
        """The environment key, through S3, for the team's buckets only.

        With S3 Bucket Keys the encryption context is the bucket ARN, so the condition scopes
        the shared environment key to this team's buckets.
        https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucket-key.html
        """
        buckets = self._buckets(args)
        if not buckets:
            return []
        return [_iam.statement(
            "UseEnvironmentKeyForTeamBuckets", list(actions), [args["kms_key_arn"]],
            {"StringEquals": {
                "kms:ViaService": pulumi.Output.concat("s3.", self._region, ".amazonaws.com"),
                "kms:EncryptionContext:aws:s3:arn": buckets}})]

    def _data(self, args: AwsTeamIdentityArgs) -> list[dict[str, Any]]:
        buckets = self._buckets(args)
        objects = [pulumi.Output.concat(b, "/*") for b in buckets]
        out = []
        if buckets:
            out += [
                _iam.statement("ListTeamBuckets", ["s3:ListBucket", "s3:GetBucketLocation",
                                                   "s3:ListBucketMultipartUploads"], buckets),
                _iam.statement("ReadWriteTeamObjects",
                               ["s3:GetObject", "s3:GetObjectVersion", "s3:PutObject",
                                "s3:DeleteObject", "s3:AbortMultipartUpload",
                                "s3:ListMultipartUploadParts"], objects),
            ]
        out += self._key_through_s3(args)
        out.append(_iam.statement(
            "UseEnvironmentKeyThroughEcr", ["kms:Decrypt", "kms:GenerateDataKey",
                                            "kms:DescribeKey"], [args["kms_key_arn"]],
            {"StringEquals": {"kms:ViaService": pulumi.Output.concat(
                "ecr.", self._region, ".amazonaws.com")}}))
        out.append(_iam.statement("EcrLogin", ["ecr:GetAuthorizationToken"], ["*"]))
        return out

    def _repositories(self, args: AwsTeamIdentityArgs) -> pulumi.Output[str]:
        return pulumi.Output.format("arn:aws:ecr:{0}:{1}:repository/{2}/*", self._region,
                                    self._account, args["repository_prefix"])

    def _models(self, args: AwsTeamIdentityArgs) -> list[pulumi.Output[str]]:
        group = args["model_package_group_name"].lower()  # SageMaker ARNs are lower case
        return [pulumi.Output.format("arn:aws:sagemaker:{0}:{1}:model-package-group/{2}",
                                     self._region, self._account, group),
                pulumi.Output.format("arn:aws:sagemaker:{0}:{1}:model-package/{2}/*",
                                     self._region, self._account, group)]

    # ---- roles ----------------------------------------------------------------------------

    def _create_workload(self, args: AwsTeamIdentityArgs) -> pulumi.Output[str]:
        team = args["team"]
        role = _iam.role(self, f"{self._name}-workload", name=args["workload_role_name"],
                         trust=pod_identity_trust(
                             account=self._account, cluster_arn=self._cluster_arn,
                             namespace=args.get("namespace", team),
                             service_account=args.get("service_account", team)),
                         description=f"Pods of the {team} team (Trellis, EKS Pod Identity)",
                         tags=self._tags)
        _iam.inline(self, f"{self._name}-workload-policy", role=role, name="team-resources",
                    policy=_iam.document(
                        *self._data(args),
                        _iam.statement("PullAndPushTeamImages",
                                       ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer",
                                        "ecr:BatchCheckLayerAvailability", "ecr:DescribeImages",
                                        "ecr:DescribeRepositories", "ecr:ListImages",
                                        "ecr:PutImage", "ecr:InitiateLayerUpload",
                                        "ecr:UploadLayerPart", "ecr:CompleteLayerUpload",
                                        "ecr:CreateRepository"], [self._repositories(args)]),
                        _iam.statement("UseTeamModelRegistry",
                                       ["sagemaker:DescribeModelPackageGroup",
                                        "sagemaker:ListModelPackages",
                                        "sagemaker:DescribeModelPackage",
                                        "sagemaker:CreateModelPackage"], self._models(args))))
        aws.eks.PodIdentityAssociation(
            f"{self._name}-workload", cluster_name=args["cluster_name"],
            namespace=args.get("namespace", team),
            service_account=args.get("service_account", team), role_arn=role.arn,
            tags=self._tags, opts=pulumi.ResourceOptions(parent=self))
        return role.arn

    def _create_pipeline_role(self, args: AwsTeamIdentityArgs) -> pulumi.Output[str]:
        team = args["team"]
        role = _iam.role(self, f"{self._name}-pipelines", name=args["pipeline_role_name"],
                         trust=_iam.service_trust("sagemaker.amazonaws.com"),
                         description=f"SageMaker pipelines and jobs of the {team} team (Trellis)",
                         tags=self._tags)

        def arn(kind: str) -> pulumi.Output[str]:
            return pulumi.Output.format("arn:aws:sagemaker:{0}:{1}:{2}/*", self._region,
                                        self._account, kind)

        jobs = [arn(k) for k in ("training-job", "processing-job", "transform-job", "model")]
        _iam.inline(self, f"{self._name}-pipelines-policy", role=role, name="team-pipelines",
                    policy=_iam.document(
                        *self._data(args),
                        _iam.statement("PullTeamImages",
                                       ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer",
                                        "ecr:BatchCheckLayerAvailability"],
                                       [self._repositories(args)]),
                        *self._pipeline_steps(args, jobs),
                        _iam.statement("RegisterTeamModels",
                                       ["sagemaker:CreateModelPackage",
                                        "sagemaker:DescribeModelPackage",
                                        "sagemaker:UpdateModelPackage",
                                        "sagemaker:DescribeModelPackageGroup",
                                        "sagemaker:ListModelPackages"], self._models(args)),
                        _iam.statement("PassSelfToSageMakerJobs", ["iam:PassRole"],
                                       [pulumi.Output.format("arn:aws:iam::{0}:role/{1}",
                                                            self._account,
                                                            args["pipeline_role_name"])],
                                       {"StringEquals": {
                                           "iam:PassedToService": "sagemaker.amazonaws.com"}}),
                        _iam.statement("JobLogs",
                                       ["logs:CreateLogGroup", "logs:CreateLogStream",
                                        "logs:PutLogEvents", "logs:DescribeLogStreams"],
                                       [pulumi.Output.format(
                                           "arn:aws:logs:{0}:{1}:log-group:/aws/sagemaker/*",
                                           self._region, self._account)])))
        return role.arn


    @staticmethod
    def job_tags(args: AwsTeamIdentityArgs) -> dict[str, str]:
        """The tags that mark the team's SageMaker jobs (``job_tags``, default team=<team>)."""
        return dict(args.get("job_tags") or {"team": args["team"]})

    def _pipeline_steps(self, args: AwsTeamIdentityArgs,
                        jobs: list[pulumi.Output[str]]) -> list[dict[str, Any]]:
        """Create, watch and stop the team's own jobs and models only.

        Job ARNs carry no team (``training-job/<name>``, and a pipeline names its jobs), so the
        scope is the job's tags (Service Authorization Reference, Amazon SageMaker: the
        Create* actions take ``aws:RequestTag/${TagKey}``; the training-job, processing-job,
        transform-job and model resource types take ``aws:ResourceTag/${TagKey}``; AddTags
        takes ``sagemaker:TaggingAction``, the create API a tag is applied through).
        SageMaker does not copy a pipeline's tags to its jobs: ``Pipeline`` puts the tags in
        every job step's ``Arguments.Tags``.
        """
        tags = self.job_tags(args)
        request = {f"aws:RequestTag/{k}": v for k, v in sorted(tags.items())}
        resource = {f"aws:ResourceTag/{k}": v for k, v in sorted(tags.items())}
        creates = ["sagemaker:CreateTrainingJob", "sagemaker:CreateProcessingJob",
                   "sagemaker:CreateTransformJob", "sagemaker:CreateModel"]
        return [
            _iam.statement("CreateTeamJobs", creates, jobs, {"StringEquals": request}),
            # Tags go on with the create call (tag-on-create needs AddTags); never onto an
            # existing job, so no role can claim another team's job by tagging it.
            _iam.statement("TagTeamJobsOnCreate", ["sagemaker:AddTags"], jobs,
                           {"StringEquals": {**request, "sagemaker:TaggingAction": [
                               c.split(":", 1)[1] for c in creates]}}),
            _iam.statement("WatchAndStopTeamJobs",
                           ["sagemaker:DescribeTrainingJob", "sagemaker:StopTrainingJob",
                            "sagemaker:DescribeProcessingJob", "sagemaker:StopProcessingJob",
                            "sagemaker:DescribeTransformJob", "sagemaker:StopTransformJob",
                            "sagemaker:DescribeModel", "sagemaker:ListTags"], jobs,
                           {"StringEquals": resource}),
        ]

    def _create_member_role(self, args: AwsTeamIdentityArgs) -> pulumi.Output[str]:
        team, members = args["team"], sorted(set(args.get("members", [])))
        trust = pulumi.Output.json_dumps({"Version": "2012-10-17", "Statement": [{
            "Sid": "TeamMembers", "Effect": "Allow", "Principal": {"AWS": members},
            # TagSession and SetSourceIdentity: SSO and session tags pass through, and
            # CloudTrail shows who acted when the source identity is set.
            "Action": ["sts:AssumeRole", "sts:TagSession", "sts:SetSourceIdentity"]}]})
        role = _iam.role(self, f"{self._name}-members", name=str(args["member_role_name"]),
                         trust=trust, tags=self._tags,
                         description=f"Members of the {team} team (Trellis): kubectl in the "
                                     "team namespace, images, buckets, pipelines")
        _iam.inline(self, f"{self._name}-members-policy", role=role, name="team-guide",
                    policy=_iam.document(*self._member_statements(args)))
        # Edit rights in the team's namespace: the access entry follows the role.
        entry = aws.eks.AccessEntry(
            f"{self._name}-members", cluster_name=args["cluster_name"], principal_arn=role.arn,
            type="STANDARD", tags=self._tags, opts=pulumi.ResourceOptions(parent=self))
        aws.eks.AccessPolicyAssociation(
            f"{self._name}-members-edit", cluster_name=args["cluster_name"],
            principal_arn=entry.principal_arn, policy_arn=EDIT_POLICY,
            access_scope=aws.eks.AccessPolicyAssociationAccessScopeArgs(
                type="namespace", namespaces=[args.get("namespace", team)]),
            opts=pulumi.ResourceOptions(parent=self))
        return role.arn

    def _member_statements(self, args: AwsTeamIdentityArgs) -> list[dict[str, Any]]:
        """Exactly what the team's guide tells a member to run (tests/aws/test_team_iam.py
        evaluates each command against these)."""
        buckets = self._buckets(args)
        out = [
            # aws eks update-kubeconfig
            _iam.statement("ConnectKubectl", ["eks:DescribeCluster"], [self._cluster_arn]),
            # aws ecr get-login-password (the token is per registry, not per repository)
            _iam.statement("EcrLogin", ["ecr:GetAuthorizationToken"], ["*"]),
            # docker push / pull; the first push of a new image creates its repository
            # through the team's creation template
            _iam.statement("PushAndPullTeamImages",
                           ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage",
                            "ecr:GetDownloadUrlForLayer", "ecr:InitiateLayerUpload",
                            "ecr:UploadLayerPart", "ecr:CompleteLayerUpload", "ecr:PutImage",
                            "ecr:CreateRepository", "ecr:DescribeRepositories",
                            "ecr:DescribeImages", "ecr:ListImages"],
                           [self._repositories(args)]),
        ]
        if buckets:
            out += [
                # aws s3 ls / cp / sync, boto3 list_objects_v2
                _iam.statement("ListTeamBuckets", ["s3:ListBucket", "s3:GetBucketLocation"],
                               buckets),
                _iam.statement("ReadWriteTeamObjects",
                               ["s3:GetObject", "s3:PutObject", "s3:DeleteObject",
                                "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"],
                               [pulumi.Output.concat(b, "/*") for b in buckets]),
                *self._key_through_s3(args),
            ]
        # The guide's "Register a model version" (create_model_package, list_model_packages)
        # from a laptop: the team's own model package group only.
        out.append(_iam.statement("UseTeamModelRegistry",
                                  ["sagemaker:DescribeModelPackageGroup",
                                   "sagemaker:ListModelPackages",
                                   "sagemaker:DescribeModelPackage",
                                   "sagemaker:CreateModelPackage"], self._models(args)))
        definitions = sorted(set(args.get("definition_object_arns", [])))
        if definitions:
            # aws s3 cp ./definition.json s3://<bucket>/<key> (the guide's "publish a new
            # version" of an s3:// pipeline definition): exactly those objects.
            out.append(_iam.statement("PublishTeamPipelineDefinitions", ["s3:PutObject"],
                                      definitions))
        # Images in the team's repositories are encrypted with the environment key.
        out.append(_iam.statement(
            "UseEnvironmentKeyThroughEcr", ["kms:Decrypt", "kms:GenerateDataKey"],
            [args["kms_key_arn"]], {"StringEquals": {"kms:ViaService": pulumi.Output.concat(
                "ecr.", self._region, ".amazonaws.com")}}))
        names = sorted({n.lower() for n in args.get("pipeline_names", [])})
        if names:
            pipelines = [pulumi.Output.format("arn:aws:sagemaker:{0}:{1}:pipeline/{2}",
                                              self._region, self._account, n) for n in names]
            executions = [pulumi.Output.format(
                "arn:aws:sagemaker:{0}:{1}:pipeline/{2}/execution/*", self._region,
                self._account, n) for n in names]
            out += [
                # aws sagemaker start-pipeline-execution / list-pipeline-executions
                _iam.statement("StartAndListTeamPipelines",
                               ["sagemaker:StartPipelineExecution", "sagemaker:DescribePipeline",
                                "sagemaker:ListPipelineExecutions"], pipelines),
                _iam.statement("WatchTeamPipelineRuns",
                               ["sagemaker:DescribePipelineExecution",
                                "sagemaker:ListPipelineExecutionSteps",
                                "sagemaker:StopPipelineExecution"], executions),
            ]
        return out


def pod_identity_trust(*, account: pulumi.Input[str], cluster_arn: pulumi.Input[str],
                       namespace: str, service_account: str) -> pulumi.Output[str]:
    """Trust for EKS Pod Identity, for one service account of one cluster of this account.

    ``aws:SourceAccount`` stops another account's cluster (confused deputy); the session tags
    EKS Pod Identity always sets (``eks-cluster-arn``, ``kubernetes-namespace``,
    ``kubernetes-service-account``) stop every other service account, namespace and cluster
    of the account from using the role through an association of their own.
    https://docs.aws.amazon.com/eks/latest/userguide/pod-id-role.html and pod-id-abac.html
    (``aws:SourceArn`` is not used: EKS documents no source ARN for Pod Identity, and a
    condition on an absent key would refuse every pod.)
    """
    return _iam.service_trust(
        POD_IDENTITY, actions=("sts:AssumeRole", "sts:TagSession"), source_account=account,
        conditions={"StringEquals": {"aws:RequestTag/eks-cluster-arn": cluster_arn,
                                     "aws:RequestTag/kubernetes-namespace": namespace,
                                     "aws:RequestTag/kubernetes-service-account":
                                         service_account}})


TeamIdentity = AwsTeamIdentity
"""Python name of :class:`AwsTeamIdentity` (the any-language schema needs unique class names)."""
TeamIdentityArgs = AwsTeamIdentityArgs
