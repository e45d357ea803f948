"""Bucket: a private, KMS-encrypted S3 bucket with its settings, complete when it returns.

In pulumi-aws 7 the bucket and its settings are separate resources; this component owns them
all so a consumer cannot forget one: all four public access blocks, ACLs off
(BucketOwnerEnforced), SSE-KMS with bucket keys, versioning, lifecycle (expiry, stale multipart
uploads, old versions) and a policy refusing plain HTTP.
"""

# No `from __future__ import annotations`: hosted for other languages (docs/adr/0006).
from collections.abc import Mapping
from typing import NotRequired, TypedDict

import pulumi
import pulumi_aws as aws

from components.aws import _iam


class AwsBucketArgs(TypedDict):
    """Arguments of :class:`AwsBucket`."""

    bucket_name: str
    """Physical, globally unique bucket name (``naming.bucket``)."""
    kms_key_arn: pulumi.Input[str]
    """KMS key for default encryption (SSE-KMS, S3 bucket keys on)."""
    versioning: NotRequired[bool]
    """Keep old object versions. Default: False."""
    delete_after_days: NotRequired[int | None]
    """Expire objects this many days after creation. Default: None (keep)."""
    noncurrent_version_days: NotRequired[int]
    """Delete old versions this many days after they are replaced (versioned buckets).
    Default: 30."""
    abort_multipart_days: NotRequired[int]
    """Abort incomplete multipart uploads after this many days. Default: 7.
    https://docs.aws.amazon.com/AmazonS3/latest/userguide/mpu-abort-incomplete-mpu-lifecycle-config.html"""
    production: NotRequired[bool]
    """Protect the bucket and its settings and retain them on delete. Default: False."""
    tags: NotRequired[Mapping[str, str]]
    """Tags on the bucket, merged over the provider's default tags. Default: none."""


class AwsBucket(pulumi.ComponentResource):
    """An S3 bucket nobody can make public, encrypted with the environment key."""

    name: pulumi.Output[str]
    """Bucket name."""
    arn: pulumi.Output[str]
    """Bucket ARN (``arn:aws:s3:::<name>``)."""
    uri: pulumi.Output[str]
    """``s3://<name>``."""

    def __init__(self, name: str, args: AwsBucketArgs,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("trellis:aws:Bucket", name, None, opts)
        self._name = name
        production = args.get("production", False)
        # Stateful: production keeps the data even if the entry leaves org.yaml.
        self._child = pulumi.ResourceOptions(parent=self, protect=production,
                                             retain_on_delete=production)
        self._bucket = aws.s3.Bucket(name, bucket=args["bucket_name"], force_destroy=False,
                                    tags=dict(args.get("tags", {})), opts=self._child)
        self._create_access_controls()
        self._create_encryption(args["kms_key_arn"])
        versioning = self._create_versioning(args.get("versioning", False))
        self._create_lifecycle(args, versioning)
        self.name = self._bucket.bucket
        self.arn = self._bucket.arn
        self.uri = pulumi.Output.concat("s3://", self._bucket.bucket)
        self.register_outputs({"name": self.name, "arn": self.arn, "uri": self.uri})

    def _create_access_controls(self) -> None:
        aws.s3.BucketPublicAccessBlock(
            f"{self._name}-public-access", bucket=self._bucket.id, block_public_acls=True,
            block_public_policy=True, ignore_public_acls=True, restrict_public_buckets=True,
            opts=self._child)
        aws.s3.BucketOwnershipControls(
            f"{self._name}-ownership", bucket=self._bucket.id,
            rule=aws.s3.BucketOwnershipControlsRuleArgs(object_ownership="BucketOwnerEnforced"),
            opts=self._child)
        aws.s3.BucketPolicy(
            f"{self._name}-policy", bucket=self._bucket.id,
            policy=_iam.document(_iam.statement(
                "DenyInsecureTransport", ["s3:*"],
                [self._bucket.arn, pulumi.Output.concat(self._bucket.arn, "/*")],
                {"Bool": {"aws:SecureTransport": "false"}}, effect="Deny")
                | {"Principal": "*"}),
            opts=self._child)

    def _create_encryption(self, key_arn: pulumi.Input[str]) -> None:
        aws.s3.BucketServerSideEncryptionConfiguration(
            f"{self._name}-encryption", bucket=self._bucket.id,
            rules=[aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
                apply_server_side_encryption_by_default=aws.s3.
                BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(
                    sse_algorithm="aws:kms", kms_master_key_id=key_arn),
                # One data key per bucket instead of one KMS call per object: ~99% fewer
                # KMS requests for datasets of many small files.
                bucket_key_enabled=True)],
            opts=self._child)

    def _create_versioning(self, enabled: bool) -> aws.s3.BucketVersioning:
        return aws.s3.BucketVersioning(
            f"{self._name}-versioning", bucket=self._bucket.id,
            versioning_configuration=aws.s3.BucketVersioningVersioningConfigurationArgs(
                status="Enabled" if enabled else "Suspended"),
            opts=self._child)

    def _create_lifecycle(self, args: AwsBucketArgs, versioning: aws.s3.BucketVersioning) -> None:
        every = aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix="")
        rules = [
            aws.s3.BucketLifecycleConfigurationRuleArgs(
                id="abort-incomplete-multipart-uploads", status="Enabled", filter=every,
                abort_incomplete_multipart_upload=aws.s3.
                BucketLifecycleConfigurationRuleAbortIncompleteMultipartUploadArgs(
                    days_after_initiation=int(args.get("abort_multipart_days", 7)))),
            aws.s3.BucketLifecycleConfigurationRuleArgs(
                id="expire-noncurrent-versions", status="Enabled", filter=every,
                noncurrent_version_expiration=aws.s3.
                BucketLifecycleConfigurationRuleNoncurrentVersionExpirationArgs(
                    noncurrent_days=int(args.get("noncurrent_version_days", 30)))),
        ]
        days = args.get("delete_after_days")
        if days:
            rules.append(aws.s3.BucketLifecycleConfigurationRuleArgs(
                id="expire-objects", status="Enabled", filter=every,
                expiration=aws.s3.BucketLifecycleConfigurationRuleExpirationArgs(days=int(days))))
        # Lifecycle rules on versions need versioning settled first (AWS docs).
        aws.s3.BucketLifecycleConfiguration(
            f"{self._name}-lifecycle", bucket=self._bucket.id, rules=rules,
            opts=pulumi.ResourceOptions.merge(self._child,
                                              pulumi.ResourceOptions(depends_on=[versioning])))


Bucket = AwsBucket
"""Python name of :class:`AwsBucket` (the any-language schema needs unique class names)."""
BucketArgs = AwsBucketArgs
