"""Human output for ``trellis plan``: the resource tree grouped by component, in 80 columns."""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

from rich.console import Console
from rich.text import Text

from stacks.engine import Plan, PlannedResource


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
    notes = annotations or {}
    known = {r.urn for r in plan.resources}
    children: dict[str | None, list[PlannedResource]] = defaultdict(list)
    for r in plan.resources:
        children[r.parent if r.parent in known else None].append(r)
    lines: list[Text] = []

    def walk(parent: str | None, prefix: str) -> None:
        kids = children.get(parent, [])
        for i, r in enumerate(kids):
            last = i == len(kids) - 1
            line = Text(prefix + ("└─ " if last else "├─ "), style="dim")
            line.append_text(_label(r, notes))
            lines.append(line)
            walk(r.urn, prefix + ("   " if last else "│  "))

    walk(None, "")
    return lines


def summary(plan: Plan) -> list[str]:
    cloud = sum(1 for r in plan.resources if r.custom and not r.type.startswith("pulumi:"))
    components = sum(1 for r in plan.resources if not r.custom)
    protected = sum(1 for r in plan.resources if r.protect)
    by_kind = Counter(short_type(r.type).split(":")[1] for r in plan.resources if r.custom
                      and not r.type.startswith("pulumi:"))
    top = ", ".join(f"{k} {n}" for k, n in by_kind.most_common(6))
    return [f"{plan.environment} ({plan.cloud}, {plan.tier}): {len(plan.resources)} resources: "
            f"{cloud} cloud resources, {components} components, {protected} protected",
            f"by service: {top}"]


def render_plan_tree(plan: Plan, spec: Any = None, console: Console | None = None,
                     annotations: dict[str, str] | None = None) -> None:
    """Print the tree and a summary (colour only on a terminal)."""
    out = console or Console(width=None if _isatty() else 100, highlight=False)
    out.print(Text(f"Plan of {plan.org}/{plan.environment}", style="bold"))
    for line in tree_lines(plan, annotations):
        line.truncate(out.width, overflow="ellipsis")
        out.print(line, soft_wrap=False)
    out.print()
    for text in summary(plan):
        out.print(text)


def _isatty() -> bool:
    import sys

    return sys.stdout.isatty()
