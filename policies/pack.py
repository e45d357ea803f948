"""The Trellis pack as CrossGuard objects, shared by the plugin entry point and `trellis check`.

``__main__.py`` hands these to :class:`pulumi_policy.PolicyPack`, which serves them over gRPC
to ``pulumi preview``; :func:`new_servicer` builds the very same Analyzer servicer in-process
(no server, no port) for ``run_check(..., analyzer=True)`` and the tests. ``trellis check``
itself runs the same rules through :mod:`policies.evaluate` (ADR 8), held to this servicer's
findings by ``tests/policies/test_evaluate_equivalence.py``.
"""

from __future__ import annotations

from pulumi_policy import EnforcementLevel
from pulumi_policy.policy import Policy, _PolicyAnalyzerServicer

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


def new_servicer() -> _PolicyAnalyzerServicer:
    """The Analyzer servicer ``PolicyPack(...)`` would serve, built the same way."""
    return _PolicyAnalyzerServicer(
        PACK_NAME, SERVICER_VERSION, ALL_POLICIES, PACK_ENFORCEMENT, None, PACK_DESCRIPTION,
        PACK_DISPLAY_NAME, None, None, PACK_TAGS, None)
