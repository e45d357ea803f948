"""Kubernetes manifests checked against the API shape, offline.

The shape comes from pulumi_kubernetes' input classes (``JobArgs``, ``DeploymentArgs``, ...),
generated from the Kubernetes OpenAPI schema: every key of a manifest must be a field of its
object, with a value of the field's type. A misspelt key (``nodeSelecter``) is a problem here;
kubectl would drop it or refuse the whole file.
"""

from __future__ import annotations

import collections.abc
import typing
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

KINDS: dict[tuple[str, str], type] = {
    ("batch/v1", "Job"): k8s.batch.v1.JobArgs,
    ("apps/v1", "Deployment"): k8s.apps.v1.DeploymentArgs,
    ("v1", "Service"): k8s.core.v1.ServiceArgs,
    ("v1", "Namespace"): k8s.core.v1.NamespaceArgs,
    ("networking.k8s.io/v1", "NetworkPolicy"): k8s.networking.v1.NetworkPolicyArgs,
    ("admissionregistration.k8s.io/v1", "ValidatingAdmissionPolicy"):
        k8s.admissionregistration.v1.ValidatingAdmissionPolicyArgs,
    ("admissionregistration.k8s.io/v1", "ValidatingAdmissionPolicyBinding"):
        k8s.admissionregistration.v1.ValidatingAdmissionPolicyBindingArgs,
}
QUANTITIES = {"limits", "requests"}  # resource.Quantity: a string or a number in YAML


def _fields(cls: type) -> dict[str, Any]:
    """Wire name (camelCase) -> type of every field of a pulumi input class."""
    # Test-only use of the SDK's own table of an input class's properties.
    return pulumi._types.input_type_types(cls)


def _plain(tp: Any) -> Any:
    """T from Input[T] / Optional[T] / Union[T, Awaitable[T], Output[...]]."""
    if typing.get_origin(tp) is typing.Union:
        for arg in typing.get_args(tp):
            if arg is not type(None) and typing.get_origin(arg) not in (
                    collections.abc.Awaitable, pulumi.Output) and arg is not pulumi.Output:
                return _plain(arg)
    return tp


def problems(doc: dict[str, Any]) -> list[str]:
    """Every key or value of ``doc`` that its kind's API object does not have."""
    key = (doc.get("apiVersion"), doc.get("kind"))
    if key not in KINDS:
        return [f"apiVersion/kind {key} is not one of {sorted(KINDS)}"]
    return _check(doc, KINDS[key], doc.get("kind", ""), None)  # type: ignore[arg-type]


def _check(value: Any, tp: Any, path: str, parent: str | None) -> list[str]:
    tp = _plain(tp)
    origin = typing.get_origin(tp)
    if isinstance(tp, type) and pulumi._types.is_input_type(tp):
        if not isinstance(value, dict):
            return [f"{path}: expected an object ({tp.__name__}), got {value!r}"]
        fields = _fields(tp)
        out = []
        for k, v in value.items():
            if k not in fields:
                out.append(f"{path}.{k}: not a field of {tp.__name__.removesuffix('Args')} "
                           f"(fields: {', '.join(sorted(fields))})")
            else:
                out += _check(v, fields[k], f"{path}.{k}", k)
        return out
    if origin in (collections.abc.Sequence, list):
        if not isinstance(value, list):
            return [f"{path}: expected a list, got {value!r}"]
        (item,) = typing.get_args(tp)
        return [p for i, v in enumerate(value) for p in _check(v, item, f"{path}[{i}]", parent)]
    if origin in (collections.abc.Mapping, dict):
        if not isinstance(value, dict):
            return [f"{path}: expected a map, got {value!r}"]
        _, item = typing.get_args(tp)
        out = [f"{path}: key {k!r} is not a string" for k in value if not isinstance(k, str)]
        return out + [p for k, v in value.items()
                      for p in _check(v, item, f"{path}.{k}", parent)]
    if origin is typing.Literal:
        return [] if value in typing.get_args(tp) else \
            [f"{path}: {value!r} is not one of {typing.get_args(tp)}"]
    if tp is bool:
        ok = isinstance(value, bool)
    elif tp is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif tp is float:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    elif tp is str:
        ok = isinstance(value, str) or (parent in QUANTITIES and isinstance(value, int)
                                        and not isinstance(value, bool))
    else:  # Any (free-form JSON fields)
        ok = True
    return [] if ok else [f"{path}: {value!r} is not a {getattr(tp, '__name__', tp)}"]
