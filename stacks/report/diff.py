"""What changes between two org files: the two offline plans compared resource by resource.

Resources are matched by URN, and by alias: a resource whose new registration lists the old URN
as an alias is the same cloud resource (renamed with ``previous_names``), compared in place.

A resource is **replaced** (deleted and created again) when

* an input the provider cannot update changes (:mod:`stacks.report.replacements`, an entry for
  every type Trellis plans), or a property its ``replaceOnChanges`` option names; changes to
  properties under ``ignoreChanges`` do not count, as in ``pulumi up``;
* its provider is replaced (an AWS region or account change, another Kubernetes cluster): every
  resource of that provider is replaced with it;
* an input that must not change is computed from a resource that is replaced: its value is
  unknown until apply, and ``pulumi preview`` plans a replacement (node pools of a replaced
  cluster, the Kubernetes provider of a replaced cluster and, through it, every namespace).

What the diff reports as **data loss** (``--fail-on-data-loss`` fails on every one):

* ``deleted`` / ``replaced``: a stateful resource (bucket, registry, cluster, key, model
  registry, log group) deleted or replaced;
* ``unprotected``: a stateful resource losing ``protect`` or ``retain_on_delete`` (tier
  production -> sandbox): the next removal deletes its data instead of failing or keeping it;
* ``objects_expire``: a lifecycle rule added or shortened on a bucket that holds data: objects
  older than the new age are deleted.

And as **warnings**: versioning turned off on a bucket, a GPU pool replaced (its running jobs are
evicted), a team namespace deleted or replaced (everything running in it is deleted with it)
and a pool whose ``trellis.dev/pool`` node label changes (a rename): workloads that select the
old label stop finding nodes.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from stacks.plan.engine import Plan, PlannedResource
from stacks.report.replacements import REPLACE_WHEN_REMOVED, REPLACEMENTS

#: Resource types that hold data or are expensive to recreate.
STATEFUL_TYPES = frozenset({
    "gcp:storage/bucket:Bucket",
    "gcp:artifactregistry/repository:Repository",
    "gcp:container/cluster:Cluster",
    "gcp:kms/cryptoKey:CryptoKey",
    "gcp:kms/keyRing:KeyRing",  # a new ring holds new keys: what the old ones encrypted is lost
    "aws:s3/bucket:Bucket",
    "aws:ecr/repository:Repository",
    "aws:eks/cluster:Cluster",
    "aws:kms/key:Key",
    "aws:sagemaker/modelPackageGroup:ModelPackageGroup",
    "aws:cloudwatch/logGroup:LogGroup",  # the cluster's control-plane logs
})

#: Resources whose replacement or removal does not lose stored data but stops what runs there:
#: warnings. (A team rename recreates its namespace on purpose: README, renames.)
K8S_NAMESPACE = "kubernetes:core/v1:Namespace"

#: Input properties whose change forces a replacement, per type (from :data:`REPLACEMENTS`).
REPLACE_ON: dict[str, tuple[str, ...]] = {t: e.properties for t, e in REPLACEMENTS.items()}

#: GPU node pools / groups: where their ``trellis.dev/pool`` node label is in the inputs.
POOL_LABEL = "trellis.dev/pool"
POOL_LABEL_AT = {"gcp:container/nodePool:NodePool": ("nodeConfig", "labels"),
                 "aws:eks/nodeGroup:NodeGroup": ("labels",)}
GCS_BUCKET, S3_BUCKET = "gcp:storage/bucket:Bucket", "aws:s3/bucket:Bucket"
S3_LIFECYCLE = "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration"
S3_VERSIONING = "aws:s3/bucketVersioning:BucketVersioning"
K8S_PROVIDER = "pulumi:providers:kubernetes"

#: Finding kinds that are data loss (the rest are warnings).
DATA_LOSS_KINDS = ("deleted", "replaced", "unprotected", "objects_expire")


@dataclass
class Change:
    urn: str
    type: str
    properties: list[str]
    replace: bool
    old_urn: str | None = None  # set when matched through an alias
    reasons: list[str] = field(default_factory=list)  # why it is replaced
    delete_before_replace: bool = False


@dataclass(frozen=True)
class Finding:
    """One change that loses data (or risks workloads), with what to do about it."""

    kind: str  # one of DATA_LOSS_KINDS, or a warning: versioning_off, pool_replaced,
    #            pool_label, namespace_replaced, namespace_deleted
    urn: str
    message: str

    @property
    def data_loss(self) -> bool:
        return self.kind in DATA_LOSS_KINDS

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "urn": self.urn, "message": self.message,
                "data_loss": self.data_loss}


@dataclass
class PlanDiff:
    environment: str
    added: list[PlannedResource] = field(default_factory=list)
    removed: list[PlannedResource] = field(default_factory=list)
    changed: list[Change] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)

    @property
    def replaced(self) -> list[Change]:
        return [c for c in self.changed if c.replace]

    @property
    def data_loss(self) -> list[str]:
        """URNs of every resource with a data-loss finding, sorted."""
        return sorted({f.urn for f in self.findings if f.data_loss})

    @property
    def losses(self) -> list[Finding]:
        return [f for f in self.findings if f.data_loss]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if not f.data_loss]

    def to_json(self) -> dict[str, Any]:
        return {
            "environment": self.environment,
            "added": [r.urn for r in self.added],
            "removed": [r.urn for r in self.removed],
            "changed": [{"urn": c.urn, "properties": c.properties, "replace": c.replace,
                         **({"renamed_from": c.old_urn} if c.old_urn else {}),
                         **({"replace_reasons": c.reasons} if c.reasons else {}),
                         **({"delete_before_replace": True}
                            if c.replace and c.delete_before_replace else {})}
                        for c in self.changed],
            "replaced": [c.urn for c in self.replaced],
            "data_loss": self.data_loss,
            "findings": [f.to_json() for f in self.findings],
        }


# ---- property paths -------------------------------------------------------------------------

def _flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """``{"a": {"b": [1, 2]}}`` -> ``{"a.b[0]": 1, "a.b[1]": 2}``; empty containers stay."""
    if isinstance(value, dict) and value:
        out: dict[str, Any] = {}
        for k, v in value.items():
            out.update(_flatten(v, f"{prefix}.{k}" if prefix else str(k)))
        return out
    if isinstance(value, list) and value:
        out = {}
        for i, v in enumerate(value):
            out.update(_flatten(v, f"{prefix}[{i}]"))
        return out
    return {prefix: value}


def changed_properties(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """Paths of inputs that differ (``a.b``, list items ``a.b[0].c``)."""
    a, b = _flatten(old), _flatten(new)
    return sorted(k for k in a.keys() | b.keys() if a.get(k, _ABSENT) != b.get(k, _ABSENT))


_ABSENT = object()
_INDEX = re.compile(r"\[(\d+|\*)\]")
_KEY = re.compile(r"\[\"([^\"]*)\"\]")


def _norm(path: str) -> str:
    """A path without list indices, keys in brackets as dotted: what the table lists."""
    return _INDEX.sub("", _KEY.sub(r".\1", path))


def _covers(changed: str, prop: str) -> bool:
    """True when a change at ``changed`` touches ``prop``: the same, below it, or above it
    (a whole block added or removed)."""
    path = _norm(changed)
    return path == prop or path.startswith(prop + ".") or prop.startswith(path + ".")


def forces_replacement(type_: str, properties: Iterable[str]) -> bool:
    """True when a change to any of ``properties`` replaces a resource of ``type_``."""
    fields = REPLACE_ON.get(type_, ())
    return any(_covers(p, f) for p in properties for f in fields)


def _ignored(path: str, patterns: Iterable[str]) -> bool:
    return any(_covers_below(path, _norm(p)) for p in patterns)


def _covers_below(changed: str, pattern: str) -> bool:
    path = _norm(changed)
    return pattern in ("*", path) or path.startswith(pattern + ".")


def _value(inputs: dict[str, Any], dotted: str) -> Any:
    node: Any = inputs
    for part in dotted.split("."):
        if not isinstance(node, dict):
            return None
        node = node.get(part)
    return node


def _unit(value: Any) -> str:
    return "" if value in (None, "", [], {}) else "set"


# ---- matching and replacement ---------------------------------------------------------------

def _child_urn(parent_urn: str, type_: str, name: str) -> str:
    head, _, rest = parent_urn.partition("::")  # urn:pulumi:<stack>
    project, qualified_type, _parent_name = rest.split("::", 2)
    return f"{head}::{project}::{qualified_type}${type_}::{name}"


def previous_urns(plan: Plan) -> dict[str, list[str]]:
    """Every URN each resource may have had: its own aliases plus the ones it inherits.

    The Pulumi engine gives a child of an aliased parent the alias under the parent's old URN,
    and when the child's name starts with the parent's name it swaps that prefix for the
    parent's old name (the SDK's "inherited child alias"). We apply the same rule.
    """
    by_urn = plan.by_urn()
    memo: dict[str, list[str]] = {}

    def olds(urn: str) -> list[str]:
        if urn in memo:
            return memo[urn]
        res = by_urn[urn]
        found = list(res.aliases)
        parent = by_urn.get(res.parent or "")
        if parent is not None:
            for parent_old in olds(parent.urn):
                old_parent_name = parent_old.rsplit("::", 1)[1]
                name = res.name
                if name.startswith(parent.name):
                    name = old_parent_name + name[len(parent.name):]
                found.append(_child_urn(parent_old, res.type, name))
        memo[urn] = found
        return found

    return {r.urn: olds(r.urn) for r in plan.resources}


def _provider_urn(reference: str) -> str:
    """``urn:...::aws::<id>`` (a provider reference) -> the provider's URN."""
    return reference.rsplit("::", 1)[0] if reference.count("::") >= 4 else reference


def _active_cluster(kubeconfig: Any) -> Any:
    """The active cluster entry of a kubeconfig (JSON text or object), or None if unreadable."""
    try:
        config = json.loads(kubeconfig) if isinstance(kubeconfig, str) else kubeconfig
        context = config.get("current-context")
        cluster = next(c["context"]["cluster"] for c in config.get("contexts", [])
                       if c.get("name") == context)
        return next(c.get("cluster") for c in config.get("clusters", [])
                    if c.get("name") == cluster)
    except (ValueError, TypeError, AttributeError, KeyError, StopIteration):
        return None


def _direct_reasons(before: PlannedResource, after: PlannedResource,
                    props: list[str]) -> list[str]:
    """Why ``after`` replaces ``before`` by its own inputs (empty when it is updated)."""
    reasons: list[str] = []
    type_ = after.type
    if type_ == K8S_PROVIDER:
        if "kubeconfig" in props:
            old_cluster = _active_cluster(before.inputs.get("kubeconfig"))
            new_cluster = _active_cluster(after.inputs.get("kubeconfig"))
            if old_cluster is None or new_cluster is None or old_cluster != new_cluster:
                reasons.append("kubeconfig points at another cluster")
        return reasons
    for prop in REPLACE_ON.get(type_, ()):
        hits = [p for p in props if _covers(p, prop)]
        if not hits:
            continue
        why = REPLACE_WHEN_REMOVED.get((type_, prop))
        if why is not None:
            if _unit(_value(before.inputs, prop)) and not _unit(_value(after.inputs, prop)):
                reasons.append(f"{prop} removed ({why})")
            continue
        reasons.append(f"{prop}{_from_to(before.inputs, after.inputs, prop)} cannot change "
                       "in place")
    roc = after.replace_on_changes
    if roc and any(_covers_below(p, _norm(r)) or r == "*" for p in props for r in roc):
        reasons.append("replaceOnChanges covers a changed property")
    return reasons


def _from_to(old: dict[str, Any], new: dict[str, Any], prop: str) -> str:
    """`` 'a' -> 'b'`` for short plain values (a region, a name), else nothing."""
    was, now = _value(old, prop), _value(new, prop)
    if all(isinstance(v, (str, int, float, bool, type(None))) and len(str(v)) <= 60
           for v in (was, now)):
        return f" {json.dumps(was)} -> {json.dumps(now)}"
    return ""


def _cascade_reason(after: PlannedResource, replaced: dict[str, str]) -> str | None:
    """Why ``after`` is replaced because something it depends on is, or None."""
    if after.custom and after.provider:
        provider = _provider_urn(after.provider)
        if provider in replaced:
            return f"its provider {short_urn(provider)} is replaced ({replaced[provider]})"
    fields = REPLACE_ON.get(after.type, ())
    for prop, deps in after.property_dependencies.items():
        hit = next((d for d in deps if d in replaced), None)
        if hit is None:
            continue
        if any(_covers(prop, f) for f in fields) or (
                after.type == K8S_PROVIDER and prop == "kubeconfig"):
            return f"its {prop} comes from {short_urn(hit)}, which is replaced"
    return None


def short_urn(urn: str) -> str:
    """The readable tail of a URN: ``gcp:storage/bucket:Bucket::acme-dev-x``."""
    parts = urn.split("::")
    if len(parts) < 4:
        return urn
    return f"{parts[2].split('$')[-1]}::{parts[3]}"


def diff_plans(old: Plan, new: Plan) -> PlanDiff:
    """Compare two plans of the same environment (either may be empty: an environment added
    or removed is all additions or all deletions)."""
    old_by_urn = old.by_urn()
    aliases = previous_urns(new)
    result = PlanDiff(environment=new.environment or old.environment)
    pairs: list[tuple[PlannedResource, PlannedResource, str | None, list[str]]] = []
    matched: set[str] = set()
    for res in new.resources:
        before = old_by_urn.get(res.urn)
        old_urn = None
        if before is None:
            old_urn = next((a for a in aliases[res.urn] if a in old_by_urn), None)
            before = old_by_urn.get(old_urn) if old_urn else None
        if before is None:
            result.added.append(res)
            continue
        matched.add(before.urn)
        props = [p for p in changed_properties(before.inputs, res.inputs)
                 if not _ignored(p, res.ignore_changes)]
        pairs.append((before, res, old_urn, props))
    result.removed = [r for r in old.resources if r.urn not in matched]

    reasons: dict[str, list[str]] = {}
    for before, after, _, props in pairs:
        found = _direct_reasons(before, after, props) if props else []
        if found:
            reasons[after.urn] = found
    # Replacements cascade to what depends on them, until nothing more changes.
    replaced = {urn: "; ".join(r) for urn, r in reasons.items()}
    grew = True
    while grew:
        grew = False
        for _, after, _, _ in pairs:
            if after.urn in replaced:
                continue
            why = _cascade_reason(after, replaced)
            if why is not None:
                reasons[after.urn] = [why]
                replaced[after.urn] = why
                grew = True

    for before, after, old_urn, props in pairs:
        replace = after.urn in reasons
        if props or old_urn or replace:
            result.changed.append(Change(
                after.urn, after.type, props, replace, old_urn, reasons.get(after.urn, []),
                delete_before_replace=after.delete_before_replace or before.delete_before_replace))
    result.findings = _findings(old, new, result, pairs)
    return result


# ---- findings -------------------------------------------------------------------------------

def _protection(res: PlannedResource) -> str:
    kept = [w for w, on in (("protected", res.protect), ("retained on delete",
                                                         res.retain_on_delete)) if on]
    return f" (it was {' and '.join(kept)})" if kept else ""


def _findings(old: Plan, new: Plan, d: PlanDiff,
              pairs: list[tuple[PlannedResource, PlannedResource, str | None, list[str]]]
              ) -> list[Finding]:
    out: list[Finding] = []
    for res in d.removed:
        if res.type in STATEFUL_TYPES:
            note = ""
            if res.protect:
                note = "; `pulumi up` refuses until it is unprotected"
            elif res.retain_on_delete:
                note = "; it is retained in the cloud but no longer managed"
            out.append(Finding("deleted", res.urn, f"{short_urn(res.urn)} is deleted{note}"))
        elif res.type == K8S_NAMESPACE:
            out.append(Finding("namespace_deleted", res.urn,
                               f"{short_urn(res.urn)} is deleted with everything in it (jobs, "
                               "services, secrets, volumes)"))
    changes = {c.urn: c for c in d.changed}
    for before, after, _, _ in pairs:
        change = changes.get(after.urn)
        if change is not None and change.replace:
            why = "; ".join(change.reasons)
            order = " (deleted before its replacement is created)" \
                if change.delete_before_replace else ""
            if after.type in STATEFUL_TYPES:
                out.append(Finding("replaced", change.old_urn or after.urn,
                                   f"{short_urn(after.urn)} is replaced{order}: {why}"))
            elif after.type == K8S_NAMESPACE:
                out.append(Finding("namespace_replaced", after.urn,
                                   f"{short_urn(after.urn)} is replaced: {why}; everything in "
                                   "the old namespace (jobs, services, secrets, volumes) is "
                                   "deleted with it"))
            elif after.type in POOL_LABEL_AT:
                out.append(Finding("pool_replaced", after.urn,
                                   f"{short_urn(after.urn)} is replaced: {why}; its nodes are "
                                   "drained, so running jobs on it are evicted"))
        if after.type in STATEFUL_TYPES:
            lost = [w for w, was, now in (("protect", before.protect, after.protect),
                                          ("retain_on_delete", before.retain_on_delete,
                                           after.retain_on_delete),
                                          ("deletionProtection",
                                           before.inputs.get("deletionProtection") is True,
                                           after.inputs.get("deletionProtection") is True))
                    if was and not now]
            if lost:
                out.append(Finding("unprotected", after.urn,
                                   f"{short_urn(after.urn)} loses {' and '.join(lost)}: a later "
                                   "removal deletes it and its data (tier production -> "
                                   "sandbox?)"))
        if after.type in POOL_LABEL_AT:
            was = _value(before.inputs, ".".join(POOL_LABEL_AT[after.type])) or {}
            now = _value(after.inputs, ".".join(POOL_LABEL_AT[after.type])) or {}
            old_label, new_label = was.get(POOL_LABEL), now.get(POOL_LABEL)
            if old_label and old_label != new_label:
                out.append(Finding(
                    "pool_label", after.urn,
                    f"{short_urn(after.urn)}: node label {POOL_LABEL} changes from '{old_label}' "
                    f"to '{new_label}'; running workloads whose nodeSelector or affinity "
                    f"selects {POOL_LABEL}={old_label} stop finding nodes: update them to "
                    f"'{new_label}' (the handoff guide has the new selector)"))
    out += _bucket_findings(old, new, pairs)
    return out


def _gcs_expiry(bucket: PlannedResource) -> int | None:
    """The smallest age (days) at which a GCS lifecycle rule deletes live objects."""
    ages = []
    for rule in bucket.inputs.get("lifecycleRules") or []:
        action = (rule or {}).get("action") or {}
        condition = (rule or {}).get("condition") or {}
        if action.get("type") == "Delete" and condition.get("age") is not None \
                and condition.get("withState", "ANY") in ("ANY", "LIVE"):
            ages.append(int(condition["age"]))
    return min(ages, default=None)


def _s3_expiry(plan: Plan) -> dict[str, int]:
    """S3 bucket name -> the smallest expiration (days) of its enabled lifecycle rules."""
    out: dict[str, int] = {}
    for lc in plan.of_type(S3_LIFECYCLE):
        bucket = lc.inputs.get("bucket")
        for rule in lc.inputs.get("rules") or []:
            days = ((rule or {}).get("expiration") or {}).get("days")
            if isinstance(bucket, str) and rule.get("status") == "Enabled" and days is not None:
                out[bucket] = min(int(days), out.get(bucket, int(days)))
    return out


def _s3_versioning(plan: Plan) -> dict[str, str]:
    return {str(v.inputs.get("bucket")): str((v.inputs.get("versioningConfiguration") or {})
                                             .get("status", ""))
            for v in plan.of_type(S3_VERSIONING)}


def _bucket_findings(old: Plan, new: Plan,
                     pairs: list[tuple[PlannedResource, PlannedResource, str | None, list[str]]]
                     ) -> list[Finding]:
    out: list[Finding] = []
    old_s3, new_s3 = _s3_expiry(old), _s3_expiry(new)
    old_ver, new_ver = _s3_versioning(old), _s3_versioning(new)
    for before, after, _, _ in pairs:
        if after.type == GCS_BUCKET:
            was, now = _gcs_expiry(before), _gcs_expiry(after)
            ver_was = bool((before.inputs.get("versioning") or {}).get("enabled"))
            ver_now = bool((after.inputs.get("versioning") or {}).get("enabled"))
        elif after.type == S3_BUCKET:
            old_name, new_name = before.inputs.get("bucket"), after.inputs.get("bucket")
            was, now = old_s3.get(str(old_name)), new_s3.get(str(new_name))
            ver_was = old_ver.get(str(old_name)) == "Enabled"
            ver_now = new_ver.get(str(new_name)) == "Enabled"
        else:
            continue
        if now is not None and (was is None or now < was):
            before_words = "kept them" if was is None else f"deleted them after {was} days"
            out.append(Finding(
                "objects_expire", after.urn,
                f"{short_urn(after.urn)}: objects older than {now} days will be deleted (the "
                f"bucket {before_words}); copy what must stay, or keep delete_after_days "
                f"{'unset' if was is None else f'at {was}'}"))
        if ver_was and not ver_now:
            out.append(Finding(
                "versioning_off", after.urn,
                f"{short_urn(after.urn)}: versioning turned off; an overwritten or deleted object "
                "can no longer be recovered"))
    return out
