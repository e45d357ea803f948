"""Preflight of a GCP environment through Google's own API client (google-api-python-client).

Read-only calls, each the documented method of its API (discovery documents shipped with the
client, ``static_discovery``):

* quotas: ``compute.regions.get`` (regional GPU quotas with usage), ``compute.projects.get``
  (``GPUS_ALL_REGIONS``);
* zones: ``compute.machineTypes.get`` per zone of each pool (``acceleratorTypes.get`` for N1
  with attached T4s: the GPU decides where it runs);
* reservations: ``compute.reservations.get`` in the owner project and zone: specific-only
  (GKE's SPECIFIC_RESERVATION consumes those), the pool's machine type, shared with the
  environment's project, free VMs for ``max_nodes``, READY;
* the deploying identity: ``cloudresourcemanager.projects.testIamPermissions`` with the
  permissions that create what the plan creates;
* APIs: ``serviceusage.services.batchGet`` of the services the plan enables;
* Kubernetes: ``container.projects.locations.getServerConfig``: the planned release channel's
  default version (what a new cluster gets) against what the plan needs (:func:`version_needs`).
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator
from typing import Any

from stacks.org.spec import EnvSpec
from stacks.plan.engine import Plan
from stacks.preflight import needs as needs_
from stacks.preflight.needs import PoolNeed
from stacks.preflight.quotas import QuotaBook, QuotaValue
from stacks.preflight.quotas import rows as quota_rows
from stacks.preflight.report import ENVIRONMENT, Report, Row

SCOPES = ("https://www.googleapis.com/auth/cloud-platform",)
_TEST_IAM_BATCH = 100  # testIamPermissions accepts up to 100 permissions per call
_BATCH_GET = 30  # serviceusage services.batchGet: at most 30 names per call


class GcpApis:
    """The four API clients preflight reads; ``http`` (tests: recorded responses) or
    ``credentials`` (the user's, google.auth.default)."""

    def __init__(self, *, http: Any = None, credentials: Any = None) -> None:
        with quiet_google():
            from googleapiclient import discovery

        how: dict[str, Any] = {"http": http} if http is not None else {"credentials": credentials}

        def build(api: str, version: str) -> Any:
            return discovery.build(api, version, static_discovery=True, cache_discovery=False,
                                   **how)

        self.compute = build("compute", "v1")
        self.crm = build("cloudresourcemanager", "v1")
        self.serviceusage = build("serviceusage", "v1")
        self.container = build("container", "v1")


@contextlib.contextmanager
def quiet_google() -> Iterator[None]:
    """Imports of Google's client without its Python-version FutureWarning (a notice about
    Google's support calendar, not about this run)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=FutureWarning, module=r"google\.")
        yield


def _error(exc: Exception) -> tuple[int, str]:
    """(HTTP status, message) of a googleapiclient HttpError (0 for anything else)."""
    status = int(getattr(getattr(exc, "resp", None), "status", 0) or 0)
    reason = getattr(exc, "reason", None) or str(exc)
    return status, str(reason).strip().rstrip(".")


def _call(request: Any) -> tuple[dict[str, Any] | None, tuple[int, str] | None]:
    from googleapiclient.errors import HttpError

    try:
        return request.execute(num_retries=2), None
    except HttpError as exc:
        return None, _error(exc)


def quota_book(apis: GcpApis, project: str, region: str) -> QuotaBook:
    """Regional and project-wide quotas with their usage, from the Compute Engine API."""
    book = QuotaBook("the Compute Engine API")
    for scope, request in ((region, apis.compute.regions().get(project=project, region=region)),
                           ("global", apis.compute.projects().get(project=project))):
        body, error = _call(request)
        if error is not None:
            what = f"regions.get {region}" if scope == region else "projects.get"
            book.missing_scopes[scope] = ("unknown", f"compute.{what} failed: {error[0]} "
                                                     f"{error[1]}")
            continue
        for q in (body or {}).get("quotas", []):
            book.set(str(q["metric"]), scope, QuotaValue(float(q.get("limit", 0)),
                                                          float(q.get("usage", 0))))
    return book


def quota_request(project: str) -> Any:
    def step(quota: Any, scope: str, value: float) -> str:
        where = "" if scope == "global" else f" in {scope}"
        return (f"request {quota.quota} = {value:g}{where} for project {project}: "
                f"https://console.cloud.google.com/iam-admin/quotas?project={project} "
                f"(metric compute.googleapis.com/{quota.quota.lower()})")
    return step


def zone_row(apis: GcpApis, project: str, need: PoolNeed) -> Row:
    shape = need.shape
    offered, other = [], []
    for zone in need.zones:
        if shape.gpu_attached:
            request = apis.compute.acceleratorTypes().get(
                project=project, zone=zone, acceleratorType=shape.gcp_accelerator_type)
        else:
            request = apis.compute.machineTypes().get(project=project, zone=zone,
                                                      machineType=shape.machine_type)
        _, error = _call(request)
        if error is None:
            offered.append(zone)
        elif error[0] == 404:
            other.append(zone)
        else:
            return Row(need.subject, "zones", "unknown",
                       f"compute.{'acceleratorTypes' if shape.gpu_attached else 'machineTypes'}"
                       f".get in {zone} failed: {error[0]} {error[1]}")
    what = shape.gcp_accelerator_type if shape.gpu_attached else shape.machine_type
    if not other:
        return Row(need.subject, "zones", "ok", f"{what} offered to {project} in "
                   f"{', '.join(offered)}")
    step = (f"set zones: [{', '.join(offered)}] on the pool" if offered
            else "choose a region or accelerator offered to the project")
    return Row(need.subject, "zones", "short", f"{what} is not offered to {project} in "
               f"{', '.join(other)} (offered in: {', '.join(offered) or 'none of its zones'})",
               next_step=step, short_by=len(other), unit="zones")


def reservation_rows(apis: GcpApis, env: EnvSpec, need: PoolNeed) -> list[Row]:
    reservation = need.pool.reservation
    assert reservation is not None and reservation.name is not None
    shape, pool = need.shape, need.pool
    owner = reservation.project or str(env.project)
    check = f"reservation {reservation.name}"
    body, error = _call(apis.compute.reservations().get(
        project=owner, zone=reservation.zone, reservation=reservation.name))
    create = (f"gcloud compute reservations create {reservation.name} --project={owner} "
              f"--zone={reservation.zone} --machine-type={shape.machine_type} "
              f"--vm-count={pool.max_nodes} --require-specific-reservation")
    if shape.gpu_attached:
        create += f" --accelerator=count={shape.gpus_per_node},type={shape.gcp_accelerator_type}"
    if owner != env.project:
        create += f" --share-setting=projects --share-with={env.project}"
    if error is not None:
        if error[0] == 404:
            return [Row(need.subject, check, "short", f"no reservation {reservation.name} in "
                        f"{reservation.zone} of project {owner}", next_step=create,
                        short_by=pool.max_nodes, unit="VMs")]
        return [Row(need.subject, check, "unknown", f"compute.reservations.get failed: "
                    f"{error[0]} {error[1]} (needs compute.reservations.get on {owner})")]
    return [_reservation_verdict(need, env, body or {}, owner, check)]


def _reservation_verdict(need: PoolNeed, env: EnvSpec, body: dict[str, Any], owner: str,
                         check: str) -> Row:
    reservation, shape, pool = need.pool.reservation, need.shape, need.pool
    assert reservation is not None
    specific = body.get("specificReservation") or {}
    props = specific.get("instanceProperties") or {}
    count, in_use = int(specific.get("count", 0)), int(specific.get("inUseCount", 0))
    machine = str(props.get("machineType", ""))
    update = (f"gcloud compute reservations update {reservation.name} --project={owner} "
              f"--zone={reservation.zone}")
    problems: list[tuple[str, str]] = []
    if machine != shape.machine_type:
        problems.append((f"it reserves {machine or 'no machine type'}, the pool runs "
                         f"{shape.machine_type}", "create a reservation of "
                         f"{shape.machine_type} and name it in the pool's reservation"))
    if shape.gpu_attached:
        gpus = {a.get("acceleratorType"): int(a.get("acceleratorCount", 0))
                for a in props.get("guestAccelerators", [])}
        if gpus.get(shape.gcp_accelerator_type) != shape.gpus_per_node:
            problems.append((f"it reserves accelerators {gpus or 'none'}, the pool needs "
                             f"{shape.gpus_per_node} x {shape.gcp_accelerator_type}",
                             "reserve the pool's accelerators"))
    if body.get("specificReservationRequired") is not True:
        problems.append(("it is not specific-only, so any VM may consume it (GKE node pools "
                         "target specific reservations)", "recreate it with "
                         "--require-specific-reservation"))
    if owner != env.project:
        share = body.get("shareSettings") or {}
        shared = share.get("shareType") == "ORGANIZATION" or \
            str(env.project) in (share.get("projectMap") or {})
        if not shared:
            problems.append((f"it is not shared with {env.project}",
                             f"{update} --share-with={env.project}"))
    status = str(body.get("status", ""))
    free = count - in_use
    detail = (f"{status or 'no status'} in {reservation.zone} of {owner}: {count} x "
              f"{machine or '?'}, {in_use} in use, {free} free; the pool needs "
              f"{pool.max_nodes}")
    if problems:
        return Row(need.subject, check, "short", detail + "; " + "; ".join(p for p, _ in problems),
                   next_step="; ".join(s for _, s in problems))
    if status != "READY":
        return Row(need.subject, check, "unknown", detail + " (not READY yet)")
    if free < pool.max_nodes:
        return Row(need.subject, check, "short", detail,
                   next_step=f"{update} --vm-count={in_use + pool.max_nodes}",
                   short_by=pool.max_nodes - free, unit="VMs")
    return Row(need.subject, check, "ok", detail)


def permission_row(apis: GcpApis, project: str, plan: Plan) -> tuple[Row, set[str] | None]:
    """The deploying identity holds every permission that creates what the plan creates."""
    wanted = needs_.permissions(plan, "gcp")
    granted: set[str] = set()
    for batch in needs_.chunks(wanted.wanted, _TEST_IAM_BATCH):
        body, error = _call(apis.crm.projects().testIamPermissions(
            resource=project, body={"permissions": batch}))
        if error is not None:
            return Row(ENVIRONMENT, "permissions", "unknown",
                       f"cloudresourcemanager.projects.testIamPermissions failed: {error[0]} "
                       f"{error[1]}"), None
        granted |= set((body or {}).get("permissions", []))
    denied = [p for p in wanted.wanted if p not in granted]
    check = f"permissions ({len(wanted.wanted)})"
    note = ("; budgets need billing.budgets.create on the billing account (not tested here)"
            if any(r.type == "gcp:billing/budget:Budget" for r in plan.resources) else "")
    if wanted.unmapped:
        note += f"; not checked: {', '.join(wanted.unmapped)}"
    if not denied:
        return Row(ENVIRONMENT, check, "ok", f"every permission the plan needs on {project}"
                   + note), granted
    roles = sorted({needs_.gcp_role_for(p) for p in denied})
    step = " && ".join(f"gcloud projects add-iam-policy-binding {project} "
                       f"--member=user:$(gcloud config get-value account) --role={r}"
                       for r in roles)
    return Row(ENVIRONMENT, check, "short", f"denied on {project}: {', '.join(denied)}" + note,
               next_step=step, short_by=len(denied), unit="permissions"), granted


def api_row(apis: GcpApis, project: str, plan: Plan, granted: set[str] | None) -> Row:
    """The APIs the plan enables are on, or the deploying identity may switch them on."""
    wanted = needs_.services(plan)
    disabled: list[str] = []
    for batch in needs_.chunks(wanted, _BATCH_GET):
        body, error = _call(apis.serviceusage.services().batchGet(
            parent=f"projects/{project}", names=[f"projects/{project}/services/{s}"
                                                for s in batch]))
        if error is not None:
            return Row(ENVIRONMENT, "APIs", "unknown", f"serviceusage.services.batchGet failed: "
                       f"{error[0]} {error[1]}",
                       next_step=f"gcloud services enable serviceusage.googleapis.com "
                                 f"--project={project}")
        disabled += [str(s["name"]).rsplit("/", 1)[-1] for s in (body or {}).get("services", [])
                     if s.get("state") != "ENABLED"]
    check = f"APIs ({len(wanted)})"
    if not disabled:
        return Row(ENVIRONMENT, check, "ok", f"all enabled on {project}")
    if granted is not None and "serviceusage.services.enable" in granted:
        return Row(ENVIRONMENT, check, "ok", f"{len(disabled)} disabled ({', '.join(disabled)});"
                   " `pulumi up` enables them (serviceusage.services.enable is granted)")
    return Row(ENVIRONMENT, check, "short", f"disabled and the deploying identity may not "
               f"enable them: {', '.join(disabled)}",
               next_step=f"gcloud services enable {' '.join(disabled)} --project={project}",
               short_by=len(disabled), unit="APIs")


#: GKE versions the plan's features need: flex-start node pools from 1.32.2-gke.1652000 (GKE,
#: "About flex-start provisioning mode": sources.csv gke-flex-start);
#: admissionregistration.k8s.io/v1 ValidatingAdmissionPolicy from 1.30, where it went GA
#: (Kubernetes docs, "Validating Admission Policy": "FEATURE STATE: Kubernetes v1.30 [stable]").
FLEX_START_VERSION = "1.32.2-gke.1652000"
ADMISSION_POLICY_VERSION = "1.30"
_VAP = "kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicy"


def gke_version(text: str) -> tuple[int, ...]:
    """``1.32.2-gke.1652000`` -> (1, 32, 2, 1652000); ``1.30`` -> (1, 30): comparable.
    Unparseable parts end the tuple (an unknown version compares as its known prefix)."""
    out: list[int] = []
    for part in text.replace("-gke.", ".").split("."):
        if not part.isdigit():
            break
        out.append(int(part))
    return tuple(out)


def version_needs(plan: Plan) -> list[tuple[str, str]]:
    """(minimum GKE version, what needs it) for the plan's version-bound features."""
    needs: list[tuple[str, str]] = []
    flex = sorted(r.name for r in plan.resources if r.type == "gcp:container/nodePool:NodePool"
                  and (r.inputs.get("nodeConfig") or {}).get("flexStart") is True)
    if flex:
        needs.append((FLEX_START_VERSION, f"flex-start node pools ({', '.join(flex)})"))
    if any(r.type == _VAP for r in plan.resources):
        needs.append((ADMISSION_POLICY_VERSION, "the team isolation ValidatingAdmissionPolicy "
                                                "(admissionregistration.k8s.io/v1)"))
    return needs


def kubernetes_row(apis: GcpApis, project: str, region: str, plan: Plan) -> Row:
    channel = needs_.release_channel(plan) or "REGULAR"
    body, error = _call(apis.container.projects().locations().getServerConfig(
        name=f"projects/{project}/locations/{region}"))
    if error is not None:
        return Row(ENVIRONMENT, "Kubernetes version", "unknown",
                   f"container.projects.locations.getServerConfig failed: {error[0]} {error[1]}")
    found = next((c for c in (body or {}).get("channels", []) if c.get("channel") == channel),
                 None)
    if found is None:
        return Row(ENVIRONMENT, "Kubernetes version", "unknown",
                   f"release channel {channel} is not offered in {region}")
    default = str(found.get("defaultVersion") or "")
    behind = [(v, what) for v, what in version_needs(plan)
              if gke_version(default) < gke_version(v)]
    if behind:
        needed = max((v for v, _ in behind), key=gke_version)
        return Row(ENVIRONMENT, "Kubernetes version", "short",
                   f"release channel {channel}: new clusters get {default}; "
                   + "; ".join(f"{what} need {v} or later" for v, what in behind),
                   next_step=f"wait until the {channel} channel's default reaches {needed} "
                   f"(`gcloud container get-server-config --region={region} "
                   f"--flatten=channels --filter=channel={channel} "
                   "--format='value(defaultVersion)'`), or until then plan without what "
                   "needs it (flex-start: capacity: spot or on-demand)")
    return Row(ENVIRONMENT, "Kubernetes version", "ok",
               f"release channel {channel}: new clusters get {default}, which has what the "
               "plan needs, and GKE keeps channel clusters in standard support")


def run(env: EnvSpec, plan: Plan, apis: GcpApis, *, source: str) -> Report:
    """Every check of a GCP environment, online."""
    project, region = str(env.project), env.region
    pools = needs_.pools(env)
    report = Report.of(env, tuple(p.subject for p in pools), source)
    book = quota_book(apis, project, region)
    report.rows += quota_rows(pools, region, book, quota_request(project))
    for need in pools:
        report.rows.append(zone_row(apis, project, need))
        if need.pool.capacity == "reservation":
            report.rows += reservation_rows(apis, env, need)
    perm, granted = permission_row(apis, project, plan)
    report.rows += [perm, api_row(apis, project, plan, granted),
                    kubernetes_row(apis, project, region, plan)]
    return report.ordered()


def run_saved(env: EnvSpec, book: QuotaBook) -> Report:
    """The quota checks of a GCP environment on saved ``gcloud`` output; the rest skipped."""
    pools = needs_.pools(env)
    report = Report.of(env, tuple(p.subject for p in pools), f"saved output: {book.source}")
    report.rows += [Row(p.subject, f"reservation {_name(p)}", "skipped",
                        "needs the cloud API (run without --quotas)") for p in pools
                    if p.pool.reservation is not None]
    report.rows += quota_rows(pools, env.region, book, quota_request(str(env.project)))
    report.rows.append(Row(ENVIRONMENT, "zones, reservations, permissions, APIs", "skipped",
                           "--quotas reads saved quota output only; run without it, with "
                           "Google credentials, to check these"))
    return report.ordered()


def _name(need: PoolNeed) -> str:
    reservation = need.pool.reservation
    assert reservation is not None
    return reservation.name or reservation.reference
