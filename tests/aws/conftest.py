"""Fixtures of the AWS tests: the example org resolved and planned once per session."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from stacks.org.load import load
from stacks.org.resolve import resolve
from stacks.org.spec import EnvSpec
from stacks.plan.engine import Plan, plan, run_program

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "aws.yaml"


@pytest.fixture(scope="session")
def loaded_example():
    return load(EXAMPLE)


@pytest.fixture(scope="session")
def dev_env(loaded_example) -> EnvSpec:
    return resolve(loaded_example, "dev")


@pytest.fixture(scope="session")
def prod_env(loaded_example) -> EnvSpec:
    return resolve(loaded_example, "prod")


@pytest.fixture(scope="session")
def dev_plan(dev_env) -> Plan:
    return plan(dev_env)


@pytest.fixture(scope="session")
def prod_plan(prod_env) -> Plan:
    return plan(prod_env)


@pytest.fixture(scope="session")
def run(dev_env) -> Callable[[Callable[[], None]], Plan]:
    """Run one component (or any function) under the recording mocks of the dev account."""
    def _run(fn: Callable[[], None], env: EnvSpec | None = None) -> Plan:
        return run_program(env or dev_env, fn)
    return _run
