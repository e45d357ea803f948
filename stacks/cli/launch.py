"""The ``trellis`` console script: the CLI, imported with the garbage collector paused.

Importing click, pydantic and the org model creates tens of thousands of objects that live as
long as the process. The cyclic collector scans them over and over while they are being
created; that was about a sixth of a ``trellis validate`` run. They are imported with the
collector paused, then frozen (``gc.freeze``: kept out of every later collection, which only
scans what the command itself creates) and the collector resumes with its usual settings.
Nothing here changes a Pulumi program: ``pulumi up`` runs ``stacks/__main__.py``, not this.
"""

from __future__ import annotations

import sys

from stacks.cli import paused


def main() -> None:
    """Entry point of the ``trellis`` script (``python -m stacks.cli`` is the same CLI)."""
    paused.mark_launched()
    with paused.imports_paused():
        from stacks.cli.app import closed_pipe_exit
        from stacks.cli.app import main as cli
    try:
        cli()
    finally:
        # Output still buffered is written at exit; a reader that has gone (`| head -1`) would
        # make that fail with a BrokenPipeError traceback. Write it now, and go quietly.
        try:
            sys.stdout.flush()
        except BrokenPipeError:
            closed_pipe_exit()
