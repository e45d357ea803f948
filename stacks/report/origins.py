"""Where in org.yaml each planned resource came from: the org path and its ``file:line:column``.

Nothing is threaded through the components: the resolved :class:`~stacks.org.spec.EnvSpec`
knows every team and entry key, and compose names each top-level component from those keys
(ADR 4 and 5: ``<team>-<pool>``, ``<team>-<purpose>``, ``<team>-<pipeline>``, ``<team>``,
``<team>-identity``, ...). So the names are rebuilt from the spec, never parsed (team and entry
keys may contain ``-``), and every resource inherits the origin of its outermost component.
Environment-level components (network, cluster, keys, registry settings, ...) come from
``platform`` or ``environments.<env>``. A resource whose component Trellis does not make (a
platform team's own addition, a test fixture) points at the program file that composes the
environment, ``stacks/compose/<cloud>.py``.

The positions come from the parsed document (:class:`stacks.org.yaml_source.Source`): the
key's line and column, or the closest ancestor that is written (``platform.network_cidr``
left to its default points at ``platform``, or at the environment when ``platform`` is absent).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stacks.org.errors import Path_, format_path
from stacks.org.spec import EnvSpec
from stacks.org.yaml_source import Source

#: Environment-level component types (last segment of the type token) -> org path under it.
#: ``None``: the environment's own entry (``environments.<env>``).
_ENV_LEVEL: dict[str, Path_ | None] = {
    "Services": None,
    "Network": ("platform", "network_cidr"),
    "Cluster": ("platform",),
    "CpuNodePool": ("platform",),
    "CpuNodeGroup": ("platform",),
    "EncryptionKeys": ("platform", "encryption"),
    "EnvironmentKey": None,
    "RegistrySettings": ("platform", "registry_scanning"),
    "ClusterAutoscaler": None,
    "TeamAdmission": ("teams",),  # one policy from every team's pools and registry
    "ProjectAccess": ("platform", "admins"),
    "Stack": None,
    "gcp": None, "aws": None, "kubernetes": None,  # providers (pulumi:providers:<name>)
}


@dataclass(frozen=True)
class Location:
    """A place in a file: what a finding points at.

    ``path`` is relative to the repository root (posix, what SARIF and GitHub want), ``display``
    the path as the user gave it (what a terminal makes clickable), ``org_path`` the dotted
    org.yaml path (``teams.recsys.gpu_pools.train``) or ``""`` for the program file.
    """

    path: str
    line: int
    column: int
    org_path: str = ""
    display: str = ""
    length: int = 1  # characters of the key written there (the region GitHub highlights)

    @property
    def from_org(self) -> bool:
        return bool(self.org_path)

    def text(self) -> str:
        """``stacks/org.yaml:27:7``."""
        return f"{self.display or self.path}:{self.line}:{self.column}"

    def to_json(self) -> dict[str, Any]:
        return {"path": self.path, "line": self.line, "column": self.column,
                "org_path": self.org_path or None}


def repo_relative(file: str | Path, *, start: Path | None = None) -> str:
    """``file`` relative to the root of the git repository holding it (posix separators).

    Outside any repository: relative to the working directory when below it, else absolute.
    """
    path = Path(file).resolve()
    for parent in path.parents:
        if (parent / ".git").exists():
            return path.relative_to(parent).as_posix()
    cwd = (start or Path.cwd()).resolve()
    try:
        return path.relative_to(cwd).as_posix()
    except ValueError:
        return path.as_posix()


def program_location(cloud: str) -> Location:
    """The file that composes an environment of ``cloud``: where non-org resources point."""
    import stacks.compose as compose

    file = Path(compose.__file__).with_name(f"{'aws' if cloud == 'aws' else 'gcp'}.py")
    display = os.path.relpath(file) if _below_cwd(file) else str(file)
    return Location(repo_relative(file), 1, 1, "", display)


def _below_cwd(file: Path) -> bool:
    try:
        file.resolve().relative_to(Path.cwd().resolve())
    except ValueError:
        return False
    return True


class Locator:
    """Positions of org paths in one parsed org file."""

    def __init__(self, source: Source, file: str | Path, env: str) -> None:
        self.source, self.env = source, env
        self.display = str(file)
        self.uri = repo_relative(file)

    def written(self, path: Path_) -> bool:
        return tuple(path) in self.source.key_pos or tuple(path) in self.source.value_pos

    def locate(self, path: Path_) -> Location:
        """``path`` where it is written, else its closest written ancestor, else the
        environment's entry (a defaulted ``platform``), else line 1."""
        for probe in _ancestors(tuple(path)):
            pos = self.source.key_pos.get(probe) or self.source.value_pos.get(probe)
            if pos is not None:
                return Location(self.uri, pos[0], pos[1], format_path(path), self.display,
                                max(1, len(str(probe[-1]))))
        env_pos = self.source.key_pos.get(("environments", self.env))
        line, col = env_pos if env_pos else (1, 1)
        return Location(self.uri, line, col, format_path(path), self.display)

    def first_written(self, paths: Iterable[Path_]) -> Path_ | None:
        for path in paths:
            if self.written(path):
                return tuple(path)
        return None


def _ancestors(path: Path_) -> Iterable[Path_]:
    while path:
        yield path
        path = path[:-1]


def component_paths(spec: EnvSpec) -> dict[tuple[str, str], Path_]:
    """``(kind, logical name) -> org path`` for every component compose makes from a key.

    ``kind`` is the last segment of the component's type token, with the clouds' synonyms
    folded (``GpuNodeGroup`` is a ``GpuNodePool``, ``WarmCapacity`` belongs to its pool).
    """
    out: dict[tuple[str, str], Path_] = {}
    for t, team in spec.teams.items():
        base: Path_ = ("teams", t)
        for name in (t, f"{t}-identity", f"{t}-registry"):
            out[("Team", name)] = base
        out[("Budget", t)] = out[("Budget", f"{t}-budget")] = (*base, "budget_usd")
        for p in team.pools:
            out[("GpuNodePool", f"{t}-{p}")] = (*base, "gpu_pools", p)
        for b in team.buckets:
            out[("Bucket", f"{t}-{b}")] = (*base, "buckets", b)
        if team.pipelines:
            out[("Bucket", f"{t}-pipeline-root")] = (*base, "pipelines")
        for p in team.pipelines:
            out[("Pipeline", f"{t}-{p}")] = (*base, "pipelines", p)
    return out


_KIND = {"GpuNodeGroup": "GpuNodePool", "WarmCapacity": "GpuNodePool",
         "TeamIdentity": "Team", "TeamRegistry": "Team", "TeamNamespace": "Team",
         "AlertChannels": "Team"}


def _field(obj: Any, name: str) -> Any:
    return obj.get(name) if isinstance(obj, Mapping) else getattr(obj, name, None)


def origin_paths(resources: Sequence[Any], spec: EnvSpec) -> dict[str, Path_ | None]:
    """URN -> the org path its outermost component came from; None: not made from org.yaml."""
    by_urn = {_field(r, "urn"): r for r in resources}
    table = component_paths(spec)
    env_path: Path_ = ("environments", spec.name)
    out: dict[str, Path_ | None] = {}
    for r in resources:
        top = r
        seen = {_field(r, "urn")}
        while True:
            parent = by_urn.get(_field(top, "parent"))
            if parent is None or _field(parent, "urn") in seen or str(
                    _field(parent, "type")).startswith("pulumi:pulumi:Stack"):
                break
            seen.add(_field(parent, "urn"))
            top = parent
        type_ = str(_field(top, "type"))
        ours = type_.startswith(("trellis:", "pulumi:"))
        kind = type_.rsplit(":", 1)[-1]
        key = (_KIND.get(kind, kind), str(_field(top, "name")))
        if ours and kind == "ProjectAccess" and top is not r:
            out[_field(r, "urn")] = _access_origin(str(_field(r, "name")), spec)
        elif ours and key in table:
            out[_field(r, "urn")] = table[key]
        elif ours and kind in _ENV_LEVEL:
            under = _ENV_LEVEL[kind]
            out[_field(r, "urn")] = env_path if under is None else under
        else:
            out[_field(r, "urn")] = None
    return out


def _access_origin(name: str, spec: EnvSpec) -> Path_:
    """``access-<principal>-<role>``: the team whose ``members`` list the principal, else the
    administrators (``platform.admins`` or the environment's own ``admins``)."""
    for t, team in spec.teams.items():
        if any(name.startswith(f"access-{m}-") for m in team.members):
            return ("teams", t, "members")
    return tuple(spec.platform.admins_from.split("."))


@dataclass(frozen=True)
class Place:
    """Where a finding points and which org.yaml field fixes it."""

    location: Location
    fix_field: str = ""  # dotted org.yaml path, "" when no field decides the rule
    fix_advice: str = ""


class Origins:
    """Origins of one plan's resources in one org file: :meth:`place` locates a finding."""

    def __init__(self, locator: Locator | None, paths: Mapping[str, Path_ | None],
                 cloud: str, env: str) -> None:
        self.locator, self.paths, self.cloud, self.env = locator, paths, cloud, env
        self.program = program_location(cloud)

    @classmethod
    def of(cls, resources: Sequence[Any], spec: EnvSpec, source: Source,
           file: str | Path) -> Origins:
        return cls(Locator(source, file, spec.name), origin_paths(resources, spec),
                   spec.cloud, spec.name)

    @classmethod
    def program_only(cls, cloud: str, env: str) -> Origins:
        """Every resource points at the program file (plans not made from an org file)."""
        return cls(None, {}, cloud, env)

    def place(self, rule_id: str, urn: str) -> Place:
        from stacks.report import fixes

        origin = self.paths.get(urn) if urn else ("environments", self.env)
        if self.locator is None or origin is None:
            # Not made from org.yaml: the program file, and no org.yaml field can fix it.
            return Place(self.program)
        options = fixes.candidates(rule_id, origin, self.env)
        if not options:
            return Place(self.locator.locate(origin))
        written = self.locator.first_written(options)
        return Place(self.locator.locate(written or origin), format_path(written or options[-1]),
                     fixes.advice(rule_id, origin, self.env))
