"""The whole bundle as one self-contained HTML page (index.html), rendered from the Markdown.

The Markdown pages (README.md, teams/*.md) are the one written form of the handoff; this module
renders them with markdown-it-py (CommonMark + GitHub tables, raw HTML off, so every piece of
text is escaped, user values from org.yaml included) and lays them out as one page: a
navigation bar, one section per page, an "on this page" list of each team page's sections, and
links between pages turned into links inside the page. Two conventions of the Markdown get their
own look: a bold-only paragraph right before a code block is that recipe's caption (and a
paragraph between the two its introduction); the Mermaid diagram becomes the inline SVG, with
the italic paragraph after it as its caption.

No network at all: inline CSS, no scripts, no web fonts. The layout reflows on a phone (prose
and names wrap, tables become one card per row, code scrolls sideways inside its own box) and
prints cleanly (no navigation, one team per printed page, code wrapped).
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from html import escape
from typing import Any, cast

from markdown_it import MarkdownIt
from markdown_it.renderer import RendererHTML
from markdown_it.token import Token

from stacks.handoff.doc import Page

CSS = """
:root { --fg: #0f172a; --muted: #475569; --line: #e2e8f0; --accent: #1d4ed8;
        --code-bg: #f1f5f9; --note-bg: #eff6ff; }
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body { margin: 0; color: var(--fg); background: #ffffff; line-height: 1.5;
       font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif;
       overflow-wrap: break-word; }
header.site { position: sticky; top: 0; z-index: 1; background: #0f172a; color: #ffffff; }
header.site nav { max-width: 64rem; margin: 0 auto; padding: .5rem 1rem; display: flex;
                  flex-wrap: wrap; gap: .25rem 1rem; align-items: baseline; }
header.site a { color: #ffffff; text-decoration: none; font-weight: 600; }
header.site a:hover, header.site a:focus { text-decoration: underline; }
header.site .brand { font-weight: 700; margin-right: .5rem; }
main { max-width: 64rem; margin: 0 auto; padding: 0 1rem 4rem; }
section.page { padding-top: 1rem; border-top: 4px solid var(--line); margin-top: 2rem; }
section.page:first-child { border-top: 0; margin-top: 0; }
h1 { font-size: 1.75rem; line-height: 1.2; margin: 1rem 0 .75rem; }
h2 { font-size: 1.35rem; margin: 2rem 0 .5rem; padding-bottom: .25rem;
     border-bottom: 1px solid var(--line); }
h3 { font-size: 1.1rem; margin: 1.5rem 0 .5rem; }
h4 { font-size: 1rem; margin: 1.25rem 0 .5rem; }
h1, h2, h3, h4 { scroll-margin-top: 3.5rem; }
a { color: var(--accent); }
p { margin: .5rem 0; }
code { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, "DejaVu Sans Mono", monospace;
       font-size: .875em; background: var(--code-bg); padding: .05em .3em; border-radius: 3px;
       overflow-wrap: anywhere; }
pre { background: #0f172a; color: #e2e8f0; padding: .75rem 1rem; border-radius: 6px;
      overflow-x: auto; font-size: .85rem; line-height: 1.45; margin: .5rem 0 0; }
pre code { background: none; padding: 0; color: inherit; font-size: inherit;
           overflow-wrap: normal; }
pre.prose { white-space: pre-wrap; overflow-wrap: anywhere; }
pre.prose code { overflow-wrap: anywhere; }
figure { margin: 1rem 0; }
figure.recipe figcaption { font-weight: 600; }
figure.recipe .intro { margin: .25rem 0; color: var(--muted); }
blockquote { margin: .75rem 0; padding: .5rem .75rem; background: var(--note-bg);
             border-left: 4px solid var(--accent); }
.table-wrap { overflow-x: auto; margin: .5rem 0; }
table { border-collapse: collapse; min-width: 100%; font-size: .9rem; }
th, td { border: 1px solid var(--line); padding: .35rem .5rem; text-align: left;
         vertical-align: top; }
th { background: #f8fafc; }
td.num, th.num { text-align: right; white-space: nowrap; }
.toc { font-size: .9rem; color: var(--muted); }
.toc a { margin-right: .75rem; }
figure.diagram-figure { overflow-x: auto; }
figure.diagram-figure svg { display: block; max-width: 100%; height: auto; margin: 0 auto; }
figure.diagram-figure figcaption { text-align: center; color: var(--muted); font-size: .9rem; }
@media (max-width: 640px) {
  body { font-size: 15px; }
  h1 { font-size: 1.4rem; }
  main { padding: 0 .75rem 3rem; }
  pre { font-size: .78rem; padding: .6rem .7rem; }
  /* Tables become one card per row, each value under its column's name: nothing wider
     than the phone, nothing to scroll sideways. */
  .table-wrap { overflow-x: visible; }
  table.cards, table.cards tbody, table.cards tr, table.cards td { display: block;
                                                                   min-width: 0; }
  table.cards thead { display: none; }
  table.cards tr { border: 1px solid var(--line); border-radius: 6px; margin: .5rem 0;
                   padding: .35rem .6rem; }
  table.cards td { border: 0; padding: .1rem 0; text-align: left; white-space: normal; }
  table.cards td:first-child { font-weight: 600; }
  table.cards td[data-label]::before { content: attr(data-label) ": "; font-weight: 600;
                                       color: var(--muted); }
}
@media print {
  header.site { display: none; }
  body { font-size: 11pt; }
  main { max-width: none; padding: 0; }
  section.page { break-before: page; border-top: 0; }
  section.page:first-child { break-before: auto; }
  pre { white-space: pre-wrap; overflow-wrap: anywhere; background: #ffffff; color: #000000;
        border: 1px solid #94a3b8; }
  .table-wrap, figure.diagram-figure { overflow: visible; }
  figure, table, pre, blockquote { break-inside: avoid; }
  h2, h3, h4 { break-after: avoid; }
  a { color: inherit; text-decoration: none; }
}
""".strip()


def _e(text: str) -> str:
    return escape(text, quote=True)


def slug(text: str) -> str:
    """GitHub's heading anchor: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", text.lower()).replace(" ", "-")


@dataclass
class _Env:
    """What the renderer needs to know about the page it renders."""

    page: Page
    keys: dict[str, str]  # bundle path -> page key
    slugs: dict[str, int] = field(default_factory=dict)
    headings: list[tuple[int, str, str]] = field(default_factory=list)  # level, text, id

    def heading_id(self, text: str) -> str:
        base = slug(text)
        n = self.slugs.get(base, 0)
        self.slugs[base] = n + 1
        return f"{self.page.key}__{base}" + (f"-{n}" if n else "")

    def href(self, target: str) -> str:
        """Links between pages of the bundle become links inside index.html."""
        if re.match(r"^[a-z][a-z0-9+.-]*:", target):  # https:, mailto:
            return target
        path, _, fragment = target.partition("#")
        if not path:
            return f"#{self.page.key}__{fragment}" if fragment else "#" + self.page.key
        here = posixpath.dirname(self.page.path)
        resolved = posixpath.normpath(posixpath.join(here, path))
        if resolved not in self.keys:
            raise ValueError(f"{self.page.path}: link to {target!r}, which is not a page of "
                             "the bundle")
        key = self.keys[resolved]
        return f"#{key}__{fragment}" if fragment else f"#{key}"


def _text(tokens: Sequence[Token]) -> str:
    """The plain text of inline tokens (for heading anchors and the contents list)."""
    return "".join(t.content for t in tokens if t.type in ("text", "code_inline"))


def _parser() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False}).enable("table")

    def heading_open(_self: Any, tokens: list[Token], idx: int, options: Any,
                     env: dict[str, Any]) -> str:
        tag = tokens[idx].tag
        text = _text(tokens[idx + 1].children or [])
        page: _Env = env["page"]
        hid = page.heading_id(text)
        page.headings.append((int(tag[1]), text, hid))
        return f'<{tag} id="{_e(hid)}">'

    def link_open(_self: Any, tokens: list[Token], idx: int, options: Any,
                  env: dict[str, Any]) -> str:
        href = env["page"].href(str(tokens[idx].attrGet("href") or ""))
        return f'<a href="{_e(href)}">'

    def table_open(_self: Any, tokens: list[Token], idx: int, options: Any,
                   env: dict[str, Any]) -> str:
        env["headers"] = []
        return '<div class="table-wrap"><table class="cards">'

    def row_open(_self: Any, tokens: list[Token], idx: int, options: Any,
                 env: dict[str, Any]) -> str:
        env["column"] = 0
        return "<tr>"

    def cell(_self: Any, tokens: list[Token], idx: int, options: Any,
             env: dict[str, Any]) -> str:
        # On a phone each row is a card: a body cell carries its column's name (data-label)
        # to show before its value; the first column names the card and needs no label.
        token = tokens[idx]
        right = "text-align:right" in str(token.attrGet("style") or "")
        column = env.get("column", 0)
        env["column"] = column + 1
        num = ' class="num"' if right else ""
        if token.tag == "th":
            env.setdefault("headers", []).append(_text(tokens[idx + 1].children or []))
            return f'<th scope="col"{num}>'
        headers = env.get("headers", [])
        label = headers[column] if column and column < len(headers) else ""
        data = f' data-label="{_e(label)}"' if label else ""
        return f"<td{num}{data}>"

    def fence(_self: Any, tokens: list[Token], idx: int, options: Any,
              env: dict[str, Any]) -> str:
        token = tokens[idx]
        lang = token.info.strip().split(" ")[0]
        cls = f' class="language-{_e(lang)}"' if lang else ""
        # Text blocks (requests to paste, messages) wrap like prose; code keeps its lines
        # and scrolls sideways inside its box.
        pre = '<pre class="prose">' if lang == "text" else "<pre>"
        return f"{pre}<code{cls}>{_e(token.content.rstrip())}</code></pre>"

    for name, rule in (("heading_open", heading_open), ("link_open", link_open),
                       ("th_open", cell), ("td_open", cell), ("fence", fence),
                       ("tr_open", row_open), ("table_open", table_open),
                       ("table_close", lambda *_: "</table></div>")):
        md.add_render_rule(name, rule)
    return md


_MD = _parser()
_RENDERER = cast(RendererHTML, _MD.renderer)


def _blocks(tokens: list[Token]) -> list[list[Token]]:
    """Top-level blocks: each opening token with everything up to its closing token."""
    out: list[list[Token]] = []
    depth = 0
    for token in tokens:
        if depth == 0:
            out.append([])
        out[-1].append(token)
        depth += token.nesting
    return out


def _only(block: list[Token], mark: str) -> list[Token] | None:
    """The inner inline tokens of a paragraph that is nothing but ``**...**`` / ``*...*``."""
    if len(block) != 3 or block[0].type != "paragraph_open":
        return None
    children = [c for c in block[1].children or [] if not (c.type == "text" and not c.content)]
    if len(children) >= 2 and children[0].type == f"{mark}_open" and \
            children[-1].type == f"{mark}_close" and \
            not any(c.type == f"{mark}_open" for c in children[1:-1]):
        return children[1:-1]
    return None


def render_page(page: Page, markdown: str, keys: dict[str, str], svg: str) -> str:
    """One Markdown page as the HTML of its section (``keys``: bundle path -> page key)."""
    state = _Env(page, keys)
    env: dict[str, Any] = {"page": state}
    blocks = _blocks(_MD.parse(markdown, env))
    options = _MD.options
    render = _RENDERER.render
    out: list[str] = []
    plain: dict[int, int] = {}  # block index -> index in ``out`` of blocks rendered as they are
    i = 0
    while i < len(blocks):
        block = blocks[i]
        first = block[0]
        if first.type == "fence" and first.info.strip() == "mermaid":
            caption = _only(blocks[i + 1], "em") if i + 1 < len(blocks) else None
            figcaption = (f"<figcaption>{_RENDERER.renderInline(caption, options, env)}"
                          "</figcaption>" if caption is not None else "")
            out.append(f'<figure class="diagram-figure">{svg}{figcaption}</figure>')
            i += 2 if caption is not None else 1
            continue
        if first.type == "fence":
            # [**caption**] [intro paragraph] ```code```: the paragraphs just rendered move
            # into the recipe's figure.
            # Only paragraphs that are the last things rendered qualify.
            before = [blocks[j] for j in (i - 2, i - 1)
                      if j in plain and plain[j] == len(out) - (i - j)]
            title = _only(before[-1], "strong") if before else None
            intro = None
            if title is None and before and before[-1][0].type == "paragraph_open":
                intro = before[-1][1].children or []
                title = _only(before[0], "strong") if len(before) == 2 else None
            parts = []
            if title is not None:
                parts.append(f"<figcaption>{_RENDERER.renderInline(title, options, env)}"
                             "</figcaption>")
            if intro is not None:
                parts.append(f'<p class="intro">'
                             f"{_RENDERER.renderInline(intro, options, env)}</p>")
            del out[len(out) - (title is not None) - (intro is not None):]
            out.append('<figure class="recipe">' + "".join(parts)
                       + render(block, options, env) + "</figure>")
            i += 1
            continue
        plain[i] = len(out)
        out.append(render(block, options, env).rstrip("\n"))
        i += 1
    if page.key != "overview":
        contents = [(text, hid) for level, text, hid in state.headings if level == 2]
        if contents and len(out) >= 2:
            links = "".join(f'<a href="#{_e(hid)}">{_e(text)}</a>' for text, hid in contents)
            out.insert(2, f'<nav class="toc" aria-label="On this page">{links}</nav>')
    return "\n".join(out)


def render_site(pages: Sequence[Page], markdown: dict[str, str], svg: str) -> str:
    """All pages in one document, with a navigation bar; ``markdown``: path -> page text,
    ``svg`` the inline diagram. The first page is the overview and names the document."""
    keys = {p.path: p.key for p in pages}
    nav = "".join(f'<a href="#{_e(p.key)}">{_e(p.title.split(":", 1)[0])}</a>'
                  if i else f'<a class="brand" href="#{_e(p.key)}">{_e(p.title)}</a>'
                  for i, p in enumerate(pages))
    sections = [f'<section class="page" id="{_e(p.key)}">'
                + render_page(p, markdown[p.path], keys, svg) + "</section>" for p in pages]
    return ("<!DOCTYPE html>\n"
            '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            '<meta name="generator" content="trellis handoff">\n'
            '<link rel="icon" href="data:,">\n'
            f"<title>{_e(pages[0].title)}</title>\n<style>\n{CSS}\n</style>\n</head>\n<body>\n"
            f'<header class="site"><nav aria-label="Pages">{nav}</nav></header>\n'
            "<main>\n" + "\n".join(sections) + "\n</main>\n</body>\n</html>\n")
