"""The AWS form of a schedule fires at exactly the instants of the 5-field expression.

For random expressions (lists, ranges, steps, month and day names, 0 and 7 for Sunday), the
EventBridge Scheduler expression from :func:`components.cron.to_aws` is evaluated by the small
AWS evaluator below, written from AWS's documentation and nothing in ``components``
(https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-cron-expressions.html), and
compared over one whole year with the instants croniter iterates for the 5-field expression.

Cost is bounded: the days of the year (croniter on ``0 0 DOM MON DOW``) and the times of a day
(croniter on ``MIN HOUR * * *``) are compared separately, which together fix every instant; the
whole year is also iterated instant by instant when it holds at most 1,500 of them.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
from croniter import croniter
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from components import cron

MONTHS = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]
AWS_DAYS = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"]  # AWS: SUN=1 .. SAT=7

# ---------------------------------------------------------------------------------------------
# An evaluator for AWS's six-field cron, from the documented table:
#   Minutes 0-59 , - * /    Hours 0-23 , - * /    Day-of-month 1-31 , - * ? / L W
#   Month 1-12 or JAN-DEC , - * /    Day-of-week 1-7 or SUN-SAT , - * ? L #    Year , - * /
# "/" is start/increment up to the field's maximum; "?" must be in exactly one day field; "*"
# cannot be in both. (L, W and # are never emitted and are refused here.)
# ---------------------------------------------------------------------------------------------

AWS_FIELDS = [  # name, low, high, allowed characters, names
    ("minutes", 0, 59, r"[0-9,\-*/]+", None),
    ("hours", 0, 23, r"[0-9,\-*/]+", None),
    ("day-of-month", 1, 31, r"[0-9,\-*/?]+", None),
    ("month", 1, 12, r"[0-9A-Z,\-*/]+", MONTHS),
    ("day-of-week", 1, 7, r"[0-9A-Z,\-*?]+", AWS_DAYS),
    ("year", 1970, 2199, r"[0-9,\-*/]+", None),
]


def aws_values(text: str, field: int) -> set[int] | None:
    """The values of one AWS field; None for '?'. Fails on anything AWS would refuse."""
    name, low, high, chars, names = AWS_FIELDS[field]
    assert re.fullmatch(chars, text), f"{name} '{text}': character AWS does not allow here"
    if text == "?":
        return None

    def number(token: str) -> int:
        value = names.index(token) + low if names and token in names else int(token)
        assert low <= value <= high, f"{name} {value} outside {low}-{high}"
        return value

    out: set[int] = set()
    for item in text.split(","):
        if item == "*":
            out |= set(range(low, high + 1))
        elif "/" in item:
            start, step = item.split("/")
            assert int(step) >= 1, f"{name} increment {item}"
            out |= set(range(low if start == "*" else number(start), high + 1, int(step)))
        elif "-" in item:
            a, b = (number(t) for t in item.split("-"))
            assert a <= b, f"{name} range {item} runs backwards"
            out |= set(range(a, b + 1))
        else:
            out.add(number(item))
    return out


def aws_schedule(expression: str) -> tuple[set[int], set[int], set[int] | None, set[int],
                                             set[int] | None, set[int]]:
    m = re.fullmatch(r"cron\((\S+) (\S+) (\S+) (\S+) (\S+) (\S+)\)", expression)
    assert m, f"{expression}: not cron() with six fields"
    fields = m.groups()
    assert (fields[2] == "?") != (fields[4] == "?"), f"{expression}: '?' in exactly one day field"
    assert not (fields[2] == "*" and fields[4] == "*"), f"{expression}: '*' in both day fields"
    minutes, hours, dom, months, dow, years = (aws_values(t, i) for i, t in enumerate(fields))
    assert minutes is not None and hours is not None and months is not None and years is not None
    return minutes, hours, dom, months, dow, years


def aws_days(expression: str, year: int) -> list[dt.date]:
    _, _, dom, months, dow, years = aws_schedule(expression)
    day, out = dt.date(year, 1, 1), []
    while day.year == year:
        if year in years and day.month in months:
            if dom is not None and day.day in dom:
                out.append(day)
            if dow is not None and day.isoweekday() % 7 + 1 in dow:
                out.append(day)
        day += dt.timedelta(days=1)
    return out


def aws_times(expression: str) -> list[tuple[int, int]]:
    minutes, hours, *_ = aws_schedule(expression)
    return sorted((h, m) for h in hours for m in minutes)


# ---------------------------------------------------------------------------------------------
# croniter's instants of the 5-field expression
# ---------------------------------------------------------------------------------------------

def cron_instants(expr: str, start: dt.datetime, end: dt.datetime) -> list[dt.datetime]:
    it = croniter(expr, start - dt.timedelta(minutes=1))
    out = []
    while (t := it.get_next(dt.datetime)) < end:
        out.append(t)
    return out


def cron_days(expr: str, year: int) -> list[dt.date]:
    _, _, dom, month, dow = expr.split()
    return [t.date() for t in cron_instants(f"0 0 {dom} {month} {dow}", dt.datetime(year, 1, 1),
                                            dt.datetime(year + 1, 1, 1))]


def cron_times(expr: str) -> list[tuple[int, int]]:
    minute, hour, *_ = expr.split()
    return [(t.hour, t.minute) for t in cron_instants(f"{minute} {hour} * * *",
                                                      dt.datetime(2027, 1, 1),
                                                      dt.datetime(2027, 1, 2))]


def assert_same_instants(expr: str, year: int) -> str:
    aws = cron.to_aws(expr)
    days, times = aws_days(aws, year), aws_times(aws)
    assert days == cron_days(expr, year), (f"'{expr}' -> {aws}: fires on other days of {year} "
                                           "than the 5-field expression")
    assert times == cron_times(expr), (f"'{expr}' -> {aws}: fires at other times of day than "
                                       "the 5-field expression")
    if len(days) * len(times) <= 1500:
        instants = [dt.datetime.combine(d, dt.time(h, m)) for d in days for h, m in times]
        assert instants == cron_instants(expr, dt.datetime(year, 1, 1),
                                         dt.datetime(year + 1, 1, 1)), f"'{expr}' -> {aws}"
    return aws


# ---------------------------------------------------------------------------------------------
# Random 5-field expressions
# ---------------------------------------------------------------------------------------------

SPEC = {  # field -> (low, high, names or None)
    0: (0, 59, None), 1: (0, 23, None), 2: (1, 31, None), 3: (1, 12, MONTHS),
    4: (0, 7, AWS_DAYS),  # cron: SUN=0 (and 7) .. SAT=6; names index from 0 here
}


@st.composite
def bound(draw: st.DrawFn, field: int, value: int, upper: bool = False,
          lower: int = 0) -> str:
    names = SPEC[field][2]
    if names is None or not draw(st.booleans()):
        return str(value)
    if field == 4 and value == 7:
        # SUN as the upper end of a range that starts after Sunday means 7.
        return "SUN" if upper and lower > 0 else "7"
    return names[value - SPEC[field][0]] if field == 3 else names[value]


@st.composite
def item(draw: st.DrawFn, field: int) -> str:
    low, high, _ = SPEC[field]
    kind = draw(st.sampled_from(["*", "*/S", "N", "N-M", "N-M/S", "N/S"]))
    step = draw(st.integers(1, max(2, (high - low) // 2 + 1)))
    if kind == "*":
        return "*"
    if kind == "*/S":
        return f"*/{step}"
    if kind == "N/S":
        start = draw(st.integers(low, min(high, 6) if field == 4 else high))
        return f"{draw(bound(field, start))}/{step}"
    first = draw(st.integers(low, high - 1 if kind != "N" else high))
    if kind == "N":
        return draw(bound(field, first))
    last = draw(st.integers(first + 1, high))
    text = f"{draw(bound(field, first))}-{draw(bound(field, last, True, first))}"
    return text + (f"/{step}" if kind == "N-M/S" else "")


def field_expr(field: int) -> st.SearchStrategy[str]:
    # '*' stands alone: in a list it is refused (croniter and standard cron read it apart).
    return st.just("*") | st.lists(item(field).filter(lambda i: i != "*"), min_size=1,
                                   max_size=3).map(",".join)


@st.composite
def expressions(draw: st.DrawFn) -> str:
    days = draw(st.sampled_from(["dom", "dow", "dow", "every day", "both"]))
    dom = draw(field_expr(2)) if days in ("dom", "both") else "*"
    dow = draw(field_expr(4)) if days in ("dow", "both") else "*"
    return " ".join([draw(field_expr(0)), draw(field_expr(1)), dom, draw(field_expr(3)), dow])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(expressions(), st.sampled_from([2027, 2028]))
def test_aws_form_fires_at_the_same_instants(expr, year):
    found = cron.problems(expr)
    if found:  # only impossible dates (the 30th of February) are refused among these
        assert all("never comes in" in p for p in found), (expr, found)
        assert not croniter.is_valid(expr, strict=True), (expr, found)
        return
    expanded = croniter.expand(expr)[0]
    if expanded[2] != ["*"] and expanded[4] != ["*"]:
        with pytest.raises(ValueError, match="both day-of-month and day-of-week"):
            cron.to_aws(expr)
        return
    assert_same_instants(expr, year)


@pytest.mark.parametrize(("expr", "aws"), [
    ("0 3 * * 0-7", "cron(0 3 * * ? *)"),  # was cron(0 3 ? * 1-1 *): Sundays only
    ("0 3 * * 1-7", "cron(0 3 * * ? *)"),  # was cron(0 3 ? * 2-1 *)
    ("0 3 * * MON-SUN", "cron(0 3 * * ? *)"),  # was refused
    ("0 3 * * FRI-SUN", "cron(0 3 ? * 1,6,7 *)"),
    ("0 3 * * 5-7", "cron(0 3 ? * 1,6,7 *)"),
    ("0 3 * * 1-7/2", "cron(0 3 ? * 1,2,4,6 *)"),  # Mon, Wed, Fri, Sun
    ("*/15 9-17 * * MON-FRI", "cron(0/15 9-17 ? * 2-6 *)"),
    ("0 0 */2 JAN-MAR *", "cron(0 0 1/2 1-3 ? *)"),
])
def test_fixed_expressions_fire_at_the_same_instants(expr, aws):
    for year in (2027, 2028):
        assert assert_same_instants(expr, year) == aws


def test_the_evaluator_catches_a_wrong_conversion():
    """The old conversion of 0-7 fired on Sundays only; the comparison must see that."""
    assert aws_days("cron(0 3 ? * 1-1 *)", 2027) != cron_days("0 3 * * 0-7", 2027)
    with pytest.raises(AssertionError, match="runs backwards"):
        aws_days("cron(0 3 ? * 2-1 *)", 2027)
    with pytest.raises(AssertionError, match="exactly one day field"):
        aws_schedule("cron(0 3 * * * *)")
    with pytest.raises(AssertionError, match="does not allow"):
        aws_schedule("cron(0 3 ? * 1/2 *)")
