"""``trellis diff OLD NEW --env E``: the plan of each file, compared; data loss first, in red."""

from __future__ import annotations

import json
from pathlib import Path

from rich.console import Console

from stacks.org.load import load
from stacks.org.resolve import resolve
from stacks.plan.engine import plan
from stacks.report.diff import PlanDiff, diff_plans


def _short(urn: str) -> str:
    """The readable tail of a URN: ``gcp:storage/bucket:Bucket::acme-dev-x``."""
    qualified, name = urn.split("::")[2:4]
    return f"{qualified.split('$')[-1]}::{name}"


def render_text(d: PlanDiff, console: Console) -> None:
    if d.data_loss:
        console.print(f"[bold red]DATA LOSS: {len(d.data_loss)} stateful resource(s) would be "
                      "deleted or replaced[/bold red]")
        for urn in d.data_loss:
            console.print(f"[red]  ✗ {_short(urn)}[/red]")
        console.print("[red]  Keep them: rename with previous_names, or retire them on purpose "
                      "(see README: retiring a team).[/red]\n")
    if not (d.added or d.removed or d.changed):
        console.print(f"{d.environment}: no changes")
        return
    for label, style, urns in (("added", "green", [r.urn for r in d.added]),
                               ("removed", "red", [r.urn for r in d.removed])):
        if urns:
            console.print(f"[{style}]{label} ({len(urns)})[/{style}]")
            for urn in urns:
                console.print(f"  {'+' if label == 'added' else '-'} {_short(urn)}")
    if d.changed:
        console.print(f"[yellow]changed ({len(d.changed)})[/yellow]")
        for c in d.changed:
            mark = "±" if c.replace else "~"
            what = ", ".join(c.properties) or "(logical name only)"
            note = " [red]REPLACE[/red]" if c.replace else ""
            renamed = f" (was {_short(c.old_urn)})" if c.old_urn else ""
            console.print(f"  {mark} {_short(c.urn)}{renamed}: {what}{note}")
    console.print(f"\n{len(d.added)} to add, {len(d.changed)} to change "
                  f"({len(d.replaced)} replaced), {len(d.removed)} to delete")


def diff_command(old: Path, new: Path, *, env: str, fmt: str, fail_on_data_loss: bool,
                 console: Console) -> int:
    """Plan both files for ``env`` and print the difference; returns the exit status."""
    old_loaded, new_loaded = load(old), load(new)
    result = diff_plans(plan(resolve(old_loaded, env)), plan(resolve(new_loaded, env)))
    if fmt == "json":
        console.print_json(json.dumps(result.to_json()))
    else:
        render_text(result, console)
    return 1 if fail_on_data_loss and result.data_loss else 0
