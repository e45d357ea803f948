"""A small validator over botocore's service models: an API input checked as AWS describes it.

Structures (members, required members), strings (length, pattern, enum), numbers (range),
lists (length, members), maps and booleans, straight from ``botocore``'s JSON models. Java
regex Unicode classes (``\\p{L}``...) are translated to Python's nearest equivalents.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

import botocore.session
from botocore.model import Shape

_UNICODE_CLASSES = {r"\p{L}": r"a-zA-Z\u00C0-\uFFFF", r"\p{Z}": r"\s", r"\p{N}": r"0-9"}


@cache
def model(service: str) -> Any:
    return botocore.session.get_session().get_service_model(service)


def input_shape(service: str, operation: str) -> Shape:
    return model(service).operation_model(operation).input_shape


@cache
def _pattern(pattern: str) -> re.Pattern[str]:
    text = pattern.replace(r"\p{L}\p{Z}\p{N}", r"\w\s")  # letters, separators, numbers
    for java, python in _UNICODE_CLASSES.items():
        text = text.replace(java, python)
    return re.compile(text, re.S)


def validate(shape: Shape, value: Any, path: str = "") -> list[str]:
    """Every way ``value`` breaks ``shape`` (empty when AWS would accept it)."""
    out: list[str] = []
    _check(shape, value, path or shape.name, out)
    return out


def _check(shape: Shape, value: Any, path: str, out: list[str]) -> None:
    kind, meta = shape.type_name, shape.metadata
    if kind == "structure":
        if not isinstance(value, dict):
            out.append(f"{path}: expected a structure, got {type(value).__name__}")
            return
        members = shape.members
        for key, item in value.items():
            if key not in members:
                out.append(f"{path}.{key}: {shape.name} has no member {key} "
                           f"(members: {sorted(members)})")
                continue
            _check(members[key], item, f"{path}.{key}", out)
        for key in shape.required_members:
            if key not in value:
                out.append(f"{path}.{key}: required by {shape.name} and missing")
    elif kind == "list":
        if not isinstance(value, list):
            out.append(f"{path}: expected a list, got {type(value).__name__}")
            return
        _length(meta, len(value), path, out)
        for i, item in enumerate(value):
            _check(shape.member, item, f"{path}[{i}]", out)
    elif kind == "map":
        if not isinstance(value, dict):
            out.append(f"{path}: expected a map, got {type(value).__name__}")
            return
        _length(meta, len(value), path, out)
        for k, v in value.items():
            _check(shape.key, k, f"{path}.<key {k}>", out)
            _check(shape.value, v, f"{path}.{k}", out)
    elif kind == "string":
        if not isinstance(value, str):
            out.append(f"{path}: expected a string, got {value!r}")
            return
        _length(meta, len(value), path, out)
        if "enum" in meta and value not in meta["enum"]:
            out.append(f"{path}: {value!r} is not one of {meta['enum']}")
        if "pattern" in meta and not _pattern(meta["pattern"]).fullmatch(value):
            out.append(f"{path}: {value[:60]!r} does not match {meta['pattern']}")
    elif kind in ("integer", "long"):
        # The Pulumi engine carries numbers as doubles: a whole double is an integer.
        whole = (isinstance(value, int) and not isinstance(value, bool)) or (
            isinstance(value, float) and value.is_integer())
        if not whole:
            out.append(f"{path}: expected an integer, got {value!r}")
            return
        if ("min" in meta and value < meta["min"]) or ("max" in meta and value > meta["max"]):
            out.append(f"{path}: {value} is outside [{meta.get('min')}, {meta.get('max')}]")
    elif kind == "boolean":
        if not isinstance(value, bool):
            out.append(f"{path}: expected a boolean, got {value!r}")
    elif kind in ("double", "float"):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            out.append(f"{path}: expected a number, got {value!r}")
    elif kind == "timestamp":
        if not isinstance(value, str):
            out.append(f"{path}: expected a timestamp, got {value!r}")
    else:
        out.append(f"{path}: the validator does not know {kind}")


def _length(meta: dict[str, Any], n: int, path: str, out: list[str]) -> None:
    if "min" in meta and n < meta["min"]:
        out.append(f"{path}: length {n} is below the minimum {meta['min']}")
    if "max" in meta and n > meta["max"]:
        out.append(f"{path}: length {n:,} is above the maximum {meta['max']:,}")
