"""The CLI contract: commands, exit codes, no tracebacks for user errors."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml
from click.testing import CliRunner

from stacks.cli.app import main
from tests.conftest import ALL_ORGS, BUNDLED_GCP, MINIMAL_GCP, ROOT


def run(*args: str):
    result = CliRunner().invoke(main, list(args))
    assert "Traceback" not in result.output, result.output
    return result


def test_validate_ok():
    result = run("validate", str(BUNDLED_GCP))
    assert result.exit_code == 0, result.output
    assert "valid (gcp, 2 environments, 3 teams)" in result.output


def test_validate_defaults_to_bundled_org(monkeypatch):
    monkeypatch.chdir(ROOT)
    assert run("validate").exit_code == 0


def test_validate_reports_every_error_and_exits_1(write_org):
    path = write_org(MINIMAL_GCP.replace("teams:", "teamz: {}\nteams:").replace(
        "accelerator: l4", "accelerator: h100"))
    result = run("validate", str(path))
    assert result.exit_code == 1
    assert "teamz: unknown key 'teamz' (did you mean 'teams'?)" in result.output
    assert "did you mean 'h100-80gb'?" in result.output
    assert "error: 2 problems found" in result.output


def test_missing_file_exits_1_without_traceback(tmp_path):
    result = run("validate", str(tmp_path / "missing.yaml"))
    assert result.exit_code == 1 and "no such file" in result.output


def test_usage_error_exits_2():
    assert run("plan", "--format", "yaml").exit_code == 2
    assert run("no-such-command").exit_code == 2


def test_env_required_when_several(monkeypatch):
    result = run("plan", str(BUNDLED_GCP))
    assert result.exit_code == 2 and "--env is required" in result.output


def test_unknown_env_is_a_clean_error():
    result = run("plan", str(BUNDLED_GCP), "--env", "prd")
    assert result.exit_code == 1 and "did you mean 'prod'" in result.output


@pytest.mark.parametrize("value, message", [
    ("[" * 900 + "]" * 900, "nested more than 64 levels deep"),  # once a RecursionError
    ("-_", "unknown key 'weird'"),  # looks like an int to YAML 1.2's resolver; once a ValueError
])
def test_odd_yaml_is_a_located_error_not_a_crash(write_org, value, message):
    path = write_org(MINIMAL_GCP + f"weird: {value}\n")
    result = run("validate", str(path))
    assert result.exit_code == 1, result.output
    assert "internal error" not in result.output and message in result.output, result.output


def test_env_optional_with_one_environment(write_org):
    result = run("plan", str(write_org(MINIMAL_GCP)), "--format", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["environment"] == "dev"


@pytest.mark.parametrize("command", ["validate", "schema", "plan"])
def test_help_has_an_example(command):
    result = run(command, "--help")
    assert result.exit_code == 0 and "Example" in result.output


def test_schema_is_json_schema_with_descriptions():
    schema = json.loads(run("schema").output)
    jsonschema.Draft202012Validator.check_schema(schema)

    def walk(node, path):
        if isinstance(node, dict):
            for name, prop in node.get("properties", {}).items():
                assert prop.get("description"), f"{path}.{name} has no description"
            for key, value in node.items():
                walk(value, f"{path}.{key}")

    walk(schema, "$")


@pytest.mark.parametrize("org", ALL_ORGS, ids=lambda p: p.name)
def test_schema_validates_every_bundled_org(org):
    schema = json.loads(run("schema").output)
    jsonschema.validate(yaml.safe_load(Path(org).read_text()), schema)


def test_committed_schema_is_current():
    committed = json.loads((ROOT / "schema" / "org.v1.json").read_text())
    assert committed == json.loads(run("schema").output), \
        "schema/org.v1.json is stale: run `trellis schema > schema/org.v1.json`"


def test_debug_flag_is_accepted():
    assert run("--debug", "validate", str(BUNDLED_GCP)).exit_code == 0


def test_validate_imports_no_pulumi():
    import subprocess
    import sys

    code = ("import sys\nfrom stacks.cli.app import main\nsys.argv = ['trellis', 'validate', "
            f"{str(BUNDLED_GCP)!r}]\ntry:\n    main()\nexcept SystemExit as e:\n"
            "    assert e.code in (0, None), e.code\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0].startswith('pulumi')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=ROOT, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "[]", out.stdout
