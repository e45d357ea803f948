"""EnvironmentKey: the customer managed KMS key of one environment.

One key encrypts the environment's data at rest: EKS secrets (envelope encryption), every S3
bucket (SSE-KMS with bucket keys) and every ECR repository the teams push. One key keeps the
fixed cost at $1/month (catalog.platform_costs) and the access model simple: the key policy
delegates to IAM (the AWS default), and each role's own policy says which buckets it may use
the key for, with ``kms:ViaService`` conditions.
"""

# No `from __future__ import annotations`: hosted for other languages (docs/adr/0006).
from collections.abc import Mapping
from typing import NotRequired, TypedDict

import pulumi
import pulumi_aws as aws


class EnvironmentKeyArgs(TypedDict):
    """Arguments of :class:`EnvironmentKey`."""

    alias: str
    """KMS alias name, ``alias/...`` (``naming.make("kms_alias", ...)``).
    https://docs.aws.amazon.com/kms/latest/developerguide/kms-alias.html"""
    description: NotRequired[str]
    """Key description shown in the console. Default: ``"Trellis environment key"``."""
    production: NotRequired[bool]
    """Production keys are protected, retained on delete and wait 30 days before deletion.
    Default: False (sandbox: 7-day deletion window, deletable)."""
    tags: NotRequired[Mapping[str, str]]
    """Tags on the key, merged over the provider's default tags. Default: none."""


class EnvironmentKey(pulumi.ComponentResource):
    """A symmetric KMS key with yearly automatic rotation, and its alias."""

    arn: pulumi.Output[str]
    """ARN of the key (what key policies, encryption settings and IAM statements take)."""
    key_id: pulumi.Output[str]
    """Key id of the key."""

    def __init__(self, name: str, args: EnvironmentKeyArgs,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("trellis:aws:EnvironmentKey", name, None, opts)
        production = args.get("production", False)
        self._key = self._create_key(name, args, production)
        aws.kms.Alias(f"{name}-alias", name=args["alias"], target_key_id=self._key.key_id,
                      opts=pulumi.ResourceOptions(parent=self))
        self.arn = self._key.arn
        self.key_id = self._key.key_id
        self.register_outputs({"arn": self.arn, "key_id": self.key_id})

    def _create_key(self, name: str, args: EnvironmentKeyArgs, production: bool) -> aws.kms.Key:
        # Losing this key loses every object and secret it encrypts: production keeps it even
        # when the stack is destroyed, and the longest deletion window leaves time to cancel.
        return aws.kms.Key(
            name,
            description=args.get("description", "Trellis environment key"),
            enable_key_rotation=True,
            rotation_period_in_days=365,
            deletion_window_in_days=30 if production else 7,
            key_usage="ENCRYPT_DECRYPT",
            customer_master_key_spec="SYMMETRIC_DEFAULT",
            tags=dict(args.get("tags", {})),
            opts=pulumi.ResourceOptions(parent=self, protect=production,
                                        retain_on_delete=production))
