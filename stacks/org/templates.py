"""Pipeline templates, checked where org.yaml names them, so a bad one fails `trellis validate`.

A local template is read once and checked against its cloud's reference:

- **gcp**: a compiled Kubeflow Pipelines spec (:mod:`stacks.org.kfp`: the ``PipelineSpec``
  proto), optionally followed by a ``PlatformSpec`` document; every ``parameters`` key of the
  pipeline must be a root input of a compatible type, every required input must be given,
  and the request the schedule posts (the spec inline) must fit a Cloud Scheduler job;
- **aws**: a SageMaker pipeline definition (:mod:`stacks.org.sagemaker`): its documented
  structure, the ``Parameters`` org.yaml names and their types, the images its steps run (the
  pipeline role must be able to pull them, in the environment's region) and the size
  ``CreatePipeline`` takes.

Every message is positioned at org.yaml (the pipeline's ``template`` or the parameter at
fault) and names the template file, line and column it is about. Remote templates (``gs://``,
``s3://``) are read by ``pulumi up`` and cannot be checked offline.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from stacks.org.errors import Path_, did_you_mean, format_path

Pos = tuple[int, int]
Add = Callable[..., None]  # Problems.add(path, message, at_key=False)

#: A Cloud Scheduler job, its HTTP body included, holds at most 1 MB ("Fixed maximum job size
#: (payload): 1 MB total including ~1 KB request overhead",
#: https://cloud.google.com/scheduler/quotas; "The maximum allowed size for a job is 1MB",
#: https://cloud.google.com/scheduler/docs/reference/rest/v1/projects.locations.jobs).
SCHEDULER_JOB_MAX_BYTES = 1_000_000
#: What the job holds besides the pipeline spec: URI, headers, names, labels, the runtime
#: config and Google's ~1 KB overhead; generous so a template that passes always fits.
SCHEDULER_JOB_OVERHEAD = 8_192
#: Larger files are refused before parsing: no pipeline template comes near it.
MAX_TEMPLATE_BYTES = 16 * 1024 * 1024
#: Problems inside one template reported at once; past this it is not a template at all.
MAX_FINDINGS = 8

KFP_COMPILE = ("compile it with the KFP SDK (`kfp dsl compile --py pipeline.py --output "
               "pipeline.yaml`, or kfp.compiler.Compiler().compile(...))")


# ---- files with positions -------------------------------------------------------------------

@dataclass
class Document:
    """A template file read with positions: its documents and where each value is."""

    shown: str  # the path as org.yaml writes it
    docs: list[Any] = field(default_factory=list)
    positions: list[dict[Path_, Pos]] = field(default_factory=list)
    error: str | None = None  # the file cannot be read as YAML/JSON: why, located

    def at(self, doc: int, path: Path_) -> str:
        """``shown:line:col`` of ``path`` in document ``doc`` (or its closest ancestor)."""
        table = self.positions[doc] if doc < len(self.positions) else {}
        probe = tuple(path)
        while probe and probe not in table:
            probe = probe[:-1]
        line, col = table.get(probe, (1, 1))
        return f"{self.shown}:{line}:{col}"

    def finding(self, doc: int, path: Path_, message: str) -> str:
        where = format_path(path)
        return f"{self.at(doc, path)}{' ' + where if where else ''}: {message}"


def _stat_key(path: Path) -> tuple[int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_mtime_ns, st.st_size


def read(path: Path, shown: str) -> Document:
    """The file's YAML (or JSON) documents, with the position of every value."""
    return _read(str(path), shown, _stat_key(path))


@lru_cache(maxsize=256)
def _read(path: str, shown: str, stat: tuple[int, int] | None) -> Document:
    doc = Document(shown)
    if stat is None:
        doc.error = f"{shown}: cannot be read"
        return doc
    if stat[1] > MAX_TEMPLATE_BYTES:
        doc.error = (f"{shown}: {stat[1]:,} bytes is not a pipeline template (at most "
                     f"{MAX_TEMPLATE_BYTES:,} bytes are read)")
        return doc
    try:
        text = Path(path).read_bytes().decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        doc.error = f"{shown}: not UTF-8 text (byte {exc.start})"
        return doc
    except OSError as exc:
        doc.error = f"{shown}: cannot be read ({exc.strerror})"
        return doc
    loader = yaml.CSafeLoader(text) if hasattr(yaml, "CSafeLoader") else yaml.SafeLoader(text)
    try:
        while loader.check_node():
            node = loader.get_node()
            positions: dict[Path_, Pos] = {}
            seen: set[int] = set()
            alias = _walk(node, (), positions, seen)
            if alias is not None:
                doc.error = (f"{shown}:{alias[0]}:{alias[1]}: YAML anchors and aliases are "
                             "not supported in pipeline templates (compilers never write "
                             "them); write the value out")
                return doc
            doc.docs.append(loader.construct_document(node))
            doc.positions.append(positions)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
        doc.error = f"{shown}:{line}:{col}: not valid YAML or JSON ({exc.problem or exc})"
    except (yaml.YAMLError, RecursionError, ValueError, TypeError) as exc:
        doc.error = f"{shown}: not valid YAML or JSON ({exc})"
    finally:
        loader.dispose()
    if doc.error is None and not doc.docs:
        doc.error = f"{shown}: the file is empty"
    return doc


def _walk(node: yaml.Node, path: Path_, out: dict[Path_, Pos],
          seen: set[int]) -> Pos | None:
    """Record positions under ``node``; the position of an alias (a node met twice), if any."""
    pos = (node.start_mark.line + 1, node.start_mark.column + 1)
    if id(node) in seen:
        return pos
    seen.add(id(node))
    out.setdefault(path, pos)
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if id(key) in seen or id(value) in seen:
                return (key.start_mark.line + 1, key.start_mark.column + 1)
            seen.add(id(key))
            child = (*path, str(key.value) if isinstance(key, yaml.ScalarNode) else "?")
            # A mapping entry is where its key is written: what a reader looks for.
            out.setdefault(child, (key.start_mark.line + 1, key.start_mark.column + 1))
            found = _walk(value, child, out, seen)
            if found is not None:
                return found
    elif isinstance(node, yaml.SequenceNode):
        for i, value in enumerate(node.value):
            found = _walk(value, (*path, i), out, seen)
            if found is not None:
                return found
    return None


def _describe(value: Any) -> str:
    if isinstance(value, bool):
        return f"{'true' if value else 'false'} (a boolean)"
    if isinstance(value, (int, float)):
        return f"{value} (a number)"
    if isinstance(value, str):
        return f"'{value}' (a string)"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return "nothing" if value is None else type(value).__name__


def compact_json(value: Any) -> str:
    """The JSON a request carries: compact, keys in a fixed order."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


# ---- gcp: compiled KFP pipeline specs -------------------------------------------------------

@dataclass(frozen=True)
class KfpInput:
    """A root input parameter of a compiled pipeline."""

    name: str
    type: str  # parameterType (schema 2.1) or the legacy PrimitiveType (schema 2.0)
    required: bool  # no default and not optional: the schedule must give it
    where: str  # shown:line:col of its definition


@dataclass
class KfpTemplate:
    """A compiled KFP template as the validator and the schedule need it."""

    document: Document
    findings: list[str] = field(default_factory=list)
    spec: dict[str, Any] | None = None
    inputs: dict[str, KfpInput] = field(default_factory=dict)
    inputs_where: str = ""
    required_artifacts: tuple[str, ...] = ()
    size: int = 0  # bytes of the spec as compact JSON

    @property
    def ok(self) -> bool:
        return not self.findings and self.spec is not None


def pipeline_spec_of(doc: Any) -> tuple[Any, Path_]:
    """The pipeline spec in a template's first document: the document itself, or the
    ``pipelineSpec`` of a PipelineJob JSON (what ``kfp.v2.compiler`` wrote)."""
    if isinstance(doc, dict) and isinstance(doc.get("pipelineSpec"), dict):
        return doc["pipelineSpec"], ("pipelineSpec",)
    return doc, ()


def kfp_template(path: Path, shown: str) -> KfpTemplate:
    """The template at ``path`` checked as a compiled KFP pipeline (cached per file state)."""
    return _kfp(str(path), shown, _stat_key(path))


@lru_cache(maxsize=128)
def _kfp(path: str, shown: str, stat: tuple[int, int] | None) -> KfpTemplate:
    from stacks.org import kfp  # protobuf: only when a GCP org has a local template

    document = _read(path, shown, stat)
    t = KfpTemplate(document)
    if document.error is not None:
        t.findings.append(document.error)
        return t
    first, prefix = pipeline_spec_of(document.docs[0])
    if not isinstance(first, dict):
        t.findings.append(document.finding(0, (), f"the first document is {_describe(first)}, "
                                                  "not a pipeline spec mapping"))
        return t
    for where, problem in kfp.problems(first, kfp.PIPELINE_SPEC, prefix):
        t.findings.append(document.finding(0, where, problem))
    deployment = first.get("deploymentSpec")
    if isinstance(deployment, dict):
        for where, problem in kfp.problems(deployment, kfp.DEPLOYMENT_CONFIG,
                                           (*prefix, "deploymentSpec")):
            t.findings.append(document.finding(0, where, problem))
    for i, extra in enumerate(document.docs[1:], start=1):
        t.findings += _platform_problems(document, i, extra, kfp)
    if not t.findings:
        verdict = kfp.parse_error(first, kfp.PIPELINE_SPEC)
        if verdict is not None:
            t.findings.append(document.finding(0, prefix, verdict))
    if not t.findings:
        t.findings += _kfp_shape(document, first, prefix)
    if t.findings:
        t.findings = [*t.findings[:MAX_FINDINGS], f"{shown}: this is not a compiled KFP pipeline "
                      f"spec that Vertex AI can run; {KFP_COMPILE}"]
        return t
    t.spec = first
    t.size = len(compact_json(first).encode())
    _kfp_inputs(t, first, prefix)
    return t


def _platform_problems(document: Document, i: int, extra: Any, kfp: Any) -> list[str]:
    """A second document must be a PlatformSpec; Vertex AI runs only the pipeline spec, so
    platform settings (kfp-kubernetes secrets, volumes, node selectors) would be ignored."""
    if i > 1:
        return [document.finding(i, (), "a compiled template holds at most two documents (the "
                                        "pipeline spec and a platform spec)")]
    found = [document.finding(i, where, problem)
             for where, problem in kfp.problems(extra, kfp.PLATFORM_SPEC)]
    if found:
        return found
    platforms = extra.get("platforms") if isinstance(extra, dict) else None
    if platforms:
        return [document.finding(i, ("platforms",), f"platform settings for "
                                 f"{', '.join(map(str, platforms))} (e.g. kfp-kubernetes) "
                                 "cannot run on Vertex AI: its PipelineJob takes the pipeline "
                                 "spec only; remove them from the pipeline and compile again")]
    return []


def _kfp_shape(document: Document, spec: dict[str, Any], prefix: Path_) -> list[str]:
    """What a well-typed spec still needs to be a pipeline Vertex AI runs."""
    out: list[str] = []
    name = (spec.get("pipelineInfo") or {}).get("name")
    if not name:
        out.append(document.finding(0, (*prefix, "pipelineInfo"), "pipelineInfo.name is "
                                    "missing: every compiled pipeline has a name"))
    if not spec.get("schemaVersion"):
        out.append(document.finding(0, prefix, "schemaVersion is missing (compiled specs say "
                                    "2.1.0)"))
    root = spec.get("root")
    if not isinstance(root, dict) or not isinstance(root.get("dag"), dict):
        out.append(document.finding(0, (*prefix, "root"), "root.dag is missing: the pipeline "
                                    "has no tasks to run"))
        return out
    components = spec.get("components") or {}
    executors = ((spec.get("deploymentSpec") or {}).get("executors") or {})
    dags: list[tuple[Path_, dict[str, Any]]] = [((*prefix, "root", "dag"), root["dag"])]
    dags += [((*prefix, "components", key, "dag"), comp["dag"])
             for key, comp in components.items() if isinstance(comp.get("dag"), dict)]
    for dag_path, dag in dags:
        for task_name, task in (dag.get("tasks") or {}).items():
            ref = ((task or {}).get("componentRef") or {}).get("name")
            if ref is not None and ref not in components:
                at = (*dag_path, "tasks", task_name, "componentRef", "name")
                out.append(document.finding(0, at, f"task '{task_name}' runs component "
                                            f"'{ref}', which components does not define"
                                            f"{did_you_mean(ref, components)}"))
    for key, comp in components.items():
        label = comp.get("executorLabel")
        if label and label not in executors:
            out.append(document.finding(0, (*prefix, "components", key, "executorLabel"),
                                        f"executor '{label}' is not in "
                                        "deploymentSpec.executors"))
    return out


def _kfp_inputs(t: KfpTemplate, spec: dict[str, Any], prefix: Path_) -> None:
    document = t.document
    definitions = (spec.get("root") or {}).get("inputDefinitions") or {}
    where: Path_ = (*prefix, "root", "inputDefinitions", "parameters")
    t.inputs_where = document.at(0, where if "parameters" in definitions
                                 else (*prefix, "root"))
    # A PipelineJob JSON (kfp.v2.compiler) keeps its defaults in its own runtimeConfig.
    wrapper = document.docs[0].get("runtimeConfig") if prefix else None
    wrapped = wrapper if isinstance(wrapper, dict) else {}
    defaults = {*(wrapped.get("parameterValues") or {}), *(wrapped.get("parameters") or {})}
    for name, param in (definitions.get("parameters") or {}).items():
        param = param or {}
        kind = param.get("parameterType") or param.get("type") or "PARAMETER_TYPE_UNSPECIFIED"
        required = (not param.get("isOptional") and "defaultValue" not in param
                    and name not in defaults)
        t.inputs[str(name)] = KfpInput(str(name), str(kind), required,
                                       document.at(0, (*where, name)))
    t.required_artifacts = tuple(
        str(name) for name, art in (definitions.get("artifacts") or {}).items()
        if not (art or {}).get("isOptional"))


def kfp_value_fits(kind: str, value: Any) -> bool:
    """Whether org.yaml's ``value`` is what a root input of type ``kind`` takes."""
    if kind in ("STRING",):
        return isinstance(value, str)
    if kind in ("NUMBER_INTEGER", "INT"):
        return isinstance(value, int) and not isinstance(value, bool)
    if kind in ("NUMBER_DOUBLE", "DOUBLE"):
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind == "BOOLEAN":
        return isinstance(value, bool)
    if kind == "LIST":
        return isinstance(value, list)
    if kind == "STRUCT":
        return isinstance(value, dict)
    return True  # PARAMETER_TYPE_ENUM_UNSPECIFIED: Vertex AI takes any JSON value


def check_gcp(add: Add, template: Path, shown: str, at_template: Path_,
              params: Mapping[str, tuple[Any, Path_]], at_params: Path_) -> None:
    """Every problem of one pipeline's local template and parameters in one environment."""
    t = kfp_template(template, shown)
    for finding in t.findings:
        add(at_template, finding)
    if not t.ok:
        return
    values = {k: v for k, (v, _) in params.items()}
    if t.size + len(compact_json(values).encode()) + SCHEDULER_JOB_OVERHEAD > \
            SCHEDULER_JOB_MAX_BYTES:
        add(at_template, f"{shown}: the compiled spec is {t.size:,} bytes as JSON; the schedule "
            f"sends it inside its Cloud Scheduler job, which holds at most "
            f"{SCHEDULER_JOB_MAX_BYTES:,} bytes: make the pipeline smaller (fewer inlined "
            "components or embedded files)")
    inputs = t.inputs
    listing = (", ".join(f"{i.name} ({i.type})" for i in inputs.values())
               or "it has no input parameters")
    for key, (value, where) in params.items():
        spec = inputs.get(key)
        if spec is None:
            add(where, f"'{key}' is not an input of the pipeline in {shown} (root input "
                f"parameters, {t.inputs_where}: {listing}){did_you_mean(key, inputs)}",
                at_key=True)
            continue
        if spec.type in ("TASK_FINAL_STATUS", "TASK_CONFIG"):
            add(where, f"'{key}' is a {spec.type} input ({spec.where}): Vertex AI fills it in "
                "itself; remove it from parameters")
        elif not kfp_value_fits(spec.type, value):
            from stacks.org.kfp import PARAMETER_TYPES

            add(where, f"'{key}' is a {spec.type} input ({spec.where}); got {_describe(value)}: "
                f"give {PARAMETER_TYPES.get(spec.type, 'a JSON value')}")
    missing = [i for i in inputs.values() if i.required and i.name not in params]
    for i in missing:
        add(at_params, f"input '{i.name}' ({i.type}, {i.where}) has no default in {shown}: "
            f"add `{i.name}: ...` under parameters, or give it a default in the pipeline")
    for name in t.required_artifacts:
        add(at_template, f"{shown}: the pipeline needs the input artifact '{name}' "
            f"({t.inputs_where}), which a schedule cannot pass; make it optional or produce it "
            "inside the pipeline")
