"""Joining split resources to what they configure: S3 bucket settings, IAM grants, identities.

Modern providers split one logical thing over several resources: an S3 bucket's public access
block, ownership controls, encryption, versioning, lifecycle and policy are each a resource
pointing at the bucket by name; GCS and Artifact Registry IAM members point at their target;
a node pool or scheduler job points at a service account by e-mail. A stack policy has to put
them back together.

The reference is read from the referring property. When it is known it is matched against the
keys of the candidate targets (physical name, id, ARN, e-mail: Trellis sets physical names
explicitly, so these are known even in a preview). When it is unknown (computed during the
update, e.g. ``bucket.id`` in a preview) the engine still tells us which resources the property
came from (``propertyDependencies``), which names the target's URN. Plain ``dependencies`` are
the last resort, used only when they point at exactly one candidate.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from policies.view import UNKNOWN, Res, Stack

S3_BUCKET_TYPES = ("aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2")

#: Split S3 settings by what they configure; V2 tokens are the deprecated aliases in v7.
S3_PARTS: dict[str, tuple[str, ...]] = {
    "public_access_block": ("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",),
    "ownership": ("aws:s3/bucketOwnershipControls:BucketOwnershipControls",),
    "encryption": ("aws:s3/bucketServerSideEncryptionConfiguration:"
                   "BucketServerSideEncryptionConfiguration",
                   "aws:s3/bucketServerSideEncryptionConfigurationV2:"
                   "BucketServerSideEncryptionConfigurationV2"),
    "versioning": ("aws:s3/bucketVersioning:BucketVersioning",
                   "aws:s3/bucketVersioningV2:BucketVersioningV2"),
    "lifecycle": ("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
                  "aws:s3/bucketLifecycleConfigurationV2:BucketLifecycleConfigurationV2"),
    "policy": ("aws:s3/bucketPolicy:BucketPolicy",),
    "acl": ("aws:s3/bucketAcl:BucketAcl", "aws:s3/bucketAclV2:BucketAclV2"),
}
S3_PART_TYPES = tuple(t for types in S3_PARTS.values() for t in types)


_FROM_PROP = object()


def _known_strings(*values: object) -> list[str]:
    return [v for v in values if isinstance(v, str) and v]


class Index:
    """Candidate targets by every key a reference may use."""

    def __init__(self, targets: Iterable[Res], keys: Callable[[Res], Iterable[str]],
                 normalise: Callable[[str], str] = lambda s: s) -> None:
        self.targets = list(targets)
        self.by_urn = {t.urn: t for t in self.targets}
        self.normalise = normalise
        self.by_key: dict[str, Res] = {}
        for t in self.targets:
            for k in keys(t):
                self.by_key.setdefault(normalise(k), t)

    def resolve(self, res: Res, prop: str, value: object = _FROM_PROP) -> Res | None:
        """The target ``res.<prop>`` refers to.

        ``prop`` is the top-level property (the unit of ``propertyDependencies``); pass
        ``value`` when the reference sits deeper inside it.
        """
        if value is _FROM_PROP:
            value = res.peek(prop)
        if isinstance(value, str) and value:
            hit = self.by_key.get(self.normalise(value))
            if hit is not None:
                return hit
        deps = res.deps_of(prop)
        for urn in deps:
            if urn in self.by_urn:
                return self.by_urn[urn]
        if value is UNKNOWN and not deps:
            # Engines that send no property dependencies: a unique dependency will do.
            hits = [self.by_urn[u] for u in res.dependencies if u in self.by_urn]
            if len(hits) == 1:
                return hits[0]
        return None


# --- S3 --------------------------------------------------------------------------------------

def s3_bucket_keys(bucket: Res) -> list[str]:
    return _known_strings(bucket.peek("bucket"), bucket.peek("id"), bucket.peek("arn"))


@dataclass
class S3Bucket:
    """A bucket and the split resources that configure it."""

    bucket: Res
    parts: dict[str, list[Res]] = field(default_factory=dict)

    def part(self, kind: str) -> list[Res]:
        return self.parts.get(kind, [])


def s3_buckets(stack: Stack) -> tuple[list[S3Bucket], list[Res]]:
    """Every bucket with its parts, and the parts that point at no bucket in the stack."""
    index = Index(stack.of_type(*S3_BUCKET_TYPES), s3_bucket_keys)
    groups = {b.urn: S3Bucket(b) for b in index.targets}
    orphans: list[Res] = []
    for kind, types in S3_PARTS.items():
        for part in stack.of_type(*types):
            target = index.resolve(part, "bucket")
            if target is None:
                orphans.append(part)
            else:
                groups[target.urn].parts.setdefault(kind, []).append(part)
    return list(groups.values()), orphans


# --- GCP IAM targets -------------------------------------------------------------------------

def _last_segment(value: str) -> str:
    return value.rstrip("/").rsplit("/", 1)[-1].lower()


def gcs_index(stack: Stack) -> Index:
    def keys(b: Res) -> list[str]:
        return _known_strings(b.peek("name"), b.peek("id"), b.peek("url"))

    def norm(s: str) -> str:
        s = s.strip().lower()
        s = s.removeprefix("gs://")
        return s.removeprefix("b/")
    return Index(stack.of_type("gcp:storage/bucket:Bucket"), keys, norm)


def ar_index(stack: Stack) -> Index:
    def keys(r: Res) -> list[str]:
        return _known_strings(r.peek("repositoryId"), r.peek("name"), r.peek("id"))
    return Index(stack.of_type("gcp:artifactregistry/repository:Repository"), keys,
                 _last_segment)


def sa_keys(sa: Res) -> list[str]:
    """Every way a GCP service account is referred to."""
    keys = _known_strings(sa.peek("email"), sa.peek("member"), sa.peek("name"), sa.peek("id"))
    account, project = sa.peek("accountId"), sa.peek("project")
    if isinstance(account, str) and isinstance(project, str):
        keys.append(f"{account}@{project}.iam.gserviceaccount.com")
    return keys


def _norm_email(value: str) -> str:
    v = value.strip().lower()
    v = v.removeprefix("serviceaccount:")
    return v.rsplit("/", 1)[-1]  # projects/p/serviceAccounts/<email>


def sa_index(stack: Stack) -> Index:
    return Index(stack.of_type("gcp:serviceaccount/account:Account"), sa_keys, _norm_email)


def iam_role_keys(role: Res) -> list[str]:
    return _known_strings(role.peek("name"), role.peek("arn"), role.peek("id"))


def _norm_role(value: str) -> str:
    # arn:aws:iam::123456789012:role/path/name -> name (names are unique per account)
    v = value.strip()
    if v.startswith("arn:") and ":role/" in v:
        v = v.rsplit("/", 1)[-1]
    return v


def iam_role_index(stack: Stack) -> Index:
    return Index(stack.of_type("aws:iam/role:Role"), iam_role_keys, _norm_role)


def role_name_from_arn(arn: str) -> str:
    return _norm_role(arn)
