"""The benchmark script cannot rot: CI runs its smallest size once (a smoke test, not timed)."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import ROOT


def test_benchmark_smoke_runs_and_reports_every_section():
    result = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "run.py"), "--smoke"],
                            cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    for heading in ("== validate ==", "== plan ==", "== sharded plan ==", "== check ==",
                    "== memory ==", "== small fixed costs ==", "== critical path =="):
        assert heading in result.stdout, f"missing section {heading}"
    assert "pulumi/SDK imported" in result.stdout
