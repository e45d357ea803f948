"""The import graph shows the architecture: one-way, acyclic, SDK internals behind two seams.

Every module under ``components/``, ``stacks/`` and ``policies/`` is parsed (``ast``, nothing
imported) and every import statement counts, at module level or inside a function, except
those under ``if TYPE_CHECKING:`` (they never run). Importing ``a.b.c`` also runs ``a`` and
``a.b``, so those are edges too. The rules:

1. no import cycle anywhere (a cycle means neither module can be understood, or imported,
   without the other);
2. data flows one way: ``components`` imports neither ``stacks`` nor ``policies`` (it knows
   nothing of org.yaml), and ``policies`` never imports ``stacks`` (the pack runs alone under
   ``pulumi preview --policy-pack``), not even under ``TYPE_CHECKING``;
3. SDK internals (an underscore name, or a module outside :data:`PUBLIC_SDK_MODULES`) are
   reached only through the seams ``stacks/plan/sdk.py`` and ``policies/sdk.py``, whose uses
   the tripwire (``tests/engine/test_sdk_tripwire.py``) pins.
"""

from __future__ import annotations

import ast
import importlib
import itertools
import types
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import ROOT

PACKAGES = ("components", "stacks", "policies")

#: Cycles known to exist and being removed, each with the issue that removes it; empty since
#: issue 16's layout work removed load <-> resolve and yamlsrc <-> yamlnodes. An entry whose
#: cycle is gone fails the test, so the list cannot go stale.
KNOWN_CYCLES: dict[frozenset[str], str] = {}

#: The only modules allowed to touch SDK internals.
SEAMS = ("stacks.plan.sdk", "policies.sdk")

#: SDK modules whose public names anyone may use: the documented API, ``pulumi.runtime``'s
#: ``__all__`` (which includes its ``rpc`` submodule), the generated protobuf modules (the
#: engine's wire protocol) and the component provider host.
PUBLIC_SDK_MODULES = ("pulumi", "pulumi.runtime", "pulumi.runtime.rpc",
                      "pulumi.runtime.proto", "pulumi.provider.experimental", "pulumi_policy",
                      "pulumi.log")  # pulumi.log.warn: the documented way to warn in a program
SDK_ROOTS = ("pulumi", "pulumi_policy")


@dataclass(frozen=True)
class Import:
    source: str  # importing module
    target: str  # imported module (internal) or SDK module
    names: tuple[str, ...]  # names imported from target (from-imports)
    line: int
    type_checking: bool

    def where(self) -> str:
        return f"{module_path(self.source)}:{self.line}"


def module_path(module: str) -> str:
    path = ROOT / Path(*module.split("."))
    return str((path / "__init__.py" if path.is_dir() else path.with_suffix(".py"))
               .relative_to(ROOT))


def modules() -> dict[str, Path]:
    out: dict[str, Path] = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            out[".".join(parts)] = path
    return out


MODULES = modules()


def _is_package(module: str) -> bool:
    return MODULES.get(module, Path()).name == "__init__.py"


def _type_checking_lines(tree: ast.AST) -> set[int]:
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.body:
                lines.update(range(child.lineno, (child.end_lineno or child.lineno) + 1))
    return lines


def imports_of(module: str) -> Iterator[Import]:
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    guarded = _type_checking_lines(tree)
    package = module if _is_package(module) else module.rpartition(".")[0]
    for node in ast.walk(tree):
        tc = getattr(node, "lineno", 0) in guarded
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield Import(module, alias.name, (), node.lineno, tc)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - node.level + 1]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            yield Import(module, target, tuple(a.name for a in node.names), node.lineno, tc)


ALL_IMPORTS = [imp for module in MODULES for imp in imports_of(module)]


def internal_edges(imp: Import) -> set[str]:
    """The internal modules an import runs: the target, its packages, imported submodules.

    The importing module's own packages are left out: they are already being imported when it
    runs (``from components.aws import _iam`` inside ``components/aws/bucket.py`` imports the
    submodule, not the half-initialised package again)."""
    if imp.target.split(".")[0] not in PACKAGES:
        return set()
    parts = imp.target.split(".")
    out = {".".join(parts[:i]) for i in range(1, len(parts) + 1)} & MODULES.keys()
    out |= {f"{imp.target}.{name}" for name in imp.names} & MODULES.keys()
    return {m for m in out if m != imp.source and not imp.source.startswith(m + ".")}


def graph() -> dict[str, dict[str, Import]]:
    """module -> {imported module: the (first) import statement that makes the edge}."""
    out: dict[str, dict[str, Import]] = {m: {} for m in MODULES}
    for imp in ALL_IMPORTS:
        if imp.type_checking:
            continue
        for target in internal_edges(imp):
            out[imp.source].setdefault(target, imp)
    return out


def strongly_connected(edges: dict[str, dict[str, Import]]) -> list[set[str]]:
    """Tarjan's algorithm, iterative: the components with more than one module."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[set[str]] = []
    counter = 0
    for root in sorted(edges):
        if root in index:
            continue
        work = [(root, iter(sorted(edges[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges[child]))))
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = set()
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.add(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        found.append(component)
    return found


def describe_cycle(component: set[str], edges: dict[str, dict[str, Import]]) -> str:
    """One concrete cycle through ``component``, each step with its import line."""
    start = min(component)
    paths = {start: [start]}
    queue = [start]
    while queue:  # shortest way back to start, inside the component
        node = queue.pop(0)
        for child in sorted(edges[node]):
            if child not in component:
                continue
            if child == start:
                cycle = [*paths[node], start]
                return "\n".join(f"  {a} -> {b}  ({edges[a][b].where()})"
                                 for a, b in itertools.pairwise(cycle))
            if child not in paths:
                paths[child] = [*paths[node], child]
                queue.append(child)
    return "  " + " <-> ".join(sorted(component))


def test_the_graph_sees_every_kind_of_import() -> None:
    """The parser itself: relative, function-level and from-package imports are edges."""
    edges = graph()
    assert "stacks.plan.sdk" in edges["stacks.plan.engine"], "from stacks.plan import sdk"
    assert "stacks.compose.program" in edges["stacks.plan.engine"], "a function-level import"
    assert "stacks.org.spec" in edges["stacks.plan.engine"]
    assert "stacks.org" in edges["stacks.plan.engine"], "importing a.b.c runs package a.b"
    assert "stacks.plan" not in edges["stacks.plan.engine"], "its own package is already running"
    assert len(MODULES) > 60 and all(m.split(".")[0] in PACKAGES for m in MODULES)
    imp = ALL_IMPORTS[0]
    fake = {"a": {"b": imp}, "b": {"c": imp}, "c": {"a": imp}, "d": {"a": imp}, "e": {}}
    assert strongly_connected(fake) == [{"a", "b", "c"}]
    assert describe_cycle({"a", "b", "c"}, fake).count("->") == 3


def test_no_import_cycles() -> None:
    edges = graph()
    problems = []
    cycles = strongly_connected(edges)
    for component in cycles:
        if frozenset(component) in KNOWN_CYCLES:
            continue
        problems.append(f"import cycle between {', '.join(sorted(component))}:\n"
                        f"{describe_cycle(component, edges)}")
    present = {frozenset(c) for c in cycles}
    for known, why in KNOWN_CYCLES.items():
        if known not in present:
            problems.append(f"the known cycle {' <-> '.join(sorted(known))} ({why}) is gone: "
                            "remove its KNOWN_CYCLES entry in tests/architecture/test_imports.py")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize(("layer", "forbidden", "why"), [
    ("policies", ("stacks",), "the pack runs alone under `pulumi preview --policy-pack` and must "
                              "never need the org layer"),
    ("components", ("stacks", "policies"), "components know nothing of org.yaml or the pack"),
])
def test_one_way_data_flow(layer: str, forbidden: tuple[str, ...], why: str) -> None:
    bad = [f"{imp.where()}: {imp.source} imports {imp.target}"
           + (f" ({', '.join(imp.names)})" if imp.names else "")
           for imp in ALL_IMPORTS if imp.source.split(".")[0] == layer
           and imp.target.split(".")[0] in forbidden]
    assert not bad, f"{layer}/ must not import {' or '.join(forbidden)}/ ({why}):\n" + \
        "\n".join(bad)


def _public_module(name: str) -> bool:
    return any(name == p or (name.startswith(p + ".") and p == "pulumi.runtime.proto")
               for p in PUBLIC_SDK_MODULES)


def _private_uses(module: str) -> Iterator[str]:
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    aliases: dict[str, str] = {}  # local name -> SDK module it is bound to
    for imp in imports_of(module):
        root = imp.target.split(".")[0]
        if root not in SDK_ROOTS:
            continue
        if any(part.startswith("_") for part in imp.target.split(".")) or (
                not _public_module(imp.target)):
            yield f"{imp.where()}: imports from {imp.target}, which is not public SDK API"
            continue
        for name in imp.names:
            if name.startswith("_"):
                yield f"{imp.where()}: imports {imp.target}.{name}, a private SDK name"
            elif isinstance(getattr(importlib.import_module(imp.target), name, None),
                            types.ModuleType) and not _public_module(f"{imp.target}.{name}"):
                yield f"{imp.where()}: imports {imp.target}.{name}, not a public SDK module"
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] in SDK_ROOTS:
                    aliases[alias.asname or alias.name.split(".")[0]] = (
                        alias.name if alias.asname else alias.name.split(".")[0])
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] in SDK_ROOTS:
            for alias in node.names:
                aliases[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    for node in ast.walk(tree):
        if not isinstance(node, ast.Attribute):
            continue
        chain: list[str] = []
        value: ast.expr = node
        while isinstance(value, ast.Attribute):
            chain.insert(0, value.attr)
            value = value.value
        if not isinstance(value, ast.Name) or value.id not in aliases:
            continue
        dotted = aliases[value.id]
        for attr in chain:
            if attr.startswith("_") and not attr.startswith("__"):
                yield (f"{module_path(module)}:{node.lineno}: uses {dotted}.{attr}, "
                       "a private SDK name")
                break
            try:
                obj = importlib.import_module(dotted)
            except ImportError:
                break  # past the modules: attributes of a class or value
            dotted = f"{dotted}.{attr}"
            if isinstance(getattr(obj, attr, None), types.ModuleType) and not _public_module(
                    dotted):
                yield (f"{module_path(module)}:{node.lineno}: uses {dotted}, not a public "
                       "SDK module")
                break


def test_sdk_internals_only_through_the_seams() -> None:
    bad = sorted({use for module in MODULES if module not in SEAMS
                  for use in _private_uses(module)})
    assert not bad, ("SDK internals outside stacks/plan/sdk.py and policies/sdk.py (put them "
                     "behind a seam, with a pin for the tripwire):\n" + "\n".join(bad))


def test_the_seams_are_seen_as_touching_internals() -> None:
    """The check above can fail: the seams themselves use private names."""
    for seam in SEAMS:
        assert list(_private_uses(seam)), f"{seam} is expected to use SDK internals"
