"""`trellis preflight` on AWS, through boto3 with botocore's Stubber (recorded responses, each
validated against the service model by the Stubber itself).

examples/aws.yaml prod (us-west-2, account 222222222222): recsys/train on a Capacity Block
(cr-0a1b2c3d4e5f60718, usw2-az2, 2 x p5.48xlarge), recsys/serve 8 x g6.2xlarge and
vision/render 1 x g6e.2xlarge on demand (both on the G and VT quota, 72 vCPUs together),
vision/finetune 2 x p5.4xlarge on demand (P quota, 32 vCPUs).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber

from stacks.org.load import load
from stacks.org.resolve import resolve
from stacks.plan.engine import plan
from stacks.preflight import aws
from tests.aws.conftest import EXAMPLE

ROLE = ("arn:aws:iam::222222222222:role/aws-reserved/sso.amazonaws.com/us-west-2/"
        "AWSReservedSSO_MLPlatformAdmin_0123456789abcdef")
CALLER = ("arn:aws:sts::222222222222:assumed-role/"
          "AWSReservedSSO_MLPlatformAdmin_0123456789abcdef/jane@acme.com")
BLOCK = "cr-0a1b2c3d4e5f60718"
ZONES = ["usw2-az1", "usw2-az2", "usw2-az3"]


@pytest.fixture(scope="module")
def prod():
    env = resolve(load(EXAMPLE), "prod")
    return env, plan(env)


class Recorded:
    """Stubbed clients of one run, with the responses of a healthy account by default."""

    def __init__(self) -> None:
        session = boto3.Session(aws_access_key_id="AKIAEXAMPLE", aws_secret_access_key="x",
                                region_name="us-west-2")
        self.clients = aws.AwsClients(session, "us-west-2")
        self.stubs = {name: Stubber(getattr(self.clients, name))
                      for name in ("sts", "quotas", "ec2", "iam", "eks")}
        self.quota = {"L-417A185B": 64.0, "L-DB2E81BA": 96.0}
        self.running: list[dict[str, Any]] = []
        self.offered = {"p5.48xlarge": ZONES, "g6.2xlarge": ZONES, "p5.4xlarge": ZONES,
                        "g6e.2xlarge": ZONES}
        self.block: dict[str, Any] | None = {
            "CapacityReservationId": BLOCK, "InstanceType": "p5.48xlarge",
            "InstancePlatform": "Linux/UNIX", "AvailabilityZone": "us-west-2b",
            "AvailabilityZoneId": "usw2-az2", "Tenancy": "default", "TotalInstanceCount": 2,
            "AvailableInstanceCount": 2, "State": "active", "ReservationType": "capacity-block",
            "InstanceMatchCriteria": "targeted", "EndDateType": "limited",
            "StartDate": dt.datetime(2026, 12, 7, 11, 30, tzinfo=dt.UTC),
            "EndDate": dt.datetime(2026, 12, 21, 11, 30, tzinfo=dt.UTC)}
        self.block_error: str | None = None
        self.denied: set[str] = set()
        self.version_status = "standard-support"
        self.caller = CALLER

    def arm(self, actions: tuple[str, ...]) -> None:
        s = self.stubs
        account = self.caller.split(":")[4]
        s["sts"].add_response("get_caller_identity", {
            "UserId": "AROAEXAMPLE:jane@acme.com", "Account": account, "Arn": self.caller})
        if account != "222222222222":
            return
        s["ec2"].add_response("describe_instances", {"Reservations": [
            {"ReservationId": "r-0example", "OwnerId": "222222222222",
             "Instances": self.running}]}, {"Filters": ANY})
        for code in sorted(self.quota):
            s["quotas"].add_response("get_service_quota", {"Quota": {
                "ServiceCode": "ec2", "QuotaCode": code, "Value": self.quota[code],
                "QuotaArn": f"arn:aws:servicequotas:us-west-2:222222222222:ec2/{code}",
                "Adjustable": True, "GlobalQuota": False}},
                {"ServiceCode": "ec2", "QuotaCode": code})
        for machine, zones in (("p5.48xlarge", ["usw2-az2"]), ("g6.2xlarge", ZONES),
                               ("p5.4xlarge", ZONES), ("g6e.2xlarge", ZONES)):
            s["ec2"].add_response("describe_instance_type_offerings", {"InstanceTypeOfferings": [
                {"InstanceType": machine, "LocationType": "availability-zone-id",
                 "Location": z} for z in zones if z in self.offered[machine]]}, {
                "LocationType": "availability-zone-id",
                "Filters": [{"Name": "instance-type", "Values": [machine]},
                            {"Name": "location", "Values": zones}]})
            if machine == "p5.48xlarge":
                if self.block_error:
                    s["ec2"].add_client_error("describe_capacity_reservations",
                                              service_error_code=self.block_error,
                                              service_message=f"The capacity reservation ID "
                                                              f"'{BLOCK}' does not exist")
                else:
                    s["ec2"].add_response("describe_capacity_reservations", {
                        "CapacityReservations": [self.block]},
                        {"CapacityReservationIds": [BLOCK]})
        s["iam"].add_response("get_role", {"Role": {
            "Path": "/aws-reserved/sso.amazonaws.com/us-west-2/",
            "RoleName": "AWSReservedSSO_MLPlatformAdmin_0123456789abcdef",
            "RoleId": "AROAEXAMPLEEXAMPLE123", "Arn": ROLE,
            "CreateDate": dt.datetime(2025, 1, 1, tzinfo=dt.UTC)}},
            {"RoleName": "AWSReservedSSO_MLPlatformAdmin_0123456789abcdef"})
        s["iam"].add_response("simulate_principal_policy", {"IsTruncated": False,
                                                            "EvaluationResults": [
            {"EvalActionName": a, "EvalResourceName": "*",
             "EvalDecision": "implicitDeny" if a in self.denied else "allowed"}
            for a in actions]}, {"PolicySourceArn": ROLE, "ActionNames": list(actions)})
        s["eks"].add_response("describe_cluster_versions", {"clusterVersions": [{
            "clusterVersion": "1.35", "clusterType": "eks", "versionStatus": self.version_status,
            "endOfStandardSupportDate": dt.datetime(2027, 3, 27, tzinfo=dt.UTC)}]},
            {"clusterVersions": ["1.35"]})

    def run(self, prod) -> Any:
        env, planned = prod
        from stacks.preflight.needs import permissions

        self.arm(permissions(planned, "aws").wanted)
        for stub in self.stubs.values():
            stub.activate()
        try:
            report = aws.run(env, planned, self.clients, source="recorded responses")
        finally:
            for stub in self.stubs.values():
                stub.deactivate()
        for stub in self.stubs.values():
            stub.assert_no_pending_responses()  # every recorded call was made
        return report


def rows(report, subject: str) -> dict[str, Any]:
    return {r.check: r for r in report.rows if r.subject == subject}


G_QUOTA = "quota Running On-Demand G and VT instances (L-DB2E81BA)"
P_QUOTA = "quota Running On-Demand P instances (L-417A185B)"


def test_enough_quota_and_a_ready_block_exit_zero(prod):
    report = Recorded().run(prod)
    assert report.exit_code == 0, [r for r in report.rows if r.verdict != "ok"]
    train = rows(report, "recsys/train")[f"reservation {BLOCK}"]
    assert "active Capacity Block of 2 x p5.48xlarge in usw2-az2, 2 free" in train.detail
    assert rows(report, "environment")["EKS admin"].verdict == "ok"


def test_too_little_and_shared_quota_counts_every_pool_and_running_instance(prod):
    r = Recorded()
    r.quota["L-DB2E81BA"] = 64.0
    r.running = [{"InstanceId": "i-0abc", "InstanceType": "g5.12xlarge",
                  "CpuOptions": {"CoreCount": 24, "ThreadsPerCore": 2}},
                 {"InstanceId": "i-0def", "InstanceType": "g5.12xlarge",
                  "InstanceLifecycle": "spot", "CpuOptions": {"CoreCount": 24,
                                                              "ThreadsPerCore": 2}}]
    report = r.run(prod)
    for subject in ("recsys/serve", "vision/render"):
        row = rows(report, subject)[G_QUOTA]
        assert (row.verdict, row.short_by, row.unit) == ("short", 56, "vCPUs"), row
        assert "72 vCPUs together" in row.detail and "limit 64, used 48" in row.detail, \
            "the on-demand g5 counts (48 vCPUs), the Spot one draws on the Spot quota"
        assert row.next_step == ("aws service-quotas request-service-quota-increase "
                                 "--service-code ec2 --quota-code L-DB2E81BA --desired-value "
                                 "120 --region us-west-2")
    assert rows(report, "vision/finetune")[P_QUOTA].verdict == "ok"
    assert P_QUOTA not in rows(report, "recsys/train"), "a Capacity Block draws no quota"


def test_a_zone_without_the_instance_type(prod):
    r = Recorded()
    r.offered["g6e.2xlarge"] = ["usw2-az1", "usw2-az2"]
    row = rows(r.run(prod), "vision/render")["zones"]
    assert (row.verdict, row.short_by) == ("short", 1), row
    assert "g6e.2xlarge is not offered to the account in usw2-az3" in row.detail
    assert row.next_step == "set zones: [usw2-az1, usw2-az2] on the pool"


def test_a_missing_capacity_block_says_how_to_buy_one(prod):
    r = Recorded()
    r.block_error = "InvalidCapacityReservationId.NotFound"
    row = rows(r.run(prod), "recsys/train")[f"reservation {BLOCK}"]
    assert (row.verdict, row.short_by, row.unit) == ("short", 2, "instances"), row
    assert "aws ec2 describe-capacity-block-offerings --instance-type p5.48xlarge " \
           "--instance-count 2 --capacity-duration-hours 24 --region us-west-2" in row.next_step


@pytest.mark.parametrize(("change", "words"), [
    ({"AvailabilityZoneId": "usw2-az1"}, "it is in usw2-az1, the pool's zone is usw2-az2"),
    ({"ReservationType": "default"}, "it is not a Capacity Block: remove capacity_block"),
    ({"AvailableInstanceCount": 1}, "short by 1 instances"),
    ({"State": "expired"}, "its state is expired"),
])
def test_a_capacity_block_that_cannot_hold_the_pool(prod, change, words):
    r = Recorded()
    assert r.block is not None
    r.block.update(change)
    row = rows(r.run(prod), "recsys/train")[f"reservation {BLOCK}"]
    assert row.verdict == "short" and (words in row.detail or words == row.verdict_text), row


def test_a_scheduled_block_is_fine_before_it_starts(prod):
    r = Recorded()
    assert r.block is not None
    r.block.update({"State": "scheduled", "AvailableInstanceCount": 0})
    row = rows(r.run(prod), "recsys/train")[f"reservation {BLOCK}"]
    assert row.verdict == "ok" and "nodes start when it does" in row.detail, row


def test_a_denied_action_and_a_deployer_who_is_not_an_admin(prod):
    r = Recorded()
    r.denied = {"eks:CreateCluster"}
    report = r.run(prod)
    row = rows(report, "environment")["permissions (37)"]
    assert (row.verdict, row.short_by) == ("short", 1), row
    assert f"{ROLE} is denied: eks:CreateCluster" in row.detail
    assert report.exit_code == 1


def test_credentials_of_another_account_stop_the_run(prod):
    r = Recorded()
    r.caller = "arn:aws:sts::111111111111:assumed-role/dev-admin/jane"
    report = r.run(prod)
    [row] = report.rows
    assert (row.check, row.verdict) == ("credentials", "short")
    assert "the credentials are of account 111111111111; environment prod deploys to " \
           "222222222222" in row.detail


def test_kubernetes_version_out_of_standard_support(prod):
    r = Recorded()
    r.version_status = "extended-support"
    row = rows(r.run(prod), "environment")["Kubernetes version"]
    assert row.verdict == "short" and "extended-support" in row.detail, row
    assert row.next_step.startswith("set environments.prod.kubernetes_version:")


def test_usage_classes_follow_the_service_quotas():
    assert aws.usage_code("g6e.12xlarge", False) == "L-DB2E81BA"
    assert aws.usage_code("vt1.3xlarge", True) == "L-3819A6DF"
    assert aws.usage_code("p5en.48xlarge", True) == "L-C4BD4855"
    assert aws.usage_code("p4d.24xlarge", True) == "L-7212CCBC"
    assert aws.usage_code("p4d.24xlarge", False) == "L-417A185B"
    assert aws.usage_code("m7i.2xlarge", False) is None
