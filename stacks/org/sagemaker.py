"""SageMaker pipeline definitions, checked where org.yaml names them (the aws half of templates).

The structure checked is the documented one: AWS's published pipeline definition JSON schema
(https://aws-sagemaker-mlops.github.io/sagemaker-model-building-pipeline-definition-JSON-schema/,
repository aws-sagemaker-mlops/sagemaker-model-building-pipeline-definition-JSON-schema at
b4012b0, 2025-04-03) carries no licence, so it is not vendored; the rules below restate it,
plus what the SageMaker Python SDK writes that the schema lacks (``PipelineExperimentConfig``,
``PropertyFiles``, ``EnumValues``). Then, per environment: the parameters org.yaml passes
exist and fit their types, parameters without a default are given, every image a step runs
can be pulled by the team's pipeline role in the environment's region, and the definition
fits ``CreatePipeline`` (botocore's ``PipelineDefinition``: at most 1,048,576 characters).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from components import pipeline_images as _images_mod
from components.pipeline_images import DLC_ACCOUNTS, ECR_IMAGE, IMAGE_KEYS, Pull, pull
from stacks.org.errors import Path_, did_you_mean, format_path
from stacks.org.templates import MAX_FINDINGS, Add, Document, compact_json, read

# The image rules are shared with the Pipeline component, which applies them to s3://
# definitions at `pulumi up` (components/pipeline_images.py); re-exported here.
__all__ = ["DLC_ACCOUNTS", "ECR_IMAGE", "IMAGE_KEYS", "Pull", "pull"]

VERSION = "2020-12-01"
#: botocore ``sagemaker`` service model: ``PipelineDefinition`` max length.
DEFINITION_MAX_CHARS = 1_048_576
#: botocore ``scheduler`` model: ``SageMakerPipelineParameter.Value`` is 1-1024 characters.
PARAMETER_VALUE_MAX = 1024

TOP_KEYS = ("Version", "Metadata", "Parameters", "PipelineExperimentConfig", "Steps")
STEP_TYPES = ("Training", "Processing", "Transform", "Model", "RegisterModel", "Condition",
              "Lambda", "Callback", "Tuning", "ClarifyCheck", "QualityCheck", "EMR", "Fail",
              "AutoML", "Endpoint", "EndpointConfig")
STEP_KEYS = ("Name", "Type", "Arguments", "DependsOn", "Description", "DisplayName",
             "CacheConfig", "RetryPolicies", "FunctionArn", "OutputParameters", "SqsQueueUrl",
             "CheckType", "ModelName", "ModelPackageGroupName", "RegisterNewBaseline",
             "SkipCheck", "SuppliedBaselineConstraints", "SuppliedBaselineStatistics",
             "PropertyFiles")
#: Step types whose required input is not ``Arguments``.
_NO_ARGUMENTS = {"Lambda": "FunctionArn", "Callback": "SqsQueueUrl"}
PARAMETER_KEYS = ("Name", "Type", "DefaultValue", "Description", "EnumValues")
PARAMETER_TYPES = {"String": "a string", "Integer": "a whole number", "Float": "a number",
                   "Boolean": "true or false"}
NAME = re.compile(r"[A-Za-z0-9\-_]{1,64}")


@dataclass(frozen=True)
class Parameter:
    name: str
    type: str  # String | Integer | Float | Boolean
    default: Any
    has_default: bool
    where: str  # shown:line:col


@dataclass(frozen=True)
class Image:
    """A value a step runs as its container image (a literal or an expression)."""

    step: str
    path: Path_  # inside the definition
    value: Any
    where: str


@dataclass
class Definition:
    document: Document
    findings: list[str] = field(default_factory=list)
    definition: dict[str, Any] | None = None
    parameters: dict[str, Parameter] = field(default_factory=dict)
    parameters_where: str = ""
    images: list[Image] = field(default_factory=list)
    size: int = 0  # characters of the compact JSON CreatePipeline receives

    @property
    def ok(self) -> bool:
        return not self.findings and self.definition is not None


def definition(path: Path, shown: str) -> Definition:
    """The definition at ``path``, checked (cached per file state)."""
    try:
        st = path.stat()
        stat: tuple[int, int] | None = (st.st_mtime_ns, st.st_size)
    except OSError:
        stat = None
    return _definition(str(path), shown, stat)


@lru_cache(maxsize=128)
def _definition(path: str, shown: str, stat: tuple[int, int] | None) -> Definition:
    document = read(Path(path), shown)
    d = Definition(document)
    if stat is None:
        d.findings.append(f"{shown}: cannot be read")
        return d
    try:
        value = json.loads(Path(path).read_text(encoding="utf-8-sig"))
    except json.JSONDecodeError as exc:
        d.findings.append(f"{shown}:{exc.lineno}:{exc.colno}: not valid JSON ({exc.msg}); a "
                          "SageMaker pipeline definition is JSON, as the SageMaker SDK's "
                          "pipeline.definition() writes it")
        return d
    except (OSError, UnicodeDecodeError, RecursionError, ValueError) as exc:
        d.findings.append(f"{shown}: cannot be read as JSON ({exc})")
        return d
    if document.error is not None or not document.docs:
        document = Document(shown, [value], [{}])  # valid JSON that YAML refuses: no positions
        d.document = document
    d.findings = _structure(document, value)[:MAX_FINDINGS]
    if d.findings:
        d.findings.append(f"{shown}: this is not a SageMaker pipeline definition (JSON with "
                          f"\"Version\": \"{VERSION}\" and \"Steps\"; see "
                          "https://aws-sagemaker-mlops.github.io/sagemaker-model-building-"
                          "pipeline-definition-JSON-schema/)")
        return d
    d.definition = value
    d.size = len(compact_json(value))
    d.parameters_where = document.at(0, ("Parameters",) if "Parameters" in value else ())
    for i, p in enumerate(value.get("Parameters") or []):
        kind = p.get("Type", "String")
        d.parameters[p["Name"]] = Parameter(p["Name"], kind, p.get("DefaultValue"),
                                            "DefaultValue" in p,
                                            document.at(0, ("Parameters", i)))
    for step_path, step in _steps(value.get("Steps") or [], ("Steps",)):
        for at, image in _images(step.get("Arguments"), (*step_path, "Arguments")):
            d.images.append(Image(str(step.get("Name")), at, image, document.at(0, at)))
    return d


def _steps(steps: list[Any], path: Path_) -> Iterator[tuple[Path_, dict[str, Any]]]:
    """Every step, those inside condition branches included."""
    return _images_mod.steps(steps, path)


def _images(value: Any, path: Path_) -> Iterator[tuple[Path_, Any]]:
    return _images_mod.image_values(value, path)


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    return "a mapping" if isinstance(value, dict) else "a list" if isinstance(value, list) \
        else "null"


def _structure(doc: Document, value: Any) -> list[str]:
    out: list[str] = []

    def bad(path: Path_, message: str) -> None:
        out.append(doc.finding(0, path, message))

    if not isinstance(value, dict):
        bad((), f"the definition must be a JSON object; got {_kind(value)}")
        return out
    for key in value:
        if key not in TOP_KEYS:
            bad((key,), f"unknown key '{key}'{did_you_mean(key, TOP_KEYS)}; a definition has "
                f"{', '.join(TOP_KEYS)}")
    if value.get("Version") != VERSION:
        bad(("Version",) if "Version" in value else (), f"\"Version\" must be \"{VERSION}\"; "
            f"got {json.dumps(value.get('Version'))}")
    meta = value.get("Metadata", {})
    if not isinstance(meta, dict) or not all(isinstance(v, str) for v in meta.values()):
        bad(("Metadata",), "\"Metadata\" is an object of string values")
    names = _parameters(value.get("Parameters", []), bad)
    steps = value.get("Steps")
    if not isinstance(steps, list) or not steps:
        bad(("Steps",) if "Steps" in value else (), "\"Steps\" must be a non-empty list of "
            "steps")
        return out
    step_names: dict[str, Path_] = {}
    for path, step in _all_steps(steps, ("Steps",), bad):
        _step(path, step, step_names, bad)
    for path, step in _steps(steps, ("Steps",)):
        for i, dep in enumerate(step.get("DependsOn") or []):
            if dep not in step_names:
                bad((*path, "DependsOn", i), f"step '{dep}' does not exist"
                    f"{did_you_mean(dep, step_names)}")
    for path, ref in _references(value, ()):
        kind, _, rest = ref.partition(".")
        target = rest.split(".", 1)[0].split("[", 1)[0]
        if kind == "Parameters" and target not in names:
            bad(path, f"{ref} names no parameter{did_you_mean(target, names)}; declared: "
                f"{', '.join(names) or 'none'}")
        elif kind == "Steps" and target not in step_names:
            bad(path, f"{ref} names no step{did_you_mean(target, step_names)}")
    return out


def _parameters(params: Any, bad: Any) -> list[str]:
    names: list[str] = []
    if not isinstance(params, list):
        bad(("Parameters",), f"\"Parameters\" must be a list; got {_kind(params)}")
        return names
    for i, p in enumerate(params):
        at: Path_ = ("Parameters", i)
        if not isinstance(p, dict):
            bad(at, f"a parameter is an object with Name and Type; got {_kind(p)}")
            continue
        for key in p:
            if key not in PARAMETER_KEYS:
                bad((*at, key), f"unknown key '{key}'{did_you_mean(key, PARAMETER_KEYS)}; a "
                    f"parameter has {', '.join(PARAMETER_KEYS)}")
        name, kind = p.get("Name"), p.get("Type", "String")
        if not isinstance(name, str) or not NAME.fullmatch(name):
            bad((*at, "Name"), f"parameter name {json.dumps(name)} is not 1-64 letters, digits, "
                "'-' or '_'")
            continue
        if name in names:
            bad((*at, "Name"), f"parameter '{name}' is declared twice")
        names.append(name)
        if kind not in PARAMETER_TYPES:
            bad((*at, "Type"), f"\"Type\" {json.dumps(kind)} is not one of "
                f"{', '.join(PARAMETER_TYPES)}{did_you_mean(kind, PARAMETER_TYPES)}")
        elif "DefaultValue" in p and not fits(kind, p["DefaultValue"]):
            bad((*at, "DefaultValue"), f"the default of {kind} parameter '{name}' is "
                f"{_kind(p['DefaultValue'])}; give {PARAMETER_TYPES[kind]}")
    return names


def _all_steps(steps: list[Any], path: Path_, bad: Any) -> Iterator[tuple[Path_, Any]]:
    for i, step in enumerate(steps):
        if not isinstance(step, dict):
            bad((*path, i), f"a step is an object with Name, Type and Arguments; got "
                f"{_kind(step)}")
            continue
        yield (*path, i), step
        args = step.get("Arguments")
        if step.get("Type") == "Condition" and isinstance(args, dict):
            for branch in ("IfSteps", "ElseSteps"):
                inner = args.get(branch, [])
                if not isinstance(inner, list):
                    bad((*path, i, "Arguments", branch), f"\"{branch}\" must be a list of steps")
                    continue
                yield from _all_steps(inner, (*path, i, "Arguments", branch), bad)


def _step(path: Path_, step: dict[str, Any], seen: dict[str, Path_], bad: Any) -> None:
    name, kind = step.get("Name"), step.get("Type")
    for key in step:
        if key not in STEP_KEYS:
            bad((*path, key), f"unknown key '{key}'{did_you_mean(key, STEP_KEYS)} in step "
                f"{json.dumps(name)}")
    if not isinstance(name, str) or not NAME.fullmatch(name):
        bad((*path, "Name") if "Name" in step else path, f"step name {json.dumps(name)} is not "
            "1-64 letters, digits, '-' or '_'")
    elif name in seen:
        bad((*path, "Name"), f"step name '{name}' is used twice (also {format_path(seen[name])})")
    else:
        seen[name] = path
    if kind not in STEP_TYPES:
        bad((*path, "Type") if "Type" in step else path, f"step type {json.dumps(kind)} is not "
            f"one of {', '.join(STEP_TYPES)}{did_you_mean(kind, STEP_TYPES)}")
        return
    needed = _NO_ARGUMENTS.get(kind, "Arguments")
    if needed not in step:
        bad(path, f"a {kind} step needs \"{needed}\"")
    elif needed == "Arguments" and not isinstance(step["Arguments"], dict):
        bad((*path, "Arguments"), f"\"Arguments\" must be an object; got "
            f"{_kind(step['Arguments'])}")
    if not isinstance(step.get("DependsOn", []), list):
        bad((*path, "DependsOn"), "\"DependsOn\" must be a list of step names")


def _references(value: Any, path: Path_) -> Iterator[tuple[Path_, str]]:
    if isinstance(value, dict):
        get = value.get("Get")
        if len(value) == 1 and isinstance(get, str):
            yield (*path, "Get"), get
            return
        for key, item in value.items():
            yield from _references(item, (*path, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _references(item, (*path, i))


def fits(kind: str, value: Any) -> bool:
    """Whether ``value`` is what a SageMaker parameter of type ``kind`` takes."""
    if kind == "String":
        return isinstance(value, str)
    if kind == "Integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "Float":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind == "Boolean":
        return isinstance(value, bool)
    return False


def parameter_value(value: Any) -> str:
    """A parameter value as a schedule sends it: strings as-is, anything else as JSON (the
    same rule as ``components.aws.pipeline.parameter_value``)."""
    return value if isinstance(value, str) else json.dumps(value)


# ---- images -------------------------------------------------------------------------------

def resolve_image(value: Any, given: Mapping[str, Any],
                  parameters: Mapping[str, Parameter]) -> tuple[str | None, str | None]:
    """``(image, parameter)``: the image a step would run with org.yaml's values (None when
    it depends on what only a run knows, e.g. another step's output), and the parameter it
    came from, if any (``components.pipeline_images.resolve_image``)."""
    return _images_mod.resolve_image(
        value, given, {n: p.default for n, p in parameters.items() if p.has_default})


def pull_repositories(path: Path, shown: str, given: Mapping[str, Any], *, region: str,
                      account: str | None, team_prefix: str | None) -> tuple[str, ...]:
    """ECR repositories outside the team's own that the pipeline role must pull (DLCs)."""
    d = definition(path, shown)
    out: set[str] = set()
    for image in d.images:
        value, _ = resolve_image(image.value, given, d.parameters)
        if value is not None:
            verdict = pull(value, region=region, account=account, team_prefix=team_prefix)
            if verdict.repository_arn:
                out.add(verdict.repository_arn)
    return tuple(sorted(out))


# ---- org.yaml -----------------------------------------------------------------------------

def check_aws(add: Add, template: Path, shown: str, at_template: Path_,
              params: Mapping[str, tuple[Any, Path_]], at_params: Path_, *, env: str,
              region: str, account: str | None, team_prefix: str | None) -> None:
    """Every problem of one pipeline's local definition and parameters in one environment."""
    d = definition(template, shown)
    for finding in d.findings:
        add(at_template, finding)
    if not d.ok:
        return
    if d.size > DEFINITION_MAX_CHARS:
        add(at_template, f"{shown}: the definition is {d.size:,} characters as compact JSON; "
            f"CreatePipeline takes at most {DEFINITION_MAX_CHARS:,} (botocore sagemaker "
            "PipelineDefinition): split the pipeline")
    declared = d.parameters
    listing = ", ".join(f"{p.name} ({p.type})" for p in declared.values()) or "none"
    for key, (value, where) in params.items():
        p = declared.get(key)
        if p is None:
            add(where, f"'{key}' is not a parameter of the definition in {shown} (Parameters, "
                f"{d.parameters_where}: {listing}){did_you_mean(key, declared)}", at_key=True)
            continue
        if not fits(p.type, value):
            add(where, f"'{key}' is a {p.type} parameter ({p.where}); got {_kind(value)} "
                f"{json.dumps(value)[:60]}: give {PARAMETER_TYPES[p.type]}")
            continue
        sent = parameter_value(value)
        if not 1 <= len(sent) <= PARAMETER_VALUE_MAX:
            add(where, f"'{key}' is sent as {len(sent)} characters; SageMaker takes pipeline "
                f"parameter values of 1 to {PARAMETER_VALUE_MAX} characters")
    for p in declared.values():
        if not p.has_default and p.name not in params:
            add(at_params, f"parameter '{p.name}' ({p.type}, {p.where}) has no DefaultValue in "
                f"{shown}: SageMaker needs a value for it on every run; add `{p.name}: ...` "
                "under parameters")
    given = {k: v for k, (v, _) in params.items()}
    for image in d.images:
        value, origin = resolve_image(image.value, given, declared)
        if value is None:
            continue  # another step's output, or a parameter reported missing above
        verdict = pull(value, region=region, account=account, team_prefix=team_prefix)
        if verdict.problem is None:
            continue
        where = params[origin][1] if origin is not None and origin in params else at_template
        came = (f" (parameter {origin})" if origin else "")
        add(where, f"step '{image.step}' ({image.where} {format_path(image.path)}) runs "
            f"'{value}'{came} in environment '{env}': {verdict.problem}")
