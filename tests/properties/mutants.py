"""Mutants of the example org files, for the CLI fuzz test (tests/properties/test_fuzz_cli.py).

Two families, drawn through Hypothesis (so a failure shrinks to a small edit):

* **structural**: the parsed document edited at random paths (drop, duplicate, retype or replace
  a value, rename a key), then written back as YAML; ``gentle`` edits stay close to valid files
  (numbers, accelerators, regions, tiers, entries dropped per environment) so that the plan,
  check, cost and diff commands get real work;
* **bytes**: the file's bytes edited (flip, insert, delete, duplicate or swap lines, YAML
  tokens: anchors, aliases, tags, merge keys, directives, tabs, NUL, invalid UTF-8).
"""

from __future__ import annotations

import copy
import datetime as dt
import math
from typing import Any

import yaml
from hypothesis import strategies as st

from components import catalog

#: Values that have broken config loaders before: wrong types, edges of every bound, text that
#: looks like a number, a path, a CIDR or a time zone, things YAML can tag.
INTERESTING: list[Any] = [
    None, True, False, 0, -1, 1, 2, 3, 7, 8, 16, 449, 450, 451, 3000, 3001, 100000, 2**31,
    2**63, 10**40, -(10**40), 1.5, 4.0, -0.0, float("nan"), float("inf"), float("-inf"), 1e308,
    "", " ", "0", "40000", "1e400", "true", "no", "null", "~", "a" * 300, "x\x00y", "é",
    "\u2028", "😀", "../../etc/passwd", "/dev/zero", "/", ".", "pipelines", "posix/Asia/Seoul",
    "Asia/Seoul", "UTC", "Factory", "0.0.0.0/1", "128.0.0.0/1", "0.0.0.0/0", "::/0",
    "10.0.0.1/16", "203.0.113.7", "gs://b", "gs://bucket/" + "k" * 1100, "s3://bucket-name/k",
    "* * * * *", "0 0 31 2 *", "@daily", "h100-80gb", "h200", "l4", "t4", "a10g", "production",
    "sandbox", "aws", "gcp", "us-east-1", "us-central1", "eu-west-9", "arn:aws:iam::1:role/x",
    "group:x@y.z", [], {}, [1, 2], {"a": 1}, [[[[[[[[1]]]]]]]], b"\x00\xff\xfe",
    dt.date(2024, 1, 1), dt.datetime(2024, 1, 1, 12, 0),
]

KEYS = ["version", "org", "cloud", "region", "labels", "contacts", "platform", "environments",
        "teams", "gpu_pools", "buckets", "pipelines", "overrides", "accelerator", "gpus_per_node",
        "min_nodes", "max_nodes", "spot", "disk_size_gb", "versioning", "delete_after_days",
        "template", "schedule", "timezone", "parameters", "previous_names", "enabled",
        "budget_usd", "members", "environments", "tier", "project", "account", "admin_cidrs",
        "network_cidr", "billing_account", "admins", "", "1", "true", "<<", "a.b", "k" * 200]

TOKENS = [b"&a ", b"*a", b"!!binary ", b"!!int ", b"!!float ", b"!!str ", b"!x ", b"<<: ",
          b"{", b"}", b"[", b"]", b"- ", b": ", b"%YAML 1.1\n", b"%TAG ! tag:x,2024:\n",
          b"---\n", b"...\n", b"\t", b"\x00", b"\xff", b"\xc3", b"\xef\xbb\xbf", b"\r", b"#",
          b"'", b'"', b"|", b">", b"? ", b"@", b"`", b"\\", b".nan", b"1e400", b"0x1F", b"~",
          b"&b [*b]", b"\n" * 3]


def paths(data: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path in ``data`` (to a value, containers included)."""
    out = [prefix]
    if isinstance(data, dict):
        for k, v in data.items():
            out += paths(v, (*prefix, k))
    elif isinstance(data, list):
        for i, v in enumerate(data):
            out += paths(v, (*prefix, i))
    return out


def _parent(data: Any, path: tuple[Any, ...]) -> Any:
    node = data
    for part in path[:-1]:
        node = node[part]
    return node


def _leaves(data: Any) -> list[Any]:
    return [v for p in paths(data) if not isinstance(v := _get(data, p), (dict, list))]


def _get(data: Any, path: tuple[Any, ...]) -> Any:
    node = data
    for part in path:
        node = node[part]
    return node


@st.composite
def structural(draw: Any, data: Any, *, gentle: bool = False) -> Any:
    """``data`` (a parsed org file) with 1-3 random edits."""
    data = copy.deepcopy(data)
    for _ in range(draw(st.integers(1, 3))):
        data = (_gentle_edit if gentle else _edit)(draw, data)
    return data


def _edit(draw: Any, data: Any) -> Any:
    every = paths(data)[1:] or [()]
    path = draw(st.sampled_from(every))
    if not path:
        return draw(st.sampled_from(INTERESTING))
    parent, key = _parent(data, path), path[-1]
    op = draw(st.sampled_from(["drop", "duplicate", "retype", "replace", "swap", "rename"]))
    if op == "drop":
        del parent[key]
    elif op == "duplicate":
        value = copy.deepcopy(parent[key])
        if isinstance(parent, list):
            parent.insert(key, value)
        else:
            parent[draw(st.sampled_from(KEYS)) or f"{key}2"] = value
    elif op == "retype":
        parent[key] = _retyped(draw, parent[key])
    elif op == "replace":
        parent[key] = copy.deepcopy(draw(st.sampled_from(INTERESTING)))
    elif op == "swap":
        leaves = _leaves(data)
        parent[key] = copy.deepcopy(draw(st.sampled_from(leaves))) if leaves else None
    elif isinstance(parent, dict):  # rename
        new = draw(st.one_of(st.sampled_from(KEYS), st.just(str(key)[:-1]),
                             st.just(str(key).upper()), st.integers(-2, 2), st.booleans()))
        parent[new] = parent.pop(key)
    return data


def _retyped(draw: Any, value: Any) -> Any:
    if isinstance(value, bool):
        return draw(st.sampled_from([int(value), str(value).lower(), [value], None]))
    if isinstance(value, (int, float)):
        return draw(st.sampled_from([str(value), float(value), bool(value), [value],
                                     {"v": value}, -value if value == value else value]))
    if isinstance(value, str):
        return draw(st.sampled_from([[value], {value: value}, len(value), value * 3, None]))
    if isinstance(value, list):
        return draw(st.sampled_from([value[0] if value else None, dict(enumerate(value)),
                                     str(value)]))
    if isinstance(value, dict):
        return draw(st.sampled_from([list(value), list(value.values()), str(value), None]))
    return draw(st.sampled_from(INTERESTING))


# ---- gentle edits: values a user would plausibly write ----------------------------------------

_ACCELERATORS = list(catalog.ACCELERATORS)
_POOL_VALUES = {"accelerator": st.sampled_from(_ACCELERATORS),
                "gpus_per_node": st.sampled_from([1, 2, 4, 8]), "min_nodes": st.integers(0, 4),
                "max_nodes": st.integers(1, 500), "spot": st.booleans(),
                "disk_size_gb": st.integers(50, 20000)}


def _gentle_edit(draw: Any, data: Any) -> Any:
    teams = data.get("teams") if isinstance(data, dict) else None
    if not isinstance(teams, dict) or not teams:
        return data
    name = draw(st.sampled_from(sorted(teams)))
    team = teams[name]
    if not isinstance(team, dict):
        return data
    op = draw(st.sampled_from(["pool", "bucket", "budget", "tier", "region", "drop_entry",
                               "copy_team", "rename_entry", "override", "pipeline"]))
    pools = team.get("gpu_pools") or {}
    if op == "pool" and pools:
        pool = pools[draw(st.sampled_from(sorted(pools)))]
        field = draw(st.sampled_from(["accelerator", "gpus_per_node", "min_nodes", "max_nodes",
                                      "spot", "disk_size_gb"]))
        pool[field] = draw(_POOL_VALUES[field])
    elif op == "bucket":
        buckets = team.setdefault("buckets", {})
        key = draw(st.sampled_from([*sorted(buckets), "extra"]))
        buckets[key] = {k: v for k, v in {
            "versioning": draw(st.sampled_from([None, True, False])),
            "delete_after_days": draw(st.sampled_from([None, 1, 7, 30, 36500])),
        }.items() if v is not None}
    elif op == "budget":
        team["budget_usd"] = draw(st.sampled_from([0, 1, 500, 5000, 40000, 10**6, 2.5]))
    elif op == "tier":
        envs = data.get("environments") or {}
        if envs:
            env = envs[draw(st.sampled_from(sorted(envs)))]
            if isinstance(env, dict):
                env["tier"] = draw(st.sampled_from(["sandbox", "production"]))
    elif op == "region":
        cloud = data.get("cloud")
        if cloud in ("gcp", "aws"):
            data["region"] = draw(st.sampled_from(sorted(catalog.regions(cloud))[:12]))
    elif op == "drop_entry":
        section = draw(st.sampled_from(["gpu_pools", "buckets", "pipelines"]))
        entries = team.get(section) or {}
        if entries:
            del entries[draw(st.sampled_from(sorted(entries)))]
    elif op == "copy_team":
        teams[f"{name[:10]}x"] = copy.deepcopy(team)
    elif op == "rename_entry" and pools:
        old = draw(st.sampled_from(sorted(pools)))
        pools[f"{old[:15]}2"] = {**pools.pop(old), "previous_names": [old]}
        for override in (team.get("overrides") or {}).values():
            if isinstance(override, dict) and old in (override.get("gpu_pools") or {}):
                override["gpu_pools"][f"{old[:15]}2"] = override["gpu_pools"].pop(old)
    elif op == "override":
        envs = sorted(data.get("environments") or {})
        section = draw(st.sampled_from(["gpu_pools", "buckets", "pipelines"]))
        entries = team.get(section) or {}
        if envs and entries and team.get("environments") is None:
            env = draw(st.sampled_from(envs))
            override = team.setdefault("overrides", {}).setdefault(env, {})
            override.setdefault(section, {})[draw(st.sampled_from(sorted(entries)))] = {
                "enabled": draw(st.booleans())}
    elif op == "pipeline":
        pipes = team.get("pipelines") or {}
        if pipes:
            pipe = pipes[draw(st.sampled_from(sorted(pipes)))]
            field = draw(st.sampled_from(["schedule", "timezone", "parameters"]))
            pipe[field] = draw({"schedule": st.sampled_from(["0 3 * * *", "*/5 * * * *",
                                                             "0 0 29 2 *", "0 12 * * 1-5"]),
                                "timezone": st.sampled_from(["UTC", "Asia/Seoul",
                                                             "America/New_York"]),
                                "parameters": st.dictionaries(
                                    st.sampled_from(["epochs", "lr", "name"]),
                                    st.one_of(st.integers(-10**6, 10**6), st.text(max_size=20),
                                              st.floats(allow_nan=False,
                                                        allow_infinity=False)),
                                    max_size=3)}[field])
    return data


def dump(data: Any) -> bytes:
    """YAML text of ``data`` (PyYAML's safe dumper: tags for bytes and dates, escapes for NUL)."""
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True,
                          width=math.inf).encode("utf-8")


@st.composite
def byte_edits(draw: Any, raw: bytes) -> bytes:
    """``raw`` with 1-4 byte-level edits."""
    out = bytearray(raw)
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["flip", "insert", "delete", "dup_line", "swap_lines",
                                   "token", "truncate"]))
        at = draw(st.integers(0, max(len(out) - 1, 0)))
        if op == "flip" and out:
            out[at] = draw(st.integers(0, 255))
        elif op == "insert":
            out[at:at] = draw(st.binary(min_size=1, max_size=8))
        elif op == "delete":
            del out[at:at + draw(st.integers(1, 40))]
        elif op in ("dup_line", "swap_lines"):
            lines = bytes(out).split(b"\n")
            i = draw(st.integers(0, len(lines) - 1))
            j = draw(st.integers(0, len(lines) - 1))
            if op == "dup_line":
                lines.insert(i, lines[i])
            else:
                lines[i], lines[j] = lines[j], lines[i]
            out = bytearray(b"\n".join(lines))
        elif op == "token":
            out[at:at] = draw(st.sampled_from(TOKENS))
        elif op == "truncate":
            del out[at:]
    return bytes(out)
