"""Saved plans: ``trellis plan --out plan.json`` once, then check, cost, diff and handoff from it.

CI used to build the plan twice (``trellis plan``, then ``trellis check`` planning again). A saved
plan is the plan JSON of DESIGN.md (``org``, ``cloud``, ``environment``, ``resources``,
``outputs``, each resource with its contract keys) plus what the other commands need of a plan
and what it was made from:

- per resource, ``replace_on_changes`` and ``computed``: the outputs the mocks computed beyond
  the echoed inputs (``not_in_outputs`` lists inputs the outputs lack, when there are any), so
  :func:`read` rebuilds the very :class:`~stacks.plan.engine.Plan` the engine made;
- ``trellis_plan``: the format version, the Trellis version, the org file (as it was named on
  the command line), the SHA-256 of the org file and of every local pipeline template the
  environment reads, and a fingerprint of the program (the code of ``components``,
  ``stacks/org``, ``stacks/compose``, ``stacks/plan`` and the installed Pulumi SDK versions).

:func:`read` refuses a plan that is stale (a source changed, or another program made it) with
a :class:`SavedPlanError` that says what changed and the command that rebuilds it. Policies are
not part of a plan: ``trellis check --plan`` evaluates the pack that is installed now.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import IO, Any

from stacks.org.spec import EnvSpec
from stacks.plan.engine import Plan, PlannedResource

FORMAT = 1
#: ``environment`` of a file holding every environment's plan (``trellis plan --env all --out``).
ALL = "all"
KEY = "trellis_plan"
SDKS = ("pulumi", "pulumi_gcp", "pulumi_aws", "pulumi_kubernetes")
_PROGRAM_SUFFIXES = {".py", ".csv", ".json", ".yaml", ".yml", ".txt"}


class SavedPlanError(Exception):
    """A saved plan that cannot be used (unreadable, stale, another environment); ``str()``
    is the message for the user, with what to run instead."""


@dataclass(frozen=True)
class Provenance:
    """What a saved plan was made from (the ``trellis_plan`` object of the file)."""

    format: int
    trellis: str
    org_file: str  # as named on the command line, POSIX separators
    org_sha256: str
    environment: str
    templates: dict[str, str]  # path (relative to the org file's directory if inside) -> sha
    program: str

    def to_json(self) -> dict[str, Any]:
        return {"format": self.format, "trellis": self.trellis, "org_file": self.org_file,
                "org_sha256": self.org_sha256, "environment": self.environment,
                "templates": self.templates, "program": self.program}


def _sha(path: Path) -> str:
    return "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()


def trellis_version() -> str:
    try:
        return metadata.version("trellis-ml")
    except metadata.PackageNotFoundError:  # a checkout without `pip install -e .`
        return "unknown"


@cache
def program_fingerprint() -> str:
    """The code that turns an org into a plan, and the SDK versions it runs on.

    A plan made by other code is another plan, even at the same version number (a checkout
    between commits): every file of ``components`` and of ``stacks/org``, ``stacks/compose``,
    ``stacks/plan`` counts, by content (about 10 ms).
    """
    import components
    import stacks

    digest = hashlib.sha256()
    roots = [Path(components.__file__).parent,
             *(Path(stacks.__file__).parent / sub for sub in ("org", "compose", "plan"))]
    for root in roots:
        for file in sorted(root.rglob("*")):
            if file.suffix in _PROGRAM_SUFFIXES and "__pycache__" not in file.parts \
                    and file.is_file():
                digest.update(file.relative_to(root.parent).as_posix().encode() + b"\0")
                digest.update(file.read_bytes())
    for sdk in SDKS:
        try:
            digest.update(f"{sdk}=={metadata.version(sdk)}\n".encode())
        except metadata.PackageNotFoundError:
            digest.update(f"{sdk} absent\n".encode())
    return "sha256:" + digest.hexdigest()


def _templates(spec: EnvSpec) -> list[Path]:
    """Every local pipeline template the environment reads."""
    files = [Path(pipeline.template_path) for team in spec.teams.values()
             for pipeline in team.pipelines.values() if pipeline.template_path is not None]
    return sorted(dict.fromkeys(files))


def _shown(file: Path, base: Path) -> str:
    """``file`` relative to ``base`` when inside it, else absolute; POSIX separators."""
    absolute = file.resolve()
    try:
        return absolute.relative_to(base).as_posix()
    except ValueError:
        return absolute.as_posix()


def provenance(spec: EnvSpec) -> Provenance:
    """What a plan of ``spec`` is made from, now."""
    org_file = Path(spec.org_file)
    base = org_file.resolve().parent
    return Provenance(format=FORMAT, trellis=trellis_version(), org_file=org_file.as_posix(),
                      org_sha256=_sha(org_file), environment=spec.name,
                      templates={_shown(f, base): _sha(f) for f in _templates(spec)},
                      program=program_fingerprint())


# ---------------------------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------------------------

def _resource_json(r: PlannedResource) -> dict[str, Any]:
    out = r.to_json()
    out["replace_on_changes"] = r.replace_on_changes
    inputs, outputs = r.inputs, r.outputs
    out["computed"] = {k: v for k, v in outputs.items() if k not in inputs or inputs[k] != v}
    missing = [k for k in inputs if k not in outputs]
    if missing:
        out["not_in_outputs"] = missing
    return out


def _chunks(plan: Plan, origin: Provenance) -> Iterator[str]:
    """The file, piece by piece: one resource at a time, so a plan of any size is written
    without holding its whole text (C-speed ``json.dumps`` per piece)."""
    dumps = json.JSONEncoder(separators=(",", ":")).encode
    yield ("{" + dumps("org") + ":" + dumps(plan.org) + "," + dumps("cloud") + ":"
           + dumps(plan.cloud) + "," + dumps("environment") + ":" + dumps(plan.environment)
           + "," + dumps("tier") + ":" + dumps(plan.tier) + "," + dumps("resources") + ":[")
    for i, resource in enumerate(plan.resources):
        yield ("," if i else "") + dumps(_resource_json(resource)) + "\n"
    yield ("]," + dumps("outputs") + ":" + dumps(plan.outputs) + "," + dumps(KEY) + ":"
           + dumps(origin.to_json()) + "}")


def write(plan: Plan, spec: EnvSpec, out: IO[str]) -> Provenance:
    """Write ``plan`` of ``spec`` as a saved plan to ``out``; return its provenance."""
    origin = provenance(spec)
    for chunk in _chunks(plan, origin):
        out.write(chunk)
    out.write("\n")
    return origin


def write_all(plans: list[tuple[Plan, EnvSpec]], out: IO[str]) -> list[Provenance]:
    """Write the plans of every environment (``--env all``) as one saved file to ``out``.

    The file is ``{"org", "cloud", "environment": "all", "environments": [<saved plan of one
    environment, as :func:`write` makes it>...], "trellis_plan": {"format", "trellis",
    "org_file", "environment": "all", "environments": [names]}}``: each environment carries its
    own provenance (its templates are its own), so each is judged fresh on its own.
    """
    dumps = json.JSONEncoder(separators=(",", ":")).encode
    first, spec0 = plans[0]
    origins = [provenance(spec) for _, spec in plans]
    out.write("{" + dumps("org") + ":" + dumps(first.org) + "," + dumps("cloud") + ":"
              + dumps(first.cloud) + "," + dumps("environment") + ":" + dumps(ALL) + ","
              + dumps("environments") + ":[\n")
    for i, ((plan, _), origin) in enumerate(zip(plans, origins, strict=True)):
        if i:
            out.write(",\n")
        for chunk in _chunks(plan, origin):
            out.write(chunk)
    meta = {"format": FORMAT, "trellis": trellis_version(),
            "org_file": Path(spec0.org_file).as_posix(), "environment": ALL,
            "environments": [plan.environment for plan, _ in plans]}
    out.write("]," + dumps(KEY) + ":" + dumps(meta) + "}\n")
    return origins


# ---------------------------------------------------------------------------------------------
# Reading
# ---------------------------------------------------------------------------------------------

def _resource(data: dict[str, Any]) -> PlannedResource:
    inputs = data["inputs"]
    missing = set(data.get("not_in_outputs", ()))
    outputs = {k: v for k, v in inputs.items() if k not in missing}
    outputs.update(data["computed"])
    return PlannedResource(
        urn=data["urn"], type=data["type"], name=data["name"], parent=data["parent"],
        inputs=inputs, outputs=outputs, dependencies=data["dependencies"],
        property_dependencies=data["property_dependencies"], protect=data["protect"],
        retain_on_delete=data["retain_on_delete"],
        delete_before_replace=data["delete_before_replace"], aliases=data["aliases"],
        ignore_changes=data["ignore_changes"], replace_on_changes=data["replace_on_changes"],
        custom=data["custom"], provider=data["provider"] or "")


def rebuild_command(origin: Provenance, plan_file: Path, env: str | None = None) -> str:
    return (f"trellis plan {origin.org_file} --env {env or origin.environment} "
            f"--out {plan_file.as_posix()}")


def _unusable(plan_file: Path, why: str) -> SavedPlanError:
    return SavedPlanError(f"{plan_file}: {why}; make it again with `trellis plan ORG --env ENV "
                          f"--out {plan_file}`")


def _parse(data: dict[str, Any], plan_file: Path) -> tuple[Plan, Provenance]:
    """One environment's saved plan (``data``: its JSON object)."""
    meta = data[KEY]
    origin = Provenance(format=meta["format"], trellis=str(meta["trellis"]),
                        org_file=str(meta["org_file"]), org_sha256=str(meta["org_sha256"]),
                        environment=str(meta["environment"]),
                        templates=dict(meta["templates"]), program=str(meta["program"]))
    plan = Plan(org=data["org"], cloud=data["cloud"], environment=data["environment"],
                tier=data["tier"], resources=[_resource(r) for r in data["resources"]],
                outputs=data["outputs"])
    return plan, origin


def load_files(plan_file: Path) -> list[tuple[Plan, Provenance]]:
    """Every environment's plan in a saved file (one, or all of ``--env all``), without judging
    their freshness (see :func:`fresh`)."""
    try:
        with plan_file.open("rb") as fh:
            data = json.load(fh)
    except FileNotFoundError:
        raise SavedPlanError(f"{plan_file}: no such file; make it with `trellis plan ORG "
                             f"--env ENV --out {plan_file}`") from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise _unusable(plan_file, f"cannot read it as a saved plan ({exc})") from None
    meta = data.get(KEY) if isinstance(data, dict) else None
    if not isinstance(meta, dict):
        raise SavedPlanError(
            f"{plan_file} is not a plan saved by `trellis plan --out` (it has no {KEY!r} "
            "object; `--format json` output does not carry what check, cost, diff and handoff "
            f"need); save one with `trellis plan ORG --env ENV --out {plan_file}`")
    if meta.get("format") != FORMAT:
        raise SavedPlanError(
            f"{plan_file} is a saved plan of format {meta.get('format')!r}, made by Trellis "
            f"{meta.get('trellis')}; this Trellis ({trellis_version()}) reads format {FORMAT}: "
            f"rebuild it with `trellis plan {meta.get('org_file', 'ORG')} --env "
            f"{meta.get('environment', 'ENV')} --out {plan_file}`")
    try:
        if meta.get("environment") == ALL:
            found = [_parse(env, plan_file) for env in data["environments"]]
            if not found:
                raise _unusable(plan_file, "it holds no environment")
            return found
        return [_parse(data, plan_file)]
    except (KeyError, TypeError, AttributeError) as exc:
        raise SavedPlanError(f"{plan_file} is damaged ({type(exc).__name__}: {exc}); rebuild "
                             f"it with `trellis plan ORG --env ENV --out {plan_file}`") from None


def load_file(plan_file: Path, env: str | None = None) -> tuple[Plan, Provenance]:
    """The plan of ``env`` (default: the only one) in a saved file, unjudged (see :func:`fresh`)."""
    return _pick(load_files(plan_file), plan_file, env)


def _pick(found: list[tuple[Plan, Provenance]], plan_file: Path,
          env: str | None) -> tuple[Plan, Provenance]:
    if env is None and len(found) > 1:
        names = ", ".join(p.environment for p, _ in found)
        raise SavedPlanError(f"{plan_file} holds the plans of {names}; name one with --env")
    for plan, origin in found:
        if env is None or plan.environment == env:
            return plan, origin
    origin = found[0][1]
    held = ", ".join(f"'{p.environment}'" for p, _ in found)
    raise SavedPlanError(
        f"{plan_file} is the plan of environment{'s' if len(found) > 1 else ''} {held}, not "
        f"'{env}'; drop --env, or save a plan of '{env}': trellis plan {origin.org_file} "
        f"--env {env} --out PLAN.json")


def fresh(origin: Provenance, plan_file: Path, org: Path | None = None,
          saved_env: str | None = None) -> Path:
    """The org file ``plan_file`` was made from, after checking that nothing it was made from
    changed since; raises :class:`SavedPlanError` (what changed, how to rebuild) if it did.

    ``org``: the org file the command was given (default: the one the plan names). It must be
    the same file: same content, and the templates beside it unchanged. ``saved_env``: the
    ``--env`` the file was saved with, when it holds several environments (``all``).
    """
    org_file = org if org is not None else Path(origin.org_file)
    rebuild = rebuild_command(origin, plan_file, saved_env)
    if org is not None:
        rebuild = (f"trellis plan {org.as_posix()} --env {saved_env or origin.environment} "
                   f"--out {plan_file.as_posix()}")
    base = org_file.resolve().parent
    changed: list[str] = []
    files = [(org_file.as_posix(), org_file, origin.org_sha256)]
    files += [(shown, Path(shown) if Path(shown).is_absolute() else base / shown, sha)
              for shown, sha in origin.templates.items()]
    for label, file, sha in files:
        try:
            now = _sha(file)
        except FileNotFoundError:
            changed.append(f"{label} is gone")
            continue
        except OSError as exc:
            changed.append(f"{label} cannot be read ({exc.strerror})")
            continue
        if now != sha:
            what = ("is not the org file the plan was made from" if file is org_file and org
                    else "changed since the plan was made")
            changed.append(f"{label} {what} (sha256 {sha[7:19]} then, {now[7:19]} now)")
    if changed:
        raise SavedPlanError(f"{plan_file} is stale: " + "; ".join(changed)
                             + f". Rebuild it: {rebuild}")
    if origin.program != program_fingerprint():
        raise SavedPlanError(
            f"{plan_file} was made by another Trellis program (Trellis {origin.trellis}; this "
            f"is {trellis_version()}, and its components, compose, mocks or SDK versions "
            f"differ), so it may not be what this one would deploy. Rebuild it: {rebuild}")
    return org_file


def read(plan_file: Path, *, org: Path | None = None,
         env: str | None = None) -> tuple[Plan, Path]:
    """The plan of ``env`` saved in ``plan_file`` and the org file it was made from, if it is
    fresh; ``env`` may be omitted when the file holds one environment.

    ``org``/``env``: what the command was given, if anything; they must be what the plan was
    made from. Raises :class:`SavedPlanError` otherwise, or when the plan is stale.
    """
    found = load_files(plan_file)
    plan, origin = _pick(found, plan_file, None if env == ALL else env)
    return plan, fresh(origin, plan_file, org, ALL if len(found) > 1 else None)


def read_all(plan_file: Path, *, org: Path | None = None,
             env: str | None = None) -> list[tuple[Plan, Path]]:
    """Every plan in ``plan_file`` (``env`` None or ``all``), or the one of ``env``, each with
    the org file it was made from, if fresh; see :func:`read`."""
    if env is not None and env != ALL:
        return [read(plan_file, org=org, env=env)]
    found = load_files(plan_file)
    saved_env = ALL if len(found) > 1 else None
    return [(plan, fresh(origin, plan_file, org, saved_env)) for plan, origin in found]
