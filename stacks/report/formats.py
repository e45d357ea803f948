"""``trellis check`` output formats: text for people, JSON, SARIF 2.1.0 and JUnit XML for machines.

Pure writers of a :class:`~stacks.report.findings.CheckReport`; the JSON contract itself is
:meth:`CheckReport.to_json`. SARIF results are located by URN and logical path (there is no
source file: the org file's lines are not known per resource), waived findings carry a SARIF
suppression, and JUnit has one test case per rule x resource with findings and one per clean
rule.
"""

from __future__ import annotations

import datetime as dt
import json
import xml.etree.ElementTree as ET
from typing import IO, Any

from policies.pack import PACK_NAME
from stacks.report.findings import CheckReport, Finding

FORMATS = ("text", "json", "sarif", "junit")


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
