"""GKE node rules for every pool, not only GPU pools: node identity, secure boot, auto-repair.

Already covered elsewhere: TRL-GPU-006 holds GPU pools to a dedicated identity, TRL-GKE-006
keeps integrity monitoring on. Here every node a cluster can get is judged: node pools, the
cluster's default pool (unless ``removeDefaultNodePool`` deletes it right after creation), node
pools declared inline in the cluster, and nodes that node auto-provisioning or Autopilot create
(``clusterAutoscaling.autoProvisioningDefaults``).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from policies import iamdoc
from policies.joins import sa_index
from policies.registry import each, resource_rule, stack_rule
from policies.settings import Settings
from policies.view import UNKNOWN, Res, Stack, as_list, at, peek_at, require_known

CLUSTER = "gcp:container/cluster:Cluster"
NODE_POOL = "gcp:container/nodePool:NodePool"
SERVICE_ACCOUNT = "gcp:serviceaccount/account:Account"


@dataclass(frozen=True)
class Nodes:
    """One source of nodes: where it is declared, its node config, its management block."""

    where: str
    prop: str  # top-level property (the unit of property dependencies)
    config: Any  # nodeConfig-like mapping (serviceAccount, shieldedInstanceConfig) or None
    management: Any
    autopilot: bool = False


def node_sources(res: Res, *, strict: bool = True) -> list[Nodes]:
    """Every declaration of nodes in a node pool or cluster.

    ``strict``: unknown parts raise (fail closed); otherwise they are returned as UNKNOWN for
    rules that can still decide (a service account computed from one of the stack).
    """
    get = res.get if strict else res.peek
    walk = at if strict else peek_at
    if res.type == NODE_POOL:
        return [Nodes("the node pool", "nodeConfig", get("nodeConfig"), get("management"))]
    out = []
    autopilot = get("enableAutopilot") is True
    if not autopilot and get("removeDefaultNodePool") is not True:
        out.append(Nodes("the default node pool", "nodeConfig", get("nodeConfig"), None))
    pools = get("nodePools")
    for i, pool in enumerate(as_list(pools) if isinstance(pools, list) else []):
        name = walk(pool, "name")
        out.append(Nodes(f"inline node pool {name if isinstance(name, str) else f'#{i}'}",
                         "nodePools", walk(pool, "nodeConfig"), walk(pool, "management")))
    if autopilot or get("clusterAutoscaling", "enabled") is True:
        defaults = get("clusterAutoscaling", "autoProvisioningDefaults")
        out.append(Nodes("Autopilot nodes" if autopilot else "auto-provisioned nodes",
                         "clusterAutoscaling", defaults if defaults is not None else {},
                         walk(defaults, "management"), autopilot))
    return out


@stack_rule(
    id="TRL-GKE-009", title="GKE nodes not on the default service account",
    description="No GKE node pool, default pool, inline pool or auto-provisioned node runs as "
                "the Compute Engine default service account.",
    severity="high", enforcement="mandatory",
    remediation="Create a node service account with only "
                "roles/container.defaultNodeServiceAccount (plus roles/artifactregistry.reader "
                "on the repositories it pulls from) and set "
                "`node_config.service_account` (auto-provisioning / Autopilot: "
                "`cluster_autoscaling.auto_provisioning_defaults.service_account`).",
    types=[CLUSTER, NODE_POOL, SERVICE_ACCOUNT], checkov=["CKV2_GCP_1"],
    trivy=["AVD-GCP-0050"])
def gke_node_identity(stack: Stack, settings: Settings) -> Iterator[tuple[str, str]]:
    accounts = sa_index(stack)

    def check(res: Res) -> Iterator[str]:
        for nodes in node_sources(res, strict=False):
            email = peek_at(nodes.config, "serviceAccount")
            if email is UNKNOWN:
                # An e-mail computed from a service account of this stack is, by construction,
                # not a default account; anything else unknown fails closed.
                if accounts.resolve(res, nodes.prop, UNKNOWN) is None:
                    require_known(email, (nodes.prop, "serviceAccount"))
                continue
            if not email:
                yield (f"{nodes.where}: no serviceAccount, so the nodes run as the Compute "
                       "Engine default account (Editor on the project unless it was removed)")
            elif iamdoc.is_default_service_account(str(email)):
                yield (f"{nodes.where}: serviceAccount {email} is a default account shared by "
                       "the whole project")

    yield from each(stack.of_type(CLUSTER, NODE_POOL), check)


@resource_rule(
    id="TRL-GKE-010", title="GKE secure boot",
    description="GKE nodes boot with Secure Boot, so only signed boot components and kernel "
                "modules run.",
    severity="medium", enforcement="mandatory",
    remediation="Set `node_config.shielded_instance_config={\"enable_secure_boot\": True, "
                "\"enable_integrity_monitoring\": True}` (auto-provisioning: "
                "`auto_provisioning_defaults.shielded_instance_config`); GKE-installed GPU "
                "drivers are signed and work with it.",
    types=[CLUSTER, NODE_POOL], checkov=["CKV_GCP_68"], trivy=["AVD-GCP-0067"])
def gke_secure_boot(res: Res, settings: Settings) -> Iterator[str]:
    for nodes in node_sources(res):
        if nodes.autopilot:
            continue  # Autopilot turns Secure Boot on itself
        if at(nodes.config, "shieldedInstanceConfig", "enableSecureBoot") is not True:
            yield (f"{nodes.where}: shieldedInstanceConfig.enableSecureBoot is not true (the "
                   "default is false)")


@resource_rule(
    id="TRL-GKE-011", title="GKE node auto-repair",
    description="GKE node pools keep auto-repair on, so broken nodes (GPU drivers included) "
                "are recreated; flex-start pools are exempt (GKE requires auto-repair off "
                "there).",
    severity="low", enforcement="mandatory",
    remediation="Remove `management={\"auto_repair\": False}` (auto-repair is on by default); "
                "pause repairs with a maintenance exclusion instead. Only flex-start node "
                "pools (`nodeConfig.flexStart`) run without it.",
    types=[CLUSTER, NODE_POOL], checkov=["CKV_GCP_9"], trivy=["AVD-GCP-0063"])
def gke_auto_repair(res: Res, settings: Settings) -> Iterator[str]:
    for nodes in node_sources(res):
        # Flex-start (DWS) nodes live at most seven days and GKE refuses auto-repair on them
        # (Google Cluster Toolkit, gke-node-pool: "enable_flex_start needs node auto_repair
        # set to false").
        if at(nodes.config, "flexStart") is True:
            continue
        if at(nodes.management, "autoRepair") is False:
            yield f"{nodes.where}: management.autoRepair is false"
