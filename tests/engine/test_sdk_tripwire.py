"""Tripwire: the SDK internals Trellis relies on are still there and still what we relied on.

``stacks/plan/sdk.py`` (Pulumi SDK, plan engine) and ``policies/sdk.py`` (pulumi_policy, the
pack) are the only modules that touch SDK internals; each records in ``PINNED`` what it relies
on: a call signature (``sig``), a hash of the source of what we mirror or replace (``src``), a
class's bases, the type of a live attribute, a constant's value. An SDK upgrade that removes or
changes any of them fails here, naming the symbol, the module that uses it and the new value to
pin once the use has been re-checked. Names the tests themselves reach for (the Analyzer
servicer behind ``tests/policies/analyzer_path.py``) are pinned below.

Besides the pins: every SDK function a plan replaces must really be called by the SDK during a
plan (else the shortcut silently stopped working), and ``RecordingMonitor.RegisterResource``
must hand the mocks and the program exactly what the stock ``MockMonitor.RegisterResource``
does.
"""

from __future__ import annotations

import asyncio
import hashlib
import importlib
import inspect
import logging
from collections.abc import Callable
from typing import Any

import pulumi
import pytest
from pulumi.runtime import MockCallArgs, MockResourceArgs, Mocks, run_in_stack

import policies.sdk
import stacks.plan.sdk
from stacks.org.load import load
from stacks.org.resolve import resolve
from stacks.plan import engine, sdk
from tests.conftest import BUNDLED_GCP

#: Private names only the tests use (tests/policies/analyzer_path.py builds the servicer).
TEST_PINNED: dict[str, str] = {
    "pulumi_policy.policy._PolicyAnalyzerServicer": "class(AnalyzerServicer)",
    "pulumi_policy.policy._PolicyAnalyzerServicer.__init__":
        "sig(self, name, version, policies, enforcement_level, initial_config=None, "
        "description=None, display_name=None, readme=None, provider=None, tags=None, "
        "repository=None)",
}

SEAMS: dict[str, dict[str, str]] = {
    "stacks/plan/sdk.py": stacks.plan.sdk.PINNED,
    "policies/sdk.py": policies.sdk.PINNED,
    "tests/policies/analyzer_path.py": TEST_PINNED,
}


def resolve_symbol(path: str) -> Any:
    """``a.b.c.Name.attr`` -> the object: the longest importable module prefix, then getattr."""
    parts = path.split(".")
    for i in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:i]))
        except ImportError:
            continue
        for attr in parts[i:]:
            obj = getattr(obj, attr)  # AttributeError: the symbol is gone
        return obj
    raise ImportError(path)


def fingerprint(obj: Any, kind: str) -> str:
    """What a pin of ``kind`` records of ``obj`` (see the module docstring)."""
    if kind == "sig":  # names, kinds and defaults: annotations print differently per Python
        sig = inspect.signature(obj)
        bare = sig.replace(parameters=[p.replace(annotation=p.empty)
                                       for p in sig.parameters.values()],
                           return_annotation=sig.empty)
        return f"sig{bare}"
    if kind == "src":
        return "src:" + hashlib.sha256(inspect.getsource(obj).encode()).hexdigest()[:16]
    if kind == "class":
        return "class(" + ", ".join(b.__name__ for b in obj.__bases__) + ")"
    if kind == "type":
        return f"type:{type(obj).__qualname__}"
    if kind == "is":
        return f"is{obj!r}"
    raise ValueError(f"unknown pin kind {kind!r}")


def _kind(pin: str) -> str:
    for kind in ("class", "type", "sig", "src", "is"):
        if pin.startswith(kind):
            return kind
    raise ValueError(f"unknown pin {pin!r}")


PINS = [(seam, path, pin) for seam, pins in SEAMS.items() for path, pin in sorted(pins.items())]


@pytest.mark.parametrize(("seam", "path", "pin"), PINS, ids=[p for _, p, _ in PINS])
def test_pinned_sdk_internal_is_unchanged(seam: str, path: str, pin: str) -> None:
    try:
        obj = resolve_symbol(path)
    except (ImportError, AttributeError) as exc:
        pytest.fail(f"{path} is gone from the installed SDK ({type(exc).__name__}: {exc}); "
                    f"{seam} relies on it: find its replacement and change {seam}")
    now = fingerprint(obj, _kind(pin))
    assert now == pin, (
        f"{path} changed in the installed SDK: pinned {pin!r}, now {now!r}. {seam} relies on "
        f"it: re-check the use (and, for a src pin, compare with what Trellis mirrors), then "
        f"pin the new value in its PINNED")


def test_every_private_name_a_seam_imports_is_pinned() -> None:
    """A private module-level name the seams bind must have a pin, so nobody adds an SDK
    internal to a seam without the tripwire knowing."""
    for module, pins in ((stacks.plan.sdk, stacks.plan.sdk.PINNED),
                         (policies.sdk, policies.sdk.PINNED)):
        source = inspect.getsource(module)
        for line in source.splitlines():
            if not line.startswith("from pulumi"):
                continue
            names = [n.strip().split(" as ")[0] for n in line.split(" import ", 1)[1].split(",")]
            origin = line.split()[1]
            for name in names:
                if not name.startswith("_"):
                    continue
                path = f"{origin}.{name}"
                covered = [p for p in pins if p == path or p.startswith(path + ".")]
                assert covered, f"{module.__name__} imports {path} without a pin in PINNED"


# ---------------------------------------------------------------------------------------------
# The shortcuts really replace what the SDK calls
# ---------------------------------------------------------------------------------------------

def _counting(fn: Callable[..., Any], calls: dict[str, int], name: str) -> Callable[..., Any]:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        calls[name] = calls.get(name, 0) + 1
        return fn(*args, **kwargs)
    return wrapper


def test_every_replaced_sdk_function_is_called_during_a_plan(
        monkeypatch: pytest.MonkeyPatch) -> None:
    calls: dict[str, int] = {}
    monkeypatch.setattr(sdk, "no_stack_trace", _counting(sdk.no_stack_trace, calls, "stack"))
    monkeypatch.setattr(sdk, "contains_unknowns",
                        _counting(sdk.contains_unknowns, calls, "unknowns"))
    real_memoized = sdk.memoized
    monkeypatch.setattr(sdk, "memoized",
                        lambda fn: _counting(real_memoized(fn), calls, "unwrap_type"))
    monkeypatch.setattr(sdk, "settle_outputs", _counting(sdk.settle_outputs, calls, "settle"))
    monkeypatch.setattr(sdk, "pump_until_done", _counting(sdk.pump_until_done, calls, "pump"))
    monkeypatch.setattr(sdk, "serialize_now", _counting(sdk.serialize_now, calls, "now"))
    monkeypatch.setattr(sdk, "create_urn", _counting(sdk.create_urn, calls, "urn"))
    monkeypatch.setattr(sdk, "json_dumps", _counting(sdk.json_dumps, calls, "json"))
    monkeypatch.setattr(sdk, "deserialize_properties",
                        _counting(sdk.deserialize_properties, calls, "deserialize"))
    monkeypatch.setattr(sdk, "log_debug", _counting(sdk.log_debug, calls, "log"))
    monkeypatch.setattr(sdk.PlanLoop, "run_in_executor",
                        _counting(sdk.PlanLoop.run_in_executor, calls, "executor"))

    def program() -> None:
        sa = pulumi.CustomResource("gcp:serviceaccount/account:Account", "sa",
                                   {"accountId": "tripwire"})
        pulumi.export("email", sa.urn.apply(lambda u: u.upper()))
        project = pulumi.runtime.invoke("gcp:organizations/getProject:getProject",
                                        {"projectId": "tripwire"}).value
        pulumi.export("number", project["number"])
        pulumi.export("doc", pulumi.Output.json_dumps({"sa": [sa.urn]}))

    with sdk.shortcuts(True):
        engine.run_program(resolve(load(BUNDLED_GCP), "dev"), program)
    for name, why in (("stack", "resource._get_stack_trace"),
                      ("unknowns", "rpc.contains_unknowns"), ("unwrap_type", "_types.unwrap_type"),
                      ("settle", "settle_outputs"),
                      ("pump", "invoke._sync_await (a synchronous invoke)"),
                      ("now", "RecordingMonitor.Invoke's serializer on the loop's thread"),
                      ("urn", "resource.create_urn (every registration)"),
                      ("json", "Output.json_dumps"),
                      ("deserialize", "rpc.deserialize_properties"),
                      ("log", "log.debug"),
                      ("executor", "loop.run_in_executor (the monitor calls)")):
        assert calls.get(name), (f"the SDK no longer calls {why} during a plan: the shortcut in "
                                 f"stacks/plan/sdk.py has silently stopped applying")


# ---------------------------------------------------------------------------------------------
# RecordingMonitor.RegisterResource vs the stock MockMonitor.RegisterResource
# ---------------------------------------------------------------------------------------------

class SpyMocks(Mocks):
    """Records what the monitor hands the mocks; answers like a provider would."""

    def __init__(self) -> None:
        self.seen: list[tuple[Any, ...]] = []

    def new_resource(self, args: MockResourceArgs) -> tuple[str | None, dict[Any, Any]]:
        self.seen.append((args.typ, args.name, args.inputs, args.provider, args.resource_id,
                          args.custom, len(args.transforms)))
        state = {**args.inputs, "computed": f"{args.name}-out", "nested": {"n": [1, None]},
                 "gone": None}
        return (None if args.name == "no-id" else f"{args.name}-id"), state

    def call(self, args: MockCallArgs) -> tuple[dict[Any, Any], list[tuple[str, str]] | None]:
        return {"project": "p"}, []


def _program(seen: dict[str, Any]) -> Callable[[], None]:
    def program() -> None:
        prov = pulumi.ProviderResource("gcp", "prov", {"project": "p"})
        parent = pulumi.ComponentResource("trellis:test:Box", "box")
        secret = pulumi.Output.secret("s3cr3t")
        a = pulumi.CustomResource("gcp:storage/bucket:Bucket", "a", {
            "name": "a", "labels": {"team": "x"}, "list": [1, 2.5, "t", None, {"k": True}],
            "none": None, "password": secret},
            opts=pulumi.ResourceOptions(parent=parent, provider=prov, protect=True))
        b = pulumi.CustomResource("gcp:storage/bucket:Bucket", "b", {
            "name": a.urn.apply(lambda u: u.split("::")[-1] + "-b"),
            "fromA": a.id}, opts=pulumi.ResourceOptions(depends_on=[a]))
        c = pulumi.CustomResource("gcp:storage/bucket:Bucket", "no-id", {"name": "c"},
                                  opts=pulumi.ResourceOptions(import_="imported-c"))
        for name, res in (("a", a), ("b", b), ("c", c)):
            pulumi.Output.all(res.id, res.urn).apply(
                lambda v, n=name: seen.__setitem__(f"{n}-id-urn", tuple(v)))
        pulumi.export("b", b.urn)

    return program


def _run(monitor: Any, program: Callable[[], None], *, shortcuts: bool) -> None:
    """What engine.run_program does, for any monitor."""
    sdk.configure_mock_runtime(monitor, project="trellis", stack="dev",
                               logger=logging.getLogger("tripwire"))
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        with sdk.plan_runtime(loop, enabled=shortcuts):
            loop.run_until_complete(run_in_stack(program))
    finally:
        sdk.reset_root()
        loop.close()
        asyncio.set_event_loop(None)


@pytest.mark.parametrize("shortcuts", [True, False], ids=["shortcuts", "no-shortcuts"])
def test_register_resource_gives_what_the_stock_mock_monitor_gives(shortcuts: bool) -> None:
    stock_mocks, ours_mocks = SpyMocks(), SpyMocks()
    stock_seen: dict[str, Any] = {}
    ours_seen: dict[str, Any] = {}
    stock = sdk.MockMonitor(stock_mocks)
    _run(stock, _program(stock_seen), shortcuts=False)
    ours = engine.RecordingMonitor(ours_mocks, shortcuts=shortcuts)
    _run(ours, _program(ours_seen), shortcuts=shortcuts)

    def args(mocks: SpyMocks) -> list[tuple[Any, ...]]:
        # Provider references carry URNs: ours are the real engine's (see below).
        return sorted(((*a[:3], a[3].replace("pulumi:pulumi:Stack$", ""), *a[4:])
                       for a in mocks.seen), key=lambda a: (a[0], a[1]))

    assert len(ours_mocks.seen) == 5, "three buckets, a provider and a component"
    assert args(ours_mocks) == args(stock_mocks), \
        "RecordingMonitor.RegisterResource hands the mocks other MockResourceArgs than the stock"
    # The program sees the same ids; URNs differ only where ours follows the real engine
    # (children of the root stack carry no pulumi:pulumi:Stack$ in their type).
    # "no-id" (the mocks give no id) stays unknown to the program both ways: no apply runs.
    assert ours_seen.keys() == stock_seen.keys() == {"a-id-urn", "b-id-urn"}
    for name in ours_seen:
        (our_id, our_urn), (stock_id, stock_urn) = ours_seen[name], stock_seen[name]
        assert our_id == stock_id, f"{name}: the program sees id {our_id!r}, stock {stock_id!r}"
        assert our_urn == stock_urn.replace("pulumi:pulumi:Stack$", ""), name
    states = {r.name: r.outputs for r in ours.records}
    for urn, registration in stock.resources.items():
        name = urn.rsplit("::", 1)[-1]
        if name in states:
            assert states[name] == engine._plain(registration.state), \
                f"{name}: the recorded outputs differ from the stock monitor's state"


# ---------------------------------------------------------------------------------------------
# RecordingMonitor.Invoke and synchronous invokes vs the stock runtime
# ---------------------------------------------------------------------------------------------

class InvokeMocks(Mocks):
    """Answers invokes with plain data, a failure, or a value only the stock serializer takes."""

    def new_resource(self, args: MockResourceArgs) -> tuple[str | None, dict[Any, Any]]:
        return f"{args.name}-id", dict(args.inputs)

    def call(self, args: MockCallArgs) -> Any:
        if args.token == "test:index:fail":
            return {}, [("name", "no such thing")]
        if args.token == "test:index:asset":  # not plain data: the stock path must take it
            return {"file": pulumi.StringAsset("text")}, []
        return {"echo": args.args, "n": 3, "none": None, "nested": {"x": [1, None, "y"]}}


def _invoking(seen: dict[str, Any]) -> Callable[[], None]:
    def program() -> None:
        prov = pulumi.ProviderResource("test", "prov", {"region": "r"})
        seen["plain"] = pulumi.runtime.invoke("test:index:get", {"name": "a", "k": [1, 2]}).value
        # Through a provider whose registration is still pending: the invoke must wait for it.
        seen["provider"] = pulumi.runtime.invoke(
            "test:index:get", {"name": "b"}, opts=pulumi.InvokeOptions(provider=prov)).value
        seen["asset"] = sorted(pulumi.runtime.invoke("test:index:asset", {}).value)
        try:
            pulumi.runtime.invoke("test:index:fail", {"name": "c"})
        except Exception as exc:  # noqa: BLE001 - the message is what we compare
            seen["failure"] = str(exc)
        res = pulumi.CustomResource("test:index:Thing", "thing", {"v": seen["plain"]["n"]})
        res.id.apply(lambda i: seen.__setitem__("thing", i))

    return program


@pytest.mark.parametrize("shortcuts", [True, False], ids=["shortcuts", "no-shortcuts"])
def test_invokes_give_the_program_what_the_stock_mock_monitor_gives(shortcuts: bool) -> None:
    stock_seen: dict[str, Any] = {}
    ours_seen: dict[str, Any] = {}
    _run(sdk.MockMonitor(InvokeMocks()), _invoking(stock_seen), shortcuts=False)
    _run(engine.RecordingMonitor(InvokeMocks(), shortcuts=shortcuts), _invoking(ours_seen),
         shortcuts=shortcuts)
    assert stock_seen.keys() == {"plain", "provider", "asset", "failure", "thing"}
    assert ours_seen == stock_seen, \
        "a synchronous invoke gives the program other values than under the stock MockMonitor"
