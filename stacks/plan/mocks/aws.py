"""Mock outputs of pulumi-aws resources for the offline plan (see stacks/plan/mocks/answers.py)."""

from __future__ import annotations

from typing import Any

from stacks.org.spec import EnvSpec
from stacks.plan.mocks.common import FAKE_CA as _FAKE_CA
from stacks.plan.mocks.common import digits as _digits


def state(env: EnvSpec, typ: str, name: str, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    account = env.account or "123456789012"
    region = env.region
    state: dict[str, Any] = {}
    service = typ.split(":")[1].split("/")[0]
    rid = str(inputs.get("name") or inputs.get("bucket") or inputs.get("pipelineName")
              or inputs.get("modelPackageGroupName") or name)
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
                  "launchTemplate": "lt", "vpcEndpoint": "vpce", "route": "r",
                  "routeTableAssociation": "rtbassoc", "defaultSecurityGroup": "sg",
                  }.get(typ.split("/")[1].split(":")[0], "res")
        rid = f"{prefix}-{_digits(name, 17)}"
        if typ == "aws:ec2/launchTemplate:LaunchTemplate":
            state.update(latestVersion=1, defaultVersion=1)
        if typ == "aws:ec2/vpcEndpoint:VpcEndpoint":
            state.update(prefixListId="pl-" + _digits(name, 8), state="available")
        if typ == "aws:ec2/natGateway:NatGateway":
            state.update(publicIp="198.51.100." + _digits(name + "nat", 2),
                         networkInterfaceId="eni-" + _digits(name, 17))
        if typ == "aws:ec2/subnet:Subnet":
            arn = f"arn:aws:ec2:{region}:{account}:subnet/{rid}"
        if typ == "aws:ec2/eip:Eip":
            state.update(publicIp="198.51.100." + _digits(name, 2), allocationId=rid)
    elif typ == "aws:ecr/repositoryCreationTemplate:RepositoryCreationTemplate":
        rid = str(inputs.get("prefix"))
        state.update(registryId=account)
    elif typ == "aws:sagemaker/modelPackageGroup:ModelPackageGroup":
        arn = f"arn:aws:sagemaker:{region}:{account}:model-package-group/{rid}"
    elif typ == "aws:sagemaker/pipeline:Pipeline":
        arn = f"arn:aws:sagemaker:{region}:{account}:pipeline/{rid}"
    elif typ == "aws:scheduler/schedule:Schedule":
        arn = f"arn:aws:scheduler:{region}:{account}:schedule/default/{rid}"
    elif typ == "aws:budgets/budget:Budget":
        arn = f"arn:aws:budgets::{account}:budget/{rid}"
        rid = f"{account}:{rid}"
    elif typ == "aws:kms/alias:Alias":
        arn = f"arn:aws:kms:{region}:{account}:{rid}"
        state.update(targetKeyArn=f"arn:aws:kms:{region}:{account}:key/"
                     f"{inputs.get('targetKeyId')}")
    elif typ == "aws:cloudwatch/logGroup:LogGroup":
        arn = f"arn:aws:logs:{region}:{account}:log-group:{rid}"
    elif typ == "aws:iam/rolePolicy:RolePolicy":
        rid = f"{inputs.get('role')}:{inputs.get('name')}"
    elif typ == "aws:iam/rolePolicyAttachment:RolePolicyAttachment":
        rid = f"{inputs.get('role')}/{inputs.get('policyArn')}"
    elif typ == "aws:eks/addon:Addon":
        cluster = inputs.get("clusterName")
        arn = (f"arn:aws:eks:{region}:{account}:addon/{cluster}/{inputs.get('addonName')}/"
               f"{_digits(name, 8)}")
        rid = f"{cluster}:{inputs.get('addonName')}"
        state.update(addonVersion="v1.0.0-eksbuild.1")
    elif typ == "aws:eks/accessEntry:AccessEntry":
        cluster, principal = inputs.get("clusterName"), inputs.get("principalArn")
        arn = f"arn:aws:eks:{region}:{account}:access-entry/{cluster}/role/{_digits(name, 12)}"
        rid = f"{cluster}:{principal}"
        state.update(accessEntryArn=arn, kubernetesGroups=inputs.get("kubernetesGroups") or [],
                     userName=str(principal))
    elif typ == "aws:eks/accessPolicyAssociation:AccessPolicyAssociation":
        rid = f"{inputs.get('clusterName')}#{inputs.get('principalArn')}#{inputs.get('policyArn')}"
        state.update(associatedAt="2026-01-01T00:00:00Z")
    elif typ == "aws:eks/podIdentityAssociation:PodIdentityAssociation":
        rid = "a-" + _digits(name, 17)
        arn = (f"arn:aws:eks:{region}:{account}:podidentityassociation/"
               f"{inputs.get('clusterName')}/{rid}")
        state.update(associationArn=arn, associationId=rid)
    elif typ == "aws:autoscaling/tag:Tag":
        rid = f"{inputs.get('autoscalingGroupName')},{(inputs.get('tag') or {}).get('key')}"
    elif typ == "aws:ecr/registryScanningConfiguration:RegistryScanningConfiguration":
        rid = account
        state.update(registryId=account)
    elif typ.startswith("aws:s3/bucket") and typ != "aws:s3/bucket:Bucket":
        rid = str(inputs.get("bucket") or name)
    state.setdefault("arn", arn)
    state.setdefault("id", rid)
    state.setdefault("tagsAll", {**(inputs.get("tags") or {})})
    return rid, state
