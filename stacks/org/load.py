"""Load org.yaml: parse with positions, validate the model, check every rule, report all at once.

``load()`` is the single entry point used by the CLI, the Pulumi program and the tests. It
never imports Pulumi, so ``trellis validate`` stays fast enough for an editor.
"""

from __future__ import annotations

import copy
import ipaddress
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from components import catalog
from stacks.org import rules
from stacks.org.errors import Issue, OrgError, Path_, did_you_mean, format_path
from stacks.org.model import Org
from stacks.org.yamlsrc import Source, parse

DEFAULT_ORG = Path("stacks/org.yaml")


@dataclass(frozen=True)
class LoadedOrg:
    """A valid org file: the model plus where each value came from."""

    org: Org
    source: Source
    path: Path

    @property
    def environments(self) -> tuple[str, ...]:
        return tuple(self.org.environments)


def _unwrap(tp: Any) -> Any:
    """Optional[X] / X | None -> X."""
    args = [a for a in typing.get_args(tp) if a is not type(None)]
    if typing.get_origin(tp) in (typing.Union, getattr(__import__("types"), "UnionType", None)):
        return args[0] if len(args) == 1 else tp
    return tp


def _model_at(loc: Path_) -> type[BaseModel] | None:
    """The model class whose fields live at ``loc`` (for 'allowed keys' in messages)."""
    current: Any = Org
    for part in loc:
        current = _unwrap(current)
        if isinstance(current, type) and issubclass(current, BaseModel):
            field = current.model_fields.get(str(part))
            if field is None:
                return None
            current = field.annotation
            continue
        origin = typing.get_origin(current)
        if origin is dict:
            current = typing.get_args(current)[1]
        elif origin in (tuple, list):
            current = typing.get_args(current)[0]
        else:
            return None
    current = _unwrap(current)
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def _describe(value: Any) -> str:
    if isinstance(value, (dict, list)):
        return "a mapping" if isinstance(value, dict) else "a list"
    return repr(value) if isinstance(value, str) else str(value)


_TYPE_WORDS = {
    "int_type": "a whole number", "int_parsing": "a whole number",
    "int_from_float": "a whole number", "float_type": "a number", "float_parsing": "a number",
    "bool_type": "true or false", "bool_parsing": "true or false",
    "string_type": "a string", "dict_type": "a mapping (key: value)",
    "tuple_type": "a list", "list_type": "a list", "model_type": "a mapping (key: value)",
    "model_attributes_type": "a mapping (key: value)",
}


def _pydantic_issues(exc: ValidationError, src: Source) -> list[Issue]:
    out = []
    for err in exc.errors():
        loc: Path_ = tuple(err["loc"])
        kind, given, ctx = err["type"], err.get("input"), err.get("ctx") or {}
        if kind == "extra_forbidden":
            model = _model_at(loc[:-1])
            allowed = sorted(model.model_fields) if model else []
            msg = (f"unknown key '{loc[-1]}'{did_you_mean(loc[-1], allowed)}; allowed keys: "
                   f"{', '.join(allowed)}")
            out.append(src.issue(loc, msg, at_key=True))
            continue
        if kind == "missing":
            out.append(src.issue(loc[:-1], f"'{loc[-1]}' is required here; add "
                                 f"`{loc[-1]}: ...` (see `trellis schema`)"))
            continue
        if kind == "literal_error":
            allowed_text = str(ctx.get("expected", ""))
            allowed = [a.strip(" '") for a in allowed_text.replace(" or ", ",").split(",")]
            msg = (f"got {_describe(given)}; allowed: {allowed_text}"
                   f"{did_you_mean(given, allowed)}")
        elif kind in _TYPE_WORDS:
            msg = f"expected {_TYPE_WORDS[kind]}; got {_describe(given)}"
            if loc and loc[-1] == "account" and isinstance(given, int):
                msg += " (quote AWS account ids: account: \"012345678901\")"
        elif kind in ("greater_than_equal", "greater_than", "less_than_equal", "less_than"):
            msg = f"got {_describe(given)}; {err['msg'].lower().replace('input ', '')}"
        else:
            msg = f"{err['msg']}; got {_describe(given)}"
        out.append(src.issue(loc, msg))
    return out


class _Checker:
    """Rules beyond types: formats per cloud, references, the catalogue, names."""

    def __init__(self, org: Org, src: Source, base_dir: Path) -> None:
        self.org, self.src, self.base_dir = org, src, base_dir
        self.issues: list[Issue] = []

    def add(self, path: Path_, msg: str, *, at_key: bool = False) -> None:
        self.issues.append(self.src.issue(path, msg, at_key=at_key))

    def fmt(self, path: Path_, value: str, rule: rules.Rule, *, at_key: bool = False,
            what: str = "") -> None:
        if not rule.ok(value):
            self.add(path, f"{what}'{value}' is not valid: expected {rule.explain}",
                     at_key=at_key)

    def labels(self, path: Path_, labels: dict[str, str]) -> None:
        key_rule, value_rule = rules.label_rules(self.org.cloud)
        for k, v in labels.items():
            self.fmt((*path, k), k, key_rule, at_key=True, what="label key ")
            self.fmt((*path, k), v, value_rule, what="label value ")

    def region(self, path: Path_, region: str) -> None:
        known = catalog.regions(self.org.cloud)
        if region not in known:
            self.add(path, f"'{region}' is not a {self.org.cloud} region"
                     f"{did_you_mean(region, known)}")

    def members(self, path: Path_, members: tuple[str, ...]) -> None:
        rule = rules.GCP_MEMBER if self.org.cloud == "gcp" else rules.AWS_MEMBER
        for i, m in enumerate(members):
            self.fmt((*path, i), m, rule)

    def run(self) -> list[Issue]:
        o = self.org
        self.fmt(("org",), o.org, rules.ORG)
        self.region(("region",), o.region)
        self.labels(("labels",), o.labels)
        for i, c in enumerate(o.contacts):
            self.fmt(("contacts", i), c, rules.EMAIL)
        self._platform()
        self._environments()
        for name, team in o.teams.items():
            self._team(name, team)
        return self.issues

    def _platform(self) -> None:
        p = self.org.platform
        try:
            net = ipaddress.IPv4Network(p.network_cidr)
            if not 8 <= net.prefixlen <= 20:
                self.add(("platform", "network_cidr"), f"'{p.network_cidr}' is a /{net.prefixlen}"
                         "; use a /8 to /20 so nodes, pods and services fit")
            elif not net.is_private:
                self.add(("platform", "network_cidr"), f"'{p.network_cidr}' is not a private "
                         "range; use 10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16 space")
        except ValueError as exc:
            self.add(("platform", "network_cidr"), f"'{p.network_cidr}' is not an IPv4 network "
                     f"({exc}); e.g. 10.0.0.0/16")
        for i, cidr in enumerate(p.admin_cidrs):
            try:
                admin_net = ipaddress.ip_network(cidr)
            except ValueError as exc:
                self.add(("platform", "admin_cidrs", i), f"'{cidr}' is not a CIDR range ({exc})")
                continue
            if admin_net.prefixlen == 0:
                self.add(("platform", "admin_cidrs", i), f"'{cidr}' would open the cluster API "
                         "to the whole internet; list your office or VPN ranges instead")
        if p.billing_account is not None:
            if self.org.cloud != "gcp":
                self.add(("platform", "billing_account"), "billing_account is for gcp only; AWS "
                         "budgets need no billing account, remove the key")
            else:
                self.fmt(("platform", "billing_account"), p.billing_account, rules.GCP_BILLING)
        self.members(("platform", "admins"), p.admins)
        if p.gke_security_group is not None:
            if self.org.cloud != "gcp":
                self.add(("platform", "gke_security_group"), "gke_security_group is for gcp "
                         "only; on aws team access goes through EKS access entries")
            elif not p.gke_security_group.startswith("gke-security-groups@"):
                self.add(("platform", "gke_security_group"), f"'{p.gke_security_group}' is not "
                         "valid: GKE only accepts a group named gke-security-groups@<your domain>")
        if self.org.cloud == "aws" and not p.admins:
            self.add(("platform",), "admins is required on aws: list the IAM role ARN(s) that run "
                     "`pulumi up` and administer the cluster (EKS grants no implicit creator "
                     "access, so nothing could create the team namespaces)")

    def _environments(self) -> None:
        o = self.org
        if not o.environments:
            self.add(("environments",), "at least one environment is needed, e.g. "
                     "`dev: {project: my-project}`")
        seen: dict[str, str] = {}
        for name, env in o.environments.items():
            path: Path_ = ("environments", name)
            self.fmt(path, name, rules.ENV_KEY, at_key=True, what="environment name ")
            if o.cloud == "gcp":
                if env.account is not None:
                    self.add((*path, "account"), "account is for aws; on gcp use project")
                if env.project is None:
                    self.add(path, "project is required on gcp: the GCP project id to deploy "
                             "this environment into")
                else:
                    self.fmt((*path, "project"), env.project, rules.GCP_PROJECT)
                    if env.project in seen:
                        self.add((*path, "project"), f"project '{env.project}' is already used by "
                                 f"environment '{seen[env.project]}'; every environment needs its "
                                 "own project (names of clusters and service accounts would "
                                 "collide)")
                    seen.setdefault(env.project, name)
            else:
                if env.project is not None:
                    self.add((*path, "project"), "project is for gcp; on aws use account")
                if env.account is None:
                    self.add(path, "account is required on aws: the 12-digit account id, quoted")
                else:
                    self.fmt((*path, "account"), env.account, rules.AWS_ACCOUNT)
            if env.region is not None:
                self.region((*path, "region"), env.region)
            self.labels((*path, "labels"), env.labels)

    def _env_ref(self, path: Path_, env: str, allowed: Any) -> bool:
        if env in allowed:
            return True
        self.add(path, f"environment '{env}' is not defined{did_you_mean(env, allowed)}; "
                 f"defined: {', '.join(allowed) or 'none'}")
        return False

    def _team(self, name: str, team: Any) -> None:
        path: Path_ = ("teams", name)
        self.fmt(path, name, rules.TEAM_KEY, at_key=True, what="team name ")
        self.members((*path, "members"), team.members)
        for i, c in enumerate(team.contacts):
            self.fmt((*path, "contacts", i), c, rules.EMAIL)
        if team.cost_center is not None:
            self.fmt((*path, "cost_center"), team.cost_center, rules.label_rules(self.org.cloud)[1])
        if team.budget_usd is not None and team.budget_usd < 0:
            self.add((*path, "budget_usd"), f"got {team.budget_usd:g}; a budget is 0 or more USD "
                     "per month")
        envs = tuple(self.org.environments)
        for i, env in enumerate(team.environments or ()):
            self._env_ref((*path, "environments", i), env, envs)
        if team.environments is not None and not team.environments:
            self.add((*path, "environments"), "an empty list deploys the team nowhere; remove the "
                     "key to deploy it everywhere")
        for section in ("gpu_pools", "buckets", "pipelines"):
            for key, entry in getattr(team, section).items():
                self.fmt((*path, section, key), key, rules.ENTRY_KEY, at_key=True,
                         what=f"{section[:-1].replace('_', ' ')} name ")
                for j, old in enumerate(entry.previous_names):
                    self.fmt((*path, section, key, "previous_names", j), old, rules.ENTRY_KEY)
        for j, old in enumerate(team.previous_names):
            self.fmt((*path, "previous_names", j), old, rules.TEAM_KEY)
        if team.pipelines and "pipeline-root" in team.buckets:
            self.add((*path, "buckets", "pipeline-root"), "the bucket purpose 'pipeline-root' is "
                     "reserved for pipeline runs; choose another name", at_key=True)
        team_envs = team.environments or envs
        for env, override in team.overrides.items():
            opath = (*path, "overrides", env)
            if not self._env_ref(opath, env, envs):
                continue
            if env not in team_envs:
                self.add(opath, f"the team is not deployed to '{env}' (see "
                         f"{format_path((*path, 'environments'))}); remove the override or add "
                         "the environment", at_key=True)
            for section in ("gpu_pools", "buckets", "pipelines"):
                for key in getattr(override, section):
                    if key not in getattr(team, section):
                        known = list(getattr(team, section))
                        where = format_path((*path, section))
                        self.add((*opath, section, key), f"'{key}' is not one of the team's "
                                 f"{section}{did_you_mean(key, known)}; overrides change "
                                 f"existing entries (declare it under {where})", at_key=True)
            if override.members is not None:
                self.members((*opath, "members"), override.members)
            if override.budget_usd is not None and override.budget_usd < 0:
                self.add((*opath, "budget_usd"), f"got {override.budget_usd:g}; a budget is 0 or "
                         "more USD per month")


def load(path: str | Path = DEFAULT_ORG) -> LoadedOrg:
    """Load and fully validate an org file, raising :class:`OrgError` with every problem."""
    from stacks.org.resolve import resolve_all

    file = Path(path)
    try:
        raw = file.read_bytes()
    except FileNotFoundError:
        raise OrgError([Issue("no such file; create it (see `trellis schema`) or pass the "
                              "path of your org file", (), str(file))]) from None
    except OSError as exc:
        raise OrgError([Issue(f"cannot read the file: {exc.strerror}", (), str(file))]) from None
    return load_text(raw, str(file), base_dir=file.resolve().parent, resolve=resolve_all)


def load_text(raw: bytes | str, file: str, *, base_dir: Path,
              resolve: Any = None) -> LoadedOrg:
    """Like :func:`load` for text already in memory (tests, editors)."""
    src = parse(raw, file)
    org, issues, pruned = _validate_model(src)
    if org is None:
        raise OrgError(sorted(issues, key=_order))
    loaded = LoadedOrg(org, src, Path(file))
    if resolve is None:
        from stacks.org.resolve import resolve_all as resolve
    # Resolution checks the catalogue and names per environment; run it even when other
    # rules failed, so every problem is reported in one go (duplicates folded). Values dropped
    # for type errors would show up again as "missing" at their parent: skip those.
    more = _Checker(org, src, base_dir).run() + resolve(loaded, base_dir=base_dir)
    issues += [i for i in more if i.path not in pruned]
    unique = {(i.line, i.column, i.message): i for i in issues}
    if unique:
        raise OrgError(sorted(unique.values(), key=_order))
    return loaded


def _prune(data: Any, loc: Path_) -> bool:
    """Delete the value at ``loc``; False when there is nothing sensible to delete."""
    node = data
    for part in loc[:-1]:
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            return False
    if isinstance(node, dict) and loc and loc[-1] in node:
        del node[loc[-1]]
        return True
    return False


def _validate_model(src: Source) -> tuple[Org | None, list[Issue], set[Path_]]:
    """Validate the model; on errors, drop the offending values and try again, so the
    remaining rules still run and the user sees every problem at once."""
    issues: list[Issue] = []
    pruned: set[Path_] = set()
    data = src.data  # validation does not modify it; pruning works on a copy
    for attempt in range(5):
        try:
            return Org.model_validate(data), issues, pruned
        except ValidationError as exc:
            if attempt == 0:
                data = copy.deepcopy(data)
            issues += _pydantic_issues(exc, src)
            progress = False
            for err in exc.errors():
                loc = tuple(err["loc"])
                # A missing required key: drop its whole entry (e.g. the pool) instead.
                target = loc[:-1] if err["type"] == "missing" else loc
                top = Org.model_fields.get(str(target[0])) if len(target) == 1 else None
                if top is not None and top.is_required():
                    continue  # version, org, cloud...: nothing sensible to validate without it
                if _prune(data, target):
                    pruned.update({target, target[:-1]})
                    progress = True
            if not progress:
                return None, issues, pruned
    return None, issues, pruned


def _order(issue: Issue) -> tuple[int, int]:
    return (issue.line or 0, issue.column or 0)
