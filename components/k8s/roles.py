"""What the Kubernetes user-facing ClusterRoles and the EKS access policies allow.

``components/data/k8s_roles.csv``: the rules of ``view``, ``edit``, ``admin`` and
``cluster-admin`` for the resources the handoff's recipes use (Kubernetes' bootstrap policy,
v1.34), and each EKS access policy as the role it carries (EKS documentation). Only what the
recipes need is listed: a resource not in the table is not allowed by ``view``/``edit`` here,
which errs on the side of promising less.
"""

from __future__ import annotations

import csv
from functools import cache
from importlib import resources

__all__ = ["allows", "roles"]


@cache
def roles() -> dict[str, list[tuple[str, frozenset[str], frozenset[str]]]]:
    """role -> [(api group, resources, verbs)]; EKS policies resolved to their role."""
    text = resources.files("components.data").joinpath("k8s_roles.csv").read_text("utf-8")
    rows = list(csv.DictReader(text.splitlines()))
    out: dict[str, list[tuple[str, frozenset[str], frozenset[str]]]] = {}
    aliases: dict[str, str] = {}
    for row in rows:
        group = row["api_group"]
        if group.startswith("="):
            aliases[row["role"]] = group[1:]
            continue
        out.setdefault(row["role"], []).append(
            (group, frozenset(row["resources"].split(";")), frozenset(row["verbs"].split(";"))))
    for alias, target in aliases.items():
        out[alias] = out[target]
    return out


def allows(role: str, verb: str, resource: str, api_group: str = "") -> bool:
    """Whether ``role`` (a ClusterRole name or an EKS access policy name) allows ``verb`` on
    ``resource`` (``pods/log``) of ``api_group`` (``""`` for the core group)."""
    for group, names, verbs in roles().get(role, ()):
        if group in ("*", api_group) and ("*" in names or resource in names) and \
                ("*" in verbs or verb in verbs):
            return True
    return False
