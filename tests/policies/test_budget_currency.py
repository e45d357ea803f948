"""G6 (GCP review): a budget in the billing account's own currency is never held against USD
prices. TRL-COST-001 compares only USD budgets; `trellis cost` shows the others and says why it
does not compare them. No exchange rate is assumed anywhere."""

from __future__ import annotations

import json

from click.testing import CliRunner
from policy_fixtures import S, check, describe, findings

from components import catalog
from stacks.cli.app import main
from stacks.org.load import load
from stacks.org.resolve import resolve
from stacks.report import cost
from tests.conftest import BUNDLED_GCP
from tests.policies.test_cost_rule import RULE, gcp_budget, pool

L4 = catalog.find_machine_type("gcp", "g2-standard-8")
assert L4 is not None
FOUR_L4 = 4 * catalog.node_hour_usd(L4, spot=False) * catalog.HOURS_PER_MONTH


def budget_in(currency: str, amount: float) -> dict:
    res = gcp_budget(amount)
    res["inputs"]["amount"]["specifiedAmount"]["currencyCode"] = currency
    return res


def test_a_usd_budget_below_the_worst_case_is_still_flagged():
    assert findings(check(S(pool(), budget_in("USD", FOUR_L4 - 1))), RULE), \
        "TRL-COST-001 must keep comparing USD budgets"


def test_a_eur_budget_is_not_compared_with_usd_prices():
    report = check(S(pool(), budget_in("EUR", FOUR_L4 - 1)))
    assert not findings(report, RULE), (
        "TRL-COST-001 compared a EUR budget with USD list prices (no exchange rate is "
        f"assumed):\n{describe(report)}")


def _bundled_in(tmp_path, currency: str):
    text = BUNDLED_GCP.read_text(encoding="utf-8")
    anchor = "  billing_account:"
    assert anchor in text, "the bundled org sets a billing account (budgets are planned)"
    text = text.replace(anchor, f"  budget_currency: {currency}\n{anchor}", 1)
    (tmp_path / "pipelines").symlink_to(BUNDLED_GCP.parent / "pipelines")
    path = tmp_path / "org.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_cost_report_keeps_a_eur_budget_uncompared(tmp_path):
    env = resolve(load(_bundled_in(tmp_path, "EUR")), "prod")
    report = cost.estimate(env)
    budgeted = [t for t in report.teams if t.budget_usd is not None]
    assert budgeted, "the bundled org gives teams budgets"
    for team in budgeted:
        assert team.budget_currency == "EUR"
        assert not team.over_budget and team.headroom_usd is None, (
            f"team {team.team}: a EUR budget got a USD verdict")
        for p in team.pools:
            assert team.largest_fitting_max_nodes(p) is None, (
                f"team {team.team} pool {p.pool}: a fit computed against a EUR budget")
    out = report.to_json()
    assert out["currency"] == "USD" and out["budget_currency"] == "EUR"
    assert out["budgets_compared"] is False and out["over_budget"] == []
    assert "budgets are in EUR" in out["budget_note"], out["budget_note"]
    assert all(t["budget_currency"] == "EUR" and t["headroom_usd"] is None
               for t in out["teams"] if t["budget_usd"] is not None)


def test_usd_reports_are_unchanged_and_compare():
    report = cost.estimate(resolve(load(BUNDLED_GCP), "prod"))
    assert report.budgets_comparable and report.budget_note() is None
    assert any(t.headroom_usd is not None for t in report.teams), \
        "USD budgets must still get headroom"


def test_cost_table_says_budgets_are_in_another_currency(tmp_path):
    path = _bundled_in(tmp_path, "EUR")
    result = CliRunner().invoke(main, ["cost", str(path), "--env", "prod"])
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "budget in EUR: not compared" in text, result.output
    assert "Budgets are in EUR (platform.budget_currency)" in text, result.output
    assert "OVER budget" not in text, result.output
    as_json = CliRunner().invoke(main, ["cost", str(path), "--env", "prod", "--format", "json"])
    assert json.loads(as_json.output)["budgets_compared"] is False
