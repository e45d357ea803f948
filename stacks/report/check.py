"""``trellis check``: evaluate the policy pack on an offline plan, as the Pulumi CLI would.

:func:`run_check` expands the pack configuration (pack-wide settings fanned out to the rules
that read them, the plan's tier as the default ``tier``), evaluates every enabled rule with
:func:`policies.evaluate.evaluate` (every resource converted once into what a rule sees after
the Analyzer wire: numbers as doubles, secrets unwrapped, unknowns marked; resource rules on
the types they declare, stack rules on one shared stack), turns the diagnostics into
:class:`~stacks.report.findings.Finding` objects located by logical path, and applies the
waivers. :mod:`stacks.report.formats` writes the report.

``pulumi preview --policy-pack policies`` runs the same rules through the pack's CrossGuard
Analyzer servicer instead; ``tests/policies/analyzer_path.py`` drives that servicer in-process
through this very function (``evaluator=``) and the tests require the same findings both ways
(ADR 8). Production code never touches the servicer, which is private to ``pulumi_policy``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

from policies.evaluate import Diagnostic, Record, evaluate
from policies.registry import Rule, all_rules, config_keys, tier_levels
from policies.settings import expand
from stacks.report.findings import CheckReport, Finding
from stacks.report.origins import Origins
from stacks.report.waivers import Waiver


class PlanLike(Protocol):
    """What :func:`run_check` needs of :class:`stacks.plan.engine.Plan`."""

    org: str
    cloud: str
    environment: str
    tier: str

    @property
    def resources(self) -> Sequence[Any]: ...  # read-only: a list of any resource type fits


#: ``(plan, resources, per-rule config, rules) -> diagnostics``: how the rules are run.
#: ``per-rule config`` is what :func:`policies.settings.expand` returns.
Evaluator = Callable[[PlanLike, Sequence[Any], Mapping[str, Mapping[str, Any]], Sequence[Rule]],
                     list[Diagnostic]]


def field_of(obj: Any, name: str, default: Any = None) -> Any:
    """Attribute or key: plans are engine dataclasses, test fixtures may be plain dicts."""
    if isinstance(obj, Mapping):
        return obj.get(name, default)
    return getattr(obj, name, default)


def logical_paths(resources: Sequence[Any]) -> dict[str, str]:
    """URN -> ``/``-joined logical names from the outermost component down to the resource."""
    by_urn = {field_of(r, "urn"): r for r in resources}
    out: dict[str, str] = {}
    for r in resources:
        names = [str(field_of(r, "name"))]
        seen = {field_of(r, "urn")}
        parent = field_of(r, "parent")
        while parent and parent in by_urn and parent not in seen:
            seen.add(parent)
            names.append(str(field_of(by_urn[parent], "name")))
            parent = field_of(by_urn[parent], "parent")
        out[field_of(r, "urn")] = "/".join(reversed(names))
    return out


def record(r: Any) -> Record:
    """A planned resource (engine dataclass or fixture dict) as the evaluator takes it."""
    return Record(
        type=field_of(r, "type"), urn=field_of(r, "urn"), name=field_of(r, "name"),
        inputs=field_of(r, "inputs") or {}, outputs=field_of(r, "outputs") or {},
        protect=bool(field_of(r, "protect", False)), parent=field_of(r, "parent") or "",
        dependencies=tuple(field_of(r, "dependencies") or ()),
        property_dependencies=field_of(r, "property_dependencies") or {})


def evaluate_direct(plan: PlanLike, resources: Sequence[Any],
                    per_policy: Mapping[str, Mapping[str, Any]],
                    rules: Sequence[Rule]) -> list[Diagnostic]:
    """The default :data:`Evaluator`: :func:`policies.evaluate.evaluate` on the plan's records."""
    return evaluate([record(r) for r in resources], per_policy, rules)


def _placed(where: Origins, rule_id: str, urn: str) -> dict[str, Any]:
    place = where.place(rule_id, urn)
    return {"location": place.location, "fix_field": place.fix_field,
            "fix_advice": place.fix_advice}


def run_check(plan: PlanLike, *, config: Mapping[str, Any] | None = None,
              waivers: Sequence[Waiver] | None = None,
              evaluator: Evaluator = evaluate_direct,
              origins: Origins | None = None) -> CheckReport:
    """Evaluate the pack on ``plan``; apply ``waivers``.

    ``config`` takes pack-wide settings (``tier``, ``allowedAccelerators``, ...), per-rule
    entries keyed by rule ID (``{"TRL-GPU-001": "disabled"}``) and ``all``; the plan's tier is
    the default ``tier``. Raises ValueError for a bad config. ``evaluator`` runs the rules
    (default :func:`evaluate_direct`); the tests pass one that drives the CrossGuard servicer.
    ``origins`` locates each finding in org.yaml (:meth:`Origins.of`); without it every
    finding points at the program file that composes the plan's cloud.
    """
    rules = all_rules()
    meta = {r.id: r for r in rules}
    merged = {"tier": plan.tier, **dict(config or {})}
    per_policy = expand(merged, config_keys(), tier_levels=tier_levels())
    levels = {r.id: str(per_policy.get(r.id, {}).get("enforcementLevel", r.enforcement))
              for r in rules}

    resources = list(plan.resources)
    by_urn = {field_of(r, "urn"): r for r in resources}
    paths = logical_paths(resources)
    diags = evaluator(plan, resources, per_policy, rules)
    where = origins or Origins.program_only(plan.cloud, plan.environment)

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
            resource_type=str(field_of(res, "type", "")) if res is not None else "",
            resource_name=str(field_of(res, "name", "")) if res is not None else "",
            logical_path=paths.get(diag.urn, ""), environment=plan.environment,
            **_placed(where, diag.policy, diag.urn)))

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
