"""AWS components of a Trellis ML platform (type tokens ``trellis:aws:<Name>``).

Each is one logical unit, complete when it returns; they take plain typed arguments and know
nothing about org.yaml (:mod:`stacks.compose_aws` maps an environment onto them).
"""

from components.aws.bucket import Bucket, BucketArgs
from components.aws.budget import Budget, BudgetArgs
from components.aws.cluster import Cluster, ClusterAccess, ClusterArgs, SystemNodeGroupArgs
from components.aws.gpu_node_group import GpuNodeGroup, GpuNodeGroupArgs
from components.aws.identity import TeamIdentity, TeamIdentityArgs
from components.aws.key import EnvironmentKey, EnvironmentKeyArgs
from components.aws.network import Network, NetworkArgs
from components.aws.pipeline import Pipeline, PipelineArgs
from components.aws.registry import (
    RegistrySettings,
    RegistrySettingsArgs,
    TeamRegistry,
    TeamRegistryArgs,
)

__all__ = [
    "Bucket", "BucketArgs", "Budget", "BudgetArgs", "Cluster", "ClusterAccess", "ClusterArgs",
    "EnvironmentKey", "EnvironmentKeyArgs", "GpuNodeGroup", "GpuNodeGroupArgs", "Network",
    "NetworkArgs", "Pipeline", "PipelineArgs", "RegistrySettings", "RegistrySettingsArgs",
    "SystemNodeGroupArgs", "TeamIdentity", "TeamIdentityArgs", "TeamRegistry",
    "TeamRegistryArgs",
]
