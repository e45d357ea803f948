"""Pipeline: a SageMaker pipeline that runs on a schedule, complete with its permission to start.

The definition is always sent inline (``PipelineDefinition``, at most 1,048,576 characters):
a local file is read when the program runs, an ``s3://`` object by ``pulumi up``. The
provider's ``pipeline_definition_s3_location`` is not used: updating a pipeline whose
definition moved in S3 plans ``pipeline_definition -> null`` and fails
(https://github.com/hashicorp/terraform-provider-aws/issues/38259, open). EventBridge Scheduler
starts the pipeline through its SageMaker target with the parameters from org.yaml; the team's
scheduler role gets ``sagemaker:StartPipelineExecution`` on this pipeline and nothing else, and
the pipeline role may pull the images of the repositories this definition names outside the
team's own (e.g. AWS Deep Learning Containers).
"""

# No `from __future__ import annotations`: hosted for other languages (docs/adr/0006).
import json
from collections.abc import Mapping, Sequence
from typing import Any, NotRequired, TypedDict

import pulumi
import pulumi_aws as aws

from components import cron
from components.aws import _iam

DEFINITION_MAX_CHARS = 1_048_576
"""botocore ``sagemaker`` model, ``PipelineDefinition``: at most 1,048,576 characters."""


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


def parameter_value(value: Any) -> str:
    """A parameter value as SageMaker takes it: strings as-is, anything else as JSON."""
    return value if isinstance(value, str) else json.dumps(value)


def canonical_definition(text: str, source: str = "definition") -> str:
    """A definition as CreatePipeline takes it: compact JSON, keys sorted (the same file always
    gives the same input), checked against botocore's ``PipelineDefinition`` length."""
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{source}: not JSON ({exc}); a SageMaker pipeline definition is the "
                         "JSON of pipeline.definition() (an S3 object needs a JSON or text "
                         "Content-Type to be read)") from None
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
        if definition is not None:
            return definition
        assert uri is not None
        bucket, key = parse_s3_uri(uri)
        body = aws.s3.get_object_output(bucket=bucket, key=key,
                                        opts=pulumi.InvokeOutputOptions(parent=self)).body
        return body.apply(lambda text: canonical_definition(text or "", uri))

    def _create_pipeline(self, args: AwsPipelineArgs) -> aws.sagemaker.Pipeline:
        definition = self._definition(args)
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
        if not repositories:
            return
        role = args.get("role_name")
        if not role:
            raise ValueError(f"pipeline {args['pipeline_name']}: image_repositories needs "
                             "role_name (the pipeline role to grant)")
        _iam.inline_on(
            self, f"{self._name}-images", role_name=role,
            name=f"pull-{args['pipeline_name']}"[:128],
            policy=_iam.document(_iam.statement(
                "PullPipelineImages", ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer",
                                       "ecr:BatchCheckLayerAvailability"], repositories)))

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
