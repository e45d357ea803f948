"""A team's alert channels: one Cloud Monitoring email channel per contact.

Alert policies of the team's resources (a scheduled pipeline that failed to start) notify
these channels, so the people org.yaml names as the team's contacts hear about it.
https://cloud.google.com/monitoring/support/notification-options#email
"""

# No `from __future__ import annotations`: hosted for other languages (docs/adr/0006).
import re
from collections.abc import Mapping, Sequence
from typing import NotRequired, TypedDict

import pulumi
import pulumi_gcp as gcp


def channel_key(email: str) -> str:
    """The part of a channel's logical name that names its address (stable, URN-safe)."""
    return re.sub(r"[^a-z0-9.@_-]", "-", email.lower())


class GcpAlertChannelsArgs(TypedDict):
    """Arguments of :class:`AlertChannels`."""

    project: pulumi.Input[str]
    """Project id (``Services.project``)."""
    display_name: str
    """Prefix of the channels' display names, e.g. ``acme dev recsys``."""
    emails: Sequence[str]
    """Email addresses to alert, one channel each. Empty: no channels."""
    labels: NotRequired[Mapping[str, str]]
    """User labels on the channels. Default: none."""


class GcpAlertChannels(pulumi.ComponentResource):
    """Email notification channels of one team, for its alert policies."""

    names: pulumi.Output[list[str]]
    """Channel resource names (``projects/<p>/notificationChannels/<id>``), in ``emails`` order."""

    def __init__(self, name: str, args: GcpAlertChannelsArgs,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("trellis:gcp:AlertChannels", name, None, opts)
        channels = [gcp.monitoring.NotificationChannel(
            f"{name}-{channel_key(email)}", project=args["project"], type="email",
            display_name=f"{args['display_name']}: {email}", labels={"email_address": email},
            user_labels=dict(args.get("labels", {})), opts=pulumi.ResourceOptions(parent=self))
            for email in dict.fromkeys(args["emails"])]
        self.names = pulumi.Output.all(*[c.name for c in channels]).apply(list)
        self.register_outputs({"names": self.names})


AlertChannels = GcpAlertChannels
"""Python name of :class:`GcpAlertChannels` (the any-language schema needs unique class names)."""
AlertChannelsArgs = GcpAlertChannelsArgs
