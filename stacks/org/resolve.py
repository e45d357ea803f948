"""Resolve one environment of a validated org file into its :class:`~stacks.org.spec.EnvSpec`.

Applies the team's environment filter, deep-merges per-environment overrides and decides tier
defaults (:mod:`stacks.org.effective`), looks machine shapes up in the catalogue and makes
every physical name, including the names renames keep (:mod:`stacks.org.names`).

It checks nothing: :func:`stacks.org.load.load` only returns files that
:mod:`stacks.org.validate` accepted, so an exception here is a bug and propagates as one.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from components import catalog
from stacks.org import effective, maintenance, names, sagemaker
from stacks.org.effective import MODEL_BUCKET_PATTERNS, Entry, TeamInEnv
from stacks.org.errors import Issue, OrgError, did_you_mean, format_path
from stacks.org.loaded import LoadedOrg
from stacks.org.model import Org
from stacks.org.spec import (
    BucketSpec,
    EnvSpec,
    GeneralPoolSpec,
    MaintenanceSpec,
    PipelineSpec,
    PlatformNames,
    PlatformSpec,
    PoolSpec,
    ReservationSpec,
    TeamNames,
    TeamSpec,
)

__all__ = ["MANAGED_BY", "MODEL_BUCKET_PATTERNS", "resolve"]

MANAGED_BY = "trellis"


def resolve(loaded: LoadedOrg, env: str) -> EnvSpec:
    """The effective spec of ``env``; raises :class:`OrgError` for an unknown environment."""
    envs = tuple(loaded.org.environments)
    if env not in envs:
        raise OrgError([Issue(f"environment '{env}' is not defined{did_you_mean(env, envs)}; "
                              f"defined: {', '.join(envs)}", ("environments",),
                              str(loaded.path))])
    return _Resolver(loaded, env).spec()


def _sorted(mapping: dict[str, Any]) -> dict[str, Any]:
    """Keys in a fixed order: labels and parameters end up serialised (provider config,
    request bodies), and the order they were written in org.yaml must not change a plan."""
    return dict(sorted(mapping.items()))


class _Resolver:
    """One environment of one org."""

    def __init__(self, loaded: LoadedOrg, env: str) -> None:
        self.loaded, self.env = loaded, env
        self.org: Org = loaded.org
        environment = self.org.environments[env]
        self.environment = environment
        self.region = environment.region or self.org.region
        self.production = environment.tier == "production"
        aws = self.org.cloud == "aws"
        # aws: the network's AZ IDs, chosen from the catalogue (catalog.eks_cluster_zone_ids).
        self.zone_ids = catalog.eks_cluster_zone_ids(self.region) if aws else ()
        self.labels = _sorted({**self.org.labels, **environment.labels, "managed-by": MANAGED_BY,
                               "org": self.org.org, "env": env,
                               "trellis-tier": environment.tier})

    def spec(self) -> EnvSpec:
        org, env, environment = self.org, self.env, self.environment
        teams = {name: self.team(TeamInEnv(name, team, env))
                 for name, team in org.teams.items() if effective.deployed(team, env)}
        made = names.made(names.platform(org.cloud, org.org, env))
        cluster = made.pop("cluster_name")
        p = org.platform
        aws = org.cloud == "aws"
        return EnvSpec(
            org=org.org, cloud=org.cloud, name=env, tier=environment.tier, region=self.region,
            project=environment.project, account=environment.account, labels=self.labels,
            contacts=org.contacts,
            platform=PlatformSpec(p.network_cidr, p.admin_cidrs, p.billing_account,
                                  effective.admins(org, env),
                                  cluster_name=cluster, network_name=cluster,
                                  names=PlatformNames(**made),
                                  gke_security_group=p.gke_security_group,
                                  registry_scanning=p.registry_scanning,
                                  admins_from=format_path(effective.admins_path(org, env)),
                                  general_max_nodes=effective.general_max_nodes(
                                      [(t.cpu_vcpus, t.cpu_memory_gb) for t in teams.values()]),
                                  customer_managed_keys=effective.customer_managed_keys(
                                      org, production=self.production),
                                  budget_currency=p.budget_currency,
                                  maintenance=self.maintenance(),
                                  general_pool=self.general_pool(teams)),
            teams=teams, org_file=self.loaded.path, all_environments=tuple(org.environments),
            kubernetes_version=effective.kubernetes_version(org, env) if aws else None,
            zone_ids=self.zone_ids,
            # aws: reservations' zones outside the network get node-only subnets.
            node_zone_ids=tuple(sorted({z for t in teams.values() for pool in t.pools.values()
                                        for z in pool.zone_ids if z not in self.zone_ids})))

    def general_pool(self, teams: dict[str, TeamSpec]) -> GeneralPoolSpec | None:
        """The shared CPU pool, sized for every team's cpu share; scales to zero in every tier,
        on Spot in sandboxes (cheap) and on demand in production (notebooks are not preempted)."""
        cloud = self.org.cloud
        if cloud != "gcp":
            return None
        shape = catalog.GENERAL_POOL[cloud]
        vcpus = sum(t.cpu_vcpus for t in teams.values())
        memory = sum(t.cpu_memory_gb for t in teams.values())
        return GeneralPoolSpec(
            machine_type=shape["machine_type"], min_nodes=0,
            max_nodes=catalog.general_pool_nodes(cloud, vcpus, memory),
            spot=not self.production, disk_size_gb=shape["disk_size_gb"],
            disk_type=shape["disk_type"])

    def maintenance(self) -> MaintenanceSpec | None:
        """The GKE maintenance policy: production clusters only (sandboxes upgrade any time)."""
        if self.org.cloud != "gcp" or not self.production:
            return None
        policy = self.org.platform.maintenance
        window, _ = maintenance.parse_window(policy.window)
        if window is None:  # validated; unreachable for a loaded org
            raise ValueError(f"platform.maintenance.window {policy.window!r} is invalid")
        start, end = window.first()
        return MaintenanceSpec(
            window_start=start, window_end=end, recurrence=window.recurrence,
            exclusions={name: (*maintenance.exclusion_times(e.start, e.end),
                               maintenance.GKE_SCOPES[e.scope])
                        for name, e in sorted(policy.exclusions.items())})

    def team(self, t: TeamInEnv) -> TeamSpec:
        org = self.org
        cost_center = t.value("cost_center")
        labels = _sorted({**self.labels, "team": t.name,
                          **({"cost-center": cost_center} if cost_center else {})})
        pools = {e.key: self.pool(t, e) for e in t.entries("gpu_pools")}
        buckets = {e.key: self.bucket(t, e) for e in t.entries("buckets")}
        made = names.made(names.team(org.cloud, org.org, self.env, t.name,
                                     tuple(t.team.previous_names),
                                     has_pipelines=bool(t.entries("pipelines"))))
        pipelines = {e.key: self.pipeline(t, e, made["container_registry"])
                     for e in t.entries("pipelines")}
        vcpus, memory_gb = effective.cpu(t)
        return TeamSpec(
            name=t.name, description=t.value("description"), members=t.value("members"),
            contacts=t.team.contacts or org.contacts, cost_center=cost_center,
            budget_usd=t.value("budget_usd"), labels=labels, pools=pools, buckets=buckets,
            pipelines=pipelines,
            names=TeamNames(pipeline_root_bucket=made.pop("pipeline_root_bucket", None),
                            namespace=t.name, service_account=t.name, **made),
            previous_names=t.team.previous_names, cpu_vcpus=vcpus, cpu_memory_gb=memory_gb)

    def pool(self, t: TeamInEnv, pool: Entry) -> PoolSpec:
        cloud, accel = self.org.cloud, pool.value("accelerator")
        gpus = pool.value("gpus_per_node")
        mode = effective.capacity(pool, production=self.production)
        block = effective.capacity_block(pool)
        shape = catalog.shape(cloud, accel, gpus if gpus is not None
                              else catalog.default_gpus_for(cloud, accel, mode, self.region,
                                                            capacity_block=block))
        zones = pool.value("zones")
        return PoolSpec(
            capacity=mode, reservation=self.reservation(pool) if mode == "reservation" else None,
            name=pool.key, accelerator=accel, gpus_per_node=shape.gpus_per_node, shape=shape,
            zones=(tuple(zones) if zones is not None
                   else catalog.zones(cloud, shape.machine_type, self.region))
            if cloud == "gcp" else (),
            min_nodes=pool.value("min_nodes"), max_nodes=pool.value("max_nodes"),
            spot=mode == "spot",
            disk_size_gb=pool.value("disk_size_gb"),
            **names.made(names.pool(cloud, self.org.org, self.env, t.name, pool.key,
                                    pool.previous_names)),
            previous_names=pool.previous_names,
            zone_ids=effective.pool_zone_ids(pool, shape, self.region, self.zone_ids,
                                             reservation=mode == "reservation")
            if cloud == "aws" else ())

    def reservation(self, pool: Entry) -> ReservationSpec:
        """The reservation of a ``capacity: reservation`` pool (validated: one zone given)."""
        written = pool.value("reservation")
        zone = next(iter(pool.value("zones")))
        if self.org.cloud == "aws":
            return ReservationSpec(reference=written.id, zone=zone,
                                   capacity_block=bool(written.capacity_block))
        project = written.project or self.environment.project
        shared = project != self.environment.project
        return ReservationSpec(
            reference=f"projects/{project}/reservations/{written.name}" if shared
            else written.name, zone=zone, project=project, name=written.name)

    def bucket(self, t: TeamInEnv, bucket: Entry) -> BucketSpec:
        physical = names.made(names.bucket(self.org.cloud, self.org.org, self.env, t.name,
                                           tuple(t.team.previous_names), bucket.key,
                                           bucket.previous_names))["bucket_name"]
        model = effective.model_bucket(t.name, bucket, physical)
        return BucketSpec(
            purpose=bucket.key, bucket_name=physical,
            versioning=effective.versioning(bucket, production=self.production, model=model),
            delete_after_days=bucket.value("delete_after_days"),
            previous_names=bucket.previous_names)

    def pipeline(self, t: TeamInEnv, pl: Entry, registry_prefix: str) -> PipelineSpec:
        template = pl.value("template")
        path = None if "://" in template else self._local(template)
        parameters = _sorted(effective.parameters(pl))
        repositories: tuple[str, ...] = ()
        if self.org.cloud == "aws" and path is not None:
            repositories = sagemaker.pull_repositories(
                path, template, parameters, region=self.region,
                account=self.environment.account, team_prefix=registry_prefix)
        return PipelineSpec(
            name=pl.key, template=template, template_path=path,
            schedule=pl.value("schedule"), timezone=pl.value("timezone"),
            parameters=parameters, description=pl.declared.description,
            **names.made(names.pipeline(self.org.cloud, self.org.org, self.env, t.name, pl.key,
                                        pl.previous_names)),
            previous_names=pl.previous_names, image_repositories=repositories)

    def _local(self, template: str) -> Path:
        return (self.loaded.base_dir / template).resolve()
