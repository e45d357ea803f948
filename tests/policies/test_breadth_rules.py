"""Fixtures for the rules over what platform teams write beside the components (issue #20).

Each case is a secure baseline with at most one defect, as a reviewer would write it: the raw
pulumi-gcp / pulumi-aws / pulumi-kubernetes resource, no Trellis component needed. ``CASES`` has
the shape of ``test_rules.CASES``; the meta-test there collects it, and
``test_evaluate_equivalence`` sends every stack through the pack's Analyzer servicer as
``pulumi preview --policy-pack`` does. The extra cases for TRL-GKE-002, TRL-EKS-001, TRL-S3-003
and TRL-REG-004 pin the fixes that came with these rules (CIDR arithmetic, conditions that do
not narrow the principal).
"""

from __future__ import annotations

import json
from typing import Any

from policy_fixtures import (
    DELETE,
    UNKNOWN,
    S,
    Stack,
    fixture_tests,
    mod,
    res,
)
from test_rules import (
    GOOD_LT,
    GOOD_POOL,
    LT,
    POOL,
    eks,
    gke,
    inline_policy,
    pool,
    project_grant,
    role,
    service_account,
)

# --- network ---------------------------------------------------------------------------------

FW = "gcp:compute/firewall:Firewall"
GOOD_FW = {"name": "allow-ssh-office", "network": "acme-dev", "direction": "INGRESS",
           "sourceRanges": ["203.0.113.0/24"], "allows": [{"protocol": "tcp", "ports": ["22"]}]}


def firewall(**changes: object) -> dict[str, Any]:
    return res(FW, "ssh", mod(GOOD_FW, changes))


SG = "aws:ec2/securityGroup:SecurityGroup"
SG_ID = "sg-0abc"
GOOD_SG = {"name": "bastion", "vpcId": "vpc-1", "ingress": [
    {"protocol": "tcp", "fromPort": 22, "toPort": 22, "cidrBlocks": ["203.0.113.0/24"]}]}


def sg(ingress: list[dict[str, Any]] | None = None, type_: str = SG) -> dict[str, Any]:
    inputs = GOOD_SG if ingress is None else {**GOOD_SG, "ingress": ingress}
    if type_ != SG:  # the default security group has no name of its own
        inputs = {k: v for k, v in inputs.items() if k != "name"}
    return res(type_, "bastion", inputs, outputs={"id": SG_ID})


def ingress_rule(name: str, port: int, cidr: str, *, group: dict[str, Any] | None = None,
                 protocol: str = "tcp") -> dict[str, Any]:
    key = "cidrIpv6" if ":" in cidr else "cidrIpv4"
    inputs = {"securityGroupId": SG_ID if group is None else UNKNOWN, "ipProtocol": protocol,
              "fromPort": port, "toPort": port, key: cidr}
    return res("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", name, inputs,
               prop_deps={"securityGroupId": [group["urn"]]} if group else None)


def sg_rule(name: str, cidrs: list[str], *, kind: str = "ingress", lo: int = 22,
            hi: int = 22) -> dict[str, Any]:
    return res("aws:ec2/securityGroupRule:SecurityGroupRule", name, {
        "type": kind, "securityGroupId": SG_ID, "protocol": "tcp", "fromPort": lo, "toPort": hi,
        "cidrBlocks": cidrs})


HALVES = ["0.0.0.0/1", "128.0.0.0/1"]

# --- IAM -------------------------------------------------------------------------------------

GITHUB = "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"


def trust(*statements: dict[str, Any], name: str = "ci") -> dict[str, Any]:
    return role(name, assumeRolePolicy=json.dumps({"Version": "2012-10-17",
                                                   "Statement": list(statements)}))


def github_trust(condition: dict[str, Any]) -> dict[str, Any]:
    return trust({"Effect": "Allow", "Principal": {"Federated": GITHUB},
                  "Action": "sts:AssumeRoleWithWebIdentity", "Condition": condition})


GH_AUD = {"token.actions.githubusercontent.com:aud": "sts.amazonaws.com"}


def grant(type_: str, name: str, role_: str, member: str, **target: str) -> dict[str, Any]:
    kind = type_.split(":")[-1]
    if kind.endswith("Policy"):
        inputs: dict[str, Any] = {"policyData": json.dumps(
            {"bindings": [{"role": role_, "members": [member]}]})}
    elif kind.endswith("Binding"):
        inputs = {"role": role_, "members": [member]}
    else:
        inputs = {"role": role_, "member": member}
    return res(type_, name, {**target, **inputs})


SA_ID = "projects/acme-ml-dev/serviceAccounts/pipe@acme-ml-dev.iam.gserviceaccount.com"
SECRET = "projects/acme-ml-dev/secrets/hf-token"
BUCKET_POLICY = "aws:s3/bucketPolicy:BucketPolicy"


def bucket_policy(statement: dict[str, Any]) -> dict[str, Any]:
    base = {"Sid": "Share", "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
            "Resource": "arn:aws:s3:::acme-dev-data/*"}
    merged = {k: v for k, v in {**base, **statement}.items() if v is not DELETE}
    return res(BUCKET_POLICY, "share", {"bucket": "acme-dev-data", "policy": json.dumps(
        {"Version": "2012-10-17", "Statement": [merged]})})


# --- keys, EC2, notebooks --------------------------------------------------------------------

GCP_KEY = "gcp:kms/cryptoKey:CryptoKey"
GOOD_GCP_KEY = {"name": "data", "keyRing": "projects/acme-ml-dev/locations/us/keyRings/acme",
                "rotationPeriod": "7776000s"}
AWS_KEY = "aws:kms/key:Key"
GOOD_AWS_KEY = {"description": "data", "enableKeyRotation": True, "rotationPeriodInDays": 365}
INSTANCE = "aws:ec2/instance:Instance"
GOOD_INSTANCE = {"ami": "ami-0abc", "instanceType": "t3.micro",
                 "metadataOptions": {"httpTokens": "required", "httpEndpoint": "enabled"},
                 "rootBlockDevice": {"encrypted": True, "volumeSize": 20}}
EBS_MAPPING = {"deviceName": "/dev/xvda", "ebs": {"volumeSize": 50, "volumeType": "gp3",
                                                  "encrypted": "true"}}
WORKBENCH = "gcp:workbench/instance:Instance"
GOOD_WORKBENCH = {"name": "recsys-nb", "location": "us-central1-a",
                  "gceSetup": {"machineType": "e2-standard-4", "disablePublicIp": True}}
SM_NOTEBOOK = "aws:sagemaker/notebookInstance:NotebookInstance"
GOOD_NOTEBOOK = {"name": "recsys-nb", "instanceType": "ml.t3.medium",
                 "roleArn": "arn:aws:iam::123456789012:role/nb", "subnetId": "subnet-1",
                 "securityGroups": ["sg-1"], "directInternetAccess": "Disabled",
                 "rootAccess": "Disabled"}
SM_DOMAIN = "aws:sagemaker/domain:Domain"
GOOD_DOMAIN = {"domainName": "studio", "authMode": "IAM", "vpcId": "vpc-1",
               "subnetIds": ["subnet-1"], "appNetworkAccessType": "VpcOnly",
               "defaultUserSettings": {"executionRole": "arn:aws:iam::123456789012:role/s"}}

# --- Kubernetes ------------------------------------------------------------------------------

RBAC = "kubernetes:rbac.authorization.k8s.io/v1"
API_GROUP = "rbac.authorization.k8s.io"


def binding(subjects: list[tuple[str, str]], role_name: Any = "cluster-admin", *,
            role_kind: str = "ClusterRole", kind: str = "ClusterRoleBinding",
            role_res: dict[str, Any] | None = None) -> dict[str, Any]:
    return res(f"{RBAC}:{kind}", "grant", {
        "metadata": {"name": "grant", **({"namespace": "recsys"} if kind == "RoleBinding"
                                         else {})},
        "roleRef": {"apiGroup": API_GROUP, "kind": role_kind, "name": role_name},
        "subjects": [{"kind": k, "name": n, "apiGroup": API_GROUP} for k, n in subjects]},
        prop_deps={"roleRef": [role_res["urn"]]} if role_res else None)


def cluster_role(verbs: list[str], name: str = "ops") -> dict[str, Any]:
    return res(f"{RBAC}:ClusterRole", name, {"metadata": {"name": name}, "rules": [
        {"apiGroups": ["*"], "resources": ["*"], "verbs": verbs}]},
        outputs={"metadata": {"name": name}})


def namespace(name: str, labels: dict[str, str] | None) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name}
    if labels is not None:
        meta["labels"] = labels
    return res("kubernetes:core/v1:Namespace", f"{name}-ns", {"metadata": meta},
               outputs={"metadata": meta})


TEAM_NS = namespace("recsys", {"trellis.dev/team": "recsys"})
TRELLIS_NS = namespace("vision", {"team": "vision", "managed-by": "trellis",
                                  "app.kubernetes.io/managed-by": "trellis"})
PLATFORM_NS = namespace("platform", {"purpose": "addons"})
CONTAINER = {"name": "main", "image": "registry.example/app:1"}


def pod_spec(**extra: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {"containers": [dict(CONTAINER)]}
    for key, value in extra.items():
        if key == "privileged":
            spec["containers"][0]["securityContext"] = {"privileged": value}
        else:
            spec[key] = value
    return spec


def workload(kind: str, ns: Any, *, ns_res: dict[str, Any] | None = None,
             **spec: Any) -> dict[str, Any]:
    template = {"metadata": {"labels": {"app": "x"}}, "spec": pod_spec(**spec)}
    body: dict[str, Any]
    if kind == "core/v1:Pod":
        body = pod_spec(**spec)
    elif kind == "batch/v1:CronJob":
        body = {"schedule": "0 3 * * *", "jobTemplate": {"spec": {"template": template}}}
    elif kind == "batch/v1:Job":
        body = {"template": template}
    else:
        body = {"selector": {"matchLabels": {"app": "x"}}, "template": template}
    meta: dict[str, Any] = {"name": "x"}
    if ns is not None:
        meta["namespace"] = ns
    return res(f"kubernetes:{kind}", "x", {"metadata": meta, "spec": body},
               prop_deps={"metadata": [ns_res["urn"]]} if ns_res else None)


HOST_PATH = [{"name": "root", "hostPath": {"path": "/"}}]

# --- S3 parts and GKE nodes ------------------------------------------------------------------

PAB = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
FULL_PAB = {"blockPublicAcls": True, "blockPublicPolicy": True, "ignorePublicAcls": True,
            "restrictPublicBuckets": True}
ACCOUNT_PAB = "aws:s3/accountPublicAccessBlock:AccountPublicAccessBlock"
ACL = "aws:s3/bucketAcl:BucketAcl"
ALL_USERS = "http://acs.amazonaws.com/groups/global/AllUsers"


def acl_grants(uri: str | None, grantee_id: str = "abc123") -> dict[str, Any]:
    grantee = {"type": "Group", "uri": uri} if uri else {"type": "CanonicalUser", "id": grantee_id}
    return {"owner": {"id": "abc123"}, "grants": [{"grantee": grantee, "permission": "READ"}]}


PRIVATE_GKE = {"removeDefaultNodePool": True, "nodeConfig": GOOD_POOL["nodeConfig"]}
COMPUTE_SA = "123456789012-compute@developer.gserviceaccount.com"
NAP = {"enabled": True, "resourceLimits": [{"resourceType": "cpu", "maximum": 64}],
       "autoProvisioningDefaults": {
           "serviceAccount": "acme-dev-nap@acme-ml-dev.iam.gserviceaccount.com",
           "shieldedInstanceConfig": {"enableSecureBoot": True,
                                      "enableIntegrityMonitoring": True},
           "management": {"autoRepair": True, "autoUpgrade": True}}}


CASES: dict[str, dict[str, list[Stack]]] = {
    "TRL-NET-001": {
        "pass": [S(firewall()),
                 S(firewall(sourceRanges=["0.0.0.0/0"], allows=[{"protocol": "tcp",
                                                                  "ports": ["443"]}]),
                   note="HTTPS to the world is not an admin port"),
                 S(firewall(sourceRanges=["0.0.0.0/0"], disabled=True), note="disabled"),
                 S(firewall(direction="EGRESS", sourceRanges=DELETE,
                            destinationRanges=["0.0.0.0/0"])),
                 S(firewall(sourceRanges=["0.0.0.0/0"], allows=[{"protocol": "icmp"}])),
                 S(firewall(sourceRanges=["0.0.0.0/1"]), note="half the internet only"),
                 S(firewall(sourceRanges=UNKNOWN, allows=[{"protocol": "tcp",
                                                           "ports": ["443"]}]),
                   note="unknown ranges on a web port")],
        "fail": [S(firewall(sourceRanges=["0.0.0.0/0"])),
                 S(firewall(sourceRanges=HALVES, allows=[{"protocol": "tcp",
                                                          "ports": ["3389"]}]),
                   note="two /1 ranges are the whole internet"),
                 S(firewall(sourceRanges=["::/0"], allows=[{"protocol": "all"}])),
                 S(firewall(sourceRanges=["0.0.0.0/0"], allows=[{"protocol": "tcp"}]),
                   note="no ports: every port"),
                 S(firewall(sourceRanges=HALVES, allows=[{"protocol": "tcp",
                                                          "ports": ["6000-7000"]}]),
                   note="range includes 6443"),
                 S(firewall(sourceRanges=["office"]), note="not a CIDR range: fail closed"),
                 S(firewall(sourceRanges=UNKNOWN), note="unknown ranges on port 22")],
    },
    "TRL-NET-002": {
        "pass": [S(sg()),
                 S(sg([{"protocol": "tcp", "fromPort": 443, "toPort": 443,
                        "cidrBlocks": ["0.0.0.0/0"], "ipv6CidrBlocks": ["::/0"]}])),
                 S(sg([{"protocol": "tcp", "fromPort": 443, "toPort": 443,
                        "cidrBlocks": [UNKNOWN]}]), note="unknown range on a web port"),
                 S(ingress_rule("ssh-vpn", 22, "10.0.0.0/8")),
                 S(sg_rule("out", ["0.0.0.0/0"], kind="egress", lo=0, hi=65535)),
                 S(sg([{"protocol": "icmp", "fromPort": -1, "toPort": -1,
                        "cidrBlocks": ["0.0.0.0/0"]}]))],
        "fail": [S(sg([{"protocol": "tcp", "fromPort": 22, "toPort": 22,
                        "cidrBlocks": ["0.0.0.0/0"]}])),
                 S(sg([{"protocol": "tcp", "fromPort": 22, "toPort": 22, "cidrBlocks": [c]}
                       for c in HALVES]), note="two entries, one /1 each"),
                 S(ingress_rule("all-v6", 0, "::/0", protocol="-1")),
                 S(sg_rule("wide", HALVES, lo=0, hi=65535)),
                 S(sg([{"protocol": "-1", "fromPort": 0, "toPort": 0,
                        "cidrBlocks": ["0.0.0.0/0"]}],
                      type_="aws:ec2/defaultSecurityGroup:DefaultSecurityGroup")),
                 S(sg([{"protocol": "tcp", "fromPort": 10250, "toPort": 10250,
                        "cidrBlocks": [UNKNOWN]}]), note="unknown range on the kubelet port")],
    },
    "TRL-NET-003": {
        "pass": [S(sg(), ingress_rule("a", 22, "0.0.0.0/1")),
                 S(sg(), ingress_rule("a", 22, "0.0.0.0/1"), ingress_rule("b", 3389,
                                                                          "128.0.0.0/1"),
                   note="different ports"),
                 S(ingress_rule("a", 22, "0.0.0.0/1"),
                   res("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", "b", {
                       "securityGroupId": "sg-other", "ipProtocol": "tcp", "fromPort": 22,
                       "toPort": 22, "cidrIpv4": "128.0.0.0/1"}), note="different groups"),
                 S(res("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", "web", {
                     "securityGroupId": UNKNOWN, "ipProtocol": "tcp", "fromPort": 443,
                     "toPort": 443, "cidrIpv4": "0.0.0.0/0"}),
                   note="unknown group, but no admin port")],
        "fail": [S(sg(), ingress_rule("a", 22, "0.0.0.0/1"), ingress_rule("b", 22,
                                                                          "128.0.0.0/1")),
                 S(g := sg(), ingress_rule("a", 22, "0.0.0.0/1", group=g),
                   ingress_rule("b", 22, "128.0.0.0/1", group=g), note="group id unknown"),
                 S(sg([{"protocol": "tcp", "fromPort": 22, "toPort": 22,
                        "cidrBlocks": ["0.0.0.0/1"]}]),
                   sg_rule("rest", ["128.0.0.0/1"]), note="inline entry plus rule resource"),
                 S(res("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", "ssh", {
                     "securityGroupId": UNKNOWN, "ipProtocol": "tcp", "fromPort": 22,
                     "toPort": 22, "cidrIpv4": "0.0.0.0/1"}),
                   note="admin port, group unknown and not in the stack: fail closed")],
    },
    "TRL-IAM-007": {
        "pass": [S(role("ci")),
                 S(github_trust({"StringEquals": {
                     **GH_AUD, "token.actions.githubusercontent.com:sub":
                         "repo:acme/infra:ref:refs/heads/main"}})),
                 S(github_trust({"StringEquals": GH_AUD, "StringLike": {
                     "token.actions.githubusercontent.com:sub": "repo:acme/infra:*"}})),
                 S(trust({"Effect": "Allow", "Principal": {"AWS": "*"},
                          "Action": "sts:AssumeRole",
                          "Condition": {"StringEquals": {"aws:PrincipalOrgID": "o-abc123"}}}))],
        "fail": [S(trust({"Effect": "Allow", "Principal": "*", "Action": "sts:AssumeRole"})),
                 S(trust({"Effect": "Allow", "Principal": {"AWS": "*"},
                          "Action": "sts:AssumeRole",
                          "Condition": {"Bool": {"aws:SecureTransport": "true"}}}),
                   note="TLS says nothing about who"),
                 S(github_trust({"StringEquals": GH_AUD}), note="no sub: every repository"),
                 S(github_trust({"StringLike": {
                     "token.actions.githubusercontent.com:sub": "*"}})),
                 S(github_trust({"StringEqualsIfExists": {
                     "token.actions.githubusercontent.com:sub": "repo:acme/infra:*"}}),
                   note="IfExists matches tokens without the claim"),
                 S(trust({"Effect": "Allow", "Principal": {"AWS": "*"},
                          "Action": "sts:AssumeRole",
                          "Condition": {"StringNotEquals": {"aws:PrincipalAccount": "1"}}}))],
    },
    "TRL-IAM-008": {
        "pass": [S(inline_policy("r", [{"Effect": "Allow", "Action": ["s3:GetObject",
                                                                      "s3:Get*"],
                                        "Resource": "arn:aws:s3:::acme-dev-data/*"}])),
                 S(inline_policy("r", [{"Effect": "Deny", "NotAction": "s3:GetObject",
                                        "Resource": "*"}]), note="a Deny narrows")],
        "fail": [S(inline_policy("r", [{"Effect": "Allow", "Action": "iam:*",
                                        "Resource": "*"}])),
                 S(inline_policy("r", [{"Effect": "Allow", "Action": ["s3:*"],
                                        "Resource": "arn:aws:s3:::acme-dev-data/*"}])),
                 S(inline_policy("r", [{"Effect": "Allow", "NotAction": "iam:*",
                                        "Resource": "*"}])),
                 S(inline_policy("r", [{"Effect": "Allow", "Action": "s3:GetObject",
                                        "NotResource": "arn:aws:s3:::secret/*"}])),
                 S(role("r", inlinePolicies=[{"name": "ec2", "policy": json.dumps({
                     "Statement": [{"Effect": "Allow", "Action": "ec2:*",
                                    "Resource": "*"}]})}])),
                 S(res("aws:iam/policy:Policy", "p", {"policy": {"Statement": [{
                     "Effect": "Allow", "Action": "*", "Resource": "arn:aws:s3:::x/*"}]}}))],
    },
    "TRL-IAM-009": {
        "pass": [S(project_grant("vertex", "roles/aiplatform.user", "group:ml@acme.com")),
                 S(grant("gcp:serviceaccount/iAMMember:IAMMember", "actas",
                         "roles/iam.serviceAccountUser", "group:ml@acme.com",
                         serviceAccountId=SA_ID), note="on one account")],
        "fail": [S(project_grant("actas", "roles/iam.serviceAccountUser", "group:ml@acme.com")),
                 S(grant("gcp:folder/iAMBinding:IAMBinding", "tokens",
                         "roles/iam.serviceAccountTokenCreator", "group:ml@acme.com",
                         folder="folders/1234")),
                 S(grant("gcp:organizations/iAMPolicy:IAMPolicy", "keys",
                         "roles/iam.serviceAccountKeyAdmin", "group:ops@acme.com",
                         orgId="5678"))],
    },
    "TRL-IAM-010": {
        "pass": [S(grant("gcp:serviceaccount/iAMMember:IAMMember", "wi",
                         "roles/iam.workloadIdentityUser",
                         "serviceAccount:acme-ml-dev.svc.id.goog[recsys/default]",
                         serviceAccountId=SA_ID)),
                 S(grant("gcp:secretmanager/secretIamMember:SecretIamMember", "read",
                         "roles/secretmanager.secretAccessor",
                         "serviceAccount:pipe@acme-ml-dev.iam.gserviceaccount.com",
                         secretId=SECRET))],
        "fail": [S(grant("gcp:serviceaccount/iAMBinding:IAMBinding", "pub",
                         "roles/iam.serviceAccountTokenCreator", "allUsers",
                         serviceAccountId=SA_ID)),
                 S(grant("gcp:secretmanager/secretIamMember:SecretIamMember", "pub",
                         "roles/secretmanager.secretAccessor", "allAuthenticatedUsers",
                         secretId=SECRET)),
                 S(grant("gcp:secretmanager/regionalSecretIamPolicy:RegionalSecretIamPolicy",
                         "pub", "roles/secretmanager.secretAccessor", "allUsers",
                         secretId="hf-token", location="us-central1")),
                 S(grant("gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember", "pub",
                         "roles/cloudkms.cryptoKeyDecrypter", "allUsers",
                         cryptoKeyId="projects/p/locations/us/keyRings/r/cryptoKeys/k"))],
    },
    "TRL-S3-003": {
        "pass": [S(bucket_policy({"Condition": {"StringEquals": {
                     "aws:SourceVpce": "vpce-0abc"}}})),
                 S(bucket_policy({"Principal": {"AWS": "arn:aws:iam::123456789012:role/x"}}))],
        "fail": [S(bucket_policy({"Condition": {"Bool": {"aws:SecureTransport": "true"}}}),
                   note="TLS-only condition does not narrow the principal"),
                 S(bucket_policy({"Principal": DELETE, "NotPrincipal": {
                     "AWS": "arn:aws:iam::123456789012:root"}}), note="Allow + NotPrincipal"),
                 S(bucket_policy({"Condition": {"StringEqualsIfExists": {
                     "aws:SourceAccount": "123456789012"}}}), note="IfExists"),
                 S(bucket_policy({"Condition": {"StringLike": {
                     "aws:PrincipalArn": "*"}}}), note="wildcard value")],
    },
    "TRL-REG-004": {
        "fail": [S(res("aws:ecr/repositoryPolicy:RepositoryPolicy", "pub", {
            "repository": "acme-dev-recsys", "policy": json.dumps({"Statement": [{
                "Effect": "Allow", "Principal": "*", "Action": "ecr:BatchGetImage",
                "Condition": {"Bool": {"aws:SecureTransport": "true"}}}]})}))],
    },
    "TRL-GKE-002": {
        "pass": [S(gke(masterAuthorizedNetworksConfig={"cidrBlocks": [
            {"cidrBlock": "0.0.0.0/1"}, {"cidrBlock": "128.0.0.0/2"}]}))],
        "fail": [S(gke(masterAuthorizedNetworksConfig={"cidrBlocks": [
            {"cidrBlock": c} for c in HALVES]}), note="two /1 ranges")],
    },
    "TRL-EKS-001": {
        "fail": [S(eks(**{"vpcConfig.endpointPublicAccess": True,
                          "vpcConfig.publicAccessCidrs": HALVES}), note="two /1 ranges")],
    },
    "TRL-KMS-001": {
        "pass": [S(res(GCP_KEY, "data", GOOD_GCP_KEY)),
                 S(res(GCP_KEY, "sign", mod(GOOD_GCP_KEY, {"purpose": "ASYMMETRIC_SIGN",
                                                           "rotationPeriod": DELETE})),
                   note="asymmetric keys cannot rotate"),
                 S(res(AWS_KEY, "data", GOOD_AWS_KEY)),
                 S(res(AWS_KEY, "sign", {"customerMasterKeySpec": "RSA_2048",
                                         "keyUsage": "SIGN_VERIFY"}))],
        "fail": [S(res(GCP_KEY, "data", mod(GOOD_GCP_KEY, {"rotationPeriod": DELETE}))),
                 S(res(GCP_KEY, "data", {**GOOD_GCP_KEY, "rotationPeriod": "31536000s"})),
                 S(res(AWS_KEY, "data", mod(GOOD_AWS_KEY, {"enableKeyRotation": DELETE}))),
                 S(res(AWS_KEY, "data", {**GOOD_AWS_KEY, "rotationPeriodInDays": 730}))],
    },
    "TRL-EC2-001": {
        "pass": [S(res(LT, "lt", GOOD_LT)),
                 S(res(LT, "lt", mod(GOOD_LT, {"metadataOptions": {"httpEndpoint":
                                                                   "disabled"}}))),
                 S(res(INSTANCE, "vm", GOOD_INSTANCE))],
        "fail": [S(res(LT, "lt", mod(GOOD_LT, {"metadataOptions.httpTokens": "optional"}))),
                 S(res(LT, "lt", mod(GOOD_LT, {"metadataOptions": DELETE}))),
                 S(res(INSTANCE, "vm", mod(GOOD_INSTANCE, {"metadataOptions": DELETE})))],
    },
    "TRL-EC2-002": {
        "pass": [S(res(LT, "lt", GOOD_LT), note="no block devices declared"),
                 S(res(LT, "lt", {**GOOD_LT, "blockDeviceMappings": [EBS_MAPPING]})),
                 S(res(LT, "lt", {**GOOD_LT, "blockDeviceMappings": [
                     mod(EBS_MAPPING, {"ebs.kmsKeyId": UNKNOWN})]}),
                   note="key computed by another resource"),
                 S(res(INSTANCE, "vm", GOOD_INSTANCE))],
        "fail": [S(res(LT, "lt", {**GOOD_LT, "blockDeviceMappings": [
                     mod(EBS_MAPPING, {"ebs.encrypted": DELETE})]})),
                 S(res(LT, "lt", {**GOOD_LT, "blockDeviceMappings": [
                     mod(EBS_MAPPING, {"ebs.encrypted": "false"})]})),
                 S(res(INSTANCE, "vm", mod(GOOD_INSTANCE, {"rootBlockDevice.encrypted":
                                                           False}))),
                 S(res(INSTANCE, "vm", {**GOOD_INSTANCE, "ebsBlockDevices": [
                     {"deviceName": "/dev/sdf", "volumeSize": 100}]}))],
    },
    "TRL-ML-001": {
        "pass": [S(res(WORKBENCH, "nb", GOOD_WORKBENCH))],
        "fail": [S(res(WORKBENCH, "nb", mod(GOOD_WORKBENCH, {"gceSetup.disablePublicIp":
                                                             DELETE}))),
                 S(res(WORKBENCH, "nb", mod(GOOD_WORKBENCH, {"gceSetup.disablePublicIp":
                                                             False})))],
    },
    "TRL-ML-002": {
        "pass": [S(res(SM_NOTEBOOK, "nb", GOOD_NOTEBOOK))],
        "fail": [S(res(SM_NOTEBOOK, "nb", mod(GOOD_NOTEBOOK, {"directInternetAccess":
                                                              DELETE}))),
                 S(res(SM_NOTEBOOK, "nb", {**GOOD_NOTEBOOK, "directInternetAccess":
                                           "Enabled"}))],
    },
    "TRL-ML-003": {
        "pass": [S(res(SM_NOTEBOOK, "nb", GOOD_NOTEBOOK))],
        "fail": [S(res(SM_NOTEBOOK, "nb", mod(GOOD_NOTEBOOK, {"rootAccess": DELETE}))),
                 S(res(SM_NOTEBOOK, "nb", {**GOOD_NOTEBOOK, "rootAccess": "Enabled"}))],
    },
    "TRL-ML-004": {
        "pass": [S(res(SM_DOMAIN, "studio", GOOD_DOMAIN))],
        "fail": [S(res(SM_DOMAIN, "studio", mod(GOOD_DOMAIN, {"appNetworkAccessType":
                                                              DELETE}))),
                 S(res(SM_DOMAIN, "studio", {**GOOD_DOMAIN, "appNetworkAccessType":
                                             "PublicInternetOnly"}))],
    },
    "TRL-K8S-001": {
        "pass": [S(binding([("Group", "platform-admins@acme.com")])),
                 S(binding([("Group", "system:authenticated")], "view"),
                   note="read-only role for everyone"),
                 S(r := cluster_role(["get", "list"]),
                   binding([("Group", "system:serviceaccounts")], "ops"))],
        "fail": [S(binding([("Group", "system:authenticated")])),
                 S(binding([("User", "system:anonymous")])),
                 S(binding([("Group", "system:unauthenticated")], kind="RoleBinding")),
                 S(binding([("Group", "system:serviceaccounts:recsys")])),
                 S(r := cluster_role(["*"]),
                   binding([("Group", "system:serviceaccounts")], "ops"),
                   note="a stack ClusterRole with every verb"),
                 S(r2 := cluster_role(["*"]),
                   binding([("Group", "system:authenticated")], UNKNOWN, role_res=r2),
                   note="role name computed from the ClusterRole")],
    },
    "TRL-K8S-002": {
        "pass": [S(TEAM_NS, workload("apps/v1:Deployment", "recsys")),
                 S(TEAM_NS, mod(workload("apps/v1:Deployment", "recsys"), {
                     "inputs.spec.template.spec.containers": [{"name": "main", "image": UNKNOWN}]}),
                   note="image computed from a registry URL"),
                 S(TEAM_NS, workload("apps/v1:DaemonSet", "kube-system", privileged=True,
                                     hostNetwork=True, volumes=HOST_PATH),
                   note="cluster add-ons outside team namespaces"),
                 S(TEAM_NS, PLATFORM_NS, workload("apps/v1:DaemonSet", "platform",
                                                  privileged=True),
                   note="namespace without a team label"),
                 S(TEAM_NS, workload("apps/v1:Deployment", None, privileged=True),
                   note="no namespace: default")],
        "fail": [S(TEAM_NS, workload("apps/v1:Deployment", "recsys", privileged=True)),
                 S(TRELLIS_NS, workload("apps/v1:DaemonSet", "vision", hostNetwork=True),
                   note="namespace labelled as Trellis labels it today"),
                 S(TEAM_NS, workload("batch/v1:CronJob", "recsys", volumes=HOST_PATH)),
                 S(TEAM_NS, workload("batch/v1:Job", "recsys", hostIPC=True)),
                 S(TEAM_NS, workload("apps/v1:StatefulSet", "recsys", hostPID=True)),
                 S(TEAM_NS, workload("apps/v1:ReplicaSet", "recsys", privileged=True)),
                 S(TEAM_NS, workload("core/v1:Pod", UNKNOWN, ns_res=TEAM_NS, hostPID=True),
                   note="namespace computed from the team namespace"),
                 S(TEAM_NS, workload("core/v1:Pod", UNKNOWN, privileged=True),
                   note="unknown namespace, no lineage: fail closed")],
    },
    "TRL-S3-008": {
        "pass": [S(res(PAB, "pab", {"bucket": "bucket-elsewhere", **FULL_PAB})),
                 S(res(ACCOUNT_PAB, "account", FULL_PAB))],
        "fail": [S(res(PAB, "pab", {"bucket": "bucket-elsewhere", **FULL_PAB,
                                    "restrictPublicBuckets": False}),
                   note="its bucket is not in the stack"),
                 S(res(ACCOUNT_PAB, "account", mod(FULL_PAB, {"blockPublicPolicy": DELETE})))],
    },
    "TRL-S3-009": {
        "pass": [S(res(ACL, "acl", {"bucket": "bucket-elsewhere", "acl": "private"})),
                 S(res(ACL, "acl", {"bucket": "bucket-elsewhere",
                                    "accessControlPolicy": acl_grants(None)}))],
        "fail": [S(res(ACL, "acl", {"bucket": "bucket-elsewhere", "acl": "public-read"})),
                 S(res("aws:s3/bucketAclV2:BucketAclV2", "acl", {
                     "bucket": "bucket-elsewhere", "accessControlPolicy": acl_grants(ALL_USERS)})),
                 S(res(ACL, "acl", {"bucket": "bucket-elsewhere",
                                    "acl": "authenticated-read"})),
                 S(res("aws:s3/bucketObjectv2:BucketObjectv2", "obj", {
                     "bucket": "bucket-elsewhere", "key": "model.bin", "acl": "public-read"}))],
    },
    "TRL-GKE-009": {
        "pass": [S(pool()), S(gke(**PRIVATE_GKE)),
                 S(gke(**PRIVATE_GKE, clusterAutoscaling=NAP)),
                 S(sa := service_account("acme-dev-cpu"),
                   res(POOL, "cpu", mod(GOOD_POOL, {"nodeConfig.serviceAccount": UNKNOWN}),
                       prop_deps={"nodeConfig": [sa["urn"]]}),
                   note="e-mail computed from an account of the stack")],
        "fail": [S(pool(**{"nodeConfig.serviceAccount": DELETE,
                           "nodeConfig.guestAccelerators": DELETE}), note="CPU pool"),
                 S(pool(**{"nodeConfig.serviceAccount": COMPUTE_SA})),
                 S(gke(), note="default pool kept, no node config"),
                 S(gke(enableAutopilot=True), note="Autopilot nodes on the default account"),
                 S(gke(**PRIVATE_GKE, clusterAutoscaling=mod(NAP, {
                     "autoProvisioningDefaults.serviceAccount": DELETE}))),
                 S(gke(**PRIVATE_GKE, nodePools=[{"name": "inline", "nodeConfig": {
                     "serviceAccount": COMPUTE_SA}}])),
                 S(res(POOL, "cpu", mod(GOOD_POOL, {"nodeConfig.serviceAccount": UNKNOWN})),
                   note="unknown e-mail, no account in the stack")],
    },
    "TRL-GKE-010": {
        "pass": [S(pool()), S(gke(**PRIVATE_GKE)),
                 S(gke(**PRIVATE_GKE, clusterAutoscaling=NAP)),
                 S(gke(enableAutopilot=True), note="Autopilot enforces secure boot")],
        "fail": [S(pool(**{"nodeConfig.shieldedInstanceConfig.enableSecureBoot": DELETE})),
                 S(gke(nodeConfig=mod(GOOD_POOL["nodeConfig"], {
                     "shieldedInstanceConfig.enableSecureBoot": False})),
                   note="default pool kept"),
                 S(gke(**PRIVATE_GKE, clusterAutoscaling=mod(NAP, {
                     "autoProvisioningDefaults.shieldedInstanceConfig": DELETE})))],
    },
    "TRL-GKE-011": {
        "pass": [S(pool()), S(pool(management={"autoRepair": True, "autoUpgrade": True})),
                 S(gke(**PRIVATE_GKE, clusterAutoscaling=NAP)),
                 S(pool(management={"autoRepair": False, "autoUpgrade": True},
                        **{"nodeConfig.flexStart": True}),
                   note="flex-start pools run without auto-repair, as GKE requires")],
        "fail": [S(pool(management={"autoRepair": False, "autoUpgrade": True})),
                 S(pool(management={"autoRepair": False, "autoUpgrade": True},
                        **{"nodeConfig.flexStart": False}),
                   note="flexStart false is an ordinary pool"),
                 S(gke(**PRIVATE_GKE, nodePools=[{"name": "inline", "management": {
                     "autoRepair": False}}])),
                 S(gke(**PRIVATE_GKE, clusterAutoscaling=mod(NAP, {
                     "autoProvisioningDefaults.management.autoRepair": False})))],
    },
}


test_violating_fixture_is_reported, test_compliant_fixture_passes = fixture_tests(CASES)
