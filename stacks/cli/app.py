"""The ``trellis`` command line (click).

Options are defined once and reused; :class:`_Group` is the one place that turns exceptions
into messages and exit codes: user errors exit 1 with a located message, usage errors exit 2,
and nothing prints a Python traceback unless ``--debug`` asks for one.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import click

from stacks.cli.paused import imports_paused
from stacks.org.errors import OrgError
from stacks.org.load import DEFAULT_ORG

F = TypeVar("F", bound=Callable[..., Any])


class _Group(click.Group):
    def invoke(self, ctx: click.Context) -> Any:
        stdout = _stdout_file()
        try:
            return super().invoke(ctx)
        except SystemExit as exc:
            # rich ends a write to a closed pipe with SystemExit(1) after pointing stdout at
            # /dev/null; 1 means "invalid"/"data loss" here, so say what happened instead.
            if exc.code == 1 and stdout is not None and _stdout_file() != stdout:
                closed_pipe_exit()
            raise
        except OrgError as exc:
            _fail(str(exc), exc.summary())
        except click.exceptions.Exit:
            raise
        except (click.ClickException, click.Abort):
            raise
        except BrokenPipeError:
            closed_pipe_exit()
        except Exception as exc:
            from stacks.plan.engine import PlanError

            if ctx.obj and ctx.obj.get("debug"):
                raise
            if isinstance(exc, PlanError):
                _fail(str(exc), "the plan could not be built")
            from stacks.plan.saved import SavedPlanError

            if isinstance(exc, SavedPlanError):
                _fail(str(exc), "the saved plan cannot be used")
            _fail(f"internal error: {type(exc).__name__}: {exc}",
                  "this is a bug in Trellis; rerun with --debug and report it")


#: Exit status when the reader of stdout went away (``trellis diff ... | head -1``): what a
#: shell reports for a process ended by SIGPIPE (128 + 13), as git or cat would end.
CLOSED_PIPE_EXIT = 141


def closed_pipe_exit() -> NoReturn:
    """The reader of our output is gone: stop quietly, no traceback, no message.

    Python's recipe (docs of :mod:`signal`, "Note on SIGPIPE"): point stdout at /dev/null so
    that flushing it at exit does not fail a second time, then exit.
    """
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass  # not a real file (an in-process runner): nothing will be flushed to a pipe
    sys.exit(CLOSED_PIPE_EXIT)


def _stdout_file() -> tuple[int, int] | None:
    """(device, inode) of the file behind stdout, or None when it is not a file."""
    try:
        info = os.fstat(sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        return None
    return info.st_dev, info.st_ino


def _fail(message: str, summary: str) -> None:
    click.echo(message, err=True)
    click.secho(f"error: {summary}", fg="red", err=True)
    sys.exit(1)


#: CI and hooks name the org file and environment once, in the job's environment.
ORG_ENVVAR, ENV_ENVVAR = "TRELLIS_ORG", "TRELLIS_ENV"
ALL = "all"


def org_argument(fn: F) -> F:
    return click.argument("org", required=False, default=str(DEFAULT_ORG), metavar="[ORG]",
                          envvar=ORG_ENVVAR,
                          type=click.Path(dir_okay=False, path_type=Path))(fn)


def orgs_argument(fn: F) -> F:
    """``[ORG]...``: one or more org files (a pre-commit hook passes every one it matched)."""
    return click.argument("orgs", nargs=-1, metavar="[ORG]...", envvar=ORG_ENVVAR,
                          type=click.Path(dir_okay=False, path_type=Path))(fn)


def env_option(fn: F) -> F:
    return click.option("--env", "-e", "env", metavar="ENV", envvar=ENV_ENVVAR,
                        help="Environment (= stack name). May be omitted when the org file "
                             f"has one environment. Default: ${ENV_ENVVAR}.")(fn)


def envs_option(fn: F) -> F:
    """``--env ENV|all``: one environment, or every environment of the file in one run."""
    return click.option("--env", "-e", "env", metavar="ENV|all", envvar=ENV_ENVVAR,
                        help="Environment (= stack name), or `all` for every environment of "
                             "the file in one run. May be omitted when the org file has one "
                             f"environment. Default: ${ENV_ENVVAR}.")(fn)


def format_option(*choices: str) -> Callable[[F], F]:
    def deco(fn: F) -> F:
        return click.option("--format", "fmt", type=click.Choice(choices), default=choices[0],
                            show_default=True, help="Output format.")(fn)
    return deco


def jobs_option(fn: F) -> F:
    return click.option(
        "--jobs", "-j", "jobs", type=click.IntRange(min=1), envvar="TRELLIS_JOBS",
        show_envvar=True, help="Plan a large org's teams in up to N worker processes (shards of "
        "at most 100 teams, merged into the plan one process makes; orgs under 50 teams plan "
        "in one process). Default: the machine's CPUs.")(fn)


def plan_file_option(help_text: str) -> Callable[[F], F]:
    def deco(fn: F) -> F:
        return click.option("--plan", "plan_file",
                            type=click.Path(dir_okay=False, path_type=Path),
                            help=help_text)(fn)
    return deco


SAVED_PLAN_HELP = ("Use this plan saved by `trellis plan --out` instead of planning again. "
                   "ORG and --env default to what it was made from; it is refused when the org "
                   "file or its templates changed since.")


def resolve_jobs(jobs: int | None) -> int:
    from stacks.plan.shards import default_jobs

    return jobs if jobs is not None else default_jobs()


def given_org(org: Path) -> Path | None:
    """ORG when the command line names it, None when it is the default."""
    source = click.get_current_context().get_parameter_source("org")
    return None if source in (click.core.ParameterSource.DEFAULT, None) else org


def read_saved_plans(plan_file: Path, org: Path | None,
                     env: str | None) -> list[tuple[Any, Any, Any]]:
    """The plans saved in ``plan_file`` (fresh; the one of ``env`` if given, every one for
    ``all`` or none), each with its loaded org file and resolved spec. ``org``: the org file
    the command line names (None: the one the plan was made from)."""
    from stacks.cli.timings import phase
    from stacks.org.load import load
    from stacks.org.resolve import resolve
    from stacks.plan.saved import read_all

    # A saved plan is hundreds of thousands of acyclic JSON values kept until the command
    # ends: read with the collector paused (and frozen after, under the script: ADR 9), so
    # no collection scans them while they are made or afterwards.
    with phase("read-plan"), imports_paused():
        found = read_all(plan_file, org=org, env=env)
    loaded: dict[Path, Any] = {}
    out = []
    for result, org_file in found:
        with phase("load"):
            if org_file not in loaded:
                loaded[org_file] = load(org_file)
            spec = resolve(loaded[org_file], result.environment)
        out.append((result, loaded[org_file], spec))
    return out


def note_sharding(result: Any) -> None:
    """Say on stderr when --jobs could not be honoured (the plan is right either way)."""
    sharding = getattr(result, "sharding", None)
    if sharding is not None and sharding.fallback:
        click.echo(f"note: planned in one process: {sharding.fallback}", err=True)


def pick_env(loaded: Any, env: str | None) -> str:
    """The environment to work on; usage error (exit 2) when ambiguous."""
    envs = loaded.environments
    if env is None:
        if len(envs) == 1:
            return str(envs[0])
        raise click.UsageError(f"--env is required: {loaded.path} defines "
                               f"{', '.join(envs)}")
    return env


def pick_envs(loaded: Any, env: str | None) -> list[str]:
    """``--env all``: every environment, in file order; else the one :func:`pick_env` picks."""
    if env == ALL:
        return [str(e) for e in loaded.environments]
    return [pick_env(loaded, env)]


def output_width() -> int | None:
    """Columns for people's output: the terminal's, else ``COLUMNS``, else 100 (CI logs)."""
    import os

    columns = os.environ.get("COLUMNS", "")
    if columns.isdigit() and int(columns) > 0:
        return int(columns)
    return None if sys.stdout.isatty() else 100


def load_env(org: Path, env: str | None) -> Any:
    """Load ``org`` and resolve the chosen environment into an EnvSpec."""
    from stacks.org.load import load
    from stacks.org.resolve import resolve

    loaded = load(org)
    return resolve(loaded, pick_env(loaded, env))


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--debug", is_flag=True, help="Show Python tracebacks for unexpected errors.")
@click.version_option(package_name="trellis-ml")
@click.pass_context
def main(ctx: click.Context, debug: bool) -> None:
    """Trellis: one org.yaml -> a secure, cost-bounded ML platform on GCP or AWS.

    \b
    Examples:
      trellis validate                       # check stacks/org.yaml
      trellis plan --env dev                 # every resource dev would get, offline
      trellis check --env prod               # plan + policy pack, for CI
    """
    ctx.obj = {"debug": debug}


@main.command()
@orgs_argument
def validate(orgs: tuple[Path, ...]) -> None:
    """Parse and validate each ORG (default stacks/org.yaml); print every problem with its line.

    \b
    Example:
      trellis validate stacks/org.yaml
      trellis validate teams/a/org.yaml teams/b/org.yaml   # a pre-commit hook passes several
    """
    from stacks.org.load import load

    problems: list[Any] = []
    for org in orgs or (DEFAULT_ORG,):
        try:
            loaded = load(org)
        except OrgError as exc:
            problems.extend(exc.issues)
            continue
        n_teams = len(loaded.org.teams)
        click.echo(f"{org}: valid ({loaded.org.cloud}, {len(loaded.environments)} environment"
                   f"{'s' if len(loaded.environments) != 1 else ''}, {n_teams} team"
                   f"{'s' if n_teams != 1 else ''})")
    if problems:
        raise OrgError(problems)


@main.command()
def schema() -> None:
    """Print the JSON Schema of org.yaml (for editors and CI).

    \b
    Example:
      trellis schema > schema/org.v1.json
      # then, first line of org.yaml:
      # yaml-language-server: $schema=schema/org.v1.json
    """
    from stacks.org.model import json_schema

    click.echo(json.dumps(json_schema(), indent=2))


@main.command()
@org_argument
@envs_option
@format_option("tree", "json")
@jobs_option
@click.option("--out", "out", type=click.Path(dir_okay=False, path_type=Path),
              help="Also save the plan to this file, for `trellis check/cost/diff/handoff "
                   "--plan` (with --env all: every environment's plan in one file); then only "
                   "a summary is printed, unless --format is given.")
def plan(org: Path, env: str | None, fmt: str, jobs: int | None, out: Path | None) -> None:
    """Build the plan of one environment (or `--env all`) offline and print it.

    No cloud credentials and no Pulumi CLI needed: the Pulumi program runs under Pulumi's mock
    runtime and every resource registration is recorded. With `--env all` the JSON is
    `{"org", "cloud", "environment": "all", "environments": [<one plan each>]}`.

    \b
    Examples:
      trellis plan --env dev
      trellis plan --env all --format json > plans.json
      trellis plan examples/aws.yaml --env prod --format json | jq '.resources | length'
      trellis plan --env prod --out plan.json && trellis check --plan plan.json
    """
    from stacks.cli.timings import phase

    with imports_paused():
        from stacks.plan.engine import plan as build_plan
        from stacks.report.tree import render_plan_tree
    from stacks.org.load import load
    from stacks.org.resolve import resolve

    with phase("load"):
        loaded = load(org)
    names = pick_envs(loaded, env)
    built: list[tuple[Any, Any]] = []
    for name in names:
        spec = resolve(loaded, name)
        with phase("plan"):
            result = build_plan(spec, jobs=resolve_jobs(jobs))
        note_sharding(result)
        built.append((result, spec))
    if out is not None:
        with phase("save"):
            _save_plan(built, out, every=env == ALL)
        source = click.get_current_context().get_parameter_source("fmt")
        if source == click.core.ParameterSource.DEFAULT:
            for result, _ in built:
                click.echo(f"{out}: plan of {result.org}/{result.environment} ({result.cloud}, "
                           f"{result.tier}), {len(result.resources)} resources")
            click.echo(f"use it with `trellis check --plan {out}` (also cost, diff, handoff)")
            return
    with phase("output"):
        if fmt == "json":
            plans = [result.to_json() for result, _ in built]
            doc = plans[0] if env != ALL else {
                "org": loaded.org.org, "cloud": loaded.org.cloud, "environment": ALL,
                "environments": plans}
            click.echo(json.dumps(doc, indent=2, sort_keys=False))
            return
        from rich.console import Console

        from stacks.report.cost import plan_annotations

        for i, (result, spec) in enumerate(built):
            if i:
                click.echo()
            render_plan_tree(result, spec, annotations=plan_annotations(result, spec),
                             console=Console(width=output_width(), highlight=False))


def _save_plan(built: list[tuple[Any, Any]], out: Path, *, every: bool) -> None:
    """Write the saved plan next to ``out`` and move it into place: a reader never sees half
    a file, and a failed write leaves the previous plan alone. ``every``: `--env all` (one
    file holding every environment's plan)."""
    from stacks.plan.saved import write, write_all

    partial = out.with_name(f".{out.name}.partial")
    try:
        with partial.open("w", encoding="utf-8") as fh:
            if every:
                write_all(built, fh)
            else:
                write(*built[0], fh)
        os.replace(partial, out)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise click.ClickException(f"cannot write {out}: {exc.strerror}") from None


@main.command()
@orgs_argument
@envs_option
@format_option("text", "json", "sarif", "junit")
@click.option("--fail-on", type=click.Choice(["low", "medium", "high", "critical"]),
              default="low", show_default=True,
              help="Lowest severity whose unwaived mandatory violations fail the run.")
@click.option("--waivers", "waivers_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Waivers file. Default: waivers.yaml beside ORG, if present.")
@jobs_option
@plan_file_option(SAVED_PLAN_HELP)
def check(orgs: tuple[Path, ...], env: str | None, fmt: str, fail_on: str,
          waivers_path: Path | None, jobs: int | None, plan_file: Path | None) -> None:
    """Plan one environment (or `--env all`) offline and run the policy pack on it (for CI).

    Exit 1 when an unwaived mandatory violation at or above --fail-on remains in any
    environment. Every finding names its environment and points at the org.yaml line it came
    from (file:line:column), with the field that fixes it. The same pack runs under
    `pulumi preview --policy-pack policies`. Several ORG files (a pre-commit hook) are checked
    into one report. With --plan, the plans saved by `trellis plan --out` are checked instead
    of planning again.

    \b
    Examples:
      trellis check --env prod
      trellis check --env all --format sarif > trellis.sarif
      TRELLIS_ORG=infra/org.yaml TRELLIS_ENV=all trellis check --format junit > trellis.xml
      trellis plan --env all --out plan.json && trellis check --plan plan.json
    """
    from stacks.cli.timings import phase

    with imports_paused():
        from stacks.cli.commands.check import Target, check_targets
        from stacks.plan.engine import plan as build_plan
        from stacks.report.origins import Origins
        from stacks.report.waivers import default_path
    from stacks.org.load import load
    from stacks.org.resolve import resolve

    if plan_file is not None and len(orgs) > 1:
        raise click.UsageError("--plan checks the plans of one org file; give at most one ORG "
                               "(the one the plan was made from)")
    targets = []
    if plan_file is not None:
        for result, loaded, spec in read_saved_plans(plan_file, orgs[0] if orgs else None,
                                                     env):
            targets.append(_target(Target, Origins, result, loaded, spec, waivers_path,
                                   default_path))
    else:
        files: list[tuple[Path, Any]] = []
        issues: list[Any] = []
        for org in orgs or (DEFAULT_ORG,):  # every file's problems at once, before any plan
            try:
                with phase("load"):
                    files.append((org, load(org)))
            except OrgError as exc:
                issues.extend(exc.issues)
        if issues:
            raise OrgError(issues)
        for _org, loaded in files:
            for name in pick_envs(loaded, env):
                spec = resolve(loaded, name)
                with _progress(f"planning {spec.name} and running the policy pack"), \
                        phase("plan"):
                    result = build_plan(spec, jobs=resolve_jobs(jobs))
                note_sharding(result)
                targets.append(_target(Target, Origins, result, loaded, spec, waivers_path,
                                       default_path))
    with phase("check"):
        code = check_targets(targets, fmt=fmt, fail_on=fail_on, out=sys.stdout,
                             width=output_width())
    sys.exit(code)


def _target(target: Any, origins: Any, result: Any, loaded: Any, spec: Any,
            waivers_path: Path | None, default_path: Any) -> Any:
    """What check evaluates for one environment: its plan, where each resource came from in
    the org file, the waivers beside it and the budgets."""
    org = Path(spec.org_file)
    budgets = {t.name: t.budget_usd for t in spec.teams.values() if t.budget_usd is not None}
    return target(result, origins.of(result.resources, spec, loaded.source, org),
                  waivers_path or default_path(org), {"budgets": budgets})


@main.command()
@org_argument
@env_option
@click.option("--out", "out", type=click.Path(file_okay=False, path_type=Path),
              default=Path("handoff"), show_default=True, help="Directory for the bundle.")
@click.option("--strict", is_flag=True, default=False,
              help="Exit 1 when any step of a team's page is not backed by a planned grant "
                   "(the bundle is still written, with what to ask for).")
@jobs_option
@click.option("--plan", "plan_files", multiple=True,
              type=click.Path(dir_okay=False, path_type=Path),
              help="A plan saved by `trellis plan --out`, used for its environment instead of "
                   "planning it again (repeat for several environments; the others are "
                   "planned). Refused when the org file or its templates changed since.")
def handoff(org: Path, env: str | None, out: Path, strict: bool, jobs: int | None,
            plan_files: tuple[Path, ...]) -> None:
    """Write the handoff bundle for the ML teams: README.md, teams/<team>.md, index.html.

    Every environment by default, or one with --env. Generated from org.yaml and the offline
    plan, so the guide's node selectors, tolerations, URIs and identities are the deployed ones.

    \b
    Examples:
      trellis handoff --out handoff
      trellis handoff examples/aws.yaml --env prod --out /tmp/aws-handoff
      trellis handoff --strict    # in CI: fail when the guide promises what is not granted
      trellis handoff --plan dev.json --plan prod.json --out handoff
    """
    with imports_paused():
        from stacks.cli.commands.handoff import handoff_command
    from stacks.org.load import load

    plans: dict[str, Any] = {}
    for plan_file in plan_files:
        from stacks.plan.saved import read_all

        for saved, org_file in read_all(plan_file, org=given_org(org) or (
                org_file_of(plans) if plans else None)):
            if env is not None and env != ALL and saved.environment != env:
                continue  # a plan of another environment than the one asked for
            plans[saved.environment] = (saved, org_file)
    if plans:
        org = org_file_of(plans)
    with _progress("planning and writing the handoff bundle"):
        code = handoff_command(load(org), envs=[env] if env and env != ALL else None, out=out,
                               strict=strict, plans={name: p for name, (p, _) in plans.items()},
                               jobs=resolve_jobs(jobs))
    sys.exit(code)


def org_file_of(plans: dict[str, Any]) -> Path:
    """The org file the saved plans given to handoff were made from (the first one's)."""
    return next(iter(plans.values()))[1]


def _progress(message: str) -> Any:
    """A spinner on stderr when it is a terminal; nothing otherwise (CI logs stay clean)."""
    import contextlib

    from rich.console import Console

    err = Console(stderr=True)
    return err.status(message) if err.is_terminal else contextlib.nullcontext()


@main.command()
@org_argument
@envs_option
@format_option("table", "json")
@plan_file_option("The environment of this plan saved by `trellis plan --out` (ORG and --env "
                  "default to what it was made from): the cost of what it deploys, refused "
                  "when the org file or its templates changed since.")
def cost(org: Path, env: str | None, fmt: str, plan_file: Path | None) -> None:
    """Monthly cost per team: idle and at max scale, against the budget.

    GPU pools from the catalogue's list prices (date printed), spot as a documented estimate,
    plus the environment's fixed platform costs. Always exits 0: the budget guardrail that can
    fail a build is policy TRL-COST-001 in `trellis check`. `--env all` prints every
    environment (JSON: `{"environment": "all", "environments": [...]}`).

    \b
    Examples:
      trellis cost --env prod
      trellis cost --env all
      trellis cost examples/aws.yaml --env dev --format json
      trellis cost --plan plan.json
    """
    with imports_paused():
        from stacks.cli.commands.cost import cost_command, cost_command_all
    from stacks.org.load import load
    from stacks.org.resolve import resolve

    if plan_file is not None:
        # Cost is priced from the resolved specs (no program run): the plan file names the org
        # and environments and vouches that they are what it was made from.
        specs = [spec for _, _, spec in read_saved_plans(plan_file, given_org(org), env)]
        if len(specs) > 1 or env == ALL:
            sys.exit(cost_command_all(specs, fmt=fmt, console=_console()))
        sys.exit(cost_command(specs[0], fmt=fmt, console=_console()))
    if env == ALL:
        loaded = load(org)
        specs = [resolve(loaded, name) for name in pick_envs(loaded, env)]
        sys.exit(cost_command_all(specs, fmt=fmt, console=_console()))
    sys.exit(cost_command(load_env(org, env), fmt=fmt, console=_console()))


@main.command()
@org_argument
@env_option
@format_option("text", "json")
@click.option("--quotas", "quota_files", multiple=True,
              type=click.Path(dir_okay=False, exists=True, path_type=Path),
              help="Saved quota output to read instead of calling the APIs: `gcloud compute "
                   "regions describe REGION --format=json` (and `gcloud compute project-info "
                   "describe --format=json`), or `aws service-quotas list-service-quotas "
                   "--service-code ec2 --output json`. Repeatable.")
def preflight(org: Path, env: str | None, fmt: str, quota_files: tuple[Path, ...]) -> None:
    """Before `pulumi up`: will every GPU pool get its nodes at max_nodes?

    Online and read-only, with your cloud credentials: GPU quotas per pool's worst case summed
    over pools sharing them, zones that sell each machine type, reservations (exist, shared,
    free), your permissions for what the plan creates (and EKS admin), APIs, the Kubernetes
    version. One row per pool and check: ok, short by N (with the exact next step) or
    unknown. Exit 0 when everything can start, 1 otherwise. Needs the `preflight` extra:
    pip install 'trellis-ml[preflight]'.

    \b
    Examples:
      trellis preflight --env prod
      trellis preflight --env prod --format json
      gcloud compute regions describe us-east4 --project acme-ml-prod --format=json > q.json
      trellis preflight --env prod --quotas q.json     # no credentials needed
    """
    with imports_paused():
        from stacks.cli.commands.preflight import preflight_command

    sys.exit(preflight_command(load_env(org, env), fmt=fmt, quota_files=list(quota_files),
                               console=_console() if fmt == "text" else None))


@main.command()
@click.argument("old", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("new", type=click.Path(dir_okay=False, path_type=Path))
@env_option
@format_option("text", "json")
@click.option("--fail-on-data-loss", is_flag=True,
              help="Exit 1 when a stateful resource would be deleted or replaced.")
@jobs_option
@plan_file_option("NEW's plan saved by `trellis plan --out` (refused when NEW or its templates "
                  "changed since), instead of planning NEW again.")
@click.option("--old-plan", "old_plan_file", type=click.Path(dir_okay=False, path_type=Path),
              help="OLD's plan saved by `trellis plan --out` (e.g. from the main branch's CI "
                   "run), instead of planning OLD again.")
def diff(old: Path, new: Path, env: str | None, fmt: str, fail_on_data_loss: bool,
         jobs: int | None, plan_file: Path | None, old_plan_file: Path | None) -> None:
    """What changes between two org files, resource by resource.

    Deleting or replacing a stateful resource (bucket, registry, cluster) is flagged as data
    loss at the top.

    \b
    Example:
      git show main:stacks/org.yaml > /tmp/old.yaml
      trellis diff /tmp/old.yaml stacks/org.yaml --env prod --fail-on-data-loss
    """
    with imports_paused():
        from stacks.cli.commands.diff import diff_command
    from stacks.org.load import load
    from stacks.plan.saved import read

    if env == ALL:
        raise click.UsageError("trellis diff compares one environment: name it with --env "
                               "(TRELLIS_ENV=all is for check, plan and cost)")
    saved: dict[str, Any] = {}
    for side, org_file, path in (("old", old, old_plan_file), ("new", new, plan_file)):
        if path is not None:
            saved[side], _ = read(path, org=org_file, env=env)
            env = env or saved[side].environment
    chosen = pick_env(load(new), env)
    sys.exit(diff_command(old, new, env=chosen, fmt=fmt, fail_on_data_loss=fail_on_data_loss,
                          console=_console(), old_plan=saved.get("old"),
                          new_plan=saved.get("new"), jobs=resolve_jobs(jobs)))


def _console() -> Any:
    """Console for people's output: word-wrapped text at :func:`output_width` columns."""
    from stacks.report.width import WordWrapConsole

    return WordWrapConsole(highlight=False, width=output_width())


if __name__ == "__main__":  # pragma: no cover
    main()
