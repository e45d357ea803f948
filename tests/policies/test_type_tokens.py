"""Every resource type a rule declares exists in the installed provider SDKs.

A rule registered on a misspelt token (``aws:vpc/securityGroupIngresRule:...``) never fires and
no test of that rule notices, because its fixtures use the same misspelling. The installed
pulumi-gcp, pulumi-aws and pulumi-kubernetes packages list every resource they provide in
their ``__init__.py`` (``_utilities.register(resource_modules=...)``, the table the SDK itself
uses to rehydrate resources), so that table is the ground truth: exact tokens must be in it and
each glob (``gcp:*/*IamMember:*``) must match something in it.
"""

from __future__ import annotations

import importlib.util
import json
import re
from functools import cache
from pathlib import Path

import pytest

from policies.registry import all_rules, type_matcher

PACKAGES = {"gcp": "pulumi_gcp", "aws": "pulumi_aws", "kubernetes": "pulumi_kubernetes"}
_TABLE = re.compile(r'resource_modules="""(.*?)"""', re.S)


@cache
def sdk_tokens(prefix: str) -> frozenset[str]:
    """Every resource type token the installed SDK for ``prefix`` registers."""
    spec = importlib.util.find_spec(PACKAGES[prefix])
    assert spec is not None and spec.origin, f"{PACKAGES[prefix]} is not installed"
    match = _TABLE.search(Path(spec.origin).read_text(encoding="utf-8"))
    assert match, f"{spec.origin} has no resource_modules table"
    return frozenset(token for module in json.loads(match.group(1))
                     for token in module["classes"])


DECLARED = sorted({(rule.id, token) for rule in all_rules() for token in rule.resource_types})


def test_the_sdk_tables_are_read() -> None:
    # A parser that found nothing would make every check below vacuous.
    for prefix in PACKAGES:
        assert len(sdk_tokens(prefix)) > 100, f"only {len(sdk_tokens(prefix))} {prefix} tokens"
    assert "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule" in sdk_tokens("aws")


@pytest.mark.parametrize(("rule_id", "token"), DECLARED, ids=[f"{r}:{t}" for r, t in DECLARED])
def test_declared_type_exists_in_the_installed_sdk(rule_id: str, token: str) -> None:
    prefix = token.split(":", 1)[0]
    assert prefix in PACKAGES, f"{rule_id} declares {token}, a type of no installed provider"
    if any(c in token for c in "*?["):
        matches = type_matcher([token])
        assert any(matches(t) for t in sdk_tokens(prefix)), (
            f"{rule_id}: the pattern {token} matches no {PACKAGES[prefix]} resource type")
    else:
        assert token in sdk_tokens(prefix), (
            f"{rule_id} declares {token}, which {PACKAGES[prefix]} does not provide: the rule "
            "would never run on it")


def test_legacy_notebooks_token_is_absent_so_no_rule_claims_it() -> None:
    # TRL-ML-001 covers Workbench instances only because the installed pulumi-gcp has no
    # user-managed notebooks resource; if a future SDK brings it back, cover it too.
    assert "gcp:notebooks/instance:Instance" not in sdk_tokens("gcp")
    assert "gcp:workbench/instance:Instance" in sdk_tokens("gcp")
