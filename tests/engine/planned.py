"""The plans of every bundled and example org and environment, built once per test session.

Several tests need exactly these plans (the shortcut switch, the Analyzer equivalence); building
each once keeps the suite's time down. The plans are shared: tests must not mutate them.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from stacks.org.load import load
from stacks.org.resolve import resolve
from stacks.plan.engine import Plan, plan
from tests.conftest import ALL_ORGS

ORG_ENVS: list[tuple[Path, str]] = [(org, env) for org in ALL_ORGS
                                    for env in load(org).environments]
IDS = [f"{org.name}-{env}" for org, env in ORG_ENVS]


@cache
def planned(org: Path, env: str) -> Plan:
    """``trellis plan ORG --env ENV`` as a :class:`Plan` (with the speed shortcuts)."""
    return plan(resolve(load(org), env))
