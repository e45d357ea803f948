"""Every README snippet is exercised: CLI lines run, org files validate, the rest parses."""

from __future__ import annotations

import datetime as dt
import re
import shlex

import pytest
import yaml
from click.testing import CliRunner

from policies.registry import iter_ids
from stacks.cli.app import main
from stacks.org.load import load_text
from stacks.org.yaml_source import parse
from stacks.report.waivers import parse_waivers
from tests.conftest import ROOT

README = (ROOT / "README.md").read_text()
BLOCKS = re.findall(r"^ *```(\w+)\n(.*?)^ *```", README, flags=re.S | re.M)


def blocks(lang: str) -> list[str]:
    return [body for kind, body in BLOCKS if kind == lang]


def trellis_lines() -> list[str]:
    return [line.strip() for body in blocks("bash") for line in body.splitlines()
            if line.strip().startswith("trellis ")]


def test_the_first_screen_has_the_two_commands():
    first_screen = "\n".join(README.splitlines()[:30])
    assert "make demo" in first_screen and "make test" in first_screen
    makefile = (ROOT / "Makefile").read_text()
    assert "\ndemo:" in makefile and "\ntest:" in makefile
    ci = (ROOT / ".ci" / "run").read_text()
    assert "make test" in ci, "CI must run the README's test command"


@pytest.mark.parametrize("line", trellis_lines())
def test_cli_lines_run(line, monkeypatch, tmp_path):
    monkeypatch.chdir(ROOT)
    args = shlex.split(line)[1:]
    if "--out" in args:
        args[args.index("--out") + 1] = str(tmp_path / "out")
    if "--plan" in args:  # a plan saved by the line before it in the README
        saved = tmp_path / "saved-plan.json"
        made = CliRunner().invoke(main, ["plan", "--env", "all", "--out", str(saved)])
        assert made.exit_code == 0, made.output
        args[args.index("--plan") + 1] = str(saved)
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, f"`{line}` exited {result.exit_code}:\n{result.output[-2000:]}"


def test_org_snippets_validate():
    orgs = [b for b in blocks("yaml") if b.lstrip("# \n").startswith(("version: 1", "yaml-"))
            and "\norg:" in b]
    assert orgs, "the README shows an org.yaml"
    for body in orgs:
        load_text(body, "README.md", base_dir=ROOT / "stacks")


def test_waiver_snippet_is_a_valid_waivers_file():
    (body,) = [b for b in blocks("yaml") if "\nwaivers:" in b]
    waivers = parse_waivers(parse(body, "README.md"), known_rules=set(iter_ids()),
                            today=dt.date(2026, 11, 26))
    assert waivers and waivers[0].rule in set(iter_ids())


def test_every_yaml_snippet_parses():
    for body in blocks("yaml"):
        yaml.safe_load(body)


def test_error_example_is_what_the_validator_says(write_org):
    (text,) = [b for b in blocks("text") if "did you mean" in b]
    expected = text.strip().split(" ", 1)[1]  # drop the file:line:col prefix
    org = (ROOT / "stacks" / "org.yaml").read_text().replace(
        "train: {accelerator: h100-80gb", "train: {accelerator: h100")
    from stacks.org.errors import OrgError
    with pytest.raises(OrgError) as info:
        load_text(org, "org.yaml", base_dir=ROOT / "stacks")
    assert expected in [str(i).split(" ", 1)[1] for i in info.value.issues]


def test_linked_docs_exist():
    for link in re.findall(r"\]\(([^)#]+)\)", README):
        if "://" not in link:
            assert (ROOT / link).exists(), f"README links to missing {link}"
