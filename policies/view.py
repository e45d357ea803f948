"""What a rule sees of a resource: plain values, its URN and links, and fail-closed accessors.

CrossGuard hands rules its properties behind a proxy that raises on unknown values (values the
engine only learns during the update, e.g. an id during ``pulumi preview``). The proxy also
raises on innocent-looking operations such as ``key in props`` or ``props.get(key)``. We unwrap
it once into plain dicts and lists, turning every unknown into the :data:`UNKNOWN` marker, and
give rules two ways to read:

* :meth:`Res.get` raises :class:`UnknownValueError` on an unknown value. The rule wrapper turns
  that into a violation (fail closed): a rule must never pass on something it could not see.
* :meth:`Res.peek` returns :data:`UNKNOWN` instead, for rules that can decide without the value
  (join keys fall back to the property dependency, an unknown service-account e-mail that
  comes from an account in the stack is by construction not the default account).
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from policies import sdk

_SENTINELS = sdk.UNKNOWN_SENTINELS
_SIG_KEY = sdk.SPECIAL_SIG_KEY
_DICT_PROXY = sdk.DICT_PROXY
_LIST_PROXY = sdk.LIST_PROXY


class _Unknown:
    """A value the engine does not know yet (computed during the update)."""

    _instance: _Unknown | None = None

    def __new__(cls) -> _Unknown:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "<unknown>"

    def __bool__(self) -> bool:
        # Truthiness of an unknown would silently pick a branch; callers must test for it.
        raise TypeError("an unknown value has no truth value; test `is UNKNOWN` first")


UNKNOWN: Any = _Unknown()
"""Marker for unknown values in :class:`Res` properties (compare with ``is``)."""

Path = tuple[str | int, ...]


def plain(value: Any) -> Any:
    """A CrossGuard property value (proxied or not) as plain Python, unknowns as UNKNOWN."""
    if isinstance(value, (_DICT_PROXY, dict)):
        target = value["__target"] if isinstance(value, _DICT_PROXY) else value
        return {str(k): plain(v) for k, v in target.items()}
    if isinstance(value, (_LIST_PROXY, list, tuple)):
        target = value["__target"] if isinstance(value, _LIST_PROXY) else value
        return [plain(v) for v in target]
    if isinstance(value, str) and value in _SENTINELS:
        return UNKNOWN
    return value


def from_wire(value: Any) -> Any:
    """A plan's plain value as a rule sees it after the Analyzer wire: ``plain(proxy(...))``.

    The engine sends properties as a protobuf ``Struct`` (every number a double, tuples as
    lists) which the servicer deserializes (secrets unwrapped, assets rebuilt); :func:`plain`
    then marks unknown sentinels. This does the three in one pass, without protobuf.
    """
    # The exact types a plan holds first (a plan converts hundreds of thousands of values);
    # anything else (subclasses, Mappings, tuples) takes the general path below.
    kind = type(value)
    if kind is str:
        return UNKNOWN if value in _SENTINELS else value
    if kind is dict:
        if _SIG_KEY not in value:
            return {k if type(k) is str else str(k): from_wire(v) for k, v in value.items()}
    elif kind is list:
        return [from_wire(v) for v in value]
    elif value is None or kind is bool:
        return value
    elif kind is int or kind is float:
        return float(value)
    return _from_wire(value)


def _from_wire(value: Any) -> Any:
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str):
        return UNKNOWN if value in _SENTINELS else value
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, Mapping):
        if _SIG_KEY in value:  # secret, asset or archive: rare, take the servicer's own path
            return plain(sdk.deserialize_property(_to_wire(value)))
        return {str(k): from_wire(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [from_wire(v) for v in value]
    raise TypeError(f"{type(value).__name__} cannot travel in a protobuf Struct: {value!r}")


def _to_wire(value: Any) -> Any:
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, Mapping):
        return {str(k): _to_wire(v) for k, v in value.items()}
    return [_to_wire(v) for v in value]


def _walk(value: Any, path: Path, *, strict: bool, where: Path) -> Any:
    for i, key in enumerate(path):
        if value is UNKNOWN:
            if strict:
                raise _unknown_error(where + path[:i])
            return UNKNOWN
        if isinstance(key, int):
            if not isinstance(value, list) or not -len(value) <= key < len(value):
                return None
            value = value[key]
        else:
            if not isinstance(value, dict):
                return None
            value = value.get(key)
    if value is UNKNOWN and strict:
        raise _unknown_error(where + path)
    return value


def _unknown_error(path: Path) -> Exception:
    return sdk.unknown_value_error([str(p) for p in path])


def deep_unknown(value: Any) -> bool:
    """True when ``value`` is or contains an unknown."""
    if value is UNKNOWN:
        return True
    if isinstance(value, dict):
        return any(deep_unknown(v) for v in value.values())
    if isinstance(value, list):
        return any(deep_unknown(v) for v in value)
    return False


def require_known(value: Any, path: Path) -> Any:
    """``value`` if it holds no unknown anywhere, else raise (fail closed)."""
    if deep_unknown(value):
        raise _unknown_error(path)
    return value


def as_list(value: Any) -> list[Any]:
    """None -> [], a scalar -> [scalar], a list -> itself (policy documents mix all three)."""
    if value is None:
        return []
    if isinstance(value, list):
        return value
    return [value]


def number(value: Any) -> float | None:
    """The engine sends every number as a float; strings of digits are accepted too."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def fmt_num(value: float | None) -> str:
    """8.0 -> "8" for messages."""
    if value is None:
        return "unset"
    return str(int(value)) if float(value).is_integer() else str(value)


def urn_name(urn: str) -> str:
    """The logical name: the part after the last ``::``."""
    return urn.rsplit("::", 1)[-1]


def urn_type_chain(urn: str) -> list[str]:
    """``urn:pulumi:dev::trellis::trellis:gcp:Team$gcp:storage/bucket:Bucket::x`` -> types.

    The qualified type records the type of every ancestor, so the parent chain can be read from
    the URN alone (resource policies do not receive the other resources).
    """
    parts = urn.split("::")
    if len(parts) < 4:
        return []
    return parts[2].split("$")


@dataclass
class Res:
    """One resource as a rule sees it."""

    type: str
    urn: str
    name: str
    props: dict[str, Any]
    protect: bool = False
    parent: str | None = None
    dependencies: tuple[str, ...] = ()
    property_dependencies: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def get(self, *path: str | int) -> Any:
        """The value at ``path`` (None when absent); raise if any part of it is unknown."""
        return _walk(self.props, path, strict=True, where=())

    def peek(self, *path: str | int) -> Any:
        """The value at ``path`` (None when absent, UNKNOWN when unknown); never raises."""
        return _walk(self.props, path, strict=False, where=())

    def get_known(self, *path: str | int) -> Any:
        """The whole subtree at ``path``, raising if anything inside it is unknown."""
        return require_known(self.get(*path), path)

    def deps_of(self, prop: str) -> tuple[str, ...]:
        """URNs the top-level property ``prop`` was computed from."""
        return self.property_dependencies.get(prop, ())

    @property
    def label(self) -> str:
        return f"{self.type.rsplit(':', 1)[-1]} '{self.name}'"


def at(value: Any, *path: str | int) -> Any:
    """Walk a plain value (e.g. one list item of a resource) with the fail-closed semantics."""
    return _walk(value, path, strict=True, where=())


def peek_at(value: Any, *path: str | int) -> Any:
    """Like :func:`at`, but an unknown on the way is returned as UNKNOWN instead of raising."""
    return _walk(value, path, strict=False, where=())


@dataclass
class Stack:
    """Every resource of the stack, for rules that join split resources."""

    resources: list[Res]

    def __post_init__(self) -> None:
        self.by_urn: dict[str, Res] = {r.urn: r for r in self.resources}
        #: Results rules share within one evaluation (joins built once, not once per resource).
        self.memo: dict[Any, Any] = {}
        self._of_type: dict[tuple[str, ...], list[Res]] = {}

    def of_type(self, *types: str) -> list[Res]:
        """The resources of ``types``, in stack order (a new list; the scan is done once per
        set of types: rules ask for the same types for every resource they check)."""
        hit = self._of_type.get(types)
        if hit is None:
            wanted = set(types)
            hit = self._of_type[types] = [r for r in self.resources if r.type in wanted]
        return list(hit)

    def ancestors(self, res: Res) -> Iterator[Res]:
        seen: set[str] = set()
        cur = res.parent
        while cur and cur not in seen and cur in self.by_urn:
            seen.add(cur)
            parent = self.by_urn[cur]
            yield parent
            cur = parent.parent


def glob_any(value: str, patterns: Iterable[str]) -> bool:
    """Case-insensitive glob match against any of ``patterns``."""
    low = value.lower()
    return any(fnmatch.fnmatchcase(low, p.lower()) for p in patterns)


def labels_of(res: Res, *paths: Sequence[str | int]) -> dict[str, Any]:
    """Merged label/tag maps found at ``paths`` (absent maps count as empty)."""
    out: dict[str, Any] = {}
    for path in paths:
        value = res.get(*path)
        if isinstance(value, Mapping):
            out.update(value)
    return out
