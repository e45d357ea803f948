"""Fixtures of the GCP tests: the bundled org resolved once, each environment planned once."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from stacks.org.load import LoadedOrg, load
from stacks.org.resolve import resolve
from stacks.org.spec import EnvSpec
from stacks.plan.engine import Plan, plan, run_program
from tests.conftest import BUNDLED_GCP


@pytest.fixture(scope="module")
def bundled() -> LoadedOrg:
    return load(BUNDLED_GCP)


@pytest.fixture(scope="module")
def dev_env(bundled) -> EnvSpec:
    return resolve(bundled, "dev")


@pytest.fixture(scope="module")
def prod_env(bundled) -> EnvSpec:
    return resolve(bundled, "prod")


@pytest.fixture(scope="module")
def dev_plan(dev_env) -> Plan:
    return plan(dev_env)


@pytest.fixture(scope="module")
def prod_plan(prod_env) -> Plan:
    return plan(prod_env)


@pytest.fixture(scope="module")
def run(dev_env) -> Callable[..., Plan]:
    """Run one component (or any function) under the recording mocks of the dev project."""
    def _run(fn: Callable[[], None], env: EnvSpec | None = None) -> Plan:
        return run_program(env or dev_env, fn)
    return _run
