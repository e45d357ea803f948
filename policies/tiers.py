"""Which tier a rule holds a resource to: the pack config's, or the one Trellis labelled it with.

``trellis check`` always passes the environment's tier. Under ``pulumi preview --policy-pack
policies`` without a config file nobody does, and holding a sandbox stack to production rules
makes every bucket of a dev stack fail "not protected". Trellis labels every resource it makes
with ``managed-by: trellis`` and ``trellis-tier: <tier>`` (``stacks/org/resolve.py``; not
``tier``, a key org.yaml's own labels may already use), so when the config names no tier the
rules read it from the stack:

* a ``tier`` in the policy config wins, always (``trellis check`` sets it);
* otherwise a resource with ``managed-by: trellis`` and a valid ``trellis-tier`` in the same
  label map (``labels``, ``tags``, ``resourceLabels``, ``resourceTags``,
  ``nodeConfig.resourceLabels`` or ``metadata.labels``) is held to that tier;
* anything else (no labels, another value, a value the engine does not know yet) is held to
  ``production``: a stack that says nothing gets the strict default;
* stack rules see every resource: when the stack's ``trellis-tier`` labels disagree (labels
  written by hand, or two environments in one stack) every resource is held to ``production``.
  Resource rules run on one resource at a time, before it exists, and read only its own labels.

The ``trellis-tier`` label counts only beside ``managed-by: trellis`` in the same map, the pair
Trellis writes. Whoever can write both could equally pass ``tier: sandbox`` in the pack config;
the pair keeps a stray label from other tooling from relaxing the rules.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from policies.settings import DEFAULT_TIER, TIERS, Settings
from policies.view import Res

TIER_LABEL = "trellis-tier"
MANAGED_BY_LABELS = ("managed-by", "app.kubernetes.io/managed-by")
MANAGED_BY = "trellis"
#: Where providers keep a resource's labels or tags (GKE node pools: on the nodes' VMs).
LABEL_PATHS: tuple[tuple[str, ...], ...] = (
    ("labels",), ("tags",), ("resourceLabels",), ("resourceTags",),
    ("nodeConfig", "resourceLabels"), ("metadata", "labels"))


def labelled_tier(res: Res) -> str | None:
    """The tier Trellis labelled ``res`` with, or None (unlabelled, unknown or not Trellis')."""
    for path in LABEL_PATHS:
        labels = res.peek(*path)
        if not isinstance(labels, dict):
            continue
        tier = labels.get(TIER_LABEL)
        if (isinstance(tier, str) and tier in TIERS
                and any(labels.get(k) == MANAGED_BY for k in MANAGED_BY_LABELS)):
            return tier
    return None


@dataclass(frozen=True)
class Tier:
    """The tier a resource is held to and where it came from (for messages)."""

    name: str
    source: str  # config | label | default | disagreement

    @property
    def production(self) -> bool:
        return self.name == "production"

    def note(self) -> str:
        """Why this tier, appended to findings that depend on it (empty when configured, so
        ``trellis check`` reports the same words as before)."""
        if self.source == "config":
            return ""
        if self.source == "label":
            return f" (tier {self.name}, from the resource's `trellis-tier` label)"
        if self.source == "disagreement":
            return (" (tier production: the `trellis-tier` labels in this stack disagree; set "
                    "`tier` in the policy config)")
        return (" (tier production: no `tier` in the policy config and no `trellis-tier` label "
                "from Trellis on the resource)")


def of_resource(res: Res, settings: Settings) -> Tier:
    """The tier a resource rule holds ``res`` to."""
    if settings.tier_configured:
        return Tier(settings.tier, "config")
    label = labelled_tier(res)
    return Tier(label, "label") if label is not None else Tier(DEFAULT_TIER, "default")


def stack_tiers(resources: Iterable[Res]) -> set[str]:
    """Every distinct tier Trellis labelled ``resources`` with."""
    return {t for t in map(labelled_tier, resources) if t is not None}


def for_stack(resources: Iterable[Res], settings: Settings) -> Callable[[Res], Tier]:
    """``tier_of(res)`` for a stack rule: like :func:`of_resource`, but every resource is held
    to production when the stack's Trellis tier labels disagree."""
    if settings.tier_configured:
        fixed = Tier(settings.tier, "config")
        return lambda res: fixed
    if len(stack_tiers(resources)) > 1:
        mixed = Tier(DEFAULT_TIER, "disagreement")
        return lambda res: mixed
    return lambda res: of_resource(res, settings)
