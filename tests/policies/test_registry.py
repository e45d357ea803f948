"""The rule metadata contract, checked against the registry and the installed providers.

Rules are written against raw provider type tokens and camelCase property names; a typo there
makes a rule silently never match. The installed pulumi-gcp / pulumi-aws packages are the
ground truth, so the tokens of every rule and the property names of every fixture are looked up
in them.
"""

from __future__ import annotations

import importlib
import inspect
import re
import sys
from functools import cache
from typing import Any

import pytest
from test_rules import all_cases

from policies.registry import AREAS, ID_RE, SEVERITIES, all_rules
from policies.settings import SETTINGS

EQUIV_PATTERNS = {
    "checkov": re.compile(r"CKV2?_(AWS|GCP|K8S)_\d+"),
    "trivy": re.compile(r"AVD-(AWS|GCP|KSV)-\d{4,5}"),
    "cdk_nag": re.compile(r"(AwsSolutions-[A-Z]+\d+|[A-Z][A-Za-z0-9]+)"),
}


def test_ids_are_unique_well_formed_and_in_known_areas() -> None:
    ids = [r.id for r in all_rules()]
    assert len(ids) == len(set(ids))
    for rule in all_rules():
        assert ID_RE.fullmatch(rule.id), rule.id
        assert rule.area in AREAS, rule.id


@pytest.mark.parametrize("rule", all_rules(), ids=lambda r: r.id)
def test_rule_metadata(rule: Any) -> None:
    assert rule.description.endswith(".") and rule.description.count(". ") == 0, (
        f"{rule.id}: description must be one sentence")
    assert rule.severity in SEVERITIES and rule.enforcement in ("advisory", "mandatory")
    assert len(rule.remediation) > 20, f"{rule.id}: remediation must say how to fix it"
    assert rule.title and len(rule.title) <= 60
    assert all(k in SETTINGS for k in rule.config)
    for tool, ids in rule.equivalents.as_dict().items():
        for i in ids:
            assert EQUIV_PATTERNS[tool].fullmatch(i), f"{rule.id}: {tool} id {i!r}"


def _resource_class(token: str) -> type:
    pkg, module, cls = token.split(":")
    if pkg == "kubernetes":  # rbac.authorization.k8s.io/v1 -> pulumi_kubernetes.rbac.v1
        group, version = module.split("/")
        mod = importlib.import_module(f"pulumi_kubernetes.{group.split('.')[0]}.{version}")
    else:
        mod = importlib.import_module(f"pulumi_{pkg}.{module.split('/')[0]}")
    return getattr(mod, cls)  # type: ignore[no-any-return]


@cache
def _source_of(cls: type) -> str:
    return inspect.getsource(sys.modules[cls.__module__])


@pytest.mark.parametrize("token", sorted({t for r in all_rules() for t in r.resource_types
                                          if "*" not in t}))
def test_resource_types_exist_in_the_installed_providers(token: str) -> None:
    cls = _resource_class(token)
    assert f"'{token}'" in _source_of(cls), f"{token} is not the type token of {cls}"


def _args_class(cls: type) -> type:
    mod = sys.modules[cls.__module__]
    found = getattr(mod, f"{cls.__name__}InitArgs", None) or getattr(mod, f"{cls.__name__}Args")
    return found  # type: ignore[no-any-return]


def _props(args_cls: type) -> dict[str, str]:
    """camelCase name -> return annotation text of every input property."""
    out = {}
    for attr, val in vars(args_cls).items():
        if isinstance(val, property) and val.fget is not None:
            name = getattr(val.fget, "_pulumi_name", None) or attr
            out[name] = str(inspect.signature(val.fget).return_annotation)
    return out


def _nested(annotation: str, namespace: Any) -> type | None:
    """The Args class of a nested input, looked up where the resource module imports it."""
    if "Mapping[" in annotation:
        return None  # free-form maps (labels, tags, metadata)
    m = re.search(r"'([A-Za-z0-9]+Args)'", annotation)
    return getattr(namespace, m.group(1), None) if m else None


def _bad_keys(value: Any, args_cls: type, namespace: Any, path: str) -> list[str]:
    props = _props(args_cls)
    bad = []
    for key, sub in value.items():
        if key not in props:
            bad.append(f"{path}{key} (known: {', '.join(sorted(props))})")
            continue
        nested = _nested(props[key], namespace)
        if nested is None:
            continue
        for item in (sub if isinstance(sub, list) else [sub]):
            if isinstance(item, dict):
                bad.extend(_bad_keys(item, nested, namespace, f"{path}{key}."))
    return bad


def _fixture_resources() -> list[dict[str, Any]]:
    seen: dict[tuple[str, str], dict[str, Any]] = {}
    for cases in all_cases().values():
        for stacks in cases.values():
            for stack in stacks:
                for r in stack.resources:
                    if r["type"].startswith(("gcp:", "aws:")):
                        seen.setdefault((r["type"], repr(sorted(r["inputs"]))), r)
    return list(seen.values())


def test_fixture_property_names_are_the_providers_camelcase_names() -> None:
    problems = []
    for r in _fixture_resources():
        cls = _resource_class(r["type"])
        namespace = sys.modules[cls.__module__]
        problems += [f"{r['type']} {b}"
                     for b in _bad_keys(r["inputs"], _args_class(cls), namespace, "")]
    assert not problems, "\n".join(problems)
