"""Resolve one environment of an org file into its effective :class:`~stacks.org.spec.EnvSpec`.

Applies the team's environment filter, deep-merges per-environment overrides, decides tier
defaults (spot, versioning), looks machine shapes up in the catalogue and makes every
physical name. Problems are collected with the position of the value that caused them (the
override when an override set it).
"""

from __future__ import annotations

import fnmatch
import zoneinfo
from functools import lru_cache
from pathlib import Path
from typing import Any

from components import catalog, cron, naming
from stacks.org import rules
from stacks.org.errors import Issue, OrgError, Path_, did_you_mean
from stacks.org.load import LoadedOrg
from stacks.org.model import Org, Team
from stacks.org.spec import (
    BucketSpec,
    EnvSpec,
    PipelineSpec,
    PlatformSpec,
    PoolSpec,
    TeamNames,
    TeamSpec,
)

MANAGED_BY = "trellis"
#: Buckets whose name matches are model buckets: versioned in every tier. The policy pack's
#: default ``modelBucketPatterns`` (policies/settings.py), so what validates also passes.
MODEL_BUCKET_PATTERNS = ("*model*",)


#: Physical names that must be unique in an environment, by the section that makes them.
_NAMED = {"gpu_pools": ("node_pool_name", "node_identity_name"), "buckets": ("bucket_name",),
          "pipelines": ("job_name",)}


def _is_model_bucket(*names: str) -> bool:
    return any(fnmatch.fnmatchcase(n, p) for n in names for p in MODEL_BUCKET_PATTERNS)


def _sorted(mapping: dict[str, Any]) -> dict[str, Any]:
    """Keys in a fixed order: labels and parameters end up serialised (provider config,
    request bodies), and the order they were written in org.yaml must not change a plan."""
    return dict(sorted(mapping.items()))


def _valid(entries: dict[str, Any]) -> list[tuple[str, Any]]:
    """Entries whose key is well-formed; bad keys are reported once by the key check."""
    return [(k, v) for k, v in entries.items() if rules.ENTRY_KEY.ok(k)]


@lru_cache(maxsize=1)
def _timezones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def _valid_timezone(name: str) -> bool:
    # ZoneInfo reads one file; the full list (for suggestions) is read only on a miss.
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        return False
    return True


class _Resolver:
    def __init__(self, loaded: LoadedOrg, base_dir: Path) -> None:
        self.loaded, self.org, self.src = loaded, loaded.org, loaded.source
        self.base_dir = base_dir
        self.issues: list[Issue] = []
        self.templates: dict[str, tuple[Path, bool]] = {}

    def add(self, path: Path_, msg: str) -> None:
        self.issues.append(self.src.issue(path, msg))

    def name(self, path: Path_, fn: Any, *args: str) -> str:
        try:
            return str(fn(*args))
        except naming.InvalidName as exc:
            self.add(path, str(exc))
            return "-".join(args)

    def env(self, env_name: str) -> EnvSpec:
        org: Org = self.org
        env = org.environments[env_name]
        region = env.region or org.region
        labels = _sorted({**org.labels, **env.labels, "managed-by": MANAGED_BY, "org": org.org,
                          "env": env_name})
        cluster = self.name(("environments", env_name), naming.make,
                            "gke_cluster" if org.cloud == "gcp" else "eks_cluster", org.org,
                            env_name)
        teams = {}
        for team_name, team in org.teams.items():
            if team.environments is not None and env_name not in team.environments:
                continue
            if not rules.TEAM_KEY.ok(team_name):
                continue  # reported by the key check; its derived names would only add noise
            teams[team_name] = self.team(env_name, region, env.tier, labels, team_name, team)
        self.unique_names(env_name, teams)
        p = org.platform
        return EnvSpec(
            org=org.org, cloud=org.cloud, name=env_name, tier=env.tier, region=region,
            project=env.project, account=env.account, labels=labels, contacts=org.contacts,
            platform=PlatformSpec(p.network_cidr, p.admin_cidrs, p.billing_account, p.admins,
                                  cluster_name=cluster, network_name=cluster,
                                  gke_security_group=p.gke_security_group),
            teams=teams, org_file=self.loaded.path, all_environments=tuple(org.environments))

    def team(self, env: str, region: str, tier: str, env_labels: dict[str, str],
             name: str, team: Team) -> TeamSpec:
        org = self.org
        cloud, production = org.cloud, tier == "production"
        base: Path_ = ("teams", name)
        ov = team.overrides.get(env)
        opath: Path_ = (*base, "overrides", env)

        cost_center = ov.cost_center if ov and ov.cost_center is not None else team.cost_center
        labels = _sorted({**env_labels, "team": name,
                          **({"cost-center": cost_center} if cost_center else {})})
        pools = {}
        for key, pool in _valid(team.gpu_pools):
            pov = ov.gpu_pools.get(key) if ov else None

            def pick(field: str, _pool: Any = pool, _pov: Any = pov, _key: str = key) -> Any:
                if _pov is not None and getattr(_pov, field) is not None:
                    return getattr(_pov, field), (*opath, "gpu_pools", _key, field)
                return getattr(_pool, field), (*base, "gpu_pools", _key, field)

            (accel, accel_path) = pick("accelerator")
            (gpus, gpus_path) = pick("gpus_per_node")
            (min_nodes, min_path) = pick("min_nodes")
            (max_nodes, _) = pick("max_nodes")
            (spot, _) = pick("spot")
            (disk, _) = pick("disk_size_gb")
            shape = self.shape(env, region, accel, accel_path, gpus, gpus_path)
            use_spot = (not production) if spot is None else spot
            if shape is not None and not use_spot and not shape.on_demand_available:
                self.add(accel_path, f"{shape.machine_type} ({accel} x{shape.gpus_per_node}) is "
                         f"only sold as spot or flex-start on {cloud}; set spot: true or use "
                         f"{max(catalog.gpu_counts(cloud, accel))} GPUs per node (environment "
                         f"'{env}')")
            if min_nodes > max_nodes:
                self.add(min_path, f"min_nodes {min_nodes} is above max_nodes {max_nodes} in "
                         f"environment '{env}'; lower min_nodes or raise max_nodes")
            if shape is None:
                continue
            ppath = (*base, "gpu_pools", key)
            pools[key] = PoolSpec(
                name=key, accelerator=accel, gpus_per_node=shape.gpus_per_node, shape=shape,
                min_nodes=min_nodes, max_nodes=max_nodes,
                spot=use_spot, disk_size_gb=disk,
                node_pool_name=self.name(ppath, naming.make, "gke_node_pool" if cloud == "gcp"
                                         else "eks_node_group", name, key),
                node_identity_name=(
                    self.name(ppath, naming.gcp_service_account, name, key, "gpu")
                    if cloud == "gcp" else self.name(ppath, naming.iam_role, org.org, env, name,
                                                     key, "node")),
                previous_names=pool.previous_names)
        buckets = {}
        for key, bucket in _valid(team.buckets):
            bov = ov.buckets.get(key) if ov else None
            vpath = (*((*opath, "buckets", key) if bov and bov.versioning is not None
                       else (*base, "buckets", key)), "versioning")
            versioning = bov.versioning if bov and bov.versioning is not None else bucket.versioning
            expiry = (bov.delete_after_days if bov and bov.delete_after_days is not None
                      else bucket.delete_after_days)
            bucket_name = self.name((*base, "buckets", key), naming.bucket, cloud, org.org, env,
                                    name, key)
            model = _is_model_bucket(key, bucket_name, f"{name}-{key}")
            if model and versioning is False:
                self.add(vpath, f"'{key}' is a model bucket (its name matches "
                         f"{', '.join(MODEL_BUCKET_PATTERNS)}): model buckets keep versions in "
                         "every tier (policy TRL-GCS-004 / TRL-S3-006), so an overwrite cannot "
                         "lose a model; remove `versioning: false`")
            buckets[key] = BucketSpec(
                purpose=key, bucket_name=bucket_name,
                versioning=(production or model) if versioning is None else versioning,
                delete_after_days=expiry, previous_names=bucket.previous_names)
        pipelines = {}
        for key, pl in _valid(team.pipelines):
            plov = ov.pipelines.get(key) if ov else None
            ppath = (*base, "pipelines", key)

            def pick_pl(field: str, _pl: Any = pl, _plov: Any = plov,
                        _ppath: Path_ = ppath, _key: str = key) -> Any:
                if _plov is not None and getattr(_plov, field) is not None:
                    return getattr(_plov, field), (*opath, "pipelines", _key, field)
                return getattr(_pl, field), (*_ppath, field)

            (template, tpath) = pick_pl("template")
            (schedule, spath) = pick_pl("schedule")
            (tz, tzpath) = pick_pl("timezone")
            params = _sorted({**pl.parameters, **((plov.parameters or {}) if plov else {})})
            for problem in cron.problems(schedule):
                self.add(spath, problem)
            if cloud == "aws" and not cron.problems(schedule):
                try:
                    cron.to_aws(schedule)
                except ValueError as exc:
                    self.add(spath, str(exc))
            if not _valid_timezone(tz):
                self.add(tzpath, f"'{tz}' is not an IANA time zone"
                         f"{did_you_mean(tz, _timezones())}; e.g. Europe/Berlin, Asia/Seoul, UTC")
            template_path = self.template(template, tpath)
            sched_kind = "scheduler_job" if cloud == "gcp" else "eventbridge_schedule"
            pipelines[key] = PipelineSpec(
                name=key, template=template, template_path=template_path, schedule=schedule,
                timezone=tz, parameters=params, description=pl.description,
                job_name=self.name(ppath, naming.make, sched_kind,
                                   *((name, key) if cloud == "gcp" else (org.org, env, name, key))),
                pipeline_name=self.name(ppath, naming.make, "sagemaker_pipeline", org.org, env,
                                        name, key),
                previous_names=pl.previous_names)
        return TeamSpec(
            name=name,
            description=ov.description if ov and ov.description is not None else team.description,
            members=ov.members if ov and ov.members is not None else team.members,
            contacts=team.contacts or org.contacts, cost_center=cost_center,
            budget_usd=ov.budget_usd if ov and ov.budget_usd is not None else team.budget_usd,
            labels=labels, pools=pools, buckets=buckets, pipelines=pipelines,
            names=self.team_names(env, name, bool(pipelines)),
            previous_names=team.previous_names)

    def unique_names(self, env: str, teams: dict[str, TeamSpec]) -> None:
        """Keys joined with '-' can collide (team a + pool b-c = team a-b + pool c)."""
        seen: dict[tuple[str, str], Path_] = {}

        def claim(kind: str, name: str, path: Path_) -> None:
            first = seen.setdefault((kind, name), path)
            if first != path:
                self.add(path, f"gives the name '{name}' in environment '{env}', as "
                         f"{'.'.join(map(str, first))} does; rename one of the keys")

        for t in teams.values():
            base: Path_ = ("teams", t.name)
            for kind, items in (("gpu_pools", t.pools), ("buckets", t.buckets),
                                ("pipelines", t.pipelines)):
                for key, item in items.items():
                    for attr in _NAMED[kind]:
                        claim(attr, getattr(item, attr), (*base, kind, key))
            for attr, value in vars(t.names).items():
                if value and attr not in ("namespace", "service_account"):
                    claim(attr, value, base)

    def team_names(self, env: str, team: str, has_pipelines: bool) -> TeamNames:
        org, base = self.org, ("teams", team)
        if org.cloud == "gcp":
            def ident(kind: str) -> str:
                return self.name(base, naming.gcp_service_account, team, kind)
            registry = self.name(base, naming.make, "artifact_registry_repo", team, "images")
            pipeline_registry = self.name(base, naming.make, "artifact_registry_repo", team,
                                          "pipelines")
        else:
            def ident(kind: str) -> str:
                return self.name(base, naming.iam_role, org.org, env, team, kind)
            registry = self.name(base, naming.make, "ecr_prefix", env, team)
            pipeline_registry = registry
        root = (self.name(base, naming.bucket, org.cloud, org.org, env, team, "pipeline-root")
                if has_pipelines else None)
        return TeamNames(
            workload_identity=ident("workload"), pipeline_identity=ident("pipelines"),
            scheduler_identity=ident("scheduler"), container_registry=registry,
            pipeline_registry=pipeline_registry,
            model_registry=self.name(base, naming.make, "sagemaker_model_package_group", org.org,
                                     env, team, "models"),
            pipeline_root_bucket=root, namespace=team, service_account=team)

    def shape(self, env: str, region: str, accel: str, accel_path: Path_, gpus: int | None,
              gpus_path: Path_) -> catalog.MachineShape | None:
        cloud = self.org.cloud
        offered = catalog.accelerators(cloud)
        if accel not in offered:
            where = " on any cloud" if accel not in catalog.ACCELERATORS else f" on {cloud}"
            self.add(accel_path, f"accelerator '{accel}' is not offered{where}"
                     f"{did_you_mean(accel, offered)}; {cloud} offers: {', '.join(offered)}")
            return None
        counts = catalog.gpu_counts(cloud, accel)
        count = gpus if gpus is not None else catalog.default_gpus_per_node(cloud, accel)
        if count not in counts:
            shapes = ", ".join(f"{s.gpus_per_node} ({s.machine_type})"
                               for s in catalog.shapes(cloud, accel))
            self.add(gpus_path, f"{accel} on {cloud} comes in {shapes} GPUs per node; got {count}")
            return None
        shape = catalog.shape(cloud, accel, count)
        if region in catalog.regions(cloud) and region not in shape.regions:
            avail = sorted(shape.regions)
            self.add(accel_path, f"{accel} ({shape.machine_type}) is not offered in {region} "
                     f"(environment '{env}'); regions that offer it: {', '.join(avail)}")
            return None
        return shape

    def template(self, template: str, path: Path_) -> Path | None:
        cloud = self.org.cloud
        if "://" in template:
            rule = rules.URI[cloud]
            if not rule.ok(template):
                self.add(path, f"'{template}' is not valid here: expected a local file path or "
                         f"{rule.explain}")
            return None
        known = self.templates.get(template)
        if known is None:  # teams often share one template: look each one up once
            local = (self.base_dir / template).resolve()
            known = self.templates[template] = (local, local.is_file())
        local, exists = known
        if not exists:
            self.add(path, f"template file '{template}' does not exist (looked for {local}); "
                     "paths are relative to the org file")
            return None
        return local


def resolve_all(loaded: LoadedOrg, *, base_dir: Path) -> list[Issue]:
    """Resolve every environment; return the problems found (empty when all are valid)."""
    r = _Resolver(loaded, base_dir)
    for env in loaded.org.environments:
        try:
            r.env(env)
        except Exception as exc:
            if r.issues:
                break
            raise exc
    return r.issues


def resolve(loaded: LoadedOrg, env: str) -> EnvSpec:
    """The effective spec of ``env``; raises :class:`OrgError` for an unknown environment."""
    envs = tuple(loaded.org.environments)
    if env not in envs:
        raise OrgError([Issue(f"environment '{env}' is not defined{did_you_mean(env, envs)}; "
                              f"defined: {', '.join(envs)}", ("environments",),
                              str(loaded.path))])
    r = _Resolver(loaded, loaded.path.resolve().parent)
    spec = r.env(env)
    if r.issues:
        raise OrgError(r.issues)
    return spec
