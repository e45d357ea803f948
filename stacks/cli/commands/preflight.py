"""``trellis preflight``: will every GPU pool get its nodes? Asked of the cloud before `pulumi up`.

The body of the command; :mod:`stacks.cli.app` owns the options. Online and read-only with the
user's credentials (google-api-python-client, boto3: the ``preflight`` extra, imported here
only), or on saved CLI output with ``--quotas``. Exit 0 when every row is ok (or skipped), 1
otherwise; an unusable ``--quotas`` file is a usage error (exit 2).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from stacks.org.spec import EnvSpec
from stacks.preflight import credentials
from stacks.preflight.report import Report, render

WIDTH = 110  # columns when not writing to a terminal


def build_report(env: EnvSpec, quota_files: list[Path], *, gcp_apis: Any = None,
                 aws_clients: Any = None, source: str | None = None) -> Report:
    """The report of ``env``: on saved quota output when ``quota_files`` are given, else from
    the cloud (clients made from the user's credentials unless passed in: tests)."""
    if quota_files:
        from stacks.preflight import saved

        try:
            book = saved.read(quota_files, cloud=env.cloud, region=env.region,
                              project=env.project)
        except saved.SavedQuotaError as exc:
            raise click.UsageError(str(exc)) from None
        if env.cloud == "gcp":
            from stacks.preflight import gcp

            return gcp.run_saved(env, book)
        from stacks.preflight import aws

        return aws.run_saved(env, book)

    from stacks.plan.engine import plan as build_plan

    if env.cloud == "gcp":
        from stacks.preflight import gcp

        if gcp_apis is None:
            creds, who = credentials.gcp()
            gcp_apis, source = gcp.GcpApis(credentials=creds), f"the Google Cloud APIs as {who}"
        return gcp.run(env, build_plan(env), gcp_apis, source=source or "the Google Cloud APIs")
    from stacks.preflight import aws

    if aws_clients is None:
        session = credentials.aws(env.region)
        aws_clients, source = aws.AwsClients(session, env.region), "the AWS APIs"
    return aws.run(env, build_plan(env), aws_clients, source=source or "the AWS APIs")


def preflight_command(env: EnvSpec, *, fmt: str, quota_files: list[Path],
                      console: Any = None) -> int:
    """Print the preflight of ``env`` (``text`` or ``json``); return the exit status."""
    try:
        report = build_report(env, quota_files)
    except (credentials.NoCredentialsError, credentials.MissingClientsError) as exc:
        click.echo(f"trellis preflight: {exc}", err=True)
        return 1
    if fmt == "json":
        click.echo(json.dumps(report.to_json(), indent=2))
        return report.exit_code
    from rich.console import Console

    render(report, console or Console(width=None if sys.stdout.isatty() else WIDTH,
                                      highlight=False))
    return report.exit_code
