"""Physical names and cron: the pure functions the validator and the components share."""

from __future__ import annotations

import pytest

from components import cron, naming


@pytest.mark.parametrize(("kind", "limit"), [
    ("gcs_bucket", 63), ("s3_bucket", 63), ("gcp_service_account", 30), ("gke_node_pool", 40),
    ("gke_cluster", 40), ("iam_role", 64), ("eks_node_group", 63),
])
def test_length_limits(kind, limit):
    ok = "a" * limit
    assert naming.make(kind, ok) == ok
    with pytest.raises(naming.InvalidName, match=f"{limit + 1} characters; the cloud allows"):
        naming.make(kind, "a" * (limit + 1))


def test_service_account_minimum_length():
    with pytest.raises(naming.InvalidName, match="allows 6 to 30"):
        naming.gcp_service_account("ab", "c")


def test_charset_rules():
    assert naming.check("gcs_bucket", "acme-dev-x") is None
    assert "not allowed" in (naming.check("gcs_bucket", "Acme") or "")
    assert "not allowed" in (naming.check("s3_bucket", "a_b") or "")
    assert "not allowed" in (naming.check("gcp_service_account", "1abcdef") or "")


def test_bucket_names_are_deterministic_and_prefixed():
    assert naming.bucket("gcp", "acme", "dev", "recsys", "models") == "acme-dev-recsys-models"
    assert naming.bucket("aws", "acme", "dev", "recsys", "models") == "acme-dev-recsys-models"


def test_longest_valid_keys_still_make_a_bucket():
    # org 12 + env 12 + team 16 + purpose 20 + 3 separators = 63: always fits.
    name = naming.bucket("gcp", "o" * 12, "e" * 12, "t" * 16, "p" * 20)
    assert len(name) == 63


@pytest.mark.parametrize("expr", ["0 3 * * *", "*/15 * * * *", "0 0 1 JAN *", "30 2 * * MON-FRI",
                                  "0 6,18 * * 0", "0 0 * * 7"])
def test_valid_cron(expr):
    assert cron.problems(expr) == []


@pytest.mark.parametrize(("expr", "fragment"), [
    ("0 3 * *", "has 4 fields"), ("60 * * * *", "minute 60 is outside 0-59"),
    ("0 0 0 * *", "day of month 0 is outside 1-31"), ("0 0 * 13 *", "month 13"),
    ("0 0 * * FUNDAY", "not a number or name"),
    ("*/0 * * * *", "never fires"),
    ("5-1 * * * *", "runs backwards"), ("a b c d e", "not a number or name"),
    ("1..2 * * * *", "not a cron value"),
])
def test_invalid_cron(expr, fragment):
    assert any(fragment in p for p in cron.problems(expr)), cron.problems(expr)


@pytest.mark.parametrize(("expr", "aws"), [
    ("0 3 * * *", "cron(0 3 * * ? *)"),
    ("0 3 * * 1-5", "cron(0 3 ? * 2-6 *)"),
    ("0 3 * * SUN", "cron(0 3 ? * 1 *)"),
    ("0 3 * * 7", "cron(0 3 ? * 1 *)"),
    ("0 3 1 * *", "cron(0 3 1 * ? *)"),
])
def test_cron_to_aws(expr, aws):
    assert cron.to_aws(expr) == aws


def test_aws_cannot_restrict_both_day_fields():
    with pytest.raises(ValueError, match="both day-of-month and day-of-week"):
        cron.to_aws("0 3 1 * MON")
