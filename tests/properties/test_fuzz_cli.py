"""Fuzz the CLI with mutants of every example org: nothing a user types reaches the engine as a
crash (issue 22).

Every mutant (tests/properties/mutants.py: structural edits of the parsed file, byte-level
edits of its text) goes through ``trellis validate`` in-process (click's CliRunner); mutants
that validate also go through ``plan``, ``check``, ``cost`` or ``diff`` against the original.
A run fails on an "internal error", a traceback, an exception escaping the CLI, an exit status
other than the command's contract, a valid file whose plan cannot be built, or any command
taking more than 10 s.

Time budget, not example count: Hypothesis runs batches until the budget is spent, so CI time
stays fixed whatever the machine. Default (the ``ci`` profile): 30 s of validate mutants and
30 s of plan-level mutants. ``HYPOTHESIS_PROFILE=dev`` searches ten times longer and shrinks
what it finds; ``TRELLIS_FUZZ_SECONDS`` sets each half's budget. Every find is kept as a
regression test in tests/properties/test_fuzz_regressions.py.
"""

from __future__ import annotations

import os
import shutil
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from stacks.cli.app import main
from stacks.org.yaml_source import parse
from tests.conftest import ALL_ORGS
from tests.properties.mutants import byte_edits, dump, structural

PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "ci")
SECONDS = float(os.environ.get("TRELLIS_FUZZ_SECONDS", 300 if PROFILE == "dev" else 30))
#: Longest any single command may take on a mutant.
COMMAND_LIMIT_S = 10.0
BATCH = 25

SEEDS = [(org, org.read_bytes()) for org in ALL_ORGS]
PARSED = [parse(raw, org.name).data for org, raw in SEEDS]
STATS: Counter[str] = Counter()


@pytest.fixture(scope="module", autouse=True)
def report() -> Any:
    """What was run, printed at the end (``pytest -s`` shows it)."""
    yield
    print(f"\nfuzz ({PROFILE}, {SECONDS:.0f}s per half): " + ", ".join(
        f"{k} {v}" for k, v in sorted(STATS.items())))


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory with every example's pipeline templates, where mutants are written."""
    work = tmp_path_factory.mktemp("fuzz")
    for org in ALL_ORGS:
        shutil.copytree(org.parent / "pipelines", work / "pipelines", dirs_exist_ok=True)
    return work


def invoke(*args: str) -> tuple[Result, float]:
    start = time.perf_counter()
    result = CliRunner().invoke(main, list(args))
    return result, time.perf_counter() - start


def check_clean(result: Result, elapsed: float, what: str, codes: tuple[int, ...]) -> None:
    """The run ended as the CLI contract says, quickly, with no crash."""
    out = result.output
    assert "internal error" not in out and "Traceback" not in out, f"{what}:\n{out}"
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"{what}: {type(result.exception).__name__} escaped the CLI: "
                             f"{result.exception}") from result.exception
    assert result.exit_code in codes, f"{what}: exit {result.exit_code}\n{out}"
    assert elapsed < COMMAND_LIMIT_S, f"{what}: took {elapsed:.1f}s (limit {COMMAND_LIMIT_S}s)"


def environments(raw: bytes, name: str) -> list[str]:
    data = parse(raw, name).data
    return [str(e) for e in data.get("environments") or {}]


def run_for(seconds: float, test: Callable[[], None]) -> None:
    """Run ``test`` (a Hypothesis test) in batches until ``seconds`` have passed."""
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        test()


def _settings() -> settings:
    phases = [Phase.generate, Phase.shrink] if PROFILE == "dev" else [Phase.generate]
    return settings(max_examples=BATCH, deadline=None, database=None, phases=phases,
                    print_blob=True, derandomize=False,
                    suppress_health_check=list(HealthCheck))


def test_validate_survives_every_mutant(workdir: Path) -> None:
    @_settings()
    @given(data=st.data())
    def one(data: Any) -> None:
        index = data.draw(st.integers(0, len(SEEDS) - 1), label="seed")
        org, raw = SEEDS[index]
        if data.draw(st.booleans(), label="bytes"):
            mutant = data.draw(byte_edits(raw), label="edits")
        else:
            mutant = dump(data.draw(structural(PARSED[index]), label="edit"))
            if data.draw(st.integers(0, 3), label="then bytes") == 0:
                mutant = data.draw(byte_edits(mutant), label="byte edits")
        path = workdir / "mutant.yaml"
        path.write_bytes(mutant)
        result, elapsed = invoke("validate", str(path))
        STATS["validate"] += 1
        STATS[f"validate exit {result.exit_code}"] += 1
        check_clean(result, elapsed, f"validate of a mutant of {org.name}", (0, 1))

    run_for(SECONDS, one)
    assert STATS["validate"] >= BATCH, f"only {STATS['validate']} mutants in {SECONDS:.0f}s"


COMMANDS = ("plan", "check", "cost", "diff")


def test_valid_mutants_plan_check_cost_and_diff(workdir: Path) -> None:
    @_settings()
    @given(data=st.data())
    def one(data: Any) -> None:
        index = data.draw(st.integers(0, len(SEEDS) - 1), label="seed")
        org = SEEDS[index][0]
        mutant = dump(data.draw(structural(PARSED[index], gentle=True), label="edit"))
        path = workdir / "valid.yaml"
        path.write_bytes(mutant)
        result, elapsed = invoke("validate", str(path))
        check_clean(result, elapsed, f"validate of a gentle mutant of {org.name}", (0, 1))
        STATS["gentle"] += 1
        if result.exit_code != 0:
            return
        STATS["gentle valid"] += 1
        env = data.draw(st.sampled_from(environments(mutant, path.name)), label="env")
        command = data.draw(st.sampled_from(COMMANDS), label="command")
        STATS[command] += 1
        what = f"{command} --env {env} of a valid mutant of {org.name}"
        if command == "plan":
            result, elapsed = invoke("plan", str(path), "--env", env, "--format", "json")
            codes: tuple[int, ...] = (0,)
        elif command == "check":
            result, elapsed = invoke("check", str(path), "--env", env, "--format", "json")
            codes = (0, 1)  # 1: violations (the property tests hold valid files to the pack)
        elif command == "cost":
            result, elapsed = invoke("cost", str(path), "--env", env, "--format", "json")
            codes = (0,)
        else:
            result, elapsed = invoke("diff", str(org), str(path), "--env", env,
                                     "--fail-on-data-loss", "--format", "json")
            codes = (0, 1)  # 1: data loss
        assert "the plan could not be built" not in result.output, f"{what}:\n{result.output}"
        check_clean(result, elapsed, what, codes)

    run_for(SECONDS, one)
    assert STATS["gentle valid"] > 0, f"no valid mutant in {STATS['gentle']} tries"
