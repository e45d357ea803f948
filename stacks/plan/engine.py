"""The offline plan engine: the Pulumi program under Pulumi's own mock runtime, recorded.

``trellis plan`` and ``trellis check`` must work on a laptop or in CI with no cloud account and
no Pulumi CLI. We run the very program ``pulumi up`` runs
(:func:`stacks.compose.program.build`) with
``pulumi.runtime`` configured against a recording monitor: every ``RegisterResourceRequest`` is
kept whole (type, name, parent, inputs as the engine receives them, dependencies, protect,
retainOnDelete, aliases, ignoreChanges, ...), and the mocks answer with realistic outputs per
resource type so wiring between resources resolves. See docs/adr/0003-offline-plan-engine.md.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import gc
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pulumi
from google.protobuf import struct_pb2
from pulumi import _types as pulumi_types
from pulumi.runtime import mocks as pmocks
from pulumi.runtime import resource as presource
from pulumi.runtime import rpc, settings
from pulumi.runtime.proto import resource_pb2, source_pb2
from pulumi.runtime.stack import run_in_stack
from pulumi.runtime.sync_await import _sync_await

from stacks.org.spec import EnvSpec
from stacks.plan.mocks.answers import mock_call, mock_state

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


def _plain_state(plain_inputs: dict[str, Any], inputs: dict[str, Any],
                 state: dict[str, Any]) -> dict[str, Any]:
    """``_plain(state)``, sharing the already converted values of echoed inputs.

    Mock state is the inputs plus what the provider computes: converting the echoed inputs a
    second time would double the plan's memory for nothing. Treat both as read-only.
    """
    return {k: plain_inputs[k] if k in inputs and inputs[k] is v else _plain(v)
            for k, v in state.items()}


class _OffLoopError(Exception):
    """Raised by a monitor call that must not run on the event loop's thread (see
    :class:`_InlineExecutor`); the executor then runs it on a worker thread instead."""


def _off_event_loop() -> None:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return  # a worker thread: re-entering the loop with _sync_await is fine here
    raise _OffLoopError


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
        _off_event_loop()
        return _sync_await(rpc.serialize_properties(state, {}))


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
        obj_proto = _response_object(request.object, inputs, state)
        self.resources[urn] = pmocks.MockMonitor.ResourceRegistration(urn, id_ or "", state)
        plain_inputs = _plain(inputs)
        self.records.append(PlannedResource(
            urn=urn, type=request.type, name=request.name, parent=request.parent or None,
            inputs=plain_inputs, outputs=_plain_state(plain_inputs, inputs, state),
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
        _off_event_loop()  # MockMonitor.Invoke re-enters the event loop (_sync_await)
        return super().Invoke(request)

    def ReadResource(self, request: Any) -> Any:  # noqa: N802 - gRPC method name
        _off_event_loop()
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
            self.stack_outputs = _plain(rpc.deserialize_properties(request.outputs))
        return super().RegisterResourceOutputs(request)


class _InlineExecutor(concurrent.futures.ThreadPoolExecutor):
    """Runs the SDK's monitor calls on the event loop's own thread.

    The SDK hands every monitor call to ``run_in_executor``: right for a gRPC monitor in
    another process, pure overhead for a mock monitor in this one (a thread hop and GIL
    hand-over per resource, and registration order that varies from run to run). A call
    that must not run on the loop's thread raises :class:`_OffLoopError` before doing anything and
    goes to a worker thread, as it would without this executor.
    """

    def submit(self, fn: Callable[..., Any], /, *args: Any,
               **kwargs: Any) -> concurrent.futures.Future[Any]:
        future: concurrent.futures.Future[Any] = concurrent.futures.Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except _OffLoopError:
            return super().submit(fn, *args, **kwargs)
        except BaseException as exc:  # noqa: BLE001 - handed to the awaiting coroutine
            future.set_exception(exc)
        return future


async def _settle_outputs() -> None:
    """Wait for every outstanding Output, one at a time.

    The SDK's ``wait_for_rpcs`` does this with ``asyncio.wait(all pending, FIRST_COMPLETED)``
    in a loop, which registers and removes a callback on every pending Output each round:
    quadratic in the size of the program (most of the time of a 3,000-resource plan). Awaiting
    them one by one is linear; ``wait_for_rpcs`` then finds nothing left to wait for. Failures
    surface exactly as there: the first failed Output's exception is raised.
    """
    state = settings.SETTINGS
    if not hasattr(state, "outputs") or not hasattr(state, "lock"):
        return  # an SDK that tracks Outputs differently: let wait_for_rpcs do it
    while True:
        # Untracked first, like wait_for_rpcs does: a failed Output stays tracked otherwise
        # and would fail the next plan in this process. set.pop, not next(iter(set)): the
        # latter rescans the slots emptied so far and is quadratic over a large plan.
        with state.lock:
            if not state.outputs:
                return
            task = state.outputs.pop()
        if task.done():  # its clean-up callback has not run yet; awaiting it would not yield
            task.result()
        else:
            await task


def _run_settled(program: Callable[[], object]) -> Callable[[], Any]:
    async def run() -> None:
        program()
        await _settle_outputs()

    return run


def _no_stack_trace() -> source_pb2.StackTrace:
    return source_pb2.StackTrace()


def _contains_unknowns(value: Any) -> bool:
    """``pulumi.runtime.rpc.contains_unknowns``, same answer, without garbage.

    The SDK's version defines a recursive closure on every call, a reference cycle (function
    <-> cell) that only the cyclic collector can free; it runs for every Output, ~40 times per
    resource, and was most of the plan's cyclic garbage. Iterative here, so nothing cycles.
    """
    kind = type(value)
    if kind is str or kind is bool or kind is int or value is None:  # what most Outputs hold
        return False
    unknown = pulumi.output.Unknown
    if kind is not dict and kind is not list and not isinstance(value, (dict, list)):
        return isinstance(value, unknown)
    stack = [value]
    seen: set[int] = set()
    while stack:
        item = stack.pop()
        if isinstance(item, unknown):
            return True
        if id(item) in seen:
            continue
        seen.add(id(item))
        if isinstance(item, dict):
            stack.extend(item[k] for k in item)
        elif isinstance(item, list):
            stack.extend(item)
    return False


def _memoized(fn: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """``fn`` (a pure function of one type object) remembering its answers by identity.

    For ``pulumi._types.unwrap_type``, which the SDK calls for every property of every resource
    it serializes and answers with ``typing.get_origin``/``get_args``/union checks each time
    (about a tenth of a plan's CPU). Keyed by ``id`` with the object kept alive beside its
    answer, so an id can never be reused for another type while the cache lives; typing
    objects are not hashed (their ``__hash__`` walks their arguments).
    """
    cache: dict[int, tuple[Any, Any]] = {}

    def lookup(value: Any) -> Any:
        hit = cache.get(id(value))
        if hit is not None and hit[0] is value:
            return hit[1]
        answer = fn(value)
        cache[id(value)] = (value, answer)
        return answer

    return lookup


@contextmanager
def _lean_runtime(loop: asyncio.AbstractEventLoop) -> Iterator[None]:
    """Runtime settings for the plan run only (measured in docs/performance.md).

    - The cyclic garbage collector is off. The runtime allocates millions of small container
      objects (an Output, a Task and a future per property of every resource); each automatic
      collection rescans the young ones, 10-20% of a large plan. Once :func:`_contains_unknowns`
      stopped making a reference cycle per Output, a plan leaves little cyclic garbage (about
      5% of what it allocates), so nothing is gained by collecting during the run. At the end,
      everything the run allocated moves to the oldest generation without being scanned
      (``freeze`` + ``unfreeze`` splice lists; the next full collection sees it). A caller
      that froze its own heap (the ``trellis`` script, :mod:`stacks.cli.launch`) keeps it frozen,
      and the plan's objects join it: unfreezing would hand both to the next full collection.
    - Stack traces: the SDK walks the Python stack and builds a ``file://`` URI per frame for
      every registration (``sourcePosition``/``stackTrace``, shown by the Pulumi service). A
      plan does not record them.
    - ``contains_unknowns``: see :func:`_contains_unknowns`; ``unwrap_type``: see
      :func:`_memoized`.
    - Monitor calls run on the loop's thread (:class:`_InlineExecutor`).

    Everything is restored on exit, so user programs run by the real engine are untouched. A
    patch whose SDK function has gone (another SDK version) is skipped: slower, not wrong.
    """
    was_enabled = gc.isenabled()
    frozen_before = gc.get_freeze_count()
    gc.disable()
    patches: list[tuple[Any, str, Any]] = [
        (presource, "_get_stack_trace", _no_stack_trace),
        (rpc, "contains_unknowns", _contains_unknowns)]
    if hasattr(pulumi_types, "unwrap_type"):
        patches.append((pulumi_types, "unwrap_type", _memoized(pulumi_types.unwrap_type)))
    saved = [(mod, name, getattr(mod, name)) for mod, name, _ in patches if hasattr(mod, name)]
    for mod, name, fn in patches:
        if hasattr(mod, name):
            setattr(mod, name, fn)
    executor = _InlineExecutor(max_workers=2, thread_name_prefix="trellis-plan")
    loop.set_default_executor(executor)
    try:
        yield
    finally:
        for mod, name, fn in saved:
            setattr(mod, name, fn)
        gc.freeze()
        if not frozen_before:
            gc.unfreeze()
        if was_enabled:
            gc.enable()
        executor.shutdown(wait=True)


def run_program(env: EnvSpec, program: Callable[[], object]) -> Plan:
    """Run ``program`` (which registers resources for ``env``) under the recording monitor."""
    monitor = RecordingMonitor(_Mocks(env))
    settings.ROOT.set(None)
    # Leftovers of a run that failed in this process (tasks of a closed loop) must not leak
    # into this one; ``pulumi.runtime.test`` does the same.
    for leftovers in ("rpc_manager", "outputs"):
        getattr(getattr(settings.SETTINGS, leftovers, None), "clear", lambda: None)()
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
        with _lean_runtime(loop):
            loop.run_until_complete(run_in_stack(_run_settled(program)))
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
    from stacks.compose import program

    return run_program(env, lambda: program.build(env))
