"""The ``trellis`` script (stacks.cli.launch): the CLI imported with the collector paused."""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib

from tests.conftest import BUNDLED_GCP, ROOT

PROBE = """
import gc, json, sys
sys.argv = ["trellis", *sys.argv[1:]]
from stacks.cli.launch import main
try:
    main()
except SystemExit as exc:
    code = exc.code
print(json.dumps({"code": code, "enabled": gc.isenabled(), "frozen": gc.get_freeze_count(),
                  "threshold": gc.get_threshold()}), file=sys.stderr)
"""


def launch(*args: str) -> tuple[subprocess.CompletedProcess[str], dict[str, object]]:
    proc = subprocess.run([sys.executable, "-c", PROBE, *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    return proc, json.loads(proc.stderr.strip().splitlines()[-1])


def test_the_console_script_is_the_launcher() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert project["scripts"]["trellis"] == "stacks.cli.launch:main"


def test_the_cli_runs_with_its_import_heap_frozen_and_the_collector_back_on() -> None:
    proc, state = launch("validate", str(BUNDLED_GCP))
    assert state["code"] == 0 and "valid (gcp" in proc.stdout, proc.stdout + proc.stderr
    assert state["enabled"] is True, "the collector must run again once the CLI is imported"
    assert state["threshold"] == list(__import__("gc").get_threshold()), "defaults untouched"
    # click, pydantic and the model: tens of thousands of objects no collection rescans.
    assert isinstance(state["frozen"], int) and state["frozen"] > 20_000


def test_errors_still_exit_1_without_a_traceback(tmp_path) -> None:
    bad = tmp_path / "org.yaml"
    bad.write_text("version: 1\norg: x\n", encoding="utf-8")
    proc, state = launch("validate", str(bad))
    assert state["code"] == 1
    assert "Traceback" not in proc.stdout + proc.stderr
