"""Renames and name collisions, through the CLI a user runs: `trellis validate` refuses two
entries that would claim one cloud resource, and `trellis diff` shows a team rename with
previous_names keeping every bucket and registry on both clouds."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from stacks.cli.app import main
from stacks.org.load import load, load_text
from stacks.org.resolve import resolve
from tests.conftest import BUNDLED_GCP, GCP_PLATFORM, MINIMAL_GCP, ROOT

AWS_EXAMPLE = ROOT / "examples" / "aws.yaml"
MINIMAL_AWS = (MINIMAL_GCP.replace(GCP_PLATFORM, "")
            .replace("cloud: gcp", "cloud: aws").replace("us-central1", "us-east-1")
               .replace("project: acme-ml-dev", "account: '123456789012'")
               .replace("group:recsys@acme.com", "arn:aws:iam::123456789012:role/recsys")
               + "platform: {admins: ['arn:aws:iam::123456789012:role/admin'], "
               "admin_cidrs: [203.0.113.0/24]}\n")

#: Resource types that hold data: deleting or replacing one loses it.
STATEFUL = ("gcp:storage/bucket:Bucket", "gcp:artifactregistry/repository:Repository",
            "aws:s3/bucket:Bucket", "aws:sagemaker/modelPackageGroup:ModelPackageGroup")


def stateful(urn: str) -> bool:
    return urn.split("::")[2].split("$")[-1] in STATEFUL


def run(*args: str):
    result = CliRunner().invoke(main, [str(a) for a in args])
    assert "Traceback" not in result.output, result.output
    return result


def beside(original: Path, text: str, tmp_path: Path, name: str) -> Path:
    """``text`` written as ``tmp_path/name`` with the pipeline templates ``original`` uses."""
    shutil.copytree(original.parent / "pipelines", tmp_path / "pipelines", dirs_exist_ok=True)
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# ---- the reproduction of issue 16 ----------------------------------------------------------

@pytest.mark.parametrize("org", [BUNDLED_GCP, AWS_EXAMPLE], ids=["gcp", "aws"])
def test_renamed_pool_next_to_its_old_key_is_a_located_error(org, tmp_path):
    text = org.read_text()
    serve = "      serve: {accelerator: l4, max_nodes: 4}\n"
    assert serve in text, f"{org.name}: the reproduction needs recsys's serve pool"
    bad = beside(org, text.replace(
        serve, serve + "      training: {accelerator: l4, previous_names: [serve]}\n"),
        tmp_path, "org.yaml")
    line = bad.read_text().splitlines().index(
        "      training: {accelerator: l4, previous_names: [serve]}") + 1
    for command in (("validate", bad), ("check", bad, "--env", "dev")):
        result = run(*command)
        assert result.exit_code == 1, f"trellis {command[0]}: {result.output}"
        assert re.search(rf"org\.yaml:{line}:\d+ teams\.recsys\.gpu_pools\.training\."
                         r"previous_names\[0\]: 'serve' is still the key of another pool, "
                         r"teams\.recsys\.gpu_pools\.serve", result.output), (
            f"trellis {command[0]} must name both pools at the previous name: {result.output}")
        assert "error: 1 problem found" in result.output, (
            f"one mistake, one error (not one per colliding name): {result.output}")


def test_one_old_key_kept_by_two_entries(write_org):
    text = MINIMAL_GCP.replace("      models: {}", "      data: {previous_names: [raw]}\n"
                               "      lake: {previous_names: [raw]}")
    result = run("validate", write_org(text))
    assert result.exit_code == 1
    assert ("teams.recsys.buckets.lake.previous_names[0]: 'raw' is also listed in "
            "teams.recsys.buckets.data.previous_names; only one bucket can keep") in result.output


def test_team_renamed_from_a_team_that_still_exists(write_org):
    text = MINIMAL_GCP + "  ranking:\n    previous_names: [recsys]\n"
    result = run("validate", write_org(text))
    assert result.exit_code == 1
    assert ("teams.ranking.previous_names[0]: 'recsys' is still the key of another team, "
            "teams.recsys") in result.output


def test_kept_name_collides_with_a_live_name(write_org):
    # ranking keeps its buckets under its old slug: acme-dev-recsys-p-q, which is also the
    # live name of team recsys-p's bucket q.
    text = MINIMAL_GCP.replace("  recsys:\n", "  ranking:\n    previous_names: [recsys]\n"
                               ).replace("      models: {}", "      p-q: {}") + """\
  recsys-p:
    buckets:
      q: {}
"""
    result = run("validate", write_org(text))
    assert result.exit_code == 1
    assert ("teams.recsys-p.buckets.q: gives the name 'acme-dev-recsys-p-q' in environment "
            "'dev', as teams.ranking.buckets.p-q does (GCS bucket names are unique; renamed "
            "entries keep their old names") in result.output, result.output


def test_logical_names_collide_even_when_physical_names_differ(write_org):
    # Pool b-c of team a keeps its physical names from z (a-z); team a-b's pool c is a-b-c.
    # Both components are GpuNodePool 'a-b-c': a duplicate URN.
    text = MINIMAL_GCP.replace("  recsys:", "  ab:").replace(
        "      serve: {accelerator: l4, max_nodes: 2}",
        "      b-c: {accelerator: l4, previous_names: [z]}") + """\
  ab-b:
    gpu_pools:
      c: {accelerator: l4}
"""
    result = run("validate", write_org(text))
    assert result.exit_code == 1
    assert ("teams.ab-b.gpu_pools.c: gives the name 'ab-b-c' in environment 'dev', as "
            "teams.ab.gpu_pools.b-c does (Pulumi pool resource names are unique") \
        in result.output, result.output


def test_team_name_colliding_with_the_platform(write_org):
    # Team eks's pool system would get the system nodes' IAM role, acme-dev-eks-system-node.
    text = MINIMAL_AWS.replace("  recsys:", "  eks:").replace("      serve:", "      system:")
    result = run("validate", write_org(text))
    assert result.exit_code == 1
    assert ("teams.eks.gpu_pools.system: gives the name 'acme-dev-eks-system-node' in "
            "environment 'dev', as the platform of environment 'dev' does (IAM role names are "
            "unique") in result.output, result.output


@pytest.mark.parametrize("slug", ["default", "kube-jobs"])
def test_team_names_kubernetes_reserves(write_org, slug):
    result = run("validate", write_org(MINIMAL_GCP.replace("  recsys:", f"  {slug}:")))
    assert result.exit_code == 1
    assert f"teams.{slug}: team name '{slug}' is not allowed" in result.output, result.output


# ---- renames keep what holds data ------------------------------------------------------------

def _renamed_team(org: Path, tmp_path: Path) -> Path:
    text = org.read_text()
    assert "\n  recsys:\n" in text
    renamed = text.replace("\n  recsys:\n", "\n  ranking:\n    previous_names: [recsys]\n")
    return beside(org, renamed, tmp_path, "renamed.yaml")


@pytest.mark.parametrize("org,env", [(BUNDLED_GCP, "dev"), (BUNDLED_GCP, "prod"),
                                     (AWS_EXAMPLE, "prod")],
                         ids=["gcp-dev", "gcp-prod", "aws-prod"])
def test_team_rename_keeps_buckets_and_registries(org, env, tmp_path):
    new = _renamed_team(org, tmp_path)
    result = run("diff", org, new, "--env", env, "--format", "json", "--fail-on-data-loss")
    assert result.exit_code == 0, result.output
    d = json.loads(result.output)
    assert d["data_loss"] == [], f"{org.name} {env}: a team rename lost data: {d['data_loss']}"
    gone = [u for u in d["removed"] + d["replaced"] if stateful(u)]
    assert not gone, f"{org.name} {env}: stateful resources removed or replaced: {gone}"
    kept = [c for c in d["changed"] if stateful(c["urn"])]
    assert kept and all(c.get("renamed_from") for c in kept), (
        f"{org.name} {env}: every bucket and registry of the team is the renamed old one")


def test_spec_holds_the_kept_names_compose_uses(tmp_path):
    spec = resolve(load(_renamed_team(BUNDLED_GCP, tmp_path)), "dev").teams["ranking"]
    assert spec.buckets["models"].bucket_name == "acme-dev-recsys-models"
    assert spec.names.pipeline_root_bucket == "acme-dev-recsys-pipeline-root"
    assert (spec.names.container_registry, spec.names.pipeline_registry) == (
        "recsys-images", "recsys-pipelines")
    assert spec.names.workload_identity == "ranking-workload", (
        "identities follow the new slug: replacing them loses nothing")


RENAMED_ENTRIES = """\
version: 1
org: acme
cloud: gcp
region: us-central1
platform: {gke_security_group: gke-security-groups@acme.com}
environments:
  dev: {project: acme-ml-dev}
teams:
  recsys:
    members: [group:recsys@acme.com]
    gpu_pools:
      training: {accelerator: l4, max_nodes: 2, previous_names: [train]}
    buckets:
      data: {previous_names: [models]}
"""


def test_readers_of_the_spec_see_the_kept_names():
    from stacks.plan.engine import plan
    from stacks.report.cost import plan_annotations

    env = resolve(load_text(RENAMED_ENTRIES, "org.yaml", base_dir=ROOT), "dev")
    data = env.teams["recsys"].buckets["data"]
    assert data.bucket_name == "acme-dev-recsys-models"
    assert data.versioning, ("bucket data is still physically acme-dev-recsys-models, a model "
                             "bucket to policy TRL-GCS-004: it stays versioned in a sandbox")
    notes = plan_annotations(plan(env), env)
    assert "urn:pulumi:dev::trellis::trellis:gcp:GpuNodePool::recsys-training" in notes, (
        f"the cost note must find the renamed pool by its kept node pool name: {notes}")
