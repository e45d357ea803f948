"""Shapes shared by the GCP and AWS components: labels, the GPU scheduling contract.

The same concern has the same shape on both clouds, so an ML team's Job spec differs between
clouds only in values, never in structure.
"""

# No `from __future__ import annotations` here: these TypedDicts are part of the hosted
# components' schema, and the any-language analyzer needs real annotations (ADR 0006).
import re
from collections.abc import Mapping, Sequence
from typing import Any, TypedDict

GPU_RESOURCE = "nvidia.com/gpu"
GPU_TAINT_KEY = "nvidia.com/gpu"
GPU_TAINT_VALUE = "present"
TEAM_LABEL = "trellis.dev/team"
POOL_LABEL = "trellis.dev/pool"
TEAM_TAINT_KEY = "trellis.dev/team"


class Taint(TypedDict):
    """A Kubernetes node taint in Kubernetes spelling (effect NoSchedule, not NO_SCHEDULE)."""

    key: str
    value: str
    effect: str


class Toleration(TypedDict):
    """A pod toleration matching one :class:`Taint`."""

    key: str
    """Taint key, e.g. ``nvidia.com/gpu``."""
    operator: str
    """``Equal``: the toleration matches the taint's value exactly."""
    value: str
    """Taint value, e.g. ``present`` or the team slug."""
    effect: str
    """Taint effect in Kubernetes spelling, ``NoSchedule``."""


class SchedulingContract(TypedDict):
    """What a pod needs to run on a GPU pool: put these in its spec."""

    node_selector: dict[str, str]
    """Labels every node of the pool carries; use as the pod's nodeSelector."""
    tolerations: list[Toleration]
    """Tolerations for the pool's taints (the GPU taint and the team taint)."""
    resource_name: str
    """The extended resource to request, ``nvidia.com/gpu``."""
    gpus_per_node: int
    """GPUs on each node: the largest request one pod can make."""


def node_labels(team: str, pool: str) -> dict[str, str]:
    """Kubernetes labels on every node of a team's pool."""
    return {TEAM_LABEL: team, POOL_LABEL: pool}


def gpu_taints(team: str) -> list[Taint]:
    """The GPU taint every GPU node carries, plus the team taint that keeps teams apart."""
    return [
        Taint(key=GPU_TAINT_KEY, value=GPU_TAINT_VALUE, effect="NoSchedule"),
        Taint(key=TEAM_TAINT_KEY, value=team, effect="NoSchedule"),
    ]


def scheduling_contract(team: str, pool: str, gpus_per_node: int,
                        extra_selector: Mapping[str, str] | None = None) -> SchedulingContract:
    """The node selector and tolerations that land a pod on ``team``'s ``pool``."""
    return SchedulingContract(
        node_selector={**node_labels(team, pool), **(extra_selector or {})},
        tolerations=[Toleration(key=t["key"], operator="Equal", value=t["value"],
                                effect=t["effect"]) for t in gpu_taints(team)],
        resource_name=GPU_RESOURCE,
        gpus_per_node=gpus_per_node,
    )


def merge_labels(*layers: Mapping[str, str] | None) -> dict[str, str]:
    """Later layers win; ``None`` layers are skipped. Used for labels and tags alike."""
    out: dict[str, str] = {}
    for layer in layers:
        if layer:
            out.update(layer)
    return out


# Kubernetes label syntax ("Labels and Selectors", Syntax and character set, kubernetes.io;
# apimachinery validation IsQualifiedName / IsValidLabelValue): a key is an optional DNS
# subdomain prefix (at most 253 characters) and '/', then a name of at most 63 characters,
# alphanumeric at both ends with '-', '_', '.' inside; a value is empty or such a name.
_K8S_NAME = re.compile(r"(?:[A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]")
_K8S_PREFIX = re.compile(r"[a-z0-9](?:[-a-z0-9]*[a-z0-9])?(?:\.[a-z0-9](?:[-a-z0-9]*[a-z0-9])?)*")
K8S_RESERVED_PREFIXES = ("kubernetes.io", "k8s.io")
"""Label prefixes reserved for Kubernetes core components, and their subdomains (e.g.
``pod-security.kubernetes.io``, whose labels set a namespace's Pod Security level): never
copied from an organisation's labels. ``app.kubernetes.io`` (the recommended labels, meant for
everyone) is the exception."""


def kubernetes_label_problem(key: str, value: str) -> str | None:
    """Why the Kubernetes API server would refuse ``key: value`` as an object label, or None
    when it is a valid label."""
    prefix, _, name = key.rpartition("/")
    if prefix and (len(prefix) > 253 or not _K8S_PREFIX.fullmatch(prefix)):
        return (f"the key prefix '{prefix}' is not a DNS subdomain (lowercase letters, "
                "digits, '-' and '.', at most 253 characters)")
    if len(name) > 63 or not _K8S_NAME.fullmatch(name):
        return (f"the key name '{name}' is not 1-63 letters, digits, '-', '_' or '.', starting "
                "and ending with a letter or digit")
    if value and (len(value) > 63 or not _K8S_NAME.fullmatch(value)):
        return (f"the value '{value}' is not empty or 1-63 letters, digits, '-', '_' or '.', "
                "starting and ending with a letter or digit")
    return None


def kubernetes_labels(labels: Mapping[str, str] | None) -> dict[str, str]:
    """The labels of ``labels`` that Kubernetes accepts on an object, in their order.

    Organisation labels become cloud labels or tags everywhere, and Kubernetes labels on the
    team's namespace and objects; cloud tags allow what Kubernetes refuses (AWS: spaces,
    ``:/=+@``, 256 characters), and the API server would reject the whole object. Such labels
    stay on the cloud resources and are left out here (docs/aws.md, docs/gcp.md), as are keys
    under Kubernetes' reserved prefixes (:data:`K8S_RESERVED_PREFIXES`).
    """
    return {k: v for k, v in (labels or {}).items()
            if kubernetes_label_problem(k, v) is None and not _reserved(k)}


def _reserved(key: str) -> bool:
    prefix = key.rpartition("/")[0]
    return bool(prefix) and prefix != "app.kubernetes.io" and any(
        prefix == p or prefix.endswith(f".{p}") for p in K8S_RESERVED_PREFIXES)


def capacity_mode(component: str, args: Mapping[str, Any], modes: Sequence[str],
                  reservation_key: str, *, note: str = "") -> str:
    """A GPU pool's capacity mode from ``capacity`` (or the older ``spot``), checked against
    ``modes``: ``spot: true`` must not contradict it, and ``args[reservation_key]`` is given
    exactly with ``reservation``. ``component`` names the pool in errors ("GpuNodePool 'x'")."""
    capacity = str(args.get("capacity") or ("spot" if args.get("spot", False) else "on-demand"))
    if capacity not in modes:
        raise ValueError(f"{component}: capacity {capacity!r} is not one of "
                         f"{', '.join(modes)}{note}")
    if args.get("spot", False) and capacity != "spot":
        raise ValueError(f"{component}: spot: true contradicts capacity {capacity!r}")
    if (capacity == "reservation") != bool(args.get(reservation_key)):
        raise ValueError(f"{component}: {reservation_key} is given exactly with capacity "
                         f"'reservation' (got capacity {capacity!r})")
    return capacity
