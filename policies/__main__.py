"""CrossGuard entry point: `pulumi preview --policy-pack policies` runs this file.

The Pulumi CLI starts ``python -m pulumi.policy <engine-address> <pack dir>``, which executes
this file with the pack directory (not the repository) on ``sys.path``; the repository root is
added so the rule modules import as the ``policies`` package, exactly as in ``trellis check``.
Wiring only: the rules live in the modules listed in :data:`policies.registry.RULE_MODULES`.
"""

import sys
from pathlib import Path

_ROOT = str(Path(__file__).resolve().parent.parent)
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

from pulumi_policy import PolicyPack  # noqa: E402

from policies.pack import (  # noqa: E402
    ALL_POLICIES,
    PACK_DESCRIPTION,
    PACK_DISPLAY_NAME,
    PACK_ENFORCEMENT,
    PACK_NAME,
    PACK_TAGS,
)

PolicyPack(
    PACK_NAME,
    policies=ALL_POLICIES,
    enforcement_level=PACK_ENFORCEMENT,
    description=PACK_DESCRIPTION,
    display_name=PACK_DISPLAY_NAME,
    tags=PACK_TAGS,
)
