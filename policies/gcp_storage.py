"""Cloud Storage rules: access control, public exposure, versioning, lifecycle and location."""

from __future__ import annotations

from collections.abc import Iterator

from policies import iamdoc, tiers
from policies.registry import resource_rule
from policies.settings import Settings
from policies.view import Res, as_list, glob_any, require_known, urn_name

BUCKET = "gcp:storage/bucket:Bucket"
BUCKET_IAM = ("gcp:storage/bucketIAMMember:BucketIAMMember",
              "gcp:storage/bucketIAMBinding:BucketIAMBinding",
              "gcp:storage/bucketIAMPolicy:BucketIAMPolicy")
ACL_ENTITY = ("gcp:storage/bucketAccessControl:BucketAccessControl",
              "gcp:storage/defaultObjectAccessControl:DefaultObjectAccessControl",
              "gcp:storage/objectAccessControl:ObjectAccessControl")
ACL_LIST = ("gcp:storage/bucketACL:BucketACL", "gcp:storage/defaultObjectACL:DefaultObjectACL")
PUBLIC_PREDEFINED = {"publicread", "publicreadwrite", "authenticatedread"}


def is_model_bucket(res: Res, settings: Settings, *label_paths: tuple[str, ...]) -> bool:
    """Name, logical name or ``purpose`` label matches ``modelBucketPatterns``."""
    candidates = [urn_name(res.urn), res.name]
    for key in ("name", "bucket"):
        value = res.peek(key)
        if isinstance(value, str):
            candidates.append(value)
    for path in label_paths:
        labels = res.peek(*path)
        if isinstance(labels, dict) and isinstance(labels.get("purpose"), str):
            candidates.append(labels["purpose"])
    return any(glob_any(c, settings.model_bucket_patterns) for c in candidates)


@resource_rule(
    id="TRL-GCS-001", title="GCS uniform bucket-level access",
    description="Cloud Storage buckets use uniform bucket-level access, so IAM alone decides "
                "who can read objects.",
    severity="high", enforcement="mandatory",
    remediation="Set `uniform_bucket_level_access=True` on the bucket and grant access with "
                "bucket IAM members instead of object ACLs.",
    types=[BUCKET], checkov=["CKV_GCP_29"], trivy=["AVD-GCP-0002"])
def gcs_uniform_access(res: Res, settings: Settings) -> Iterator[str]:
    if res.get("uniformBucketLevelAccess") is not True:
        yield "uniformBucketLevelAccess is not true: object ACLs can grant access IAM cannot see"


@resource_rule(
    id="TRL-GCS-002", title="GCS public access prevention",
    description="Cloud Storage buckets enforce public access prevention.",
    severity="high", enforcement="mandatory",
    remediation="Set `public_access_prevention=\"enforced\"` on the bucket.",
    types=[BUCKET], checkov=["CKV_GCP_114"])
def gcs_public_access_prevention(res: Res, settings: Settings) -> Iterator[str]:
    value = res.get("publicAccessPrevention")
    if value != "enforced":
        yield (f"publicAccessPrevention is {value or 'unset'}, not 'enforced': a later IAM or ACL "
               "change could make objects public")


@resource_rule(
    id="TRL-GCS-003", title="No public GCS grants",
    description="No bucket IAM grant or ACL gives access to allUsers or allAuthenticatedUsers.",
    severity="critical", enforcement="mandatory",
    remediation="Remove the allUsers / allAuthenticatedUsers member or ACL entry; share data "
                "with named groups or service accounts, or through signed URLs.",
    types=[*BUCKET_IAM, *ACL_ENTITY, *ACL_LIST], checkov=["CKV_GCP_28"], trivy=["AVD-GCP-0001"])
def gcs_no_public_grants(res: Res, settings: Settings) -> Iterator[str]:
    if res.type in BUCKET_IAM:
        for role, members in iamdoc.gcp_grants(res.type, res.get):
            for m in members:
                if iamdoc.gcp_public_member(m):
                    yield f"{role} is granted to {m}"
    elif res.type in ACL_ENTITY:
        entity = str(res.get("entity") or "")
        if iamdoc.gcp_acl_entity_public(entity):
            yield f"ACL entry gives {res.get('role')} to {entity}"
    else:
        entries = require_known(res.get("roleEntities"), ("roleEntities",))
        for entry in as_list(entries):
            if iamdoc.gcp_acl_entity_public(str(entry)):
                yield f"ACL entry {entry} is public"
        for key in ("predefinedAcl", "defaultAcl"):
            value = res.get(key)
            if isinstance(value, str) and value.lower() in PUBLIC_PREDEFINED:
                yield f"{key} {value} makes objects public"


@resource_rule(
    id="TRL-GCS-004", title="GCS versioning for model buckets",
    description="Model buckets, and every bucket in production, keep object versions.",
    severity="medium", enforcement="mandatory",
    remediation="Set `versioning={\"enabled\": True}` (org.yaml: `versioning: true`) and add a "
                "lifecycle rule that deletes noncurrent versions after a while.",
    types=[BUCKET], config=["tier", "modelBucketPatterns"],
    checkov=["CKV_GCP_78"], trivy=["AVD-GCP-0078"])
def gcs_versioning(res: Res, settings: Settings) -> Iterator[str]:
    model = is_model_bucket(res, settings, ("labels",))
    tier = tiers.of_resource(res, settings)
    if not (model or tier.production):
        return
    if res.get("versioning", "enabled") is not True:
        why = "a model bucket" if model else f"a production bucket{tier.note()}"
        yield f"versioning is not enabled on {why}: an overwrite or delete loses the artefact"


@resource_rule(
    id="TRL-GCS-005", title="GCS lifecycle rules",
    description="Cloud Storage buckets have at least one lifecycle rule.",
    severity="low", enforcement="advisory",
    remediation="Add `lifecycle_rules` (org.yaml: `delete_after_days`), e.g. delete scratch "
                "objects after 30 days or noncurrent versions after 90.",
    types=[BUCKET])
def gcs_lifecycle(res: Res, settings: Settings) -> Iterator[str]:
    rules = require_known(res.get("lifecycleRules"), ("lifecycleRules",))
    if not as_list(rules):
        yield "no lifecycle rules: objects and old versions are kept (and billed) forever"


@resource_rule(
    id="TRL-GCS-006", title="GCS location allowed",
    description="Cloud Storage buckets live in an allowed region.",
    severity="medium", enforcement="mandatory",
    remediation="Create the bucket in the environment's region, or add the location to the "
                "pack's `allowedRegions` setting if data may live there.",
    types=[BUCKET], config=["allowedRegions"])
def gcs_location(res: Res, settings: Settings) -> Iterator[str]:
    allowed = settings.regions_for("gcp")
    location = str(res.get("location") or "").lower()
    if not location:
        yield "location is not set"
        return
    places = [location]
    data_locations = res.get_known("customPlacementConfig", "dataLocations")
    if data_locations:
        places = [str(p).lower() for p in as_list(data_locations)]
    bad = [p for p in places if p not in allowed]
    if bad:
        shown = ", ".join(sorted(allowed)[:8]) + (", ..." if len(allowed) > 8 else "")
        yield f"location {', '.join(bad).upper()} is not an allowed region ({shown})"
