"""Pack configuration: the settings rules read, their JSON schema, defaults and fan-out.

CrossGuard configures each policy separately (``{"TRL-GPU-001": {"maxGpusPerPool": 16}}``) and
validates each against that policy's ``configSchema``. People think in pack-wide settings
("this is a sandbox stack"), so every setting is defined once here, each rule declares which
ones it reads, and :func:`expand` fans pack-wide values out to the rules that read them. The
same expansion feeds ``trellis check`` and the file given to
``pulumi preview --policy-pack policies --policy-pack-config <file>``, which
``python -m policies.settings`` prints (:mod:`policies.settings.__main__`)::

    python -m policies.settings --tier sandbox > sandbox-policy-config.json

Every setting has a default, so the pack works with no configuration at all. The defaults are
the strict ones (tier ``production``): a stack nobody described is held to the higher bar.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

try:
    # Read-only data; the pack stays usable if the catalogue cannot be imported (e.g. the pack
    # copied out of the repository), with the catalogue's public names inlined below.
    from components import catalog as _catalog
except ImportError:  # pragma: no cover - exercised only outside the repository
    _catalog = None  # type: ignore[assignment]

TIERS = ("sandbox", "production")

_FALLBACK_ACCELERATORS = ("t4", "l4", "a10g", "l40s", "a100-40gb", "a100-80gb", "h100-80gb",
                          "h200")


def catalog_accelerators() -> tuple[str, ...]:
    return tuple(_catalog.ACCELERATORS) if _catalog is not None else _FALLBACK_ACCELERATORS


def catalog_regions(cloud: str) -> frozenset[str]:
    if _catalog is None:
        return frozenset()
    return frozenset(_catalog.regions(cloud))


@dataclass(frozen=True)
class Setting:
    key: str  # camelCase, as in CrossGuard config files
    schema: dict[str, Any]  # JSON schema of the value, including its default
    description: str


SETTINGS: dict[str, Setting] = {s.key: s for s in (
    # No "default" in the schema: the Pulumi CLI copies schema defaults into every policy's
    # config, and the rules must see whether the tier was set to read it from the stack instead
    # (policies.tiers).
    Setting("tier", {"type": "string", "enum": list(TIERS)},
            "Environment tier. `production` adds the production-only checks (protect, "
            "immutable tags, no scale-to-zero check); `sandbox` checks that GPU pools scale to "
            "zero (advisory). Unset: each resource's `trellis-tier` label when Trellis made it "
            "(`managed-by: trellis`), else `production`."),
    Setting("allowedAccelerators",
            {"type": "array", "items": {"type": "string"},
             "default": list(_FALLBACK_ACCELERATORS)},
            "Cloud-neutral accelerator names GPU pools may use (`t4`, `l4`, `h100-80gb`, ...). "
            "Default: every accelerator in the Trellis catalogue."),
    Setting("maxGpusPerPool", {"type": "number", "minimum": 1, "default": 64},
            "Largest number of GPUs one pool may reach at its autoscaling maximum "
            "(GPUs per node x maximum nodes)."),
    Setting("requiredLabels", {"type": "array", "items": {"type": "string"},
                               "default": ["team", "env"]},
            "Label (GCP) or tag (AWS) keys every GPU pool must carry for cost allocation."),
    Setting("allowedRegions", {"type": "array", "items": {"type": "string"}, "default": []},
            "Regions (or GCS multi-/dual-region codes) data may live in. Empty: every region "
            "of the Trellis catalogue for the cloud, single regions only."),
    Setting("modelBucketPatterns", {"type": "array", "items": {"type": "string"},
                                    "default": ["*model*"]},
            "Globs over a bucket's name, logical name or `purpose` label that mark it as a "
            "model bucket (versioning required in every tier)."),
    Setting("minKubernetesVersion", {"type": "string", "default": "1.32"},
            "Oldest Kubernetes minor version an EKS cluster may pin."),
    Setting("budgets", {"type": "object", "additionalProperties": {"type": "number",
                                                                    "minimum": 0},
                        "default": {}},
            "Monthly budget in USD per team (`team` label value -> USD) for the cost rule; "
            "`trellis check` can pass org.yaml's. Empty: budget resources in the stack."),
    Setting("schedulerAllowedRoles",
            {"type": "array", "items": {"type": "string"},
             "default": ["roles/aiplatform.user", "roles/workflows.invoker", "roles/run.invoker"]},
            "Project-level GCP roles a pipeline scheduler identity may hold (it only starts "
            "pipelines)."),
)}

DEFAULT_TIER = "production"
SCHEMA_DEFAULTS: dict[str, Any] = {k: s.schema.get("default", DEFAULT_TIER if k == "tier" else None)
                                   for k, s in SETTINGS.items()}


@dataclass(frozen=True)
class Settings:
    """Typed, defaulted view of one policy's configuration."""

    tier: str = "production"
    allowed_accelerators: tuple[str, ...] = _FALLBACK_ACCELERATORS
    max_gpus_per_pool: float = 64
    required_labels: tuple[str, ...] = ("team", "env")
    allowed_regions: tuple[str, ...] = ()
    model_bucket_patterns: tuple[str, ...] = ("*model*",)
    min_kubernetes_version: str = "1.32"
    scheduler_allowed_roles: tuple[str, ...] = ("roles/aiplatform.user",
                                                "roles/workflows.invoker", "roles/run.invoker")
    budgets: Mapping[str, float] = field(default_factory=dict)
    #: The config named the tier; otherwise rules read it from the stack (policies.tiers).
    tier_configured: bool = False

    @property
    def production(self) -> bool:
        return self.tier == "production"

    def regions_for(self, cloud: str) -> frozenset[str]:
        if self.allowed_regions:
            return frozenset(r.lower() for r in self.allowed_regions)
        return catalog_regions(cloud)

    @classmethod
    def from_config(cls, config: Mapping[str, Any] | None) -> Settings:
        """Parse one policy's config; raise ValueError (the rule then fails closed) if wrong."""
        cfg = dict(config or {})
        cfg.pop("enforcementLevel", None)

        def strings(key: str, default: tuple[str, ...]) -> tuple[str, ...]:
            if key not in cfg:
                return default
            value = cfg[key]
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise ValueError(f"policy config {key} must be a list of strings; got {value!r}")
            return tuple(value)

        tier = cfg.get("tier", "production")
        if tier not in TIERS:
            raise ValueError(f"policy config tier must be one of {', '.join(TIERS)}; got {tier!r}")
        max_gpus = cfg.get("maxGpusPerPool", 64)
        if isinstance(max_gpus, bool) or not isinstance(max_gpus, (int, float)) or max_gpus < 1:
            raise ValueError("policy config maxGpusPerPool must be a number >= 1; "
                             f"got {max_gpus!r}")
        min_k8s = cfg.get("minKubernetesVersion", "1.32")
        if not isinstance(min_k8s, str) or parse_version(min_k8s) is None:
            raise ValueError("policy config minKubernetesVersion must look like '1.32'; "
                             f"got {min_k8s!r}")
        budgets = cfg.get("budgets", {})
        if not isinstance(budgets, Mapping) or not all(
                isinstance(v, (int, float)) and not isinstance(v, bool) and v >= 0
                for v in budgets.values()):
            raise ValueError(f"policy config budgets must map team -> USD >= 0; got {budgets!r}")
        return cls(
            tier=tier, tier_configured="tier" in cfg,
            budgets={str(k): float(v) for k, v in budgets.items()},
            allowed_accelerators=strings("allowedAccelerators", catalog_accelerators()),
            max_gpus_per_pool=float(max_gpus),
            required_labels=strings("requiredLabels", cls.required_labels),
            allowed_regions=strings("allowedRegions", ()),
            model_bucket_patterns=strings("modelBucketPatterns", cls.model_bucket_patterns),
            min_kubernetes_version=min_k8s,
            scheduler_allowed_roles=strings("schedulerAllowedRoles", cls.scheduler_allowed_roles),
        )


def parse_version(text: str) -> tuple[int, int] | None:
    """``"1.31"`` / ``"1.31.2-gke.100"`` -> (1, 31); None when it is not a version."""
    head = text.strip().lstrip("v").split("-", 1)[0].split(".")
    if len(head) < 2 or not head[0].isdigit() or not head[1].isdigit():
        return None
    return int(head[0]), int(head[1])


def schema_for(keys: Iterable[str]) -> dict[str, dict[str, Any]]:
    """The ``configSchema.properties`` of a rule that reads ``keys``."""
    out: dict[str, dict[str, Any]] = {}
    for key in keys:
        schema = dict(SETTINGS[key].schema)
        if key == "allowedAccelerators":
            schema["default"] = list(catalog_accelerators())
        out[key] = schema
    return out


_SNAKE = {"allowed_accelerators": "allowedAccelerators", "max_gpus_per_pool": "maxGpusPerPool",
          "required_labels": "requiredLabels", "allowed_regions": "allowedRegions",
          "model_bucket_patterns": "modelBucketPatterns",
          "min_kubernetes_version": "minKubernetesVersion",
          "scheduler_allowed_roles": "schedulerAllowedRoles"}

ENFORCEMENT_LEVELS = ("advisory", "mandatory", "disabled", "remediate")


def expand(config: Mapping[str, Any] | None, rules: Mapping[str, Iterable[str]], *,
           tier_levels: Mapping[str, Mapping[str, str]] | None = None) -> dict[str, Any]:
    """Pack-wide settings + per-rule entries -> CrossGuard per-policy config.

    ``config`` may mix pack-wide keys (``tier``, ``maxGpusPerPool``; snake_case accepted),
    per-rule entries keyed by rule ID (``{"TRL-GPU-001": {"enforcementLevel": "advisory"}}`` or
    just ``"disabled"``) and ``all`` (an enforcement level for every rule). ``rules`` maps each
    rule ID to the setting keys it reads; ``tier_levels`` maps a rule ID to its default level
    per tier where that differs from the rule's own default. Precedence of levels: the rule's
    entry, then ``all``, then the tier default. Raises ValueError naming the offending key.
    """
    pack: dict[str, Any] = {}
    per_rule: dict[str, dict[str, Any]] = {}
    every: str | None = None
    for key, value in (config or {}).items():
        key = _SNAKE.get(key, key)
        if key == "all":
            if value not in ENFORCEMENT_LEVELS:
                raise ValueError(f"config all: expected one of {', '.join(ENFORCEMENT_LEVELS)}; "
                                 f"got {value!r}")
            every = value
        elif key in rules:
            if isinstance(value, str):
                value = {"enforcementLevel": value}
            if not isinstance(value, Mapping):
                raise ValueError(f"config {key}: expected an enforcement level or a mapping; "
                                 f"got {value!r}")
            level = value.get("enforcementLevel")
            if level is not None and level not in ENFORCEMENT_LEVELS:
                raise ValueError(f"config {key}.enforcementLevel: expected one of "
                                 f"{', '.join(ENFORCEMENT_LEVELS)}; got {level!r}")
            per_rule[key] = {_SNAKE.get(str(k)) or str(k): v for k, v in value.items()}
        elif key in SETTINGS:
            pack[key] = value
        else:
            raise ValueError(f"unknown policy config key {key!r}; expected a rule ID, 'all' or "
                             f"one of {', '.join(sorted(SETTINGS))}")
    out: dict[str, Any] = {}
    tier = pack.get("tier", SCHEMA_DEFAULTS["tier"])
    for rule_id, keys in rules.items():
        entry = {k: pack[k] for k in keys if k in pack}
        by_tier = (tier_levels or {}).get(rule_id, {})
        if tier in by_tier:
            entry["enforcementLevel"] = by_tier[tier]
        if every is not None:
            entry["enforcementLevel"] = every
        entry.update(per_rule.get(rule_id, {}))
        if entry:
            out[rule_id] = entry
    # Validate every value now, so a typo fails once with its key instead of in every rule.
    for rule_id, entry in out.items():
        unknown = set(entry) - set(rules[rule_id]) - {"enforcementLevel"}
        if unknown:
            raise ValueError(f"config {rule_id}: {', '.join(sorted(unknown))} is not read by "
                             f"this rule (it reads {', '.join(rules[rule_id]) or 'nothing'})")
        Settings.from_config(entry)
    return out
