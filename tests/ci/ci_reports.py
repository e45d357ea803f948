"""Check reports of every bundled and example org, every environment, built once per session."""

from __future__ import annotations

import functools
from pathlib import Path

from stacks.org.load import load
from stacks.org.resolve import resolve
from stacks.plan.engine import Plan, plan
from stacks.report.check import run_check
from stacks.report.findings import CheckReport
from stacks.report.origins import Origins

#: A sandbox org that breaks what org.yaml can break: a budget far below the worst case
#: (TRL-COST-001), no customer-managed keys (TRL-REG-003), a warm GPU minimum (TRL-GPU-003).
LOOSE_ORG = """\
version: 1
org: loose
cloud: gcp
region: us-central1
platform: {gke_security_group: gke-security-groups@loose.com}
environments:
  dev: {project: loose-ml-dev}
  qa: {project: loose-ml-qa}
teams:
  recsys:
    members: [group:recsys@loose.com]
    budget_usd: 100
    gpu_pools:
      serve: {accelerator: l4, min_nodes: 1, max_nodes: 3}
    buckets:
      models: {}
    overrides:
      qa: {gpu_pools: {serve: {max_nodes: 2}}}
"""


@functools.cache
def plans(org: Path) -> tuple[Plan, ...]:
    """The plan of every environment of ``org``."""
    loaded = load(org)
    return tuple(plan(resolve(loaded, env)) for env in loaded.environments)


@functools.cache
def reports(org: Path) -> tuple[CheckReport, ...]:
    """One report per environment of ``org``, located in it (what `--env all` checks)."""
    loaded = load(org)
    out = []
    for env, result in zip(loaded.environments, plans(org), strict=True):
        spec = resolve(loaded, env)
        budgets = {t.name: t.budget_usd for t in spec.teams.values()
                   if t.budget_usd is not None}
        out.append(run_check(result, config={"budgets": budgets},
                             origins=Origins.of(result.resources, spec, loaded.source, org)))
    return tuple(out)
