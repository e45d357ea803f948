"""Read a YAML document into plain Python values while remembering where every value came from.

We compose the node graph with ruamel.yaml and build the values ourselves, which gives us what
a config loader for people needs and stock loaders do not: duplicate keys are errors (never
last-one-wins), aliases are expanded against a budget (an alias bomb fails fast with bounded
memory), and every key and value keeps its line and column for error messages.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.constructor import ConstructorError, SafeConstructor
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

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
        if node.tag == STR_TAG:
            return node.value
        try:
            value = self.scalars.construct_object(node, deep=True)
        except ConstructorError:
            return node.value
        if isinstance(value, (_dt.date, _dt.datetime)):
            return node.value  # dates mean nothing in org.yaml; keep the text the user wrote
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
    try:
        node = yaml.compose(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
        what = exc.problem or "invalid YAML"
        if exc.context and exc.context_mark is not None:
            ctx = exc.context_mark
            what += f" ({exc.context} that started at line {ctx.line + 1}, column {ctx.column + 1})"
        elif exc.context:
            what += f" ({exc.context})"
        raise OrgError([Issue(f"YAML syntax error: {what}", (), file, line, col)]) from None
    except YAMLError as exc:
        raise OrgError([Issue(f"YAML syntax error: {exc}", (), file, 1, 1)]) from None
    if node is None:
        raise OrgError([Issue("the file has no document", (), file, 1, 1)])
    builder = _Builder(source, yaml.constructor)
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
