"""GitHub code scanning's documented requirements on an uploaded SARIF file, as a checker.

The SARIF 2.1.0 schema accepts files GitHub rejects or shows badly (a result with only a
logical location: "expected a physical location"). These are the rules GitHub documents on
top of the schema, from github/docs at commit 0c5268cc
(content/code-security/reference/code-scanning/sarif-files/sarif-support-for-code-scanning.md,
"Supported properties" and "File compatibility"; the limits table of
troubleshoot-sarif-uploads/results-exceed-limit.md) and its changelog of 2024-05-06 ("code
scanning will stop combining runs from a single upload": one run per tool and category).

:func:`problems` returns every broken requirement as a sentence naming the run, rule or result;
an empty list means GitHub accepts the file and can show every result at its line.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

#: Hard limits: GitHub rejects the whole file past any of them.
MAX_RUNS = 20
MAX_RESULTS_PER_RUN = 25_000
MAX_RULES_PER_RUN = 25_000
MAX_LOCATIONS_PER_RESULT = 1_000
MAX_TAGS_PER_RULE = 20
#: Field limits GitHub documents on rules.
MAX_NAME = 255
MAX_DESCRIPTION = 1024
#: Only the first location of a result is used; GitHub asks for at most 10.
DOCUMENTED_LOCATIONS = 10
LEVELS = {"none", "note", "warning", "error"}
PRECISIONS = {"very-high", "high", "medium", "low"}
PROBLEM_SEVERITIES = {"error", "warning", "recommendation"}


def _text(obj: Any, key: str) -> str:
    value = (obj or {}).get(key) or {}
    return value.get("text", "") if isinstance(value, dict) else ""


def _category(run: dict[str, Any]) -> str:
    """``automationDetails.id`` up to its last ``/`` (the run id after it is not used)."""
    ident = (run.get("automationDetails") or {}).get("id", "")
    return ident.rsplit("/", 1)[0] if "/" in ident else ""


def problems(sarif: dict[str, Any], *, repo_root: Path | None = None) -> list[str]:
    """Every GitHub requirement ``sarif`` breaks; with ``repo_root``, also every result whose
    file is not in the repository (GitHub could not show it at a line)."""
    out: list[str] = []
    if not str(sarif.get("$schema", "")).startswith("https://"):
        out.append("$schema is required: the URI of the SARIF 2.1.0 schema")
    if sarif.get("version") != "2.1.0":
        out.append(f"version must be 2.1.0, got {sarif.get('version')!r}")
    runs = sarif.get("runs")
    if not isinstance(runs, list) or not runs:
        return [*out, "runs[] is required and must hold at least one run"]
    if len(runs) > MAX_RUNS:
        out.append(f"{len(runs)} runs; GitHub rejects more than {MAX_RUNS} per file")
    keys = Counter(((r.get("tool") or {}).get("driver", {}).get("name"), _category(r))
                   for r in runs)
    for (tool, category), n in keys.items():
        if n > 1:
            out.append(f"{n} runs of tool {tool!r} with category {category!r}: GitHub no "
                       "longer combines runs of one tool and category from one upload")
    for i, run in enumerate(runs):
        out.extend(_run_problems(i, run, repo_root))
    return out


def _run_problems(i: int, run: dict[str, Any], repo_root: Path | None) -> list[str]:
    out: list[str] = []
    driver = (run.get("tool") or {}).get("driver") or {}
    where = f"run {i}"
    if not driver.get("name"):
        out.append(f"{where}: tool.driver.name is required")
    if not (driver.get("semanticVersion") or driver.get("version")):
        out.append(f"{where}: tool.driver has no version (GitHub tracks tool changes by it)")
    rules = driver.get("rules")
    if not isinstance(rules, list):
        return [*out, f"{where}: tool.driver.rules[] is required"]
    if len(rules) > MAX_RULES_PER_RUN:
        out.append(f"{where}: {len(rules)} rules; the limit is {MAX_RULES_PER_RUN}")
    ids = [r.get("id") for r in rules]
    for rule in rules:
        out.extend(_rule_problems(f"{where} rule {rule.get('id')!r}", rule))
    dupes = [rid for rid, n in Counter(ids).items() if n > 1]
    if dupes:
        out.append(f"{where}: rule ids not unique: {dupes}")
    results = run.get("results")
    if not isinstance(results, list):
        return [*out, f"{where}: results[] is required (it may be empty)"]
    if len(results) > MAX_RESULTS_PER_RUN:
        out.append(f"{where}: {len(results)} results; the limit is {MAX_RESULTS_PER_RUN}")
    bases = set((run.get("originalUriBaseIds") or {}).keys())
    identities: Counter[tuple[str, str, str]] = Counter()
    for j, result in enumerate(results):
        problems_, identity = _result_problems(f"{where} result {j} ({result.get('ruleId')})",
                                               result, ids, bases, repo_root)
        out.extend(problems_)
        if identity is not None:
            identities[identity] += 1
    for identity, n in identities.items():
        if n > 1:
            out.append(f"{where}: {n} results share rule, file and fingerprint {identity}: "
                       "GitHub would show them as one alert")
    return out


def _rule_problems(where: str, rule: dict[str, Any]) -> list[str]:
    out: list[str] = []
    if not rule.get("id"):
        out.append(f"{where}: id is required")
    if len(rule.get("name", "")) > MAX_NAME:
        out.append(f"{where}: name longer than {MAX_NAME} characters")
    for key in ("shortDescription", "fullDescription"):
        text = _text(rule, key)
        if not text:
            out.append(f"{where}: {key}.text is required (not empty)")
        elif len(text) > MAX_DESCRIPTION:
            out.append(f"{where}: {key}.text longer than {MAX_DESCRIPTION} characters")
    if not _text(rule, "help"):
        out.append(f"{where}: help.text is required (not empty)")
    level = (rule.get("defaultConfiguration") or {}).get("level", "warning")
    if level not in {"note", "warning", "error"}:
        out.append(f"{where}: defaultConfiguration.level {level!r} is not note/warning/error")
    props = rule.get("properties") or {}
    tags = props.get("tags", [])
    if len(tags) > MAX_TAGS_PER_RULE or not all(isinstance(t, str) for t in tags):
        out.append(f"{where}: tags must be at most {MAX_TAGS_PER_RULE} strings")
    if "precision" in props and props["precision"] not in PRECISIONS:
        out.append(f"{where}: precision {props['precision']!r} not in {sorted(PRECISIONS)}")
    if "problem.severity" in props and props["problem.severity"] not in PROBLEM_SEVERITIES:
        out.append(f"{where}: problem.severity {props['problem.severity']!r} not allowed")
    if "security-severity" in props:
        score = props["security-severity"]
        try:
            ok = isinstance(score, str) and 0.0 < float(score) <= 10.0
        except ValueError:
            ok = False
        if not ok:
            out.append(f"{where}: security-severity must be a string score in (0.0, 10.0], "
                       f"got {score!r}")
        if "security" not in tags:
            out.append(f"{where}: security-severity on a rule not tagged security")
    return out


def _result_problems(where: str, result: dict[str, Any], rule_ids: list[Any],
                     bases: set[str], repo_root: Path | None,
                     ) -> tuple[list[str], tuple[str, str, str] | None]:
    out: list[str] = []
    rule_id = result.get("ruleId")
    if rule_id not in rule_ids:
        out.append(f"{where}: ruleId {rule_id!r} is not among the run's rules")
    elif "ruleIndex" in result and rule_ids[result["ruleIndex"]] != rule_id:
        out.append(f"{where}: ruleIndex {result['ruleIndex']} points at another rule")
    if result.get("level", "warning") not in LEVELS:
        out.append(f"{where}: level {result.get('level')!r} not in {sorted(LEVELS)}")
    if not _text(result, "message"):
        out.append(f"{where}: message.text is required (not empty)")
    locations = result.get("locations") or []
    if not locations:
        return [*out, f"{where}: locations[] is required: at least one physical location"], None
    if len(locations) > DOCUMENTED_LOCATIONS:
        out.append(f"{where}: {len(locations)} locations; GitHub uses the first of at most "
                   f"{DOCUMENTED_LOCATIONS} (rejects past {MAX_LOCATIONS_PER_RESULT})")
    physical = locations[0].get("physicalLocation")
    if not physical:
        return [*out, f"{where}: expected a physical location in locations[0]"], None
    artifact = physical.get("artifactLocation") or {}
    uri = artifact.get("uri", "")
    if not uri:
        out.append(f"{where}: physicalLocation.artifactLocation.uri is required")
    elif "://" in uri or uri.startswith("/"):
        out.append(f"{where}: uri {uri!r} must be relative to the repository root")
    base = artifact.get("uriBaseId")
    if base is not None and base not in bases:
        out.append(f"{where}: uriBaseId {base!r} is not declared in originalUriBaseIds")
    region = physical.get("region") or {}
    start_line, start_col = region.get("startLine"), region.get("startColumn")
    end_line, end_col = region.get("endLine", start_line), region.get("endColumn")
    if not isinstance(start_line, int) or start_line < 1:
        out.append(f"{where}: region.startLine is required (a line number from 1)")
    if not isinstance(start_col, int) or start_col < 1:
        out.append(f"{where}: region.startColumn is required (a column from 1)")
    if isinstance(start_line, int) and (not isinstance(end_line, int) or end_line < start_line):
        out.append(f"{where}: region.endLine must not come before startLine")
    if (isinstance(start_col, int) and end_line == start_line
            and (not isinstance(end_col, int) or end_col <= start_col)):
        out.append(f"{where}: region.endColumn must follow startColumn on one line")
    if repo_root is not None and uri and not (repo_root / uri).is_file():
        out.append(f"{where}: {uri} is not a file of the repository {repo_root}")
    hashes = result.get("partialFingerprints") or {}
    line_hash = hashes.get("primaryLocationLineHash")
    if not isinstance(line_hash, str) or not line_hash:
        out.append(f"{where}: partialFingerprints.primaryLocationLineHash is required (the "
                   "only fingerprint GitHub uses)")
        return out, None
    return out, (str(rule_id), uri, line_hash)
