"""A team's identities: the workload service account (Workload Identity), pipeline and
scheduler service accounts, and the project roles of the team's members.

Keyless throughout: pods get the workload SA through Workload Identity, scheduled pipelines
through Cloud Scheduler OAuth tokens. Members get what they need to use what the team owns
(the bucket and registry grants live with the bucket and registry) plus viewing the cluster
and using Vertex AI; never ``roles/owner|editor|viewer``.
"""

# No `from __future__ import annotations`: hosted for other languages (docs/adr/0006).
from collections.abc import Sequence
from typing import NotRequired, TypedDict

import pulumi
import pulumi_gcp as gcp

from components.gcp import _iam

MEMBER_ROLES: tuple[str, ...] = ("roles/container.clusterViewer", "roles/aiplatform.user")
"""Project roles of a team's members, granted by ``GcpProjectAccess``: get cluster credentials
(Kubernetes RBAC decides the rest) and use Vertex AI (pipelines, model registry).
https://cloud.google.com/iam/docs/roles-permissions/container"""
SCHEDULE_READER_ROLES: tuple[str, ...] = ("roles/cloudscheduler.viewer",)
"""Project roles of the members of a team whose pipeline template is read from ``gs://`` by
``pulumi up``: the request the schedule posts is the only copy of what was deployed, so starting
a run now reads it from the Cloud Scheduler job (``cloudscheduler.jobs.get`` and ``.fullView``
for its body). Read-only; it shows every job of the project.
https://cloud.google.com/iam/docs/roles-permissions/cloudscheduler"""
WORKLOAD_ROLES: tuple[str, ...] = ("roles/aiplatform.user",)
"""Project roles of the workload SA: register models and start Vertex AI jobs from pods."""
PIPELINE_ROLES: tuple[str, ...] = ("roles/aiplatform.user",)
"""Project roles of the pipeline SA, as which Vertex AI pipeline steps run."""
SCHEDULER_ROLES: tuple[str, ...] = ("roles/aiplatform.user",)
"""Project roles of the scheduler SA: create PipelineJobs."""


class GcpTeamIdentityArgs(TypedDict):
    """Arguments of :class:`TeamIdentity`."""

    project: pulumi.Input[str]
    """Project id (``Services.project``)."""
    team: str
    """Team slug, used in display names."""
    workload_pool: pulumi.Input[str]
    """Workload Identity pool, ``<project>.svc.id.goog`` (``Cluster.workload_pool``, so the
    binding waits for the cluster that creates the pool)."""
    namespace: str
    """Kubernetes namespace of the team's workloads."""
    kubernetes_service_account: str
    """Kubernetes service account in ``namespace`` that acts as the workload SA."""
    workload_identity_name: str
    """Account id of the workload service account."""
    pipeline_identity_name: NotRequired[str | None]
    """Account id of the pipeline service account. Default: None, no pipeline identities."""
    scheduler_identity_name: NotRequired[str | None]
    """Account id of the scheduler SA; needs ``pipeline_identity_name``. Default: None."""
    members: NotRequired[Sequence[str]]
    """IAM principals of the team (``group:...``, ``user:...``); they may start runs as the
    pipeline SA. Their project roles (:data:`MEMBER_ROLES`) are granted once per person by
    ``GcpProjectAccess``. Default: none."""


class GcpTeamIdentity(pulumi.ComponentResource):
    """Workload SA bound to ``<namespace>/<ksa>``, optional pipeline/scheduler SAs, member roles."""

    workload_email: pulumi.Output[str]
    """Email of the workload SA (annotate the Kubernetes SA with it:
    ``iam.gke.io/gcp-service-account``)."""
    workload_member: pulumi.Output[str]
    """``serviceAccount:<workload email>``, for grants."""
    pipeline_email: pulumi.Output[str] | None
    """Email of the pipeline SA Vertex AI runs execute as; None without pipelines."""
    pipeline_member: pulumi.Output[str] | None
    """``serviceAccount:<pipeline email>``; None without pipelines."""
    scheduler_email: pulumi.Output[str] | None
    """Email of the SA Cloud Scheduler authenticates as; None without pipelines."""

    def __init__(self, name: str, args: GcpTeamIdentityArgs,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("trellis:gcp:TeamIdentity", name, None, opts)
        project, team = args["project"], args["team"]
        workload = self._create_workload(name, args)
        self.workload_email, self.workload_member = workload.email, workload.member
        self.pipeline_email = self.pipeline_member = self.scheduler_email = None
        pipeline_id = args.get("pipeline_identity_name")
        if pipeline_id:
            pipeline = _iam.service_account(
                self, f"{name}-pipelines", project=project, account_id=pipeline_id,
                display_name=f"{team} pipelines",
                description=f"Vertex AI pipelines of team {team} run as this account")
            _iam.project_roles(self, f"{name}-pipelines", project=project,
                               member=pipeline.member, roles=PIPELINE_ROLES)
            self.pipeline_email, self.pipeline_member = pipeline.email, pipeline.member
            # Members may start runs as the pipeline SA (and nothing else).
            _iam.impersonators(self, f"{name}-pipelines", service_account_id=pipeline.name,
                               grants=_iam.members_of(args.get("members", ())))
            scheduler_id = args.get("scheduler_identity_name")
            if scheduler_id:
                self.scheduler_email = self._create_scheduler(name, args, scheduler_id,
                                                              pipeline).email
        self.register_outputs({"workload_email": self.workload_email,
                               "pipeline_email": self.pipeline_email,
                               "scheduler_email": self.scheduler_email})

    def _create_workload(self, name: str, args: GcpTeamIdentityArgs) -> gcp.serviceaccount.Account:
        team, project = args["team"], args["project"]
        ns, ksa = args["namespace"], args["kubernetes_service_account"]
        sa = _iam.service_account(
            self, f"{name}-workload", project=project,
            account_id=args["workload_identity_name"], display_name=f"{team} workloads",
            description=f"Pods of team {team} (Kubernetes SA {ns}/{ksa}) act as this account")
        wi_member = pulumi.Output.concat("serviceAccount:", args["workload_pool"],
                                         f"[{ns}/{ksa}]")
        _iam.impersonators(self, f"{name}-workload", service_account_id=sa.name,
                           grants={"ksa": wi_member}, role="roles/iam.workloadIdentityUser")
        _iam.project_roles(self, f"{name}-workload", project=project, member=sa.member,
                           roles=WORKLOAD_ROLES)
        return sa

    def _create_scheduler(self, name: str, args: GcpTeamIdentityArgs, account_id: str,
                          pipeline: gcp.serviceaccount.Account) -> gcp.serviceaccount.Account:
        team, project = args["team"], args["project"]
        sa = _iam.service_account(
            self, f"{name}-scheduler", project=project, account_id=account_id,
            display_name=f"{team} pipeline scheduler",
            description=f"Cloud Scheduler starts the Vertex AI pipelines of team {team} as this")
        _iam.project_roles(self, f"{name}-scheduler", project=project, member=sa.member,
                           roles=SCHEDULER_ROLES)
        # May act as the pipeline SA (to hand it to Vertex AI), on that account only.
        _iam.impersonators(self, f"{name}-scheduler", service_account_id=pipeline.name,
                           grants={"scheduler": sa.member})
        return sa

TeamIdentity = GcpTeamIdentity
"""Python name of :class:`GcpTeamIdentity` (the any-language schema needs unique class names)."""
TeamIdentityArgs = GcpTeamIdentityArgs
