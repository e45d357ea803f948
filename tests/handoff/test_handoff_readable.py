"""Long names stay whole in every form of the handoff (issue 19, "Readable everywhere").

The browser checks of index.html are in test_handoff_browser.py; these check the text itself:
the SVG diagram wraps instead of cutting, Mermaid labels have no word longer than Mermaid's
box, and the Markdown renders on GitHub as written (no raw HTML, long names in code).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator

import pytest
from markdown_it import MarkdownIt

from stacks.handoff import mermaid
from stacks.handoff.model import Bundle
from stacks.handoff.svg import diagram, team_rows, wrap

from . import longest as names

SVG = "{http://www.w3.org/2000/svg}"


def long_names(bundle: Bundle) -> Iterator[str]:
    """Every physical name, URI and identity the pages show that can run long."""
    for env in bundle.environments:
        yield env.cluster_name
        for te in env.teams.values():
            yield from (b.uri for b in te.buckets.values())
            yield from (te.container_registry, te.model_registry, te.workload_identity)
            yield from (m for m in te.members if len(m) > 30)
            if te.pipeline_root:
                yield te.pipeline_root
            if te.member_role:
                yield te.member_role


def test_the_longest_orgs_are_valid_and_at_the_limits(longest):
    """The orgs of the readability checks are real: they validate and plan, with names at
    the limits (a name shortened to make a test pass would make the test pointless)."""
    env = longest.bundle.environments[0]
    team = env.teams[names.LONG_TEAM]
    assert len(longest.bundle.org) == 12 and len(names.LONG_TEAM) == 16
    assert max(len(b.name) for b in team.buckets.values()) >= 60, team.buckets
    if longest.cloud == "aws":
        assert names.ROLE in team.members and len(names.ROLE.rsplit("/", 1)[1]) == 64


@pytest.mark.parametrize(("text", "width", "lines"), [
    ("gs://acme-dev-recsys-datasets", 12, ["gs://acme-", "dev-recsys-", "datasets"]),
    ("At 02:30, Monday through Friday", 16, ["At 02:30, Monday ", "through Friday"]),
    ("x" * 25, 10, ["x" * 10, "x" * 10, "x" * 5]),
    ("short", 10, ["short"]),
])
def test_wrap_breaks_at_spaces_then_separators_and_loses_nothing(text, width, lines):
    got = wrap(text, width, 1, 1)
    assert got == lines
    assert "".join(got) == text and all(len(line) <= width + 1 for line in got)


def test_the_diagram_shows_every_name_whole(longest, example):
    """Each team row (pools, buckets, registries, pipelines) is one <text> whose lines join
    back to the whole name: no ellipsis, nothing cut (the issue's clipped diagram names)."""
    for planned in (longest, example):
        svg = diagram(planned.bundle)
        assert "…" not in svg, "the diagram cuts a name"
        texts = {"".join(t.itertext()) for t in ET.fromstring(svg).iter(f"{SVG}text")}
        for env in planned.bundle.environments:
            assert env.name in texts and any(env.cluster_name in t for t in texts), env.name
            for te in env.teams.values():
                missing = [row for _, row in team_rows(te) if row not in texts]
                assert missing == [], f"{te.team} in {env.name}: not whole in the diagram"


def _labels(chart: str) -> list[str]:
    return re.findall(r'"([^"]*)"', chart)


def test_mermaid_labels_have_no_word_mermaid_would_cut(longest, example):
    """Mermaid cuts a word wider than its ~200 px box (mermaid-js/mermaid#6424): no label line
    has a word over ``mermaid.WORD`` characters, and the names are all there once the line
    breaks are taken out."""
    for planned in (longest, example):
        chart = mermaid.flowchart(planned.bundle)
        labels = _labels(chart)
        for lbl in labels:
            for line in lbl.split("<br/>"):
                plain = re.sub(r"#(?:[a-z]+|\d+);", "x", line)
                long = [w for w in plain.split(" ") if len(w) > mermaid.WORD]
                assert long == [], f"label {lbl!r}: Mermaid would cut {long}"
        joined = " ".join(lbl.replace("<br/>", "") for lbl in labels)
        for env in planned.bundle.environments:
            for te in env.teams.values():
                for b in te.buckets.values():
                    assert b.uri.replace("#", "#35;") in joined, f"{b.uri} not in the diagram"
                assert te.container_registry in joined, te.container_registry


MD = MarkdownIt("commonmark", {"html": True}).enable("table")


def test_markdown_reads_on_github(longest, example):
    """GitHub strips most raw HTML and cannot break a long name in plain text: the pages have
    no raw HTML at all, and every long name is in a code span or block."""
    for planned in (longest, example):
        names_ = sorted(set(long_names(planned.bundle)), key=len, reverse=True)
        for path, text in planned.files.items():
            if not path.endswith(".md"):
                continue
            for token in MD.parse(text):
                assert token.type not in ("html_block", "html_inline"), \
                    f"{path}: raw HTML {token.content[:60]!r} (GitHub strips it)"
                for child in token.children or []:
                    assert child.type != "html_inline", \
                        f"{path}: raw HTML {child.content!r} (GitHub strips it)"
                    if child.type == "text":
                        plain = [n for n in names_ if n in child.content]
                        assert plain == [], \
                            f"{path}: {plain[0]} in plain text, not code: {child.content!r}"
