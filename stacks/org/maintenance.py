"""``platform.maintenance``: the recurring upgrade window and the exclusions, in GKE's terms.

org.yaml says ``window: "Sat,Sun 00:00-08:00"`` (UTC); GKE wants an RFC 3339 start and end of
the first occurrence and an RFC 5545 RRULE. Rules GKE enforces, checked here so a bad window is
a located validation error instead of a failed ``pulumi up``
(https://cloud.google.com/kubernetes-engine/docs/how-to/maintenance-windows-and-exclusions):

- at least 48 hours of maintenance availability in any rolling 32 days, counting only
  contiguous windows of at least 4 hours; day-of-week recurrences are read in UTC. Any 32 days
  hold every weekday at least 4 times, so ``4 x days x hours >= 48`` is the safe check;
- exclusions: ``no_upgrades`` up to 30 days, the scoped ones (``no_minor_upgrades``,
  ``no_minor_or_node_upgrades``) up to 180 days.

Pure functions; validation reports the problems, resolution builds the GKE values.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
RRULE_DAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
MIN_WINDOW_HOURS = 4
MIN_HOURS_PER_32_DAYS = 48
MIN_OCCURRENCES_PER_32_DAYS = 4  # every weekday occurs at least 4 times in any 32 days
MAX_EXCLUSION_DAYS = {"no_upgrades": 30, "no_minor_upgrades": 180,
                      "no_minor_or_node_upgrades": 180}
GKE_SCOPES = {"no_upgrades": "NO_UPGRADES", "no_minor_upgrades": "NO_MINOR_UPGRADES",
              "no_minor_or_node_upgrades": "NO_MINOR_OR_NODE_UPGRADES"}
ANCHOR = dt.date(2025, 1, 6)
"""A Monday: the first occurrence GKE is given. Fixed, so the plan never changes by itself."""

_WINDOW = re.compile(r"\s*(?P<days>[A-Za-z, ]+?)\s+(?P<start>\d{1,2}:\d{2})\s*-\s*"
                     r"(?P<end>\d{1,2}:\d{2})\s*(UTC)?\s*")
EXAMPLE = "Sat,Sun 00:00-08:00"


@dataclass(frozen=True)
class Window:
    """A weekly window: days (indexes into :data:`DAYS`), start and length, UTC."""

    days: tuple[int, ...]
    start: dt.time
    hours: float

    @property
    def recurrence(self) -> str:
        return "FREQ=WEEKLY;BYDAY=" + ",".join(RRULE_DAYS[d] for d in self.days)

    def first(self) -> tuple[str, str]:
        """RFC 3339 start and end of the first occurrence (on or after :data:`ANCHOR`)."""
        day = ANCHOR + dt.timedelta(days=self.days[0])
        begin = dt.datetime.combine(day, self.start)
        end = begin + dt.timedelta(hours=self.hours)
        return _zulu(begin), _zulu(end)


def _zulu(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _time(text: str) -> dt.time | None:
    hours, _, minutes = text.partition(":")
    if not (hours.isdigit() and minutes.isdigit()):
        return None
    h, m = int(hours), int(minutes)
    return dt.time(h, m) if 0 <= h <= 23 and 0 <= m <= 59 else None


def parse_window(text: str) -> tuple[Window | None, str | None]:
    """``(window, None)`` or ``(None, what is wrong and how to write it)``."""
    found = _WINDOW.fullmatch(text)
    if found is None:
        return None, (f"'{text}' is not a window: write '<days> HH:MM-HH:MM' in UTC, e.g. "
                      f"'{EXAMPLE}'")
    names = [d.strip().lower()[:3] for d in found["days"].split(",") if d.strip()]
    unknown = [d for d in names if d not in DAYS]
    if unknown or not names:
        return None, (f"'{found['days'].strip()}' are not days: use Mon, Tue, Wed, Thu, Fri, "
                      "Sat, Sun joined by ','")
    if len(set(names)) != len(names):
        return None, f"'{found['days'].strip()}' names a day twice"
    start, end = _time(found["start"]), _time(found["end"])
    if start is None or end is None:
        bad = found["start"] if start is None else found["end"]
        return None, f"'{bad}' is not a time of day: use HH:MM from 00:00 to 23:59"
    minutes = (end.hour * 60 + end.minute - start.hour * 60 - start.minute) % (24 * 60)
    hours = minutes / 60
    if minutes == 0:
        return None, "the window starts and ends at the same time; give its end"
    days = tuple(sorted(DAYS.index(n) for n in names))
    if hours < MIN_WINDOW_HOURS:
        return None, (f"the window lasts {hours:g} hours; GKE counts only windows of at least "
                      f"{MIN_WINDOW_HOURS} hours")
    weekly = hours * len(days) * MIN_OCCURRENCES_PER_32_DAYS
    if weekly < MIN_HOURS_PER_32_DAYS:
        return None, (f"{len(days)} day(s) x {hours:g} hours leaves as little as {weekly:g} "
                      f"hours of maintenance in 32 days; GKE needs {MIN_HOURS_PER_32_DAYS}: add "
                      f"days or hours, e.g. '{EXAMPLE}'")
    return Window(days, start, hours), None


def parse_day(text: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        return None


def exclusion_problem(start: str, end: str, scope: str) -> tuple[str, str] | None:
    """``(field, message)`` of what is wrong with an exclusion, or None."""
    first, last = parse_day(start), parse_day(end)
    for field, text, day in (("start", start, first), ("end", end, last)):
        if day is None:
            return field, f"'{text}' is not a date: use YYYY-MM-DD"
    assert first is not None and last is not None
    if last < first:
        return "end", f"ends ({end}) before it starts ({start})"
    days = (last - first).days + 1
    limit = MAX_EXCLUSION_DAYS[scope]
    if days > limit:
        return "end", (f"lasts {days} days; GKE allows {scope} exclusions of at most {limit} "
                       "days: shorten it or split it with a maintenance window in between")
    return None


def exclusion_times(start: str, end: str) -> tuple[str, str]:
    """RFC 3339 start (00:00 UTC of the first day) and end (23:59:59 UTC of the last)."""
    return f"{start}T00:00:00Z", f"{end}T23:59:59Z"
