"""The platform network: a custom-mode VPC, one regional subnet and Cloud NAT.

GKE nodes are private (no external IPs), so they reach Artifact Registry, Google APIs and the
internet (pip, Hugging Face) through Private Google Access and Cloud NAT.
"""

# No `from __future__ import annotations`: hosted for other languages (docs/adr/0006).
import ipaddress
from typing import NamedTuple, NotRequired, TypedDict

import pulumi
import pulumi_gcp as gcp

from components import naming

PODS_RANGE = "pods"
SERVICES_RANGE = "services"


class SubnetRanges(NamedTuple):
    """The three ranges carved from the platform CIDR."""

    nodes: str
    pods: str
    services: str


def subnet_ranges(cidr: str) -> SubnetRanges:
    """Carve ``cidr`` (IPv4, /8 to /20): pods get the first half, nodes and services a quarter.

    Pods dominate address use on GKE (a /24 per node at 110 pods per node), so a /16 gives a
    /17 of pods (128 nodes), a /18 of node addresses and a /18 for Services.
    """
    net = ipaddress.ip_network(cidr, strict=True)
    if net.version != 4 or not 8 <= net.prefixlen <= 20:
        raise ValueError(f"network_cidr {cidr} must be an IPv4 range from /8 to /20")
    halves = list(net.subnets(prefixlen_diff=1))
    quarters = list(halves[1].subnets(prefixlen_diff=1))
    return SubnetRanges(nodes=str(quarters[0]), pods=str(halves[0]), services=str(quarters[1]))


class GcpNetworkArgs(TypedDict):
    """Arguments of :class:`Network`."""

    project: pulumi.Input[str]
    """Project id. Pass ``Services.project`` so the VPC waits for compute.googleapis.com."""
    region: str
    """Region of the subnet, router and NAT (the cluster's region)."""
    network_name: str
    """Physical name of the VPC; the subnet, router and NAT are named ``<network_name>-...``."""
    cidr: str
    """IPv4 range for nodes, pods and Services, /8 to /20, carved by :func:`subnet_ranges`."""
    flow_logs: NotRequired[bool]
    """VPC flow logs on the subnet (10 min aggregation, 50% sampling). Default: off (they cost
    per GB ingested). https://cloud.google.com/vpc/docs/flow-logs"""


class GcpNetwork(pulumi.ComponentResource):
    """VPC + subnet with secondary ranges for pods/services + Cloud Router + Cloud NAT."""

    network_id: pulumi.Output[str]
    """VPC id, ``projects/<project>/global/networks/<name>``."""
    subnetwork_id: pulumi.Output[str]
    """Subnet id, ``projects/<project>/regions/<region>/subnetworks/<name>``."""
    pods_range_name: pulumi.Output[str]
    """Name of the subnet's secondary range for pod IPs (resolves once the subnet exists)."""
    services_range_name: pulumi.Output[str]
    """Name of the subnet's secondary range for Service IPs."""

    def __init__(self, name: str, args: GcpNetworkArgs,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("trellis:gcp:Network", name, None, opts)
        self._ranges = subnet_ranges(args["cidr"])
        vpc = self._create_vpc(name, args)
        subnet = self._create_subnet(name, args, vpc)
        self._create_nat(name, args, vpc)
        self.network_id, self.subnetwork_id = vpc.id, subnet.id
        self.pods_range_name = subnet.id.apply(lambda _id: PODS_RANGE)
        self.services_range_name = subnet.id.apply(lambda _id: SERVICES_RANGE)
        self.register_outputs({"network_id": self.network_id, "subnetwork_id": self.subnetwork_id,
                               "pods_range_name": self.pods_range_name,
                               "services_range_name": self.services_range_name})

    def _create_vpc(self, name: str, args: GcpNetworkArgs) -> gcp.compute.Network:
        return gcp.compute.Network(
            f"{name}-vpc", project=args["project"], name=args["network_name"],
            auto_create_subnetworks=False, routing_mode="REGIONAL",
            description="Trellis ML platform network",
            opts=pulumi.ResourceOptions(parent=self))

    def _create_subnet(self, name: str, args: GcpNetworkArgs,
                       vpc: gcp.compute.Network) -> gcp.compute.Subnetwork:
        log_config: gcp.compute.SubnetworkLogConfigArgsDict | None = None
        if args.get("flow_logs"):
            log_config = {"aggregation_interval": "INTERVAL_10_MIN", "flow_sampling": 0.5,
                          "metadata": "INCLUDE_ALL_METADATA"}
        return gcp.compute.Subnetwork(
            f"{name}-subnet", project=args["project"], region=args["region"],
            name=naming.make("gcp_network", args["network_name"], args["region"]), network=vpc.id,
            ip_cidr_range=self._ranges.nodes, private_ip_google_access=True,
            secondary_ip_ranges=[
                {"range_name": PODS_RANGE, "ip_cidr_range": self._ranges.pods},
                {"range_name": SERVICES_RANGE, "ip_cidr_range": self._ranges.services},
            ],
            log_config=log_config, opts=pulumi.ResourceOptions(parent=self))

    def _create_nat(self, name: str, args: GcpNetworkArgs, vpc: gcp.compute.Network) -> None:
        router = gcp.compute.Router(
            f"{name}-router", project=args["project"], region=args["region"],
            name=naming.make("gcp_network", args["network_name"], "router"), network=vpc.id,
            opts=pulumi.ResourceOptions(parent=self))
        gcp.compute.RouterNat(
            f"{name}-nat", project=args["project"], region=args["region"],
            name=naming.make("gcp_network", args["network_name"], "nat"), router=router.name,
            nat_ip_allocate_option="AUTO_ONLY",
            source_subnetwork_ip_ranges_to_nat="ALL_SUBNETWORKS_ALL_IP_RANGES",
            # Training nodes open many connections (datasets, model hubs): ports grow on
            # demand instead of a fixed 64 per VM. Endpoint-independent mapping must then be
            # off, and explicitly: compute.v1 RouterNat says "If enableDynamicPortAllocation is
            # set to true, enableEndpointIndependentMapping cannot be set to true"; left unset
            # it ends up true (terraform-google-cloud-nat#112, terraform-provider-google#11909;
            # Cloud Foundation Fabric's net-cloudnat keeps the two mutually exclusive, #1365).
            enable_dynamic_port_allocation=True, enable_endpoint_independent_mapping=False,
            min_ports_per_vm=64, max_ports_per_vm=16384,
            log_config={"enable": True, "filter": "ERRORS_ONLY"},
            opts=pulumi.ResourceOptions(parent=self))


Network = GcpNetwork
"""Python name of :class:`GcpNetwork` (the any-language schema needs unique class names)."""
NetworkArgs = GcpNetworkArgs
