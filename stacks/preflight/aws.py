"""Preflight of an AWS environment through boto3, read-only.

* identity: ``sts:GetCallerIdentity`` (the account must be the environment's);
* quotas: ``service-quotas:GetServiceQuota`` for the G/VT and P vCPU quotas the pools draw on
  (on-demand or Spot), usage from the running and pending instances
  (``ec2:DescribeInstances``), summed per quota;
* zones: ``ec2:DescribeInstanceTypeOfferings`` by availability-zone ID;
* reservations: ``ec2:DescribeCapacityReservations``: exists, in the pool's zone, of its
  instance type, a Capacity Block exactly when the pool says so, active or scheduled, with free
  instances for ``max_nodes``;
* the deploying identity: ``iam:SimulatePrincipalPolicy`` with the actions that create what the
  plan creates, and whether it is an admin of the cluster (ADR 18);
* Kubernetes: ``eks:DescribeClusterVersions``: the planned version in standard support.
"""

from __future__ import annotations

import re
from typing import Any

from components import catalog
from stacks.org.spec import EnvSpec
from stacks.plan.engine import Plan
from stacks.preflight import needs as needs_
from stacks.preflight.needs import PoolNeed
from stacks.preflight.quotas import QuotaBook, QuotaValue, demands
from stacks.preflight.quotas import rows as quota_rows
from stacks.preflight.report import ENVIRONMENT, Report, Row

_SIMULATE_BATCH = 50
#: (instance type pattern, Spot?) -> Service Quotas code: which running instances count against
#: which vCPU quota (components/data/gpu_quotas.csv names the ones Trellis pools draw on).
_USAGE_CLASSES: tuple[tuple[str, bool, str], ...] = (
    (r"(g\d|vt\d)", False, "L-DB2E81BA"), (r"(g\d|vt\d)", True, "L-3819A6DF"),
    (r"p\d", False, "L-417A185B"), (r"p5", True, "L-C4BD4855"), (r"p[234]", True, "L-7212CCBC"),
)


class AwsClients:
    """The boto3 clients preflight reads, of one session (tests: Stubber on each)."""

    def __init__(self, session: Any, region: str) -> None:
        self.sts = session.client("sts", region_name=region)
        self.quotas = session.client("service-quotas", region_name=region)
        self.ec2 = session.client("ec2", region_name=region)
        self.iam = session.client("iam", region_name=region)
        self.eks = session.client("eks", region_name=region)


def _code(exc: Exception) -> str:
    return str(getattr(exc, "response", {}).get("Error", {}).get("Code", type(exc).__name__))


def _message(exc: Exception) -> str:
    error = getattr(exc, "response", {}).get("Error", {})
    return f"{error.get('Code', type(exc).__name__)}: {error.get('Message', exc)}"


def usage_code(instance_type: str, spot: bool) -> str | None:
    """The vCPU quota a running instance counts against, among those preflight reads."""
    family = instance_type.split(".", 1)[0]
    for pattern, is_spot, code in _USAGE_CLASSES:
        if is_spot == spot and re.match(pattern, family):
            return code
    return None


def quota_book(clients: AwsClients, region: str, codes: set[str]) -> QuotaBook:
    """Each quota's value (Service Quotas) and the vCPUs running instances take of it."""
    from botocore.exceptions import BotoCoreError, ClientError

    book = QuotaBook("Service Quotas")
    usage = dict.fromkeys(codes, 0.0)
    try:
        token: str | None = None
        while True:
            page = clients.ec2.describe_instances(
                Filters=[{"Name": "instance-state-name", "Values": ["pending", "running"]}],
                **({"NextToken": token} if token else {}))
            for reservation in page.get("Reservations", []):
                for inst in reservation.get("Instances", []):
                    code = usage_code(inst["InstanceType"],
                                      inst.get("InstanceLifecycle") == "spot")
                    cpu = inst.get("CpuOptions") or {}
                    if code in usage:
                        usage[code] += cpu.get("CoreCount", 0) * cpu.get("ThreadsPerCore", 1)
            token = page.get("NextToken")
            if not token:
                break
        known_usage = True
    except (ClientError, BotoCoreError) as exc:
        known_usage = False
        book.source = f"Service Quotas (usage unknown: ec2:DescribeInstances {_message(exc)})"
    for code in sorted(codes):
        try:
            quota = clients.quotas.get_service_quota(ServiceCode="ec2", QuotaCode=code)["Quota"]
        except ClientError as exc:
            if _code(exc) != "NoSuchResourceException":
                book.missing_scopes[region] = ("unknown", f"service-quotas:GetServiceQuota "
                                                          f"{code}: {_message(exc)}")
                return book
            quota = clients.quotas.get_aws_default_service_quota(
                ServiceCode="ec2", QuotaCode=code)["Quota"]
        book.set(code, region, QuotaValue(float(quota["Value"]),
                                          usage[code] if known_usage else None))
    return book


def quota_request(region: str) -> Any:
    def step(quota: Any, scope: str, value: float) -> str:
        return (f"aws service-quotas request-service-quota-increase --service-code ec2 "
                f"--quota-code {quota.quota} --desired-value {value:g} --region {region}")
    return step


def zone_row(clients: AwsClients, need: PoolNeed) -> Row:
    from botocore.exceptions import ClientError

    machine = need.shape.machine_type
    try:
        found = clients.ec2.describe_instance_type_offerings(
            LocationType="availability-zone-id",
            Filters=[{"Name": "instance-type", "Values": [machine]},
                     {"Name": "location", "Values": list(need.zones)}])
    except ClientError as exc:
        return Row(need.subject, "zones", "unknown",
                   f"ec2:DescribeInstanceTypeOfferings failed: {_message(exc)}")
    offered = {o["Location"] for o in found.get("InstanceTypeOfferings", [])}
    missing = [z for z in need.zones if z not in offered]
    if not missing:
        return Row(need.subject, "zones", "ok", f"{machine} offered in {', '.join(need.zones)}")
    keep = [z for z in need.zones if z in offered]
    return Row(need.subject, "zones", "short", f"{machine} is not offered to the account in "
               f"{', '.join(missing)}", short_by=len(missing), unit="zones",
               next_step=(f"set zones: [{', '.join(keep)}] on the pool" if keep
                          else "choose another region or accelerator"))


def reservation_row(clients: AwsClients, env: EnvSpec, need: PoolNeed) -> Row:
    from botocore.exceptions import ClientError

    reservation, pool, shape = need.pool.reservation, need.pool, need.shape
    assert reservation is not None
    check = f"reservation {reservation.reference}"
    if reservation.capacity_block:
        create = (f"aws ec2 describe-capacity-block-offerings --instance-type "
                  f"{shape.machine_type} --instance-count {pool.max_nodes} "
                  f"--capacity-duration-hours 24 --region {env.region}, then aws ec2 "
                  "purchase-capacity-block --capacity-block-offering-id <id> "
                  "--instance-platform Linux/UNIX")
    else:
        create = (f"aws ec2 create-capacity-reservation --instance-type {shape.machine_type} "
                  f"--instance-platform Linux/UNIX --availability-zone-id {reservation.zone} "
                  f"--instance-count {pool.max_nodes} --instance-match-criteria targeted "
                  f"--region {env.region}")
    try:
        found = clients.ec2.describe_capacity_reservations(
            CapacityReservationIds=[reservation.reference])["CapacityReservations"]
    except ClientError as exc:
        if _code(exc).startswith("InvalidCapacityReservationId"):
            return Row(need.subject, check, "short", f"no capacity reservation "
                       f"{reservation.reference} in {env.region} ({_code(exc)})",
                       next_step=f"{create}; put the new id in the pool's reservation",
                       short_by=pool.max_nodes, unit="instances")
        return Row(need.subject, check, "unknown",
                   f"ec2:DescribeCapacityReservations failed: {_message(exc)}")
    if not found:
        return Row(need.subject, check, "short", f"no capacity reservation "
                   f"{reservation.reference} in {env.region}", next_step=create,
                   short_by=pool.max_nodes, unit="instances")
    r = found[0]
    state, kind = str(r.get("State")), str(r.get("ReservationType", "default"))
    total, free = int(r.get("TotalInstanceCount", 0)), int(r.get("AvailableInstanceCount", 0))
    detail = (f"{state} {'Capacity Block' if kind == 'capacity-block' else 'reservation'} of "
              f"{total} x {r.get('InstanceType')} in {r.get('AvailabilityZoneId')}, {free} free"
              + (f", {r.get('StartDate')} to {r.get('EndDate')}" if kind == "capacity-block"
                 else "") + f"; the pool needs {pool.max_nodes}")
    problems = []
    if r.get("InstanceType") != shape.machine_type:
        problems.append(f"it reserves {r.get('InstanceType')}, the pool runs {shape.machine_type}")
    if r.get("AvailabilityZoneId") != reservation.zone:
        problems.append(f"it is in {r.get('AvailabilityZoneId')}, the pool's zone is "
                        f"{reservation.zone} (set zones: [{r.get('AvailabilityZoneId')}])")
    if (kind == "capacity-block") != reservation.capacity_block:
        problems.append("it is a Capacity Block: set capacity_block: true" if
                        kind == "capacity-block" else
                        "it is not a Capacity Block: remove capacity_block")
    if state not in ("active", "scheduled", "payment-pending"):
        problems.append(f"its state is {state}")
    if problems:
        return Row(need.subject, check, "short", detail + "; " + "; ".join(problems),
                   next_step="fix the reservation or the pool: " + "; ".join(problems))
    usable = free if state == "active" else total
    if usable < pool.max_nodes:
        return Row(need.subject, check, "short", detail, short_by=pool.max_nodes - usable,
                   unit="instances", next_step=(
                       f"aws ec2 modify-capacity-reservation --capacity-reservation-id "
                       f"{reservation.reference} --instance-count "
                       f"{total - free + pool.max_nodes} --region {env.region}"
                       if kind != "capacity-block" else
                       f"buy a Capacity Block of {pool.max_nodes} or lower max_nodes to "
                       f"{usable}"))
    if state != "active":
        detail += " (nodes start when it does)"
    return Row(need.subject, check, "ok", detail)


def principal_arn(clients: AwsClients, caller_arn: str) -> str:
    """The IAM principal behind ``caller_arn``: an assumed role's role ARN (with its path)."""
    match = re.fullmatch(r"arn:(aws[\w-]*):sts::(\d{12}):assumed-role/([^/]+)/.+", caller_arn)
    if match is None:
        return caller_arn
    return str(clients.iam.get_role(RoleName=match.group(3))["Role"]["Arn"])


def permission_row(clients: AwsClients, plan: Plan, principal: str) -> Row:
    from botocore.exceptions import ClientError

    wanted = needs_.permissions(plan, "aws")
    check = f"permissions ({len(wanted.wanted)})"
    if principal.endswith(":root"):
        return Row(ENVIRONMENT, check, "ok", "the account's root user may do everything (use a "
                   "role for `pulumi up`)")
    denied: list[str] = []
    try:
        for batch in needs_.chunks(wanted.wanted, _SIMULATE_BATCH):
            marker: str | None = None
            while True:
                page = clients.iam.simulate_principal_policy(
                    PolicySourceArn=principal, ActionNames=batch,
                    **({"Marker": marker} if marker else {}))
                denied += [r["EvalActionName"] for r in page.get("EvaluationResults", [])
                           if r.get("EvalDecision") != "allowed"]
                marker = page.get("Marker") if page.get("IsTruncated") else None
                if not marker:
                    break
    except ClientError as exc:
        return Row(ENVIRONMENT, check, "unknown", f"iam:SimulatePrincipalPolicy on {principal} "
                   f"failed: {_message(exc)}")
    note = f"; not checked: {', '.join(wanted.unmapped)}" if wanted.unmapped else ""
    if not denied:
        return Row(ENVIRONMENT, check, "ok", f"{principal} may do every action the plan "
                   "needs" + note)
    return Row(ENVIRONMENT, check, "short", f"{principal} is denied: {', '.join(denied)}"
               + note, short_by=len(denied), unit="actions",
               next_step=f"allow {', '.join(denied)} to {principal} (an identity policy)")


def admin_row(env: EnvSpec, principal: str) -> Row:
    admins = env.platform.admins
    if not admins:
        return Row(ENVIRONMENT, "EKS admin", "ok", f"no admins listed: {principal} becomes the "
                   "cluster admin (ADR 18)")
    if principal in admins:
        return Row(ENVIRONMENT, "EKS admin", "ok", f"{principal} is one of "
                   f"{env.platform.admins_from}")
    return Row(ENVIRONMENT, "EKS admin", "short", f"{principal} is not one of "
               f"{env.platform.admins_from} ({', '.join(admins)}): `pulumi up` stops before "
               "creating anything (ADR 18)",
               next_step=f"run `pulumi up` as one of {', '.join(admins)}, or add {principal} "
                         f"to {env.platform.admins_from}")


def kubernetes_row(clients: AwsClients | None, env: EnvSpec) -> Row:
    version = str(env.kubernetes_version)
    newest = catalog.eks_default_version()
    step = f"set environments.{env.name}.kubernetes_version: \"{newest}\""
    if clients is not None:
        from botocore.exceptions import ClientError

        try:
            found = clients.eks.describe_cluster_versions(
                clusterVersions=[version])["clusterVersions"]
        except ClientError as exc:
            found = None
            why = _message(exc)
        if found:
            status = str(found[0].get("versionStatus"))
            detail = (f"EKS {version}: {status}, standard support until "
                      f"{found[0].get('endOfStandardSupportDate')}")
            if status == "standard-support":
                return Row(ENVIRONMENT, "Kubernetes version", "ok", detail)
            return Row(ENVIRONMENT, "Kubernetes version", "short", detail, next_step=step)
        if found is not None:
            why = "no such version"
        return Row(ENVIRONMENT, "Kubernetes version", "unknown",
                   f"eks:DescribeClusterVersions {version}: {why}")
    row = catalog.eks_version(version)
    ok = row is not None and row.standard_on()
    detail = (f"EKS {version} in standard support until {row.end_of_standard_support} "
              f"(release calendar as of {catalog.EKS_VERSIONS_DATE})" if row is not None
              else f"EKS {version} is not in the release calendar")
    return Row(ENVIRONMENT, "Kubernetes version", "ok" if ok else "short", detail,
               next_step="" if ok else step)


def run(env: EnvSpec, plan: Plan, clients: AwsClients, *, source: str) -> Report:
    """Every check of an AWS environment, online."""
    from botocore.exceptions import ClientError

    pools = needs_.pools(env)
    report = Report.of(env, tuple(p.subject for p in pools), source)
    try:
        identity = clients.sts.get_caller_identity()
    except ClientError as exc:
        report.rows.append(Row(ENVIRONMENT, "credentials", "unknown",
                               f"sts:GetCallerIdentity failed: {_message(exc)}"))
        return report
    if identity["Account"] != env.account:
        report.rows.append(Row(ENVIRONMENT, "credentials", "short",
                               f"the credentials are of account {identity['Account']}; "
                               f"environment {env.name} deploys to {env.account}",
                               next_step=f"sign in to account {env.account} (e.g. `aws sso "
                                         "login --profile <its profile>`) and run again"))
        return report
    codes = {d.quota.quota for d in demands(pools, env.region, QuotaBook(""))}
    book = quota_book(clients, env.region, codes)
    report.rows += quota_rows(pools, env.region, book, quota_request(env.region),
                              usage_note="")
    for need in pools:
        report.rows.append(zone_row(clients, need))
        if need.pool.capacity == "reservation":
            report.rows.append(reservation_row(clients, env, need))
    try:
        principal = principal_arn(clients, str(identity["Arn"]))
    except ClientError as exc:
        report.rows.append(Row(ENVIRONMENT, "permissions", "unknown",
                               f"iam:GetRole for {identity['Arn']} failed: {_message(exc)}"))
    else:
        report.rows += [permission_row(clients, plan, principal), admin_row(env, principal)]
    report.rows.append(kubernetes_row(clients, env))
    return report.ordered()


def run_saved(env: EnvSpec, book: QuotaBook) -> Report:
    """The quota checks of an AWS environment on saved ``aws service-quotas`` output, the
    Kubernetes version on the release calendar; the rest skipped."""
    pools = needs_.pools(env)
    report = Report.of(env, tuple(p.subject for p in pools), f"saved output: {book.source}")
    report.rows += [Row(p.subject, f"reservation {_name(p)}", "skipped",
                        "needs the cloud API (run without --quotas)") for p in pools
                    if p.pool.reservation is not None]
    report.rows += quota_rows(pools, env.region, book, quota_request(env.region),
                              usage_note=" (running G and P instances count against it)")
    report.rows += [Row(ENVIRONMENT, "zones, reservations, permissions, EKS admin", "skipped",
                        "--quotas reads saved quota output only; run without it, with AWS "
                        "credentials, to check these"), kubernetes_row(None, env)]
    return report.ordered()


def _name(need: PoolNeed) -> str:
    assert need.pool.reservation is not None
    return need.pool.reservation.reference
