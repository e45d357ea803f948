"""Pulumi-level rules: resource options and provenance, which cloud scanners cannot see."""

from __future__ import annotations

from collections.abc import Iterator

from policies import tiers
from policies.registry import resource_rule
from policies.settings import Settings
from policies.view import Res, urn_type_chain

STATEFUL = (
    "gcp:storage/bucket:Bucket", "aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2",
    "gcp:artifactregistry/repository:Repository", "aws:ecr/repository:Repository",
    "gcp:container/cluster:Cluster", "aws:eks/cluster:Cluster",
    "gcp:kms/cryptoKey:CryptoKey", "gcp:kms/keyRing:KeyRing", "aws:kms/key:Key",
)
GOVERNED = (
    *STATEFUL,
    "gcp:container/nodePool:NodePool", "aws:eks/nodeGroup:NodeGroup",
    "gcp:cloudscheduler/job:Job", "aws:sagemaker/pipeline:Pipeline",
    "aws:scheduler/schedule:Schedule", "gcp:serviceaccount/account:Account",
    "aws:iam/role:Role",
)
COMPONENT_PREFIX = "trellis:"


@resource_rule(
    id="TRL-PUL-001", title="Stateful resources protected in production",
    description="In production, buckets, registries, clusters and keys carry Pulumi's protect "
                "option.",
    severity="high", enforcement="mandatory",
    remediation="Create the resource with `ResourceOptions(protect=True, "
                "retain_on_delete=True)` (Trellis does this for tier: production); unprotect "
                "deliberately with `pulumi state unprotect` before a planned removal.",
    types=STATEFUL, config=["tier"])
def protect_stateful(res: Res, settings: Settings) -> Iterator[str]:
    tier = tiers.of_resource(res, settings)
    if tier.production and not res.protect:
        yield ("protect is not set: one `pulumi destroy` or a rename deletes it and its "
               f"data{tier.note()}")


@resource_rule(
    id="TRL-PUL-002", title="Governed resources come from Trellis components",
    description="Buckets, registries, clusters, GPU pools, pipelines and identities are created "
                "inside a Trellis component.",
    severity="medium", enforcement="advisory",
    remediation="Declare the resource in org.yaml (or compose the matching `components` class) "
                "instead of creating the raw provider resource, so it gets the platform's "
                "defaults.",
    types=GOVERNED)
def through_components(res: Res, settings: Settings) -> Iterator[str]:
    chain = urn_type_chain(res.urn)[:-1]
    if not any(t.startswith(COMPONENT_PREFIX) for t in chain):
        parents = " > ".join(chain) or "the stack itself"
        yield f"created outside any Trellis component (parents: {parents})"
