"""Sharded planning: teams planned in worker processes, the results merged (``--jobs N``).

A plan's cost is the Pulumi SDK's per-resource machinery, and a plan's memory is about 60 KB per
resource while the runtime holds it; one process planning 5,000 teams needs tens of gigabytes.
Teams are independent of each other, so :func:`plan_sharded` splits them into shards of at most
:data:`SHARD_TEAMS` teams and plans each shard in its own process (at most ``jobs`` at a time,
forked from this one, so the imports are already done), each running the very program
``pulumi up`` runs with ``build(env, teams=shard)``: the environment's shared resources, made
from the whole spec, plus that shard's teams. A worker's memory is bounded by its shard, not by
the org; the parent keeps only the plain records.

The merge (:func:`merge`) is exact or refuses: a resource registered by one shard is taken as
it is; a shared one, registered by every shard, must be identical everywhere except for the
dependencies the shards' own resources add to it (the shared CPU pool waits for every team's
registry grant), whose union is what the whole program records. Anything else (a shared
resource whose inputs depend on which teams are in the shard, outputs that disagree) raises
:class:`ShardMismatchError`, and :func:`stacks.plan.engine.plan` then plans in one process and says
why. ``tests/engine/test_shards.py`` requires the merged plan to be byte-identical to the
single-process one for every bundled and example org and for random orgs.
"""

from __future__ import annotations

import math
import multiprocessing
import os
import pickle
import traceback
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, fields, replace
from multiprocessing.connection import Connection, wait
from typing import Any

from stacks.org.spec import EnvSpec

SHARD_TEAMS = 100
"""At most this many teams per worker process. A 100-team shard peaks at a few hundred MiB on
either cloud; smaller shards repeat the shared resources and the worker start more often."""

MIN_SHARD_TEAMS = 25
"""Fewer teams than twice this plan in one process: a worker would not pay for itself."""


class ShardMismatchError(Exception):
    """The shards' results cannot be merged exactly; ``str()`` says which resource and why."""


class WorkerFailedError(Exception):
    """A worker process died or failed; ``str()`` is the message for the user."""


@dataclass(frozen=True)
class Sharding:
    """How a plan was made: for the CLI's notes and the tests."""

    workers: int
    shards: int
    fallback: str = ""  # why the plan was made in one process after all (ShardMismatchError)


def default_jobs() -> int:
    """The CPUs this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # not Linux
        return max(1, os.cpu_count() or 1)


def can_fork() -> bool:
    """Workers are forked (the imports are done once); where there is no ``fork`` (Windows),
    every plan is made in one process."""
    return "fork" in multiprocessing.get_all_start_methods()


def shards_of(teams: Sequence[str], jobs: int) -> list[tuple[str, ...]]:
    """``teams`` in contiguous shards: at least ``jobs`` of them, none above
    :data:`SHARD_TEAMS` teams, sizes within one of each other; ``[]`` when the org is too small
    to gain from workers (one process plans it)."""
    if jobs < 2 or len(teams) < 2 * MIN_SHARD_TEAMS or not can_fork():
        return []
    count = max(jobs, math.ceil(len(teams) / SHARD_TEAMS))
    count = min(count, len(teams) // MIN_SHARD_TEAMS)
    size, extra = divmod(len(teams), count)
    out, start = [], 0
    for i in range(count):
        end = start + size + (1 if i < extra else 0)
        out.append(tuple(teams[start:end]))
        start = end
    return out


# ---------------------------------------------------------------------------------------------
# Workers
# ---------------------------------------------------------------------------------------------

Planner = Callable[[EnvSpec, tuple[str, ...]], tuple[list[Any], dict[str, Any]]]


def _child(planner: Planner, env: EnvSpec, teams: tuple[str, ...], conn: Connection) -> None:
    """A worker: plan one shard, send ``("ok", pickled (records, outputs))`` or the failure."""
    try:
        records, outputs = planner(env, teams)
        payload = pickle.dumps((records, outputs), protocol=pickle.HIGHEST_PROTOCOL)
        conn.send_bytes(b"ok" + payload)
    except BaseException as exc:  # noqa: BLE001 - reported to the parent, which raises
        if isinstance(exc, WorkerFailedError):  # the planner's message for the user
            message = str(exc)
        else:
            message = (f"planning teams {teams[0]}..{teams[-1]} failed: "
                       f"{type(exc).__name__}: {exc}\n{traceback.format_exc()}")
        conn.send_bytes(b"er" + message.encode("utf-8", "replace"))
    finally:
        conn.close()


def run_shards(planner: Planner, env: EnvSpec, shards: Sequence[tuple[str, ...]],
               jobs: int) -> Iterator[tuple[list[Any], dict[str, Any]]]:
    """Plan ``shards`` in forked workers, at most ``jobs`` at a time; yield each result as it
    arrives (unpickled one at a time, so the parent holds one shard's bytes at most)."""
    ctx = multiprocessing.get_context("fork")
    pending = list(shards)
    running: dict[Connection, tuple[tuple[str, ...], Any]] = {}
    try:
        while pending or running:
            while pending and len(running) < jobs:
                teams = pending.pop(0)
                receive, send = ctx.Pipe(duplex=False)
                worker = ctx.Process(target=_child, args=(planner, env, teams, send),
                                     name=f"trellis-plan-{teams[0]}", daemon=True)
                worker.start()
                send.close()
                running[receive] = (teams, worker)
            for conn in wait(list(running)):
                assert isinstance(conn, Connection)
                teams, worker = running.pop(conn)
                try:
                    message = conn.recv_bytes()
                except EOFError:
                    message = b""
                finally:
                    conn.close()
                worker.join()
                if message[:2] == b"ok":
                    yield pickle.loads(message[2:])
                    continue
                if message[:2] == b"er":
                    raise WorkerFailedError(message[2:].decode("utf-8"))
                raise WorkerFailedError(
                    f"the worker planning teams {teams[0]}..{teams[-1]} stopped without a "
                    f"result (exit status {worker.exitcode}; out of memory?); plan with fewer "
                    "teams per process (a higher --jobs) or --jobs 1")
    finally:
        for conn, (_, worker) in running.items():
            worker.kill()
            worker.join()
            conn.close()


# ---------------------------------------------------------------------------------------------
# The merge
# ---------------------------------------------------------------------------------------------

_UNIONED = ("dependencies", "property_dependencies")


def _merge_resource(seen: Any, other: Any) -> Any:
    """One resource registered by two shards: equal but for dependency unions, or refused."""
    if seen == other:
        return seen
    for f in fields(seen):
        if f.name not in _UNIONED and getattr(seen, f.name) != getattr(other, f.name):
            raise ShardMismatchError(f"{seen.urn}: its {f.name} depends on which teams a worker "
                                "plans")
    deps = sorted({*seen.dependencies, *other.dependencies})
    keys = sorted({*seen.property_dependencies, *other.property_dependencies})
    prop_deps = {k: sorted({*seen.property_dependencies.get(k, ()),
                            *other.property_dependencies.get(k, ())}) for k in keys}
    return replace(seen, dependencies=deps, property_dependencies=prop_deps)


def _merge_outputs(into: dict[str, Any], other: dict[str, Any], path: str) -> None:
    for key, value in other.items():
        if key not in into:
            into[key] = value
        elif isinstance(into[key], dict) and isinstance(value, dict):
            _merge_outputs(into[key], value, f"{path}.{key}")
        elif into[key] != value:
            raise ShardMismatchError(f"stack output {path}.{key} differs between workers")


def merge(parts: Iterator[tuple[list[Any], dict[str, Any]]]) -> tuple[list[Any], dict[str, Any]]:
    """Merge the shards' ``(records, stack outputs)``: records sorted by URN, as a plan is."""
    by_urn: dict[str, Any] = {}
    outputs: dict[str, Any] = {}
    for records, shard_outputs in parts:
        for record in records:
            seen = by_urn.get(record.urn)
            by_urn[record.urn] = record if seen is None else _merge_resource(seen, record)
        _merge_outputs(outputs, shard_outputs, "outputs")
    return [by_urn[urn] for urn in sorted(by_urn)], _sorted_keys(outputs)


def _sorted_keys(value: Any) -> Any:
    """Mappings with their keys sorted, as the engine records stack outputs (shards arrive in
    any order)."""
    if isinstance(value, dict):
        return {k: _sorted_keys(value[k]) for k in sorted(value)}
    if isinstance(value, list):
        return [_sorted_keys(v) for v in value]
    return value


def plan_sharded(planner: Planner, env: EnvSpec, shards: Sequence[tuple[str, ...]],
                 jobs: int) -> tuple[list[Any], dict[str, Any]]:
    """Plan ``shards`` of ``env`` with ``planner`` in at most ``jobs`` workers and merge."""
    return merge(run_shards(planner, env, shards, jobs))
