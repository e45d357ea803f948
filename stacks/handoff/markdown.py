"""Render handoff pages as GitHub-flavoured Markdown (README.md, teams/<team>.md).

This Markdown is the one written form of the handoff: index.html is rendered from it
(:mod:`stacks.handoff.html`).
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable

from stacks.handoff.doc import (
    Block,
    Bullets,
    Code,
    CodeBlock,
    Diagram,
    Heading,
    Inline,
    Link,
    Note,
    Page,
    Para,
    Spans,
    Strong,
    Table,
)

_SPECIAL = re.compile(r"([\\`*_\[\]<>|#~&])")


def escape(text: str) -> str:
    """Plain text -> Markdown that shows exactly that text (user values included)."""
    return _SPECIAL.sub(r"\\\1", text).replace("\n", " ")


_BLOCK_START = re.compile(r"^(\d{1,9})([.)])(?=\s|$)|^([-+=])")


def line_start(markdown: str) -> str:
    """A paragraph or list item that cannot turn into a list, rule or heading underline.

    ``escape`` handles characters that mean something anywhere; these mean something only at
    the start of a line (``- x``, ``1. x``, ``---``, ``===``), e.g. a description from org.yaml.
    """
    markdown = markdown.lstrip()
    return _BLOCK_START.sub(lambda m: f"{m.group(1)}\\{m.group(2)}" if m.group(1)
                            else f"\\{m.group(3)}", markdown, count=1)


def code_span(text: str) -> str:
    """An inline code span that survives backticks inside ``text``."""
    ticks = max((len(m) for m in re.findall(r"`+", text)), default=0) + 1
    fence = "`" * ticks
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def fence_for(code: str) -> str:
    longest = max((len(m) for m in re.findall(r"`{3,}", code)), default=2)
    return "`" * max(3, longest + 1)


def inline(span: Inline, link: Callable[[str], str]) -> str:
    if isinstance(span, str):
        return escape(span)
    if isinstance(span, Code):
        return code_span(span.text)
    if isinstance(span, Strong):
        return f"**{escape(span.text)}**"
    if isinstance(span, Link):
        return f"[{escape(span.text)}]({link(span.target)})"
    raise TypeError(span)


def render_spans(text: Spans, link: Callable[[str], str]) -> str:
    return "".join(inline(s, link) for s in text)


def page_linker(page: Page, paths: dict[str, str]) -> Callable[[str], str]:
    """Targets -> relative links from ``page`` (``page:<key>`` -> the other page's file)."""
    here = posixpath.dirname(page.path)

    def link(target: str) -> str:
        if target.startswith("page:"):
            return posixpath.relpath(paths[target.removeprefix("page:")], here or ".")
        return target

    return link


def render_block(block: Block, link: Callable[[str], str], diagram: str) -> str:
    if isinstance(block, Heading):
        return f"{'#' * block.level} {render_spans(block.text, link)}"
    if isinstance(block, Para):
        return line_start(render_spans(block.text, link))
    if isinstance(block, Note):
        return f"> {line_start(render_spans(block.text, link))}"
    if isinstance(block, Bullets):
        return "\n".join(f"- {line_start(render_spans(item, link))}" for item in block.items)
    if isinstance(block, Table):
        def row(cells: list[str]) -> str:
            return "| " + " | ".join(c or " " for c in cells) + " |"
        header = row([escape(h) for h in block.header])
        rule = "|" + "|".join("---:" if i in block.right else "---"
                              for i in range(len(block.header))) + "|"
        body = [row([render_spans(c, link) for c in r]) for r in block.rows]
        return "\n".join([header, rule, *body])
    if isinstance(block, CodeBlock):
        parts = []
        if block.title:  # index.html shows a bold-only paragraph before code as its caption
            parts.append(f"**{escape(block.title)}**")
        if block.intro:
            parts.append(line_start(render_spans(block.intro, link)))
        fence = fence_for(block.code)
        parts.append(f"{fence}{block.lang}\n{block.code.rstrip()}\n{fence}")
        return "\n\n".join(parts)
    if isinstance(block, Diagram):
        caption = f"\n\n*{escape(block.caption)}*" if block.caption else ""
        return f"```mermaid\n{diagram.rstrip()}\n```{caption}"
    raise TypeError(block)


def render_page(page: Page, paths: dict[str, str], diagram: str = "") -> str:
    """One page as Markdown; ``paths`` maps page keys to bundle paths (for links)."""
    link = page_linker(page, paths)
    return "\n\n".join(render_block(b, link, diagram) for b in page.blocks) + "\n"
