"""What a team declares as it applies in one environment: overrides merged, tier defaults decided.

The one place that knows how ``overrides.<env>`` combine with a team's own values and which
default each tier implies. Validation reads the values *and where they were written* (so an
error points at the override that set a value); resolution reads the values only.
"""

from __future__ import annotations

import fnmatch
import math
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from stacks.org.errors import Path_

if TYPE_CHECKING:
    from components.catalog import MachineShape
from stacks.org.model import Org, Team, TeamOverride

#: Buckets whose name matches are model buckets: versioned in every tier. The policy pack's
#: default ``modelBucketPatterns`` (policies/settings.py), so what validates also passes.
MODEL_BUCKET_PATTERNS = ("*model*",)

SECTIONS = ("gpu_pools", "buckets", "pipelines")



class Entry:
    """One pool, bucket or pipeline of a team in one environment."""

    __slots__ = ("declared", "key", "override", "override_path", "path")

    def __init__(self, key: str, declared: Any, override: Any, path: Path_,
                 override_path: Path_) -> None:
        self.key = key
        self.declared = declared  # the team's entry (GpuPool, Bucket, Pipeline)
        self.override = override  # its override in this environment, or None
        self.path = path  # teams.<team>.<section>.<key>
        self.override_path = override_path  # teams.<team>.overrides.<env>.<section>.<key>

    def value(self, field: str) -> Any:
        """The field's value in this environment: the override's when it sets one."""
        if self.override is not None:
            value = getattr(self.override, field)
            if value is not None:
                return value
        return getattr(self.declared, field)

    def where(self, field: str) -> Path_:
        """Path of the value :meth:`value` returns (for error messages)."""
        if self.override is not None and getattr(self.override, field) is not None:
            return (*self.override_path, field)
        return (*self.path, field)

    @property
    def previous_names(self) -> tuple[str, ...]:
        return tuple(self.declared.previous_names)


class TeamInEnv:
    """A team as it applies in one environment."""

    __slots__ = ("_entries", "env", "name", "override", "override_path", "path", "team")

    def __init__(self, name: str, team: Team, env: str) -> None:
        self.name, self.team, self.env = name, team, env
        self.override: TeamOverride | None = team.overrides.get(env)
        self.path: Path_ = ("teams", name)
        self.override_path: Path_ = (*self.path, "overrides", env)
        self._entries: dict[str, tuple[Entry, ...]] = {}

    def value(self, field: str) -> Any:
        """A team-level field (description, members, cost_center, budget_usd, cpu) in this env."""
        if self.override is not None:
            value = getattr(self.override, field)
            if value is not None:
                return value
        return getattr(self.team, field)

    def entries(self, section: str) -> tuple[Entry, ...]:
        """The entries of ``section`` (gpu_pools, buckets, pipelines), overrides attached."""
        known = self._entries.get(section)
        if known is None:
            known = self._entries[section] = tuple(self._make_entries(section))
        return known

    def _make_entries(self, section: str) -> Iterator[Entry]:
        """Entries this environment gets: ``enabled`` (the override's, else the entry's own)
        leaves out the ones dropped here."""
        overrides = getattr(self.override, section) if self.override is not None else {}
        for key, declared in getattr(self.team, section).items():
            entry = Entry(key, declared, overrides.get(key), (*self.path, section, key),
                          (*self.override_path, section, key))
            if entry.value("enabled"):
                yield entry


#: teams.cpu when a team does not set it (docs/aws.md, "CPU work").
DEFAULT_CPU = (8, 32)  # vCPUs, memory GB


def cpu(t: TeamInEnv) -> tuple[int, int]:
    """(vcpus, memory_gb) of the team's CPU work in this environment."""
    value = t.value("cpu")
    return DEFAULT_CPU if value is None else (value.vcpus, value.memory_gb)


#: aws: the general node group's instance type, vCPUs and memory (GiB); see CpuNodeGroup.
GENERAL_INSTANCE = ("m7i.2xlarge", 8, 32)


def general_max_nodes(cpu_work: list[tuple[int, int]]) -> int:
    """Nodes of :data:`GENERAL_INSTANCE` that hold every team's CPU work at once (at least 1).

    A node gives pods about 90% of its vCPUs and memory (kubelet and system reservations), so
    the count is rounded up from that.
    """
    _, vcpus, memory = GENERAL_INSTANCE
    need_cpu = sum(c for c, _ in cpu_work) / (vcpus * 0.9)
    need_mem = sum(m for _, m in cpu_work) / (memory * 0.9)
    return max(1, math.ceil(max(need_cpu, need_mem)))


def admins(org: Org, env: str) -> tuple[str, ...]:
    """The environment's cluster administrators: its own list, else platform.admins."""
    own = org.environments[env].admins
    return org.platform.admins if own is None else own


def admins_path(org: Org, env: str) -> Path_:
    """Where :func:`admins` was written."""
    if org.environments[env].admins is not None:
        return ("environments", env, "admins")
    return ("platform", "admins")


def kubernetes_version(org: Org, env: str) -> str:
    """aws: the EKS version of the environment (the table's default when unset)."""
    from components import catalog

    return org.environments[env].kubernetes_version or catalog.eks_default_version()


def pool_zone_ids(pool: Entry, shape: MachineShape, region: str,
                  network: tuple[str, ...], *, reservation: bool = False) -> tuple[str, ...]:
    """aws: the AZ IDs a GPU pool's node group uses: zones of the environment's network that
    offer its instance type, narrowed to ``gpu_pools.<pool>.zones`` when set (empty: no
    placement, which validation reports). A ``reservation`` pool's one zone may be outside the
    network (a Capacity Block is where AWS sells it): the network then gets a node-only subnet
    there (:func:`node_zone_ids`)."""
    from components import catalog

    offered = set(catalog.zones("aws", shape.machine_type, region))
    wanted = pool.value("zones")
    if reservation and network and wanted is not None and len(wanted) == 1 \
            and wanted[0] in offered:
        return (wanted[0],)
    return tuple(z for z in network if z in offered and (wanted is None or z in wanted))


def deployed(team: Team, env: str) -> bool:
    """Whether the team is deployed to ``env`` (default: every environment)."""
    return team.environments is None or env in team.environments


def customer_managed_keys(org: Org, *, production: bool) -> bool:
    """Customer-managed encryption keys unless set: production has them, sandboxes opt in."""
    value = org.platform.encryption.customer_managed_keys
    return production if value is None else bool(value)


def _capacity_layers(pool: Entry) -> Iterator[tuple[Any, Path_]]:
    """The pool's own settings, most specific first: the override, then the team's entry."""
    if pool.override is not None:
        yield pool.override, pool.override_path
    yield pool.declared, pool.path


def capacity_choice(pool: Entry) -> tuple[str, Path_] | None:
    """The capacity mode the pool asks for and where it was written, or None for the tier
    default. ``capacity`` and ``spot`` say the same thing; the most specific layer that sets
    either decides (an override's ``spot: false`` replaces the team's ``capacity: spot``), and
    within one layer ``capacity`` wins (validation refuses a contradiction there)."""
    for layer, path in _capacity_layers(pool):
        if layer.capacity is not None:
            return str(layer.capacity), (*path, "capacity")
        if layer.spot is not None:
            return ("spot" if layer.spot else "on-demand"), (*path, "spot")
    return None


def capacity(pool: Entry, *, production: bool) -> str:
    """How the pool's nodes are obtained (catalog.CAPACITY_MODES): as written, else spot in
    sandboxes (cheap) and on demand in production."""
    chosen = capacity_choice(pool)
    if chosen is None:
        return "on-demand" if production else "spot"
    return chosen[0]


def capacity_block(pool: Entry) -> bool:
    """aws: the pool's reservation is a Capacity Block for ML."""
    reservation = pool.value("reservation")
    return reservation is not None and bool(reservation.capacity_block)


def spot(pool: Entry, *, production: bool) -> bool:
    """Spot capacity unless set: sandboxes are cheap, production is on demand."""
    return capacity(pool, production=production) == "spot"


def is_model_bucket(*names: str) -> bool:
    return any(fnmatch.fnmatchcase(n, p) for n in names for p in MODEL_BUCKET_PATTERNS)


def model_bucket(team: str, bucket: Entry, physical_name: str) -> bool:
    """A bucket that holds models (key or physical name match :data:`MODEL_BUCKET_PATTERNS`).

    The physical name is the one the bucket really has (kept across renames), the name the
    policy pack sees.
    """
    return is_model_bucket(bucket.key, physical_name, f"{team}-{bucket.key}")


def versioning(bucket: Entry, *, production: bool, model: bool) -> bool:
    """Versioned unless set: production and model buckets keep old versions."""
    value = bucket.value("versioning")
    return (production or model) if value is None else bool(value)


def parameters(pipeline: Entry) -> dict[str, Any]:
    """Pipeline parameters: the override's merged over the pipeline's own."""
    merged = dict(pipeline.declared.parameters)
    if pipeline.override is not None and pipeline.override.parameters:
        merged.update(pipeline.override.parameters)
    return merged


def parameter_paths(pipeline: Entry) -> dict[str, Path_]:
    """Where each of :func:`parameters` was written: the override's key when it sets one."""
    paths: dict[str, Path_] = {k: (*pipeline.path, "parameters", k)
                               for k in pipeline.declared.parameters}
    if pipeline.override is not None and pipeline.override.parameters:
        paths.update({k: (*pipeline.override_path, "parameters", k)
                      for k in pipeline.override.parameters})
    return paths
