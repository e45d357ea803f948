"""`trellis ... | head -1`: a command whose reader goes away ends quietly (status 141, as a
process ended by SIGPIPE), never with a BrokenPipeError traceback or an "internal error"."""

from __future__ import annotations

import subprocess
import sys

import pytest

from stacks.cli.app import CLOSED_PIPE_EXIT
from tests.conftest import BUNDLED_GCP, ROOT


@pytest.mark.parametrize("args", [
    ["validate", str(BUNDLED_GCP)],                       # printed at exit, from the buffer
    ["cost", str(BUNDLED_GCP), "--env", "dev"],           # rich
    ["diff", str(BUNDLED_GCP), str(BUNDLED_GCP), "--env", "prod"],  # the example
])
def test_a_closed_reader_ends_the_command_quietly(args):
    proc = subprocess.Popen([sys.executable, "-m", "stacks.cli", *args], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # the reader is gone before the first line is written
    err = proc.stderr.read().decode()
    code = proc.wait(timeout=120)
    assert "Traceback" not in err and "BrokenPipe" not in err and "internal error" not in err, \
        f"trellis {args[0]} into a closed pipe: {err}"
    assert err == "", f"trellis {args[0]} printed to stderr: {err!r}"
    assert code == CLOSED_PIPE_EXIT, f"trellis {args[0]}: exit {code}"
