"""SARIF from `trellis check` is what GitHub code scanning accepts, for every org we ship.

Each result must carry a physical location in org.yaml (GitHub refuses results with only a
logical location), pass the SARIF 2.1.0 schema and GitHub's own documented rules
(:mod:`github_sarif`), and keep its identity when org.yaml is edited above it.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import jsonschema
import pytest
from ci_reports import LOOSE_ORG, reports
from click.testing import CliRunner
from github_sarif import problems

from stacks.cli.app import main
from stacks.report.formats import SECURITY_SEVERITY, fingerprint, to_sarif
from tests.conftest import ALL_ORGS, ROOT

SCHEMA = json.loads((ROOT / "tests" / "data" / "sarif-2.1.0.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def loose_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A git repository holding an org that org.yaml-fixable rules fire on."""
    repo = tmp_path_factory.mktemp("loose")
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    (repo / "infra").mkdir()
    (repo / "infra" / "org.yaml").write_text(LOOSE_ORG, encoding="utf-8")
    return repo


def _orgs(loose_repo: Path) -> list[tuple[Path, Path]]:
    return [*((org, ROOT) for org in ALL_ORGS), (loose_repo / "infra" / "org.yaml", loose_repo)]


def test_sarif_of_every_org_passes_the_schema_and_githubs_rules(loose_repo: Path) -> None:
    seen_rules: set[str] = set()
    for org, root in _orgs(loose_repo):
        sarif = to_sarif(list(reports(org)))
        jsonschema.validate(sarif, SCHEMA)
        broken = problems(sarif, repo_root=root)
        assert not broken, f"{org}: GitHub would reject or misplace results:\n" + "\n".join(
            broken[:20])
        run = sarif["runs"][0]
        assert len(sarif["runs"]) == 1, f"{org}: one run for every environment"
        lines = org.read_text(encoding="utf-8").splitlines()
        for result in run["results"]:
            region = result["locations"][0]["physicalLocation"]["region"]
            key = lines[region["startLine"] - 1][region["startColumn"] - 1:
                                                 region["endColumn"] - 1]
            assert key in result["properties"]["orgPath"].split("."), (
                f"{org}: the region of {result['ruleId']} highlights {key!r}, not a key of "
                f"{result['properties']['orgPath']}")
        envs = {r["properties"]["environment"] for r in run["results"]}
        assert envs <= set(run["properties"]["environments"]), envs
        seen_rules |= {r["ruleId"] for r in run["results"]}
    assert {"TRL-REG-003", "TRL-COST-001", "TRL-GPU-003"} <= seen_rules, seen_rules


def test_every_result_points_at_the_org_yaml_line_it_came_from(loose_repo: Path) -> None:
    for org, _root in _orgs(loose_repo):
        lines = org.read_text(encoding="utf-8").splitlines()
        for report in reports(org):
            for f in report.findings:
                loc = f.location
                assert loc is not None and loc.org_path, (
                    f"{org} {report.environment}: {f.policy} on {f.logical_path} has no org "
                    "path")
                keys = tuple(f"{k}:" for k in loc.org_path.split("."))
                text = lines[loc.line - 1][loc.column - 1:]
                assert text.startswith(keys), (
                    f"{org}:{loc.line}:{loc.column} should be a key of "
                    f"{loc.org_path} ({f.policy} on {f.logical_path}); the line is "
                    f"{lines[loc.line - 1]!r}")


def test_loose_org_findings_name_the_field_and_the_override(loose_repo: Path) -> None:
    org = loose_repo / "infra" / "org.yaml"
    by = {(r.environment, f.policy): f for r in reports(org) for f in r.findings}
    cost_dev = by[("dev", "TRL-COST-001")]
    assert cost_dev.fix_field == "teams.recsys.gpu_pools.serve.max_nodes", cost_dev
    assert cost_dev.location is not None and cost_dev.location.line == 14  # serve: {...}
    # In qa the override sets max_nodes: the finding points at the override's value.
    cost_qa = by[("qa", "TRL-COST-001")]
    assert cost_qa.fix_field == "teams.recsys.overrides.qa.gpu_pools.serve.max_nodes", cost_qa
    assert cost_qa.location is not None and cost_qa.location.line == 18, cost_qa.location
    reg = by[("dev", "TRL-REG-003")]
    assert reg.fix_field == "platform.encryption.customer_managed_keys"
    assert "fix in org.yaml: platform.encryption.customer_managed_keys" in reg.fix_hint
    assert reg.location is not None and reg.location.org_path == "teams.recsys"


def test_fingerprints_survive_edits_above_the_finding(loose_repo: Path, tmp_path: Path) -> None:
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    shifted = tmp_path / "org.yaml"
    shifted.write_text("# a comment\n# and another\n" + LOOSE_ORG, encoding="utf-8")
    before = to_sarif(list(reports(loose_repo / "infra" / "org.yaml")))["runs"][0]["results"]
    after = to_sarif(list(reports(shifted)))["runs"][0]["results"]
    key = [(r["ruleId"], r["properties"]["environment"], r["partialFingerprints"][
        "primaryLocationLineHash"]) for r in before]
    assert key == [(r["ruleId"], r["properties"]["environment"], r["partialFingerprints"][
        "primaryLocationLineHash"]) for r in after], "an edit above moved the alerts' identity"
    lines = [r["locations"][0]["physicalLocation"]["region"]["startLine"] for r in before]
    assert [r["locations"][0]["physicalLocation"]["region"]["startLine"] for r in after] == [
        n + 2 for n in lines], "the regions must follow the edit"


def test_fingerprints_differ_per_environment(loose_repo: Path) -> None:
    found = [f for r in reports(loose_repo / "infra" / "org.yaml") for f in r.findings
             if f.policy == "TRL-REG-003"]
    assert len({f.environment for f in found}) == 2
    assert len({fingerprint(f) for f in found}) == len(found), "dev and qa alerts would merge"


def test_rules_carry_help_uri_and_security_severity(loose_repo: Path) -> None:
    sarif = to_sarif(list(reports(loose_repo / "infra" / "org.yaml")))
    driver = sarif["runs"][0]["tool"]["driver"]
    assert driver["name"] == "trellis-check" and driver["semanticVersion"]
    anchors = set((ROOT / "docs" / "policies.md").read_text(encoding="utf-8").lower()
                  .replace("### ", "\n#").split("\n#"))
    for rule in driver["rules"]:
        assert rule["helpUri"].endswith(f"docs/policies.md#{rule['id'].lower()}"), rule["id"]
        assert rule["id"].lower() in {a.split("\n")[0].strip() for a in anchors}, (
            f"{rule['id']}: docs/policies.md has no heading for the helpUri anchor")
        severity = rule["properties"].get("security-severity")
        if "security" in rule["properties"]["tags"]:
            assert severity == SECURITY_SEVERITY[rule["properties"]["severity"]], rule["id"]
    cost = next(r for r in driver["rules"] if r["id"] == "TRL-COST-001")
    assert "security-severity" not in cost["properties"], "a budget rule is not a security rule"


def test_checker_catches_what_github_rejects() -> None:
    """The checker is no rubber stamp: the pre-#23 output (logical locations only) fails."""
    sarif = to_sarif(list(reports(ALL_ORGS[0])))
    for result in sarif["runs"][0]["results"]:
        del result["locations"][0]["physicalLocation"]
        del result["partialFingerprints"]
    sarif["runs"].append(json.loads(json.dumps(sarif["runs"][0])))
    broken = "\n".join(problems(sarif))
    assert "expected a physical location" in broken
    assert "2 runs of tool 'trellis-check'" in broken


def test_cli_env_all_sarif_is_one_run_and_exit_code(loose_repo: Path) -> None:
    org = loose_repo / "infra" / "org.yaml"
    result = CliRunner().invoke(main, ["check", str(org), "--env", "all", "--format", "sarif",
                                       "--fail-on", "high"], env={"TRELLIS_DOCS_URL": ""})
    sarif = json.loads(result.output)
    assert len(sarif["runs"]) == 1
    assert sarif["runs"][0]["automationDetails"]["id"] == "trellis-check/loose/all/"
    envs = {r["properties"]["environment"] for r in sarif["runs"][0]["results"]}
    assert envs == {"dev", "qa"}, envs
    assert result.exit_code == 0, "COST-001 is advisory in a sandbox: no failure at high"
