"""Shared test helpers: the bundled org files and a writer for small org snippets."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BUNDLED_GCP = ROOT / "stacks" / "org.yaml"
EXAMPLES = sorted((ROOT / "examples").glob("*.yaml"))
ALL_ORGS = [BUNDLED_GCP, *EXAMPLES]

GCP_PLATFORM = "platform: {gke_security_group: gke-security-groups@acme.com}\n"
"""MINIMAL_GCP's platform line (`group:` members need Google Groups for RBAC on GKE)."""

MINIMAL_GCP = """\
version: 1
org: acme
cloud: gcp
region: us-central1
platform: {gke_security_group: gke-security-groups@acme.com}
environments:
  dev: {project: acme-ml-dev}
teams:
  recsys:
    members: [group:recsys@acme.com]
    gpu_pools:
      serve: {accelerator: l4, max_nodes: 2}
    buckets:
      models: {}
"""


@pytest.fixture
def write_org(tmp_path: Path) -> Callable[[str], Path]:
    """Write a (dedented) org.yaml into a temp dir and return its path."""

    def write(text: str, name: str = "org.yaml") -> Path:
        path = tmp_path / name
        path.write_text(textwrap.dedent(text), encoding="utf-8")
        return path

    return write


def errors_of(write_org: Callable[[str], Path], text: str) -> list[str]:
    """Every problem ``load`` reports for the org ``text`` (it must refuse it)."""
    from stacks.org.errors import OrgError
    from stacks.org.load import load

    with pytest.raises(OrgError) as info:
        load(write_org(text))
    return [str(i) for i in info.value.issues]


def one_error(write_org: Callable[[str], Path], text: str) -> str:
    """The one problem ``load`` reports for the org ``text``."""
    errs = errors_of(write_org, text)
    assert len(errs) == 1, f"expected exactly one error, got: {errs}"
    return errs[0]
