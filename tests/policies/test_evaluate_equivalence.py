"""`trellis check`'s direct evaluator reports exactly what the CrossGuard Analyzer servicer does.

``run_check`` evaluates rules with :mod:`policies.evaluate` (each resource converted once);
``analyzer_path.run_check_via_servicer`` drives the pack's own servicer with protobuf requests as
``pulumi preview --policy-pack`` does, through the same ``run_check``. Every rule fixture
(compliant and violating), the bundled orgs, hand-written insecure stacks, and configs that
disable, re-level or break rules must give the same findings both ways: same rules, resources,
words, severities and enforcement levels.
"""

from __future__ import annotations

from typing import Any

import pytest
from analyzer_path import run_check_via_servicer
from policy_fixtures import UNKNOWN, S, Stack, res
from pulumi_policy.deserialize import SPECIAL_SECRET_SIG, SPECIAL_SIG_KEY
from test_examples_and_insecure import insecure_aws, insecure_gcp
from test_rules import GCS, GOOD_GCS, all_cases, gcs, pool, s3_group

from stacks.org.load import load
from stacks.org.resolve import resolve
from stacks.plan.engine import run_program
from stacks.report.check import CheckReport, run_check
from tests.conftest import BUNDLED_GCP, ROOT
from tests.engine.planned import IDS, ORG_ENVS, planned


def _both(plan_: Any, config: dict[str, Any] | None = None) -> tuple[CheckReport, CheckReport]:
    return (run_check(plan_, config=config),
            run_check_via_servicer(plan_, config=config))


def _assert_same(direct: CheckReport, analyzer: CheckReport) -> None:
    assert direct.findings == analyzer.findings, (
        "direct only: " + repr(sorted(set(direct.findings) - set(analyzer.findings), key=str))
        + "\nanalyzer only: "
        + repr(sorted(set(analyzer.findings) - set(direct.findings), key=str)))
    assert direct.levels == analyzer.levels


def _fixtures() -> list[Any]:
    return [pytest.param(stack, id=f"{rule_id}-{kind}-{i}")
            for rule_id, cases in sorted(all_cases().items())
            for kind, stacks in sorted(cases.items())
            for i, stack in enumerate(stacks)]


@pytest.mark.parametrize("stack", _fixtures())
def test_every_rule_fixture_gives_the_same_findings(stack: Stack) -> None:
    _assert_same(*_both(stack.plan(), stack.config))


@pytest.mark.parametrize(("org", "env"), ORG_ENVS, ids=IDS)
def test_bundled_orgs_give_the_same_findings(org: Any, env: str) -> None:
    # Impossible budgets make the cost rule report, so a mandatory finding is compared too.
    # Every other rule runs with its defaults, so this also covers the default configuration
    # (budgets read from budget resources are covered by the rule fixtures above); one servicer
    # run per plan keeps the suite's time down.
    teams = load(org).org.teams
    direct, analyzer = _both(planned(org, env), {"budgets": {team: 1 for team in teams}})
    assert any(f.policy == "TRL-COST-001" for f in direct.findings)
    _assert_same(direct, analyzer)


@pytest.mark.parametrize(("org", "program"), [
    (BUNDLED_GCP, insecure_gcp), (ROOT / "examples" / "aws.yaml", insecure_aws)],
    ids=["gcp", "aws"])
def test_hand_written_insecure_stacks_give_the_same_findings(org: Any, program: Any) -> None:
    direct, analyzer = _both(run_program(resolve(load(org), "prod"), program))
    assert direct.exit_code() == 1
    _assert_same(direct, analyzer)


INSECURE = S(gcs(uniformBucketLevelAccess=False), pool(), *s3_group(skip=("pab",)),
             res(GCS, "unknown", {**GOOD_GCS, "labels": UNKNOWN}),
             res(GCS, "nested-unknown", {**GOOD_GCS, "lifecycleRules": [
                 {"action": {"type": UNKNOWN}, "condition": {"age": 30}}]}),
             res(GCS, "secret", {**GOOD_GCS, "name": {
                 SPECIAL_SIG_KEY: SPECIAL_SECRET_SIG, "value": "acme-secret-name"}}),
             res(GCS, "tuples", {**GOOD_GCS, "cors": ({"maxAgeSeconds": 3600,
                                                       "origins": ("https://a.example",)},)}))


@pytest.mark.parametrize("config", [
    None,
    {"all": "disabled", "TRL-GCS-001": "mandatory"},
    {"TRL-GCS-001": "remediate", "TRL-S3-001": "advisory"},
    {"all": "advisory"},
    {"maxGpusPerPool": 2, "tier": "sandbox"},
    {"allowedAccelerators": ["nvidia-l4"]},
], ids=["default", "one-rule", "remediate", "all-advisory", "ints", "allowlist"])
def test_configs_give_the_same_findings(config: dict[str, Any] | None) -> None:
    direct, analyzer = _both(INSECURE.plan(), config)
    assert direct.findings, "the insecure fixture must produce findings to compare"
    _assert_same(direct, analyzer)


@pytest.mark.parametrize("check", [run_check, run_check_via_servicer], ids=["direct", "analyzer"])
def test_a_bad_setting_is_refused_before_any_rule_runs(check: Any) -> None:
    with pytest.raises(ValueError, match="maxGpusPerPool"):
        check(INSECURE.plan(), config={"maxGpusPerPool": "lots"})
