"""A team's Artifact Registry repositories: Docker images and (optionally) KFP templates.

The registry owns its grants: writers (team members, the team's workload identity) and
readers (node and pipeline identities, the Vertex AI service agent, which pulls pipeline
images: without it Vertex pipelines fail with an image pull error, zenml#3766).
"""

# No `from __future__ import annotations`: hosted for other languages (docs/adr/0006).
from collections.abc import Mapping
from typing import NotRequired, TypedDict

import pulumi
import pulumi_gcp as gcp

from components.gcp._iam import Grants

KEEP_VERSIONS = 20
"""Versions of each image (package) always kept, tagged or not."""
DELETE_AFTER_DAYS = 30
"""Versions older than this that are not among the :data:`KEEP_VERSIONS` most recent go."""


def cleanup_policies(keep_versions: int = KEEP_VERSIONS
                     ) -> list[gcp.artifactregistry.RepositoryCleanupPolicyArgsDict]:
    """Keep the ``keep_versions`` most recent versions of every image (or template), tagged or
    not; delete untagged versions after 14 days and every other version after 30 days.

    KEEP wins over DELETE, so the newest versions survive whatever their age; a tagged image
    that is older and not among them is deleted too (a registry that never deletes tagged
    images grows, and is billed, forever). Pin a release by pushing it again under a new tag,
    or raise ``keep_versions``.
    https://cloud.google.com/artifact-registry/docs/repositories/cleanup-policy"""
    return [
        {"id": "keep-recent", "action": "KEEP",
         "most_recent_versions": {"keep_count": int(keep_versions)}},
        {"id": "delete-old-untagged", "action": "DELETE",
         "condition": {"tag_state": "UNTAGGED", "older_than": f"{14 * 24 * 3600}s"}},
        {"id": "delete-old", "action": "DELETE",
         "condition": {"tag_state": "ANY", "older_than": f"{DELETE_AFTER_DAYS * 24 * 3600}s"}},
    ]


CLEANUP_POLICIES = cleanup_policies()
"""The default cleanup policies (see :func:`cleanup_policies`)."""


class GcpTeamRegistryArgs(TypedDict):
    """Arguments of :class:`TeamRegistry`."""

    project: pulumi.Input[str]
    """Project id (``Services.project``)."""
    location: str
    """Region of the repositories (the environment's region: pulls stay regional)."""
    repository_id: str
    """Physical id of the Docker repository (kind ``artifact_registry_repo``)."""
    pipeline_repository_id: NotRequired[str | None]
    """Physical id of the KFP repository for pipeline templates. Default: None, no KFP
    repository. https://cloud.google.com/vertex-ai/docs/pipelines/create-pipeline-template"""
    immutable_tags: NotRequired[bool]
    """Tags cannot be moved or deleted once pushed. Default: off."""
    writers: NotRequired[Grants]
    """Members given ``roles/artifactregistry.writer`` on every repository. Default: none."""
    readers: NotRequired[Grants]
    """Members given ``roles/artifactregistry.reader`` on every repository. Default: none."""
    protected: NotRequired[bool]
    """Pulumi ``protect`` + ``retain_on_delete`` on the repositories. Default: off."""
    labels: NotRequired[Mapping[str, str]]
    """GCP labels on the repositories. Default: none beyond the provider's default labels."""
    kms_key_name: NotRequired[pulumi.Input[str] | None]
    """Cloud KMS key of both repositories (same location; the Artifact Registry service agent
    must be able to use it first: ``EncryptionKeys.key_ids``). Set at creation only: changing
    it replaces the repositories. Default: none, Google-managed encryption.
    https://cloud.google.com/artifact-registry/docs/cmek"""
    keep_versions: NotRequired[int]
    """Most recent versions of each image kept by the cleanup policy. Default: 20."""


class GcpTeamRegistry(pulumi.ComponentResource):
    """Docker repository (scanned, cleaned up) + optional KFP repository, with grants."""

    repository_id: pulumi.Output[str]
    """Docker repository id, resolved once it exists (grant inputs depend on it)."""
    container_registry: pulumi.Output[str]
    """``<region>-docker.pkg.dev/<project>/<repo>``: where ``docker push`` goes."""
    pipeline_registry: pulumi.Output[str] | None
    """``https://<region>-kfp.pkg.dev/<project>/<repo>``: where ``kfp`` uploads templates."""

    def __init__(self, name: str, args: GcpTeamRegistryArgs,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("trellis:gcp:TeamRegistry", name, None, opts)
        docker = self._create_docker(name, args)
        repos = {"images": docker}
        self.pipeline_registry = None
        kfp_id = args.get("pipeline_repository_id")
        if kfp_id:
            kfp = self._create_kfp(name, args, kfp_id)
            repos["pipelines"] = kfp
            self.pipeline_registry = kfp.registry_uri.apply(lambda uri: f"https://{uri}")
        for key, repo in repos.items():
            self._create_grants(f"{name}-{key}", args, repo)
        self.repository_id = docker.repository_id
        self.container_registry = docker.registry_uri
        self.register_outputs({"container_registry": self.container_registry,
                               "pipeline_registry": self.pipeline_registry})

    def _opts(self, args: GcpTeamRegistryArgs) -> pulumi.ResourceOptions:
        protected = args.get("protected", False)
        return pulumi.ResourceOptions(parent=self, protect=protected, retain_on_delete=protected)

    def _create_docker(self, name: str,
                       args: GcpTeamRegistryArgs) -> gcp.artifactregistry.Repository:
        return gcp.artifactregistry.Repository(
            f"{name}-images", project=args["project"], location=args["location"],
            repository_id=args["repository_id"], format="DOCKER", mode="STANDARD_REPOSITORY",
            description="Container images of the team",
            docker_config={"immutable_tags": args.get("immutable_tags", False)},
            cleanup_policies=cleanup_policies(args.get("keep_versions", KEEP_VERSIONS)),
            cleanup_policy_dry_run=False,
            vulnerability_scanning_config={"enablement_config": "INHERITED"},
            kms_key_name=args.get("kms_key_name"),
            labels=dict(args.get("labels", {})), opts=self._opts(args))

    def _create_kfp(self, name: str, args: GcpTeamRegistryArgs,
                    repository_id: str) -> gcp.artifactregistry.Repository:
        return gcp.artifactregistry.Repository(
            f"{name}-pipelines", project=args["project"], location=args["location"],
            repository_id=repository_id, format="KFP", mode="STANDARD_REPOSITORY",
            description="Kubeflow pipeline templates of the team",
            cleanup_policies=cleanup_policies(args.get("keep_versions", KEEP_VERSIONS)),
            cleanup_policy_dry_run=False, kms_key_name=args.get("kms_key_name"),
            labels=dict(args.get("labels", {})), opts=self._opts(args))

    def _create_grants(self, name: str, args: GcpTeamRegistryArgs,
                       repo: gcp.artifactregistry.Repository) -> None:
        for role, grants in (("roles/artifactregistry.writer", args.get("writers", {})),
                             ("roles/artifactregistry.reader", args.get("readers", {}))):
            short = role.rsplit(".", 1)[-1]
            for key, member in grants.items():
                gcp.artifactregistry.RepositoryIamMember(
                    f"{name}-{short}-{key}", project=repo.project, location=repo.location,
                    repository=repo.repository_id, role=role, member=member,
                    opts=pulumi.ResourceOptions(parent=self))


TeamRegistry = GcpTeamRegistry
"""Python name of :class:`GcpTeamRegistry` (the any-language schema needs unique class names)."""
TeamRegistryArgs = GcpTeamRegistryArgs
