"""What ``trellis check`` found: a :class:`Finding` per rule x resource, in a :class:`CheckReport`.

The model shared by the evaluation (:mod:`stacks.report.check`), which fills it, and the
renderers (:mod:`stacks.report.formats`), which write it; it knows neither of them. A finding
carries the rule's metadata and the waiver that covers it, if any.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from policies.registry import SEVERITIES, Rule
from stacks.report.origins import Location
from stacks.report.waivers import Waiver


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
    environment: str = ""
    #: Where in org.yaml (or the program file) the resource came from, or the field to fix.
    location: Location | None = None
    fix_field: str = ""  # the org.yaml field that fixes it (dotted path), "" if none
    fix_advice: str = ""

    @property
    def fix_hint(self) -> str:
        """``fix in org.yaml: teams.recsys.gpu_pools.train.max_nodes: lower it ...``."""
        if not self.fix_field:
            return ""
        return f"fix in org.yaml: {self.fix_field}: {self.fix_advice}"

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
        out["environment"] = self.environment or None
        out["location"] = self.location.to_json() if self.location is not None else None
        out["fix"] = ({"field": self.fix_field, "advice": self.fix_advice}
                      if self.fix_field else None)
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
