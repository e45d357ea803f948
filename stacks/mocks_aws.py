"""Mock outputs of pulumi-aws resources for the offline plan (see stacks/mockstate.py)."""

from __future__ import annotations

from typing import Any

from stacks.mockstate import FAKE_CA as _FAKE_CA
from stacks.mockstate import digits as _digits
from stacks.spec import EnvSpec


def state(env: EnvSpec, typ: str, name: str, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
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
