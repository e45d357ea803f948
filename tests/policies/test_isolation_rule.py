"""Fixtures for TRL-K8S-003: a team namespace without its isolation objects (issue #20).

A team namespace is isolated when it enforces a Pod Security Standard (label
``pod-security.kubernetes.io/enforce``: baseline or restricted), a Deny binding of the team
isolation ValidatingAdmissionPolicy selects it, and a NetworkPolicy in it denies ingress to
every pod by default. ``CASES`` has the shape of ``test_rules.CASES`` (the meta-test there
collects it and runs each stack through ``trellis check``'s path, and
``test_evaluate_equivalence`` through the pack's Analyzer servicer).
"""

from __future__ import annotations

from typing import Any

import pytest
from policy_fixtures import (
    DELETE,
    UNKNOWN,
    S,
    check,
    findings,
    fixture_tests,
    mod,
    res,
)

from components.k8s import isolation
from components.k8s.team_namespace import DENY_INGRESS_POLICY, pod_security_labels
from policies import k8s as rules

NS = "kubernetes:core/v1:Namespace"
NETPOL = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
VAP = "kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicy"
BINDING = "kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicyBinding"
LABEL = {isolation.POLICY_LABEL: isolation.POLICY_LABEL_VALUE}


def namespace(name: str = "recsys", **labels: Any) -> dict[str, Any]:
    base = {"trellis.dev/team": name, **pod_security_labels()}
    merged = {k: v for k, v in {**base, **labels}.items() if v is not DELETE}
    return res(NS, f"{name}-namespace", {"metadata": {"name": name, "labels": merged}})


TEAM = namespace()
POLICY = res(VAP, "team-admission-policy", {
    "metadata": {"name": isolation.POLICY_NAME, "labels": dict(LABEL)},
    "spec": {"failurePolicy": "Fail", "validations": [{"expression": "true"}]}})
TEAMS_SELECTOR = {"matchExpressions": [{"key": "trellis.dev/team", "operator": "Exists"}]}


def binding(selector: Any = None, *, actions: Any = None, policy: Any = isolation.POLICY_NAME,
            policy_res: dict[str, Any] | None = None) -> dict[str, Any]:
    return res(BINDING, "team-admission-teams", {
        "metadata": {"name": isolation.TEAM_BINDING, "labels": dict(LABEL)},
        "spec": {"policyName": policy, "validationActions": actions or ["Deny"],
                 "matchResources": {"namespaceSelector": (TEAMS_SELECTOR if selector is None
                                                          else selector)}}},
        prop_deps={"spec": [policy_res["urn"]]} if policy_res else None)


def deny_ingress(ns: Any = "recsys", *, ns_res: dict[str, Any] | None = None,
                 **spec: Any) -> dict[str, Any]:
    body = {"podSelector": {}, "policyTypes": ["Ingress"], **spec}
    body = {k: v for k, v in body.items() if v is not DELETE}
    return res(NETPOL, f"{ns if isinstance(ns, str) else 'team'}-deny-ingress", {
        "metadata": {"name": DENY_INGRESS_POLICY, "namespace": ns}, "spec": body},
        prop_deps={"metadata": [ns_res["urn"]]} if ns_res else None)


ISOLATED = (TEAM, POLICY, binding(), deny_ingress())
OTHER_POLICY = mod(POLICY, {"inputs.metadata.labels": {"app": "require-labels"}})

CASES: dict[str, dict[str, list[Any]]] = {
    "TRL-K8S-003": {
        "pass": [
            S(*ISOLATED),
            S(res(NS, "platform", {"metadata": {"name": "platform", "labels": {"x": "y"}}})),
            S(namespace(**{"pod-security.kubernetes.io/enforce": "restricted"}),
              *ISOLATED[1:], note="restricted enforced"),
            S(TEAM, POLICY, binding(policy=UNKNOWN, policy_res=POLICY), deny_ingress(),
              note="binding's policy name computed from the policy"),
            S(TEAM, POLICY, binding(), deny_ingress(UNKNOWN, ns_res=TEAM),
              note="NetworkPolicy's namespace computed from the namespace"),
            S(TEAM, POLICY, binding({"matchLabels": {"kubernetes.io/metadata.name": "recsys"}}),
              deny_ingress(), note="a binding naming the namespace"),
            S(TEAM, POLICY, binding({}), deny_ingress(), note="a binding for every namespace"),
            S(TEAM, POLICY, binding(), deny_ingress(policyTypes=DELETE),
              note="no policyTypes and no egress rules: an Ingress policy"),
        ],
        "fail": [
            S(namespace(**{"pod-security.kubernetes.io/enforce": DELETE}), *ISOLATED[1:],
              note="no Pod Security Admission label"),
            S(namespace(**{"pod-security.kubernetes.io/enforce": "privileged"}),
              *ISOLATED[1:]),
            S(TEAM, POLICY, deny_ingress(), note="no binding"),
            S(TEAM, POLICY, binding(actions=["Warn", "Audit"]), deny_ingress(),
              note="the binding only warns"),
            S(TEAM, POLICY, binding({"matchLabels": {"trellis.dev/team": "vision"}}),
              deny_ingress(), note="the binding selects another namespace"),
            S(TEAM, OTHER_POLICY, binding(), deny_ingress(),
              note="a binding of some other admission policy"),
            S(TEAM, POLICY, binding(), note="no NetworkPolicy"),
            S(TEAM, POLICY, binding(), deny_ingress("vision"),
              note="the NetworkPolicy is in another namespace"),
            S(TEAM, POLICY, binding(), deny_ingress(ingress=[{}]),
              note="an ingress rule that allows everything"),
            S(TEAM, POLICY, binding(),
              deny_ingress(podSelector={"matchLabels": {"app": "web"}}),
              note="only some pods"),
            S(TEAM, POLICY, binding(), deny_ingress(policyTypes=["Egress"]),
              note="an egress policy"),
            S(res(NS, "vision-namespace", {"metadata": {"name": "vision", "labels": {
                "team": "vision", "app.kubernetes.io/managed-by": "trellis"}}}),
              note="a namespace labelled as Trellis labelled them before, with nothing"),
        ],
    },
}


test_violating_fixture_is_reported, test_compliant_fixture_passes = fixture_tests(CASES)


def test_the_pack_knows_the_components_policy_label():
    # policies/ never imports components: the label is repeated there, and must not drift.
    assert rules.ISOLATION_POLICY_LABEL == (isolation.POLICY_LABEL, isolation.POLICY_LABEL_VALUE)
    assert rules.NAME_LABEL == isolation.NAME_LABEL


def test_each_missing_object_is_named():
    report = check(S(namespace(**{"pod-security.kubernetes.io/enforce": DELETE})))
    messages = " | ".join(f.message for f in findings(report, "TRL-K8S-003"))
    for what in ("pod-security.kubernetes.io/enforce", "ValidatingAdmissionPolicyBinding",
                 "NetworkPolicy that denies ingress"):
        assert what in messages, f"TRL-K8S-003 on recsys does not name {what}: {messages}"


@pytest.mark.parametrize(("selector", "labels", "selected"), [
    ({}, {}, True),
    ({"matchLabels": {"a": "1"}}, {"a": "1", "b": "2"}, True),
    ({"matchLabels": {"a": "1"}}, {"a": "2"}, False),
    ({"matchExpressions": [{"key": "a", "operator": "In", "values": ["1", "2"]}]}, {"a": "2"},
     True),
    ({"matchExpressions": [{"key": "a", "operator": "In", "values": ["1"]}]}, {}, False),
    ({"matchExpressions": [{"key": "a", "operator": "NotIn", "values": ["1"]}]}, {}, True),
    ({"matchExpressions": [{"key": "a", "operator": "NotIn", "values": ["1"]}]}, {"a": "1"},
     False),
    ({"matchExpressions": [{"key": "a", "operator": "Exists"}]}, {"a": ""}, True),
    ({"matchExpressions": [{"key": "a", "operator": "DoesNotExist"}]}, {"a": ""}, False),
])
def test_label_selector(selector, labels, selected):
    assert rules.selector_matches(selector, labels) is selected
