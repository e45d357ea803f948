"""Terminal output that fits: lines broken at spaces, never inside a word.

Rich folds a word longer than the line (a URN, ``file:line:column``, an amount) wherever the
line ends, and cuts table cells with an ellipsis. People copy those words; a CI log or a
narrow terminal must not break them. :func:`wrap_words` breaks only at spaces and gives a word
longer than a line a line of its own; :class:`WordWrapConsole` prints text that way.
"""

from __future__ import annotations

import re
from typing import Any

from rich.console import Console
from rich.text import Text

_WORD = re.compile(r"\S+")


def wrap_words(text: Text, width: int, hang: int = 0) -> list[Text]:
    """``text`` in lines of at most ``width`` columns, broken at spaces only.

    Leading spaces are kept on the first line; continuation lines are indented by ``hang``.
    A word longer than a line is never cut: it stays whole where it falls, however long."""
    plain = text.plain
    lead = len(plain) - len(plain.lstrip(" "))
    lines: list[Text] = []
    line = text[:lead]
    used, empty, prev = lead, True, lead
    for match in _WORD.finditer(plain):
        start, end = match.span()
        gap = plain[prev:start] if not empty else ""
        # Break before a word only when it then fits: a word longer than any line stays
        # after what precedes it (a marker, a label) instead of leaving it alone.
        if not empty and used + len(gap) + (end - start) > width >= hang + (end - start):
            lines.append(line)
            line, used, empty, gap = Text(" " * hang), hang, True, ""
        if gap:
            line.append_text(text[prev:start])
            used += len(gap)
        line.append_text(text[start:end])
        used += end - start
        empty, prev = False, end
    lines.append(line)
    return lines


class WordWrapConsole(Console):
    """A Console whose text lines wrap at spaces only (tables and other renderables as usual).

    Continuation lines are indented like the line's own leading spaces plus two."""

    def print(self, *objects: Any, **kwargs: Any) -> None:
        if (len(objects) == 1 and isinstance(objects[0], str | Text)
                and set(kwargs) <= {"markup", "highlight", "end", "style"}):
            obj = objects[0]
            text = obj.copy() if isinstance(obj, Text) else self.render_str(
                obj, markup=kwargs.get("markup"), highlight=False)
            if kwargs.get("style"):
                text.stylize(kwargs["style"])
            if "\n" not in text.plain:
                lead = len(text.plain) - len(text.plain.lstrip(" "))
                for line in wrap_words(text, self.width, lead + 2):
                    super().print(line, overflow="ignore", crop=False, soft_wrap=True,
                                  end=kwargs.get("end", "\n"))
                return
        super().print(*objects, **kwargs)
