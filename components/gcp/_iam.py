"""The one grant style of the GCP components: additive IAM members keyed by stable names.

Every grant Trellis makes is an additive ``*IAMMember`` (never an authoritative ``*IAMBinding``
or ``*IAMPolicy``: those would remove grants other tools or people made). Grantees are passed
as ``Grants`` maps: a stable key (``"workload"``, ``"group:recsys@acme.com"``) to an IAM
member string (``serviceAccount:...``), so the key, not a list index or an unknown email,
becomes part of the child's logical name and adding a grantee never renames another grant.
"""

# No `from __future__ import annotations`: hosted for other languages (docs/adr/0006).
from collections.abc import Mapping, Sequence

import pulumi
import pulumi_gcp as gcp

Grants = Mapping[str, pulumi.Input[str]]
"""IAM members keyed by a stable name: ``{"workload": sa.member, "group:a@b.c": "group:a@b.c"}``."""

NODE_ROLES: tuple[str, ...] = ("roles/container.defaultNodeServiceAccount",)
"""Project roles of a least-privilege GKE node service account: Google's predefined role for
exactly this (logging.logEntries.create, monitoring.metricDescriptors.create/list,
monitoring.timeSeries.create/list, autoscaling.sites.writeMetrics), which covers what the
hand-picked logWriter + metricWriter + monitoring.viewer + resourceMetadata.writer list was for
and adds the autoscaler metrics. CIS GKE Benchmark v2.0.0, 5.2.1; role contents:
darkbitio/gcp-iam-role-permissions (roles/container.defaultNodeServiceAccount).
https://cloud.google.com/kubernetes-engine/docs/how-to/hardening-your-cluster#use_least_privilege_sa
"""


def role_key(role: str) -> str:
    """``roles/logging.logWriter`` -> ``logging.logWriter``: the role part of a logical name."""
    return role.removeprefix("roles/")


def members_of(principals: Sequence[str]) -> dict[str, str]:
    """Human principals (``group:...``, ``user:...``) as :data:`Grants` keyed by themselves."""
    return {p: p for p in principals}


def service_account(parent: pulumi.Resource, name: str, *, project: pulumi.Input[str],
                    account_id: str, display_name: str,
                    description: str) -> gcp.serviceaccount.Account:
    """A keyless service account (Trellis never creates ``serviceaccount.Key``)."""
    return gcp.serviceaccount.Account(
        name, project=project, account_id=account_id, display_name=display_name,
        description=description, opts=pulumi.ResourceOptions(parent=parent))


def project_roles(parent: pulumi.Resource, name: str, *, project: pulumi.Input[str],
                  member: pulumi.Input[str],
                  roles: Sequence[str]) -> list[gcp.projects.IAMMember]:
    """``member`` gets each of ``roles`` on the project; children ``<name>-<role>``."""
    return [gcp.projects.IAMMember(f"{name}-{role_key(role)}", project=project, role=role,
                                   member=member, opts=pulumi.ResourceOptions(parent=parent))
            for role in roles]


def impersonators(parent: pulumi.Resource, name: str, *,
                  service_account_id: pulumi.Input[str], grants: Grants,
                  role: str = "roles/iam.serviceAccountUser") -> list[gcp.serviceaccount.IAMMember]:
    """Grantees get ``role`` on one service account only (never project-wide)."""
    return [gcp.serviceaccount.IAMMember(f"{name}-{role_key(role)}-{key}",
                                         service_account_id=service_account_id, role=role,
                                         member=member, opts=pulumi.ResourceOptions(parent=parent))
            for key, member in grants.items()]
