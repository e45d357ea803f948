"""``trellis cost``: monthly cost of one environment per team and GPU pool, against budgets.

The body of the command; :mod:`stacks.cli.app` owns the options and error handling. Always exits
0 (DESIGN.md): an over-budget team is reported here and enforced by TRL-COST-001 in
``trellis check``.
"""

from __future__ import annotations

import json
import sys

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from components import budget_fit
from stacks.org.spec import EnvSpec
from stacks.report.cost import SCOPE_NOTE, CostReport, TeamCost, estimate, fits_at_min, usd

WIDTH = 100  # columns when not writing to a terminal


def cost_command(env: EnvSpec, *, fmt: str = "table", console: Console | None = None) -> int:
    """Print the cost report of ``env`` as ``table`` (for people) or ``json``; return 0."""
    out = console or Console(width=None if sys.stdout.isatty() else WIDTH, highlight=False)
    report = estimate(env)
    if fmt == "json":
        out.out(json.dumps(report.to_json(), indent=2), highlight=False)
        return 0
    if fmt != "table":
        raise ValueError(f"unknown format {fmt!r}; expected table or json")
    render_table(report, out)
    return 0


def cost_command_all(envs: list[EnvSpec], *, fmt: str = "table",
                     console: Console | None = None) -> int:
    """Every environment's cost report, one after the other (``--env all``); return 0."""
    out = console or Console(width=None if sys.stdout.isatty() else WIDTH, highlight=False)
    reports = [estimate(env) for env in envs]
    if fmt == "json":
        doc = {"environment": "all", "environments": [r.to_json() for r in reports],
               "total_idle_monthly_usd": round(sum(r.total_idle_monthly_usd for r in reports), 2),
               "total_max_monthly_usd": round(sum(r.total_max_monthly_usd for r in reports), 2)}
        out.out(json.dumps(doc, indent=2), highlight=False)
        return 0
    if fmt != "table":
        raise ValueError(f"unknown format {fmt!r}; expected table or json")
    for i, report in enumerate(reports):
        if i:
            out.print()
            out.rule(style="dim")
        render_table(report, out)
    out.print()
    out.print(Text(f"All {len(reports)} environments: idle "
                   f"{sum(r.total_idle_monthly_usd for r in reports):,.2f}, max "
                   f"{sum(r.total_max_monthly_usd for r in reports):,.2f} USD/month",
                   style="bold"))
    return 0


def _money(value: float) -> str:
    """Whole dollars in the table (budgets are whole dollars); JSON keeps cents."""
    return f"{value:,.0f}"


#: Beside a node-hour price: how the pool's nodes are obtained (on demand: none).
MARKS = {"spot": " S", "flex-start": " F", "reservation": " R"}


def _status(team: TeamCost) -> Text:
    """Budget verdict, in the team row's (otherwise empty) machine column."""
    if team.budget_usd is not None and not team.budget_comparable:
        return Text(f"budget in {team.budget_currency}: not compared", style="dim")
    if team.headroom_usd is None:
        return Text("no budget set", style="dim")
    if team.over_budget:
        return Text(f"OVER budget by {_money(-team.headroom_usd)}", style="bold red")
    return Text(f"within budget, {_money(team.headroom_usd)} spare", style="green")


def teams_table(report: CostReport, width: int | None = None) -> Table:
    """One section per team: its totals against the budget, then its pools.

    Fits 80 columns without cutting a figure: money, prices and node ranges never wrap or
    shrink (each column is at least as wide as its widest figure), names are never cut,
    and the machine/status column and the headers wrap at spaces instead."""
    rows: list[list[Text | str]] = []
    sections: list[bool] = []
    for i, team in enumerate(report.teams):
        style = "bold red" if team.over_budget else "bold"
        budget = "—" if team.budget_usd is None else _money(team.budget_usd)
        if team.budget_usd is not None and not team.budget_comparable:
            budget += f" {team.budget_currency}"
        rows.append([Text(team.team, style=style), _status(team), "", "",
                     Text(_money(team.idle_monthly_usd), style=style),
                     Text(_money(team.max_monthly_usd), style=style), Text(budget, style=style)])
        sections.append(False)
        for j, pool in enumerate(team.pools):
            price = f"{pool.node_hour_usd:,.4f}" + MARKS.get(pool.capacity, "  ")
            rows.append([f"  {pool.pool}",
                         f"{pool.machine_type} ({pool.gpus_per_node}×{pool.accelerator})",
                         price, f"{pool.min_nodes}–{pool.max_nodes}",
                         _money(pool.idle_monthly_usd), _money(pool.max_monthly_usd), ""])
            sections.append(j == len(team.pools) - 1 and i < len(report.teams) - 1)

    def widest(col: int) -> int:
        return max((len(str(r[col])) for r in rows), default=1)

    headers = ("Team / pool", "Machine (GPUs)", "$/node-h", "Nodes", "Idle $/mo", "Max $/mo",
               "Budget $/mo")
    gaps = 3 * (len(headers) - 1)  # SIMPLE_HEAD: padding, a blank divider, padding
    natural = [max(len(h), widest(c)) for c, h in enumerate(headers)]
    if width is None or sum(natural) + gaps <= width:
        fixed: list[int | None] = [None] * len(headers)
    else:
        # Too wide: every figure keeps its full width (the header wraps at its spaces), the
        # names keep theirs, and the machine/status column takes what is left, wrapped.
        fixed = [max(widest(c), *(len(w) for w in h.split())) for c, h in enumerate(headers)]
        longest_word = max((len(w) for r in rows for w in str(r[1]).split()), default=8)
        others = sum(f or 0 for i, f in enumerate(fixed) if i != 1)
        fixed[1] = max(longest_word, width - gaps - others)
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    table.add_column(headers[0], no_wrap=fixed[0] is None, width=fixed[0])
    table.add_column(headers[1], width=fixed[1])
    for col in range(2, len(headers)):
        table.add_column(headers[col], justify="right", width=fixed[col],
                         no_wrap=fixed[col] is None)
    for row, end in zip(rows, sections, strict=True):
        table.add_row(*row, end_section=end)
    return table


def platform_table(report: CostReport) -> Table:
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    table.add_column("Platform (fixed, per environment)", no_wrap=True)
    table.add_column("$/mo", justify="right", no_wrap=True)
    table.add_column("Note", overflow="fold")
    for item in report.platform:
        table.add_row(item.item, f"{item.monthly_usd:,.2f}", item.note, style="dim")
    table.add_row(Text("platform total", style="bold"),
                  Text(f"{report.platform_monthly_usd:,.2f}", style="bold"), "")
    return table


def budget_lines(report: CostReport) -> list[Text]:
    """One line per over-budget team: both numbers and what would fit."""
    lines: list[Text] = []
    for team in report.over_budget:
        budget = team.budget_usd or 0.0
        text = Text(f"{team.team} is over budget: worst case {usd(team.max_monthly_usd)}/mo > "
                    f"budget {usd(budget)}/mo. ", style="red")
        text.append(fit_hint(team, report))
        lines.append(text)
    return lines


def fit_hint(team: TeamCost, report: CostReport | None = None) -> str:
    """``"Fits with train max_nodes ≤ 2 (other pools unchanged)"`` for an over-budget team;
    for a pool of which not even one node fits, the changes org.yaml accepts instead (fewer
    GPUs per node, another accelerator, the pool dropped from the environment): never a
    ``max_nodes`` below 1, which validation refuses."""
    budget = team.budget_usd or 0.0
    hints: list[str] = []
    other_advice: list[str] = []
    for pool in team.pools:
        others = team.max_monthly_usd - pool.max_monthly_usd
        n = team.largest_fitting_max_nodes(pool) or 0
        if n >= 1 and fits_at_min(budget, pool.node_month_usd, others,
                                  min_nodes=pool.min_nodes):
            hints.append(f"{pool.pool} max_nodes ≤ {n}")
            continue
        cloud = report.cloud if report else _cloud_of(pool.machine_type)
        said = budget_fit.team_advice(team, pool, cloud=cloud,
                                      env=report.environment if report else None,
                                      region=report.region if report else None)
        if said is not None:
            other_advice.append(said[0].upper() + said[1:] + ".")
    if not hints and not other_advice:
        return "No single pool can be lowered enough; lower several pools or raise budget_usd."
    text = ("Fits with " + " or ".join(hints) + " (other pools unchanged). ") if hints else ""
    return text + " ".join(other_advice) + (" " if other_advice else "") + "Or raise budget_usd."


def _cloud_of(machine_type: str) -> str:
    """The cloud whose catalogue lists ``machine_type`` (GCP types have no '.')."""
    return "aws" if "." in machine_type else "gcp"


def render_table(report: CostReport, out: Console) -> None:
    title = (f"Monthly cost of {report.environment} ({report.cloud}, {report.tier}), "
             f"USD, {report.price_date} prices")
    out.print(Text(title, style="bold"))
    out.print(Text("Idle = min_nodes (reservations: every reserved node); Max = max_nodes "
                   "running 730 h/month. "
                   "S = spot price, F = flex-start price, R = reserved (billed idle). "
                   + SCOPE_NOTE[0].upper() + SCOPE_NOTE[1:] + ".",
                   style="dim"))
    out.print()
    if report.teams:
        table = teams_table(report, out.width)
        # Narrower than the figures need: print wider than the terminal rather than cut them.
        needed = sum(c.width or 0 for c in table.columns) + 3 * (len(table.columns) - 1)
        if needed > out.width:
            narrow, out.width = out.width, needed
            try:
                out.print(table, crop=False)
            finally:
                out.width = narrow
        else:
            out.print(table)
    else:
        out.print("No teams in this environment.")
    out.print()
    out.print(platform_table(report))
    out.print()
    out.print(Text(f"Environment total: idle {report.total_idle_monthly_usd:,.2f}, "
                   f"max {report.total_max_monthly_usd:,.2f} USD/month "
                   "(platform + GPU pools)", style="bold"))
    for line in budget_lines(report):
        out.print(line)
    note = report.budget_note()
    if note is not None:
        out.print(Text(note[0].upper() + note[1:] + ".", style="yellow"))
    out.print(Text("Prices: " + report.estimate_note() + ".", style="dim"))
