"""The floor of ``trellis plan``: naive Pulumi mocks registering the same resources.

Run in a fresh interpreter by ``benchmarks/run.py``::

    python benchmarks/floor.py PLAN.json [--mode sdk|bare]

``PLAN.json`` is ``trellis plan --format json`` output. Every cloud resource of it (custom, not a
provider) is registered again, with the same type token, name and inputs, under
``pulumi.runtime.set_mocks`` with default settings: the stock ``MockMonitor``, mocks that echo
the inputs, the default garbage collector, run the way ``@pulumi.runtime.test`` runs a test.

- ``--mode sdk`` (default, the issue's floor): through the provider SDK's own class
  (``gcp:compute/network:Network`` -> ``pulumi_gcp.compute.Network``), so the floor pays what a
  program using the SDK pays: importing the SDK modules, the generated ``__init__``, one Output
  per declared output property. Top-level inputs are passed by their Python names; nested values
  as dicts with the wire (camelCase) keys, which the SDK passes through unchanged.
- ``--mode bare``: ``pulumi.CustomResource(type, name, inputs)``; no SDK import at all. The
  cheapest thing the runtime can register; a lower bound, not what a program does.

No parents, providers or components: those are ours (the plan run pays for them, the floor
does not). Prints one JSON object: resources, how many went through an SDK class, and the
seconds spent reading the plan (not part of the floor), importing, and registering.
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import json
import re
import sys
import time
from typing import Any

START = time.perf_counter()

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("plan")
    parser.add_argument("--mode", choices=("sdk", "bare"), default="sdk")
    ns = parser.parse_args()

    t_read = time.perf_counter()
    with open(ns.plan, encoding="utf-8") as fh:
        plan = json.load(fh)
    todo = [r for r in plan["resources"] if r["custom"] and not r["type"].startswith("pulumi:")]
    read_s = time.perf_counter() - t_read

    t_import = time.perf_counter()
    classes: dict[str, Any] = {}
    if ns.mode == "sdk":
        for token in sorted({r["type"] for r in todo}):
            cls = sdk_class(token)
            if cls is not None:
                classes[token] = (cls, py_names(cls))
    import_s = time.perf_counter() - t_import

    pmocks.set_mocks(Echo(), project="trellis", stack=plan["environment"], preview=False)
    seen: set[tuple[str, str]] = set()
    via_sdk = 0

    def program() -> None:
        nonlocal via_sdk
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
                    via_sdk += 1
                    continue
                except (TypeError, ValueError):
                    pass
            pulumi.CustomResource(r["type"], name, dict(r["inputs"]))

    t_register = time.perf_counter()
    pmocks.test(program)()
    register_s = time.perf_counter() - t_register
    print(json.dumps({"mode": ns.mode, "resources": len(todo), "via_sdk": via_sdk,
                      "read_s": round(read_s, 4), "import_s": round(import_s, 4),
                      "register_s": round(register_s, 4),
                      "startup_s": round(t_read - START, 4)}))


if __name__ == "__main__":
    main()
