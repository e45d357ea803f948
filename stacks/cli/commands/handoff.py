"""``trellis handoff``: write the handoff bundle (README.md, teams/<team>.md, index.html).

The body of the command; :mod:`stacks.cli.app` owns the options and error handling. Plans every
chosen environment offline, gathers what each team got (:mod:`stacks.handoff.model`) and
writes the bundle deterministically: the same org file gives byte-identical files.
"""

from __future__ import annotations

import sys
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from stacks.handoff import HandoffError, build, render, write
from stacks.org.load import LoadedOrg
from stacks.org.spec import EnvSpec


def handoff_command(loaded: LoadedOrg, *, envs: list[str] | None, out: Path,
                    console: Console | None = None, strict: bool = False) -> int:
    """Plan ``envs`` (default: every environment) of ``loaded`` and write the bundle to ``out``.

    Returns 0 when written, 1 when the plan lacks what the bundle needs, or (``strict``) when
    any step of a team's page is not backed by a planned grant (the bundle is written anyway,
    each unbacked step with its ready-to-paste request). An unknown environment
    raises :class:`~stacks.org.errors.OrgError` before anything is planned (the CLI reports it like
    any org error); a failing plan raises :class:`~stacks.plan.engine.PlanError`.
    """
    con = console or Console(stderr=True, highlight=False,
                             width=None if sys.stderr.isatty() else 100)

    def progress(spec: EnvSpec) -> None:
        con.print(f"planning {spec.name} ({spec.cloud}, {spec.tier}) …", markup=False)

    try:
        bundle = build(loaded, envs, progress=progress)
    except HandoffError as exc:
        con.print(f"[red]error:[/red] {escape(str(exc))}")
        return 1
    written = write(render(bundle), out)
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
    return 1 if strict and unbacked else 0
