"""A scheduled Vertex AI pipeline: a Cloud Scheduler job that creates a PipelineJob on a cron,
with an alert to the team when a scheduled run fails to start.

The Vertex AI v1 API takes a run's pipeline as ``pipelineSpec`` in the request body;
``templateUri`` is only read for Artifact Registry (``https://<region>-kfp.pkg.dev/...``)
templates. So the scheduler posts the compiled spec itself (docs/adr/0019): a local template is
read when the program runs, a ``gs://`` template by ``pulumi up`` (the deploying identity needs
``storage.objects.get`` on it), and the JSON spec is also written to the pipeline-root bucket
under ``templates/`` (content-addressed) so people can start the same run by hand.

Cloud Scheduler authenticates with an OAuth token of the scheduler service account; the run
executes as the pipeline service account. A failed attempt (any non-2xx answer, e.g. an
invalid request or a missing permission) is logged by Cloud Scheduler as an ``AttemptFinished``
entry of severity ERROR; a log-match alert policy turns it into an email to the team.
https://cloud.google.com/vertex-ai/docs/reference/rest/v1/projects.locations.pipelineJobs/create
https://cloud.google.com/monitoring/alerts/log-based-alerts
"""

# No `from __future__ import annotations`: hosted for other languages (docs/adr/0006).
import base64
import hashlib
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, NotRequired, TypedDict

import pulumi
import pulumi_gcp as gcp
import yaml

SCHEDULER_JOB_MAX_BYTES = 1_000_000
"""Cloud Scheduler's job size limit (1 MB, body included): https://cloud.google.com/scheduler/quotas"""
ALERT_RATE_LIMIT = "3600s"
"""At most one notification an hour per alert policy (log-match policies require a limit)."""
ALERT_AUTO_CLOSE = "604800s"
"""Incidents close themselves after a week without a new failed attempt."""


def pipeline_jobs_url(project: str, region: str) -> str:
    """The Vertex AI endpoint that creates a PipelineJob."""
    return (f"https://{region}-aiplatform.googleapis.com/v1/projects/{project}/locations/"
            f"{region}/pipelineJobs")


def read_template(text: str, source: str = "template") -> tuple[dict[str, Any], dict[str, Any]]:
    """``(pipeline spec, runtime config)`` of a compiled KFP template (YAML or JSON).

    The first document is the pipeline spec; a second one (a platform spec) is not part of a
    PipelineJob. A PipelineJob JSON (``kfp.v2.compiler``) gives its ``pipelineSpec`` and its
    ``runtimeConfig`` (the defaults it was compiled with).
    """
    try:
        docs = list(yaml.load_all(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)))
    except yaml.YAMLError as exc:
        raise ValueError(f"{source}: not YAML or JSON ({exc})") from None
    first = docs[0] if docs else None
    if isinstance(first, dict) and isinstance(first.get("pipelineSpec"), dict):
        runtime = first.get("runtimeConfig")
        return first["pipelineSpec"], dict(runtime) if isinstance(runtime, dict) else {}
    if not isinstance(first, dict) or "root" not in first:
        raise ValueError(f"{source}: not a compiled KFP pipeline spec (no root); compile it "
                         "with `kfp dsl compile`")
    return first, {}


def spec_json(spec: Mapping[str, Any]) -> str:
    """The spec as compact JSON, keys sorted: what is uploaded and what names the copy."""
    return json.dumps(spec, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def template_object_name(pipeline: str, spec: Mapping[str, Any]) -> str:
    """``templates/<pipeline>-<sha256[:12]>.json``: named by the spec's content."""
    digest = hashlib.sha256(spec_json(spec).encode()).hexdigest()[:12]
    return f"templates/{pipeline}-{digest}.json"


def _schema_before_2_1(spec: Mapping[str, Any]) -> bool:
    parts = str(spec.get("schemaVersion") or "2.1.0").split(".")
    try:
        return tuple(int(p) for p in parts[:2]) < (2, 1)
    except ValueError:
        return False


def _typed_value(kind: str, value: Any) -> dict[str, Any]:
    """A schema 2.0.0 ``runtimeConfig.parameters`` value (``intValue`` is an int64 string)."""
    if kind == "INT" or (not kind and isinstance(value, int) and not isinstance(value, bool)):
        return {"intValue": str(int(value))}
    if kind == "DOUBLE" or (not kind and isinstance(value, float)):
        return {"doubleValue": float(value)}
    return {"stringValue": value if isinstance(value, str) else json.dumps(value)}


def runtime_config(spec: Mapping[str, Any], parameters: Mapping[str, Any],
                   output_directory: str,
                   template_runtime: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """``runtimeConfig`` of a run: where it writes, and the parameter values.

    Schema 2.1 specs take ``parameterValues`` (plain JSON values); schema 2.0.0 specs take
    typed ``parameters``, as the Vertex AI SDK sends them. Values a PipelineJob JSON template
    was compiled with come first; org.yaml's win.
    """
    base = dict(template_runtime or {})
    if _schema_before_2_1(spec):
        inputs = ((spec.get("root") or {}).get("inputDefinitions") or {}).get("parameters") or {}
        typed = dict(base.get("parameters") or {})
        typed.update({k: _typed_value(str((inputs.get(k) or {}).get("type", "")), v)
                      for k, v in parameters.items()})
        return {"gcsOutputDirectory": output_directory, "parameters": typed}
    values = dict(base.get("parameterValues") or {})
    values.update(parameters)
    return {"gcsOutputDirectory": output_directory, "parameterValues": values}


def pipeline_job_body(*, display_name: str, pipeline_spec: Mapping[str, Any],
                      runtime: Mapping[str, Any], service_account: str,
                      labels: Mapping[str, str],
                      kms_key_name: str | None = None) -> dict[str, Any]:
    """The PipelineJob resource the scheduler posts (REST field names)."""
    body: dict[str, Any] = {
        "displayName": display_name,
        "pipelineSpec": dict(pipeline_spec),
        "runtimeConfig": dict(runtime),
        "serviceAccount": service_account,
        "labels": dict(labels),
    }
    if kms_key_name:
        body["encryptionSpec"] = {"kmsKeyName": kms_key_name}
    return body


def failed_start_filter(project: str, region: str, job_name: str) -> str:
    """Cloud Logging filter of a scheduler job's failed attempts.

    Cloud Scheduler logs every attempt to ``cloudscheduler.googleapis.com/executions`` on the
    ``cloud_scheduler_job`` resource (labels ``project_id``, ``job_id``, ``location``); an
    attempt the target refused ends with an ``AttemptFinished`` entry of severity ERROR.
    https://cloud.google.com/logging/docs/view/logging-query-language
    """
    return "\n".join((
        'resource.type="cloud_scheduler_job"',
        f'resource.labels.project_id="{project}"',
        f'resource.labels.location="{region}"',
        f'resource.labels.job_id="{job_name}"',
        f'logName="projects/{project}/logs/cloudscheduler.googleapis.com%2Fexecutions"',
        # "Unquoted text must not contain any special characters" (Logging query language)
        'jsonPayload."@type"="type.googleapis.com/google.cloud.scheduler.logging.AttemptFinished"',
        "severity>=ERROR",
    ))


class GcpPipelineArgs(TypedDict):
    """Arguments of :class:`Pipeline`."""

    project: pulumi.Input[str]
    """Project id (``Services.project``)."""
    project_id: str
    """The same project id as a plain string (part of the Vertex AI endpoint URL)."""
    region: str
    """Region of the scheduler job and of the Vertex AI pipeline runs."""
    pipeline: str
    """Pipeline key: names the template copy and the run directory."""
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
    ``aiplatform.pipelineJobs.create`` (``roles/aiplatform.user``) and
    ``iam.serviceAccounts.actAs`` on the pipeline SA."""
    template_path: NotRequired[str | None]
    """Local compiled KFP template (YAML/JSON), read when the program runs. One of
    ``template_path``/``template_uri`` is required."""
    template_uri: NotRequired[str | None]
    """``gs://BUCKET/OBJECT`` compiled template, read by ``pulumi up`` (the deploying identity
    needs ``storage.objects.get`` on it; a changed object is picked up by the next ``pulumi
    up``). Default: none; one of ``template_path``/``template_uri`` is required."""
    parameters: NotRequired[Mapping[str, Any]]
    """Pipeline parameter values. Default: the template's defaults."""
    description: NotRequired[str]
    """Description of the scheduler job. Default: empty."""
    labels: NotRequired[Mapping[str, str]]
    """Labels on every PipelineJob (billing attribution of the run) and on the alert policy.
    Default: none."""
    kms_key_name: NotRequired[pulumi.Input[str] | None]
    """Cloud KMS key (``projects/.../cryptoKeys/...``, in ``region``) set as every run's
    ``encryptionSpec``; the Vertex AI service agent needs encrypt/decrypt on it. Default:
    Google-managed encryption."""
    alert_policy_name: NotRequired[str | None]
    """Display name of the alert policy on failed starts. Default: none, no alert policy."""
    notification_channels: NotRequired[pulumi.Input[Sequence[pulumi.Input[str]]]]
    """Monitoring notification channels (``projects/.../notificationChannels/...``) the alert
    policy notifies. Default: none (incidents still open in Cloud Monitoring)."""


class GcpPipeline(pulumi.ComponentResource):
    """The template copy, the Cloud Scheduler job that starts runs, and the alert on failures."""

    template_uri: pulumi.Output[str]
    """``gs://`` URI of the JSON pipeline spec the schedule runs (a copy in the pipeline root)."""
    output_directory: pulumi.Output[str]
    """``gs://<pipeline root>/runs/<pipeline>``: the runs' ``gcsOutputDirectory``."""
    job_name: pulumi.Output[str]
    """The Cloud Scheduler job's name."""

    def __init__(self, name: str, args: GcpPipelineArgs,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("trellis:gcp:Pipeline", name, None, opts)
        template = self._template(name, args)
        self.output_directory = pulumi.Output.concat(
            "gs://", args["pipeline_root"], "/runs/" + args["pipeline"])
        self.template_uri = self._create_copy(name, args, template)
        job = self._create_job(name, args, template)
        self.job_name = job.name
        if args.get("alert_policy_name"):
            self._create_alert(name, args)
        self.register_outputs({"template_uri": self.template_uri,
                               "output_directory": self.output_directory,
                               "job_name": self.job_name})

    def _template(self, name: str,
                  args: GcpPipelineArgs) -> pulumi.Output[tuple[dict[str, Any], dict[str, Any]]]:
        uri, path = args.get("template_uri"), args.get("template_path")
        if bool(uri) == bool(path):
            raise ValueError(f"Pipeline '{name}': give exactly one of template_path and "
                             "template_uri")
        if path:
            local = Path(str(path))
            parsed = read_template(local.read_text(encoding="utf-8"), str(local))
            # apply, not from_input: from_input would wrap every value of the spec in an Output.
            return pulumi.Output.from_input(str(local)).apply(lambda _: parsed)
        text = str(uri)
        if not text.startswith("gs://") or "/" not in text[5:]:
            raise ValueError(f"Pipeline '{name}': template_uri '{text}' is not gs://BUCKET/OBJECT")
        bucket, obj = text[5:].split("/", 1)
        content = gcp.storage.get_bucket_object_content_output(
            bucket=bucket, name=obj, opts=pulumi.InvokeOutputOptions(parent=self)).content
        return content.apply(lambda t: read_template(t or "", text))

    def _create_copy(self, name: str, args: GcpPipelineArgs,
                     template: pulumi.Output[tuple[dict[str, Any], dict[str, Any]]]
                     ) -> pulumi.Output[str]:
        spec = template.apply(lambda t: t[0])
        obj = gcp.storage.BucketObject(
            f"{name}-template", bucket=args["pipeline_root"],
            name=spec.apply(lambda s: template_object_name(args["pipeline"], s)),
            # The text itself, not a FileAsset: the plan shows (and diffs) what is uploaded.
            content=spec.apply(spec_json), content_type="application/json",
            opts=pulumi.ResourceOptions(parent=self))
        return pulumi.Output.concat("gs://", obj.bucket, "/", obj.name)

    def _create_job(self, name: str, args: GcpPipelineArgs,
                    template: pulumi.Output[tuple[dict[str, Any], dict[str, Any]]]
                    ) -> gcp.cloudscheduler.Job:
        def body(values: list[Any]) -> str:
            (spec, compiled_runtime), output_dir, pipeline_sa, kms_key = values
            job = pipeline_job_body(
                display_name=args["display_name"], pipeline_spec=spec,
                runtime=runtime_config(spec, args.get("parameters", {}), output_dir,
                                       compiled_runtime),
                service_account=pipeline_sa, labels=args.get("labels", {}),
                kms_key_name=kms_key)
            raw = json.dumps(job, sort_keys=True, separators=(",", ":"),
                             ensure_ascii=False).encode()
            # The rest of the job (URI, headers, name, schedule, token) stays under 4 KB.
            if len(raw) + 4_096 > SCHEDULER_JOB_MAX_BYTES:
                raise ValueError(f"Pipeline '{name}': the PipelineJob request is {len(raw):,} "
                                 "bytes; a Cloud Scheduler job holds at most 1 MB")
            return base64.b64encode(raw).decode()

        encoded = pulumi.Output.all(template, self.output_directory,
                                    args["pipeline_service_account"],
                                    args.get("kms_key_name")).apply(body)
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
            # Creating a PipelineJob is not idempotent: a retry could start a second run. A
            # failed start alerts instead (the alert policy below).
            retry_config={"retry_count": 0},
            opts=pulumi.ResourceOptions(parent=self))

    def _create_alert(self, name: str, args: GcpPipelineArgs) -> gcp.monitoring.AlertPolicy:
        region, project_id, j = args["region"], args["project_id"], args["job_name"]
        doc = (
            f"The schedule `{j}` ({args['schedule']}, {args.get('time_zone', 'UTC')}) could "
            f"not start a run of Vertex AI pipeline `{args['display_name']}`: Vertex AI "
            "refused the request, so no run exists for this slot.\n\n"
            "Why it failed (the `status` and `debugInfo` of the entry):\n\n"
            f"    gcloud logging read 'resource.type=\"cloud_scheduler_job\" AND "
            f"resource.labels.job_id=\"{j}\" AND severity>=ERROR' --project {project_id} "
            "--limit 5\n\n"
            "After fixing it, start the missed run now:\n\n"
            f"    gcloud scheduler jobs run {j} --location {region} --project {project_id}\n")
        return gcp.monitoring.AlertPolicy(
            name, project=args["project"], display_name=args["alert_policy_name"],
            combiner="OR", severity="ERROR",
            conditions=[{"display_name": "Scheduled run failed to start",
                         "condition_matched_log": {
                             "filter": failed_start_filter(project_id, region, j)}}],
            alert_strategy={"notification_rate_limit": {"period": ALERT_RATE_LIMIT},
                            "auto_close": ALERT_AUTO_CLOSE},
            documentation={"content": doc, "mime_type": "text/markdown",
                           "subject": f"Pipeline {args['display_name']} did not start"},
            notification_channels=args.get("notification_channels") or [],
            user_labels=dict(args.get("labels", {})),
            opts=pulumi.ResourceOptions(parent=self))


Pipeline = GcpPipeline
"""Python name of :class:`GcpPipeline` (the any-language schema needs unique class names)."""
PipelineArgs = GcpPipelineArgs
