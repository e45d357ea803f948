"""Fixtures of the handoff tests: real offline plans of the bundled examples, planned once."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from stacks.handoff import Bundle, render
from stacks.handoff.model import gather, gather_environment
from stacks.org.load import load
from stacks.org.resolve import resolve
from stacks.org.spec import EnvSpec
from stacks.plan.engine import Plan, plan

ROOT = Path(__file__).resolve().parents[2]
ORGS = {"gcp": ROOT / "stacks" / "org.yaml", "aws": ROOT / "examples" / "aws.yaml"}
ARTIFACTS = ROOT / "test-artifacts"


@dataclass
class Planned:
    """One example org: its specs and plans per environment, the bundle and its files."""

    cloud: str
    specs: dict[str, EnvSpec]
    plans: dict[str, Plan]
    bundle: Bundle
    files: dict[str, str]


def _planned(cloud: str, path: Path | None = None) -> Planned:
    # Planned in a thread of its own: Pulumi's mock runtime runs an asyncio loop, which cannot
    # start while Playwright's sync API (the browser tests) keeps one running in this thread.
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(_plan_org, cloud, path or ORGS[cloud]).result()


def _plan_org(cloud: str, path: Path) -> Planned:
    loaded = load(path)
    specs = {e: resolve(loaded, e) for e in loaded.environments}
    plans = {e: plan(s) for e, s in specs.items()}
    envs = [gather_environment(specs[e], plans[e]) for e in loaded.environments]
    shown = path.relative_to(ROOT).as_posix() if path.is_relative_to(ROOT) else path.name
    bundle = gather(loaded.org, shown, envs)
    return Planned(cloud, specs, plans, bundle, render(bundle))


@pytest.fixture(scope="session")
def gcp() -> Planned:
    return _planned("gcp")


@pytest.fixture(scope="session")
def aws() -> Planned:
    return _planned("aws")


@pytest.fixture(scope="session", params=["gcp", "aws"])
def example(request: pytest.FixtureRequest) -> Planned:
    """Each bundled example in turn (gcp: stacks/org.yaml, aws: examples/aws.yaml)."""
    return request.getfixturevalue(request.param)


@pytest.fixture(scope="session", params=["gcp", "aws"])
def longest(request: pytest.FixtureRequest,
            tmp_path_factory: pytest.TempPathFactory) -> Planned:
    """An org of each cloud made with the longest names validation allows (longest.py)."""
    from . import longest as names

    cloud = str(request.param)
    return _planned(cloud, names.write(tmp_path_factory.mktemp(f"longest-{cloud}"), cloud))


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
