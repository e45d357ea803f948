"""Unknown values, broken inputs, bad config and crashing rules fail closed, never pass."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from analyzer_path import new_servicer
from google.protobuf import struct_pb2
from policy_fixtures import UNKNOWN, S, check, findings, res
from pulumi.runtime.proto import analyzer_pb2
from test_rules import GCS, GOOD_GCS, gcs, mod, pool, s3_group

from policies.registry import Rule, to_policy
from policies.settings import Settings, expand
from policies.view import Res, Stack


def test_unknown_value_in_a_mandatory_rule_is_a_violation() -> None:
    report = check(S(gcs(uniformBucketLevelAccess=UNKNOWN)))
    (f,) = findings(report, "TRL-GCS-001")
    assert f.enforcement == "mandatory"
    assert "cannot be verified" in f.message and "uniformBucketLevelAccess" in f.message


def test_unknown_value_in_a_stack_rule_fails_only_that_resource() -> None:
    stack = S(*s3_group(), *s3_group("other", policy={"policy": UNKNOWN}))
    report = check(stack)
    tls = findings(report, "TRL-S3-004")
    assert [f.urn.rsplit("::", 1)[-1] for f in tls] == ["other"], tls
    assert "cannot be verified" in tls[0].message


def test_unknown_reference_without_lineage_fails_closed() -> None:
    report = check(S(res(POOL_TYPE, "serve", mod(pool()["inputs"], {
        "nodeConfig.serviceAccount": UNKNOWN}))))
    (f,) = findings(report, "TRL-GPU-006")
    assert "cannot be verified" in f.message


POOL_TYPE = "gcp:container/nodePool:NodePool"


def test_malformed_policy_json_fails_closed() -> None:
    report = check(S(res("aws:s3/bucketPolicy:BucketPolicy", "p", {
        "bucket": "b", "policy": "{not json"})))
    (f,) = findings(report, "TRL-S3-003")
    assert "failed" in f.message and "not valid JSON" in f.message


def _servicer_with(rule: Rule) -> Any:
    return new_servicer([to_policy(rule)])


def _boom_resource(res: Res, settings: Settings) -> Iterator[str]:
    raise KeyError("surprise")
    yield ""  # pragma: no cover


def _boom_stack(stack: Stack, settings: Settings) -> Iterator[tuple[str, str]]:
    raise RuntimeError("surprise")
    yield ("", "")  # pragma: no cover


def _rule(kind: str, check_fn: object) -> Rule:
    return Rule(id="TRL-GCS-999", title="t", description="Test rule.", severity="high",
                enforcement="mandatory", remediation="Fix it.", kind=kind,  # type: ignore[arg-type]
                resource_types=(GCS,), check=check_fn)  # type: ignore[arg-type]


def test_exception_inside_a_resource_rule_is_a_mandatory_violation() -> None:
    props = struct_pb2.Struct()
    props.update(GOOD_GCS)
    response = _servicer_with(_rule("resource", _boom_resource)).Analyze(
        analyzer_pb2.AnalyzeRequest(type=GCS, properties=props, urn="urn:x", name="x"), None)
    (diag,) = response.diagnostics
    assert diag.enforcementLevel == analyzer_pb2.MANDATORY
    assert "KeyError" in diag.message and "failing closed" in diag.message


def test_exception_inside_a_stack_rule_is_a_mandatory_violation() -> None:
    response = _servicer_with(_rule("stack", _boom_stack)).AnalyzeStack(
        analyzer_pb2.AnalyzeStackRequest(resources=[]), None)
    (diag,) = response.diagnostics
    assert diag.enforcementLevel == analyzer_pb2.MANDATORY and "RuntimeError" in diag.message


def test_bad_policy_config_fails_closed_inside_the_pack() -> None:
    servicer = _servicer_with(_rule("resource", lambda r, s: iter(())))
    request = analyzer_pb2.ConfigureAnalyzerRequest()
    cfg = analyzer_pb2.PolicyConfig(enforcementLevel=analyzer_pb2.MANDATORY)
    cfg.properties.update({"tier": "staging"})
    request.policyConfig["TRL-GCS-999"].CopyFrom(cfg)
    servicer.Configure(request, None)
    props = struct_pb2.Struct()
    response = servicer.Analyze(analyzer_pb2.AnalyzeRequest(type=GCS, properties=props,
                                                            urn="urn:x", name="x"), None)
    (diag,) = response.diagnostics
    assert "tier must be one of" in diag.message


def test_bad_config_is_a_usage_error_in_trellis_check() -> None:
    with pytest.raises(ValueError, match="unknown policy config key 'tierr'"):
        check(S(gcs(), config={"tierr": "sandbox"}))
    with pytest.raises(ValueError, match="maxGpusPerPool"):
        check(S(gcs(), config={"maxGpusPerPool": 0}))
    with pytest.raises(ValueError, match="not read by this rule"):
        check(S(gcs(), config={"TRL-GCS-001": {"maxGpusPerPool": 3}}))


def test_config_levels_and_fan_out() -> None:
    rules = {"TRL-A-001": ("tier",), "TRL-B-001": ("tier", "maxGpusPerPool"), "TRL-C-001": ()}
    out = expand({"tier": "sandbox", "max_gpus_per_pool": 8, "all": "advisory",
                  "TRL-C-001": "disabled"}, rules)
    assert out == {"TRL-A-001": {"tier": "sandbox", "enforcementLevel": "advisory"},
                   "TRL-B-001": {"tier": "sandbox", "maxGpusPerPool": 8,
                                 "enforcementLevel": "advisory"},
                   "TRL-C-001": {"enforcementLevel": "disabled"}}


def test_disabled_and_downgraded_rules() -> None:
    bad = S(gcs(uniformBucketLevelAccess=False), config={"TRL-GCS-001": "disabled"})
    assert not findings(check(bad), "TRL-GCS-001")
    advisory = S(gcs(uniformBucketLevelAccess=False), config={"all": "advisory"})
    (f,) = findings(check(advisory), "TRL-GCS-001")
    assert f.enforcement == "advisory"
    assert check(advisory).exit_code() == 0


def test_plan_tier_is_the_default_and_config_overrides_it() -> None:
    bucket = res(GCS, "scratch", mod(GOOD_GCS, {"name": "acme-dev-scratch", "versioning": None}))
    assert findings(check(S(bucket, tier="production")), "TRL-GCS-004")
    assert not findings(check(S(bucket, tier="sandbox")), "TRL-GCS-004")
    assert findings(check(S(bucket, tier="sandbox", config={"tier": "production"})),
                    "TRL-GCS-004")
