"""The replacement table covers every resource type Trellis plans, agrees with what the installed
SDKs document as forcing a new resource, and the diff honours the options a plan records
(replaceOnChanges, deleteBeforeReplace, ignoreChanges) and the provider rules."""

from __future__ import annotations

import builtins
import contextlib
import importlib
import json
import re
from functools import cache

import pulumi
import pulumi_gcp as gcp
import pytest

from stacks.org.load import load
from stacks.org.resolve import resolve
from stacks.plan.engine import Plan, PlannedResource, plan, run_program
from stacks.report.diff import _covers, _flatten, _norm, diff_plans
from stacks.report.replacements import REPLACEMENTS
from tests.conftest import ALL_ORGS, BUNDLED_GCP


@cache
def planned_types() -> dict[str, set[str]]:
    """Every custom resource type the bundled and example orgs plan (all environments), with
    the input paths Trellis sets on it."""
    found: dict[str, set[str]] = {}
    for org in ALL_ORGS:
        loaded = load(org)
        for env in loaded.environments:
            for res in plan(resolve(loaded, env)).resources:
                if res.custom:
                    found.setdefault(res.type, set()).update(
                        _norm(p) for p in _flatten(res.inputs))
    return found


def test_every_planned_type_has_a_replacement_entry():
    missing = sorted(set(planned_types()) - set(REPLACEMENTS))
    assert not missing, (f"{len(missing)} planned resource types have no entry in "
                         f"stacks/report/replacements.py, so their replacements would show as "
                         f"updates: {missing}")


def test_every_entry_names_its_source():
    for type_, entry in REPLACEMENTS.items():
        assert entry.source.strip(), f"{type_}: no source for its force-new properties"
        assert all(p and p == p.strip() for p in entry.properties), type_


# ---- the SDKs' own words ------------------------------------------------------------------------

#: What the SDK docstrings (generated from the providers' docs) say when a change replaces.
FORCES_NEW = re.compile(
    r"forces?\s+(a\s+)?(new|replacement)|(creates?|creating)\s+a\s+new\s+resource"
    r"|force\s+\w+\s+to\s+create\s+(a\s+)?new|re-?creat\w*\s+(of\s+)?the\s+resource"
    r"|recreation\s+of\s+the\s+resource|deleting/\s*recreating\s+the\s+resource", re.I)


NEGATED = re.compile(r"\b(without|not|never)\b", re.I)


def _args_class(type_: str) -> tuple[type, dict[str, object]] | None:
    package, module, name = type_.split(":")
    if package not in ("gcp", "aws"):
        return None
    folder = module.split("/")[0]
    pkg = importlib.import_module(f"pulumi_{package}.{folder}")
    cls = getattr(pkg, name, None)
    if cls is None:
        return None
    mod = importlib.import_module(cls.__module__)
    namespace = dict(vars(pkg))
    with contextlib.suppress(ImportError):
        namespace.update(vars(importlib.import_module(f"{pkg.__name__}._inputs")))
    args = getattr(mod, f"{name}Args", None)
    return (args, namespace) if args is not None else None


def sdk_force_new(type_: str) -> dict[str, str]:
    """Property path -> docstring, for every input the SDK says forces a new resource."""
    found = _args_class(type_)
    if found is None:
        return {}
    args, namespace = found
    out: dict[str, str] = {}

    def walk(cls: type, prefix: str, seen: frozenset[type]) -> None:
        if cls in seen or len(seen) > 6:
            return
        for base in reversed(cls.__mro__):
            for value in base.__dict__.values():
                name = getattr(getattr(value, "fget", None), "_pulumi_name", None)
                if not isinstance(value, builtins.property) or name is None:
                    continue
                doc = " ".join((value.fget.__doc__ or "").split())
                # "Can be updated without creating a new resource" says the opposite.
                if any(FORCES_NEW.search(s) and not NEGATED.search(s)
                       for s in re.split(r"(?<=\.)\s", doc)):
                    out[prefix + name] = doc
                hint = repr(value.fget.__annotations__.get("return"))
                for ref in re.findall(r"ForwardRef\('(\w+Args)'\)", hint):
                    sub = namespace.get(ref)
                    if isinstance(sub, type):
                        walk(sub, f"{prefix}{name}.", seen | {cls})

    walk(args, "", frozenset())
    return out


def test_what_the_sdks_document_as_force_new_is_in_the_table():
    """A tripwire for SDK upgrades: a property Trellis sets that the SDK docs say forces a new
    resource must be in the table (with its provider source), else the diff calls it an
    update."""
    gaps = []
    for type_, used in sorted(planned_types().items()):
        table = REPLACEMENTS.get(type_)
        for prop, doc in sdk_force_new(type_).items():
            if not any(_covers(p, prop) for p in used):
                continue  # Trellis never sets it
            if table is None or not any(_covers(prop, f) for f in table.properties):
                gaps.append(f"{type_} {prop}: {doc[:100]}")
    assert not gaps, "the SDK docs say these force a new resource:\n" + "\n".join(gaps)


# ---- options the plan records -------------------------------------------------------------------

@pytest.fixture(scope="module")
def env():
    return resolve(load(BUNDLED_GCP), "dev")


def _plan(env, labels: dict[str, str], **opts) -> Plan:
    def program() -> None:
        gcp.storage.Bucket("b", name="acme-dev-x", location="US", labels=labels,
                           opts=pulumi.ResourceOptions(**opts))
        gcp.storage.BucketIAMMember("b-reader", bucket=pulumi.Output.from_input("acme-dev-x"),
                                    role="roles/storage.objectViewer", member="user:a@b.c")
    return run_program(env, program)


def test_replace_on_changes_and_delete_before_replace_are_honoured(env):
    before = _plan(env, {"a": "1"}, replace_on_changes=["labels"], delete_before_replace=True)
    after = _plan(env, {"a": "2"}, replace_on_changes=["labels"], delete_before_replace=True)
    d = diff_plans(before, after)
    (change,) = d.replaced
    assert change.urn.endswith("::b") and "replaceOnChanges" in change.reasons[0], change
    assert change.delete_before_replace
    (loss,) = d.losses
    assert "deleted before its replacement is created" in loss.message, loss.message
    plain = diff_plans(_plan(env, {"a": "1"}), _plan(env, {"a": "2"}))
    assert not plain.replaced, "labels are updated in place without replaceOnChanges"


def test_ignore_changes_are_not_changes(env):
    d = diff_plans(_plan(env, {"a": "1"}, ignore_changes=["labels"]),
                   _plan(env, {"a": "2"}, ignore_changes=["labels"]))
    assert not d.changed, d.changed


def _res(type_: str, inputs: dict, name: str = "r", **kw) -> PlannedResource:
    fields = {"urn": f"urn:pulumi:dev::trellis::{type_}::{name}", "type": type_, "name": name,
              "parent": None, "inputs": inputs, "outputs": {}, "dependencies": [],
              "property_dependencies": {}, "protect": False, "retain_on_delete": False,
              "delete_before_replace": False, "aliases": [], "ignore_changes": [],
              "replace_on_changes": [], "custom": True, "provider": ""}
    fields.update(kw)
    return PlannedResource(**fields)


def _one(*resources: PlannedResource) -> Plan:
    return Plan(org="acme", cloud="aws", environment="dev", tier="sandbox",
                resources=list(resources))


def test_eks_encryption_replaces_only_when_removed():
    key = [{"provider": {"keyArn": "arn:aws:kms:us-east-1:1:key/k"}, "resources": ["secrets"]}]
    with_key = _res("aws:eks/cluster:Cluster", {"name": "c", "encryptionConfig": key})
    without = _res("aws:eks/cluster:Cluster", {"name": "c"})
    assert diff_plans(_one(with_key), _one(without)).replaced, "removing encryption replaces"
    assert not diff_plans(_one(without), _one(with_key)).replaced, "adding it is in place"


def _kubeconfig(server: str) -> str:
    return json.dumps({"current-context": "c", "contexts": [{"name": "c", "context": {
        "cluster": "k"}}], "clusters": [{"name": "k", "cluster": {"server": server}}],
        "users": [{"name": "u", "user": {"token": server[-1]}}]})


def test_kubernetes_provider_replaced_only_for_another_cluster():
    provider = "pulumi:providers:kubernetes"
    ns_type = "kubernetes:core/v1:Namespace"
    ref = f"urn:pulumi:dev::trellis::{provider}::k8s::id"

    def plan_with(kubeconfig: str) -> Plan:
        return _one(_res(provider, {"kubeconfig": kubeconfig}, "k8s"),
                    _res(ns_type, {"metadata": {"name": "team"}}, "team", provider=ref))

    same_cluster_new_user = diff_plans(plan_with(_kubeconfig("https://a/1")),
                                       plan_with(_kubeconfig("https://a/1").replace(
                                           '"token": "1"', '"token": "2"')))
    assert not same_cluster_new_user.replaced
    other = diff_plans(plan_with(_kubeconfig("https://a/1")), plan_with(_kubeconfig("https://b")))
    assert {c.type for c in other.replaced} == {provider, ns_type}, other.replaced
    (ns,) = [c for c in other.replaced if c.type == ns_type]
    assert "its provider" in ns.reasons[0], ns.reasons
