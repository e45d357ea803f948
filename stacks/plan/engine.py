"""The offline plan engine: the Pulumi program under Pulumi's own mock runtime, recorded.

``trellis plan`` and ``trellis check`` must work on a laptop or in CI with no cloud account and
no Pulumi CLI. We run the very program ``pulumi up`` runs
(:func:`stacks.compose.program.build`) with
``pulumi.runtime`` configured against a recording monitor: every ``RegisterResourceRequest`` is
kept whole (type, name, parent, inputs as the engine receives them, dependencies, protect,
retainOnDelete, aliases, ignoreChanges, ...), and the mocks answer with realistic outputs per
resource type so wiring between resources resolves. See docs/adr/0003-offline-plan-engine.md.

Everything this module needs of the SDK beyond its public API, and the speed shortcuts with
their switch, is in :mod:`stacks.plan.sdk` (ADR 24).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
from google.protobuf import struct_pb2
from pulumi.runtime import MockCallArgs, MockResourceArgs, Mocks, rpc, run_in_stack
from pulumi.runtime.proto import provider_pb2, resource_pb2

from stacks.org.spec import EnvSpec
from stacks.plan import sdk
from stacks.plan.mocks.answers import mock_call, mock_state
from stacks.plan.shards import (
    Sharding,
    ShardMismatchError,
    WorkerFailedError,
    plan_sharded,
    shards_of,
)

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
    #: How it was made (``--jobs``): workers and shards, or why one process made it after all.
    sharding: Sharding | None = field(default=None, compare=False)

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


def _sorted_keys(value: Any) -> Any:
    """``value`` with every mapping's keys in sorted order (lists keep theirs)."""
    if isinstance(value, dict):
        return {k: _sorted_keys(value[k]) for k in sorted(value)}
    if isinstance(value, list):
        return [_sorted_keys(v) for v in value]
    return value


def _plain_state(plain_inputs: dict[str, Any], inputs: dict[str, Any],
                 state: dict[str, Any]) -> dict[str, Any]:
    """``_plain(state)``, sharing the already converted values of echoed inputs.

    Mock state is the inputs plus what the provider computes: converting the echoed inputs a
    second time would double the plan's memory for nothing. Treat both as read-only.
    """
    return {k: plain_inputs[k] if k in inputs and inputs[k] is v else _plain(v)
            for k, v in state.items()}


def _response_object(request_object: struct_pb2.Struct, inputs: dict[str, Any],
                     state: dict[str, Any]) -> struct_pb2.Struct:
    """The registration response's properties: what ``serialize_properties(state)`` gives.

    Mock state echoes the inputs, which the request already carries serialized: copy them
    (one C-level copy, exact: secrets, assets and resource references stay as sent) and
    serialize only what the mocks computed, which is plain data. Like ``serialize_properties``,
    top-level ``None`` values are left out; ``null`` inside a copied input stays, and the SDK's
    deserializer drops it exactly as it drops it from the request, so the program sees the same
    values. Under ``dry_run=False`` every Output is known, so the request never carries the
    unknown sentinel. Anything that is not plain data takes Pulumi's own serializer.
    """
    out = struct_pb2.Struct()
    out.CopyFrom(request_object)
    fields = out.fields
    try:
        for k, v in inputs.items():
            if (v is None or k not in state) and k in fields:
                del fields[k]
        for k, v in state.items():
            if v is None:
                if k in fields:
                    del fields[k]
            elif k not in inputs or inputs[k] is not v:
                out[k] = v  # Struct takes dict/list/str/number/bool/None only
        return out
    except (ValueError, TypeError, AttributeError):
        sdk.off_event_loop()
        return sdk.serialize_state(state)


class TransformsNotSupportedError(Exception):
    """A resource or the stack declares transforms, which the offline plan cannot apply."""


class _Mocks(Mocks):
    def __init__(self, env: EnvSpec) -> None:
        self.env = env

    def new_resource(self, args: MockResourceArgs) -> tuple[str | None, dict[Any, Any]]:
        if args.transforms:
            # The engine runs transforms before registering, so the registered inputs and
            # options would not be the ones recorded here; the stock MockMonitor does not run
            # them either. A plan that policies pass on must be what `pulumi up` registers:
            # refuse rather than record the untransformed resource.
            raise TransformsNotSupportedError(
                f"{args.typ} '{args.name}' declares {len(args.transforms)} resource "
                "transform(s), which the offline plan cannot apply; set the values in the "
                "component instead")
        return mock_state(self.env, args.typ, args.name, args.inputs)

    def call(self, args: MockCallArgs) -> tuple[dict[Any, Any], list[tuple[str, str]] | None]:
        # pulumi's MockMonitor iterates the failures: an empty list, not None.
        return mock_call(self.env, args.token, args.args), []

    def register_transform(self, transform: Any) -> None:
        raise TransformsNotSupportedError(
            "the program registers a stack transform, which the offline plan cannot apply")


class RecordingMonitor(sdk.MockMonitor):
    """A mock resource monitor that keeps every registration request whole.

    ``RegisterResource`` does what the stock ``MockMonitor.RegisterResource`` does (the
    tripwire test pins the stock one's source, so a change there is noticed), plus recording:

    - same ``MockResourceArgs`` for the mocks, ``transforms`` included (resolved from the
      request's callbacks, like the stock one); :class:`_Mocks` refuses them, see there;
    - same response: the state serialized by ``rpc.serialize_properties``, or, with the
      shortcuts on, the request's serialized inputs copied and only what the mocks computed
      added (:func:`_response_object`, same values after deserialization);
    - differences on purpose: children of the root stack get the URN the real engine gives
      them (without ``pulumi:pulumi:Stack$`` in their type, :meth:`make_urn`); an id the mocks
      leave empty is recorded as ``""`` rather than ``None``; and the request's hooks,
      ``deletedWith``, ``replaceWith``, custom timeouts and additional secret outputs are not
      part of the plan's JSON contract, so they are not recorded.
    """

    def __init__(self, mocks: Mocks, *, shortcuts: bool = True) -> None:
        super().__init__(mocks)
        self.shortcuts = shortcuts
        self.records: list[PlannedResource] = []
        self.stack_outputs: dict[str, Any] = {}
        self.stack_urn = ""

    def RegisterResource(self, request: Any) -> Any:  # noqa: N802 - gRPC method name
        urn = self.make_urn(request.parent, request.type, request.name)
        if request.type == "pulumi:pulumi:Stack":
            self.stack_urn = urn
            return resource_pb2.RegisterResourceResponse(urn=urn)
        sdk.ensure_event_loop()
        inputs = rpc.deserialize_properties(request.object)
        resource_args = MockResourceArgs(
            typ=request.type, name=request.name, inputs=inputs, provider=request.provider,
            resource_id=request.importId, custom=request.custom or False,
            transforms=sdk.resolve_transforms(request.transforms))
        id_, state = self.mocks.new_resource(resource_args)
        plain_inputs = _plain(inputs)
        if self.shortcuts:
            obj_proto = _response_object(request.object, inputs, state)
            plain_outputs = _plain_state(plain_inputs, inputs, state)
        else:
            obj_proto = sdk.serialize_state(state)
            plain_outputs = _plain(state)
        self.resources[urn] = sdk.ResourceRegistration(urn, id_ or "", state)
        self.records.append(PlannedResource(
            urn=urn, type=request.type, name=request.name, parent=request.parent or None,
            inputs=plain_inputs, outputs=plain_outputs,
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

    def Invoke(self, request: Any) -> Any:  # noqa: N802 - gRPC method name
        """The stock ``MockMonitor.Invoke``; with the shortcuts on, on the loop's thread.

        The stock one awaits the serializer with ``_sync_await`` (re-entering the loop, so it
        runs on a worker thread). The mocks answer plain data, which the SDK's serializer
        turns into the response without ever suspending: :func:`sdk.serialize_now` steps it
        here. ``getResource`` (a registered resource's state) keeps the stock path.
        """
        if not self.shortcuts or request.tok == "pulumi:pulumi:getResource":
            sdk.off_event_loop()  # MockMonitor.Invoke re-enters the event loop (_sync_await)
            return super().Invoke(request)
        sdk.ensure_event_loop()
        args = rpc.deserialize_properties(request.args)
        answer = self.mocks.call(MockCallArgs(token=request.tok, args=args,
                                              provider=request.provider))
        if isinstance(answer, dict):
            ret, failures = answer, None
        else:
            ret, failures = answer[0], [provider_pb2.CheckFailure(property=prop, reason=reason)
                                        for prop, reason in answer[1] or ()]
        return resource_pb2.ResourceInvokeResponse(
            failures=failures, **{"return": sdk.serialize_now(ret)})

    def ReadResource(self, request: Any) -> Any:  # noqa: N802 - gRPC method name
        sdk.off_event_loop()
        return super().ReadResource(request)

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
            # Keys sorted: the order of a protobuf map's keys is not the program's, and a
            # sharded plan merges several maps (stacks.plan.shards) into the same JSON.
            self.stack_outputs = _sorted_keys(_plain(rpc.deserialize_properties(request.outputs)))
        return super().RegisterResourceOutputs(request)


def _run_settled(program: Callable[[], object], *, settle: bool) -> Callable[[], Any]:
    async def run() -> None:
        program()
        if settle:
            await sdk.settle_outputs()

    return run


def run_program(env: EnvSpec, program: Callable[[], object]) -> Plan:
    """Run ``program`` (which registers resources for ``env``) under the recording monitor.

    With the speed shortcuts off (``TRELLIS_PLAN_SHORTCUTS=0`` or
    :func:`stacks.plan.sdk.shortcuts`), the run is the SDK's own: same plan, slower.
    """
    shortcuts = sdk.shortcuts_enabled()
    monitor = RecordingMonitor(_Mocks(env), shortcuts=shortcuts)
    sdk.configure_mock_runtime(monitor, project=PROJECT, stack=env.name,
                               logger=logging.getLogger("trellis.engine"))
    pulumi.runtime.set_all_config({"trellis:org": str(env.org_file),
                                   "trellis:environment": env.name})
    loop = sdk.new_event_loop(shortcuts)
    asyncio.set_event_loop(loop)
    try:
        with sdk.plan_runtime(loop, enabled=shortcuts):
            loop.run_until_complete(run_in_stack(_run_settled(program, settle=shortcuts)))
    except PlanError:
        raise
    except Exception as exc:
        raise PlanError(f"planning environment '{env.name}' failed: "
                        f"{type(exc).__name__}: {exc}") from exc
    finally:
        sdk.reset_root()
        loop.close()
        asyncio.set_event_loop(None)
    return Plan(org=env.org, cloud=env.cloud, environment=env.name, tier=env.tier,
                # Registration order depends on how the event loop interleaves Outputs, which
                # varies between runs: sort by URN so a plan is byte-for-byte reproducible.
                resources=sorted(monitor.records, key=lambda r: r.urn),
                outputs=monitor.stack_outputs)


def _plan_teams(env: EnvSpec, teams: tuple[str, ...]) -> tuple[list[PlannedResource],
                                                                dict[str, Any]]:
    """One shard of a sharded plan (in a worker process): the records and stack outputs."""
    from stacks.compose import program

    try:
        result = run_program(env, lambda: program.build(env, teams=teams))
    except PlanError as exc:  # the user's message, as a single-process plan would print it
        raise WorkerFailedError(str(exc)) from None
    return result.resources, result.outputs


def plan(env: EnvSpec, *, jobs: int = 1,
         shards: Sequence[tuple[str, ...]] | None = None) -> Plan:
    """The offline plan of one environment: the same program ``pulumi up -s <env>`` runs.

    ``jobs`` > 1 plans the teams of a large org in up to that many worker processes
    (:mod:`stacks.plan.shards`); the merged plan is the one a single process makes. When the
    shards' results cannot be merged exactly, the plan is made in this process and
    ``Plan.sharding.fallback`` says why. ``shards``: the teams of each worker, instead of
    :func:`~stacks.plan.shards.shards_of`'s split (tests shard small orgs with it).
    """
    from stacks.compose import program

    if shards is None:
        shards = shards_of(list(env.teams), jobs)
    if shards:
        workers = min(jobs, len(shards))
        try:
            resources, outputs = plan_sharded(_plan_teams, env, shards, workers)
        except WorkerFailedError as exc:
            raise PlanError(f"planning environment '{env.name}' failed: {exc}") from None
        except ShardMismatchError as exc:
            result = run_program(env, lambda: program.build(env))
            result.sharding = Sharding(workers=1, shards=1, fallback=str(exc))
            return result
        return Plan(org=env.org, cloud=env.cloud, environment=env.name, tier=env.tier,
                    resources=resources, outputs=outputs,
                    sharding=Sharding(workers=workers, shards=len(shards)))
    result = run_program(env, lambda: program.build(env))
    result.sharding = Sharding(workers=1, shards=1)
    return result
