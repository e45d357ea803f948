"""The planned ValidatingAdmissionPolicy, evaluated offline with cel-python (tests only).

Kubernetes evaluates a ValidatingAdmissionPolicy by computing its ``variables`` in order (each
visible to the next as ``variables.<name>``), then each validation; a request is admitted when
every validation is true. ``object``, ``namespaceObject`` and ``request`` are the request's
object, its namespace and the AdmissionRequest (``request.kind.kind``, ``request.operation``).
https://kubernetes.io/docs/reference/access-authn-authz/validating-admission-policy/

cel-python implements the CEL standard library the policy uses (``has``, ``in``, macros,
``matches`` on google-re2, like cel-go's RE2); an expression it cannot compile or evaluate
raises here, so a policy the tests pass is one both engines read alike.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import pytest

from components.k8s.isolation import NAME_LABEL, POLICY_NAME
from policies.k8s import selector_matches
from stacks.plan.engine import Plan

celpy = pytest.importorskip("celpy")

VAP = "kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicy"
BINDING = "kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicyBinding"
KINDS = {"Pod": "", "Deployment": "apps", "ReplicaSet": "apps", "StatefulSet": "apps",
         "DaemonSet": "apps", "Job": "batch", "CronJob": "batch"}


@cache
def _env() -> Any:
    return celpy.Environment()


@cache
def _program(expression: str) -> Any:
    env = _env()
    return env.program(env.compile(expression))


def _run(expression: str, activation: Mapping[str, Any]) -> Any:
    result = _program(expression).evaluate(dict(activation))
    if isinstance(result, celpy.CELEvalError):
        raise AssertionError(f"CEL error {result} in: {expression}")
    return result


@dataclass
class Admission:
    """One planned policy with its bindings."""

    spec: Mapping[str, Any]
    bindings: list[Mapping[str, Any]] = field(default_factory=list)

    @classmethod
    def of(cls, plan: Plan) -> Admission:
        [policy] = [r for r in plan.of_type(VAP) if r.inputs["metadata"]["name"] == POLICY_NAME]
        bindings = [r.inputs["spec"] for r in plan.of_type(BINDING)
                    if r.inputs["spec"]["policyName"] == POLICY_NAME]
        return cls(policy.inputs["spec"], bindings)

    def covers(self, namespace: str, labels: Mapping[str, str]) -> bool:
        """Some Deny binding selects the namespace (labels plus its automatic name label)."""
        all_labels = {**labels, NAME_LABEL: namespace}
        return any("Deny" in b["validationActions"]
                   and selector_matches(b["matchResources"].get("namespaceSelector") or {},
                                        all_labels)
                   for b in self.bindings)

    def matches(self, kind: str, operation: str) -> bool:
        """The policy's matchConstraints take this kind and operation."""
        group = KINDS[kind]
        plural = kind.lower() + "s"
        return any(group in rule["apiGroups"] and plural in rule["resources"]
                   and operation in rule["operations"]
                   for rule in self.spec["matchConstraints"]["resourceRules"])

    def refusals(self, obj: Mapping[str, Any], namespace: str, labels: Mapping[str, str],
                 *, operation: str = "CREATE", old: Mapping[str, Any] | None = None,
                 ) -> list[str]:
        """The messages of every validation the request fails ([] = admitted).

        ``old`` is the object before an UPDATE (``oldObject``, which the API server always
        sends with one; null on CREATE). A namespace no binding covers, or a kind the policy
        does not match, is admitted without evaluation, as the API server does.
        """
        if (operation == "UPDATE") != (old is not None):
            raise ValueError("an UPDATE comes with the old object, a CREATE without")
        kind = str(obj["kind"])
        if not (self.matches(kind, operation) and self.covers(namespace, labels)):
            return []
        json_to_cel = celpy.json_to_cel
        activation: dict[str, Any] = {
            "object": json_to_cel(dict(obj)),
            "oldObject": json_to_cel(None if old is None else dict(old)),
            "namespaceObject": json_to_cel({"metadata": {
                "name": namespace, "labels": {**labels, NAME_LABEL: namespace}}}),
            "request": json_to_cel({"kind": {"group": KINDS[kind], "version": "v1",
                                             "kind": kind},
                                    "operation": operation, "namespace": namespace}),
        }
        computed = celpy.celtypes.MapType()
        activation["variables"] = computed
        for var in self.spec.get("variables", []):
            computed[celpy.celtypes.StringType(var["name"])] = _run(var["expression"],
                                                                      activation)
        return [v["message"] for v in self.spec["validations"]
                if not _run(v["expression"], activation)]


def pod(spec: Mapping[str, Any], **metadata: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", **metadata},
            "spec": dict(spec)}


def workload(kind: str, spec: Mapping[str, Any]) -> dict[str, Any]:
    """A Deployment, Job, DaemonSet... (or CronJob) around a pod spec."""
    template = {"metadata": {"labels": {"app": "x"}}, "spec": dict(spec)}
    if kind == "CronJob":
        body: dict[str, Any] = {"schedule": "0 * * * *",
                                "jobTemplate": {"spec": {"template": template}}}
    else:
        body = {"template": template}
        if kind != "Job":
            body["selector"] = {"matchLabels": {"app": "x"}}
    return {"apiVersion": f"{KINDS[kind]}/v1", "kind": kind, "metadata": {"name": "w"},
            "spec": body}
