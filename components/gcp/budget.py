"""A team's monthly budget in one environment, with email alerts to the team's contacts.

The budget counts the project's costs carrying the team label (GPU nodes, buckets,
registries and pipeline runs are all labelled), so each team sees its own spend.
https://cloud.google.com/billing/docs/how-to/budgets
"""

# No `from __future__ import annotations`: hosted for other languages (docs/adr/0006).
import re
from collections.abc import Mapping, Sequence
from typing import NotRequired, TypedDict

import pulumi
import pulumi_gcp as gcp

THRESHOLDS: tuple[float, ...] = (0.5, 0.9, 1.0)
"""Alert when current spend passes 50%, 90% and 100% of the budget."""
MAX_CHANNELS = 5
"""Budgets accept at most five monitoring notification channels."""


class GcpBudgetArgs(TypedDict):
    """Arguments of :class:`Budget`."""

    billing_account: str
    """Billing account id ``XXXXXX-XXXXXX-XXXXXX`` paying for the project."""
    project: pulumi.Input[str]
    """Project id (``Services.project``); its number scopes the budget."""
    display_name: str
    """Budget name (kind ``budget``), e.g. ``acme dev recsys``."""
    amount_usd: float
    """Monthly amount, in ``currency`` (the name is kept for compatibility)."""
    currency: NotRequired[str]
    """ISO 4217 code of the billing account's currency: the Budget API refuses any other.
    Default: ``USD``. https://cloud.google.com/billing/docs/reference/budget/rest/v1/billingAccounts.budgets#Budget"""
    labels: Mapping[str, str]
    """Exactly one label the costs must carry, e.g. ``{"team": "recsys"}``."""
    contacts: NotRequired[Sequence[str]]
    """Email addresses alerted (one monitoring email channel each, at most 5). Default: none;
    billing account administrators are alerted either way."""
    thresholds: NotRequired[Sequence[float]]
    """Fractions of the amount that trigger alerts. Default: :data:`THRESHOLDS`."""
    channel_labels: NotRequired[Mapping[str, str]]
    """User labels on the notification channels. Default: none."""


class GcpBudget(pulumi.ComponentResource):
    """Monthly billing budget filtered by one label, alerting email channels."""

    budget_name: pulumi.Output[str]
    """Resource name of the budget, ``billingAccounts/<id>/budgets/<id>``."""

    def __init__(self, name: str, args: GcpBudgetArgs,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("trellis:gcp:Budget", name, None, opts)
        contacts = list(args.get("contacts", ()))
        if len(contacts) > MAX_CHANNELS:
            raise ValueError(f"Budget '{name}': {len(contacts)} contacts given; a budget alerts "
                             f"at most {MAX_CHANNELS} notification channels")
        if len(args["labels"]) != 1:
            raise ValueError(f"Budget '{name}': a budget filters on exactly one label; got "
                             f"{dict(args['labels'])}")
        channels = self._create_channels(name, args, contacts)
        budget = self._create_budget(name, args, channels)
        self.budget_name = budget.name
        self.register_outputs({"budget_name": self.budget_name})

    def _create_channels(self, name: str, args: GcpBudgetArgs,
                         contacts: Sequence[str]) -> list[gcp.monitoring.NotificationChannel]:
        return [gcp.monitoring.NotificationChannel(
            f"{name}-budget-{re.sub(r'[^a-z0-9.@_-]', '-', email.lower())}",
            project=args["project"], type="email",
            display_name=f"{args['display_name']} budget: {email}",
            labels={"email_address": email}, user_labels=dict(args.get("channel_labels", {})),
            opts=pulumi.ResourceOptions(parent=self)) for email in contacts]

    def _create_budget(self, name: str, args: GcpBudgetArgs,
                       channels: Sequence[gcp.monitoring.NotificationChannel]
                       ) -> gcp.billing.Budget:
        project = gcp.organizations.get_project_output(
            project_id=args["project"], opts=pulumi.InvokeOutputOptions(parent=self))
        units, nanos = divmod(round(args["amount_usd"] * 1e9), 10**9)
        return gcp.billing.Budget(
            name, billing_account=args["billing_account"], display_name=args["display_name"],
            budget_filter={
                "projects": [project.number.apply(lambda n: f"projects/{n}")],
                "labels": dict(args["labels"]),
                "calendar_period": "MONTH",
                "credit_types_treatment": "INCLUDE_ALL_CREDITS",
            },
            amount={"specified_amount": {"currency_code": args.get("currency", "USD"),
                                         "units": str(units), "nanos": nanos}},
            threshold_rules=[{"threshold_percent": t, "spend_basis": "CURRENT_SPEND"}
                             for t in args.get("thresholds", THRESHOLDS)],
            all_updates_rule={"monitoring_notification_channels": [c.name for c in channels],
                              "disable_default_iam_recipients": False},
            opts=pulumi.ResourceOptions(parent=self))


Budget = GcpBudget
"""Python name of :class:`GcpBudget` (the any-language schema needs unique class names)."""
BudgetArgs = GcpBudgetArgs
