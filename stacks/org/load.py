"""Load org.yaml: parse with positions, validate, and return the :class:`LoadedOrg`.

``load()`` is the single entry point used by the CLI, the Pulumi program and the tests:
parse (:mod:`stacks.org.yaml_source`) -> model and rules (:mod:`stacks.org.validate`, every problem
reported at once) -> :class:`LoadedOrg`. Resolving an environment is a separate step
(:func:`stacks.org.resolve.resolve`). It never imports Pulumi, so ``trellis validate`` stays
fast enough for an editor.
"""

from __future__ import annotations

from pathlib import Path

from stacks.org.errors import Issue, OrgError
from stacks.org.loaded import LoadedOrg
from stacks.org.validate import validate
from stacks.org.yaml_source import parse

__all__ = ["DEFAULT_ORG", "LoadedOrg", "load", "load_text"]

DEFAULT_ORG = Path("stacks/org.yaml")


def load(path: str | Path = DEFAULT_ORG) -> LoadedOrg:
    """Load and fully validate an org file, raising :class:`OrgError` with every problem."""
    file = Path(path)
    try:
        raw = file.read_bytes()
    except FileNotFoundError:
        raise OrgError([Issue("no such file; create it (see `trellis schema`) or pass the "
                              "path of your org file", (), str(file))]) from None
    except OSError as exc:
        raise OrgError([Issue(f"cannot read the file: {exc.strerror}", (), str(file))]) from None
    return load_text(raw, str(file), base_dir=file.resolve().parent)


def load_text(raw: bytes | str, file: str, *, base_dir: Path) -> LoadedOrg:
    """Like :func:`load` for text already in memory (tests, editors); relative template paths
    are looked up in ``base_dir``."""
    src = parse(raw, file)
    org = validate(src, base_dir)
    return LoadedOrg(org, src, Path(file), base_dir)
