"""GCP components of the Trellis ML platform (type tokens ``trellis:gcp:<Name>``).

Each module is one logical unit, complete when it returns; :mod:`stacks.compose.gcp` maps an
environment of org.yaml onto them, and platform teams may compose them directly. Classes whose
name AWS also uses carry a ``Gcp`` prefix (the any-language schema is flat, ADR 0006); the short
names are aliases for Python callers. The type strings, and so the URNs, are unaffected.
"""

from components.gcp.access import (
    GcpProjectAccess,
    GcpProjectAccessArgs,
    ProjectAccess,
    ProjectAccessArgs,
)
from components.gcp.alerts import (
    AlertChannels,
    AlertChannelsArgs,
    GcpAlertChannels,
    GcpAlertChannelsArgs,
)
from components.gcp.bucket import Bucket, BucketArgs, GcpBucket, GcpBucketArgs
from components.gcp.budget import Budget, BudgetArgs, GcpBudget, GcpBudgetArgs
from components.gcp.cluster import (
    Cluster,
    ClusterArgs,
    GcpCluster,
    GcpClusterArgs,
    GcpSystemPoolArgs,
    SystemPoolArgs,
)
from components.gcp.cpu_pool import (
    CpuNodePool,
    CpuNodePoolArgs,
    GcpCpuNodePool,
    GcpCpuNodePoolArgs,
)
from components.gcp.gpu_pool import GpuNodePool, GpuNodePoolArgs
from components.gcp.identity import (
    GcpTeamIdentity,
    GcpTeamIdentityArgs,
    TeamIdentity,
    TeamIdentityArgs,
)
from components.gcp.keys import (
    EncryptionKeys,
    EncryptionKeysArgs,
    GcpEncryptionKeys,
    GcpEncryptionKeysArgs,
    GcpKeyArgs,
    KeyArgs,
)
from components.gcp.network import GcpNetwork, GcpNetworkArgs, Network, NetworkArgs, subnet_ranges
from components.gcp.pipeline import GcpPipeline, GcpPipelineArgs, Pipeline, PipelineArgs
from components.gcp.registry import (
    GcpTeamRegistry,
    GcpTeamRegistryArgs,
    TeamRegistry,
    TeamRegistryArgs,
)
from components.gcp.services import (
    PLATFORM_SERVICES,
    GcpServices,
    GcpServicesArgs,
    Services,
    ServicesArgs,
)

__all__ = [
    "PLATFORM_SERVICES",
    "AlertChannels",
    "AlertChannelsArgs",
    "Bucket",
    "BucketArgs",
    "Budget",
    "BudgetArgs",
    "Cluster",
    "ClusterArgs",
    "CpuNodePool",
    "CpuNodePoolArgs",
    "EncryptionKeys",
    "EncryptionKeysArgs",
    "GcpAlertChannels",
    "GcpAlertChannelsArgs",
    "GcpBucket",
    "GcpBucketArgs",
    "GcpBudget",
    "GcpBudgetArgs",
    "GcpCluster",
    "GcpClusterArgs",
    "GcpCpuNodePool",
    "GcpCpuNodePoolArgs",
    "GcpEncryptionKeys",
    "GcpEncryptionKeysArgs",
    "GcpKeyArgs",
    "GcpNetwork",
    "GcpNetworkArgs",
    "GcpPipeline",
    "GcpPipelineArgs",
    "GcpProjectAccess",
    "GcpProjectAccessArgs",
    "GcpServices",
    "GcpServicesArgs",
    "GcpSystemPoolArgs",
    "GcpTeamIdentity",
    "GcpTeamIdentityArgs",
    "GcpTeamRegistry",
    "GcpTeamRegistryArgs",
    "GpuNodePool",
    "GpuNodePoolArgs",
    "KeyArgs",
    "Network",
    "NetworkArgs",
    "Pipeline",
    "PipelineArgs",
    "ProjectAccess",
    "ProjectAccessArgs",
    "Services",
    "ServicesArgs",
    "SystemPoolArgs",
    "TeamIdentity",
    "TeamIdentityArgs",
    "TeamRegistry",
    "TeamRegistryArgs",
    "subnet_ranges",
]
