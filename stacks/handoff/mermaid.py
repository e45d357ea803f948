"""The architecture diagram as a Mermaid flowchart (GitHub renders it inside README.md).

org -> environments (subgraphs) -> teams -> GPU pools, buckets, registries, pipelines. Only a
small, conservative part of the grammar is used (``flowchart``, ``subgraph``/``end``, quoted
labels, ``-->``, ``classDef``/``class``) so every Mermaid version renders it; labels are
escaped with Mermaid's entity codes so user text can never break the syntax.

Mermaid wraps a label only at spaces, inside a box about 200 px wide, and cuts a longer word
at the box's edge (mermaid-js/mermaid#6424: "Long Words are Cut Off"): a bucket URI or a
cluster name would lose its end. Every run without spaces longer than ``WORD`` characters is
therefore split with ``<br/>`` after a ``/ . - _ : @`` (the same rule as the SVG diagram), so
each name stays whole, on two or more lines.
"""

from __future__ import annotations

from components import cron
from stacks.handoff.content import CLOUD_NAMES
from stacks.handoff.model import Bundle
from stacks.handoff.svg import wrap

_ENTITIES = {'"': "#quot;", "<": "#lt;", ">": "#gt;", "#": "#35;", "&": "#amp;",
             "`": "#96;", "|": "#124;", "[": "#91;", "]": "#93;", "{": "#123;", "}": "#125;"}

CLASSES = {
    "org": "fill:#1e293b,stroke:#0f172a,color:#ffffff",
    "team": "fill:#dbeafe,stroke:#1d4ed8,color:#0f172a",
    "gpu": "fill:#fef3c7,stroke:#b45309,color:#0f172a",
    "data": "fill:#dcfce7,stroke:#15803d,color:#0f172a",
    "registry": "fill:#f3e8ff,stroke:#7e22ce,color:#0f172a",
    "pipeline": "fill:#ffe4e6,stroke:#be123c,color:#0f172a",
}


WORD = 22
"""Longest run without spaces in one label line: 200 px at ~9 px per character (16 px)."""


def _escape(text: str) -> str:
    return "".join(_ENTITIES.get(c, c) for c in text)


def label(text: str) -> str:
    """Plain text -> a Mermaid quoted-label body (no raw quotes, brackets or markup), long
    words split over lines with ``<br/>`` so Mermaid never cuts them."""
    words = []
    for word in text.replace("\n", " ").split(" "):
        pieces = wrap(word, WORD, 1, 1) if len(word) > WORD else [word]
        words.append("<br/>".join(_escape(p) for p in pieces))
    return " ".join(words)


def lines_label(lines: list[str]) -> str:
    return "<br/>".join(label(x) for x in lines)


def flowchart(bundle: Bundle) -> str:
    out = ["flowchart LR"]
    edges: list[str] = []
    classes: dict[str, list[str]] = {k: [] for k in CLASSES}
    counter = 0

    def node(shape: str, text: str, cls: str, indent: str = "    ") -> str:
        nonlocal counter
        counter += 1
        nid = f"n{counter}"
        open_, close = {"box": ("[", "]"), "round": ("(", ")"), "db": ("[(", ")]"),
                        "stadium": ("([", "])")}[shape]
        out.append(f'{indent}{nid}{open_}"{text}"{close}')
        classes[cls].append(nid)
        return nid

    org = node("box", lines_label([bundle.org, CLOUD_NAMES.get(bundle.cloud, bundle.cloud)]),
               "org", indent="  ")
    for i, env in enumerate(bundle.environments, start=1):
        sid = f"env{i}"
        title = label(f"{env.name}: {env.tier}, {env.region}, {env.location}")
        out.append(f'  subgraph {sid}["{title}"]')
        out.append("    direction TB")
        edges.append(f"  {org} --> {sid}")
        for t in env.teams.values():
            team = node("stadium", label(t.team), "team")
            if t.pools:
                pools = node("box", lines_label(
                    ["GPU pools"] + [f"{p.name}: {p.accelerator} x{p.gpus_per_node}, "
                                     f"{p.min_nodes}-{p.max_nodes} nodes"
                                     f"{', spot' if p.spot else ''}" for p in t.pools.values()]),
                    "gpu")
                edges.append(f"  {team} --> {pools}")
            if t.buckets:
                data = node("db", lines_label(["Buckets"] + [b.uri for b in t.buckets.values()]),
                            "data")
                edges.append(f"  {team} --> {data}")
            reg = node("round", lines_label(["Registries", t.container_registry,
                                             t.model_registry]), "registry")
            edges.append(f"  {team} --> {reg}")
            if t.pipelines:
                pl = node("box", lines_label(
                    ["Pipelines"] + [f"{p.name}: {cron.describe(p.schedule, p.timezone)}"
                                     for p in t.pipelines.values()]), "pipeline")
                edges.append(f"  {team} --> {pl}")
        out.append("  end")
    out.extend(edges)
    for name, style in CLASSES.items():
        out.append(f"  classDef {name} {style}")
    for name, ids in classes.items():
        if ids:
            out.append(f"  class {','.join(ids)} {name}")
    return "\n".join(out) + "\n"
