"""The one place physical cloud names are made.

Every physical name Trellis gives a cloud resource comes from :func:`make`, which knows each
resource kind's length and character rules. Names are deterministic (no random suffixes): the
same org.yaml always gives the same names, so a plan is reproducible and a rename can be kept
with an alias. The org layer calls these while validating, so a name that would be refused by
the cloud fails in ``trellis validate``, not halfway through ``pulumi up``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache


class InvalidName(ValueError):  # noqa: N818 - reads better at call sites than ...Error
    """A name the cloud would refuse; the message says which rule and how to fix it."""


@dataclass(frozen=True)
class Kind:
    """Naming rules of one resource kind."""

    label: str
    min_len: int
    max_len: int
    pattern: str  # full-match regex the name must satisfy
    rule: str  # the charset rule in words, for messages
    separator: str = "-"


KINDS: dict[str, Kind] = {
    # https://cloud.google.com/storage/docs/buckets#naming (no dots: those need domain checks)
    "gcs_bucket": Kind("GCS bucket", 3, 63, r"[a-z0-9][a-z0-9_-]*[a-z0-9]",
                       "lowercase letters, digits, '-' and '_', starting and ending alphanumeric"),
    # https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html
    "s3_bucket": Kind("S3 bucket", 3, 63, r"[a-z0-9][a-z0-9-]*[a-z0-9]",
                      "lowercase letters, digits and '-', starting and ending alphanumeric"),
    # https://cloud.google.com/iam/docs/service-accounts-create#creating
    "gcp_service_account": Kind("GCP service account id", 6, 30, r"[a-z][a-z0-9-]*[a-z0-9]",
                                "lowercase letters, digits and '-', starting with a letter"),
    # https://cloud.google.com/kubernetes-engine/docs/reference/rest/v1/projects.locations.clusters
    "gke_cluster": Kind("GKE cluster", 1, 40, r"[a-z]([a-z0-9-]*[a-z0-9])?",
                        "lowercase letters, digits and '-', starting with a letter"),
    "gke_node_pool": Kind("GKE node pool", 1, 40, r"[a-z]([a-z0-9-]*[a-z0-9])?",
                          "lowercase letters, digits and '-', starting with a letter"),
    # RFC1035 names: networks, subnets, routers, NATs
    "gcp_network": Kind("GCP network resource", 1, 63, r"[a-z]([a-z0-9-]*[a-z0-9])?",
                        "lowercase letters, digits and '-', starting with a letter"),
    # https://cloud.google.com/artifact-registry/docs/repositories/create-repos
    "artifact_registry_repo": Kind("Artifact Registry repository", 1, 63,
                                   r"[a-z]([a-z0-9-]*[a-z0-9])?",
                                   "lowercase letters, digits and '-', starting with a letter"),
    # https://cloud.google.com/scheduler/docs/reference/rest/v1/projects.locations.jobs
    "scheduler_job": Kind("Cloud Scheduler job", 1, 500, r"[a-zA-Z0-9_-]+",
                          "letters, digits, '-' and '_'"),
    # https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html
    "iam_role": Kind("IAM role", 1, 64, r"[\w+=,.@-]+", "letters, digits and +=,.@_-"),
    # https://docs.aws.amazon.com/eks/latest/APIReference/API_CreateCluster.html
    "eks_cluster": Kind("EKS cluster", 1, 100, r"[0-9A-Za-z][A-Za-z0-9_-]*",
                        "letters, digits, '-' and '_', starting alphanumeric"),
    "eks_node_group": Kind("EKS node group", 1, 63, r"[0-9A-Za-z][A-Za-z0-9_-]*",
                           "letters, digits, '-' and '_', starting alphanumeric"),
    # https://docs.aws.amazon.com/AmazonECR/latest/userguide/repository-create.html
    "ecr_prefix": Kind("ECR repository prefix", 2, 200,
                       r"[a-z0-9]+(?:[._-][a-z0-9]+)*(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*",
                       "lowercase letters, digits, '-', '_', '.' and '/'", separator="/"),
    # https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_CreatePipeline.html
    "sagemaker_pipeline": Kind("SageMaker pipeline", 1, 256, r"[a-zA-Z0-9](-*[a-zA-Z0-9])*",
                               "letters, digits and '-'"),
    "sagemaker_model_package_group": Kind("SageMaker model package group", 1, 63,
                                          r"[a-zA-Z0-9](-*[a-zA-Z0-9])*",
                                          "letters, digits and '-'"),
    # https://docs.aws.amazon.com/scheduler/latest/APIReference/API_CreateSchedule.html
    "eventbridge_schedule": Kind("EventBridge schedule", 1, 64, r"[0-9a-zA-Z-_.]+",
                                 "letters, digits, '-', '_' and '.'"),
    "kms_alias": Kind("KMS alias", 7, 256, r"alias/[a-zA-Z0-9/_-]+",
                      "'alias/' then letters, digits, '/', '_' and '-'"),
    # https://cloud.google.com/kms/docs/create-key-ring (key ring and key ids: [a-zA-Z0-9_-]{1,63})
    "kms_key_ring": Kind("Cloud KMS key ring", 1, 63, r"[a-zA-Z0-9_-]+",
                         "letters, digits, '-' and '_'"),
    "kms_crypto_key": Kind("Cloud KMS key", 1, 63, r"[a-zA-Z0-9_-]+",
                           "letters, digits, '-' and '_'"),
    # https://cloud.google.com/billing/docs/reference/budget/rest/v1/billingAccounts.budgets
    "budget": Kind("budget", 1, 60, r"[^\x00-\x1f]+", "printable characters", separator=" "),
    # https://cloud.google.com/monitoring/api/ref_v3/rest/v3/projects.alertPolicies (displayName)
    "alert_policy": Kind("Cloud Monitoring alert policy", 1, 512, r"[^\x00-\x1f]+",
                         "printable characters", separator=" "),
    "aws_budget": Kind("AWS budget", 1, 100, r"[^:\\]+", "no ':' or '\\'"),
    "k8s_namespace": Kind("Kubernetes namespace", 1, 63, r"[a-z0-9]([-a-z0-9]*[a-z0-9])?",
                          "lowercase letters, digits and '-'"),
}


#: Compiled once per pattern: validating a large org makes thousands of names.
_compiled = cache(re.compile)


def check(kind: str, name: str) -> str | None:
    """Why ``name`` is not a valid ``kind`` name, or None when it is."""
    rules = KINDS[kind]
    if not rules.min_len <= len(name) <= rules.max_len:
        return (f"{rules.label} '{name}' is {len(name)} characters; the cloud allows "
                f"{rules.min_len} to {rules.max_len}")
    if _compiled(rules.pattern).fullmatch(name) is None:
        return f"{rules.label} '{name}' is not allowed: {rules.rule}"
    return None


def make(kind: str, *parts: str) -> str:
    """Join ``parts`` into a ``kind`` name; :class:`InvalidName` if the cloud would refuse it."""
    rules = KINDS[kind]
    name = rules.separator.join(filter(None, parts))
    if (rules.min_len <= len(name) <= rules.max_len
            and _compiled(rules.pattern).fullmatch(name) is not None):
        return name  # the common case, checked inline: a large org makes thousands of names
    problem = check(kind, name)
    if problem is not None:
        hint = ("shorten the org, environment, team or entry key" if len(name) > rules.max_len
                else "choose keys that give a valid name")
        raise InvalidName(f"{problem}; {hint}")
    return name


# Named helpers: the patterns of the platform, so callers do not assemble names by hand.

def bucket(cloud: str, org: str, env: str, team: str, purpose: str) -> str:
    """Globally unique bucket name: ``<org>-<env>-<team>-<purpose>``."""
    return make("gcs_bucket" if cloud == "gcp" else "s3_bucket", org, env, team, purpose)


def gcp_service_account(*parts: str) -> str:
    """Service account id (the part before ``@``), unique within the project."""
    return make("gcp_service_account", *parts)


def iam_role(org: str, env: str, *parts: str) -> str:
    """IAM role name, unique within the account: ``<org>-<env>-...``."""
    return make("iam_role", org, env, *parts)
