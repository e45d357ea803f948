"""`--env all`, TRELLIS_ORG/TRELLIS_ENV, and terminal output that fits 80 and 120 columns."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest
from ci_reports import LOOSE_ORG, plans, reports
from click.testing import CliRunner
from rich.console import Console
from rich.text import Text

from stacks.cli.app import main
from stacks.cli.commands.cost import render_table
from stacks.org.load import load
from stacks.org.resolve import resolve
from stacks.report.cost import estimate
from stacks.report.formats import render
from stacks.report.tree import wrapped_tree_lines
from stacks.report.width import WordWrapConsole
from tests.conftest import ALL_ORGS, BUNDLED_GCP

#: dev passes; prod's budget is below one on-demand L4 node-month: TRL-COST-001 is mandatory
#: in production, advisory in a sandbox.
SPLIT_ORG = LOOSE_ORG.replace("  qa: {project: loose-ml-qa}",
                              "  prod: {project: loose-ml-prod, tier: production}").replace(
    "      qa: {gpu_pools: {serve: {max_nodes: 2}}}", "      dev: {budget_usd: 100000}")


def _width_ok(line: str, width: int) -> bool:
    """Within ``width``, or longer only because one word (after the indent) is."""
    return Text(line).cell_len <= width or len(line.strip().split()) == 1 or (
        max(len(w) for w in line.split()) > width // 2)


def test_check_env_all_fails_when_any_environment_fails(tmp_path: Path) -> None:
    org = tmp_path / "org.yaml"
    org.write_text(SPLIT_ORG, encoding="utf-8")
    result = CliRunner().invoke(main, ["check", "--format", "json"],
                                env={"TRELLIS_ORG": str(org), "TRELLIS_ENV": "all"})
    assert result.exit_code == 1, result.output[-2000:]
    doc = json.loads(result.output)
    assert doc["plan"]["environments"] == ["dev", "prod"]
    assert [e["plan"]["environment"] for e in doc["environments"]] == ["dev", "prod"]
    assert doc["summary"]["failing_environments"] == ["prod"]
    assert doc["summary"]["passed"] is False
    failing = [v for v in doc["violations"] if v["enforcement"] == "mandatory"]
    assert {(v["policy"], v["environment"]) for v in failing} == {("TRL-COST-001", "prod")}
    (cost,) = failing
    assert cost["location"]["path"].endswith("org.yaml") and cost["location"]["line"] == 14
    assert cost["fix"]["field"] == "teams.recsys.gpu_pools.serve.max_nodes"
    assert doc["summary"]["violations"] == sum(e["summary"]["violations"]
                                               for e in doc["environments"])


def test_env_var_names_the_org_for_validate(tmp_path: Path) -> None:
    org = tmp_path / "org.yaml"
    org.write_text(LOOSE_ORG, encoding="utf-8")
    result = CliRunner().invoke(main, ["validate"], env={"TRELLIS_ORG": str(org)})
    assert result.exit_code == 0 and f"{org}: valid (gcp, 2 environments" in result.output


def test_validate_reports_every_file_at_once(tmp_path: Path) -> None:
    good, bad = tmp_path / "a.yaml", tmp_path / "b.yaml"
    good.write_text(LOOSE_ORG, encoding="utf-8")
    bad.write_text(LOOSE_ORG.replace("max_nodes: 3", "max_nodes: 0"), encoding="utf-8")
    result = CliRunner().invoke(main, ["validate", str(good), str(bad)])
    assert result.exit_code == 1
    assert f"{good}: valid" in result.output and f"{bad}:14:" in result.output, result.output


def test_plan_env_all_json_has_every_environment() -> None:
    result = CliRunner().invoke(main, ["plan", str(BUNDLED_GCP), "--env", "all",
                                       "--format", "json"])
    assert result.exit_code == 0, result.output[-2000:]
    doc = json.loads(result.output)
    assert doc["environment"] == "all"
    assert [p["environment"] for p in doc["environments"]] == ["dev", "prod"]
    assert all(p["resources"] for p in doc["environments"])


def test_cost_env_all_json_and_table() -> None:
    result = CliRunner().invoke(main, ["cost", str(BUNDLED_GCP), "--env", "all",
                                       "--format", "json"])
    doc = json.loads(result.output)
    assert [e["environment"] for e in doc["environments"]] == ["dev", "prod"]
    assert doc["total_max_monthly_usd"] == pytest.approx(
        sum(e["total_max_monthly_usd"] for e in doc["environments"]), abs=0.02)
    table = CliRunner().invoke(main, ["cost", str(BUNDLED_GCP), "--env", "all"],
                               env={"COLUMNS": "80"})
    assert "Monthly cost of dev" in table.output and "Monthly cost of prod" in table.output
    assert "All 2 environments: idle" in table.output


@pytest.mark.parametrize("width", [80, 120])
def test_cost_table_fits_without_cutting_money(width: int) -> None:
    for org in ALL_ORGS:
        loaded = load(org)
        for env in loaded.environments:
            report = estimate(resolve(loaded, env))
            out = io.StringIO()
            render_table(report, WordWrapConsole(file=out, width=width, highlight=False))
            text = out.getvalue()
            for line in text.splitlines():
                assert Text(line).cell_len <= width, (
                    f"{org.name} {env}: cost line wider than {width}: {line!r}")
            assert "…" not in text, f"{org.name} {env}: something was cut:\n{text}"
            for team in report.teams:
                for figure in (team.idle_monthly_usd, team.max_monthly_usd,
                               *(p.max_monthly_usd for p in team.pools)):
                    assert re.search(rf"(?<![\d,]){figure:,.0f}(?![\d,])", text), (
                        f"{org.name} {env}: {figure:,.0f} ({team.team}) is not shown whole")


@pytest.mark.parametrize("width", [80, 120])
def test_check_text_fits_and_keeps_locations_whole(width: int, tmp_path: Path) -> None:
    org = tmp_path / "org.yaml"
    org.write_text(LOOSE_ORG, encoding="utf-8")
    out = io.StringIO()
    found = list(reports(org))
    render(found, "text", out, width=width)
    text = out.getvalue()
    for line in text.splitlines():
        assert _width_ok(line, width), f"check line wider than {width}: {line!r}"
    for f in (f for r in found for f in r.findings):
        assert f.location is not None and f.location.text() in text, f.location
        assert f.fix_field in text.replace("\n", " "), f.fix_field


@pytest.mark.parametrize("width", [80, 120])
def test_plan_tree_wraps_under_its_guides_without_cutting_names(width: int) -> None:
    for org in ALL_ORGS[:2]:
        plan = plans(org)[-1]
        lines = [line.plain for line in wrapped_tree_lines(plan, width)]
        for line in lines:
            assert _width_ok(line, width), f"{org.name}: tree line wider than {width}: {line!r}"
        words = {w for line in lines for w in line.split()}
        missing = [r.name for r in plan.resources if r.name not in words]
        assert not missing, f"{org.name}: names cut or lost at {width} columns: {missing[:5]}"


def test_word_wrap_console_never_breaks_an_address() -> None:
    urn = "urn:pulumi:prod::trellis::trellis:gcp:Bucket$gcp:storage/bucket:Bucket::recsys-models"
    out = io.StringIO()
    WordWrapConsole(file=out, width=40).print(f"  ± {urn} (was {urn}): location REPLACE")
    lines = out.getvalue().splitlines()
    assert sum(urn in line for line in lines) == 2, lines
    assert all(Text(line).cell_len <= 40 or urn in line for line in lines), lines
    plain = io.StringIO()
    Console(file=plain, width=40).print(f"  ± {urn}")
    assert urn not in plain.getvalue(), "rich alone folds the URN: the test must be able to fail"


@pytest.mark.parametrize("width", [80, 120])
def test_diff_text_fits_and_keeps_addresses_whole(width: int, tmp_path: Path) -> None:
    old = tmp_path / "old.yaml"
    old.write_text(LOOSE_ORG, encoding="utf-8")
    new = tmp_path / "new.yaml"
    new.write_text(LOOSE_ORG.replace("      models: {}", "      model-artifacts: {}"),
                   encoding="utf-8")
    result = CliRunner().invoke(main, ["diff", str(old), str(new), "--env", "dev"],
                                env={"COLUMNS": str(width)})
    assert result.exit_code == 0, result.output[-2000:]
    lines = result.output.splitlines()
    for line in lines:
        assert _width_ok(line, width), f"diff line wider than {width}: {line!r}"
    words = {w for line in lines for w in line.split()}
    assert any("loose-dev-recsys-models" in w for w in words) or any(
        w.endswith("::recsys-models") for w in words), (
        "the removed bucket's address must appear whole\n" + result.output[:2000])
