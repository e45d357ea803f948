"""`trellis diff` names every change that loses data, on the bundled and example orgs as users
edit them: provider changes cascade, protection lost, lifecycle rules, environments added or
removed, entries dropped per environment, pool renames; `--fail-on-data-loss` fails on each
kind of data loss and never on a warning alone."""

from __future__ import annotations

import json
import shutil
from functools import cache
from pathlib import Path

import pytest
from click.testing import CliRunner

from stacks.cli.app import main
from stacks.org.load import load_text
from stacks.org.resolve import resolve
from stacks.plan.engine import Plan, plan
from stacks.report.diff import DATA_LOSS_KINDS, PlanDiff, diff_plans
from tests.conftest import BUNDLED_GCP, ROOT

AWS = ROOT / "examples" / "aws.yaml"
GCP_TEXT = BUNDLED_GCP.read_text(encoding="utf-8")
AWS_TEXT = AWS.read_text(encoding="utf-8")


@cache
def planned(text: str, env: str, base: str) -> Plan:
    """The plan of org text (templates looked up beside ``base``), once per test session."""
    loaded = load_text(text, "org.yaml", base_dir=Path(base))
    if env not in loaded.environments:
        org = loaded.org
        return Plan(org=org.org, cloud=org.cloud, environment=env, tier="", resources=[])
    return plan(resolve(loaded, env))


def diff(old: str, new: str, env: str, base: Path = BUNDLED_GCP.parent) -> PlanDiff:
    return diff_plans(planned(old, env, str(base)), planned(new, env, str(base)))


def edited(text: str, old: str, new: str) -> str:
    assert old in text, f"the example no longer contains {old!r}"
    return text.replace(old, new)


def moved_zone(text: str) -> str:
    """The bundled prod's reservation pool follows a move to us-central1 (a reservation lives
    in one zone, which org.yaml names)."""
    return edited(text, "zones: [us-east4-b]", "zones: [us-central1-b]")


def kinds(d: PlanDiff) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for f in d.findings:
        out.setdefault(f.kind, []).append(f.urn.rsplit("::", 1)[1])
    return out


def types_replaced(d: PlanDiff) -> set[str]:
    return {c.type for c in d.replaced}


# ---- provider changes cascade ------------------------------------------------------------------

AWS_PROD = 'prod: {account: "222222222222", tier: production, region: us-west-2'


@pytest.mark.parametrize("change", [
    ("region", AWS_PROD.replace("us-west-2", "us-east-2")),
    ("account", AWS_PROD.replace('"222222222222"', '"333333333333"')),
])
def test_aws_region_or_account_change_replaces_every_resource_on_the_provider(change):
    what, new_line = change
    new = edited(AWS_TEXT, AWS_PROD, new_line)
    if what == "account":  # the example's ARNs name the account too; keep the file valid
        new = new.replace("222222222222", "333333333333")
    else:  # SageMaker pulls images from the job's region: the example names prod's; the
        # Capacity Block pool names its zone (a reservation lives in one)
        new = new.replace("us-west-2", "us-east-2").replace("usw2-az2", "use2-az2")
    d = diff(AWS_TEXT, new, "prod", AWS.parent)
    old_plan = planned(AWS_TEXT, "prod", str(AWS.parent))
    on_provider = {r.urn for r in old_plan.resources
                   if r.custom and r.provider
                   and r.provider.split("::")[2] == "pulumi:providers:aws"}
    replaced = {c.old_urn or c.urn for c in d.replaced}
    gone = {r.urn for r in d.removed}
    missed = sorted(on_provider - replaced - gone)
    assert not missed, f"{what} change: these AWS resources are not shown replaced: {missed[:5]}"
    lost = kinds(d)
    for type_, words in (("aws:s3/bucket:Bucket", "buckets"),
                         ("aws:sagemaker/modelPackageGroup:ModelPackageGroup", "model registries"),
                         ("aws:kms/key:Key", "keys"), ("aws:eks/cluster:Cluster", "cluster")):
        assert type_ in types_replaced(d), f"{what} change: {words} are not replaced"
    assert len(lost["replaced"]) >= 6 + 2 + 1 + 1, lost
    bucket = next(f for f in d.losses if "recsys-models" in f.urn)
    assert "provider" in bucket.message and ("region" in bucket.message
                                             or "allowedAccountIds" in bucket.message), \
        bucket.message


def test_gcp_region_change_replaces_the_cluster_and_through_it_every_namespace():
    new = moved_zone(edited(GCP_TEXT, "tier: production, region: us-east4",
                            "tier: production, region: us-central1"))
    d = diff(GCP_TEXT, new, "prod")
    lost = kinds(d)
    assert "cluster-gke" in lost["replaced"], lost
    # The kubeconfig comes from the replaced cluster: unknown until apply, so the Kubernetes
    # provider and every namespace it manages are replaced (pulumi-kubernetes DiffConfig).
    assert {"recsys-namespace", "vision-namespace"} <= set(lost["namespace_replaced"]), lost
    assert "kubernetes:core/v1:Namespace" in types_replaced(d)


# ---- protection, lifecycle, versioning ---------------------------------------------------------

def test_production_to_sandbox_flags_every_stateful_resource_losing_protection():
    new = edited(GCP_TEXT, "prod: {project: acme-ml-prod, tier: production",
                 "prod: {project: acme-ml-prod, tier: sandbox")
    d = diff(GCP_TEXT, new, "prod")
    unprotected = kinds(d)["unprotected"]
    for name in ("recsys-models", "recsys-datasets", "recsys-images", "cluster-gke"):
        assert name in unprotected, f"{name} loses protect/retain_on_delete unflagged"
    cluster = next(f for f in d.losses if f.urn.endswith("::cluster-gke"))
    assert "deletionProtection" in cluster.message, cluster.message
    assert "recsys-datasets" in kinds(d)["versioning_off"]


@pytest.mark.parametrize(("old", "new", "flagged"), [
    ("      datasets: {}", "      datasets: {delete_after_days: 90}", "recsys-datasets"),
    ("scratch: {delete_after_days: 30}", "scratch: {delete_after_days: 7}", "recsys-scratch"),
    ("scratch: {delete_after_days: 30}", "scratch: {delete_after_days: 60}", None),
    ("scratch: {delete_after_days: 30}", "scratch: {}", None),
])
def test_adding_or_shortening_delete_after_days_is_data_loss(old, new, flagged):
    d = diff(GCP_TEXT, edited(GCP_TEXT, old, new), "dev")
    expiring = kinds(d).get("objects_expire", [])
    if flagged is None:
        assert not expiring, f"{new!r} keeps objects longer, yet flagged: {expiring}"
    else:
        assert expiring == [flagged], f"{old!r} -> {new!r}: {kinds(d)}"


def test_aws_lifecycle_shortened_is_data_loss():
    new = edited(AWS_TEXT, "scratch: {delete_after_days: 30}", "scratch: {delete_after_days: 3}")
    d = diff(AWS_TEXT, new, "dev", AWS.parent)
    assert kinds(d).get("objects_expire") == ["recsys-scratch"], kinds(d)
    assert "older than 3 days" in d.losses[0].message


# ---- environments, overrides, renames ----------------------------------------------------------

STAGE = "  stage: {project: acme-ml-stage, tier: sandbox}\n"


def test_an_environment_added_is_all_additions_and_removed_all_deletions():
    with_stage = edited(GCP_TEXT, "  prod: {project: acme-ml-prod", STAGE + "  prod: {project: "
                                                                            "acme-ml-prod")
    added = diff(GCP_TEXT, with_stage, "stage")
    assert added.added and not (added.removed or added.changed or added.findings)
    removed = diff(with_stage, GCP_TEXT, "stage")
    assert removed.removed and not (removed.added or removed.changed)
    assert {"recsys-models", "recsys-datasets"} <= set(kinds(removed)["deleted"])


def test_dropping_a_bucket_in_one_environment_is_data_loss_there_only():
    drop = edited(GCP_TEXT, "        budget_usd: 150000 ",
                  "        buckets: {scratch: {enabled: false}}\n        budget_usd: 150000 ")
    prod = diff(GCP_TEXT, drop, "prod")
    assert kinds(prod) == {"deleted": ["recsys-scratch"]}, kinds(prod)
    assert "pulumi up` refuses until it is unprotected" in prod.losses[0].message
    assert not diff(GCP_TEXT, drop, "dev").changed, "dev still has the bucket"


def test_dropping_a_pool_in_one_environment_removes_it_without_data_loss():
    drop = edited(GCP_TEXT, "train: {max_nodes: 2, capacity: reservation, zones: [us-east4-b],\n"
                  "                  reservation: {name: acme-h100-prod, project: "
                  "acme-ml-shared}}", "train: {enabled: false}")
    d = diff(GCP_TEXT, drop, "prod")
    assert any(r.name == "recsys-train" for r in d.removed), [r.name for r in d.removed]
    assert not d.data_loss, d.data_loss


def test_pool_rename_warns_that_the_node_label_moves():
    renamed = edited(GCP_TEXT, "      serve: {accelerator: l4, max_nodes: 4}",
                     "      inference: {accelerator: l4, max_nodes: 4, previous_names: [serve]}")
    renamed = edited(renamed, "serve: {min_nodes: 1, max_nodes: 8}",
                     "inference: {min_nodes: 1, max_nodes: 8}")
    d = diff(GCP_TEXT, renamed, "dev")
    (warning,) = [f for f in d.findings if f.kind == "pool_label"]
    assert "trellis.dev/pool=serve stop finding nodes" in warning.message, warning.message
    assert "'inference'" in warning.message
    assert not d.data_loss and not d.added and not d.removed


def test_min_nodes_change_updates_the_pool_in_place():
    # initialNodeCount (ForceNew) follows min_nodes, but the pool ignores it (the autoscaler
    # owns the count): ignoreChanges is honoured, so nothing is replaced.
    new = edited(GCP_TEXT, "serve: {min_nodes: 1, max_nodes: 8}", "serve: {min_nodes: 4, "
                                                                   "max_nodes: 8}")
    d = diff(GCP_TEXT, new, "prod")
    assert d.changed and not d.replaced, [(c.urn, c.reasons) for c in d.replaced]


def test_team_description_no_longer_replaces_the_aws_model_registry():
    new = edited(AWS_TEXT, "description: Recommendations", "description: Ranking and "
                                                           "recommendations")
    d = diff(AWS_TEXT, new, "prod", AWS.parent)
    assert not d.data_loss, [f.message for f in d.losses]


# ---- through the CLI ----------------------------------------------------------------------

def _write(tmp_path: Path, name: str, text: str, like: Path) -> Path:
    shutil.copytree(like.parent / "pipelines", tmp_path / "pipelines", dirs_exist_ok=True)
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def run_diff(tmp_path: Path, old: str, new: str, env: str, like: Path = BUNDLED_GCP, *flags: str):
    a, b = _write(tmp_path, "old.yaml", old, like), _write(tmp_path, "new.yaml", new, like)
    result = CliRunner().invoke(main, ["diff", str(a), str(b), "--env", env, *flags])
    assert "Traceback" not in result.output and "internal error" not in result.output, \
        result.output
    return result


DATA_LOSS_EDITS = {
    "deleted": ("      scratch: {delete_after_days: 30}\n", ""),
    "replaced": ("tier: production, region: us-east4", "tier: production, region: us-central1"),
    "unprotected": ("prod: {project: acme-ml-prod, tier: production",
                    "prod: {project: acme-ml-prod, tier: sandbox"),
    "objects_expire": ("      datasets: {}", "      datasets: {delete_after_days: 90}"),
}


@pytest.mark.parametrize("kind", DATA_LOSS_KINDS)
def test_fail_on_data_loss_fails_for_each_kind(tmp_path, kind):
    old, new = DATA_LOSS_EDITS[kind]
    text = edited(GCP_TEXT, old, new)
    if kind == "replaced":
        text = moved_zone(text)
    result = run_diff(tmp_path, GCP_TEXT, text, "prod", BUNDLED_GCP, "--fail-on-data-loss",
                      "--format", "json")
    assert result.exit_code == 1, f"{kind}: --fail-on-data-loss did not fail\n{result.output}"
    found = {f["kind"] for f in json.loads(result.output)["findings"] if f["data_loss"]}
    assert kind in found, f"{kind} not reported: {found}"
    plain = run_diff(tmp_path, GCP_TEXT, text, "prod", BUNDLED_GCP)
    assert plain.exit_code == 0 and "DATA LOSS" in plain.output, plain.output


def test_warnings_alone_do_not_fail(tmp_path):
    renamed = edited(GCP_TEXT, "      serve: {accelerator: l4, max_nodes: 4}",
                     "      inference: {accelerator: l4, max_nodes: 4, previous_names: [serve]}")
    renamed = edited(renamed, "serve: {min_nodes: 1, max_nodes: 8}",
                     "inference: {min_nodes: 1, max_nodes: 8}")
    result = run_diff(tmp_path, GCP_TEXT, renamed, "dev", BUNDLED_GCP, "--fail-on-data-loss")
    assert result.exit_code == 0, result.output
    assert "WARNINGS" in result.output and "trellis.dev/pool=serve" in " ".join(
        result.output.split())


def test_environment_only_in_one_file_through_the_cli(tmp_path):
    with_stage = edited(GCP_TEXT, "  prod: {project: acme-ml-prod", STAGE + "  prod: {project: "
                                                                            "acme-ml-prod")
    added = run_diff(tmp_path, GCP_TEXT, with_stage, "stage", BUNDLED_GCP, "--fail-on-data-loss")
    assert added.exit_code == 0 and "to add" in added.output, added.output
    removed = run_diff(tmp_path, with_stage, GCP_TEXT, "stage", BUNDLED_GCP,
                       "--fail-on-data-loss")
    assert removed.exit_code == 1 and "DATA LOSS" in removed.output, removed.output
    nowhere = run_diff(tmp_path, GCP_TEXT, GCP_TEXT, "stag", BUNDLED_GCP)
    assert nowhere.exit_code == 1, nowhere.output
    assert "environment 'stag' is defined in neither file" in nowhere.output, nowhere.output
