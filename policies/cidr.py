"""CIDR arithmetic for exposure rules: does a set of ranges add up to the whole internet?

Checking for the literal ``0.0.0.0/0`` misses the same exposure spelt another way:
``0.0.0.0/1`` + ``128.0.0.0/1`` is every IPv4 address, so is ``0.0.0.0/0`` written with host
bits (``10.0.0.0/0``). Rules that judge firewall rules, security groups and control-plane
allowlists therefore merge the ranges they are given into intervals per address family and ask
whether the union covers a target range. One implementation, used by every such rule
(TRL-NET-*, TRL-GKE-002, TRL-EKS-001) and held to :mod:`ipaddress` by property tests.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

#: The whole internet per address family, as rules name it in messages.
INTERNET: dict[int, str] = {4: "0.0.0.0/0", 6: "::/0"}


def parse(cidr: str) -> IPNetwork:
    """``cidr`` as a network; host bits are dropped as the clouds do (``10.1.2.3/8`` is
    ``10.0.0.0/8``), a bare address is a /32 (/128). Raises ValueError when it is not a range."""
    return ipaddress.ip_network(str(cidr).strip(), strict=False)


@dataclass(frozen=True)
class Ranges:
    """Parsed ranges, merged into sorted disjoint ``[first, last]`` intervals per family."""

    intervals: dict[int, tuple[tuple[int, int], ...]]
    invalid: tuple[str, ...]  # inputs that are not CIDR ranges, as given

    @classmethod
    def of(cls, cidrs: Iterable[str]) -> Ranges:
        spans: dict[int, list[tuple[int, int]]] = {4: [], 6: []}
        invalid: list[str] = []
        for cidr in cidrs:
            try:
                net = parse(cidr)
            except ValueError:
                invalid.append(str(cidr))
                continue
            spans[net.version].append((int(net.network_address), int(net.broadcast_address)))
        return cls({v: _merge(s) for v, s in spans.items()}, tuple(invalid))

    def covers(self, target: str | IPNetwork) -> bool:
        """True when every address of ``target`` lies in one of the ranges."""
        net = parse(target) if isinstance(target, str) else target
        first, last = int(net.network_address), int(net.broadcast_address)
        return any(lo <= first and last <= hi for lo, hi in self.intervals[net.version])

    def internet(self) -> list[str]:
        """The families (``0.0.0.0/0``, ``::/0``) whose every address the ranges cover."""
        return [INTERNET[v] for v in (4, 6) if self.covers(INTERNET[v])]


def _merge(spans: list[tuple[int, int]]) -> tuple[tuple[int, int], ...]:
    out: list[list[int]] = []
    for lo, hi in sorted(spans):
        if out and lo <= out[-1][1] + 1:  # overlapping or adjacent: one interval
            out[-1][1] = max(out[-1][1], hi)
        else:
            out.append([lo, hi])
    return tuple((lo, hi) for lo, hi in out)


def covers_internet(cidrs: Iterable[str]) -> list[str]:
    """``0.0.0.0/0`` and/or ``::/0`` when the union of ``cidrs`` covers that whole family."""
    return Ranges.of(cidrs).internet()
