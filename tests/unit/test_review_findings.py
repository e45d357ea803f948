"""Findings of the independent GCP and AWS reviews (issues 17 and 18 follow-ups) that
`trellis validate` now catches: each a located error through the CLI, exit 1, no traceback."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from stacks.cli.app import main
from tests.conftest import GCP_PLATFORM, MINIMAL_GCP

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
