"""SageMaker pipelines and their schedules, held to botocore's service models.

Every planned ``aws:sagemaker/pipeline:Pipeline`` of the AWS example becomes the
``CreatePipeline`` and ``UpdatePipeline`` input the provider sends, and every schedule the
``CreateSchedule``/``UpdateSchedule`` input; botocore's ``sagemaker`` and ``scheduler`` models
judge them (shapes, required members, lengths, patterns, enums: tests/aws/botocore_shapes.py).
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from stacks.plan.engine import Plan, PlannedResource

from . import botocore_shapes as shapes

PIPELINE = "aws:sagemaker/pipeline:Pipeline"
SCHEDULE = "aws:scheduler/schedule:Schedule"


@pytest.fixture(scope="module", params=["dev", "prod"])
def planned(request: pytest.FixtureRequest) -> Plan:
    return request.getfixturevalue(f"{request.param}_plan")


def create_pipeline(p: PlannedResource) -> dict[str, Any]:
    """The CreatePipeline input terraform-provider-aws builds from the planned inputs."""
    i = p.inputs
    body: dict[str, Any] = {
        "PipelineName": i["pipelineName"], "PipelineDisplayName": i["pipelineDisplayName"],
        "PipelineDefinition": i["pipelineDefinition"], "RoleArn": i["roleArn"],
        "ClientRequestToken": str(uuid.uuid4()),  # the provider makes one per call
        "Tags": [{"Key": k, "Value": v} for k, v in sorted(i.get("tags", {}).items())],
    }
    if i.get("pipelineDescription"):
        body["PipelineDescription"] = i["pipelineDescription"]
    if "parallelismConfiguration" in i:
        body["ParallelismConfiguration"] = {
            "MaxParallelExecutionSteps": i["parallelismConfiguration"]["maxParallelExecutionSteps"]}
    if "pipelineDefinitionS3Location" in i:
        loc = i["pipelineDefinitionS3Location"]
        body["PipelineDefinitionS3Location"] = {"Bucket": loc["bucket"],
                                                "ObjectKey": loc["objectKey"]}
    return body


def create_schedule(s: PlannedResource) -> dict[str, Any]:
    """The CreateSchedule input built from the planned inputs."""
    i, t = s.inputs, s.inputs["target"]
    target: dict[str, Any] = {"Arn": t["arn"], "RoleArn": t["roleArn"]}
    if "retryPolicy" in t:
        target["RetryPolicy"] = {"MaximumRetryAttempts": t["retryPolicy"]["maximumRetryAttempts"],
                                 "MaximumEventAgeInSeconds":
                                     t["retryPolicy"]["maximumEventAgeInSeconds"]}
    if "sagemakerPipelineParameters" in t:
        target["SageMakerPipelineParameters"] = {"PipelineParameterList": [
            {"Name": p["name"], "Value": p["value"]}
            for p in t["sagemakerPipelineParameters"]["pipelineParameters"]]}
    return {"Name": i["name"], "GroupName": i["groupName"],
            "ScheduleExpression": i["scheduleExpression"],
            "ScheduleExpressionTimezone": i["scheduleExpressionTimezone"],
            "Description": i["description"], "State": i["state"],
            "FlexibleTimeWindow": {"Mode": i["flexibleTimeWindow"]["mode"]},
            "Target": target}


def test_pipelines_are_valid_create_and_update_inputs(planned):
    pipelines = planned.of_type(PIPELINE)
    assert pipelines, "the AWS example schedules pipelines"
    for p in pipelines:
        body = create_pipeline(p)
        assert "PipelineDefinitionS3Location" not in body, (
            f"{p.name}: S3 locations break updates (terraform-provider-aws #38259)")
        problems = shapes.validate(shapes.input_shape("sagemaker", "CreatePipeline"), body)
        assert not problems, f"{p.name}: CreatePipeline refuses:\n" + "\n".join(problems)
        update = {k: v for k, v in body.items() if k not in ("Tags", "ClientRequestToken")}
        problems = shapes.validate(shapes.input_shape("sagemaker", "UpdatePipeline"), update)
        assert not problems, f"{p.name}: UpdatePipeline refuses:\n" + "\n".join(problems)


def test_schedules_are_valid_create_and_update_inputs(planned):
    schedules = planned.of_type(SCHEDULE)
    assert schedules
    for s in schedules:
        body = create_schedule(s)
        for operation in ("CreateSchedule", "UpdateSchedule"):
            problems = shapes.validate(shapes.input_shape("scheduler", operation), body)
            assert not problems, f"{s.name}: {operation} refuses:\n" + "\n".join(problems)


def test_each_schedule_sends_only_parameters_its_pipeline_declares(planned):
    pipelines = {p.outputs["arn"]: p for p in planned.of_type(PIPELINE)}
    for s in planned.of_type(SCHEDULE):
        target = s.inputs["target"]
        pipeline = pipelines[target["arn"]]
        declared = {p["Name"]: p for p in
                    json.loads(pipeline.inputs["pipelineDefinition"]).get("Parameters", [])}
        sent = {p["name"] for p in
                (target.get("sagemakerPipelineParameters") or {}).get("pipelineParameters", [])}
        if "trellis-offline-plan" in pipeline.inputs["pipelineDefinition"]:
            continue  # an s3:// definition: read by pulumi up, not offline
        assert sent <= set(declared), f"{s.name}: sends undeclared {sent - set(declared)}"
        missing = {n for n, p in declared.items() if "DefaultValue" not in p} - sent
        assert not missing, f"{s.name}: {missing} have no default and are not sent"


def test_the_validator_catches_what_aws_would_refuse():
    shape = shapes.input_shape("sagemaker", "CreatePipeline")
    good = {"PipelineName": "acme-dev-recsys-nightly", "RoleArn":
            "arn:aws:iam::111111111111:role/acme-dev-recsys-pipelines",
            "ClientRequestToken": str(uuid.uuid4()), "PipelineDefinition": "{}"}
    assert shapes.validate(shape, good) == []
    assert any("PipelineName" in p and "match" in p for p in
               shapes.validate(shape, {**good, "PipelineName": "bad_name"}))
    assert any("maximum 1,048,576" in p for p in
               shapes.validate(shape, {**good, "PipelineDefinition": "x" * 1_048_577}))
    assert any("RoleArn" in p and "required" in p for p in
               shapes.validate(shape, {k: v for k, v in good.items() if k != "RoleArn"}))
    schedule = shapes.input_shape("scheduler", "CreateSchedule")
    bad = {"Name": "n", "ScheduleExpression": "cron(0 3 * * ? *)",
           "FlexibleTimeWindow": {"Mode": "SOMETIMES"},
           "Target": {"Arn": "arn:x", "RoleArn": "arn:aws:iam::111111111111:role/r",
                      "SageMakerPipelineParameters": {"PipelineParameterList": [
                          {"Name": "Epochs", "Value": ""}]}}}
    problems = shapes.validate(schedule, bad)
    assert any("SOMETIMES" in p for p in problems), problems
    assert any("Value" in p and "minimum 1" in p for p in problems), problems
