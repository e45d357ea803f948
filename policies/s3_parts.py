"""S3 parts judged on their own: a public access block with a setting off, or an ACL that grants
the public, is wrong whether or not its bucket is in the stack.

TRL-S3-001 and TRL-S3-002 ask, per bucket of the stack, whether its parts add up to a private
bucket; they cannot see a part aimed at a bucket created elsewhere (another stack, the console),
and they pass a bucket that has one good block beside a bad one. These resource rules close
both gaps, and run before the part is applied.
"""

from __future__ import annotations

from collections.abc import Iterator

from policies.aws_s3 import PAB_FLAGS
from policies.registry import resource_rule
from policies.settings import Settings
from policies.view import Res, as_list, at, peek_at

BUCKET_PAB = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
ACCOUNT_PAB = "aws:s3/accountPublicAccessBlock:AccountPublicAccessBlock"
ACLS = ("aws:s3/bucketAcl:BucketAcl", "aws:s3/bucketAclV2:BucketAclV2")
OBJECTS = ("aws:s3/bucketObject:BucketObject", "aws:s3/bucketObjectv2:BucketObjectv2")
#: Canned ACLs that grant everyone (AllUsers) or every AWS account (AuthenticatedUsers).
PUBLIC_CANNED = {"public-read": "anyone on the internet can read it",
                 "public-read-write": "anyone on the internet can read and overwrite it",
                 "authenticated-read": "anyone with an AWS account can read it"}
PUBLIC_GROUPS = ("http://acs.amazonaws.com/groups/global/AllUsers",
                 "http://acs.amazonaws.com/groups/global/AuthenticatedUsers")


@resource_rule(
    id="TRL-S3-008", title="S3 public access blocks fully on",
    description="Every S3 public access block, of a bucket or of the account, turns all four "
                "settings on.",
    severity="critical", enforcement="mandatory",
    remediation="Set block_public_acls, block_public_policy, ignore_public_acls and "
                "restrict_public_buckets to True (each defaults to False when omitted).",
    types=[BUCKET_PAB, ACCOUNT_PAB],
    checkov=["CKV_AWS_53", "CKV_AWS_54", "CKV_AWS_55", "CKV_AWS_56"],
    trivy=["AVD-AWS-0086", "AVD-AWS-0087", "AVD-AWS-0091", "AVD-AWS-0093"],
    cdk_nag=["S3BucketLevelPublicAccessProhibited"])
def s3_pab_fully_on(res: Res, settings: Settings) -> Iterator[str]:
    off = [f for f in PAB_FLAGS if res.get(f) is not True]
    if off:
        what = "the account's" if res.type == ACCOUNT_PAB else f"bucket {res.get('bucket')!s}'s"
        yield (f"{what} public access block leaves {', '.join(off)} off (false when omitted): "
               "public ACLs or policies can open the data")


def _public_grants(policy: object) -> list[str]:
    out = []
    for grant in as_list(at(policy, "grants")):
        uri = str(at(grant, "grantee", "uri") or "")
        if uri in PUBLIC_GROUPS:
            out.append(f"{peek_at(grant, 'permission')!s} to {uri.rsplit('/', 1)[-1]}")
    return out


@resource_rule(
    id="TRL-S3-009", title="No public S3 ACLs",
    description="No bucket or object ACL grants access to AllUsers or AuthenticatedUsers "
                "(public-read, public-read-write, authenticated-read or explicit grants).",
    severity="critical", enforcement="mandatory",
    remediation="Remove the ACL (Trellis buckets disable ACLs with BucketOwnerEnforced) and "
                "share data with a bucket policy naming the principals, or presigned URLs.",
    types=[*ACLS, *OBJECTS], checkov=["CKV_AWS_20", "CKV_AWS_57"], trivy=["AVD-AWS-0092"],
    cdk_nag=["S3BucketPublicReadProhibited", "S3BucketPublicWriteProhibited"])
def s3_no_public_acl(res: Res, settings: Settings) -> Iterator[str]:
    acl = res.get("acl")
    if isinstance(acl, str) and acl.strip().lower() in PUBLIC_CANNED:
        yield f"canned ACL {acl}: {PUBLIC_CANNED[acl.strip().lower()]}"
    if res.type in ACLS:
        grants = _public_grants(res.get("accessControlPolicy"))
        if grants:
            yield f"accessControlPolicy grants {', '.join(grants)}"
