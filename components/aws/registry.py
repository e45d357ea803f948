"""Container and model registries: ECR settings per environment, one prefix and one model
package group per team.

ECR has no "repository per team" that images can be pushed under freely; a repository creation
template is the closest thing: the first push of ``<prefix>/<image>`` creates the repository
with the team's settings (KMS encryption, immutable tags in production, lifecycle policy,
team tags). Nothing has to be pre-created per image.
"""

# No `from __future__ import annotations`: hosted for other languages (docs/adr/0006).
import json
from collections.abc import Mapping, Sequence
from typing import NotRequired, TypedDict

import pulumi
import pulumi_aws as aws

from components.aws import _iam

#: Scan type -> the frequency of the rule covering every repository (enhanced scanning scans
#: on push and again when new vulnerabilities are published).
SCAN_FREQUENCY = {"BASIC": "SCAN_ON_PUSH", "ENHANCED": "CONTINUOUS_SCAN"}


class RegistrySettingsArgs(TypedDict):
    """Arguments of :class:`RegistrySettings`."""

    template_role_name: str
    """IAM role ECR assumes to create repositories from templates (needed for KMS encryption
    and tags). https://docs.aws.amazon.com/AmazonECR/latest/userguide/repository-creation-templates-create-iam.html"""
    repository_prefixes: Sequence[str]
    """Prefixes the templates may create repositories under (one per team)."""
    kms_key_arn: pulumi.Input[str]
    """Key the created repositories are encrypted with."""
    scan_type: NotRequired[str | None]
    """The account's registry scanning, ``BASIC`` (scan on push) or ``ENHANCED`` (Amazon
    Inspector, continuous). The scanning configuration is one per account and region: setting
    it overwrites whatever the account had (an account on ENHANCED set to BASIC loses its
    Inspector scanning), so it is set only when asked. Default: None (left as it is).
    https://docs.aws.amazon.com/AmazonECR/latest/userguide/image-scanning.html"""
    scan_on_push: NotRequired[bool]
    """Same as ``scan_type="BASIC"`` (kept for existing callers). Default: False."""
    tags: NotRequired[Mapping[str, str]]
    """Tags on the role, merged over the provider's default tags. Default: none."""


class RegistrySettings(pulumi.ComponentResource):
    """Registry-wide scan-on-push and the role that repository creation templates use."""

    template_role_arn: pulumi.Output[str]
    """Role for ``AwsTeamRegistry.template_role_arn``."""

    def __init__(self, name: str, args: RegistrySettingsArgs,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("trellis:aws:RegistrySettings", name, None, opts)
        scan_type = args.get("scan_type") or ("BASIC" if args.get("scan_on_push") else None)
        if scan_type is not None:
            scan_type = str(scan_type).upper()
            if scan_type not in SCAN_FREQUENCY:
                raise ValueError(f"RegistrySettings '{name}': scan_type must be BASIC or "
                                 f"ENHANCED; got {scan_type}")
            aws.ecr.RegistryScanningConfiguration(
                f"{name}-scanning", scan_type=scan_type,
                rules=[aws.ecr.RegistryScanningConfigurationRuleArgs(
                    scan_frequency=SCAN_FREQUENCY[scan_type],
                    repository_filters=[aws.ecr.RegistryScanningConfigurationRuleRepositoryFilterArgs(
                        filter="*", filter_type="WILDCARD")])],
                opts=pulumi.ResourceOptions(parent=self))
        role = _iam.role(self, f"{name}-template-role", name=args["template_role_name"],
                         trust=_iam.service_trust("ecr.amazonaws.com"),
                         description="ECR repository creation templates (Trellis)",
                         tags=args.get("tags", {}))
        ident = aws.get_caller_identity_output(opts=pulumi.InvokeOutputOptions(parent=self))
        region = aws.get_region_output(opts=pulumi.InvokeOutputOptions(parent=self)).region
        repos = [pulumi.Output.format("arn:aws:ecr:{0}:{1}:repository/{2}/*", region,
                                      ident.account_id, prefix)
                 for prefix in sorted(args["repository_prefixes"])]
        _iam.inline(self, f"{name}-template-policy", role=role, name="create-repositories",
                    policy=_iam.document(
                        _iam.statement("CreateTeamRepositories",
                                       ["ecr:CreateRepository", "ecr:TagResource"], repos),
                        _iam.statement("EncryptWithEnvironmentKey",
                                       ["kms:CreateGrant", "kms:RetireGrant", "kms:DescribeKey"],
                                       [args["kms_key_arn"]])))
        self.template_role_arn = role.arn
        self.register_outputs({"template_role_arn": self.template_role_arn})


class AwsTeamRegistryArgs(TypedDict):
    """Arguments of :class:`AwsTeamRegistry`."""

    prefix: str
    """ECR repository prefix of the team, ``<env>/<team>``."""
    template_role_arn: pulumi.Input[str]
    """Role from :class:`RegistrySettings`."""
    kms_key_arn: pulumi.Input[str]
    """Key new repositories are encrypted with."""
    model_package_group_name: str
    """SageMaker model package group: the team's model registry."""
    immutable_tags: NotRequired[bool]
    """Refuse to overwrite an image tag. Default: False (production: True)."""
    keep_images: NotRequired[int]
    """Images kept per repository; older ones expire. Default: 100."""
    untagged_days: NotRequired[int]
    """Days an untagged image (a replaced tag's old image) is kept. Default: 7."""
    description: NotRequired[str]
    """Shown on the template and the model package group. Default: the prefix."""
    production: NotRequired[bool]
    """Protect and retain the model package group (registered models). Default: False."""
    tags: NotRequired[Mapping[str, str]]
    """Team tags on the template's repositories and the model package group. Default: none."""


def lifecycle_policy(keep_images: int, untagged_days: int) -> str:
    """ECR lifecycle policy JSON: expire untagged images, then keep the newest N."""
    return json.dumps({"rules": [
        {"rulePriority": 1, "description": f"expire untagged images after {untagged_days} days",
         "selection": {"tagStatus": "untagged", "countType": "sinceImagePushed",
                       "countUnit": "days", "countNumber": untagged_days},
         "action": {"type": "expire"}},
        {"rulePriority": 2, "description": f"keep the {keep_images} newest images",
         "selection": {"tagStatus": "any", "countType": "imageCountMoreThan",
                       "countNumber": keep_images},
         "action": {"type": "expire"}},
    ]}, sort_keys=True)


class AwsTeamRegistry(pulumi.ComponentResource):
    """A team's ECR prefix (creation template) and its SageMaker model registry."""

    repository_prefix: pulumi.Output[str]
    """The team's ECR prefix; images are pushed as ``<repository_url>/<image>:<tag>``."""
    repository_url: pulumi.Output[str]
    """``<account>.dkr.ecr.<region>.amazonaws.com/<prefix>``."""
    model_package_group_name: pulumi.Output[str]
    """SageMaker model package group name."""
    model_package_group_arn: pulumi.Output[str]
    """SageMaker model package group ARN."""

    def __init__(self, name: str, args: AwsTeamRegistryArgs,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("trellis:aws:TeamRegistry", name, None, opts)
        prefix = args["prefix"]
        tags = dict(args.get("tags", {}))
        description = args.get("description") or prefix
        production = args.get("production", False)
        # CREATE_ON_PUSH only: pull-through cache repositories live under the cache rule's own
        # prefix (ecr-public/..., docker-hub/...), never under a team prefix.
        template = aws.ecr.RepositoryCreationTemplate(
            f"{name}-images", prefix=prefix, applied_fors=["CREATE_ON_PUSH"],
            description=f"{description} (Trellis)"[:256],
            custom_role_arn=args["template_role_arn"],
            encryption_configurations=[
                aws.ecr.RepositoryCreationTemplateEncryptionConfigurationArgs(
                    encryption_type="KMS", kms_key=args["kms_key_arn"])],
            image_tag_mutability="IMMUTABLE" if args.get("immutable_tags", False) else "MUTABLE",
            lifecycle_policy=lifecycle_policy(int(args.get("keep_images", 100)),
                                              int(args.get("untagged_days", 7))),
            resource_tags=tags,
            opts=pulumi.ResourceOptions(parent=self))
        group = aws.sagemaker.ModelPackageGroup(
            f"{name}-models", model_package_group_name=args["model_package_group_name"],
            model_package_group_description=f"{description} (Trellis)"[:1024], tags=tags,
            # SageMaker cannot change a group's description: a new one would replace the group
            # and delete every registered model (terraform-provider-aws ForceNew). It is set
            # once, at creation; a team's later description edits leave the models alone.
            opts=pulumi.ResourceOptions(parent=self, protect=production,
                                        retain_on_delete=production,
                                        ignore_changes=["modelPackageGroupDescription"]))
        self.repository_prefix = pulumi.Output.from_input(prefix)
        self.repository_url = pulumi.Output.format(
            "{0}.dkr.ecr.{1}.amazonaws.com/{2}", template.registry_id,
            aws.get_region_output(opts=pulumi.InvokeOutputOptions(parent=self)).region, prefix)
        self.model_package_group_name = group.model_package_group_name
        self.model_package_group_arn = group.arn
        self.register_outputs({"repository_url": self.repository_url,
                               "model_package_group_name": self.model_package_group_name,
                               "model_package_group_arn": self.model_package_group_arn})


TeamRegistry = AwsTeamRegistry
"""Python name of :class:`AwsTeamRegistry` (the any-language schema needs unique class names)."""
TeamRegistryArgs = AwsTeamRegistryArgs
