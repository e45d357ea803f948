"""A reservation pool in a zone outside the environment's network (review F2, AWS 2).

A Capacity Block is sold in the zone AWS picks. Its node group gets a private subnet of its own
there (routed through the network's NAT), never given to the cluster (EKS refuses some zones for
control-plane subnets only); adding that zone must not move or replace anything that exists.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest

from components import catalog
from components.aws.network import carve, node_subnet_cidr
from stacks.org.errors import OrgError
from stacks.org.load import load
from stacks.org.resolve import resolve
from stacks.plan.engine import Plan, plan
from stacks.report.diff import diff_plans
from tests.plan_queries import one

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "aws.yaml"
MINIMAL = EXAMPLE.parent / "aws-minimal.yaml"
SUBNET = "aws:ec2/subnet:Subnet"
ROUTE_TABLE = "aws:ec2/routeTable:RouteTable"
IN_NETWORK = "zones: [usw2-az2]"


def _org(tmp_path: Path, zones: str) -> Path:
    text = EXAMPLE.read_text()
    assert IN_NETWORK in text, "examples/aws.yaml: the prod Capacity Block pool moved"
    path = tmp_path / "aws.yaml"
    path.write_text(text.replace(IN_NETWORK, zones))
    for extra in (EXAMPLE.parent / "pipelines").glob("*"):  # templates next to the org
        (tmp_path / "pipelines").mkdir(exist_ok=True)
        (tmp_path / "pipelines" / extra.name).write_bytes(extra.read_bytes())
    return path


@pytest.fixture(scope="module")
def outside(tmp_path_factory) -> tuple[Plan, object]:
    env = resolve(load(_org(tmp_path_factory.mktemp("outside"), "zones: [usw2-az4]")), "prod")
    return plan(env), env


def test_a_reservation_outside_the_network_gets_a_node_only_subnet(outside, prod_plan):
    p, env = outside
    assert env.zone_ids == ("usw2-az1", "usw2-az2", "usw2-az3")
    assert env.node_zone_ids == ("usw2-az4",)
    subnet = one(p, SUBNET, "network-node-usw2-az4")
    assert subnet.inputs["availabilityZoneId"] == "usw2-az4"
    assert subnet.inputs["cidrBlock"] == "10.20.246.0/23", \
        "subnet network-node-usw2-az4: slot 4 of the VPC's spare sixteenth"
    group = one(p, "aws:eks/nodeGroup:NodeGroup", "recsys-train")
    assert group.inputs["subnetIds"] == [subnet.outputs["id"]], \
        "node group recsys-train: only its reservation's zone"
    cluster = one(p, "aws:eks/cluster:Cluster", "cluster")
    assert subnet.outputs["id"] not in cluster.inputs["vpcConfig"]["subnetIds"], \
        "cluster: a node-only subnet never becomes a control-plane subnet"
    general = one(p, "aws:eks/nodeGroup:NodeGroup", "general")
    assert subnet.outputs["id"] not in general.inputs["subnetIds"], \
        "node group general: node-only subnets belong to their reservation's group"
    table = one(p, ROUTE_TABLE, "network-node-usw2-az4")
    route = one(p, "aws:ec2/route:Route", "network-node-usw2-az4-default")
    nat = one(p, "aws:ec2/natGateway:NatGateway", "network-nat-a")
    assert route.inputs["natGatewayId"] == nat.outputs["id"] and \
        route.inputs["destinationCidrBlock"] == "0.0.0.0/0", \
        "route network-node-usw2-az4-default: out through the network's NAT, never public"
    endpoint = one(p, "aws:ec2/vpcEndpoint:VpcEndpoint", "network-s3")
    assert table.outputs["id"] in endpoint.inputs["routeTableIds"], \
        "S3 gateway endpoint: the node-only subnet reaches S3 without the NAT"
    subnets = [ipaddress.ip_network(s.inputs["cidrBlock"]) for s in p.of_type(SUBNET)]
    assert not any(a.overlaps(b) for i, a in enumerate(subnets) for b in subnets[i + 1:]), \
        f"subnets overlap: {sorted(map(str, subnets))}"
    assert not any("-node-" in s.name for s in prod_plan.of_type(SUBNET)), \
        "a reservation inside the network adds no subnet"


def test_adding_the_zone_moves_and_replaces_nothing(outside, prod_plan):
    p, _ = outside
    d = diff_plans(prod_plan, p)
    assert not d.removed, [r.urn for r in d.removed]
    replaced = [c.urn for c in d.replaced]
    assert replaced == [c.urn for c in d.replaced if "recsys-train" in c.urn], \
        f"only the reservation's own node group may be replaced: {replaced}"
    networks = {r.urn: r.inputs for t in (SUBNET, ROUTE_TABLE) for r in prod_plan.of_type(t)}
    after = {r.urn: r.inputs for t in (SUBNET, ROUTE_TABLE) for r in p.of_type(t)}
    for urn, inputs in networks.items():
        assert after.get(urn) == inputs, f"{urn}: an existing subnet or route table changed"
    added = sorted(r.name for r in d.added)
    assert added == sorted(["network-node-usw2-az4"] * 3 + ["network-node-usw2-az4-default"]), \
        added


def test_node_subnets_are_fixed_by_zone_number_and_never_collide():
    for cidr in ("10.0.0.0/16", "172.16.0.0/20"):
        net = ipaddress.ip_network(cidr)
        slots = [ipaddress.ip_network(node_subnet_cidr(cidr, f"use1-az{n}"))
                 for n in range(1, catalog.AWS_NODE_SUBNET_SLOTS + 1)]
        assert len(set(slots)) == len(slots) and all(s.subnet_of(net) for s in slots)
        for zones in (2, 3):
            for used in (*carve(cidr, zones)[0], *carve(cidr, zones)[1]):
                assert not any(ipaddress.ip_network(used).overlaps(s) for s in slots), \
                    f"{cidr}: a node-only slot overlaps the network's subnet {used}"
    assert node_subnet_cidr("10.0.0.0/16", "usw2-az4") == "10.0.246.0/23" == \
        node_subnet_cidr("10.0.0.0/16", "use1-az4"), "the slot is the zone number's"


def _minimal(tmp_path: Path, pool: str) -> list[str]:
    text = MINIMAL.read_text()
    assert "train: {accelerator: l4, max_nodes: 2}" in text
    (tmp_path / "org.yaml").write_text(text.replace("train: {accelerator: l4, max_nodes: 2}",
                                                    f"train: {{{pool}}}"))
    with pytest.raises(OrgError) as info:
        load(tmp_path / "org.yaml")
    return [str(i) for i in info.value.issues]


RESERVED = "capacity: reservation, reservation: {id: cr-0a1b2c3d4e5f60718}"


def test_only_reservation_pools_leave_the_network(tmp_path):
    # us-east-1's network is use1-az1, az2, az4; g6.2xlarge (l4) is also sold in use1-az6.
    msgs = _minimal(tmp_path, "accelerator: l4, zones: [use1-az6]")
    assert any("use1-az6 is not one of environment 'dev''s zones" in m
               and "consume a reservation there" in m
               and "teams.ml.gpu_pools.train.zones[0]" in m for m in msgs), msgs


def test_a_reservation_zone_must_be_the_regions_and_sell_the_type(tmp_path):
    msgs = _minimal(tmp_path, f"accelerator: l4, {RESERVED}, zones: [use1-az5]")
    assert any("use1-az5 does not offer g6.2xlarge" in m
               and "teams.ml.gpu_pools.train.zones[0]" in m for m in msgs), msgs
    msgs = _minimal(tmp_path, f"accelerator: l4, {RESERVED}, zones: [usw2-az4]")
    assert any("is not an availability-zone ID of us-east-1" in m for m in msgs), msgs


def test_a_reservation_in_an_excluded_zone_is_a_node_only_subnet(tmp_path):
    """use1-az3: EKS refuses it for the cluster, not for a node group."""
    text = MINIMAL.read_text().replace(
        "train: {accelerator: l4, max_nodes: 2}",
        f"train: {{accelerator: h100-80gb, gpus_per_node: 8, {RESERVED}, zones: [use1-az3]}}")
    (tmp_path / "org.yaml").write_text(text)
    env = resolve(load(tmp_path / "org.yaml"), "dev")
    assert env.node_zone_ids == ("use1-az3",) and \
        env.teams["ml"].pools["train"].zone_ids == ("use1-az3",)
    assert "use1-az3" not in env.zone_ids
