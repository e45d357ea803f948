"""A tiny document model: the handoff pages as blocks, written once and rendered to Markdown.

Pages are written (:mod:`stacks.handoff.content`) as these blocks; :mod:`.markdown` renders
them as README.md and teams/*.md, and :mod:`.html` renders index.html from that very Markdown,
so the files cannot say different things. Text in blocks is plain (never markup): the Markdown
renderer escapes it.
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
    """Anchored as GitHub anchors Markdown headings (HTML ids: ``<page key>__<anchor>``)."""

    level: int  # 1..4
    text: Spans


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
    """The architecture diagram: Mermaid in Markdown, inline SVG in HTML; caption below."""

    caption: str = ""


Block = Heading | Para | Note | Bullets | Table | CodeBlock | Diagram


@dataclass(frozen=True)
class Page:
    key: str  # "overview" or "team-<name>"; also the HTML section id
    path: str  # file path inside the bundle, e.g. "teams/recsys.md"; links name it
    title: str
    blocks: tuple[Block, ...] = field(default=())


def ticked(text: str) -> Spans:
    """Spans from text where `backticked` parts are inline code (for recipe intros)."""
    parts = text.split("`")
    if len(parts) % 2 == 0:  # unbalanced: keep it all as text
        return (text,) if text else ()
    return tuple(Code(p) if i % 2 else p for i, p in enumerate(parts) if p)
