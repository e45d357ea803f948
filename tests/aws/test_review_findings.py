"""Findings of the independent AWS review (issue 18 follow-up), one section per finding.

Plans are the session's shared ones (tests/engine/planned.py) or small runs of one component;
every assertion names the resource and the rule it breaks.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from components import catalog, common
from components.k8s.cluster_autoscaler import ClusterAutoscaler
from stacks.org.load import load
from stacks.org.resolve import resolve
from stacks.plan.engine import plan
from tests.engine.planned import ORG_ENVS, planned

AWS_CASES = [(org, env) for org, env in ORG_ENVS if load(org).org.cloud == "aws"]
HELM = "kubernetes:helm.sh/v3:Release"


def _ids(case: tuple[object, str]) -> str:
    org, env = case
    return f"{getattr(org, 'name', org)}-{env}"


# ---- A10: the autoscaler chart matches the cluster's minor ----------------------------------

@pytest.mark.parametrize("case", AWS_CASES, ids=_ids)
def test_autoscaler_chart_app_version_is_the_clusters_minor(case):
    org, env = case
    result = planned(org, env)
    [cluster] = result.of_type("aws:eks/cluster:Cluster")
    minor = cluster.inputs["version"]
    row = catalog.eks_version(minor)
    assert row is not None, f"{org.name}/{env}: EKS {minor} is not in eks_versions.csv"
    [release] = [r for r in result.of_type(HELM) if r.inputs.get("chart") == "cluster-autoscaler"]
    assert release.inputs["version"] == row.autoscaler_chart_version, (
        f"{org.name}/{env} Helm release {release.name}: chart {release.inputs['version']} on "
        f"EKS {minor}; the chart for {minor} is {row.autoscaler_chart_version} (appVersion "
        f"{row.autoscaler_chart_app_version}): autoscaler releases are per Kubernetes minor")
    tag = release.inputs["values"]["image"]["tag"]
    assert tag.removeprefix("v").rsplit(".", 1)[0] == minor, (
        f"{org.name}/{env} Helm release {release.name}: image {tag} is not a {minor} release")


def test_every_known_minor_has_a_chart_of_its_own_release():
    rows = catalog.eks_versions()
    assert rows, "eks_versions.csv is empty"
    charts = [r.autoscaler_chart_version for r in rows]
    assert len(set(charts)) == len(charts), f"two minors share one chart: {charts}"
    for row in rows:
        assert row.autoscaler_chart_app_version.rsplit(".", 1)[0] == row.version, (
            f"eks_versions.csv {row.version}: chart {row.autoscaler_chart_version} has "
            f"appVersion {row.autoscaler_chart_app_version}, not a {row.version} release")
    by_minor = sorted(rows, key=lambda r: r.minor)
    as_tuples = [tuple(int(x) for x in r.autoscaler_chart_version.split(".")) for r in by_minor]
    assert as_tuples == sorted(as_tuples), "a newer minor must not get an older chart"


@pytest.mark.parametrize("minor", ["1.33", "1.30"])
def test_an_older_cluster_gets_its_own_chart(run, minor):
    result = run(lambda: ClusterAutoscaler("ca", {"cluster_name": "acme-dev", "region":
                                                  "us-east-1", "kubernetes_version": minor}))
    [release] = result.of_type(HELM)
    row = catalog.eks_version(minor)
    assert row is not None
    assert release.inputs["version"] == row.autoscaler_chart_version, (
        f"Helm release {release.name} on {minor}: chart {release.inputs['version']}, expected "
        f"{row.autoscaler_chart_version} (appVersion {row.autoscaler_chart_app_version})")


# ---- A1: labels that are valid AWS tags but not Kubernetes labels ---------------------------

NAMESPACE = "kubernetes:core/v1:Namespace"
MINIMAL = Path(__file__).resolve().parents[2] / "examples" / "aws-minimal.yaml"


def test_tag_only_labels_stay_tags_and_stay_out_of_kubernetes(tmp_path):
    text = MINIMAL.read_text(encoding="utf-8").replace(
        "region: us-east-1\n",
        'region: us-east-1\nlabels: {owner: "ML Platform", "acme:unit": r-and-d, '
        'project: trellis}\n').replace(
        "  ml:\n", '  ml:\n    cost_center: "CC 1234/ML"\n')
    path = tmp_path / "org.yaml"
    path.write_text(text, encoding="utf-8")
    spec = resolve(load(path), "dev")  # valid: these are valid AWS tags
    result = plan(spec)
    [provider] = result.of_type("pulumi:providers:aws")
    tags = json.loads(provider.inputs["defaultTags"])["tags"] if isinstance(
        provider.inputs["defaultTags"], str) else provider.inputs["defaultTags"]["tags"]
    assert tags["owner"] == "ML Platform" and tags["acme:unit"] == "r-and-d", (
        f"provider default tags lost the organisation's tags: {tags}")
    k8s_objects = [r for r in result.resources if r.type.startswith("kubernetes:")
                   and isinstance(r.inputs.get("metadata"), dict)
                   and r.inputs["metadata"].get("labels")]
    assert k8s_objects, "no labelled Kubernetes object planned"
    for obj in k8s_objects:
        labels = obj.inputs["metadata"]["labels"]
        for key, value in labels.items():
            problem = common.kubernetes_label_problem(key, value)
            assert problem is None, (
                f"{obj.type} {obj.name}: label {key}={value!r} would be refused by the API "
                f"server ({problem})")
    [ns] = result.of_type(NAMESPACE)
    labels = ns.inputs["metadata"]["labels"]
    assert labels.get("project") == "trellis" and labels.get("team") == "ml", (
        f"Namespace {ns.name}: the labels Kubernetes accepts must still be copied: {labels}")
    assert "owner" not in labels and "acme:unit" not in labels and "cost-center" not in labels, (
        f"Namespace {ns.name}: {labels}")


@pytest.mark.parametrize(("key", "value", "ok"), [
    ("owner", "ML Platform", False), ("acme:unit", "x", False), ("team", "recsys", True),
    ("cost-center", "CC 1234/ML", False), ("cost-center", "cc-1234", True),
    ("example.com/tier", "gold", True), ("owner", "ml_", False), ("owner_", "x", False),
    ("env", "", True), ("x", "a" * 64, False), ("x", "a" * 63, True), ("Bad_Prefix/x", "y", False),
])
def test_kubernetes_label_rules(key, value, ok):
    problem = common.kubernetes_label_problem(key, value)
    assert (problem is None) == ok, f"{key}={value!r}: {problem}"
    assert (key in common.kubernetes_labels({key: value})) == ok


def test_organisation_labels_never_set_kubernetes_reserved_keys():
    # pod-security.kubernetes.io/enforce on a namespace would change its Pod Security level.
    given = {"pod-security.kubernetes.io/enforce": "privileged", "kubernetes.io/x": "y",
             "k8s.io/z": "w", "app.kubernetes.io/part-of": "ml"}
    assert common.kubernetes_labels(given) == {"app.kubernetes.io/part-of": "ml"}
