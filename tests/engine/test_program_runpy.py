"""The Pulumi program runs the way the Python language host runs it.

The host runs `main: stacks/` with ``runpy.run_path`` from the stacks/ directory, with the stack
config of `stacks/Pulumi.<env>.yaml` (``trellis:org`` relative to the project). We do the same
under the recording monitor and compare with `trellis plan`.
"""

from __future__ import annotations

import os
import runpy
from pathlib import Path

import pulumi
import pytest

from stacks.org.load import load
from stacks.org.resolve import resolve
from stacks.plan.engine import PlanError, plan, run_program
from tests.conftest import BUNDLED_GCP, ROOT


def run_as_language_host(env_name: str, config: dict[str, str], cwd: Path):
    spec = resolve(load(BUNDLED_GCP), env_name)

    def host() -> None:
        pulumi.runtime.set_all_config(config)  # what the engine passes from the stack file
        old = Path.cwd()
        os.chdir(cwd)
        try:
            runpy.run_path(str(ROOT / "stacks"), run_name="__main__")
        finally:
            os.chdir(old)

    return run_program(spec, host)


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_program_registers_what_trellis_plan_shows(env):
    stack_file = (ROOT / "stacks" / f"Pulumi.{env}.yaml").read_text()
    assert "trellis:org: stacks/org.yaml" in stack_file
    hosted = run_as_language_host(env, {"trellis:org": "stacks/org.yaml"}, ROOT / "stacks")
    planned = plan(resolve(load(BUNDLED_GCP), env))
    assert [r.urn for r in hosted.resources] == [r.urn for r in planned.resources]
    assert hosted.outputs == planned.outputs
    assert set(hosted.outputs) >= {"environment", "teams"}


def test_org_defaults_to_stacks_org_yaml():
    hosted = run_as_language_host("dev", {}, ROOT / "stacks")
    assert hosted.outputs["environment"]["name"] == "dev"


def test_invalid_org_is_a_run_error_without_traceback(tmp_path):
    bad = tmp_path / "org.yaml"
    bad.write_text(BUNDLED_GCP.read_text().replace("accelerator: l4", "accelerator: l5"))
    with pytest.raises(PlanError) as info:
        run_as_language_host("dev", {"trellis:org": str(bad)}, ROOT / "stacks")
    cause = info.value.__cause__
    assert isinstance(cause, pulumi.RunError), type(cause)
    assert "teams.recsys.gpu_pools.serve.accelerator" in str(cause)
    assert "did you mean 'l4'" in str(cause)
