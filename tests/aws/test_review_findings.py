"""Findings of the independent AWS review (issue 18 follow-up), one section per finding.

Plans are the session's shared ones (tests/engine/planned.py) or small runs of one component;
every assertion names the resource and the rule it breaks.
"""

from __future__ import annotations

import pytest

from components import catalog
from components.k8s.cluster_autoscaler import ClusterAutoscaler
from stacks.org.load import load
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
