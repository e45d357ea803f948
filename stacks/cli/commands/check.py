"""Body of ``trellis check``: waivers + policy pack + report, returning the exit status.

:func:`check_targets` checks several (org file, environment) plans as one report
(``--env all``, several org files from a pre-commit hook); :func:`check_command` one plan.

The lead's click command parses options and builds the plan; this function does the rest and
stays free of click so it can be called from tests and other tools. Problems in the waivers
file are user errors and raise :class:`stacks.org.errors.OrgError` (positioned, all at once) for
the CLI's single error handler: malformed or expired waivers before anything runs, unmatched
waivers after the report is written (the report is still useful; the stale waiver must go).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO, Any

from policies.registry import SEVERITIES, iter_ids
from stacks.org.errors import OrgError
from stacks.report import waivers as waivers_mod
from stacks.report.check import PlanLike, run_check
from stacks.report.findings import CheckReport
from stacks.report.formats import FORMATS, render
from stacks.report.origins import Origins

__all__ = ["FORMATS", "SEVERITIES", "Target", "check_command", "check_targets"]


@dataclasses.dataclass(frozen=True)
class Target:
    """One plan to check: its origins in org.yaml, its waivers file and pack settings."""

    plan: PlanLike
    origins: Origins | None = None
    waivers_path: Path | None = None
    config: Mapping[str, Any] | None = None


def check_targets(targets: Sequence[Target], *, fmt: str, fail_on: str, out: IO[str],
                  today: dt.date | None = None, width: int | None = None) -> int:
    """Check every target and write one report (an environment per target); 1 if any fails.

    A waiver is unmatched (an error, after the report) only when it matches nothing in any
    environment it was loaded for: ``--env all`` shares one waivers file between them.
    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}")
    if fail_on not in SEVERITIES:
        raise ValueError(f"unknown severity {fail_on!r}; expected one of {', '.join(SEVERITIES)}")
    loaded: dict[Path, list[Any]] = {}
    for t in targets:
        if t.waivers_path is not None and t.waivers_path not in loaded:
            loaded[t.waivers_path] = waivers_mod.load(t.waivers_path, known_rules=set(iter_ids()),
                                                      today=today)
    reports: list[CheckReport] = []
    unmatched_by_file: dict[Path, set[int]] = {}
    for t in targets:
        waivers = loaded.get(t.waivers_path, []) if t.waivers_path is not None else []
        report = run_check(t.plan, config=t.config, waivers=waivers, origins=t.origins)
        if t.waivers_path is not None:
            ids = {id(w) for w in report.unmatched_waivers}
            seen = unmatched_by_file.setdefault(t.waivers_path, ids)
            seen &= ids
        reports.append(report)
    stale = [w for path, ids in unmatched_by_file.items() for w in loaded[path] if id(w) in ids]
    first_of: set[Path] = set()
    for t, report in zip(targets, reports, strict=True):
        keep = t.waivers_path is not None and t.waivers_path not in first_of
        if t.waivers_path is not None:
            first_of.add(t.waivers_path)
        report.unmatched_waivers = ([w for w in stale if w in loaded[t.waivers_path]]
                                    if keep and t.waivers_path is not None else [])
    render(reports, fmt, out, fail_on=fail_on, width=width)
    if stale:
        raise OrgError(waivers_mod.unmatched_issues(stale))
    return max((r.exit_code(fail_on) for r in reports), default=0)


def check_command(plan: PlanLike, *, fmt: str, fail_on: str, waivers_path: Path | None,
                  out: IO[str], config: Mapping[str, Any] | None = None,
                  today: dt.date | None = None, origins: Origins | None = None) -> int:
    """Check ``plan``, write the report to ``out`` in ``fmt``; 1 if it fails, else 0.

    ``fail_on``: the lowest severity whose unwaived mandatory violations fail the run
    (``low`` = any). ``waivers_path``: a waivers.yaml (see :mod:`stacks.report.waivers`) or
    None; :func:`stacks.report.waivers.default_path` finds the one beside org.yaml. ``config``:
    policy pack settings (see :func:`stacks.report.check.run_check`). Raises ValueError for a
    bad ``fmt``, ``fail_on`` or ``config`` (usage errors) and OrgError for waiver problems.
    """
    return check_targets([Target(plan, origins, waivers_path, config)], fmt=fmt,
                         fail_on=fail_on, out=out, today=today)
