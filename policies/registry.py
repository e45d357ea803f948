"""The rule registry: one rule = one check function + its metadata, turned into CrossGuard policies.

A rule module decorates plain functions with :func:`resource_rule` or :func:`stack_rule`; the
decorator records the metadata (stable ID, one-sentence description, severity, default
enforcement, remediation, equivalent Checkov / Trivy / cdk-nag IDs) and the function. The
pack (:mod:`policies.pack`), the docs generator and ``trellis check`` all read this registry,
so they cannot drift apart. To add rules, write a module and list it in :data:`RULE_MODULES`.

Check functions are generators of messages (resource rules) or of ``(urn, message)`` pairs
(stack rules). :func:`to_policy` wraps them so that an unknown value, a bad configuration or
an exception inside a rule reports a violation instead of passing: mandatory means fail closed.
"""

from __future__ import annotations

import fnmatch
import importlib
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from pulumi_policy import (
    EnforcementLevel,
    Policy,
    PolicyConfigSchema,
    PolicyResource,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    Severity,
    StackValidationArgs,
    StackValidationPolicy,
)

from policies.sdk import NotApplicableError, UnknownValueError
from policies.settings import SETTINGS, Settings, schema_for
from policies.view import Res, Stack, plain

SeverityName = Literal["low", "medium", "high", "critical"]
EnforcementName = Literal["advisory", "mandatory"]
SEVERITIES: tuple[str, ...] = ("low", "medium", "high", "critical")
ID_RE = re.compile(r"TRL-[A-Z0-9]{2,5}-\d{3}")

#: Modules whose import registers rules, in the order the docs list them. Append, never rename.
RULE_MODULES: tuple[str, ...] = (
    "policies.gcp_storage",
    "policies.aws_s3",
    "policies.registries",
    "policies.gcp_gke",
    "policies.aws_eks",
    "policies.gpu",
    "policies.pipelines",
    "policies.iam",
    "policies.pulumi_rules",
    "policies.cost",
    "policies.network",
    "policies.iam_access",
    "policies.keys",
    "policies.ec2",
    "policies.notebooks",
    "policies.k8s",
    "policies.s3_parts",
    "policies.gke_nodes",
)

AREAS: dict[str, str] = {
    "GCS": "Cloud Storage (GCS)",
    "S3": "Amazon S3",
    "REG": "Container registries (Artifact Registry, ECR)",
    "GKE": "GKE clusters",
    "EKS": "EKS clusters",
    "GPU": "GPU node pools",
    "PIPE": "Pipelines and schedules",
    "IAM": "Identity and access",
    "PUL": "Pulumi resource options",
    "COST": "Cost",
    "NET": "Network exposure",
    "KMS": "Encryption keys",
    "EC2": "Launch templates and instances",
    "ML": "Notebooks and ML workspaces",
    "K8S": "Kubernetes objects",
}

ResourceCheck = Callable[[Res, Settings], Iterable[str]]
StackCheck = Callable[[Stack, Settings], Iterable[tuple[str, str]]]


@dataclass(frozen=True)
class Equivalents:
    """The same (or the closest) check in other tools, for people who know those."""

    checkov: tuple[str, ...] = ()
    trivy: tuple[str, ...] = ()
    cdk_nag: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, list[str]]:
        return {"checkov": list(self.checkov), "trivy": list(self.trivy),
                "cdk_nag": list(self.cdk_nag)}


@dataclass(frozen=True)
class Rule:
    """Metadata of one rule plus its check function."""

    id: str
    title: str
    description: str
    severity: SeverityName
    enforcement: EnforcementName
    remediation: str
    kind: Literal["resource", "stack"]
    resource_types: tuple[str, ...]
    config: tuple[str, ...] = ()
    equivalents: Equivalents = field(default_factory=Equivalents)
    check: Callable[..., Iterable[Any]] | None = field(default=None, compare=False, repr=False)
    module: str = ""
    #: Default level when the pack's tier is sandbox (None: same as ``enforcement``).
    sandbox_enforcement: EnforcementName | None = None

    @property
    def area(self) -> str:
        return self.id.split("-")[1]


_RULES: dict[str, Rule] = {}


def register(rule: Rule) -> Rule:
    """Add ``rule``; refuse duplicates and metadata that breaks the contract."""
    problems = []
    if not ID_RE.fullmatch(rule.id):
        problems.append("id must look like TRL-<AREA>-<NNN>")
    elif rule.area not in AREAS:
        problems.append(f"area {rule.area} is not one of {', '.join(AREAS)} (add it to AREAS)")
    if rule.id in _RULES and _RULES[rule.id].module != rule.module:
        problems.append(f"id already used by {_RULES[rule.id].module}")
    desc = rule.description.strip()
    if not desc.endswith(".") or re.search(r"\.\s+[A-Z]", desc):
        problems.append("description must be exactly one sentence ending with '.'")
    if rule.severity not in SEVERITIES:
        problems.append(f"severity must be one of {', '.join(SEVERITIES)}")
    if rule.enforcement not in ("advisory", "mandatory"):
        problems.append("enforcement must be advisory or mandatory")
    if rule.sandbox_enforcement not in (None, "advisory", "mandatory"):
        problems.append("sandbox_enforcement must be advisory, mandatory or None")
    if not rule.remediation.strip():
        problems.append("remediation text is required")
    if not rule.resource_types:
        problems.append("resource_types must name the resource types the rule reads")
    unknown = [k for k in rule.config if k not in SETTINGS]
    if unknown:
        problems.append(f"unknown config keys {unknown}")
    if problems:
        raise ValueError(f"rule {rule.id}: " + "; ".join(problems))
    _RULES[rule.id] = rule
    return rule


def _decorator(kind: Literal["resource", "stack"], **meta: Any) -> Callable[[Any], Any]:
    def wrap(fn: Callable[..., Iterable[Any]]) -> Callable[..., Iterable[Any]]:
        eq = Equivalents(checkov=tuple(meta.pop("checkov", ())),
                         trivy=tuple(meta.pop("trivy", ())),
                         cdk_nag=tuple(meta.pop("cdk_nag", ())))
        register(Rule(kind=kind, equivalents=eq, check=fn, module=fn.__module__,
                      resource_types=tuple(meta.pop("types")),
                      config=tuple(meta.pop("config", ())), **meta))
        return fn
    return wrap


def resource_rule(*, id: str, title: str, description: str, severity: SeverityName,
                  enforcement: EnforcementName, remediation: str, types: Iterable[str],
                  config: Iterable[str] = (), checkov: Iterable[str] = (),
                  trivy: Iterable[str] = (), cdk_nag: Iterable[str] = (),
                  sandbox_enforcement: EnforcementName | None = None) -> Callable[[Any], Any]:
    """Register a check ``fn(res, settings) -> Iterable[message]`` run on each resource."""
    return _decorator("resource", id=id, title=title, description=description,
                      severity=severity, enforcement=enforcement, remediation=remediation,
                      types=types, config=config, checkov=checkov, trivy=trivy, cdk_nag=cdk_nag,
                      sandbox_enforcement=sandbox_enforcement)


def stack_rule(*, id: str, title: str, description: str, severity: SeverityName,
               enforcement: EnforcementName, remediation: str, types: Iterable[str],
               config: Iterable[str] = (), checkov: Iterable[str] = (),
               trivy: Iterable[str] = (), cdk_nag: Iterable[str] = (),
               sandbox_enforcement: EnforcementName | None = None) -> Callable[[Any], Any]:
    """Register a check ``fn(stack, settings) -> Iterable[(urn, message)]`` run once."""
    return _decorator("stack", id=id, title=title, description=description,
                      severity=severity, enforcement=enforcement, remediation=remediation,
                      types=types, config=config, checkov=checkov, trivy=trivy, cdk_nag=cdk_nag,
                      sandbox_enforcement=sandbox_enforcement)


def load() -> None:
    """Import every rule module (idempotent)."""
    for name in RULE_MODULES:
        importlib.import_module(name)


def all_rules() -> list[Rule]:
    """Every registered rule, sorted by area (in :data:`AREAS` order) then ID."""
    load()
    order = {a: i for i, a in enumerate(AREAS)}
    return sorted(_RULES.values(), key=lambda r: (order.get(r.area, 99), r.id))


def get_rule(rule_id: str) -> Rule:
    load()
    return _RULES[rule_id]


# ---------------------------------------------------------------------------------------------
# CrossGuard adapters
# ---------------------------------------------------------------------------------------------

UNKNOWN_HINT = ("unknown values fail closed; if this is a preview of a new stack, the value is "
                "computed by another resource: set it explicitly or run `trellis check`")


def _failure(exc: BaseException) -> str:
    if isinstance(exc, UnknownValueError):
        return f"cannot be verified: {exc.message} ({UNKNOWN_HINT})"
    if isinstance(exc, ValueError) and str(exc).startswith("policy config"):
        return f"cannot be evaluated: {exc}"
    return (f"the rule failed on this resource ({type(exc).__name__}: {exc}); failing closed. "
            "This is a bug in the policy pack: please report it")


def _res_from_args(args: ResourceValidationArgs) -> Res:
    return Res(type=args.resource_type, urn=args.urn, name=args.name, props=plain(args.props),
               protect=bool(args.opts.protect), parent=args.opts.parent or None)


def _res_from_policy_resource(r: PolicyResource) -> Res:
    return Res(
        type=r.resource_type, urn=r.urn, name=r.name, props=plain(r.props),
        protect=bool(r.opts.protect), parent=(r.parent.urn if r.parent is not None
                                              else (r.opts.parent or None)),
        dependencies=tuple(d.urn for d in r.dependencies),
        property_dependencies={k: tuple(d.urn for d in v)
                               for k, v in r.property_dependencies.items()})


def each(subjects: Iterable[Res],
         check: Callable[[Res], Iterable[str]]) -> Iterator[tuple[str, str]]:
    """Run ``check`` per subject inside a stack rule, failing closed per subject.

    One bucket whose policy is unknown must not hide the findings of every other bucket, so
    stack rules loop through this instead of letting one exception end the whole rule.
    """
    for res in subjects:
        try:
            for message in check(res):
                yield res.urn, message
        except NotApplicableError:
            raise
        except Exception as exc:  # noqa: BLE001 - fail closed on anything, by contract
            yield res.urn, _failure(exc)


def stack_from_args(args: StackValidationArgs) -> Stack:
    return Stack([_res_from_policy_resource(r) for r in args.resources])


def type_matcher(types: Iterable[str]) -> Callable[[str], bool]:
    """Exact type tokens, or case-insensitive globs (``gcp:*/*IamMember:*``) for families.

    Globs ignore case because providers spell one family several ways
    (``projects/iAMMember``, ``storage/bucketIAMMember``, ``artifactregistry/repositoryIamMember``).
    """
    exact = frozenset(t for t in types if not any(c in t for c in "*?["))
    globs = tuple(t.lower() for t in types if t not in exact)
    return lambda t: t in exact or any(fnmatch.fnmatchcase(t.lower(), g) for g in globs)


def settings_or_error(config: Mapping[str, Any] | None) -> Settings | Exception:
    """One policy's parsed config, or the error every resource it checks will report."""
    try:
        return Settings.from_config(config)
    except Exception as exc:  # noqa: BLE001 - reported by the rule, failing closed
        return exc


def resource_messages(rule: Rule, res: Res, settings: Settings | Exception) -> list[str]:
    """What ``rule`` reports on ``res``, failing closed (an exception becomes a message, after
    the messages reported before it).

    Raises :data:`policies.sdk.NotApplicableError` (the rule declared itself not applicable).
    Shared by the CrossGuard adapter and :mod:`policies.evaluate`, so both report the same words.
    """
    check: ResourceCheck = rule.check  # type: ignore[assignment]
    if isinstance(settings, Exception):
        return [_failure(settings)]
    out: list[str] = []
    try:
        for message in check(res, settings):
            out.append(message)
    except NotApplicableError:
        raise
    except Exception as exc:  # noqa: BLE001 - fail closed on anything, by contract
        out.append(_failure(exc))
    return out


def stack_messages(rule: Rule, stack: Stack, settings: Settings | Exception
                   ) -> list[tuple[str | None, str]]:
    """``(urn or None, message)`` pairs ``rule`` reports on ``stack``, failing closed.

    A rule that fails midway keeps what it reported before the failure, as a CrossGuard
    policy does (its ``report_violation`` calls have already happened).
    """
    check: StackCheck = rule.check  # type: ignore[assignment]
    if isinstance(settings, Exception):
        return [(None, _failure(settings))]
    out: list[tuple[str | None, str]] = []
    try:
        for urn, message in check(stack, settings):
            out.append((urn, message))
    except NotApplicableError:
        raise
    except Exception as exc:  # noqa: BLE001 - fail closed on anything, by contract
        out.append((None, _failure(exc)))
    return out


def _resource_validate(rule: Rule) -> Callable[[ResourceValidationArgs, ReportViolation], None]:
    applies = type_matcher(rule.resource_types)

    def validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
        if not applies(args.resource_type):
            return
        settings = settings_or_error(args.get_config())
        for message in resource_messages(rule, _res_from_args(args), settings):
            report_violation(message, None)

    validate.__name__ = f"validate_{rule.id.replace('-', '_')}"
    return validate


def _stack_validate(rule: Rule) -> Callable[[StackValidationArgs, ReportViolation], None]:
    def validate(args: StackValidationArgs, report_violation: ReportViolation) -> None:
        settings = settings_or_error(args.get_config())
        for urn, message in stack_messages(rule, stack_from_args(args), settings):
            report_violation(message, urn)

    validate.__name__ = f"validate_{rule.id.replace('-', '_')}"
    return validate


def to_policy(rule: Rule) -> Policy:
    """The CrossGuard policy for ``rule`` (name = rule ID, metadata carried over)."""
    common: dict[str, Any] = dict(
        name=rule.id,
        description=rule.description,
        enforcement_level=EnforcementLevel(rule.enforcement),
        config_schema=PolicyConfigSchema(properties=schema_for(rule.config)) if rule.config
        else None,
        display_name=rule.title,
        severity=Severity(rule.severity),
        tags=["trellis", rule.area.lower()],
        remediation_steps=rule.remediation,
    )
    if rule.kind == "resource":
        return ResourceValidationPolicy(validate=_resource_validate(rule), **common)
    return StackValidationPolicy(validate=_stack_validate(rule), **common)


def all_policies() -> list[Policy]:
    return [to_policy(r) for r in all_rules()]


def iter_ids() -> Iterator[str]:
    yield from (r.id for r in all_rules())


def config_keys() -> dict[str, tuple[str, ...]]:
    """Rule ID -> the settings it reads (the ``rules`` argument of ``settings.expand``)."""
    return {r.id: r.config for r in all_rules()}


def tier_levels() -> dict[str, dict[str, str]]:
    """Rule ID -> {tier: default level} for rules whose default depends on the tier."""
    return {r.id: {"sandbox": r.sandbox_enforcement} for r in all_rules()
            if r.sandbox_enforcement is not None}
