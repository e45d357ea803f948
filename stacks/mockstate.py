"""Realistic outputs for the offline plan: what the clouds would return for each resource.

The mocks answer a registration with the inputs plus the outputs the provider computes (ids,
emails, ARNs, self links, endpoints), shaped like the real ones, so code that wires one
resource's output into another's input resolves exactly as it would under ``pulumi up``.
"""

from __future__ import annotations

import base64
import hashlib
from typing import Any

from stacks.spec import EnvSpec

_FAKE_CA = base64.b64encode(b"-----BEGIN CERTIFICATE-----\nTRELLIS-OFFLINE-PLAN\n"
                            b"-----END CERTIFICATE-----\n").decode()


def _digits(seed: str, n: int) -> str:
    return str(int(hashlib.sha256(seed.encode()).hexdigest(), 16))[:n]


def _gcp(env: EnvSpec, typ: str, name: str, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    project = inputs.get("project") or env.project or "project"
    location = inputs.get("location") or inputs.get("region") or env.region
    state: dict[str, Any] = {"project": project}
    rid = inputs.get("name") or name
    if typ == "gcp:serviceaccount/account:Account":
        email = f"{inputs['accountId']}@{project}.iam.gserviceaccount.com"
        rid = f"projects/{project}/serviceAccounts/{email}"
        state.update(email=email, name=rid, uniqueId=_digits(email, 21),
                     member=f"serviceAccount:{email}")
    elif typ == "gcp:storage/bucket:Bucket":
        rid = inputs.get("name") or name
        state.update(url=f"gs://{rid}", selfLink=f"https://www.googleapis.com/storage/v1/b/{rid}")
    elif typ == "gcp:container/cluster:Cluster":
        rid = f"projects/{project}/locations/{location}/clusters/{inputs.get('name', name)}"
        state.update(endpoint="172.16.0.2", selfLink=f"https://container.googleapis.com/v1/{rid}",
                     masterAuth={"clusterCaCertificate": _FAKE_CA},
                     masterVersion="1.33.5-gke.1000", operation=None)
    elif typ == "gcp:container/nodePool:NodePool":
        rid = f"{location}/{inputs.get('cluster', 'cluster')}/{inputs.get('name', name)}"
        state.update(instanceGroupUrls=[], managedInstanceGroupUrls=[])
    elif typ == "gcp:artifactregistry/repository:Repository":
        repo = inputs.get("repositoryId", name)
        rid = f"projects/{project}/locations/{location}/repositories/{repo}"
        fmt = str(inputs.get("format", "DOCKER")).lower()
        host = "docker" if fmt == "docker" else fmt
        state.update(name=repo, registryUri=f"{location}-{host}.pkg.dev/{project}/{repo}")
    elif typ == "gcp:compute/network:Network":
        state.update(selfLink=f"https://www.googleapis.com/compute/v1/projects/{project}/global/"
                              f"networks/{rid}", gatewayIpv4="10.0.0.1")
    elif typ == "gcp:compute/subnetwork:Subnetwork":
        state.update(selfLink=f"https://www.googleapis.com/compute/v1/projects/{project}/regions/"
                              f"{location}/subnetworks/{rid}", gatewayAddress="10.0.0.1")
    elif typ == "gcp:projects/service:Service":
        rid = f"{project}/{inputs.get('service')}"
    elif typ == "gcp:kms/keyRing:KeyRing":
        rid = f"projects/{project}/locations/{location}/keyRings/{rid}"
    elif typ == "gcp:kms/cryptoKey:CryptoKey":
        rid = f"{inputs.get('keyRing', 'keyring')}/cryptoKeys/{rid}"
    elif typ == "gcp:projects/serviceIdentity:ServiceIdentity" or typ.startswith(
            "gcp:projects/serviceIdentity"):
        svc = str(inputs.get("service", "service")).split(".")[0]
        number = _digits(str(project), 12)
        state.update(email=f"service-{number}@gcp-sa-{svc}.iam.gserviceaccount.com",
                     member=f"serviceAccount:service-{number}@gcp-sa-{svc}.iam.gserviceaccount.com")
    elif typ == "gcp:cloudscheduler/job:Job":
        rid = f"projects/{project}/locations/{location}/jobs/{rid}"
    elif typ == "gcp:billing/budget:Budget":
        rid = f"billingAccounts/{inputs.get('billingAccount')}/budgets/{_digits(name, 10)}"
        state.update(name=rid)
    elif typ == "gcp:monitoring/notificationChannel:NotificationChannel":
        rid = f"projects/{project}/notificationChannels/{_digits(name, 19)}"
        state.update(name=rid)
    elif typ == "gcp:storage/bucketObject:BucketObject":
        state.update(selfLink=f"https://www.googleapis.com/storage/v1/b/{inputs.get('bucket')}/o/"
                              f"{rid}", mediaLink="", md5hash="")
    if "name" not in state and "name" not in inputs:
        state["name"] = rid
    return str(rid), state


def _aws(env: EnvSpec, typ: str, name: str, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    account = env.account or "123456789012"
    region = env.region
    state: dict[str, Any] = {}
    service = typ.split(":")[1].split("/")[0]
    rid = str(inputs.get("name") or inputs.get("bucket") or name)
    arn = f"arn:aws:{service}:{region}:{account}:{typ.split(':')[-1].lower()}/{rid}"
    if typ == "aws:iam/role:Role":
        arn = f"arn:aws:iam::{account}:role/{rid}"
        state.update(uniqueId="AROA" + _digits(rid, 17))
    elif typ == "aws:iam/policy:Policy":
        arn = f"arn:aws:iam::{account}:policy/{rid}"
        state.update(policyId="ANPA" + _digits(rid, 17))
    elif typ == "aws:s3/bucket:Bucket":
        arn = f"arn:aws:s3:::{rid}"
        state.update(bucketDomainName=f"{rid}.s3.amazonaws.com",
                     bucketRegionalDomainName=f"{rid}.s3.{region}.amazonaws.com", region=region)
    elif typ == "aws:kms/key:Key":
        rid = "mrk-" + _digits(name, 32)
        arn = f"arn:aws:kms:{region}:{account}:key/{rid}"
        state.update(keyId=rid)
    elif typ == "aws:eks/cluster:Cluster":
        arn = f"arn:aws:eks:{region}:{account}:cluster/{rid}"
        oidc = f"https://oidc.eks.{region}.amazonaws.com/id/{_digits(rid, 32)}"
        state.update(endpoint=f"https://{_digits(rid, 32)}.gr7.{region}.eks.amazonaws.com",
                     certificateAuthority={"data": _FAKE_CA},
                     certificateAuthorities=[{"data": _FAKE_CA}],
                     identities=[{"oidcs": [{"issuer": oidc}]}], status="ACTIVE",
                     version=inputs.get("version") or "1.33", platformVersion="eks.1",
                     clusterId=_digits(rid, 32),
                     vpcConfig={**(inputs.get("vpcConfig") or {}),
                                "clusterSecurityGroupId": "sg-" + _digits(rid, 17)})
    elif typ == "aws:eks/nodeGroup:NodeGroup":
        arn = f"arn:aws:eks:{region}:{account}:nodegroup/{inputs.get('clusterName')}/{rid}/x"
        state.update(resources=[{"autoscalingGroups": [{"name": f"eks-{rid}-{_digits(rid, 8)}"}],
                                 "remoteAccessSecurityGroupId": ""}], status="ACTIVE")
    elif typ == "aws:ec2/vpc:Vpc":
        rid = "vpc-" + _digits(name, 17)
        state.update(defaultSecurityGroupId="sg-" + _digits(name + "sg", 17),
                     mainRouteTableId="rtb-" + _digits(name, 17))
    elif typ.startswith("aws:ec2/"):
        prefix = {"subnet": "subnet", "internetGateway": "igw", "natGateway": "nat",
                  "eip": "eipalloc", "routeTable": "rtb", "securityGroup": "sg",
                  "launchTemplate": "lt", "vpcEndpoint": "vpce"}.get(typ.split("/")[1].split(":")[0],
                                                                    "res")
        rid = f"{prefix}-{_digits(name, 17)}"
        if typ == "aws:ec2/launchTemplate:LaunchTemplate":
            state.update(latestVersion=1, defaultVersion=1)
        if typ == "aws:ec2/eip:Eip":
            state.update(publicIp="198.51.100." + _digits(name, 2), allocationId=rid)
    elif typ == "aws:ecr/repositoryCreationTemplate:RepositoryCreationTemplate":
        state.update(registryId=account)
    elif typ == "aws:sagemaker/modelPackageGroup:ModelPackageGroup":
        arn = f"arn:aws:sagemaker:{region}:{account}:model-package-group/{rid}"
    elif typ == "aws:sagemaker/pipeline:Pipeline":
        arn = f"arn:aws:sagemaker:{region}:{account}:pipeline/{rid}"
    elif typ == "aws:scheduler/schedule:Schedule":
        arn = f"arn:aws:scheduler:{region}:{account}:schedule/default/{rid}"
    elif typ == "aws:budgets/budget:Budget":
        arn = f"arn:aws:budgets::{account}:budget/{rid}"
    state.setdefault("arn", arn)
    state.setdefault("id", rid)
    state.setdefault("tagsAll", {**(inputs.get("tags") or {})})
    return rid, state


def mock_state(env: EnvSpec, typ: str, name: str, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """``(id, state)`` a real provider would return for this registration."""
    if typ.startswith("pulumi:providers:"):
        return f"{name}-provider-id", dict(inputs)
    if typ.startswith("gcp:"):
        rid, extra = _gcp(env, typ, name, inputs)
    elif typ.startswith("aws:"):
        rid, extra = _aws(env, typ, name, inputs)
    else:  # kubernetes and others: inputs echo plus a uid
        rid, extra = name, {"metadata": {**(inputs.get("metadata") or {}),
                                         "uid": _digits(name, 12)}} if "metadata" in inputs else {}
    return rid, {**inputs, **extra}


def mock_call(env: EnvSpec, token: str, args: dict[str, Any]) -> dict[str, Any]:
    """Answers to data-source invokes a program may make."""
    region = env.region
    if token == "aws:index/getAvailabilityZones:getAvailabilityZones":
        names = [f"{region}{z}" for z in "abc"]
        return {"names": names, "zoneIds": [f"use1-az{i}" for i in range(1, 4)], "id": region}
    if token == "aws:index/getCallerIdentity:getCallerIdentity":
        acct = env.account or "123456789012"
        return {"accountId": acct, "arn": f"arn:aws:iam::{acct}:root", "userId": acct, "id": acct}
    if token in ("aws:index/getRegion:getRegion", "aws:index/getPartition:getPartition"):
        return {"name": region, "region": region, "partition": "aws", "dnsSuffix": "amazonaws.com",
                "id": region}
    if token == "gcp:organizations/getProject:getProject":
        project = args.get("projectId") or env.project
        return {"projectId": project, "number": _digits(str(project), 12), "name": project,
                "id": f"projects/{project}"}
    if token == "gcp:organizations/getClientConfig:getClientConfig":
        return {"accessToken": "offline-plan-token", "project": env.project, "region": region}
    return {}
