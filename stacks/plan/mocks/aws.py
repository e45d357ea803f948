"""Mock outputs of pulumi-aws resources for the offline plan (see stacks/plan/mocks/answers.py)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from components import catalog
from stacks.org import rules
from stacks.org.spec import EnvSpec
from stacks.plan.mocks.common import FAKE_CA as _FAKE_CA
from stacks.plan.mocks.common import STAND_IN
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


# ---- invokes ---------------------------------------------------------------------------------

#: Who "runs" the offline plan when the environment lists no admin: a placeholder role, so the
#: plan shows the deployer's access entry as `pulumi up` would create it for the real deployer.
OFFLINE_DEPLOYER_ROLE = "offline-plan-deployer"


def _zone_ids(env: EnvSpec) -> list[str]:
    """The region's zone IDs as the catalogue knows them (EKS-refused ones included, as
    DescribeAvailabilityZones lists them), or three made from the region's prefix."""
    known = list(catalog.aws_region_zone_ids(env.region))
    if len(known) < 2:
        prefix = catalog.aws_zone_prefix(env.region)
        known = [f"{prefix}-az{i}" for i in (1, 2, 3)]
    return known


def availability_zones(env: EnvSpec, args: dict[str, Any]) -> dict[str, Any]:
    ids = [z for z in _zone_ids(env) if z not in (args.get("excludeZoneIds") or [])]
    # Names map to IDs per account; in the plan, in ID order.
    names = [f"{env.region}{chr(ord('a') + i)}" for i in range(len(ids))]
    return {"names": names, "zoneIds": ids, "groupNames": [env.region] * len(ids),
            "id": env.region}


def _deployer(env: EnvSpec) -> tuple[str, str]:
    """(session ARN, issuer ARN) of the plan's deployer: the first admin in the account."""
    acct = env.account or "123456789012"
    for admin in env.platform.admins:
        account, kind, name = rules.aws_principal(admin)
        if account == acct:
            if kind == "user":
                return admin, admin
            return f"arn:aws:sts::{acct}:assumed-role/{name}/trellis-plan", admin
    return (f"arn:aws:sts::{acct}:assumed-role/{OFFLINE_DEPLOYER_ROLE}/trellis-plan",
            f"arn:aws:iam::{acct}:role/{OFFLINE_DEPLOYER_ROLE}")


def caller_identity(env: EnvSpec, args: dict[str, Any]) -> dict[str, Any]:
    acct = env.account or "123456789012"
    session, _ = _deployer(env)
    return {"accountId": acct, "arn": session, "userId": "AROA" + _digits(session, 17),
            "id": acct}


def session_context(env: EnvSpec, args: dict[str, Any]) -> dict[str, Any]:
    arn = str(args.get("arn") or "")
    session, issuer = _deployer(env)
    if arn != session:  # another ARN: what the provider does with it
        account, _, name = rules.aws_principal(arn)
        issuer = f"arn:aws:iam::{account}:role/{name}" if ":assumed-role/" in arn else arn
    _, _, name = rules.aws_principal(issuer)
    return {"arn": arn, "issuerArn": issuer, "issuerId": "AROA" + _digits(issuer, 17),
            "issuerName": name, "sessionName": arn.rsplit("/", 1)[-1] if arn != issuer else "",
            "id": arn}


#: Add-on versions answered offline (shaped like EKS's; kube-proxy follows the cluster).
_ADDON_VERSIONS = {"vpc-cni": "v1.20.4-eksbuild.1", "coredns": "v1.12.4-eksbuild.1",
                   "eks-pod-identity-agent": "v1.3.9-eksbuild.3"}


def addon_version(env: EnvSpec, args: dict[str, Any]) -> dict[str, Any]:
    name, k8s = str(args.get("addonName")), str(args.get("kubernetesVersion"))
    version = _ADDON_VERSIONS.get(name, f"v{k8s}.0-eksbuild.1")
    return {"addonName": name, "kubernetesVersion": k8s, "mostRecent": args.get("mostRecent"),
            "version": version, "id": name}


def region(env: EnvSpec, args: dict[str, Any]) -> dict[str, Any]:
    return {"name": env.region, "region": env.region, "partition": "aws",
            "dnsSuffix": "amazonaws.com", "id": env.region}


def object_body(bucket: str, key: str) -> str:
    """What ``aws.s3.getObject`` answers offline for an ``s3://`` pipeline definition.

    The real object is read by ``pulumi up``; the plan shows a minimal definition in its
    place, which says so.
    """
    return json.dumps({
        "Version": "2020-12-01",
        "Metadata": {STAND_IN: f"s3://{bucket}/{key} is read by pulumi up"},
        "Parameters": [],
        "Steps": [{"Name": "OfflinePlanPlaceholder", "Type": "Fail",
                   "Arguments": {"ErrorMessage": "offline plan placeholder"}}],
    })


def s3_object(env: EnvSpec, args: dict[str, Any]) -> dict[str, Any]:
    bucket, key = str(args.get("bucket")), str(args.get("key"))
    return {"bucket": bucket, "key": key, "id": f"{bucket}/{key}",
            "body": object_body(bucket, key), "contentType": "application/json",
            "etag": _digits(f"{bucket}/{key}", 32)}


#: Invokes the AWS program makes. eks/getNodeGroup is absent: {} reads as "no such group yet",
#: what a fresh account answers.
INVOKES: dict[str, Callable[[EnvSpec, dict[str, Any]], dict[str, Any]]] = {
    "aws:index/getAvailabilityZones:getAvailabilityZones": availability_zones,
    "aws:index/getCallerIdentity:getCallerIdentity": caller_identity,
    "aws:iam/getSessionContext:getSessionContext": session_context,
    "aws:eks/getAddonVersion:getAddonVersion": addon_version,
    "aws:index/getRegion:getRegion": region,
    "aws:index/getPartition:getPartition": region,
    "aws:s3/getObject:getObject": s3_object,
}
