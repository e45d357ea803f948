"""S3 rules over the split bucket resources (public access block, ACLs, policy, SSE, versioning).

Since pulumi-aws v7 the bucket's settings are separate resources joined by bucket name (see
:mod:`policies.joins`), so most rules here are stack rules: "this bucket has no public access
block" is only visible with every resource in hand. The deprecated inline arguments of
``aws:s3/bucket:Bucket`` are still honoured when set.
"""

from __future__ import annotations

from collections.abc import Iterator

from policies import iamdoc, tiers
from policies.gcp_storage import is_model_bucket
from policies.joins import S3_BUCKET_TYPES, S3_PART_TYPES, S3Bucket, s3_buckets
from policies.registry import each, resource_rule, stack_rule
from policies.settings import Settings
from policies.view import Res, Stack, as_list, at, require_known

PAB_FLAGS = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
POLICY_TYPES = ("aws:s3/bucketPolicy:BucketPolicy", *S3_BUCKET_TYPES)
KMS_ALGORITHMS = ("aws:kms", "aws:kms:dsse")
ALL_S3 = (*S3_BUCKET_TYPES, *S3_PART_TYPES)


def _groups(stack: Stack) -> dict[str, S3Bucket]:
    groups, _orphans = s3_buckets(stack)
    return {g.bucket.urn: g for g in groups}


@stack_rule(
    id="TRL-S3-001", title="S3 public access block",
    description="Every S3 bucket has a public access block with all four settings on.",
    severity="critical", enforcement="mandatory",
    remediation="Add an `aws.s3.BucketPublicAccessBlock` for the bucket with block_public_acls, "
                "block_public_policy, ignore_public_acls and restrict_public_buckets all True.",
    types=[*S3_BUCKET_TYPES, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"],
    checkov=["CKV2_AWS_6", "CKV_AWS_53", "CKV_AWS_54", "CKV_AWS_55", "CKV_AWS_56"],
    trivy=["AVD-AWS-0094", "AVD-AWS-0086", "AVD-AWS-0087", "AVD-AWS-0091", "AVD-AWS-0093"],
    cdk_nag=["AwsSolutions-S2", "S3BucketLevelPublicAccessProhibited"])
def s3_public_access_block(stack: Stack, settings: Settings) -> Iterator[tuple[str, str]]:
    groups = _groups(stack)

    def check(bucket: Res) -> Iterator[str]:
        blocks = groups[bucket.urn].part("public_access_block")
        if not blocks:
            yield "no BucketPublicAccessBlock refers to this bucket"
            return
        off = sorted({f for b in blocks for f in PAB_FLAGS if b.get(f) is not True})
        if off and not any(all(b.get(f) is True for f in PAB_FLAGS) for b in blocks):
            yield f"public access block leaves {', '.join(off)} off"
    yield from each(stack.of_type(*S3_BUCKET_TYPES), check)


@stack_rule(
    id="TRL-S3-002", title="S3 ACLs disabled",
    description="S3 buckets disable ACLs with BucketOwnerEnforced object ownership and set no "
                "ACL grants.",
    severity="high", enforcement="mandatory",
    remediation="Add an `aws.s3.BucketOwnershipControls` with "
                "`rule={\"object_ownership\": \"BucketOwnerEnforced\"}` and remove bucket ACLs; "
                "grant access with IAM and bucket policies.",
    types=[*S3_BUCKET_TYPES, "aws:s3/bucketOwnershipControls:BucketOwnershipControls",
           "aws:s3/bucketAcl:BucketAcl", "aws:s3/bucketAclV2:BucketAclV2"],
    checkov=["CKV2_AWS_65"], trivy=["AVD-AWS-0092"],
    cdk_nag=["S3BucketPublicReadProhibited", "S3BucketPublicWriteProhibited"])
def s3_acls_disabled(stack: Stack, settings: Settings) -> Iterator[tuple[str, str]]:
    groups = _groups(stack)

    def check(bucket: Res) -> Iterator[str]:
        group = groups[bucket.urn]
        owners = [o.get("rule", "objectOwnership") for o in group.part("ownership")]
        if "BucketOwnerEnforced" not in owners:
            found = f" (found {', '.join(map(str, owners))})" if owners else ""
            yield f"object ownership is not BucketOwnerEnforced{found}, so ACLs still apply"
        acl = bucket.get("acl")
        if acl not in (None, "", "private"):
            yield f"bucket acl is {acl!r}"
        if as_list(require_known(bucket.get("grants"), ("grants",))):
            yield "bucket sets ACL grants"
        for part in group.part("acl"):
            part_acl = part.get("acl")
            grants = require_known(part.get("accessControlPolicy"), ("accessControlPolicy",))
            if part_acl not in (None, "", "private") or grants:
                yield f"BucketAcl '{part.name}' sets {part_acl or 'access control grants'}"
    yield from each(stack.of_type(*S3_BUCKET_TYPES), check)


@resource_rule(
    id="TRL-S3-003", title="No public S3 bucket policy",
    description="No S3 bucket policy allows an unconditioned wildcard principal.",
    severity="critical", enforcement="mandatory",
    remediation="Replace `Principal: \"*\"` with the account, role or service that needs "
                "access, or narrow the statement with a Condition (aws:PrincipalOrgID, "
                "aws:SourceVpce).",
    types=POLICY_TYPES, checkov=["CKV_AWS_70"])
def s3_no_public_policy(res: Res, settings: Settings) -> Iterator[str]:
    doc = iamdoc.document(res.get("policy"), "policy")
    for st in iamdoc.public_allows(doc):
        label = f"statement {st.sid!r}" if st.sid else "a statement"
        yield f"{label} allows {', '.join(st.actions) or 'actions'} to any principal"


def _policies(group: S3Bucket) -> list[dict[str, object]]:
    docs = [iamdoc.document(p.get("policy"), "policy") for p in group.part("policy")]
    inline = iamdoc.document(group.bucket.get("policy"), "policy")
    return [*docs, inline] if inline else docs


@stack_rule(
    id="TRL-S3-004", title="S3 TLS only",
    description="S3 bucket policies deny requests that do not use TLS.",
    severity="high", enforcement="mandatory",
    remediation="Add a bucket policy statement: Effect Deny, Principal \"*\", Action \"s3:*\", "
                "Resource the bucket and bucket/*, Condition "
                "{\"Bool\": {\"aws:SecureTransport\": \"false\"}}.",
    types=[*S3_BUCKET_TYPES, "aws:s3/bucketPolicy:BucketPolicy"],
    cdk_nag=["AwsSolutions-S10", "S3BucketSSLRequestsOnly"])
def s3_tls_only(stack: Stack, settings: Settings) -> Iterator[tuple[str, str]]:
    groups = _groups(stack)

    def check(bucket: Res) -> Iterator[str]:
        docs = _policies(groups[bucket.urn])
        if not docs:
            yield "no bucket policy: plain-HTTP requests are accepted"
        elif not any(iamdoc.denies_insecure_transport(d) for d in docs):
            yield "the bucket policy does not deny aws:SecureTransport=false"
    yield from each(stack.of_type(*S3_BUCKET_TYPES), check)


@stack_rule(
    id="TRL-S3-005", title="S3 SSE-KMS",
    description="S3 buckets encrypt by default with a KMS key (SSE-KMS).",
    severity="medium", enforcement="mandatory",
    remediation="Add an `aws.s3.BucketServerSideEncryptionConfiguration` with sse_algorithm "
                "\"aws:kms\", the platform's KMS key and bucket_key_enabled=True.",
    types=[*S3_BUCKET_TYPES, "aws:s3/bucketServerSideEncryptionConfiguration:"
           "BucketServerSideEncryptionConfiguration"],
    checkov=["CKV_AWS_145"], trivy=["AVD-AWS-0132", "AVD-AWS-0088"],
    cdk_nag=["S3DefaultEncryptionKMS"])
def s3_sse_kms(stack: Stack, settings: Settings) -> Iterator[tuple[str, str]]:
    groups = _groups(stack)

    def check(bucket: Res) -> Iterator[str]:
        algorithms: list[object] = []
        for part in groups[bucket.urn].part("encryption"):
            for rule in as_list(require_known(part.get("rules"), ("rules",))):
                algorithms.append(at(rule, "applyServerSideEncryptionByDefault", "sseAlgorithm"))
        inline = bucket.get("serverSideEncryptionConfiguration", "rule",
                            "applyServerSideEncryptionByDefault", "sseAlgorithm")
        if inline is not None:
            algorithms.append(inline)
        if not any(a in KMS_ALGORITHMS for a in algorithms):
            found = ", ".join(map(str, algorithms)) or "none configured (S3 default SSE-S3)"
            yield f"default encryption is not SSE-KMS ({found})"
    yield from each(stack.of_type(*S3_BUCKET_TYPES), check)


@stack_rule(
    id="TRL-S3-006", title="S3 versioning",
    description="Model buckets, and every bucket in production, have versioning enabled.",
    severity="medium", enforcement="mandatory",
    remediation="Add an `aws.s3.BucketVersioning` with "
                "`versioning_configuration={\"status\": \"Enabled\"}` (org.yaml: "
                "`versioning: true`).",
    types=[*S3_BUCKET_TYPES, "aws:s3/bucketVersioning:BucketVersioning"],
    config=["tier", "modelBucketPatterns"],
    checkov=["CKV_AWS_21"], trivy=["AVD-AWS-0090"], cdk_nag=["S3BucketVersioningEnabled"])
def s3_versioning(stack: Stack, settings: Settings) -> Iterator[tuple[str, str]]:
    groups = _groups(stack)
    tier_of = tiers.for_stack(stack.resources, settings)

    def check(bucket: Res) -> Iterator[str]:
        model = is_model_bucket(bucket, settings, ("tags",))
        tier = tier_of(bucket)
        if not (model or tier.production):
            return
        states = [v.get("versioningConfiguration", "status")
                  for v in groups[bucket.urn].part("versioning")]
        if bucket.get("versioning", "enabled") is True or "Enabled" in states:
            return
        why = "model bucket" if model else "production bucket"
        found = f" (status {', '.join(map(str, states))})" if states else ""
        yield f"versioning is not enabled on this {why}{found}{'' if model else tier.note()}"
    yield from each(stack.of_type(*S3_BUCKET_TYPES), check)


@stack_rule(
    id="TRL-S3-007", title="S3 lifecycle",
    description="S3 buckets have an enabled lifecycle rule.",
    severity="low", enforcement="advisory",
    remediation="Add an `aws.s3.BucketLifecycleConfiguration` with at least one Enabled rule "
                "(expire scratch objects, noncurrent versions and incomplete uploads).",
    types=[*S3_BUCKET_TYPES, "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration"],
    checkov=["CKV2_AWS_61"])
def s3_lifecycle(stack: Stack, settings: Settings) -> Iterator[tuple[str, str]]:
    groups = _groups(stack)

    def check(bucket: Res) -> Iterator[str]:
        for part in groups[bucket.urn].part("lifecycle"):
            for rule in as_list(require_known(part.get("rules"), ("rules",))):
                if at(rule, "status") == "Enabled":
                    return
        inline = require_known(bucket.get("lifecycleRules"), ("lifecycleRules",))
        if any(isinstance(r, dict) and r.get("enabled") is True for r in as_list(inline)):
            return
        yield "no enabled lifecycle rule: objects, old versions and failed uploads stay forever"
    yield from each(stack.of_type(*S3_BUCKET_TYPES), check)
