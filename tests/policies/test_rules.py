"""Every rule against compliant and violating stacks, through the Analyzer servicer the CLI uses.

CASES maps each rule ID to stacks that must pass it and stacks that must fail it. The meta-test
at the bottom fails when a registered rule has no case of either kind, so a new rule cannot
land without fixtures. A rule with many fixtures of its own may keep them in its own module
(``test_<rule>.py`` with a ``CASES`` dict of the same shape, run by that module); the meta-test
collects every such ``CASES``.
"""

from __future__ import annotations

import base64
import importlib
import json
from pathlib import Path

from policy_fixtures import (
    DELETE,
    TEAM,
    UNKNOWN,
    S,
    Stack,
    check,
    findings,
    fixture_tests,
    mod,
    res,
)

from policies.registry import all_rules

# --- baselines: resources that pass every rule of their kind -------------------------------------

GCS = "gcp:storage/bucket:Bucket"
GOOD_GCS = {
    "name": "acme-dev-recsys-models", "location": "US-CENTRAL1", "project": "acme-ml-dev",
    "uniformBucketLevelAccess": True, "publicAccessPrevention": "enforced",
    "versioning": {"enabled": True}, "labels": {"team": "recsys", "env": "dev"},
    "lifecycleRules": [{"action": {"type": "Delete"},
                        "condition": {"daysSinceNoncurrentTime": 30}}],
}
SCRATCH_GCS = mod(GOOD_GCS, {"name": "acme-dev-recsys-scratch", "versioning": DELETE})


def gcs(name: str = "models", **changes: object) -> dict:
    inputs = mod(GOOD_GCS, {"name": f"acme-dev-recsys-{name}", **changes})
    return res(GCS, name, inputs, outputs={"name": inputs["name"], "url": f"gs://{inputs['name']}"})


S3 = "aws:s3/bucket:Bucket"
TLS_POLICY = {"Version": "2012-10-17", "Statement": [{
    "Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
    "Resource": ["arn:aws:s3:::acme-dev-data", "arn:aws:s3:::acme-dev-data/*"],
    "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]}


def s3_group(name: str = "data", *, skip: tuple[str, ...] = (), via_deps: bool = False,
             **overrides: dict) -> list[dict]:
    """A bucket with every split setting; ``skip`` drops parts, ``overrides`` replaces inputs."""
    bucket_name = f"acme-dev-{name}"
    bucket = res(S3, name, {"bucket": bucket_name, "tags": {"team": "recsys"}},
                 outputs={"bucket": bucket_name, "arn": f"arn:aws:s3:::{bucket_name}"})

    def part(kind: str, type_: str, inputs: dict) -> dict:
        ref = UNKNOWN if via_deps else bucket_name
        deps = {"bucket": [bucket["urn"]]} if via_deps else {}
        return res(type_, f"{name}-{kind}", {"bucket": ref, **overrides.get(kind, inputs)},
                   prop_deps=deps, deps=[bucket["urn"]])

    parts = {
        "pab": part("pab", "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", {
            "blockPublicAcls": True, "blockPublicPolicy": True, "ignorePublicAcls": True,
            "restrictPublicBuckets": True}),
        "ownership": part("ownership", "aws:s3/bucketOwnershipControls:BucketOwnershipControls",
                          {"rule": {"objectOwnership": "BucketOwnerEnforced"}}),
        "sse": part("sse", "aws:s3/bucketServerSideEncryptionConfiguration:"
                    "BucketServerSideEncryptionConfiguration", {"rules": [{
                        "applyServerSideEncryptionByDefault": {
                            "sseAlgorithm": "aws:kms",
                            "kmsMasterKeyId": "arn:aws:kms:us-east-1:123456789012:key/k"},
                        "bucketKeyEnabled": True}]}),
        "versioning": part("versioning", "aws:s3/bucketVersioning:BucketVersioning",
                           {"versioningConfiguration": {"status": "Enabled"}}),
        "lifecycle": part("lifecycle", "aws:s3/bucketLifecycleConfiguration:"
                          "BucketLifecycleConfiguration", {"rules": [{
                              "id": "expire", "status": "Enabled",
                              "expiration": {"days": 30}}]}),
        "policy": part("policy", "aws:s3/bucketPolicy:BucketPolicy",
                       {"policy": json.dumps(TLS_POLICY)}),
    }
    return [bucket, *(p for k, p in parts.items() if k not in skip)]


AR = "gcp:artifactregistry/repository:Repository"
GOOD_AR = {"repositoryId": "recsys", "location": "us-central1", "format": "DOCKER",
           "dockerConfig": {"immutableTags": True},
           "kmsKeyName": "projects/acme-ml-dev/locations/us-central1/keyRings/k/cryptoKeys/ar",
           "cleanupPolicies": [{"id": "untagged", "action": "DELETE",
                                "condition": {"tagState": "UNTAGGED", "olderThan": "604800s"}}],
           "cleanupPolicyDryRun": False}
ECR = "aws:ecr/repository:Repository"
GOOD_ECR = {"name": "acme-dev-recsys", "imageTagMutability": "IMMUTABLE",
            "imageScanningConfiguration": {"scanOnPush": True},
            "encryptionConfigurations": [{"encryptionType": "KMS",
                                          "kmsKey": "arn:aws:kms:us-east-1:1:key/k"}]}


def ecr(**changes: object) -> dict:
    inputs = mod(GOOD_ECR, changes)
    return res(ECR, "recsys", inputs, outputs={"name": inputs["name"]})


def ecr_lifecycle(repo: dict, *, via_deps: bool = False) -> dict:
    ref = UNKNOWN if via_deps else repo["inputs"]["name"]
    return res("aws:ecr/lifecyclePolicy:LifecyclePolicy", "recsys-lifecycle", {
        "repository": ref, "policy": json.dumps({"rules": [{
            "rulePriority": 1, "selection": {"tagStatus": "untagged", "countType":
                                             "sinceImagePushed", "countUnit": "days",
                                             "countNumber": 7},
            "action": {"type": "expire"}}]})},
        prop_deps={"repository": [repo["urn"]]} if via_deps else {})


GKE = "gcp:container/cluster:Cluster"
GOOD_GKE = {
    "name": "acme-dev", "location": "us-central1", "project": "acme-ml-dev",
    "privateClusterConfig": {"enablePrivateNodes": True, "enablePrivateEndpoint": False,
                             "masterIpv4CidrBlock": "172.16.0.0/28"},
    "masterAuthorizedNetworksConfig": {"cidrBlocks": [{"cidrBlock": "10.8.0.0/16",
                                                       "displayName": "admin"}]},
    "workloadIdentityConfig": {"workloadPool": "acme-ml-dev.svc.id.goog"},
    "enableShieldedNodes": True, "releaseChannel": {"channel": "REGULAR"},
    "loggingConfig": {"enableComponents": ["SYSTEM_COMPONENTS", "APISERVER", "WORKLOADS"]},
    "masterAuth": {"clientCertificateConfig": {"issueClientCertificate": False}},
}


def gke(**changes: object) -> dict:
    return res(GKE, "cluster", mod(GOOD_GKE, changes), outputs={"name": "acme-dev"})


EKS = "aws:eks/cluster:Cluster"
GOOD_EKS = {
    "name": "acme-dev", "roleArn": "arn:aws:iam::123456789012:role/acme-dev-cluster",
    "version": "1.33",
    "vpcConfig": {"subnetIds": ["subnet-1", "subnet-2"], "endpointPublicAccess": False,
                  "endpointPrivateAccess": True},
    "encryptionConfig": {"resources": ["secrets"],
                         "provider": {"keyArn": "arn:aws:kms:us-east-1:123456789012:key/k"}},
    "enabledClusterLogTypes": ["api", "audit", "authenticator", "controllerManager",
                               "scheduler"],
    "accessConfig": {"authenticationMode": "API"},
}


def eks(**changes: object) -> dict:
    inputs = mod(GOOD_EKS, changes)
    return res(EKS, "cluster", inputs, outputs={"name": inputs.get("name"),
                                                 "arn": "arn:aws:eks:us-east-1:1:cluster/x"})


def pod_identity_addon(cluster_name: str = "acme-dev") -> dict:
    return res("aws:eks/addon:Addon", "pod-identity", {"clusterName": cluster_name,
                                                       "addonName": "eks-pod-identity-agent"})


POOL = "gcp:container/nodePool:NodePool"
GPU_TAINT = {"key": "nvidia.com/gpu", "value": "present", "effect": "NO_SCHEDULE"}
NODE_SA = "acme-dev-gpu@acme-ml-dev.iam.gserviceaccount.com"
GOOD_POOL = {
    "name": "recsys-serve", "cluster": "acme-dev", "location": "us-central1",
    "nodeLocations": ["us-central1-a"],
    "autoscaling": {"totalMinNodeCount": 0, "totalMaxNodeCount": 2},
    "nodeConfig": {
        "machineType": "g2-standard-8",
        "guestAccelerators": [{"type": "nvidia-l4", "count": 1,
                               "gpuDriverInstallationConfig": {"gpuDriverVersion": "LATEST"}}],
        "taints": [GPU_TAINT], "serviceAccount": NODE_SA,
        "resourceLabels": {"team": "recsys", "env": "dev"},
        "workloadMetadataConfig": {"mode": "GKE_METADATA"},
        "shieldedInstanceConfig": {"enableIntegrityMonitoring": True, "enableSecureBoot": True},
    },
}
CPU_POOL = mod(GOOD_POOL, {"nodeConfig.machineType": "e2-standard-4",
                           "nodeConfig.guestAccelerators": DELETE, "nodeConfig.taints": DELETE,
                           "nodeConfig.resourceLabels": DELETE})


def pool(**changes: object) -> dict:
    return res(POOL, "serve", mod(GOOD_POOL, changes))


NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
LT = "aws:ec2/launchTemplate:LaunchTemplate"
GOOD_NG = {
    "clusterName": "acme-dev", "nodeGroupName": "recsys-serve",
    "nodeRoleArn": "arn:aws:iam::123456789012:role/acme-dev-recsys-serve-node",
    "subnetIds": ["subnet-1"], "instanceTypes": ["g6.2xlarge"],
    "amiType": "AL2023_x86_64_NVIDIA",
    "scalingConfig": {"minSize": 0, "maxSize": 2, "desiredSize": 0},
    "taints": [GPU_TAINT], "launchTemplate": {"id": "lt-0abc", "version": "1"},
    "tags": {"team": "recsys", "env": "dev"},
}
GOOD_LT = {"name": "acme-dev-recsys-serve", "metadataOptions": {
    "httpTokens": "required", "httpPutResponseHopLimit": 1, "httpEndpoint": "enabled"}}


def launch_template(**changes: object) -> dict:
    return res(LT, "serve-lt", mod(GOOD_LT, changes), outputs={"id": "lt-0abc"})


def node_group(**changes: object) -> dict:
    return res(NODE_GROUP, "serve", mod(GOOD_NG, changes))


SA = "gcp:serviceaccount/account:Account"


def service_account(account_id: str, name: str | None = None) -> dict:
    email = f"{account_id}@acme-ml-dev.iam.gserviceaccount.com"
    return res(SA, name or account_id, {"accountId": account_id, "project": "acme-ml-dev"},
               outputs={"email": email, "member": f"serviceAccount:{email}"})


def project_grant(name: str, role: str, member: str) -> dict:
    return res("gcp:projects/iAMMember:IAMMember", name,
               {"project": "acme-ml-dev", "role": role, "member": member})


JOB = "gcp:cloudscheduler/job:Job"


def scheduler_job(sa_email: str | None, *, pipeline_sa: str | None = None) -> dict:
    target: dict = {"uri": "https://us-central1-aiplatform.googleapis.com/v1/projects/acme-ml-dev"
                           "/locations/us-central1/pipelineJobs", "httpMethod": "POST"}
    if sa_email is not None:
        target["oauthToken"] = {"serviceAccountEmail": sa_email}
    if pipeline_sa is not None:
        body = {"pipelineJob": {"displayName": "nightly", "serviceAccount": pipeline_sa}}
        target["body"] = base64.b64encode(json.dumps(body).encode()).decode()
    return res(JOB, "nightly", {"schedule": "0 3 * * *", "timeZone": "Asia/Seoul",
                                "httpTarget": target})


ROLE = "aws:iam/role:Role"
ASSUME_SM = json.dumps({"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Principal": {"Service": "sagemaker.amazonaws.com"},
    "Action": "sts:AssumeRole"}]})


def role(name: str, **extra: object) -> dict:
    arn = f"arn:aws:iam::123456789012:role/{name}"
    return res(ROLE, name, {"name": name, "assumeRolePolicy": ASSUME_SM, **extra},
               outputs={"arn": arn, "name": name})


def inline_policy(role_name: str, statements: list[dict], name: str = "inline") -> dict:
    return res("aws:iam/rolePolicy:RolePolicy", f"{role_name}-{name}", {
        "role": role_name, "policy": json.dumps({"Version": "2012-10-17",
                                                 "Statement": statements})})


def attachment(role_name: str, policy: str) -> dict:
    return res("aws:iam/rolePolicyAttachment:RolePolicyAttachment",
               f"{role_name}-{policy.rsplit('/', 1)[-1]}",
               {"role": role_name, "policyArn": policy})


PIPELINE_ARN = "arn:aws:sagemaker:us-east-1:123456789012:pipeline/acme-dev-recsys-nightly"


def sm_pipeline(role_arn: str) -> dict:
    return res("aws:sagemaker/pipeline:Pipeline", "nightly", {
        "pipelineName": "acme-dev-recsys-nightly", "pipelineDisplayName": "nightly",
        "roleArn": role_arn, "pipelineDefinition": "{}"},
        outputs={"arn": PIPELINE_ARN})


def schedule(role_arn: str) -> dict:
    return res("aws:scheduler/schedule:Schedule", "nightly-schedule", {
        "scheduleExpression": "cron(0 3 * * ? *)", "flexibleTimeWindow": {"mode": "OFF"},
        "target": {"arn": PIPELINE_ARN, "roleArn": role_arn}})


START_ONLY = [{"Effect": "Allow", "Action": "sagemaker:StartPipelineExecution",
               "Resource": PIPELINE_ARN}]
ARN = "arn:aws:iam::123456789012:role/"
BUCKET_IAM_MEMBER = "gcp:storage/bucketIAMMember:BucketIAMMember"


def bucket_grant(name: str, role_: str, member: str, bucket: str = "acme-dev-recsys-models",
                 kind: str = "Member") -> dict:
    type_ = f"gcp:storage/bucketIAM{kind}:BucketIAM{kind}"
    inputs: dict = {"bucket": bucket}
    if kind == "Member":
        inputs.update(role=role_, member=member)
    elif kind == "Binding":
        inputs.update(role=role_, members=[member])
    else:
        inputs["policyData"] = json.dumps({"bindings": [{"role": role_, "members": [member]}]})
    return res(type_, name, inputs)


# --- the cases ----------------------------------------------------------------------------------

CASES: dict[str, dict[str, list[Stack]]] = {
    "TRL-GCS-001": {
        "pass": [S(gcs())],
        "fail": [S(gcs(uniformBucketLevelAccess=False)), S(gcs(uniformBucketLevelAccess=DELETE))],
    },
    "TRL-GCS-002": {
        "pass": [S(gcs())],
        "fail": [S(gcs(publicAccessPrevention="inherited"))],
    },
    "TRL-GCS-003": {
        "pass": [S(gcs(), bucket_grant("reader", "roles/storage.objectViewer",
                                       "group:recsys@acme.com")),
                 S(res("gcp:storage/bucketACL:BucketACL", "acl", {
                     "bucket": "b", "roleEntities": ["OWNER:project-owners-1"]}))],
        "fail": [S(bucket_grant("public", "roles/storage.objectViewer", "allUsers")),
                 S(bucket_grant("auth", "roles/storage.objectViewer", "allAuthenticatedUsers",
                                kind="Binding")),
                 S(bucket_grant("policy", "roles/storage.objectViewer", "allUsers",
                                kind="Policy")),
                 S(res("gcp:storage/bucketACL:BucketACL", "acl", {
                     "bucket": "b", "roleEntities": ["READER:allUsers"]})),
                 S(res("gcp:storage/bucketACL:BucketACL", "acl", {
                     "bucket": "b", "predefinedAcl": "publicRead"})),
                 S(res("gcp:storage/defaultObjectAccessControl:DefaultObjectAccessControl",
                       "dacl", {"bucket": "b", "entity": "allAuthenticatedUsers",
                                "role": "READER"}))],
    },
    "TRL-GCS-004": {
        "pass": [S(gcs(), tier="sandbox"),
                 S(res(GCS, "scratch", SCRATCH_GCS), tier="sandbox", note="not a model bucket")],
        "fail": [S(gcs(versioning=DELETE), tier="sandbox", note="model bucket in sandbox"),
                 S(res(GCS, "scratch", SCRATCH_GCS), note="any bucket in production"),
                 S(res(GCS, "store", mod(SCRATCH_GCS, {"name": "acme-dev-recsys-store",
                                                       "labels.purpose": "models"})),
                   tier="sandbox", note="purpose label marks it")],
    },
    "TRL-GCS-005": {
        "pass": [S(gcs())],
        "fail": [S(gcs(lifecycleRules=DELETE)), S(gcs(lifecycleRules=[]))],
    },
    "TRL-GCS-006": {
        "pass": [S(gcs()), S(gcs(location="EU"), config={"allowedRegions": ["eu"]})],
        "fail": [S(gcs(location="US")), S(gcs(location="US-CENTRAL1"),
                                          config={"allowedRegions": ["europe-west4"]}),
                 S(gcs(location=DELETE))],
    },
    "TRL-S3-001": {
        "pass": [S(*s3_group()), S(*s3_group(via_deps=True), note="unknown bucket ref")],
        "fail": [S(*s3_group(skip=("pab",))),
                 S(*s3_group(pab={"blockPublicAcls": True, "blockPublicPolicy": True,
                                  "ignorePublicAcls": True, "restrictPublicBuckets": False})),
                 S(*s3_group("other", skip=("pab",)), *s3_group()[1:2],
                   note="the only PAB points at another bucket")],
    },
    "TRL-S3-002": {
        "pass": [S(*s3_group())],
        "fail": [S(*s3_group(skip=("ownership",))),
                 S(*s3_group(ownership={"rule": {"objectOwnership": "ObjectWriter"}})),
                 S(*s3_group(), res("aws:s3/bucketAcl:BucketAcl", "acl", {
                     "bucket": "acme-dev-data", "acl": "public-read"}))],
    },
    "TRL-S3-003": {
        "pass": [S(*s3_group()),
                 S(res("aws:s3/bucketPolicy:BucketPolicy", "org-only", {
                     "bucket": "acme-dev-data", "policy": json.dumps({"Statement": [{
                         "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
                         "Resource": "arn:aws:s3:::acme-dev-data/*",
                         "Condition": {"StringEquals": {"aws:PrincipalOrgID": "o-123"}}}]})}))],
        "fail": [S(res("aws:s3/bucketPolicy:BucketPolicy", "public", {
                     "bucket": "acme-dev-data", "policy": json.dumps({"Statement": [{
                         "Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "s3:GetObject",
                         "Resource": "arn:aws:s3:::acme-dev-data/*"}]})})),
                 S(res(S3, "inline", {"bucket": "acme-dev-inline", "policy": {"Statement": [{
                     "Effect": "Allow", "Principal": "*", "Action": ["s3:*"],
                     "Resource": "*"}]}}))],
    },
    "TRL-S3-004": {
        "pass": [S(*s3_group())],
        "fail": [S(*s3_group(skip=("policy",))),
                 S(*s3_group(policy={"policy": json.dumps({"Statement": [{
                     "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::1:root"},
                     "Action": "s3:GetObject", "Resource": "*"}]})}))],
    },
    "TRL-S3-005": {
        "pass": [S(*s3_group())],
        "fail": [S(*s3_group(skip=("sse",))),
                 S(*s3_group(sse={"rules": [{"applyServerSideEncryptionByDefault": {
                     "sseAlgorithm": "AES256"}}]}))],
    },
    "TRL-S3-006": {
        "pass": [S(*s3_group()), S(*s3_group(skip=("versioning",)), tier="sandbox",
                                   note="sandbox data bucket")],
        "fail": [S(*s3_group(skip=("versioning",)), note="production"),
                 S(*s3_group("models", versioning={"versioningConfiguration": {
                     "status": "Suspended"}}), tier="sandbox", note="model bucket")],
    },
    "TRL-S3-007": {
        "pass": [S(*s3_group())],
        "fail": [S(*s3_group(skip=("lifecycle",))),
                 S(*s3_group(lifecycle={"rules": [{"id": "x", "status": "Disabled",
                                                   "expiration": {"days": 1}}]}))],
    },
    "TRL-REG-001": {
        "pass": [S(ecr()), S(res(AR, "recsys", GOOD_AR)),
                 S(ecr(imageTagMutability="MUTABLE"), tier="sandbox")],
        "fail": [S(ecr(imageTagMutability="MUTABLE")), S(ecr(imageTagMutability=DELETE)),
                 S(res(AR, "recsys", mod(GOOD_AR, {"dockerConfig": DELETE})))],
    },
    "TRL-REG-002": {
        "pass": [S(ecr()), S(res(AR, "recsys", GOOD_AR)),
                 S(ecr(imageScanningConfiguration=DELETE), res(
                     "aws:ecr/registryScanningConfiguration:RegistryScanningConfiguration",
                     "scanning", {"scanType": "ENHANCED", "rules": [{
                         "scanFrequency": "CONTINUOUS_SCAN",
                         "repositoryFilters": [{"filter": "acme-*", "filterType": "WILDCARD"}]}]}),
                   note="registry-level scanning")],
        "fail": [S(ecr(imageScanningConfiguration={"scanOnPush": False})),
                 S(res(AR, "recsys", mod(GOOD_AR, {
                     "vulnerabilityScanningConfig.enablementConfig": "DISABLED"})))],
    },
    "TRL-REG-003": {
        "pass": [S(ecr()), S(res(AR, "recsys", GOOD_AR))],
        "fail": [S(ecr(encryptionConfigurations=[{"encryptionType": "AES256"}])),
                 S(ecr(encryptionConfigurations=DELETE)),
                 S(res(AR, "recsys", mod(GOOD_AR, {"kmsKeyName": DELETE})))],
    },
    "TRL-REG-004": {
        "pass": [S(res("gcp:artifactregistry/repositoryIamMember:RepositoryIamMember", "pull", {
                     "repository": "recsys", "location": "us-central1",
                     "role": "roles/artifactregistry.reader",
                     "member": f"serviceAccount:{NODE_SA}"})),
                 S(res("aws:ecr/repositoryPolicy:RepositoryPolicy", "pull", {
                     "repository": "acme-dev-recsys", "policy": json.dumps({"Statement": [{
                         "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::1:root"},
                         "Action": "ecr:BatchGetImage"}]})}))],
        "fail": [S(res("gcp:artifactregistry/repositoryIamMember:RepositoryIamMember", "pub", {
                     "repository": "recsys", "location": "us-central1",
                     "role": "roles/artifactregistry.reader", "member": "allUsers"})),
                 S(res("aws:ecr/repositoryPolicy:RepositoryPolicy", "pub", {
                     "repository": "acme-dev-recsys", "policy": json.dumps({"Statement": [{
                         "Effect": "Allow", "Principal": "*", "Action": "ecr:*"}]})}))],
    },
    "TRL-REG-005": {
        "pass": [S(r := ecr(), ecr_lifecycle(r)),
                 S(r2 := ecr(), ecr_lifecycle(r2, via_deps=True), note="unknown repo ref"),
                 S(res(AR, "recsys", GOOD_AR))],
        "fail": [S(ecr()), S(res(AR, "recsys", mod(GOOD_AR, {"cleanupPolicies": DELETE}))),
                 S(res(AR, "recsys", mod(GOOD_AR, {"cleanupPolicyDryRun": True})))],
    },
    "TRL-GKE-001": {
        "pass": [S(gke()), S(pool())],
        "fail": [S(gke(**{"privateClusterConfig.enablePrivateNodes": False})),
                 S(gke(privateClusterConfig=DELETE)),
                 S(pool(**{"networkConfig.enablePrivateNodes": False}))],
    },
    "TRL-GKE-002": {
        "pass": [S(gke()),
                 S(gke(masterAuthorizedNetworksConfig=DELETE,
                       **{"privateClusterConfig.enablePrivateEndpoint": True}))],
        "fail": [S(gke(masterAuthorizedNetworksConfig=DELETE)),
                 S(gke(masterAuthorizedNetworksConfig={"cidrBlocks": [
                     {"cidrBlock": "0.0.0.0/0"}]})),
                 S(gke(**{"masterAuthorizedNetworksConfig.gcpPublicCidrsAccessEnabled": True}))],
    },
    "TRL-GKE-003": {
        "pass": [S(gke(), pool())],
        "fail": [S(gke(workloadIdentityConfig=DELETE)),
                 S(pool(**{"nodeConfig.workloadMetadataConfig.mode": "GCE_METADATA"}))],
    },
    "TRL-GKE-004": {
        "pass": [S(gke()), S(gke(enableLegacyAbac=False))],
        "fail": [S(gke(enableLegacyAbac=True))],
    },
    "TRL-GKE-005": {
        "pass": [S(gke()), S(gke(masterAuth=DELETE))],
        "fail": [S(gke(**{"masterAuth.clientCertificateConfig.issueClientCertificate": True}))],
    },
    "TRL-GKE-006": {
        "pass": [S(gke(), pool())],
        "fail": [S(gke(enableShieldedNodes=False)),
                 S(pool(**{"nodeConfig.shieldedInstanceConfig.enableIntegrityMonitoring":
                           False}))],
    },
    "TRL-GKE-007": {
        "pass": [S(gke()), S(gke(loggingConfig=DELETE))],
        "fail": [S(gke(loggingService="none")),
                 S(gke(loggingConfig={"enableComponents": ["WORKLOADS"]}))],
    },
    "TRL-GKE-008": {
        "pass": [S(gke())],
        "fail": [S(gke(releaseChannel=DELETE)),
                 S(gke(releaseChannel={"channel": "UNSPECIFIED"}))],
    },
    "TRL-EKS-001": {
        "pass": [S(eks()),
                 S(eks(vpcConfig={"subnetIds": ["s"], "endpointPublicAccess": True,
                                  "endpointPrivateAccess": True,
                                  "publicAccessCidrs": ["203.0.113.0/24"]}))],
        "fail": [S(eks(**{"vpcConfig.endpointPublicAccess": True})),
                 S(eks(**{"vpcConfig.endpointPublicAccess": DELETE})),
                 S(eks(**{"vpcConfig.endpointPublicAccess": True,
                          "vpcConfig.publicAccessCidrs": ["10.0.0.0/8", "0.0.0.0/0"]}))],
    },
    "TRL-EKS-002": {
        "pass": [S(eks())],
        "fail": [S(eks(**{"vpcConfig.endpointPrivateAccess": False}))],
    },
    "TRL-EKS-003": {
        "pass": [S(eks(), pod_identity_addon()),
                 S(c := eks(), res("aws:iam/openIdConnectProvider:OpenIdConnectProvider",
                                   "oidc", {"url": UNKNOWN, "clientIdLists": ["sts.amazonaws.com"]},
                                   prop_deps={"url": [c["urn"]]}), note="IRSA")],
        "fail": [S(eks()), S(eks(), res("aws:eks/addon:Addon", "cni", {
            "clusterName": "acme-dev", "addonName": "vpc-cni"}))],
    },
    "TRL-EKS-004": {
        "pass": [S(eks())],
        "fail": [S(eks(encryptionConfig=DELETE)),
                 S(eks(**{"encryptionConfig.provider": DELETE}))],
    },
    "TRL-EKS-005": {
        "pass": [S(eks())],
        "fail": [S(eks(enabledClusterLogTypes=["api"])), S(eks(enabledClusterLogTypes=DELETE))],
    },
    "TRL-EKS-006": {
        "pass": [S(eks()), S(eks(version="1.40"))],
        "fail": [S(eks(version="1.28")), S(eks(version=DELETE)),
                 S(eks(), config={"minKubernetesVersion": "1.34"})],
    },
    "TRL-EKS-007": {
        "pass": [S(eks()), S(eks(accessConfig={"authenticationMode": "API_AND_CONFIG_MAP"}))],
        "fail": [S(eks(accessConfig=DELETE))],
    },
    "TRL-GPU-001": {
        "pass": [S(pool()), S(node_group(), launch_template()),
                 S(res(POOL, "cpu", CPU_POOL), config={"allowedAccelerators": []},
                   note="CPU pools are not GPU pools")],
        "fail": [S(pool(), config={"allowedAccelerators": ["h100-80gb"]}),
                 S(pool(**{"nodeConfig.guestAccelerators": [{"type": "nvidia-l4", "count": 3}]})),
                 S(node_group(instanceTypes=["p9.48xlarge"]), note="unknown GPU type"),
                 S(node_group(instanceTypes=["g5.2xlarge"]), config={
                     "allowedAccelerators": ["l4"]})],
    },
    "TRL-GPU-002": {
        "pass": [S(pool()), S(node_group())],
        "fail": [S(pool(autoscaling=DELETE, nodeCount=2)),
                 S(pool(autoscaling={"minNodeCount": 0, "maxNodeCount": 8}, nodeLocations=DELETE,
                        **{"nodeConfig.guestAccelerators": [{"type": "nvidia-l4", "count": 8}],
                           "nodeConfig.machineType": "g2-standard-96"}),
                   note="8 GPUs x 8 nodes x 1 zone is fine, x 3 zones is not",
                   config={"maxGpusPerPool": 64}),
                 S(node_group(instanceTypes=["p5.48xlarge"], **{"scalingConfig.maxSize": 16})),
                 S(pool(), config={"maxGpusPerPool": 1})],
    },
    "TRL-GPU-003": {
        "pass": [S(pool(), tier="sandbox"), S(node_group(), tier="sandbox"),
                 S(pool(**{"autoscaling.totalMinNodeCount": 1}), tier="production"),
                 S(pool(autoscaling=DELETE, nodeCount=0), tier="sandbox",
                   note="a fixed pool of zero nodes")],
        "fail": [S(pool(**{"autoscaling.totalMinNodeCount": 1}), tier="sandbox"),
                 S(node_group(**{"scalingConfig.minSize": 1}), tier="sandbox"),
                 S(pool(nodeCount=1), tier="sandbox"),
                 S(pool(autoscaling=DELETE, initialNodeCount=1), tier="sandbox")],
    },
    "TRL-GPU-004": {
        "pass": [S(pool()), S(node_group()), S(res(POOL, "cpu", CPU_POOL))],
        "fail": [S(pool(**{"nodeConfig.taints": DELETE})),
                 S(node_group(taints=[{"key": "nvidia.com/gpu", "value": "present",
                                       "effect": "PREFER_NO_SCHEDULE"}])),
                 S(node_group(taints=[{"key": "dedicated", "value": "gpu",
                                       "effect": "NO_SCHEDULE"}]))],
    },
    "TRL-GPU-005": {
        "pass": [S(pool()), S(node_group()),
                 S(node_group(amiType="CUSTOM"), launch_template(imageId="ami-0gpu"),
                   note="custom AMI in the launch template")],
        "fail": [S(pool(**{"nodeConfig.guestAccelerators": [{"type": "nvidia-l4", "count": 1}]})),
                 S(pool(**{"nodeConfig.guestAccelerators": DELETE,
                           "nodeConfig.machineType": "a3-highgpu-8g"}), note="implicit GPUs"),
                 S(node_group(amiType="AL2023_x86_64_STANDARD"), launch_template())],
    },
    "TRL-GPU-006": {
        "pass": [S(pool()),
                 S(sa := service_account("acme-dev-gpu"), res(POOL, "serve", mod(GOOD_POOL, {
                     "nodeConfig.serviceAccount": UNKNOWN}), prop_deps={
                         "nodeConfig": [sa["urn"]]}), note="email computed from the account"),
                 S(res(POOL, "cpu", mod(CPU_POOL, {"nodeConfig.serviceAccount": DELETE})))],
        "fail": [S(pool(**{"nodeConfig.serviceAccount":
                           "123456789012-compute@developer.gserviceaccount.com"})),
                 S(pool(**{"nodeConfig.serviceAccount": DELETE})),
                 S(pool(**{"nodeConfig.serviceAccount": "default"}))],
    },
    "TRL-GPU-007": {
        "pass": [S(pool()), S(node_group())],
        "fail": [S(node_group(remoteAccess={"ec2SshKey": "ops"})),
                 S(pool(**{"nodeConfig.metadata": {"ssh-keys": "ops:ssh-ed25519 AAAA"}}))],
    },
    "TRL-GPU-008": {
        "pass": [S(node_group(), launch_template())],
        "fail": [S(node_group(launchTemplate=DELETE)),
                 S(node_group(), launch_template(**{"metadataOptions.httpTokens": "optional"})),
                 S(node_group(), note="launch template outside the stack")],
    },
    "TRL-GPU-009": {
        "pass": [S(pool()), S(node_group()), S(pool(), config={"requiredLabels": ["team"]})],
        "fail": [S(pool(**{"nodeConfig.resourceLabels": {"team": "recsys"}})),
                 S(node_group(tags=DELETE)),
                 S(pool(), config={"requiredLabels": ["cost-center"]})],
    },
    "TRL-PIPE-001": {
        "pass": [S(sa := service_account("acme-dev-recsys-sched"),
                   scheduler_job(sa["outputs"]["email"])),
                 S(role("acme-dev-recsys-pipeline"),
                   sm_pipeline(f"{ARN}acme-dev-recsys-pipeline"))],
        "fail": [S(scheduler_job("123456789012-compute@developer.gserviceaccount.com")),
                 S(scheduler_job(None)),
                 S(scheduler_job("sched@acme-ml-dev.iam.gserviceaccount.com",
                                 pipeline_sa="acme-ml-dev@appspot.gserviceaccount.com")),
                 S(sm_pipeline(f"{ARN}service-role/AmazonSageMaker-ExecutionRole-20240101"))],
    },
    "TRL-PIPE-002": {
        "pass": [S(sa := service_account("acme-dev-recsys-sched"),
                   scheduler_job(sa["outputs"]["email"]),
                   project_grant("sched-vertex", "roles/aiplatform.user",
                                 sa["outputs"]["member"])),
                 S(sa := service_account("acme-dev-recsys-pipe"),
                   scheduler_job(sa["outputs"]["email"]),
                   bucket_grant("pipe-models", "roles/storage.objectAdmin",
                                sa["outputs"]["member"]),
                   note="object data role on one bucket is not administration"),
                 S(role("acme-dev-recsys-pipeline"), sm_pipeline(f"{ARN}acme-dev-recsys-pipeline"),
                   inline_policy("acme-dev-recsys-pipeline", [{
                       "Effect": "Allow", "Action": ["s3:GetObject"],
                       "Resource": "arn:aws:s3:::acme-dev-data/*"}]))],
        "fail": [S(sa := service_account("acme-dev-recsys-sched"),
                   scheduler_job(sa["outputs"]["email"]),
                   project_grant("sched-editor", "roles/editor", sa["outputs"]["member"])),
                 S(sa := service_account("acme-dev-recsys-pipe"),
                   scheduler_job(sa["outputs"]["email"]),
                   bucket_grant("pipe-admin", "roles/storage.admin", sa["outputs"]["member"])),
                 S(sa := service_account("acme-dev-recsys-pipe"),
                   scheduler_job(sa["outputs"]["email"]),
                   project_grant("pipe-objects", "roles/storage.objectAdmin",
                                 sa["outputs"]["member"]), note="objectAdmin on every bucket"),
                 S(sa2 := service_account("acme-dev-recsys-sched"),
                   scheduler_job(sa2["outputs"]["email"]),
                   res("gcp:projects/iAMMember:IAMMember", "sched-admin", {
                       "project": "acme-ml-dev", "role": "roles/storage.admin",
                       "member": UNKNOWN}, prop_deps={"member": [sa2["urn"]]}),
                   note="member computed from the account"),
                 S(role("acme-dev-recsys-pipeline"), sm_pipeline(f"{ARN}acme-dev-recsys-pipeline"),
                   attachment("acme-dev-recsys-pipeline",
                              "arn:aws:iam::aws:policy/AmazonSageMakerFullAccess")),
                 S(sm_pipeline(f"{ARN}someone-elses-role"), note="role outside the stack")],
    },
    "TRL-PIPE-003": {
        "pass": [S(sa := service_account("acme-dev-recsys-sched"),
                   scheduler_job(sa["outputs"]["email"],
                                 pipeline_sa="acme-dev-recsys-pipe@acme-ml-dev.iam.gserviceaccount.com"),
                   project_grant("sched-vertex", "roles/aiplatform.user", sa["outputs"]["member"]),
                   res("gcp:serviceaccount/iAMMember:IAMMember", "sched-actas", {
                       "serviceAccountId": "projects/acme-ml-dev/serviceAccounts/"
                                           "acme-dev-recsys-pipe@acme-ml-dev.iam.gserviceaccount.com",
                       "role": "roles/iam.serviceAccountUser",
                       "member": sa["outputs"]["member"]})),
                 S(role("acme-dev-recsys-sched"), schedule(f"{ARN}acme-dev-recsys-sched"),
                   inline_policy("acme-dev-recsys-sched", START_ONLY))],
        "fail": [S(sa := service_account("acme-dev-recsys-sched"),
                   scheduler_job(sa["outputs"]["email"]),
                   project_grant("sched-storage", "roles/storage.objectAdmin",
                                 sa["outputs"]["member"])),
                 S(sa2 := service_account("acme-dev-recsys-sched"),
                   scheduler_job(sa2["outputs"]["email"]),
                   bucket_grant("sched-read", "roles/storage.objectViewer",
                                sa2["outputs"]["member"])),
                 S(sa3 := service_account("acme-dev-recsys-sched"),
                   scheduler_job(sa3["outputs"]["email"], pipeline_sa=sa3["outputs"]["email"]),
                   note="trigger and pipeline share an identity"),
                 S(role("acme-dev-recsys-sched"), schedule(f"{ARN}acme-dev-recsys-sched"),
                   inline_policy("acme-dev-recsys-sched", [{
                       "Effect": "Allow", "Action": "sagemaker:*", "Resource": "*"}])),
                 S(role("acme-dev-recsys-pipe"), sm_pipeline(f"{ARN}acme-dev-recsys-pipe"),
                   schedule(f"{ARN}acme-dev-recsys-pipe"),
                   inline_policy("acme-dev-recsys-pipe", START_ONLY)),
                 S(role("acme-dev-recsys-sched"), schedule(f"{ARN}acme-dev-recsys-sched"),
                   inline_policy("acme-dev-recsys-sched", START_ONLY),
                   attachment("acme-dev-recsys-sched",
                              "arn:aws:iam::aws:policy/AmazonSageMakerReadOnly"))],
    },
    "TRL-IAM-001": {
        "pass": [S(project_grant("viewer", "roles/storage.objectViewer", "group:a@acme.com"))],
        "fail": [S(project_grant("owner", "roles/owner", "user:bob@acme.com")),
                 S(res("gcp:projects/iAMPolicy:IAMPolicy", "policy", {
                     "project": "acme-ml-dev", "policyData": json.dumps({"bindings": [
                         {"role": "roles/editor", "members": ["group:a@acme.com"]}]})})),
                 S(bucket_grant("bucket-viewer", "roles/viewer", "group:a@acme.com"))],
    },
    "TRL-IAM-002": {
        "pass": [S(inline_policy("r", [{"Effect": "Allow", "Action": "s3:GetObject",
                                        "Resource": "*"}])),
                 S(inline_policy("r", [{"Effect": "Deny", "Action": "*", "Resource": "*"}]))],
        "fail": [S(inline_policy("r", [{"Effect": "Allow", "Action": "*", "Resource": "*"}])),
                 S(role("r", inlinePolicies=[{"name": "all", "policy": json.dumps({
                     "Statement": [{"Effect": "Allow", "Action": ["*"],
                                    "Resource": ["*"]}]})}])),
                 S(res("aws:iam/policy:Policy", "p", {"policy": {"Statement": {
                     "Effect": "Allow", "Action": "*:*", "Resource": "*"}}}))],
    },
    "TRL-IAM-003": {
        "pass": [S(attachment("node", "arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy")),
                 S(role("node", managedPolicyArns=[
                     "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly"]))],
        "fail": [S(attachment("node", "arn:aws:iam::aws:policy/AdministratorAccess")),
                 S(role("node", managedPolicyArns=["arn:aws:iam::aws:policy/AmazonS3FullAccess"]))],
    },
    "TRL-IAM-004": {
        "pass": [S(service_account("acme-dev-gpu"))],
        "fail": [S(service_account("acme-dev-gpu"), res("gcp:serviceaccount/key:Key", "key", {
            "serviceAccountId": "acme-dev-gpu"}))],
    },
    "TRL-IAM-005": {
        "pass": [S(role("ci"))],
        "fail": [S(res("aws:iam/user:User", "ci", {"name": "ci"})),
                 S(res("aws:iam/accessKey:AccessKey", "ci-key", {"user": "ci"}))],
    },
    "TRL-IAM-006": {
        "pass": [S(bucket_grant("a", "roles/storage.objectViewer", "group:a@acme.com"),
                   bucket_grant("b", "roles/storage.objectViewer", "group:b@acme.com")),
                 S(bucket_grant("a", "roles/storage.objectViewer", "group:a@acme.com",
                                kind="Binding"),
                   bucket_grant("b", "roles/storage.objectCreator", "group:b@acme.com")),
                 S(bucket_grant("a", "roles/storage.objectViewer", "group:a@acme.com",
                                kind="Policy"),
                   bucket_grant("b", "roles/storage.objectViewer", "group:b@acme.com",
                                bucket="acme-dev-other"))],
        "fail": [S(bucket_grant("a", "roles/storage.objectViewer", "group:a@acme.com",
                                kind="Policy"),
                   bucket_grant("b", "roles/storage.objectCreator", "group:b@acme.com")),
                 S(bucket_grant("a", "roles/storage.objectViewer", "group:a@acme.com",
                                kind="Binding"),
                   bucket_grant("b", "roles/storage.objectViewer", "group:b@acme.com",
                                bucket="b/acme-dev-recsys-models"), note="b/ prefix"),
                 S(b := gcs(), res(BUCKET_IAM_MEMBER, "m", {
                     "bucket": UNKNOWN, "role": "roles/storage.objectViewer",
                     "member": "group:b@acme.com"}, prop_deps={"bucket": [b["urn"]]}),
                   bucket_grant("a", "roles/storage.objectViewer", "group:a@acme.com",
                                kind="Binding"), note="unknown bucket ref joined by dependency")],
    },
    "TRL-PUL-001": {
        "pass": [S(res(GCS, "models", GOOD_GCS, protect=True)),
                 S(res(GCS, "models", GOOD_GCS), tier="sandbox")],
        "fail": [S(res(GCS, "models", GOOD_GCS)), S(eks()), S(ecr())],
    },
    "TRL-PUL-002": {
        "pass": [S(gcs()), S(res(GCS, "nested", GOOD_GCS, parent=res(
            "trellis:gcp:Bucket", "models", parent=TEAM, custom=False)))],
        "fail": [S(res(GCS, "raw", GOOD_GCS, parent=None)),
                 S(res(GCS, "wrapped", GOOD_GCS, parent=res("acme:index:Wrapper", "w",
                                                            parent=None, custom=False)))],
    },
}


test_violating_fixture_is_reported, test_compliant_fixture_passes = fixture_tests(CASES)


def all_cases() -> dict[str, dict[str, list[Stack]]]:
    """CASES of this module merged with the CASES of every other test module beside it."""
    merged = {k: dict(v) for k, v in CASES.items()}
    for path in sorted(Path(__file__).parent.glob("test_*.py")):
        if path.stem == Path(__file__).stem:
            continue
        other = getattr(importlib.import_module(path.stem), "CASES", None)
        for rule_id, cases in (other or {}).items():
            for kind, stacks in cases.items():
                merged.setdefault(rule_id, {}).setdefault(kind, []).extend(stacks)
    return merged


def test_every_rule_has_a_compliant_and_a_violating_fixture() -> None:
    cases = all_cases()
    missing = [f"{r.id}: needs {kind} fixture" for r in all_rules()
               for kind in ("pass", "fail") if not cases.get(r.id, {}).get(kind)]
    unknown = sorted(set(cases) - {r.id for r in all_rules()})
    assert not missing, "\n".join(missing)
    assert not unknown, f"fixtures for rules that do not exist: {unknown}"


def test_violations_name_the_resource_and_carry_metadata() -> None:
    report = check(S(gcs(uniformBucketLevelAccess=False)))
    (f,) = findings(report, "TRL-GCS-001")
    assert f.urn.endswith("::models") and f.resource_type == GCS
    assert f.logical_path == "recsys/models"
    assert (f.severity, f.enforcement) == ("high", "mandatory")
    assert "uniform_bucket_level_access" in f.remediation


def test_stack_findings_point_at_the_bucket_not_the_stack() -> None:
    report = check(S(*s3_group(skip=("pab",))))
    (f,) = findings(report, "TRL-S3-001")
    assert f.urn.endswith("$aws:s3/bucket:Bucket::data")
