"""The preflight report: one row per pool and check, with a verdict and the exact next step.

Verdicts:

* ``ok``: the check passed; the pool can get this at its maximum.
* ``short``: it cannot, with how far short (``short by 8 GPUs``) where that is a number, and the
  next step with the numbers filled in (the quota request, the reservation to create).
* ``unknown``: the cloud did not say (an API error, a permission preflight itself lacks).
* ``skipped``: not checked in this run (``--quotas`` reads saved quota output only).

The exit status is 0 when every row is ``ok`` or ``skipped``, 1 otherwise.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from stacks.org.spec import EnvSpec

VERDICTS = ("ok", "short", "unknown", "skipped")
ENVIRONMENT = "environment"
"""The subject of rows about the whole environment (permissions, APIs, Kubernetes)."""
_RANK = {"ok": 0, "skipped": 1, "unknown": 2, "short": 3}


@dataclass(frozen=True)
class Row:
    """One check of one pool (or of the environment)."""

    subject: str  # "recsys/train", or ENVIRONMENT
    check: str  # "quota NVIDIA_H100_GPUS (us-central1)", "zones", "reservation r", ...
    verdict: str  # one of VERDICTS
    detail: str  # what was found, in numbers
    next_step: str = ""  # the exact command or request, when not ok
    short_by: int | None = None  # how much is missing, in `unit`
    unit: str = ""  # "GPUs", "vCPUs", "VMs", "zones", "permissions"

    def __post_init__(self) -> None:
        if self.verdict not in VERDICTS:
            raise ValueError(f"verdict {self.verdict!r} is not one of {VERDICTS}")

    @property
    def verdict_text(self) -> str:
        if self.verdict == "short" and self.short_by is not None:
            return f"short by {self.short_by:g} {self.unit}".rstrip()
        return self.verdict

    def to_json(self) -> dict[str, Any]:
        return {"subject": self.subject, "check": self.check, "verdict": self.verdict,
                "verdict_text": self.verdict_text, "short_by": self.short_by,
                "unit": self.unit or None, "detail": self.detail,
                "next_step": self.next_step or None}


@dataclass
class Report:
    """Every row of one environment's preflight."""

    org: str
    cloud: str
    environment: str
    region: str
    target: str  # "project acme-ml-prod" / "account 111111111111"
    source: str  # "cloud APIs as ..." / "saved output: files"
    pools: tuple[str, ...]  # every pool subject, in order
    rows: list[Row] = field(default_factory=list)

    @classmethod
    def of(cls, env: EnvSpec, pools: tuple[str, ...], source: str) -> Report:
        """An empty report of ``env`` over ``pools`` (pool subjects, in plan order)."""
        target = f"project {env.project}" if env.cloud == "gcp" else f"account {env.account}"
        return cls(org=env.org, cloud=env.cloud, environment=env.name, region=env.region,
                   target=target, source=source, pools=pools)

    def ordered(self) -> Report:
        """Rows by pool (in plan order), environment rows last."""
        order = {p: i for i, p in enumerate(self.pools)}
        self.rows.sort(key=lambda r: order.get(r.subject, len(order)))
        return self

    def pool_verdict(self, subject: str) -> str:
        """The worst verdict of the pool's rows (ok when it has none)."""
        verdicts = [r.verdict for r in self.rows if r.subject == subject]
        return max(verdicts, key=_RANK.__getitem__, default="ok")

    @property
    def failing(self) -> list[Row]:
        return [r for r in self.rows if r.verdict in ("short", "unknown")]

    @property
    def exit_code(self) -> int:
        return 1 if self.failing else 0

    def summary(self) -> str:
        verdicts = [self.pool_verdict(p) for p in self.pools]
        starting = verdicts.count("ok")
        text = (f"{starting} of {len(self.pools)} GPU pool"
                f"{'s' if len(self.pools) != 1 else ''} can start at max_nodes")
        for verdict, words in (("short", "short"), ("unknown", "unknown"),
                               ("skipped", "not fully checked")):
            if verdicts.count(verdict):
                text += f", {verdicts.count(verdict)} {words}"
        env_bad = [r for r in self.failing if r.subject == ENVIRONMENT]
        if env_bad:
            text += (f"; {len(env_bad)} environment check{'s' if len(env_bad) != 1 else ''} "
                     "would stop `pulumi up`")
        skipped = sum(r.verdict == "skipped" for r in self.rows)
        if skipped:
            text += f"; {skipped} check{'s' if skipped != 1 else ''} skipped"
        return text

    def to_json(self) -> dict[str, Any]:
        """The ``trellis preflight --format json`` contract (docs/capacity.md)."""
        return {
            "org": self.org, "cloud": self.cloud, "environment": self.environment,
            "region": self.region, "target": self.target, "source": self.source,
            "pools": {p: self.pool_verdict(p) for p in self.pools},
            "rows": [r.to_json() for r in self.rows],
            "summary": self.summary(), "exit_code": self.exit_code,
        }


def render(report: Report, console: Any) -> None:
    """The report for people: one line per pool and check (pool, check, verdict), the detail
    and the next step indented under it, so long commands stay whole to copy."""
    from rich.text import Text

    styles = {"ok": "green", "short": "bold red", "unknown": "yellow", "skipped": "dim"}
    console.print(Text(f"trellis preflight: {report.org} / {report.environment} "
                       f"({report.cloud}, {report.target}, {report.region})", style="bold"))
    console.print(Text(f"checked with {report.source}", style="dim"))
    width = max((len(r.subject) for r in report.rows), default=0)
    checks = max((len(r.check) for r in report.rows), default=0)
    for row in report.rows:
        console.print()
        line = Text(f"{row.subject:<{width}}  {row.check:<{checks}}  ")
        line.append(row.verdict_text, style=styles[row.verdict])
        console.print(line, soft_wrap=True)
        for part in textwrap.wrap(row.detail, width=max(40, console.width - 4),
                                  break_on_hyphens=False):
            console.print(Text("    " + part), soft_wrap=True)
        if row.next_step:  # one line, never wrapped: it is copied into a shell or a form
            console.print(Text("    → " + row.next_step, style="bold"), soft_wrap=True)
    console.print()
    style = "green" if report.exit_code == 0 else "bold red"
    console.print(Text(f"{report.summary()} (exit {report.exit_code})", style=style))
