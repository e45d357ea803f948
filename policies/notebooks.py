"""Notebook and ML workspace rules: Vertex AI Workbench and SageMaker notebooks and domains.

A notebook is a shell with the team's data credentials attached, so it stays off the internet
and users do not get root on it. The legacy ``gcp:notebooks/instance:Instance`` is not in the
installed pulumi-gcp (removed upstream with the user-managed notebooks API); Workbench
instances replace it.
"""

from __future__ import annotations

from collections.abc import Iterator

from policies.registry import resource_rule
from policies.settings import Settings
from policies.view import Res

WORKBENCH = "gcp:workbench/instance:Instance"
SM_NOTEBOOK = "aws:sagemaker/notebookInstance:NotebookInstance"
SM_DOMAIN = "aws:sagemaker/domain:Domain"


@resource_rule(
    id="TRL-ML-001", title="Workbench instances without public IP",
    description="Vertex AI Workbench instances get no external IP address.",
    severity="high", enforcement="mandatory",
    remediation="Set `gce_setup={\"disable_public_ip\": True, ...}` and reach the instance "
                "through the Workbench proxy (or IAP); give the subnet Cloud NAT for package "
                "downloads.",
    types=[WORKBENCH], checkov=["CKV2_GCP_28", "CKV_GCP_89"])
def workbench_private(res: Res, settings: Settings) -> Iterator[str]:
    if res.get("gceSetup", "disablePublicIp") is not True:
        yield ("gceSetup.disablePublicIp is not true (the default is false): the notebook VM "
               "gets an external IP address")


@resource_rule(
    id="TRL-ML-002", title="SageMaker notebooks without direct internet",
    description="SageMaker notebook instances disable direct internet access and run in the "
                "VPC.",
    severity="high", enforcement="mandatory",
    remediation="Set `direct_internet_access=\"Disabled\"` with `subnet_id` and "
                "`security_groups` in the platform VPC (egress through its NAT gateway).",
    types=[SM_NOTEBOOK], checkov=["CKV_AWS_122"],
    cdk_nag=["AwsSolutions-SM3", "SageMakerNotebookNoDirectInternetAccess"])
def sagemaker_notebook_internet(res: Res, settings: Settings) -> Iterator[str]:
    value = res.get("directInternetAccess")
    if str(value or "Enabled") != "Disabled":
        yield (f"directInternetAccess is {value or 'not set (Enabled by default)'}: the notebook "
               "has a SageMaker-managed internet connection outside the VPC's controls")


@resource_rule(
    id="TRL-ML-003", title="SageMaker notebooks without root access",
    description="SageMaker notebook instances do not give their users root access.",
    severity="medium", enforcement="mandatory",
    remediation="Set `root_access=\"Disabled\"`; install packages with lifecycle configurations "
                "or conda environments instead of root.",
    types=[SM_NOTEBOOK], checkov=["CKV_AWS_307"])
def sagemaker_notebook_root(res: Res, settings: Settings) -> Iterator[str]:
    value = res.get("rootAccess")
    if str(value or "Enabled") != "Disabled":
        yield (f"rootAccess is {value or 'not set (Enabled by default)'}: notebook users can "
               "change the instance and its network settings")


@resource_rule(
    id="TRL-ML-004", title="SageMaker domains VPC only",
    description="SageMaker AI domains send app traffic through the VPC, not SageMaker's "
                "public internet access.",
    severity="high", enforcement="mandatory",
    remediation="Set `app_network_access_type=\"VpcOnly\"` with `subnet_ids` and `vpc_id` of the "
                "platform VPC (plus the VPC endpoints or NAT the apps need).",
    types=[SM_DOMAIN])
def sagemaker_domain_vpc_only(res: Res, settings: Settings) -> Iterator[str]:
    value = res.get("appNetworkAccessType")
    if str(value or "PublicInternetOnly") != "VpcOnly":
        yield (f"appNetworkAccessType is {value or 'not set (PublicInternetOnly by default)'}: "
               "Studio apps reach the internet directly, around the VPC's controls")
