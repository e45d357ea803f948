"""Every rule of org.yaml, in one place: each problem located, all of them reported at once.

:func:`validate` takes a parsed file and returns the :class:`~stacks.org.model.Org`, or raises
one :class:`~stacks.org.errors.OrgError` with every problem, each at ``file:line:col`` with its
field path, what was given, what is allowed and how to fix it. One function per section:

- :func:`model`: shapes and types (pydantic), offending values dropped so the rules below
  still run on the rest;
- :func:`top`, :func:`platform`, :func:`environments`, :func:`teams` (incl. overrides) and
  :func:`renames`: formats per cloud and references, once per file;
- per environment, on what the team is there (overrides merged, :mod:`stacks.org.effective`):
  :func:`pools` (the catalogue, spot, min <= max), :func:`buckets`, :func:`pipelines` (cron,
  time zone, template) and :func:`names`: every physical name the environment would get
  (:mod:`stacks.org.names`) is valid for the cloud and claimed once, live and kept names
  alike, and every Pulumi logical name and alias once per component type.

Resolution (:mod:`stacks.org.resolve`) assumes a file this module accepted and checks nothing.
"""

from __future__ import annotations

import copy
import importlib.resources
import ipaddress
import math
import types
import typing
from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from components import catalog, cron, naming, service_regions
from stacks.org import effective, maintenance, rules, sagemaker, templates
from stacks.org import names as recipes
from stacks.org.effective import Entry, TeamInEnv
from stacks.org.errors import Issue, OrgError, Path_, did_you_mean, format_path
from stacks.org.model import Org, Team
from stacks.org.yaml_source import Source

#: Kubernetes' own namespaces: a team namespace must not be one of them
#: (https://kubernetes.io/docs/concepts/overview/working-with-objects/namespaces/).
RESERVED_NAMESPACES = ("default",)
RESERVED_NAMESPACE_PREFIX = "kube-"

#: Namespaces the managed cluster makes for itself, per cloud: a team of that name would share
#: (and be able to edit) the cluster's own components.
#: gcp: Managed Service for Prometheus (on in every Trellis cluster) "creates the gmp-system
#: namespace. Do not modify or deploy anything in this namespace. [...] also creates the
#: gmp-public namespace" (GKE docs, managed-service-prometheus); managed collection runs in
#: gke-gmp-system, and GKE's own components in gke-managed-* (gke-managed-cim,
#: gke-managed-system, ...), gke-system and gke-connect: the gke- and gmp- prefixes are GKE's.
#: aws: EKS add-ons install into amazon-* namespaces (amazon-cloudwatch for
#: amazon-cloudwatch-observability, EKS User Guide; amazon-guardduty for GuardDuty runtime
#: monitoring) and Fargate logging reads aws-observability (EKS User Guide, fargate-logging).
CLOUD_RESERVED_NAMESPACES: dict[str, tuple[str, ...]] = {"gcp": (),
                                                         "aws": ("aws-observability",)}
CLOUD_RESERVED_PREFIXES: dict[str, tuple[str, ...]] = {"gcp": ("gke-", "gmp-"),
                                                       "aws": ("amazon-",)}

#: Words for an entry of each team section, in messages.
ENTRY_WORDS = {"gpu_pools": "pool", "buckets": "bucket", "pipelines": "pipeline"}


def validate(src: Source, base_dir: Path) -> Org:
    """The model of ``src``, or :class:`OrgError` with every problem in the file.

    ``base_dir`` is where relative pipeline template paths are looked up.
    """
    org, issues, pruned = model(src)
    if org is None:
        raise OrgError(sorted(issues, key=_order))
    # The rules run even when some values failed their types, so every problem is reported in
    # one go. Values dropped for type errors would show up again as "missing" at their parent:
    # skip those. The same value checked in several environments is reported once.
    issues += [i for i in check(org, src, base_dir, pruned) if i.path not in pruned]
    unique = {(i.line, i.column, i.message): i for i in issues}
    if unique:
        raise OrgError(sorted(unique.values(), key=_order))
    return org


def check(org: Org, src: Source, base_dir: Path,
          pruned: set[Path_] | frozenset[Path_] = frozenset()) -> list[Issue]:
    """Every problem beyond types in a well-typed ``org`` (empty when it is valid).

    ``pruned``: paths of values dropped for type errors; rules that would judge the default
    in their place (a pool's shape without its gpus_per_node) stay silent.
    """
    p = Problems(org, src, base_dir, pruned)
    top(p)
    platform(p)
    environments(p)
    aws_day_one(p)
    teams(p)
    conflicted = renames(p)
    for env in org.environments:
        in_env = [TeamInEnv(name, team, env) for name, team in org.teams.items()
                  if effective.deployed(team, env) and rules.TEAM_KEY.ok(name)]
        for t in in_env:
            pools(p, t)
            buckets(p, t)
            pipelines(p, t)
        names(p, env, in_env, conflicted)
    return p.issues


class Problems:
    """The problems found so far, and what every section needs to find more."""

    def __init__(self, org: Org, src: Source, base_dir: Path,
                 pruned: set[Path_] | frozenset[Path_] = frozenset()) -> None:
        self.org, self.src, self.base_dir = org, src, base_dir
        self.pruned = pruned
        self.cloud = org.cloud
        self.issues: list[Issue] = []
        self._templates: dict[str, bool | str] = {}

    def add(self, path: Path_, msg: str, *, at_key: bool = False) -> None:
        self.issues.append(self.src.issue(path, msg, at_key=at_key))

    def fmt(self, path: Path_, value: str, rule: rules.Rule, *, at_key: bool = False,
            what: str = "") -> None:
        if not rule.ok(value):
            self.add(path, f"{what}'{value}' is not valid: expected {rule.explain}",
                     at_key=at_key)

    def labels(self, path: Path_, labels: dict[str, str]) -> None:
        key_rule, value_rule = rules.label_rules(self.cloud)
        for k, v in labels.items():
            self.fmt((*path, k), k, key_rule, at_key=True, what="label key ")
            self.fmt((*path, k), v, value_rule, what="label value ")

    def region(self, path: Path_, region: str) -> None:
        known = catalog.regions(self.cloud)
        if region not in known:
            self.add(path, f"'{region}' is not a {self.cloud} region"
                     f"{did_you_mean(region, known)}")

    def members(self, path: Path_, members: tuple[str, ...]) -> None:
        rule = rules.GCP_MEMBER if self.cloud == "gcp" else rules.AWS_MEMBER
        for i, m in enumerate(members):
            self.fmt((*path, i), m, rule)

    def env_ref(self, path: Path_, env: str) -> bool:
        allowed = tuple(self.org.environments)
        if env in allowed:
            return True
        self.add(path, f"environment '{env}' is not defined{did_you_mean(env, allowed)}; "
                 f"defined: {', '.join(allowed) or 'none'}")
        return False

    def template_exists(self, template: str) -> bool | str:
        """True when the local template is a file; False when it is not there; the reason
        as text when the system cannot even look (a path too long, a loop of links)."""
        # Teams often share one template: look each one up once.
        known = self._templates.get(template)
        if known is None:
            try:
                known = (self.base_dir / template).resolve().is_file()
            except (OSError, RuntimeError, ValueError) as exc:
                known = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
            self._templates[template] = known
        return known


# ---- shapes and types ---------------------------------------------------------------------

def model(src: Source) -> tuple[Org | None, list[Issue], set[Path_]]:
    """Validate the model; on errors, drop the offending values and try again, so the
    remaining rules still run and the user sees every problem at once.

    Returns the model (None when nothing sensible is left), the problems, and the paths of
    the values dropped.
    """
    issues: list[Issue] = []
    pruned: set[Path_] = set()
    data = src.data  # validation does not modify it; pruning works on a copy
    for attempt in range(5):
        try:
            return Org.model_validate(data), issues, pruned
        except ValidationError as exc:
            if attempt == 0:
                data = copy.deepcopy(data)
            # A value dropped on an earlier attempt is reported once: not again as missing.
            issues += _pydantic_issues(exc, src, skip_missing=pruned)
            progress = False
            for err in exc.errors():
                loc = tuple(err["loc"])
                # A missing required key: drop its whole entry (e.g. the pool) instead.
                target = loc[:-1] if err["type"] == "missing" else loc
                top_field = Org.model_fields.get(str(target[0])) if len(target) == 1 else None
                if top_field is not None and top_field.is_required():
                    continue  # version, org, cloud...: nothing sensible to validate without it
                if _prune(data, target):
                    pruned.update({target, target[:-1]})
                    progress = True
            if not progress:
                return None, issues, pruned
    return None, issues, pruned


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


def _unwrap(tp: Any) -> Any:
    """Optional[X] / X | None -> X."""
    args = [a for a in typing.get_args(tp) if a is not type(None)]
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
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
    """A value as the user wrote it in YAML, short enough for one line."""
    if isinstance(value, (dict, list)):
        return "a mapping" if isinstance(value, dict) else "a list"
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, float) and not math.isfinite(value):
        return ".nan" if math.isnan(value) else (".inf" if value > 0 else "-.inf")
    if isinstance(value, int) and abs(value) >= 10**15:
        digits = len(str(abs(value)))
        return f"{'-' if value < 0 else ''}a {digits}-digit number"
    if isinstance(value, str):
        return repr(value if len(value) <= 60 else value[:57] + "...")
    return str(value)


def _quoted_number(value: Any) -> bool:
    """True for text that YAML would read as a number without its quotes."""
    if not isinstance(value, str):
        return False
    from stacks.org.yaml_source import plain_scalar

    parsed = plain_scalar(value.strip())
    return isinstance(parsed, (int, float)) and not isinstance(parsed, bool)


def _type_hint(kind: str, given: Any) -> str:
    """What to write instead, for a value of the wrong type (strict numbers and booleans)."""
    number = kind.startswith(("int_", "float_"))
    if number and isinstance(given, bool):
        return ": a boolean is never a number; write the number itself"
    if number and _quoted_number(given):
        return f": it is text because it is quoted; write {given.strip()} without quotes"
    if kind.startswith("bool_") and isinstance(given, str) and given.strip().lower() in (
            "true", "false"):
        return f": it is text because it is quoted; write {given.strip().lower()} without quotes"
    if kind.startswith("bool_") and isinstance(given, (int, float)):
        return "; write true or false"
    if kind.startswith("int_") and isinstance(given, float) and given.is_integer():
        return f"; write {int(given)}"
    return ""


def _bound_message(kind: str, given: Any, ctx: dict[str, Any], field: str) -> str:
    limit = next(iter(ctx.values()), None)
    words = {"greater_than_equal": "at least", "greater_than": "more than",
             "less_than_equal": "at most", "less_than": "less than"}[kind]
    if isinstance(limit, float) and limit.is_integer():
        limit = int(limit)
    shown = f"{limit:,}" if isinstance(limit, (int, float)) and not isinstance(limit, bool) \
        else str(limit)
    why = rules.BOUND_WHY.get(field)
    return f"got {_describe(given)}; allowed: {words} {shown}" + (f" ({why})" if why else "")


_TYPE_WORDS = {
    "int_type": "a whole number", "int_parsing": "a whole number",
    "int_from_float": "a whole number", "float_type": "a number", "float_parsing": "a number",
    "bool_type": "true or false", "bool_parsing": "true or false",
    "string_type": "a string", "dict_type": "a mapping (key: value)",
    "tuple_type": "a list", "list_type": "a list", "model_type": "a mapping (key: value)",
    "model_attributes_type": "a mapping (key: value)",
}


def _pydantic_issues(exc: ValidationError, src: Source,
                     skip_missing: set[Path_] | None = None) -> list[Issue]:
    out = []
    for err in exc.errors():
        loc: Path_ = tuple(err["loc"])
        kind, given, ctx = err["type"], err.get("input"), err.get("ctx") or {}
        if kind == "missing" and skip_missing and loc in skip_missing:
            continue
        if kind == "extra_forbidden":
            model_cls = _model_at(loc[:-1])
            allowed = sorted(model_cls.model_fields) if model_cls else []
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
            field = str(loc[-1]) if loc else ""
            if (kind == "float_type" and isinstance(given, int) and not isinstance(given, bool)
                    and field == "budget_usd"):  # too large for a float: out of bounds
                msg = (f"got {_describe(given)}; allowed: at most "
                       f"{rules.MAX_BUDGET_USD:,} ({rules.BOUND_WHY[field]})")
            else:
                msg = f"expected {_TYPE_WORDS[kind]}; got {_describe(given)}"
                msg += _type_hint(kind, given)
            if loc and loc[-1] == "account" and isinstance(given, int):
                msg += " (quote AWS account ids: account: \"012345678901\")"
        elif kind in ("greater_than_equal", "greater_than", "less_than_equal", "less_than"):
            msg = _bound_message(kind, given, ctx, str(loc[-1]) if loc else "")
        elif kind == "finite_number":
            msg = (f"got {_describe(given)}; expected a finite number such as 40000 (.nan and "
                   ".inf are not amounts)")
        else:
            msg = f"{err['msg']}; got {_describe(given)}"
        out.append(src.issue(loc, msg))
    return out


# ---- once per file ------------------------------------------------------------------------

def top(p: Problems) -> None:
    """org, region, labels, contacts."""
    o = p.org
    p.fmt(("org",), o.org, rules.ORG)
    p.region(("region",), o.region)
    p.labels(("labels",), o.labels)
    for i, c in enumerate(o.contacts):
        p.fmt(("contacts", i), c, rules.EMAIL)


def platform(p: Problems) -> None:
    """platform: network ranges, billing, admins, the GKE security group."""
    pf = p.org.platform
    _network(p)
    if pf.billing_account is not None:
        if p.cloud != "gcp":
            p.add(("platform", "billing_account"), "billing_account is for gcp only; AWS "
                  "budgets need no billing account, remove the key")
        else:
            p.fmt(("platform", "billing_account"), pf.billing_account, rules.GCP_BILLING)
    p.members(("platform", "admins"), pf.admins)
    if pf.gke_security_group is not None:
        if p.cloud != "gcp":
            p.add(("platform", "gke_security_group"), "gke_security_group is for gcp "
                  "only; on aws team access goes through EKS access entries")
        elif not pf.gke_security_group.startswith("gke-security-groups@"):
            p.add(("platform", "gke_security_group"), f"'{pf.gke_security_group}' is not "
                  "valid: GKE only accepts a group named gke-security-groups@<your domain>")
    _currency(p)
    _maintenance(p)


def _currency(p: Problems) -> None:
    """platform.budget_currency: the billing account's ISO 4217 code (GCP budgets)."""
    currency = p.org.platform.budget_currency
    path: Path_ = ("platform", "budget_currency")
    if not rules.CURRENCY.ok(currency):
        p.add(path, f"'{currency}' is not valid: expected {rules.CURRENCY.explain}"
              f"{did_you_mean(currency, rules.COMMON_CURRENCIES)}")
    elif p.cloud == "aws" and currency != "USD":
        p.add(path, f"AWS Budgets are kept in USD; remove budget_currency (got '{currency}')")


def _maintenance(p: Problems) -> None:
    """platform.maintenance: a window GKE accepts and exclusions within GKE's limits."""
    pf = p.org.platform
    if "maintenance" not in pf.model_fields_set:
        return  # the default window is valid
    base: Path_ = ("platform", "maintenance")
    if p.cloud != "gcp":
        p.add(base, "maintenance is for gcp only (GKE maintenance windows); EKS upgrades run "
              "when you change the cluster version", at_key=True)
        return
    _window, problem = maintenance.parse_window(pf.maintenance.window)
    if problem is not None:
        p.add((*base, "window"), problem)
    for name, exclusion in pf.maintenance.exclusions.items():
        path = (*base, "exclusions", name)
        p.fmt(path, name, rules.ENTRY_KEY, at_key=True, what="exclusion name ")
        found = maintenance.exclusion_problem(exclusion.start, exclusion.end, exclusion.scope)
        if found is not None:
            field, message = found
            p.add((*path, field), message)


def _network(p: Problems) -> None:
    """platform.network_cidr and platform.admin_cidrs."""
    pf = p.org.platform
    try:
        net = ipaddress.IPv4Network(pf.network_cidr)
        if not 8 <= net.prefixlen <= 20:
            p.add(("platform", "network_cidr"), f"'{pf.network_cidr}' is a /{net.prefixlen}"
                  "; use a /8 to /20 so nodes, pods and services fit")
        elif not net.is_private:
            p.add(("platform", "network_cidr"), f"'{pf.network_cidr}' is not a private "
                  "range; use 10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16 space")
    except ValueError:
        try:
            fixed = ipaddress.IPv4Network(pf.network_cidr, strict=False)
            why = f"has host bits set: the range it names is {fixed}; write {fixed}"
        except ValueError:
            why = "is not an IPv4 network in CIDR notation; e.g. 10.0.0.0/16"
        p.add(("platform", "network_cidr"), f"{_describe(pf.network_cidr)} {why}")
    _admin_reach(p)


#: The whole internet per IP version, as messages name it.
_INTERNET = {4: "0.0.0.0/0", 6: "::/0"}


def _admin_reach(p: Problems) -> None:
    """platform.admin_cidrs: network addresses in CIDR notation, judged together.

    Reach is CIDR arithmetic, as the policy pack judges it (policies/cidr.py, TRL-GKE-002 /
    TRL-EKS-001): ranges whose union is every IPv4 or IPv6 address open the cluster API to the
    internet however they are split (``0.0.0.0/1`` + ``128.0.0.0/1``).
    """
    cidrs = p.org.platform.admin_cidrs
    limit = rules.MAX_ADMIN_CIDRS[p.cloud]
    if len(cidrs) > limit:
        where = ("EKS takes at most 40 public access CIDRs per cluster" if p.cloud == "aws"
                 else "GKE takes at most 100 authorized networks per private cluster")
        p.add(("platform", "admin_cidrs"), f"{len(cidrs)} ranges listed; {where}: merge "
              "neighbouring ranges or reach the cluster through a VPN")
    nets: dict[int, list[tuple[int, Any]]] = {4: [], 6: []}
    for i, cidr in enumerate(cidrs):
        at: Path_ = ("platform", "admin_cidrs", i)
        try:
            net = ipaddress.ip_network(cidr.strip(), strict=False)
        except ValueError:
            p.add(at, f"{_describe(cidr)} is not a CIDR range: write a network address and "
                  "prefix length such as 203.0.113.0/24")
            continue
        nets[net.version].append((i, net))
        if str(net) == cidr:
            continue
        address = cidr.strip().split("/")[0]
        if "/" not in cidr:
            p.add(at, f"'{cidr}' has no prefix length; write {net} for this one address")
        elif str(net.network_address) != str(ipaddress.ip_address(address)):
            p.add(at, f"'{cidr}' has host bits set: the range it names is {net}; write {net} "
                  f"(or {address}/{net.max_prefixlen} for the one address)")
        else:
            p.add(at, f"'{cidr}' is not written the standard way; write {net}")
    for version, found in nets.items():
        if not found or not any(n.prefixlen == 0 for n in ipaddress.collapse_addresses(
                [n for _, n in found])):
            continue
        if len(found) == 1 or any(n.prefixlen == 0 for _, n in found):
            i = next((i for i, n in found if n.prefixlen == 0), found[0][0])
            p.add(("platform", "admin_cidrs", i), f"'{cidrs[i]}' would open the cluster API to "
                  "the whole internet; list your office or VPN ranges instead")
        else:
            listed = ", ".join(cidrs[i] for i, _ in found)
            p.add(("platform", "admin_cidrs"), f"{listed} together cover {_INTERNET[version]}, "
                  f"every IPv{version} address: the cluster API would be open to the whole "
                  "internet; list your office or VPN ranges instead")


def environments(p: Problems) -> None:
    """environments: names, one project (gcp) or account (aws) each, regions, labels."""
    o = p.org
    if not o.environments:
        p.add(("environments",), "at least one environment is needed, e.g. "
              "`dev: {project: my-project}`")
    seen: dict[str, str] = {}
    for name, env in o.environments.items():
        path: Path_ = ("environments", name)
        p.fmt(path, name, rules.ENV_KEY, at_key=True, what="environment name ")
        if o.cloud == "gcp":
            if env.account is not None:
                p.add((*path, "account"), "account is for aws; on gcp use project")
            if env.project is None:
                p.add(path, "project is required on gcp: the GCP project id to deploy "
                      "this environment into")
            else:
                p.fmt((*path, "project"), env.project, rules.GCP_PROJECT)
                if env.project in seen:
                    p.add((*path, "project"), f"project '{env.project}' is already used by "
                          f"environment '{seen[env.project]}'; every environment needs its "
                          "own project (names of clusters and service accounts would "
                          "collide)")
                seen.setdefault(env.project, name)
        else:
            if env.project is not None:
                p.add((*path, "project"), "project is for gcp; on aws use account")
            if env.account is None:
                p.add(path, "account is required on aws: the 12-digit account id, quoted")
            else:
                p.fmt((*path, "account"), env.account, rules.AWS_ACCOUNT)
        if env.region is not None:
            p.region((*path, "region"), env.region)
        p.labels((*path, "labels"), env.labels)
        if env.admins is not None:
            p.members((*path, "admins"), env.admins)


# ---- aws: what `pulumi up` in a fresh account needs (issue 18) -----------------------------

#: Ranges a request to a public endpoint never comes from (RFC 1918, shared address space,
#: loopback, link-local). Documentation ranges (203.0.113.0/24) stay allowed: examples use them.
_INTERNAL = tuple(ipaddress.IPv4Network(n) for n in (
    "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "127.0.0.0/8",
    "169.254.0.0/16"))

#: Where to look up your public address, for the admin_cidrs message.
CHECK_IP = "curl -s https://checkip.amazonaws.com"


def aws_day_one(p: Problems) -> None:
    """aws: the API reachable from where `pulumi up` runs, an admin who can run it, the EKS
    version; gcp: the aws-only fields refused."""
    o = p.org
    if o.cloud != "aws":
        for name, env in o.environments.items():
            if env.kubernetes_version is not None:
                p.add(("environments", name, "kubernetes_version"), "kubernetes_version is "
                      "for aws; on gcp the cluster's release channel decides the version "
                      "(regular in production, rapid in sandbox): remove the key")
        if o.platform.registry_scanning is not None:
            p.add(("platform", "registry_scanning"), "registry_scanning is for aws (one ECR "
                  "setting per account); Artifact Registry scans each repository: remove the "
                  "key")
        return
    _admin_cidrs(p)
    for name in o.environments:
        _admins_can_deploy(p, name)
        _kubernetes_version(p, name)


def _admin_cidrs(p: Problems) -> None:
    # docs/adr/0016-aws-api-reachable-from-pulumi-up.md: the stack creates the team namespaces
    # through the cluster API from where `pulumi up` runs, outside the VPC it creates.
    if p.org.platform.admin_cidrs:
        for i, cidr in enumerate(p.org.platform.admin_cidrs):
            try:
                net = ipaddress.ip_network(cidr, strict=False)
            except ValueError:
                continue  # reported by _network
            if isinstance(net, ipaddress.IPv4Network) and any(net.subnet_of(r)
                                                              for r in _INTERNAL):
                p.add(("platform", "admin_cidrs", i), f"'{cidr}' is a private range: on aws "
                      "admin_cidrs are the public addresses `pulumi up` comes from (the EKS "
                      "public endpoint never sees a private source address; inside the VPC the "
                      "private endpoint is used anyway); list your office, VPN or CI egress, "
                      f"e.g. `{CHECK_IP}`")
        return
    where = ("platform", "admin_cidrs") if "admin_cidrs" in p.org.platform.model_fields_set \
        else ("platform",)
    p.add(where, "admin_cidrs is required on aws: `pulumi up` creates the team namespaces "
          "through the EKS API from the machine it runs on, which is outside the VPC the same "
          "stack creates, so a private-only endpoint can never be reached. List the public "
          "ranges `pulumi up` runs from (your office or VPN egress, the CI runners' egress; "
          f"`{CHECK_IP}` prints this machine's), e.g. `admin_cidrs: [203.0.113.0/24]`; the "
          "endpoint stays private for everything else and every request still needs IAM")


def _admins_can_deploy(p: Problems, env: str) -> None:
    """An admin list none of whose members can run `pulumi up` for the environment."""
    environment = p.org.environments[env]
    admins = effective.admins(p.org, env)
    account = environment.account
    if not admins or account is None or not rules.AWS_ACCOUNT.ok(account):
        return
    if not all(rules.AWS_MEMBER.ok(a) for a in admins):
        return  # the malformed ARN is reported where it is written
    if any(rules.aws_principal(a)[0] == account for a in admins):
        return
    p.add(effective.admins_path(p.org, env), f"no admin of environment '{env}' is in its "
          f"account {account}: `pulumi up -s {env}` runs with credentials of that account (the "
          "provider refuses any other, allowed_account_ids) and must run as one of the admins, "
          "so nobody could deploy it. Add the role that deploys it, e.g. "
          f"`arn:aws:iam::{account}:role/platform-admin`, under "
          f"environments.{env}.admins, or leave admins out to make the deployer the admin")


def _kubernetes_version(p: Problems, env: str) -> None:
    version = p.org.environments[env].kubernetes_version
    if version is None:
        return
    path: Path_ = ("environments", env, "kubernetes_version")
    standard = catalog.eks_standard_versions()
    row = catalog.eks_version(version)
    allowed = ", ".join(standard)
    if row is None:
        known = [v.version for v in catalog.eks_versions()]
        p.add(path, f"'{version}' is not an EKS version Trellis knows{did_you_mean(version, known)}"
              f"; in EKS standard support on {catalog.EKS_VERSIONS_DATE}: {allowed} (table: "
              "components/data/eks_versions.csv, from the EKS release calendar)")
    elif not row.standard_on():
        ended = row.end_of_standard_support <= catalog.EKS_VERSIONS_DATE
        when = (f"left EKS standard support on {row.end_of_standard_support}" if ended
                else f"is not released on EKS before {row.eks_release}")
        p.add(path, f"{version} {when}: Trellis clusters use the STANDARD upgrade policy, so "
              "EKS would upgrade it on its own (or bill extended support, about six times the "
              f"control-plane fee); use {allowed} (EKS release calendar as of "
              f"{catalog.EKS_VERSIONS_DATE})")


def teams(p: Problems) -> None:
    """teams: keys, members, budgets, environments, entry keys, overrides."""
    for name, team in p.org.teams.items():
        _team(p, name, team)


def _team(p: Problems, name: str, team: Team) -> None:
    path: Path_ = ("teams", name)
    p.fmt(path, name, rules.TEAM_KEY, at_key=True, what="team name ")
    if name in RESERVED_NAMESPACES or name.startswith(RESERVED_NAMESPACE_PREFIX):
        p.add(path, f"team name '{name}' is not allowed: it is the team's Kubernetes namespace, "
              f"and 'default' and names starting with '{RESERVED_NAMESPACE_PREFIX}' belong to "
              "Kubernetes itself; choose another name", at_key=True)
    else:
        _managed_namespace(p, path, name)
    p.members((*path, "members"), team.members)
    _groups(p, (*path, "members"), team.members)
    for i, c in enumerate(team.contacts):
        p.fmt((*path, "contacts", i), c, rules.EMAIL)
    if team.cost_center is not None:
        p.fmt((*path, "cost_center"), team.cost_center, rules.label_rules(p.cloud)[1])
    for i, env in enumerate(team.environments or ()):
        p.env_ref((*path, "environments", i), env)
    if team.environments is not None and not team.environments:
        p.add((*path, "environments"), "an empty list deploys the team nowhere; remove the "
              "key to deploy it everywhere")
    _entry_keys(p, path, team)
    _overrides(p, path, team)
    for key, pipeline in team.pipelines.items():
        _parameters(p, (*path, "pipelines", key, "parameters"), pipeline.parameters)
    for env, override in team.overrides.items():
        for key, pl_override in override.pipelines.items():
            if pl_override.parameters:
                _parameters(p, (*path, "overrides", env, "pipelines", key, "parameters"),
                            pl_override.parameters)


def _parameters(p: Problems, path: Path_, value: Any) -> None:
    """Pipeline parameters are JSON values: finite numbers, integers JSON keeps exactly."""
    if isinstance(value, dict):
        for k, v in value.items():
            _parameters(p, (*path, k), v)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            _parameters(p, (*path, i), v)
    elif isinstance(value, float) and not math.isfinite(value):
        p.add(path, f"got {_describe(value)}; parameters are sent as JSON, which has no "
              "NaN or infinity: write a finite number, or the text in quotes")
    elif (isinstance(value, int) and not isinstance(value, bool)
          and abs(value) > rules.MAX_SAFE_INTEGER):
        p.add(path, f"got {_describe(value)}; parameters are sent as JSON numbers, exact up "
              f"to {rules.MAX_SAFE_INTEGER:,}: quote the number to pass it as text")


def _managed_namespace(p: Problems, path: Path_, name: str) -> None:
    """A team name that is (or looks like) a namespace GKE or EKS makes for itself."""
    cluster = "GKE" if p.cloud == "gcp" else "EKS"
    prefixes = CLOUD_RESERVED_PREFIXES.get(p.cloud, ())
    prefix = next((x for x in prefixes if name.startswith(x)), None)
    if prefix is None and name not in CLOUD_RESERVED_NAMESPACES.get(p.cloud, ()):
        return
    taken = (f"names starting with '{prefix}' are namespaces {cluster} makes for its own "
             "components" if prefix else f"'{name}' is a namespace {cluster} uses for its own "
             "components")
    reserved = ", ".join([*(f"{x}*" for x in prefixes),
                          *CLOUD_RESERVED_NAMESPACES.get(p.cloud, ())])
    p.add(path, f"team name '{name}' is not allowed: it is the team's Kubernetes namespace, and "
          f"{taken} (reserved on {p.cloud}: {reserved}, plus default and kube-*); the team would "
          "share, and could edit, what runs there. Choose another name (a renamed team can "
          "keep its cloud resources: previous_names)", at_key=True)


def _groups(p: Problems, path: Path_, members: tuple[str, ...]) -> None:
    """gcp: `group:` members get Kubernetes access only through Google Groups for RBAC.

    Without ``platform.gke_security_group`` their RoleBinding names a group GKE never
    resolves: the members would get nothing inside the cluster, silently.
    https://cloud.google.com/kubernetes-engine/docs/how-to/google-groups-rbac
    """
    if p.cloud != "gcp" or p.org.platform.gke_security_group is not None:
        return
    for i, member in enumerate(members):
        if not member.startswith("group:") or not rules.GCP_MEMBER.ok(member):
            continue
        group = member.removeprefix("group:")
        domain = group.rpartition("@")[2]
        p.add((*path, i), f"'{member}' would get no access inside the cluster: GKE resolves "
              "Google Groups in Kubernetes RBAC only through Google Groups for RBAC. Set "
              f"platform.gke_security_group: gke-security-groups@{domain} and make {group} a "
              f"member of that group (it must exist in your Google Workspace or Cloud Identity "
              "domain), or list the people as user: members")


def _entry_keys(p: Problems, path: Path_, team: Team) -> None:
    """Keys and previous names of the team's pools, buckets and pipelines, and its own."""
    for section in effective.SECTIONS:
        for key, entry in getattr(team, section).items():
            p.fmt((*path, section, key), key, rules.ENTRY_KEY, at_key=True,
                  what=f"{section[:-1].replace('_', ' ')} name ")
            for j, old in enumerate(entry.previous_names):
                p.fmt((*path, section, key, "previous_names", j), old, rules.ENTRY_KEY)
    for j, old in enumerate(team.previous_names):
        p.fmt((*path, "previous_names", j), old, rules.TEAM_KEY)
    if team.pipelines and recipes.PIPELINE_ROOT in team.buckets:
        p.add((*path, "buckets", recipes.PIPELINE_ROOT), "the bucket purpose 'pipeline-root' "
              "is reserved for pipeline runs; choose another name", at_key=True)


def _overrides(p: Problems, path: Path_, team: Team) -> None:
    """overrides.<env>: a defined environment the team is deployed to, existing entries."""
    team_envs = team.environments or tuple(p.org.environments)
    for env, override in team.overrides.items():
        opath = (*path, "overrides", env)
        if not p.env_ref(opath, env):
            continue
        if env not in team_envs:
            p.add(opath, f"the team is not deployed to '{env}' (see "
                  f"{format_path((*path, 'environments'))}); remove the override or add "
                  "the environment", at_key=True)
        for section in effective.SECTIONS:
            for key in getattr(override, section):
                if key not in getattr(team, section):
                    known = list(getattr(team, section))
                    where = format_path((*path, section))
                    p.add((*opath, section, key), f"'{key}' is not one of the team's "
                          f"{section}{did_you_mean(key, known)}; overrides change "
                          f"existing entries (declare it under {where})", at_key=True)
        if override.members is not None:
            p.members((*opath, "members"), override.members)
            _groups(p, (*opath, "members"), override.members)


def renames(p: Problems) -> set[Path_]:
    """previous_names: each earlier key is kept by one entry, and is no longer a live key.

    An earlier key that is still the key of another entry (or listed by two entries) would
    make two resources claim one cloud resource: the same physical names, and a Pulumi alias
    equal to another resource's URN. Returns the paths of the entries (and teams) involved,
    whose names :func:`names` then leaves alone (one error per mistake, not three).
    """
    conflicted: set[Path_] = set()

    def check(what: str, live: dict[str, Path_], entries: list[tuple[Path_, tuple[str, ...]]]
              ) -> None:
        kept: dict[str, Path_] = {}
        for path, previous in entries:
            for j, old in enumerate(previous):
                at = (*path, "previous_names", j)
                other = live.get(old)
                if other is not None and other != path:
                    p.add(at, f"'{old}' is still the key of another {what}, "
                          f"{format_path(other)}; a renamed {what} keeps the cloud resources of "
                          f"a key that is gone, so both would claim the same ones: remove '{old}' "
                          f"from previous_names, or rename or remove {format_path(other)}")
                    conflicted.update({path, other})
                    continue
                first = kept.setdefault(old, path)
                if first != path:
                    p.add(at, f"'{old}' is also listed in "
                          f"{format_path((*first, 'previous_names'))}; only one {what} can keep "
                          f"the cloud resources of '{old}': remove it from one of them")
                    conflicted.update({path, first})

    org_teams = p.org.teams
    check("team", {name: ("teams", name) for name in org_teams},
          [(("teams", name), team.previous_names) for name, team in org_teams.items()])
    for name, team in org_teams.items():
        for section in effective.SECTIONS:
            entries = getattr(team, section)
            base: Path_ = ("teams", name, section)
            check(ENTRY_WORDS[section], {key: (*base, key) for key in entries},
                  [((*base, key), entry.previous_names) for key, entry in entries.items()])
    return conflicted


# ---- per environment ----------------------------------------------------------------------

def _region(p: Problems, env: str) -> str:
    return p.org.environments[env].region or p.org.region


def _production(p: Problems, env: str) -> bool:
    return p.org.environments[env].tier == "production"


def _valid_entries(t: TeamInEnv, section: str) -> list[Entry]:
    """Entries whose key is well-formed; bad keys are reported once by the key check."""
    return [e for e in t.entries(section) if rules.ENTRY_KEY.ok(e.key)]


def pools(p: Problems, t: TeamInEnv) -> None:
    """GPU pools in one environment: offered by the catalogue there, sold in their capacity
    mode (with a well-formed reservation where they need one), min <= max."""
    env, cloud = t.env, p.cloud
    region, production = _region(p, env), _production(p, env)
    for pool in _valid_entries(t, "gpu_pools"):
        mode = effective.capacity(pool, production=production)
        dropped = _dropped(p, pool, "gpus_per_node", "spot", "capacity", "reservation")
        fields_ok = not dropped and _capacity_fields(p, pool, mode, env)
        block = effective.capacity_block(pool)
        if dropped:
            shape = None  # its type error is reported; a default in its place would mislead
        else:
            shape = _shape(p, env, region, pool, mode, block)
        sold = shape is not None and fields_ok and _capacity_sold(
            p, pool, shape, mode, region, env, block)
        if cloud == "gcp" and shape is not None:
            _gcp_pool_zones(p, pool, shape, region, env)
        min_nodes, max_nodes = pool.value("min_nodes"), pool.value("max_nodes")
        _cloud_bounds(p, pool, shape, region)
        if min_nodes > max_nodes and not _dropped(p, pool, "min_nodes", "max_nodes"):
            p.add(pool.where("min_nodes"), f"min_nodes {min_nodes} is above max_nodes "
                  f"{max_nodes} in environment '{env}'; lower min_nodes or raise max_nodes")
        if mode == "flex-start" and min_nodes > 0:
            p.add(pool.where("min_nodes"), f"min_nodes {min_nodes} with capacity: flex-start "
                  f"in environment '{env}': flex-start nodes are obtained for a Job when GPUs "
                  "free up and last at most 7 days, so none can be kept running; set "
                  "min_nodes: 0, or use capacity: reservation (or on-demand) for nodes that "
                  "stay up")
        if cloud == "aws" and shape is not None:
            _aws_pool_zones(p, env, region, pool, shape, reservation=mode == "reservation")
        if mode == "reservation" and sold and shape is not None:
            _reservation_zone(p, pool, shape, region, env)


#: What a `reservation:` needs on each cloud, for messages.
RESERVATION_EXAMPLE = {"gcp": "reservation: {name: h100-reservation}",
                       "aws": "reservation: {id: cr-0123456789abcdef0}"}


def _capacity_fields(p: Problems, pool: Entry, mode: str, env: str) -> bool:
    """`capacity`, `spot` and `reservation` agree, and the reservation is written the cloud's
    way. False when something is wrong (reported here)."""
    ok = True
    for layer, path in ((pool.override, pool.override_path), (pool.declared, pool.path)):
        if layer is None or layer.capacity is None or layer.spot is None:
            continue
        if layer.spot != (layer.capacity == "spot"):
            p.add((*path, "spot"), f"spot: {str(layer.spot).lower()} contradicts capacity: "
                  f"{layer.capacity} (both say how the nodes are obtained); remove `spot`")
            ok = False
    reservation = pool.value("reservation")
    chosen = effective.capacity_choice(pool)
    if mode == "reservation" and reservation is None:
        where = chosen[1] if chosen is not None else pool.path
        p.add(where, "capacity: reservation needs the reservation to consume; add "
              f"`{RESERVATION_EXAMPLE[p.cloud]}`")
        return False
    if reservation is None:
        return ok
    where = pool.where("reservation")
    if mode != "reservation":
        p.add(where, f"a reservation is only consumed with capacity: reservation (this pool "
              f"is {mode} in environment '{env}'); set capacity: reservation or remove "
              "`reservation`", at_key=True)
        return False
    return _reservation_fields(p, where, reservation) and ok


def _reservation_fields(p: Problems, where: Path_, reservation: Any) -> bool:
    """gcp: a reservation name (and the project sharing it); aws: a cr- id (and whether it
    is a Capacity Block)."""
    problems = len(p.issues)
    if p.cloud == "gcp":
        if reservation.id is not None or reservation.capacity_block:
            field = "id" if reservation.id is not None else "capacity_block"
            p.add((*where, field), f"{field} is for aws reservations; on gcp name the "
                  "reservation: `reservation: {name: NAME, project: OWNER}`", at_key=True)
        if reservation.name is None:
            p.add(where, "name is required on gcp: the Compute Engine reservation to consume "
                  "(`gcloud compute reservations list` shows yours)")
        else:
            p.fmt((*where, "name"), reservation.name, rules.GCP_RESERVATION)
        if reservation.project is not None:
            p.fmt((*where, "project"), reservation.project, rules.GCP_PROJECT)
    else:
        for field in ("name", "project"):
            if getattr(reservation, field) is not None:
                p.add((*where, field), f"{field} is for gcp reservations; on aws give the "
                      "capacity reservation id: `reservation: {id: cr-...}`", at_key=True)
        if reservation.id is None:
            p.add(where, "id is required on aws: the capacity reservation (cr-...) to consume "
                  "(`aws ec2 describe-capacity-reservations` lists yours)")
        else:
            p.fmt((*where, "id"), reservation.id, rules.AWS_CAPACITY_RESERVATION)
    return len(p.issues) == problems


def _capacity_sold(p: Problems, pool: Entry, shape: catalog.MachineShape, mode: str,
                   region: str, env: str, block: bool) -> bool:
    """The pool's shape is sold in its capacity mode (catalogue: capacity_modes.csv); else a
    located error naming the modes that would work and the GPU counts sold this way."""
    if catalog.sells(shape, mode, region, capacity_block=block):
        return True
    chosen = effective.capacity_choice(pool)
    if block:
        where: Path_ = (*pool.where("reservation"), "capacity_block")
    elif chosen is not None:
        where = chosen[1]
    else:
        where = pool.where("accelerator")
    p.add(where, _not_sold(p.cloud, pool.value("accelerator"), shape, mode, region, env,
                           block, gpus_given=pool.value("gpus_per_node") is not None,
                           key=None if chosen is None else str(chosen[1][-1])))
    return False


def _not_sold(cloud: str, accel: str, shape: catalog.MachineShape, mode: str, region: str,
              env: str, block: bool, *, gpus_given: bool, key: str | None) -> str:
    what = f"{shape.machine_type} ({accel} x{shape.gpus_per_node})"
    options = catalog.capacity_options(cloud, shape.machine_type)
    if block:
        blocks = [catalog.capacity_options(cloud, s.machine_type)
                  for s in catalog.all_shapes(cloud)]
        offered = "; ".join(f"{o.machine_type} in {', '.join(sorted(o.capacity_block_regions))}"
                            for o in blocks if catalog.CAPACITY_BLOCK in o.modes)
        date = catalog.sources()[options.source.split("+")[0]].date
        here = ("is not sold as a Capacity Block for ML" if catalog.CAPACITY_BLOCK
                not in options.modes else f"is not sold as a Capacity Block in {region}")
        return (f"{what} {here} (environment '{env}'); Capacity Blocks as of {date}: "
                f"{offered}; use an On-Demand Capacity Reservation (remove capacity_block) "
                "or another accelerator")
    if cloud == "aws" and mode == "flex-start":
        return (f"AWS has no flex-start (environment '{env}'); for scarce GPUs use capacity: "
                "reservation with a Capacity Block for ML (`reservation: {id: cr-..., "
                "capacity_block: true}`) or capacity: spot")
    head = (f"{what} has no on-demand capacity on {cloud}" if mode == "on-demand"
            else f"{what} is not sold as {mode} on {cloud}")
    fixes = [("spot: true" if m == "spot" and key == "spot" else f"capacity: {m}")
             for m in options.pool_modes]
    others = [s for s in catalog.capacity_shapes(cloud, accel, mode, region)
              if s.machine_type != shape.machine_type]
    if others:
        pick = others[-1] if mode == "on-demand" else others[0]
        verb = "sold on demand" if mode == "on-demand" else f"sold as {mode}"
        fixes.append(f"use {pick.gpus_per_node} GPUs per node ({pick.machine_type}, {verb})")
    elif not gpus_given and len(catalog.gpu_counts(cloud, accel)) > 1:
        head += " in any GPU count"
    why = f": {options.note}" if options.note else ""
    listed = ", ".join(fixes[:-1]) + (" or " if len(fixes) > 1 else "") + fixes[-1]
    return f"{head}{why}; set {listed} (environment '{env}')"


def _reservation_zone(p: Problems, pool: Entry, shape: catalog.MachineShape, region: str,
                      env: str) -> None:
    """A reservation (and a Capacity Block) lives in one zone: the pool must run there only."""
    wanted = pool.value("zones")
    if wanted is not None and len(wanted) == 1:
        return
    reservation = pool.value("reservation")
    offered = catalog.zones(p.cloud, shape.machine_type, region)
    if p.cloud == "gcp":
        project = reservation.project or p.org.environments[env].project
        find = (f"`gcloud compute reservations list --filter=name={reservation.name} "
                f"--project={project}` shows its zone")
        example = "zones: [us-central1-a]"
    else:
        find = (f"`aws ec2 describe-capacity-reservations --capacity-reservation-ids "
                f"{reservation.id} --region {region} --query "
                "'CapacityReservations[].AvailabilityZoneId'` prints its zone ID")
        prefix = (catalog.aws_zone_prefix(region) if region in catalog.regions("aws")
                  else "use1")
        example = f"zones: [{prefix}-az1]"
        # EC2 matches a reservation by instance type, platform and zone.
        find += (f"; the reservation must be for {shape.machine_type} (Linux/UNIX) in that "
                 "zone")
    where = pool.where("zones") if wanted is not None else pool.where("reservation")
    given = "no zone" if wanted is None else f"{len(wanted)} zones"
    p.add(where, f"a reservation lives in one zone, so a pool consuming it runs in that zone "
          f"only; list it, e.g. `{example}` ({find}); got {given} (environment '{env}'; zones "
          f"of {region} offering {shape.machine_type}: {', '.join(offered)})")


def _aws_pool_zones(p: Problems, env: str, region: str, pool: Entry,
                    shape: catalog.MachineShape, *, reservation: bool = False) -> None:
    """aws: gpu_pools.<pool>.zones are AZ IDs of the environment's network that offer the
    instance type, and the pool can be placed somewhere (docs/adr/0015-aws-zones-by-id.md).
    A reservation pool's one zone may be any zone of the region that offers the type: the
    network gets a subnet there for that node group (a Capacity Block is where AWS sells it)."""
    if region not in catalog.regions("aws"):
        return  # the region is reported where it is written; its zones mean nothing yet
    network = catalog.eks_cluster_zone_ids(region)
    offered = catalog.zones("aws", shape.machine_type, region)
    wanted = pool.value("zones")
    # A node-only subnet is possible where the network is known and the zone has a slot.
    outside_ok = bool(reservation and network and wanted is not None and len(wanted) == 1)
    where = pool.where("zones")
    what = f"{shape.machine_type} ({pool.value('accelerator')})"
    if wanted is not None:
        prefix = catalog.aws_zone_prefix(region)
        for i, zone in enumerate(wanted):
            at = (*where, i)
            if len(zone) == len(region) + 1 and zone.startswith(region) and zone[-1].isalpha():
                p.add(at, f"'{zone}' is a zone name; zone names map to different zones in "
                      "every AWS account, so Trellis takes zone IDs: "
                      f"`aws ec2 describe-availability-zones --region {region} --query "
                      "'AvailabilityZones[].[ZoneName,ZoneId]'` shows which ID is your "
                      f"{zone}; IDs of {region} offering {what}: {', '.join(offered)}")
            elif not zone.startswith(f"{prefix}-az"):
                p.add(at, f"'{zone}' is not an availability-zone ID of {region} (they look "
                      f"like {prefix}-az1){did_you_mean(zone, offered)}; IDs offering {what}: "
                      f"{', '.join(offered)}")
            elif zone not in offered:
                p.add(at, f"{zone} does not offer {what} (catalogue snapshot "
                      f"{catalog.zone_snapshot('aws').date}); zones of {region} that do: "
                      f"{', '.join(offered)}")
            elif outside_ok and zone not in network and _zone_number(zone) > NODE_SLOTS:
                p.add(at, f"{zone}: Trellis makes node-only subnets for zone numbers 1-"
                      f"{NODE_SLOTS}; choose among {', '.join(network)}")
            elif network and zone not in network and not outside_ok:
                excluded = catalog.eks_excluded_zone_ids(region)
                why = (f"EKS refuses cluster subnets in {zone}" if zone in excluded
                       else f"the environment's network spans {len(network)} zones")
                p.add(at, f"{zone} is not one of environment '{env}''s zones "
                      f"({', '.join(network)}; {why}); choose among them, or consume a "
                      "reservation there (capacity: reservation, one zone): its node group "
                      "gets a subnet of its own")
        if any(z not in offered or (network and z not in network and not outside_ok)
               for z in wanted):
            return  # reported above, zone by zone
    if network and not effective.pool_zone_ids(pool, shape, region, network,
                                               reservation=reservation):
        p.add(where if wanted is not None else pool.where("accelerator"),
              f"{what} cannot be placed in environment '{env}': none of its zones "
              f"({', '.join(network)}) offers it; zones of {region} offering it: "
              f"{', '.join(offered) or 'none'}")


#: Zone numbers that can have a node-only subnet (components.aws.network.node_subnet_cidr).
NODE_SLOTS = catalog.AWS_NODE_SUBNET_SLOTS


def _zone_number(zone_id: str) -> int:
    tail = zone_id.rsplit("az", 1)[-1]
    return int(tail) if tail.isdigit() else 0


def _gcp_pool_zones(p: Problems, pool: Entry, shape: catalog.MachineShape, region: str,
                    env: str) -> None:
    """gcp: gpu_pools.<pool>.zones are zones of the environment's region that offer the
    machine type (GKE refuses a GPU node pool in a zone without its accelerator)."""
    given = pool.value("zones")
    if given is None:
        return
    where = pool.where("zones")
    offered = catalog.zones(p.cloud, shape.machine_type, region)
    what = f"{shape.machine_type} ({shape.accelerator} x{shape.gpus_per_node})"
    if not given:
        p.add(where, f"an empty list leaves the pool nowhere to run; remove `zones` to use every "
              f"zone of {region} that offers {what} ({', '.join(offered)})")
        return
    seen: set[str] = set()
    for i, zone in enumerate(given):
        if zone in seen:
            p.add((*where, i), f"zone '{zone}' is listed twice")
        seen.add(zone)
        if zone in offered:
            continue
        if zone.rsplit("-", 1)[0] != region:
            p.add((*where, i), f"zone '{zone}' is not in {region}, the region of environment "
                  f"'{env}'; zones of {region} that offer {what}: {', '.join(offered)}")
        else:
            p.add((*where, i), f"zone '{zone}' does not offer {what} (environment '{env}')"
                  f"{did_you_mean(zone, offered)}; zones of {region} that do: "
                  f"{', '.join(offered)}")


def _dropped(p: Problems, entry: Entry, *fields: str) -> bool:
    """True when one of ``fields`` of ``entry`` was dropped for a type error."""
    return any((*base, f) in p.pruned for f in fields
               for base in (entry.path, entry.override_path))


def _cloud_bounds(p: Problems, pool: Entry, shape: catalog.MachineShape | None,
                  region: str) -> None:
    """Sizes the org's own cloud allows (the model holds the larger cloud's limits). On gcp
    the node limit is per zone the pool spans: its `zones`, else every zone of the region that
    offers the machine type (what resolve gives the node pool)."""
    most, spans = rules.MAX_NODES[p.cloud], ""
    if p.cloud == "gcp" and shape is not None:
        zones = pool.value("zones")
        count = len(zones) if zones is not None else len(
            catalog.zones(p.cloud, shape.machine_type, region))
        most = rules.GKE_NODES_PER_POOL_ZONE * max(count, 1)
        listed = f": {', '.join(zones)}" if zones else ""
        spans = f"; this pool spans {count} zone{'s' if count != 1 else ''}{listed}"
    for field in ("min_nodes", "max_nodes"):
        if pool.value(field) > most:
            p.add(pool.where(field), f"got {pool.value(field):,}; allowed: at most {most:,} on "
                  f"{p.cloud} ({rules.MAX_NODES_WHY[p.cloud]}{spans}); split the work over "
                  "several pools")
    disk = pool.value("disk_size_gb")
    if disk > rules.MAX_DISK_GB[p.cloud]:
        p.add(pool.where("disk_size_gb"), f"got {disk:,}; allowed: at most "
              f"{rules.MAX_DISK_GB[p.cloud]:,} GB on {p.cloud} (the largest boot disk an "
              f"{'EKS node (EBS gp3)' if p.cloud == 'aws' else 'GKE node'} can have)")


def _shape(p: Problems, env: str, region: str, pool: Entry, mode: str,
           block: bool) -> catalog.MachineShape | None:
    """The machine shape of ``pool`` in ``env``, or None after reporting why there is none.

    Without ``gpus_per_node`` the count follows the capacity mode: the smallest sold that way
    in the region (``catalog.default_gpus_for``)."""
    cloud = p.cloud
    accel, gpus = pool.value("accelerator"), pool.value("gpus_per_node")
    offered = catalog.accelerators(cloud)
    if accel not in offered:
        where = " on any cloud" if accel not in catalog.ACCELERATORS else f" on {cloud}"
        p.add(pool.where("accelerator"), f"accelerator '{accel}' is not offered{where}"
              f"{did_you_mean(accel, offered)}; {cloud} offers: {', '.join(offered)}")
        return None
    count = gpus if gpus is not None else catalog.default_gpus_for(
        cloud, accel, mode, region, capacity_block=block)
    if count not in catalog.gpu_counts(cloud, accel):
        shapes = ", ".join(f"{s.gpus_per_node} ({s.machine_type})"
                           for s in catalog.shapes(cloud, accel))
        p.add(pool.where("gpus_per_node"), f"{accel} on {cloud} comes in {shapes} GPUs per "
              f"node; got {_describe(count)}")
        return None
    shape = catalog.shape(cloud, accel, count)
    if region in catalog.regions(cloud) and not catalog.zones(cloud, shape.machine_type, region):
        avail = sorted(shape.regions)
        p.add(pool.where("accelerator"), f"no zone of {region} (environment '{env}') offers "
              f"{accel} ({shape.machine_type}), so its node pool could not be placed; regions "
              f"that offer it: {', '.join(avail)}")
        return None
    return shape


def buckets(p: Problems, t: TeamInEnv) -> None:
    """Buckets in one environment: model buckets keep their versions."""
    o = p.org
    for bucket in _valid_entries(t, "buckets"):
        if bucket.value("versioning") is not False:
            continue
        recipe = recipes.bucket(o.cloud, o.org, t.env, t.name, tuple(t.team.previous_names),
                                bucket.key, bucket.previous_names)["bucket_name"]
        try:
            physical = recipe.make()
        except naming.InvalidName:
            physical = ""  # reported by names()
        if effective.model_bucket(t.name, bucket, physical):
            p.add(bucket.where("versioning"), f"'{bucket.key}' is a model bucket (its name "
                  f"matches {', '.join(effective.MODEL_BUCKET_PATTERNS)}): model buckets keep "
                  "versions in every tier (policy TRL-GCS-004 / TRL-S3-006), so an overwrite "
                  "cannot lose a model; remove `versioning: false`")


#: tzdata's pseudo-zone for "no time zone configured"; no scheduler takes it.
_NOT_ZONES = frozenset({"Factory"})


@lru_cache(maxsize=1)
def _timezones() -> frozenset[str]:
    """Every IANA time zone name, from the tzdata package (a dependency), never the host's
    zoneinfo folder: the same file is valid on every machine, and folder entries that are not
    zone names (``posix/Asia/Seoul``, ``right/UTC``, ``localtime``) are refused."""
    text = importlib.resources.files("tzdata").joinpath("zones").read_text(encoding="utf-8")
    return frozenset(text.split()) - _NOT_ZONES


def _valid_timezone(name: str) -> bool:
    return name in _timezones()


def pipelines(p: Problems, t: TeamInEnv) -> None:
    """Pipelines in one environment: the region offers the services, cron schedule, time zone,
    template."""
    entries = _valid_entries(t, "pipelines")
    if entries:
        _pipeline_services(p, t)
    for pl in entries:
        schedule = pl.value("schedule")
        problems = cron.problems(schedule)
        for problem in problems:
            p.add(pl.where("schedule"), problem)
        if p.cloud == "aws" and not problems:
            try:
                cron.to_aws(schedule)
            except ValueError as exc:
                p.add(pl.where("schedule"), str(exc))
        tz = pl.value("timezone")
        if not _valid_timezone(tz):
            p.add(pl.where("timezone"), f"'{tz}' is not an IANA time zone"
                  f"{did_you_mean(tz, _timezones())}; e.g. Europe/Berlin, Asia/Seoul, UTC")
        template = pl.value("template")
        if _template(p, template, pl.where("template")):
            _template_contents(p, t, pl, template)


def _pipeline_services(p: Problems, t: TeamInEnv) -> None:
    """The environment's region offers what scheduled pipelines run on (dated data with its
    source: components/data/service_gaps.csv)."""
    region = _region(p, t.env)
    missing = service_regions.pipeline_gaps(p.cloud, region)
    if not missing:
        return
    known = catalog.sources()
    what = " or ".join(g.name for g in missing)
    why = "; ".join(f"{known[g.source].reference}, read {known[g.source].date}"
                    for g in missing)
    env = p.org.environments[t.env]
    where = f"environments.{t.env}.region" if env.region is not None else "region"
    services = tuple(g.service for g in missing)
    nearby = [r for r in service_regions.offering(p.cloud, services)
              if r.split("-")[0] == region.split("-")[0]][:4]
    p.add((*t.path, "pipelines"), f"team '{t.name}' has pipelines in environment '{t.env}', "
          f"but {region} (set by `{where}`) does not offer {what} (source: {why}), so its "
          f"schedules could not start a run there. Deploy the environment in a region that "
          f"offers it{' (near ' + region + ': ' + ', '.join(nearby) + ')' if nearby else ''}, "
          f"or keep the team's pipelines out of '{t.env}' (the team's `environments`)",
          at_key=True)


def _template_contents(p: Problems, t: TeamInEnv, pl: Entry, template: str) -> None:
    """The local template itself, and the parameters org.yaml passes it (stacks.org.templates,
    stacks.org.sagemaker)."""
    file = (p.base_dir / template).resolve()
    paths = effective.parameter_paths(pl)
    params = {k: (v, paths[k]) for k, v in effective.parameters(pl).items()}
    at_params: Path_ = (*pl.path, "parameters")
    if p.cloud == "gcp":
        templates.check_gcp(p.add, file, template, pl.where("template"), params, at_params)
        return
    env = p.org.environments[t.env]
    account = env.account if env.account and rules.AWS_ACCOUNT.ok(env.account) else None
    try:
        prefix: str | None = recipes.team(p.cloud, p.org.org, t.env, t.name,
                                          tuple(t.team.previous_names),
                                          has_pipelines=True)["container_registry"].make()
    except naming.InvalidName:
        prefix = None  # reported by names()
    sagemaker.check_aws(p.add, file, template, pl.where("template"), params, at_params,
                        env=t.env, region=_region(p, t.env), account=account,
                        team_prefix=prefix)


def _template(p: Problems, template: str, path: Path_) -> bool:
    """The template reference is well-formed; True for a local file that exists."""
    shown = _describe(template)
    if "\x00" in template:
        p.add(path, f"{shown} contains a NUL character (\\0), which no file name or object "
              "key can hold; remove it")
        return False
    if not template.strip():
        p.add(path, "the template is empty: give a path relative to the org file or a "
              f"{'gs' if p.cloud == 'gcp' else 's3'}:// URI")
        return False
    if "://" in template:
        rule = rules.URI[p.cloud]
        key = template.split("://", 1)[1].partition("/")[2]
        if not rule.ok(template):
            p.add(path, f"{shown} is not valid here: expected a local file path or "
                  f"{rule.explain}")
        elif len(key.encode("utf-8")) > rules.MAX_OBJECT_KEY_BYTES:
            p.add(path, f"the object key of {shown} is {len(key.encode('utf-8')):,} bytes; "
                  f"{'GCS' if p.cloud == 'gcp' else 'S3'} keys are at most "
                  f"{rules.MAX_OBJECT_KEY_BYTES:,}: use a shorter key")
        return False
    size = len(template.encode("utf-8", "surrogatepass"))
    longest = max((len(part.encode("utf-8", "surrogatepass"))
                   for part in template.replace("\\", "/").split("/")), default=0)
    if size > rules.MAX_PATH_BYTES or longest > rules.MAX_NAME_BYTES:
        p.add(path, f"the template path {shown} is too long ({size:,} bytes, longest name "
              f"{longest:,}): file systems take at most {rules.MAX_PATH_BYTES:,} bytes per path "
              f"and {rules.MAX_NAME_BYTES} per name; move the file closer to the org file")
        return False
    found = p.template_exists(template)
    if found is True:
        return True
    if found is False:
        local = _describe(str((p.base_dir / template).resolve()))
        p.add(path, f"template file {shown} does not exist (looked for {local}); "
              "paths are relative to the org file")
    else:
        p.add(path, f"template file {shown} cannot be read: {found}; paths are relative to "
              "the org file")
    return False


class _Claims:
    """Names that must be unique in one environment, by namespace, and who claimed them."""

    def __init__(self, p: Problems, env: str) -> None:
        self.p, self.env = p, env
        # (namespace, name) -> (claimer's path, its description or None for the path, kept)
        self.seen: dict[tuple[str, str], tuple[Path_, str | None, bool]] = {}
        # (claimer, first claimer) -> [(name, what it names, kept, first claimer's words)]:
        # one message per pair of claimers
        self.clashes: dict[tuple[Path_, Path_], list[tuple[str, str, bool, str | None]]] = {}

    def claim(self, namespace: str, name: str, path: Path_, who: str | None, what: str,
              kept: bool = False) -> None:
        first = self.seen.setdefault((namespace, name), (path, who, kept))
        if first[0] != path:
            self.clashes.setdefault((path, first[0]), []).append(
                (name, what, kept or first[2], first[1]))

    def made(self, batch: recipes.Recipes, path: Path_, who: str | None = None) -> None:
        """Make every recipe: report names the cloud refuses, claim the others."""
        for recipe in batch.values():
            try:
                name = recipe.make()
            except naming.InvalidName as exc:
                self.p.add(path, str(exc))
                continue
            self.claim(recipe.kind, name, path, who, recipe.kind, recipe.kept)

    def logical(self, component: str, current: str, aliases: list[str], path: Path_,
                who: str | None = None) -> None:
        """A component's logical name and its aliases (Pulumi refuses an alias that is
        another resource's URN): one resource each, per component type."""
        namespace = f"logical:{component}"
        for name in (current, *aliases):
            self.claim(namespace, name, path, who, namespace)

    @staticmethod
    def _label(what: str) -> str:
        if what.startswith("logical:"):
            return f"Pulumi {what.removeprefix('logical:')} resource"
        return naming.KINDS[what].label

    def report(self) -> None:
        for (path, first_path), clashes in self.clashes.items():
            name, what, _, first_who = clashes[0]
            why = f"{self._label(what)} names are unique"
            if any(kept for _, _, kept, _ in clashes):
                why += "; renamed entries keep their old names"
            more = [f"the {self._label(w)} name '{n}'" for n, w, _, _ in clashes[1:]
                    if n != name]
            if more:
                why += f"; they also share {', '.join(more)}"
            who = first_who or format_path(first_path)
            self.p.add(path, f"gives the name '{name}' in environment '{self.env}', as {who} "
                       f"does ({why}); rename one of the keys")


def names(p: Problems, env: str, in_env: list[TeamInEnv], conflicted: set[Path_]) -> None:
    """Every physical name of ``env`` is valid and claimed once; logical names likewise.

    Live names and the names renames keep share each cloud namespace (two node pools, two
    service accounts, two buckets...), and the environment's own resources are in it too.
    Logical names (``<team>-<key>`` per component type, plus every alias a rename adds) must
    be unique as well: Pulumi refuses an alias that is another resource's URN.
    """
    o = p.org
    claims = _Claims(p, env)
    env_path: Path_ = ("environments", env)
    claims.made(recipes.platform(o.cloud, o.org, env), env_path,
                who=f"the platform of environment '{env}'")
    for t in in_env:
        team_previous = tuple(t.team.previous_names)
        if t.path in conflicted:
            continue
        has_pipelines = bool(t.entries("pipelines"))  # in this environment
        claims.made(recipes.team(o.cloud, o.org, env, t.name, team_previous,
                                 has_pipelines=has_pipelines), t.path)
        team_names = (t.name, *team_previous)
        if has_pipelines:
            claims.logical("bucket", f"{t.name}-{recipes.PIPELINE_ROOT}",
                           [f"{old}-{recipes.PIPELINE_ROOT}" for old in team_previous],
                           t.path, who=f"the pipeline-root bucket of {format_path(t.path)}")
        for section, make in (("gpu_pools", _pool_recipes), ("buckets", _bucket_recipes),
                              ("pipelines", _pipeline_recipes)):
            for entry in _valid_entries(t, section):
                if entry.path in conflicted or (section == "buckets" and has_pipelines
                                                and entry.key == recipes.PIPELINE_ROOT):
                    continue  # reported by renames() / as a reserved purpose
                claims.made(make(p, t, entry), entry.path)
                current = f"{t.name}-{entry.key}"
                aliases = [f"{tn}-{k}" for tn in team_names
                           for k in (entry.key, *entry.previous_names)]
                claims.logical(ENTRY_WORDS[section], current,
                               [a for a in dict.fromkeys(aliases) if a != current], entry.path)
    claims.report()


def _pool_recipes(p: Problems, t: TeamInEnv, entry: Entry) -> recipes.Recipes:
    return recipes.pool(p.cloud, p.org.org, t.env, t.name, entry.key, entry.previous_names)


def _bucket_recipes(p: Problems, t: TeamInEnv, entry: Entry) -> recipes.Recipes:
    return recipes.bucket(p.cloud, p.org.org, t.env, t.name, tuple(t.team.previous_names),
                          entry.key, entry.previous_names)


def _pipeline_recipes(p: Problems, t: TeamInEnv, entry: Entry) -> recipes.Recipes:
    return recipes.pipeline(p.cloud, p.org.org, t.env, t.name, entry.key, entry.previous_names)


def _order(issue: Issue) -> tuple[int, int]:
    return (issue.line or 0, issue.column or 0)
