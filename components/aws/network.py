"""Network: the VPC an EKS cluster and its node groups live in.

Subnets go in availability zones named by zone ID (``use1-az2``: the same physical zone in
every account, where zone names are shuffled per account). Private subnets (one per AZ) hold
every node and pod (the VPC CNI gives pods VPC addresses, so
they get three quarters of the range); small public subnets hold the NAT gateways and
internet-facing load balancers. Nodes reach the internet through NAT only, and S3 through a
gateway endpoint (free, and keeps dataset traffic off the NAT's per-GB charge).
"""

# No `from __future__ import annotations`: hosted for other languages (docs/adr/0006).
import ipaddress
from collections.abc import Callable, Mapping, Sequence
from typing import NotRequired, TypedDict

import pulumi
import pulumi_aws as aws

from components import catalog

PRIVATE_ELB_TAG = "kubernetes.io/role/internal-elb"
PUBLIC_ELB_TAG = "kubernetes.io/role/elb"


class AwsNetworkArgs(TypedDict):
    """Arguments of :class:`AwsNetwork`."""

    name: str
    """VPC name (its ``Name`` tag) and prefix of the other ``Name`` tags."""
    cidr: NotRequired[str]
    """IPv4 range of the VPC, /16 to /20. Default: ``10.0.0.0/16``. Carved as: three /(n+2)
    private subnets, then /(n+4) public subnets in the last quarter, whose last sixteenth holds
    the node-only subnets of ``node_zone_ids``."""
    availability_zone_ids: NotRequired[Sequence[str]]
    """AZ IDs of the subnets, 2 or 3 (``catalog.eks_cluster_zone_ids(region)``). Default:
    picked at deploy time: the lowest-numbered zone IDs of the account's region
    (``aws.get_availability_zones``), ``excluded_zone_ids`` left out.
    https://docs.aws.amazon.com/eks/latest/userguide/network-reqs.html"""
    availability_zone_count: NotRequired[int]
    """AZs to pick at deploy time when ``availability_zone_ids`` is not given, 2 or 3.
    Default: 3."""
    excluded_zone_ids: NotRequired[Sequence[str]]
    """Zone IDs never picked at deploy time (EKS refuses cluster subnets in use1-az3,
    usw1-az2, cac1-az3: ``catalog.eks_excluded_zone_ids()``). Default: those three."""
    node_zone_ids: NotRequired[Sequence[str]]
    """More AZ IDs, each with a private subnet for node groups only (a capacity reservation's
    zone outside ``availability_zone_ids``): in :attr:`AwsNetwork.private_subnet_ids_by_zone`,
    never in ``private_subnet_ids`` (the cluster's), so EKS's control-plane zone rules do not
    apply to them. Each is a /(n+7) of the VPC's spare sixteenth, chosen by zone number
    (:func:`node_subnet_cidr`). Needs ``availability_zone_ids``. Default: none."""
    nat_gateway_per_az: NotRequired[bool]
    """One NAT gateway per AZ, so losing an AZ does not cut the others off. Default: False
    (one shared NAT gateway, $33/month less per AZ; sandbox)."""
    cluster_name: NotRequired[str]
    """EKS cluster that uses the subnets; adds ``kubernetes.io/cluster/<name>=shared``.
    Default: no cluster tag."""
    tags: NotRequired[Mapping[str, str]]
    """Tags on every resource, merged over the provider's default tags. Default: none."""


def carve(cidr: str, azs: int) -> tuple[list[str], list[str]]:
    """(private, public) subnet CIDRs: private get a quarter each, public share the last quarter."""
    if not 2 <= azs <= 3:
        raise ValueError(f"availability_zone_count must be 2 or 3; got {azs}")
    net = ipaddress.IPv4Network(cidr)
    quarters = list(net.subnets(prefixlen_diff=2))
    public = list(quarters[3].subnets(prefixlen_diff=2))
    return [str(q) for q in quarters[:azs]], [str(p) for p in public[:azs]]


#: Node-only subnets share the VPC's last sixteenth (after the public subnets), eight slots.
NODE_SUBNET_SLOTS = catalog.AWS_NODE_SUBNET_SLOTS


def node_subnet_cidr(cidr: str, zone_id: str) -> str:
    """The node-only private subnet of ``zone_id`` in the VPC ``cidr``.

    :func:`carve` leaves the last sixteenth of the VPC unused whatever the zone count (the
    public subnets take at most three of the last quarter's four sixteenths). It is cut into
    :data:`NODE_SUBNET_SLOTS` equal ranges and zone ``...-azN`` takes range N-1: the range
    depends on the zone alone, so adding or removing another zone never moves a subnet, and two
    zones never collide (AWS regions number their zones 1-6). A /16 VPC gives each a /23
    (507 usable addresses).
    """
    number = int(zone_id.rsplit("az", 1)[1])
    if not 1 <= number <= NODE_SUBNET_SLOTS:
        raise ValueError(f"zone {zone_id}: node-only subnets exist for zone numbers 1-"
                         f"{NODE_SUBNET_SLOTS}")
    net = ipaddress.IPv4Network(cidr)
    spare = list(net.subnets(prefixlen_diff=4))[-1]
    return str(list(spare.subnets(prefixlen_diff=3))[number - 1])


def _nth(i: int, excluded: Sequence[str]) -> Callable[[Sequence[str]], str]:
    def pick(ids: Sequence[str]) -> str:
        usable = sorted((z for z in ids if z not in excluded),
                        key=lambda z: int(z.rsplit("az", 1)[1]))
        if len(usable) <= i:
            raise ValueError(f"the region has {len(usable)} availability zones EKS accepts "
                             f"({', '.join(usable)}); {i + 1} needed")
        return usable[i]
    return pick


class AwsNetwork(pulumi.ComponentResource):
    """A VPC across two or three AZs with private node subnets, NAT and an S3 endpoint."""

    vpc_id: pulumi.Output[str]
    """Id of the VPC."""
    private_subnet_ids: pulumi.Output[list[str]]
    """Private subnets, one per AZ: nodes, pods and internal load balancers."""
    public_subnet_ids: pulumi.Output[list[str]]
    """Public subnets, one per AZ: NAT gateways and internet-facing load balancers."""
    private_subnet_ids_by_zone: dict[str, pulumi.Output[str]]
    """The private subnet of each AZ ID given as ``availability_zone_ids`` or
    ``node_zone_ids`` (empty when the zones are picked at deploy time): node groups of types
    offered in some zones only, and of reservations in their one zone."""

    def __init__(self, name: str, args: AwsNetworkArgs,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("trellis:aws:Network", name, None, opts)
        self._name = name
        self._label = args["name"]
        self._tags = dict(args.get("tags", {}))
        given = list(args.get("availability_zone_ids") or [])
        count = len(given) or int(args.get("availability_zone_count", 3))
        private_cidrs, public_cidrs = carve(args.get("cidr", "10.0.0.0/16"), count)
        cluster = args.get("cluster_name")
        k8s = {f"kubernetes.io/cluster/{cluster}": "shared"} if cluster else {}

        self._vpc = aws.ec2.Vpc(name, cidr_block=args.get("cidr", "10.0.0.0/16"),
                               enable_dns_support=True, enable_dns_hostnames=True,
                               tags=self._named(self._label),
                               opts=pulumi.ResourceOptions(parent=self))
        self._lock_default_security_group()
        az: list[pulumi.Input[str]]
        if given:
            az = list(given)
        else:
            # No state filter: an AZ that is impaired today must not move the subnets.
            zones = aws.get_availability_zones_output(
                filters=[aws.GetAvailabilityZonesFilterArgs(name="opt-in-status",
                                                            values=["opt-in-not-required"])],
                opts=pulumi.InvokeOutputOptions(parent=self))
            excluded = list(args.get("excluded_zone_ids", ("use1-az3", "usw1-az2", "cac1-az3")))
            az = [zones.zone_ids.apply(_nth(i, excluded)) for i in range(count)]
        igw = aws.ec2.InternetGateway(f"{name}-igw", vpc_id=self._vpc.id,
                                      tags=self._named(f"{self._label}-igw"),
                                      opts=pulumi.ResourceOptions(parent=self))
        public = self._create_public(public_cidrs, az, igw, k8s)
        nats = self._create_nat(public, args.get("nat_gateway_per_az", False))
        private, route_tables = self._create_private(private_cidrs, az, nats, k8s)
        extra = list(args.get("node_zone_ids") or [])
        if extra and not given:
            raise ValueError(f"Network '{name}': node_zone_ids need availability_zone_ids")
        if set(extra) & set(given):
            raise ValueError(f"Network '{name}': node_zone_ids {sorted(set(extra) & set(given))}"
                             " already have a subnet (availability_zone_ids)")
        node_subnets = {zone: self._create_node_subnet(
            zone, node_subnet_cidr(args.get("cidr", "10.0.0.0/16"), zone), nats[0])
            for zone in sorted(set(extra))}
        route_tables += [table for _, table in node_subnets.values()]
        aws.ec2.VpcEndpoint(f"{name}-s3", vpc_id=self._vpc.id,
                            service_name=pulumi.Output.concat(
                                "com.amazonaws.", aws.get_region_output(
                                    opts=pulumi.InvokeOutputOptions(parent=self)).region, ".s3"),
                            vpc_endpoint_type="Gateway",
                            route_table_ids=[rt.id for rt in route_tables],
                            tags=self._named(f"{self._label}-s3"),
                            opts=pulumi.ResourceOptions(parent=self))
        self.vpc_id = self._vpc.id
        # Python callers get the subnet ids one by one, as inputs of their own resources.
        self._private_ids = [s.id for s in private]
        self.private_subnet_ids = pulumi.Output.all(*self._private_ids)
        self.private_subnet_ids_by_zone = {
            **dict(zip(given, self._private_ids, strict=False)),
            **{zone: subnet.id for zone, (subnet, _) in node_subnets.items()}}
        self.public_subnet_ids = pulumi.Output.all(*[s.id for s in public])
        self.register_outputs({"vpc_id": self.vpc_id,
                               "private_subnet_ids": self.private_subnet_ids,
                               "public_subnet_ids": self.public_subnet_ids})

    def _named(self, label: str, extra: dict[str, str] | None = None) -> dict[str, str]:
        return {**self._tags, **(extra or {}), "Name": label}

    def _lock_default_security_group(self) -> None:
        # Adopting the default security group with no rules means nothing can use it by
        # accident (CIS AWS 5.4); EKS makes its own cluster security group.
        aws.ec2.DefaultSecurityGroup(f"{self._name}-default-sg", vpc_id=self._vpc.id,
                                     tags=self._named(f"{self._label}-default-deny"),
                                     opts=pulumi.ResourceOptions(parent=self))

    def _create_public(self, cidrs: list[str], az: list[pulumi.Input[str]],
                       igw: aws.ec2.InternetGateway,
                       k8s: dict[str, str]) -> list[aws.ec2.Subnet]:
        table = aws.ec2.RouteTable(f"{self._name}-public", vpc_id=self._vpc.id,
                                   tags=self._named(f"{self._label}-public"),
                                   opts=pulumi.ResourceOptions(parent=self))
        aws.ec2.Route(f"{self._name}-public-default", route_table_id=table.id,
                      destination_cidr_block="0.0.0.0/0", gateway_id=igw.id,
                      opts=pulumi.ResourceOptions(parent=self))
        subnets = []
        for i, cidr in enumerate(cidrs):
            suffix = chr(ord("a") + i)
            subnet = aws.ec2.Subnet(
                f"{self._name}-public-{suffix}", vpc_id=self._vpc.id, cidr_block=cidr,
                availability_zone_id=az[i], map_public_ip_on_launch=False,
                tags=self._named(f"{self._label}-public-{suffix}", {PUBLIC_ELB_TAG: "1", **k8s}),
                opts=pulumi.ResourceOptions(parent=self))
            aws.ec2.RouteTableAssociation(f"{self._name}-public-{suffix}", subnet_id=subnet.id,
                                          route_table_id=table.id,
                                          opts=pulumi.ResourceOptions(parent=self))
            subnets.append(subnet)
        return subnets

    def _create_nat(self, public: list[aws.ec2.Subnet],
                    per_az: bool) -> list[aws.ec2.NatGateway]:
        nats = []
        for i, subnet in enumerate(public if per_az else public[:1]):
            suffix = chr(ord("a") + i)
            eip = aws.ec2.Eip(f"{self._name}-nat-{suffix}", domain="vpc",
                              tags=self._named(f"{self._label}-nat-{suffix}"),
                              opts=pulumi.ResourceOptions(parent=self))
            nats.append(aws.ec2.NatGateway(f"{self._name}-nat-{suffix}",
                                           allocation_id=eip.allocation_id,
                                           subnet_id=subnet.id, connectivity_type="public",
                                           tags=self._named(f"{self._label}-nat-{suffix}"),
                                           opts=pulumi.ResourceOptions(parent=self)))
        return nats

    def _create_private(self, cidrs: list[str], az: list[pulumi.Input[str]],
                        nats: list[aws.ec2.NatGateway], k8s: dict[str, str],
                        ) -> tuple[list[aws.ec2.Subnet], list[aws.ec2.RouteTable]]:
        subnets, tables = [], []
        for i, cidr in enumerate(cidrs):
            suffix = chr(ord("a") + i)
            subnet = aws.ec2.Subnet(
                f"{self._name}-private-{suffix}", vpc_id=self._vpc.id, cidr_block=cidr,
                availability_zone_id=az[i],
                tags=self._named(f"{self._label}-private-{suffix}",
                                 {PRIVATE_ELB_TAG: "1", **k8s}),
                opts=pulumi.ResourceOptions(parent=self))
            table = aws.ec2.RouteTable(f"{self._name}-private-{suffix}", vpc_id=self._vpc.id,
                                       tags=self._named(f"{self._label}-private-{suffix}"),
                                       opts=pulumi.ResourceOptions(parent=self))
            nat = nats[i] if len(nats) > i else nats[0]
            aws.ec2.Route(f"{self._name}-private-{suffix}-default", route_table_id=table.id,
                          destination_cidr_block="0.0.0.0/0", nat_gateway_id=nat.id,
                          opts=pulumi.ResourceOptions(parent=self))
            aws.ec2.RouteTableAssociation(f"{self._name}-private-{suffix}", subnet_id=subnet.id,
                                          route_table_id=table.id,
                                          opts=pulumi.ResourceOptions(parent=self))
            subnets.append(subnet)
            tables.append(table)
        return subnets, tables

    def _create_node_subnet(self, zone: str, cidr: str, nat: aws.ec2.NatGateway,
                            ) -> tuple[aws.ec2.Subnet, aws.ec2.RouteTable]:
        """A private subnet for node groups only, routed through the first NAT gateway.

        Logical names carry the zone ID, not a position, so another zone never renames it.
        No ELB or cluster tags: load balancers and the cluster stay in the cluster's zones.
        EKS lets nodes use subnets the cluster was not created with (EKS User Guide, "View
        Amazon EKS networking requirements for VPC and subnets": subnet requirements for nodes).
        """
        label = f"{self._label}-node-{zone}"
        subnet = aws.ec2.Subnet(f"{self._name}-node-{zone}", vpc_id=self._vpc.id,
                                cidr_block=cidr, availability_zone_id=zone,
                                tags=self._named(label), opts=pulumi.ResourceOptions(parent=self))
        table = aws.ec2.RouteTable(f"{self._name}-node-{zone}", vpc_id=self._vpc.id,
                                   tags=self._named(label),
                                   opts=pulumi.ResourceOptions(parent=self))
        aws.ec2.Route(f"{self._name}-node-{zone}-default", route_table_id=table.id,
                      destination_cidr_block="0.0.0.0/0", nat_gateway_id=nat.id,
                      opts=pulumi.ResourceOptions(parent=self))
        aws.ec2.RouteTableAssociation(f"{self._name}-node-{zone}", subnet_id=subnet.id,
                                      route_table_id=table.id,
                                      opts=pulumi.ResourceOptions(parent=self))
        return subnet, table


Network = AwsNetwork
"""Python name of :class:`AwsNetwork` (the any-language schema needs unique class names)."""
NetworkArgs = AwsNetworkArgs
