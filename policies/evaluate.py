"""The pack evaluated directly on resource records: what ``trellis check`` runs.

``pulumi preview --policy-pack`` talks to the pack's Analyzer servicer (``pulumi_policy``), and
the tests drive that very servicer in-process (``tests/policies/analyzer_path.py``). The
servicer, though, converts every resource's properties from protobuf, deserializes them and
wraps them in unknown-checking proxies once *per policy*: 54 times per resource in the
``Analyze`` phase and 17 times per resource in ``AnalyzeStack``, which our rules then unwrap
again (:func:`policies.view.plain`). On a 50-team plan that was three quarters of the check.

This module produces the same diagnostics with each resource converted once:

- properties go through :func:`policies.view.from_wire`, which gives what the wire round trip
  plus :func:`~policies.view.plain` gives (numbers as floats, secrets unwrapped, unknown
  sentinels as :data:`~policies.view.UNKNOWN`);
- resource rules run only on the resource types they declare, with their settings parsed once
  per run instead of once per resource;
- stack rules share one :class:`~policies.view.Stack`, so its indexes are built once;
- enforcement levels, messages and fail-closed behaviour come from the same code as the
  CrossGuard adapters (:func:`policies.registry.resource_messages`, ``stack_messages``).

``tests/policies/test_evaluate_equivalence.py`` checks on secure and insecure plans, with
rules disabled, re-levelled and misconfigured, that both paths report exactly the same.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from policies.registry import (
    Rule,
    all_rules,
    resource_messages,
    settings_or_error,
    stack_messages,
    type_matcher,
)
from policies.sdk import NotApplicableError
from policies.view import Res, Stack, from_wire


@dataclass(frozen=True)
class Record:
    """One planned resource as the engine reports it (inputs and outputs are plain values)."""

    type: str
    urn: str
    name: str
    inputs: Mapping[str, Any]
    outputs: Mapping[str, Any] = field(default_factory=dict)
    protect: bool = False
    parent: str = ""
    dependencies: tuple[str, ...] = ()
    property_dependencies: Mapping[str, Sequence[str]] = field(default_factory=dict)


@dataclass(frozen=True)
class Diagnostic:
    """One violation, as the Analyzer would report it (``urn`` empty: the stack)."""

    policy: str
    urn: str
    message: str
    enforcement: str  # advisory | mandatory
    severity: str


def _level(rule: Rule, config: Mapping[str, Mapping[str, Any]]) -> str:
    level = str(config.get(rule.id, {}).get("enforcementLevel", rule.enforcement))
    # The servicer reports a remediate-level policy's violations as mandatory.
    return "mandatory" if level == "remediate" else level


def _settings(rule: Rule, config: Mapping[str, Mapping[str, Any]]) -> Any:
    entry = {k: v for k, v in config.get(rule.id, {}).items() if k != "enforcementLevel"}
    # Policy config travels as a protobuf Struct too: its numbers arrive as floats.
    return settings_or_error(from_wire(entry) if entry else None)


def _message(rule: Rule, message: str) -> str:
    # The servicer sends "<description>\n<message>"; an empty message leaves the description.
    return message or rule.description


def evaluate(records: Sequence[Record], config: Mapping[str, Mapping[str, Any]],
             rules: Iterable[Rule] | None = None) -> list[Diagnostic]:
    """Run every enabled rule on ``records``; ``config`` is rule ID -> enforcementLevel and
    settings, as :func:`policies.settings.expand` returns it."""
    rules = list(all_rules() if rules is None else rules)
    enabled = [(r, _level(r, config)) for r in rules]
    enabled = [(r, level) for r, level in enabled if level != "disabled"]
    out: list[Diagnostic] = []

    resource_rules = [(r, level, type_matcher(r.resource_types), _settings(r, config))
                      for r, level in enabled if r.kind == "resource"]
    stack_rules = [(r, level) for r, level in enabled if r.kind == "stack"]
    urns = {rec.urn for rec in records} if stack_rules else set()
    stacked: list[Res] = []
    by_type: dict[str, list[tuple[Rule, str, Any]]] = {}
    for rec in records:
        applicable = by_type.get(rec.type)
        if applicable is None:
            applicable = by_type[rec.type] = [(r, level, settings)
                                              for r, level, applies, settings in resource_rules
                                              if applies(rec.type)]
        if not applicable and not stack_rules:
            continue
        # Each resource's inputs are converted once, for its resource rules and the stack.
        props = from_wire(rec.inputs)
        if stack_rules:
            stacked.append(_stack_res(rec, props, urns))
        if not applicable:
            continue
        res = Res(type=rec.type, urn=rec.urn, name=rec.name, props=props,
                  protect=bool(rec.protect), parent=rec.parent or None)
        for rule, level, settings in applicable:
            try:
                messages = resource_messages(rule, res, settings)
            except NotApplicableError:
                continue
            out.extend(Diagnostic(rule.id, rec.urn, _message(rule, m), level, rule.severity)
                       for m in messages)

    if stack_rules:
        stack = Stack(stacked)
        del stacked
        for rule, level in stack_rules:
            try:
                pairs = stack_messages(rule, stack, _settings(rule, config))
            except NotApplicableError:
                continue
            out.extend(Diagnostic(rule.id, urn or "", _message(rule, m), level, rule.severity)
                       for urn, m in pairs)
    return out


def stack_of(records: Sequence[Record]) -> Stack:
    """The stack as ``AnalyzeStack`` shows it: state = inputs + outputs, links inside it only."""
    urns = {rec.urn for rec in records}
    return Stack([_stack_res(rec, from_wire(rec.inputs), urns) for rec in records])


def _stack_res(rec: Record, inputs: dict[str, Any], urns: set[str]) -> Res:
    """``rec`` in the stack: ``from_wire({**inputs, **outputs})``, given ``inputs`` converted
    (the outputs echo the inputs: an output that *is* its input is not converted twice)."""
    props = dict(inputs)
    raw = rec.inputs
    for key, value in rec.outputs.items():
        if key not in raw or raw[key] is not value:
            props[str(key)] = from_wire(value)
    return Res(type=rec.type, urn=rec.urn, name=rec.name, props=props, protect=bool(rec.protect),
               parent=rec.parent or None,
               dependencies=tuple(d for d in rec.dependencies if d in urns),
               property_dependencies={k: tuple(d for d in v if d in urns)
                                      for k, v in rec.property_dependencies.items()})
