"""The pre-commit hooks work from a repository that holds org.yaml files.

`pre-commit try-repo <this repository>` runs the hooks exactly as a consumer's
`.pre-commit-config.yaml` would: pre-commit clones the repository, builds the hooks'
`language: python` environment with `pip install .` and runs `trellis` from it.

Offline: pip may not reach an index here, so the hook environment gets the dependencies this
test's environment already has through PYTHONPATH (pip sees them as installed), with
PIP_NO_INDEX=1 proving no index is touched and build isolation off so that the installed
setuptools builds Trellis itself (PIP_NO_BUILD_ISOLATION=0: pip reads the variable as the
negation). PATH has no `trellis`: the hooks can only run the one pre-commit installed.
"""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from tests.conftest import MINIMAL_GCP, ROOT


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True)


def _committed(root: Path, name: str) -> bool:
    out = subprocess.run(["git", "-C", str(root), "ls-files", name], capture_output=True,
                         text=True)
    return out.returncode == 0 and bool(out.stdout.strip())


@pytest.fixture
def org_repo(tmp_path: Path) -> Path:
    repo = tmp_path / "platform-config"
    (repo / "teams-b").mkdir(parents=True)
    (repo / "org.yaml").write_text(MINIMAL_GCP, encoding="utf-8")
    (repo / "teams-b" / "org.yaml").write_text(
        MINIMAL_GCP.replace("max_nodes: 2", "max_nodes: -1"), encoding="utf-8")
    (repo / "notes.yaml").write_text("not: an org file\n", encoding="utf-8")
    _git(repo, "init", "-q")
    _git(repo, "add", ".")
    return repo


def _try_repo(repo: Path, home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        "HOME": str(home), "PATH": "/usr/local/bin:/usr/bin:/bin",
        "PRE_COMMIT_HOME": str(home / "pre-commit"), "PYTHONPATH": sysconfig.get_paths()[
            "purelib"], "PIP_NO_INDEX": "1", "PIP_NO_BUILD_ISOLATION": "0",
        "GIT_CONFIG_NOSYSTEM": "1", "COLUMNS": "120",
        # try-repo commits a dirty work tree into its shadow clone: give git an identity.
        "GIT_AUTHOR_NAME": "trellis-test", "GIT_AUTHOR_EMAIL": "test@example.com",
        "GIT_COMMITTER_NAME": "trellis-test", "GIT_COMMITTER_EMAIL": "test@example.com",
    }
    return subprocess.run([sys.executable, "-m", "pre_commit", "try-repo", str(ROOT), *args],
                          cwd=repo, env={**env, **{k: v for k, v in os.environ.items()
                                                   if k in {"LANG", "TMPDIR"}}},
                          capture_output=True, text=True, timeout=300)


@pytest.mark.skipif(not _committed(ROOT, ".pre-commit-hooks.yaml"),
                    reason="try-repo reads the committed .pre-commit-hooks.yaml")
def test_hooks_pass_a_good_org_and_fail_a_bad_one(org_repo: Path, tmp_path: Path) -> None:
    result = _try_repo(org_repo, tmp_path, "--all-files")
    out = result.stdout + result.stderr
    assert result.returncode == 1, out[-4000:]
    assert "trellis validate" in out and "trellis check (every environment)" in out, out
    assert "org.yaml: valid (gcp, 1 environment, 1 team)" in out, (
        "trellis-validate did not report the good org.yaml\n" + out[-4000:])
    assert ("teams-b/org.yaml:12:43 teams.recsys.gpu_pools.serve.max_nodes: got -1" in out), (
        "the hooks must point at the bad file's line\n" + out[-4000:])
    assert "notes.yaml" not in out, "a YAML file not named org.yaml must not be checked"
    assert out.count("- exit code: 1") == 2, "both hooks fail on the bad org\n" + out[-4000:]

    (org_repo / "teams-b" / "org.yaml").unlink()
    _git(org_repo, "add", "-A")
    result = _try_repo(org_repo, tmp_path, "--all-files")
    out = result.stdout + result.stderr
    assert result.returncode == 0, out[-4000:]
    assert out.count("Passed") == 2, out[-4000:]
