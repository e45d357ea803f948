"""The unconfigured pack reads a Trellis stack's tier from its labels; other stacks stay strict.

``pulumi preview --policy-pack policies`` without ``--policy-pack-config`` configures every
policy with its default level and the defaults of its config schema (pulumi/pulumi
``pkg/resource/analyzer/config.go``, ``createConfigWithDefaults``). :func:`cli_config` builds
exactly that, and the last test drives the pack as a separate process over the Analyzer gRPC
protocol, as the CLI does, on Trellis dev plans.
"""

from __future__ import annotations

import json
import subprocess
from typing import Any

import grpc
import pytest
from analyzer_path import analyze_request, stack_request
from google.protobuf import empty_pb2, json_format
from policy_fixtures import S, mod, res
from pulumi.runtime.proto import analyzer_pb2, analyzer_pb2_grpc
from test_pack_process import ROOT, _start, engine  # noqa: F401 - `engine` is a fixture
from test_rules import GCS, GOOD_GCS, s3_group

from policies.evaluate import Diagnostic, Record, evaluate
from policies.registry import all_rules
from policies.settings import schema_for
from stacks.org.load import load
from stacks.org.resolve import resolve
from stacks.plan.engine import plan
from stacks.report.check import run_check

PRODUCTION_ONLY = {"TRL-PUL-001", "TRL-GCS-004", "TRL-S3-006", "TRL-REG-001"}
TRELLIS = {"managed-by": "trellis"}


def cli_config() -> dict[str, dict[str, Any]]:
    """What the Pulumi CLI sends when no config file is given: levels plus schema defaults."""
    out: dict[str, dict[str, Any]] = {}
    for rule in all_rules():
        defaults = {k: v["default"] for k, v in schema_for(rule.config).items() if "default" in v}
        out[rule.id] = {"enforcementLevel": rule.enforcement, **defaults}
    return out


def unconfigured(*resources: dict[str, Any]) -> list[Diagnostic]:
    stack = S(*resources).plan()
    return evaluate([Record(type=r["type"], urn=r["urn"], name=r["name"], inputs=r["inputs"],
                            outputs=r["outputs"], protect=r["protect"], parent=r["parent"] or "",
                            dependencies=tuple(r["dependencies"]),
                            property_dependencies=r["property_dependencies"])
                     for r in stack.resources], cli_config())


def policies(diags: list[Diagnostic]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for d in diags:
        out.setdefault(d.policy, []).append(d.message)
    return out


def scratch(labels: dict[str, str], name: str = "scratch") -> dict[str, Any]:
    """An unprotected, unversioned non-model bucket: fine in a sandbox, not in production."""
    inputs = mod(GOOD_GCS, {"name": f"acme-dev-recsys-{name}", "versioning": {"enabled": False},
                            "labels": labels})
    return res(GCS, name, inputs)


def test_the_tier_setting_has_no_schema_default_for_the_cli_to_inject() -> None:
    schemas = [schema_for(r.config)["tier"] for r in all_rules() if "tier" in r.config]
    assert schemas, "some rules read the tier"
    assert all("default" not in s for s in schemas), (
        "a schema default makes the Pulumi CLI send tier=production to every policy, so the "
        "pack could never read the tier from the stack")


def test_a_sandbox_labelled_trellis_resource_is_held_to_sandbox_rules() -> None:
    found = policies(unconfigured(scratch({**TRELLIS, "trellis-tier": "sandbox"})))
    assert not PRODUCTION_ONLY & set(found), (
        f"bucket 'scratch' labelled trellis-tier=sandbox got production findings: {found}")


def test_a_resource_without_trellis_labels_is_held_to_production() -> None:
    found = policies(unconfigured(scratch({"team": "recsys"})))
    assert {"TRL-PUL-001", "TRL-GCS-004"} <= set(found), f"bucket 'scratch': {found}"
    assert all("no `tier` in the policy config" in m for m in found["TRL-PUL-001"]), (
        f"TRL-PUL-001 should say why it used production: {found['TRL-PUL-001']}")


def test_the_tier_label_counts_only_beside_managed_by_trellis() -> None:
    found = policies(unconfigured(scratch({"trellis-tier": "sandbox", "managed-by": "ci"})))
    assert "TRL-PUL-001" in found, f"bucket 'scratch' relaxed by a label anyone can set: {found}"
    found = policies(unconfigured(scratch({**TRELLIS, "trellis-tier": "gold"})))
    assert "TRL-PUL-001" in found, f"bucket 'scratch' with an unknown tier value: {found}"


def test_a_production_label_keeps_production_rules() -> None:
    found = policies(unconfigured(scratch({**TRELLIS, "trellis-tier": "production"})))
    assert "TRL-PUL-001" in found, f"bucket 'scratch' labelled production: {found}"
    assert "from the resource's `trellis-tier` label" in found["TRL-PUL-001"][0]


def test_the_config_tier_wins_and_check_reports_the_same_words_as_before() -> None:
    labelled = scratch({**TRELLIS, "trellis-tier": "sandbox"})
    report = run_check(S(labelled).plan(), config={"tier": "production"})
    messages = [f.message for f in report.findings if f.policy == "TRL-PUL-001"]
    assert messages == ["protect is not set: one `pulumi destroy` or a rename deletes it and its "
                        "data"], f"bucket 'scratch' under an explicit production tier: {messages}"


def _tagged_s3(name: str, tier: str) -> list[dict[str, Any]]:
    group = s3_group(name, skip=("versioning",))
    group[0]["inputs"]["tags"] = {**TRELLIS, "trellis-tier": tier}
    return group


def test_stack_rules_use_production_when_the_stack_labels_disagree() -> None:
    agreeing = policies(unconfigured(*_tagged_s3("a", "sandbox"), *_tagged_s3("b", "sandbox")))
    assert "TRL-S3-006" not in agreeing, f"sandbox S3 buckets held to production: {agreeing}"
    mixed = policies(unconfigured(*_tagged_s3("a", "sandbox"), *_tagged_s3("b", "production")))
    assert len(mixed.get("TRL-S3-006", [])) == 2, (
        f"TRL-S3-006 must hold both buckets to production when labels disagree: {mixed}")
    assert all("disagree" in m for m in mixed["TRL-S3-006"])


# --- the pack as the CLI runs it --------------------------------------------------------------

def _configure_like_the_cli(stub: analyzer_pb2_grpc.AnalyzerStub) -> None:
    info = stub.GetAnalyzerInfo(empty_pb2.Empty(), timeout=60)
    request = analyzer_pb2.ConfigureAnalyzerRequest()
    for policy in info.policies:
        config = analyzer_pb2.PolicyConfig(enforcementLevel=policy.enforcementLevel)
        schema = json_format.MessageToDict(policy.configSchema.properties)
        defaults = {k: v["default"] for k, v in schema.items() if "default" in v}
        if defaults:
            config.properties.update(defaults)
        request.policyConfig[policy.name].CopyFrom(config)
    stub.Configure(request, timeout=60)


def _diagnostics(stub: analyzer_pb2_grpc.AnalyzerStub, planned: Any) -> set[tuple[str, ...]]:
    by_urn = {r.urn: r for r in planned.resources}
    raw = []
    for r in planned.resources:
        raw += [(d, r.urn) for d in stub.Analyze(analyze_request(r, by_urn), timeout=60)
                .diagnostics]
    raw += [(d, "") for d in stub.AnalyzeStack(stack_request(planned.resources, by_urn),
                                               timeout=120).diagnostics]
    level = {analyzer_pb2.ADVISORY: "advisory", analyzer_pb2.MANDATORY: "mandatory"}
    return {(d.policyName, d.urn or urn, d.message.split("\n", 1)[-1],
             level.get(d.enforcementLevel, "?")) for d, urn in raw}


@pytest.mark.parametrize("org", [ROOT / "stacks" / "org.yaml", ROOT / "examples" / "aws.yaml"],
                         ids=["gcp", "aws"])
def test_unconfigured_pack_process_on_a_trellis_dev_plan(engine: str, org: Any) -> None:  # noqa: F811
    loaded = load(org)
    assert loaded.org.environments["dev"].tier == "sandbox"
    planned = plan(resolve(loaded, "dev"))
    proc, port = _start(engine, ROOT, "policies")
    try:
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            stub = analyzer_pb2_grpc.AnalyzerStub(channel)
            _configure_like_the_cli(stub)
            got = _diagnostics(stub, planned)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()
    production_only = sorted(d for d in got if d[0] in PRODUCTION_ONLY)
    assert not production_only, (
        "the unconfigured pack held a sandbox Trellis stack to production rules:\n"
        + json.dumps(production_only[:10], indent=1))
    # Same findings as `trellis check`, which passes the tier explicitly.
    expected = {(f.policy, f.urn, f.message, f.enforcement) for f in run_check(planned).findings}
    assert got == expected, (f"only under pulumi preview: {sorted(got - expected)[:10]}\n"
                             f"only under trellis check: {sorted(expected - got)[:10]}")

