"""A reviewer's list of insecure single-resource cases, written with the real provider SDKs.

Each case is a program a platform team could write next to the components: a secure baseline
resource, and the same resource with one defect. The program runs under the offline engine (so
property names, nesting and number types are exactly what the SDK sends), the pack checks it
the way ``trellis check`` does, and the case passes only when the defect is reported by the
expected rule *on that resource*, and the baseline is not: caught for the right reason.
(Named ``REVIEWER_CASES``, not ``CASES``: ``test_rules.all_cases`` collects every module's
``CASES`` as rule fixtures of another shape.)
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

import pulumi
import pulumi_aws as aws
import pulumi_gcp as gcp
import pulumi_kubernetes as k8s
import pytest

from stacks.org.load import load
from stacks.org.resolve import resolve
from stacks.org.spec import EnvSpec
from stacks.plan.engine import run_program
from stacks.report.check import run_check
from tests.conftest import BUNDLED_GCP, ROOT

HALVES = ["0.0.0.0/1", "128.0.0.0/1"]
SG_ID = "sg-0123456789abcdef0"
GITHUB = "arn:aws:iam::111111111111:oidc-provider/token.actions.githubusercontent.com"


@dataclass(frozen=True)
class Case:
    rule: str
    cloud: str  # which bundled org's environment the program runs in
    target: str  # logical name of the resource the finding must point at
    program: Callable[[bool], None]  # program(defect)


def _doc(*statements: dict[str, object]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def _firewall(defect: bool, *, ranges: list[str], port: str) -> None:
    gcp.compute.Firewall("admin", network="acme-dev", direction="INGRESS",
                         source_ranges=ranges if defect else ["203.0.113.0/24"],
                         allows=[{"protocol": "tcp", "ports": [port]}])


def _node_pool(defect: bool, change: str) -> None:
    shielded = {"enable_secure_boot": True, "enable_integrity_monitoring": True}
    config: dict[str, object] = {
        "machine_type": "e2-standard-4",
        "service_account": "acme-dev-cpu@acme-ml-dev.iam.gserviceaccount.com",
        "shielded_instance_config": shielded,
        "workload_metadata_config": {"mode": "GKE_METADATA"}}
    management = {"auto_repair": True, "auto_upgrade": True}
    if defect and change == "identity":
        del config["service_account"]
    if defect and change == "secure-boot":
        config["shielded_instance_config"] = {"enable_integrity_monitoring": True}
    if defect and change == "repair":
        management["auto_repair"] = False
    gcp.container.NodePool("cpu", cluster="acme-dev", location="us-central1",
                           autoscaling={"total_min_node_count": 0, "total_max_node_count": 3},
                           node_config=config, management=management)


def _security_group(defect: bool) -> None:
    aws.ec2.SecurityGroup("bastion", vpc_id="vpc-0abc", ingress=[{
        "protocol": "tcp", "from_port": 22, "to_port": 22,
        "cidr_blocks": ["0.0.0.0/0"] if defect else ["203.0.113.0/24"]}])


def _ingress_rule(defect: bool) -> None:
    aws.vpc.SecurityGroupIngressRule(
        "open", security_group_id=SG_ID, ip_protocol="-1",
        **({"cidr_ipv6": "::/0"} if defect else {"referenced_security_group_id": "sg-0fed"}))


def _sg_rule(defect: bool) -> None:
    aws.ec2.SecurityGroupRule("rdp", type="ingress", security_group_id=SG_ID, protocol="tcp",
                              from_port=3389, to_port=3389,
                              cidr_blocks=HALVES if defect else ["10.0.0.0/8"])


def _trust(defect: bool) -> None:
    principal: object = "*" if defect else {"AWS": "arn:aws:iam::111111111111:role/deployer"}
    aws.iam.Role("ci", assume_role_policy=_doc(
        {"Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole"}))


def _github_trust(defect: bool) -> None:
    condition = {"StringEquals": {"token.actions.githubusercontent.com:aud": "sts.amazonaws.com"}}
    if not defect:
        condition["StringLike"] = {"token.actions.githubusercontent.com:sub": "repo:acme/infra:*"}
    aws.iam.Role("gha", assume_role_policy=_doc({
        "Effect": "Allow", "Principal": {"Federated": GITHUB},
        "Action": "sts:AssumeRoleWithWebIdentity", "Condition": condition}))


def _role_policy(defect: bool) -> None:
    aws.iam.RolePolicy("ops", role="ops", policy=_doc({
        "Effect": "Allow", "Action": "iam:*" if defect else "iam:GetRole", "Resource": "*"}))


def _not_action(defect: bool) -> None:
    statement = ({"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"} if defect
                 else {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"})
    aws.iam.Policy("broad", policy=_doc(statement))


def _bucket_policy(defect: bool) -> None:
    condition = ({"Bool": {"aws:SecureTransport": "true"}} if defect
                 else {"StringEquals": {"aws:PrincipalOrgID": "o-abc123"}})
    aws.s3.BucketPolicy("share", bucket="acme-dev-shared", policy=_doc({
        "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
        "Resource": "arn:aws:s3:::acme-dev-shared/*", "Condition": condition}))


def _eks(defect: bool) -> None:
    aws.eks.Cluster("eks", role_arn="arn:aws:iam::111111111111:role/eks", version="1.33",
                    vpc_config={"subnet_ids": ["subnet-1", "subnet-2"],
                                "endpoint_private_access": True,
                                "endpoint_public_access": True,
                                "public_access_cidrs": HALVES if defect else
                                ["203.0.113.0/24"]})


def _gke(defect: bool) -> None:
    gcp.container.Cluster(
        "gke", location="us-central1", initial_node_count=1, remove_default_node_pool=True,
        private_cluster_config={"enable_private_nodes": True, "enable_private_endpoint": False,
                                "master_ipv4_cidr_block": "172.16.0.0/28"},
        master_authorized_networks_config={"cidr_blocks": [
            {"cidr_block": c} for c in (HALVES if defect else ["203.0.113.0/24"])]})


REVIEWER_CASES: dict[str, Case] = {
    "gcp firewall ssh from 0.0.0.0/0": Case("TRL-NET-001", "gcp", "admin", lambda d: _firewall(
        d, ranges=["0.0.0.0/0"], port="22")),
    "gcp firewall rdp from two /1": Case("TRL-NET-001", "gcp", "admin", lambda d: _firewall(
        d, ranges=HALVES, port="3389")),
    "gke authorized networks two /1": Case("TRL-GKE-002", "gcp", "gke", _gke),
    "project-wide token creator": Case("TRL-IAM-009", "gcp", "tokens", lambda d:
                                       gcp.projects.IAMMember(
        "tokens", project="acme-ml-dev", member="group:ml@acme.com",
        role="roles/iam.serviceAccountTokenCreator" if d else "roles/aiplatform.user")),
    "public service account grant": Case("TRL-IAM-010", "gcp", "sa-user", lambda d:
                                         gcp.serviceaccount.IAMMember(
        "sa-user", service_account_id="projects/acme-ml-dev/serviceAccounts/"
        "pipe@acme-ml-dev.iam.gserviceaccount.com", role="roles/iam.serviceAccountUser",
        member="allUsers" if d else "group:ml@acme.com")),
    "public secret grant": Case("TRL-IAM-010", "gcp", "hf", lambda d:
                                gcp.secretmanager.SecretIamMember(
        "hf", secret_id="projects/acme-ml-dev/secrets/hf-token",
        role="roles/secretmanager.secretAccessor",
        member="allAuthenticatedUsers" if d else "group:ml@acme.com")),
    "kms key rotated yearly": Case("TRL-KMS-001", "gcp", "data", lambda d: gcp.kms.CryptoKey(
        "data", key_ring="projects/acme-ml-dev/locations/us/keyRings/acme",
        rotation_period="31536000s" if d else "7776000s")),
    "workbench with public ip": Case("TRL-ML-001", "gcp", "nb", lambda d: gcp.workbench.Instance(
        "nb", location="us-central1-a",
        gce_setup={"machine_type": "e2-standard-4", "disable_public_ip": not d})),
    "node pool on default account": Case("TRL-GKE-009", "gcp", "cpu",
                                         lambda d: _node_pool(d, "identity")),
    "node pool without secure boot": Case("TRL-GKE-010", "gcp", "cpu",
                                          lambda d: _node_pool(d, "secure-boot")),
    "node pool without auto-repair": Case("TRL-GKE-011", "gcp", "cpu",
                                          lambda d: _node_pool(d, "repair")),
    "security group ssh from 0.0.0.0/0": Case("TRL-NET-002", "aws", "bastion", _security_group),
    "ingress rule all protocols from ::/0": Case("TRL-NET-002", "aws", "open", _ingress_rule),
    "security group rule rdp from two /1": Case("TRL-NET-002", "aws", "rdp", _sg_rule),
    "role trusting *": Case("TRL-IAM-007", "aws", "ci", _trust),
    "github oidc trust without sub": Case("TRL-IAM-007", "aws", "gha", _github_trust),
    "role policy iam:*": Case("TRL-IAM-008", "aws", "ops", _role_policy),
    "policy with NotAction": Case("TRL-IAM-008", "aws", "broad", _not_action),
    "public bucket policy behind SecureTransport": Case("TRL-S3-003", "aws", "share",
                                                        _bucket_policy),
    "eks public cidrs two /1": Case("TRL-EKS-001", "aws", "eks", _eks),
    "kms key without rotation": Case("TRL-KMS-001", "aws", "key", lambda d: aws.kms.Key(
        "key", description="data", enable_key_rotation=not d)),
    "launch template allowing IMDSv1": Case("TRL-EC2-001", "aws", "lt", lambda d:
                                            aws.ec2.LaunchTemplate(
        "lt", metadata_options={"http_tokens": "optional" if d else "required",
                                "http_endpoint": "enabled"})),
    "launch template unencrypted ebs": Case("TRL-EC2-002", "aws", "lt", lambda d:
                                            aws.ec2.LaunchTemplate(
        "lt", metadata_options={"http_tokens": "required"}, block_device_mappings=[{
            "device_name": "/dev/xvda",
            "ebs": {"volume_size": 50, "encrypted": "false" if d else "true"}}])),
    "sagemaker notebook with internet": Case("TRL-ML-002", "aws", "nb", lambda d:
                                             aws.sagemaker.NotebookInstance(
        "nb", role_arn="arn:aws:iam::111111111111:role/nb", instance_type="ml.t3.medium",
        subnet_id="subnet-1", security_groups=["sg-1"], root_access="Disabled",
        direct_internet_access="Enabled" if d else "Disabled")),
    "sagemaker notebook with root": Case("TRL-ML-003", "aws", "nb", lambda d:
                                         aws.sagemaker.NotebookInstance(
        "nb", role_arn="arn:aws:iam::111111111111:role/nb", instance_type="ml.t3.medium",
        subnet_id="subnet-1", security_groups=["sg-1"], direct_internet_access="Disabled",
        root_access="Enabled" if d else "Disabled")),
    "sagemaker domain on public internet": Case("TRL-ML-004", "aws", "studio", lambda d:
                                                aws.sagemaker.Domain(
        "studio", domain_name="studio", auth_mode="IAM", vpc_id="vpc-1", subnet_ids=["subnet-1"],
        default_user_settings={"execution_role": "arn:aws:iam::111111111111:role/s"},
        app_network_access_type="PublicInternetOnly" if d else "VpcOnly")),
    "public access block of another bucket": Case("TRL-S3-008", "aws", "pab", lambda d:
                                                  aws.s3.BucketPublicAccessBlock(
        "pab", bucket="bucket-made-elsewhere", block_public_acls=True, block_public_policy=True,
        ignore_public_acls=True, restrict_public_buckets=not d)),
    "public-read bucket acl": Case("TRL-S3-009", "aws", "acl", lambda d: aws.s3.BucketAcl(
        "acl", bucket="bucket-made-elsewhere", acl="public-read" if d else "private")),
    "cluster-admin for system:authenticated": Case("TRL-K8S-001", "gcp", "everyone", lambda d:
                                                   k8s.rbac.v1.ClusterRoleBinding(
        "everyone", role_ref={"api_group": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                              "name": "cluster-admin"},
        subjects=[{"kind": "Group", "api_group": "rbac.authorization.k8s.io",
                   "name": "system:authenticated" if d else "platform@acme.com"}])),
    "privileged deployment in a team namespace": Case("TRL-K8S-002", "gcp", "app",
                                                      lambda d: _team_workload(d)),
}


def _team_workload(defect: bool) -> None:
    ns = k8s.core.v1.Namespace("recsys", metadata={
        "name": "recsys", "labels": {"trellis.dev/team": "recsys"}})
    container: dict[str, object] = {"name": "main", "image": "registry.example/app:1"}
    if defect:
        container["security_context"] = {"privileged": True}
    k8s.apps.v1.Deployment("app", metadata={"namespace": ns.metadata["name"]}, spec={
        "selector": {"match_labels": {"app": "x"}},
        "template": {"metadata": {"labels": {"app": "x"}}, "spec": {"containers": [container]}}},
        opts=pulumi.ResourceOptions(depends_on=[ns]))


@cache
def _env(cloud: str) -> EnvSpec:
    org = BUNDLED_GCP if cloud == "gcp" else ROOT / "examples" / "aws.yaml"
    return resolve(load(org), "prod")


def _findings(case: Case, defect: bool) -> list[tuple[str, str]]:
    report = run_check(run_program(_env(case.cloud), lambda: case.program(defect)))
    return [(f.policy, f.resource_name) for f in report.findings if f.policy == case.rule]


@pytest.mark.parametrize("name", list(REVIEWER_CASES))
def test_defect_is_caught_by_the_expected_rule_on_its_resource(name: str) -> None:
    case = REVIEWER_CASES[name]
    found = _findings(case, True)
    assert (case.rule, case.target) in found, (
        f"{name}: {case.rule} did not flag resource '{case.target}' (it reported {found})")


@pytest.mark.parametrize("name", list(REVIEWER_CASES))
def test_secure_baseline_is_not_flagged(name: str) -> None:
    case = REVIEWER_CASES[name]
    found = _findings(case, False)
    assert not found, f"{name}: {case.rule} flagged the secure baseline: {found}"
