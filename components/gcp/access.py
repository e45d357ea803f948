"""Project roles of people: platform admins and team members, one grant per principal and role.

Kept apart from the teams on purpose: a person in two teams needs ``container.clusterViewer``
once. Two additive members for the same binding (one per team) would let removing the person
from one team revoke the role they still need for the other. Here each (principal, role) is one
resource whose logical name does not depend on which teams list the principal.
"""

# No `from __future__ import annotations`: hosted for other languages (docs/adr/0006).
from collections.abc import Mapping, Sequence
from typing import TypedDict

import pulumi

from components.gcp import _iam

PRIMITIVE_ROLES = frozenset({"roles/owner", "roles/editor", "roles/viewer"})


class GcpProjectAccessArgs(TypedDict):
    """Arguments of :class:`GcpProjectAccess`."""

    project: pulumi.Input[str]
    """Project id (``Services.project``)."""
    grants: Mapping[str, Sequence[str]]
    """IAM principal (``group:...``, ``user:...``) -> project roles it gets. Primitive roles
    (owner, editor, viewer) are refused."""


class GcpProjectAccess(pulumi.ComponentResource):
    """Additive project IAM members for people, one per (principal, role)."""

    principals: pulumi.Output[Sequence[str]]
    """The principals granted something, sorted."""

    def __init__(self, name: str, args: GcpProjectAccessArgs,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("trellis:gcp:ProjectAccess", name, None, opts)
        grants = {p: sorted(set(roles)) for p, roles in sorted(args["grants"].items())}
        primitive = sorted({f"{p}: {r}" for p, roles in grants.items() for r in roles
                            if r in PRIMITIVE_ROLES})
        if primitive:
            raise ValueError(f"ProjectAccess '{name}': primitive roles are not granted, use "
                             f"predefined roles: {', '.join(primitive)}")
        for principal, roles in grants.items():
            _iam.project_roles(self, f"{name}-{principal}", project=args["project"],
                               member=principal, roles=roles)
        self.principals = pulumi.Output.from_input(sorted(grants))
        self.register_outputs({"principals": self.principals})


ProjectAccess = GcpProjectAccess
"""Python name of :class:`GcpProjectAccess`."""
ProjectAccessArgs = GcpProjectAccessArgs
