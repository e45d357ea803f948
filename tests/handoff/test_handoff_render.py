"""Writing the bundle: deterministic, self-contained, escaped, and the command body."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest
from rich.console import Console

from stacks.cli.commands.handoff import handoff_command
from stacks.handoff import GENERATED_MARK, build, render, write
from stacks.handoff.markdown import escape
from stacks.org.errors import OrgError
from stacks.org.load import load

HOSTILE = """\
version: 1
org: acme
cloud: gcp
region: us-central1
contacts: [ops@acme.com]
platform: {gke_security_group: gke-security-groups@acme.com}
environments:
  dev: {project: acme-ml-dev}
teams:
  evil:
    description: '<script>alert("x")</script> | *bold* [link](http://x) `tick` & </svg>'
    members: [group:evil@acme.com]
    gpu_pools:
      serve: {accelerator: l4, max_nodes: 2}
    buckets:
      models: {}
"""


def digest(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def test_rendering_is_deterministic(gcp, tmp_path):
    assert render(gcp.bundle) == gcp.files
    write(gcp.files, tmp_path / "a")
    write(render(gcp.bundle), tmp_path / "b")
    assert digest(tmp_path / "a") == digest(tmp_path / "b")
    assert all(b"\r" not in (tmp_path / "a" / f).read_bytes() for f in gcp.files)


def test_html_is_self_contained(example):
    page = example.files["index.html"]
    assert "<script" not in page
    assert not re.search(r"\bsrc=", page)
    assert "@import" not in page and "url(" not in page
    hrefs = re.findall(r'href="([^"]*)"', page)
    all_ids = re.findall(r'id="([^"]*)"', page)
    ids = set(all_ids)
    assert len(ids) == len(all_ids), "duplicate HTML ids"
    for href in hrefs:
        assert href == "data:," or (href.startswith("#") and href[1:] in ids), href
    assert page.count("<svg") == 1 and 'id="architecture"' in page


def test_markdown_tables_are_rectangular(example):
    for path, text in example.files.items():
        if not path.endswith(".md"):
            continue
        in_code = False
        width = None
        for line in text.splitlines():
            if line.startswith("```"):
                in_code = not in_code
            if in_code or not line.startswith("|"):
                width = None
                continue
            cells = len(re.findall(r"(?<!\\)\|", line)) - 1
            width = width or cells
            assert cells == width, f"{path}: {line}"


def test_user_text_is_escaped_everywhere(write_org, tmp_path):
    files = render(build(load(write_org(HOSTILE))))
    page, md = files["index.html"], files["teams/evil.md"]
    assert "<script>" not in page and "</svg> " not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page
    assert "<script>" not in md and "\\<script\\>" in md
    assert "\\| \\*bold\\* \\[link\\](http://x) \\`tick\\` \\& \\</svg\\>" in md
    from tests.handoff.test_handoff_mermaid import check, readme_chart

    assert check(readme_chart(files["README.md"])) == []


def test_markdown_escape():
    assert escape("a|b *c* _d_ [e](f) <g> `h` #i") == \
        "a\\|b \\*c\\* \\_d\\_ \\[e\\](f) \\<g\\> \\`h\\` \\#i"


def test_stale_team_pages_are_removed_and_others_kept(gcp, tmp_path):
    teams = tmp_path / "teams"
    teams.mkdir()
    (teams / "gone.md").write_text(f"> {GENERATED_MARK} from x\n", encoding="utf-8")
    (teams / "notes.md").write_text("hand-written\n", encoding="utf-8")
    write(gcp.files, tmp_path)
    assert not (teams / "gone.md").exists()
    assert (teams / "notes.md").exists() and (teams / "recsys.md").exists()


TWO_ENVS = """\
version: 1
org: acme
cloud: gcp
region: us-central1
platform: {gke_security_group: gke-security-groups@acme.com}
environments:
  dev: {project: acme-ml-dev}
  prod: {project: acme-ml-prod, tier: production}
teams:
  recsys:
    members: [group:recsys@acme.com]
    gpu_pools:
      serve: {accelerator: l4, max_nodes: 2}
  vision:
    members: [group:vision@acme.com]
    environments: [dev]
"""


def test_command_writes_one_environment(write_org, tmp_path):
    out = tmp_path / "handoff"
    console = Console(record=True, width=100)
    assert handoff_command(load(write_org(TWO_ENVS)), envs=["prod"], out=out,
                           console=console) == 0
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()) == [
        "README.md", "index.html", "teams/recsys.md"]
    readme = (out / "README.md").read_text(encoding="utf-8")
    assert "| **prod** |" in readme and "| **dev** |" not in readme
    log = console.export_text()
    assert "planning prod (gcp, production)" in log and "wrote 3 files" in log


def test_command_rejects_unknown_environment_before_planning(tmp_path):
    loaded = load(Path(__file__).resolve().parents[2] / "stacks" / "org.yaml")
    with pytest.raises(OrgError, match="staging"):
        handoff_command(loaded, envs=["dev", "staging"], out=tmp_path,
                        console=Console(record=True))
    assert not any(tmp_path.iterdir())


def test_a_team_with_nothing_yet_gets_an_honest_page(write_org, tmp_path):
    files = render(build(load(write_org(TWO_ENVS)), ["dev"]))
    page = files["teams/vision.md"]
    assert "No GPU pools in this environment." in page
    assert "No buckets in this environment." in page
    assert "No scheduled pipelines here yet." in page
    assert "apiVersion:" not in page, "a Kubernetes recipe for a team without pools"
    for path, text in files.items():
        assert "None" not in text, f"{path} prints a missing value as None"


def test_the_documented_command(tmp_path, monkeypatch):
    """docs/handoff.md's command, through the CLI when it is wired, else the command body."""
    root = Path(__file__).resolve().parents[2]
    doc = (root / "docs" / "handoff.md").read_text(encoding="utf-8")
    lines = [line for line in re.findall(r"```shell\n(.*?)```", doc, re.S)[0].splitlines()
             if line.startswith("trellis handoff")]
    assert lines == ["trellis handoff stacks/org.yaml --env dev --out handoff"]
    monkeypatch.chdir(root)
    out = tmp_path / "handoff"
    from stacks.cli.app import main

    if "handoff" in getattr(main, "commands", {}):
        from click.testing import CliRunner

        args = lines[0].split()[1:]
        args[args.index("--out") + 1] = str(out)
        result = CliRunner().invoke(main, args)
        assert result.exit_code == 0, result.output
    else:
        assert handoff_command(load(Path("stacks/org.yaml")), envs=["dev"], out=out,
                               console=Console(record=True)) == 0
    assert (out / "teams" / "research.md").is_file() and (out / "index.html").is_file()


def _words(html_text: str) -> list[str]:
    import html as html_lib

    text = re.sub(r"<[^>]+>", " ", html_text)
    return html_lib.unescape(text).split()


def test_index_html_says_exactly_what_the_markdown_says(example):
    """Each page's section of index.html holds the words of its Markdown file, in order, as
    stock markdown-it renders them: nothing dropped, moved or added except the SVG diagram (in
    place of the Mermaid source) and the 'on this page' list."""
    from markdown_it import MarkdownIt

    stock = MarkdownIt("commonmark", {"html": False}).enable("table")
    page = example.files["index.html"]
    for path, text in example.files.items():
        if not path.endswith(".md"):
            continue
        key = "overview" if path == "README.md" else \
            "team-" + path.removeprefix("teams/").removesuffix(".md")
        section = re.search(rf'<section class="page" id="{key}">(.*?)</section>', page, re.S)
        assert section, f"index.html has no section for {path}"
        html_part = re.sub(r"<svg.*?</svg>", "", section.group(1), flags=re.S)
        html_part = re.sub(r'<nav class="toc".*?</nav>', "", html_part, flags=re.S)
        md_part = re.sub(r"```mermaid\n.*?```", "", text, flags=re.S)
        assert _words(html_part) == _words(stock.render(md_part)), \
            f"index.html section {key} says something else than {path}"


def test_headings_are_anchored_as_on_github_and_listed_on_team_pages(gcp):
    page = gcp.files["index.html"]
    assert '<h2 id="team-recsys__dev-sandbox-us-central1">dev (sandbox, us-central1)</h2>' in page
    assert '<h3 id="team-recsys__connect">Connect</h3>' in page
    assert '<h3 id="team-recsys__connect-1">Connect</h3>' in page  # prod: GitHub's suffix
    toc = re.search(r'<section class="page" id="team-recsys">.*?<nav class="toc"[^>]*>(.*?)</nav>',
                    page, re.S)
    assert toc, "team page without its contents list"
    assert re.findall(r'href="#([^"]+)"', toc.group(1)) == [
        "team-recsys__at-a-glance", "team-recsys__who-to-ask", "team-recsys__before-you-start",
        "team-recsys__dev-sandbox-us-central1", "team-recsys__prod-production-us-east4"]
    assert '<a href="#team-recsys">teams/recsys.md</a>' in page  # README's link to the page
    assert '<a href="#overview">overview</a>' in page  # and the team page's way back


def test_user_text_at_the_start_of_a_line_stays_text():
    """'- x', '1. x' and '---' from org.yaml must not become a list or a rule in either file."""
    from markdown_it import MarkdownIt

    from stacks.handoff import html as html_render
    from stacks.handoff import markdown as md_render
    from stacks.handoff.doc import Bullets, Heading, Note, Page, Para

    texts = ["- not a list", "1. not a list", "2) nor this", "---", "=== neither", "+ plus"]
    page = Page("team-x", "teams/x.md", "x", (
        Heading(1, ("x",)), Note(("note",)), *(Para((t,)) for t in texts),
        Bullets(tuple((t,) for t in texts))))
    markdown = md_render.render_page(page, {"team-x": "teams/x.md"})
    stock = MarkdownIt("commonmark", {"html": False}).enable("table").render(markdown)
    rendered = html_render.render_page(page, markdown, {"teams/x.md": "team-x"}, svg="")
    for out in (stock, rendered):
        assert "<ol" not in out and "<hr" not in out and "<h2" not in out, out
        assert out.count("<ul>") == 1, out  # the Bullets block, and only it
        for t in texts:
            assert out.count(f"{t}</") == 2, f"{t!r} is not shown as written: {out}"


def test_a_link_out_of_the_bundle_is_an_error():
    from stacks.handoff import html as html_render
    from stacks.handoff.doc import Page

    page = Page("overview", "README.md", "x")
    with pytest.raises(ValueError, match="not a page of the bundle"):
        html_render.render_page(page, "[x](docs/other.md)\n", {"README.md": "overview"}, "")
    assert 'href="https://example.com/a"' in html_render.render_page(
        page, "[x](https://example.com/a)\n", {"README.md": "overview"}, "")
