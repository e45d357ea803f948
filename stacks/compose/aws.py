"""One AWS environment of org.yaml, built from :mod:`components.aws`.

Maps the resolved :class:`~stacks.org.spec.EnvSpec` onto components and returns the stack
outputs (the same shape as on GCP). Logical names are the contract of docs/adr/0005: the
environment's components have fixed names (``key``, ``network``, ``cluster``, ``registry``),
a team's are ``<team>-<key>``; renames become aliases. Physical names, including the old ones
stateful resources keep across a rename, are read from the spec (made in
:mod:`stacks.org.names`), never made here.
"""

from __future__ import annotations

from collections.abc import Collection
from itertools import product
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as kubernetes

from components import catalog, cron
from components.aws import (
    Bucket,
    Budget,
    Cluster,
    ClusterAccess,
    EnvironmentKey,
    GpuNodeGroup,
    GpuNodeGroupArgs,
    Network,
    NetworkArgs,
    Pipeline,
    RegistrySettings,
    TeamIdentity,
    TeamRegistry,
)
from components.aws.cluster import SYSTEM_LABELS
from components.aws.cpu_node_group import CpuNodeGroup
from components.aws.pipeline import canonical_definition, parse_s3_uri
from components.k8s import (
    ClusterAutoscaler,
    TeamAdmission,
    TeamAdmissionTeam,
    TeamNamespace,
    eks_kubeconfig,
)
from stacks.org import effective, rules
from stacks.org.spec import EnvSpec, PipelineSpec, TeamSpec

PIPELINE_ROOT = "pipeline-root"
K8S_PROVIDER_NAME = "kubernetes"
GENERAL_POOL = "general"
"""``trellis.dev/pool`` of the general CPU node group, where every team's CPU pods run."""
EKS_SYSTEM_NAMESPACES = ("kube-system", "kube-public", "kube-node-lease", "amazon-cloudwatch",
                         "amazon-guardduty")
"""Namespaces of Kubernetes and of EKS add-ons (CloudWatch Observability, GuardDuty runtime
monitoring): the team admission policy leaves them to their owners (docs/adr/0031)."""


def _aliases(team: TeamSpec, key: str,
             previous: tuple[str, ...] = ()) -> list[pulumi.Input[pulumi.Alias]]:
    """Aliases for every earlier (team, entry key) combination of ``<team>-<key>``."""
    teams = (team.name, *team.previous_names)
    keys = (key, *previous)
    return [pulumi.Alias(name=f"{t}-{k}") for t, k in product(teams, keys)
            if (t, k) != (team.name, key)]


def _team_aliases(team: TeamSpec, suffix: str) -> list[pulumi.Input[pulumi.Alias]]:
    return [pulumi.Alias(name=f"{old}-{suffix}") for old in team.previous_names]


def job_tags(team: TeamSpec) -> dict[str, str]:
    """Tags on every SageMaker job a team's pipelines start: the pipeline role is scoped to
    them (a team never sees or stops another's jobs), and they are the cost allocation tag
    the team's budget filters on."""
    return {"team": team.name}


def definition_object_arns(team: TeamSpec) -> list[str]:
    """S3 object ARNs of the team's ``s3://`` pipeline definitions: what its members publish."""
    out = set()
    for pl in team.pipelines.values():
        if pl.template_is_uri:
            bucket, key = parse_s3_uri(pl.template)
            out.add(f"arn:aws:s3:::{bucket}/{key}")
    return sorted(out)


def read_definition(spec: PipelineSpec) -> str:
    """The local SageMaker pipeline definition as CreatePipeline takes it (validation,
    :mod:`stacks.org.sagemaker`, has already checked it)."""
    assert spec.template_path is not None
    return canonical_definition(spec.template_path.read_text(encoding="utf-8-sig"),
                                f"pipeline '{spec.name}': {spec.template}")


def _access(env: EnvSpec) -> dict[str, ClusterAccess]:
    """Cluster-admin access entries of the environment's admins. Team members reach their
    namespace through the team's member role (TeamIdentity owns its access entry)."""
    return {arn: ClusterAccess(cluster_admin=True) for arn in env.platform.admins}


class DeployerNotAdmin(pulumi.RunError):
    """`pulumi up` runs as a principal that is not among the environment's admins."""


def deployer(env: EnvSpec, provider: aws.Provider) -> str:
    """The IAM role or user running this program, checked against the environment's admins.

    ``get_session_context`` maps an assumed-role session (an SSO permission set, a CI role) to
    its role's ARN, path included, which is what an access entry takes. When admins are listed
    and the deployer is not one of them, stop here, before anything is created: the cluster
    would come up, and the namespaces fail fifteen minutes later with Unauthorized.
    """
    opts = pulumi.InvokeOptions(provider=provider)
    caller = aws.get_caller_identity(opts=opts)
    issuer = aws.iam.get_session_context(arn=caller.arn, opts=opts).issuer_arn
    if issuer.endswith(":root"):
        raise DeployerNotAdmin(
            f"`pulumi up -s {env.name}` runs with the root user of account {env.account}; EKS "
            "access entries cannot name it, and root keys should not exist. Run it as an IAM "
            "role (e.g. through `aws sso login`).")
    admins = env.platform.admins
    if admins and rules.aws_principal(issuer) not in {rules.aws_principal(a) for a in admins}:
        where = env.platform.admins_from
        raise DeployerNotAdmin(
            f"`pulumi up -s {env.name}` runs as {issuer} (session {caller.arn}), which is not "
            f"one of the admins of environment '{env.name}' ({where}: {', '.join(admins)}). "
            "Only admins get cluster access, so the team namespaces could never be created. "
            "Run it as one of them (e.g. `aws sso login` with that permission set, or "
            f"`AWS_PROFILE=...`), or add {issuer} to {where}.")
    return str(issuer)


def running_nodes(env: EnvSpec, provider: aws.Provider, node_group: str) -> int | None:
    """The desired size of an existing node group (None when it does not exist yet)."""
    try:
        group = aws.eks.get_node_group(cluster_name=env.platform.cluster_name,
                                       node_group_name=node_group,
                                       opts=pulumi.InvokeOptions(provider=provider))
    except Exception:  # noqa: BLE001 - the provider's "not found" is a plain Exception
        return None
    configs = group.scaling_configs or []
    desired = configs[0].desired_size if configs else None
    return None if desired is None else int(desired)


def _provider(env: EnvSpec) -> aws.Provider:
    assert env.account is not None
    return aws.Provider("aws", region=env.region, allowed_account_ids=[env.account],
                        default_tags=aws.ProviderDefaultTagsArgs(tags=dict(env.labels)))


def _kubernetes_provider(env: EnvSpec, cluster: Cluster) -> kubernetes.Provider:
    """In-cluster objects go through a provider built from the cluster's outputs.

    Its kubeconfig waits for the admins' access policies (the deployer is an admin: checked by
    :func:`deployer`, or given the deployer access entry), and ``pulumi up`` reaches the API
    from an address in ``platform.admin_cidrs`` (required on aws, ADR 16).
    """
    name = pulumi.Output.all(cluster.name, cluster.admin_principals).apply(lambda v: str(v[0]))
    return kubernetes.Provider(K8S_PROVIDER_NAME, kubeconfig=eks_kubeconfig(
        name, cluster.endpoint, cluster.certificate_authority, env.region))


def build_aws(env: EnvSpec, teams: Collection[str] | None = None) -> dict[str, Any]:
    """Create every resource of ``env`` on AWS; returns the stack outputs.

    ``teams``: only these teams' resources (a shard of a sharded plan); the environment's own
    resources are made from every team of ``env`` as always.
    """
    provider = _provider(env)
    top = pulumi.ResourceOptions(providers=[provider])
    org, name, prod = env.org, env.name, env.production
    tags = dict(env.labels)
    # Before anything is created: who deploys, and may they (ADR 18).
    deploying = deployer(env, provider)

    names = env.platform.names
    assert names.key_alias and names.cluster_role and names.autoscaler_role
    assert names.registry_template_role
    key = EnvironmentKey("key", {"alias": names.key_alias,
                                 "description": f"Trellis {org} {name}: EKS secrets, S3, ECR",
                                 "production": prod, "tags": tags}, top)
    network_args: NetworkArgs = {"name": env.platform.network_name,
                                 "cidr": env.platform.network_cidr, "nat_gateway_per_az": prod,
                                 "cluster_name": env.platform.cluster_name, "tags": tags}
    if env.zone_ids:  # chosen from the catalogue (ADR 15)
        network_args["availability_zone_ids"] = list(env.zone_ids)
        if env.node_zone_ids:  # reservations in other zones: subnets for their node groups
            network_args["node_zone_ids"] = list(env.node_zone_ids)
    else:  # a region the zone table does not cover: the lowest IDs EKS accepts, at deploy time
        network_args["availability_zone_count"] = catalog.EKS_MAX_ZONES
        network_args["excluded_zone_ids"] = sorted(catalog.eks_excluded_zone_ids())
    network = Network("network", network_args, top)
    system = catalog.SYSTEM_POOL["aws"]
    sys_min, sys_max = catalog.system_pool_bounds("aws", production=prod)
    system_node_name = names.system_node_identity
    cluster = Cluster("cluster", {
        "name": env.platform.cluster_name,
        "subnet_ids": network.private_subnet_ids,
        "kms_key_arn": key.arn,
        "admin_cidrs": list(env.platform.admin_cidrs),
        "access": _access(env),
        # No admins listed: whoever deploys is the admin (an entry with a fixed name).
        "deployer_principal_arn": None if env.platform.admins else deploying,
        "kubernetes_version": env.kubernetes_version or catalog.eks_default_version(),
        "role_name": names.cluster_role,
        "autoscaler_role_name": names.autoscaler_role,
        "system_node_group": {
            "node_group_name": names.system_pool,
            "node_role_name": system_node_name, "launch_template_name": system_node_name,
            "instance_type": system["machine_type"], "min_nodes": sys_min, "max_nodes": sys_max,
            "disk_size_gb": system["disk_size_gb"],
            "running_nodes": running_nodes(env, provider, names.system_pool)},
        "production": prod, "tags": tags}, top)
    registry = RegistrySettings("registry", {
        "template_role_name": names.registry_template_role,
        "repository_prefixes": [t.names.container_registry for t in env.teams.values()],
        "kms_key_arn": key.arn, "tags": tags,
        # Account-wide: only when org.yaml asks (platform.registry_scanning).
        "scan_type": (env.platform.registry_scanning or "").upper() or None}, top)
    assert names.general_pool and names.general_node_identity
    # The teams' CPU pods (no selector, no toleration) land here, not on the system nodes.
    CpuNodeGroup("general", {
        "cluster_name": cluster.node_cluster_name, "node_group_name": names.general_pool,
        "node_role_name": names.general_node_identity,
        "launch_template_name": names.general_node_identity,
        "subnet_ids": network.private_subnet_ids, "instance_type": effective.GENERAL_INSTANCE[0],
        "min_nodes": 0, "max_nodes": env.platform.general_max_nodes,
        "running_nodes": running_nodes(env, provider, names.general_pool), "tags": tags}, top)

    k8s = _kubernetes_provider(env, cluster)
    # EKS node groups scale from zero only with the cluster autoscaler in the cluster; it
    # starts once the system nodes and CoreDNS run (system_ready_name), on the system nodes.
    ClusterAutoscaler("cluster-autoscaler", {"cluster_name": cluster.system_ready_name,
                                             "region": env.region,
                                             "kubernetes_version": cluster.kubernetes_version,
                                             "node_selector": dict(SYSTEM_LABELS)},
                      pulumi.ResourceOptions(provider=k8s))
    _admission(env, k8s)
    built = {team.name: _build_team(env, team, top, key, network, cluster, registry, k8s,
                                    provider)
             for team in env.teams.values() if teams is None or team.name in teams}
    return {
        "environment": {"name": name, "cloud": "aws", "tier": env.tier, "region": env.region,
                        "account": env.account, "cluster_name": cluster.name,
                        "cluster_endpoint": cluster.endpoint,
                        "kubernetes_version": cluster.kubernetes_version},
        "teams": built,
    }


def image_repository(env: EnvSpec, team: TeamSpec) -> str:
    """The image reference prefix of a team's ECR repositories (``<prefix>/<image>``)."""
    return (f"{env.account}.dkr.ecr.{env.region}.amazonaws.com/"
            f"{team.names.container_registry}/")


def _admission(env: EnvSpec, k8s: kubernetes.Provider) -> TeamAdmission:
    """The cluster's admission policy: each team's pods on its own pools and images only. The
    nodes pull with AmazonEC2ContainerRegistryPullOnly, i.e. every repository of the account:
    admission, not IAM, keeps one team from running another's images."""
    teams: dict[str, TeamAdmissionTeam] = {
        team.name: {"pools": sorted(team.pools),
                    "image_repositories": [image_repository(env, team)]}
        for team in env.teams.values()}
    return TeamAdmission("team-admission", {
        "teams": teams, "platform_pools": [GENERAL_POOL],
        "system_namespaces": list(EKS_SYSTEM_NAMESPACES), "labels": dict(env.labels)},
        opts=pulumi.ResourceOptions(provider=k8s))


def _build_team(env: EnvSpec, team: TeamSpec, top: pulumi.ResourceOptions, key: EnvironmentKey,
                network: Network, cluster: Cluster, registry: RegistrySettings,
                k8s: kubernetes.Provider, provider: aws.Provider) -> dict[str, Any]:
    t, names, prod, tags = team.name, team.names, env.production, dict(team.labels)

    def opts(aliases: list[pulumi.Input[pulumi.Alias]]) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions.merge(top, pulumi.ResourceOptions(aliases=aliases))

    buckets: dict[str, Bucket] = {}
    for purpose, b in team.buckets.items():
        buckets[purpose] = Bucket(f"{t}-{purpose}", {
            "bucket_name": b.bucket_name, "kms_key_arn": key.arn, "versioning": b.versioning,
            "delete_after_days": b.delete_after_days, "production": prod, "tags": tags},
            opts(_aliases(team, purpose, b.previous_names)))
    root = None
    if names.pipeline_root_bucket:
        root = Bucket(f"{t}-{PIPELINE_ROOT}", {
            "bucket_name": names.pipeline_root_bucket, "kms_key_arn": key.arn, "versioning": prod,
            "production": prod, "tags": tags}, opts(_team_aliases(team, PIPELINE_ROOT)))

    model_group = names.model_registry
    team_registry = TeamRegistry(f"{t}-registry", {
        "prefix": names.container_registry, "template_role_arn": registry.template_role_arn,
        "kms_key_arn": key.arn, "immutable_tags": prod, "model_package_group_name": model_group,
        "description": team.description or f"{t} team", "production": prod, "tags": tags},
        opts(_team_aliases(team, "registry")))

    bucket_arns: dict[str, pulumi.Input[str]] = {p: b.arn for p, b in buckets.items()}
    if root is not None:
        bucket_arns[PIPELINE_ROOT] = root.arn
    identity = TeamIdentity(f"{t}-identity", {
        "team": t, "cluster_name": cluster.name, "namespace": names.namespace,
        "service_account": names.service_account,
        "workload_role_name": names.workload_identity,
        "pipeline_role_name": names.pipeline_identity,
        "scheduler_role_name": names.scheduler_identity if team.pipelines else None,
        "bucket_arns": bucket_arns, "kms_key_arn": key.arn,
        "repository_prefix": names.container_registry, "model_package_group_name": model_group,
        # Built from names, not cluster.arn: the team's roles need not wait for the cluster.
        "cluster_arn": f"arn:aws:eks:{env.region}:{env.account}:cluster/"
                       f"{env.platform.cluster_name}",
        "member_role_name": names.member_role,
        "members": list(team.members),
        "pipeline_names": [pl.pipeline_name for pl in team.pipelines.values()],
        "job_tags": job_tags(team),
        "definition_object_arns": definition_object_arns(team),
        "tags": tags}, opts(_team_aliases(team, "identity")))

    # Namespace and service account of the Pod Identity association; members' edit rights come
    # from the member role's EKS access policy, so no RBAC subjects are needed here.
    TeamNamespace(t, {"team": names.namespace, "gpu_quota": team.max_gpus,
                      "cpu_quota": str(team.quota_vcpus),
                      "memory_quota": f"{team.quota_memory_gb}Gi",
                      "labels": dict(team.labels)},
                  opts=pulumi.ResourceOptions(provider=k8s, aliases=[
                      pulumi.Alias(name=old) for old in team.previous_names]))

    pools = {}
    for pool_key, pool in team.pools.items():
        by_zone = network.private_subnet_ids_by_zone
        # Only subnets in zones that offer the instance type (validation made sure there is one).
        subnets: pulumi.Input[list[str]] = (
            pulumi.Output.all(*[by_zone[z] for z in pool.zone_ids])
            if pool.zone_ids and all(z in by_zone for z in pool.zone_ids)
            else network.private_subnet_ids)
        args: GpuNodeGroupArgs = {
            "cluster_name": cluster.node_cluster_name, "team": t, "pool": pool_key,
            "node_group_name": pool.node_pool_name, "node_role_name": pool.node_identity_name,
            "launch_template_name": pool.node_identity_name,
            "running_nodes": running_nodes(env, provider, pool.node_pool_name),
            "subnet_ids": subnets, "instance_type": pool.machine_type,
            "accelerator": pool.accelerator, "gpus_per_node": pool.gpus_per_node,
            "min_nodes": pool.min_nodes, "max_nodes": pool.max_nodes, "spot": pool.spot,
            "capacity": pool.capacity, "disk_size_gb": pool.disk_size_gb, "tags": tags}
        if pool.reservation is not None:
            args["capacity_reservation_id"] = pool.reservation.reference
            args["capacity_block"] = pool.reservation.capacity_block
        group = GpuNodeGroup(f"{t}-{pool_key}", args,
                             opts(_aliases(team, pool_key, pool.previous_names)))
        pools[pool_key] = {**group.scheduling, "accelerator": pool.accelerator,
                           "machine_type": pool.machine_type, "min_nodes": pool.min_nodes,
                           "max_nodes": pool.max_nodes, "spot": pool.spot,
                           "capacity": pool.capacity, "zones": list(pool.zone_ids)}

    pipelines = {}
    for pl_key, pl in team.pipelines.items():
        assert identity.scheduler_role_name is not None
        assert identity.scheduler_role_arn is not None
        Pipeline(f"{t}-{pl_key}", {
            "pipeline_name": pl.pipeline_name, "description": pl.description,
            "definition": None if pl.template_is_uri else read_definition(pl),
            "definition_s3_uri": pl.template if pl.template_is_uri else None,
            "role_arn": identity.pipeline_role_arn,
            "role_name": identity.pipeline_role_arn.apply(lambda arn: arn.rsplit("/", 1)[-1]),
            "image_repositories": list(pl.image_repositories),
            "scheduler_role_name": identity.scheduler_role_name,
            "scheduler_role_arn": identity.scheduler_role_arn,
            "schedule": pl.schedule, "timezone": pl.timezone, "schedule_name": pl.job_name,
            "parameters": pl.parameters, "tags": tags, "job_tags": job_tags(team),
            # s3:// definitions: their images are checked and granted at `pulumi up`.
            "region": env.region, "account_id": str(env.account),
            "team_repository_prefix": names.container_registry},
            opts(_aliases(team, pl_key, pl.previous_names)))
        pipelines[pl_key] = {"schedule": cron.to_aws(pl.schedule), "timezone": pl.timezone,
                             "template_uri": pl.template if pl.template_is_uri else None,
                             "job_name": pl.job_name, "pipeline_name": pl.pipeline_name}

    if team.budget_usd is not None:
        Budget(f"{t}-budget", {
            "budget_name": names.budget,
            "amount_usd": team.budget_usd, "tag_key": "team", "tag_value": t,
            "contacts": list(team.contacts), "tags": tags}, opts(_team_aliases(team, "budget")))

    return {
        "namespace": names.namespace,
        "service_account": names.service_account,
        "workload_identity": identity.workload_role_arn,
        "pipeline_identity": identity.pipeline_role_arn,
        "member_role": identity.member_role_arn,
        "buckets": {p: b.uri for p, b in buckets.items()},
        "pipeline_root": root.uri if root is not None else None,
        "container_registry": team_registry.repository_url,
        "pipeline_registry": None,
        "model_registry": team_registry.model_package_group_name,
        "gpu_pools": pools,
        "pipelines": pipelines,
    }
