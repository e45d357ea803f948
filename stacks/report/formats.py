"""``trellis check`` output formats: text for people, JSON, SARIF 2.1.0 and JUnit XML for machines.

Pure writers of one :class:`~stacks.report.findings.CheckReport` per environment (``--env all``
writes several as one report); the JSON contract itself is :meth:`CheckReport.to_json`. Every
finding points at org.yaml (``file:line:column`` and the org path, :mod:`stacks.report.origins`)
or, for a resource not made from org.yaml, at the program file.

SARIF follows GitHub code scanning's documented subset (docs/adr/0034): one run for the tool,
whatever the number of environments (GitHub stopped combining several runs of one tool and
category in one upload), every result with a physical location relative to the repository root
(``%SRCROOT%``), a region, the environment in its properties and message, and a
``partialFingerprints.primaryLocationLineHash`` made of the rule, environment and resource (not
the line, so an alert keeps its identity when org.yaml is edited above it); rules with the full
description, help, ``helpUri`` into docs/policies.md and ``security-severity`` for security
rules. Waived findings carry a SARIF suppression. JUnit has one test suite per environment, one
test case per rule x resource with findings and one per clean rule.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

from policies.pack import PACK_NAME
from policies.registry import Rule
from stacks.report.findings import CheckReport, Finding
from stacks.report.width import wrap_words

FORMATS = ("text", "json", "sarif", "junit")

Reports = CheckReport | Sequence[CheckReport]


def _many(reports: Reports) -> list[CheckReport]:
    return [reports] if isinstance(reports, CheckReport) else list(reports)


def render(reports: Reports, fmt: str, out: IO[str], *, fail_on: str = "low",
           width: int | None = None) -> None:
    """Write ``reports`` (one per environment) to ``out`` as text, json, sarif or junit."""
    items = _many(reports)
    if fmt == "json":
        json.dump(to_json(items, fail_on), out, indent=2)
        out.write("\n")
    elif fmt == "sarif":
        json.dump(to_sarif(items), out, indent=2)
        out.write("\n")
    elif fmt == "junit":
        out.write(to_junit(items, fail_on))
    elif fmt == "text":
        for i, report in enumerate(items):
            if i:
                out.write("\n")
            render_text(report, out, fail_on=fail_on, width=width)
        if len(items) > 1:
            failed = [r.environment for r in items if r.exit_code(fail_on)]
            out.write(f"\n{'FAIL' if failed else 'PASS'} {len(items)} environments"
                      + (f", failing: {', '.join(failed)}" if failed else "") + "\n")
    else:
        raise ValueError(f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}")


def to_json(reports: Reports, fail_on: str = "low") -> dict[str, Any]:
    """One environment: :meth:`CheckReport.to_json`. Several: the same keys over all of them
    (``violations`` with their ``environment``, ``summary`` added up, ``passed`` only when
    every environment passes) plus ``environments``, each environment's own report."""
    items = _many(reports)
    if len(items) == 1:
        return items[0].to_json(fail_on)
    per_env = [r.to_json(fail_on) for r in items]
    summaries = [d["summary"] for d in per_env]
    summary: dict[str, Any] = {}
    for key, value in summaries[0].items():
        if isinstance(value, bool):
            summary[key] = all(s[key] for s in summaries)
        elif isinstance(value, int) and key not in {"rules"}:
            summary[key] = sum(s[key] for s in summaries)
        elif isinstance(value, dict):
            summary[key] = {k: sum(s[key][k] for s in summaries) for k in value}
        else:
            summary[key] = value
    summary["rules"] = max(s["rules"] for s in summaries)
    summary["failing_environments"] = [r.environment for r in items if r.exit_code(fail_on)]
    return {
        "plan": {"org": items[0].org, "cloud": items[0].cloud, "environment": "all",
                 "environments": [r.environment for r in items], "tier": None},
        "violations": [v for d in per_env for v in d["violations"]],
        "summary": summary,
        "unmatched_waivers": [w for d in per_env for w in d["unmatched_waivers"]],
        "environments": per_env,
    }


_STYLE = {"critical": "bold red", "high": "red", "medium": "yellow", "low": "cyan"}


def render_text(report: CheckReport, out: IO[str], *, fail_on: str = "low",
                width: int | None = None) -> None:
    """Findings grouped by rule, for people; colour only when ``out`` is a terminal.

    Lines wrap at spaces to the console's width (``COLUMNS`` when piped); a word longer than
    a line (a URN, a path) is never cut in the middle."""
    from rich.console import Console
    from rich.markup import escape
    from rich.text import Text

    console = Console(file=out, highlight=False, width=width)

    def say(markup: str = "", indent: int = 0, hang: int | None = None) -> None:
        text = Text(" " * indent) + Text.from_markup(markup)
        for line in wrap_words(text, console.width, indent if hang is None else hang):
            console.print(line, overflow="ignore", crop=False, soft_wrap=True)

    head = (f"trellis check: {report.org} / {report.environment} ({report.cloud}, "
            f"{report.tier}) - {report.resources} resources, "
            f"{report.summary(fail_on)['rules']} rules")
    say(escape(head))
    by_rule: dict[str, list[Finding]] = {}
    for f in report.findings:
        by_rule.setdefault(f.policy, []).append(f)
    for rule_id, items in by_rule.items():
        first = items[0]
        style = _STYLE.get(first.severity, "")
        console.print()
        say(f"[{style}]{escape(rule_id)}[/] {escape(first.title)} "
            f"[dim]({first.severity}, {first.enforcement})[/]")
        for f in items:
            where = f.logical_path or f.urn or "(stack)"
            at = f"{f.location.text()} " if f.location is not None else ""
            tag = " [green]\\[waived][/]" if f.waived else ""
            say(f"- {escape(at)}{escape(where)}{tag}: {escape(f.message)}", indent=2, hang=4)
            if f.fix_hint:
                say(f"[bold]{escape(f.fix_hint)}[/]", indent=4, hang=6)
            if f.waiver is not None:
                say(f"[dim]waived until {f.waiver.expires.isoformat()} by "
                    f"{escape(f.waiver.owner or 'unknown')}: "
                    f"{escape(f.waiver.reason)}[/]", indent=4)
        say(f"[dim]fix: {escape(first.remediation)}[/]", indent=2, hang=4)
    s = report.summary(fail_on)
    console.print()
    verdict = "[bold green]PASS[/]" if s["passed"] else "[bold red]FAIL[/]"
    say(f"{verdict} {s['failing']} failing (mandatory, severity >= {fail_on}), "
        f"{s['mandatory']} mandatory, {s['advisory']} advisory, "
        f"{s['waived']} waived")


def _sarif_level(f: Finding) -> str:
    return "error" if f.enforcement == "mandatory" else "warning"


#: Rules about cost and hygiene rather than security: no ``security-severity`` (GitHub
#: treats a rule with one as a security rule), ``problem.severity`` instead.
NOT_SECURITY = frozenset({"TRL-COST-001", "TRL-GPU-002", "TRL-GPU-003", "TRL-GPU-009",
                          "TRL-GCS-005", "TRL-S3-007", "TRL-REG-005"})
#: GitHub maps a score over 9.0 to critical, 7.0-8.9 high, 4.0-6.9 medium, 0.1-3.9 low.
SECURITY_SEVERITY = {"critical": "9.5", "high": "8.0", "medium": "5.5", "low": "3.0"}
#: GitHub's limit on ``shortDescription``/``fullDescription`` text.
DESCRIPTION_LIMIT = 1024
TOOL_NAME = "trellis-check"


def tool_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("trellis-ml")
    except PackageNotFoundError:  # pragma: no cover - running from a bare checkout
        return "0.0.0"


def policy_docs_url() -> str | None:
    """Where docs/policies.md of the running Trellis can be read, for ``helpUri``.

    ``TRELLIS_DOCS_URL`` when set; for a ``pip install git+https://...`` the page at the
    installed commit; for a checkout (editable or source install) its ``file:`` URI; else
    None (the rule's ``help`` still carries the remediation)."""
    if os.environ.get("TRELLIS_DOCS_URL"):
        return os.environ["TRELLIS_DOCS_URL"]
    from importlib.metadata import PackageNotFoundError, distribution

    try:
        direct = distribution("trellis-ml").read_text("direct_url.json")
    except PackageNotFoundError:  # pragma: no cover
        direct = None
    info = json.loads(direct) if direct else {}
    url = str(info.get("url", ""))
    commit = info.get("vcs_info", {}).get("commit_id")
    if commit and url.startswith("https://"):
        return f"{url.removesuffix('.git')}/blob/{commit}/docs/policies.md"
    here = Path(__file__).resolve().parents[2] / "docs" / "policies.md"
    if here.is_file():
        return here.as_uri()
    return None


def _clip(text: str, limit: int = DESCRIPTION_LIMIT) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def sarif_rule(rule: Rule, level: str, docs: str | None) -> dict[str, Any]:
    """A ``reportingDescriptor`` with what GitHub shows: descriptions, help, tags, severity."""
    security = rule.id not in NOT_SECURITY
    tags = list(dict.fromkeys(["trellis", rule.area.lower(), rule.severity,
                               "security" if security else "cost"]))
    props: dict[str, Any] = {
        "severity": rule.severity, "enforcement": level, "kind": rule.kind,
        "resourceTypes": list(rule.resource_types), "equivalents": rule.equivalents.as_dict(),
        "tags": tags, "precision": "very-high"}
    if security:
        props["security-severity"] = SECURITY_SEVERITY[rule.severity]
    else:
        props["problem.severity"] = "error" if level == "mandatory" else "warning"
    out: dict[str, Any] = {
        "id": rule.id, "name": rule.title.title().replace(" ", "").replace("-", "")[:255],
        "shortDescription": {"text": _clip(rule.title)},
        "fullDescription": {"text": _clip(rule.description or rule.title)},
        "help": {"text": rule.remediation or rule.description,
                 "markdown": f"**{rule.id}: {rule.title}**\n\n{rule.description}\n\n"
                             f"Fix: {rule.remediation}"},
        "defaultConfiguration": {"level": "error" if level == "mandatory" else "warning"},
        "properties": props,
    }
    if docs:
        out["helpUri"] = f"{docs}#{rule.id.lower()}"
    return out


def fingerprint(f: Finding) -> str:
    """Stable identity of a finding across runs: rule, environment and resource (URN, else
    the org path), never the line (org.yaml edits above it must not make a new alert)."""
    what = f.urn or (f.location.org_path if f.location else "") or f.logical_path
    digest = hashlib.sha256(f"{f.policy}\0{f.environment}\0{what}".encode()).hexdigest()
    return f"{digest[:16]}:1"


def _region(f: Finding) -> dict[str, int]:
    line = f.location.line if f.location else 1
    column = f.location.column if f.location else 1
    length = f.location.length if f.location else 1
    return {"startLine": line, "startColumn": column, "endLine": line,
            "endColumn": column + length}


def sarif_result(f: Finding, index: dict[str, int], *, several: bool) -> dict[str, Any]:
    logical = [{"fullyQualifiedName": f.urn or f"{f.environment} (stack)",
                "name": f.resource_name or f.environment or "stack",
                "kind": "resource" if f.urn else "module"}]
    if f.logical_path:
        logical.append({"fullyQualifiedName": f.logical_path, "kind": "module"})
    where = f.logical_path or f.urn or "stack"
    text = f"{f.message} ({where}"
    text += f" in {f.environment})" if f.environment else ")"
    if f.fix_hint:
        text += f". {f.fix_hint[0].upper()}{f.fix_hint[1:]}."
    uri = f.location.path if f.location else "stacks/__main__.py"
    physical: dict[str, Any] = {"artifactLocation": {"uri": uri}, "region": _region(f)}
    if not uri.startswith("/"):
        physical["artifactLocation"]["uriBaseId"] = "%SRCROOT%"
    result: dict[str, Any] = {
        "ruleId": f.policy, "level": _sarif_level(f), "message": {"text": text},
        "locations": [{"physicalLocation": physical, "logicalLocations": logical}],
        "partialFingerprints": {"primaryLocationLineHash": fingerprint(f)},
        "properties": {"severity": f.severity, "enforcement": f.enforcement,
                       "resourceType": f.resource_type, "environment": f.environment,
                       "orgPath": f.location.org_path if f.location else "",
                       "fixField": f.fix_field},
    }
    if several:
        result["properties"]["tags"] = [f.environment]
    if f.policy in index:
        result["ruleIndex"] = index[f.policy]
    if f.waiver is not None:
        result["suppressions"] = [{
            "kind": "external", "status": "accepted", "justification": f.waiver.reason,
            "properties": {"owner": f.waiver.owner, "expires": f.waiver.expires.isoformat(),
                           "file": f.waiver.file, "line": f.waiver.line},
        }]
    return result


def to_sarif(reports: Reports) -> dict[str, Any]:
    """SARIF 2.1.0 as GitHub code scanning accepts it: one run, every environment in it."""
    items = _many(reports)
    first = items[0]
    levels: dict[str, str] = {}
    for r in items:  # a rule is mandatory in the run when it is in any environment
        for rid, level in r.levels.items():
            if level == "disabled" or levels.get(rid) == "mandatory":
                levels.setdefault(rid, level)
                continue
            levels[rid] = level
    rules = [r for r in first.rules if levels.get(r.id, "disabled") != "disabled"]
    index = {r.id: i for i, r in enumerate(rules)}
    docs = policy_docs_url()
    envs = [r.environment for r in items]
    several = len(items) > 1
    category = f"trellis-check/{first.org}/{'all' if several else first.environment}/"
    return {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": TOOL_NAME, "semanticVersion": tool_version(),
                **({"informationUri": docs} if docs else {}),
                "rules": [sarif_rule(r, levels[r.id], docs) for r in rules]}},
            "automationDetails": {"id": category},
            "originalUriBaseIds": {"%SRCROOT%": {"description": {
                "text": "The root of the repository holding the org file."}}},
            "results": [sarif_result(f, index, several=several)
                        for r in items for f in r.findings],
            "properties": {"pack": PACK_NAME, "org": first.org, "cloud": first.cloud,
                           "environment": "all" if several else first.environment,
                           "environments": envs,
                           "tiers": {r.environment: r.tier for r in items},
                           "tier": first.tier if not several else None},
        }],
    }


def to_junit(reports: Reports, fail_on: str = "low") -> str:
    """JUnit XML: a test suite per environment; in it one test case per rule x resource with
    findings (``file`` and ``line`` of its org.yaml origin) and one per clean rule."""
    items = _many(reports)
    root = ET.Element("testsuites", name="trellis-check")
    total_tests = total_failures = 0
    for report in items:
        suite, tests, failures = _junit_suite(report, fail_on)
        root.append(suite)
        total_tests += tests
        total_failures += failures
    root.set("tests", str(total_tests))
    root.set("failures", str(total_failures))
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def _junit_suite(report: CheckReport, fail_on: str) -> tuple[ET.Element, int, int]:
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
            loc = group[0].location
            attrs = {"file": loc.path, "line": str(loc.line)} if loc is not None else {}
            case = ET.SubElement(suite, "testcase", classname=rule.id,
                                 name=group[0].logical_path or urn or "(stack)")
            for key, value in attrs.items():
                case.set(key, value)
            text = "\n".join(f.message for f in group)
            where = f"\nat: {loc.text()} ({loc.org_path or 'program'})" if loc else ""
            hint = f"\n{group[0].fix_hint}" if group[0].fix_hint else ""
            if any(f.fails(fail_on) for f in group):
                failures += 1
                fail = ET.SubElement(case, "failure", message=group[0].message,
                                     type=f"{rule.severity}/{group[0].enforcement}")
                fail.text = (f"{text}{where}{hint}\n\nurn: {urn}\n"
                             f"fix: {rule.remediation}")
            elif all(f.waived for f in group):
                skipped += 1
                ET.SubElement(case, "skipped", message="waived: " + "; ".join(
                    sorted({f.waiver.reason for f in group if f.waiver is not None})))
            else:
                out = ET.SubElement(case, "system-out")
                out.text = f"{group[0].enforcement} ({rule.severity}): {text}{where}{hint}"
    suite.set("tests", str(tests))
    suite.set("failures", str(failures))
    suite.set("errors", "0")
    suite.set("skipped", str(skipped))
    return suite, tests, failures
