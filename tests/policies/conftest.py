"""Fixtures shared by the policy tests; the builders live in ``policy_fixtures``.

Test modules import the builders directly (``from policy_fixtures import S, res``) because the
fixture cases are module-level data; the fixtures below serve tests that want them injected.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from policy_fixtures import FakePlan, Stack, check

from stacks.report.findings import CheckReport


@pytest.fixture
def run_stack() -> Callable[..., CheckReport]:
    """``run_stack(stack, waivers=...)`` -> the report `trellis check` would produce."""
    def run(stack: Stack, **kwargs: Any) -> CheckReport:
        return check(stack, **kwargs)
    return run


@pytest.fixture
def fake_plan() -> type[FakePlan]:
    return FakePlan
