"""The floors of ``trellis plan``: plain Pulumi mocks registering the same resources.

Run in a fresh interpreter by ``benchmarks/run.py``::

    python benchmarks/floor.py PLAN.json [--mode honest|sdk|bare]

``PLAN.json`` is ``trellis plan --format json`` output. Its resources are registered again under
``pulumi.runtime.set_mocks`` (the stock ``MockMonitor``, mocks that echo the inputs, run the way
``@pulumi.runtime.test`` runs a test), with the same type tokens, names and inputs:

- ``--mode honest`` (default; issue 24): the plan's real structure. Every registration of the
  plan, components and providers included, in an order where parents, providers and
  dependencies come first; each resource with its parent, its provider, its ``depends_on``,
  ``protect``/``retain_on_delete``/``ignore_changes``/aliases as recorded, and every input that
  had property dependencies passed as an Output of those resources (``dep.urn.apply(...)``
  resolving to the recorded value), as a program wires one resource's outputs into another's
  inputs; components get ``register_outputs``. Cloud resources go through the provider SDK's
  own class. The cyclic garbage collector is off for the whole process, as in the plan.
- ``--mode sdk`` (the floor before issue 24, kept as a second column): only the cloud resources
  (custom, not providers), through the SDK class, with no parents, providers, dependencies or
  Outputs, and Python's default garbage collector.
- ``--mode bare``: ``pulumi.CustomResource(type, name, inputs)`` for the cloud resources; no SDK
  import at all. The cheapest thing the runtime can register; a lower bound, not a program.

Through the SDK class (``gcp:compute/network:Network`` -> ``pulumi_gcp.compute.Network``) the
floor pays what a program using the SDK pays: importing the SDK modules, the generated
``__init__``, one Output per declared output property. Top-level inputs are passed by their
Python names; nested values as dicts with the wire (camelCase) keys, which the SDK passes
through unchanged. Prints one JSON object: resources (cloud resources, the per-resource unit),
registrations, how many went through an SDK class, and the seconds spent starting (interpreter
and ``import pulumi``), reading the plan (not part of the floor), importing SDK modules and
registering.
"""

from __future__ import annotations

import argparse
import gc
import heapq
import importlib
import inspect
import json
import re
import sys
import time
from typing import Any

START = time.perf_counter()
if "--mode" not in sys.argv or sys.argv[sys.argv.index("--mode") + 1:][:1] == ["honest"]:
    gc.disable()  # the honest floor runs with the collector off, from the first import on

import pulumi  # noqa: E402 - timed from interpreter start
from pulumi.runtime import mocks as pmocks  # noqa: E402

PACKAGES = {"gcp": "pulumi_gcp", "aws": "pulumi_aws", "kubernetes": "pulumi_kubernetes"}
_CAMEL = re.compile(r"(?<!^)(?=[A-Z])")


class Echo(pmocks.Mocks):
    """The mocks every Pulumi unit-testing guide starts from: outputs = inputs."""

    def new_resource(self, args: pmocks.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        return f"{args.name}-id", args.inputs

    def call(self, args: pmocks.MockCallArgs) -> tuple[dict[str, Any], list[Any]]:
        return {}, []


def sdk_class(token: str) -> Any:
    """``gcp:compute/network:Network`` -> ``pulumi_gcp.compute.Network`` (None if unknown)."""
    pkg, mod, name = token.split(":")
    package = PACKAGES.get(pkg)
    if package is None:
        return None
    parts = mod.split("/")
    # gcp/aws: "<module>/<file>" -> module; kubernetes: "<group>/<version>" -> group.version,
    # where the group is its first DNS label (rbac.authorization.k8s.io -> rbac).
    if pkg == "kubernetes":
        path = f"{parts[0].split('.')[0]}.{parts[1]}"
    else:
        path = parts[0]
    try:
        module = importlib.import_module(f"{package}.{path}" if path != "index" else package)
        return getattr(module, name, None)
    except ImportError:
        return None


def py_names(cls: Any) -> dict[str, str]:
    """Wire name -> Python keyword of ``cls``'s constructor."""
    params = set(inspect.signature(cls._internal_init).parameters) - {"self", "resource_name",
                                                                      "opts", "args", "kwargs"}
    module = sys.modules[cls.__module__]
    names: dict[str, str] = {}
    for args_name in (f"{cls.__name__}Args", f"{cls.__name__}InitArgs"):
        args_cls = getattr(module, args_name, None)
        if args_cls is not None:
            from pulumi import _types

            names = {wire: py for py, wire in _types.input_type_py_to_pulumi_names(args_cls).items()
                     if py in params}
            break
    for py in params:
        names.setdefault(py, py)
        names.setdefault(_to_camel(py), py)
    return names


def _to_camel(snake: str) -> str:
    head, *rest = snake.split("_")
    return head + "".join(w[:1].upper() + w[1:] for w in rest)


def is_cloud(r: dict[str, Any]) -> bool:
    """A cloud resource: what the per-resource figures count (custom, not a provider)."""
    return bool(r["custom"]) and not r["type"].startswith("pulumi:")


def provider_urn(ref: str | None) -> str | None:
    """``<urn>::<id>`` (a provider reference) -> ``<urn>``."""
    return ref.rsplit("::", 1)[0] if ref else None


def topological(resources: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The resources with every parent, provider and dependency before its dependents
    (ties in plan order). Links to URNs outside the plan (the root stack) are ignored."""
    index = {r["urn"]: i for i, r in enumerate(resources)}
    needs: list[set[int]] = []
    for r in resources:
        links = {r["parent"], provider_urn(r["provider"]), *r["dependencies"],
                 *(u for urns in r["property_dependencies"].values() for u in urns)}
        needs.append({index[u] for u in links if u in index} - {index[r["urn"]]})
    users: dict[int, list[int]] = {}
    for i, deps in enumerate(needs):
        for d in deps:
            users.setdefault(d, []).append(i)
    waiting = [len(d) for d in needs]
    ready = [i for i, n in enumerate(waiting) if n == 0]
    heapq.heapify(ready)
    out: list[dict[str, Any]] = []
    while ready:
        i = heapq.heappop(ready)
        out.append(resources[i])
        for u in users.get(i, ()):
            waiting[u] -= 1
            if waiting[u] == 0:
                heapq.heappush(ready, u)
    if len(out) != len(resources):
        raise SystemExit("the plan's resources depend on each other in a cycle")
    return out


def sdk_classes(tokens: set[str]) -> dict[str, tuple[Any, dict[str, str]]]:
    classes: dict[str, tuple[Any, dict[str, str]]] = {}
    for token in sorted(tokens):
        cls = sdk_class(token)
        if cls is not None:
            classes[token] = (cls, py_names(cls))
    return classes


def honest_program(resources: list[dict[str, Any]],
                   classes: dict[str, tuple[Any, dict[str, str]]]) -> tuple[Any, dict[str, int]]:
    """The program of ``--mode honest`` and its counters (filled in while it runs)."""
    counts = {"via_sdk": 0}
    order = topological(resources)

    def program() -> None:
        made: dict[str, Any] = {}
        components = []
        for r in order:
            wired = {u for urns in r["property_dependencies"].values() for u in urns}
            opts = pulumi.ResourceOptions(
                parent=made.get(r["parent"]), provider=made.get(provider_urn(r["provider"]) or ""),
                depends_on=[made[u] for u in r["dependencies"] if u in made and u not in wired]
                or None,
                protect=r["protect"] or None, retain_on_delete=r["retain_on_delete"] or None,
                delete_before_replace=r["delete_before_replace"] or None,
                ignore_changes=r["ignore_changes"] or None, aliases=r["aliases"] or None)
            inputs = {}
            for key, value in r["inputs"].items():
                deps = [made[u] for u in r["property_dependencies"].get(key, ()) if u in made]
                if len(deps) == 1:
                    inputs[key] = deps[0].urn.apply(lambda _, v=value: v)
                elif deps:
                    inputs[key] = pulumi.Output.all(*[d.urn for d in deps]).apply(
                        lambda _, v=value: v)
                else:
                    inputs[key] = value
            kind = r["type"]
            if kind.startswith("pulumi:providers:"):
                res: Any = pulumi.ProviderResource(kind.split(":")[2], r["name"], inputs, opts)
            elif not r["custom"]:
                res = pulumi.ComponentResource(kind, r["name"], None, opts)
                components.append(res)
            else:
                res = None
                entry = classes.get(kind)
                if entry is not None:
                    cls, names = entry
                    try:
                        res = cls(r["name"], opts, **{names[k]: v for k, v in inputs.items()
                                                      if k in names})
                        counts["via_sdk"] += 1
                    except (TypeError, ValueError):
                        res = None
                if res is None:
                    res = pulumi.CustomResource(kind, r["name"], inputs, opts)
            made[r["urn"]] = res
        for component in components:
            component.register_outputs({})

    return program, counts


def plain_program(todo: list[dict[str, Any]],
                  classes: dict[str, tuple[Any, dict[str, str]]]) -> tuple[Any, dict[str, int]]:
    """The program of ``--mode sdk`` and ``--mode bare`` (no classes): cloud resources only."""
    counts = {"via_sdk": 0}
    seen: set[tuple[str, str]] = set()

    def program() -> None:
        for r in todo:
            name = r["name"]
            while (r["type"], name) in seen:  # same name under another parent in the plan
                name += "-x"
            seen.add((r["type"], name))
            entry = classes.get(r["type"])
            if entry is not None:
                cls, names = entry
                kwargs = {names[k]: v for k, v in r["inputs"].items() if k in names}
                try:
                    cls(name, **kwargs)
                    counts["via_sdk"] += 1
                    continue
                except (TypeError, ValueError):
                    pass
            pulumi.CustomResource(r["type"], name, dict(r["inputs"]))

    return program, counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("plan")
    parser.add_argument("--mode", choices=("honest", "sdk", "bare"), default="honest")
    ns = parser.parse_args()

    t_read = time.perf_counter()
    with open(ns.plan, encoding="utf-8") as fh:
        plan = json.load(fh)
    resources = plan["resources"]
    todo = [r for r in resources if is_cloud(r)]
    read_s = time.perf_counter() - t_read

    t_import = time.perf_counter()
    classes = sdk_classes({r["type"] for r in todo}) if ns.mode != "bare" else {}
    import_s = time.perf_counter() - t_import

    pmocks.set_mocks(Echo(), project="trellis", stack=plan["environment"], preview=False)
    if ns.mode == "honest":
        program, counts = honest_program(resources, classes)
        registrations = len(resources)
    else:
        program, counts = plain_program(todo, classes)
        registrations = len(todo)

    t_register, c_register = time.perf_counter(), time.process_time()
    pmocks.test(program)()
    register_s = time.perf_counter() - t_register
    register_cpu_s = time.process_time() - c_register
    print(json.dumps({"mode": ns.mode, "resources": len(todo), "registrations": registrations,
                      "via_sdk": counts["via_sdk"], "gc": gc.isenabled(),
                      "read_s": round(read_s, 4), "import_s": round(import_s, 4),
                      "register_s": round(register_s, 4),
                      "register_cpu_s": round(register_cpu_s, 4),
                      "startup_s": round(t_read - START, 4)}))


if __name__ == "__main__":
    main()
