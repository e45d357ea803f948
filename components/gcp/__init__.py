"""GCP components of the Trellis ML platform (type tokens ``trellis:gcp:<Name>``).

Each module is one logical unit, complete when it returns; :mod:`stacks.compose_gcp` maps an
environment of org.yaml onto them, and platform teams may compose them directly.
"""

from components.gcp.bucket import Bucket, BucketArgs
from components.gcp.budget import Budget, BudgetArgs
from components.gcp.cluster import Cluster, ClusterArgs, SystemPoolArgs
from components.gcp.gpu_pool import GpuNodePool, GpuNodePoolArgs
from components.gcp.identity import TeamIdentity, TeamIdentityArgs
from components.gcp.network import Network, NetworkArgs, subnet_ranges
from components.gcp.pipeline import Pipeline, PipelineArgs
from components.gcp.registry import TeamRegistry, TeamRegistryArgs
from components.gcp.services import PLATFORM_SERVICES, Services, ServicesArgs

__all__ = [
    "PLATFORM_SERVICES",
    "Bucket",
    "BucketArgs",
    "Budget",
    "BudgetArgs",
    "Cluster",
    "ClusterArgs",
    "GpuNodePool",
    "GpuNodePoolArgs",
    "Network",
    "NetworkArgs",
    "Pipeline",
    "PipelineArgs",
    "Services",
    "ServicesArgs",
    "SystemPoolArgs",
    "TeamIdentity",
    "TeamIdentityArgs",
    "TeamRegistry",
    "TeamRegistryArgs",
    "subnet_ranges",
]
