"""Errors a user can act on: where (file:line:col and field path), what was given, how to fix it.

Every layer that finds a problem in user input collects :class:`Issue` objects and raises one
:class:`OrgError` with all of them; the CLI and the Pulumi program print them, never a traceback.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

Path_ = tuple[str | int, ...]


def format_path(path: Path_) -> str:
    """``("teams", "recsys", "gpu_pools", "train")`` -> ``teams.recsys.gpu_pools.train``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def closest(given: object, allowed: Iterable[str]) -> str | None:
    """The allowed value a typo most likely meant, or None when nothing is close."""
    text = str(given).lower()
    choices = list(allowed)
    # "h100" -> "h100-80gb": a unique allowed value that starts with what was typed wins over
    # a merely similar one ("h200").
    prefixed = [c for c in choices if text and c.lower().startswith(text)]
    if len(prefixed) == 1:
        return prefixed[0]
    # One typo in a short name ("l5" for "l4") is too little text for difflib's ratio.
    near = [c for c in choices if _one_edit(text, c.lower())]
    if len(near) == 1:
        return near[0]
    match = difflib.get_close_matches(text, choices, n=1, cutoff=0.6)
    return match[0] if match else None


def _one_edit(a: str, b: str) -> bool:
    """True when ``a`` and ``b`` differ by exactly one substitution, insertion or deletion."""
    if a == b or abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        return sum(x != y for x, y in zip(a, b, strict=True)) == 1
    short, long_ = sorted((a, b), key=len)
    return any(long_[:i] + long_[i + 1:] == short for i in range(len(long_)))


def did_you_mean(given: object, allowed: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` or the empty string."""
    guess = closest(given, allowed)
    return f" (did you mean '{guess}'?)" if guess is not None and guess != str(given) else ""


@dataclass(frozen=True)
class Issue:
    """One problem in the org file."""

    message: str
    path: Path_ = ()
    file: str | None = None
    line: int | None = None  # 1-based
    column: int | None = None  # 1-based

    def location(self) -> str:
        where = self.file or "<org>"
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        return where

    def __str__(self) -> str:
        path = format_path(self.path)
        sep = " " if self.line is not None else ": "
        return f"{self.location()}{sep}{path + ': ' if path else ''}{self.message}"


@dataclass
class OrgError(Exception):
    """Raised once with every problem found; ``str()`` gives one line per problem."""

    issues: Sequence[Issue] = field(default_factory=list)

    def __post_init__(self) -> None:
        super().__init__(str(self))

    def __str__(self) -> str:
        return "\n".join(str(i) for i in self.issues)

    def summary(self) -> str:
        n = len(self.issues)
        return f"{n} problem{'s' if n != 1 else ''} found"
