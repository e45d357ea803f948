"""``trellis check``: evaluate the policy pack on an offline plan, as the Pulumi CLI would.

By default the rules run through :func:`policies.evaluate.evaluate`: every resource converted
once into what a rule sees after the Analyzer wire (numbers as doubles, secrets unwrapped,
unknowns marked), resource rules on the types they declare, stack rules on one shared stack.
``run_check(..., analyzer=True)`` instead builds the ``AnalyzeRequest`` / ``AnalyzeStackRequest``
protobufs (properties as ``google.protobuf.Struct``, options, parent, dependencies, property
dependencies) and drives the pack's own Analyzer servicer (:func:`policies.pack.new_servicer`)
through ``Configure`` -> ``Analyze`` per resource -> ``AnalyzeStack``, the sequence
``pulumi preview --policy-pack policies`` drives over gRPC; the tests hold both paths to the
same findings (ADR 8). The diagnostics become :class:`Finding` objects, waivers are applied,
and :func:`render` writes text, JSON, SARIF 2.1.0 or JUnit XML.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import IO, Any, Protocol

from google.protobuf import struct_pb2
from pulumi.runtime.proto import analyzer_pb2

from policies.evaluate import Diagnostic, Record, evaluate
from policies.pack import PACK_NAME, new_servicer
from policies.registry import SEVERITIES, Rule, all_rules, config_keys, tier_levels
from policies.settings import expand
from stacks.report.waivers import Waiver

FORMATS = ("text", "json", "sarif", "junit")
_LEVEL_NAMES = {analyzer_pb2.ADVISORY: "advisory", analyzer_pb2.MANDATORY: "mandatory",
                analyzer_pb2.DISABLED: "disabled", analyzer_pb2.REMEDIATE: "remediate"}
_LEVEL_VALUES = {v: k for k, v in _LEVEL_NAMES.items()}
_SEVERITY_NAMES = {analyzer_pb2.POLICY_SEVERITY_LOW: "low",
                   analyzer_pb2.POLICY_SEVERITY_MEDIUM: "medium",
                   analyzer_pb2.POLICY_SEVERITY_HIGH: "high",
                   analyzer_pb2.POLICY_SEVERITY_CRITICAL: "critical"}


class PlanLike(Protocol):
    """What :func:`run_check` needs of :class:`stacks.plan.engine.Plan`."""

    org: str
    cloud: str
    environment: str
    tier: str

    @property
    def resources(self) -> Sequence[Any]: ...  # read-only: a list of any resource type fits


def _field(obj: Any, name: str, default: Any = None) -> Any:
    """Attribute or key: plans are engine dataclasses, test fixtures may be plain dicts."""
    if isinstance(obj, Mapping):
        return obj.get(name, default)
    return getattr(obj, name, default)


@dataclass(frozen=True)
class Finding:
    """One violation of one rule by one resource (or by the stack when ``urn`` is empty)."""

    policy: str
    title: str
    severity: str
    enforcement: str
    urn: str
    message: str
    description: str
    remediation: str
    resource_type: str = ""
    resource_name: str = ""
    logical_path: str = ""
    waiver: Waiver | None = None

    @property
    def waived(self) -> bool:
        return self.waiver is not None

    def fails(self, fail_on: str) -> bool:
        """Unwaived, mandatory and at least as severe as ``fail_on``."""
        return (not self.waived and self.enforcement == "mandatory"
                and SEVERITIES.index(self.severity) >= SEVERITIES.index(fail_on))

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "policy": self.policy, "severity": self.severity, "enforcement": self.enforcement,
            "urn": self.urn, "message": self.message, "waived": self.waived,
            "title": self.title, "remediation": self.remediation,
            "resource_type": self.resource_type or None,
            "logical_path": self.logical_path or None,
        }
        if self.waiver is not None:
            out["reason"] = self.waiver.reason
            out["waiver"] = self.waiver.to_json()
        return out


@dataclass
class CheckReport:
    """Everything ``trellis check`` found on one plan."""

    org: str
    cloud: str
    environment: str
    tier: str
    findings: list[Finding]
    rules: list[Rule]
    levels: dict[str, str]  # rule ID -> effective enforcement level
    resources: int
    unmatched_waivers: list[Waiver] = field(default_factory=list)

    def failing(self, fail_on: str = "low") -> list[Finding]:
        return [f for f in self.findings if f.fails(fail_on)]

    def exit_code(self, fail_on: str = "low") -> int:
        return 1 if self.failing(fail_on) else 0

    def summary(self, fail_on: str = "low") -> dict[str, Any]:
        active = [f for f in self.findings if not f.waived]
        return {
            "violations": len(self.findings),
            "mandatory": sum(f.enforcement == "mandatory" for f in active),
            "advisory": sum(f.enforcement == "advisory" for f in active),
            "waived": sum(f.waived for f in self.findings),
            "failing": len(self.failing(fail_on)),
            "by_severity": {s: sum(f.severity == s for f in active) for s in SEVERITIES},
            "rules": len([r for r in self.rules if self.levels.get(r.id) != "disabled"]),
            "resources": self.resources,
            "fail_on": fail_on,
            "passed": not self.failing(fail_on),
            "unmatched_waivers": len(self.unmatched_waivers),
        }

    def to_json(self, fail_on: str = "low") -> dict[str, Any]:
        return {
            "plan": {"org": self.org, "cloud": self.cloud, "environment": self.environment,
                     "tier": self.tier},
            "violations": [f.to_json() for f in self.findings],
            "summary": self.summary(fail_on),
            "unmatched_waivers": [w.to_json() for w in self.unmatched_waivers],
        }


# ---------------------------------------------------------------------------------------------
# Plan -> Analyzer protobufs
# ---------------------------------------------------------------------------------------------

def _struct(values: Mapping[str, Any]) -> struct_pb2.Struct:
    s = struct_pb2.Struct()
    s.update(dict(values))  # numbers become doubles, as over the wire
    return s


def _options(r: Any) -> analyzer_pb2.AnalyzerResourceOptions:
    dbr = _field(r, "delete_before_replace")
    return analyzer_pb2.AnalyzerResourceOptions(
        protect=bool(_field(r, "protect", False)),
        ignoreChanges=list(_field(r, "ignore_changes") or []),
        deleteBeforeReplace=bool(dbr), deleteBeforeReplaceDefined=dbr is not None,
        aliases=list(_field(r, "aliases") or []),
        parent=_field(r, "parent") or "")


def _provider(r: Any, by_urn: Mapping[str, Any]) -> analyzer_pb2.AnalyzerProviderResource | None:
    # A provider reference is "<provider urn>::<provider id>"; a URN has exactly three "::".
    ref = str(_field(r, "provider") or "")
    urn = ref.rsplit("::", 1)[0] if ref.count("::") >= 4 else ref
    if not urn.startswith("urn:pulumi:") or urn.count("::") != 3:
        return None
    prov = by_urn.get(urn)
    return analyzer_pb2.AnalyzerProviderResource(
        type=urn.split("::")[2].split("$")[-1],
        properties=_struct(_field(prov, "inputs") or {}) if prov is not None else None,
        urn=urn, name=urn.rsplit("::", 1)[-1])


def analyze_request(r: Any, by_urn: Mapping[str, Any]) -> analyzer_pb2.AnalyzeRequest:
    """What the engine sends before registering ``r``: its inputs."""
    req = analyzer_pb2.AnalyzeRequest(
        type=_field(r, "type"), properties=_struct(_field(r, "inputs") or {}),
        urn=_field(r, "urn"), name=_field(r, "name"), options=_options(r))
    provider = _provider(r, by_urn)
    if provider is not None:
        req.provider.CopyFrom(provider)
    return req


def stack_request(resources: Sequence[Any], by_urn: Mapping[str, Any]
                  ) -> analyzer_pb2.AnalyzeStackRequest:
    """What the engine sends after the update: every resource's state (inputs + outputs)."""
    out = []
    for r in resources:
        props = {**(_field(r, "inputs") or {}), **(_field(r, "outputs") or {})}
        res = analyzer_pb2.AnalyzerResource(
            type=_field(r, "type"), properties=_struct(props), urn=_field(r, "urn"),
            name=_field(r, "name"), options=_options(r), parent=_field(r, "parent") or "",
            dependencies=list(_field(r, "dependencies") or []))
        for key, urns in (_field(r, "property_dependencies") or {}).items():
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
        cfg = analyzer_pb2.PolicyConfig(enforcementLevel=_LEVEL_VALUES[level])
        if entry:
            cfg.properties.CopyFrom(_struct(entry))
        req.policyConfig[rule.id].CopyFrom(cfg)
    return req


# ---------------------------------------------------------------------------------------------
# Running the pack
# ---------------------------------------------------------------------------------------------

def logical_paths(resources: Sequence[Any]) -> dict[str, str]:
    """URN -> ``/``-joined logical names from the outermost component down to the resource."""
    by_urn = {_field(r, "urn"): r for r in resources}
    out: dict[str, str] = {}
    for r in resources:
        names = [str(_field(r, "name"))]
        seen = {_field(r, "urn")}
        parent = _field(r, "parent")
        while parent and parent in by_urn and parent not in seen:
            seen.add(parent)
            names.append(str(_field(by_urn[parent], "name")))
            parent = _field(by_urn[parent], "parent")
        out[_field(r, "urn")] = "/".join(reversed(names))
    return out


def _message(diag: Any) -> str:
    text: str = diag.message
    prefix = diag.description + "\n"
    return text[len(prefix):] if text.startswith(prefix) else text


def run_check(plan: PlanLike, *, config: Mapping[str, Any] | None = None,
              waivers: Sequence[Waiver] | None = None, analyzer: bool = False) -> CheckReport:
    """Evaluate the pack on ``plan``; apply ``waivers``.

    ``config`` takes pack-wide settings (``tier``, ``allowedAccelerators``, ...), per-rule
    entries keyed by rule ID (``{"TRL-GPU-001": "disabled"}``) and ``all``; the plan's tier is
    the default ``tier``. Raises ValueError for a bad config. ``analyzer``: drive the pack's
    CrossGuard Analyzer servicer with protobuf requests, as ``pulumi preview --policy-pack``
    does, instead of :func:`policies.evaluate.evaluate` (same findings, several times slower;
    ADR 8).
    """
    rules = all_rules()
    meta = {r.id: r for r in rules}
    merged = {"tier": plan.tier, **dict(config or {})}
    per_policy = expand(merged, config_keys(), tier_levels=tier_levels())
    levels = {r.id: str(per_policy.get(r.id, {}).get("enforcementLevel", r.enforcement))
              for r in rules}

    resources = list(plan.resources)
    by_urn = {_field(r, "urn"): r for r in resources}
    paths = logical_paths(resources)
    diags = (_analyze(plan, resources, by_urn, rules, per_policy) if analyzer
             else evaluate([_record(r) for r in resources], per_policy, rules))

    findings: list[Finding] = []
    seen: set[tuple[str, str, str]] = set()
    for diag in diags:
        if (diag.policy, diag.urn, diag.message) in seen:
            continue
        seen.add((diag.policy, diag.urn, diag.message))
        rule = meta.get(diag.policy)
        res = by_urn.get(diag.urn)
        findings.append(Finding(
            policy=diag.policy, title=rule.title if rule else diag.policy,
            severity=diag.severity, enforcement=diag.enforcement,
            urn=diag.urn, message=diag.message,
            description=rule.description if rule else "",
            remediation=rule.remediation if rule else "",
            resource_type=str(_field(res, "type", "")) if res is not None else "",
            resource_name=str(_field(res, "name", "")) if res is not None else "",
            logical_path=paths.get(diag.urn, "")))

    used: set[int] = set()
    final: list[Finding] = []
    for f in findings:
        for i, w in enumerate(waivers or ()):
            if w.matches(f.policy, f.urn, f.logical_path):
                used.add(i)
                f = dataclasses.replace(f, waiver=w)
                break
        final.append(f)
    order = {r.id: i for i, r in enumerate(rules)}
    final.sort(key=lambda f: (order.get(f.policy, 999), f.urn, f.message))
    return CheckReport(
        org=plan.org, cloud=plan.cloud, environment=plan.environment, tier=plan.tier,
        findings=final, rules=rules, levels=levels, resources=len(resources),
        unmatched_waivers=[w for i, w in enumerate(waivers or ()) if i not in used])


def _record(r: Any) -> Record:
    return Record(
        type=_field(r, "type"), urn=_field(r, "urn"), name=_field(r, "name"),
        inputs=_field(r, "inputs") or {}, outputs=_field(r, "outputs") or {},
        protect=bool(_field(r, "protect", False)), parent=_field(r, "parent") or "",
        dependencies=tuple(_field(r, "dependencies") or ()),
        property_dependencies=_field(r, "property_dependencies") or {})


def _analyze(plan: PlanLike, resources: Sequence[Any], by_urn: Mapping[str, Any],
             rules: Sequence[Rule], per_policy: Mapping[str, Mapping[str, Any]]
             ) -> list[Diagnostic]:
    """The CLI's sequence against the pack's own servicer: Configure, Analyze per resource,
    AnalyzeStack; its diagnostics as :class:`policies.evaluate.Diagnostic`."""
    meta = {r.id: r for r in rules}
    servicer = new_servicer()
    servicer.GetAnalyzerInfo(None, None)
    servicer.Configure(configure_request(rules, per_policy), None)
    servicer.ConfigureStack(analyzer_pb2.AnalyzerStackConfigureRequest(
        stack=plan.environment, project="trellis", organization=plan.org, dry_run=True), None)
    raw: list[tuple[Any, str]] = []
    for r in resources:
        response = servicer.Analyze(analyze_request(r, by_urn), None)
        raw.extend((d, _field(r, "urn")) for d in response.diagnostics)
    response = servicer.AnalyzeStack(stack_request(resources, by_urn), None)
    raw.extend((d, "") for d in response.diagnostics)
    out = []
    for diag, default_urn in raw:
        rule = meta.get(diag.policyName)
        out.append(Diagnostic(
            policy=diag.policyName, urn=diag.urn or default_urn, message=_message(diag),
            enforcement=_LEVEL_NAMES.get(diag.enforcementLevel, "mandatory"),
            severity=_SEVERITY_NAMES.get(diag.severity, rule.severity if rule else "high")))
    return out


# ---------------------------------------------------------------------------------------------
# Output formats
# ---------------------------------------------------------------------------------------------

def render(report: CheckReport, fmt: str, out: IO[str], *, fail_on: str = "low") -> None:
    """Write ``report`` to ``out`` as text, json, sarif or junit."""
    if fmt == "json":
        json.dump(report.to_json(fail_on), out, indent=2)
        out.write("\n")
    elif fmt == "sarif":
        json.dump(to_sarif(report), out, indent=2)
        out.write("\n")
    elif fmt == "junit":
        out.write(to_junit(report, fail_on))
    elif fmt == "text":
        render_text(report, out, fail_on=fail_on)
    else:
        raise ValueError(f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}")


_STYLE = {"critical": "bold red", "high": "red", "medium": "yellow", "low": "cyan"}


def render_text(report: CheckReport, out: IO[str], *, fail_on: str = "low") -> None:
    """Findings grouped by rule, for people; colour only when ``out`` is a terminal."""
    from rich.console import Console
    from rich.markup import escape

    console = Console(file=out, highlight=False, soft_wrap=True)
    head = (f"trellis check: {report.org} / {report.environment} ({report.cloud}, "
            f"{report.tier}) - {report.resources} resources, "
            f"{report.summary(fail_on)['rules']} rules")
    console.print(escape(head))
    by_rule: dict[str, list[Finding]] = {}
    for f in report.findings:
        by_rule.setdefault(f.policy, []).append(f)
    for rule_id, items in by_rule.items():
        first = items[0]
        style = _STYLE.get(first.severity, "")
        console.print()
        console.print(f"[{style}]{escape(rule_id)}[/] {escape(first.title)} "
                      f"[dim]({first.severity}, {first.enforcement})[/]")
        for f in items:
            where = f.logical_path or f.urn or "(stack)"
            tag = " [green]\\[waived][/]" if f.waived else ""
            console.print(f"  - {escape(where)}{tag}: {escape(f.message)}")
            if f.waiver is not None:
                console.print(f"    [dim]waived until {f.waiver.expires.isoformat()} by "
                              f"{escape(f.waiver.owner or 'unknown')}: "
                              f"{escape(f.waiver.reason)}[/]")
        console.print(f"  [dim]fix: {escape(first.remediation)}[/]")
    s = report.summary(fail_on)
    console.print()
    verdict = "[bold green]PASS[/]" if s["passed"] else "[bold red]FAIL[/]"
    console.print(f"{verdict} {s['failing']} failing (mandatory, severity >= {fail_on}), "
                  f"{s['mandatory']} mandatory, {s['advisory']} advisory, "
                  f"{s['waived']} waived")


def _sarif_level(f: Finding) -> str:
    return "error" if f.enforcement == "mandatory" else "warning"


def to_sarif(report: CheckReport) -> dict[str, Any]:
    """SARIF 2.1.0: rules with their metadata, results located by URN and logical path."""
    rules = [r for r in report.rules if report.levels.get(r.id) != "disabled"]
    index = {r.id: i for i, r in enumerate(rules)}
    driver_rules = [{
        "id": r.id, "name": r.title.title().replace(" ", "").replace("-", ""),
        "shortDescription": {"text": r.title},
        "fullDescription": {"text": r.description},
        "help": {"text": r.remediation, "markdown": r.remediation},
        "defaultConfiguration": {
            "level": "error" if report.levels.get(r.id, r.enforcement) == "mandatory"
            else "warning"},
        "properties": {"severity": r.severity, "enforcement": report.levels.get(r.id),
                       "kind": r.kind, "resourceTypes": list(r.resource_types),
                       "equivalents": r.equivalents.as_dict(),
                       "tags": ["trellis", r.area.lower(), r.severity]},
    } for r in rules]
    results = []
    for f in report.findings:
        logical = [{"fullyQualifiedName": f.urn or f"{report.environment} (stack)",
                    "name": f.resource_name or report.environment,
                    "kind": "resource" if f.urn else "module"}]
        if f.logical_path:
            logical.append({"fullyQualifiedName": f.logical_path, "kind": "module"})
        result: dict[str, Any] = {
            "ruleId": f.policy, "level": _sarif_level(f), "message": {"text": f.message},
            "locations": [{"logicalLocations": logical}],
            "properties": {"severity": f.severity, "enforcement": f.enforcement,
                           "resourceType": f.resource_type},
        }
        if f.policy in index:
            result["ruleIndex"] = index[f.policy]
        if f.waiver is not None:
            result["suppressions"] = [{
                "kind": "external", "status": "accepted", "justification": f.waiver.reason,
                "properties": {"owner": f.waiver.owner, "expires": f.waiver.expires.isoformat(),
                               "file": f.waiver.file, "line": f.waiver.line},
            }]
        results.append(result)
    return {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": "trellis-check", "semanticVersion": "0.1.0",
                                "rules": driver_rules}},
            "automationDetails": {"id": f"trellis-check/{report.org}/{report.environment}/"},
            "results": results,
            "properties": {"pack": PACK_NAME, "org": report.org, "cloud": report.cloud,
                           "environment": report.environment, "tier": report.tier},
        }],
    }


def to_junit(report: CheckReport, fail_on: str = "low") -> str:
    """JUnit XML: one testcase per rule x resource with findings, one per clean rule."""
    suite = ET.Element("testsuite", name=f"trellis-check.{report.org}.{report.environment}",
                       timestamp=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"))
    tests = failures = skipped = 0
    by_rule: dict[str, list[Finding]] = {}
    for f in report.findings:
        by_rule.setdefault(f.policy, []).append(f)
    for rule in report.rules:
        if report.levels.get(rule.id) == "disabled":
            continue
        items = by_rule.get(rule.id, [])
        if not items:
            tests += 1
            ET.SubElement(suite, "testcase", classname=rule.id, name=f"{rule.title}: no findings")
            continue
        by_res: dict[str, list[Finding]] = {}
        for f in items:
            by_res.setdefault(f.urn, []).append(f)
        for urn, group in by_res.items():
            tests += 1
            case = ET.SubElement(suite, "testcase", classname=rule.id,
                                 name=group[0].logical_path or urn or "(stack)")
            text = "\n".join(f.message for f in group)
            if any(f.fails(fail_on) for f in group):
                failures += 1
                fail = ET.SubElement(case, "failure", message=group[0].message,
                                     type=f"{rule.severity}/{group[0].enforcement}")
                fail.text = f"{text}\n\nurn: {urn}\nfix: {rule.remediation}"
            elif all(f.waived for f in group):
                skipped += 1
                ET.SubElement(case, "skipped", message="waived: " + "; ".join(
                    sorted({f.waiver.reason for f in group if f.waiver is not None})))
            else:
                out = ET.SubElement(case, "system-out")
                out.text = f"{group[0].enforcement} ({rule.severity}): {text}"
    suite.set("tests", str(tests))
    suite.set("failures", str(failures))
    suite.set("errors", "0")
    suite.set("skipped", str(skipped))
    root = ET.Element("testsuites", name="trellis-check", tests=str(tests),
                      failures=str(failures))
    root.append(suite)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
