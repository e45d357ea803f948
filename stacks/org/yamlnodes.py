"""The node-graph path of :mod:`stacks.org.yamlsrc`: documents the event builder leaves alone.

Documents with aliases, explicit tags, merge keys (``<<``) or collections as keys, and every
document when libyaml is missing, switched off (``TRELLIS_YAML=pure``) or asked for YAML 1.1
(``%YAML 1.1``), are composed into a ruamel.yaml node graph first (from libyaml's events when it
can, by ruamel.yaml's own parser otherwise) and built from there: an alias reuses what its
anchor built, its expansion is counted against a budget first (an alias bomb fails fast with
bounded memory), and a recursive alias is refused. Imported only when such a document comes.
"""

from __future__ import annotations

import datetime as _dt
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.composer import ComposerError
from ruamel.yaml.constructor import ConstructorError, SafeConstructor
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from ruamel.yaml.resolver import VersionedResolver

from stacks.org.errors import Issue, OrgError, Path_
from stacks.org.yamlsrc import (
    MAX_DEPTH,
    MAX_NODES,
    PYYAML_ERRORS,
    PYYAML_MARKED_ERRORS,
    NeedsPureParserError,
    Source,
    key_text,
    syntax_issue,
    too_deep,
)

try:  # PyYAML built with libyaml: a C parser
    import yaml as _pyyaml
    from yaml._yaml import CParser as _CParser
except ImportError:  # pragma: no cover - depends on how PyYAML was built
    _pyyaml = None
    _CParser = None

MERGE_TAG = "tag:yaml.org,2002:merge"
STR_TAG = "tag:yaml.org,2002:str"
_BUILDING = object()
_MARKED_ERRORS: tuple[type[Exception], ...] = (MarkedYAMLError, *PYYAML_MARKED_ERRORS)
_YAML_ERRORS: tuple[type[Exception], ...] = (YAMLError, *PYYAML_ERRORS)


def parse(text: str, file: str, *, libyaml: bool) -> tuple[Source, list[Issue]]:
    """Compose ``text`` into nodes (from libyaml's events when ``libyaml``), then build values.

    Returns the source and the problems found while building (duplicate keys, keys that are
    not strings); raises :class:`OrgError` for syntax errors, alias bombs and recursion.
    """
    source = Source(file=file, data=None)
    yaml = YAML(typ="safe", pure=True)
    has_aliases = True
    try:
        try:
            if not libyaml:
                raise NeedsPureParserError
            node, has_aliases = _compose_c(text)
        except NeedsPureParserError:
            node = yaml.compose(text)
    except _MARKED_ERRORS as exc:
        raise OrgError([syntax_issue(exc, text, file)]) from None
    except _YAML_ERRORS as exc:
        raise OrgError([Issue(f"YAML syntax error: {exc}", (), file, 1, 1)]) from None
    except RecursionError:  # ruamel.yaml's composer recurses once per level
        raise OrgError([too_deep((), file, 1, 1)]) from None
    if node is None:
        return source, []
    builder = _Builder(source, yaml.constructor)
    if has_aliases:  # without aliases, the document is no bigger than its text
        builder.check_size(node)
    source.data = builder.build(node, ())
    return source, builder.issues


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

        def size(node: Node, depth: int) -> int:
            known = sizes.get(id(node))
            if known is not None:
                return known
            if depth > MAX_DEPTH:  # reported with its position when it is built
                return 1
            sizes[id(node)] = 1  # a recursive alias counts once instead of looping
            total = 1
            if isinstance(node, MappingNode):
                total += sum(size(k, depth + 1) + size(v, depth + 1) for k, v in node.value)
            elif isinstance(node, SequenceNode):
                total += sum(size(item, depth + 1) for item in node.value)
            sizes[id(node)] = min(total, MAX_NODES + 1)
            return sizes[id(node)]

        if size(root, 0) > MAX_NODES:
            raise OrgError([Issue(
                f"the document expands to more than {MAX_NODES:,} values through its aliases "
                "(an alias/anchor bomb?); write the values out or nest fewer aliases",
                (), self.source.file, 1, 1)])

    def build(self, node: Node, path: Path_) -> Any:
        if len(path) > MAX_DEPTH:
            raise OrgError([too_deep(path, self.source.file, *self._pos(node))])
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
        except (ConstructorError, ValueError):  # e.g. `-_` looks like an int to the resolver
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
            key = key_text(key)
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
                    raise NeedsPureParserError
                anchors.clear()
    finally:
        parser.dispose()
    return root, has_aliases
