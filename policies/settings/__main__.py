"""``python -m policies.settings``: print a ``--policy-pack-config`` file for pack-wide settings.

A module of its own so the settings module need not import the rule registry (which imports
the settings): the pack's import graph stays acyclic.

    python -m policies.settings --tier sandbox > sandbox-policy-config.json
    pulumi preview --policy-pack policies --policy-pack-config sandbox-policy-config.json
"""

from __future__ import annotations

import argparse
import json
import sys

from policies.registry import config_keys, tier_levels
from policies.settings import TIERS, expand


def main(argv: list[str] | None = None) -> int:
    """Print a ``--policy-pack-config`` file for the given pack-wide settings."""
    parser = argparse.ArgumentParser(prog="python -m policies.settings", description=main.__doc__)
    parser.add_argument("--tier", choices=TIERS)
    parser.add_argument("--allowed-accelerators", nargs="*")
    parser.add_argument("--max-gpus-per-pool", type=float)
    parser.add_argument("--required-labels", nargs="*")
    parser.add_argument("--allowed-regions", nargs="*")
    args = parser.parse_args(argv)
    pack = {k: v for k, v in {
        "tier": args.tier, "allowedAccelerators": args.allowed_accelerators,
        "maxGpusPerPool": args.max_gpus_per_pool, "requiredLabels": args.required_labels,
        "allowedRegions": args.allowed_regions}.items() if v is not None}
    json.dump(expand(pack, config_keys(), tier_levels=tier_levels()), sys.stdout, indent=2,
              sort_keys=True)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
