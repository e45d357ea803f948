"""Orgs made with the longest names validation allows, for the readability checks.

Org 12 characters, environment keys, team slugs (16), pool, bucket and pipeline keys (20) as
long as the names derived from them allow (GCP service account ids of 30, AWS role names of
64), bucket names near 63; a 30-character GCP project; AWS member roles with paths and a
64-character name; long descriptions, group emails, template URIs and pipeline parameters.
Both orgs validate (a test says so), so their handoff is what a real org at the limits gets.
"""

from __future__ import annotations

from pathlib import Path

ORG = "longestorgnm"  # 12: rules.ORG
ENV = {"gcp": "productio", "aws": "productionxx"}  # GCP: `<org>-<env>-general` is 30
LONG_TEAM = "recommendations1"  # 16: rules.TEAM_KEY
SHORT_TEAM = "vision"
# Pool keys as long as the derived identities allow: GCP `<team>-<pool>-gpu` service
# accounts (30 characters), AWS `<org>-<env>-<team>-<pool>-node` roles (64).
POOLS = {("gcp", LONG_TEAM): "inference", ("gcp", SHORT_TEAM): "multi-node-training",
         ("aws", LONG_TEAM): "inference-l4-srv", ("aws", SHORT_TEAM): "distributed-training"}
BUCKETS = ("training-datasets-v2", "model-checkpoints-v2")  # 20: rules.ENTRY_KEY
PIPELINE = "nightly-retrain-model"[:20]
DESCRIPTION = ("Ranking, retrieval and personalisation models for every storefront surface, "
               "including the homepage carousel and search re-ranking")
DOMAIN = "very-long-company-domain.example.com"
ROLE = ("arn:aws:iam::123456789012:role/engineering/machine-learning/platform-users/"
        "RecommendationsAndPersonalisationEngineersWithLongNamesForTest01")  # name: 64
ADMIN = ("arn:aws:iam::123456789012:role/aws-reserved/sso.amazonaws.com/ap-northeast-1/"
         "AWSReservedSSO_MachineLearningPlatformAdminsPro_0123456789abcdef")
# SSO roles are AWSReservedSSO_<permission set, at most 32>_<16 hex>: 64 characters at most.
TEMPLATE = {"gcp": "gs://a-very-long-bucket-name-for-pipeline-templates-of-the-org/{team}/"
                   "pipelines/nightly-retraining-pipeline-spec-with-a-long-name.yaml",
            "aws": "s3://a-very-long-bucket-name-for-pipeline-definitions-of-org/{team}/"
                   "pipelines/nightly-retraining-pipeline-definition-long-name.json"}


def _team(cloud: str, team: str) -> str:
    member = (f"group:{team}-machine-learning-engineers@{DOMAIN}" if cloud == "gcp"
              else ROLE)
    big = POOLS[(cloud, team)]
    params = ('{training_data_uri: "gs://a-very-long-bucket-name-for-pipeline-templates-of-the-'
              f'org/{team}/data/2024/01/01/part-00000-of-00100.parquet", learning_rate: 0.0001}}'
              if cloud == "gcp" else "{}")
    return f"""\
  {team}:
    description: {DESCRIPTION}
    members: [{member}]
    contacts: [{team}-team-leads-and-oncall@{DOMAIN}]
    budget_usd: 999999
    gpu_pools:
      {big}: {{accelerator: a100-80gb, gpus_per_node: 8, max_nodes: 2, spot: true}}
      serve: {{accelerator: l4, max_nodes: 4, min_nodes: 1}}
    buckets:
      {BUCKETS[0]}: {{versioning: true}}
      {BUCKETS[1]}: {{delete_after_days: 30}}
    pipelines:
      {PIPELINE}:
        description: {DESCRIPTION}
        template: {TEMPLATE[cloud].format(team=team)}
        schedule: "30 2 * * 1-5"
        timezone: America/Argentina/ComodRivadavia
        parameters: {params}
"""


def org_text(cloud: str) -> str:
    env = ENV[cloud]
    if cloud == "gcp":
        head = f"""\
version: 1
org: {ORG}
cloud: gcp
region: us-central1
contacts: [machine-learning-platform-engineering-oncall@{DOMAIN}]
platform:
  billing_account: 01ABCD-23EF45-6789AB
  admin_cidrs: [203.0.113.0/24]
  gke_security_group: gke-security-groups@{DOMAIN}
environments:
  {env}: {{project: abcdefghijklmnopqrstuvwxyz-123, tier: production}}
"""
    else:
        head = f"""\
version: 1
org: {ORG}
cloud: aws
region: ap-northeast-1
contacts: [machine-learning-platform-engineering-oncall@{DOMAIN}]
platform:
  admin_cidrs: [203.0.113.0/24]
environments:
  {env}: {{account: "123456789012", tier: production, admins: [{ADMIN}]}}
"""
    return head + "teams:\n" + "".join(_team(cloud, t) for t in (LONG_TEAM, SHORT_TEAM))


def write(directory: Path, cloud: str) -> Path:
    path = directory / f"longest-{cloud}.yaml"
    path.write_text(org_text(cloud))
    return path
