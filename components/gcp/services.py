"""Project services (APIs) the platform uses, and the Vertex AI service agents.

Everything else in an environment takes :attr:`Services.project` as its ``project`` input: that
output resolves only once every service is enabled, so each resource depends on the APIs it
needs through data flow (children get ``parent=self`` only, never a caller's ``depends_on``).
"""

# No `from __future__ import annotations`: hosted for other languages (docs/adr/0006).
from collections.abc import Sequence
from typing import NotRequired, TypedDict

import pulumi
import pulumi_gcp as gcp

PLATFORM_SERVICES: tuple[str, ...] = (
    "aiplatform.googleapis.com",  # Vertex AI pipelines and model registry
    "artifactregistry.googleapis.com",  # team image and pipeline-template repositories
    "cloudresourcemanager.googleapis.com",  # project IAM members
    "cloudscheduler.googleapis.com",  # pipeline schedules
    "compute.googleapis.com",  # VPC, router, NAT, node VMs
    "container.googleapis.com",  # GKE
    "containerfilesystem.googleapis.com",  # image streaming on GPU nodes (multi-GB images)
    "containerscanning.googleapis.com",  # Artifact Registry vulnerability scanning
    "iam.googleapis.com",  # service accounts
    "iamcredentials.googleapis.com",  # Workload Identity token exchange, keyless impersonation
    "logging.googleapis.com",  # cluster logging
    "monitoring.googleapis.com",  # cluster monitoring, budget notification channels
    "serviceusage.googleapis.com",  # Service Usage (projects created by API have none on)
    "storage.googleapis.com",  # buckets
)
"""APIs every environment enables; ``billingbudgets.googleapis.com`` is added with budgets and
``cloudkms.googleapis.com`` with customer-managed keys."""

BUDGET_SERVICE = "billingbudgets.googleapis.com"
KMS_SERVICE = "cloudkms.googleapis.com"
CUSTOM_CODE_AGENT_ROLE = "roles/aiplatform.customCodeServiceAgent"
"""The project role Google grants the Vertex AI Custom Code Service Agent
(``service-<number>@gcp-sa-aiplatform-cc.iam.gserviceaccount.com``), as which a CustomJob,
hyperparameter tuning job or training pipeline submitted *without* a service account runs. It
holds ``storage.objects.*`` on every bucket of the project and
``iam.serviceAccounts.getAccessToken`` on every service account: any principal allowed to
create such a job reads every team's data and becomes any team's identity. Role contents:
darkbitio/gcp-iam-role-permissions (roles/aiplatform.customCodeServiceAgent, 2026-08);
https://cloud.google.com/iam/docs/service-agents. docs/adr/0030-vertex-ai-routes-between-teams.md"""


class GcpServicesArgs(TypedDict):
    """Arguments of :class:`Services`."""

    project: str
    """Project id the services are enabled in. Required."""
    services: NotRequired[Sequence[str]]
    """Service names (``container.googleapis.com``). Default: :data:`PLATFORM_SERVICES`.
    Never disabled on destroy (``disable_on_destroy=False``): other workloads in the project
    may use them. https://cloud.google.com/service-usage/docs/enable-disable"""
    vertex_service_agent: NotRequired[bool]
    """Create (look up) the Vertex AI service agent so registries can grant it read access;
    needs ``aiplatform.googleapis.com`` in ``services``. Default: true.
    https://cloud.google.com/vertex-ai/docs/general/access-control#service-agents"""
    restrict_custom_code_agent: NotRequired[bool]
    """Remove :data:`CUSTOM_CODE_AGENT_ROLE` from the Vertex AI Custom Code Service Agent
    (``projects.IamMemberRemove``), so Vertex AI jobs run only as a service account their
    creator may act as; a job submitted without one can no longer read buckets, pull images or
    mint tokens. Needs ``vertex_service_agent``. Default: true.
    https://cloud.google.com/vertex-ai/docs/general/custom-service-account"""


class GcpServices(pulumi.ComponentResource):
    """Enables the platform's APIs in one project; ``project`` waits for all of them."""

    project: pulumi.Output[str]
    """The project id, resolved after every service is enabled: use it as ``project`` input."""
    vertex_agent_member: pulumi.Output[str] | None
    """``serviceAccount:service-<number>@gcp-sa-aiplatform.iam.gserviceaccount.com``."""
    custom_code_agent_member: pulumi.Output[str] | None
    """``serviceAccount:service-<number>@gcp-sa-aiplatform-cc.iam.gserviceaccount.com``."""

    def __init__(self, name: str, args: GcpServicesArgs,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("trellis:gcp:Services", name, None, opts)
        project = args["project"]
        names = tuple(args.get("services", PLATFORM_SERVICES))
        self.services = self._create_services(name, project, names)
        self.project = pulumi.Output.all(*[s.id for s in self.services.values()]).apply(
            lambda _ids: project)
        self.vertex_agent_member = self.custom_code_agent_member = None
        if args.get("vertex_service_agent", True):
            agent = self._create_vertex_agent(name, project)
            self.vertex_agent_member = agent.member
            # Both agents are named after the project number: the custom code agent's address
            # is the Vertex AI agent's with the `-cc` domain (https://cloud.google.com/iam/docs/
            # service-agents), so no project lookup is needed.
            self.custom_code_agent_member = agent.email.apply(
                lambda email: "serviceAccount:" + str(email).replace(
                    "@gcp-sa-aiplatform.", "@gcp-sa-aiplatform-cc."))
            if args.get("restrict_custom_code_agent", True):
                gcp.projects.IamMemberRemove(
                    f"{name}-aiplatform-cc-project-role", project=self.project,
                    role=CUSTOM_CODE_AGENT_ROLE, member=self.custom_code_agent_member,
                    opts=pulumi.ResourceOptions(parent=self))
        elif args.get("restrict_custom_code_agent", False):
            raise ValueError(f"Services '{name}': restrict_custom_code_agent needs "
                             "vertex_service_agent")
        self.register_outputs({"project": self.project,
                               "services": sorted(self.services),
                               "vertex_agent_member": self.vertex_agent_member,
                               "custom_code_agent_member": self.custom_code_agent_member})

    def _create_services(self, name: str, project: str,
                         names: Sequence[str]) -> dict[str, gcp.projects.Service]:
        # Enabled in parallel: the calls are billed to the deployer's own quota project (the
        # provider sets no user_project_override), so none waits for Service Usage or
        # Resource Manager to be on in this project first (terraform-provider-google#14174).
        return {svc: gcp.projects.Service(
            f"{name}-{svc.split('.')[0]}", project=project, service=svc,
            disable_on_destroy=False, opts=pulumi.ResourceOptions(parent=self))
            for svc in names}

    def _create_vertex_agent(self, name: str, project: str) -> gcp.projects.ServiceIdentity:
        api = "aiplatform.googleapis.com"
        if api not in self.services:
            raise ValueError(f"Services '{name}': vertex_service_agent needs '{api}' in services")
        ready = self.services[api].id.apply(lambda _id: project)
        return gcp.projects.ServiceIdentity(f"{name}-aiplatform-agent", project=ready,
                                            service=api,
                                            opts=pulumi.ResourceOptions(parent=self))


Services = GcpServices
"""Python name of :class:`GcpServices` (the any-language schema needs unique class names)."""
ServicesArgs = GcpServicesArgs
