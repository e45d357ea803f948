"""What changes between two org files: the two offline plans compared resource by resource.

Resources are matched by URN, and by alias: a resource whose new registration lists the old URN
as an alias is the same cloud resource (renamed with ``previous_names``), compared in place.
A change to a property that the provider cannot update forces a replacement; deleting or
replacing a stateful resource (bucket, registry, cluster, ...) is data loss and is flagged.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from stacks.plan.engine import Plan, PlannedResource

#: Resource types that hold data or are expensive to recreate.
STATEFUL_TYPES = frozenset({
    "gcp:storage/bucket:Bucket",
    "gcp:artifactregistry/repository:Repository",
    "gcp:container/cluster:Cluster",
    "gcp:kms/cryptoKey:CryptoKey",
    "aws:s3/bucket:Bucket",
    "aws:ecr/repository:Repository",
    "aws:eks/cluster:Cluster",
    "aws:kms/key:Key",
    "aws:sagemaker/modelPackageGroup:ModelPackageGroup",
})

#: Input properties whose change forces the provider to replace the resource (delete + create).
#: Taken from the providers' schemas (``ForceNew``/``replaceOnChanges``) for the types we make;
#: a dotted name covers everything below it.
REPLACE_ON: dict[str, tuple[str, ...]] = {
    "gcp:storage/bucket:Bucket": ("name", "location", "project"),
    "gcp:artifactregistry/repository:Repository": ("repositoryId", "format", "location",
                                                   "project", "kmsKeyName"),
    "gcp:container/cluster:Cluster": ("name", "location", "project", "network", "subnetwork",
                                      "privateClusterConfig.enablePrivateNodes",
                                      "ipAllocationPolicy", "datapathProvider"),
    "gcp:container/nodePool:NodePool": ("name", "cluster", "location", "project",
                                        "nodeConfig.machineType", "nodeConfig.guestAccelerators",
                                        "nodeConfig.spot", "nodeConfig.diskSizeGb",
                                        "nodeConfig.diskType", "nodeConfig.serviceAccount",
                                        "nodeConfig.shieldedInstanceConfig",
                                        "nodeConfig.workloadMetadataConfig", "placementPolicy"),
    "gcp:serviceaccount/account:Account": ("accountId", "project"),
    "gcp:cloudscheduler/job:Job": ("name", "region", "project"),
    "gcp:compute/network:Network": ("name", "project", "autoCreateSubnetworks"),
    "gcp:compute/subnetwork:Subnetwork": ("name", "network", "region", "ipCidrRange", "project"),
    "gcp:kms/cryptoKey:CryptoKey": ("name", "keyRing"),
    "aws:s3/bucket:Bucket": ("bucket", "bucketPrefix", "objectLockEnabled"),
    "aws:ecr/repository:Repository": ("name", "encryptionConfigurations"),
    "aws:eks/cluster:Cluster": ("name", "roleArn", "encryptionConfig",
                                "vpcConfig.subnetIds", "vpcConfig.securityGroupIds",
                                "kubernetesNetworkConfig", "bootstrapSelfManagedAddons"),
    "aws:eks/nodeGroup:NodeGroup": ("nodeGroupName", "clusterName", "nodeRoleArn", "subnetIds",
                                    "instanceTypes", "amiType", "capacityType", "diskSize",
                                    "remoteAccess"),
    "aws:iam/role:Role": ("name", "path"),
    "aws:kms/key:Key": ("customerMasterKeySpec", "keySpec", "keyUsage", "multiRegion"),
    "aws:sagemaker/pipeline:Pipeline": ("pipelineName",),
    "aws:sagemaker/modelPackageGroup:ModelPackageGroup": ("modelPackageGroupName",),
    "aws:scheduler/schedule:Schedule": ("name", "groupName"),
    "aws:ec2/vpc:Vpc": ("cidrBlock",),
    "aws:ec2/subnet:Subnet": ("vpcId", "cidrBlock", "availabilityZone"),
}


@dataclass
class Change:
    urn: str
    type: str
    properties: list[str]
    replace: bool
    old_urn: str | None = None  # set when matched through an alias


@dataclass
class PlanDiff:
    environment: str
    added: list[PlannedResource] = field(default_factory=list)
    removed: list[PlannedResource] = field(default_factory=list)
    changed: list[Change] = field(default_factory=list)

    @property
    def replaced(self) -> list[Change]:
        return [c for c in self.changed if c.replace]

    @property
    def data_loss(self) -> list[str]:
        lost = [r.urn for r in self.removed if r.type in STATEFUL_TYPES]
        lost += [c.old_urn or c.urn for c in self.replaced if c.type in STATEFUL_TYPES]
        return sorted(lost)

    def to_json(self) -> dict[str, Any]:
        return {
            "environment": self.environment,
            "added": [r.urn for r in self.added],
            "removed": [r.urn for r in self.removed],
            "changed": [{"urn": c.urn, "properties": c.properties, "replace": c.replace,
                         **({"renamed_from": c.old_urn} if c.old_urn else {})}
                        for c in self.changed],
            "replaced": [c.urn for c in self.replaced],
            "data_loss": self.data_loss,
        }


def _flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """``{"a": {"b": 1}}`` -> ``{"a.b": 1}``; lists stay whole (compared as values)."""
    if isinstance(value, dict) and value:
        out: dict[str, Any] = {}
        for k, v in value.items():
            out.update(_flatten(v, f"{prefix}.{k}" if prefix else str(k)))
        return out
    return {prefix: value}


def changed_properties(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """Dotted paths of inputs that differ."""
    a, b = _flatten(old), _flatten(new)
    return sorted(k for k in a.keys() | b.keys() if a.get(k) != b.get(k))


def forces_replacement(type_: str, properties: list[str]) -> bool:
    fields = REPLACE_ON.get(type_, ())
    return any(p == f or p.startswith(f + ".") for p in properties for f in fields)


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


def diff_plans(old: Plan, new: Plan) -> PlanDiff:
    """Compare two plans of the same environment."""
    old_by_urn = old.by_urn()
    aliases = previous_urns(new)
    result = PlanDiff(environment=new.environment)
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
        props = changed_properties(before.inputs, res.inputs)
        if props or old_urn:
            result.changed.append(Change(res.urn, res.type, props,
                                         forces_replacement(res.type, props), old_urn))
    result.removed = [r for r in old.resources if r.urn not in matched]
    return result
