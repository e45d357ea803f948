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
                                  "0 6,18 * * 0", "0 0 * * 7", "0 3 * * MON-SUN", "0 3 * * 1-7",
                                  "0 3 * * 0-7", "0 3 * * fri-sun", "5/20 * * * *",
                                  "0 0 1-7 * MON", "0 0 29 2 *"])
def test_valid_cron(expr):
    assert cron.problems(expr) == []


@pytest.mark.parametrize(("expr", "fragment"), [
    ("0 3 * *", "has 4 fields"), ("60 * * * *", "minute 60 is outside 0-59"),
    ("0 0 0 * *", "day of month 0 is outside 1-31"), ("0 0 * 13 *", "month 13"),
    ("0 0 * * FUNDAY", "not a number or name"),
    ("*/0 * * * *", "never fires"),
    ("5-1 * * * *", "runs backwards"), ("a b c d e", "not a number or name"),
    ("1..2 * * * *", "not a cron value"),
    ("0 0 L * *", "day of month 'L' is not a number or name (1-31)"),
    ("0 0 * * 1#2", "day of week '1#2' is not a cron value"),
    ("0 0 ? * MON", "day of month '?' is not a cron value"),
    ("0 0 * * FUNDAY", "0-7 or SUN-SAT"),
    ("0 0 * JAN-FOO *", "month 'FOO' is not a number or name (1-12 or JAN-DEC)"),
    ("5-5 * * * *", "minute range 5-5 holds one value; write 5"),
    ("0 0 * * SUN-SUN", "holds one value"),
    ("0 0 * * SAT-MON", "runs backwards (write it as two parts, e.g. SAT-7,0-MON)"),
    ("0 0 * * MON-0", "Sunday at the end of a range is 7 or SUN"),
    ("0 22-2 * * *", "hour range 22-2 runs backwards (write it as two parts, e.g. 22-23,0-2)"),
    ("0 0 * * 7/2", "starts at 7 (Sunday); write 0/2"),
    ("1,* * * * *", "'*' already means every value"),
    ("0 0 30 2 *", "day of month 30 never comes in FEB: the schedule would never run"),
    ("0 0 31 4,6 *", "never comes in APR, JUN"),
    ("0\u00a03 * * * *", "minute '0\\xa03' is not a cron value"),
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
    with pytest.raises(ValueError, match="both day-of-month and day-of-week"):
        cron.to_aws("0 3 1-31 * MON")  # standard cron: every day (either field); say it plainly


def test_to_aws_refuses_an_invalid_expression_with_the_problems():
    with pytest.raises(ValueError, match="minute 60 is outside 0-59"):
        cron.to_aws("60 3 * * *")


@pytest.mark.parametrize(("expr", "words"), [
    ("0 3 * * *", "At 03:00"),
    ("30 6 * * 1", "At 06:30, only on Monday"),
    ("0 9 * * MON-FRI", "At 09:00, Monday through Friday"),
    ("15 2 1 * *", "At 02:15, on day 1 of the month"),
    ("0 0 1 1 *", "At 00:00, on day 1 of the month, only in January"),
    ("*/15 * * * *", "Every 15 minutes"),
    ("5 */6 * * *", "At 5 minutes past the hour, every 6 hours"),
    ("0 22 * * *", "At 22:00"),  # 24-hour clock whatever the machine's locale
    ("0 3 * * 0-7", "At 03:00"),  # every day, not "Sunday through Sunday"
    ("0 3 * * MON-SUN", "At 03:00"),
    ("0 3 1-7 * 1", "At 03:00, between day 1 and 7 of the month, or on Monday"),
])
def test_describe(expr, words):
    assert cron.describe(expr) == words
    assert cron.describe(expr, "Asia/Seoul") == f"{words} (Asia/Seoul)"


def test_describe_keeps_an_invalid_expression_as_written():
    assert cron.describe("0 3 * *", "UTC") == "cron 0 3 * * (UTC)"
