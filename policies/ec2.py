"""Launch template and instance rules, judged on their own (TRL-GPU-008 judges the templates
EKS GPU node groups use): IMDSv2 only, encrypted EBS volumes."""

from __future__ import annotations

from collections.abc import Iterator

from policies.registry import resource_rule
from policies.settings import Settings
from policies.view import Res, as_list, at, peek_at

LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
INSTANCE = "aws:ec2/instance:Instance"


@resource_rule(
    id="TRL-EC2-001", title="IMDSv2 only",
    description="Launch templates and instances require IMDSv2 session tokens (or turn the "
                "metadata endpoint off).",
    severity="high", enforcement="mandatory",
    remediation="Set `metadata_options={\"http_tokens\": \"required\", "
                "\"http_put_response_hop_limit\": 1}`; IMDSv1 answers any request that reaches "
                "169.254.169.254, SSRF included, with the instance role's credentials.",
    types=[LAUNCH_TEMPLATE, INSTANCE], checkov=["CKV_AWS_79"],
    trivy=["AVD-AWS-0130", "AVD-AWS-0028"], cdk_nag=["EC2IMDSv2Enabled"])
def imdsv2_only(res: Res, settings: Settings) -> Iterator[str]:
    if str(res.get("metadataOptions", "httpEndpoint") or "enabled").lower() == "disabled":
        return
    tokens = res.get("metadataOptions", "httpTokens")
    if tokens != "required":
        shown = tokens or "not set (the AMI's default, usually optional)"
        yield (f"metadataOptions.httpTokens is {shown}: IMDSv1 hands the instance role's "
               "credentials to any request that reaches the metadata endpoint")


def _encrypted(value: object) -> bool:
    # Launch templates take the string "true"; instances a boolean.
    return value is True or (isinstance(value, str) and value.strip().lower() == "true")


@resource_rule(
    id="TRL-EC2-002", title="Encrypted EBS volumes",
    description="Every EBS volume a launch template or instance declares is encrypted.",
    severity="high", enforcement="mandatory",
    remediation="Set `encrypted=\"true\"` (launch templates) or `encrypted=True` (instances) on "
                "every EBS block device, with `kms_key_id` for a customer-managed key; turning "
                "on `aws.ebs.EncryptionByDefault` covers volumes nobody declares.",
    types=[LAUNCH_TEMPLATE, INSTANCE], checkov=["CKV_AWS_8"],
    trivy=["AVD-AWS-0131", "AVD-AWS-0008"], cdk_nag=["AwsSolutions-EC26", "EC2EBSVolumeEncrypted"])
def ebs_encrypted(res: Res, settings: Settings) -> Iterator[str]:
    if res.type == LAUNCH_TEMPLATE:
        for mapping in as_list(res.get("blockDeviceMappings")):
            ebs = at(mapping, "ebs")
            if isinstance(ebs, dict) and not _encrypted(at(ebs, "encrypted")):
                yield (f"block device {peek_at(mapping, 'deviceName') or '(unnamed)'} is an EBS "
                       "volume without encrypted=\"true\"")
        return
    root = res.get("rootBlockDevice")
    if isinstance(root, dict) and not _encrypted(at(root, "encrypted")):
        yield "rootBlockDevice is not encrypted"
    for dev in as_list(res.get("ebsBlockDevices")):
        if not _encrypted(at(dev, "encrypted")):
            yield (f"EBS block device {peek_at(dev, 'deviceName') or '(unnamed)'} is not "
                   "encrypted")
