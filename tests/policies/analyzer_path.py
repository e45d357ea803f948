"""The pack as ``pulumi preview --policy-pack`` runs it: the Analyzer servicer, in-process.

``trellis check`` evaluates rules with :mod:`policies.evaluate` (ADR 8). This helper builds the
servicer ``pulumi_policy.PolicyPack(...)`` would serve from the pack's own values
(:mod:`policies.pack`), sends it the protobuf requests the CLI sends (``Configure`` ->
``Analyze`` per resource -> ``AnalyzeStack``: properties as ``google.protobuf.Struct``, options,
parent, dependencies, property dependencies, provider) and hands its diagnostics to
:func:`stacks.report.check.run_check` as an ``evaluator``, so both paths share everything after
the rules ran. ``test_evaluate_equivalence.py`` requires the same findings both ways.

The servicer (``pulumi_policy.policy._PolicyAnalyzerServicer``) is private to pulumi_policy,
which is why it lives here with the tests and not in production code; its constructor is
pinned by ``tests/engine/test_sdk_tripwire.py``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import grpc
from google.protobuf import struct_pb2
from pulumi.runtime.proto import analyzer_pb2
from pulumi_policy import Policy
from pulumi_policy.policy import _PolicyAnalyzerServicer

from policies.evaluate import Diagnostic
from policies.pack import (
    ALL_POLICIES,
    PACK_DESCRIPTION,
    PACK_DISPLAY_NAME,
    PACK_ENFORCEMENT,
    PACK_NAME,
    PACK_TAGS,
    SERVICER_VERSION,
)
from policies.registry import Rule
from stacks.report.check import CheckReport, PlanLike, field_of, run_check
from stacks.report.waivers import Waiver

LEVEL_NAMES = {analyzer_pb2.ADVISORY: "advisory", analyzer_pb2.MANDATORY: "mandatory",
               analyzer_pb2.DISABLED: "disabled", analyzer_pb2.REMEDIATE: "remediate"}
LEVEL_VALUES = {v: k for k, v in LEVEL_NAMES.items()}
SEVERITY_NAMES = {analyzer_pb2.POLICY_SEVERITY_LOW: "low",
                  analyzer_pb2.POLICY_SEVERITY_MEDIUM: "medium",
                  analyzer_pb2.POLICY_SEVERITY_HIGH: "high",
                  analyzer_pb2.POLICY_SEVERITY_CRITICAL: "critical"}


def new_servicer(policies: Sequence[Policy] | None = None) -> _PolicyAnalyzerServicer:
    """The Analyzer servicer ``PolicyPack(...)`` in ``policies/__main__.py`` would serve
    (``policies``: serve these instead of the pack's, e.g. one test rule)."""
    return _PolicyAnalyzerServicer(
        PACK_NAME, SERVICER_VERSION, list(ALL_POLICIES if policies is None else policies),
        PACK_ENFORCEMENT, None, PACK_DESCRIPTION, PACK_DISPLAY_NAME, None, None, PACK_TAGS, None)


def struct(values: Mapping[str, Any]) -> struct_pb2.Struct:
    s = struct_pb2.Struct()
    s.update(dict(values))  # numbers become doubles, as over the wire
    return s


def _options(r: Any) -> analyzer_pb2.AnalyzerResourceOptions:
    dbr = field_of(r, "delete_before_replace")
    return analyzer_pb2.AnalyzerResourceOptions(
        protect=bool(field_of(r, "protect", False)),
        ignoreChanges=list(field_of(r, "ignore_changes") or []),
        deleteBeforeReplace=bool(dbr), deleteBeforeReplaceDefined=dbr is not None,
        aliases=list(field_of(r, "aliases") or []),
        parent=field_of(r, "parent") or "")


def _provider(r: Any, by_urn: Mapping[str, Any]) -> analyzer_pb2.AnalyzerProviderResource | None:
    # A provider reference is "<provider urn>::<provider id>"; a URN has exactly three "::".
    ref = str(field_of(r, "provider") or "")
    urn = ref.rsplit("::", 1)[0] if ref.count("::") >= 4 else ref
    if not urn.startswith("urn:pulumi:") or urn.count("::") != 3:
        return None
    prov = by_urn.get(urn)
    return analyzer_pb2.AnalyzerProviderResource(
        type=urn.split("::")[2].split("$")[-1],
        properties=struct(field_of(prov, "inputs") or {}) if prov is not None else None,
        urn=urn, name=urn.rsplit("::", 1)[-1])


def analyze_request(r: Any, by_urn: Mapping[str, Any]) -> analyzer_pb2.AnalyzeRequest:
    """What the engine sends before registering ``r``: its inputs."""
    req = analyzer_pb2.AnalyzeRequest(
        type=field_of(r, "type"), properties=struct(field_of(r, "inputs") or {}),
        urn=field_of(r, "urn"), name=field_of(r, "name"), options=_options(r))
    provider = _provider(r, by_urn)
    if provider is not None:
        req.provider.CopyFrom(provider)
    return req


def stack_request(resources: Sequence[Any], by_urn: Mapping[str, Any]
                  ) -> analyzer_pb2.AnalyzeStackRequest:
    """What the engine sends after the update: every resource's state (inputs + outputs)."""
    out = []
    for r in resources:
        props = {**(field_of(r, "inputs") or {}), **(field_of(r, "outputs") or {})}
        res = analyzer_pb2.AnalyzerResource(
            type=field_of(r, "type"), properties=struct(props), urn=field_of(r, "urn"),
            name=field_of(r, "name"), options=_options(r), parent=field_of(r, "parent") or "",
            dependencies=list(field_of(r, "dependencies") or []))
        for key, urns in (field_of(r, "property_dependencies") or {}).items():
            res.propertyDependencies[key].CopyFrom(
                analyzer_pb2.AnalyzerPropertyDependencies(urns=list(urns)))
        provider = _provider(r, by_urn)
        if provider is not None:
            res.provider.CopyFrom(provider)
        out.append(res)
    return analyzer_pb2.AnalyzeStackRequest(resources=out)


def configure_request(rules: Sequence[Rule], per_policy: Mapping[str, Mapping[str, Any]]
                      ) -> analyzer_pb2.ConfigureAnalyzerRequest:
    """Like the CLI: every policy gets its level (default or configured) and its properties."""
    req = analyzer_pb2.ConfigureAnalyzerRequest()
    for rule in rules:
        entry = dict(per_policy.get(rule.id, {}))
        level = entry.pop("enforcementLevel", rule.enforcement)
        cfg = analyzer_pb2.PolicyConfig(enforcementLevel=LEVEL_VALUES[level])
        if entry:
            cfg.properties.CopyFrom(struct(entry))
        req.policyConfig[rule.id].CopyFrom(cfg)
    return req


def _message(diag: Any) -> str:
    text: str = diag.message
    prefix = diag.description + "\n"
    return text[len(prefix):] if text.startswith(prefix) else text


class _Context:
    """The part of a gRPC servicer context the generated base servicer uses."""

    code: Any = None
    details: str = ""

    def set_code(self, code: Any) -> None:
        self.code = code

    def set_details(self, details: str) -> None:
        self.details = details


def evaluate_with_servicer(plan: PlanLike, resources: Sequence[Any],
                           per_policy: Mapping[str, Mapping[str, Any]],
                           rules: Sequence[Rule]) -> list[Diagnostic]:
    """An ``evaluator`` for :func:`run_check`: the CLI's sequence against the pack's servicer
    (GetAnalyzerInfo, Configure, ConfigureStack, Analyze per resource, AnalyzeStack), its
    diagnostics as :class:`policies.evaluate.Diagnostic`."""
    by_urn = {field_of(r, "urn"): r for r in resources}
    meta = {r.id: r for r in rules}
    servicer = new_servicer()
    servicer.GetAnalyzerInfo(None, None)
    servicer.Configure(configure_request(rules, per_policy), None)
    context = _Context()
    try:
        servicer.ConfigureStack(analyzer_pb2.AnalyzerStackConfigureRequest(
            stack=plan.environment, project="trellis", organization=plan.org, dry_run=True),
            context)
    except NotImplementedError:
        # pulumi_policy before 1.19 has no ConfigureStack; the CLI carries on, so do we.
        if context.code != grpc.StatusCode.UNIMPLEMENTED:
            raise
    raw: list[tuple[Any, str]] = []
    for r in resources:
        response = servicer.Analyze(analyze_request(r, by_urn), None)
        raw.extend((d, field_of(r, "urn")) for d in response.diagnostics)
    response = servicer.AnalyzeStack(stack_request(resources, by_urn), None)
    raw.extend((d, "") for d in response.diagnostics)
    out = []
    for diag, default_urn in raw:
        rule = meta.get(diag.policyName)
        out.append(Diagnostic(
            policy=diag.policyName, urn=diag.urn or default_urn, message=_message(diag),
            enforcement=LEVEL_NAMES.get(diag.enforcementLevel, "mandatory"),
            severity=SEVERITY_NAMES.get(diag.severity, rule.severity if rule else "high")))
    return out


def run_check_via_servicer(plan: PlanLike, *, config: Mapping[str, Any] | None = None,
                           waivers: Sequence[Waiver] | None = None) -> CheckReport:
    """:func:`run_check` with the rules run by the CrossGuard servicer (several times slower)."""
    return run_check(plan, config=config, waivers=waivers, evaluator=evaluate_with_servicer)
