"""A team bucket: private, uniform access, lifecycle-bounded, with object admins granted on it.

The bucket owns its grants: the team's identities and members get ``storage.objectAdmin`` on
this bucket only, through additive ``BucketIAMMember`` resources.
"""

# No `from __future__ import annotations`: hosted for other languages (docs/adr/0006).
from collections.abc import Mapping
from typing import NotRequired, TypedDict

import pulumi
import pulumi_gcp as gcp

from components.gcp._iam import Grants

SOFT_DELETE_SECONDS = 7 * 24 * 3600
"""GCS default soft delete window (7 days): deleted objects stay recoverable that long."""
MAX_SOFT_DELETE_SECONDS = 90 * 24 * 3600


class GcpBucketArgs(TypedDict):
    """Arguments of :class:`Bucket`."""

    project: pulumi.Input[str]
    """Project id (``Services.project``, so the bucket waits for storage.googleapis.com)."""
    bucket_name: str
    """Globally unique physical name (``components.naming.bucket``)."""
    location: str
    """Bucket location; the environment's region keeps data next to the GPUs (no egress)."""
    versioning: NotRequired[bool]
    """Keep noncurrent object versions. Default: off."""
    delete_after_days: NotRequired[int | None]
    """Delete objects this many days after creation. Default: None, objects are kept."""
    noncurrent_days: NotRequired[int]
    """With versioning, delete noncurrent versions this many days after they became
    noncurrent, so versioning cannot grow storage without bound. Default: 30."""
    soft_delete_seconds: NotRequired[int]
    """Soft delete retention: 0 turns it off, else 604800 (7 days) to 7776000 (90 days).
    Deleted objects are billed for this long; scratch buckets that expire their objects turn
    it off. Default: 7 days. https://cloud.google.com/storage/docs/soft-delete"""
    kms_key_name: NotRequired[pulumi.Input[str] | None]
    """Default Cloud KMS key of new objects (``encryption.defaultKmsKeyName``); the Cloud
    Storage service agent must be able to use it first (``EncryptionKeys.key_ids``). Default:
    none, Google-managed encryption. https://cloud.google.com/storage/docs/encryption/customer-managed-keys"""
    object_admins: NotRequired[Grants]
    """Members given ``roles/storage.objectAdmin`` on this bucket. Default: none."""
    object_viewers: NotRequired[Grants]
    """Members given ``roles/storage.objectViewer`` on this bucket. Default: none."""
    protected: NotRequired[bool]
    """Pulumi ``protect`` + ``retain_on_delete``: the bucket survives a stack destroy and is
    never replaced by accident. Default: off."""
    labels: NotRequired[Mapping[str, str]]
    """GCP labels on the bucket. Default: none beyond the provider's default labels."""


class GcpBucket(pulumi.ComponentResource):
    """A private GCS bucket (uniform access, public access prevention enforced)."""

    bucket_name: pulumi.Output[str]
    """The bucket's physical name."""
    url: pulumi.Output[str]
    """``gs://<name>``."""

    def __init__(self, name: str, args: GcpBucketArgs,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("trellis:gcp:Bucket", name, None, opts)
        bucket = self._create_bucket(name, args)
        self._create_grants(name, bucket, "roles/storage.objectAdmin",
                            args.get("object_admins", {}))
        self._create_grants(name, bucket, "roles/storage.objectViewer",
                            args.get("object_viewers", {}))
        self.bucket_name, self.url = bucket.name, bucket.url
        self.register_outputs({"bucket_name": self.bucket_name, "url": self.url})

    @staticmethod
    def lifecycle_rules(args: GcpBucketArgs) -> list[gcp.storage.BucketLifecycleRuleArgsDict]:
        """Expiry, noncurrent-version expiry and abandoned-upload cleanup."""
        rules: list[gcp.storage.BucketLifecycleRuleArgsDict] = [
            {"action": {"type": "AbortIncompleteMultipartUpload"}, "condition": {"age": 7}}]
        days = args.get("delete_after_days")
        if days:
            rules.append({"action": {"type": "Delete"}, "condition": {"age": int(days)}})
        if args.get("versioning", False):
            rules.append({"action": {"type": "Delete"},
                          "condition": {"days_since_noncurrent_time":
                                        int(args.get("noncurrent_days", 30)),
                                        "with_state": "ARCHIVED"}})
        return rules

    def _create_bucket(self, name: str, args: GcpBucketArgs) -> gcp.storage.Bucket:
        protected = args.get("protected", False)
        seconds = int(args.get("soft_delete_seconds", SOFT_DELETE_SECONDS))
        if seconds and not SOFT_DELETE_SECONDS <= seconds <= MAX_SOFT_DELETE_SECONDS:
            raise ValueError(f"Bucket '{name}': soft_delete_seconds is 0 (off) or "
                             f"{SOFT_DELETE_SECONDS}..{MAX_SOFT_DELETE_SECONDS}; got {seconds}")
        key = args.get("kms_key_name")
        return gcp.storage.Bucket(
            name, project=args["project"], name=args["bucket_name"], location=args["location"],
            storage_class="STANDARD", uniform_bucket_level_access=True,
            public_access_prevention="enforced",
            versioning={"enabled": args.get("versioning", False)},
            lifecycle_rules=self.lifecycle_rules(args),
            soft_delete_policy={"retention_duration_seconds": seconds},
            encryption={"default_kms_key_name": key} if key is not None else None,
            force_destroy=False, labels=dict(args.get("labels", {})),
            opts=pulumi.ResourceOptions(parent=self, protect=protected,
                                        retain_on_delete=protected))

    def _create_grants(self, name: str, bucket: gcp.storage.Bucket, role: str,
                       grants: Grants) -> None:
        short = role.rsplit(".", 1)[-1]
        for key, member in grants.items():
            gcp.storage.BucketIAMMember(f"{name}-{short}-{key}", bucket=bucket.name, role=role,
                                        member=member, opts=pulumi.ResourceOptions(parent=self))


Bucket = GcpBucket
"""Python name of :class:`GcpBucket` (the any-language schema needs unique class names)."""
BucketArgs = GcpBucketArgs
