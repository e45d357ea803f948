"""Hypothesis strategies for org.yaml: random valid org files of both clouds and tiers."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from components import catalog

REGIONS = {"gcp": ["us-central1", "us-east4", "europe-west4"], "aws": ["us-east-1", "us-west-2"]}
SLUG = st.from_regex(r"[a-z][a-z0-9]{1,7}", fullmatch=True)
KEY = st.from_regex(r"[a-z][a-z0-9]{0,6}", fullmatch=True)


def _offered(cloud: str, region: str) -> list[tuple[str, int]]:
    """(accelerator, gpus_per_node) shapes offered in ``region``."""
    return [(s.accelerator, s.gpus_per_node) for s in catalog.all_shapes(cloud)
            if region in s.regions]


@st.composite
def pools(draw: Any, cloud: str, region: str) -> dict[str, Any]:
    shapes = _offered(cloud, region)
    out = {}
    for key in draw(st.lists(KEY, max_size=2, unique=True)):
        accel, gpus = draw(st.sampled_from(shapes))
        shape = catalog.shape(cloud, accel, gpus)
        max_nodes = draw(st.integers(1, 3))
        pool: dict[str, Any] = {"accelerator": accel, "gpus_per_node": gpus,
                                "min_nodes": draw(st.integers(0, max_nodes)),
                                "max_nodes": max_nodes}
        if not shape.on_demand_available:
            pool["spot"] = True
        elif draw(st.booleans()):
            pool["spot"] = draw(st.booleans())
        out[key] = pool
    return out


@st.composite
def orgs(draw: Any) -> dict[str, Any]:
    """A valid org file as a plain dict (dump it as YAML)."""
    cloud = draw(st.sampled_from(["gcp", "aws"]))
    region = draw(st.sampled_from(REGIONS[cloud]))
    env_names = draw(st.lists(st.sampled_from(["dev", "stage", "prod"]), min_size=1,
                              max_size=2, unique=True))
    environments = {}
    for i, env in enumerate(env_names):
        spec: dict[str, Any] = {"tier": draw(st.sampled_from(["sandbox", "production"]))}
        if cloud == "gcp":
            spec["project"] = f"acme-ml-{env}"
        else:
            spec["account"] = f"{i + 1}" * 12
        environments[env] = spec
    teams = {}
    for slug in draw(st.lists(SLUG, min_size=1, max_size=3, unique=True)):
        member = (f"group:{slug}@acme.com" if cloud == "gcp"
                  else f"arn:aws:iam::111111111111:role/{slug}")
        team: dict[str, Any] = {"members": [member], "gpu_pools": draw(pools(cloud, region)),
                                "buckets": {k: ({"delete_after_days": 30} if draw(st.booleans())
                                                else {})
                                            for k in draw(st.lists(
                                                st.one_of(KEY, st.just("models")), max_size=2,
                                                unique=True))}}
        if draw(st.booleans()):
            scheme = "gs" if cloud == "gcp" else "s3"
            team["pipelines"] = {"nightly": {"template": f"{scheme}://acme-templates/{slug}.json",
                                             "schedule": "0 3 * * *"}}
        if draw(st.booleans()):
            team["budget_usd"] = 10_000_000  # generous: the guardrail is tested elsewhere
        teams[slug] = team
    org: dict[str, Any] = {"version": 1, "org": "acme", "cloud": cloud, "region": region,
                           "contacts": ["ml-platform@acme.com"], "environments": environments,
                           "teams": teams}
    if cloud == "aws":
        # Admins listed or not (the deployer then gets the access entry); the API reachable.
        org["platform"] = {"admin_cidrs": ["203.0.113.0/24"]}
        if draw(st.booleans()):
            org["platform"]["admins"] = [f"arn:aws:iam::{e['account']}:role/platform-admin"
                                         for e in environments.values()]
    else:  # `group:` members need Google Groups for RBAC
        org["platform"] = {"gke_security_group": "gke-security-groups@acme.com"}
    return org
