"""Human output for ``trellis plan``: the resource tree grouped by component, in 80 columns."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from rich.console import Console
from rich.text import Text

from stacks.plan.engine import Plan, PlannedResource


def short_type(type_: str) -> str:
    """``gcp:storage/bucket:Bucket`` -> ``gcp:storage:Bucket``; component tokens unchanged."""
    parts = type_.split(":")
    if len(parts) == 3 and "/" in parts[1]:
        return f"{parts[0]}:{parts[1].split('/')[0]}:{parts[2]}"
    return type_


def _label(r: PlannedResource, annotations: dict[str, str]) -> Text:
    text = Text(r.name, style="bold" if not r.custom else "")
    text.append(f"  {short_type(r.type)}", style="dim")
    flags = [f for f, on in (("protected", r.protect), ("retained", r.retain_on_delete)) if on]
    if flags:
        text.append(f"  [{', '.join(flags)}]", style="yellow")
    if r.urn in annotations:
        text.append(f"  {annotations[r.urn]}", style="cyan")
    return text


def tree_lines(plan: Plan, annotations: dict[str, str] | None = None) -> list[Text]:
    """The plan as indented lines, children under their component."""
    return [line for line, _ in tree_rows(plan, annotations)]


def tree_rows(plan: Plan, annotations: dict[str, str] | None = None) -> list[tuple[Text, str]]:
    """Each line of the tree with the guides a continuation of it starts with when wrapped
    (the sibling guide of its level, then its children's guide)."""
    notes = annotations or {}
    known = {r.urn for r in plan.resources}
    children: dict[str | None, list[PlannedResource]] = defaultdict(list)
    for r in plan.resources:
        children[r.parent if r.parent in known else None].append(r)
    rows: list[tuple[Text, str]] = []

    def walk(parent: str | None, prefix: str) -> None:
        kids = children.get(parent, [])
        for i, r in enumerate(kids):
            last = i == len(kids) - 1
            line = Text(prefix + ("└─ " if last else "├─ "), style="dim")
            line.append_text(_label(r, notes))
            below = prefix + ("   " if last else "│  ")
            rows.append((line, below + ("│  " if children.get(r.urn) else "   ") + "  "))
            walk(r.urn, below)

    walk(None, "")
    return rows


def wrapped_tree_lines(plan: Plan, width: int,
                       annotations: dict[str, str] | None = None) -> list[Text]:
    """The tree in ``width`` columns: a long line continues on the next one under its guides,
    broken at spaces (a name, type or amount is never cut)."""
    from stacks.report.width import wrap_words

    out: list[Text] = []
    for line, cont in tree_rows(plan, annotations):
        if line.cell_len <= width:
            out.append(line)
            continue
        parts = wrap_words(line, width, len(cont))
        out.append(parts[0])
        out.extend(Text(cont, style="dim") + part[len(cont):] for part in parts[1:])
    return out


def _is_cloud(r: PlannedResource) -> bool:
    """Created in the cloud by `pulumi up` (not a component, not a provider)."""
    return bool(r.custom) and not r.type.startswith("pulumi:")


def _provider_urn(ref: str | None) -> str | None:
    # A provider reference is "<provider URN>::<provider id>"; a URN has exactly three "::".
    if not ref:
        return None
    return ref.rsplit("::", 1)[0] if ref.count("::") >= 4 else ref


def waits_for(plan: Plan | Sequence[PlannedResource]) -> dict[str, list[str]]:
    """For each resource, the resources `pulumi up` must finish before it can start.

    The model (the engine's, as far as ordering goes):

    - everything in ``dependencies``: explicit ``depends_on`` and every resource one of its
      inputs came from (the SDK already expands a dependency on a component into the
      component's children; we expand any that is left);
    - its provider: a provider is configured from its inputs, so the kubernetes provider, built
      from the cluster's endpoint, makes every in-cluster object wait for the cluster;
    - its parent only when the parent is a custom resource: a child is registered with its
      parent's URN, which the engine returns once the parent exists. A component is
      registered, never created, so its children do not wait for each other through it.
    """
    resources = plan.resources if isinstance(plan, Plan) else plan
    by_urn = {r.urn: r for r in resources}
    children: dict[str, list[str]] = defaultdict(list)
    for r in resources:
        if r.parent in by_urn:
            children[r.parent].append(r.urn)

    def expand(urn: str) -> Iterable[str]:
        node = by_urn.get(urn)
        if node is None:
            return ()
        if node.custom:
            return (urn,)
        out: list[str] = []
        stack = list(children.get(urn, ()))
        while stack:
            child = stack.pop()
            if by_urn[child].custom:
                out.append(child)
            else:
                stack.extend(children.get(child, ()))
        return out

    edges: dict[str, list[str]] = {}
    for r in resources:
        deps: set[str] = set()
        for d in r.dependencies:
            deps.update(expand(d))
        provider = _provider_urn(r.provider)
        if provider in by_urn:
            deps.add(provider)
        if r.parent in by_urn and by_urn[r.parent].custom:
            deps.add(r.parent)
        deps.discard(r.urn)
        edges[r.urn] = sorted(deps)
    return edges


def critical_path(plan: Plan | Sequence[PlannedResource]) -> list[str]:
    """The longest chain of resources `pulumi up` has to create one after the other.

    Over :func:`waits_for`; each cloud resource weighs 1, providers and components 0 (nothing
    is created in the cloud). However many CPUs or ``--parallel`` slots, a deployment takes
    at least the sum of these resources' creation times. URNs from first to last; among
    chains of equal length the one whose URNs sort first, so the answer is stable.
    """
    resources = plan.resources if isinstance(plan, Plan) else plan
    by_urn = {r.urn: r for r in resources}
    edges = waits_for(resources)
    # Longest path in a DAG, iteratively (no recursion limit on deep chains).
    best: dict[str, tuple[int, str | None]] = {}  # urn -> (cloud resources up to it, previous)
    for start in sorted(edges):
        stack = [start]
        while stack:
            urn = stack[-1]
            if urn in best:
                stack.pop()
                continue
            pending = [d for d in edges[urn] if d not in best]
            if pending:
                stack.extend(pending)
                continue
            stack.pop()
            prev = min(edges[urn], key=lambda d: (-best[d][0], d), default=None)
            depth = best[prev][0] if prev is not None else 0
            best[urn] = (depth + (1 if _is_cloud(by_urn[urn]) else 0), prev)
    if not best:
        return []
    end: str | None = min(best, key=lambda u: (-best[u][0], u))
    chain: list[str] = []
    while end is not None:
        chain.append(end)
        end = best[end][1]
    return chain[::-1]


def critical_path_line(plan: Plan) -> str:
    """``critical path: 6 cloud resources: network -> cluster -> ...`` for the summary."""
    by_urn = plan.by_urn()
    chain = [by_urn[u] for u in critical_path(plan)]
    steps = [r.name for r in chain if _is_cloud(r)]
    return (f"critical path: {len(steps)} cloud resource{'s' if len(steps) != 1 else ''} "
            f"one after another: {' -> '.join(steps) or 'none'}")


def summary(plan: Plan) -> list[str]:
    cloud = sum(1 for r in plan.resources if _is_cloud(r))
    components = sum(1 for r in plan.resources if not r.custom)
    protected = sum(1 for r in plan.resources if r.protect)
    by_kind = Counter(short_type(r.type).split(":")[1] for r in plan.resources if _is_cloud(r))
    top = ", ".join(f"{k} {n}" for k, n in by_kind.most_common(6))
    return [f"{plan.environment} ({plan.cloud}, {plan.tier}): {len(plan.resources)} resources: "
            f"{cloud} cloud resources, {components} components, {protected} protected",
            f"by service: {top}",
            critical_path_line(plan)]


def render_plan_tree(plan: Plan, spec: Any = None, console: Console | None = None,
                     annotations: dict[str, str] | None = None) -> None:
    """Print the tree and a summary (colour only on a terminal)."""
    out = console or Console(width=None if _isatty() else 100, highlight=False)
    out.print(Text(f"Plan of {plan.org}/{plan.environment}", style="bold"))
    lines = wrapped_tree_lines(plan, out.width, annotations)  # out.width asks the terminal
    if out.color_system is None and not out.is_jupyter:
        # Nothing to style (a pipe, a CI log): each line is its plain text, which is what Rich
        # would print, at a tenth of the cost (Rich renders ~5,000 lines a second).
        out.file.write("".join(f"{line.plain}\n" for line in lines))
    else:
        for line in lines:
            out.print(line, soft_wrap=False)
    out.print()
    for text in summary(plan):
        out.print(text)


def _isatty() -> bool:
    import sys

    return sys.stdout.isatty()
