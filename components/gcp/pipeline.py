"""A scheduled Vertex AI pipeline: a Cloud Scheduler job that creates a PipelineJob on a cron.

Cloud Scheduler POSTs to the Vertex AI ``pipelineJobs`` endpoint with an OAuth token of the
scheduler service account; the run itself executes as the pipeline service account. A local
template file is uploaded to the pipeline-root bucket under ``templates/`` with its content
hash in the object name: an edited template becomes a new object and the job switches to it,
so a template update never deletes the object a replacement just wrote, and runs already
started keep theirs. (Uploading to the KFP repository needs the KFP client, not a resource.)
https://cloud.google.com/vertex-ai/docs/reference/rest/v1/projects.locations.pipelineJobs/create
"""

# No `from __future__ import annotations`: hosted for other languages (docs/adr/0006).
import base64
import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NotRequired, TypedDict

import pulumi
import pulumi_gcp as gcp


def template_object_name(pipeline: str, template_path: Path) -> str:
    """``templates/<pipeline>-<sha256[:12]>.<ext>``: content-addressed, deterministic."""
    digest = hashlib.sha256(template_path.read_bytes()).hexdigest()[:12]
    return f"templates/{pipeline}-{digest}{template_path.suffix or '.yaml'}"


def pipeline_jobs_url(project: str, region: str) -> str:
    """The Vertex AI endpoint that creates a PipelineJob."""
    return (f"https://{region}-aiplatform.googleapis.com/v1/projects/{project}/locations/"
            f"{region}/pipelineJobs")


def pipeline_job_body(*, display_name: str, template_uri: str, output_directory: str,
                      parameters: Mapping[str, Any], service_account: str,
                      labels: Mapping[str, str]) -> dict[str, Any]:
    """The PipelineJob resource the scheduler posts (REST field names)."""
    return {
        "displayName": display_name,
        "templateUri": template_uri,
        "runtimeConfig": {"gcsOutputDirectory": output_directory,
                          "parameterValues": dict(parameters)},
        "serviceAccount": service_account,
        "labels": dict(labels),
    }


class GcpPipelineArgs(TypedDict):
    """Arguments of :class:`Pipeline`."""

    project: pulumi.Input[str]
    """Project id (``Services.project``)."""
    project_id: str
    """The same project id as a plain string (part of the Vertex AI endpoint URL)."""
    region: str
    """Region of the scheduler job and of the Vertex AI pipeline runs."""
    pipeline: str
    """Pipeline key: names the template object and the run directory."""
    job_name: str
    """Physical Cloud Scheduler job name (kind ``scheduler_job``)."""
    display_name: str
    """Display name of every PipelineJob the schedule creates."""
    schedule: str
    """Five-field cron expression, e.g. ``0 3 * * *``."""
    time_zone: NotRequired[str]
    """IANA time zone the schedule is read in, e.g. ``Asia/Seoul``. Default: UTC."""
    pipeline_root: pulumi.Input[str]
    """Name of the pipeline-root bucket (no ``gs://``); runs write under
    ``gs://<bucket>/runs/<pipeline>``."""
    pipeline_service_account: pulumi.Input[str]
    """Email of the SA the runs execute as."""
    scheduler_service_account: pulumi.Input[str]
    """Email of the SA whose OAuth token authenticates the scheduler's call; needs
    ``aiplatform.user`` and ``iam.serviceAccountUser`` on the pipeline SA."""
    template_path: NotRequired[str | None]
    """Local compiled KFP template (YAML/JSON), uploaded by the stack. One of
    ``template_path``/``template_uri`` is required."""
    template_uri: NotRequired[str | None]
    """``gs://`` or ``https://<region>-kfp.pkg.dev/...`` template, used as is. Default: none;
    one of ``template_path``/``template_uri`` is required."""
    parameters: NotRequired[Mapping[str, Any]]
    """Pipeline parameter values. Default: the template's defaults."""
    description: NotRequired[str]
    """Description of the scheduler job. Default: empty."""
    labels: NotRequired[Mapping[str, str]]
    """Labels on every PipelineJob (billing attribution of the run). Default: none."""


class GcpPipeline(pulumi.ComponentResource):
    """Template upload (for local templates) + the Cloud Scheduler job that starts runs."""

    template_uri: pulumi.Output[str]
    """Where the runs' template is: the uploaded object or the given URI."""
    output_directory: pulumi.Output[str]
    """``gs://<pipeline root>/runs/<pipeline>``: the runs' ``gcsOutputDirectory``."""
    job_name: pulumi.Output[str]
    """The Cloud Scheduler job's name."""

    def __init__(self, name: str, args: GcpPipelineArgs,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("trellis:gcp:Pipeline", name, None, opts)
        self.template_uri = self._create_template(name, args)
        self.output_directory = pulumi.Output.concat(
            "gs://", args["pipeline_root"], "/runs/" + args["pipeline"])
        self.job_name = self._create_job(name, args).name
        self.register_outputs({"template_uri": self.template_uri,
                               "output_directory": self.output_directory,
                               "job_name": self.job_name})

    def _create_template(self, name: str, args: GcpPipelineArgs) -> pulumi.Output[str]:
        uri, path = args.get("template_uri"), args.get("template_path")
        if bool(uri) == bool(path):
            raise ValueError(f"Pipeline '{name}': give exactly one of template_path and "
                             "template_uri")
        if uri:
            return pulumi.Output.from_input(uri)
        local = Path(str(path))
        obj = gcp.storage.BucketObject(
            f"{name}-template", bucket=args["pipeline_root"],
            name=template_object_name(args["pipeline"], local),
            # The text itself, not a FileAsset: the plan shows (and diffs) what is uploaded.
            content=local.read_text(encoding="utf-8"),
            content_type="application/x-yaml" if local.suffix in (".yaml", ".yml")
            else "application/json",
            opts=pulumi.ResourceOptions(parent=self))
        return pulumi.Output.concat("gs://", obj.bucket, "/", obj.name)

    def _create_job(self, name: str, args: GcpPipelineArgs) -> gcp.cloudscheduler.Job:
        def body(values: list[Any]) -> str:
            template_uri, output_dir, pipeline_sa = values
            job = pipeline_job_body(
                display_name=args["display_name"], template_uri=template_uri,
                output_directory=output_dir, parameters=args.get("parameters", {}),
                service_account=pipeline_sa, labels=args.get("labels", {}))
            return base64.b64encode(json.dumps(job, sort_keys=True).encode()).decode()

        encoded = pulumi.Output.all(self.template_uri, self.output_directory,
                                    args["pipeline_service_account"]).apply(body)
        return gcp.cloudscheduler.Job(
            name, project=args["project"], region=args["region"], name=args["job_name"],
            description=args.get("description", ""), schedule=args["schedule"],
            time_zone=args.get("time_zone", "UTC"),
            http_target={
                "uri": pipeline_jobs_url(args["project_id"], args["region"]),
                "http_method": "POST",
                "headers": {"Content-Type": "application/json"},
                "body": encoded,
                "oauth_token": {"service_account_email": args["scheduler_service_account"],
                                "scope": "https://www.googleapis.com/auth/cloud-platform"},
            },
            # Creating a PipelineJob is not idempotent: a retry could start a second run.
            retry_config={"retry_count": 0},
            opts=pulumi.ResourceOptions(parent=self))


Pipeline = GcpPipeline
"""Python name of :class:`GcpPipeline` (the any-language schema needs unique class names)."""
PipelineArgs = GcpPipelineArgs
