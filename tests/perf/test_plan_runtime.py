"""The plan run's runtime shortcuts (docs/performance.md) change speed, never results.

Each shortcut replaces something the Pulumi SDK does: the replacement must give the same answer,
apply only for the duration of a plan run, and still apply with the installed SDK (an SDK
upgrade that renames what we patch must fail here, not silently make plans slow again).
"""

from __future__ import annotations

import asyncio
import contextvars
import gc
import inspect
import io
import logging
import threading
from collections import OrderedDict, UserList
from collections.abc import Mapping, Sequence
from typing import Optional

import pulumi
import pulumi_gcp as gcp
import pytest
from google.protobuf import struct_pb2
from hypothesis import given, settings
from hypothesis import strategies as st
from pulumi import _types as pulumi_types
from pulumi.output import Unknown
from pulumi.runtime import resource as presource
from pulumi.runtime import rpc
from rich.console import Console

from stacks.org.load import load
from stacks.org.resolve import resolve
from stacks.plan import engine, sdk
from stacks.plan.engine import run_program
from stacks.report.tree import render_plan_tree, wrapped_tree_lines
from tests.conftest import BUNDLED_GCP

SDK_CONTAINS_UNKNOWNS = rpc.contains_unknowns
SDK_STACK_TRACE = presource._get_stack_trace
SDK_UNWRAP_TYPE = pulumi_types.unwrap_type


@pytest.fixture(scope="module")
def env():
    return resolve(load(BUNDLED_GCP), "dev")


def test_the_sdk_functions_we_replace_still_exist():
    assert SDK_CONTAINS_UNKNOWNS.__module__ == "pulumi.runtime.rpc"
    assert SDK_STACK_TRACE.__module__ == "pulumi.runtime.resource"
    assert SDK_UNWRAP_TYPE.__module__ == "pulumi._types"
    from pulumi.runtime.settings import SETTINGS

    assert hasattr(SETTINGS, "outputs") and hasattr(SETTINGS, "lock"), \
        "the SDK no longer tracks Outputs in SETTINGS.outputs: sdk.settle_outputs is skipped"


CYCLE: list[object] = ["a"]
CYCLE.append(CYCLE)
VALUES = ["text", 3, None, True, 1.5, Unknown(), [], {}, {"a": ["b", {"c": 1}]},
          {"a": ["b", {"c": Unknown()}]}, [[[Unknown()]]], {"k": Unknown()}, CYCLE,
          {"same": CYCLE, "twice": CYCLE}, ("tuples", "are", "not", "walked", Unknown()),
          OrderedDict(k=Unknown()), UserList([Unknown()]), type("L", (list,), {})([Unknown()]),
          False, 0, ""]


@pytest.mark.parametrize("value", VALUES, ids=repr)
def test_contains_unknowns_answers_like_the_sdk(value):
    assert sdk.contains_unknowns(value) is SDK_CONTAINS_UNKNOWNS(value)


def test_contains_unknowns_makes_no_garbage_cycles():
    gc.collect()
    gc.disable()
    try:
        for _ in range(1000):
            sdk.contains_unknowns({"a": ["b", {"c": 1}]})
        assert gc.collect() == 0
    finally:
        gc.enable()


# Spelled as the provider SDKs spell their type hints (typing.Optional, string forward refs).
TYPES = [str, int, type(None), pulumi.Output[str], pulumi.Input[str],
         Optional[pulumi.Input[str]],  # noqa: UP045
         pulumi.Input[Sequence[pulumi.Input[str]]], pulumi.Input[Mapping[str, pulumi.Input[str]]],
         Optional[pulumi.Input["gcp.storage.BucketVersioningArgs"]],  # noqa: UP045
         pulumi.Input[gcp.storage.BucketVersioningArgs], gcp.storage.BucketVersioningArgs]


def test_memoized_unwrap_type_answers_like_the_sdk():
    memo = sdk.memoized(SDK_UNWRAP_TYPE)
    for _ in range(2):  # the second round answers from the cache
        assert [memo(t) for t in TYPES] == [SDK_UNWRAP_TYPE(t) for t in TYPES]


def serialized(state: dict) -> struct_pb2.Struct:
    return asyncio.new_event_loop().run_until_complete(rpc.serialize_properties(state, {}))


SECRET = {rpc._special_sig_key: rpc._special_secret_sig, "value": "s3cr3t"}


@pytest.mark.parametrize(("inputs", "extra"), [
    ({"name": "b", "labels": {"team": "a"}, "n": 3}, {"url": "gs://b", "selfLink": "x"}),
    ({"name": "b", "gone": None}, {}),
    ({"name": "b", "nested": {"x": None, "y": [1, None]}}, {"name": "override"}),
    ({"name": "b"}, {"name": None}),
    ({"password": SECRET}, {"id": "1", "list": [{"a": 1}, 2.5, True]}),
    ({}, {"email": "sa@p.iam.gserviceaccount.com"}),
])
def test_mock_responses_give_what_serialize_properties_gives(inputs, extra):
    request = serialized(inputs)
    deserialized = rpc.deserialize_properties(request)
    state = {**deserialized, **extra}
    got = engine._response_object(request, deserialized, state)
    # What the program sees: the SDK deserializes the response before resolving Outputs.
    assert rpc.deserialize_properties(got) == rpc.deserialize_properties(serialized(state))
    assert set(got.fields) == set(serialized(state).fields)


def program():
    sa = gcp.serviceaccount.Account("sa", account_id="runtime-test")
    client = gcp.organizations.get_client_config()  # a synchronous invoke
    gcp.storage.Bucket("b", name=f"{client.project}-b", location="US",
                       labels={"owner": sa.email.apply(lambda e: e.split("@")[0])})
    pulumi.export("project", client.project)


def test_everything_is_restored_after_a_plan(env):
    threshold, enabled = gc.get_threshold(), gc.isenabled()
    result = run_program(env, program)
    assert rpc.contains_unknowns is SDK_CONTAINS_UNKNOWNS
    assert presource._get_stack_trace is SDK_STACK_TRACE
    assert pulumi_types.unwrap_type is SDK_UNWRAP_TYPE
    assert gc.get_threshold() == threshold and gc.isenabled() == enabled
    assert gc.get_freeze_count() == 0
    bucket = next(r for r in result.resources if r.name == "b")
    assert bucket.inputs["name"] == "acme-ml-dev-b", "the invoke answered from the mocks"
    assert bucket.inputs["labels"] == {"owner": "runtime-test"}
    assert result.outputs == {"project": "acme-ml-dev"}


def test_a_failing_output_fails_the_plan_cleanly(env):
    def bad() -> None:
        sa = gcp.serviceaccount.Account("sa", account_id="runtime-test")
        pulumi.export("boom", sa.email.apply(lambda _: 1 / 0))

    with pytest.raises(engine.PlanError, match="ZeroDivisionError"):
        run_program(env, bad)
    assert rpc.contains_unknowns is SDK_CONTAINS_UNKNOWNS and gc.isenabled()


def test_plans_are_identical_run_after_run(env):
    first = engine.plan(env).to_json()
    assert engine.plan(env).to_json() == first


def test_plain_tree_output_is_what_rich_prints(env):
    plan = engine.plan(env)
    fast = io.StringIO()
    render_plan_tree(plan, console=Console(file=fast, width=100, highlight=False))
    slow = io.StringIO()
    out = Console(file=slow, width=100, highlight=False)
    from rich.text import Text

    out.print(Text(f"Plan of {plan.org}/{plan.environment}", style="bold"))
    for line in wrapped_tree_lines(plan, 100):
        out.print(line, soft_wrap=False)
    assert fast.getvalue().startswith(slow.getvalue())
    assert "critical path:" in fast.getvalue()


def test_a_callers_frozen_heap_stays_frozen(env):
    """The trellis script freezes its import heap (stacks.cli.launch); a plan must not hand it
    back to the collector, and the plan's own objects join it instead of being rescanned."""
    gc.freeze()
    before = gc.get_freeze_count()
    try:
        run_program(env, program)
        assert gc.get_freeze_count() > before
    finally:
        gc.unfreeze()


# ---------------------------------------------------------------------------------------------
# create_urn and Output.json_dumps: same value, known-ness, secrecy and dependencies
# ---------------------------------------------------------------------------------------------

SDK_CREATE_URN = presource.create_urn
SDK_JSON_DUMPS = pulumi.Output.json_dumps


def _settled(env, build):
    """Run ``build(deps)`` (deps: two registered resources) in a plan; return what each Output
    it returns settles to: (value, known, secret, URNs of its dependencies)."""
    seen: dict[str, tuple] = {}

    def prog() -> None:
        a = pulumi.CustomResource("gcp:serviceaccount/account:Account", "a", {"accountId": "a"})
        b = pulumi.CustomResource("gcp:serviceaccount/account:Account", "b", {"accountId": "b"})
        for key, out in build((a, b)).items():
            async def settle(key=key, out=out) -> None:
                data = await out._data
                seen[key] = (data.value, data.is_known, data.is_secret,
                             sorted([await r.urn.future() for r in data.resources]))
            pulumi.Output.from_input(asyncio.ensure_future(settle())).apply(lambda _: None)

    run_program(env, prog)
    return seen


def _unknown(value=None, secret=False):
    """An Output the program cannot know yet (what a preview would give)."""
    loop = asyncio.get_event_loop()
    val, known, sec = loop.create_future(), loop.create_future(), loop.create_future()
    val.set_result(value)
    known.set_result(False)
    sec.set_result(secret)
    return pulumi.Output(set(), val, known, sec)


def _documents(deps):
    a, b = deps
    return {
        "plain": {"Version": "2012", "Statement": [{"Sid": "x", "Action": ["s3:Get"]}]},
        "outputs": {"Statement": [{"Resource": [a.urn, "arn:*"], "Principal": {"AWS": b.urn}}]},
        "secret": {"password": pulumi.Output.secret("s3cr3t"), "n": 1.5, "t": ("x", a.urn)},
        "nested": {"k": a.urn.apply(lambda u: {"inner": [b.urn, u], "n": None})},
        "unknown": {"known": a.urn, "not yet": _unknown("x")},
        "empty": {"d": {}, "l": [], "t": ()},
        "scalar": a.urn,
        "awaitable": {"later": asyncio.ensure_future(asyncio.sleep(0, result="ok"))},
        "args class": {"v": gcp.storage.BucketVersioningArgs(enabled=True)},
        "kwargs": {"b": 2, "a": [1, a.urn]},
    }


def test_json_dumps_gives_what_the_sdk_gives(env):
    def build(dumps):
        def run(deps):
            docs = _documents(deps)
            out = {k: dumps(v) for k, v in docs.items() if k not in ("kwargs", "args class")}
            out["kwargs"] = dumps(docs["kwargs"], sort_keys=True, indent=1, separators=(",", ":"))
            out["args class"] = dumps(docs["args class"], default=lambda o: o.enabled)
            return out
        return run

    ours = _settled(env, build(sdk.json_dumps))
    stock = _settled(env, build(SDK_JSON_DUMPS))
    assert ours.keys() == stock.keys() and len(ours) == 10
    for key in stock:
        assert ours[key] == stock[key], (
            f"json_dumps of the {key!r} document: (value, known, secret, dependencies) "
            f"{ours[key]} instead of the SDK's {stock[key]}")


def test_json_dumps_leaves_what_it_does_not_know_to_the_sdk():
    for odd in ({1: "one"}, {"k": object()}, [{None: 1}], {"f": asyncio.sleep}):
        assert sdk._outputs_in(odd, []) is False, f"{odd!r} must take the SDK's json_dumps"
    found: list = []
    out = object.__new__(pulumi.Output)  # identity is all _outputs_in looks at
    assert sdk._outputs_in({"a": [1, (out, {"b": out})]}, found) and found == [out, out]


def test_create_urn_gives_what_the_sdk_gives(env):
    def build(create):
        def run(deps):
            a, _ = deps
            return {"root": create("n", "t:m:T"),
                    "child": create("n", "t:m:T", "urn:pulumi:dev::trellis::a:b:C$d:e:F::p"),
                    "project": create("n", "t:m:T", None, "proj", "stk"),
                    "resource parent": create("n", "t:m:T", a),
                    "output name": create(a.urn.apply(lambda u: u[-1]), "t:m:T")}
        return run

    ours = _settled(env, build(sdk.create_urn))
    stock = _settled(env, build(SDK_CREATE_URN))
    assert ours == stock, "create_urn differs from the SDK's"


def test_create_urn_and_json_dumps_are_replaced_only_during_a_plan(env):
    seen = {}

    def prog() -> None:
        seen["create_urn"] = presource.create_urn
        seen["json_dumps"] = pulumi.Output.json_dumps

    run_program(env, prog)
    assert seen == {"create_urn": sdk.create_urn, "json_dumps": sdk.json_dumps}
    assert presource.create_urn is SDK_CREATE_URN
    assert pulumi.Output.json_dumps is SDK_JSON_DUMPS
    assert isinstance(inspect.getattr_static(pulumi.Output, "json_dumps"), staticmethod), \
        "restored as the staticmethod it was"


# ---------------------------------------------------------------------------------------------
# deserialize_properties: the SDK's answer for every shape a Struct can hold
# ---------------------------------------------------------------------------------------------

SDK_DESERIALIZE = rpc.deserialize_properties
_leaf = st.one_of(st.none(), st.booleans(), st.floats(allow_nan=False), st.integers(-10, 10),
                  st.text(max_size=4), st.just(rpc.UNKNOWN))
_keys = st.one_of(st.text(max_size=4), st.sampled_from(["__x", "__provider", "__", "a"]))


def _secret(value):
    return {rpc._special_sig_key: rpc._special_secret_sig, "value": value}


_tree = st.recursive(_leaf, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(_keys, inner, max_size=4),
    inner.map(_secret)), max_leaves=20)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(_keys, _tree, max_size=6), st.sampled_from([None, False, True]),
       st.sampled_from([None, False, True]))
def test_deserialize_properties_answers_like_the_sdk(props, keep_unknowns, keep_internal):
    struct = struct_pb2.Struct()
    struct.update(props)
    expected = _canon(SDK_DESERIALIZE(struct, keep_unknowns, keep_internal))
    got = _canon(sdk.deserialize_properties(struct, keep_unknowns, keep_internal))
    assert repr(got) == repr(expected), f"{props!r}: {got!r} instead of the SDK's {expected!r}"
    assert list(got) == list(expected), "same keys in the same order"


def _canon(value):
    """Unknown() objects as a marker (their repr carries an address); types kept by repr."""
    if isinstance(value, Unknown):
        return "<Unknown>"
    if isinstance(value, dict):
        return {k: _canon(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_canon(v) for v in value]
    return value


def test_deserialize_properties_leaves_special_structs_to_the_sdk():
    for special in (_secret("s"), {rpc._special_sig_key: rpc._special_asset_sig, "text": "t"}):
        struct = struct_pb2.Struct()
        struct.update(special)
        ours, stock = sdk.deserialize_properties(struct), SDK_DESERIALIZE(struct)
        assert type(ours) is type(stock) and vars(ours) == vars(stock) \
            if hasattr(stock, "__dict__") else ours == stock


# ---------------------------------------------------------------------------------------------
# PlanLoop: call_soon as the stock loop's, minus the debug bookkeeping
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("debug", [False, True], ids=["plain", "debug"])
def test_plan_loop_runs_callbacks_like_asyncio(debug):
    loop = sdk.PlanLoop()
    loop.set_debug(debug)
    seen: list = []
    failures: list = []
    loop.set_exception_handler(lambda _, ctx: failures.append(str(ctx["exception"])))
    var = contextvars.ContextVar("v", default="unset")
    ctx = contextvars.copy_context()
    ctx.run(var.set, "in ctx")

    async def main():
        loop.call_soon(seen.append, 1)
        loop.call_soon(lambda: seen.append(var.get()), context=ctx)
        loop.call_soon(lambda: 1 / 0)
        cancelled = loop.call_soon(seen.append, "never")
        cancelled.cancel()
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        seen.append(await asyncio.gather(asyncio.sleep(0, "a"), asyncio.sleep(0, "b")))

    try:
        loop.run_until_complete(main())
    finally:
        loop.close()
    assert seen == [1, "in ctx", ["a", "b"]]
    assert failures == ["division by zero"], "a failing callback reaches the exception handler"
    with pytest.raises(RuntimeError, match="closed"):
        loop.call_soon(seen.append, 2)


def test_plan_loop_answers_monitor_calls_at_once_and_threads_what_must_not_run_inline():
    loop = sdk.PlanLoop()
    loop.set_default_executor(sdk.InlineExecutor(max_workers=1))
    threads: list = []

    def off_loop():
        sdk.off_event_loop()  # raises on the loop's thread: must go to a worker
        threads.append(threading.current_thread() is threading.main_thread())
        return "threaded"

    async def main():
        inline = loop.run_in_executor(None, lambda: "inline")
        assert inline.done(), "a monitor call is answered at once"
        failing = loop.run_in_executor(None, lambda: 1 / 0)
        with pytest.raises(ZeroDivisionError):
            await failing
        return await inline, await loop.run_in_executor(None, off_loop)

    try:
        assert loop.run_until_complete(main()) == ("inline", "threaded")
        assert threads == [False], "OffLoopError sends the call to a worker thread"
    finally:
        loop.close()


@pytest.mark.parametrize("level", [logging.DEBUG, logging.INFO])
def test_debug_logs_reach_a_listening_logger_as_before(env, caplog, level):
    def prog() -> None:
        pulumi.log.debug("plan-debug-line")
        pulumi.log.info("plan-info-line")

    with caplog.at_level(level, logger="trellis.engine"):
        run_program(env, prog)
    lines = [r.getMessage() for r in caplog.records if r.name == "trellis.engine"]
    assert "plan-info-line" in lines
    assert ("plan-debug-line" in lines) is (level == logging.DEBUG), \
        "debug lines are dropped only when the engine's logger would drop them"
