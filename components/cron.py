"""Five-field cron expressions: validation and conversion to AWS's six-field form.

Pure functions shared by the org validator and the AWS scheduler component, so what validates
is exactly what deploys.
"""

from __future__ import annotations

import re

_MONTHS = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]
_DAYS = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"]
FIELDS = (  # name, low, high, names (index 0 = low)
    ("minute", 0, 59, None),
    ("hour", 0, 23, None),
    ("day of month", 1, 31, None),
    ("month", 1, 12, _MONTHS),
    ("day of week", 0, 7, _DAYS),
)
_ATOM = re.compile(r"^(\*|[0-9A-Za-z]+(?:-[0-9A-Za-z]+)?)(?:/(\d+))?$")


def _value(text: str, low: int, names: list[str] | None) -> int:
    if text.isdigit():
        return int(text)
    if names is not None and text.upper() in names:
        return names.index(text.upper()) + low
    raise ValueError(text)


def problems(expr: str) -> list[str]:
    """Everything wrong with ``expr`` as a 5-field cron expression (empty when valid)."""
    parts = expr.split()
    if len(parts) != 5:
        return [f"'{expr}' has {len(parts)} fields; cron needs 5: minute hour day-of-month "
                "month day-of-week, e.g. '0 3 * * *' for 03:00 every day"]
    out = []
    for part, (label, low, high, names) in zip(parts, FIELDS, strict=True):
        for item in part.split(","):
            m = _ATOM.match(item)
            if m is None:
                out.append(f"{label} '{item}' is not a cron value (use *, N, N-M, */S or lists)")
                continue
            base, step = m.group(1), m.group(2)
            if step is not None and int(step) == 0:
                out.append(f"{label} step '/0' never fires; use a step of 1 or more")
            if base == "*":
                continue
            try:
                bounds = [_value(x, low, names) for x in base.split("-")]
            except ValueError as exc:
                out.append(f"{label} '{exc}' is not a number or name")
                continue
            for b in bounds:
                if not low <= b <= high:
                    out.append(f"{label} {b} is outside {low}-{high}")
            if len(bounds) == 2 and bounds[0] > bounds[1]:
                out.append(f"{label} range {base} runs backwards")
    return out


def to_aws(expr: str) -> str:
    """``cron(...)`` for EventBridge Scheduler: six fields, '?' in one day field, SUN=1.

    Raises ValueError when both day fields are restricted, which AWS cannot express.
    """
    minute, hour, dom, month, dow = expr.split()
    if dom != "*" and dow != "*":
        raise ValueError("AWS schedules cannot restrict both day-of-month and day-of-week; "
                         "set one of them to '*'")

    def shift(item: str) -> str:
        # cron counts Sunday as 0 or 7; AWS counts SUN=1..SAT=7.
        m = _ATOM.match(item)
        assert m is not None
        base, step = m.group(1), m.group(2)
        if base != "*":
            base = "-".join(
                str((_value(x, 0, _DAYS) % 7) + 1) for x in base.split("-")
            )
        return base + (f"/{step}" if step else "")

    if dow == "*":
        dom_out, dow_out = dom, "?"
    else:
        dom_out, dow_out = "?", ",".join(shift(i) for i in dow.split(","))
    return f"cron({minute} {hour} {dom_out} {month} {dow_out} *)"
