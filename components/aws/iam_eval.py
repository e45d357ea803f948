"""A small IAM policy evaluator for the planned identity, trust and key policies.

Enough of the IAM evaluation logic to answer "may this role call this action on this resource
with this request context?" over the policies Trellis writes: an explicit Deny wins, then any
Allow, else the implicit deny. Statements match on Action/NotAction (wildcards ``*`` and ``?``,
case-insensitive), Resource/NotResource (wildcards, case-sensitive) and Condition with the
operators Trellis uses: String(Not)Equals, String(Not)Like, Arn(Not)Equals, Arn(Not)Like, Bool,
each with the ``IfExists`` suffix and ``ForAnyValue:``/``ForAllValues:`` prefixes; a key absent
from the request makes a positive operator false and a negated one true.
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html

Trust policies (who may assume a role) are evaluated by :func:`trusts`: the statement's
``Principal`` must name the caller (its ARN, its account's root or ``*``) and its actions the
call. Session policies, permission boundaries and SCPs are out of scope: Trellis writes none.
The KMS keys keep the default key policy, which delegates to IAM (:func:`key_policy_delegates`).
Used by the handoff (:mod:`stacks.handoff.promises`) and by the tests; the only copy.
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html
https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-default.html
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

Context = Mapping[str, str | Sequence[str] | bool]


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


def _glob(pattern: str, value: str, *, case: bool) -> bool:
    # IAM wildcards: * any run, ? one character; nothing else is special.
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value, 0 if case else re.IGNORECASE) is not None


def _action_matches(patterns: Iterable[str], action: str) -> bool:
    return any(_glob(p, action, case=False) for p in patterns)


def _resource_matches(patterns: Iterable[str], resource: str) -> bool:
    return any(_glob(p, resource, case=True) for p in patterns)


def _compare(op: str, wanted: str, given: str) -> bool:
    if op in ("StringEquals", "ArnEquals"):
        return given == wanted
    if op in ("StringLike", "ArnLike"):
        return _glob(wanted, given, case=True)
    if op == "Bool":
        return str(given).lower() == str(wanted).lower()
    raise ValueError(f"condition operator {op} is not supported by this evaluator")


NEGATED = {"StringNotEquals": "StringEquals", "StringNotLike": "StringLike",
           "ArnNotEquals": "ArnEquals", "ArnNotLike": "ArnLike"}


def _condition(op: str, key: str, wanted: Any, context: Context) -> bool:
    qualifier = ""
    if ":" in op and op.split(":", 1)[0] in ("ForAnyValue", "ForAllValues"):
        qualifier, op = op.split(":", 1)
    if_exists = op.endswith("IfExists")
    op = op.removesuffix("IfExists")
    negated = op in NEGATED
    base = NEGATED.get(op, op)
    if key not in context:
        return True if (if_exists or negated) else qualifier == "ForAllValues"
    given = [str(v) for v in _as_list(context[key])]
    wanted_values = [str(v) for v in _as_list(wanted)]

    def one(value: str) -> bool:
        return any(_compare(base, w, value) for w in wanted_values)

    if qualifier == "ForAllValues":
        hit = all(one(v) for v in given)
    else:  # single-valued keys and ForAnyValue
        hit = any(one(v) for v in given)
    return not hit if negated else hit


@dataclass(frozen=True)
class Statement:
    effect: str
    actions: tuple[str, ...] = ()
    not_actions: tuple[str, ...] = ()
    resources: tuple[str, ...] = ()
    not_resources: tuple[str, ...] = ()
    conditions: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    sid: str = ""

    @classmethod
    def parse(cls, raw: Mapping[str, Any]) -> Statement:
        return cls(effect=str(raw["Effect"]),
                   actions=tuple(_as_list(raw.get("Action"))),
                   not_actions=tuple(_as_list(raw.get("NotAction"))),
                   resources=tuple(_as_list(raw.get("Resource"))),
                   not_resources=tuple(_as_list(raw.get("NotResource"))),
                   conditions=raw.get("Condition") or {}, sid=str(raw.get("Sid", "")))

    def applies(self, action: str, resource: str, context: Context) -> bool:
        if self.actions and not _action_matches(self.actions, action):
            return False
        if self.not_actions and _action_matches(self.not_actions, action):
            return False
        if self.resources and not _resource_matches(self.resources, resource):
            return False
        if self.not_resources and _resource_matches(self.not_resources, resource):
            return False
        return all(_condition(op, key, wanted, context)
                   for op, block in self.conditions.items() for key, wanted in block.items())


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str  # the deciding statement's Sid, or "implicit deny"


def evaluate(documents: Iterable[Mapping[str, Any]], action: str, resource: str,
             context: Context | None = None) -> Decision:
    """The identity-policy decision for one request."""
    statements = [Statement.parse(s) for d in documents for s in _as_list(d.get("Statement"))]
    ctx = context or {}
    matching = [s for s in statements if s.applies(action, resource, ctx)]
    deny = next((s for s in matching if s.effect == "Deny"), None)
    if deny is not None:
        return Decision(False, f"explicit deny {deny.sid}")
    allow = next((s for s in matching if s.effect == "Allow"), None)
    if allow is not None:
        return Decision(True, allow.sid or "allow")
    return Decision(False, "implicit deny")


def actions_of(document: Mapping[str, Any]) -> list[str]:
    """Every action named in a policy document (Action and NotAction)."""
    out: list[str] = []
    for s in _as_list(document.get("Statement")):
        out += [str(a) for a in _as_list(s.get("Action"))]
        out += [str(a) for a in _as_list(s.get("NotAction"))]
    return out


def _principal_matches(principal: Any, caller_arn: str) -> bool:
    if principal == "*":
        return True
    if not isinstance(principal, Mapping):
        return False
    account = caller_arn.split(":")[4] if caller_arn.count(":") >= 5 else ""
    for value in _as_list(principal.get("AWS")):
        value = str(value)
        if value in ("*", caller_arn) or value in (account, f"arn:aws:iam::{account}:root"):
            return True
    return False


def trusts(document: Mapping[str, Any], caller_arn: str,
           action: str = "sts:AssumeRole", context: Context | None = None) -> Decision:
    """May ``caller_arn`` (an IAM role or user ARN) call ``action`` on the role whose trust
    policy is ``document``? An explicit Deny naming the caller wins, then an Allow."""
    ctx = context or {}
    matching = []
    for raw in _as_list(document.get("Statement")):
        s = Statement.parse({**raw, "Resource": "*"})
        if _principal_matches(raw.get("Principal"), caller_arn) and \
                s.applies(action, "*", ctx):
            matching.append(s)
    deny = next((s for s in matching if s.effect == "Deny"), None)
    if deny is not None:
        return Decision(False, f"explicit deny {deny.sid}")
    allow = next((s for s in matching if s.effect == "Allow"), None)
    return Decision(True, allow.sid or "allow") if allow else Decision(False, "not trusted")


def key_policy_delegates(key_policy: Mapping[str, Any] | None, account: str) -> bool:
    """Whether a KMS key policy lets the account's IAM policies decide (the default key policy:
    ``kms:*`` for ``arn:aws:iam::<account>:root``). No policy written means the default."""
    if not key_policy:
        return True
    root = f"arn:aws:iam::{account}:root"
    return any(s.get("Effect") == "Allow"
               and _principal_matches(s.get("Principal"), root)
               and _action_matches([str(a) for a in _as_list(s.get("Action"))], "kms:Decrypt")
               for s in _as_list(key_policy.get("Statement")))


__all__ = ["Decision", "Statement", "actions_of", "evaluate", "key_policy_delegates", "trusts"]
