"""The Trellis pack as CrossGuard objects, shared by the plugin entry point and `trellis check`.

``__main__.py`` hands these to :class:`pulumi_policy.PolicyPack`, which serves them over gRPC
to ``pulumi preview``. ``trellis check`` runs the same rules through :mod:`policies.evaluate`
(ADR 8); ``tests/policies/analyzer_path.py`` builds the Analyzer servicer ``PolicyPack`` would
serve from these very values and holds the two to the same findings.
"""

from __future__ import annotations

from pulumi_policy import EnforcementLevel, Policy

from policies.registry import all_policies

PACK_NAME = "trellis"
PACK_DISPLAY_NAME = "Trellis ML platform guardrails"
PACK_DESCRIPTION = ("Guardrails for ML platforms on GCP and AWS: private clusters, keyless "
                    "identity, locked-down buckets and registries, bounded and tainted GPU "
                    "pools, least-privilege pipelines.")
#: Only used for policies that do not set their own level; every Trellis rule does.
PACK_ENFORCEMENT = EnforcementLevel.ADVISORY
PACK_TAGS = ["trellis", "ml", "gpu", "gcp", "aws"]
#: pulumi_policy.PolicyPack reports this version; the CLI prefers PulumiPolicy.yaml's.
SERVICER_VERSION = "0.0.1"

ALL_POLICIES: list[Policy] = all_policies()
