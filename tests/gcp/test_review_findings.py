"""Findings of the independent GCP review (issue 17 follow-up), one section per finding.

Each test checks what a user would hit: a plan the API refuses, a document that leaves a step
out, a name the cluster already uses. Sources are cited next to the data they check.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from stacks.org.load import load
from stacks.org.resolve import resolve
from stacks.plan.engine import Plan, plan
from tests.conftest import ALL_ORGS, MINIMAL_GCP
from tests.engine.planned import ORG_ENVS, planned
from tests.gcp import discovery
from tests.gcp.helpers import JOB, NODE_POOL

GCP_CASES = [(org, env) for org, env in ORG_ENVS if load(org).org.cloud == "gcp"]
NAT = "gcp:compute/routerNat:RouterNat"


def _ids(case: tuple[object, str]) -> str:
    org, env = case
    return f"{getattr(org, 'name', org)}-{env}"


# ---- G1: Cloud NAT dynamic port allocation excludes endpoint-independent mapping ----------

def test_the_discovery_document_still_states_the_rule():
    """The rule the plan is held to, in Google's words (compute.v1, RouterNat)."""
    props = discovery.document("compute.v1")["schemas"]["RouterNat"]["properties"]
    text = " ".join(props["enableDynamicPortAllocation"]["description"].split())
    assert "enableEndpointIndependentMapping cannot be set to true" in text, (
        "compute.v1 RouterNat.enableDynamicPortAllocation no longer says endpoint-independent "
        f"mapping is excluded; re-read the rule: {text!r}")


@pytest.mark.parametrize("case", GCP_CASES, ids=_ids)
def test_nat_with_dynamic_ports_turns_endpoint_independent_mapping_off(case):
    # compute.v1 RouterNat.enableDynamicPortAllocation: "If set to true, [...]
    # enableEndpointIndependentMapping cannot be set to true". Unset is not enough: the
    # provider then sends nothing and the NAT keeps its old (or default true) mapping
    # (terraform-google-cloud-nat#112), so it must be false explicitly.
    org, env = case
    result: Plan = planned(org, env)
    nats = result.of_type(NAT)
    assert nats, f"{org.name}/{env}: no Cloud NAT planned"
    for nat in nats:
        if nat.inputs.get("enableDynamicPortAllocation") is not True:
            continue
        assert nat.inputs.get("enableEndpointIndependentMapping") is False, (
            f"{org.name}/{env} RouterNat {nat.name}: enableDynamicPortAllocation is true, so "
            "enableEndpointIndependentMapping must be false explicitly (compute.v1 RouterNat); "
            f"got {nat.inputs.get('enableEndpointIndependentMapping')!r}")
        problems = discovery.validate("compute.v1", "RouterNat", {
            k: v for k, v in nat.inputs.items()
            if k not in ("project", "region", "router", "__defaults")})
        assert not problems, f"{org.name}/{env} RouterNat {nat.name}: {problems}"


def test_gcp_orgs_are_covered():
    assert GCP_CASES, f"no GCP org among {[o.name for o in ALL_ORGS]}"


# ---- G4: the deployer's roles include Service Account User ----------------------------------

DOCS = Path(__file__).resolve().parents[2] / "docs" / "gcp.md"


def _deployer_paragraph() -> str:
    text = DOCS.read_text(encoding="utf-8")
    start = text.index("**Who runs `pulumi up`**")
    return " ".join(text[start:text.index("\n- ", start)].split())


@pytest.mark.parametrize("case", GCP_CASES, ids=_ids)
def test_documented_deployer_roles_cover_acting_as_the_planned_service_accounts(case):
    # Creating a node pool with a service account, or a Cloud Scheduler job that mints an OAuth
    # token for one, needs iam.serviceAccounts.actAs on that account; of the roles
    # docs/gcp.md lists only Service Account User (or Owner) carries it.
    org, env = case
    result = planned(org, env)
    acts_as = sorted(
        {str(p.inputs["nodeConfig"]["serviceAccount"]) for p in result.of_type(NODE_POOL)
         if p.inputs.get("nodeConfig", {}).get("serviceAccount")}
        | {str(j.inputs["httpTarget"]["oauthToken"]["serviceAccountEmail"])
           for j in result.of_type(JOB)
           if j.inputs.get("httpTarget", {}).get("oauthToken")})
    assert acts_as, f"{org.name}/{env}: no node pool or job runs as a service account"
    paragraph = _deployer_paragraph()
    assert "roles/iam.serviceAccountUser" in paragraph, (
        f"docs/gcp.md 'Who runs pulumi up' omits roles/iam.serviceAccountUser, yet "
        f"{org.name}/{env} creates resources acting as {acts_as[:3]}: the deployer needs "
        "iam.serviceAccounts.actAs on them")


# ---- A1 on GCP: GCP label rules are not Kubernetes' -----------------------------------------

def test_gcp_labels_kubernetes_refuses_stay_gcp_labels_only(write_org):
    # GCP takes 'ml_' (trailing '_') and keys ending in '_'; Kubernetes needs an alphanumeric
    # last character, and the API server would refuse the whole namespace.
    text = MINIMAL_GCP.replace("region: us-central1\n",
                               "region: us-central1\nlabels: {owner: ml_, unit_: ml, tier: gold}\n")
    spec = resolve(load(write_org(text)), "dev")
    result = plan(spec)
    [provider] = [r for r in result.of_type("pulumi:providers:gcp") if r.name == "gcp"]
    defaults = provider.inputs["defaultLabels"]
    defaults = json.loads(defaults) if isinstance(defaults, str) else defaults
    assert defaults["owner"] == "ml_" and defaults["unit_"] == "ml", (
        f"GCP provider default labels must keep the organisation's labels: {defaults}")
    [ns] = result.of_type("kubernetes:core/v1:Namespace")
    labels = ns.inputs["metadata"]["labels"]
    assert labels.get("tier") == "gold", f"Namespace {ns.name}: valid labels are copied: {labels}"
    assert "owner" not in labels and "unit_" not in labels, (
        f"Namespace {ns.name}: labels Kubernetes refuses were copied: {labels}")
