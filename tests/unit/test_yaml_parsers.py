"""org.yaml parses the same through libyaml (the fast path) and ruamel.yaml's pure parser.

:mod:`stacks.org.yamlsrc` composes nodes from libyaml's events when PyYAML has its C extension and
falls back to ruamel.yaml's pure-Python parser otherwise (or with ``TRELLIS_YAML=pure``). Values,
key positions and error positions must not depend on which one ran: YAML 1.2 scalars
(``yes`` is a string, ``010`` is ten), anchors, merges, duplicate keys, one document per file.
Known, deliberate differences: the wording of syntax errors (libyaml's own), and an empty value
(``key:`` with nothing after it) is located at its key's line by libyaml, at the next token by
ruamel.yaml.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from stacks.org import yamlsrc
from stacks.org.errors import OrgError
from tests.conftest import ALL_ORGS

pytestmark = pytest.mark.skipif(not yamlsrc.use_libyaml(), reason="PyYAML without libyaml")


def parse_with(text: str, mode: str, monkeypatch: pytest.MonkeyPatch) -> tuple[Any, ...]:
    """``mode``: "c" (events, falling back to nodes), "nodes" (libyaml's events composed into
    nodes, the fallback, forced) or "pure" (ruamel.yaml's parser)."""
    if mode == "pure":
        monkeypatch.setenv("TRELLIS_YAML", "pure")
    else:
        monkeypatch.delenv("TRELLIS_YAML", raising=False)
    try:
        with monkeypatch.context() as patch:
            if mode == "nodes":
                patch.setattr(yamlsrc, "_from_events", _refuse)
            src = yamlsrc.parse(text, "org.yaml")
    except OrgError as exc:
        return ("error", [(i.line, i.column) for i in exc.issues],
                [i.message for i in exc.issues])
    positions = {p: pos for p, pos in src.value_pos.items() if _lookup(src.data, p) is not None}
    return ("ok", src.data, positions, src.key_pos)


def _lookup(data: Any, path: tuple[Any, ...]) -> Any:
    for key in path:
        data = data[key]
    return data


def _refuse(text: str, file: str) -> Any:
    raise yamlsrc._NeedsNodesError


def assert_same(text: str, monkeypatch: pytest.MonkeyPatch) -> tuple[Any, ...]:
    """All three paths give the same values and positions, or errors at the same places."""
    fast = parse_with(text, "c", monkeypatch)
    for mode in ("nodes", "pure"):
        other = parse_with(text, mode, monkeypatch)
        if fast[0] == "error" and other[0] == "error":
            assert fast[1] == other[1], (mode, fast, other)  # same places
            for a, b in zip(fast[2], other[2], strict=True):
                assert a.startswith("YAML syntax error") == b.startswith("YAML syntax error")
                if not a.startswith("YAML syntax error"):
                    assert a == b, mode
        else:
            assert _nan_safe(fast) == _nan_safe(other), mode
    return fast


def _nan_safe(value: Any) -> Any:
    """``nan != nan``: compare NaNs by name (dicts compare equal only when both hold one
    and the same NaN object)."""
    if isinstance(value, float) and value != value:
        return "<nan>"
    if isinstance(value, dict):
        return {_nan_safe(k): _nan_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_nan_safe(v) for v in value)
    return value


DOCUMENTS = {
    "bools": "a: yes\nb: no\nc: on\nd: off\ne: true\nf: False\ng: TRUE\n",
    "numbers": ("a: 010\nb: 0o10\nc: 0x1F\nd: 1e3\ne: .inf\nf: -.INF\ng: .nan\nh: 1_000\n"
             "i: +12\nj: 1.5\nk: 0b101\nl: 12:30\n"),
    "nulls": "a: ~\nb: null\nc:\nd: Null\n",
    "dates": "a: 2024-01-01\nb: 2024-01-01T10:00:00Z\n",
    "tags": "a: !!str 1\nb: !!int '3'\nc: !!float 1\nd: !custom x\ne: !!bool yes\nf: !!str\n",
    "blocks": "a: |\n  line1\n  line2\nb: >-\n  folded\n  text\nc: |+\n  keep\n\nd: x\n",
    "quoted": "'a b': \"c\\td\"\n\"k\": 'it''s'\nx: \"\\u00e9\\/\"\n",
    "anchors": "base: &b {x: 1, y: [1, 2]}\nuse: *b\nmerge:\n  <<: *b\n  x: 2\nlist: [*b, *b]\n",
    "multimerge": "a: &a {x: 1}\nb: &b {y: 2}\nc:\n  <<: [*a, *b]\n  z: 3\n",
    "dup": "a: 1\nb: 2\na: 3\n",
    "complexkey": "? [a, b]\n: 1\n",
    "nonstrkey": "1: a\ntrue: b\nnull: c\n1.5: d\n",
    "unicode": "name: héllo\nemoji: \"\\U0001F600\"\n",
    "bom": "\ufeffa: 1\n",
    "y12": "%YAML 1.2\n---\na: yes\nb: 010\n",
    "y11": "%YAML 1.1\n---\na: yes\nb: 010\n",
    "multidoc": "a: 1\n---\nb: 2\n",
    "docend": "a: 1\n...\n",
    "undefalias": "a: *nope\n",
    "recursive": "a: &x [1, *x]\n",
    "syntax_unclosed": "a: [1, 2\nb: 3\n",
    "syntax_indent": "a:\n  b: 1\n c: 2\n",
    "syntax_tab": "a:\n\tb: 1\n",
    "syntax_colon": "a: b: c\n",
    "syntax_quote": "a: 'unterminated\n",
    "scalar_doc": "just a string\n",
    "list_doc": "- a\n- b\n",
    "flowcolon": "a: [group:ml@x.com, user:me]\nb: {k: v:w}\n",
    "empty_flow": "a: {}\nb: []\nc: ''\n",
    "comments": "# c\na: 1 # trailing\n# end\n",
    "longline": "a: " + "x"*5000 + "\n",
    "deep": "a:\n" + "".join("  "*i + f"k{i}:\n" for i in range(1, 50)) + "  "*50 + "v: 1\n",
    "seqmap": "teams:\n  - name: a\n    x: 1\n  - name: b\n",
    "indentless": "a:\n- 1\n- 2\nb: 3\n",
    "anchor_scalar": "a: &v hello\nb: *v\n",
    "merge_notmap": "a:\n  <<: 5\n  b: 1\n",
    "key_alias": "a: &k key\n*k : v\n",
    "crlf": "a: 1\r\nb: 2\r\n",
    "dirs": "%TAG !e! tag:example.com,2000:\n---\na: !e!foo x\n",
    "nan_key": ".nan: 1\n",
    "sexagesimal": "a: 190:20:30\n",
    "float_forms": "a: 1.\nb: .5\nc: 1e-3\nd: 6.8523015e+5\n",
    # look like numbers to the resolver but cannot be built: they stay text
    "broken_numbers": "a: -_\nb: 0x_\nc: ._\nd: +_\ne: 0b\nf: 0o\ng: 0o8\nh: +.nan\ni: -0\n",
    "odd_values": "a: =\nb: <<\nc: '<<'\nd: 2024-1-1 10:00:00\ne: 1__0\nf: .E5\n",
    "quoted_merge_key": "'<<': 1\nb: 2\n",
    "null_key": "~: a\nb: 1\nnull: c\n\"\": d\n",
    "same_key_as_int_and_text": "1: a\n'1': b\ntrue: c\n'true': d\n",
    "dup_with_nested_dup": "a: {x: 1}\na: {y: 1, y: 2}\nb: [{k: 1, k: 2}]\n",
    "dup_block": "a:\n  x: 1\na:\n  - 1\n  - {z: 1, z: 2}\nb: 1\n",
    "anchor_unused": "a: &x {k: 1}\nb: &y [1]\nc: &z text\n",
    "nonspecific_tag": "a: ! 12\nb: ! [1]\n",
    "tagged_collection": "a: !!map {k: 1}\nb: !!seq [1]\n",
    "empty_document": "---\n",
    "empty_document_end": "--- \n...\n",
    "root_null": "~\n",
    "deep_ok": "a: " + "[" * 60 + "]" * 60 + "\n",
    "deep_flow": "a: " + "[" * 70 + "]" * 70 + "\n",
    "deep_block": "".join("  " * i + f"k{i}:\n" for i in range(70)) + "  " * 70 + "v: 1\n",
    "deep_after_dup": "a: 1\na: 2\nb: " + "[" * 70 + "]" * 70 + "\n",
}


@pytest.mark.parametrize("name", sorted(DOCUMENTS))
def test_tricky_documents_parse_the_same(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    assert_same(DOCUMENTS[name], monkeypatch)


def test_yaml_12_scalars_on_the_fast_path(monkeypatch: pytest.MonkeyPatch) -> None:
    _, bools, *_ = parse_with(DOCUMENTS["bools"], "c", monkeypatch)
    _, numbers, *_ = parse_with(DOCUMENTS["numbers"], "c", monkeypatch)
    assert (bools["a"], bools["c"], bools["e"]) == ("yes", "on", True)
    assert (numbers["a"], numbers["b"], numbers["h"]) == (10, 8, 1000)


def test_a_tab_is_named_in_the_error(monkeypatch: pytest.MonkeyPatch) -> None:
    kind, where, messages = parse_with(DOCUMENTS["syntax_tab"], "c", monkeypatch)
    assert kind == "error" and where == [(2, 1)]
    assert "tab" in messages[0]


@pytest.mark.parametrize("org", ALL_ORGS, ids=lambda p: p.name)
def test_bundled_orgs_parse_the_same(org: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert assert_same(org.read_text(encoding="utf-8"), monkeypatch)[0] == "ok"


SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(-10**12, 10**12),
    st.floats(allow_nan=False, allow_infinity=False, width=32),
    st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=12),
    st.sampled_from(["yes", "no", "on", "off", "010", "0x1f", "1_000", "~", "null", "2024-01-01",
                     "12:30", "a: b", "- x", "#c", "&a", "*a", "!t", "'q'", '"d"', "", " s "]))
DATA = st.recursive(
    SCALARS, lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.text(st.characters(codec="ascii", categories=("L", "N")),
                                min_size=1, max_size=6), inner, max_size=4)),
    max_leaves=20)


@settings(max_examples=80, deadline=None)
@given(data=st.dictionaries(st.from_regex(r"[a-z][a-z0-9_]{0,8}", fullmatch=True), DATA,
                            min_size=1, max_size=5),
       flow=st.sampled_from([None, True, False]))
def test_any_dumped_document_parses_the_same(data: dict[str, Any], flow: bool | None) -> None:
    text = yaml.safe_dump(data, default_flow_style=flow, allow_unicode=True, sort_keys=False)
    with pytest.MonkeyPatch.context() as monkeypatch:
        assert_same(text, monkeypatch)


def _no_nodes(text: str, file: str, *, libyaml: bool) -> Any:
    raise AssertionError("took the node path")


@pytest.mark.parametrize("org", ALL_ORGS, ids=lambda p: p.name)
def test_org_files_are_built_from_events(org: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The fast path is the one real org files take (no aliases, tags or merges)."""
    from stacks.org import yamlnodes

    monkeypatch.delenv("TRELLIS_YAML", raising=False)
    monkeypatch.setattr(yamlnodes, "parse", _no_nodes)
    assert yamlsrc.parse(org.read_text(encoding="utf-8"), "org.yaml").data["teams"]


def test_generated_orgs_are_built_from_events(monkeypatch: pytest.MonkeyPatch) -> None:
    from benchmarks import orgs
    from stacks.org import yamlnodes

    monkeypatch.delenv("TRELLIS_YAML", raising=False)
    monkeypatch.setattr(yamlnodes, "parse", _no_nodes)
    for cloud in ("gcp", "aws"):
        assert len(yamlsrc.parse(orgs.generate(cloud, 12), "org.yaml").data["teams"]) == 12


def _ruamel_plain(text: str) -> Any:
    """What ruamel.yaml (YAML 1.2) makes of an untagged plain scalar, dates kept as text."""
    import datetime

    from ruamel.yaml import YAML
    from ruamel.yaml.constructor import ConstructorError
    from ruamel.yaml.nodes import ScalarNode

    loader = YAML(typ="safe", pure=True)
    tag = loader.resolver.resolve(ScalarNode, text, (True, False))
    try:
        value = loader.constructor.construct_object(ScalarNode(tag, text), deep=True)
    except (ConstructorError, ValueError):
        return text
    return text if isinstance(value, (datetime.date, datetime.datetime)) else value


@settings(max_examples=400, deadline=None)
@given(text=st.text(alphabet="0123456789_-+.:eEoxbBaflsInNtTrRuU~", max_size=10)
       | st.from_regex(r"[-+]?(0[box])?[0-9_.]{0,6}([eE][-+]?[0-9]{1,2})?", fullmatch=True))
def test_plain_scalars_resolve_as_ruamel_does(text: str) -> None:
    assert _nan_safe(yamlsrc.plain_scalar(text)) == _nan_safe(_ruamel_plain(text)), text


def test_nesting_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    """A value nested past the limit is refused at its place, on every path (ruamel.yaml's
    parser recurses per level; libyaml stops at 1,000)."""
    for depth in (200, 900):
        text = "a: " + "[" * depth + "]" * depth + "\n"
        places = {}
        for mode in ("c", "nodes", "pure"):
            kind, places[mode], messages = parse_with(text, mode, monkeypatch)
            assert kind == "error", (depth, mode)
            assert "nested more than 64 levels" in messages[0], (depth, mode, messages)
        assert places["c"] == places["nodes"] == [(1, 68)]  # the 65th bracket
