"""The sessions README.md and docs/capacity.md show are real: each `$ trellis preflight` block
is rerun on the repository's fixtures and must print exactly what the page shows, and the
validation error on the page is what the validator says."""

from __future__ import annotations

import re
import shlex

import pytest
from click.testing import CliRunner

from stacks.cli.app import main
from stacks.org.errors import OrgError
from stacks.org.load import load_text
from tests.conftest import MINIMAL_GCP, ROOT

PAGES = [ROOT / "README.md", ROOT / "docs" / "capacity.md"]


def sessions() -> list[tuple[str, str, str]]:
    found = []
    for page in PAGES:
        for body in re.findall(r"^```console\n(.*?)^```", page.read_text(), flags=re.S | re.M):
            first, _, rest = body.partition("\n")
            if first.startswith("$ trellis preflight") and rest.strip():
                found.append((page.name, first[2:], rest))
    return found


@pytest.mark.parametrize(("page", "command", "shown"), sessions(),
                         ids=lambda v: v if isinstance(v, str) and v.endswith(".md") else "")
def test_the_preflight_session_on_the_page_is_what_the_command_prints(page, command, shown,
                                                                     monkeypatch):
    monkeypatch.chdir(ROOT)
    result = CliRunner().invoke(main, shlex.split(command)[1:])
    assert result.exit_code == 1, result.output  # the sessions show a short quota
    printed = [line.rstrip() for line in result.output.rstrip("\n").splitlines()]
    assert printed == [line.rstrip() for line in shown.rstrip("\n").splitlines()], \
        f"{page}: `{command}` prints something else now; paste its output into the page"


def test_both_pages_show_a_session():
    assert {page for page, _, _ in sessions()} == {"README.md", "capacity.md"}


def test_the_validation_error_on_the_page_is_the_validators():
    text = (ROOT / "docs" / "capacity.md").read_text()
    (shown,) = re.findall(r"^```text\n\S+ (teams\.recsys\.gpu_pools\.serve\.capacity: .*)\n```",
                          text, flags=re.M)
    org = MINIMAL_GCP.replace("serve: {accelerator: l4, max_nodes: 2}",
                              "serve: {accelerator: h100-80gb, gpus_per_node: 2, capacity: "
                              "reservation, reservation: {name: h100-res}, "
                              "zones: [us-central1-a]}")
    with pytest.raises(OrgError) as info:
        load_text(org, "org.yaml", base_dir=ROOT)
    assert shown in [str(i).split(" ", 1)[1] for i in info.value.issues]
