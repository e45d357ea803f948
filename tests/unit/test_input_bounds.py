"""Issue 22: values that used to get through validation and crash later (or mean something the
user did not write) are refused at their line, with what was given and what to write."""

from __future__ import annotations

import pytest

from stacks.org.errors import OrgError
from stacks.org.load import load, load_text
from stacks.org.validate import _timezones
from tests.conftest import BUNDLED_GCP, GCP_PLATFORM, MINIMAL_GCP

AWS_MINIMAL = (MINIMAL_GCP.replace(GCP_PLATFORM, "")
               .replace("cloud: gcp", "cloud: aws").replace("us-central1", "us-east-1")
               .replace("project: acme-ml-dev", "account: '123456789012'")
               .replace("group:recsys@acme.com", "arn:aws:iam::123456789012:role/recsys")
               + "platform: {admins: ['arn:aws:iam::123456789012:role/admin'], "
               "admin_cidrs: [203.0.113.0/24]}\n")


def line_of(text: str, needle: str) -> int:
    """1-based line of the first line containing ``needle``."""
    return next(i for i, ln in enumerate(text.splitlines(), 1) if needle in ln)


def errors(write_org, text: str) -> list[str]:
    with pytest.raises(OrgError) as info:
        load(write_org(text))
    return [str(i) for i in info.value.issues]


def one(write_org, text: str) -> str:
    errs = errors(write_org, text)
    assert len(errs) == 1, errs
    return errs[0]


BUDGET = "    budget_usd: {}\n    members:"


@pytest.mark.parametrize(("value", "expect"), [
    (".nan", "got .nan; expected a finite number"),
    (".inf", "got .inf; expected a finite number"),
    ("-.inf", "got -.inf; expected a finite number"),
    ("1e400", "got .inf; expected a finite number"),  # YAML reads it as infinity
    ("-5", "got -5; allowed: at least 0"),
    ("2000000000", "got 2000000000; allowed: at most 1,000,000,000"),
    ("1" + "0" * 400, "got a 401-digit number; allowed: at most 1,000,000,000"),
    ('"40000"', "got '40000': it is text because it is quoted; write 40000 without quotes"),
    ("true", "got true: a boolean is never a number"),
])
def test_budgets_are_finite_bounded_numbers(write_org, value, expect):
    text = MINIMAL_GCP.replace("    members:", BUDGET.format(value))
    err = one(write_org, text)
    at = f"org.yaml:{line_of(text, 'budget_usd')}:17 teams.recsys.budget_usd: "
    assert at in err and expect in err, err


@pytest.mark.parametrize(("field", "value", "expect"), [
    ("gpus_per_node", "true", "expected a whole number; got true: a boolean is never a number"),
    ("max_nodes", '"4"', "got '4': it is text because it is quoted; write 4 without quotes"),
    ("max_nodes", "4.0", "got 4.0; write 4"),
    ("max_nodes", "100000", "got 100000; allowed: at most 4,000"),
    ("max_nodes", "1" + "0" * 40, "got a 41-digit number; allowed: at most 4,000"),
    ("max_nodes", "3500", "got 3,500; allowed: at most 3,000 on gcp (GKE allows 1,000 nodes per "
                          "node pool in each zone the pool spans; this pool spans 3 zones)"),
    ("min_nodes", "-1", "got -1; allowed: at least 0"),
    ("spot", '"true"', "got 'true': it is text because it is quoted; write true without quotes"),
    ("spot", "1", "expected true or false; got 1; write true or false"),
    ("disk_size_gb", "70000", "got 70000; allowed: at most 65,536"),
])
def test_pool_numbers_and_flags_are_strict(write_org, field, value, expect):
    text = MINIMAL_GCP.replace("serve: {accelerator: l4, max_nodes: 2}",
                               f"serve: {{accelerator: l4, {field}: {value}}}"
                               if field != "max_nodes" else
                               f"serve: {{accelerator: l4, max_nodes: {value}}}")
    err = one(write_org, text)
    assert f"teams.recsys.gpu_pools.serve.{field}: " in err and expect in err, err


def test_gke_pools_hold_1000_nodes_per_zone_they_span(write_org):
    text = MINIMAL_GCP.replace("serve: {accelerator: l4, max_nodes: 2}",
                               "serve: {accelerator: l4, max_nodes: 1500, zones: [us-central1-a]}")
    err = one(write_org, text)
    assert "max_nodes: got 1,500; allowed: at most 1,000 on gcp" in err, err
    assert "this pool spans 1 zone: us-central1-a" in err, err


def test_a_boolean_gpu_count_is_not_read_as_one_and_adds_no_other_error(write_org):
    # Before: `true` was 1, and the prod-only spot rule then complained about a 1-GPU shape.
    text = MINIMAL_GCP.replace("serve: {accelerator: l4, max_nodes: 2}",
                               "serve: {accelerator: h100-80gb, gpus_per_node: true}")
    assert "a boolean is never a number" in one(write_org, text)


def test_eks_node_groups_stop_at_450_nodes_and_16_tib(write_org):
    text = AWS_MINIMAL.replace("serve: {accelerator: l4, max_nodes: 2}",
                               "serve: {accelerator: l4, max_nodes: 451, disk_size_gb: 20000}")
    errs = errors(write_org, text)
    assert any("max_nodes: got 451; allowed: at most 450 on aws (EKS allows 450 nodes per "
               "managed node group" in e for e in errs), errs
    assert any("disk_size_gb: got 20,000; allowed: at most 16,384 GB on aws" in e
               for e in errs), errs
    assert len(errs) == 2, errs


def test_version_is_the_number_one(write_org):
    for value in ("true", "1.0", '"1"'):
        err = one(write_org, MINIMAL_GCP.replace("version: 1", f"version: {value}"))
        assert "org.yaml:1:10 version: got " in err and "allowed: 1" in err, err


def test_delete_after_days_is_bounded(write_org):
    err = one(write_org, MINIMAL_GCP.replace("      models: {}",
                                             "      models: {delete_after_days: 100000}"))
    assert "delete_after_days: got 100000; allowed: at most 36,500" in err, err


# ---- time zones -----------------------------------------------------------------------------

PIPELINE = """\
    pipelines:
      nightly: {{template: "gs://bucket/t.yaml", schedule: "0 3 * * *", timezone: {tz}}}
"""


@pytest.mark.parametrize(("tz", "suggest"), [
    ("posix/Asia/Seoul", "Asia/Seoul"), ("right/Europe/Berlin", "Europe/Berlin"),
    ("localtime", None),
    ("Factory", None), ("zone.tab", None), ("../../etc/passwd", None)])
def test_time_zones_come_from_the_iana_list_not_the_host(write_org, tz, suggest):
    err = one(write_org, MINIMAL_GCP + PIPELINE.format(tz=tz))
    assert f"'{tz}' is not an IANA time zone" in err, err
    if suggest:
        assert f"did you mean '{suggest}'" in err, err


def test_every_iana_zone_is_accepted_and_the_list_is_the_packages():
    import importlib.resources

    zones = _timezones()
    listed = importlib.resources.files("tzdata").joinpath("zones").read_text().split()
    assert {"Asia/Seoul", "Europe/Berlin", "UTC", "America/Argentina/Buenos_Aires"} <= zones
    assert zones == set(listed) - {"Factory"}
    assert not any(z.startswith(("posix/", "right/")) for z in zones)


# ---- template paths -------------------------------------------------------------------------

@pytest.mark.parametrize(("template", "expect"), [
    ('"pipelines/\\0train.yaml"', "contains a NUL character"),
    ('"' + "a/" * 3000 + 'x.yaml"', "is too long (6,006 bytes"),
    ('"' + "n" * 300 + '.yaml"', "longest name 305"),
    ('""', "the template is empty"),
    ('"gs://bucket/' + "k" * 1100 + '"', "GCS keys are at most 1,024"),
])
def test_template_paths_that_cannot_be_files_are_located_errors(write_org, template, expect):
    text = MINIMAL_GCP + (f"    pipelines:\n      nightly: {{template: {template}, "
                          'schedule: "0 3 * * *"}\n')
    err = one(write_org, text)
    assert f"org.yaml:{line_of(text, 'nightly:')}:" in err, err
    assert "teams.recsys.pipelines.nightly.template: " in err and expect in err, err


def test_a_template_loop_of_links_is_a_located_error(write_org, tmp_path):
    (tmp_path / "loop.yaml").symlink_to(tmp_path / "loop.yaml")
    text = MINIMAL_GCP + ('    pipelines:\n      nightly: {template: loop.yaml, '
                          'schedule: "0 3 * * *"}\n')
    err = one(write_org, text)
    assert "template file 'loop.yaml'" in err, err
    assert f"org.yaml:{line_of(text, 'nightly:')}:" in err, err


# ---- pipeline parameters --------------------------------------------------------------------

@pytest.mark.parametrize(("value", "expect"), [
    (".nan", "got .nan; parameters are sent as JSON, which has no NaN"),
    ("[1, .inf]", "got .inf; parameters are sent as JSON"),
    ("123456789012345678901", "got a 21-digit number; parameters are sent as JSON numbers"),
])
def test_pipeline_parameters_are_json_values(write_org, value, expect):
    text = MINIMAL_GCP + ('    pipelines:\n      nightly: {template: "gs://bucket/t.yaml", '
                          f'schedule: "0 3 * * *", parameters: {{lr: {value}}}}}\n')
    err = one(write_org, text)
    assert "teams.recsys.pipelines.nightly.parameters.lr" in err and expect in err, err


# ---- admin_cidrs ----------------------------------------------------------------------------

def _cidrs(*cidrs: str) -> str:
    listed = ", ".join(f'"{c}"' for c in cidrs)
    return MINIMAL_GCP.replace(GCP_PLATFORM, "platform: {gke_security_group: "
                               f"gke-security-groups@acme.com, admin_cidrs: [{listed}]}}\n")


@pytest.mark.parametrize("cidrs", [
    ("0.0.0.0/1", "128.0.0.0/1"),
    ("0.0.0.0/2", "64.0.0.0/2", "128.0.0.0/1"),
    ("::/1", "8000::/1"),
])
def test_ranges_that_add_up_to_the_internet_are_refused(write_org, cidrs):
    err = one(write_org, _cidrs(*cidrs))
    assert "platform.admin_cidrs: " in err and "together cover" in err, err
    assert "open to the whole internet" in err


@pytest.mark.parametrize("cidr", ["0.0.0.0/0", "::/0"])
def test_the_whole_internet_is_refused(write_org, cidr):
    assert "would open the cluster API to the whole internet" in one(write_org, _cidrs(cidr))


@pytest.mark.parametrize(("cidr", "fixed"), [
    ("203.0.113.5/24", "the range it names is 203.0.113.0/24; write 203.0.113.0/24 (or "
                       "203.0.113.5/32 for the one address)"),
    ("203.0.113.5", "has no prefix length; write 203.0.113.5/32"),
    ("2001:DB8::/32", "is not written the standard way; write 2001:db8::/32"),
])
def test_host_bits_and_loose_forms_get_the_corrected_cidr(write_org, cidr, fixed):
    err = one(write_org, _cidrs(cidr))
    assert "platform.admin_cidrs[0]" in err and fixed in err, err


def test_the_validator_agrees_with_the_policy_packs_cidr_arithmetic(write_org):
    from policies.cidr import covers_internet

    for cidrs in (("0.0.0.0/1", "128.0.0.0/1"), ("10.0.0.0/8", "203.0.113.0/24"),
                  ("0.0.0.0/1", "128.0.0.0/2", "192.0.0.0/2")):
        opens = bool(covers_internet(cidrs))
        if opens:
            assert "open to the whole internet" in " ".join(errors(write_org, _cidrs(*cidrs)))
        else:
            load(write_org(_cidrs(*cidrs)))


def test_too_many_admin_cidrs_for_eks(write_org):
    cidrs = [f"203.0.{i}.0/24" for i in range(41)]
    text = AWS_MINIMAL.replace("admin_cidrs: [203.0.113.0/24]", "admin_cidrs: ["
                               + ", ".join(cidrs) + "]")
    assert "41 ranges listed; EKS takes at most 40" in one(write_org, text)


# ---- overrides can drop an entry in one environment -----------------------------------------

def test_enabled_false_drops_an_entry_in_one_environment_only(tmp_path):
    text = BUNDLED_GCP.read_text().replace(
        "        budget_usd: 150000 ",
        "        buckets: {scratch: {enabled: false}}\n"
        "        pipelines: {nightly-train: {enabled: false}}\n        budget_usd: 150000 ")
    loaded = load_text(text, "org.yaml", base_dir=BUNDLED_GCP.parent)
    from stacks.org.resolve import resolve

    prod, dev = resolve(loaded, "prod").teams["recsys"], resolve(loaded, "dev").teams["recsys"]
    assert "scratch" not in prod.buckets and "scratch" in dev.buckets
    assert not prod.pipelines and prod.names.pipeline_root_bucket is None, (
        "no pipeline in prod: no pipeline-root bucket either")
    assert dev.pipelines and dev.names.pipeline_root_bucket


def test_an_entry_declared_disabled_exists_only_where_enabled(write_org):
    text = MINIMAL_GCP.replace("serve: {accelerator: l4, max_nodes: 2}",
                               "serve: {accelerator: l4, max_nodes: 2, enabled: false}")
    from stacks.org.resolve import resolve

    assert not resolve(load(write_org(text)), "dev").teams["recsys"].pools
    text += "    overrides:\n      dev: {gpu_pools: {serve: {enabled: true}}}\n"
    assert "serve" in resolve(load(write_org(text)), "dev").teams["recsys"].pools


def test_enabled_is_a_boolean(write_org):
    text = MINIMAL_GCP + "    overrides:\n      dev: {buckets: {models: {enabled: no}}}\n"
    err = one(write_org, text)
    assert "teams.recsys.overrides.dev.buckets.models.enabled: expected true or false; got " \
           "'no'" in err, err
