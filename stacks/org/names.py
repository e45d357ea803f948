"""Which physical name each resource of an environment gets, including the names renames keep.

Every name is a :class:`Recipe`: the :mod:`components.naming` kind plus the parts it joins.
Resolution makes them (:func:`made`) into the spec; validation makes the same recipes one by one
to report a name the cloud would refuse, and to check that no two resources of an environment
claim the same name. Nothing else decides a physical name of a team's resources.

Renames (``previous_names``, ADR 12). The first previous name is the key the resource was
created with:

- stateful resources keep both the team's and the entry's original key, so a rename never
  replaces data: buckets and the pipeline-root bucket (both clouds), Artifact Registry
  repositories (gcp) and the SageMaker model package group (aws);
- on gcp a renamed pool keeps its node pool and node service account, and a renamed pipeline
  its scheduler job, within the team's current name;
- everything else (identities, AWS node groups and schedules, ECR prefixes) follows the
  current keys: replacing those loses nothing.
"""

from __future__ import annotations

from typing import NamedTuple

from components import naming


class Recipe(NamedTuple):
    """How one physical name is made."""

    kind: str  # a components.naming kind: length and charset rules, and the name's namespace
    parts: tuple[str, ...]
    kept: bool = False  # made from previous_names: the name of a resource a rename keeps

    def make(self) -> str:
        """The name; :class:`components.naming.InvalidName` if the cloud would refuse it."""
        return naming.make(self.kind, *self.parts)


Recipes = dict[str, Recipe]

SYSTEM_POOL = "system"
GENERAL_POOL = "general"  # the pool / node group for the teams' CPU pods
PIPELINE_ROOT = "pipeline-root"
KEY_PURPOSES = ("gke-secrets", "storage", "registry", "vertex")
"""The Cloud KMS keys of an environment's key ring, one per service that encrypts with it."""


def made(recipes: Recipes) -> dict[str, str]:
    """Every recipe made into its name."""
    return {field: recipe.make() for field, recipe in recipes.items()}


def original(key: str, previous: tuple[str, ...]) -> str:
    """The key a resource was created with: the first previous name, else the key."""
    return previous[0] if previous else key


def _bucket_kind(cloud: str) -> str:
    return "gcs_bucket" if cloud == "gcp" else "s3_bucket"


def platform(cloud: str, org: str, env: str) -> Recipes:
    """Environment-level names (fields of ``PlatformSpec`` and ``PlatformNames``)."""
    if cloud == "gcp":
        cluster = Recipe("gke_cluster", (org, env))
        return {
            "cluster_name": cluster,
            "system_pool": Recipe("gke_node_pool", (SYSTEM_POOL,)),
            "system_node_identity": Recipe("gcp_service_account", (org, env, "gke")),
            "general_pool": Recipe("gke_node_pool", (GENERAL_POOL,)),
            "general_node_identity": Recipe("gcp_service_account", (org, env, GENERAL_POOL)),
            "key_ring": Recipe("kms_key_ring", (org, env)),
            **{f"key_{purpose.replace('-', '_')}": Recipe("kms_crypto_key", (purpose,))
               for purpose in KEY_PURPOSES},
        }
    return {
        "cluster_name": Recipe("eks_cluster", (org, env)),
        "system_pool": Recipe("eks_node_group", (SYSTEM_POOL,)),
        "system_node_identity": Recipe("iam_role", (org, env, "eks-system-node")),
        "cluster_role": Recipe("iam_role", (org, env, "eks-cluster")),
        "autoscaler_role": Recipe("iam_role", (org, env, "cluster-autoscaler")),
        "registry_template_role": Recipe("iam_role", (org, env, "ecr-templates")),
        "key_alias": Recipe("kms_alias", (f"alias/{org}", env)),
        "general_pool": Recipe("eks_node_group", (GENERAL_POOL,)),
        "general_node_identity": Recipe("iam_role", (org, env, "eks-general-node")),
    }


def team(cloud: str, org: str, env: str, name: str, previous: tuple[str, ...], *,
         has_pipelines: bool) -> Recipes:
    """Team-level names (fields of ``TeamNames`` but the Kubernetes ones, which are the slug)."""
    kept_team = original(name, previous)
    renamed = bool(previous)
    recipes: Recipes
    if cloud == "gcp":
        recipes = {
            "workload_identity": Recipe("gcp_service_account", (name, "workload")),
            "pipeline_identity": Recipe("gcp_service_account", (name, "pipelines")),
            "scheduler_identity": Recipe("gcp_service_account", (name, "scheduler")),
            "container_registry": Recipe("artifact_registry_repo", (kept_team, "images"),
                                         renamed),
            "pipeline_registry": Recipe("artifact_registry_repo", (kept_team, "pipelines"),
                                        renamed),
            "budget": Recipe("budget", (org, env, name)),
        }
    else:
        registry = Recipe("ecr_prefix", (env, name))
        recipes = {
            "workload_identity": Recipe("iam_role", (org, env, name, "workload")),
            "pipeline_identity": Recipe("iam_role", (org, env, name, "pipelines")),
            "scheduler_identity": Recipe("iam_role", (org, env, name, "scheduler")),
            # The role the team's people assume (docs/adr/0017-aws-team-member-role.md).
            "member_role": Recipe("iam_role", (org, env, name, "members")),
            "container_registry": registry,
            "pipeline_registry": registry,  # aws: no separate registry for pipeline templates
            "budget": Recipe("aws_budget", (org, env, name)),
        }
    recipes["model_registry"] = Recipe("sagemaker_model_package_group",
                                       (org, env, kept_team, "models"), renamed)
    if has_pipelines:
        recipes["pipeline_root_bucket"] = Recipe(
            _bucket_kind(cloud), (org, env, kept_team, PIPELINE_ROOT), renamed)
    return recipes


def pool(cloud: str, org: str, env: str, team_name: str, key: str,
         previous: tuple[str, ...]) -> Recipes:
    """``node_pool_name`` and ``node_identity_name`` of a GPU pool."""
    if cloud == "gcp":
        kept, renamed = original(key, previous), bool(previous)
        return {"node_pool_name": Recipe("gke_node_pool", (team_name, kept), renamed),
                "node_identity_name": Recipe("gcp_service_account", (team_name, kept, "gpu"),
                                             renamed)}
    return {"node_pool_name": Recipe("eks_node_group", (team_name, key)),
            "node_identity_name": Recipe("iam_role", (org, env, team_name, key, "node"))}


def bucket(cloud: str, org: str, env: str, team_name: str, team_previous: tuple[str, ...],
           key: str, previous: tuple[str, ...]) -> Recipes:
    """``bucket_name``: kept from the original team and purpose (its data stays)."""
    return {"bucket_name": Recipe(
        _bucket_kind(cloud),
        (org, env, original(team_name, team_previous), original(key, previous)),
        bool(previous or team_previous))}


def pipeline(cloud: str, org: str, env: str, team_name: str, key: str,
             previous: tuple[str, ...]) -> Recipes:
    """``job_name`` (Cloud Scheduler job / EventBridge schedule), ``pipeline_name`` and, on
    gcp, ``alert_policy_name`` (the alert on runs that fail to start)."""
    display = Recipe("sagemaker_pipeline", (org, env, team_name, key))
    if cloud == "gcp":
        return {"job_name": Recipe("scheduler_job", (team_name, original(key, previous)),
                                   bool(previous)),
                "pipeline_name": display,
                "alert_policy_name": Recipe("alert_policy",
                                            (org, env, team_name, key, "did not start"))}
    return {"job_name": Recipe("eventbridge_schedule", (org, env, team_name, key)),
            "pipeline_name": display}
