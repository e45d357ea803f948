"""The Pulumi program: one environment of org.yaml built from components.

``pulumi up -s <env>`` runs :func:`main` (through ``stacks/__main__.py``); ``trellis plan`` runs
:func:`build` under the offline engine. Both go through :func:`build`, so what CI checks is
what gets deployed.
"""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path
from typing import Any

import pulumi

from stacks.org.load import DEFAULT_ORG, load
from stacks.org.resolve import resolve
from stacks.org.spec import EnvSpec


def build(env: EnvSpec, teams: Collection[str] | None = None) -> dict[str, Any]:
    """Create every resource of ``env`` and export the stack outputs; returns the outputs.

    ``teams`` (sharded planning, :mod:`stacks.plan.shards`): create only these teams' resources.
    Environment-wide resources are still made from the whole spec (every team's members and
    names), so each shard registers them as the whole program does; ``None`` (``pulumi up``,
    a plain ``trellis plan``) is every team.
    """
    if env.cloud == "gcp":
        from stacks.compose.gcp import build_gcp

        outputs = build_gcp(env, teams=teams)
    else:
        from stacks.compose.aws import build_aws

        outputs = build_aws(env, teams=teams)
    for key, value in outputs.items():
        pulumi.export(key, value)
    return outputs


def project_root(start: Path | None = None) -> Path:
    """The directory holding Pulumi.yaml (the program runs with ``stacks/`` as cwd)."""
    here = (start or Path.cwd()).resolve()
    for candidate in (here, *here.parents):
        if (candidate / "Pulumi.yaml").is_file():
            return candidate
    return here


def org_path_from_config() -> Path:
    """``trellis:org`` from the stack config, relative to the project root."""
    configured = pulumi.Config("trellis").get("org")
    path = Path(configured) if configured else DEFAULT_ORG
    return path if path.is_absolute() else project_root() / path


def main() -> None:
    """Entry point under the Pulumi CLI: the environment is the stack name."""
    from stacks.org.errors import OrgError

    env_name = pulumi.Config("trellis").get("environment") or pulumi.get_stack()
    try:
        spec = resolve(load(org_path_from_config()), env_name)
    except OrgError as exc:
        # RunError is reported by the language host without a Python traceback.
        raise pulumi.RunError(f"org.yaml is not valid:\n{exc}") from None
    build(spec)
