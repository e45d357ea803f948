"""Secure by construction: every bundled org passes `trellis check` in every environment, and a
hand-written insecure stack (no Trellis components) is caught by the same pack."""

from __future__ import annotations

import json

import pulumi_aws as aws
import pulumi_gcp as gcp
import pytest
from click.testing import CliRunner

from stacks.cli.app import main
from stacks.org.load import load
from stacks.org.resolve import resolve
from stacks.plan.engine import run_program
from stacks.report.check import run_check
from tests.conftest import ALL_ORGS, BUNDLED_GCP, ROOT

ENV_CASES = [(org, env) for org in ALL_ORGS for env in load(org).environments]


@pytest.mark.parametrize(("org", "env"), ENV_CASES, ids=[f"{o.name}-{e}" for o, e in ENV_CASES])
def test_every_bundled_org_passes_check(org, env):
    result = CliRunner().invoke(main, ["check", str(org), "--env", env, "--format", "json"])
    assert result.exit_code == 0, result.output[-3000:]
    report = json.loads(result.output)
    failing = [v for v in report["violations"]
               if v["enforcement"] == "mandatory" and not v["waived"]]
    assert not failing, failing


def insecure_gcp() -> None:
    bucket = gcp.storage.Bucket("public-data", name="acme-dev-public", location="US",
                                uniform_bucket_level_access=False)
    gcp.storage.BucketIAMMember("public-read", bucket=bucket.name,
                                role="roles/storage.objectViewer", member="allUsers")
    sa = gcp.serviceaccount.Account("ci", account_id="ci-deployer")
    gcp.serviceaccount.Key("ci-key", service_account_id=sa.name)
    gcp.projects.IAMMember("ci-owner", project="acme-ml-dev", role="roles/owner",
                           member=sa.email.apply(lambda e: f"serviceAccount:{e}"))
    cluster = gcp.container.Cluster("gke", name="hand-made", location="us-central1",
                                     initial_node_count=1, enable_legacy_abac=True)
    gcp.container.NodePool(
        "gpus", cluster=cluster.name, location="us-central1", node_count=3,
        node_config={"machine_type": "a3-highgpu-8g",
                     "guest_accelerators": [{"type": "nvidia-h100-80gb", "count": 8}],
                     "service_account": "123-compute@developer.gserviceaccount.com"})


def insecure_aws() -> None:
    aws.s3.Bucket("raw", bucket="acme-dev-raw")
    user = aws.iam.User("ci", name="ci")
    aws.iam.AccessKey("ci-key", user=user.name)
    role = aws.iam.Role("admin", name="everything", assume_role_policy=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                "Principal": {"Service": "ec2.amazonaws.com"}}]}))
    aws.iam.RolePolicy("star", role=role.name, policy=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}))


@pytest.mark.parametrize(("org", "program", "expected"), [
    (BUNDLED_GCP, insecure_gcp,
     {"TRL-GCS-001", "TRL-GCS-003", "TRL-IAM-001", "TRL-IAM-004", "TRL-GKE-004"}),
    (ROOT / "examples" / "aws.yaml", insecure_aws,
     {"TRL-S3-001", "TRL-IAM-002", "TRL-IAM-005"}),
], ids=["gcp", "aws"])
def test_a_hand_written_insecure_stack_is_caught(org, program, expected):
    env = resolve(load(org), "prod")
    report = run_check(run_program(env, program))
    failing = {f.policy for f in report.findings if f.enforcement == "mandatory"}
    missing = expected - failing
    assert not missing, f"not caught: {sorted(missing)}; caught: {sorted(failing)}"
    assert report.exit_code("low") == 1
