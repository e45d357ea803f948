"""Pipeline: a SageMaker pipeline that runs on a schedule, complete with its permission to start.

The definition is always sent inline (``PipelineDefinition``, at most 1,048,576 characters):
a local file is read when the program runs, an ``s3://`` object by ``pulumi up``. The
provider's ``pipeline_definition_s3_location`` is not used: updating a pipeline whose
definition moved in S3 plans ``pipeline_definition -> null`` and fails
(https://github.com/hashicorp/terraform-provider-aws/issues/38259, open). EventBridge Scheduler
starts the pipeline through its SageMaker target with the parameters from org.yaml; the team's
scheduler role gets ``sagemaker:StartPipelineExecution`` on this pipeline and nothing else, and
the pipeline role may pull the images of the repositories this definition names outside the
team's own (e.g. AWS Deep Learning Containers): given for a local definition, derived at
``pulumi up`` from an ``s3://`` one (:mod:`components.pipeline_images`). Every job step of the
definition gets ``job_tags`` (the team tag the pipeline role is scoped by).
"""

# No `from __future__ import annotations`: hosted for other languages (docs/adr/0006).
import json
from collections.abc import Mapping, Sequence
from typing import Any, NotRequired, TypedDict

import pulumi
import pulumi_aws as aws

from components import cron
from components import pipeline_images as images
from components.aws import _iam

DEFINITION_MAX_CHARS = 1_048_576
"""botocore ``sagemaker`` model, ``PipelineDefinition``: at most 1,048,576 characters."""

JOB_STEP_TYPES = ("Training", "Processing", "Transform", "Model", "ClarifyCheck",
                  "QualityCheck")
"""Step types whose ``Arguments`` are the request that creates a SageMaker job or model
(CreateTrainingJob, CreateProcessingJob, CreateTransformJob, CreateModel): each takes ``Tags``."""

PULL_ACTIONS = ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer",
                "ecr:BatchCheckLayerAvailability"]


class AwsPipelineArgs(TypedDict):
    """Arguments of :class:`AwsPipeline`."""

    pipeline_name: str
    """SageMaker pipeline name (also its display name)."""
    role_arn: pulumi.Input[str]
    """Role SageMaker runs the pipeline's steps as (the team's pipeline role)."""
    scheduler_role_name: pulumi.Input[str]
    """Name of the role the schedule uses; this component adds its start permission."""
    scheduler_role_arn: pulumi.Input[str]
    """ARN of that role."""
    schedule: str
    """5-field cron expression (converted to EventBridge's 6-field ``cron()``)."""
    schedule_name: str
    """EventBridge Scheduler schedule name (default group)."""
    definition: NotRequired[str | None]
    """Pipeline definition JSON (SageMaker pipeline definition schema, ``Version``
    ``2020-12-01``). Give exactly one of ``definition`` and ``definition_s3_uri``.
    https://aws-sagemaker-mlops.github.io/sagemaker-model-building-pipeline-definition-JSON-schema/"""
    definition_s3_uri: NotRequired[str | None]
    """``s3://bucket/key`` of the definition JSON, read by ``pulumi up`` (the deploying identity
    needs ``s3:GetObject``; the object needs a JSON or text ``Content-Type``) and sent inline.
    Give exactly one of ``definition`` and ``definition_s3_uri``."""
    role_name: NotRequired[pulumi.Input[str] | None]
    """Name of the role in ``role_arn``; needed with ``image_repositories``. Default: none."""
    image_repositories: NotRequired[Sequence[str]]
    """ARNs of ECR repositories outside the team's own whose images the steps run (e.g.
    ``arn:aws:ecr:us-west-2:763104351884:repository/pytorch-training``); the pipeline role gets
    pull access to exactly these. Default: none."""
    description: NotRequired[str]
    """Pipeline description. Default: empty."""
    timezone: NotRequired[str]
    """IANA time zone of the schedule. Default: ``UTC``."""
    parameters: NotRequired[Mapping[str, Any]]
    """Pipeline parameters passed on every scheduled run; non-strings are JSON-encoded.
    Default: none (the definition's defaults)."""
    max_parallel_steps: NotRequired[int | None]
    """Steps of one execution that may run at once. Default: None (SageMaker's default, 50)."""
    tags: NotRequired[Mapping[str, str]]
    """Team tags on the pipeline, merged over the provider's default tags. Default: none."""
    job_tags: NotRequired[Mapping[str, str]]
    """Tags every job and model the pipeline's steps create carry: added to the ``Tags`` of
    each Training, Processing, Transform, Model, ClarifyCheck and QualityCheck step's
    ``Arguments`` (replacing a tag of the same key). SageMaker does not copy a pipeline's tags
    to the jobs it starts; with these, a role scoped by ``aws:ResourceTag`` (the team's
    pipeline role: ``team``) can create, watch and stop them, and their cost is the team's.
    Default: none."""
    region: NotRequired[str]
    """Region of the pipeline. With ``definition_s3_uri``, ``role_name``, ``account_id`` and
    ``team_repository_prefix``: the images the fetched definition's steps run are checked at
    ``pulumi up`` with the rules ``trellis validate`` applies to local definitions
    (``components.pipeline_images``) and the pipeline role gets pull on the AWS Deep Learning
    Container repositories among them; an image it could not pull is a warning. Default: none
    (no check)."""
    account_id: NotRequired[str]
    """Account of the environment (whose team repositories the role already pulls). Default:
    none."""
    team_repository_prefix: NotRequired[str]
    """The team's ECR prefix (``<env>/<team>``). Default: none."""


def parameter_value(value: Any) -> str:
    """A parameter value as SageMaker takes it: strings as-is, anything else as JSON."""
    return value if isinstance(value, str) else json.dumps(value)


def tag_job_steps(definition: dict[str, Any], tags: Mapping[str, str]) -> dict[str, Any]:
    """``definition`` with ``tags`` in the ``Arguments.Tags`` of every job-creating step
    (:data:`JOB_STEP_TYPES`, condition branches included); a tag of the same key is replaced,
    other tags are kept. Returns the same (modified) dict."""
    if not tags:
        return definition
    for _, step in images.steps(definition.get("Steps")):
        args = step.get("Arguments")
        if step.get("Type") not in JOB_STEP_TYPES or not isinstance(args, dict):
            continue
        given = args.get("Tags")
        kept = [t for t in given if not (isinstance(t, dict) and t.get("Key") in tags)] \
            if isinstance(given, list) else []
        args["Tags"] = [*kept, *({"Key": k, "Value": v} for k, v in sorted(tags.items()))]
    return definition


def canonical_definition(text: str, source: str = "definition",
                         job_tags: Mapping[str, str] | None = None) -> str:
    """A definition as CreatePipeline takes it: compact JSON, keys sorted (the same file always
    gives the same input), ``job_tags`` on its job steps (:func:`tag_job_steps`), checked
    against botocore's ``PipelineDefinition`` length."""
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{source}: not JSON ({exc}); a SageMaker pipeline definition is the "
                         "JSON of pipeline.definition() (an S3 object needs a JSON or text "
                         "Content-Type to be read)") from None
    if isinstance(doc, dict) and job_tags:
        tag_job_steps(doc, job_tags)
    out = json.dumps(doc, sort_keys=True, separators=(",", ":"))
    if not isinstance(doc, dict) or "Steps" not in doc:
        raise ValueError(f"{source}: not a SageMaker pipeline definition (no \"Steps\")")
    if len(out) > DEFINITION_MAX_CHARS:
        raise ValueError(f"{source}: {len(out):,} characters; CreatePipeline takes at most "
                         f"{DEFINITION_MAX_CHARS:,}")
    return out


def parse_s3_uri(uri: str) -> tuple[str, str]:
    """``s3://bucket/key`` -> ``(bucket, key)``."""
    if not uri.startswith("s3://") or "/" not in uri[5:]:
        raise ValueError(f"'{uri}' is not an s3://BUCKET/KEY URI")
    bucket, key = uri[5:].split("/", 1)
    return bucket, key


class AwsPipeline(pulumi.ComponentResource):
    """A SageMaker pipeline plus the EventBridge schedule that starts it."""

    arn: pulumi.Output[str]
    """ARN of the SageMaker pipeline."""
    schedule_expression: pulumi.Output[str]
    """The EventBridge form of the schedule, ``cron(m h dom mon dow year)``."""

    def __init__(self, name: str, args: AwsPipelineArgs,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("trellis:aws:Pipeline", name, None, opts)
        self._name = name
        self._definition_text = self._definition(args)
        self._pipeline = self._create_pipeline(args)
        self._grant_images(args)
        self.arn = self._pipeline.arn
        expression = cron.to_aws(args["schedule"])
        self.schedule_expression = pulumi.Output.from_input(expression)
        self._create_schedule(args, expression)
        self.register_outputs({"arn": self.arn, "schedule_expression": self.schedule_expression})

    def _definition(self, args: AwsPipelineArgs) -> pulumi.Input[str]:
        definition, uri = args.get("definition"), args.get("definition_s3_uri")
        if (definition is None) == (uri is None):
            raise ValueError(f"pipeline {args['pipeline_name']}: give exactly one of "
                             "definition and definition_s3_uri")
        tags = dict(args.get("job_tags") or {})
        if definition is not None:
            return canonical_definition(definition, args["pipeline_name"], tags) \
                if tags else definition
        assert uri is not None
        bucket, key = parse_s3_uri(uri)
        body = aws.s3.get_object_output(bucket=bucket, key=key,
                                        opts=pulumi.InvokeOutputOptions(parent=self)).body
        return body.apply(lambda text: canonical_definition(text or "", uri, tags))

    def _create_pipeline(self, args: AwsPipelineArgs) -> aws.sagemaker.Pipeline:
        definition = self._definition_text
        parallel = args.get("max_parallel_steps")
        parallel = int(parallel) if parallel else None
        return aws.sagemaker.Pipeline(
            self._name, pipeline_name=args["pipeline_name"],
            pipeline_display_name=args["pipeline_name"],
            pipeline_description=args.get("description") or None,
            pipeline_definition=definition,
            role_arn=args["role_arn"],
            parallelism_configuration=(
                aws.sagemaker.PipelineParallelismConfigurationArgs(
                    max_parallel_execution_steps=parallel) if parallel else None),
            tags=dict(args.get("tags", {})),
            opts=pulumi.ResourceOptions(parent=self))

    def _grant_images(self, args: AwsPipelineArgs) -> None:
        repositories = sorted(set(args.get("image_repositories", ())))
        derive = self._derives_images(args)
        if not repositories and not derive:
            return
        role = args.get("role_name")
        if not role:
            raise ValueError(f"pipeline {args['pipeline_name']}: image_repositories needs "
                             "role_name (the pipeline role to grant)")
        resources: pulumi.Input[list[str]] = repositories
        if derive:
            # An s3:// definition is known only at `pulumi up`: derive its grants from the
            # fetched text, with the same rules as a local one. With no outside repository the
            # statement names the team's own (granted anyway), so the document stays valid.
            own = (f"arn:aws:ecr:{args['region']}:{args['account_id']}:repository/"
                   f"{args['team_repository_prefix']}/*")
            resources = pulumi.Output.from_input(self._definition_text).apply(
                lambda text: sorted(set(repositories) | set(self._derived(args, text)))
                or [own])
        _iam.inline_on(
            self, f"{self._name}-images", role_name=role,
            name=f"pull-{args['pipeline_name']}"[:128],
            policy=pulumi.Output.from_input(resources).apply(
                lambda arns: _iam.document(_iam.statement("PullPipelineImages", PULL_ACTIONS,
                                                          list(arns)))))

    @staticmethod
    def _derives_images(args: AwsPipelineArgs) -> bool:
        return bool(args.get("definition_s3_uri") and args.get("role_name")
                    and args.get("region") and args.get("account_id")
                    and args.get("team_repository_prefix"))

    def _derived(self, args: AwsPipelineArgs, text: str) -> list[str]:
        """Repositories to grant for the fetched definition; warns about images the pipeline
        role could not pull (the step would fail when it runs)."""
        try:
            definition = json.loads(text)
        except json.JSONDecodeError:
            return []  # canonical_definition already refused it
        given = dict(args.get("parameters", {}))
        out = []
        for step, image, verdict in images.pull_verdicts(
                definition, given, region=args["region"], account=args["account_id"],
                team_prefix=args["team_repository_prefix"]):
            if verdict.repository_arn:
                out.append(verdict.repository_arn)
            elif verdict.problem:
                pulumi.log.warn(f"pipeline {args['pipeline_name']}: step '{step}' of "
                                f"{args.get('definition_s3_uri')} runs '{image}': "
                                f"{verdict.problem}", resource=self)
        return out

    def _create_schedule(self, args: AwsPipelineArgs, expression: str) -> None:
        start = _iam.inline_on(
            self, f"{self._name}-start", role_name=args["scheduler_role_name"],
            name=f"start-{args['pipeline_name']}"[:128],
            policy=_iam.document(_iam.statement("StartThisPipeline",
                                                ["sagemaker:StartPipelineExecution"],
                                                [self._pipeline.arn])))
        params = [aws.scheduler.ScheduleTargetSagemakerPipelineParametersPipelineParameterArgs(
            name=k, value=parameter_value(v))
            for k, v in sorted(args.get("parameters", {}).items())]
        aws.scheduler.Schedule(
            self._name, name=args["schedule_name"], group_name="default",
            description=(args.get("description") or f"Starts {args['pipeline_name']}")[:512],
            schedule_expression=expression,
            schedule_expression_timezone=args.get("timezone", "UTC"),
            flexible_time_window=aws.scheduler.ScheduleFlexibleTimeWindowArgs(mode="OFF"),
            state="ENABLED",
            target=aws.scheduler.ScheduleTargetArgs(
                arn=self._pipeline.arn, role_arn=args["scheduler_role_arn"],
                sagemaker_pipeline_parameters=(
                    aws.scheduler.ScheduleTargetSagemakerPipelineParametersArgs(
                        pipeline_parameters=params) if params else None),
                # A run that cannot start within the hour is skipped, not started late.
                retry_policy=aws.scheduler.ScheduleTargetRetryPolicyArgs(
                    maximum_retry_attempts=3, maximum_event_age_in_seconds=3600)),
            # The schedule's first start needs the permission in place.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[start]))


Pipeline = AwsPipeline
"""Python name of :class:`AwsPipeline` (the any-language schema needs unique class names)."""
PipelineArgs = AwsPipelineArgs
