"""Pulumi entry point (``main: stacks/`` in Pulumi.yaml): deploy one environment of org.yaml."""

import sys
from pathlib import Path

try:
    import stacks.compose.program  # noqa: F401 - installed with `pip install -e .`
except ImportError:  # running from a checkout without the package installed
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from stacks.compose.program import main

main()
