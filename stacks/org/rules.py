"""Format rules of org.yaml values, shared by the validator and the JSON Schema.

Each rule has the regex (also published in the schema for editors) and the words a person
needs when a value breaks it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from typing import Any


@dataclass(frozen=True)
class Rule:
    pattern: str
    explain: str

    def ok(self, value: str) -> bool:
        return _compiled(self.pattern).fullmatch(value) is not None


#: Compiled once per pattern: a large org checks thousands of keys and names.
_compiled = cache(re.compile)


ORG = Rule(r"[a-z][a-z0-9]{1,11}", "2-12 lowercase letters or digits, starting with a letter")
ENV_KEY = Rule(r"[a-z][a-z0-9]{0,11}",
               "1-12 lowercase letters or digits, starting with a letter (it is the stack name "
               "and part of physical names)")
TEAM_KEY = Rule(r"[a-z][a-z0-9-]{0,14}[a-z0-9]",
                "2-16 lowercase letters, digits or '-', starting with a letter, not ending in '-'")
ENTRY_KEY = Rule(r"[a-z]([a-z0-9-]{0,18}[a-z0-9])?",
                 "1-20 lowercase letters, digits or '-', starting with a letter, not ending in '-'")
GCP_PROJECT = Rule(r"[a-z][a-z0-9-]{4,28}[a-z0-9]",
                   "a GCP project id: 6-30 lowercase letters, digits or '-', starting with a "
                   "letter")
AWS_ACCOUNT = Rule(r"\d{12}", "an AWS account id: exactly 12 digits, quoted")
GCP_BILLING = Rule(r"[0-9A-F]{6}-[0-9A-F]{6}-[0-9A-F]{6}",
                   "a billing account id like 01ABCD-23EF45-6789AB")
GCP_MEMBER = Rule(
    r"(user|group|serviceAccount):[^@\s]+@[^@\s]+\.[^@\s]+|domain:[a-z0-9.-]+\.[a-z]{2,}"
    r"|principal(Set)?://\S+",
    "a GCP principal: user:EMAIL, group:EMAIL, serviceAccount:EMAIL, domain:DOMAIN or a "
    "principal:// / principalSet:// identifier")
# Role and user names: 1-64 of [\w+=,.@-] (botocore iam model, roleNameType/userNameType).
AWS_MEMBER = Rule(r"arn:aws(-cn|-us-gov)?:iam::\d{12}:(role|user)/"
                  r"([\w+=,.@-]+/)*[\w+=,.@-]{1,64}",
                  "an IAM role or user ARN: arn:aws:iam::123456789012:role/NAME (a path is "
                  "fine: role/PATH/NAME; not an sts:...:assumed-role/... session ARN)")
GCP_RESERVATION = Rule(r"[a-z]([-a-z0-9]{0,61}[a-z0-9])?",
                       "a Compute Engine reservation name: 1-63 lowercase letters, digits or "
                       "'-', starting with a letter")
AWS_CAPACITY_RESERVATION = Rule(r"cr-[0-9a-f]{17}",
                                "a capacity reservation id: 'cr-' and 17 hex digits, e.g. "
                                "cr-0123456789abcdef0")
EMAIL = Rule(r"[^@\s]+@[^@\s]+\.[^@\s]+", "an email address")
GCP_LABEL_KEY = Rule(r"[a-z][a-z0-9_-]{0,62}",
                     "a GCP label key: 1-63 lowercase letters, digits, '_' or '-', starting "
                     "with a letter")
GCP_LABEL_VALUE = Rule(r"[a-z0-9_-]{0,63}",
                       "a GCP label value: up to 63 lowercase letters, digits, '_' or '-'")
AWS_TAG_KEY = Rule(r"(?!aws:)[\w .:/=+@-]{1,128}",
                   "an AWS tag key: 1-128 letters, digits, spaces or _.:/=+-@, not starting "
                   "with 'aws:'")
AWS_TAG_VALUE = Rule(r"[\w .:/=+@-]{0,256}",
                     "an AWS tag value: up to 256 letters, digits, spaces or _.:/=+-@")
CURRENCY = Rule(r"[A-Z]{3}", "an ISO 4217 currency code: three capital letters, e.g. USD, EUR, "
                "JPY (the currency of your billing account)")
COMMON_CURRENCIES = ("USD", "EUR", "GBP", "JPY", "KRW", "CHF", "CAD", "AUD", "INR", "BRL",
                     "SGD", "SEK", "NOK", "DKK", "PLN", "CNY", "HKD", "MXN", "NZD", "ZAR")
"""For 'did you mean' only; any three capital letters are accepted (the billing account
decides, and the Budget API rejects a mismatch)."""
URI = {"gcp": Rule(r"gs://[a-z0-9][a-z0-9._-]{1,221}/.+", "a gs://BUCKET/OBJECT URI"),
       "aws": Rule(r"s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]/.+", "an s3://BUCKET/KEY URI")}


def aws_principal(arn: str) -> tuple[str, str, str]:
    """``(account, "role" | "user", name)`` of an IAM ARN, the path left out.

    Role and user names are unique in an account whatever their path, so two ARNs that differ
    only in the path name one principal: ``role/team/ml-eng`` and ``role/ml-eng``. An STS
    assumed-role ARN (``arn:aws:sts::1:assumed-role/NAME/SESSION``) gives the role's key.
    """
    parts = arn.split(":", 5)
    if len(parts) < 6:
        return ("", "", arn)
    account, resource = parts[4], parts[5]
    kind, _, rest = resource.partition("/")
    if kind == "assumed-role":
        return (account, "role", rest.split("/", 1)[0])
    return (account, kind, rest.rsplit("/", 1)[-1])


def label_rules(cloud: str) -> tuple[Rule, Rule]:
    return (GCP_LABEL_KEY, GCP_LABEL_VALUE) if cloud == "gcp" else (AWS_TAG_KEY, AWS_TAG_VALUE)


def _walk(node: Any, fn: Any) -> None:
    if isinstance(node, dict):
        fn(node)
        for v in node.values():
            _walk(v, fn)
    elif isinstance(node, list):
        for v in node:
            _walk(v, fn)


def annotate_schema(schema: dict[str, Any]) -> None:
    """Add the key and value patterns an editor can check as you type."""
    defs = schema.get("$defs", {})
    props = schema["properties"]
    props["org"]["pattern"] = f"^{ORG.pattern}$"
    props["environments"]["propertyNames"] = {"pattern": f"^{ENV_KEY.pattern}$"}
    props["teams"]["propertyNames"] = {"pattern": f"^{TEAM_KEY.pattern}$"}
    team = defs.get("Team", {}).get("properties", {})
    for key in ("gpu_pools", "buckets", "pipelines"):
        if key in team:
            team[key]["propertyNames"] = {"pattern": f"^{ENTRY_KEY.pattern}$"}
    pool = defs.get("GpuPool", {}).get("properties", {})
    if "accelerator" in pool:
        from components import catalog

        pool["accelerator"]["examples"] = list(catalog.ACCELERATORS)


# ---- numbers: what the clouds allow, and what makes sense -----------------------------------
# Shared by the model (JSON Schema minimum/maximum, cloud-neutral: the larger cloud's limit) and
# the validator (the limit of the org's own cloud). Every bound says where it comes from.

#: GKE: 1,000 nodes per node pool per zone (https://cloud.google.com/kubernetes-engine/quotas,
#: "Nodes per node pool zone"); min/max_nodes are totals over the zones a pool spans (its
#: `zones`, by default every zone of the region offering the machine type: at most 4 in the
#: catalogue), so the schema's bound is 4,000 and validation applies 1,000 per zone of the pool.
GKE_NODES_PER_POOL_ZONE = 1000
GKE_MAX_NODES_PER_POOL = 4 * GKE_NODES_PER_POOL_ZONE
#: EKS: 450 nodes per managed node group (Amazon EKS service quotas, "Nodes per managed node
#: group", https://docs.aws.amazon.com/eks/latest/userguide/service-quotas.html).
EKS_MAX_NODES_PER_GROUP = 450
MAX_NODES = {"gcp": GKE_MAX_NODES_PER_POOL, "aws": EKS_MAX_NODES_PER_GROUP}
MAX_NODES_WHY = {
    "gcp": "GKE allows 1,000 nodes per node pool in each zone the pool spans",
    "aws": "EKS allows 450 nodes per managed node group (service quota 'Nodes per managed "
           "node group')",
}
#: Boot disk per node: GCP persistent disks and Hyperdisk Balanced go up to 64 TiB (65,536 GB);
#: EKS node groups boot from EBS gp3, at most 16 TiB (16,384 GiB)
#: (https://docs.aws.amazon.com/ebs/latest/userguide/general-purpose.html).
MAX_DISK_GB = {"gcp": 65536, "aws": 16384}
#: A monthly budget per team and environment. No team's GPUs cost this much (4,000 nodes of
#: 8 x H200 on demand are about $200M a month): above it the number is a typo, never a plan.
MAX_BUDGET_USD = 1_000_000_000
#: delete_after_days: a century. Both clouds take a day count (GCS lifecycle ``age``, S3
#: ``Expiration.Days``); beyond a hundred years it means "keep", which is leaving it out.
MAX_DELETE_AFTER_DAYS = 36_500
#: Control-plane allow lists: EKS takes at most 40 public access CIDRs (not adjustable, EKS
#: service quotas); GKE private clusters at most 100 authorized networks
#: (https://cloud.google.com/kubernetes-engine/docs/how-to/authorized-networks, Limitations).
MAX_ADMIN_CIDRS = {"gcp": 100, "aws": 40}
#: Pipeline parameters travel as JSON numbers (Vertex AI parameterValues, SageMaker parameter
#: strings via the Pulumi engine's protobuf Struct, a double): integers beyond 2**53 lose digits.
MAX_SAFE_INTEGER = 2**53
#: A local template path: Linux allows 4,096 bytes per path and 255 per file name (PATH_MAX,
#: NAME_MAX); object keys are at most 1,024 bytes on both clouds.
MAX_PATH_BYTES = 4096
MAX_NAME_BYTES = 255
MAX_OBJECT_KEY_BYTES = 1024

#: Why a number is bounded, by field name: the words after "at most N" in messages.
BOUND_WHY = {
    "max_nodes": "a pool holds at most what one GKE node pool (1,000 per zone it spans) or one "
                 "EKS node group (450) holds; split the work over several pools",
    "min_nodes": "nodes kept running; never more than max_nodes",
    "budget_usd": "a budget is 0 or more USD per month, and below $1,000,000,000",
    "delete_after_days": "days (36,500 is a century; leave the key out to keep objects)",
    "disk_size_gb": "GB of boot disk per node",
    "gpus_per_node": "GPUs on each node",
}
