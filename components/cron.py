"""Five-field cron expressions: validation, AWS's six-field form and the schedule in words.

Pure functions shared by the org validator, the AWS scheduler component and the handoff, so what
validates is exactly what deploys and what the guide says.

What an expression means is croniter's answer: it expands every field to its set of values
(numbers, ``JAN``-``DEC`` and ``SUN``-``SAT`` names, ranges, ``*/S`` and ``N/S`` steps, lists,
0 and 7 both Sunday) and applies standard cron's rule that when both day fields are restricted a
day matches either of them. On top of croniter, three spellings are refused because croniter
and standard cron read them differently: equal ranges such as ``5-5`` (croniter: the whole
field), ranges that run backwards such as ``5-1`` (croniter wraps around; in the day of week,
``FRI-SUN`` and ``5-7`` end on Sunday as 7 and are not backwards), and a day-of-week step
starting at 7 (``7/2``). Only the standard cron subset is accepted: no ``?``, ``L``, ``W``,
``#`` or ``H``, which Cloud Scheduler's unix-cron does not take.

AWS form (:func:`to_aws`): EventBridge Scheduler's ``cron(minutes hours day-of-month month
day-of-week year)``: six fields; ``?`` in exactly one of day-of-month and day-of-week; day of
week 1-7 = SUN-SAT; ``/`` increments (``start/step``, up to the field's maximum) in minutes,
hours, day of month and month but not in the day of week. Sources:
https://docs.aws.amazon.com/scheduler/latest/UserGuide/schedule-types.html#cron-based and
https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-cron-expressions.html (field table,
wildcards, "you can't use * in both the Day-of-month and Day-of-week fields"). Each field is
written from croniter's set of values, so the AWS schedule fires at exactly the same instants
(``tests/unit/test_cron_property.py`` checks this over a year for random expressions). AWS
cannot say "this day of the month or that day of the week": a 5-field expression that restricts
both is refused with a message rather than converted to something that fires on other days.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from croniter import CroniterError, croniter

FIELDS = (  # name, low, high, names (index 0 = low)
    ("minute", 0, 59, None),
    ("hour", 0, 23, None),
    ("day of month", 1, 31, None),
    ("month", 1, 12, ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT",
                      "NOV", "DEC")),
    ("day of week", 0, 7, ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")),
)
_DOW = 4
# The standard cron subset: *, N, N-M, each optionally /S; N and M numbers or names.
_ITEM = re.compile(r"^(?P<base>\*|(?P<lo>[0-9A-Za-z]+)(?:-(?P<hi>[0-9A-Za-z]+))?)"
                   r"(?:/(?P<step>[0-9]+))?$", re.ASCII)
_SPLIT = re.compile(r"\S+", re.ASCII)  # croniter's field separator: ASCII whitespace only
_EXAMPLE = "e.g. '0 3 * * *' for 03:00 every day"
BOTH_DAYS = ("AWS schedules cannot restrict both day-of-month and day-of-week (standard cron "
             "runs on either, AWS cannot say that); set one of them to '*', or use two "
             "pipelines")


def _fields(expr: str) -> list[str]:
    return _SPLIT.findall(expr)


def _number(text: str, field: int) -> int | None:
    """A bound as written: digits, or a name of the month / day-of-week field."""
    if text.isdigit():
        return int(text)
    names = FIELDS[field][3]
    if names is not None and text.upper() in names:
        return names.index(text.upper()) + FIELDS[field][1]
    return None


def _accepted(field: int, item: str) -> bool:
    """Whether croniter takes ``item`` as one list item of ``field``."""
    parts = ["*"] * 5
    parts[field] = item
    return croniter.is_valid(" ".join(parts))


def _item_problems(field: int, item: str) -> list[str]:
    label, low, high, names = FIELDS[field]
    m = _ITEM.match(item)
    if m is None:
        if not (item.isascii() and item.isprintable()):  # a no-break space, say: show it
            item = item.encode("unicode_escape").decode("ascii")
        return [f"{label} '{item}' is not a cron value (use *, N, N-M, */S, N-M/S or lists"
                + (f"; names {names[0]}-{names[-1]}" if names else "") + ")"]
    out = []
    step = m.group("step")
    if step is not None and int(step) == 0:
        out.append(f"{label} step '/0' never fires; use a step of 1 or more")
    if m.group("base") == "*":
        return out
    lo_text, hi_text = m.group("lo"), m.group("hi")
    bounds: list[int] = []
    for text in (lo_text, hi_text) if hi_text is not None else (lo_text,):
        value = _number(text, field)
        if value is None:
            allowed = f"{low}-{high}" + (f" or {names[0]}-{names[-1]}" if names else "")
            out.append(f"{label} '{text}' is not a number or name ({allowed})")
            continue
        if not low <= value <= high:
            out.append(f"{label} {value} is outside {low}-{high}")
        bounds.append(value)
    if out:
        return out
    if len(bounds) == 2:
        first, last = bounds
        if field == _DOW and hi_text.upper() == "SUN" and first > 0:
            last = 7  # MON-SUN: Sunday at the end of a week, as 1-7 writes it
        if first == last:
            out.append(f"{label} range {m.group('base')} holds one value; write {lo_text}")
        elif first > last:
            if field == _DOW and last == 0:
                hint = " (Sunday at the end of a range is 7 or SUN)"
            else:
                hint = f" (write it as two parts, e.g. {lo_text}-{high},{low}-{hi_text})"
            out.append(f"{label} range {m.group('base')} runs backwards{hint}")
    elif field == _DOW and step is not None and bounds[0] == 7:
        out.append(f"{label} step '{item}' starts at 7 (Sunday); write 0/{step}")
    return out


@dataclass(frozen=True)
class _Parsed:
    problems: tuple[str, ...]
    fields: tuple[str, ...] = ()
    expanded: tuple[tuple[Any, ...], ...] = ()  # croniter's values per field; ('*',) = all


@lru_cache(maxsize=512)
def _parse(expr: str) -> _Parsed:
    """Validate ``expr`` and expand it with croniter (once per expression: cached)."""
    parts = _fields(expr)
    if len(parts) != 5:
        return _Parsed((f"'{expr}' has {len(parts)} fields; cron needs 5: minute hour "
                        f"day-of-month month day-of-week, {_EXAMPLE}",))
    out = []
    for field, part in enumerate(parts):
        items = part.split(",")
        for item in items:
            out += _item_problems(field, item)
        if "*" in items and len(items) > 1:
            out.append(f"{FIELDS[field][0]} '{part}': '*' already means every value; write "
                       "'*' alone or drop it from the list")
    if out:
        return _Parsed(tuple(out))
    text = " ".join(parts)
    try:  # strict: also refuse a day of month no listed month has (the 30th of February)
        expanded = croniter.expand(text, strict=True)[0]
    except (CroniterError, ValueError):
        try:
            expanded = croniter.expand(text)[0]
        except (CroniterError, ValueError) as exc:
            refused = [f"{FIELDS[f][0]} '{item}' is not a cron value"
                       for f, part in enumerate(parts) for item in part.split(",")
                       if not _accepted(f, item)]
            return _Parsed(tuple(refused) or (f"'{expr}' is not a cron expression: {exc}",))
        if expanded[_DOW] == ["*"]:  # with a day of week, standard cron runs on those days
            names = FIELDS[3][3] or ()
            months = ", ".join(names[int(m) - 1] for m in expanded[3])
            return _Parsed((f"day of month {parts[2]} never comes in {months}: the schedule "
                            "would never run",))
    return _Parsed((), tuple(parts), tuple(tuple(values) for values in expanded))


def problems(expr: str) -> list[str]:
    """Everything wrong with ``expr`` as a 5-field cron expression (empty when valid)."""
    return list(_parse(expr).problems)


def _valid(expr: str) -> _Parsed:
    parsed = _parse(expr)
    if parsed.problems:
        raise ValueError(f"'{expr}': " + "; ".join(parsed.problems))
    return parsed


def _runs(values: list[int]) -> str:
    """Sorted values as a list of single values and ranges (three or more in a row)."""
    out: list[str] = []
    start = prev = values[0]
    for v in [*values[1:], None]:
        if v is not None and v == prev + 1:
            prev = v
            continue
        out += [f"{start}-{prev}"] if prev - start >= 2 else [str(x) for x in
                                                               range(start, prev + 1)]
        if v is not None:
            start = prev = v
    return ",".join(out)


def _aws_field(values: tuple[Any, ...], high: int, increments: bool = True) -> str:
    if values == ("*",):
        return "*"
    ints = sorted(int(v) for v in values)
    if increments and len(ints) >= 3:
        step = ints[1] - ints[0]
        # AWS's start/step runs to the field's maximum: usable only when the set does too.
        if step >= 2 and ints == list(range(ints[0], high + 1, step)):
            return f"{ints[0]}/{step}"
    return _runs(ints)


def to_aws(expr: str) -> str:
    """``cron(...)`` for EventBridge Scheduler: six fields, '?' in one day field, SUN=1.

    Raises ValueError for an invalid expression, and when both day fields are restricted,
    which AWS cannot express.
    """
    minute, hour, dom, month, dow = _valid(expr).expanded
    if dom != ("*",) and dow != ("*",):  # standard cron's "either day field": no AWS spelling
        raise ValueError(BOTH_DAYS)
    if dow == ("*",):
        dom_out, dow_out = _aws_field(dom, 31), "?"
    else:  # cron counts Sunday as 0 (croniter folds 7 into 0); AWS counts SUN=1..SAT=7
        dom_out, dow_out = "?", _aws_field(tuple(int(d) % 7 + 1 for d in dow), 7,
                                           increments=False)
    return (f"cron({_aws_field(minute, 59)} {_aws_field(hour, 23)} {dom_out} "
            f"{_aws_field(month, 12)} {dow_out} *)")


def describe(expr: str, timezone: str | None = None) -> str:
    """The schedule in English, 24-hour clock, with the time zone: ``At 03:00 (Asia/Seoul)``.

    Words by cron-descriptor. A day field that covers every day (``0-7``, ``MON-SUN``) is
    described as ``*``, as croniter reads it, so the words never say "Sunday through Sunday".
    An invalid expression is shown as it is (``cron 0 3 * *``).
    """
    zone = f" ({timezone})" if timezone else ""
    parsed = _parse(expr)
    if parsed.problems:
        return f"cron {expr}{zone}"
    from cron_descriptor import ExpressionDescriptor, Options

    parts = list(parsed.fields)
    for field in (2, _DOW):
        if parsed.expanded[field] == ("*",):
            parts[field] = "*"
    options = Options(locale_code="en_US", use_24hour_time_format=True)
    return ExpressionDescriptor(" ".join(parts), options).get_description() + zone
