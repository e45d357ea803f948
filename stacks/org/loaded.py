"""A validated org file: what :func:`stacks.org.load.load` returns and resolution starts from.

Its own module so that loading (which validates) and resolving (which assumes a valid org) both
depend on it without depending on each other.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from stacks.org.model import Org
from stacks.org.yaml_source import Source


@dataclass(frozen=True)
class LoadedOrg:
    """A valid org file: the model plus where each value came from."""

    org: Org
    source: Source
    path: Path
    #: Directory that relative paths in the file (pipeline templates) are resolved against.
    base_dir: Path

    @property
    def environments(self) -> tuple[str, ...]:
        return tuple(self.org.environments)
