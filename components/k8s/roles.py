"""What the Kubernetes user-facing ClusterRoles and the EKS access policies allow.

``components/data/k8s_roles.json``: the rules of ``view``, ``edit``, ``admin`` and
``cluster-admin`` for the resources the handoff's recipes use (Kubernetes' bootstrap policy,
v1.34), and each EKS access policy as the role it carries (EKS documentation). Only what the
recipes need is listed: a resource not in the table is not allowed by ``view``/``edit`` here,
which errs on the side of promising less.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources

__all__ = ["allows", "roles"]


@cache
def roles() -> dict[str, list[tuple[str, frozenset[str], frozenset[str]]]]:
    """role -> [(api group, resources, verbs)]; EKS policies resolved to their role."""
    text = resources.files("components.data").joinpath("k8s_roles.json").read_text("utf-8")
    data = json.loads(text)
    out: dict[str, list[tuple[str, frozenset[str], frozenset[str]]]] = {
        role: [(group, frozenset(rule["resources"]), frozenset(rule["verbs"]))
               for rule in rules for group in rule["apiGroups"]]
        for role, rules in data["roles"].items()}
    for policy, role in data["eks_access_policies"].items():
        out[policy] = out[role]
    return out


def allows(role: str, verb: str, resource: str, api_group: str = "") -> bool:
    """Whether ``role`` (a ClusterRole name or an EKS access policy name) allows ``verb`` on
    ``resource`` (``pods/log``) of ``api_group`` (``""`` for the core group)."""
    for group, names, verbs in roles().get(role, ()):
        if group in ("*", api_group) and ("*" in names or resource in names) and \
                ("*" in verbs or verb in verbs):
            return True
    return False
