"""The ``trellis`` console script: the CLI, imported with the garbage collector paused.

Importing click, pydantic and the org model creates tens of thousands of objects that live as
long as the process. The cyclic collector scans them over and over while they are being
created; that was about a sixth of a ``trellis validate`` run. They are imported with the
collector paused, then frozen (``gc.freeze``: kept out of every later collection, which only
scans what the command itself creates) and the collector resumes with its usual settings.
Nothing here changes a Pulumi program: ``pulumi up`` runs ``stacks/__main__.py``, not this.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator


def main() -> None:
    """Entry point of the ``trellis`` script (``python -m stacks.cli`` is the same CLI)."""
    global _launched
    _launched = True
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        from stacks.cli import main as cli
    finally:
        gc.freeze()
        if was_enabled:
            gc.enable()
    cli()


_launched = False


@contextlib.contextmanager
def imports_paused() -> Iterator[None]:
    """Pause the collector while a command imports its heavy modules (the engine, Pulumi and
    the provider SDKs: a fifth of their import time is collections). Under the ``trellis``
    script what they create is frozen like the CLI's own imports; elsewhere (tests, a program
    embedding the CLI) the collector simply resumes."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if _launched:
            gc.freeze()
        if was_enabled:
            gc.enable()
