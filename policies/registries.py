"""Container registry rules (Artifact Registry, ECR): tags, scanning, KMS, exposure, cleanup."""

from __future__ import annotations

from collections.abc import Iterator

from policies import iamdoc, tiers
from policies.joins import Index
from policies.registry import each, resource_rule, stack_rule
from policies.settings import Settings
from policies.view import Res, Stack, as_list, at, glob_any, require_known

AR_REPO = "gcp:artifactregistry/repository:Repository"
AR_IAM = ("gcp:artifactregistry/repositoryIamMember:RepositoryIamMember",
          "gcp:artifactregistry/repositoryIamBinding:RepositoryIamBinding",
          "gcp:artifactregistry/repositoryIamPolicy:RepositoryIamPolicy")
ECR_REPO = "aws:ecr/repository:Repository"
ECR_TEMPLATE = "aws:ecr/repositoryCreationTemplate:RepositoryCreationTemplate"
ECR_SCANNING = "aws:ecr/registryScanningConfiguration:RegistryScanningConfiguration"
ECR_LIFECYCLE = "aws:ecr/lifecyclePolicy:LifecyclePolicy"
ECR_POLICIES = ("aws:ecr/repositoryPolicy:RepositoryPolicy",
                "aws:ecr/registryPolicy:RegistryPolicy")
IMMUTABLE = ("IMMUTABLE", "IMMUTABLE_WITH_EXCLUSION")


def _is_docker(res: Res) -> bool:
    return str(res.get("format") or "").upper() == "DOCKER"


@resource_rule(
    id="TRL-REG-001", title="Immutable image tags in production",
    description="Production container repositories refuse to overwrite an existing image tag.",
    severity="high", enforcement="mandatory",
    remediation="ECR: `image_tag_mutability=\"IMMUTABLE\"`; Artifact Registry: "
                "`docker_config={\"immutable_tags\": True}`. Push a new tag per build.",
    types=[AR_REPO, ECR_REPO, ECR_TEMPLATE], config=["tier"],
    checkov=["CKV_AWS_51"], trivy=["AVD-AWS-0031"])
def registry_immutable_tags(res: Res, settings: Settings) -> Iterator[str]:
    tier = tiers.of_resource(res, settings)
    if not tier.production:
        return
    if res.type == AR_REPO:
        if _is_docker(res) and res.get("dockerConfig", "immutableTags") is not True:
            yield ("dockerConfig.immutableTags is not true: a tag can be repointed to other "
                   f"bits{tier.note()}")
        return
    value = res.get("imageTagMutability")
    if value not in IMMUTABLE:
        yield f"imageTagMutability is {value or 'MUTABLE (default)'}, not IMMUTABLE{tier.note()}"


def _ecr_scanned_by_registry(repo_name: object, configs: list[Res]) -> bool:
    """A registry scanning rule with a push/continuous frequency whose filter covers the repo."""
    for cfg in configs:
        for rule in as_list(require_known(cfg.get("rules"), ("rules",))):
            if at(rule, "scanFrequency") not in ("SCAN_ON_PUSH", "CONTINUOUS_SCAN"):
                continue
            for flt in as_list(at(rule, "repositoryFilters")):
                pattern = str(at(flt, "filter") or "")
                if pattern == "*" or (pattern and isinstance(repo_name, str)
                                      and glob_any(repo_name, [pattern])):
                    return True
    return False


@stack_rule(
    id="TRL-REG-002", title="Registry scan on push",
    description="Images are scanned for vulnerabilities when pushed.",
    severity="medium", enforcement="mandatory",
    remediation="ECR: `image_scanning_configuration={\"scan_on_push\": True}` or a registry "
                "scanning configuration covering the repository; Artifact Registry: leave "
                "vulnerability scanning enabled (do not set enablement_config=\"DISABLED\").",
    types=[ECR_REPO, ECR_SCANNING, AR_REPO],
    checkov=["CKV_AWS_163"], trivy=["AVD-AWS-0030"])
def registry_scan_on_push(stack: Stack, settings: Settings) -> Iterator[tuple[str, str]]:
    configs = stack.of_type(ECR_SCANNING)

    def check(repo: Res) -> Iterator[str]:
        if repo.type == AR_REPO:
            state = repo.get("vulnerabilityScanningConfig", "enablementConfig")
            if _is_docker(repo) and str(state or "").upper() == "DISABLED":
                yield "vulnerabilityScanningConfig.enablementConfig is DISABLED"
            return
        if repo.get("imageScanningConfiguration", "scanOnPush") is True:
            return
        if _ecr_scanned_by_registry(repo.peek("name"), configs):
            return
        yield ("scanOnPush is off and no registry scanning configuration covers this "
               "repository")
    yield from each(stack.of_type(ECR_REPO, AR_REPO), check)


@resource_rule(
    id="TRL-REG-003", title="Registry KMS encryption",
    description="Container repositories are encrypted with a customer-managed KMS key.",
    severity="medium", enforcement="advisory",
    remediation="ECR: `encryption_configurations=[{\"encryption_type\": \"KMS\", \"kms_key\": "
                "<key arn>}]`; Artifact Registry: `kms_key_name=<crypto key id>` (grant the "
                "Artifact Registry service agent encrypter/decrypter on the key).",
    types=[ECR_REPO, ECR_TEMPLATE, AR_REPO],
    checkov=["CKV_AWS_136", "CKV_GCP_84"], trivy=["AVD-AWS-0033"])
def registry_kms(res: Res, settings: Settings) -> Iterator[str]:
    if res.type == AR_REPO:
        if not res.get("kmsKeyName"):
            yield "kmsKeyName is not set: Google-managed encryption only"
        return
    configs = as_list(require_known(res.get("encryptionConfigurations"),
                                    ("encryptionConfigurations",)))
    kinds = [str(at(c, "encryptionType") or "AES256") for c in configs] or ["AES256 (default)"]
    if not any(k in ("KMS", "KMS_DSSE") for k in kinds):
        yield f"encryption type is {', '.join(kinds)}, not KMS"


@resource_rule(
    id="TRL-REG-004", title="No public registry access",
    description="No repository or registry policy or IAM grant opens images to everyone.",
    severity="critical", enforcement="mandatory",
    remediation="Remove allUsers / allAuthenticatedUsers members and `Principal: \"*\"` "
                "statements; grant pull to the node and pipeline identities only.",
    types=[*AR_IAM, *ECR_POLICIES, ECR_TEMPLATE],
    checkov=["CKV_AWS_32", "CKV_GCP_101"], trivy=["AVD-AWS-0032"], cdk_nag=["AwsSolutions-ECR1"])
def registry_not_public(res: Res, settings: Settings) -> Iterator[str]:
    if res.type in AR_IAM:
        for role, members in iamdoc.gcp_grants(res.type, res.get):
            for m in members:
                if iamdoc.gcp_public_member(m):
                    yield f"{role} is granted to {m}"
        return
    key = "repositoryPolicy" if res.type == ECR_TEMPLATE else "policy"
    doc = iamdoc.document(res.get(key), key)
    for st in iamdoc.public_allows(doc):
        yield f"{key} allows {', '.join(st.actions) or 'actions'} to any principal"


def _ecr_lifecycle_index(stack: Stack) -> Index:
    return Index(stack.of_type(ECR_REPO),
                 lambda r: [v for v in (r.peek("name"), r.peek("id")) if isinstance(v, str)])


@stack_rule(
    id="TRL-REG-005", title="Registry cleanup policy",
    description="Container repositories have a cleanup or lifecycle policy.",
    severity="low", enforcement="advisory",
    remediation="ECR: add an `aws.ecr.LifecyclePolicy` (expire untagged images after a few "
                "days, keep the last N tags); Artifact Registry: add `cleanup_policies` with "
                "`cleanup_policy_dry_run=False`.",
    types=[ECR_REPO, ECR_LIFECYCLE, ECR_TEMPLATE, AR_REPO])
def registry_cleanup(stack: Stack, settings: Settings) -> Iterator[tuple[str, str]]:
    index = _ecr_lifecycle_index(stack)
    covered = {t.urn for p in stack.of_type(ECR_LIFECYCLE)
               if (t := index.resolve(p, "repository")) is not None}

    def check(repo: Res) -> Iterator[str]:
        if repo.type == AR_REPO:
            if not as_list(require_known(repo.get("cleanupPolicies"), ("cleanupPolicies",))):
                yield "no cleanupPolicies: every image ever pushed is kept and billed"
            elif repo.get("cleanupPolicyDryRun") is True:
                yield "cleanupPolicyDryRun is true: the cleanup policies never delete anything"
        elif repo.type == ECR_TEMPLATE:
            if not repo.get("lifecyclePolicy"):
                yield "the creation template sets no lifecyclePolicy"
        elif repo.urn not in covered:
            yield "no LifecyclePolicy refers to this repository"
    yield from each(stack.of_type(ECR_REPO, ECR_TEMPLATE, AR_REPO), check)
