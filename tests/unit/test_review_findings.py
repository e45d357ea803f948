"""Findings of the independent GCP and AWS reviews (issues 17 and 18 follow-ups) that
`trellis validate` now catches: each a located error through the CLI, exit 1, no traceback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from components import catalog, service_regions
from stacks.cli.app import main
from tests.conftest import GCP_PLATFORM, MINIMAL_GCP
from tests.gcp import discovery

MINIMAL_AWS = (MINIMAL_GCP.replace(GCP_PLATFORM, "")
               .replace("cloud: gcp", "cloud: aws").replace("us-central1", "us-east-1")
               .replace("project: acme-ml-dev", "account: '123456789012'")
               .replace("group:recsys@acme.com", "arn:aws:iam::123456789012:role/recsys")
               + "platform: {admins: ['arn:aws:iam::123456789012:role/admin'], "
               "admin_cidrs: [203.0.113.0/24]}\n")


def validate(write_org, text: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["validate", str(write_org(text))])
    assert "Traceback" not in result.output, result.output
    return result.exit_code, result.output


# ---- G7: team names that are namespaces the managed cluster uses ----------------------------

@pytest.mark.parametrize("slug", ["gmp-system", "gmp-public", "gke-gmp-system",
                                  "gke-managed-cim", "gke-system"])
def test_gke_managed_namespaces_are_not_team_names(write_org, slug):
    code, out = validate(write_org, MINIMAL_GCP.replace("  recsys:", f"  {slug}:"))
    assert code == 1, out
    assert f"org.yaml:9:3 teams.{slug}: team name '{slug}' is not allowed" in out, out
    assert "namespaces GKE makes for its own components" in out, out
    assert "gke-*, gmp-*" in out, out


@pytest.mark.parametrize("slug", ["amazon-cloudwatch", "amazon-guardduty", "aws-observability"])
def test_eks_add_on_namespaces_are_not_team_names(write_org, slug):
    code, out = validate(write_org, MINIMAL_AWS.replace("  recsys:", f"  {slug}:"))
    assert code == 1, out
    assert f"teams.{slug}: team name '{slug}' is not allowed" in out, out
    assert "EKS" in out and "amazon-*" in out, out


@pytest.mark.parametrize(("text", "slug"), [(MINIMAL_GCP, "amazon-ml"), (MINIMAL_AWS, "gmp-ml")])
def test_the_other_clouds_reserved_names_stay_valid(write_org, text, slug):
    code, out = validate(write_org, text.replace("  recsys:", f"  {slug}:"))
    assert code == 0, f"team '{slug}' is reserved only on the other cloud: {out}"


# ---- G9: the region offers what scheduled pipelines run on ----------------------------------

PIPELINES_IN = """\
version: 1
org: acme
cloud: gcp
region: {region}
platform: {{gke_security_group: gke-security-groups@acme.com}}
environments:
  dev: {{project: acme-ml-dev}}
  prod: {{project: acme-ml-prod, region: {prod_region}}}
teams:
  recsys:
    members: [group:recsys@acme.com]
    buckets:
      models: {{}}
    pipelines:
      nightly: {{template: gs://acme-templates/train.yaml, schedule: "0 3 * * *"}}
"""


def test_pipelines_in_a_region_without_vertex_ai_are_a_located_error(write_org):
    code, out = validate(write_org, PIPELINES_IN.format(region="us-central1",
                                                        prod_region="northamerica-south1"))
    assert code == 1, out
    assert "org.yaml:14:5 teams.recsys.pipelines: team 'recsys' has pipelines in environment " \
        "'prod', but northamerica-south1 (set by `environments.prod.region`) does not offer " \
        "Vertex AI Pipelines" in " ".join(out.split()), out
    assert "aiplatform.v1.json, revision" in out, "the message names its dated source"
    assert "environment 'dev'" not in out, "us-central1 offers it"


def test_the_same_team_without_pipelines_is_valid_there(write_org):
    text = PIPELINES_IN.format(region="northamerica-south1", prod_region="us-central1")
    text = text.split("    pipelines:")[0]
    code, out = validate(write_org, text)
    assert code == 0, out


def _gcp_gaps_from_the_discovery_document() -> set[tuple[str, str, str]]:
    doc = discovery.document("aiplatform.v1")
    endpoints = {e["location"] for e in doc["endpoints"]}
    return {("gcp", "vertex-ai-pipelines", r) for r in catalog.regions("gcp")
            if r not in endpoints}


def _aws_gaps_from_botocore() -> set[tuple[str, str, str]]:
    botocore = pytest.importorskip("botocore")
    data = json.loads((Path(botocore.__file__).parent / "data" / "endpoints.json").read_text())
    [aws] = [p for p in data["partitions"] if p["partition"] == "aws"]
    out = set()
    for service, prefix in (("sagemaker-pipelines", "api.sagemaker"),
                            ("eventbridge-scheduler", "scheduler")):
        endpoints = aws["services"][prefix]["endpoints"]
        out |= {("aws", service, r) for r in catalog.regions("aws")
                if r not in endpoints or endpoints[r].get("deprecated")}
    return out


def test_service_gaps_are_exactly_what_the_references_say():
    # The table is data with a source; the sources are installed (google-api-python-client and
    # botocore, test dependencies): recomputing it from them must give the same rows, so a
    # dependency upgrade that changes a region's services fails here, not in a deployment.
    shipped = {(g.cloud, g.service, g.region) for g in service_regions.gaps()}
    expected = _gcp_gaps_from_the_discovery_document() | _aws_gaps_from_botocore()
    assert shipped == expected, (
        f"components/data/service_gaps.csv is out of date: missing {expected - shipped}, "
        f"stale {shipped - expected}")
    known = catalog.sources()
    for source in set(service_regions.CHECKED.values()):
        assert source in known, f"sources.csv lacks {source}"
    assert "2.202.0" in known["googleapiclient-aiplatform-v1"].reference
    assert doc_revision() in known["googleapiclient-aiplatform-v1"].reference


def doc_revision() -> str:
    return f"revision {discovery.document('aiplatform.v1')['revision']}"
