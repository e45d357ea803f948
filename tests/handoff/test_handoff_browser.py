"""index.html in a real headless Chromium: no console errors, no network, the diagram visible,
readable at phone width, printable. Screenshots go to test-artifacts/ (gitignored).

Uses Debian's ``chromium`` (installed by ``.ci/run``) driven by Playwright's Python package;
never ``playwright install``. Skipped only off CI when either is missing; in CI it must run.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from stacks.handoff import render, write
from stacks.handoff.model import gather

CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium"
                                        if Path("/usr/bin/chromium").exists() else None)
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def _playwright() -> Any:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return None
    return sync_playwright


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    start = _playwright()
    if start is None or CHROMIUM is None:
        missing = "playwright (pip)" if start is None else "chromium (apt-get install chromium)"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{missing} is missing; CI must run the browser test")
        pytest.skip(f"{missing} is not installed")
    with start() as pw:
        context = pw.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")), executable_path=CHROMIUM,
            headless=True, args=ARGS, viewport={"width": 1280, "height": 900})
        try:
            yield context
        finally:
            context.close()


def open_page(browser: Any, path: Path, width: int) -> tuple[Any, list[str]]:
    page = browser.new_page()
    page.set_viewport_size({"width": width, "height": 900})
    problems: list[str] = []
    page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}")
            if m.type in ("error", "warning") else None)
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.on("request", lambda r: problems.append(f"network request: {r.url}")
            if not r.url.startswith(("file:", "data:")) else None)
    page.goto(path.as_uri(), wait_until="load")
    return page, problems


def test_each_environment_page(example, browser, tmp_path, artifacts):
    """One bundle per environment (`--env E`), opened at desktop width; screenshot saved."""
    for env in example.bundle.environments:
        bundle = gather(_org(example), example.bundle.org_file, [env])
        out = tmp_path / env.name
        write(render(bundle), out)
        page, problems = open_page(browser, out / "index.html", 1280)
        try:
            svg = page.locator("svg#architecture")
            assert svg.is_visible()
            box = svg.bounding_box()
            assert box and box["width"] > 200 and box["height"] > 100, box
            assert page.locator("svg#architecture g.team").count() == len(env.teams)
            for team in env.teams:
                assert page.locator(f"section#team-{team} h1").is_visible()
            svg.scroll_into_view_if_needed()
            page.screenshot(path=str(artifacts / f"handoff-{example.cloud}-{env.name}.png"),
                            full_page=False)
            assert problems == []
        finally:
            page.close()


def test_whole_bundle_on_a_phone_and_in_print(example, browser, tmp_path, artifacts):
    write(example.files, tmp_path)
    page, problems = open_page(browser, tmp_path / "index.html", 390)
    try:
        # Nothing wider than the phone: wide tables and code scroll inside their own box.
        overflow = page.evaluate("document.documentElement.scrollWidth")
        assert overflow <= 390, f"page is {overflow}px wide at 390px"
        box = page.locator("svg#architecture").bounding_box()
        assert box and 0 < box["width"] <= 390
        page.locator("svg#architecture").scroll_into_view_if_needed()
        page.screenshot(path=str(artifacts / f"handoff-{example.cloud}-phone.png"))
        page.emulate_media(media="print")
        assert not page.locator("header.site").is_visible()
        assert page.locator("svg#architecture").is_visible()
        assert problems == []
    finally:
        page.close()


def _org(example: Any) -> Any:
    from stacks.org.load import load

    from .conftest import ORGS

    return load(ORGS[example.cloud]).org


READABLE = r"""
(width) => {
  const problems = [];
  const where = el => `${el.tagName.toLowerCase()}${el.id ? '#' + el.id : ''} "${
    (el.textContent || '').trim().slice(0, 70)}"`;
  const visible = el => el.getClientRects().length > 0;
  for (const el of document.querySelectorAll('main *')) {
    if (el.closest('svg') || !visible(el)) continue;
    const r = el.getBoundingClientRect();
    const pre = el.closest('pre');
    if (pre) {
      // Code keeps its lines and scrolls inside its box: never clipped, never hidden.
      if (el === pre && pre.scrollWidth > pre.clientWidth + 1 &&
          !['auto', 'scroll'].includes(getComputedStyle(pre).overflowX))
        problems.push(`code block clips its lines (overflow-x ${
          getComputedStyle(pre).overflowX}): ${where(pre)}`);
      if (el === pre && (r.left < -0.5 || r.right > width + 0.5))
        problems.push(`code block ${Math.round(r.width)}px wider than the ${width}px page: ${
          where(pre)}`);
      continue;
    }
    if (r.left < -0.5 || r.right > width + 0.5)
      problems.push(`${where(el)} runs past the ${width}px page (${Math.round(r.left)}..${
        Math.round(r.right)}px)`);
    if (el.scrollWidth > el.clientWidth + 1 && el.clientWidth > 0 &&
        getComputedStyle(el).display !== 'inline')
      problems.push(`${where(el)} clips its text (${el.scrollWidth}px in ${el.clientWidth}px)`);
  }
  for (const text of document.querySelectorAll('svg#architecture text')) {
    const box = text.closest('g.box')?.querySelector(':scope > rect');
    if (!box) { problems.push(`svg text outside a box: "${text.textContent}"`); continue; }
    const a = text.getBoundingClientRect(), b = box.getBoundingClientRect();
    if (a.left < b.left - 0.5 || a.right > b.right + 0.5 || a.top < b.top - 0.5 ||
        a.bottom > b.bottom + 0.5)
      problems.push(`svg text "${text.textContent}" (${Math.round(a.left)}..${
        Math.round(a.right)}px) leaves its box (${Math.round(b.left)}..${Math.round(b.right)}px)`);
  }
  return {problems, width: document.documentElement.scrollWidth};
}
"""


@pytest.mark.parametrize("width", [1280, 390])
def test_longest_names_stay_whole(longest, browser, tmp_path, artifacts, width):
    """An org at every length limit: nothing wider than the page but code blocks, which scroll;
    no text clipped; every diagram label inside its box; screenshots of page and diagram."""
    write(longest.files, tmp_path)
    page, problems = open_page(browser, tmp_path / "index.html", width)
    try:
        result = page.evaluate(READABLE, width)
        assert result["width"] <= width, f"index.html is {result['width']}px wide at {width}px"
        assert result["problems"] == [], "\n".join(result["problems"][:20])
        page.screenshot(path=str(artifacts / f"handoff-longest-{longest.cloud}-{width}.png"))
        page.locator("svg#architecture").screenshot(
            path=str(artifacts / f"handoff-longest-{longest.cloud}-{width}-diagram.png"))
        assert problems == []
    finally:
        page.close()
