"""org.yaml reads the same through libyaml's composer and PyYAML's pure-Python one.

:mod:`stacks.org.yaml_source` composes nodes with libyaml (PyYAML's C extension) when it can,
and with PyYAML's pure-Python reader, scanner, parser and composer otherwise (or with
``TRELLIS_YAML=pure``); one walker builds the values from either. Values, key and value
positions and every problem (place and words) must not depend on which composer ran. The one
known differences are the two scanners' own: the words of a YAML *syntax* error (at the same
place), and a few corners of the grammar where one of them reports a located syntax error for
text the other reads, such as a tab outside indentation (PyYAML refuses it:
https://github.com/yaml/pyyaml/issues/594) or ``[a? b]`` (libyaml reads a plain scalar).

Plain scalars follow YAML 1.2's core schema (https://yaml.org/spec/1.2.2/#1032-tag-resolution),
checked here against the specification's own regular expressions.
"""

from __future__ import annotations

import math
import os
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from stacks.cli.app import main
from stacks.org import yaml_source
from stacks.org.errors import OrgError
from tests.conftest import ALL_ORGS, MINIMAL_GCP

#: ``YAML_EXAMPLES_SCALE=50`` runs the generated-document tests fifty times longer (locally).
SCALE = int(os.environ.get("YAML_EXAMPLES_SCALE", "1"))

needs_libyaml = pytest.mark.skipif(yaml_source._CLoader is None,
                                   reason="PyYAML without libyaml: only the pure composer")


def parse_with(text: str | bytes, mode: str, monkeypatch: pytest.MonkeyPatch) -> tuple[Any, ...]:
    """``mode``: "c" (libyaml's composer) or "pure" (PyYAML's pure-Python one)."""
    if mode == "pure":
        monkeypatch.setenv("TRELLIS_YAML", "pure")
    else:
        monkeypatch.delenv("TRELLIS_YAML", raising=False)
    try:
        src = yaml_source.parse(text, "org.yaml")
    except OrgError as exc:
        return ("error", [(i.line, i.column) for i in exc.issues],
                [str(i) for i in exc.issues])
    return ("ok", src.data, src.value_pos, src.key_pos)


def assert_same(text: str | bytes, monkeypatch: pytest.MonkeyPatch, *,
                grammar_may_differ: bool = False) -> tuple[Any, ...]:
    """Both composers give the same values and positions, or the same problems at the same
    places (syntax errors may be worded differently). ``grammar_may_differ``: damaged text,
    where a syntax error on either side only has to be located."""
    fast = parse_with(text, "c", monkeypatch)
    pure = parse_with(text, "pure", monkeypatch)
    if grammar_may_differ and any(
            r[0] == "error" and "YAML syntax error" in r[2][0] for r in (fast, pure)):
        for result in (fast, pure):
            assert result[0] == "ok" or None not in result[1][0], f"unlocated: {result}"
        return fast
    if fast[0] == "error" and pure[0] == "error":
        assert fast[1] == pure[1], f"problems at other places: libyaml {fast}, pure {pure}"
        for a, b in zip(fast[2], pure[2], strict=True):
            if "YAML syntax error" not in a or "YAML syntax error" not in b:
                assert a == b, f"libyaml and the pure composer disagree on {text!r}"
    else:
        assert _nan_safe(fast) == _nan_safe(pure), (
            f"libyaml and the pure composer build {text!r} differently")
    return fast


def _nan_safe(value: Any) -> Any:
    """``nan != nan``: compare NaNs by name."""
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
    "tags": ("a: !!str 1\nb: !!int '3'\nc: !!float 1\nd: !!bool true\ne: !!null ''\nf: !!str\n"
             "g: !!float 1e3\nh: !!int 0x1F\ni: ! 12\n"),
    "tags_refused": "a: !custom x\nb: !!bool yes\nc: !!int 1.5\nd: !!null x\n",
    "blocks": "a: |\n  line1\n  line2\nb: >-\n  folded\n  text\nc: |+\n  keep\n\nd: x\n",
    "quoted": "'a b': \"c\\td\"\n\"k\": 'it''s'\nx: \"\\u00e9\\/\"\n",
    "anchors": "base: &b {x: 1, y: [1, 2]}\nuse: *b\nmerge:\n  <<: *b\n  x: 2\nlist: [*b, *b]\n",
    "multimerge": "a: &a {x: 1}\nb: &b {y: 2}\nc:\n  <<: [*a, *b]\n  z: 3\n",
    "merge_inline": "a:\n  <<: {x: 1, y: 2}\n  x: 3\n",
    "merge_notmap": "a:\n  <<: 5\n  b: 1\n",
    "merge_list_notmap": "a:\n  <<: [1]\n",
    "merge_scalar_alias": "s: &s 1\na:\n  <<: *s\n",
    "dup": "a: 1\nb: 2\na: 3\n",
    "complexkey": "? [a, b]\n: 1\n",
    "nonstrkey": "1: a\ntrue: b\nnull: c\n1.5: d\n",
    "unicode": "name: héllo\nemoji: \"\\U0001F600\"\n",
    "bom": "\ufeffa: 1\n",
    "y12": "%YAML 1.2\n---\na: yes\nb: 010\n",
    "y11": "%YAML 1.1\n---\na: yes\nb: 010\n",
    "y11_after_comment": "# generated\n\n%YAML 1.1\n---\na: 1\n",
    "y13": "%YAML 1.3\n---\na: 1\n",
    "y20": "%YAML 2.0\n---\na: 1\n",
    "multidoc": "a: 1\n---\nb: 2\n",
    "docend": "a: 1\n...\n",
    "undefalias": "a: *nope\n",
    "recursive": "a: &x [1, *x]\n",
    "dup_anchor": "a: &x 1\nb: &x 2\nc: *x\n",
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
    "comments_only": "# c\n\n   # d\n",
    "longline": "a: " + "x"*5000 + "\n",
    "deep": "a:\n" + "".join("  "*i + f"k{i}:\n" for i in range(1, 50)) + "  "*50 + "v: 1\n",
    "seqmap": "teams:\n  - name: a\n    x: 1\n  - name: b\n",
    "indentless": "a:\n- 1\n- 2\nb: 3\n",
    "anchor_scalar": "a: &v hello\nb: *v\n",
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
    "tag_on_wrong_kind": "a: !!str [1]\nb: !!map x\nc: !!seq {k: 1}\n",
    "empty_document": "---\n",
    "empty_document_end": "--- \n...\n",
    "root_null": "~\n",
    "deep_ok": "a: " + "[" * 60 + "]" * 60 + "\n",
    "deep_flow": "a: " + "[" * 70 + "]" * 70 + "\n",
    "deep_block": "".join("  " * i + f"k{i}:\n" for i in range(70)) + "  " * 70 + "v: 1\n",
    "deep_after_dup": "a: 1\na: 2\nb: " + "[" * 70 + "]" * 70 + "\n",
    "deep_past_libyaml": "a: " + "[" * 1200 + "]" * 1200 + "\n",
    "deep_through_aliases": ("a: &a " + "[" * 40 + "]" * 40 + "\nb: " + "[" * 30 + "*a"
                             + "]" * 30 + "\n"),
    # issue 22: input that reached the engine as a crash
    "tag_float_empty": "version: !!float\n",
    "tag_int_empty": "version: !!int \"\"\n",
    "tag_bool_x": "spot: !!bool x\n",
    "tagged_key": "!!int 1: a\n",
    "tagged_key_empty": "!!float : 1\n",
    "tagged_key_str": "!!str 1: a\n",
    "binary_parameter": "parameters: {epochs: 10, blob: !!binary aGVsbG8=}\n",
    "binary_key": "!!binary aGk=: x\n",
    "unknown_tag": "org: !foo acme\n",
    "unknown_tag_collection": "a: !foo {k: 1}\n",
    "set": "a: !!set {x, y}\n",
    "omap": "a: !!omap [x: 1]\n",
    "timestamp": "a: !!timestamp 2024-01-01\n",
    "nul": "a: 1\nb: x\x00y\n",
    "nul_after_crlf": "a: 1\r\nb: 2\r\nc: \x00\r\n",
    "control_characters": "a: \x01\nb: \x7f\nc: \x1b[0m\n",
    "bom_inside": "a: x\ufeffy\n",
}

#: What a user sees for the documents that are refused: (line, column, words in the message).
REFUSED = {
    "tags_refused": [(1, 4, "unknown tag `!custom`"), (2, 4, "`!!bool` needs true or false"),
                     (3, 4, "`!!int` needs a whole number"), (4, 4, "`!!null` needs null")],
    "merge_notmap": [(2, 7, "`<<` merges mappings")],
    "merge_list_notmap": [(2, 8, "`<<` merges mappings")],
    "merge_scalar_alias": [(1, 4, "`<<` merges mappings")],
    "dup": [(3, 1, "duplicate key 'a' (first defined on line 1)")],
    "y11": [(1, 1, "asks for YAML 1.1")],
    "y11_after_comment": [(3, 1, "asks for YAML 1.1")],
    "y13": [(1, 1, "asks for YAML 1.3")],
    "y20": [(1, 1, "asks for YAML 2.0")],
    "multidoc": [(2, 1, "a second YAML document starts here")],
    "undefalias": [(1, 4, "the alias *nope names no anchor defined before it")],
    "recursive": [(1, 4, "cannot be recursive")],
    "dup_anchor": [(2, 4, "the anchor &x is defined twice (first on line 1, column 4)")],
    "comments_only": [(1, 1, "the file is empty")],
    "tag_on_wrong_kind": [(1, 4, "`!!str` stands for text, but it is on a list"),
                          (2, 4, "`!!map` stands for a mapping (key: value), but it is on a "
                                 "single value"),
                          (3, 4, "`!!seq` stands for a list, but it is on a mapping")],
    "deep_flow": [(1, 68, "nested more than 64 levels")],
    "deep_past_libyaml": [(1, 1003, "nested more than 1,000 levels")],
    "deep_through_aliases": [(1, 4, "nested more than 64 levels")],  # at the anchor
    "tag_float_empty": [(1, 10, "`!!float` needs a number such as 1.5; got nothing")],
    "tag_int_empty": [(1, 10, "`!!int` needs a whole number such as 3; got nothing")],
    "tag_bool_x": [(1, 7, "`!!bool` needs true or false; got 'x'")],
    "tagged_key": [(1, 1, "keys are plain text, so `!!int` cannot stand on one")],
    "tagged_key_empty": [(1, 1, "keys are plain text, so `!!float` cannot stand on one")],
    "binary_parameter": [(1, 32, "`!!binary` makes bytes, and a plan carries only text")],
    "binary_key": [(1, 1, "`!!binary` makes bytes")],
    "unknown_tag": [(1, 6, "unknown tag `!foo`: org.yaml builds plain YAML values only")],
    "unknown_tag_collection": [(1, 4, "unknown tag `!foo`")],
    "dirs": [(3, 4, "unknown tag `!<tag:example.com,2000:foo>`")],
    "set": [(1, 4, "remove the `!!set` tag and write a list")],
    "omap": [(1, 4, "remove the `!!omap` tag and write a mapping")],
    "timestamp": [(1, 4, "org.yaml writes dates as plain text")],
    "nul": [(2, 5, "control character U+0000 (NUL)")],
    "nul_after_crlf": [(3, 4, "control character U+0000 (NUL)")],
    "control_characters": [(1, 4, "U+0001"), (2, 4, "U+007F (DEL)"), (3, 4, "U+001B")],
}

#: Values of documents whose reading YAML 1.2 (or org.yaml's rules) decides.
BUILT = {
    "bools": {"a": "yes", "b": "no", "c": "on", "d": "off", "e": True, "f": False, "g": True},
    "numbers": {"a": 10, "b": 8, "c": 31, "d": 1000.0, "e": math.inf, "f": -math.inf,
                "g": "<nan>", "h": 1000, "i": 12, "j": 1.5, "k": 5, "l": "12:30"},
    "tags": {"a": "1", "b": 3, "c": 1.0, "d": True, "e": None, "f": "", "g": 1000.0, "h": 31,
             "i": 12},  # `!` counts as no tag (libyaml and PyYAML report it so)
    "dates": {"a": "2024-01-01", "b": "2024-01-01T10:00:00Z"},
    "anchors": {"base": {"x": 1, "y": [1, 2]}, "use": {"x": 1, "y": [1, 2]},
                "merge": {"x": 2, "y": [1, 2]}, "list": [{"x": 1, "y": [1, 2]}] * 2},
    "multimerge": {"a": {"x": 1}, "b": {"y": 2}, "c": {"z": 3, "x": 1, "y": 2}},
    "merge_inline": {"a": {"x": 3, "y": 2}},
    "nonstrkey": None,  # refused: a null key
    "odd_values": {"a": "=", "b": "<<", "c": "<<", "d": "2024-1-1 10:00:00", "e": 10,
                   "f": ".E5"},
    "quoted_merge_key": {"<<": 1, "b": 2},
    "tagged_key_str": {"1": "a"},
    "y12": {"a": "yes", "b": 10},
    "bom": {"a": 1},
    "crlf": {"a": 1, "b": 2},
    "bom_inside": {"a": "x\ufeffy"},
}


@pytest.mark.parametrize("name", sorted(DOCUMENTS))
def test_tricky_documents_read_the_same_by_both_composers(
        name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    result = assert_same(DOCUMENTS[name], monkeypatch)
    if name in REFUSED:
        assert result[0] == "error", f"{name} should be refused, got {result}"
        got = list(zip(result[1], result[2], strict=True))
        assert len(got) == len(REFUSED[name]), f"{name}: {result[2]}"
        for ((line, col), message), (want_line, want_col, words) in zip(
                got, REFUSED[name], strict=True):
            assert (line, col) == (want_line, want_col) and words in message, (
                f"{name}: expected '{words}' at {want_line}:{want_col}, got {message}")
    if BUILT.get(name) is not None:
        assert result[0] == "ok", f"{name} should be read, got {result}"
        assert _nan_safe(result[1]) == BUILT[name], f"{name} read wrongly: {result[1]}"


def test_every_problem_is_located(monkeypatch: pytest.MonkeyPatch) -> None:
    """Only :class:`OrgError` leaves the parser (anything else fails here), and every problem
    in it has a line and a column."""
    for name, text in DOCUMENTS.items():
        for mode in ("c", "pure"):
            result = parse_with(text, mode, monkeypatch)
            if result[0] == "error":
                assert all(line and col for line, col in result[1]), (name, mode, result)


def test_every_key_and_value_keeps_its_place(monkeypatch: pytest.MonkeyPatch) -> None:
    _, data, values, keys = parse_with(
        "team:\n  name: a\n  pools: [x, {y: 2}]\n  empty:\n", "c", monkeypatch)
    assert data == {"team": {"name": "a", "pools": ["x", {"y": 2}], "empty": None}}
    assert keys[("team", "name")] == (2, 3) and values[("team", "name")] == (2, 9)
    assert values[("team", "pools", 1, "y")] == (3, 18) and keys[("team", "pools", 1, "y")] \
        == (3, 15)
    assert values[("team", "empty")] == (4, 3), (
        "an empty value is placed at its key (libyaml and PyYAML place `{k: }` differently)")


def test_merged_keys_are_placed_where_they_were_written(
        monkeypatch: pytest.MonkeyPatch) -> None:
    for mode in ("c", "pure"):
        _, data, values, keys = parse_with(DOCUMENTS["merge_inline"], mode, monkeypatch)
        assert data == {"a": {"x": 3, "y": 2}}
        assert values[("a", "x")] == (3, 6), "the key written next to the merge wins"
        assert values[("a", "y")] == (2, 17) and keys[("a", "y")] == (2, 14), (
            "a merged key points at the merged mapping's own key")


def test_a_tab_is_named_in_the_error(monkeypatch: pytest.MonkeyPatch) -> None:
    for mode in ("c", "pure"):
        kind, where, messages = parse_with(DOCUMENTS["syntax_tab"], mode, monkeypatch)
        assert kind == "error" and where == [(2, 1)], (mode, messages)
        assert "tab" in messages[0], (mode, messages)


def test_bytes_that_are_not_utf8_are_located(monkeypatch: pytest.MonkeyPatch) -> None:
    for mode in ("c", "pure"):
        kind, where, messages = parse_with(b"version: 1\norg: acme\xff\n", mode, monkeypatch)
        assert (kind, where) == ("error", [(2, 10)]) and "not valid UTF-8" in messages[0]


@pytest.mark.parametrize("org", ALL_ORGS, ids=lambda p: p.name)
def test_bundled_orgs_read_the_same(org: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert assert_same(org.read_text(encoding="utf-8"), monkeypatch)[0] == "ok"


SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(-10**12, 10**12),
    st.floats(allow_nan=False, allow_infinity=False, width=32),
    st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=12),
    st.sampled_from(["yes", "no", "on", "off", "010", "0x1f", "1_000", "~", "null", "2024-01-01",
                     "12:30", "a: b", "- x", "#c", "&a", "*a", "!t", "'q'", '"d"', "", " s ",
                     "<<", "%YAML 1.1"]))
DATA = st.recursive(
    SCALARS, lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.text(st.characters(codec="ascii", categories=("L", "N")),
                                min_size=1, max_size=6), inner, max_size=4)),
    max_leaves=20)


@settings(max_examples=80 * SCALE, deadline=None)
@given(data=st.dictionaries(st.from_regex(r"[a-z][a-z0-9_]{0,8}", fullmatch=True), DATA,
                            min_size=1, max_size=5),
       flow=st.sampled_from([None, True, False]))
def test_any_dumped_document_reads_the_same(data: dict[str, Any], flow: bool | None) -> None:
    text = yaml.safe_dump(data, default_flow_style=flow, allow_unicode=True, sort_keys=False)
    with pytest.MonkeyPatch.context() as monkeypatch:
        assert assert_same(text, monkeypatch)[0] == "ok", text


@pytest.mark.parametrize(("text", "place"), [
    ("teams:\n  train: {? : l4, max_nodes: 2}\n", (2, 13)),  # found by the damage test
    ("teams:\n  train: {?   : l4}\n", (2, 15)),
    ("teams:\n  ? \n  : l4\n", (2, 4)),
    ("teams: {x: , <<: }\n", (1, 18)),
])
def test_an_empty_key_is_placed_alike_by_both_composers(
        text: str, place: tuple[int, int], monkeypatch: pytest.MonkeyPatch) -> None:
    """An empty node has no text: both composers place it at the next token."""
    for mode in ("c", "pure"):
        kind, places, messages = parse_with(text, mode, monkeypatch)
        assert (kind, places) == ("error", [place]), (mode, messages)


@settings(max_examples=60 * SCALE, deadline=None)
@given(org=st.sampled_from(ALL_ORGS), cut=st.integers(0, 10**6), length=st.integers(0, 12),
       insert=st.sampled_from(["", ":", "- ", "&a ", "*a", "!!int ", "!x ", "<<: ", "\t", "'",
                               "[", "}", "\x00", "\n  ", "? ", "%YAML 1.1\n---\n"]))
def test_damaged_org_files_read_the_same(org: Path, cut: int, length: int, insert: str) -> None:
    """Both composers agree on org files with a few characters replaced, except where their
    scanners' grammars differ (then both report a located syntax error or read it)."""
    text = org.read_text(encoding="utf-8")
    at = cut % (len(text) + 1)
    with pytest.MonkeyPatch.context() as monkeypatch:
        assert_same(text[:at] + insert + text[at + length:], monkeypatch,
                    grammar_may_differ=True)


@needs_libyaml
@pytest.mark.parametrize("org", ALL_ORGS, ids=lambda p: p.name)
def test_org_files_are_composed_by_libyaml(org: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The fast composer is the one real org files take."""

    def refuse(text: str) -> Any:
        raise AssertionError("took the pure composer")

    monkeypatch.delenv("TRELLIS_YAML", raising=False)
    monkeypatch.setattr(yaml_source, "_PureLoader", refuse)
    assert yaml_source.parse(org.read_text(encoding="utf-8"), "org.yaml").data["teams"]


def test_generated_orgs_read_the_same(monkeypatch: pytest.MonkeyPatch) -> None:
    from benchmarks import orgs

    for cloud in ("gcp", "aws"):
        result = assert_same(orgs.generate(cloud, 12), monkeypatch)
        assert result[0] == "ok" and len(result[1]["teams"]) == 12


# Plain scalars -------------------------------------------------------------------------------

#: YAML 1.2.2, 10.3.2 "Tag Resolution" of the core schema, in the table's order.
CORE_SCHEMA: list[tuple[str, Any]] = [
    (r"null|Null|NULL|~|", lambda t: None),
    (r"true|True|TRUE|false|False|FALSE", lambda t: t.lower() == "true"),
    (r"[-+]?[0-9]+", int),
    (r"0o[0-7]+", lambda t: int(t[2:], 8)),
    (r"0x[0-9a-fA-F]+", lambda t: int(t[2:], 16)),
    (r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?", float),
    (r"[-+]?(\.inf|\.Inf|\.INF)", lambda t: -math.inf if t[0] == "-" else math.inf),
    (r"\.nan|\.NaN|\.NAN", lambda t: math.nan),
]


def _core_schema(text: str) -> Any:
    for pattern, build in CORE_SCHEMA:
        if re.fullmatch(pattern, text):
            return build(text)
    return text


CORE_TEXT = st.from_regex(
    r"null|Null|NULL|~|true|True|TRUE|false|False|FALSE|[-+]?[0-9]{1,4}|0o[0-7]{1,4}"
    r"|0x[0-9a-fA-F]{1,4}|[-+]?(\.[0-9]{1,3}|[0-9]{1,3}(\.[0-9]{0,3})?)([eE][-+]?[0-9]{1,2})?"
    r"|[-+]?\.(inf|Inf|INF)|\.(nan|NaN|NAN)", fullmatch=True)


@settings(max_examples=300, deadline=None)
@given(text=CORE_TEXT | st.text(alphabet="0123456789_-+.:eEoxbBaflsInNtTrRuU~yY", max_size=8))
def test_plain_scalars_follow_the_core_schema(text: str) -> None:
    if re.fullmatch(r"[-+]?\.[0-9]+[eE][0-9]+", text):
        return  # kept as text, as ruamel.yaml read it before (below)
    ours, spec = yaml_source.plain_scalar(text), _core_schema(text)
    if isinstance(spec, str):  # the schema says text: we read text, or one of the extensions
        assert isinstance(ours, str) or re.fullmatch(
            r"[-+]?(0[box])?[0-9a-fA-F_.]*([eE][-+]?[0-9]+)?|[-+]?\.[nN]a[nN]", text), (
            f"{text!r} is text in YAML 1.2 but read as {ours!r}")
    else:
        assert _nan_safe(ours) == _nan_safe(spec) and type(ours) is type(spec), (
            f"{text!r} is {spec!r} in YAML 1.2 but read as {ours!r}")


@pytest.mark.parametrize(("text", "value"), [
    # beyond the core schema, as ruamel.yaml reads YAML 1.2 (ADR 8): numbers still
    ("1_000", 1000), ("0b101", 5), ("-0x1F", -31), ("+0o10", 8), ("1__0", 10), ("0x_1", 1),
    ("+.nan", "+.nan"), (".5e3", ".5e3"), ("1.5e3", 1500.0), (".5e+3", 500.0),
    # YAML 1.1's readings that 1.2 dropped: text
    ("yes", "yes"), ("Off", "Off"), ("y", "y"), ("1:30", "1:30"), ("0o8", "0o8"),
    ("2024-01-01", "2024-01-01"), ("=", "="), ("<<", "<<"),
    # match a rule but cannot be built: text
    ("-_", "-_"), ("0x_", "0x_"), ("._", "._"), ("0b", "0b"),
])
def test_plain_scalar_readings_beyond_the_core_schema(text: str, value: Any) -> None:
    got = yaml_source.plain_scalar(text)
    assert got == value and type(got) is type(value), f"{text!r} read as {got!r}"


# Limits --------------------------------------------------------------------------------------

NESTED = {
    # text: (line, column) where both composers refuse it
    **{"a: " + "[" * n + "]" * n + "\n": (1, 68) for n in (65, 200, 900)},  # the 65th `[`
    "- " * 900 + "x\n": (1, 131),  # the 66th `-` (the first is the document, level 0)
    # past libyaml's own limit (1,000 levels), where its scanner stops: the pure one too
    **{"a: " + "[" * n + "]" * n + "\n": (1, 1003) for n in (1001, 5000, 100_000)},
    "[\n" * 1100 + "]" * 1100 + "\n": (1001, 1),
    "- " * 2000 + "x\n": (1, 1999),
}


@pytest.mark.parametrize("text", list(NESTED), ids=lambda t: f"{t[:6]!r}x{len(t)}")
def test_nesting_is_bounded_at_the_same_place_by_both_composers(
        text: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """PyYAML's composer recurses per level and its scanner slows down with every open flow
    level; libyaml stops at 1,000 levels. Both composers refuse more than 64 levels at the
    same place, at any depth (how fast is a benchmark figure: benchmarks/run.py)."""
    for mode in ("c", "pure"):
        kind, places, messages = parse_with(text, mode, monkeypatch)
        assert kind == "error" and places == [NESTED[text]], (mode, messages)
        assert re.search(r"nested more than [0-9,]+ levels", messages[0]), (mode, messages)


def test_alias_bomb_is_refused_where_it_expands(monkeypatch: pytest.MonkeyPatch) -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 9)]
    for mode in ("c", "pure"):
        kind, _, messages = parse_with("\n".join(lines) + "\n", mode, monkeypatch)
        assert kind == "error" and "expands to more than 1,000,000 values" in messages[0], (
            mode, messages)
        # a5's eighth alias of a4 passes the budget: the path of that alias, the place of a4
        assert messages[0].startswith("org.yaml:5:5 a5[7]: "), (
            f"the bomb should be located where it passes the budget: {messages}")


# trellis validate ----------------------------------------------------------------------------

def _org_with(old: str, new: str) -> str:
    assert old in MINIMAL_GCP
    return MINIMAL_GCP.replace(old, new, 1)


CLI_CASES = {
    "float tag, no value": (_org_with("version: 1", "version: !!float"), 1, 10, "`!!float`"),
    "int tag, empty text": (_org_with("version: 1", 'version: !!int ""'), 1, 10, "`!!int`"),
    "bool tag on text": (_org_with("max_nodes: 2}", "max_nodes: 2, spot: !!bool x}"), 12, 52,
                         "`!!bool` needs true or false; got 'x'"),
    "tagged key": (_org_with("org: acme", "!!str org: acme\n!!int 7: x"), 3, 1,
                   "keys are plain text, so `!!int` cannot stand on one"),
    "binary in parameters": (
        MINIMAL_GCP + "    pipelines:\n      nightly:\n        template: p.yaml\n"
        "        schedule: \"0 3 * * *\"\n        parameters: {blob: !!binary aGVsbG8=}\n",
        19, 28, "`!!binary` makes bytes"),
    "unknown tag": (_org_with("org: acme", "org: !foo acme"), 2, 6, "unknown tag `!foo`"),
    "NUL byte": (_org_with("members: [group:recsys@acme.com]",
                           "members: [group:recsys@acme.com\x00]"), 10, 36, "U+0000 (NUL)"),
    "YAML 1.1": ("%YAML 1.1\n---\n" + MINIMAL_GCP, 1, 1, "asks for YAML 1.1"),
    "anchor defined twice": (_org_with("serve: {accelerator: l4, max_nodes: 2}",
                                       "serve: &p {accelerator: l4, max_nodes: 2}\n"
                                       "      other: &p {accelerator: l4}"),
                             13, 14, "the anchor &p is defined twice"),
}


@pytest.mark.parametrize("case", sorted(CLI_CASES))
def test_validate_locates_yaml_it_cannot_build(case: str, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    text, line, col, words = CLI_CASES[case]
    path = tmp_path / "org.yaml"
    path.write_bytes(text.encode("utf-8"))
    for mode in ("c", "pure"):
        if mode == "pure":
            monkeypatch.setenv("TRELLIS_YAML", "pure")
        result = CliRunner().invoke(main, ["validate", str(path)])
        out = result.output
        assert "Traceback" not in out and "internal error" not in out, f"{case}: {out}"
        assert result.exit_code == 1, f"{case} ({mode}): exit {result.exit_code}\n{out}"
        assert f"{path}:{line}:{col} " in out and words in out, (
            f"{case} ({mode}): expected '{words}' at {line}:{col}, got\n{out}")
