"""`trellis check` outputs (text, JSON, SARIF 2.1.0, JUnit), exit codes and waivers end to end.

tests/data/sarif-2.1.0.json is the OASIS SARIF 2.1.0 schema (errata01), copied from
oasis-tcs/sarif-spec sarif-2.1/schema/sarif-schema-2.1.0.json at commit e0583813.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import textwrap
import xml.etree.ElementTree as ET
from pathlib import Path

import jsonschema
import pytest
from policy_fixtures import FakePlan, S, check
from test_rules import gcs, pool

from stacks.cli.commands.check import check_command
from stacks.org.errors import OrgError
from stacks.report.check import run_check
from stacks.report.formats import render, to_junit, to_sarif
from stacks.report.waivers import Waiver

SCHEMA = Path(__file__).resolve().parent.parent / "data" / "sarif-2.1.0.json"
TODAY = dt.date.today()


def _plan() -> FakePlan:
    stack = S(gcs(uniformBucketLevelAccess=False, lifecycleRules=[]),
              pool(**{"nodeConfig.taints": []}), tier="sandbox")
    return stack.plan()


def _waiver(rule: str = "TRL-GCS-001", resource: str = "recsys/models") -> Waiver:
    return Waiver(rule=rule, resource=resource, reason="migration ticket 42",
                  expires=TODAY + dt.timedelta(days=30), owner="ml-platform@acme.com",
                  file="waivers.yaml", line=3, column=5)


def test_json_contract() -> None:
    out = io.StringIO()
    report = run_check(_plan(), waivers=[_waiver()])
    render(report, "json", out)
    doc = json.loads(out.getvalue())
    assert set(doc) >= {"violations", "summary"}
    for v in doc["violations"]:
        assert set(v) >= {"policy", "severity", "enforcement", "urn", "message", "waived"}
    waived = [v for v in doc["violations"] if v["waived"]]
    assert [v["policy"] for v in waived] == ["TRL-GCS-001"]
    assert waived[0]["reason"] == "migration ticket 42"
    assert doc["summary"]["waived"] == 1 and doc["summary"]["passed"] is False
    assert doc["plan"]["tier"] == "sandbox"


def test_sarif_validates_against_the_2_1_0_schema() -> None:
    report = run_check(_plan(), waivers=[_waiver()])
    sarif = to_sarif(report)
    jsonschema.validate(sarif, json.loads(SCHEMA.read_text(encoding="utf-8")))
    run = sarif["runs"][0]
    rule_ids = [r["id"] for r in run["tool"]["driver"]["rules"]]
    assert "TRL-GPU-004" in rule_ids
    result = next(r for r in run["results"] if r["ruleId"] == "TRL-GPU-004")
    assert result["level"] == "error"
    assert rule_ids[result["ruleIndex"]] == "TRL-GPU-004"
    names = [loc["fullyQualifiedName"] for loc in result["locations"][0]["logicalLocations"]]
    assert names[0].startswith("urn:pulumi:") and names[1] == "recsys/serve"
    suppressed = next(r for r in run["results"] if r["ruleId"] == "TRL-GCS-001")
    assert suppressed["suppressions"][0]["justification"] == "migration ticket 42"


def test_junit_is_xml_with_failures_for_unwaived_mandatory_findings() -> None:
    report = run_check(_plan(), waivers=[_waiver()])
    root = ET.fromstring(to_junit(report))
    suite = root.find("testsuite")
    assert suite is not None
    failed = {c.get("classname") for c in suite.iter("testcase") if c.find("failure") is not None}
    skipped = {c.get("classname") for c in suite.iter("testcase") if c.find("skipped") is not None}
    assert "TRL-GPU-004" in failed and "TRL-GCS-001" in skipped
    assert "TRL-GCS-005" not in failed  # advisory
    assert int(suite.get("failures", "0")) == len(
        [c for c in suite.iter("testcase") if c.find("failure") is not None])


def test_text_groups_by_rule_and_shows_waived_findings() -> None:
    out = io.StringIO()
    render(run_check(_plan(), waivers=[_waiver()]), "text", out)
    text = out.getvalue()
    assert "TRL-GPU-004" in text and "fix:" in text
    assert "recsys/models [waived]" in text and "migration ticket 42" in text
    assert "\x1b[" not in text  # no colour codes when not a terminal
    assert text.rstrip().splitlines()[-1].startswith("FAIL")


def test_fail_on_threshold() -> None:
    stack = S(gcs(lifecycleRules=[], **{"labels.purpose": "scratch"}), pool(
        **{"nodeConfig.resourceLabels": {"team": "recsys"}}), tier="sandbox")
    report = check(stack)
    severities = {f.severity for f in report.failing("low")}
    assert severities == {"medium"}, severities  # only the GPU cost labels
    assert report.exit_code("low") == 1 and report.exit_code("medium") == 1
    assert report.exit_code("high") == 0 and report.exit_code("critical") == 0


def test_check_command_exit_codes_and_waivers_file(tmp_path: Path) -> None:
    waivers = tmp_path / "waivers.yaml"
    waivers.write_text(textwrap.dedent(f"""\
        version: 1
        waivers:
          - rule: TRL-GPU-004
            resource: recsys/serve
            reason: taint lands with the next component release
            owner: ml-platform@acme.com
            expires: {TODAY + dt.timedelta(days=10)}
          - rule: TRL-GCS-001
            resource: "*::models"
            reason: uniform access migration
            expires: {TODAY + dt.timedelta(days=10)}
        """), encoding="utf-8")
    out = io.StringIO()
    code = check_command(_plan(), fmt="json", fail_on="low", waivers_path=waivers, out=out)
    doc = json.loads(out.getvalue())
    assert code == 0, doc["summary"]
    assert doc["summary"]["waived"] == 2 and doc["summary"]["advisory"] >= 1
    out = io.StringIO()
    assert check_command(_plan(), fmt="text", fail_on="low", waivers_path=None, out=out) == 1


def test_unmatched_waiver_is_an_error_after_the_report(tmp_path: Path) -> None:
    waivers = tmp_path / "waivers.yaml"
    waivers.write_text(textwrap.dedent(f"""\
        waivers:
          - rule: TRL-EKS-001
            resource: recsys/models
            reason: nothing to waive
            expires: {TODAY + dt.timedelta(days=10)}
        """), encoding="utf-8")
    out = io.StringIO()
    with pytest.raises(OrgError) as err:
        check_command(_plan(), fmt="json", fail_on="low", waivers_path=waivers, out=out)
    assert json.loads(out.getvalue())["summary"]["unmatched_waivers"] == 1
    assert f"{waivers}:2:5" in str(err.value) and "matches no finding" in str(err.value)


def test_usage_errors() -> None:
    with pytest.raises(ValueError, match="format"):
        check_command(_plan(), fmt="xml", fail_on="low", waivers_path=None, out=io.StringIO())
    with pytest.raises(ValueError, match="severity"):
        check_command(_plan(), fmt="json", fail_on="urgent", waivers_path=None,
                      out=io.StringIO())


def test_waiver_matching() -> None:
    urn = "urn:pulumi:dev::trellis::trellis:gcp:Team$gcp:storage/bucket:Bucket::acme-dev-x"
    w = _waiver(resource="recsys/models")
    assert w.matches("TRL-GCS-001", urn, "recsys/models")
    assert w.matches("TRL-GCS-001", urn, "acme/recsys/models/bucket")
    assert not w.matches("TRL-GCS-002", urn, "recsys/models")
    assert not w.matches("TRL-GCS-001", urn, "recsys/models-old")
    assert _waiver(resource="*::acme-dev-x").matches("TRL-GCS-001", urn, "a/b")
    assert _waiver(resource="recsys/*").matches("TRL-GCS-001", urn, "recsys/serve")
