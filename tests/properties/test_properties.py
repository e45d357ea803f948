"""Property-based tests: any valid org plans, is secure and has valid, unique names; any
mutation of a valid org either validates or fails with a clean, located error.

Example counts come from the Hypothesis profile: ``ci`` (default, small, bounded runtime) or
``dev`` (``HYPOTHESIS_PROFILE=dev pytest tests/properties`` for a longer local search).
"""

from __future__ import annotations

import os
from pathlib import Path

import yaml
from click.testing import CliRunner
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from components import naming
from stacks.cli.app import main
from stacks.org.errors import OrgError
from stacks.org.load import load, load_text
from stacks.org.resolve import resolve
from stacks.plan.engine import plan
from stacks.report.check import run_check
from tests.conftest import ALL_ORGS
from tests.properties.strategies import orgs

# CI: a few examples and no shrinking (a plan takes seconds; shrinking one failure could take
# many minutes). Run the `dev` profile locally to search longer and shrink what it finds.
settings.register_profile("ci", max_examples=6, deadline=None, phases=[
    Phase.explicit, Phase.reuse, Phase.generate], print_blob=True,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("dev", max_examples=60, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

#: (resource type, input holding the physical name, naming kind)
NAMED = [
    ("gcp:storage/bucket:Bucket", "name", "gcs_bucket"),
    ("gcp:serviceaccount/account:Account", "accountId", "gcp_service_account"),
    ("gcp:container/nodePool:NodePool", "name", "gke_node_pool"),
    ("gcp:container/cluster:Cluster", "name", "gke_cluster"),
    ("gcp:artifactregistry/repository:Repository", "repositoryId", "artifact_registry_repo"),
    ("aws:s3/bucket:Bucket", "bucket", "s3_bucket"),
    ("aws:iam/role:Role", "name", "iam_role"),
    ("aws:eks/nodeGroup:NodeGroup", "nodeGroupName", "eks_node_group"),
    ("aws:eks/cluster:Cluster", "name", "eks_cluster"),
]


def load_dict(tmp: Path, data: dict) -> object:
    path = tmp / "org.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return load(path)


@given(orgs())
def test_random_valid_orgs_plan_securely_with_valid_unique_names(tmp_path_factory, data):
    loaded = load_dict(tmp_path_factory.mktemp("org"), data)
    for env in loaded.environments:
        result = plan(resolve(loaded, env))
        urns = [r.urn for r in result.resources]
        assert len(urns) == len(set(urns)), "duplicate URNs"
        for r in result.resources:
            for type_, key, kind in NAMED:
                if r.type == type_ and isinstance(r.inputs.get(key), str):
                    problem = naming.check(kind, r.inputs[key])
                    assert problem is None, f"{r.urn}: {problem}"
        report = run_check(result)
        failing = [f"{f.policy} {f.urn}: {f.message}" for f in report.findings
                   if f.enforcement == "mandatory" and f.waiver is None]
        assert not failing, f"{env}: mandatory violations on a valid org:\n" + "\n".join(failing)


def _mutations() -> st.SearchStrategy:
    source = st.sampled_from([p.read_text() for p in ALL_ORGS])
    junk = st.sampled_from(["", "x", "-1", "[", "{a: b}", "null", "3.5", "&a", "*a", "\t",
                            "h100", "ü", "0 3 * *", "'", ": :", "- - -"])
    return st.tuples(source, st.integers(0, 10_000), st.integers(0, 40), junk,
                     st.sampled_from(["insert", "replace", "delete_line"]))


def _mutate(text: str, pos: int, length: int, junk: str, how: str) -> str:
    pos %= max(len(text), 1)
    if how == "insert":
        return text[:pos] + junk + text[pos:]
    if how == "replace":
        return text[:pos] + junk + text[pos + length:]
    lines = text.splitlines(keepends=True)
    del lines[pos % len(lines)]
    return "".join(lines)


@settings(max_examples=settings().max_examples * 25)
@given(_mutations())
def test_mutated_orgs_validate_or_fail_cleanly(mutation):
    text = _mutate(*mutation)
    try:
        load_text(text, "org.yaml", base_dir=ALL_ORGS[0].parent)
    except OrgError as exc:
        assert exc.issues, "an OrgError must carry at least one issue"
        for issue in exc.issues:
            assert issue.line is not None and issue.message, str(issue)


@settings(max_examples=settings().max_examples * 4)
@given(_mutations())
def test_mutated_orgs_never_show_a_traceback(tmp_path_factory, mutation):
    path = tmp_path_factory.mktemp("m") / "org.yaml"
    path.write_text(_mutate(*mutation))
    result = CliRunner().invoke(main, ["validate", str(path)])
    assert result.exit_code in (0, 1), result.output
    assert "Traceback" not in result.output and "internal error" not in result.output, \
        result.output
