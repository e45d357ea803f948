"""``trellis handoff``: write the handoff bundle (README.md, teams/<team>.md, index.html).

The body of the command; :mod:`stacks.cli.app` owns the options and error handling. Plans every
chosen environment offline, gathers what each team got (:mod:`stacks.handoff.model`) and
writes the bundle deterministically: the same org file gives byte-identical files.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from stacks.handoff import HandoffError, build, render, write
from stacks.handoff.promises import cited_stand_ins
from stacks.org.load import LoadedOrg
from stacks.org.spec import EnvSpec
from stacks.plan.engine import Plan


def handoff_command(loaded: LoadedOrg, *, envs: list[str] | None, out: Path,
                    console: Console | None = None, strict: bool = False,
                    plans: Mapping[str, Plan] | None = None, jobs: int = 1) -> int:
    """Plan ``envs`` (default: every environment) of ``loaded`` and write the bundle to ``out``.

    ``plans``: saved plans per environment name, used instead of planning those again;
    ``jobs``: worker processes for the plans that are made.

    Returns 0 when written, 1 when the plan lacks what the bundle needs, or (``strict``) when
    any step of a team's page is not backed by a planned grant (the bundle is written anyway,
    each unbacked step with its ready-to-paste request) or a page cites a value the offline
    plan made up (a stand-in for what only ``pulumi up`` reads). An unknown environment
    raises :class:`~stacks.org.errors.OrgError` before anything is planned (the CLI reports it like
    any org error); a failing plan raises :class:`~stacks.plan.engine.PlanError`.
    """
    con = console or Console(stderr=True, highlight=False,
                             width=None if sys.stderr.isatty() else 100)

    saved = dict(plans or {})

    def progress(spec: EnvSpec) -> None:
        doing = "using the saved plan of" if spec.name in saved else "planning"
        con.print(f"{doing} {spec.name} ({spec.cloud}, {spec.tier}) …", markup=False)

    try:
        bundle = build(loaded, envs, progress=progress, plans=saved, jobs=jobs)
    except HandoffError as exc:
        con.print(f"[red]error:[/red] {escape(str(exc))}")
        return 1
    files = render(bundle)
    written = write(files, out)
    teams = ", ".join(t.name for t in bundle.teams) or "none"
    envs_done = ", ".join(e.name for e in bundle.environments)
    con.print(f"wrote {len(written)} files to {out}: README.md, index.html and "
              f"{len(bundle.teams)} team page(s) ({teams}) for {envs_done}", markup=False)
    con.print(f"open {out / 'index.html'} in a browser, or commit {out}/ for the teams",
              markup=False)
    unbacked = [(e.name, t, v) for e in bundle.environments for t, te in e.teams.items()
                for v in te.promises.unbacked]
    for env_name, team, verdict in unbacked:
        con.print(f"not backed: {env_name}/{team}: {verdict.step.title}: "
                  + "; ".join(verdict.missing), markup=False)
    if unbacked:
        con.print(f"{len(unbacked)} step(s) of the guide are not backed by the plan; each page "
                  "says what to ask for" + (" (--strict: exit 1)" if strict else ""),
                  markup=False)
    made_up = {v for e in bundle.environments for v in e.stand_ins}
    cited = cited_stand_ins(made_up, files)
    for name, value in cited:
        con.print(f"cites a stand-in: {name}: {value} is made up by the offline plan (only "
                  "pulumi up reads the real value); a recipe built on it fails", markup=False)
    return 1 if strict and (unbacked or cited) else 0
