"""The container images a SageMaker pipeline definition runs, and whether its role may pull them.

One set of rules for a definition checked by ``trellis validate`` (a local file,
``stacks.org.sagemaker``) and one read by ``pulumi up`` (an ``s3://`` object,
:class:`~components.aws.pipeline.Pipeline`): the pipeline role pulls the team's own
repositories, and AWS Deep Learning Containers of the job's region, which are granted one by
one. Pure functions over the parsed JSON; no Pulumi, no I/O.
"""

# No `from __future__ import annotations`: imported by the hosted components (docs/adr/0006).
import re
from collections.abc import Iterator, Mapping
from typing import Any, NamedTuple

Path_ = tuple[str | int, ...]

#: Argument keys whose value is the image a step's job runs (training, processing, model
#: containers, tuning definitions).
IMAGE_KEYS = ("TrainingImage", "ImageUri", "Image")

ECR_IMAGE = re.compile(
    r"(?P<account>\d{12})\.dkr\.ecr\.(?P<region>[a-z0-9-]+)\.amazonaws\.com(?:\.cn)?/"
    r"(?P<repository>[a-z0-9][a-z0-9._/-]*?)(?::(?P<tag>[\w][\w.-]{0,127}))?"
    r"(?:@(?P<digest>sha256:[0-9a-f]{64}))?")

#: AWS Deep Learning Containers: the account that serves them in each region.
#: https://github.com/aws/deep-learning-containers/blob/master/available_images.md
#: (commit 008199507ef3e5b651d3577838837e25265afa10, read 2026-12-03).
DLC_ACCOUNTS: dict[str, str] = {
    **{r: "763104351884" for r in (
        "us-east-1", "us-east-2", "us-west-1", "us-west-2", "ap-south-1", "ap-northeast-1",
        "ap-northeast-2", "ap-southeast-1", "ap-southeast-2", "ca-central-1", "eu-central-1",
        "eu-west-1", "eu-west-2", "eu-west-3", "eu-north-1", "sa-east-1")},
    "af-south-1": "626614931356", "ap-east-1": "871362719292", "ap-northeast-3": "364406365360",
    "ap-southeast-3": "907027046896", "eu-south-1": "692866216735",
    "me-south-1": "217643126080", "me-central-1": "914824155844",
}


class Pull(NamedTuple):
    """Whether the pipeline role may pull an image: the repository ARN to grant, or why not."""

    repository_arn: str | None
    problem: str | None


def pull(image: str, *, region: str, account: str | None, team_prefix: str | None) -> Pull:
    """Can the team's pipeline role pull ``image`` for a job in ``region``?

    It can pull its own team's repositories in the environment's account, and AWS Deep
    Learning Containers of the job's region (that repository is then granted to it).
    SageMaker pulls from Amazon ECR in the job's region: "the Docker image for inference
    container in Amazon ECR must be in the same region as the model" (botocore
    ``ContainerDefinition.Image``), and DLCs are published per region, each region's URI
    naming that region (available_images.md).
    """
    m = ECR_IMAGE.fullmatch(image)
    own = (f"{account}.dkr.ecr.{region}.amazonaws.com/{team_prefix}/<repository>:<tag>"
           if account and team_prefix else "your team's repository")
    if m is None:
        return Pull(None, f"that is not an Amazon ECR image, and SageMaker jobs run images "
                    f"from Amazon ECR: push it to {own}")
    acct, where, repo = m["account"], m["region"], m["repository"]
    if where != region:
        fix = image.replace(f".dkr.ecr.{where}.", f".dkr.ecr.{region}.", 1)
        dlc = DLC_ACCOUNTS.get(region)
        if acct == DLC_ACCOUNTS.get(where) and dlc is not None:
            fix = fix.replace(f"{acct}.dkr.ecr.", f"{dlc}.dkr.ecr.", 1)
        return Pull(None, f"the image is in {where}, but the job runs in {region} and "
                    f"SageMaker pulls images from Amazon ECR in the job's own region; use {fix}")
    if account is not None and acct == account:
        if team_prefix is not None and not repo.startswith(f"{team_prefix}/"):
            return Pull(None, f"the repository is not under the team's prefix "
                        f"'{team_prefix}/', so the pipeline role cannot pull it: push it to "
                        f"{own}")
        return Pull(None, None)  # the team's own repositories: granted by TeamIdentity
    if acct == DLC_ACCOUNTS.get(region):
        return Pull(f"arn:aws:ecr:{region}:{acct}:repository/{repo}", None)
    return Pull(None, f"the image is in account {acct}, which is neither this environment's "
                f"account nor the AWS Deep Learning Containers account of {region} "
                f"({DLC_ACCOUNTS.get(region, 'none there')}): the pipeline role cannot pull it; "
                f"copy it to {own}")


def steps(items: Any, path: Path_ = ("Steps",)) -> Iterator[tuple[Path_, dict[str, Any]]]:
    """Every step of a definition's ``Steps``, those inside condition branches included."""
    if not isinstance(items, list):
        return
    for i, step in enumerate(items):
        if not isinstance(step, dict):
            continue
        yield (*path, i), step
        args = step.get("Arguments")
        if step.get("Type") == "Condition" and isinstance(args, dict):
            for branch in ("IfSteps", "ElseSteps"):
                yield from steps(args.get(branch), (*path, i, "Arguments", branch))


def _expression(value: Any) -> bool:
    return isinstance(value, dict) and len(value) == 1 and (
        "Get" in value or any(str(k).startswith("Std:") for k in value))


def image_values(value: Any, path: Path_) -> Iterator[tuple[Path_, Any]]:
    """``(path, value)`` of every image key in a step's ``Arguments`` (literal or expression)."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key in IMAGE_KEYS and (isinstance(item, str) or _expression(item)):
                yield (*path, key), item
            else:
                yield from image_values(item, (*path, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from image_values(item, (*path, i))


def resolve_image(value: Any, given: Mapping[str, Any],
                  defaults: Mapping[str, Any]) -> tuple[str | None, str | None]:
    """``(image, parameter)``: the image a step would run with ``given`` parameter values
    (else the definition's ``defaults``; None when it depends on what only a run knows, e.g.
    another step's output, or on a parameter without a value), and the parameter it came
    from, if any."""
    if isinstance(value, str):
        return value, None
    if not isinstance(value, dict):
        return None, None
    get = value.get("Get")
    if isinstance(get, str) and get.startswith("Parameters."):
        name = get.removeprefix("Parameters.")
        if name in given:
            chosen = given[name]
        elif name in defaults:
            chosen = defaults[name]
        else:
            return None, name
        return (chosen if isinstance(chosen, str) else None), name
    join = value.get("Std:Join")
    if isinstance(join, dict) and isinstance(join.get("Values"), list):
        parts, origin = [], None
        for item in join["Values"]:
            part, source = resolve_image(item, given, defaults)
            if part is None:
                return None, source
            parts.append(part)
            origin = origin or source
        return str(join.get("On", "")).join(parts), origin
    return None, None


def parameter_defaults(definition: Mapping[str, Any]) -> dict[str, Any]:
    """``{name: DefaultValue}`` of the definition's parameters that have one."""
    params = definition.get("Parameters")
    return {str(p["Name"]): p["DefaultValue"] for p in params or ()
            if isinstance(p, dict) and "Name" in p and "DefaultValue" in p} \
        if isinstance(params, list) else {}


def pull_verdicts(definition: Mapping[str, Any], given: Mapping[str, Any], *, region: str,
                  account: str | None, team_prefix: str | None,
                  ) -> list[tuple[str, str, Pull]]:
    """``(step name, image, verdict)`` for every image the definition's steps run that
    resolves with ``given`` parameter values (or the defaults)."""
    defaults = parameter_defaults(definition)
    out = []
    for step_path, step in steps(definition.get("Steps")):
        for _, value in image_values(step.get("Arguments"), (*step_path, "Arguments")):
            image, _origin = resolve_image(value, given, defaults)
            if image is not None:
                out.append((str(step.get("Name")), image,
                            pull(image, region=region, account=account,
                                 team_prefix=team_prefix)))
    return out
