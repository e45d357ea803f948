"""Saved plans: ``trellis plan --out`` once, then check, cost, diff and handoff ``--plan``.

A saved plan must give exactly what planning again gives (same plan, same findings, same cost,
same diff, same handoff files), and be refused, with what changed and the command that rebuilds
it, as soon as the org file, a template or the program it was made from changed. ``--jobs``
on the CLI gives the same plan as one process.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from stacks.cli.app import main
from stacks.org.load import load
from stacks.org.resolve import resolve
from stacks.plan import saved, shards
from stacks.plan.saved import SavedPlanError
from tests.conftest import BUNDLED_GCP, EXAMPLES
from tests.engine.planned import IDS, ORG_ENVS, planned

AWS_EXAMPLE = next(p for p in EXAMPLES if p.name == "aws.yaml")


def run(*args: str) -> Result:
    result = CliRunner().invoke(main, [str(a) for a in args])
    assert "Traceback" not in result.output, result.output
    return result


@pytest.fixture
def org_copy(tmp_path: Path) -> Path:
    """The AWS example (it reads a local SageMaker definition) in a directory of its own."""
    shutil.copy(AWS_EXAMPLE, tmp_path / "org.yaml")
    shutil.copytree(AWS_EXAMPLE.parent / "pipelines", tmp_path / "pipelines")
    return tmp_path / "org.yaml"


@pytest.fixture
def saved_plan(org_copy: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(org_copy.parent)
    result = run("plan", "org.yaml", "--env", "prod", "--out", "plan.json")
    assert result.exit_code == 0, result.output
    return Path("plan.json")  # relative: the commands run in the org's directory


@pytest.mark.parametrize(("org", "env"), ORG_ENVS, ids=IDS)
def test_a_saved_plan_reads_back_as_the_plan_it_saved(org: Path, env: str,
                                                      tmp_path: Path) -> None:
    original = planned(org, env)
    path = tmp_path / "plan.json"
    with path.open("w", encoding="utf-8") as fh:
        saved.write(original, resolve(load(org), env), fh)
    back, origin = saved.load_file(path)
    assert back == original, f"{org.name} --env {env}: the saved plan reads back differently"
    assert origin.environment == env and origin.org_sha256.startswith("sha256:")
    document = json.loads(path.read_text())
    assert {k: document[k] for k in ("org", "cloud", "environment", "outputs")} == {
        k: original.to_json()[k] for k in ("org", "cloud", "environment", "outputs")}
    contract = ("urn", "type", "name", "parent", "inputs", "dependencies", "protect",
                "retain_on_delete")
    assert [{k: r[k] for k in contract} for r in document["resources"]] == \
        [{k: r[k] for k in contract} for r in original.to_json()["resources"]], \
        "a saved plan is a superset of the plan JSON contract (DESIGN.md)"


def test_plan_out_prints_a_summary_and_check_plan_reports_what_check_reports(
        saved_plan: Path) -> None:
    fresh = run("check", "org.yaml", "--env", "prod", "--format", "json")
    from_file = run("check", "--plan", saved_plan, "--format", "json")
    assert from_file.exit_code == fresh.exit_code
    assert json.loads(from_file.stdout) == json.loads(fresh.stdout), \
        "check --plan reports other findings than check planning again"


def test_plan_out_with_format_also_prints_the_plan(org_copy: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(org_copy.parent)
    summary = run("plan", "org.yaml", "--env", "dev", "--out", "dev.json")
    assert summary.exit_code == 0 and "dev.json: plan of acme/dev (aws, sandbox)" in \
        summary.stdout and "trellis check --plan dev.json" in summary.stdout
    both = run("plan", "org.yaml", "--env", "dev", "--out", "dev.json", "--format", "json")
    assert json.loads(both.stdout)["environment"] == "dev", "--format json still prints"
    assert not list(org_copy.parent.glob(".*partial")), "no partial file left behind"


def test_check_plan_finds_violations_like_check(write_org, monkeypatch: pytest.MonkeyPatch,
                                                tmp_path: Path) -> None:
    from tests.conftest import MINIMAL_GCP

    org = write_org(MINIMAL_GCP.replace("max_nodes: 2", "max_nodes: 2, spot: false") +
                    "    budget_usd: 1\n")
    monkeypatch.chdir(tmp_path)
    assert run("plan", org, "--out", "p.json").exit_code == 0
    fresh = run("check", org, "--format", "json")
    from_file = run("check", "--plan", "p.json", "--format", "json")
    assert fresh.exit_code == from_file.exit_code
    assert json.loads(from_file.stdout) == json.loads(fresh.stdout)
    assert "TRL-COST-001" in from_file.stdout, \
        "TRL-COST-001 (over budget) reported: budgets come from the org the plan names"


def test_cost_diff_and_handoff_from_saved_plans_match_planning_again(
        saved_plan: Path, org_copy: Path, tmp_path: Path) -> None:
    assert run("cost", "--plan", saved_plan, "--format", "json").stdout == \
        run("cost", "org.yaml", "--env", "prod", "--format", "json").stdout
    assert run("plan", "org.yaml", "--env", "prod", "--out", "old.json").exit_code == 0
    diff_args = ("diff", "org.yaml", "org.yaml", "--env", "prod", "--format", "json")
    planned_again = run(*diff_args)
    from_files = run(*diff_args, "--plan", saved_plan, "--old-plan", "old.json")
    assert from_files.exit_code == planned_again.exit_code == 0
    assert from_files.stdout == planned_again.stdout
    run("handoff", "org.yaml", "--env", "prod", "--out", tmp_path / "a")
    result = run("handoff", "--plan", saved_plan, "--env", "prod", "--out", tmp_path / "b")
    assert result.exit_code == 0, result.output
    assert "using the saved plan of prod" in result.output
    files_a = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*.*"))
    files_b = sorted(p.relative_to(tmp_path / "b") for p in (tmp_path / "b").rglob("*.*"))
    assert files_a == files_b and files_a
    for rel in files_a:
        assert (tmp_path / "a" / rel).read_bytes() == (tmp_path / "b" / rel).read_bytes(), \
            f"handoff {rel} differs when built from the saved plan"


def _refused(result: Result, *needles: str) -> None:
    assert result.exit_code == 1, result.output
    assert "error: the saved plan cannot be used" in result.output
    for needle in needles:
        assert needle in result.output, f"{needle!r} missing from: {result.output}"


def test_a_plan_of_an_edited_org_is_refused_with_what_changed(saved_plan: Path,
                                                               org_copy: Path) -> None:
    org_copy.write_text(org_copy.read_text().replace("budget_usd: 25000", "budget_usd: 26000"))
    for command in ("check", "cost"):
        _refused(run(command, "--plan", saved_plan), "plan.json is stale: org.yaml changed "
                 "since the plan was made", "Rebuild it: trellis plan org.yaml --env prod "
                 "--out plan.json")


def test_a_plan_whose_template_changed_is_refused(saved_plan: Path, org_copy: Path) -> None:
    template = org_copy.parent / "pipelines" / "train.json"
    template.write_text(template.read_text() + "\n")
    _refused(run("check", "--plan", saved_plan), "pipelines/train.json changed since the plan "
             "was made")


def test_a_plan_is_refused_for_another_org_file_or_environment(saved_plan: Path,
                                                               org_copy: Path) -> None:
    other = org_copy.parent / "other.yaml"
    other.write_text(org_copy.read_text().replace("acme", "acmf"))
    _refused(run("check", other, "--plan", saved_plan),
             "other.yaml is not the org file the plan was made from")
    _refused(run("check", "--plan", saved_plan, "--env", "dev"),
             "plan.json is the plan of environment 'prod', not 'dev'")
    (org_copy.parent / "same.yaml").write_text(org_copy.read_text())
    assert run("check", "same.yaml", "--plan", saved_plan).exit_code == 0, \
        "a copy with the same content is the same org"
    org_copy.unlink()
    _refused(run("check", "--plan", saved_plan), "org.yaml is gone")


def test_a_plan_made_by_another_program_is_refused(saved_plan: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(saved, "program_fingerprint", lambda: "sha256:another")
    _refused(run("check", "--plan", saved_plan), "was made by another Trellis program",
             "Rebuild it: trellis plan org.yaml --env prod --out plan.json")


@pytest.mark.parametrize(("content", "needle"), [
    ("{}", "is not a plan saved by `trellis plan --out`"),
    ("[1, 2", "cannot read it as a saved plan"),
    ('{"trellis_plan": {"format": 99, "trellis": "9.0"}}', "is a saved plan of format 99"),
    ('{"trellis_plan": {"format": 1}}', "is damaged"),
])
def test_files_that_are_no_saved_plan_are_refused(tmp_path: Path, content: str,
                                                  needle: str) -> None:
    path = tmp_path / "p.json"
    path.write_text(content)
    _refused(run("check", "--plan", path), needle)
    _refused(run("check", "--plan", tmp_path / "missing.json"), "no such file")


def test_plan_format_json_output_is_not_a_saved_plan(tmp_path: Path) -> None:
    out = run("plan", BUNDLED_GCP, "--env", "dev", "--format", "json").stdout
    (tmp_path / "p.json").write_text(out)
    with pytest.raises(SavedPlanError, match="--format json` output does not carry"):
        saved.load_file(tmp_path / "p.json")


def test_jobs_on_the_command_line_gives_the_single_process_plan(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shards, "MIN_SHARD_TEAMS", 1)  # shard the 3-team bundled org
    one = run("plan", BUNDLED_GCP, "--env", "dev", "--format", "json", "--jobs", "1")
    several = run("plan", BUNDLED_GCP, "--env", "dev", "--format", "json", "--jobs", "3")
    assert one.exit_code == several.exit_code == 0
    assert several.stdout == one.stdout, "--jobs 3 planned another plan than --jobs 1"
    assert run("check", BUNDLED_GCP, "--env", "dev", "--jobs", "0").exit_code == 2, \
        "--jobs takes a positive number"


# --env all: every environment's plan in one file (what the CI recipes save) -----------------

@pytest.fixture
def saved_all(org_copy: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(org_copy.parent)
    result = run("plan", "org.yaml", "--env", "all", "--out", "plans.json")
    assert result.exit_code == 0, result.output
    assert "plans.json: plan of acme/dev" in result.stdout and \
        "plans.json: plan of acme/prod" in result.stdout, result.stdout
    return Path("plans.json")


def test_a_saved_file_of_every_environment_reads_back_as_each_plan(saved_all: Path) -> None:
    found = saved.read_all(saved_all)
    assert [p.environment for p, _ in found] == ["dev", "prod"]
    for plan_, org_file in found:
        assert plan_ == planned(org_file, plan_.environment), \
            f"--env all --out: the saved plan of {plan_.environment} reads back differently"
    prod, _ = saved.read(saved_all, env="prod")
    assert prod.environment == "prod", "--env picks one environment of an --env all file"
    with pytest.raises(SavedPlanError, match="holds the plans of dev, prod; name one with --env"):
        saved.read(saved_all)


@pytest.mark.parametrize("fmt", ["json", "sarif", "junit"])
def test_check_plan_of_every_environment_reports_what_check_env_all_reports(
        saved_all: Path, fmt: str) -> None:
    fresh = run("check", "org.yaml", "--env", "all", "--format", fmt)
    from_file = run("check", "--plan", saved_all, "--format", fmt)
    assert from_file.exit_code == fresh.exit_code, from_file.output
    assert from_file.stdout == fresh.stdout, \
        f"check --plan (every environment) --format {fmt} differs from check --env all"
    one = run("check", "--plan", saved_all, "--env", "prod", "--format", "json")
    assert json.loads(one.stdout) == json.loads(
        run("check", "org.yaml", "--env", "prod", "--format", "json").stdout), \
        "check --plan --env prod checks prod alone"


def test_cost_diff_and_handoff_from_a_file_of_every_environment(saved_all: Path,
                                                                 tmp_path: Path) -> None:
    assert run("cost", "--plan", saved_all, "--format", "json").stdout == \
        run("cost", "org.yaml", "--env", "all", "--format", "json").stdout, \
        "cost --plan of every environment = cost --env all"
    diff_args = ("diff", "org.yaml", "org.yaml", "--env", "prod", "--format", "json")
    assert run(*diff_args, "--plan", saved_all).stdout == run(*diff_args).stdout
    result = run("handoff", "--plan", saved_all, "--out", tmp_path / "h")
    assert result.exit_code == 0, result.output
    assert "using the saved plan of dev" in result.output and \
        "using the saved plan of prod" in result.output, result.output


def test_a_stale_file_of_every_environment_says_to_save_every_environment_again(
        saved_all: Path, org_copy: Path) -> None:
    org_copy.write_text(org_copy.read_text() + "\n# a change\n")
    result = run("check", "--plan", saved_all)
    _refused(result, "plans.json is stale: org.yaml changed since the plan was made",
             "trellis plan org.yaml --env all --out plans.json")
    usage = run("check", "org.yaml", "org.yaml", "--plan", saved_all)
    assert usage.exit_code == 2 and "give at most one ORG" in usage.output, usage.output
