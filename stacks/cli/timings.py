"""Phase timings for the benchmarks: ``TRELLIS_TIMINGS=FILE`` appends one JSON line per phase.

``benchmarks/run.py`` reports a command's fixed costs (interpreter, imports, loading the org)
apart from its per-resource cost (registering the resources), which needs to know how long each
phase of the real command took. Without the variable, :func:`phase` does nothing.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Iterator

ENV = "TRELLIS_TIMINGS"


@contextlib.contextmanager
def phase(name: str) -> Iterator[None]:
    """Time the block as phase ``name`` (wall and CPU seconds) when ``TRELLIS_TIMINGS`` is set."""
    target = os.environ.get(ENV)
    if not target:
        yield
        return
    wall, cpu = time.perf_counter(), time.process_time()
    try:
        yield
    finally:
        line = json.dumps({"phase": name, "wall_s": round(time.perf_counter() - wall, 4),
                           "cpu_s": round(time.process_time() - cpu, 4)})
        with open(target, "a", encoding="utf-8") as fh:
            fh.write(line + "\n")
