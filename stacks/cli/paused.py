"""The garbage collector paused while the CLI and each command's engine are imported (ADR 9).

Importing click, pydantic and the org model, and later Pulumi with the provider SDKs, creates
tens of thousands of objects that live as long as the process; the cyclic collector would scan
them again and again while they are being created. Under the ``trellis`` script
(:mod:`stacks.cli.launch`) what they create is frozen (``gc.freeze``: kept out of every later
collection); elsewhere (tests, a program embedding the CLI) the collector simply resumes.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator

_launched = False


def mark_launched() -> None:
    """Called once by the ``trellis`` script: imports made from now on are frozen."""
    global _launched
    _launched = True


def launched() -> bool:
    """True inside the ``trellis`` script (imports are frozen), False in tests and embedders."""
    return _launched


@contextlib.contextmanager
def imports_paused() -> Iterator[None]:
    """Pause the collector while a command imports its heavy modules (the engine, Pulumi and
    the provider SDKs: a fifth of their import time is collections)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if _launched:
            gc.freeze()
        if was_enabled:
            gc.enable()
