"""Budget: a team's monthly AWS cost budget with e-mail alerts.

The budget counts what carries the team's cost allocation tag (``team=<slug>``: every team
resource and, through launch-template tag specifications, every GPU instance and volume).
The tag must be activated once as a cost allocation tag in the payer account's Billing
console; until then the budget reads zero.
"""

# No `from __future__ import annotations`: hosted for other languages (docs/adr/0006).
from collections.abc import Mapping, Sequence
from typing import NotRequired, TypedDict

import pulumi
import pulumi_aws as aws

THRESHOLDS = (50.0, 90.0, 100.0)


class AwsBudgetArgs(TypedDict):
    """Arguments of :class:`AwsBudget`."""

    budget_name: str
    """AWS budget name, unique in the account."""
    amount_usd: float
    """Monthly limit in USD."""
    tag_value: str
    """Value of the cost allocation tag to count (the team slug)."""
    tag_key: NotRequired[str]
    """Cost allocation tag the budget filters on. Default: ``team``."""
    contacts: NotRequired[Sequence[str]]
    """E-mail addresses alerted at each threshold of actual spend and at 100% forecast
    (AWS allows 10 per alert). Default: none (no alerts; the budget is still visible)."""
    thresholds_percent: NotRequired[Sequence[float]]
    """Actual-spend alert thresholds, percent of the limit. Default: 50, 90, 100.
    https://docs.aws.amazon.com/cost-management/latest/userguide/budgets-best-practices.html"""
    tags: NotRequired[Mapping[str, str]]
    """Tags on the budget, merged over the provider's default tags. Default: none."""


class AwsBudget(pulumi.ComponentResource):
    """A monthly COST budget filtered by a cost allocation tag, alerting by e-mail."""

    budget_name: pulumi.Output[str]
    """Name of the budget."""

    def __init__(self, name: str, args: AwsBudgetArgs,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("trellis:aws:Budget", name, None, opts)
        contacts = list(args.get("contacts", []))[:10]
        notes = []
        if contacts:
            notes = [aws.budgets.BudgetNotificationArgs(
                comparison_operator="GREATER_THAN", notification_type="ACTUAL",
                threshold=float(pct), threshold_type="PERCENTAGE",
                subscriber_email_addresses=contacts)
                for pct in args.get("thresholds_percent", list(THRESHOLDS))]
            notes.append(aws.budgets.BudgetNotificationArgs(
                comparison_operator="GREATER_THAN", notification_type="FORECASTED",
                threshold=100.0, threshold_type="PERCENTAGE",
                subscriber_email_addresses=contacts))
        tag = f"user:{args.get('tag_key', 'team')}${args['tag_value']}"
        budget = aws.budgets.Budget(
            name, name=args["budget_name"], budget_type="COST", time_unit="MONTHLY",
            limit_amount=f"{float(args['amount_usd']):.2f}", limit_unit="USD",
            cost_filters=[aws.budgets.BudgetCostFilterArgs(name="TagKeyValue", values=[tag])],
            notifications=notes, tags=dict(args.get("tags", {})),
            opts=pulumi.ResourceOptions(parent=self))
        self.budget_name = budget.name
        self.register_outputs({"budget_name": self.budget_name})


Budget = AwsBudget
"""Python name of :class:`AwsBudget` (the any-language schema needs unique class names)."""
BudgetArgs = AwsBudgetArgs
