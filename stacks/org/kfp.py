"""The Kubeflow Pipelines pipeline spec, the reference a compiled GCP template is checked against.

A compiled KFP template is the JSON form of the ``ml_pipelines.PipelineSpec`` protobuf message
(``kfp-pipeline-spec``'s ``pipeline_spec.proto``), optionally followed by a second YAML
document, a ``PlatformSpec``. Vertex AI takes the first as ``PipelineJob.pipelineSpec``.

The message definitions come from ``data/kfp_pipeline_spec.binpb``, the descriptor the
``kfp-pipeline-spec`` wheel registers (source, version and refresh in ``data/README.md``),
loaded into a private descriptor pool: no ``kfp-pipeline-spec`` release installs beside
Pulumi's protobuf pin, and a private pool never clashes with a ``kfp`` the user has imported
(docs/adr/0020). :func:`problems` walks a document along the descriptors and says where a
field is unknown or has the wrong type; protobuf's own ``json_format`` parser then has the
last word (:func:`parse_error`).
"""

from __future__ import annotations

import ast
import hashlib
import sys
import zipfile
from functools import lru_cache
from pathlib import Path
from typing import Any

from google.protobuf import (
    any_pb2,
    descriptor_pb2,
    descriptor_pool,
    duration_pb2,
    json_format,
    message_factory,
    struct_pb2,
    timestamp_pb2,
)
from google.protobuf.descriptor import Descriptor, FieldDescriptor

from stacks.org.errors import Path_, did_you_mean

DESCRIPTOR_FILE = Path(__file__).parent / "data" / "kfp_pipeline_spec.binpb"
PIPELINE_SPEC = "ml_pipelines.PipelineSpec"
PLATFORM_SPEC = "ml_pipelines.PlatformSpec"
DEPLOYMENT_CONFIG = "ml_pipelines.PipelineDeploymentConfig"

#: ``parameterType`` of a root input (``ParameterType.ParameterTypeEnum``) -> what org.yaml
#: may give for it. Schema 2.0.0 templates use ``type`` (``PrimitiveType``) instead.
PARAMETER_TYPES: dict[str, str] = {
    "STRING": "a string", "NUMBER_INTEGER": "a whole number", "NUMBER_DOUBLE": "a number",
    "BOOLEAN": "true or false", "LIST": "a list", "STRUCT": "a mapping",
    "INT": "a whole number", "DOUBLE": "a number",
}
#: Parameter types Vertex AI fills in itself; a schedule cannot give them.
SYSTEM_PARAMETER_TYPES = ("TASK_FINAL_STATUS", "TASK_CONFIG")

Problem = tuple[Path_, str]

_INTS = {FieldDescriptor.TYPE_INT32, FieldDescriptor.TYPE_INT64, FieldDescriptor.TYPE_UINT32,
         FieldDescriptor.TYPE_UINT64, FieldDescriptor.TYPE_SINT32, FieldDescriptor.TYPE_SINT64,
         FieldDescriptor.TYPE_FIXED32, FieldDescriptor.TYPE_FIXED64,
         FieldDescriptor.TYPE_SFIXED32, FieldDescriptor.TYPE_SFIXED64}
_FLOATS = {FieldDescriptor.TYPE_DOUBLE, FieldDescriptor.TYPE_FLOAT}
_FLOAT_WORDS = ("NaN", "Infinity", "-Infinity")
_WELL_KNOWN_STRINGS = ("google.protobuf.Duration", "google.protobuf.Timestamp",
                       "google.protobuf.FieldMask")
#: Problems reported per document: past this the file is not a pipeline spec at all.
MAX_PROBLEMS = 8


def _status_proto() -> bytes:
    """``google/rpc/status.proto``, which pipeline_spec.proto imports, built here: importing
    googleapis-common-protos' ``status_pb2`` fails in a process where Pulumi's runtime has
    already registered ``google.rpc.Status`` in the default pool."""
    f = descriptor_pb2.FileDescriptorProto(name="google/rpc/status.proto", package="google.rpc",
                                           dependency=["google/protobuf/any.proto"],
                                           syntax="proto3")
    status = f.message_type.add(name="Status")
    optional, repeated = (descriptor_pb2.FieldDescriptorProto.LABEL_OPTIONAL,
                          descriptor_pb2.FieldDescriptorProto.LABEL_REPEATED)
    types = descriptor_pb2.FieldDescriptorProto
    status.field.add(name="code", number=1, label=optional, type=types.TYPE_INT32,
                     json_name="code")
    status.field.add(name="message", number=2, label=optional, type=types.TYPE_STRING,
                     json_name="message")
    status.field.add(name="details", number=3, label=repeated, type=types.TYPE_MESSAGE,
                     type_name=".google.protobuf.Any", json_name="details")
    return f.SerializeToString()


@lru_cache(maxsize=1)
def _pool() -> descriptor_pool.DescriptorPool:
    pool = descriptor_pool.DescriptorPool()
    for dependency in (any_pb2, duration_pb2, struct_pb2, timestamp_pb2):
        pool.AddSerializedFile(dependency.DESCRIPTOR.serialized_pb)
    pool.AddSerializedFile(_status_proto())
    pool.AddSerializedFile(DESCRIPTOR_FILE.read_bytes())
    return pool


def descriptor(name: str) -> Descriptor:
    """The message descriptor ``name`` (e.g. :data:`PIPELINE_SPEC`)."""
    return _pool().FindMessageTypeByName(name)


def parse_error(value: Any, name: str) -> str | None:
    """protobuf's verdict on ``value`` as the JSON form of message ``name``: None when it
    parses, else the parser's message."""
    cls = message_factory.GetMessageClass(descriptor(name))
    try:
        json_format.ParseDict(value, cls(), descriptor_pool=_pool())
    except json_format.ParseError as exc:
        return str(exc).splitlines()[0]
    except (TypeError, ValueError, AttributeError, RecursionError) as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


def problems(value: Any, name: str, path: Path_ = ()) -> list[Problem]:
    """Where ``value`` is not the JSON form of message ``name``: unknown fields, wrong types,
    two members of one ``oneof``; at most :data:`MAX_PROBLEMS`."""
    out: list[Problem] = []
    _message(value, descriptor(name), path, out)
    return out[:MAX_PROBLEMS]


def _describe(value: Any) -> str:
    if isinstance(value, bool):
        return "true or false"
    if isinstance(value, (int, float)):
        return f"the number {value}"
    if isinstance(value, str):
        return f"the string '{value[:40]}'"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return "nothing" if value is None else type(value).__name__


def _fields(desc: Descriptor) -> dict[str, FieldDescriptor]:
    table: dict[str, FieldDescriptor] = {}
    for f in desc.fields:
        table[f.json_name] = f
        table[f.name] = f
    return table


def _message(value: Any, desc: Descriptor, path: Path_, out: list[Problem]) -> None:
    if len(out) >= MAX_PROBLEMS:
        return
    full = desc.full_name
    if full == "google.protobuf.Value":
        return
    if full == "google.protobuf.Struct" or full == "google.protobuf.Any":
        if not isinstance(value, dict):
            out.append((path, f"expected a mapping; got {_describe(value)}"))
        return
    if full == "google.protobuf.ListValue":
        if not isinstance(value, list):
            out.append((path, f"expected a list; got {_describe(value)}"))
        return
    if full in _WELL_KNOWN_STRINGS:
        if not isinstance(value, str):
            out.append((path, f"expected a string such as '3600s'; got {_describe(value)}"))
        return
    if not isinstance(value, dict):
        out.append((path, f"expected a mapping ({desc.name}); got {_describe(value)}"))
        return
    fields = _fields(desc)
    oneofs: dict[str, str] = {}
    for key, item in value.items():
        field = fields.get(str(key))
        if field is None:
            allowed = [f.json_name for f in desc.fields]
            out.append(((*path, key), f"unknown field '{key}' in {desc.name}"
                        f"{did_you_mean(key, allowed)}; {desc.name} has: {', '.join(allowed)}"))
            if len(out) >= MAX_PROBLEMS:
                return
            continue
        if item is None:
            continue  # JSON null: the field is unset
        if field.containing_oneof is not None:
            group = field.containing_oneof.name
            first = oneofs.setdefault(group, field.json_name)
            if first != field.json_name:
                out.append(((*path, key), f"'{first}' and '{field.json_name}' are alternatives "
                            f"({desc.name}.{group}); give only one"))
        _field(item, field, (*path, key), out)


def _field(value: Any, field: FieldDescriptor, path: Path_, out: list[Problem]) -> None:
    msg = field.message_type
    if msg is not None and msg.GetOptions().map_entry:
        if not isinstance(value, dict):
            out.append((path, f"expected a mapping; got {_describe(value)}"))
            return
        value_field = msg.fields_by_name["value"]
        for k, v in value.items():
            if v is not None:
                _single(v, value_field, (*path, k), out)
        return
    if field.label == FieldDescriptor.LABEL_REPEATED:
        if not isinstance(value, list):
            out.append((path, f"expected a list; got {_describe(value)}"))
            return
        for i, v in enumerate(value):
            _single(v, field, (*path, i), out)
        return
    _single(value, field, path, out)


def _single(value: Any, field: FieldDescriptor, path: Path_, out: list[Problem]) -> None:
    kind = field.type
    if kind == FieldDescriptor.TYPE_MESSAGE or kind == FieldDescriptor.TYPE_GROUP:
        _message(value, field.message_type, path, out)
    elif kind == FieldDescriptor.TYPE_STRING or kind == FieldDescriptor.TYPE_BYTES:
        if not isinstance(value, str):
            out.append((path, f"expected a string; got {_describe(value)}"))
    elif kind == FieldDescriptor.TYPE_BOOL:
        if not isinstance(value, bool):
            out.append((path, f"expected true or false; got {_describe(value)}"))
    elif kind in _INTS:
        if isinstance(value, bool) or not (
                isinstance(value, int) or (isinstance(value, float) and value.is_integer())
                or (isinstance(value, str) and value.lstrip("-").isdigit())):
            out.append((path, f"expected a whole number; got {_describe(value)}"))
    elif kind in _FLOATS:
        if isinstance(value, bool) or not (isinstance(value, (int, float))
                                           or value in _FLOAT_WORDS):
            out.append((path, f"expected a number; got {_describe(value)}"))
    elif kind == FieldDescriptor.TYPE_ENUM:
        names = [v.name for v in field.enum_type.values]
        if isinstance(value, bool) or not (value in names or isinstance(value, int)):
            out.append((path, f"'{value}' is not a {field.enum_type.name}"
                        f"{did_you_mean(value, names)}; one of: {', '.join(names)}"))


# ---- refresh ------------------------------------------------------------------------------

def serialized_descriptor(wheel: Path) -> bytes:
    """The ``FileDescriptorProto`` bytes the wheel's ``pipeline_spec_pb2.py`` registers."""
    with zipfile.ZipFile(wheel) as zf:
        source = zf.read("kfp/pipeline_spec/pipeline_spec_pb2.py").decode()
    for node in ast.walk(ast.parse(source)):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and node.func.attr == "AddSerializedFile" and node.args
                and isinstance(node.args[0], ast.Constant)
                and isinstance(node.args[0].value, bytes)):
            return node.args[0].value
    raise ValueError(f"{wheel}: no AddSerializedFile(b'...') in pipeline_spec_pb2.py")


def main(argv: list[str]) -> int:
    """``python -m stacks.org.kfp refresh WHEEL``: replace the vendored descriptor."""
    if len(argv) != 2 or argv[0] != "refresh":
        print("usage: python -m stacks.org.kfp refresh kfp_pipeline_spec-<v>-py3-none-any.whl",
              file=sys.stderr)
        return 2
    blob = serialized_descriptor(Path(argv[1]))
    DESCRIPTOR_FILE.write_bytes(blob)
    print(f"{DESCRIPTOR_FILE}: {len(blob)} bytes, sha256 {hashlib.sha256(blob).hexdigest()}")
    return 0


if __name__ == "__main__":  # pragma: no cover - a maintenance command
    raise SystemExit(main(sys.argv[1:]))
