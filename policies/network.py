"""Network exposure rules: firewall rules and security groups that open admin ports to everyone.

"Open to the internet" is decided by CIDR arithmetic (:mod:`policies.cidr`): the union of a
rule's source ranges covering every IPv4 or every IPv6 address, however it is spelt
(``0.0.0.0/0``, ``0.0.0.0/1`` + ``128.0.0.0/1``, ``::/0``). Admin ports are the ports whose
service hands out a shell, a desktop, the cluster or the node (:data:`ADMIN_PORTS`); GKE and
EKS control planes are judged by TRL-GKE-002 and TRL-EKS-001 with the same arithmetic.

Trellis itself opens no ingress: GKE and EKS manage their own node firewall rules and security
groups. These rules exist for what a platform team adds beside the components.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from policies.cidr import Ranges
from policies.joins import Index
from policies.registry import each, resource_rule, stack_rule
from policies.settings import Settings
from policies.view import UNKNOWN, Res, Stack, as_list, at, number, require_known

FIREWALL = "gcp:compute/firewall:Firewall"
SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup"
DEFAULT_SECURITY_GROUP = "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup"
SG_RULE = "aws:ec2/securityGroupRule:SecurityGroupRule"
SG_INGRESS_RULE = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"

#: TCP/UDP ports whose service gives whoever reaches it control of a machine, a cluster or
#: running code. Kept to services that are never meant to face the internet; web ports
#: (80, 443) and databases are out of scope here.
ADMIN_PORTS: dict[int, str] = {
    22: "SSH", 23: "Telnet", 2375: "Docker API", 2376: "Docker API (TLS)", 2379: "etcd",
    2380: "etcd peer", 3389: "RDP", 5900: "VNC", 5985: "WinRM", 5986: "WinRM (TLS)",
    6443: "Kubernetes API", 8265: "Ray dashboard / job API", 8888: "Jupyter",
    10001: "Ray client", 10250: "kubelet", 10255: "kubelet read-only",
}
_PORT_LIST = ", ".join(f"{p} {name}" for p, name in ADMIN_PORTS.items())
_ALL = "all"
_PORTED = {"tcp": "tcp", "6": "tcp", "udp": "udp", "17": "udp"}


@dataclass(frozen=True)
class Opening:
    """Ingress a rule allows: ports (None: every port) of a protocol, from some ranges (which
    may hold UNKNOWN during a preview)."""

    protocol: str  # tcp | udp | all
    ports: tuple[tuple[int, int], ...] | None
    cidrs: tuple[object, ...]
    source: str = "sourceRanges"  # where the ranges were read, for fail-closed messages

    def admin_ports(self) -> list[int]:
        if self.ports is None:
            return list(ADMIN_PORTS)
        return [p for p in ADMIN_PORTS if any(lo <= p <= hi for lo, hi in self.ports)]


def _protocol(value: object) -> str | None:
    """tcp | udp | all, or None for protocols without ports (icmp, esp, ...)."""
    text = str(value if value is not None else _ALL).strip().lower()
    if text in ("-1", "all"):
        return _ALL
    return _PORTED.get(text)


def _port_range(lo: object, hi: object) -> tuple[int, int] | None:
    """AWS from/to ports; None (every port) when both are absent."""
    low, high = number(lo), number(hi)
    if low is None and high is None:
        return None
    low = 0 if low is None or low < 0 else low
    high = 65535 if high is None or high < 0 else high
    return (int(low), int(high))


@dataclass(frozen=True)
class Exposure:
    """Admin ports that some openings, taken together, open to whole address families."""

    families: tuple[str, ...]  # 0.0.0.0/0 and/or ::/0
    ports: tuple[int, ...]

    def describe(self, subject: str) -> str:
        if len(self.ports) == len(ADMIN_PORTS):
            named = ("every admin port (22 SSH, 3389 RDP, 6443 Kubernetes API, 10250 kubelet, "
                     "8888 Jupyter, ...)")
        else:
            named = (f"admin port{'s' if len(self.ports) > 1 else ''} "
                     + ", ".join(f"{p} ({ADMIN_PORTS[p]})" for p in self.ports))
        return (f"{subject} {named} to {' and '.join(self.families)}: anyone on the internet "
                "can try to log in")


def exposures(openings: Iterable[Opening]) -> tuple[list[Exposure], list[str]]:
    """What ``openings`` expose together, and the source ranges that are not CIDR ranges.

    Ranges are only read for openings that reach an admin port, so an unknown range on a port
    that does not matter passes; an unknown range on an admin port fails closed.
    """
    by_port: dict[int, list[str]] = {}
    for op in openings:
        ports = op.admin_ports()
        if ports:
            cidrs = [str(c) for c in require_known(list(op.cidrs), (op.source,))]
            for port in ports:
                by_port.setdefault(port, []).extend(cidrs)
    grouped: dict[tuple[str, ...], list[int]] = {}
    invalid: set[str] = set()
    for port, cidrs in sorted(by_port.items()):
        ranges = Ranges.of(cidrs)
        invalid.update(ranges.invalid)
        families = tuple(ranges.internet())
        if families:
            grouped.setdefault(families, []).append(port)
    return [Exposure(f, tuple(p)) for f, p in grouped.items()], sorted(invalid)


def report(openings: Iterable[Opening], subject: str) -> Iterator[str]:
    found, invalid = exposures(openings)
    for bad in invalid:
        yield f"{subject} lists {bad!r} as a source, which is not a CIDR range"
    for exposure in found:
        yield exposure.describe(f"{subject} opens")


# --- GCP -------------------------------------------------------------------------------------

def _gcp_ports(spec: object) -> tuple[tuple[int, int], ...] | None:
    ports = as_list(require_known(spec, ("allows", "ports")))
    if not ports:
        return None
    out = []
    for p in ports:
        lo, _, hi = str(p).partition("-")
        try:
            out.append((int(lo), int(hi or lo)))
        except ValueError:
            raise ValueError(f"firewall port {p!r} is not a port or range") from None
    return tuple(out)


@resource_rule(
    id="TRL-NET-001", title="No admin ports open to the internet (GCP firewall)",
    description="No enabled ingress firewall rule opens an admin port "
                f"({_PORT_LIST}) to every internet address.",
    severity="critical", enforcement="mandatory",
    remediation="Narrow `source_ranges` to your office or VPN ranges (or use `source_tags` / "
                "`source_service_accounts` inside the VPC); reach machines through IAP TCP "
                "forwarding (35.235.240.0/20) or `kubectl debug node/NODE -n kube-system` "
                "instead of open SSH/RDP.",
    types=[FIREWALL], checkov=["CKV_GCP_2", "CKV_GCP_3"], trivy=["AVD-GCP-0027"])
def gcp_firewall_admin_ports(res: Res, settings: Settings) -> Iterator[str]:
    if res.get("disabled") is True:
        return
    if str(res.get("direction") or "INGRESS").upper() != "INGRESS":
        return
    ranges = res.peek("sourceRanges")  # read only if an admin port is open (see exposures)
    cidrs = (UNKNOWN,) if ranges is UNKNOWN else tuple(as_list(ranges))
    openings = []
    for allow in as_list(res.get("allows")):
        protocol = _protocol(at(allow, "protocol"))
        if protocol is not None:
            openings.append(Opening(protocol, _gcp_ports(at(allow, "ports")), cidrs))
    yield from report(openings, "the firewall rule")


# --- AWS -------------------------------------------------------------------------------------

def _aws_opening(entry: dict[str, object], protocol_key: str, cidr_keys: tuple[str, str],
                 source: str) -> Opening | None:
    """One ingress entry; protocol and ports must be known, ranges may still be unknown."""
    protocol = _protocol(at(entry, protocol_key))
    if protocol is None:
        return None
    ports = None if protocol == _ALL else _port_range(at(entry, "fromPort"), at(entry, "toPort"))
    cidrs: list[object] = []
    for key in cidr_keys:
        value = entry.get(key)
        cidrs.extend([UNKNOWN] if value is UNKNOWN else as_list(value))
    return Opening(protocol, None if ports is None else (ports,), tuple(cidrs), source)


_SG_KEYS = ("protocol", "fromPort", "toPort", "cidrBlocks", "ipv6CidrBlocks")
_RULE_KEYS = ("ipProtocol", "fromPort", "toPort", "cidrIpv4", "cidrIpv6")


def aws_openings(res: Res) -> list[Opening]:
    """What one security group, security group rule or ingress rule resource lets in."""
    found: list[Opening | None]
    if res.type in (SECURITY_GROUP, DEFAULT_SECURITY_GROUP):
        entries = as_list(res.get("ingress"))
        if any(e is UNKNOWN for e in entries):
            res.get_known("ingress")  # an entry the engine does not know yet: fail closed
        found = [_aws_opening(e, "protocol", ("cidrBlocks", "ipv6CidrBlocks"), "ingress")
                 for e in entries if isinstance(e, dict)]
    elif res.type == SG_RULE:
        if str(res.get("type") or "").lower() != "ingress":
            return []
        entry = {k: res.peek(k) for k in _SG_KEYS}
        found = [_aws_opening(entry, "protocol", ("cidrBlocks", "ipv6CidrBlocks"), "cidrBlocks")]
    else:
        entry = {k: res.peek(k) for k in _RULE_KEYS}
        found = [_aws_opening(entry, "ipProtocol", ("cidrIpv4", "cidrIpv6"), "cidrIpv4")]
    return [o for o in found if o is not None and o.cidrs]


AWS_TYPES = (SECURITY_GROUP, DEFAULT_SECURITY_GROUP, SG_RULE, SG_INGRESS_RULE)


@resource_rule(
    id="TRL-NET-002", title="No admin ports open to the internet (AWS security groups)",
    description="No security group or security group rule opens an admin port "
                f"({_PORT_LIST}) to every internet address.",
    severity="critical", enforcement="mandatory",
    remediation="Narrow `cidr_blocks` / `cidr_ipv4` to your office or VPN ranges, or reference "
                "another security group; reach instances through SSM Session Manager or "
                "`kubectl debug node/NODE -n kube-system` instead of open SSH/RDP.",
    types=AWS_TYPES, checkov=["CKV_AWS_24", "CKV_AWS_25", "CKV_AWS_277"],
    trivy=["AVD-AWS-0107"],
    cdk_nag=["AwsSolutions-EC23", "EC2RestrictedSSH", "EC2RestrictedCommonPorts"])
def aws_security_group_admin_ports(res: Res, settings: Settings) -> Iterator[str]:
    where = "the security group" if res.type in (SECURITY_GROUP, DEFAULT_SECURITY_GROUP) \
        else "the rule"
    yield from report(aws_openings(res), where)


def _group_index(stack: Stack) -> Index:
    return Index(stack.of_type(SECURITY_GROUP, DEFAULT_SECURITY_GROUP), lambda g: [
        v for v in (g.peek("id"), g.peek("arn"), g.peek("name")) if isinstance(v, str)])


@stack_rule(
    id="TRL-NET-003", title="Split security group rules do not add up to the internet",
    description="The separate ingress rules of one security group do not together open an "
                "admin port to every internet address.",
    severity="critical", enforcement="mandatory",
    remediation="Remove the rules whose ranges complete the internet (e.g. 0.0.0.0/1 plus "
                "128.0.0.0/1) and list only the networks that need the port.",
    types=[*AWS_TYPES], checkov=["CKV_AWS_24", "CKV_AWS_25"], trivy=["AVD-AWS-0107"],
    cdk_nag=["AwsSolutions-EC23"])
def aws_split_rules_admin_ports(stack: Stack, settings: Settings) -> Iterator[tuple[str, str]]:
    groups = _group_index(stack)
    members: dict[str, list[Res]] = {}

    def collect(rule: Res) -> Iterator[str]:
        if not any(o.admin_ports() for o in aws_openings(rule)):
            return  # cannot add up to an admin port exposure, whatever its group
        target = groups.resolve(rule, "securityGroupId")
        ref = rule.get("securityGroupId") if target is None else target.urn  # unknown: closed
        if isinstance(ref, str):
            members.setdefault(ref, []).append(rule)
        yield from ()

    yield from each(stack.of_type(SG_RULE, SG_INGRESS_RULE), collect)
    for key, rules in members.items():
        group = groups.by_urn.get(key)
        parts = ([group] if group is not None else []) + rules
        if len(parts) < 2:
            continue
        # What no single part exposes on its own (TRL-NET-002 reports those) but all do together.
        alone = {(f, p) for part in parts for e in exposures(aws_openings(part))[0]
                 for f in e.families for p in e.ports}
        together, _ = exposures([o for part in parts for o in aws_openings(part)])
        names = ", ".join(part.label for part in parts)
        for exposure in together:
            new_ports = tuple(p for p in exposure.ports
                              if any((f, p) not in alone for f in exposure.families))
            if new_ports:
                shown = Exposure(exposure.families, new_ports)
                yield rules[0].urn, shown.describe(f"together, {names} open")
