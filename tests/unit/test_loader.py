"""Loading org.yaml: every error class a newcomer hits, each located and actionable."""

from __future__ import annotations

import time
import tracemalloc

import pytest

from stacks.org.errors import OrgError
from stacks.org.load import load
from stacks.org.resolve import resolve
from tests.conftest import GCP_PLATFORM, MINIMAL_GCP, errors_of, one_error


def test_minimal_org_is_valid(write_org):
    loaded = load(write_org(MINIMAL_GCP))
    assert loaded.org.teams["recsys"].gpu_pools["serve"].accelerator == "l4"


def test_yaml_syntax_error_has_line_and_column(write_org):
    err = one_error(write_org, MINIMAL_GCP + "  broken: [1, 2\n")
    assert "YAML syntax error" in err
    assert "org.yaml:16:1" in err and "started at line 15, column 11" in err, err


def test_duplicate_keys_are_errors_not_last_one_wins(write_org):
    err = one_error(write_org, MINIMAL_GCP.replace("region: us-central1",
                                                   "region: us-central1\nregion: us-east4"))
    assert "org.yaml:5:1 region: duplicate key 'region' (first defined on line 4)" in err


def test_empty_file(write_org):
    assert "the file is empty" in one_error(write_org, "# nothing here\n\n")


def test_document_must_be_a_mapping(write_org):
    assert "must be a mapping" in one_error(write_org, "- a\n- b\n")


def test_non_utf8_bytes(tmp_path):
    path = tmp_path / "org.yaml"
    path.write_bytes(b"version: 1\norg: acme\xff\n")
    with pytest.raises(OrgError) as info:
        load(path)
    assert "org.yaml:2:10" in str(info.value) and "not valid UTF-8" in str(info.value)


def test_alias_bomb_fails_fast_with_bounded_memory(write_org):
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 12):
        refs = ", ".join([f"*a{i - 1}"] * 10)
        lines.append(f"a{i}: &a{i} [{refs}]")
    tracemalloc.start()
    start = time.perf_counter()
    err = one_error(write_org, "\n".join(lines) + "\n")
    elapsed = time.perf_counter() - start
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert "alias" in err
    assert elapsed < 5, f"alias bomb took {elapsed:.1f}s"
    assert peak < 64 * 2**20, f"alias bomb used {peak / 2**20:.0f} MiB"


def test_recursive_alias(write_org):
    assert "recursive" in one_error(write_org, "a: &a [1, *a]\n")


def test_unknown_key_suggests_the_closest(write_org):
    err = one_error(write_org, MINIMAL_GCP.replace("teams:", "teamz:"))
    assert "org.yaml:8:1 teamz: unknown key 'teamz' (did you mean 'teams'?)" in err


def test_nested_unknown_key_names_the_path(write_org):
    err = one_error(write_org, MINIMAL_GCP.replace("max_nodes: 2", "max_node: 2"))
    assert "teams.recsys.gpu_pools.serve.max_node: unknown key 'max_node' (did you mean " \
           "'max_nodes'?)" in err


def test_wrong_type(write_org):
    err = one_error(write_org, MINIMAL_GCP.replace("max_nodes: 2", "max_nodes: lots"))
    assert "teams.recsys.gpu_pools.serve.max_nodes: expected a whole number; got 'lots'" in err


def test_unsupported_version(write_org):
    err = one_error(write_org, MINIMAL_GCP.replace("version: 1", "version: 2"))
    assert "org.yaml:1:10 version: got 2; allowed: 1" in err


def test_unknown_cloud_suggests(write_org):
    err = one_error(write_org, MINIMAL_GCP.replace("cloud: gcp", "cloud: gpc"))
    assert "cloud: got 'gpc'" in err and "did you mean 'gcp'" in err


def test_unknown_region_suggests(write_org):
    err = one_error(write_org, MINIMAL_GCP.replace("us-central1", "us-centrl1"))
    assert "region: 'us-centrl1' is not a gcp region (did you mean 'us-central1'?)" in err


def test_accelerator_typo_suggests_full_name(write_org):
    err = one_error(write_org, MINIMAL_GCP.replace("accelerator: l4", "accelerator: h100"))
    assert "teams.recsys.gpu_pools.serve.accelerator" in err
    assert "did you mean 'h100-80gb'?" in err


def test_accelerator_from_the_other_cloud(write_org):
    err = one_error(write_org, MINIMAL_GCP.replace("accelerator: l4", "accelerator: a10g"))
    assert "'a10g' is not offered on gcp" in err


def test_accelerator_not_in_region(write_org):
    text = MINIMAL_GCP.replace("us-central1", "southamerica-east1").replace(
        "accelerator: l4", "accelerator: h200, gpus_per_node: 8")
    err = one_error(write_org, text)
    assert "no zone of southamerica-east1" in err and "regions that offer it" in err


def test_gpus_per_node_not_offered(write_org):
    err = one_error(write_org, MINIMAL_GCP.replace(
        "accelerator: l4", "accelerator: h100-80gb, gpus_per_node: 3"))
    assert ("teams.recsys.gpu_pools.serve.gpus_per_node: h100-80gb on gcp comes in "
            "1 (a3-highgpu-1g)") in err and "got 3" in err


def test_min_above_max(write_org):
    err = one_error(write_org, MINIMAL_GCP.replace("max_nodes: 2", "min_nodes: 3, max_nodes: 2"))
    assert "min_nodes 3 is above max_nodes 2" in err


def test_negative_budget(write_org):
    text = MINIMAL_GCP.replace("    members:", "    budget_usd: -1\n    members:")
    err = one_error(write_org, text)
    assert "teams.recsys.budget_usd: got -1" in err


@pytest.mark.parametrize("slug", ["Recsys", "r", "recsys-", "a-team-name-that-is-far-too-long"])
def test_bad_team_slug(write_org, slug):
    err = one_error(write_org, MINIMAL_GCP.replace("  recsys:", f"  {slug}:"))
    assert f"team name '{slug}' is not valid" in err


def test_bad_label_key_and_value(write_org):
    errs = errors_of(write_org, MINIMAL_GCP.replace("region: us-central1",
                                                    "region: us-central1\nlabels: {Team: ML!}"))
    assert any("label key 'Team' is not valid" in e for e in errs), errs
    assert any("label value 'ML!' is not valid" in e for e in errs), errs


def test_member_of_the_wrong_form_for_gcp(write_org):
    err = one_error(write_org, MINIMAL_GCP.replace("group:recsys@acme.com", "recsys@acme.com"))
    assert ("teams.recsys.members[0]: 'recsys@acme.com' is not valid: expected a GCP "
            "principal") in err


def test_member_of_the_wrong_form_for_aws(write_org):
    text = (MINIMAL_GCP.replace(GCP_PLATFORM, "")
            .replace("cloud: gcp", "cloud: aws").replace("us-central1", "us-east-1")
            .replace("project: acme-ml-dev", "account: '123456789012'")
            + "platform: {admins: ['arn:aws:iam::123456789012:role/admin'], "
            "admin_cidrs: [203.0.113.0/24]}\n")
    err = one_error(write_org, text)
    assert "expected an IAM role or user ARN" in err


@pytest.mark.parametrize(("name", "valid"), [("r" * 64, True), ("r" * 65, False)])
def test_aws_role_names_are_at_most_64_characters(write_org, name, valid):
    """IAM role and user names are 1-64 characters (botocore iam: roleNameType max 64)."""
    text = (MINIMAL_GCP.replace(GCP_PLATFORM, "")
            .replace("cloud: gcp", "cloud: aws").replace("us-central1", "us-east-1")
            .replace("project: acme-ml-dev", "account: '123456789012'")
            .replace("group:recsys@acme.com", f"arn:aws:iam::123456789012:role/ml/{name}")
            + "platform: {admin_cidrs: [203.0.113.0/24]}\n")
    if valid:
        load(write_org(text))
    else:
        assert "expected an IAM role or user ARN" in one_error(write_org, text)


def test_bad_project_id(write_org):
    err = one_error(write_org, MINIMAL_GCP.replace("acme-ml-dev", "Acme_ML"))
    assert "environments.dev.project: 'Acme_ML' is not valid: expected a GCP project id" in err


def test_unquoted_aws_account_gets_a_hint(write_org):
    text = (MINIMAL_GCP.replace(GCP_PLATFORM, "")
            .replace("cloud: gcp", "cloud: aws").replace("us-central1", "us-east-1")
            .replace("project: acme-ml-dev", "account: 123456789012")
            .replace("group:recsys@acme.com", "arn:aws:iam::123456789012:role/recsys")
            + "platform: {admins: ['arn:aws:iam::123456789012:role/admin'], "
            "admin_cidrs: [203.0.113.0/24]}\n")
    err = one_error(write_org, text)
    assert "environments.dev.account" in err and "quote" in err


def test_bad_cron_and_timezone(write_org):
    text = MINIMAL_GCP + """\
    pipelines:
      nightly: {template: "gs://bucket/t.yaml", schedule: "0 25 * *", timezone: Europe/Berln}
"""
    errs = errors_of(write_org, text)
    assert any("pipelines.nightly.schedule: '0 25 * *' has 4 fields" in e for e in errs), errs
    assert any("did you mean 'Europe/Berlin'" in e for e in errs), errs


def test_cron_value_out_of_range(write_org):
    text = MINIMAL_GCP + """\
    pipelines:
      nightly: {template: "gs://bucket/t.yaml", schedule: "0 25 * * *"}
"""
    assert "hour 25 is outside 0-23" in one_error(write_org, text)


def test_missing_local_template(write_org):
    text = MINIMAL_GCP + """\
    pipelines:
      nightly: {template: pipelines/missing.yaml, schedule: "0 3 * * *"}
"""
    err = one_error(write_org, text)
    assert "template file 'pipelines/missing.yaml' does not exist" in err


def test_template_uri_of_the_other_cloud(write_org):
    text = MINIMAL_GCP + """\
    pipelines:
      nightly: {template: "s3://bucket/t.json", schedule: "0 3 * * *"}
"""
    assert "gs://BUCKET/OBJECT" in one_error(write_org, text)


def test_team_environment_that_does_not_exist(write_org):
    err = one_error(write_org, MINIMAL_GCP.replace(
        "    members:", "    environments: [dve]\n    members:"))
    assert "environment 'dve' is not defined (did you mean 'dev'?)" in err


def test_override_of_undefined_environment(write_org):
    text = MINIMAL_GCP + "    overrides:\n      prod: {budget_usd: 5}\n"
    assert "teams.recsys.overrides.prod: environment 'prod' is not defined" in one_error(
        write_org, text)


def test_override_of_unknown_pool(write_org):
    text = MINIMAL_GCP + "    overrides:\n      dev: {gpu_pools: {srve: {max_nodes: 5}}}\n"
    assert "'srve' is not one of the team's gpu_pools (did you mean 'serve'?)" in one_error(
        write_org, text)


def test_too_long_physical_name_fails_at_validation(write_org):
    # Team and pool keys are each valid, but together they overflow the 30-character GCP
    # service account id of the pool's node identity: caught here, not in `pulumi up`.
    text = MINIMAL_GCP.replace("  recsys:", "  recommendations:").replace(
        "serve: {", "serving-online-xl: {")
    err = one_error(write_org, text)
    assert "teams.recommendations.gpu_pools.serving-online-xl: GCP service account id " \
           "'recommendations-serving-online-xl-gpu' is 37 characters; the cloud allows 6 to " \
           "30; shorten" in err


def test_every_error_is_reported_at_once(write_org):
    text = MINIMAL_GCP.replace("teams:", "teamz: {}\nteams:").replace(
        "accelerator: l4", "accelerator: h100").replace("max_nodes: 2", "max_nodes: x")
    errs = errors_of(write_org, text)
    assert len(errs) == 3, errs


def test_spot_only_shape_with_spot_false(write_org):
    err = one_error(write_org, MINIMAL_GCP.replace(
        "accelerator: l4, max_nodes: 2",
        "accelerator: h100-80gb, gpus_per_node: 1, spot: false"))
    assert "has no on-demand capacity" in err and "set spot: true" in err, err
    assert "use 8 GPUs per node (a3-highgpu-8g, sold on demand)" in err, err


def test_missing_file_is_a_clean_error(tmp_path):
    with pytest.raises(OrgError) as info:
        load(tmp_path / "nope.yaml")
    assert "nope.yaml: no such file" in str(info.value)


def test_keys_that_join_into_the_same_name_collide(write_org):
    text = MINIMAL_GCP.replace("      serve: {accelerator: l4, max_nodes: 2}",
                               "      b-c: {accelerator: l4, max_nodes: 2}") + """\
  recsys-b:
    gpu_pools:
      c: {accelerator: l4}
"""
    errs = errors_of(write_org, text)
    assert any("teams.recsys-b.gpu_pools.c: gives the name 'recsys-b-c' in environment 'dev', "
               "as teams.recsys.gpu_pools.b-c does" in e for e in errs), errs


MINIMAL_AWS = (MINIMAL_GCP.replace(GCP_PLATFORM, "")
               .replace("cloud: gcp", "cloud: aws").replace("us-central1", "us-east-1")
               .replace("project: acme-ml-dev", "account: '123456789012'")
               .replace("group:recsys@acme.com", "arn:aws:iam::123456789012:role/recsys"))


def test_aws_without_admins_is_valid_the_deployer_becomes_admin(write_org):
    org = load(write_org(MINIMAL_AWS + "platform: {admin_cidrs: [203.0.113.0/24]}\n")).org
    assert org.platform.admins == (), "aws without platform.admins must validate (issue 18.1)"


def test_aws_needs_admin_cidrs_and_says_what_to_set(write_org):
    err = one_error(write_org, MINIMAL_AWS)
    assert "platform: admin_cidrs is required on aws" in err, err
    assert "admin_cidrs: [203.0.113.0/24]" in err and "checkip" in err, \
        "the error must say exactly what to set and how to find this machine's address"


def test_aws_admins_must_include_someone_who_can_deploy_the_environment(write_org):
    text = MINIMAL_AWS + ("platform: {admin_cidrs: [203.0.113.0/24], "
                          "admins: ['arn:aws:iam::999999999999:role/admin']}\n")
    err = one_error(write_org, text)
    assert "platform.admins: no admin of environment 'dev' is in its account 123456789012" \
        in err, err


def test_aws_per_environment_admins_replace_platform_admins(write_org):
    text = MINIMAL_AWS.replace(
        "account: '123456789012'",
        "account: '123456789012', admins: ['arn:aws:iam::123456789012:role/dev/ops']") + (
        "platform: {admin_cidrs: [203.0.113.0/24], "
        "admins: ['arn:aws:iam::999999999999:role/admin']}\n")
    spec = resolve(load(write_org(text)), "dev")
    assert spec.platform.admins == ("arn:aws:iam::123456789012:role/dev/ops",), \
        "environments.dev.admins must replace platform.admins in dev"
    assert spec.platform.admins_from == "environments.dev.admins"


@pytest.mark.parametrize(("arn", "ok"), [
    ("arn:aws:iam::123456789012:role/path/to/Name", True),
    ("arn:aws:iam::123456789012:user/alice", True),
    ("arn:aws:sts::123456789012:assumed-role/Name/session", False),
    ("arn:aws:iam::123456789012:group/ml", False),
])
def test_aws_admins_take_roles_with_paths_and_users(write_org, arn, ok):
    text = MINIMAL_AWS + f"platform: {{admin_cidrs: [203.0.113.0/24], admins: ['{arn}']}}\n"
    if ok:
        assert load(write_org(text)).org.platform.admins == (arn,)
    else:
        assert "expected an IAM role or user ARN" in one_error(write_org, text)


@pytest.mark.parametrize(("version", "words"), [
    ("1.33", "1.33 left EKS standard support on 2026-07-29"),
    ("1.99", "'1.99' is not an EKS version Trellis knows"),
])
def test_kubernetes_version_is_checked_against_the_eks_table(write_org, version, words):
    text = MINIMAL_AWS.replace("account: '123456789012'",
                               f"account: '123456789012', kubernetes_version: '{version}'")
    err = one_error(write_org, text + "platform: {admin_cidrs: [203.0.113.0/24]}\n")
    assert f"environments.dev.kubernetes_version: {words}" in err, err
    assert "1.35" in err, "the error must name the versions that work"


def test_kubernetes_version_on_gcp_is_refused_with_a_hint(write_org):
    text = MINIMAL_GCP.replace("project: acme-ml-dev",
                               "project: acme-ml-dev, kubernetes_version: '1.35'")
    assert "release channel decides" in one_error(write_org, text)


def test_gke_security_group_must_be_the_gke_group(write_org):
    text = MINIMAL_GCP.replace("gke_security_group: gke-security-groups@acme.com",
                               "gke_security_group: ml@acme.com")
    assert "gke-security-groups@<your domain>" in one_error(write_org, text)


def test_aws_admin_cidrs_are_public_ranges(write_org):
    err = one_error(write_org, MINIMAL_AWS + "platform: {admin_cidrs: [10.0.0.0/8]}\n")
    assert "platform.admin_cidrs[0]: '10.0.0.0/8' is a private range" in err, err
