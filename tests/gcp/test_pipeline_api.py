"""The scheduled Vertex AI request, held to Google's own API descriptions.

Every planned Cloud Scheduler job of the bundled and example GCP orgs is turned into the REST
``Job`` Cloud Scheduler receives, and its HTTP body into the ``PipelineJob`` Vertex AI
receives; both are checked against the discovery documents google-api-python-client ships
(``cloudscheduler.v1``, ``aiplatform.v1``), as are the alert policies and channels
(``monitoring.v3``). Not our expectations: Google's field names, types, enums and required
fields (tests/gcp/discovery.py).
"""

from __future__ import annotations

import base64
import json
import re
from typing import Any

import pytest

from components.gcp.pipeline import SCHEDULER_JOB_MAX_BYTES
from stacks.org.load import load
from stacks.org.resolve import resolve
from stacks.plan.engine import Plan, PlannedResource, plan
from tests.conftest import ROOT

from . import discovery

JOB = "gcp:cloudscheduler/job:Job"
ALERT = "gcp:monitoring/alertPolicy:AlertPolicy"
CHANNEL = "gcp:monitoring/notificationChannel:NotificationChannel"
GCP_ORGS = [("stacks/org.yaml", "dev"), ("stacks/org.yaml", "prod"),
            ("examples/many-teams.yaml", "dev")]
# Pulumi-only properties of a cloudscheduler Job: where it is created, not part of the body.
PULUMI_ONLY = ("project", "region", "paused")


@pytest.fixture(scope="module", params=GCP_ORGS, ids=lambda p: f"{p[0]}:{p[1]}")
def planned(request: pytest.FixtureRequest) -> Plan:
    path, env = request.param
    return plan(resolve(load(ROOT / path), env))


def rest_job(job: PlannedResource) -> dict[str, Any]:
    """The Cloud Scheduler REST Job the provider creates from the planned inputs."""
    inputs = dict(job.inputs)
    project, region = inputs["project"], inputs["region"]
    body = {k: v for k, v in inputs.items() if k not in PULUMI_ONLY}
    body["name"] = f"projects/{project}/locations/{region}/jobs/{inputs['name']}"
    return body


def rest(res: PlannedResource) -> dict[str, Any]:
    """A monitoring resource's planned inputs as the REST body (``project`` is the URL)."""
    return {k: v for k, v in res.inputs.items() if k != "project"}


def pipeline_job(job: PlannedResource) -> dict[str, Any]:
    return json.loads(base64.b64decode(job.inputs["httpTarget"]["body"]))


def test_every_gcp_org_schedules_pipelines(planned):
    assert planned.of_type(JOB), "each GCP example has at least one scheduled pipeline"


def test_scheduler_job_is_a_valid_cloud_scheduler_job(planned):
    for job in planned.of_type(JOB):
        problems = discovery.validate("cloudscheduler.v1", "Job", rest_job(job))
        assert not problems, f"{job.name}: not a valid Cloud Scheduler Job:\n" + \
            "\n".join(problems)
        size = len(json.dumps(rest_job(job)).encode())
        assert size < SCHEDULER_JOB_MAX_BYTES, f"{job.name}: {size} bytes; jobs hold 1 MB"


def test_scheduler_calls_the_vertex_create_method(planned):
    create = discovery.method("aiplatform.v1", "projects.locations.pipelineJobs.create")
    assert create["httpMethod"] == "POST"
    endpoints = {e["endpointUrl"] for e in discovery.document("aiplatform.v1")["endpoints"]}
    parent_pattern = create["parameters"]["parent"]["pattern"]
    for job in planned.of_type(JOB):
        target = job.inputs["httpTarget"]
        assert target["httpMethod"] == create["httpMethod"], job.name
        base = re.match(r"https://[^/]+/", target["uri"]).group(0)
        assert base in endpoints, f"{job.name}: {base} is not a Vertex AI endpoint"
        path = target["uri"][len(base):]
        match = re.fullmatch(r"v1/(.+)/pipelineJobs", path)
        assert match and create["path"] == "v1/{+parent}/pipelineJobs", f"{job.name}: {path}"
        assert re.fullmatch(parent_pattern.strip("^$"), match.group(1)), match.group(1)
        location = match.group(1).rsplit("/", 1)[-1]
        assert base == f"https://{location}-aiplatform.googleapis.com/", (
            f"{job.name}: the locational endpoint of the job's own region")
        assert target["headers"]["Content-Type"] == "application/json"
        scope = target["oauthToken"]["scope"]
        assert scope in create["scopes"], f"{job.name}: the OAuth scope the method accepts"


def test_scheduled_body_is_a_valid_pipeline_job(planned):
    create = discovery.method("aiplatform.v1", "projects.locations.pipelineJobs.create")
    schema = create["request"]["$ref"]
    assert schema == "GoogleCloudAiplatformV1PipelineJob"
    for job in planned.of_type(JOB):
        body = pipeline_job(job)
        problems = discovery.validate("aiplatform.v1", schema, body)
        assert not problems, f"{job.name}: not a valid PipelineJob:\n" + "\n".join(problems)
        assert isinstance(body.get("pipelineSpec"), dict) and body["pipelineSpec"].get("root"), (
            f"{job.name}: Vertex AI needs the compiled spec in pipelineSpec")
        assert "templateUri" not in body, (
            f"{job.name}: templateUri is only read from Artifact Registry; never send gs://")
        assert body["runtimeConfig"]["gcsOutputDirectory"].startswith("gs://"), job.name


def test_alert_policies_are_valid_log_match_policies(planned):
    alerts = {a.name: a for a in planned.of_type(ALERT)}
    assert set(alerts) == {j.name for j in planned.of_type(JOB)}, (
        "one failed-start alert per scheduled pipeline")
    for alert in alerts.values():
        problems = discovery.validate("monitoring.v3", "AlertPolicy", rest(alert))
        assert not problems, f"{alert.name}: not a valid AlertPolicy:\n" + "\n".join(problems)
        # "notificationRateLimit: Required for log-based alerting policies" (monitoring.v3).
        assert alert.inputs["alertStrategy"]["notificationRateLimit"]["period"], alert.name
        (condition,) = alert.inputs["conditions"]
        assert 'resource.type="cloud_scheduler_job"' in condition["conditionMatchedLog"]["filter"]


def test_notification_channels_are_valid_email_channels(planned):
    for channel in planned.of_type(CHANNEL):
        problems = discovery.validate("monitoring.v3", "NotificationChannel",
                                      rest(channel))
        assert not problems, f"{channel.name}: " + "\n".join(problems)
        assert channel.inputs["type"] == "email" and "@" in channel.inputs["labels"][
            "email_address"], channel.name


def test_the_validator_catches_what_vertex_would_refuse():
    """The validator itself can fail: each broken body is refused for the right reason."""
    good = {"displayName": "x", "pipelineSpec": {"root": {}},
            "runtimeConfig": {"gcsOutputDirectory": "gs://b/r", "parameterValues": {"a": 1}},
            "serviceAccount": "sa@p.iam.gserviceaccount.com", "labels": {"team": "t"}}
    assert discovery.validate("aiplatform.v1", "GoogleCloudAiplatformV1PipelineJob", good) == []
    cases = {
        "templateUrl": ({**good, "templateUrl": "gs://b/t.yaml"}, "no such field"),
        "state": ({**good, "state": "PIPELINE_STATE_QUEUED"}, "output only"),
        "labels": ({**good, "labels": {"team": 3}}, "expected a string"),
        "runtimeConfig": ({**good, "runtimeConfig": []}, "expected an object"),
        "encryptionSpec": ({**good, "encryptionSpec": {}}, "required"),
    }
    for field, (body, reason) in cases.items():
        problems = discovery.validate("aiplatform.v1", "GoogleCloudAiplatformV1PipelineJob",
                                      body)
        assert any(reason in p and field in p for p in problems), (field, problems)
    job = {"name": "projects/p/locations/l/jobs/j", "schedule": "0 3 * * *",
           "httpTarget": {"uri": "https://x/", "httpMethod": "FETCH"}}
    assert any("FETCH" in p for p in discovery.validate("cloudscheduler.v1", "Job", job))
    assert any("schedule" in p and "required" in p for p in discovery.validate(
        "cloudscheduler.v1", "Job", {"httpTarget": {"uri": "https://x/"}}))
