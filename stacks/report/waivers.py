"""Policy waivers: ``waivers.yaml`` beside org.yaml, each an accepted, owned, expiring exception.

A waiver never hides a finding: ``trellis check`` still shows it, marked waived with the reason,
and only stops it from failing the run. Waivers rot, so every one must say why, expire within
:data:`MAX_DAYS` days, and match at least one finding; an expired, malformed or unmatched waiver
is an error with its file and line, like any error in org.yaml::

    version: 1
    waivers:
      - rule: TRL-GCS-006              # rule ID from docs/policies.md
        resource: recsys/models        # logical path glob, or URN glob like *::acme-dev-x
        reason: EU copy of the model registry, approved by DPO ticket 123
        owner: ml-platform@acme.com
        expires: 2027-03-01            # ISO date, at most 180 days ahead
"""

from __future__ import annotations

import datetime as dt
import difflib
import fnmatch
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

from stacks.org.errors import Issue, OrgError, did_you_mean
from stacks.org.yaml_source import Source, parse

MAX_DAYS = 180
FILE_NAME = "waivers.yaml"
_KEYS = ("rule", "resource", "reason", "owner", "expires")
_REQUIRED = ("rule", "resource", "reason", "expires")


@dataclass(frozen=True)
class Waiver:
    """One accepted exception to one rule for the resources its pattern matches."""

    rule: str
    resource: str
    reason: str
    expires: dt.date
    owner: str | None = None
    file: str | None = None
    line: int | None = None
    column: int | None = None

    def matches(self, policy: str, urn: str, logical_path: str) -> bool:
        """Same rule, and the pattern matches the URN or (a sub-path of) the logical path.

        A pattern with ``::`` or starting ``urn:`` is a URN glob. Anything else is a glob over
        the ``/``-joined logical names from the component down to the resource; it also matches
        inside a longer path, so ``recsys/models`` covers the bucket and the grants a
        ``recsys/models`` component creates.
        """
        if policy != self.rule:
            return False
        pattern = self.resource
        if "::" in pattern or pattern.startswith("urn:"):
            return fnmatch.fnmatchcase(urn, pattern)
        return any(fnmatch.fnmatchcase(logical_path, p) for p in (
            pattern, f"{pattern}/*", f"*/{pattern}", f"*/{pattern}/*"))

    def where(self) -> str:
        return Issue("", (), self.file, self.line, self.column).location()

    def issue(self, message: str) -> Issue:
        return Issue(message, (), self.file, self.line, self.column)

    def to_json(self) -> dict[str, object]:
        return {"rule": self.rule, "resource": self.resource, "reason": self.reason,
                "owner": self.owner, "expires": self.expires.isoformat(), "file": self.file,
                "line": self.line}


def default_path(org_file: Path) -> Path | None:
    """``waivers.yaml`` beside ``org_file`` if it exists."""
    path = org_file.parent / FILE_NAME
    return path if path.is_file() else None


def load(path: Path, *, known_rules: Collection[str], today: dt.date | None = None) -> list[Waiver]:
    """Read and validate a waivers file; raise :class:`OrgError` listing every problem."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise OrgError([Issue(f"cannot read the waivers file: {exc.strerror}", (), str(path))]
                       ) from None
    return parse_waivers(parse(raw, str(path)), known_rules=known_rules, today=today)


def parse_waivers(src: Source, *, known_rules: Collection[str],
                  today: dt.date | None = None) -> list[Waiver]:
    """Validate a parsed waivers document (see the module docstring for the format)."""
    today = today or dt.date.today()
    issues: list[Issue] = []
    data = src.data
    for key in data:
        if key not in ("version", "waivers"):
            issues.append(src.issue((key,), f"unknown key '{key}'{did_you_mean(key, ['waivers'])};"
                                    " a waivers file has `version` and `waivers`", at_key=True))
    if data.get("version", 1) != 1:
        issues.append(src.issue(("version",), f"version must be 1; got {data.get('version')!r}"))
    entries = data.get("waivers")
    if entries is None:
        entries = []
    if not isinstance(entries, list):
        issues.append(src.issue(("waivers",), "waivers must be a list of entries "
                                "(`- rule: ...`)"))
        entries = []
    out: list[Waiver] = []
    for i, entry in enumerate(entries):
        waiver = _entry(src, i, entry, known_rules, today, issues)
        if waiver is not None:
            out.append(waiver)
    if issues:
        raise OrgError(issues)
    return out


def _entry(src: Source, i: int, entry: object, known_rules: Collection[str], today: dt.date,
           issues: list[Issue]) -> Waiver | None:
    base: tuple[str | int, ...] = ("waivers", i)
    if not isinstance(entry, dict):
        issues.append(src.issue(base, "each waiver is a mapping with rule, resource, reason, "
                                "owner and expires"))
        return None
    before = len(issues)
    for key in entry:
        if key not in _KEYS:
            issues.append(src.issue((*base, key), f"unknown key '{key}'{did_you_mean(key, _KEYS)};"
                                    f" allowed: {', '.join(_KEYS)}", at_key=True))
    for key in _REQUIRED:
        value = entry.get(key)
        if value is None or (isinstance(value, str) and not value.strip()):
            issues.append(src.issue((*base, key) if key in entry else base,
                                    f"`{key}` is required" + (
                                        " (why the finding is acceptable)" if key == "reason"
                                        else "")))
    rule = entry.get("rule")
    if isinstance(rule, str) and rule.strip() and rule not in known_rules:
        guess = difflib.get_close_matches(rule.strip().upper(), sorted(known_rules), n=1)
        hint = f" (did you mean '{guess[0]}'?)" if guess else ""
        issues.append(src.issue((*base, "rule"), f"unknown rule '{rule}'{hint}; rule IDs are "
                                "listed in docs/policies.md"))
    for key in ("rule", "resource", "reason", "owner"):
        value = entry.get(key)
        if value is not None and not isinstance(value, str):
            issues.append(src.issue((*base, key), f"`{key}` must be text; got {value!r}"))
    expires = _date(src, (*base, "expires"), entry.get("expires"), today, issues)
    if len(issues) > before or expires is None:
        return None
    line, column = src.value_pos.get(base, (None, None))
    return Waiver(rule=str(rule), resource=str(entry["resource"]).strip(),
                  reason=str(entry["reason"]).strip(), expires=expires,
                  owner=entry.get("owner"), file=src.file, line=line, column=column)


def _date(src: Source, path: tuple[str | int, ...], value: object, today: dt.date,
          issues: list[Issue]) -> dt.date | None:
    if value is None:
        return None
    try:
        when = dt.date.fromisoformat(str(value).strip())
    except ValueError:
        issues.append(src.issue(path, f"expires must be an ISO date like "
                                f"{(today + dt.timedelta(days=90)).isoformat()}; got {value!r}"))
        return None
    latest = today + dt.timedelta(days=MAX_DAYS)
    if when < today:
        issues.append(src.issue(path, f"the waiver expired on {when.isoformat()}; fix the "
                                "finding, or renew the waiver with a new reason and date"))
        return None
    if when > latest:
        issues.append(src.issue(path, f"expires {when.isoformat()} is more than {MAX_DAYS} days "
                                f"ahead; use {latest.isoformat()} or earlier and review it then"))
        return None
    return when


def unmatched_issues(unmatched: list[Waiver]) -> list[Issue]:
    """Errors for waivers that matched no finding (stale, or a pattern that is wrong)."""
    return [w.issue(f"waiver for {w.rule} on '{w.resource}' matches no finding; remove it if "
                    "the resource is compliant now, or fix the pattern (a logical path like "
                    "recsys/models or a URN glob like *::acme-dev-recsys-models)")
            for w in unmatched]
