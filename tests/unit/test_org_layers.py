"""The org layer's shape: load = parse -> validate -> LoadedOrg, resolve only resolves, compose
only reads the spec, and a bug is never hidden behind a user error."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from click.testing import CliRunner

from components import catalog, cron
from stacks.cli.app import main
from stacks.org.errors import OrgError
from stacks.org.load import load
from stacks.org.resolve import resolve
from tests.conftest import ALL_ORGS, BUNDLED_GCP, MINIMAL_GCP, ROOT

ORG_DIR = ROOT / "stacks" / "org"


def imported_modules(path: Path) -> set[str]:
    """Every module ``path`` imports, at module level or inside functions."""
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            out.add(node.module)
            out.update(f"{node.module}.{a.name}" for a in node.names)
    return out


def org_graph() -> dict[str, set[str]]:
    modules = {f"stacks.org.{p.stem}" for p in ORG_DIR.glob("*.py") if p.stem != "__init__"}
    return {f"stacks.org.{p.stem}": imported_modules(p) & modules
            for p in ORG_DIR.glob("*.py") if p.stem != "__init__"}


def test_no_import_cycle_in_the_org_layer():
    graph = org_graph()
    state: dict[str, str] = {}

    def visit(module: str, trail: list[str]) -> None:
        state[module] = "open"
        for dep in sorted(graph[module]):
            if state.get(dep) == "open":
                pytest.fail(f"import cycle in stacks/org: {' -> '.join([*trail, module, dep])}")
            if dep not in state:
                visit(dep, [*trail, module])
        state[module] = "done"

    for module in sorted(graph):
        if module not in state:
            visit(module, [])


def test_validation_and_resolution_are_separate_steps():
    graph = org_graph()
    assert "stacks.org.resolve" not in graph["stacks.org.load"], "load must not resolve"
    assert "stacks.org.resolve" not in graph["stacks.org.validate"], (
        "validation must not go through resolution")
    assert "stacks.org.validate" not in graph["stacks.org.resolve"], (
        "resolution assumes a validated org; it must not validate")


@pytest.mark.parametrize("module", sorted((ROOT / "stacks" / "compose").glob("*.py")),
                         ids=lambda p: p.name)
def test_compose_makes_no_physical_names(module):
    imports = imported_modules(module)
    assert not {"components.naming", "components.naming.naming"} & imports, (
        f"stacks/compose/{module.name} imports components.naming: physical names are made once, "
        "in stacks/org/names.py, and read from the spec")


def test_a_bug_in_validation_is_not_hidden_behind_a_user_error(write_org, monkeypatch):
    text = MINIMAL_GCP.replace("region: us-central1",
                               "region: us-central1\nlabels: {Bad: x}") + """\
    pipelines:
      nightly: {template: "gs://bucket/t.yaml", schedule: "0 3 * * *"}
"""
    path = write_org(text)
    with pytest.raises(OrgError, match="label key 'Bad' is not valid"):
        load(path)

    def broken(expr: str) -> list[str]:
        raise RuntimeError("cron checker bug")

    monkeypatch.setattr(cron, "problems", broken)
    with pytest.raises(RuntimeError, match="cron checker bug"):
        load(path)
    result = CliRunner().invoke(main, ["validate", str(path)])
    assert result.exit_code == 1
    assert "internal error: RuntimeError: cron checker bug" in result.output, result.output


def test_a_bug_in_resolution_propagates(monkeypatch):
    loaded = load(BUNDLED_GCP)

    def broken(*args: object) -> catalog.MachineShape:
        raise RuntimeError("catalogue bug")

    monkeypatch.setattr(catalog, "shape", broken)
    with pytest.raises(RuntimeError, match="catalogue bug"):
        resolve(loaded, "dev")


@pytest.mark.parametrize("org", ALL_ORGS, ids=lambda p: p.name)
def test_spec_names_are_valid_and_unique_per_environment(org):
    """What validation accepted resolves without a check: every name is made, none twice."""
    loaded = load(org)
    for env in loaded.environments:
        spec = resolve(loaded, env)
        seen: dict[str, str] = {}
        for team in spec.teams.values():
            names = [
                *(n for n in vars(team.names).values() if n),
                *(n for p in team.pools.values() for n in (p.node_pool_name,
                                                            p.node_identity_name)),
                *(b.bucket_name for b in team.buckets.values()),
                *(p.job_name for p in team.pipelines.values()),
            ]
            for name in names:
                owner = seen.setdefault(name, team.name)
                assert owner == team.name, (
                    f"{org.name} {env}: '{name}' is a name of team {team.name} and {owner}")
