"""Node settings shared by the system pool and the GPU pools, so every node is hardened alike."""

# No `from __future__ import annotations`: hosted for other languages (docs/adr/0006).
from collections.abc import Mapping
from typing import Any

import pulumi
import pulumi_gcp as gcp

from components.gcp import _iam

CLOUD_PLATFORM_SCOPE = "https://www.googleapis.com/auth/cloud-platform"
IMAGE_TYPE = "COS_CONTAINERD"
AUTOSCALED_FIELDS = ["initialNodeCount", "nodeCount"]
"""Changed by the cluster autoscaler (and by GKE on upgrades); never diffed.
https://www.pulumi.com/registry/packages/gcp/api-docs/container/nodepool/"""


def secure_node_config(*, machine_type: str, service_account: pulumi.Input[str],
                       disk_size_gb: int, disk_type: str, labels: Mapping[str, str],
                       resource_labels: Mapping[str, str], **extra: Any) -> Any:
    """``node_config`` of every Trellis node: dedicated SA, GKE metadata server, shielded VM.

    ``labels`` are Kubernetes node labels; ``resource_labels`` are GCP labels on the VMs and
    disks (billing export, budgets). ``extra`` adds pool-specific keys (taints, accelerators).
    """
    return {
        "machine_type": machine_type,
        "service_account": service_account,
        "oauth_scopes": [CLOUD_PLATFORM_SCOPE],  # access is decided by IAM, not scopes
        "image_type": IMAGE_TYPE,
        "disk_size_gb": disk_size_gb,
        "disk_type": disk_type,
        "labels": dict(labels),
        "resource_labels": dict(resource_labels),
        "workload_metadata_config": {"mode": "GKE_METADATA"},
        "shielded_instance_config": {"enable_secure_boot": True,
                                     "enable_integrity_monitoring": True},
        "metadata": {"disable-legacy-endpoints": "true"},
        **extra,
    }


MANAGEMENT: gcp.container.NodePoolManagementArgsDict = {"auto_repair": True,
                                                        "auto_upgrade": True}


def node_identity(parent: pulumi.Resource, name: str, *, project: pulumi.Input[str],
                  account_id: str, display_name: str,
                  description: str
                  ) -> tuple[gcp.serviceaccount.Account, list[pulumi.Resource]]:
    """A dedicated node service account with exactly :data:`_iam.NODE_ROLES` on the project.

    Returns the account and its grants: node pools wait for the grants, so nodes boot able to
    write logs and metrics.
    """
    sa = _iam.service_account(parent, name, project=project, account_id=account_id,
                              display_name=display_name, description=description)
    grants: list[pulumi.Resource] = list(
        _iam.project_roles(parent, name, project=project, member=sa.member,
                           roles=_iam.NODE_ROLES))
    return sa, grants
