"""GPU node pool rules, which no general-purpose scanner has: what a GPU pool must declare.

A GPU pool is a GKE node pool with guest accelerators or an accelerator-optimised machine type
(``a3-highgpu-8g`` carries its GPUs implicitly), or an EKS node group whose instance types or
AMI type are GPU ones. Accelerators are named in the cloud-neutral words of the Trellis
catalogue (``components.catalog``) so one allowlist serves both clouds.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from policies import iamdoc, tiers
from policies.joins import Index, sa_index
from policies.registry import each, resource_rule, stack_rule
from policies.settings import Settings
from policies.view import UNKNOWN, Res, Stack, as_list, at, fmt_num, labels_of, number

try:
    from components import catalog as _catalog
except ImportError:  # pragma: no cover - the pack copied out of the repository
    _catalog = None  # type: ignore[assignment]

NODE_POOL = "gcp:container/nodePool:NodePool"
NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
SERVICE_ACCOUNT = "gcp:serviceaccount/account:Account"
GPU_TAINT_KEY = "nvidia.com/gpu"
NVIDIA_AMI_TYPES = ("AL2_x86_64_GPU", "AL2023_x86_64_NVIDIA", "AL2023_ARM_64_NVIDIA",
                    "BOTTLEROCKET_x86_64_NVIDIA", "BOTTLEROCKET_ARM_64_NVIDIA")
# EC2 families with NVIDIA GPUs, for instance types the catalogue does not list.
_AWS_GPU_FAMILY = re.compile(r"^(p\d[a-z]*|g\d[a-z]*)\.", re.IGNORECASE)
_GCP_GPU_MACHINE = re.compile(r"^(a2|a3|a4|g2|g4)-", re.IGNORECASE)
_REGION = re.compile(r"^[a-z]+-[a-z]+\d+$")


@dataclass(frozen=True)
class Accel:
    """One accelerator configuration of a pool."""

    name: str | None  # cloud-neutral catalogue name; None when the catalogue does not know it
    raw: str  # what the resource says (guest accelerator type or instance type)
    gpus_per_node: float | None


def _gcp_neutral(accel_type: str) -> str | None:
    if _catalog is None:
        return None
    for shape in _catalog.all_shapes("gcp"):
        if shape.gcp_accelerator_type == accel_type:
            return shape.accelerator
    return None


def _shape(cloud: str, machine_type: str) -> object | None:
    return _catalog.find_machine_type(cloud, machine_type) if _catalog is not None else None


def instance_types(group: Res, template: Res | None = None) -> list[str]:
    """An EKS node group's instance types: its ``instanceTypes``, or else its launch
    template's ``instanceType`` (where a Capacity Block group must have it: EKS UG
    "Create a managed node group with Capacity Blocks for ML"). Unknowns raise."""
    types = [str(t) for t in as_list(group.get_known("instanceTypes"))]
    if not types and template is not None:
        typed = template.get_known("instanceType")
        if isinstance(typed, str) and typed:
            types = [typed]
    return types


def gpu_accels(res: Res, template: Res | None = None) -> list[Accel]:
    """The pool's accelerators; empty when it is not a GPU pool. Unknowns raise.

    ``template``: an EKS node group's launch template, when the caller can see the stack."""
    if res.type == NODE_POOL:
        out = []
        for ga in as_list(res.get_known("nodeConfig", "guestAccelerators")):
            raw = str(at(ga, "type") or "")
            out.append(Accel(_gcp_neutral(raw), raw, number(at(ga, "count"))))
        if out:
            return out
        machine = str(res.get("nodeConfig", "machineType") or "")
        shape = _shape("gcp", machine)
        if shape is not None:
            return [Accel(shape.accelerator, machine, float(shape.gpus_per_node))]  # type: ignore[attr-defined]
        if _GCP_GPU_MACHINE.match(machine):
            return [Accel(None, machine, None)]
        return []
    if res.type == NODE_GROUP:
        out = []
        for it in instance_types(res, template):
            shape = _shape("aws", it)
            if shape is not None:
                out.append(Accel(shape.accelerator, it,  # type: ignore[attr-defined]
                                 float(shape.gpus_per_node)))  # type: ignore[attr-defined]
            elif _AWS_GPU_FAMILY.match(it):
                out.append(Accel(None, it, None))
        ami = str(res.get("amiType") or "")
        if not out and (ami in NVIDIA_AMI_TYPES or "GPU" in ami or "NVIDIA" in ami):
            out.append(Accel(None, ami, None))
        return out
    return []


def template_finder(stack: Stack) -> Callable[[Res], Res | None]:
    """The launch template (in ``stack``) of a node group; None for anything else."""
    index = _lt_index(stack)

    def find(res: Res) -> Res | None:
        return _launch_template(res, index)[1] if res.type == NODE_GROUP else None
    return find


def gpu_pools(stack: Stack) -> list[Res]:
    """GPU pools of the stack; a pool whose GPU-ness is unknown is included (fail closed)."""
    out = []
    for r in stack.of_type(NODE_POOL, NODE_GROUP):
        try:
            if gpu_accels(r):
                out.append(r)
        except Exception:  # noqa: BLE001 - the rule's own pass re-raises it per pool
            out.append(r)
    return out


def _max_nodes(res: Res) -> tuple[float | None, str]:
    """Upper bound of the pool's node count and how it was derived."""
    if res.type == NODE_GROUP:
        return number(res.get("scalingConfig", "maxSize")), "scalingConfig.maxSize"
    auto = res.get("autoscaling")
    if not isinstance(auto, dict):
        return None, "no autoscaling"
    total = number(at(auto, "totalMaxNodeCount"))
    if total is not None:
        return total, "autoscaling.totalMaxNodeCount"
    per_zone = number(at(auto, "maxNodeCount"))
    if per_zone is None:
        return None, "autoscaling without a maximum"
    zones = as_list(res.get_known("nodeLocations"))
    if zones:
        return per_zone * len(zones), f"maxNodeCount x {len(zones)} zones"
    location = str(res.get("location") or "")
    if _REGION.match(location):
        # A regional pool without nodeLocations spans the region's (usually 3) zones.
        return per_zone * 3, "maxNodeCount x 3 zones (regional pool)"
    return per_zone, "maxNodeCount"


# TRL-GPU-001 and -002 are stack rules: a Capacity Block node group's instance type is on its
# launch template, another resource (template_finder).
@stack_rule(
    id="TRL-GPU-001", title="GPU accelerator allowed",
    description="GPU pools use an allowed accelerator in a GPU count the catalogue offers.",
    severity="high", enforcement="mandatory",
    remediation="Pick an accelerator from the pack's `allowedAccelerators` (org.yaml "
                "`gpu_pools.<name>.accelerator`) and a `gpus_per_node` the catalogue lists.",
    types=[NODE_POOL, NODE_GROUP, LAUNCH_TEMPLATE], config=["allowedAccelerators"])
def gpu_allowed(stack: Stack, settings: Settings) -> Iterator[tuple[str, str]]:
    find = template_finder(stack)
    yield from each(stack.of_type(NODE_POOL, NODE_GROUP),
                    lambda res: _accelerator_allowed(res, find(res), settings))


def _accelerator_allowed(res: Res, template: Res | None, settings: Settings) -> Iterator[str]:
    cloud = "gcp" if res.type == NODE_POOL else "aws"
    for acc in gpu_accels(res, template):
        if acc.name is None:
            yield f"{acc.raw} is not an accelerator the Trellis catalogue knows"
            continue
        if acc.name not in settings.allowed_accelerators:
            yield (f"accelerator {acc.name} ({acc.raw}) is not allowed; allowed: "
                   f"{', '.join(settings.allowed_accelerators) or 'none'}")
        if _catalog is not None and acc.gpus_per_node is not None:
            counts = _catalog.gpu_counts(cloud, acc.name)
            if counts and int(acc.gpus_per_node) not in counts:
                yield (f"{fmt_num(acc.gpus_per_node)} x {acc.name} per node is not offered on "
                       f"{cloud}; counts: {', '.join(map(str, counts))}")


@stack_rule(
    id="TRL-GPU-002", title="GPU pool bounded autoscaling",
    description="GPU pools autoscale with a maximum that keeps the pool within the GPU budget.",
    severity="high", enforcement="mandatory",
    remediation="GKE: set `autoscaling={\"total_max_node_count\": N}`; EKS: set "
                "`scaling_config.max_size`; keep GPUs per node x max nodes within the pack's "
                "`maxGpusPerPool`.",
    types=[NODE_POOL, NODE_GROUP, LAUNCH_TEMPLATE], config=["maxGpusPerPool"])
def gpu_autoscaling(stack: Stack, settings: Settings) -> Iterator[tuple[str, str]]:
    find = template_finder(stack)
    yield from each(stack.of_type(NODE_POOL, NODE_GROUP),
                    lambda res: _bounded(res, find(res), settings))


def _bounded(res: Res, template: Res | None, settings: Settings) -> Iterator[str]:
    accels = gpu_accels(res, template)
    if not accels:
        return
    max_nodes, how = _max_nodes(res)
    if max_nodes is None:
        yield f"the pool has {how}: its size, and its GPU bill, have no upper bound"
        return
    per_node = max((a.gpus_per_node or 1.0) for a in accels)
    total = per_node * max_nodes
    if total > settings.max_gpus_per_pool:
        yield (f"at its maximum the pool has {fmt_num(total)} GPUs ({fmt_num(per_node)} per node, "
               f"{how} = {fmt_num(max_nodes)}); the limit is {fmt_num(settings.max_gpus_per_pool)}")


@resource_rule(
    id="TRL-GPU-003", title="GPU pool scales to zero",
    description="Outside production, GPU pools scale down to zero nodes.",
    # Advisory: a warm GPU node in a sandbox costs money but exposes nothing; teams may keep
    # one on purpose (org.yaml allows min_nodes > 0), and the budget guardrail bounds the cost.
    severity="medium", enforcement="advisory",
    remediation="Set the minimum to 0 (org.yaml `min_nodes: 0`; GKE "
                "`autoscaling.total_min_node_count=0`, EKS `scaling_config.min_size=0`).",
    types=[NODE_POOL, NODE_GROUP], config=["tier"])
def gpu_scale_to_zero(res: Res, settings: Settings) -> Iterator[str]:
    if tiers.of_resource(res, settings).production or not gpu_accels(res):
        return
    if res.type == NODE_GROUP:
        minimum = number(res.get("scalingConfig", "minSize"))
        if minimum:
            yield f"scalingConfig.minSize is {fmt_num(minimum)}: idle GPUs are billed all day"
        return
    fixed = number(res.get("nodeCount"))
    if fixed:
        yield f"nodeCount pins {fmt_num(fixed)} nodes: idle GPUs are billed all day"
        return
    if not isinstance(res.get("autoscaling"), dict):
        if fixed is None and number(res.get("initialNodeCount")) != 0:
            yield "no autoscaling: the pool keeps its initial nodes (and their GPUs) forever"
        return
    for key in ("minNodeCount", "totalMinNodeCount"):
        minimum = number(res.get("autoscaling", key))
        if minimum:
            yield f"autoscaling.{key} is {fmt_num(minimum)}: idle GPUs are billed all day"


@resource_rule(
    id="TRL-GPU-004", title="GPU taint declared",
    description="GPU pools carry the nvidia.com/gpu NoSchedule taint so only GPU workloads land "
                "on them.",
    severity="high", enforcement="mandatory",
    remediation="Add the taint `nvidia.com/gpu=present:NoSchedule` (GKE "
                "`node_config.taints`, EKS `taints`, effect NO_SCHEDULE) and give GPU pods the "
                "matching toleration.",
    types=[NODE_POOL, NODE_GROUP])
def gpu_taint(res: Res, settings: Settings) -> Iterator[str]:
    if not gpu_accels(res):
        return
    path = ("nodeConfig", "taints") if res.type == NODE_POOL else ("taints",)
    taints = as_list(res.get_known(*path))
    if not any(at(t, "key") == GPU_TAINT_KEY and at(t, "effect") == "NO_SCHEDULE"
               for t in taints):
        yield (f"no {GPU_TAINT_KEY} taint with effect NO_SCHEDULE: CPU pods will be scheduled "
               "on (and keep alive) GPU nodes")


def _lt_index(stack: Stack) -> Index:
    return Index(stack.of_type(LAUNCH_TEMPLATE), lambda t: [v for v in (
        t.peek("id"), t.peek("name"), t.peek("arn")) if isinstance(v, str)])


def _launch_template(group: Res, index: Index) -> tuple[bool, Res | None]:
    """(node group names a launch template, the template if it is in the stack)."""
    ref = group.get("launchTemplate")
    if not isinstance(ref, dict):
        return False, None
    for key in ("id", "name"):
        value = ref.get(key)
        if value is UNKNOWN or isinstance(value, str):
            hit = index.resolve(group, "launchTemplate", value)
            if hit is not None:
                return True, hit
    return True, None


@stack_rule(
    id="TRL-GPU-005", title="GPU driver or AMI explicit",
    description="GPU pools state how the NVIDIA driver gets there: a GKE driver version or an "
                "NVIDIA EKS AMI.",
    severity="medium", enforcement="mandatory",
    remediation="GKE: set `guest_accelerators[].gpu_driver_installation_config."
                "gpu_driver_version` (DEFAULT or LATEST); EKS: `ami_type` "
                "AL2023_x86_64_NVIDIA / BOTTLEROCKET_x86_64_NVIDIA, or a launch template with an "
                "explicit GPU `image_id`.",
    types=[NODE_POOL, NODE_GROUP, LAUNCH_TEMPLATE])
def gpu_driver(stack: Stack, settings: Settings) -> Iterator[tuple[str, str]]:
    index = _lt_index(stack)

    def check(pool: Res) -> Iterator[str]:
        accels = gpu_accels(pool)
        if not accels:
            return
        if pool.type == NODE_POOL:
            guests = as_list(pool.get_known("nodeConfig", "guestAccelerators"))
            if not guests:
                yield ("no guestAccelerators entry, so no gpuDriverInstallationConfig: the "
                       "driver install is left to chance")
            for ga in guests:
                if not at(ga, "gpuDriverInstallationConfig", "gpuDriverVersion"):
                    yield (f"guest accelerator {at(ga, 'type')} has no gpuDriverInstallationConfig"
                           ".gpuDriverVersion")
            return
        ami = str(pool.get("amiType") or "")
        if ami in NVIDIA_AMI_TYPES:
            return
        named, template = _launch_template(pool, index)
        if template is not None and template.get("imageId"):
            return
        if named and template is None:
            yield "the launch template is not in this stack, so its image cannot be checked"
            return
        yield f"amiType {ami or 'not set'} is not an NVIDIA AMI and no launch template sets imageId"
    yield from each(gpu_pools(stack), check)


@stack_rule(
    id="TRL-GPU-006", title="GPU node identity dedicated",
    description="GKE GPU pools run as a dedicated service account, not the Compute Engine "
                "default one.",
    severity="high", enforcement="mandatory",
    remediation="Create a service account for the pool's nodes with only logging, monitoring "
                "and registry read roles, and set `node_config.service_account` to it.",
    types=[NODE_POOL, SERVICE_ACCOUNT], checkov=["CKV2_GCP_1"], trivy=["AVD-GCP-0050"])
def gpu_node_identity(stack: Stack, settings: Settings) -> Iterator[tuple[str, str]]:
    accounts = sa_index(stack)

    def check(pool: Res) -> Iterator[str]:
        if pool.type != NODE_POOL or not gpu_accels(pool):
            return
        email = pool.peek("nodeConfig", "serviceAccount")
        if email is UNKNOWN:
            if accounts.resolve(pool, "nodeConfig", UNKNOWN) is not None:
                return  # computed from a service account created in this stack
            pool.get("nodeConfig", "serviceAccount")  # unknown and unexplained: fail closed
        if not email:
            yield "no serviceAccount: the nodes run as the Compute Engine default account"
        elif iamdoc.is_default_service_account(str(email)):
            yield f"serviceAccount {email} is a default account shared by the whole project"
    yield from each(gpu_pools(stack), check)


@resource_rule(
    id="TRL-GPU-007", title="No SSH to GPU nodes",
    description="GPU nodes accept no SSH keys.",
    severity="high", enforcement="mandatory",
    remediation="EKS: remove `remote_access`; GKE: remove `ssh-keys` from node metadata. Debug "
                "with `kubectl debug node/NODE -n kube-system` (Trellis's team isolation "
                "refuses node debug pods elsewhere) or SSM Session Manager instead.",
    types=[NODE_POOL, NODE_GROUP], checkov=["CKV_AWS_100"])
def gpu_no_ssh(res: Res, settings: Settings) -> Iterator[str]:
    if not gpu_accels(res):
        return
    if res.type == NODE_GROUP:
        if res.get("remoteAccess") is not None:
            yield "remoteAccess is set: SSH keys are installed on the nodes"
        return
    metadata = res.get("nodeConfig", "metadata")
    if isinstance(metadata, dict) and ("ssh-keys" in metadata or "sshKeys" in metadata):
        yield "node metadata carries ssh-keys"


@stack_rule(
    id="TRL-GPU-008", title="IMDSv2 on GPU nodes",
    description="EKS GPU node groups use a launch template that requires IMDSv2 tokens.",
    severity="high", enforcement="mandatory",
    remediation="Give the node group a launch template with `metadata_options="
                "{\"http_tokens\": \"required\", \"http_put_response_hop_limit\": 1}`.",
    types=[NODE_GROUP, LAUNCH_TEMPLATE], checkov=["CKV_AWS_79"], trivy=["AVD-AWS-0130"],
    cdk_nag=["EC2IMDSv2Enabled"])
def gpu_imdsv2(stack: Stack, settings: Settings) -> Iterator[tuple[str, str]]:
    index = _lt_index(stack)

    def check(group: Res) -> Iterator[str]:
        if group.type != NODE_GROUP or not gpu_accels(group):
            return
        named, template = _launch_template(group, index)
        if not named:
            yield "no launch template, so IMDSv2 is not required on the nodes"
        elif template is None:
            yield "the launch template is not in this stack, so IMDSv2 cannot be checked"
        elif template.get("metadataOptions", "httpTokens") != "required":
            yield (f"launch template '{template.name}' does not set "
                   "metadataOptions.httpTokens=required")
    yield from each(gpu_pools(stack), check)


@resource_rule(
    id="TRL-GPU-009", title="GPU cost labels",
    description="GPU pools carry the cost-allocation labels the pack requires.",
    severity="medium", enforcement="mandatory",
    remediation="Add the labels (GKE `node_config.resource_labels`) or tags (EKS `tags`) named "
                "in the pack's `requiredLabels`; Trellis sets them from org.yaml.",
    types=[NODE_POOL, NODE_GROUP], config=["requiredLabels"])
def gpu_cost_labels(res: Res, settings: Settings) -> Iterator[str]:
    if not gpu_accels(res):
        return
    if res.type == NODE_POOL:
        labels = labels_of(res, ("nodeConfig", "resourceLabels"))
    else:
        labels = labels_of(res, ("tags",), ("tagsAll",))
    missing = [k for k in settings.required_labels if k not in labels]
    if missing:
        yield f"missing cost labels: {', '.join(missing)}"
