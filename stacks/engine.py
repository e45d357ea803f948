"""The offline plan engine: the Pulumi program under Pulumi's own mock runtime, recorded.

``trellis plan`` and ``trellis check`` must work on a laptop or in CI with no cloud account and
no Pulumi CLI. We run the very program ``pulumi up`` runs (:func:`stacks.program.build`) with
``pulumi.runtime`` configured against a recording monitor: every ``RegisterResourceRequest`` is
kept whole (type, name, parent, inputs as the engine receives them, dependencies, protect,
retainOnDelete, aliases, ignoreChanges, ...), and the mocks answer with realistic outputs per
resource type so wiring between resources resolves. See docs/adr/0003-offline-plan-engine.md.
"""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pulumi
from pulumi.runtime import mocks as pmocks
from pulumi.runtime import rpc, settings
from pulumi.runtime.proto import resource_pb2
from pulumi.runtime.stack import run_in_stack
from pulumi.runtime.sync_await import _sync_await

from stacks.mockstate import mock_call, mock_state
from stacks.spec import EnvSpec

PROJECT = "trellis"  # the `name` in Pulumi.yaml; part of every URN


class PlanError(Exception):
    """The program failed while planning; ``str()`` is the message for the user."""


@dataclass
class PlannedResource:
    """One resource registration as the engine received it."""

    urn: str
    type: str
    name: str
    parent: str | None
    inputs: dict[str, Any]
    outputs: dict[str, Any]
    dependencies: list[str]
    property_dependencies: dict[str, list[str]]
    protect: bool
    retain_on_delete: bool
    delete_before_replace: bool
    aliases: list[str]
    ignore_changes: list[str]
    replace_on_changes: list[str]
    custom: bool
    provider: str

    def to_json(self) -> dict[str, Any]:
        """The DESIGN.md plan contract (plus a few extra keys, never fewer)."""
        return {
            "urn": self.urn, "type": self.type, "name": self.name, "parent": self.parent,
            "inputs": self.inputs, "dependencies": self.dependencies,
            "property_dependencies": self.property_dependencies, "protect": self.protect,
            "retain_on_delete": self.retain_on_delete,
            "delete_before_replace": self.delete_before_replace, "aliases": self.aliases,
            "ignore_changes": self.ignore_changes, "custom": self.custom,
            "provider": self.provider or None,
        }


@dataclass
class Plan:
    """Every resource one environment would get, in registration order, plus stack outputs."""

    org: str
    cloud: str
    environment: str
    tier: str
    resources: list[PlannedResource]
    outputs: dict[str, Any] = field(default_factory=dict)

    def by_urn(self) -> dict[str, PlannedResource]:
        return {r.urn: r for r in self.resources}

    def of_type(self, type_: str) -> list[PlannedResource]:
        return [r for r in self.resources if r.type == type_]

    def to_json(self) -> dict[str, Any]:
        return {"org": self.org, "cloud": self.cloud, "environment": self.environment,
                "tier": self.tier, "resources": [r.to_json() for r in self.resources],
                "outputs": self.outputs}


def _plain(value: Any) -> Any:
    """Engine values -> JSON-able values (secrets unwrapped, unknowns marked)."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    if isinstance(value, pulumi.Resource):
        return "<resource>"
    return str(value)


class _Mocks(pmocks.Mocks):
    def __init__(self, env: EnvSpec) -> None:
        self.env = env

    def new_resource(self, args: pmocks.MockResourceArgs) -> tuple[str | None, dict[Any, Any]]:
        return mock_state(self.env, args.typ, args.name, args.inputs)

    def call(
        self, args: pmocks.MockCallArgs
    ) -> tuple[dict[Any, Any], list[tuple[str, str]] | None]:
        # pulumi's MockMonitor iterates the failures: an empty list, not None.
        return mock_call(self.env, args.token, args.args), []


class RecordingMonitor(pmocks.MockMonitor):
    """A mock resource monitor that keeps every registration request whole."""

    def __init__(self, mocks: pmocks.Mocks) -> None:
        super().__init__(mocks)
        self.records: list[PlannedResource] = []
        self.stack_outputs: dict[str, Any] = {}
        self.stack_urn = ""

    def RegisterResource(self, request: Any) -> Any:  # noqa: N802 - gRPC method name
        urn = self.make_urn(request.parent, request.type, request.name)
        if request.type == "pulumi:pulumi:Stack":
            self.stack_urn = urn
            return resource_pb2.RegisterResourceResponse(urn=urn)
        pmocks._ensure_event_loop()
        inputs = rpc.deserialize_properties(request.object)
        resource_args = pmocks.MockResourceArgs(
            typ=request.type, name=request.name, inputs=inputs, provider=request.provider,
            resource_id=request.importId, custom=request.custom or False)
        id_, state = self.mocks.new_resource(resource_args)
        obj_proto = _sync_await(rpc.serialize_properties(state, {}))
        self.resources[urn] = pmocks.MockMonitor.ResourceRegistration(urn, id_ or "", state)
        self.records.append(PlannedResource(
            urn=urn, type=request.type, name=request.name, parent=request.parent or None,
            inputs=_plain(inputs), outputs=_plain(state),
            # The SDK gathers these from sets: sort them so plans are reproducible.
            dependencies=sorted(request.dependencies),
            property_dependencies={k: sorted(v.urns)
                                   for k, v in sorted(request.propertyDependencies.items())},
            protect=bool(request.protect),
            retain_on_delete=bool(request.retainOnDelete),
            delete_before_replace=bool(request.deleteBeforeReplace),
            aliases=self._alias_urns(request),
            ignore_changes=list(request.ignoreChanges),
            replace_on_changes=list(request.replaceOnChanges),
            custom=bool(request.custom), provider=request.provider))
        return resource_pb2.RegisterResourceResponse(urn=urn, id=id_ or "", object=obj_proto)

    def make_urn(self, parent: str, type_: str, name: str) -> str:
        # Like the real engine: the root stack is never part of a child's qualified type.
        if parent and parent.split("::")[2] == "pulumi:pulumi:Stack":
            parent = ""
        return super().make_urn(parent, type_, name)

    def _alias_urns(self, request: Any) -> list[str]:
        out = list(request.aliasURNs)
        for alias in request.aliases:
            if alias.urn:
                out.append(alias.urn)
                continue
            spec = alias.spec
            parent = "" if spec.noParent else (spec.parentUrn or request.parent)
            out.append(self.make_urn(parent, spec.type or request.type, spec.name or request.name))
        return out

    def RegisterResourceOutputs(self, request: Any) -> Any:  # noqa: N802 - gRPC method name
        if request.urn == self.stack_urn:
            self.stack_outputs = _plain(rpc.deserialize_properties(request.outputs))
        return super().RegisterResourceOutputs(request)


def void(_: object) -> None:
    """Discard a program's return value (``run_in_stack`` awaits anything awaitable)."""


@contextmanager
def _quiet_collector() -> Iterator[None]:
    """Raise the cyclic GC threshold for the plan run only (see docs/performance.md).

    The runtime makes many short-lived objects; the default threshold makes the collector
    rescan them constantly. Scoped here, so user programs run by the real engine are untouched.
    """
    old = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(100_000, 50, 100)
    try:
        yield
    finally:
        gc.set_threshold(*old)
        gc.unfreeze()


def run_program(env: EnvSpec, program: Callable[[], object]) -> Plan:
    """Run ``program`` (which registers resources for ``env``) under the recording monitor."""
    monitor = RecordingMonitor(_Mocks(env))
    settings.ROOT.set(None)
    settings.configure(pmocks.MockSettings(
        monitor=monitor, monitor_features=set(monitor.GetDeploymentInfo(None).supportedFeatures),
        engine=pmocks.MockEngine(logging.getLogger("trellis.engine")), project=PROJECT,
        stack=env.name, dry_run=False, organization="organization", callbacks=None,
        root_directory=None))
    pulumi.runtime.set_all_config({"trellis:org": str(env.org_file),
                                   "trellis:environment": env.name})
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        with _quiet_collector():
            loop.run_until_complete(run_in_stack(lambda: void(program())))
    except PlanError:
        raise
    except Exception as exc:
        raise PlanError(f"planning environment '{env.name}' failed: "
                        f"{type(exc).__name__}: {exc}") from exc
    finally:
        settings.ROOT.set(None)
        loop.close()
        asyncio.set_event_loop(None)
    return Plan(org=env.org, cloud=env.cloud, environment=env.name, tier=env.tier,
                # Registration order depends on how the event loop interleaves Outputs, which
                # varies between runs: sort by URN so a plan is byte-for-byte reproducible.
                resources=sorted(monitor.records, key=lambda r: r.urn),
                outputs=monitor.stack_outputs)


def plan(env: EnvSpec) -> Plan:
    """The offline plan of one environment: the same program ``pulumi up -s <env>`` runs."""
    from stacks import program

    return run_program(env, lambda: program.build(env))
