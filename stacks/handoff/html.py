"""Render the whole bundle as one self-contained HTML page (index.html).

No network at all: inline CSS, no scripts, no web fonts, the diagram as inline SVG. Every piece
of text is escaped here (user values from org.yaml included). The layout reflows on a phone
(tables and code scroll sideways inside their own box) and prints cleanly (no navigation, one
team per printed page, code wrapped).
"""

from __future__ import annotations

from html import escape

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
    plain,
)

CSS = """
:root { --fg: #0f172a; --muted: #475569; --line: #e2e8f0; --accent: #1d4ed8;
        --code-bg: #f1f5f9; --note-bg: #eff6ff; }
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body { margin: 0; color: var(--fg); background: #ffffff; line-height: 1.5;
       font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; }
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


def _href(target: str) -> str:
    if target.startswith("page:"):
        return "#" + target.removeprefix("page:")
    return target


def inline(span: Inline) -> str:
    if isinstance(span, str):
        return _e(span)
    if isinstance(span, Code):
        return f"<code>{_e(span.text)}</code>"
    if isinstance(span, Strong):
        return f"<strong>{_e(span.text)}</strong>"
    if isinstance(span, Link):
        return f'<a href="{_e(_href(span.target))}">{_e(span.text)}</a>'
    raise TypeError(span)


def render_spans(text: Spans) -> str:
    return "".join(inline(s) for s in text)


def block(b: Block, page: Page, svg: str) -> str:
    if isinstance(b, Heading):
        level = min(max(b.level, 1), 4)
        return f'<h{level} id="{_e(page.key + "__" + b.anchor)}">{render_spans(b.text)}</h{level}>'
    if isinstance(b, Para):
        return f"<p>{render_spans(b.text)}</p>"
    if isinstance(b, Note):
        return f"<blockquote><p>{render_spans(b.text)}</p></blockquote>"
    if isinstance(b, Bullets):
        return "<ul>" + "".join(f"<li>{render_spans(i)}</li>" for i in b.items) + "</ul>"
    if isinstance(b, Table):
        def cls(i: int) -> str:
            return ' class="num"' if i in b.right else ""
        head = "".join(f'<th scope="col"{cls(i)}>{_e(h)}</th>' for i, h in enumerate(b.header))
        rows = "".join(
            "<tr>" + "".join(f"<td{cls(i)}>{render_spans(c)}</td>" for i, c in enumerate(r))
            + "</tr>" for r in b.rows)
        return (f'<div class="table-wrap"><table><thead><tr>{head}</tr></thead>'
                f"<tbody>{rows}</tbody></table></div>")
    if isinstance(b, CodeBlock):
        parts = ['<figure class="recipe">']
        if b.title:
            parts.append(f"<figcaption>{_e(b.title)}</figcaption>")
        if b.intro:
            parts.append(f'<p class="intro">{render_spans(b.intro)}</p>')
        parts.append(f'<pre><code class="language-{_e(b.lang)}">{_e(b.code.rstrip())}'
                     "</code></pre></figure>")
        return "".join(parts)
    if isinstance(b, Diagram):
        caption = f"<figcaption>{_e(b.caption)}</figcaption>" if b.caption else ""
        return f'<figure class="diagram-figure">{svg}{caption}</figure>'
    raise TypeError(b)


def _toc(page: Page) -> str:
    links = [f'<a href="#{_e(page.key + "__" + b.anchor)}">{_e(plain(b.text))}</a>'
             for b in page.blocks if isinstance(b, Heading) and b.level == 2]
    return f'<nav class="toc" aria-label="On this page">{"".join(links)}</nav>' if links else ""


def render_site(title: str, pages: list[Page], svg: str) -> str:
    """All pages in one document, with a navigation bar; ``svg`` is the inline diagram."""
    nav = "".join(f'<a href="#{_e(p.key)}">{_e(p.title.split(":", 1)[0])}</a>'
                  if i else f'<a class="brand" href="#{_e(p.key)}">{_e(p.title)}</a>'
                  for i, p in enumerate(pages))
    sections = []
    for p in pages:
        blocks = [block(b, p, svg) for b in p.blocks]
        if blocks and p.key != pages[0].key:
            blocks.insert(2, _toc(p))
        sections.append(f'<section class="page" id="{_e(p.key)}">' + "\n".join(blocks)
                        + "</section>")
    return ("<!DOCTYPE html>\n"
            '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            '<meta name="generator" content="trellis handoff">\n'
            '<link rel="icon" href="data:,">\n'
            f"<title>{_e(title)}</title>\n<style>\n{CSS}\n</style>\n</head>\n<body>\n"
            f'<header class="site"><nav aria-label="Pages">{nav}</nav></header>\n'
            "<main>\n" + "\n".join(sections) + "\n</main>\n</body>\n</html>\n")
