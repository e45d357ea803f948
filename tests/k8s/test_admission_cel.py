"""Issue 20, isolation 2: the planned team admission policy, evaluated offline with cel-python.

Each case is an admission request a cluster would see (a pod or pod template, its namespace,
the operation), judged by the CEL in the plan, not by a copy of it: team pods following their
pool's scheduling contract are admitted, pods reaching for another team's pool, nodes or images
are refused, and the node agents GKE and EKS run (DaemonSets tolerating every taint with
``operator: Exists``, a kubelet's mirror pod) keep running. The policy's objects are also held
to pulumi_kubernetes' input classes, the Kubernetes API's shape.
"""

from __future__ import annotations

import copy
import json
import re
from typing import Any

import pytest

from components.k8s.isolation import OTHERS_BINDING, POLICY_LABEL, TEAM_BINDING, image_pattern
from stacks.org.load import load
from stacks.org.resolve import resolve
from stacks.plan.engine import plan
from tests.conftest import BUNDLED_GCP, ROOT
from tests.handoff import k8s_shape

from .admission_cel import Admission, pod, workload

AWS = ROOT / "examples" / "aws.yaml"


@pytest.fixture(scope="module", params=["gcp", "aws"])
def cloud(request):
    path = BUNDLED_GCP if request.param == "gcp" else AWS
    spec = resolve(load(path), "dev")
    result = plan(spec)
    return request.param, spec, result, Admission.of(result)


def team_ns(team: str) -> tuple[str, dict[str, str]]:
    """A team namespace as the plan creates it (the labels that matter here)."""
    return team, {"trellis.dev/team": team, "team": team}


def contract(result, team: str, pool: str) -> dict[str, Any]:
    """A GPU pod spec following the pool's scheduling contract from the stack outputs."""
    c = result.outputs["teams"][team]["gpu_pools"][pool]
    image = result.outputs["teams"][team]["container_registry"] + "/trainer:1"
    return {"nodeSelector": dict(c["node_selector"]),
            "tolerations": copy.deepcopy(c["tolerations"]),
            "containers": [{"name": "train", "image": image,
                            "resources": {"limits": {"nvidia.com/gpu": 1}}}]}


def two_teams(spec) -> tuple[str, str]:
    mine, other = [t for t in spec.teams.values() if t.pools][:2]
    return mine.name, other.name


# --- team pods --------------------------------------------------------------------------------

def test_a_team_pod_following_its_own_contract_is_admitted(cloud):
    _, spec, result, adm = cloud
    for team in spec.teams.values():
        for pool in team.pools:
            ns, labels = team_ns(team.name)
            body = contract(result, team.name, pool)
            for obj in (pod(body), workload("Job", body), workload("Deployment", body),
                        workload("CronJob", body), workload("StatefulSet", body)):
                assert adm.refusals(obj, ns, labels) == [], (
                    f"{team.name}/{pool}: a {obj['kind']} following the pool's contract is "
                    "refused by the team admission policy")


def test_another_teams_contract_is_refused_in_every_kind(cloud):
    _, spec, result, adm = cloud
    mine, other = two_teams(spec)
    pool = sorted(spec.teams[other].pools)[0]
    body = contract(result, other, pool)
    ns, labels = team_ns(mine)
    for obj in (pod(body), workload("Job", body), workload("Deployment", body),
                workload("CronJob", body), workload("ReplicaSet", body),
                workload("DaemonSet", body)):
        refusals = " | ".join(adm.refusals(obj, ns, labels))
        for why in ("tolerates another team's GPU nodes", "selects another team's nodes",
                    "another team's registry"):
            assert why in refusals, (
                f"a {obj['kind']} in {mine}'s namespace with {other}'s pool {pool} contract "
                f"and image: the policy should refuse it ({why}); it said: {refusals or 'ok'}")


@pytest.mark.parametrize(("toleration", "refused"), [
    ({"key": "trellis.dev/team", "operator": "Exists", "effect": "NoSchedule"}, True),
    ({"key": "trellis.dev/team", "operator": "Exists"}, True),
    ({"operator": "Exists"}, True),  # tolerates every taint
    ({"operator": "Exists", "effect": "NoSchedule"}, True),
    ({"key": "trellis.dev/team", "value": "OTHER", "effect": "NoSchedule"}, True),  # Equal
    ({"key": "trellis.dev/team", "operator": "Equal", "value": "MINE"}, False),
    ({"operator": "Exists", "effect": "NoExecute"}, False),  # not the NoSchedule team taint
    ({"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}, False),
    ({"key": "CriticalAddonsOnly", "operator": "Exists"}, False),
])
def test_tolerations_in_a_team_namespace(cloud, toleration, refused):
    _, spec, result, adm = cloud
    mine, other = two_teams(spec)
    body = contract(result, mine, sorted(spec.teams[mine].pools)[0])
    tol = {k: {"MINE": mine, "OTHER": other}.get(v, v) for k, v in toleration.items()}
    body["tolerations"].append(tol)
    got = adm.refusals(pod(body), *team_ns(mine))
    assert bool(got) is refused, (
        f"toleration {tol} in {mine}'s namespace should be "
        f"{'refused' if refused else 'admitted'}; the policy said {got or 'ok'}")


@pytest.mark.parametrize(("expression", "where", "refused"), [
    ({"key": "trellis.dev/team", "operator": "In", "values": ["MINE"]}, "required", False),
    ({"key": "trellis.dev/team", "operator": "In", "values": ["OTHER"]}, "required", True),
    ({"key": "trellis.dev/team", "operator": "In", "values": ["MINE", "OTHER"]}, "required",
     True),
    ({"key": "trellis.dev/team", "operator": "In", "values": ["OTHER"]}, "preferred", True),
    ({"key": "trellis.dev/team", "operator": "NotIn", "values": ["MINE"]}, "required", True),
    ({"key": "trellis.dev/team", "operator": "Exists"}, "required", True),
    ({"key": "trellis.dev/team", "operator": "DoesNotExist"}, "required", False),
    ({"key": "trellis.dev/pool", "operator": "In", "values": ["general"]}, "required", False),
    ({"key": "trellis.dev/pool", "operator": "In", "values": ["MYPOOL"]}, "preferred", False),
    ({"key": "trellis.dev/pool", "operator": "In", "values": ["OTHERPOOL"]}, "required", True),
    ({"key": "trellis.dev/pool", "operator": "In", "values": ["system"]}, "required", True),
])
def test_node_affinity_in_a_team_namespace(cloud, expression, where, refused):
    _, spec, _, adm = cloud
    mine, other = two_teams(spec)
    mine_pools, other_pools = set(spec.teams[mine].pools), set(spec.teams[other].pools)
    names = {"MINE": mine, "OTHER": other, "MYPOOL": sorted(mine_pools)[0],
             "OTHERPOOL": sorted(other_pools - mine_pools)[0]}
    expr = {**expression, "values": [names.get(v, v) for v in expression.get("values", [])]}
    if "values" not in expression:
        expr.pop("values")
    term = {"matchExpressions": [expr]}
    affinity = ({"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [term]}}
                if where == "required" else
                {"preferredDuringSchedulingIgnoredDuringExecution": [
                    {"weight": 1, "preference": term}]})
    body = {"containers": [{"name": "c", "image": "python:3.11"}],
            "affinity": {"nodeAffinity": affinity}}
    got = adm.refusals(pod(body), *team_ns(mine))
    assert bool(got) is refused, (f"{where} node affinity {expr} in {mine}'s namespace should "
                                  f"be {'refused' if refused else 'admitted'}: {got or 'ok'}")


def test_selecting_another_teams_pool_by_name_is_refused(cloud):
    _, spec, _, adm = cloud
    mine, other = two_teams(spec)
    foreign = sorted(set(spec.teams[other].pools) - set(spec.teams[mine].pools))[0]
    body = {"containers": [{"name": "c", "image": "python:3.11"}],
            "nodeSelector": {"trellis.dev/pool": foreign}}
    got = " ".join(adm.refusals(pod(body), *team_ns(mine)))
    assert "not one of the team's GPU pools" in got, \
        f"{mine} selecting {other}'s pool {foreign} by name: {got or 'admitted'}"
    body["nodeSelector"] = {"trellis.dev/pool": "general"}
    assert adm.refusals(pod(body), *team_ns(mine)) == [], "the shared CPU pool is everyone's"


def test_node_name_is_refused_on_create_but_a_bound_pod_can_be_updated(cloud):
    _, spec, result, adm = cloud
    mine, _ = two_teams(spec)
    body = {**contract(result, mine, sorted(spec.teams[mine].pools)[0]),
            "nodeName": "gke-other-team-gpu-node"}
    assert adm.refusals(pod(body), *team_ns(mine)), \
        "spec.nodeName skips the scheduler and the team taint: refused on create"
    assert adm.refusals(pod(body), *team_ns(mine), operation="UPDATE", old=pod(body)) == [], \
        "a scheduled pod has spec.nodeName: updating its labels must stay possible"
    unnamed = {k: v for k, v in body.items() if k != "nodeName"}
    assert adm.refusals(workload("Deployment", body), *team_ns(mine), operation="UPDATE",
                        old=workload("Deployment", unnamed)), \
        "a template that starts naming a node is refused"


def test_adding_a_foreign_toleration_to_a_pending_pod_is_refused(cloud):
    _, spec, result, adm = cloud
    mine, other = two_teams(spec)
    before = contract(result, mine, sorted(spec.teams[mine].pools)[0])
    body = copy.deepcopy(before)
    body["tolerations"].append({"key": "trellis.dev/team", "operator": "Equal",
                                "value": other, "effect": "NoSchedule"})
    got = adm.refusals(pod(body), *team_ns(mine), operation="UPDATE", old=pod(before))
    assert any("tolerates another team's GPU nodes" in m for m in got), \
        f"tolerations may be added to a pending pod: the update must be judged too: {got}"


def test_pods_of_a_removed_pool_can_still_lose_their_finalizers(cloud):
    """After a pool or team is removed, the Job controller's update that only removes its
    finalizer from a running pod (which the new policy would refuse on CREATE) is admitted;
    otherwise the pod stays Terminating forever."""
    _, spec, result, adm = cloud
    mine, _ = two_teams(spec)
    body = contract(result, mine, sorted(spec.teams[mine].pools)[0])
    owner = [{"apiVersion": "batch/v1", "kind": "Job", "name": "j", "uid": "1"}]
    running = pod({**body, "nodeName": "gpu-node-1"}, ownerReferences=owner,
                  finalizers=["batch.kubernetes.io/job-tracking"])
    done = pod({**body, "nodeName": "gpu-node-1"}, ownerReferences=owner, finalizers=[])
    # The policy after the pool was removed and its registry went to another team.
    narrowed = copy.deepcopy(adm.spec)
    for var in narrowed["variables"]:
        if var["name"] == "pools":
            var["expression"] = json.dumps({})
        if var["name"] == "registries":
            var["expression"] = json.dumps({mine: [], "someone": [image_pattern(
                result.outputs["teams"][mine]["container_registry"] + "/")]})
    gone = Admission(narrowed, adm.bindings)
    assert gone.refusals(done, *team_ns(mine)), \
        "precondition: the pod would now be refused on CREATE (its pool and image are gone)"
    assert gone.refusals(done, *team_ns(mine), operation="UPDATE", old=running) == [], \
        "removing a finalizer changes no toleration, selector, node or image: admitted"
    job_before = workload("Job", body)
    job_after = copy.deepcopy(job_before)
    job_after["metadata"]["finalizers"] = []
    assert gone.refusals(job_after, *team_ns(mine), operation="UPDATE", old=job_before) == [], \
        "the garbage collector's finalizer update on the Job is admitted too"
    changed = copy.deepcopy(done)
    changed["spec"]["containers"][0]["image"] = result.outputs["teams"][mine][
        "container_registry"] + "/trainer:2"
    assert any("another team's registry" in m for m in gone.refusals(
        changed, *team_ns(mine), operation="UPDATE", old=running)), \
        "a changed image is judged as on CREATE"


def test_an_update_adding_a_toleration_outside_team_namespaces_is_refused(cloud):
    _, spec, _, adm = cloud
    mine, _ = two_teams(spec)
    before = {"containers": [{"name": "web", "image": "nginx:1"}]}
    body = {**before, "tolerations": [{"key": "trellis.dev/team", "operator": "Equal",
                                       "value": mine, "effect": "NoSchedule"}]}
    got = adm.refusals(pod(body), "web", {}, operation="UPDATE", old=pod(before))
    assert any("outside a team namespace" in m for m in got), got
    assert adm.refusals(pod(body), "web", {}, operation="UPDATE", old=pod(body)) == [], \
        "an update that keeps the tolerations it had is not judged again"


@pytest.mark.parametrize("field", ["containers", "initContainers", "ephemeralContainers"])
def test_another_teams_image_is_refused_in_every_container_list(cloud, field):
    _, spec, result, adm = cloud
    mine, other = two_teams(spec)
    theirs = result.outputs["teams"][other]["container_registry"] + "/model-server:2"
    body: dict[str, Any] = {"containers": [{"name": "main", "image": "python:3.11"}]}
    body.setdefault(field, []).append({"name": "x", "image": theirs})
    got = adm.refusals(pod(body), *team_ns(mine))
    assert any("another team's registry" in m for m in got), \
        f"{mine} running {other}'s image {theirs} in {field}: {got or 'admitted'}"
    assert adm.refusals(pod(body), *team_ns(other)) == [], \
        f"{other} runs its own image {theirs}"


def test_image_references_that_reach_the_same_repository_are_refused(cloud):
    name, spec, result, adm = cloud
    mine, other = two_teams(spec)
    registry = str(result.outputs["teams"][other]["container_registry"])
    host, path = registry.split("/", 1)
    variants = [f"{host.upper()}/{path}/x:1", f"{host}:443/{path}/x@sha256:{'a' * 64}"]
    if name == "aws":
        account, _, _, region, *_ = host.split(".")
        variants += [f"{account}.dkr-ecr.{region}.on.aws/{path}/x:1",
                     f"{account}.dkr.ecr-fips.{region}.amazonaws.com/{path}/x:1"]
    for image in variants:
        body = {"containers": [{"name": "c", "image": image}]}
        assert adm.refusals(pod(body), *team_ns(mine)), \
            f"{mine} pulling {other}'s image as {image} must be refused"
    near = f"{host}/{path}-copy/x:1"  # a prefix of the name, not the repository
    assert adm.refusals(pod({"containers": [{"name": "c", "image": near}]}),
                        *team_ns(mine)) == [], f"{near} is not {other}'s repository"


# --- outside team namespaces ------------------------------------------------------------------

EVERYTHING = [{"operator": "Exists"}]
NO_SCHEDULE_NO_EXECUTE = [{"operator": "Exists", "effect": "NoExecute"},
                          {"operator": "Exists", "effect": "NoSchedule"}]
#: The node agents GKE and EKS run on every node, GPU nodes included, as their DaemonSets
#: specify them (tolerations and GPU requests are what the policy reads): GKE's NVIDIA device
#: plugin, Fluent Bit, metadata server, Dataplane V2 (anetd), DCGM exporter and Managed
#: Prometheus collector; EKS's VPC CNI (aws-node), kube-proxy, Pod Identity agent, CloudWatch
#: agent and GuardDuty agent.
AGENTS = {
    "gcp": [("kube-system", "nvidia-gpu-device-plugin", NO_SCHEDULE_NO_EXECUTE),
            ("kube-system", "fluentbit-gke", NO_SCHEDULE_NO_EXECUTE),
            ("kube-system", "gke-metadata-server", EVERYTHING),
            ("kube-system", "anetd", EVERYTHING),
            ("gke-managed-system", "dcgm-exporter", EVERYTHING),
            ("gmp-system", "collector", NO_SCHEDULE_NO_EXECUTE)],
    "aws": [("kube-system", "aws-node", EVERYTHING), ("kube-system", "kube-proxy", EVERYTHING),
            ("kube-system", "eks-pod-identity-agent", EVERYTHING),
            ("amazon-cloudwatch", "cloudwatch-agent", EVERYTHING),
            ("amazon-guardduty", "aws-guardduty-agent", EVERYTHING)],
}


def agent_pod(name: str, tolerations: list[dict[str, Any]]) -> dict[str, Any]:
    spec = {"containers": [{"name": name, "image": f"registry.example/{name}:1"}],
            "tolerations": copy.deepcopy(tolerations), "priorityClassName":
            "system-node-critical"}
    return pod(spec, ownerReferences=[{"apiVersion": "apps/v1", "kind": "DaemonSet",
                                       "name": name, "controller": True, "uid": "u"}])


def test_the_clouds_node_agents_keep_running(cloud):
    name, _, _, adm = cloud
    for namespace, agent, tolerations in AGENTS[name]:
        obj = agent_pod(agent, tolerations)
        assert not adm.covers(namespace, {}), \
            f"{namespace} is the cloud's own: no binding of the team policy may cover it"
        # The same agent installed by the platform team in a namespace of its own, as a
        # DaemonSet and as the DaemonSet's pods, is admitted by the CEL itself.
        ds = workload("DaemonSet", obj["spec"])
        for candidate in (obj, ds):
            assert adm.covers("monitoring", {})
            assert adm.refusals(candidate, "monitoring", {}) == [], (
                f"{agent} ({candidate['kind']}, tolerations {tolerations}) is a node agent: "
                "the team policy must admit it")


def test_a_kubelets_mirror_pod_is_admitted(cloud):
    _, _, _, adm = cloud
    mirror = pod({"containers": [{"name": "kube-proxy", "image": "registry.example/kp:1"}],
                  "tolerations": EVERYTHING, "hostNetwork": True},
                 annotations={"kubernetes.io/config.mirror": "abc"},
                 ownerReferences=[{"apiVersion": "v1", "kind": "Node", "name": "n",
                                   "uid": "u"}])
    assert adm.refusals(mirror, "monitoring", {}) == []


def test_outside_team_namespaces_only_node_agents_tolerate_team_nodes(cloud):
    _, spec, result, adm = cloud
    mine, _ = two_teams(spec)
    blanket = {"containers": [{"name": "c", "image": "python:3.11"}], "tolerations": EVERYTHING}
    for obj in (pod(blanket), workload("Deployment", blanket), workload("Job", blanket)):
        assert adm.refusals(obj, "default", {}), \
            f"a {obj['kind']} in default tolerating every taint would run on team GPUs"
    gpu_agent = agent_pod("greedy", EVERYTHING)
    gpu_agent["spec"]["containers"][0]["resources"] = {"requests": {"nvidia.com/gpu": 1}}
    assert adm.refusals(gpu_agent, "default", {}), \
        "a DaemonSet requesting GPUs outside team namespaces would take one on every team node"
    body = contract(result, mine, sorted(spec.teams[mine].pools)[0])
    assert adm.refusals(pod(body), "default", {}), \
        f"{mine}'s contract in the default namespace: outside the team's quota and budget"
    plain = {"containers": [{"name": "c", "image": "python:3.11"}]}
    assert adm.refusals(pod(plain), "default", {}) == []


# --- the objects themselves -------------------------------------------------------------------

def test_bindings_cover_team_namespaces_and_spare_the_system_ones(cloud):
    _, spec, _, adm = cloud
    names = {b["matchResources"]["namespaceSelector"]["matchExpressions"][0]["key"]
             for b in adm.bindings}
    assert len(adm.bindings) == 2 and names == {"trellis.dev/team"}
    for team in spec.teams.values():
        assert adm.covers(*team_ns(team.name)), f"{team.name}'s namespace is not covered"
    assert adm.covers("kube-system", {"trellis.dev/team": "kube-system"}), \
        "a team namespace is covered whatever its name"
    for system in ("kube-system", "kube-public", "kube-node-lease"):
        assert not adm.covers(system, {})


def test_policy_pools_are_the_teams_pools(cloud):
    _, spec, _, adm = cloud
    variables = {v["name"]: v["expression"] for v in adm.spec["variables"]}
    assert json.loads(variables["pools"]) == {t.name: sorted(t.pools)
                                              for t in spec.teams.values()}
    assert adm.spec["failurePolicy"] == "Fail"


def test_objects_have_the_kubernetes_api_shape(cloud):
    _, _, result, _ = cloud
    checked = 0
    for r in result.resources:
        key = (r.inputs.get("apiVersion"), r.inputs.get("kind"))
        if key in k8s_shape.KINDS and key[1] in ("ValidatingAdmissionPolicy",
                                                 "ValidatingAdmissionPolicyBinding",
                                                 "NetworkPolicy", "Namespace"):
            checked += 1
            assert k8s_shape.problems(dict(r.inputs)) == [], (r.name, k8s_shape.problems(
                dict(r.inputs)))
    assert checked >= 4


def test_policy_objects_are_labelled_for_the_pack(cloud):
    _, _, result, _ = cloud
    for r in result.resources:
        if "admissionregistration" in r.type:
            assert r.inputs["metadata"]["labels"][POLICY_LABEL] == "team-isolation", r.name
    names = {r.inputs["metadata"]["name"] for r in result.resources
             if r.type.endswith("ValidatingAdmissionPolicyBinding")}
    assert names == {TEAM_BINDING, OTHERS_BINDING}


@pytest.mark.parametrize(("prefix", "image", "matches"), [
    ("europe-west4-docker.pkg.dev/p/r/", "europe-west4-docker.pkg.dev/p/r/img:1", True),
    ("europe-west4-docker.pkg.dev/p/r/", "europe-west4-docker.pkg.dev/p/r2/img:1", False),
    ("europe-west4-docker.pkg.dev/p/r/", "evil.example/europe-west4-docker.pkg.dev/p/r/i", False),
    ("123456789012.dkr.ecr.eu-west-1.amazonaws.com/dev/t/",
     "123456789012.dkr-ecr-fips.eu-west-1.on.aws/dev/t/img", True),
    ("123456789012.dkr.ecr.eu-west-1.amazonaws.com/dev/t/",
     "123456789012.dkr.ecr.eu-west-2.amazonaws.com/dev/t/img", False),
])
def test_image_pattern(prefix, image, matches):
    assert bool(re.search(image_pattern(prefix), image)) is matches


def test_warm_capacity_placeholders_are_admitted_and_meet_restricted():
    spec = resolve(load(BUNDLED_GCP), "prod")
    result = plan(spec)
    adm = Admission.of(result)
    [warm] = [r for r in result.of_type("kubernetes:apps/v1:Deployment")
              if r.name == "recsys-serve-warm"]
    obj = dict(warm.inputs)
    assert adm.refusals(obj, *team_ns("recsys")) == [], "recsys-serve-warm must be admitted"
    template = obj["spec"]["template"]["spec"]
    container = template["containers"][0]["securityContext"]
    # The restricted Pod Security Standard the team namespaces warn about:
    # https://kubernetes.io/docs/concepts/security/pod-security-standards/#restricted
    assert template["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault"
    assert container["runAsNonRoot"] is True and container["allowPrivilegeEscalation"] is False
    assert container["capabilities"]["drop"] == ["ALL"], \
        "recsys-serve-warm: placeholders must not warn in their namespace"
