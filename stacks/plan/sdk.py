"""The plan engine's one door into the Pulumi SDK's internals, and the switch for its shortcuts.

The offline plan (:mod:`stacks.plan.engine`) runs the program under Pulumi's own mock runtime.
That needs a few things the SDK does not export (the mock monitor and settings classes, the
event-loop helpers the stock monitor uses, the runtime's global state), and the plan's speed
shortcuts (docs/performance.md) replace or bypass SDK internals for the duration of a plan.
Every such name is imported here and nowhere else in ``stacks`` (an architecture test enforces
it), with the reason beside it. :data:`PINNED` records what we rely on of each, and
``tests/engine/test_sdk_tripwire.py`` fails, naming the symbol, when an SDK upgrade removes or
changes one. The public API (``pulumi``, ``pulumi.runtime``'s ``__all__`` including its ``rpc``
submodule, the generated protobuf modules) is used directly.

**Shortcuts** change speed, never results. They are on by default; ``TRELLIS_PLAN_SHORTCUTS=0``
in the environment or ``with shortcuts(False):`` turns every one of them off, so the plan runs
exactly as under ``pulumi.runtime.set_mocks`` with the stock monitor's serialization, and
``tests/engine/test_shortcuts_off.py`` requires byte-identical plan JSON both ways. They are:

- the cyclic garbage collector paused for the run (:func:`plan_runtime`);
- no per-registration stack traces (:func:`no_stack_trace` for ``_get_stack_trace``);
- ``rpc.contains_unknowns`` without a reference cycle per call (:func:`contains_unknowns`);
- ``_types.unwrap_type`` memoized (:func:`memoized`);
- monitor calls on the event loop's thread (:class:`InlineExecutor`), invokes included (the
  mocks' answer serialized at once, :func:`serialize_now`);
- synchronous invokes pump the event loop without refilling its ready list handle by handle
  (:func:`pump_until_done` for the SDK's ``_sync_await``, which was quadratic);
- the URN the SDK computes for every registration and then discards when a monitor answers
  made at once from plain strings (:func:`create_urn`), not through five Outputs;
- ``Output.json_dumps`` resolving only the Outputs inside a document (:func:`json_dumps`),
  not turning every key and value of it into an Output;
- ``rpc.deserialize_properties`` reading the protobuf maps directly for plain data
  (:func:`deserialize_properties`), the SDK's own code for secrets, assets and references;
- an event loop whose ``call_soon`` skips the debug-mode bookkeeping and whose
  ``run_in_executor`` answers a monitor call at once with a finished future (:class:`PlanLoop`),
  instead of a thread pool's future wrapped and woken through the loop's self-pipe;
- debug log messages nobody listens to dropped at once (:func:`log_debug`), not built into
  protobuf requests for the mock engine to drop;
- Outputs settled one by one (:func:`settle_outputs`) instead of by the SDK's quadratic loop;
- mock responses copied from the request instead of re-serialized, and plain values shared
  between a resource's inputs and outputs (in :mod:`stacks.plan.engine`, asking
  :func:`shortcuts_enabled`).
"""

from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import contextvars
import gc
import importlib
import inspect
import itertools
import json
import logging
import os
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import pulumi
from google.protobuf import struct_pb2

# The module that defines unwrap_type, which rpc.serialize_property calls for every property of
# every resource: memoized during a plan (about a tenth of a plan's CPU). Private module.
from pulumi import _types as _pulumi_types

# The mock runtime. MockMonitor/MockEngine/MockSettings are what ``set_mocks`` builds but are
# not exported; RecordingMonitor subclasses MockMonitor and mirrors its RegisterResource.
from pulumi.runtime import mocks as _mocks

# The module whose _get_stack_trace builds a file:// URI per frame for every registration
# (shown by the Pulumi service, meaningless offline): replaced during a plan.
from pulumi.runtime import resource as _resource
from pulumi.runtime import rpc

# The runtime's global state: ROOT (the root stack resource, a ContextVar) must be reset before
# a run, and SETTINGS holds the Outputs and RPCs a failed run leaves behind and the tracked
# Outputs settle_outputs awaits.
from pulumi.runtime import settings as _settings

# What the stock MockMonitor uses to await the serializer from a monitor call (re-entering the
# running loop); our RegisterResource does the same when the response is not plain data. And the
# loop helper _sync_await starts with, which pump_until_done mirrors.
from pulumi.runtime.sync_await import _ensure_event_loop as _sdk_ensure_event_loop
from pulumi.runtime.sync_await import _sync_await

# The module whose synchronous ``invoke`` (what ``aws.eks.get_node_group(...)`` and every other
# plain data-source call end in) awaits the RPC with ``_sync_await``: given pump_until_done.
# By its module path: ``pulumi.runtime.invoke`` as an attribute is the function it exports.
_invoke = importlib.import_module("pulumi.runtime.invoke")

T = TypeVar("T")

ENV_SWITCH = "TRELLIS_PLAN_SHORTCUTS"

MockMonitor = _mocks.MockMonitor
MockEngine = _mocks.MockEngine
ResourceRegistration = _mocks.MockMonitor.ResourceRegistration
#: The value the SDK's mock runtime treats as unknown (never present with ``dry_run=False``).
Unknown = pulumi.output.Unknown


# ---------------------------------------------------------------------------------------------
# The switch
# ---------------------------------------------------------------------------------------------

_override: bool | None = None


def shortcuts_enabled() -> bool:
    """Whether plans take the speed shortcuts: :func:`shortcuts` if inside one, else the
    environment (``TRELLIS_PLAN_SHORTCUTS=0``, ``false`` or ``off`` turns them off)."""
    if _override is not None:
        return _override
    return os.environ.get(ENV_SWITCH, "1").strip().lower() not in ("0", "false", "off", "no")


@contextmanager
def shortcuts(enabled: bool) -> Iterator[None]:
    """Plans inside the block take the shortcuts, or not (whatever the environment says)."""
    global _override
    saved, _override = _override, enabled
    try:
        yield
    finally:
        _override = saved


# ---------------------------------------------------------------------------------------------
# The mock runtime
# ---------------------------------------------------------------------------------------------

def configure_mock_runtime(monitor: Any, *, project: str, stack: str,
                           logger: logging.Logger) -> None:
    """Configure ``pulumi.runtime`` for a plan against ``monitor``, as ``set_mocks`` does but
    without creating the root stack resource (``run_in_stack`` does that) and with
    ``dry_run=False`` so every Output is known."""
    _settings.ROOT.set(None)
    # Leftovers of a run that failed in this process (tasks of a closed loop) must not leak
    # into this one; ``pulumi.runtime.test`` clears the same two.
    for leftovers in ("rpc_manager", "outputs"):
        getattr(getattr(_settings.SETTINGS, leftovers, None), "clear", lambda: None)()
    _settings.configure(_mocks.MockSettings(
        monitor=monitor, monitor_features=set(monitor.GetDeploymentInfo(None).supportedFeatures),
        engine=_mocks.MockEngine(logger), project=project, stack=stack, dry_run=False,
        organization="organization", callbacks=None, root_directory=None))


def reset_root() -> None:
    """Forget the root stack resource, so the next run in this process starts afresh."""
    _settings.ROOT.set(None)


def ensure_event_loop() -> None:
    """The stock monitor's first step: deserializing resource references needs a loop (on
    the loop's own thread, where the monitor runs with the shortcuts, there is one)."""
    if asyncio._get_running_loop() is None:
        _mocks._ensure_event_loop()


def sync_await(awaitable: Awaitable[T]) -> T:
    """Await from synchronous monitor code, as the stock MockMonitor does."""
    return _sync_await(awaitable)


def resolve_transforms(callbacks: Any) -> list[Any]:
    """The transform functions behind a request's ``transforms`` callbacks, as the stock
    MockMonitor hands them to ``Mocks.new_resource`` (``MockResourceArgs.transforms``)."""
    return list(_mocks._resolve_callbacks(callbacks))


def serialize_state(state: dict[str, Any]) -> struct_pb2.Struct:
    """``rpc.serialize_properties(state)`` from a monitor call: the stock monitor's response."""
    return _sync_await(rpc.serialize_properties(state, {}))


def serialize_now(state: dict[str, Any]) -> struct_pb2.Struct:
    """``rpc.serialize_properties(state)`` run to its end right here, without the event loop.

    The serializer is a coroutine only because a value may be an Output to await; for what
    mocks answer (plain data) it never suspends, so stepping it once gives its result: the
    SDK's own serialization, with no loop re-entry and no thread. When it would suspend, it is
    closed (serializing has no side effects) and :class:`OffLoopError` raised on the loop's
    thread, or the stock :func:`serialize_state` used on a worker thread.
    """
    coro = rpc.serialize_properties(state, {})
    try:
        coro.send(None)
    except StopIteration as done:
        return done.value
    coro.close()
    off_event_loop()
    return serialize_state(state)


# ---------------------------------------------------------------------------------------------
# Shortcuts
# ---------------------------------------------------------------------------------------------

class OffLoopError(Exception):
    """Raised by a monitor call that must not run on the event loop's thread (see
    :class:`InlineExecutor`); the executor then runs it on a worker thread instead."""


def off_event_loop() -> None:
    """Raise :class:`OffLoopError` when called on the thread running the event loop: the call
    is about to re-enter the loop (``_sync_await``), which only works from a worker thread."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return  # a worker thread: re-entering the loop with _sync_await is fine here
    raise OffLoopError


class InlineExecutor(concurrent.futures.ThreadPoolExecutor):
    """Runs the SDK's monitor calls on the event loop's own thread.

    The SDK hands every monitor call to ``run_in_executor``: right for a gRPC monitor in
    another process, pure overhead for a mock monitor in this one (a thread hop and GIL
    hand-over per resource, and registration order that varies from run to run). A call
    that must not run on the loop's thread raises :class:`OffLoopError` before doing anything
    and goes to a worker thread, as it would without this executor.
    """

    def submit(self, fn: Callable[..., Any], /, *args: Any,
               **kwargs: Any) -> concurrent.futures.Future[Any]:
        future: concurrent.futures.Future[Any] = concurrent.futures.Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except OffLoopError:
            return super().submit(fn, *args, **kwargs)
        except BaseException as exc:  # noqa: BLE001 - handed to the awaiting coroutine
            future.set_exception(exc)
        return future


async def settle_outputs() -> None:
    """Wait for every outstanding Output, one at a time.

    The SDK's ``wait_for_rpcs`` does this with ``asyncio.wait(all pending, FIRST_COMPLETED)``
    in a loop, which registers and removes a callback on every pending Output each round:
    quadratic in the size of the program (most of the time of a 3,000-resource plan). Awaiting
    them one by one is linear; ``wait_for_rpcs`` then finds nothing left to wait for. Failures
    surface exactly as there: the first failed Output's exception is raised.
    """
    state = _settings.SETTINGS
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


def _nothing() -> None:
    return None


def pump_until_done(awaitable: Awaitable[T]) -> T:
    """``pulumi.runtime.sync_await._sync_await`` without its cost per ready callback.

    A synchronous invoke (``aws.eks.get_node_group(...)``) waits for its RPC by running the
    loop's ``_run_once`` from inside a callback of the loop's own ``_run_once``. The SDK's
    version runs the whole ready list to get there, and since the outer ``_run_once`` still
    pops as many handles as it counted before, it then tops the list back up with one new
    cancelled ``Handle`` per callback it ran: work proportional to everything the program has
    pending, for every synchronous invoke. With one invoke per node group that was quadratic:
    two thirds of a 200-team AWS plan.

    Here the ready list is held back while the invoke runs, and the loop turns over only what
    the invoke schedules; the held callbacks go back in front, in their order, so the outer
    ``_run_once`` finds every handle it counted. When the invoke waits for one of the held
    callbacks (its provider's registration, say), they are handed back and the loop pumped as
    the SDK does, cancelled handles included (one object, repeated). Which of the program's
    callbacks run first changes; what they compute does not (plans are sorted by URN, and
    ``tests/engine/test_shortcuts_off.py`` compares them byte for byte).
    """
    loop = _sdk_ensure_event_loop()
    if not loop.is_running():
        return loop.run_until_complete(asyncio.ensure_future(awaitable, loop=loop))
    held: collections.deque[Any] | None = loop._ready
    assert held is not None
    ntodo = len(held)
    loop._ready = collections.deque()
    task = None
    try:
        fut = asyncio.ensure_future(awaitable, loop=loop)
        task = asyncio.current_task(loop)
        if task is not None:
            asyncio.tasks._leave_task(loop, task)
        while not fut.done() and not fut.cancelled():
            if held is not None and not loop._ready:
                # Waiting for something held back: give it all back, pump like the SDK.
                loop._ready, held = held, None
            loop._run_once()
    finally:
        if held is not None:
            scheduled = loop._ready
            loop._ready = held
            held.extend(scheduled)
        ready = loop._ready
        if len(ready) < ntodo:
            filler = asyncio.Handle(_nothing, [], loop)
            filler._cancelled = True
            ready.extend(itertools.repeat(filler, ntodo - len(ready)))
        if task is not None:
            asyncio.tasks._enter_task(loop, task)
    return fut.result()


def create_urn(name: Any, type_: Any, parent: Any = None, project: str | None = None,
               stack: str | None = None) -> pulumi.Output[str]:
    """``pulumi.runtime.resource.create_urn``, at once when every part is a plain string.

    The SDK computes a registration's URN through five Outputs and their tasks (the parent's
    URN, an ``Output.all`` of prefix, type and name, two ``apply``), for every resource, and
    uses it only when no monitor answers: a fifth of the Outputs of a plan. From plain strings
    the value, its known-ness, secrecy (none) and dependencies (none) are the same; anything
    else (a parent Resource, Outputs) takes the SDK's own path.
    """
    if type(name) is str and type(type_) is str and (parent is None or type(parent) is str):
        if parent is not None:
            prefix = parent[0:parent.rfind("::")] + "$"
        else:
            prefix = ("urn:pulumi:" + (stack if stack is not None else _settings.get_stack())
                      + "::" + (project if project is not None else _settings.get_project())
                      + "::")
        return pulumi.Output.from_input(prefix + type_ + "::" + name)
    return _SDK_CREATE_URN(name, type_, parent, project, stack)


_SDK_CREATE_URN = _resource.create_urn
_SDK_JSON_DUMPS = pulumi.Output.json_dumps
_PLAIN_LEAVES = (str, int, float, bool, type(None))


def _outputs_in(value: Any, found: list[pulumi.Output[Any]]) -> bool:
    """Collect the Outputs in a tree of dicts, lists and tuples with plain leaves; False when
    anything else is in it (an awaitable, an args class, a key that is not a string)."""
    kind = type(value)
    if kind in _PLAIN_LEAVES:
        return True
    if isinstance(value, pulumi.Output):
        found.append(value)
        return True
    if kind is dict:
        # Keys other than str: the SDK's path (its Output.all(**d) refuses them).
        return all(type(k) is str and _outputs_in(v, found) for k, v in value.items())
    if kind is list or kind is tuple:
        return all(_outputs_in(v, found) for v in value)
    return False


def _substituted(value: Any, values: Iterator[Any]) -> Any:
    """``value`` with each Output replaced by the next of ``values`` (in :func:`_outputs_in`'s
    order); tuples become lists, as ``Output.from_input`` makes them (the JSON is the same)."""
    if isinstance(value, pulumi.Output):
        return next(values)
    kind = type(value)
    if kind is dict:
        return {k: _substituted(v, values) for k, v in value.items()}
    if kind is list or kind is tuple:
        return [_substituted(v, values) for v in value]
    return value


def json_dumps(obj: Any, **kwargs: Any) -> pulumi.Output[str]:
    """``pulumi.Output.json_dumps``, resolving only the Outputs inside ``obj``.

    The SDK's version first runs ``Output.from_input`` over the whole document, which makes
    every dict, list and leaf of it an Output with its tasks (an IAM policy of a few
    statements: about sixty Outputs; a quarter of an AWS plan's), and defines an encoder class
    per call. Here only the Outputs found inside are gathered, with ``Output.all`` (which
    unwraps each as deeply as ``from_input`` does), and the document is dumped with their
    values: the same text, and the same dependencies, secrecy and known-ness (those of the
    Outputs; plain values add none). Documents holding anything but plain values, dicts,
    lists, tuples and Outputs, and calls with ``cls`` or ``default``, take the SDK's path.
    """
    found: list[pulumi.Output[Any]] = []
    if kwargs.get("cls") is not None or kwargs.get("default") is not None \
            or not _outputs_in(obj, found):
        return _SDK_JSON_DUMPS(obj, **kwargs)
    if not found:
        return pulumi.Output.from_input(json.dumps(_substituted(obj, iter(())), **kwargs))
    return pulumi.Output.all(*found).apply(
        lambda values: json.dumps(_substituted(obj, iter(values)), **kwargs))


_SDK_DESERIALIZE_PROPERTIES = rpc.deserialize_properties
_SIG = rpc._special_sig_key
_SECRET_SIG = rpc._special_secret_sig


def _is_secret(value: Any) -> bool:
    """``rpc.is_rpc_secret``."""
    return type(value) is dict and _SIG in value and value[_SIG] == _SECRET_SIG


def _value(value: Any, keep_unknowns: bool | None, keep_internal: bool | None) -> Any:
    """``rpc.deserialize_property`` of one ``struct_pb2.Value`` (see
    :func:`deserialize_properties`)."""
    kind = value.WhichOneof("kind")
    if kind == "string_value":
        text = value.string_value
        if text == rpc.UNKNOWN:
            return pulumi.output.Unknown() if _settings.is_dry_run() or keep_unknowns else None
        return text
    if kind == "number_value":
        return value.number_value
    if kind == "bool_value":
        return value.bool_value
    if kind == "struct_value":
        props = deserialize_properties(value.struct_value, keep_unknowns, keep_internal)
        if type(props) is dict and any(_is_secret(v) for v in props.values()):
            return rpc.wrap_rpc_secret({k: rpc.unwrap_rpc_secret(v) for k, v in props.items()})
        return props
    if kind == "list_value":
        values = [_value(v, keep_unknowns, keep_internal) for v in value.list_value.values]
        if any(_is_secret(v) for v in values):
            return rpc.wrap_rpc_secret([rpc.unwrap_rpc_secret(v) for v in values])
        return values
    if kind == "null_value":
        return None
    raise ValueError("Value not set")  # what protobuf's Struct accessors raise


def deserialize_properties(props_struct: Any, keep_unknowns: bool | None = None,
                           keep_internal: bool | None = True) -> Any:
    """``rpc.deserialize_properties``, reading the protobuf maps directly.

    The SDK walks a ``Struct`` through protobuf's pure-Python mapping helpers (a list of
    ``(key, value)`` pairs built per struct, ``_GetStructValue`` per value) and compares every
    nested message with the unknown sentinel. The request of every registration and its
    response are deserialized this way, the largest single cost in the mock monitor. Same
    steps here on the message's own map and oneof: same keys in the same order, the same
    values (numbers as floats, ``None`` dropped, unknowns as the SDK maps them, secrets pushed
    up a level). A struct carrying the special signature key (a secret, asset, archive,
    resource reference or output value) goes to the SDK's own function.
    """
    if type(props_struct) is not struct_pb2.Struct:
        return _SDK_DESERIALIZE_PROPERTIES(props_struct, keep_unknowns, keep_internal)
    fields = props_struct.fields
    if _SIG in fields:
        return _SDK_DESERIALIZE_PROPERTIES(props_struct, keep_unknowns, keep_internal)
    output = {}
    for key, value in fields.items():
        if keep_internal is False and key.startswith("__") and key != "__provider":
            continue
        item = _value(value, keep_unknowns, keep_internal)
        if item is not None:
            output[key] = item
    return output


class PlanLoop(asyncio.SelectorEventLoop):
    """The event loop of a plan: ``call_soon`` without the debug-mode bookkeeping.

    Every task step and every future's callback goes through ``call_soon`` (a 200-team plan
    makes millions): the stock one checks the loop is open, asks ``get_debug()`` twice and
    builds the handle through two more calls. With debug off (what a plan runs with) the
    handle is built here directly, with the same fields; in debug mode, on a closed loop or
    when ``asyncio.Handle`` has other fields than the ones set here (another Python), the stock
    method runs.
    """

    def call_soon(self, callback: Any, *args: Any,  # type: ignore[override]
                  context: Any = None) -> asyncio.Handle:
        loop: Any = self  # asyncio's private fields, not in its type stubs
        if loop._debug or loop._closed or not _HANDLE_FIELDS_KNOWN:
            return super().call_soon(callback, *args, context=context)
        handle: Any = _new_handle(asyncio.Handle)
        handle._context = context if context is not None else _copy_context()
        handle._loop = self
        handle._callback = callback
        handle._args = args
        handle._cancelled = False
        handle._repr = None
        handle._source_traceback = None
        loop._ready.append(handle)
        return handle

    def run_in_executor(self, executor: Any, func: Any,  # type: ignore[override]
                        *args: Any) -> asyncio.Future[Any]:
        """The SDK's monitor calls (``run_in_executor(None, ...)``), answered here.

        With the :class:`InlineExecutor` as default executor the call runs on this thread
        anyway; asyncio would still wrap its finished ``concurrent.futures.Future`` and deliver
        the result through ``call_soon_threadsafe`` (a write to the loop's self-pipe and a
        wake-up) per registration. Here the awaiting coroutine gets a finished future; a call
        that must run on a worker thread (:class:`OffLoopError`) goes to the stock method.
        """
        loop: Any = self
        if executor is not None or type(loop._default_executor) is not InlineExecutor \
                or loop._closed:
            return super().run_in_executor(executor, func, *args)
        future = self.create_future()
        try:
            result = func(*args)
        except OffLoopError:
            return super().run_in_executor(executor, func, *args)
        except (SystemExit, KeyboardInterrupt):
            raise
        except BaseException as exc:  # noqa: BLE001 - handed to the awaiting coroutine
            future.set_exception(exc)
        else:
            future.set_result(result)
        return future


_new_handle = object.__new__
_copy_context = contextvars.copy_context
_HANDLE_FIELDS_KNOWN = set(getattr(asyncio.Handle, "__slots__", ())) == {
    "_callback", "_args", "_cancelled", "_loop", "_source_traceback", "_repr", "__weakref__",
    "_context"}


def new_event_loop(enabled: bool) -> asyncio.AbstractEventLoop:
    """The event loop a plan runs on: :class:`PlanLoop` with the shortcuts, else asyncio's."""
    return PlanLoop() if enabled else asyncio.new_event_loop()


_SDK_LOG_DEBUG = pulumi.log.debug


def log_debug(msg: str, resource: Any = None, stream_id: int | None = None,
              ephemeral: bool | None = None) -> None:
    """``pulumi.log.debug``, dropped at once when the mock engine's logger ignores DEBUG.

    The SDK logs several debug lines per registration; under the mocks each becomes a
    ``LogRequest`` message (and, given a resource, a task awaiting its URN) that the mock
    engine hands to a logger which drops it. When that logger would drop it, nothing is done
    (the message text is built by the caller either way); otherwise, and under a real engine,
    the SDK's function runs.
    """
    engine = _settings.get_engine()
    if isinstance(engine, _mocks.MockEngine) and not engine.logger.isEnabledFor(logging.DEBUG):
        return None
    return _SDK_LOG_DEBUG(msg, resource, stream_id, ephemeral)


def no_stack_trace() -> Any:
    """Replaces ``_get_stack_trace``: an empty ``StackTrace`` (a plan records none)."""
    from pulumi.runtime.proto import source_pb2

    return source_pb2.StackTrace()


def contains_unknowns(value: Any) -> bool:
    """``pulumi.runtime.rpc.contains_unknowns``, same answer, without garbage.

    The SDK's version defines a recursive closure on every call, a reference cycle (function
    <-> cell) that only the cyclic collector can free; it runs for every Output, ~40 times per
    resource, and was most of the plan's cyclic garbage. Iterative here, so nothing cycles.
    """
    kind = type(value)
    if kind is str or kind is bool or kind is int or value is None:  # what most Outputs hold
        return False
    if kind is not dict and kind is not list and not isinstance(value, (dict, list)):
        return isinstance(value, Unknown)
    stack = [value]
    seen: set[int] = set()
    while stack:
        item = stack.pop()
        if isinstance(item, Unknown):
            return True
        if id(item) in seen:
            continue
        seen.add(id(item))
        if isinstance(item, dict):
            stack.extend(item[k] for k in item)
        elif isinstance(item, list):
            stack.extend(item)
    return False


def memoized(fn: Callable[[Any], Any]) -> Callable[[Any], Any]:
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


def _patches() -> list[tuple[Any, str, Any]]:
    """(module, SDK function name, replacement) for a plan run; read at run time, so a test can
    wrap a replacement to see that the SDK really calls it."""
    out: list[tuple[Any, str, Any]] = [
        (_resource, "_get_stack_trace", no_stack_trace),
        (rpc, "contains_unknowns", contains_unknowns),
        (_invoke, "_sync_await", pump_until_done),
        (_resource, "create_urn", create_urn),
        (pulumi.Output, "json_dumps", staticmethod(json_dumps)),
        (rpc, "deserialize_properties", deserialize_properties),
        (pulumi.log, "debug", log_debug)]
    if hasattr(_pulumi_types, "unwrap_type"):
        out.append((_pulumi_types, "unwrap_type", memoized(_pulumi_types.unwrap_type)))
    return out


@contextmanager
def plan_runtime(loop: asyncio.AbstractEventLoop, *, enabled: bool) -> Iterator[None]:
    """The runtime for one plan run: the shortcuts when ``enabled``, the SDK untouched if not.

    - The cyclic garbage collector is off. The runtime allocates millions of small container
      objects (an Output, a Task and a future per property of every resource); each automatic
      collection rescans the young ones, 10-20% of a large plan. Once :func:`contains_unknowns`
      stopped making a reference cycle per Output, a plan leaves little cyclic garbage (about
      5% of what it allocates), so nothing is gained by collecting during the run. At the end,
      everything the run allocated moves to the oldest generation without being scanned
      (``freeze`` + ``unfreeze`` splice lists; the next full collection sees it). A caller
      that froze its own heap (the ``trellis`` script, :mod:`stacks.cli.launch`) keeps it
      frozen, and the plan's objects join it: unfreezing would hand both to the next full
      collection.
    - The SDK functions of :func:`_patches` are replaced (stack traces, ``contains_unknowns``,
      ``unwrap_type``).
    - Monitor calls run on the loop's thread (:class:`InlineExecutor`).

    Everything is restored on exit, so user programs run by the real engine are untouched. A
    patch whose SDK function has gone (another SDK version) is skipped: slower, not wrong (and
    the tripwire test says so).
    """
    if not enabled:
        yield
        return
    was_enabled = gc.isenabled()
    frozen_before = gc.get_freeze_count()
    gc.disable()
    patches = _patches()
    # getattr_static: a class's staticmethod is saved (and restored) as the staticmethod.
    saved = [(mod, name, inspect.getattr_static(mod, name)) for mod, name, _ in patches
             if hasattr(mod, name)]
    for mod, name, fn in patches:
        if hasattr(mod, name):
            setattr(mod, name, fn)
    executor = InlineExecutor(max_workers=2, thread_name_prefix="trellis-plan")
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


#: What the plan engine relies on, per private SDK name: checked against the installed SDK by
#: tests/engine/test_sdk_tripwire.py, which fails naming the symbol and printing the new value
#: (put it here once the use above has been re-checked). ``sig`` = call signature, ``src`` =
#: hash of the source (for what we mirror or replace: a change there changes what ours must
#: do), ``class`` = bases, ``type`` = the type of an attribute of a live object.
PINNED: dict[str, str] = {
    "pulumi._types.unwrap_type": "src:6ccd35036cb0b3d4",
    "pulumi.output.Unknown": "class(object)",
    "pulumi.runtime.mocks.MockMonitor": "class(object)",
    "pulumi.runtime.mocks.MockMonitor.__init__": "sig(self, mocks)",
    "pulumi.runtime.mocks.MockMonitor.make_urn": "src:94c4a86c798d72cf",
    "pulumi.runtime.mocks.MockMonitor.RegisterResource": "src:756b6fbc95aee583",
    "pulumi.runtime.mocks.MockMonitor.RegisterResourceOutputs": "src:56b805020c11a36b",
    "pulumi.runtime.mocks.MockMonitor.ReadResource": "sig(self, request)",
    "pulumi.runtime.mocks.MockMonitor.GetDeploymentInfo": "sig(self, request)",
    "pulumi.runtime.mocks.MockMonitor.ResourceRegistration": "class(tuple)",
    "pulumi.runtime.mocks.MockMonitor.ResourceRegistration._fields": "is('urn', 'id', 'state')",
    "pulumi.runtime.mocks.MockResourceArgs.__init__":
        "sig(self, typ, name, inputs, provider=None, resource_id=None, custom=None, "
        "transforms=None)",
    "pulumi.runtime.mocks.MockEngine.__init__": "sig(self, logger)",
    "pulumi.runtime.mocks.MockSettings": "class(Settings)",
    "pulumi.runtime.mocks.MockSettings.__init__": "sig(self, *_, **kwargs)",
    "pulumi.runtime.mocks._ensure_event_loop": "sig()",
    "pulumi.runtime.mocks._resolve_callbacks": "src:e935355738640de5",
    "pulumi.runtime.mocks.set_mocks": "src:2426a15812d1a273",
    "pulumi.runtime.mocks.test": "src:3a2b645635ca2d7c",
    "pulumi.runtime.resource._get_stack_trace": "sig()",
    "pulumi.log.debug": "src:381cd6115cca6ca1",
    "pulumi.runtime.mocks.MockEngine.Log": "src:2902a687f523c712",
    "pulumi.runtime.settings.get_engine": "sig()",
    "pulumi.runtime.resource.create_urn": "src:b4efa209c920a83a",
    "pulumi.output.Output.json_dumps": "src:213c4c5284cbaccf",
    "pulumi.output.Output.from_input": "src:890885e07a39174c",
    "pulumi.runtime.settings.get_stack": "sig()",
    "pulumi.runtime.settings.get_project": "sig()",
    "pulumi.runtime.rpc.contains_unknowns": "src:1f1f335b6f48b960",
    "pulumi.runtime.rpc.deserialize_properties": "src:e4b8ebdc1594cf4e",
    "pulumi.runtime.rpc.deserialize_property": "src:662b333c8c26d270",
    "pulumi.runtime.rpc.is_rpc_secret": "src:4b3350eeecb6d52c",
    "pulumi.runtime.rpc._special_sig_key": "is'4dabf18193072939515e22adb298388d'",
    "pulumi.runtime.rpc._special_secret_sig": "is'1b47061264138c4ac30d75fd1eb44270'",
    "pulumi.runtime.settings.ROOT": "type:ContextVar",
    "pulumi.runtime.settings.SETTINGS.outputs": "type:set",
    "pulumi.runtime.settings.SETTINGS.lock": "type:lock",
    "pulumi.runtime.settings.SETTINGS.rpc_manager": "type:RPCManager",
    "pulumi.runtime.stack.wait_for_rpcs": "src:c0f9027f85ad0925",
    "pulumi.runtime.sync_await._sync_await": "src:77b69aaf7da77f1c",
    "pulumi.runtime.sync_await._ensure_event_loop": "src:1775dd0c58ea5d48",
    "pulumi.runtime.invoke._sync_await": "src:77b69aaf7da77f1c",
    "pulumi.runtime.mocks.MockMonitor.Invoke": "src:c40e8a053d1a7f27",
}
