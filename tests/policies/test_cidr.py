"""The CIDR arithmetic behind the exposure rules agrees with the standard library's.

``policies.cidr`` merges ranges into integer intervals; :mod:`ipaddress` collapses the same
networks into the minimal list of CIDR blocks. A set of ranges covers a network exactly when one
collapsed block contains it, so the two must agree on every input. Inputs come from carving the
address space into random blocks (so coverage happens often, with gaps when blocks are dropped)
plus arbitrary networks with host bits set.
"""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from policies.cidr import INTERNET, Ranges, covers_internet, parse

BOUNDED = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
BITS = {4: 32, 6: 128}


@st.composite
def carved(draw: st.DrawFn, version: int) -> list[str]:
    """Blocks from splitting the whole family at random; some dropped, some shuffled."""
    bits = BITS[version]
    blocks = [ipaddress.ip_network(INTERNET[version])]
    for _ in range(draw(st.integers(0, 6))):
        i = draw(st.integers(0, len(blocks) - 1))
        net = blocks[i]
        if net.prefixlen < bits:
            blocks[i:i + 1] = list(net.subnets(prefixlen_diff=1))
    kept = [b for b in blocks if draw(st.booleans()) or draw(st.integers(0, 4)) > 0]
    return [str(b) for b in draw(st.permutations(kept))]


@st.composite
def loose(draw: st.DrawFn, version: int) -> str:
    """Any network written with host bits, as people (and some providers) write them."""
    bits = BITS[version]
    address = draw(st.integers(0, 2**bits - 1))
    prefix = draw(st.integers(0, bits))
    text = str(ipaddress.ip_address(address) if version == 4
               else ipaddress.IPv6Address(address))
    return f"{text}/{prefix}"


def ranges_of(version: int) -> st.SearchStrategy[list[str]]:
    return st.builds(lambda a, b: a + b, carved(version), st.lists(loose(version), max_size=4))


def reference_covers(cidrs: list[str], target: str) -> bool:
    nets = [ipaddress.ip_network(c, strict=False) for c in cidrs]
    want = ipaddress.ip_network(target, strict=False)
    same = [n for n in nets if n.version == want.version]
    return any(want.subnet_of(block)  # type: ignore[arg-type]
               for block in ipaddress.collapse_addresses(same))  # type: ignore[type-var]


@BOUNDED
@given(version=st.sampled_from([4, 6]), data=st.data())
def test_internet_coverage_matches_ipaddress(version: int, data: st.DataObject) -> None:
    cidrs = data.draw(ranges_of(version))
    expected = reference_covers(cidrs, INTERNET[version])
    assert (INTERNET[version] in covers_internet(cidrs)) is expected, (
        f"ranges {cidrs}: ipaddress says covers {INTERNET[version]} = {expected}")


@BOUNDED
@given(version=st.sampled_from([4, 6]), data=st.data())
def test_coverage_of_any_target_matches_ipaddress(version: int, data: st.DataObject) -> None:
    cidrs = data.draw(ranges_of(version))
    target = data.draw(loose(version))
    assert Ranges.of(cidrs).covers(target) is reference_covers(cidrs, target), (
        f"ranges {cidrs}, target {target}")


@pytest.mark.parametrize(("cidrs", "expected"), [
    (["0.0.0.0/0"], ["0.0.0.0/0"]),
    (["0.0.0.0/1", "128.0.0.0/1"], ["0.0.0.0/0"]),
    (["10.0.0.0/0"], ["0.0.0.0/0"]),  # host bits set: still the whole internet
    (["::/1", "8000::/1"], ["::/0"]),
    (["0.0.0.0/1", "128.0.0.0/2", "192.0.0.0/2", "::/0"], ["0.0.0.0/0", "::/0"]),
    (["0.0.0.0/1"], []),  # half the internet is not all of it
    (["0.0.0.0/1", "128.0.0.0/2", "192.0.0.0/3"], []),  # 224.0.0.0/3 missing
    (["203.0.113.0/24", "not-a-cidr"], []),
    ([], []),
])
def test_examples(cidrs: list[str], expected: list[str]) -> None:
    assert covers_internet(cidrs) == expected, f"{cidrs} should cover {expected}"


def test_invalid_ranges_are_kept_for_the_message() -> None:
    assert Ranges.of(["10.0.0.0/8", "10.0.0.0/33", "office"]).invalid == ("10.0.0.0/33", "office")
    with pytest.raises(ValueError):
        parse("256.0.0.0/8")
