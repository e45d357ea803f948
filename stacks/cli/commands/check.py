"""Body of ``trellis check``: waivers + policy pack + report, returning the exit status.

The lead's click command parses options and builds the plan; this function does the rest and
stays free of click so it can be called from tests and other tools. Problems in the waivers
file are user errors and raise :class:`stacks.org.errors.OrgError` (positioned, all at once) for
the CLI's single error handler: malformed or expired waivers before anything runs, unmatched
waivers after the report is written (the report is still useful; the stale waiver must go).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from pathlib import Path
from typing import IO, Any

from policies.registry import SEVERITIES, iter_ids
from stacks.org.errors import OrgError
from stacks.report import waivers as waivers_mod
from stacks.report.check import PlanLike, run_check
from stacks.report.formats import FORMATS, render

__all__ = ["FORMATS", "SEVERITIES", "check_command"]


def check_command(plan: PlanLike, *, fmt: str, fail_on: str, waivers_path: Path | None,
                  out: IO[str], config: Mapping[str, Any] | None = None,
                  today: dt.date | None = None) -> int:
    """Check ``plan``, write the report to ``out`` in ``fmt``; 1 if it fails, else 0.

    ``fail_on``: the lowest severity whose unwaived mandatory violations fail the run
    (``low`` = any). ``waivers_path``: a waivers.yaml (see :mod:`stacks.report.waivers`) or None;
    :func:`stacks.report.waivers.default_path` finds the one beside org.yaml. ``config``: policy
pack
    settings (see :func:`stacks.report.check.run_check`). Raises ValueError for a bad ``fmt``,
    ``fail_on`` or ``config`` (usage errors) and OrgError for waiver problems.
    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}")
    if fail_on not in SEVERITIES:
        raise ValueError(f"unknown severity {fail_on!r}; expected one of {', '.join(SEVERITIES)}")
    waivers = (waivers_mod.load(waivers_path, known_rules=set(iter_ids()), today=today)
               if waivers_path is not None else [])
    report = run_check(plan, config=config, waivers=waivers)
    render(report, fmt, out, fail_on=fail_on)
    if report.unmatched_waivers:
        raise OrgError(waivers_mod.unmatched_issues(report.unmatched_waivers))
    return report.exit_code(fail_on)
