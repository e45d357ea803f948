"""Read a YAML document into plain Python values while remembering where every value came from.

We build the values ourselves, which gives us what a config loader for people needs and stock
loaders do not: duplicate keys are errors (never last-one-wins), aliases are expanded against a
budget (an alias bomb fails fast with bounded memory), nesting is bounded, tags are checked
(a value the tag cannot describe, or a tag org.yaml cannot carry, is a located error), and every
key and value keeps its line and column for error messages.

One path (ADR 14): PyYAML composes the document into nodes, then :class:`_Walker` builds the
values from them.

- **Composer**: PyYAML's C composer (``yaml._yaml.CParser``, libyaml) when PyYAML has it; its
  pure-Python Reader, Scanner, Parser and Composer otherwise, or with ``TRELLIS_YAML=pure``
  (the tests hold the two to the same values, positions and errors). Either way the composer
  asks :class:`_Resolver` for the tag of every untagged scalar: YAML 1.2's core schema as
  :func:`plain_scalar` reads it, so ``yes``/``no``/``on``/``off`` stay strings and ``010`` is
  ten. Explicit tags reach the walker as written.
- **Documents** are YAML 1.2: ``%YAML 1.1`` (or any other version) is refused at its line.

A 200-team org (2,800 lines) parses in 12-14 ms of CPU with libyaml.
"""

from __future__ import annotations

import gc
import os
import re
from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml.composer import Composer, ComposerError
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from yaml.parser import Parser
from yaml.reader import Reader
from yaml.scanner import Scanner, ScannerError

try:  # PyYAML built with libyaml: a C parser and composer
    from yaml._yaml import CParser as _CParser
except ImportError:  # pragma: no cover - depends on how PyYAML was built
    _CParser = None

from stacks.org.errors import Issue, OrgError, Path_

#: Upper bound on values in one document, counting every alias expansion. A realistic org.yaml
#: of 1,000 teams stays well under it; a billion-laughs document is refused before it is built.
MAX_NODES = 1_000_000
#: Deepest nesting accepted. org.yaml's own structure is six levels deep; pipeline parameters
#: may nest further, but nothing needs this many levels, and every later step (validation,
#: plan, JSON output) may recurse once per level.
MAX_DEPTH = 64

_CORE = "tag:yaml.org,2002:"
STR_TAG, INT_TAG, FLOAT_TAG = f"{_CORE}str", f"{_CORE}int", f"{_CORE}float"
BOOL_TAG, NULL_TAG, MAP_TAG, SEQ_TAG = (
    f"{_CORE}bool", f"{_CORE}null", f"{_CORE}map", f"{_CORE}seq")
MERGE_TAG = f"{_CORE}merge"
#: The resolver's tag for an untagged plain scalar that YAML 1.2 reads as a number, boolean or
#: null (value in the resolver's table). Spaces cannot occur in a YAML tag, so no document can
#: write it.
PLAIN_TAG = "<plain scalar>"

_TAG_WORDS = {STR_TAG: "text", INT_TAG: "a whole number such as 3",
              FLOAT_TAG: "a number such as 1.5", BOOL_TAG: "true or false",
              NULL_TAG: "null, ~ or nothing", MAP_TAG: "a mapping (key: value)",
              SEQ_TAG: "a list"}
_NOT_PLAIN = {f"{_CORE}set": "a list", f"{_CORE}omap": "a mapping",
              f"{_CORE}pairs": "a mapping"}


@dataclass
class Source:
    """A parsed document: the data plus the position of every key and value by field path.

    The keys a merge (``<<``) brings in are positioned where the merged mapping was written;
    an inline merged mapping's own keys are also kept under the ``<<`` key's path.
    """

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


def use_libyaml() -> bool:
    """True when documents are composed by libyaml (the default when PyYAML has it)."""
    return _CParser is not None and os.environ.get("TRELLIS_YAML", "") != "pure"


def parse(raw: bytes | str, file: str) -> Source:
    """Parse one YAML document; raise :class:`OrgError` with positions on any problem."""
    text = _decode(raw, file) if isinstance(raw, bytes) else raw.removeprefix("\ufeff")
    _check_characters(text, file)
    _check_version(text, file)
    # Nodes, marks and values are acyclic and are all alive until the walk ends: a collection
    # while they are made would only rescan them (a fifth of a 200-team parse).
    collecting = gc.isenabled()
    gc.disable()
    try:
        source = _read(text, file)
    finally:
        if collecting:
            gc.enable()
    data = source.data
    if not isinstance(data, dict):
        got = _KINDS.get(type(data), type(data).__name__)
        raise OrgError([Issue(
            f"the document must be a mapping (key: value pairs such as `version: 1`); got {got}",
            (), file, 1, 1)])
    return source


def _read(text: str, file: str) -> Source:
    node, plain = _compose(text, file, libyaml=use_libyaml())
    if node is None:
        if all(not ln.strip() or ln.lstrip().startswith("#") for ln in text.splitlines()):
            raise OrgError([Issue("the file is empty; start from `trellis schema` or the "
                                  "bundled stacks/org.yaml", (), file, 1, 1)])
        raise OrgError([Issue("the file has no document", (), file, 1, 1)])
    walker = _Walker(file, plain, shared="&" in text, text=text)
    try:
        walker.source.data = walker.build(node, ())
    except _StopError as stop:
        raise OrgError([*walker.issues, stop.issue]) from None
    if walker.issues:
        raise OrgError(walker.issues)
    return walker.source


_KINDS = {type(None): "nothing (an empty document)", list: "a list", str: "a string",
          int: "a number", float: "a number", bool: "a boolean"}


def key_text(key: Any) -> str:
    """A mapping key as the string org.yaml means: ``1`` -> ``"1"``, ``true`` -> ``"true"``."""
    return str(key).lower() if isinstance(key, bool) else str(key)


def too_deep(path: Path_, file: str, line: int, col: int) -> Issue:
    return Issue(f"values are nested more than {MAX_DEPTH} levels deep here; org.yaml never "
                 "needs that many: flatten the value", path, file, line, col)


def syntax_issue(exc: Any, text: str, file: str) -> Issue:
    """A PyYAML ``MarkedYAMLError`` (from libyaml or the pure parser) as a located issue."""
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
# Before composing: characters and the YAML version
# ---------------------------------------------------------------------------------------------

# What YAML 1.2 (5.1) and both readers (libyaml's and PyYAML's ``Reader.NON_PRINTABLE``) refuse.
_NON_PRINTABLE = re.compile(
    "[^\x09\x0a\x0d\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_MAX_CHARACTER_ISSUES = 10
# Line breaks as YAML readers count lines (libyaml and PyYAML also break at NEL, LS and PS).
_LINE_BREAKS = re.compile("\r\n|[\n\r\x85\u2028\u2029]")


def _check_characters(text: str, file: str) -> None:
    """Refuse control characters at their own line and column (the readers say only "position
    N" of the whole stream, counted in bytes by libyaml and in characters by PyYAML)."""
    if _NON_PRINTABLE.search(text) is None:
        return
    issues = []
    for found in _NON_PRINTABLE.finditer(text):
        code = ord(found.group())
        name = " (NUL)" if code == 0 else " (DEL)" if code == 0x7F else ""
        before = text[: found.start()]
        breaks = _LINE_BREAKS.findall(before)
        line_start = max(before.rfind(c) for c in "\n\r\x85\u2028\u2029") + 1
        issues.append(Issue(
            f"the file contains the control character U+{code:04X}{name}, which YAML does "
            "not allow; delete it (inside double quotes, write it as an escape such as \\x00 "
            "if the value needs it)", (), file, len(breaks) + 1, found.start() - line_start + 1))
        if len(issues) == _MAX_CHARACTER_ISSUES:
            break
    raise OrgError(issues)


def _check_version(text: str, file: str) -> None:
    """Refuse a ``%YAML`` directive other than 1.2 at its line.

    Directives only come before a document's ``---``, so the first lines tell. YAML 1.1 reads
    ``yes``/``no``/``on``/``off`` as booleans, ``010`` as eight and ``1:30`` as ninety; org.yaml
    is read by 1.2's rules only, and a file must not mean something else than it says (ADR 14).
    """
    if "%YAML" not in text:
        return
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if not line.startswith("%"):
            return
        words = line.split()
        if words[0] == "%YAML" and words[1:2] != ["1.2"]:
            version = " ".join(words[1:2]) or "?"
            raise OrgError([Issue(
                f"the file asks for YAML {version} (`%YAML {version}`); org.yaml is read by "
                "YAML 1.2's rules only, where yes/no/on/off are text and 010 is ten: delete "
                "the line, and write true or false for booleans", (), file, number, 1)])


# ---------------------------------------------------------------------------------------------
# Composing: libyaml or PyYAML's pure parser, one resolver
# ---------------------------------------------------------------------------------------------

class _Resolver:
    """YAML 1.2 core-schema tags for the composers (the part of PyYAML's ``BaseResolver`` they
    call). Plain scalars that 1.2 reads as a number, boolean or null get :data:`PLAIN_TAG`
    and their value in :attr:`plain`; a plain ``<<`` is a merge key; everything else
    untagged is a string. A scalar tagged ``!`` comes here as if untagged (libyaml and
    PyYAML report it so: ``! 12`` is twelve, as it was with ruamel.yaml)."""

    plain: dict[str, Any]

    def descend_resolver(self, parent: Any, index: Any) -> None:
        pass

    def ascend_resolver(self) -> None:
        pass

    def resolve(self, kind: type, value: str | None, implicit: Any) -> str:
        if kind is ScalarNode:
            assert value is not None
            if implicit[0] and value[:1] in _RULE_STARTS:
                known = self.plain.get(value, _MISSING)
                if known is _MISSING:
                    known = self.plain[value] = plain_scalar(value)
                if known.__class__ is not str:
                    return PLAIN_TAG
                if value == "<<":
                    return MERGE_TAG
            return STR_TAG
        return SEQ_TAG if kind is SequenceNode else MAP_TAG


_MISSING = object()


class _BoundedComposer(Composer):
    """PyYAML's composer, which recurses twice per level, cut at the nesting limit: a node
    deeper than :data:`MAX_DEPTH` is read and replaced by an empty scalar at its place (the
    walker refuses it there, as it refuses the same node from libyaml's composer)."""

    depth = 0

    def compose_node(self, parent: Node | None, index: Any) -> Node:
        if self.depth > MAX_DEPTH:
            return self._skip_node()
        self.depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1

    def _skip_node(self) -> Node:
        """Read one node's events without composing them, checking its anchors and aliases
        as libyaml's composer does (it composes every level)."""
        events = yaml.events
        first = self.get_event()
        placeholder = ScalarNode(STR_TAG, "", first.start_mark, first.end_mark)
        open_ = 0 if isinstance(first, (events.ScalarEvent, events.AliasEvent)) else 1
        event = first
        while True:
            anchor = getattr(event, "anchor", None)
            if isinstance(event, events.AliasEvent):
                if anchor not in self.anchors:
                    raise ComposerError(None, None, "found undefined alias", event.start_mark)
            elif anchor is not None:
                if anchor in self.anchors:
                    raise ComposerError("found duplicate anchor; first occurrence",
                                        self.anchors[anchor].start_mark, "second occurrence",
                                        event.start_mark)
                self.anchors[anchor] = placeholder
            if not open_:
                return placeholder
            event = self.get_event()
            if isinstance(event, (events.SequenceStartEvent, events.MappingStartEvent)):
                open_ += 1
            elif isinstance(event, (events.SequenceEndEvent, events.MappingEndEvent)):
                open_ -= 1


#: libyaml's scanner refuses nesting past this many levels ("exceeded maximum nesting depth").
LIBYAML_NESTING = 1000


class _BoundedScanner(Scanner):
    """PyYAML's scanner with libyaml's nesting limit, at the same places (a test pins them).
    Without it a thousand ``[`` on one line cost about a second, and the cost grows with the
    square of the depth: PyYAML looks at every open flow level for every token."""

    def fetch_flow_collection_start(self, token_class: Any) -> None:
        if len(self.indents) + self.flow_level + 1 > LIBYAML_NESTING:
            mark = self.get_mark()
            raise ScannerError("while increasing flow level", mark,
                               "exceeded maximum nesting depth", mark)
        super().fetch_flow_collection_start(token_class)

    def add_indent(self, column: int) -> bool:
        if self.indent < column and len(self.indents) + 1 >= LIBYAML_NESTING:
            mark = self.get_mark()
            raise ScannerError("while increasing block level", mark,
                               "exceeded maximum nesting depth", mark)
        return super().add_indent(column)


class _PureLoader(Reader, _BoundedScanner, Parser, _BoundedComposer, _Resolver):
    def __init__(self, text: str) -> None:
        Reader.__init__(self, text)
        _BoundedScanner.__init__(self)
        Parser.__init__(self)
        _BoundedComposer.__init__(self)
        self.plain = {}


_CLoader: Any = None
if _CParser is not None:
    class _CLoader(_CParser, _Resolver):  # type: ignore[no-redef]
        """libyaml's parser and composer (Cython) with our resolver."""


def _loader(text: str, libyaml: bool) -> Any:
    if libyaml and _CLoader is not None:
        loader = _CLoader(text)
        loader.plain = {}
        return loader
    return _PureLoader(text)


def _compose(text: str, file: str, *, libyaml: bool) -> tuple[Node | None, dict[str, Any]]:
    """The document's root node (None for a stream without one) and the plain scalar table."""
    loader = _loader(text, libyaml)
    try:
        return loader.get_single_node(), loader.plain
    except yaml.MarkedYAMLError as exc:
        if "maximum nesting depth" in str(exc.problem) and exc.problem_mark is not None:
            # the scanners stop here, before the walker can say where level 65 is
            mark = exc.problem_mark
            raise OrgError([Issue(
                f"values are nested more than {LIBYAML_NESTING:,} levels deep here; org.yaml "
                f"never needs more than {MAX_DEPTH}: flatten the value", (), file,
                mark.line + 1, mark.column + 1)]) from None
        raise OrgError([_composer_issue(exc, text, file)]) from None
    except yaml.YAMLError as exc:  # pragma: no cover - characters are checked beforehand
        raise OrgError([Issue(f"YAML syntax error: {exc}", (), file, 1, 1)]) from None
    finally:
        loader.dispose()


_ANCHOR_NAME = re.compile(r"[&*]([^\s,\[\]{}]+)")


def _composer_issue(exc: Any, text: str, file: str) -> Issue:
    """Composer errors in our words (libyaml's omit the anchor's name), syntax errors as the
    parser words them."""
    problem, context = str(exc.problem or ""), str(exc.context or "")
    mark = exc.problem_mark
    if mark is None or not (problem.startswith("found undefined alias")
                            or context.startswith(("found duplicate anchor",
                                                   "expected a single document"))):
        return syntax_issue(exc, text, file)
    line, col = mark.line + 1, mark.column + 1
    if context.startswith("expected a single document"):
        return Issue("a second YAML document starts here; an org file holds one document: "
                     "remove this `---` and what follows, or merge it into the first",
                     (), file, line, col)
    lines = text.splitlines()
    named = _ANCHOR_NAME.search(lines[line - 1], col - 1) if line <= len(lines) else None
    name = named.group(1) if named else "?"
    if problem.startswith("found undefined alias"):
        return Issue(f"the alias *{name} names no anchor defined before it: define &{name} on "
                     "an earlier value, or write the value out", (), file, line, col)
    first = exc.context_mark
    return Issue(f"the anchor &{name} is defined twice (first on line {first.line + 1}, column "
                 f"{first.column + 1}); give this one another name", (), file, line, col)


# ---------------------------------------------------------------------------------------------
# Plain scalars: YAML 1.2's core schema, as ruamel.yaml read it before (ADR 8, kept by ADR 14)
# ---------------------------------------------------------------------------------------------

# Tried in this order for the scalar's first character. Timestamps, `=` and `<<` (as a value)
# are left out: org.yaml keeps their text, exactly what a string is. Beyond the core schema's
# forms, underscores between digits, 0b binary and a sign on 0x/0o/0b are numbers too.
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
_RULE_STARTS = frozenset(_RULES) | {"<"}


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


def _tagged_scalar(tag: str, text: str) -> Any:
    """The value of a scalar with an explicit core tag, or :data:`_MISSING` when the text is
    not one (``!!int ""``, ``!!bool x``)."""
    if tag == STR_TAG:
        return text
    value = plain_scalar(text)
    kind = type(value)
    if tag == INT_TAG:
        return value if kind is int else _MISSING
    if tag == FLOAT_TAG:
        return float(value) if kind is int or kind is float else _MISSING
    if tag == BOOL_TAG:
        return value if kind is bool else _MISSING
    if tag == NULL_TAG:
        return None if value is None else _MISSING
    return _MISSING


def _tag_text(tag: str) -> str:
    """A tag as it is written: ``!!int``, ``!local``, ``!<tag:example.com,2024:x>``."""
    if tag.startswith(_CORE):
        return "!!" + tag[len(_CORE):]
    return tag if tag.startswith("!") else f"!<{tag}>"


def _refused_tag(tag: str, on: str) -> str:
    """Why a tag org.yaml does not build is refused, and what to write instead."""
    shown = _tag_text(tag)
    if tag == f"{_CORE}binary":
        return (f"`{shown}` makes bytes, and a plan carries only text, numbers and booleans: "
                "remove the tag to pass the base64 text as a string (or put the data in a "
                "bucket and pass its URI)")
    if tag == f"{_CORE}timestamp":
        return f"org.yaml writes dates as plain text (2027-03-01): remove the `{shown}` tag"
    if tag in _NOT_PLAIN:
        return (f"org.yaml takes plain lists and mappings: remove the `{shown}` tag and write "
                f"{_NOT_PLAIN[tag]}")
    if tag in _TAG_WORDS:
        return (f"`{shown}` stands for {_TAG_WORDS[tag]}, but it is on {on}: remove the tag "
                "or change the value")
    return (f"unknown tag `{shown}`: org.yaml builds plain YAML values only; remove the tag "
            "(the tags it reads are !!str, !!int, !!float, !!bool, !!null, !!map and !!seq)")


# ---------------------------------------------------------------------------------------------
# Nodes -> values
# ---------------------------------------------------------------------------------------------

class _StopError(Exception):
    """A problem that ends the build (nesting, alias expansion): reported with those before."""

    def __init__(self, issue: Issue) -> None:
        super().__init__(issue.message)
        self.issue = issue


_BUILDING = object()


class _Walker:
    """Builds values from the composed nodes, recording positions and collecting problems.

    ``shared``: the document may have anchors (its text has a ``&``). Only then are built
    collections remembered, so that an alias reuses what its anchor built (counted against
    :data:`MAX_NODES` and the nesting limit where it is used) and a recursive one is refused.
    """

    def __init__(self, file: str, plain: dict[str, Any], *, shared: bool,
                 text: str = "") -> None:
        self.file = file
        self.text = text
        self._lines: list[str] | None = None
        self.source = Source(file=file, data=None)
        self.plain = plain
        self.issues: list[Issue] = []
        self.shared = shared
        self.built: dict[int, Any] = {}  # id(node) -> value
        self.measured: dict[int, tuple[int, int]] = {}  # id(node) -> (values, levels below)
        self.expanded = 0  # values added by aliases

    def place(self, node: Node) -> tuple[int, int]:
        """(line, column) of ``node``, 1-based. An empty scalar in a flow collection
        (``{? : x}``, ``{x: , y: 1}``) has no text of its own: libyaml puts it at the next
        token, PyYAML's pure scanner where the previous one ended (a blank before it). Both are
        reported at the next token, so the two composers agree (tests/unit/test_yaml_parsers)."""
        mark = node.start_mark
        line, col = mark.line + 1, mark.column + 1
        if node.__class__ is ScalarNode and not node.value \
                and node.end_mark.line == mark.line and node.end_mark.column == mark.column:
            if self._lines is None:
                self._lines = self.text.split("\n")
            row = self._lines[mark.line] if mark.line < len(self._lines) else ""
            ahead = col
            while ahead <= len(row) and row[ahead - 1] in " \t":
                ahead += 1
            if ahead <= len(row) and row[ahead - 1] in ":,}]":
                col = ahead
        return line, col

    def build(self, node: Node, path: Path_) -> Any:
        pos = self.place(node)
        self.source.value_pos.setdefault(path, pos)
        if node.__class__ is ScalarNode:
            return self.scalar(node, path)
        if self.shared:
            known = self.built.get(id(node))
            if known is _BUILDING:
                raise _StopError(Issue("an alias refers to the value that contains it; "
                                       "org.yaml cannot be recursive", path, self.file, *pos))
            if known is not None:
                return self._alias(node, known, path, pos)
            self.built[id(node)] = _BUILDING
        if node.value and len(path) >= MAX_DEPTH:
            first = node.value[0][0] if node.__class__ is MappingNode else node.value[0]
            inner = first.start_mark
            raise _StopError(too_deep(path, self.file, inner.line + 1, inner.column + 1))
        if node.__class__ is MappingNode:
            if node.tag != MAP_TAG:
                self._refuse(node.tag, "a mapping", path, pos)
            value: Any = self.mapping(node, path)
        else:
            if node.tag != SEQ_TAG:
                self._refuse(node.tag, "a list", path, pos)
            value = self.sequence(node, path)
        if self.shared:
            self.built[id(node)] = value
        else:  # no alias can come back to it: free its nodes, the next values reuse the memory
            node.value = ()
        return value

    def scalar(self, node: Node, path: Path_) -> Any:
        tag = node.tag
        if tag == STR_TAG:
            return node.value
        if tag == PLAIN_TAG:
            return self.plain[node.value]
        value = _tagged_scalar(tag, node.value)
        if value is _MISSING:
            if tag in _TAG_WORDS and tag not in (MAP_TAG, SEQ_TAG):
                got = repr(node.value) if node.value else "nothing"
                self.issues.append(self._at(node, path, (
                    f"`{_tag_text(tag)}` needs {_TAG_WORDS[tag]}; got {got}: write that, or "
                    "remove the tag")))
            elif tag != MERGE_TAG:  # `<<` as a value is its text
                self.issues.append(self._at(node, path, _refused_tag(tag, "a single value")))
            return node.value
        return value

    def mapping(self, node: Node, path: Path_) -> dict[str, Any]:
        out: dict[str, Any] = {}
        value_pos, key_pos, plain = self.source.value_pos, self.source.key_pos, self.plain
        merges: list[Node] = []
        for key_node, value_node in node.value:
            if key_node.__class__ is ScalarNode and key_node.tag == STR_TAG:
                key = key_node.value
            elif key_node.tag == MERGE_TAG and key_node.__class__ is ScalarNode:
                merges.append(value_node)
                continue
            else:
                key = self._key(key_node, path)
                if key is None:
                    continue
            child = (*path, key)
            if key in out:
                first = key_pos.get(child, (0, 0))[0]
                self.issues.append(Issue(
                    f"duplicate key '{key}' (first defined on line {first}); YAML would keep "
                    "only the last one, so remove or rename one of them",
                    child, self.file, *self.place(key_node)))
                continue
            key_pos[child] = self.place(key_node)
            if value_node.__class__ is ScalarNode:
                value_pos[child] = self.place(value_node)
                tag = value_node.tag
                if tag == STR_TAG:
                    out[key] = value_node.value
                elif tag == PLAIN_TAG:
                    text = value_node.value
                    out[key] = plain[text]
                    if not text:  # `key:` alone; the scanners place nothing differently in {k: }
                        value_pos[child] = key_pos[child]
                else:
                    out[key] = self.scalar(value_node, child)
            else:
                out[key] = self.build(value_node, child)
        if merges:
            self._merge(out, merges, path)
        return out

    def sequence(self, node: Node, path: Path_) -> list[Any]:
        return [self.build(item, (*path, i)) for i, item in enumerate(node.value)]

    def _key(self, node: Node, path: Path_) -> str | None:
        """A key that is not a string: its text, or None after recording why it cannot be."""
        if node.__class__ is ScalarNode and node.tag == PLAIN_TAG:
            value = self.plain[node.value]
            if value is not None:
                return key_text(value)
        elif node.__class__ is ScalarNode and node.tag not in _TAG_WORDS:
            self.issues.append(self._at(node, path, _refused_tag(node.tag, "a key")))
            return None
        elif node.__class__ is ScalarNode:
            self.issues.append(self._at(node, path, (
                f"keys are plain text, so `{_tag_text(node.tag)}` cannot stand on one: remove "
                "the tag")))
            return None
        self.issues.append(self._at(node, path, "keys must be plain strings"))
        return None

    def _merge(self, out: dict[str, Any], merges: list[Node], path: Path_) -> None:
        """``<<: *a`` or ``<<: [*a, *b]``: keys of the merged mappings that ``out`` does not
        have, the earlier mapping winning (YAML's merge key)."""
        value_pos, key_pos = self.source.value_pos, self.source.key_pos
        for merge in merges:
            listed = merge.__class__ is SequenceNode and merge.tag == SEQ_TAG
            for i, src in enumerate(merge.value if listed else [merge]):
                at: Path_ = (*path, "<<", i) if listed else (*path, "<<")
                if src.__class__ is not MappingNode:
                    self.issues.append(self._at(src, at, (
                        "`<<` merges mappings: give it a mapping or a list of mappings, such "
                        "as `<<: *defaults` where `&defaults` names a mapping")))
                    continue
                merged = self.build(src, at)
                for key, value in merged.items():
                    if key in out:
                        continue
                    out[key] = value
                    child = (*path, key)
                    where = value_pos.get((*at, key)) or value_pos[at]
                    value_pos[child] = where
                    key_pos[child] = key_pos.get((*at, key)) or where

    def _alias(self, node: Node, value: Any, path: Path_, pos: tuple[int, int]) -> Any:
        """An alias of a collection: the anchor's value again, if the budgets allow."""
        size, levels = self._measure(node)
        if len(path) + levels > MAX_DEPTH:
            raise _StopError(too_deep(path, self.file, *pos))
        self.expanded += size
        if self.expanded > MAX_NODES:
            raise _StopError(Issue(
                f"the document expands to more than {MAX_NODES:,} values through its aliases "
                "(an alias/anchor bomb?); write the values out or nest fewer aliases",
                path, self.file, *pos))
        return value

    def _measure(self, node: Node) -> tuple[int, int]:
        """Values in ``node`` with every alias in it expanded, and how many levels deep they
        go. Only for built nodes, whose own aliases passed these checks: bounded recursion."""
        known = self.measured.get(id(node))
        if known is not None:
            return known
        size, levels = 1, 0
        if node.__class__ is not ScalarNode:
            children = ([n for pair in node.value for n in pair]
                        if node.__class__ is MappingNode else node.value)
            for child in children:
                child_size, child_levels = self._measure(child)
                size = min(size + child_size, MAX_NODES + 1)
                levels = max(levels, child_levels + 1)
        self.measured[id(node)] = (size, levels)
        return size, levels

    def _refuse(self, tag: str, on: str, path: Path_, pos: tuple[int, int]) -> None:
        self.issues.append(Issue(_refused_tag(tag, on), path, self.file, *pos))

    def _at(self, node: Node, path: Path_, message: str) -> Issue:
        return Issue(message, path, self.file, *self.place(node))
