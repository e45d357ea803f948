"""``trellis diff OLD NEW --env E``: the plan of each file, compared; data loss first, in red."""

from __future__ import annotations

import json
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from stacks.org.errors import Issue, OrgError, did_you_mean
from stacks.org.load import load
from stacks.org.loaded import LoadedOrg
from stacks.org.resolve import resolve
from stacks.plan.engine import Plan, plan
from stacks.report.diff import PlanDiff, diff_plans, short_urn

#: What to do, per kind of data loss (once per kind present).
HINTS = {
    "deleted": "Keep them: rename with previous_names instead of removing an entry, or retire "
               "them on purpose (README: retiring a team).",
    "replaced": "A replaced resource starts empty: copy its data first, or keep the property "
                "that forces the replacement (a region, an account, a name) as it is.",
    "unprotected": "Production tiers protect and retain what holds data; keep tier: production "
                   "where the data matters.",
    "objects_expire": "Lifecycle rules delete objects for good; copy what must stay first.",
}


def render_text(d: PlanDiff, console: Console) -> None:
    losses, warnings = d.losses, d.warnings
    if losses:
        console.print(f"[bold red]DATA LOSS: {len(losses)} change(s) lose data[/bold red]")
        for f in losses:
            console.print(f"[red]  ✗ {escape(f.message)}[/red]")
        for hint in dict.fromkeys(HINTS[f.kind] for f in losses if f.kind in HINTS):
            console.print(f"[red]  {escape(hint)}[/red]")
        console.print()
    if warnings:
        console.print(f"[bold yellow]WARNINGS ({len(warnings)})[/bold yellow]")
        for f in warnings:
            console.print(f"[yellow]  ! {escape(f.message)}[/yellow]")
        console.print()
    if not (d.added or d.removed or d.changed):
        console.print(f"{d.environment}: no changes")
        return
    for label, style, urns in (("added", "green", [r.urn for r in d.added]),
                               ("removed", "red", [r.urn for r in d.removed])):
        if urns:
            console.print(f"[{style}]{label} ({len(urns)})[/{style}]")
            for urn in urns:
                console.print(f"  {'+' if label == 'added' else '-'} {escape(short_urn(urn))}")
    if d.changed:
        console.print(f"[yellow]changed ({len(d.changed)})[/yellow]")
        for c in d.changed:
            mark = "±" if c.replace else "~"
            what = ", ".join(c.properties) or (
                "(logical name only)" if c.old_urn else "(no input of its own)")
            note = f" [red]REPLACE[/red] ({escape('; '.join(c.reasons))})" if c.replace else ""
            renamed = f" (was {escape(short_urn(c.old_urn))})" if c.old_urn else ""
            console.print(f"  {mark} {escape(short_urn(c.urn))}{renamed}: {escape(what)}{note}")
    console.print(f"\n{len(d.added)} to add, {len(d.changed)} to change "
                  f"({len(d.replaced)} replaced), {len(d.removed)} to delete")


def _plan_of(loaded: LoadedOrg, env: str, jobs: int = 1) -> Plan:
    """The plan of ``env``, or an empty one when the file does not define it: an environment
    added (or removed) is all additions (or all deletions)."""
    if env in loaded.environments:
        return plan(resolve(loaded, env), jobs=jobs)
    org = loaded.org
    return Plan(org=org.org, cloud=org.cloud, environment=env, tier="", resources=[])


def diff_command(old: Path, new: Path, *, env: str, fmt: str, fail_on_data_loss: bool,
                 console: Console, old_plan: Plan | None = None, new_plan: Plan | None = None,
                 jobs: int = 1) -> int:
    """Plan both files for ``env`` and print the difference; returns the exit status.

    ``old_plan``/``new_plan``: saved plans of the files (``--old-plan``/``--plan``), used
    instead of planning them again; ``jobs``: worker processes for the plans that are made.
    """
    old_loaded, new_loaded = load(old), load(new)
    if env not in old_loaded.environments and env not in new_loaded.environments:
        known = tuple(dict.fromkeys((*old_loaded.environments, *new_loaded.environments)))
        raise OrgError([Issue(f"environment '{env}' is defined in neither file"
                              f"{did_you_mean(env, known)}; defined: {', '.join(known)}",
                              ("environments",), str(new))])
    before = old_plan if old_plan is not None else _plan_of(old_loaded, env, jobs)
    after = new_plan if new_plan is not None else _plan_of(new_loaded, env, jobs)
    result = diff_plans(before, after)
    if fmt == "json":
        console.print_json(json.dumps(result.to_json()))
    else:
        render_text(result, console)
    return 1 if fail_on_data_loss and result.data_loss else 0
