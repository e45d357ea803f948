"""Issue 19, independent review (B9c): the handoff cites only what will be deployed.

- A ``gs://`` template is read by ``pulumi up``; offline the plan holds a stand-in (marked by
  the mocks), so the template copy's name (hashed from content) is not the deployed one. Pages
  start such runs from the request the Cloud Scheduler job posts, backed by a planned grant
  (``roles/cloudscheduler.viewer``), and ``--strict`` fails when a page cites a stand-in.
- Publishing to a bucket Trellis does not own is a request to the platform contacts, never a
  command that fails.
- The GKE IP endpoint, the AWS load-balancer controller and the AWS definition read are said
  as planned.
"""

from __future__ import annotations

import copy
import re
from dataclasses import replace
from functools import cache
from pathlib import Path
from types import SimpleNamespace

from rich.console import Console

from stacks.cli.commands import handoff as handoff_cmd
from stacks.handoff import Bundle, recipes, render
from stacks.handoff.model import gather, gather_environment
from stacks.handoff.promises import network
from stacks.org.load import load
from stacks.org.resolve import resolve
from stacks.plan.engine import Plan, plan
from stacks.plan.mocks.common import STAND_IN

ROOT = Path(__file__).resolve().parents[2]
MANY = "examples/many-teams.yaml"


@cache
def _many() -> tuple[Bundle, dict[str, Plan], dict[str, str]]:
    loaded = load(ROOT / MANY)
    plans = {e: plan(resolve(loaded, e)) for e in loaded.environments}
    envs = [gather_environment(resolve(loaded, e), plans[e]) for e in loaded.environments]
    bundle = gather(loaded.org, MANY, envs)
    return bundle, plans, render(bundle)


def _gs_teams(bundle: Bundle):
    for env in bundle.environments:
        for name, te in env.teams.items():
            for p in te.pipelines.values():
                if p.template.startswith("gs://"):
                    yield env, name, te, p


def test_no_page_cites_a_value_the_offline_plan_made_up():
    bundle, _, files = _many()
    assert all(e.stand_ins for e in bundle.environments), (
        f"{MANY}: the plan's copies of gs:// templates are stand-ins ({STAND_IN}); none found")
    for env in bundle.environments:
        for path, text in files.items():
            cited = [v for v in env.stand_ins if v in text]
            assert not cited, (f"{MANY} {path}: cites {cited}, made up by the offline plan for "
                               f"{env.name}: the deployed name differs")


def test_gs_template_runs_start_from_the_scheduler_jobs_request():
    bundle, _, _ = _many()
    seen = 0
    for env, name, te, p in _gs_teams(bundle):
        seen += 1
        job = f"projects/{te.project}/locations/{te.region}/jobs/{p.job_name}"
        py, cli = recipes.pipeline_python(te, p), recipes.pipeline_cli(te, p)
        assert f'"https://cloudscheduler.googleapis.com/v1/{job}"' in py.code, (
            f"{env.name}/{name} {p.name}: the Python recipe must read scheduler job {job}")
        assert 'base64.b64decode(target["body"])' in py.code and 'target["uri"]' in py.code
        assert (f"gcloud scheduler jobs describe {p.job_name} --location {te.region}"
                in cli.code and "--format='value(httpTarget.body)' | base64 -d" in cli.code), (
            f"{env.name}/{name} {p.name}: the CLI recipe must decode the job's httpTarget.body")
        for r in (py, cli):
            assert "templates/" not in r.code and "parameter_values=" not in r.code, (
                f"{env.name}/{name} {p.name}: '{r.title}' names the template copy or "
                "parameters, which the offline plan made up")
        verdict = te.promises.get("pipeline-run")
        assert verdict is not None and verdict.backed, (
            f"{env.name}/{name}: starting {p.name} is not backed: "
            f"{verdict.missing if verdict else 'no step'}")
        needs = {getattr(n, "permission", "") for n in verdict.step.needs}
        assert {"cloudscheduler.jobs.get", "cloudscheduler.jobs.fullView"} <= needs, (
            f"{env.name}/{name}: pipeline-run does not check reading the scheduler job")
    assert seen, f"{MANY}: no gs:// pipeline"


def test_only_members_of_teams_with_gs_templates_may_read_schedules():
    bundle, plans, _ = _many()
    for env in bundle.environments:
        readers = {str(r.inputs["member"]) for r in plans[env.name].resources
                   if r.inputs.get("role") == "roles/cloudscheduler.viewer"}
        wanted = {m for te in env.teams.values() for m in te.members
                  if any(not p.template_local for p in te.pipelines.values())}
        assert wanted, f"{MANY} {env.name}: no team with a gs:// template"
        assert readers == wanted, (
            f"{env.name}: roles/cloudscheduler.viewer goes to exactly the members of teams with "
            f"gs:// templates; extra {sorted(readers - wanted)}, missing "
            f"{sorted(wanted - readers)}")


def test_strict_fails_when_a_page_cites_a_stand_in(monkeypatch, tmp_path):
    bundle, _, _ = _many()
    loaded = load(ROOT / MANY)
    monkeypatch.setattr(handoff_cmd, "build", lambda *a, **k: bundle)
    console = Console(record=True, width=300)
    assert handoff_cmd.handoff_command(loaded, envs=None, out=tmp_path / "ok", console=console,
                                       strict=True) == 0, console.export_text()
    # Today's main: the recipe named the plan's template copy (the stand-in's hash).
    env, name, te, p = next(_gs_teams(bundle))
    copy_uri = next(v for v in env.stand_ins if v.startswith("gs://"))
    broken = replace(te, pipelines={**te.pipelines, p.name: replace(
        p, template_local=True, template_uri=copy_uri)})
    envs = tuple(replace(e, teams={**e.teams, name: broken}) if e is env else e
                 for e in bundle.environments)
    monkeypatch.setattr(handoff_cmd, "build", lambda *a, **k: replace(bundle, environments=envs))
    console = Console(record=True, width=300)
    assert handoff_cmd.handoff_command(loaded, envs=None, out=tmp_path / "bad", console=console,
                                       strict=True) == 1, "--strict passed a cited stand-in"
    assert f"cites a stand-in: teams/{name}.md: {copy_uri}" in console.export_text()


def test_publishing_to_a_bucket_outside_the_stack_is_a_request():
    bundle, _, files = _many()
    for env, name, te, p in _gs_teams(bundle):
        verdict = te.promises.get("pipeline-publish")
        assert verdict is not None and verdict.step.outside and not verdict.backed, (
            f"{env.name}/{name}: publishing to {p.template} must be checked (nothing grants it)")
        assert verdict not in te.promises.unbacked, "a request is not a broken promise"
        page = files[f"teams/{name}.md"]
        bucket, prefix = recipes.template_prefix(p.template)
        assert f"Publish a new version of {p.name}: ask the platform team" in page
        assert f"To: {', '.join(bundle.contacts)}" in page
        assert ("roles/storage.objectCreator on bucket " + bucket) in page
        assert (f'resource.name.startsWith("projects/_/buckets/{bucket}/objects/{prefix}")'
                in page), f"{env.name}/{name}: the request must limit the grant to {prefix}"
        assert f"gcloud storage cp ./pipeline.yaml {p.template}" not in page, (
            f"{env.name}/{name}: a command that overwrites {p.template} fails (no grant, and "
            "objectCreator cannot replace an object)")


def test_gcp_ip_endpoint_text_follows_the_planned_cluster():
    bundle, plans, files = _many()
    env = bundle.environments[0]
    te = next(iter(env.teams.values()))
    text, _ = network(plans[env.name], te)
    assert "the IP endpoint is private" not in text and re.search(
        r"the public IP endpoint answers only from [0-9./, ]+ \(`platform.admin_cidrs`\); "
        r"elsewhere use the DNS endpoint", text), text
    private = copy.deepcopy(plans[env.name])
    for r in private.of_type("gcp:container/cluster:Cluster"):
        r.inputs["privateClusterConfig"]["enablePrivateEndpoint"] = True
    assert "the IP endpoint is private" in network(private, te)[0]
    assert "`platform.admin_cidrs`" in files[f"teams/{next(iter(env.teams))}.md"]


def test_aws_load_balancer_text_says_the_controller_is_not_installed(aws):
    seen = 0
    for env in aws.bundle.environments:
        for name, te in env.teams.items():
            if not te.pools:
                continue
            seen += 1
            assert not te.lb_controller, "the plan installs no AWS Load Balancer Controller"
            pool = recipes.serving_pool(te)
            lb = recipes.load_balancer_recipe(te, pool)
            assert lb is not None and "has no AWS Load Balancer Controller" in lb.intro, (
                f"{env.name}/{name}: the load-balancer text assumes a controller the plan lacks")
            ask = recipes.lb_controller_request(te, pool, aws.bundle.contacts)
            assert ask and f"Cluster {te.cluster_name}" in ask and ask.startswith("To: ")
            assert ask in aws.files[f"teams/{name}.md"]
            with_controller = replace(te, lb_controller=True)
            assert recipes.lb_controller_request(with_controller, pool, ()) is None
    assert seen


def test_aws_definition_is_read_by_pulumi_up_not_by_sagemaker():
    team = SimpleNamespace(cloud="aws", env="prod", team="recsys")
    p = SimpleNamespace(name="eval", pipeline_name="acme-prod-recsys-eval",
                        template="s3://defs/recsys/eval.json", template_local=False,
                        template_uri="s3://defs/recsys/eval.json")
    r = recipes.publish_template(team, p, "examples/aws.yaml")  # type: ignore[arg-type]
    assert "SageMaker reads" not in r.code + r.intro
    assert "`pulumi up` reads the definition" in r.intro and "`s3:GetObject`" in r.intro
