"""AWS components of a Trellis ML platform (type tokens ``trellis:aws:<Name>``).

Each is one logical unit, complete when it returns; they take plain typed arguments and know
nothing about org.yaml (:mod:`stacks.compose.aws` maps an environment onto them). Classes whose
name GCP also uses carry an ``Aws`` prefix (the any-language schema is flat, ADR 0006); the
short names are aliases for Python callers. The type strings, and so the URNs, are unaffected.
"""

from components.aws.bucket import AwsBucket, AwsBucketArgs, Bucket, BucketArgs
from components.aws.budget import AwsBudget, AwsBudgetArgs, Budget, BudgetArgs
from components.aws.cluster import (
    AwsCluster,
    AwsClusterAccess,
    AwsClusterArgs,
    AwsSystemNodeGroupArgs,
    Cluster,
    ClusterAccess,
    ClusterArgs,
    SystemNodeGroupArgs,
)
from components.aws.gpu_node_group import GpuNodeGroup, GpuNodeGroupArgs
from components.aws.identity import (
    AwsTeamIdentity,
    AwsTeamIdentityArgs,
    TeamIdentity,
    TeamIdentityArgs,
)
from components.aws.key import EnvironmentKey, EnvironmentKeyArgs
from components.aws.network import AwsNetwork, AwsNetworkArgs, Network, NetworkArgs
from components.aws.pipeline import AwsPipeline, AwsPipelineArgs, Pipeline, PipelineArgs
from components.aws.registry import (
    AwsTeamRegistry,
    AwsTeamRegistryArgs,
    RegistrySettings,
    RegistrySettingsArgs,
    TeamRegistry,
    TeamRegistryArgs,
)

__all__ = [
    "AwsBucket", "AwsBucketArgs", "AwsBudget", "AwsBudgetArgs", "AwsCluster",
    "AwsClusterAccess", "AwsClusterArgs", "AwsNetwork", "AwsNetworkArgs", "AwsPipeline",
    "AwsPipelineArgs", "AwsSystemNodeGroupArgs", "AwsTeamIdentity", "AwsTeamIdentityArgs",
    "AwsTeamRegistry", "AwsTeamRegistryArgs", "Bucket", "BucketArgs", "Budget", "BudgetArgs",
    "Cluster", "ClusterAccess", "ClusterArgs", "EnvironmentKey", "EnvironmentKeyArgs",
    "GpuNodeGroup", "GpuNodeGroupArgs", "Network", "NetworkArgs", "Pipeline", "PipelineArgs",
    "RegistrySettings", "RegistrySettingsArgs", "SystemNodeGroupArgs", "TeamIdentity",
    "TeamIdentityArgs", "TeamRegistry", "TeamRegistryArgs",
]
