"""IAM shapes shared by the AWS components: policy documents, trust policies, role helpers.

Every policy Trellis writes goes through :func:`document`, so statements look the same
everywhere (an explicit ``Sid``, lists of actions and resources, never ``"Action": "*"``) and
documents that contain Outputs (ARNs of resources being created) serialise in one place.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pulumi
import pulumi_aws as aws

PARTITION = "aws"  # commercial partition only: catalog.regions("aws") (components/data/regions.csv)
MANAGED = f"arn:{PARTITION}:iam::aws:policy"


def statement(sid: str, actions: Sequence[str], resources: Sequence[pulumi.Input[str]],
              conditions: Mapping[str, Mapping[str, Any]] | None = None,
              effect: str = "Allow") -> dict[str, Any]:
    """One policy statement; an Allow never grants ``*`` or a whole service (checked).

    A Deny may cover a whole service (``s3:*`` refusing plain HTTP is the point).
    """
    if any(a == "*" for a in actions) or (
            effect == "Allow" and any(a.endswith(":*") for a in actions)):
        raise ValueError(f"statement {sid}: wildcard actions are not allowed ({list(actions)})")
    out: dict[str, Any] = {"Sid": sid, "Effect": effect, "Action": list(actions),
                           "Resource": list(resources)}
    if conditions:
        out["Condition"] = {k: dict(v) for k, v in conditions.items()}
    return out


def document(*statements: dict[str, Any]) -> pulumi.Output[str]:
    """A policy document as the JSON string IAM takes (Outputs inside are resolved)."""
    return pulumi.Output.json_dumps({"Version": "2012-10-17", "Statement": list(statements)})


def service_trust(service: str, *, actions: Sequence[str] = ("sts:AssumeRole",),
                  source_account: pulumi.Input[str] | None = None,
                  source_arn: pulumi.Input[str] | None = None,
                  conditions: Mapping[str, Mapping[str, Any]] | None = None,
                  ) -> pulumi.Output[str]:
    """Trust policy letting one AWS service principal assume the role.

    ``source_account`` / ``source_arn`` add the ``aws:SourceAccount`` / ``aws:SourceArn``
    conditions that stop the confused deputy (another account's schedule, pipeline or
    cluster using this role); ``conditions`` adds more (``StringEquals`` keys are merged).
    https://docs.aws.amazon.com/IAM/latest/UserGuide/confused-deputy.html
    """
    stmt: dict[str, Any] = {"Sid": "TrustService", "Effect": "Allow",
                            "Principal": {"Service": service}, "Action": list(actions)}
    condition: dict[str, dict[str, Any]] = {k: dict(v) for k, v in (conditions or {}).items()}
    if source_account is not None:
        condition.setdefault("StringEquals", {})["aws:SourceAccount"] = source_account
    if source_arn is not None:
        condition.setdefault("ArnEquals", {})["aws:SourceArn"] = source_arn
    if condition:
        stmt["Condition"] = condition
    return pulumi.Output.json_dumps({"Version": "2012-10-17", "Statement": [stmt]})


def role(parent: pulumi.Resource, logical: str, *, name: str, trust: pulumi.Input[str],
         description: str, tags: Mapping[str, str],
         managed: Mapping[str, str] | None = None) -> aws.iam.Role:
    """A role with its managed policy attachments (keyed by a short stable name)."""
    return role_with_attachments(parent, logical, name=name, trust=trust,
                                 description=description, tags=tags, managed=managed)[0]


def role_with_attachments(parent: pulumi.Resource, logical: str, *, name: str,
                          trust: pulumi.Input[str], description: str, tags: Mapping[str, str],
                          managed: Mapping[str, str] | None = None,
                          ) -> tuple[aws.iam.Role, list[aws.iam.RolePolicyAttachment]]:
    """:func:`role`, and its attachments: what uses the role's rights depends on them, so
    `pulumi up` attaches before and `pulumi destroy` detaches after (an EKS node without the
    CNI policy cannot release its network interfaces)."""
    r = aws.iam.Role(logical, name=name, assume_role_policy=trust, description=description,
                     max_session_duration=3600, force_detach_policies=True, tags=dict(tags),
                     opts=pulumi.ResourceOptions(parent=parent))
    attachments = [aws.iam.RolePolicyAttachment(f"{logical}-{key}", role=r.name,
                                                policy_arn=f"{MANAGED}/{policy}",
                                                opts=pulumi.ResourceOptions(parent=parent))
                   for key, policy in (managed or {}).items()]
    return r, attachments


def inline(parent: pulumi.Resource, logical: str, *, role: aws.iam.Role, name: str,
           policy: pulumi.Input[str]) -> aws.iam.RolePolicy:
    """An inline policy on ``role``: lives and dies with the role, never shared by mistake."""
    return aws.iam.RolePolicy(logical, role=role.id, name=name, policy=policy,
                              opts=pulumi.ResourceOptions(parent=parent))


def inline_on(parent: pulumi.Resource, logical: str, *, role_name: pulumi.Input[str], name: str,
              policy: pulumi.Input[str]) -> aws.iam.RolePolicy:
    """An inline policy on a role another component owns (by role name)."""
    return aws.iam.RolePolicy(logical, role=role_name, name=name, policy=policy,
                              opts=pulumi.ResourceOptions(parent=parent))


def principal_key(arn: str) -> str:
    """A stable logical-name fragment for an IAM principal ARN (no ':' or '/').

    ``arn:aws:iam::111111111111:role/team/ml-eng`` -> ``111111111111-team-ml-eng``.
    """
    parts = arn.split(":")
    account = parts[4] if len(parts) > 5 else ""
    resource = parts[-1].split("/", 1)[-1] if "/" in parts[-1] else parts[-1]
    return f"{account}-{resource.replace('/', '-')}".strip("-")
