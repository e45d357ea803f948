"""A tiny document model: the handoff pages as blocks, rendered to Markdown and to HTML.

Pages are written once (:mod:`stacks.handoff.content`) as these blocks; :mod:`.markdown` and
:mod:`.html` only render them, so README.md, teams/*.md and index.html cannot say different
things. Text in blocks is plain (never markup): each renderer escapes it for its format.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Code:
    """Inline code."""

    text: str


@dataclass(frozen=True)
class Strong:
    text: str


@dataclass(frozen=True)
class Link:
    """``target``: ``page:<key>`` (another page of the bundle) or an ``https://`` address."""

    text: str
    target: str


Inline = str | Code | Strong | Link
Spans = tuple[Inline, ...]


def spans(*parts: Inline | None) -> Spans:
    """Spans from parts; ``None`` parts are dropped (for optional bits of a sentence)."""
    return tuple(p for p in parts if p is not None and p != "")


@dataclass(frozen=True)
class Heading:
    level: int  # 1..4
    text: Spans
    anchor: str  # unique within the page; HTML ids are "<page key>__<anchor>"


@dataclass(frozen=True)
class Para:
    text: Spans


@dataclass(frozen=True)
class Note:
    """A call-out (Markdown blockquote)."""

    text: Spans


@dataclass(frozen=True)
class Bullets:
    items: tuple[Spans, ...]


@dataclass(frozen=True)
class Table:
    header: tuple[str, ...]
    rows: tuple[tuple[Spans, ...], ...]
    right: tuple[int, ...] = ()  # indexes of right-aligned (numeric) columns


@dataclass(frozen=True)
class CodeBlock:
    lang: str  # yaml | shell | python | json
    code: str
    title: str = ""
    intro: Spans = ()


@dataclass(frozen=True)
class Diagram:
    """The architecture diagram: Mermaid in Markdown, inline SVG in HTML."""

    caption: str = ""


Block = Heading | Para | Note | Bullets | Table | CodeBlock | Diagram


@dataclass(frozen=True)
class Page:
    key: str  # "overview" or "team-<name>"; also the HTML section id
    path: str  # file path inside the bundle, e.g. "teams/recsys.md"
    title: str
    blocks: tuple[Block, ...] = field(default=())


def plain(text: Spans) -> str:
    """The text of spans without any markup (for titles, alt text, tooltips)."""
    return "".join(s if isinstance(s, str) else s.text for s in text)


def ticked(text: str) -> Spans:
    """Spans from text where `backticked` parts are inline code (for recipe intros)."""
    parts = text.split("`")
    if len(parts) % 2 == 0:  # unbalanced: keep it all as text
        return (text,) if text else ()
    return tuple(Code(p) if i % 2 else p for i, p in enumerate(parts) if p)
