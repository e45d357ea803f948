"""Every finding on a Trellis-made resource is fixable from org.yaml, and says which field.

stacks/report/fixes.py splits the pack: a rule either has an org.yaml field that decides it
(FIXES) or cannot fire on a resource planned from a valid org (CANNOT_FIRE, with the reason).
"""

from __future__ import annotations

from typing import Any

from ci_reports import LOOSE_ORG, plans, reports

from policies.registry import all_rules
from stacks.org.load import load
from stacks.org.model import json_schema
from stacks.org.resolve import resolve
from stacks.report.fixes import CANNOT_FIRE, FIXES, fill
from stacks.report.origins import Origins, origin_paths
from tests.conftest import ALL_ORGS

PLACEHOLDER = {"{team}": "recsys", "{pool}": "train", "{bucket}": "models",
               "{pipeline}": "nightly", "{env}": "dev"}


def _resolve(schema: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while True:
        if "$ref" in node:
            node = schema["$defs"][node["$ref"].rsplit("/", 1)[-1]]
        elif "anyOf" in node:
            node = next((n for n in node["anyOf"] if n.get("type") != "null"), node["anyOf"][0])
        else:
            return node


def _in_schema(path: tuple[str, ...]) -> bool:
    schema = json_schema()
    node: dict[str, Any] = schema
    for part in path:
        node = _resolve(schema, node)
        if part in node.get("properties", {}):
            node = node["properties"][part]
        elif isinstance(node.get("additionalProperties"), dict):
            node = node["additionalProperties"]
        else:
            return False
    return True


def test_every_rule_is_fixable_in_org_yaml_or_cannot_fire() -> None:
    ids = {r.id for r in all_rules()}
    assert not set(FIXES) & set(CANNOT_FIRE), set(FIXES) & set(CANNOT_FIRE)
    missing = ids - set(FIXES) - set(CANNOT_FIRE)
    assert not missing, f"rules with neither an org.yaml field nor a reason: {sorted(missing)}"
    unknown = (set(FIXES) | set(CANNOT_FIRE)) - ids
    assert not unknown, f"table names rules the pack does not have: {sorted(unknown)}"


def test_every_fix_field_exists_in_org_yaml() -> None:
    for rule_id, fix in FIXES.items():
        for template in fix.fields:
            path = fill(template, {k.strip("{}"): v for k, v in PLACEHOLDER.items()})
            assert path is not None and _in_schema(tuple(map(str, path))), (
                f"{rule_id}: {'.'.join(template)} is not a field of org.yaml (schema)")


def test_rules_that_cannot_fire_do_not_fire_on_any_shipped_org(tmp_path) -> None:
    loose = tmp_path / "org.yaml"
    loose.write_text(LOOSE_ORG, encoding="utf-8")
    fired = {}
    for org in [*ALL_ORGS, loose]:
        for report in reports(org):
            for f in report.findings:
                fired.setdefault(f.policy, f"{org.name} {report.environment} {f.logical_path}")
                assert f.fix_field, (
                    f"{org.name} {report.environment}: {f.policy} on {f.logical_path} fired "
                    "on a Trellis-made resource with no org.yaml field to fix it")
                assert f.fix_hint.startswith(f"fix in org.yaml: {f.fix_field}: ")
    wrong = {r: where for r, where in fired.items() if r in CANNOT_FIRE}
    assert not wrong, f"rules listed as unable to fire did fire: {wrong}"


def test_never_made_types_are_never_planned() -> None:
    planned = {r.type for org in ALL_ORGS for p in plans(org) for r in p.resources}
    never = [r for r in all_rules() if CANNOT_FIRE.get(r.id, "").startswith("Trellis never")]
    for rule in never:
        made = planned & set(rule.resource_types)
        assert not made, f"{rule.id} is listed as judging types Trellis never makes: {made}"


def test_resources_not_made_from_org_yaml_point_at_the_program_file() -> None:
    """A platform team's own resource beside the components: program file, no org.yaml fix."""
    org = ALL_ORGS[0]
    loaded = load(org)
    spec = resolve(loaded, "dev")
    stack = "urn:pulumi:dev::trellis::pulumi:pulumi:Stack::trellis-dev"
    own = {"urn": "urn:pulumi:dev::trellis::acme:data:Lake::recsys", "type": "acme:data:Lake",
           "name": "recsys", "parent": stack}
    child = {"urn": "urn:pulumi:dev::trellis::acme:data:Lake$gcp:storage/bucket:Bucket::lake",
             "type": "gcp:storage/bucket:Bucket", "name": "lake", "parent": own["urn"]}
    pool = {"urn": "urn:pulumi:dev::trellis::trellis:gcp:GpuNodePool::recsys-train",
            "type": "trellis:gcp:GpuNodePool", "name": "recsys-train", "parent": stack}
    resources = [{"urn": stack, "type": "pulumi:pulumi:Stack", "name": "trellis-dev",
                  "parent": None}, own, child, pool]
    paths = origin_paths(resources, spec)
    assert paths[child["urn"]] is None, "a team-named component of another package is not ours"
    assert paths[pool["urn"]] == ("teams", "recsys", "gpu_pools", "train")
    place = Origins.of(resources, spec, loaded.source, org).place("TRL-GCS-004", child["urn"])
    assert place.location.path.endswith("stacks/compose/gcp.py") and not place.fix_field


def test_every_planned_resource_knows_its_org_yaml_origin() -> None:
    """Every resource of every shipped plan comes from an org.yaml path, located at its key."""
    from stacks.report.origins import Locator

    for org in ALL_ORGS:
        loaded = load(org)
        lines = org.read_text(encoding="utf-8").splitlines()
        for env, plan in zip(loaded.environments, plans(org), strict=True):
            spec = resolve(loaded, env)
            paths = origin_paths(plan.resources, spec)
            lost = [r.urn for r in plan.resources if paths[r.urn] is None]
            assert not lost, f"{org.name} {env}: no org.yaml origin for {lost[:3]}"
            locator = Locator(loaded.source, org, env)
            for urn, path in paths.items():
                assert path is not None
                loc = locator.locate(path)
                text = lines[loc.line - 1][loc.column - 1:]
                assert text.startswith(tuple(f"{k}:" for k in map(str, path))), (
                    f"{org.name}:{loc.line}:{loc.column} is not {'.'.join(map(str, path))} "
                    f"(origin of {urn})")
