"""Read a YAML document into plain Python values while remembering where every value came from.

We build the values ourselves, which gives us what a config loader for people needs and stock
loaders do not: duplicate keys are errors (never last-one-wins), aliases are expanded against a
budget (an alias bomb fails fast with bounded memory), nesting is bounded, and every key and
value keeps its line and column for error messages.

Two paths give the same values, positions and problems (``tests/unit/test_yaml_parsers.py``
holds them to it):

- **events** (here): values are built straight from libyaml's parser events (PyYAML's C
  parser), plain scalars resolved by YAML 1.2's rules as ruamel.yaml implements them, so
  ``yes``/``no``/``on``/``off`` stay strings and ``010`` is the number ten. It takes the
  documents an org file almost always is: no aliases, no explicit tags, no merge keys, only
  strings, numbers, booleans or nulls as keys. A 200-team org parses in about 40 ms.
- **nodes** (:mod:`stacks.org.yamlnodes`, imported only when needed): everything else, and every
  document when libyaml is missing, ``TRELLIS_YAML=pure`` is set or the document asks for
  ``%YAML 1.1``. ruamel.yaml's pure-Python parser is forty times slower than libyaml. ADR 8.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from typing import Any

try:  # PyYAML built with libyaml: a C parser
    import yaml as _pyyaml
    from yaml._yaml import CParser as _CParser
except ImportError:  # pragma: no cover - depends on how PyYAML was built
    _pyyaml = None
    _CParser = None

from stacks.org.errors import Issue, OrgError, Path_

#: Upper bound on values in one document, counting every alias expansion. A realistic org.yaml
#: of 1,000 teams stays well under it; a billion-laughs document is refused before it is built.
MAX_NODES = 1_000_000
#: Deepest nesting accepted. org.yaml's own structure is six levels deep; pipeline parameters
#: may nest further, but nothing needs this many levels, and every later step (validation,
#: plan, JSON output) may recurse once per level.
MAX_DEPTH = 64

PYYAML_MARKED_ERRORS: tuple[type[Exception], ...] = (
    () if _pyyaml is None else (_pyyaml.MarkedYAMLError,))
PYYAML_ERRORS: tuple[type[Exception], ...] = (() if _pyyaml is None else (_pyyaml.YAMLError,))


@dataclass
class Source:
    """A parsed document: the data plus the position of every key and value by field path."""

    file: str
    data: Any
    value_pos: dict[Path_, tuple[int, int]] = field(default_factory=dict)
    key_pos: dict[Path_, tuple[int, int]] = field(default_factory=dict)

    def issue(self, path: Path_, message: str, *, at_key: bool = False) -> Issue:
        """An :class:`Issue` positioned at ``path`` (or its closest known ancestor)."""
        table = self.key_pos if at_key else self.value_pos
        probe = tuple(path)
        while probe:
            pos = table.get(probe) or self.value_pos.get(probe)
            if pos is not None:
                return Issue(message, tuple(path), self.file, pos[0], pos[1])
            probe = probe[:-1]
        return Issue(message, tuple(path), self.file, 1, 1)


class NeedsPureParserError(Exception):
    """libyaml is missing, switched off, or the document asks for YAML 1.1 (``%YAML 1.1``),
    whose scalars ruamel.yaml builds differently: parse with ruamel.yaml instead."""


class _NeedsNodesError(Exception):
    """The document uses what only the node path builds: aliases, explicit tags, merge keys
    or collections as keys."""


def use_libyaml() -> bool:
    """True when documents are parsed by libyaml (the default when PyYAML has it)."""
    return _CParser is not None and os.environ.get("TRELLIS_YAML", "") != "pure"


def parse(raw: bytes | str, file: str) -> Source:
    """Parse one YAML document; raise :class:`OrgError` with positions on any problem."""
    text = _decode(raw, file) if isinstance(raw, bytes) else raw
    if not text.strip() or all(
        not ln.strip() or ln.lstrip().startswith("#") for ln in text.splitlines()
    ):
        raise OrgError([Issue("the file is empty; start from `trellis schema` or the bundled "
                              "stacks/org.yaml", (), file, 1, 1)])
    libyaml = use_libyaml()
    try:
        if not libyaml:
            raise NeedsPureParserError
        source, issues, empty = _from_events(text, file)
    except (_NeedsNodesError, NeedsPureParserError) as exc:
        from stacks.org import yamlnodes

        source, issues = yamlnodes.parse(
            text, file, libyaml=libyaml and isinstance(exc, _NeedsNodesError))
        empty = source.data is None and not source.value_pos
    if empty:
        raise OrgError([Issue("the file has no document", (), file, 1, 1)])
    if issues:
        raise OrgError(issues)
    if not isinstance(source.data, dict):
        got = _KINDS.get(type(source.data), type(source.data).__name__)
        raise OrgError([Issue(
            f"the document must be a mapping (key: value pairs such as `version: 1`); got {got}",
            (), file, 1, 1)])
    return source


_KINDS = {type(None): "nothing (an empty document)", list: "a list", str: "a string",
          int: "a number", float: "a number", bool: "a boolean"}


def key_text(key: Any) -> str:
    """A mapping key as the string org.yaml means: ``1`` -> ``"1"``, ``true`` -> ``"true"``."""
    return str(key).lower() if isinstance(key, bool) else str(key)


def too_deep(path: Path_, file: str, line: int, col: int) -> Issue:
    return Issue(f"values are nested more than {MAX_DEPTH} levels deep here; org.yaml never "
                 "needs that many: flatten the value", path, file, line, col)


def syntax_issue(exc: Any, text: str, file: str) -> Issue:
    """A ruamel.yaml or PyYAML ``MarkedYAMLError`` (same attributes) as a located issue."""
    mark = exc.problem_mark or exc.context_mark
    line, col = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
    what = exc.problem or "invalid YAML"
    if exc.context and exc.context_mark is not None:
        ctx = exc.context_mark
        what += f" ({exc.context} that started at line {ctx.line + 1}, column {ctx.column + 1})"
    elif exc.context:
        what += f" ({exc.context})"
    if _char_at(text, line, col) == "\t":
        what += "; that character is a tab: YAML indents with spaces only"
    return Issue(f"YAML syntax error: {what}", (), file, line, col)


def _decode(raw: bytes, file: str) -> str:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        before = raw[: exc.start]
        line = before.count(b"\n") + 1
        col = exc.start - (before.rfind(b"\n") + 1) + 1
        raise OrgError([Issue(
            f"the file is not valid UTF-8 (byte 0x{raw[exc.start]:02x}); save it as UTF-8",
            (), file, line, col)]) from None
    return text.removeprefix("\ufeff")


def _char_at(text: str, line: int, col: int) -> str:
    lines = text.splitlines()
    if 1 <= line <= len(lines) and 1 <= col <= len(lines[line - 1]):
        return lines[line - 1][col - 1]
    return ""


# ---------------------------------------------------------------------------------------------
# Plain scalars: YAML 1.2 as ruamel.yaml resolves and constructs them
# ---------------------------------------------------------------------------------------------

# ruamel.yaml's 1.2 rules, tried in this order for the scalar's first character. Timestamps,
# `=` and `<<` (as a value) are left out: org.yaml keeps their text, exactly what a string is.
_BOOL = re.compile(r"true|True|TRUE|false|False|FALSE")
_FLOAT = re.compile(r"""[-+]?[0-9][0-9_]*\.[0-9_]*(?:[eE][-+]?[0-9]+)?
                       |[-+]?[0-9][0-9_]*[eE][-+]?[0-9]+
                       |[-+]?\.[0-9_]+(?:[eE][-+][0-9]+)?
                       |[-+]?\.(?:inf|Inf|INF)
                       |\.(?:nan|NaN|NAN)""", re.X)
_INT = re.compile(r"[-+]?(?:0b[01_]+|0o[0-7_]+|0x[0-9a-fA-F_]+|[0-9_]+)")
_NULL = re.compile(r"~|null|Null|NULL|")


def _bool(text: str) -> bool:
    return text.lower() == "true"


def _null(text: str) -> None:
    return None


def _int(text: str) -> int:
    digits = text.replace("_", "")
    sign = -1 if digits[0] == "-" else 1
    digits = digits.lstrip("+-") if digits[0] in "+-" else digits
    if digits[:2] in ("0b", "0x", "0o"):
        return sign * int(digits[2:], {"b": 2, "x": 16, "o": 8}[digits[1]])
    return sign * int(digits)


def _float(text: str) -> float:
    digits = text.replace("_", "").lower()
    sign = -1.0 if digits[0] == "-" else 1.0
    if digits[0] in "+-":
        digits = digits[1:]
    if digits == ".inf":
        return sign * float("inf")
    if digits == ".nan":
        return float("nan")
    return sign * float(digits)


_NUMBER = ((_FLOAT, _float), (_INT, _int))
_RULES: dict[str, tuple[tuple[re.Pattern[str], Any], ...]] = {
    **{c: ((_BOOL, _bool),) for c in "tTfF"},
    **{c: ((_NULL, _null),) for c in "~nN"},
    "": ((_NULL, _null),),
    ".": ((_FLOAT, _float),),
    **{c: _NUMBER for c in "-+0123456789"},
}


def plain_scalar(text: str) -> Any:
    """The value of an untagged plain scalar under YAML 1.2: bool, int, float, None or the
    text. Text that a rule matches but cannot be built (``-_``, ``0x_``) stays text."""
    for pattern, build in _RULES.get(text[:1], ()):
        if pattern.fullmatch(text):
            try:
                return build(text)
            except ValueError:
                return text
    return text


# ---------------------------------------------------------------------------------------------
# libyaml events -> values
# ---------------------------------------------------------------------------------------------

_MAP, _SEQ, _SKIP = 0, 1, 2
_NO_KEY = object()  # a mapping frame waiting for its next key
_SKIP_VALUE = object()  # ... whose next value belongs to a refused key: not built


def _from_events(text: str, file: str) -> tuple[Source, list[Issue], bool]:
    """Build the document from libyaml's events; the source, the problems found (duplicate
    keys, keys that are not strings) and whether the stream had no document at all.

    Raises :class:`_NeedsNodesError` at the first alias, explicit tag, merge key or collection
    key, and :class:`NeedsPureParserError` at a ``%YAML`` directive other than 1.2.
    """
    assert _pyyaml is not None and _CParser is not None
    ev = _pyyaml.events
    scalar_t, map_start_t, seq_start_t = ev.ScalarEvent, ev.MappingStartEvent, ev.SequenceStartEvent
    map_end_t, seq_end_t, alias_t = ev.MappingEndEvent, ev.SequenceEndEvent, ev.AliasEvent
    doc_start_t = ev.DocumentStartEvent

    source = Source(file=file, data=None)
    value_pos, key_pos = source.value_pos, source.key_pos
    issues: list[Issue] = []
    plain: dict[str, Any] = {}  # plain scalar text -> value: numbers, booleans, names repeat
    # A frame: [kind, container, path, next index] for a sequence, [kind, container, path,
    # path of the key waiting for its value, or _NO_KEY / _SKIP_VALUE] for a mapping, and
    # [_SKIP, depth, None, None] for the value of a refused key, read and dropped.
    stack: list[list[Any]] = []
    root_mark: Any = None
    documents = 0
    parser = _CParser(text)

    def place(value: Any, mark: Any) -> Path_ | None:
        """Put a value where the open collection expects it; its path, or None when the value
        belongs to a refused key and is not built."""
        nonlocal root_mark
        pos = (mark.line + 1, mark.column + 1)
        if not stack:
            root_mark = mark
            source.data = value
            value_pos[()] = pos
            return ()
        frame = stack[-1]
        if frame[0] == _SEQ:
            path = (*frame[2], frame[3])
            frame[3] += 1
            frame[1].append(value)
        else:
            path = frame[3]  # the key's path
            frame[3] = _NO_KEY
            if path is _SKIP_VALUE:
                return None
            frame[1][path[-1]] = value
        if len(path) > MAX_DEPTH:
            raise OrgError([too_deep(path, file, *pos)])
        value_pos.setdefault(path, pos)
        return path

    def key(value: Any, mark: Any, frame: list[Any]) -> None:
        pos = (mark.line + 1, mark.column + 1)
        if value is None:
            issues.append(Issue("keys must be plain strings", frame[2], file, *pos))
            frame[3] = _SKIP_VALUE
            return
        name = value if type(value) is str else key_text(value)
        child = (*frame[2], name)
        if name in frame[1]:
            first = key_pos.get(child, (0, 0))[0]
            issues.append(Issue(
                f"duplicate key '{name}' (first defined on line {first}); YAML would keep only "
                "the last one, so remove or rename one of them", child, file, *pos))
            frame[3] = _SKIP_VALUE
            return
        key_pos[child] = pos
        frame[3] = child

    try:
        while True:
            event = parser.get_event()
            kind = type(event)
            top = stack[-1] if stack else None
            if kind is scalar_t:
                if event.tag is not None:
                    raise _NeedsNodesError
                if top is not None and top[0] == _SKIP:
                    continue
                text_ = event.value
                plain_text = event.implicit[0]
                if plain_text:
                    value = plain.get(text_, plain)
                    if value is plain:
                        value = plain[text_] = plain_scalar(text_)
                else:
                    value = text_
                if top is None or top[3] is not _NO_KEY:
                    place(value, event.start_mark)
                elif (type(value) is str and value not in top[1]
                      and (value != "<<" or not plain_text)):
                    mark = event.start_mark  # a new string key: the common case, inline
                    top[3] = child = (*top[2], value)
                    key_pos[child] = (mark.line + 1, mark.column + 1)
                elif plain_text and text_ == "<<":
                    raise _NeedsNodesError  # a merge key
                else:
                    key(value, event.start_mark, top)
            elif kind is map_start_t or kind is seq_start_t:
                if event.tag is not None:
                    raise _NeedsNodesError
                if top is not None:
                    if top[0] == _SKIP:
                        top[1] += 1
                        continue
                    if top[3] is _NO_KEY:
                        raise _NeedsNodesError  # a collection as a key
                container: Any = {} if kind is map_start_t else []
                path = place(container, event.start_mark)
                if path is None:
                    stack.append([_SKIP, 1, None, None])
                elif kind is map_start_t:
                    stack.append([_MAP, container, path, _NO_KEY])
                else:
                    stack.append([_SEQ, container, path, 0])
            elif kind is map_end_t or kind is seq_end_t:
                assert top is not None
                if top[0] == _SKIP:
                    top[1] -= 1
                    if top[1]:
                        continue
                stack.pop()
            elif kind is alias_t:
                raise _NeedsNodesError
            elif kind is doc_start_t:
                documents += 1
                if documents > 1:
                    raise _pyyaml.composer.ComposerError(
                        "expected a single document in the stream", root_mark,
                        "but found another document", event.start_mark)
                if event.version is not None and tuple(event.version) != (1, 2):
                    raise NeedsPureParserError
            elif event is None or kind is ev.StreamEndEvent:
                break
    except PYYAML_MARKED_ERRORS as exc:
        raise OrgError([syntax_issue(exc, text, file)]) from None
    except PYYAML_ERRORS as exc:
        raise OrgError([Issue(f"YAML syntax error: {exc}", (), file, 1, 1)]) from None
    finally:
        parser.dispose()
    return source, issues, root_mark is None
