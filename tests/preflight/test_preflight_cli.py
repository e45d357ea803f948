"""`trellis preflight` from the command line: saved CLI output (--quotas), no credentials, usage
errors and exit codes. The saved files are the real shapes of `gcloud compute regions describe
--format=json`, `gcloud compute project-info describe --format=json` and `aws service-quotas
list-service-quotas --output json`, held to compute.v1 and botocore's models here."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from stacks.cli.app import main
from tests.aws.botocore_shapes import model, validate
from tests.aws.conftest import EXAMPLE
from tests.conftest import BUNDLED_GCP
from tests.preflight.recorded import AWS_QUOTAS, GCP_PROJECT, GCP_REGION, schema_problems


def preflight(*args: str, env: dict[str, str] | None = None):
    return CliRunner().invoke(main, ["preflight", *args], env=env, catch_exceptions=False)


def test_saved_files_are_what_the_clis_print():
    assert not schema_problems("compute.v1", "Region", json.loads(GCP_REGION.read_text()))
    assert not schema_problems("compute.v1", "Project", json.loads(GCP_PROJECT.read_text()))
    shape = model("service-quotas").operation_model("ListServiceQuotas").output_shape
    assert not validate(shape, json.loads(AWS_QUOTAS.read_text()))


def test_gcp_saved_quotas_give_verdicts_without_credentials():
    result = preflight(str(BUNDLED_GCP), "--env", "prod", "--quotas", str(GCP_REGION),
                       "--quotas", str(GCP_PROJECT))
    assert result.exit_code == 1, result.output
    out = " ".join(result.output.split())
    assert "recsys/serve quota NVIDIA_L4_GPUS (us-east4) short by 4 GPUs" in out, out
    assert "→ request NVIDIA_L4_GPUS = 8 in us-east4 for project acme-ml-prod" in out
    assert "zones, reservations, permissions, APIs skipped" in out
    assert "1 of 3 GPU pools can start at max_nodes, 1 short, 1 not fully checked" in out


def test_gcp_region_alone_skips_the_project_quota_and_says_what_to_add():
    result = preflight(str(BUNDLED_GCP), "--env", "prod", "--quotas", str(GCP_REGION),
                       "--format", "json")
    data = json.loads(result.output)
    row = next(r for r in data["rows"] if r["check"] == "quota GPUS_ALL_REGIONS")
    assert row["verdict"] == "skipped"
    assert "gcloud compute project-info describe --project acme-ml-prod --format=json" \
        in row["detail"]


def test_aws_saved_quotas_assume_no_usage_and_request_the_sum():
    result = preflight(str(EXAMPLE), "--env", "prod", "--quotas", str(AWS_QUOTAS),
                       "--format", "json")
    assert result.exit_code == 1
    data = json.loads(result.output)
    assert data["pools"] == {"recsys/train": "skipped", "recsys/serve": "short",
                             "vision/finetune": "short", "vision/render": "short"}
    serve = next(r for r in data["rows"] if r["subject"] == "recsys/serve")
    assert (serve["short_by"], serve["unit"]) == (8, "vCPUs"), serve
    assert "usage not in aws-quotas-us-west-2.json" in serve["detail"]
    assert serve["next_step"].endswith("--quota-code L-DB2E81BA --desired-value 72 "
                                       "--region us-west-2")


@pytest.mark.parametrize(("org", "quotas", "words"), [
    (BUNDLED_GCP, AWS_QUOTAS, "aws output; for this gcp environment save `gcloud compute "
                              "regions describe us-east4 --project acme-ml-prod"),
    (EXAMPLE, GCP_REGION, "gcp output; for this aws environment save `aws service-quotas "
                          "list-service-quotas --service-code ec2 --region us-west-2"),
])
def test_a_file_of_the_other_cloud_is_a_usage_error(org, quotas, words):
    result = CliRunner().invoke(main, ["preflight", str(org), "--env", "prod", "--quotas",
                                       str(quotas)])
    assert result.exit_code == 2, result.output
    assert words in " ".join(result.output.split()), result.output


def test_a_file_of_another_region_is_a_usage_error(tmp_path):
    other = json.loads(GCP_REGION.read_text())
    other["name"] = "us-central1"
    path = tmp_path / "q.json"
    path.write_text(json.dumps(other))
    result = CliRunner().invoke(main, ["preflight", str(BUNDLED_GCP), "--env", "prod",
                                       "--quotas", str(path)])
    assert result.exit_code == 2
    assert "quotas of region us-central1; the environment is in us-east4" in result.output


def test_gcp_without_credentials_says_where_it_looked(tmp_path, monkeypatch):
    from google.auth.compute_engine import _metadata

    monkeypatch.setattr(_metadata, "_NO_GCE_CHECK", True)  # no metadata server here
    monkeypatch.delenv("GOOGLE_APPLICATION_CREDENTIALS", raising=False)
    result = preflight(str(BUNDLED_GCP), "--env", "prod",
                       env={"CLOUDSDK_CONFIG": str(tmp_path), "HOME": str(tmp_path)})
    assert result.exit_code == 1
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1, lines
    assert lines[0].startswith("trellis preflight: no GCP credentials: looked for "
                               "GOOGLE_APPLICATION_CREDENTIALS, gcloud's application default "
                               f"credentials ({tmp_path}/application_default_credentials.json)")


def test_aws_without_credentials_says_where_it_looked(tmp_path, monkeypatch):
    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE",
                "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
                "AWS_CONTAINER_CREDENTIALS_FULL_URI"):
        monkeypatch.delenv(var, raising=False)
    result = preflight(str(EXAMPLE), "--env", "prod", env={
        "HOME": str(tmp_path), "AWS_CONFIG_FILE": str(tmp_path / "config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "credentials"),
        "AWS_EC2_METADATA_DISABLED": "true"})
    assert result.exit_code == 1
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert lines == ["trellis preflight: no AWS credentials: looked for AWS_ACCESS_KEY_ID/"
                     "AWS_SECRET_ACCESS_KEY, AWS_PROFILE with ~/.aws/credentials and "
                     "~/.aws/config (SSO included), AWS_WEB_IDENTITY_TOKEN_FILE and the "
                     "container and EC2 instance metadata; run `aws sso login` (or `aws "
                     "configure`), or pass --quotas FILE"], lines
