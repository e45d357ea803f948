"""Which org.yaml field fixes each rule on a resource Trellis made ("fix in org.yaml").

A finding on a Trellis-made resource that only a waiver could clear is a defect: whoever holds
org.yaml must be able to fix it there. :data:`FIXES` names, per rule ID, the field that
decides it (a template over the finding's origin: ``{team}``, ``{pool}``, ``{bucket}``,
``{pipeline}``, ``{env}``) and what to write. Every other rule is in :data:`CANNOT_FIRE`,
with the reason it cannot fire on a resource planned from a valid org: the components always
set what it checks, or Trellis never makes the type it reads (it is there for what platform
teams add beside the components). ``tests/policies/test_fix_hints.py`` holds both tables to
the registry, the org.yaml schema and every bundled and example org.

The policy pack itself (``policies/``) knows nothing of org.yaml; this table is the bridge.
"""

from __future__ import annotations

from dataclasses import dataclass

from stacks.org.errors import Path_, format_path


@dataclass(frozen=True)
class Fix:
    """The org.yaml field(s) that decide a rule, most specific first, and what to do."""

    fields: tuple[tuple[str, ...], ...]  # templates; the first one written in the file wins
    advice: str


#: Overrides of a team's entry in one environment come first: they win where they are written.
def _entry(section: str, key: str, field: str) -> tuple[tuple[str, ...], ...]:
    return (("teams", "{team}", "overrides", "{env}", section, key, field),
            ("teams", "{team}", section, key, field))


_POOL = ("gpu_pools", "{pool}")
_BUCKET = ("buckets", "{bucket}")
_REGION = (("environments", "{env}", "region"), ("region",))

FIXES: dict[str, Fix] = {
    "TRL-REG-003": Fix((("platform", "encryption", "customer_managed_keys"),),
                       "set it to true: a Cloud KMS key per environment encrypts the "
                       "registries, buckets, GKE secrets and pipeline runs (default on in "
                       "production)"),
    "TRL-REG-002": Fix((("platform", "registry_scanning"),),
                       "set basic (scan on push) or enhanced (Amazon Inspector)"),
    "TRL-GCS-004": Fix(_entry(*_BUCKET, "versioning"), "set versioning: true"),
    "TRL-GCS-005": Fix(_entry(*_BUCKET, "delete_after_days"),
                       "set delete_after_days (scratch data) or keep the data on purpose"),
    "TRL-GCS-006": Fix(_REGION, "use a region the pack's allowedRegions lists"),
    "TRL-S3-006": Fix(_entry(*_BUCKET, "versioning"), "set versioning: true"),
    "TRL-S3-007": Fix(_entry(*_BUCKET, "delete_after_days"),
                      "set delete_after_days (scratch data) or keep the data on purpose"),
    "TRL-GKE-002": Fix((("platform", "admin_cidrs"),),
                       "list only the ranges that administer the cluster, never 0.0.0.0/0"),
    "TRL-EKS-001": Fix((("platform", "admin_cidrs"),),
                       "list only the ranges `pulumi up` and administrators use, never "
                       "0.0.0.0/0"),
    "TRL-EKS-006": Fix((("environments", "{env}", "kubernetes_version"),),
                       "use a version in standard support (or leave it out for the newest)"),
    "TRL-GPU-001": Fix(_entry(*_POOL, "accelerator"),
                       "use an accelerator the pack's allowedAccelerators lists"),
    "TRL-GPU-002": Fix(_entry(*_POOL, "max_nodes"),
                       "lower it so gpus_per_node x max_nodes stays within maxGpusPerPool"),
    "TRL-GPU-003": Fix(_entry(*_POOL, "min_nodes"), "set min_nodes: 0 in sandboxes"),
    "TRL-GPU-009": Fix((("labels",),),
                       "add the label keys the pack's requiredLabels names"),
    "TRL-COST-001": Fix(_entry(*_POOL, "max_nodes"),
                        "lower it to the largest that fits (the message says which), use "
                        "spot: true, or raise teams.{team}.budget_usd"),
}

_ALWAYS = "Trellis components always set what this rule checks"
_NEVER = "Trellis never makes this resource type; the rule judges what is added beside it"

#: Rules that cannot fire on a resource planned from a valid org, and why.
CANNOT_FIRE: dict[str, str] = {
    **{rid: _ALWAYS for rid in (
        "TRL-GCS-001", "TRL-GCS-002", "TRL-GCS-003", "TRL-S3-001", "TRL-S3-002", "TRL-S3-003",
        "TRL-S3-004", "TRL-S3-005", "TRL-S3-008", "TRL-S3-009", "TRL-REG-004",
        "TRL-REG-005", "TRL-GKE-001", "TRL-GKE-003", "TRL-GKE-004", "TRL-GKE-005",
        "TRL-GKE-006", "TRL-GKE-007", "TRL-GKE-008", "TRL-GKE-009", "TRL-GKE-010",
        "TRL-GKE-011", "TRL-EKS-002", "TRL-EKS-003", "TRL-EKS-004", "TRL-EKS-005",
        "TRL-EKS-007", "TRL-GPU-004", "TRL-GPU-005", "TRL-GPU-006", "TRL-GPU-007",
        "TRL-GPU-008", "TRL-PIPE-001", "TRL-PIPE-002", "TRL-PIPE-003", "TRL-IAM-001",
        "TRL-IAM-002", "TRL-IAM-003", "TRL-IAM-006", "TRL-IAM-007", "TRL-IAM-008",
        "TRL-IAM-009", "TRL-IAM-010", "TRL-KMS-001", "TRL-EC2-001", "TRL-EC2-002",
        "TRL-K8S-001", "TRL-K8S-002", "TRL-K8S-003", "TRL-NET-001", "TRL-NET-002", "TRL-NET-003")},
    # Production: every stateful resource is protected and every repository immutable by
    # the tier itself (``tier: production``); a sandbox is not held to either.
    "TRL-REG-001": "tier: production always makes image tags immutable",
    "TRL-PUL-001": "tier: production always protects stateful resources",
    "TRL-PUL-002": "every bucket and registry Trellis plans comes from its components",
    **{rid: _NEVER for rid in ("TRL-IAM-004", "TRL-IAM-005", "TRL-ML-001", "TRL-ML-002",
                               "TRL-ML-003", "TRL-ML-004")},
}


def placeholders(origin: Path_, env: str) -> dict[str, str]:
    """``{team}``, ``{pool}``, ... as far as ``origin`` (an org path) names them."""
    values = {"env": env}
    if len(origin) >= 2 and origin[0] == "teams":
        values["team"] = str(origin[1])
        section_key = {"gpu_pools": "pool", "buckets": "bucket", "pipelines": "pipeline"}
        if len(origin) >= 4 and origin[2] in section_key:
            values[section_key[str(origin[2])]] = str(origin[3])
    return values


def fill(template: tuple[str, ...], values: dict[str, str]) -> Path_ | None:
    """The template with its placeholders filled; None when one is not known."""
    out: list[str] = []
    for part in template:
        if part.startswith("{") and part.endswith("}"):
            if part[1:-1] not in values:
                return None
            out.append(values[part[1:-1]])
        else:
            out.append(part)
    return tuple(out)


def candidates(rule_id: str, origin: Path_, env: str) -> list[Path_]:
    """The fields that would fix ``rule_id`` for a resource from ``origin``, most specific
    first (a per-environment override before the team's own value)."""
    fix = FIXES.get(rule_id)
    if fix is None:
        return []
    values = placeholders(origin, env)
    return [p for p in (fill(t, values) for t in fix.fields) if p is not None]


def advice(rule_id: str, origin: Path_, env: str) -> str:
    fix = FIXES[rule_id]
    return fix.advice.format_map(_Keep(placeholders(origin, env)))


class _Keep(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


__all__ = ["CANNOT_FIRE", "FIXES", "Fix", "advice", "candidates", "fill", "format_path",
           "placeholders"]
