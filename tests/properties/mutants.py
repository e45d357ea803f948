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


#: Edge values per field: what a user writes by mistake, at the limits, or that a loader,
#: the file system or a cloud takes differently. Targeted edits draw mostly from these.
FIELD_VALUES: dict[str, list[Any]] = {
    "version": [True, 1.0, "1", 2, None],
    "org": ["Acme", "a", "acme-" * 10, "", 1],
    "cloud": ["GCP", "azure", True],
    "region": ["us-central2", "europe-west4", "us-east-1", "", "a" * 500],
    "tier": ["Production", "prod", True],
    "project": ["a", "Acme_ML", "acme-ml-" * 10, 123456],
    "account": [123456789012, "12345678901", "1" * 40],
    "budget_usd": [float("nan"), float("inf"), float("-inf"), -1, 0, 0.5, 1e9, 1e10, 1e300,
                   10**400, "40000", True],
    "max_nodes": [0, 1, 449, 450, 451, 2999, 3000, 3001, 10**40, True, "4", 4.0, -3],
    "min_nodes": [0, 1, 5, 450, 3000, 10**40, -1, True, 1.0],
    "gpus_per_node": [0, 1, 3, 8, 16, 10**40, True, "8", 8.0],
    "disk_size_gb": [0, 49, 50, 16384, 16385, 65536, 65537, 10**40, True],
    "delete_after_days": [0, 1, 36500, 36501, 10**40, True, 1.5],
    "spot": ["true", 1, 0, None, "yes"],
    "versioning": ["false", 0, None, "no"],
    "enabled": [False, True, "false", 0, None],
    "template": ["pipelines/train.yaml", "pipelines/train.json", "pipelines", "pipelines/",
                 "pipelines/\x00train.yaml", "a/" * 3000 + "x.yaml", "n" * 300 + ".yaml", "",
                 "gs://bucket/t.yaml", "s3://bucket-x/t.json", "/etc/hostname", "/dev/zero",
                 "../org.yaml", "mutant.yaml", "valid.yaml", "gs://bucket/" + "k" * 1100,
                 "pipelines/train.yaml/x"],
    "timezone": ["posix/Asia/Seoul", "right/UTC", "Factory", "localtime", "zone.tab",
                 "EST5EDT", "US/Pacific", "Asia/Seoul ", "", "../../etc/passwd", "UTC\x00"],
    "schedule": ["0 0 30 2 *", "*/0 * * * *", "0 0 * * 8", "60 * * * *", "0 3 * * 0-7",
                 "0 3 1-31/2 * MON", "@daily", "", "* * * * * *"],
    "parameters": [{"x": float("nan")}, {"x": 10**20}, {"x": b"\x00"}, {"x": [[[[]]]]},
                   {"x": "a" * 10000}, {"": 1}, {"x": None}, {"x": {"y": float("inf")}},
                   [1, 2], "x", {"x": dt.date(2024, 1, 1)}],
    "admin_cidrs": [["0.0.0.0/1", "128.0.0.0/1"], ["::/0"], ["::/1", "8000::/1"],
                    ["203.0.113.5/24"], ["203.0.113.5"], ["10.0.0.0/8"] * 41, ["x"],
                    ["0.0.0.0/0"], ["2001:DB8::/32"], [""], "10.0.0.0/8"],
    "network_cidr": ["10.0.0.1/16", "10.0.0.0/7", "10.0.0.0/21", "8.8.8.0/16", "::/64", ""],
    "labels": [{"a" * 100: "x"}, {"Team": "ML!"}, {"": ""}, {"x": 1}, {"aws:x": "y"}, []],
    "members": [["user:x"], [""], "group:x@y.z", [1], ["arn:aws:iam::1:role/x"]],
    "previous_names": [["serve"], ["train"], ["a" * 30], [""], "serve", [1]],
    "environments": [[], ["prod", "prod"], ["nope"], "dev", {"dev": None}],
    "accelerator": ["h100", "H100-80GB", "a10g", "l40s", "h200", "", "tpu-v5"],
    "zones": [[], ["us-central1-a"], ["us-central1-a", "us-central1-a"], ["use1-az1"],
              ["us-east-1a"], ["europe-west4-b"], ["x"] * 20, "us-central1-a", [1]],
    "cpu": [{"vcpus": 0, "memory_gb": 1}, {"vcpus": 10**40, "memory_gb": 1},
            {"vcpus": True, "memory_gb": "8"}, {"vcpus": 8}, {"vcpus": 100000,
                                                               "memory_gb": 1000000}, 8],
    "kubernetes_version": ["1.35", "1.9", "2.0", 1.35, "", "latest", "1.30"],
    "admins": [[], ["arn:aws:iam::123456789012:root"], ["group:x@y.z"], "x"],
    "maintenance": [{"window": "Sat 00:00-01:00"}, {"window": "Mon,Mon 00:00-24:00"},
                    {"window": ""}, {"exclusions": {"x": {"start": "2026-02-30",
                                                          "end": "2025-01-01"}}},
                    {"exclusions": {"x": {"start": "2026-01-01", "end": "2027-01-01",
                                          "scope": "no_upgrades"}}}],
    "encryption": [{"customer_managed_keys": "yes"}, {"customer_managed_keys": True}, []],
    "registry_scanning": ["basic", "enhanced", "full", True],
    "budget_currency": ["EUR", "usd", "", "XXX", 1],
}

#: Which kind of mapping holds each targeted key (where a targeted edit may add it).
_HOLDERS = {
    "top": ("version", "org", "cloud", "region", "labels"),
    "platform": ("admin_cidrs", "network_cidr", "admins", "maintenance", "encryption",
                 "registry_scanning", "budget_currency"),
    "env": ("tier", "project", "account", "region", "labels", "admins", "kubernetes_version"),
    "team": ("budget_usd", "members", "environments", "labels", "cpu"),
    "gpu_pools": ("max_nodes", "min_nodes", "gpus_per_node", "disk_size_gb", "spot",
                  "enabled", "previous_names", "accelerator", "zones"),
    "buckets": ("delete_after_days", "versioning", "enabled", "previous_names"),
    "pipelines": ("template", "timezone", "schedule", "parameters", "enabled"),
}


def _holders(data: Any, kind: str) -> list[dict[str, Any]]:
    if not isinstance(data, dict):
        return []
    if kind == "top":
        return [data]
    if kind == "platform":
        return [data.setdefault("platform", {})] if isinstance(
            data.get("platform", {}), dict) else []
    if kind == "env":
        envs = data.get("environments")
        return [e for e in envs.values() if isinstance(e, dict)] if isinstance(
            envs, dict) else []
    teams = [t for t in (data.get("teams") or {}).values() if isinstance(t, dict)] \
        if isinstance(data.get("teams"), dict) else []
    if kind == "team":
        return teams
    out = [e for t in teams if isinstance(t.get(kind), dict)
           for e in t[kind].values() if isinstance(e, dict)]
    for t in teams:  # overrides of these entries too
        for o in (t.get("overrides") or {}).values() if isinstance(
                t.get("overrides"), dict) else []:
            if isinstance(o, dict) and isinstance(o.get(kind), dict):
                out += [e for e in o[kind].values() if isinstance(e, dict)]
    return out


def _targeted(draw: Any, data: Any) -> Any:
    """Set one of the fields that matter (budgets, sizes, templates, zones, CIDRs...) to an edge
    value, wherever such a field lives (or may live) in the file."""
    kind = draw(st.sampled_from(sorted(_HOLDERS)))
    holders = _holders(data, kind)
    if not holders:
        return data
    holder = draw(st.sampled_from(holders))
    key = draw(st.sampled_from(_HOLDERS[kind]))
    values = FIELD_VALUES.get(key, [])
    if values and draw(st.integers(0, 4)):
        holder[key] = copy.deepcopy(draw(st.sampled_from(values)))
    else:
        holder[key] = copy.deepcopy(draw(st.sampled_from(INTERESTING)))
    return data


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
        # A third of the edits target the fields that matter; the rest are blind (anywhere)
        # or, for `gentle`, plausible values a user would write.
        if draw(st.integers(0, 2)) == 0:
            data = _targeted(draw, data)
        else:
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
