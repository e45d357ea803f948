"""The resolver: team filters, deep-merged overrides and tier defaults, per environment."""

from __future__ import annotations

import pytest

from stacks.org.errors import OrgError
from stacks.org.load import load
from stacks.org.resolve import resolve
from tests.conftest import BUNDLED_GCP

ORG = """\
version: 1
org: acme
cloud: gcp
region: us-central1
labels: {owner: ml}
platform: {gke_security_group: gke-security-groups@acme.com}
environments:
  dev: {project: acme-ml-dev}
  prod: {project: acme-ml-prod, tier: production, region: us-east4, labels: {tier: gold}}
teams:
  recsys:
    members: [group:recsys@acme.com]
    cost_center: cc-1
    budget_usd: 100
    gpu_pools:
      train: {accelerator: h100-80gb, gpus_per_node: 8, max_nodes: 2}
      serve: {accelerator: l4, max_nodes: 4, spot: true}
    buckets:
      models: {}
      features: {}
      scratch: {versioning: false, delete_after_days: 7}
    overrides:
      prod:
        budget_usd: 900
        cost_center: cc-9
        gpu_pools: {train: {max_nodes: 4}}
        buckets: {scratch: {delete_after_days: 30}}
  research:
    members: [group:research@acme.com]
    environments: [dev]
"""


@pytest.fixture
def loaded(write_org):
    return load(write_org(ORG))


def test_team_environment_filter(loaded):
    assert set(resolve(loaded, "dev").teams) == {"recsys", "research"}
    assert set(resolve(loaded, "prod").teams) == {"recsys"}


def test_overrides_deep_merge_only_what_they_name(loaded):
    dev, prod = resolve(loaded, "dev").teams["recsys"], resolve(loaded, "prod").teams["recsys"]
    assert (dev.budget_usd, prod.budget_usd) == (100, 900)
    assert (dev.pools["train"].max_nodes, prod.pools["train"].max_nodes) == (2, 4)
    assert prod.pools["train"].gpus_per_node == 8, "an override must not reset unnamed fields"
    assert prod.pools["serve"].max_nodes == 4
    assert (dev.buckets["scratch"].delete_after_days, prod.buckets["scratch"].delete_after_days) \
        == (7, 30)
    assert prod.cost_center == "cc-9" and prod.labels["cost-center"] == "cc-9"


def test_tier_defaults(loaded):
    dev, prod = resolve(loaded, "dev"), resolve(loaded, "prod")
    assert dev.teams["recsys"].pools["train"].spot is True, "sandbox defaults to spot"
    assert prod.teams["recsys"].pools["train"].spot is False, "production defaults to on-demand"
    assert prod.teams["recsys"].pools["serve"].spot is True, "an explicit spot wins over the tier"
    assert dev.teams["recsys"].buckets["features"].versioning is False
    assert prod.teams["recsys"].buckets["features"].versioning is True
    assert prod.teams["recsys"].buckets["scratch"].versioning is False, "explicit false wins"
    assert dev.teams["recsys"].pools["train"].min_nodes == 0, "pools scale to zero by default"


def test_region_and_labels_per_environment(loaded):
    dev, prod = resolve(loaded, "dev"), resolve(loaded, "prod")
    assert (dev.region, prod.region) == ("us-central1", "us-east4")
    assert prod.labels == {"owner": "ml", "tier": "gold", "managed-by": "trellis", "org": "acme",
                           "env": "prod", "trellis-tier": "production"}
    assert prod.teams["recsys"].labels["team"] == "recsys"


def test_catalogue_shape_and_names(loaded):
    pool = resolve(loaded, "prod").teams["recsys"].pools["train"]
    assert pool.machine_type == "a3-highgpu-8g"
    assert pool.node_pool_name == "recsys-train"
    assert pool.node_identity_name == "recsys-train-gpu"
    bucket = resolve(loaded, "prod").teams["recsys"].buckets["models"]
    assert bucket.bucket_name == "acme-prod-recsys-models"


def test_default_gpus_per_node_is_the_smallest_offered(loaded):
    assert resolve(loaded, "dev").teams["recsys"].pools["serve"].gpus_per_node == 1


def test_unknown_environment_is_a_clean_error(loaded):
    with pytest.raises(OrgError, match="environment 'prdo' is not defined \\(did you mean 'prod'"):
        resolve(loaded, "prdo")


def test_region_override_checks_accelerator_availability(write_org):
    text = ORG.replace("region: us-east4", "region: southamerica-east1")
    expected = "no zone of southamerica-east1 \\(environment 'prod'\\) offers h100-80gb"
    with pytest.raises(OrgError, match=expected):
        load(write_org(text))


def test_bundled_example_resolves_every_environment():
    loaded = load(BUNDLED_GCP)
    for env in loaded.environments:
        spec = resolve(loaded, env)
        assert spec.teams, f"{env} has no teams"


def test_model_buckets_are_versioned_in_every_tier(loaded):
    dev = resolve(loaded, "dev").teams["recsys"].buckets
    assert dev["models"].versioning is True, "a model bucket is versioned even in a sandbox"
    assert dev["scratch"].versioning is False


def test_unversioned_model_bucket_is_refused(write_org):
    with pytest.raises(OrgError, match="'models' is a model bucket"):
        load(write_org(ORG.replace("      models: {}", "      models: {versioning: false}")))


def test_model_bucket_pattern_matches_the_policy_default():
    from policies.settings import SETTINGS
    from stacks.org.resolve import MODEL_BUCKET_PATTERNS

    assert list(MODEL_BUCKET_PATTERNS) == SETTINGS["modelBucketPatterns"].schema["default"]
