"""Read a YAML document into plain Python values while remembering where every value came from.

We compose the node graph ourselves and build the values ourselves, which gives us what a
config loader for people needs and stock loaders do not: duplicate keys are errors (never
last-one-wins), aliases are expanded against a budget (an alias bomb fails fast with bounded
memory), and every key and value keeps its line and column for error messages.

Parsing is libyaml's (through PyYAML's C parser) when it is available: ruamel.yaml's pure-Python
parser took about a second for a 200-team org, 40 times libyaml. Only libyaml's *events* are
used; tags are resolved by ruamel.yaml's YAML 1.2 resolver and scalars built by its constructor,
so ``yes``/``no``/``on``/``off`` stay strings and ``010`` stays the number ten, exactly as with
the pure-Python path, which remains the fallback (``TRELLIS_YAML=pure`` forces it). ADR 8.
"""

from __future__ import annotations

import datetime as _dt
import os
from dataclasses import dataclass, field
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.composer import ComposerError
from ruamel.yaml.constructor import ConstructorError, SafeConstructor
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from ruamel.yaml.resolver import VersionedResolver

try:  # PyYAML built with libyaml: a C parser
    import yaml as _pyyaml
    from yaml._yaml import CParser as _CParser
except ImportError:  # pragma: no cover - depends on how PyYAML was built
    _pyyaml = None
    _CParser = None

from stacks.errors import Issue, OrgError, Path_

#: Upper bound on values in one document, counting every alias expansion. A realistic org.yaml
#: of 1,000 teams stays well under it; a billion-laughs document is refused before it is built.
MAX_NODES = 1_000_000
MERGE_TAG = "tag:yaml.org,2002:merge"
STR_TAG = "tag:yaml.org,2002:str"
_BUILDING = object()


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


class _Builder:
    def __init__(self, source: Source, scalars: SafeConstructor) -> None:
        self.source = source
        self.scalars = scalars
        self.issues: list[Issue] = []
        self.built: dict[int, Any] = {}  # id(node) -> value: an alias reuses what its anchor built
        self.scalar_values: dict[tuple[Any, str], Any] = {}  # (tag, text) -> immutable value

    def _pos(self, node: Node) -> tuple[int, int]:
        return (node.start_mark.line + 1, node.start_mark.column + 1)

    def check_size(self, root: Node) -> None:
        """Refuse documents whose alias expansion is huge, counting without expanding."""
        sizes: dict[int, int] = {}

        def size(node: Node) -> int:
            known = sizes.get(id(node))
            if known is not None:
                return known
            sizes[id(node)] = 1  # a recursive alias counts once instead of looping
            total = 1
            if isinstance(node, MappingNode):
                total += sum(size(k) + size(v) for k, v in node.value)
            elif isinstance(node, SequenceNode):
                total += sum(size(item) for item in node.value)
            sizes[id(node)] = min(total, MAX_NODES + 1)
            return sizes[id(node)]

        if size(root) > MAX_NODES:
            raise OrgError([Issue(
                f"the document expands to more than {MAX_NODES:,} values through its aliases "
                "(an alias/anchor bomb?); write the values out or nest fewer aliases",
                (), self.source.file, 1, 1)])

    def build(self, node: Node, path: Path_) -> Any:
        self.source.value_pos.setdefault(path, self._pos(node))
        if id(node) in self.built:
            if self.built[id(node)] is _BUILDING:
                line, col = self._pos(node)
                raise OrgError([Issue("an alias refers to the value that contains it; org.yaml "
                                      "cannot be recursive", path, self.source.file, line, col)])
            return self.built[id(node)]
        if isinstance(node, ScalarNode):
            return self._scalar(node)
        self.built[id(node)] = _BUILDING
        if isinstance(node, MappingNode):
            value: Any = self._mapping(node, path)
        else:
            value = [self.build(item, (*path, i)) for i, item in enumerate(node.value)]
        self.built[id(node)] = value
        return value

    def _scalar(self, node: ScalarNode) -> Any:
        tag = node.tag
        if tag == STR_TAG:
            return node.value
        key = (tag, node.value)
        if key in self.scalar_values:  # numbers, booleans and nulls repeat: build each once
            return self.scalar_values[key]
        try:
            value = self.scalars.construct_object(node, deep=True)
        except ConstructorError:
            value = node.value
        if isinstance(value, (_dt.date, _dt.datetime)):
            value = node.value  # dates mean nothing in org.yaml; keep the text the user wrote
        if value is None or isinstance(value, (bool, int, float, str)):
            self.scalar_values[key] = value
        return value

    def _mapping(self, node: MappingNode, path: Path_) -> dict[Any, Any]:
        out: dict[Any, Any] = {}
        merged: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            if key_node.tag == MERGE_TAG:
                sources = (value_node.value if isinstance(value_node, SequenceNode)
                           else [value_node])
                for src in sources:
                    value = self.build(src, path)
                    if isinstance(value, dict):
                        for k, v in value.items():
                            merged.setdefault(k, v)
                continue
            key = self._scalar(key_node) if isinstance(key_node, ScalarNode) else None
            if key is None or isinstance(key, (list, dict)):
                line, col = self._pos(key_node)
                self.issues.append(
                    Issue("keys must be plain strings", path, self.source.file, line, col))
                continue
            key = str(key) if not isinstance(key, bool) else str(key).lower()
            child = (*path, key)
            if key in out:
                line, col = self._pos(key_node)
                first = self.source.key_pos.get(child, (0, 0))[0]
                self.issues.append(Issue(
                    f"duplicate key '{key}' (first defined on line {first}); YAML would keep only "
                    "the last one, so remove or rename one of them",
                    child, self.source.file, line, col))
                continue
            self.source.key_pos[child] = self._pos(key_node)
            out[key] = self.build(value_node, child)
        for k, v in merged.items():
            out.setdefault(k, v)
        return out


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


def parse(raw: bytes | str, file: str) -> Source:
    """Parse one YAML document; raise :class:`OrgError` with positions on any problem."""
    text = _decode(raw, file) if isinstance(raw, bytes) else raw
    source = Source(file=file, data=None)
    if not text.strip() or all(
        not ln.strip() or ln.lstrip().startswith("#") for ln in text.splitlines()
    ):
        raise OrgError([Issue("the file is empty; start from `trellis schema` or the bundled "
                              "stacks/org.yaml", (), file, 1, 1)])
    yaml = YAML(typ="safe", pure=True)
    has_aliases = True
    try:
        try:
            if not use_libyaml():
                raise _NeedsPureParserError
            node, has_aliases = _compose_c(text)
        except _NeedsPureParserError:
            node = yaml.compose(text)
    except _MARKED_ERRORS as exc:
        raise OrgError([_syntax_issue(exc, text, file)]) from None
    except _YAML_ERRORS as exc:
        raise OrgError([Issue(f"YAML syntax error: {exc}", (), file, 1, 1)]) from None
    if node is None:
        raise OrgError([Issue("the file has no document", (), file, 1, 1)])
    builder = _Builder(source, yaml.constructor)
    if has_aliases:  # without aliases, the document is no bigger than its text
        builder.check_size(node)
    source.data = builder.build(node, ())
    if builder.issues:
        raise OrgError(builder.issues)
    if not isinstance(source.data, dict):
        kind = type(source.data).__name__
        raise OrgError([Issue(
            f"the document must be a mapping (key: value pairs such as `version: 1`); got a {kind}",
            (), file, 1, 1)])
    return source


def _syntax_issue(exc: Any, text: str, file: str) -> Issue:
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


# ---------------------------------------------------------------------------------------------
# libyaml events -> ruamel.yaml nodes
# ---------------------------------------------------------------------------------------------

_MARKED_ERRORS: tuple[type[Exception], ...] = (
    (MarkedYAMLError,) if _pyyaml is None else (MarkedYAMLError, _pyyaml.MarkedYAMLError))
_YAML_ERRORS: tuple[type[Exception], ...] = (
    (YAMLError,) if _pyyaml is None else (YAMLError, _pyyaml.YAMLError))


class _NeedsPureParserError(Exception):
    """libyaml is missing, switched off, or the document asks for YAML 1.1 (``%YAML 1.1``),
    whose scalars ruamel.yaml builds differently: parse with ruamel.yaml instead."""


def use_libyaml() -> bool:
    """True when documents are parsed by libyaml (the default when PyYAML has it)."""
    return _CParser is not None and os.environ.get("TRELLIS_YAML", "") != "pure"


def _compose_c(text: str) -> tuple[Node | None, bool]:
    """The node graph ruamel.yaml's ``compose`` builds, from libyaml's parser events, and
    whether the document uses aliases.

    Same nodes (ruamel classes, tags from its YAML 1.2 resolver, the libyaml marks carry the
    same 0-based line and column) and the same refusals: one document per file, aliases must
    name an earlier anchor.
    """
    assert _pyyaml is not None and _CParser is not None
    ev = _pyyaml.events
    parser = _CParser(text)
    resolver = VersionedResolver()
    plain_tags: dict[str, Any] = {}  # plain scalar text -> its resolved tag
    anchors: dict[str, Node] = {}
    open_nodes: list[tuple[MappingNode | SequenceNode, list[Node]]] = []
    root: Node | None = None
    documents = 0
    has_aliases = False

    def attach(node: Node, anchor: str | None) -> None:
        nonlocal root
        if anchor is not None:
            anchors[anchor] = node
        if open_nodes:
            open_nodes[-1][1].append(node)
        else:
            root = node

    try:
        while True:
            event = parser.get_event()
            if event is None or isinstance(event, ev.StreamEndEvent):
                break
            if isinstance(event, ev.ScalarEvent):
                tag = event.tag
                if tag is None or tag == "!":
                    if event.implicit[0]:
                        tag = plain_tags.get(event.value)
                        if tag is None:
                            tag = plain_tags[event.value] = resolver.resolve(
                                ScalarNode, event.value, event.implicit)
                    else:
                        tag = resolver.resolve(ScalarNode, event.value, event.implicit)
                attach(ScalarNode(tag, event.value, event.start_mark, event.end_mark,
                                  style=event.style), event.anchor)
            elif isinstance(event, ev.AliasEvent):
                if event.anchor not in anchors:
                    raise ComposerError(None, None, f"found undefined alias {event.anchor!r}",
                                        event.start_mark)
                has_aliases = True
                attach(anchors[event.anchor], None)
            elif isinstance(event, (ev.MappingStartEvent, ev.SequenceStartEvent)):
                kind = MappingNode if isinstance(event, ev.MappingStartEvent) else SequenceNode
                tag = event.tag
                if tag is None or tag == "!":
                    tag = resolver.resolve(kind, None, event.implicit)
                collection = kind(tag, [], event.start_mark, None, flow_style=event.flow_style)
                attach(collection, event.anchor)
                open_nodes.append((collection, []))
            elif isinstance(event, (ev.MappingEndEvent, ev.SequenceEndEvent)):
                collection, items = open_nodes.pop()
                collection.end_mark = event.end_mark
                collection.value = (list(zip(items[::2], items[1::2], strict=True))
                                    if isinstance(collection, MappingNode) else items)
            elif isinstance(event, ev.DocumentStartEvent):
                documents += 1
                if documents > 1:
                    raise ComposerError(
                        "expected a single document in the stream", root.start_mark
                        if root is not None else None, "but found another document",
                        event.start_mark)
                if event.version is not None and tuple(event.version) != (1, 2):
                    raise _NeedsPureParserError
                anchors.clear()
    finally:
        parser.dispose()
    return root, has_aliases
