"""The critical path: the longest chain `pulumi up` has to create one resource after another.

Pure cases pin the model of :func:`stacks.report.tree.waits_for` (dependencies, providers, custom
parents; components and providers weigh nothing). Whole-plan cases pin the targets of issue 9
on every bundled org: buckets, registries and identities do not wait for the cluster, GPU pools
do not wait for each other, and the chain documented in docs/performance.md does not grow.
"""

from __future__ import annotations

import itertools
from functools import cache

import pytest

from stacks.org.load import load
from stacks.org.resolve import resolve
from stacks.plan.engine import Plan, PlannedResource, plan
from stacks.report.tree import critical_path, critical_path_line, summary, waits_for
from tests.conftest import ALL_ORGS

STACK = "urn:pulumi:dev::trellis::"


def res(name: str, type_: str = "gcp:storage/bucket:Bucket", *, deps: tuple[str, ...] = (),
        parent: str | None = None, custom: bool = True, provider: str = "") -> PlannedResource:
    return PlannedResource(
        urn=urn(name, type_), type=type_, name=name, parent=parent, inputs={}, outputs={},
        dependencies=list(deps), property_dependencies={}, protect=False,
        retain_on_delete=False, delete_before_replace=False, aliases=[], ignore_changes=[],
        replace_on_changes=[], custom=custom, provider=provider)


def urn(name: str, type_: str = "gcp:storage/bucket:Bucket") -> str:
    return f"{STACK}{type_}::{name}"


def names(resources: list[PlannedResource]) -> list[str]:
    by_urn = {r.urn: r.name for r in resources}
    return [by_urn[u] for u in critical_path(resources)]


def test_follows_dependencies_to_the_longest_chain():
    a, b = res("a"), res("b", deps=(urn("a"),))
    c, d = res("c", deps=(urn("b"),)), res("d", deps=(urn("a"),))
    assert names([a, b, c, d]) == ["a", "b", "c"]


def test_independent_resources_are_a_chain_of_one():
    assert len(critical_path([res("x"), res("y"), res("z")])) == 1
    assert critical_path([]) == []


def test_equal_chains_pick_the_first_urns_so_the_answer_is_stable():
    rs = [res("b1"), res("b2", deps=(urn("b1"),)), res("a1"), res("a2", deps=(urn("a1"),))]
    assert names(rs) == ["a1", "a2"]
    assert names(list(reversed(rs))) == ["a1", "a2"]


def test_components_weigh_nothing_and_their_children_do_not_wait_for_each_other():
    comp = "trellis:gcp:Bucket"
    parent = urn("team", comp)
    kids = [res(f"team-{i}", parent=parent) for i in range(3)]
    rs = [res("team", comp, custom=False), *kids]
    assert len(critical_path(rs)) == 1, "siblings under a component are created in parallel"
    assert all(waits_for(rs)[k.urn] == [] for k in kids)


def test_a_dependency_on_a_component_waits_for_its_children():
    comp = "trellis:gcp:Services"
    parent = urn("services", comp)
    first = res("svc-a", parent=parent)
    second = res("svc-b", parent=parent, deps=(first.urn,))
    user = res("vpc", deps=(parent,))
    rs = [res("services", comp, custom=False), first, second, user]
    assert waits_for(rs)[user.urn] == sorted([first.urn, second.urn])
    assert names(rs) == ["svc-a", "svc-b", "vpc"]


def test_in_cluster_objects_wait_for_the_cluster_through_their_provider():
    cluster = res("gke", "gcp:container/cluster:Cluster")
    provider = res("k8s", "pulumi:providers:kubernetes", deps=(cluster.urn,))
    ns = res("team-ns", "kubernetes:core/v1:Namespace",
             provider=f"{provider.urn}::k8s-provider-id")
    rs = [cluster, provider, ns]
    assert provider.urn in waits_for(rs)[ns.urn]
    assert names(rs) == ["gke", "k8s", "team-ns"]
    line = critical_path_line(Plan("acme", "gcp", "dev", "sandbox", rs))
    assert line == "critical path: 2 cloud resources one after another: gke -> team-ns", \
        "providers are on the chain but weigh nothing"


def test_a_child_of_a_custom_resource_waits_for_it():
    bucket = res("bucket")
    obj = res("object", "gcp:storage/bucketObject:BucketObject", parent=bucket.urn)
    assert waits_for([bucket, obj])[obj.urn] == [bucket.urn]


def test_deep_chains_need_no_recursion():
    rs = [res("r0")] + [res(f"r{i}", deps=(urn(f"r{i - 1}"),)) for i in range(1, 5000)]
    assert len(critical_path(rs)) == 5000


@cache
def planned(org: str, env: str) -> Plan:
    return plan(resolve(load(org), env))


CASES = [(str(org), env) for org in ALL_ORGS for env in load(org).environments]
CLUSTERS = ("gcp:container/cluster:Cluster", "aws:eks/cluster:Cluster")
POOLS = ("gcp:container/nodePool:NodePool", "aws:eks/nodeGroup:NodeGroup")
# Components whose cloud resources must not wait for the cluster (issue 9), and the only
# resources of theirs that need it: a Workload Identity binding names the pool
# <project>.svc.id.goog, which exists once a cluster with Workload Identity does; an EKS Pod
# Identity association belongs to the cluster.
INDEPENDENT = ("Bucket", "TeamRegistry", "RegistrySettings", "TeamIdentity", "Budget",
               "EnvironmentKey", "Network", "Services")
NEEDS_CLUSTER = ("gcp:serviceaccount/iAMMember:IAMMember",
                 "aws:eks/podIdentityAssociation:PodIdentityAssociation",
                 # the team member role's cluster access (issue 18.4)
                 "aws:eks/accessEntry:AccessEntry",
                 "aws:eks/accessPolicyAssociation:AccessPolicyAssociation")
MAX_CHAIN = 7  # docs/performance.md documents the chain of each bundled environment


def ancestors(p: Plan) -> dict[str, set[str]]:
    edges = waits_for(p)
    out: dict[str, set[str]] = {}
    for start in sorted(edges):  # iterative DFS with memo
        stack = [start]
        while stack:
            u = stack[-1]
            todo = [d for d in edges[u] if d not in out]
            if todo:
                stack.extend(todo)
                continue
            stack.pop()
            out[u] = set(edges[u]).union(*(out[d] for d in edges[u]))
    return out


@pytest.mark.parametrize(("org", "env"), CASES)
def test_buckets_registries_and_identities_do_not_wait_for_the_cluster(org, env):
    p = planned(org, env)
    up = ancestors(p)
    clusters = {r.urn for r in p.resources if r.type in CLUSTERS}
    assert clusters, "every environment has a cluster"
    for r in p.resources:
        component = r.urn.split("::")[2].split("$")[0].rsplit(":", 1)[-1]
        if component not in INDEPENDENT or not r.custom or r.type in NEEDS_CLUSTER:
            continue
        assert not up[r.urn] & clusters, \
            f"{r.name} ({r.type}) waits for the cluster; nothing of a {component} needs it"


@pytest.mark.parametrize(("org", "env"), CASES)
def test_gpu_pools_do_not_wait_for_each_other(org, env):
    p = planned(org, env)
    up = ancestors(p)
    pools = {r.urn for r in p.resources if r.type in POOLS}
    assert pools, "every bundled environment has GPU pools"
    for pool in pools:
        waited = up[pool] & (pools - {pool})
        assert not waited, f"{pool} waits for {sorted(waited)}"


def longest_through(p: Plan, types: tuple[str, ...]) -> int:
    """Cloud resources on the longest chain through a resource of one of ``types``."""
    edges = waits_for(p)
    by_urn = p.by_urn()
    weight = {u: int(by_urn[u].custom and not by_urn[u].type.startswith("pulumi:"))
              for u in edges}
    users: dict[str, list[str]] = {u: [] for u in edges}
    for u, deps in edges.items():
        for d in deps:
            users[d].append(u)

    def longest(graph: dict[str, list[str]]) -> dict[str, int]:
        out: dict[str, int] = {}
        for start in sorted(graph):
            stack = [start]
            while stack:
                u = stack[-1]
                todo = [d for d in graph[u] if d not in out]
                if todo:
                    stack.extend(todo)
                    continue
                stack.pop()
                out[u] = weight[u] + max((out[d] for d in graph[u]), default=0)
        return out

    up, down = longest(edges), longest(users)
    return max(up[u] + down[u] - weight[u] for u in edges if by_urn[u].type in types)


@pytest.mark.parametrize(("org", "env"), CASES)
def test_the_critical_path_stays_as_documented(org, env):
    p = planned(org, env)
    by_urn = p.by_urn()
    chain = [by_urn[u] for u in critical_path(p)]
    cloud = [r for r in chain if r.custom and not r.type.startswith("pulumi:")]
    # The cluster is on a longest chain (production's customer-managed keys add a chain of the
    # same length, key ring -> key -> grant -> bucket, which may sort first).
    assert longest_through(p, CLUSTERS) == len(cloud), "the cluster is on the critical path"
    assert len(cloud) <= MAX_CHAIN, (
        f"{org} {env}: the critical path grew to {len(cloud)} resources "
        f"({' -> '.join(r.name for r in cloud)}); find the dependency that is not needed, or "
        "update docs/performance.md and MAX_CHAIN")
    for before, after in itertools.pairwise(chain):
        assert before.urn in waits_for(p)[after.urn], \
            f"{after.name} does not wait for {before.name}"
    assert summary(p)[-1] == critical_path_line(p)
