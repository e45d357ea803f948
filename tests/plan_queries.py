"""Queries over a plan shared by the per-cloud tests, with messages that name the resource."""

from __future__ import annotations

from stacks.plan.engine import Plan, PlannedResource


def one(plan: Plan, type_: str, name: str) -> PlannedResource:
    found = [r for r in plan.resources if r.type == type_ and r.name == name]
    names = sorted(r.name for r in plan.of_type(type_))
    assert len(found) == 1, f"expected one {type_} named {name!r}; have {names}"
    return found[0]


def named(plan: Plan, type_: str) -> dict[str, PlannedResource]:
    return {r.name: r for r in plan.of_type(type_)}
