"""A small validator over Google API discovery documents (the ones google-api-python-client ships).

Checks a request body against a discovery schema the way the API reads it: every field exists,
has the schema's type and format, enums hold allowed values, fields marked "Required" are
present and output-only (``readOnly``) fields are absent. The schema is Google's, not ours:
the document is loaded from ``googleapiclient/discovery_cache/documents/<api>.json``.
"""

from __future__ import annotations

import base64
import binascii
import contextvars
import json
import re
from functools import cache
from pathlib import Path
from typing import Any

import googleapiclient

DOCUMENTS = Path(googleapiclient.__file__).parent / "discovery_cache" / "documents"
_DURATION = re.compile(r"-?\d+(\.\d{1,9})?s")
_DATETIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)")
_INT32 = (-(2**31), 2**31 - 1)


@cache
def document(api: str) -> dict[str, Any]:
    """The discovery document ``<api>.json``, e.g. ``aiplatform.v1``."""
    return json.loads((DOCUMENTS / f"{api}.json").read_text())


def method(api: str, dotted: str) -> dict[str, Any]:
    """A method by its resource path, e.g. ``projects.locations.pipelineJobs.create``."""
    node: dict[str, Any] = document(api)
    *resources, name = dotted.split(".")
    for part in resources:
        node = node["resources"][part]
    return node["methods"][name]


def required(prop: dict[str, Any]) -> bool:
    """Google marks REQUIRED fields by starting their description with "Required." (or
    "Required, except when used with Update..."); "Required if ..." is a condition on an
    existing resource, not on a create request."""
    return re.match(r"Required[.,]", str(prop.get("description", ""))) is not None


def validate(api: str, schema: str, value: Any) -> list[str]:
    """Every way ``value`` breaks ``schema`` of ``api`` (empty when it is a valid body)."""
    out: list[str] = []
    _check(document(api), {"$ref": schema}, value, schema, out)
    return out


#: True while a response is checked: output-only fields belong there, "Required" is about
#: requests.
_RESPONSE = contextvars.ContextVar("_RESPONSE", default=False)


def validate_response(api: str, schema: str, value: Any) -> list[str]:
    """Every way ``value`` breaks ``schema`` of ``api`` as a response body (recorded API
    responses and saved CLI output are held to the API's own description)."""
    token = _RESPONSE.set(True)
    try:
        return validate(api, schema, value)
    finally:
        _RESPONSE.reset(token)


def _check(doc: dict[str, Any], spec: dict[str, Any], value: Any, path: str,
           out: list[str]) -> None:
    if "$ref" in spec:
        _object(doc, doc["schemas"][spec["$ref"]], value, path, out)
        return
    kind, fmt = spec.get("type"), spec.get("format")
    if kind == "any":
        return
    if kind == "object":
        if "properties" in spec:
            _object(doc, spec, value, path, out)
            return
        if not isinstance(value, dict):
            out.append(f"{path}: expected an object, got {type(value).__name__}")
            return
        extra = spec.get("additionalProperties")
        if extra:
            for k, v in value.items():
                _check(doc, extra, v, f"{path}.{k}", out)
        return
    if kind == "array":
        if not isinstance(value, list):
            out.append(f"{path}: expected an array, got {type(value).__name__}")
            return
        for i, item in enumerate(value):
            _check(doc, spec["items"], item, f"{path}[{i}]", out)
        return
    if kind == "string":
        _string(spec, fmt, value, path, out)
    elif kind == "integer":
        # The Pulumi engine carries numbers as doubles: a whole double is an integer.
        whole = (isinstance(value, int) and not isinstance(value, bool)) or (
            isinstance(value, float) and value.is_integer())
        if not whole:
            out.append(f"{path}: expected an integer, got {value!r}")
        elif fmt == "int32" and not _INT32[0] <= value <= _INT32[1]:
            out.append(f"{path}: {value} is out of int32 range")
    elif kind == "number":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            out.append(f"{path}: expected a number, got {value!r}")
    elif kind == "boolean":
        if not isinstance(value, bool):
            out.append(f"{path}: expected a boolean, got {value!r}")
    else:
        out.append(f"{path}: the validator does not know type {kind!r}")


def _string(spec: dict[str, Any], fmt: str | None, value: Any, path: str,
            out: list[str]) -> None:
    if not isinstance(value, str):
        out.append(f"{path}: expected a string, got {value!r}")
        return
    if "enum" in spec and value not in spec["enum"]:
        out.append(f"{path}: {value!r} is not one of {spec['enum']}")
    if fmt in ("int64", "uint64") and not re.fullmatch(r"-?\d+", value):
        out.append(f"{path}: {value!r} is not an {fmt} string")
    elif fmt == "byte":
        try:
            base64.b64decode(value, validate=True)
        except binascii.Error:
            try:
                base64.urlsafe_b64decode(value)
            except binascii.Error:
                out.append(f"{path}: not base64 bytes")
    elif fmt == "google-duration" and not _DURATION.fullmatch(value):
        out.append(f"{path}: {value!r} is not a duration such as '3600s'")
    elif fmt == "google-datetime" and not _DATETIME.fullmatch(value):
        out.append(f"{path}: {value!r} is not an RFC 3339 timestamp")


def _object(doc: dict[str, Any], schema: dict[str, Any], value: Any, path: str,
            out: list[str]) -> None:
    if not isinstance(value, dict):
        out.append(f"{path}: expected an object ({schema.get('id', '')}), got "
                   f"{type(value).__name__}")
        return
    props = schema.get("properties", {})
    for key, item in value.items():
        prop = props.get(key)
        if prop is None:
            out.append(f"{path}.{key}: no such field in {schema.get('id')}; it has "
                       f"{sorted(props)}")
            continue
        if prop.get("readOnly") and not _RESPONSE.get():
            out.append(f"{path}.{key}: output only, a request must not set it")
        _check(doc, prop, item, f"{path}.{key}", out)
    for key, prop in props.items():
        if _RESPONSE.get():
            break
        if required(prop) and not prop.get("readOnly") and key not in value:
            out.append(f"{path}.{key}: required by {schema.get('id')} and missing")
