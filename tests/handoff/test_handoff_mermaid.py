"""The README's Mermaid block parses: a small grammar check of the flowchart subset we emit."""

from __future__ import annotations

import re

from stacks.handoff import mermaid

ID = r"[A-Za-z][A-Za-z0-9_]*"
LABEL = r'"[^"]*"'
SHAPES = [(r"\[", r"\]"), (r"\(", r"\)"), (r"\[\(", r"\)\]"), (r"\(\[", r"\]\)")]
NODE = re.compile(rf"^\s*({ID})(?:{'|'.join(f'{o}{LABEL}{c}' for o, c in SHAPES)})\s*$")
SUBGRAPH = re.compile(rf"^\s*subgraph ({ID})\[{LABEL}\]\s*$")
EDGE = re.compile(rf"^\s*({ID}) --> ({ID})\s*$")
CLASSDEF = re.compile(rf"^\s*classDef ({ID}) [a-z-]+:[#\w]+(,[a-z-]+:[#\w]+)*\s*$")
CLASS = re.compile(rf"^\s*class ({ID}(?:,{ID})*) ({ID})\s*$")
RESERVED = {"end", "subgraph", "graph", "flowchart", "class", "classDef", "style", "click",
            "direction"}
ENTITY = re.compile(r"#(?:[a-z]+|\d+);")


def check(text: str) -> list[str]:
    """Problems with ``text`` as a flowchart of our subset (empty when it parses)."""
    lines = [line for line in text.splitlines() if line.strip()]
    problems: list[str] = []
    if not lines or not re.fullmatch(r"flowchart (TD|TB|LR|RL|BT)", lines[0].strip()):
        return [f"line 1 is not a flowchart header: {lines[:1]}"]
    nodes: set[str] = set()
    graphs: set[str] = set()
    classes: set[str] = set()
    depth = 0
    for n, line in enumerate(lines[1:], start=2):
        for m in re.finditer(r'"([^"]*)"', line):
            label = ENTITY.sub("", m.group(1)).replace("<br/>", "")
            if re.search(r"[<>#]", label):
                problems.append(f"line {n}: unescaped markup in label {m.group(1)!r}")
        if m := SUBGRAPH.match(line):
            depth += 1
            graphs.add(m.group(1))
        elif line.strip() == "end":
            depth -= 1
            if depth < 0:
                problems.append(f"line {n}: 'end' without subgraph")
        elif re.fullmatch(r"\s*direction (TB|TD|LR|RL|BT)\s*", line):
            if depth == 0:
                problems.append(f"line {n}: direction outside a subgraph")
        elif m := NODE.match(line):
            if m.group(1) in nodes | graphs:
                problems.append(f"line {n}: {m.group(1)} defined twice")
            nodes.add(m.group(1))
        elif m := EDGE.match(line):
            for end in m.groups():
                if end not in nodes | graphs:
                    problems.append(f"line {n}: edge to undefined {end}")
        elif m := CLASSDEF.match(line):
            classes.add(m.group(1))
        elif m := CLASS.match(line):
            if m.group(2) not in classes:
                problems.append(f"line {n}: class {m.group(2)} not defined")
            problems += [f"line {n}: class on undefined {i}" for i in m.group(1).split(",")
                         if i not in nodes]
        else:
            problems.append(f"line {n}: not understood: {line!r}")
    if depth:
        problems.append(f"{depth} subgraph(s) not closed")
    problems += [f"reserved word {i} used as an id" for i in (nodes | graphs) & RESERVED]
    return problems


def readme_chart(readme: str) -> str:
    m = re.search(r"^```mermaid\n(.*?)^```$", readme, re.S | re.M)
    assert m, "README.md has no mermaid block"
    return m.group(1)


def test_readme_mermaid_parses(example):
    chart = readme_chart(example.files["README.md"])
    assert check(chart) == []
    for env in example.specs.values():
        assert f"{env.name}: {env.tier}, {env.region}" in chart
        for team in env.teams:
            assert f'(["{team}"])' in chart


def test_hostile_labels_stay_labels():
    assert mermaid.label('a "b" <i>c</i> [d] {e} #f; |g| `h` & i') == (
        "a #quot;b#quot; #lt;i#gt;c#lt;/i#gt; #91;d#93; #123;e#125; #35;f; #124;g#124; "
        "#96;h#96; #amp; i")


def test_the_checker_catches_mistakes():
    assert check("flowchart LR\n  a[\"x\"]\n  a --> b\n")  # undefined b
    assert check("flowchart LR\n  subgraph s[\"x\"]\n  a[\"y\"]\n")  # not closed
    assert check('flowchart LR\n  a["say "hi""]\n')  # raw quote
    assert check("graph LR\n")  # not our header
    assert check("flowchart LR\n  end[\"x\"]\n")  # reserved id
