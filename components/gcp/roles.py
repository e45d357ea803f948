"""What Google Cloud's predefined IAM roles that Trellis grants (or removes) allow.

``components/data/gcp_roles.json`` holds, for each such role, its permissions as Google
publishes them (the file's ``source`` names the export and its date; ``sources.csv`` id
``gcp-predefined-roles``). The handoff resolves the planned role bindings to permissions through
it (:mod:`stacks.handoff.promises`), the isolation tests read the same table. A role Trellis
starts granting must be added here: :func:`permissions` refuses to guess.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

__all__ = ["UnknownRoleError", "permissions", "roles_source", "table"]


class UnknownRoleError(KeyError):
    """A role that is not in the table (add it from the source the table names)."""


@cache
def table() -> dict[str, Any]:
    text = resources.files("components.data").joinpath("gcp_roles.json").read_text("utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


def roles_source() -> str:
    return str(table()["source"])


def permissions(role: str) -> frozenset[str]:
    """Every permission of the predefined ``role`` (``roles/storage.objectAdmin``)."""
    try:
        return frozenset(table()["roles"][role])
    except KeyError:
        raise UnknownRoleError(f"{role} is not in components/data/gcp_roles.json: add its "
                          f"permissions from {roles_source()}") from None
