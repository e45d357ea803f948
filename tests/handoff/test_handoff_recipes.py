"""The recipes work as written: valid Kubernetes YAML, scheduling contracts equal to the planned
GPU pools, Python that compiles, shell that parses, JSON bodies that load."""

from __future__ import annotations

import copy
import html
import json
import re
import shutil
import subprocess

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from stacks.handoff import recipes
from stacks.handoff.model import NODE_POOL_TYPES, HandoffError, gather_environment
from tests.gcp import discovery

from . import k8s_shape

FENCE = re.compile(r"^```(\w+)\n(.*?)\n```$", re.S | re.M)
K8S_EFFECT = {"NO_SCHEDULE": "NoSchedule", "PREFER_NO_SCHEDULE": "PreferNoSchedule",
              "NO_EXECUTE": "NoExecute"}


def blocks(markdown: str, lang: str) -> list[str]:
    return [code for kind, code in FENCE.findall(markdown) if kind == lang]


def env_sections(page: str) -> dict[str, str]:
    parts = re.split(r"^## ", page, flags=re.M)
    return {p.split(" ", 1)[0]: p for p in parts[1:] if re.match(r"\S+ \(", p)}


def planned_gpu_pools(plan) -> list[dict]:
    """Every planned GPU pool's labels and taints, read straight from the plan resources."""
    pools = []
    for r in plan.of_type(NODE_POOL_TYPES[plan.cloud]):
        holder = r.inputs.get("nodeConfig", {}) if plan.cloud == "gcp" else r.inputs
        taints = holder.get("taints") or []
        if not any(t["key"] == "nvidia.com/gpu" for t in taints):
            continue  # the system pool
        pools.append({"name": r.name, "labels": holder.get("labels") or {},
                      "tolerations": [{"key": t["key"], "operator": "Equal",
                                       "value": t["value"], "effect": K8S_EFFECT[t["effect"]]}
                                      for t in taints]})
    return pools


def jobs_of(example):
    """(team, env, job document) for every Job recipe of every team page."""
    for path, text in example.files.items():
        if not path.startswith("teams/"):
            continue
        team = path.removeprefix("teams/").removesuffix(".md")
        for env, body in env_sections(text).items():
            for code in blocks(body, "yaml"):
                for doc in yaml.safe_load_all(code):
                    if isinstance(doc, dict) and doc.get("kind") == "Job":
                        yield team, env, doc


def test_every_job_lands_on_a_planned_gpu_pool(example):
    seen = 0
    for team, env, job in jobs_of(example):
        seen += 1
        where = f"teams/{team}.md ({env}) Job {job['metadata']['name']}"
        assert job["apiVersion"] == "batch/v1" and job["kind"] == "Job", where
        assert job["metadata"]["namespace"] == team, where
        pod = job["spec"]["template"]["spec"]
        assert pod["serviceAccountName"] == team, where
        assert pod["restartPolicy"] == "Never", where
        limits = pod["containers"][0]["resources"]["limits"]
        assert isinstance(limits["nvidia.com/gpu"], int) and limits["nvidia.com/gpu"] >= 1, where
        matches = [p for p in planned_gpu_pools(example.plans[env])
                   if p["labels"] == pod["nodeSelector"]
                   and p["tolerations"] == pod["tolerations"]]
        assert len(matches) == 1, (f"{where}: nodeSelector/tolerations match no planned GPU "
                                   f"pool (pods would stay Pending)")
        pool = example.specs[env].teams[team].pools[pod["nodeSelector"]["trellis.dev/pool"]]
        assert limits["nvidia.com/gpu"] == pool.gpus_per_node, where
    expected = sum(len(t.pools) for s in example.specs.values() for t in s.teams.values())
    assert seen == expected, "one Job recipe per pool and environment"


def test_every_manifest_is_the_dict_it_came_from_and_a_valid_job(example):
    """The YAML on the page loads back to exactly the manifest, and every key is a field of a
    batch/v1 Job (pulumi_kubernetes' JobArgs, generated from the Kubernetes OpenAPI schema)."""
    for env, bundle_env in ((e.name, e) for e in example.bundle.environments):
        for team, te in bundle_env.teams.items():
            section = env_sections(example.files[f"teams/{team}.md"])[env]
            on_page = [doc for code in blocks(section, "yaml") for doc in yaml.safe_load_all(code)
                       if isinstance(doc, dict) and doc.get("kind") == "Job"]
            made = [recipes.job_manifest(te, pool) for pool in te.pools.values()]
            assert on_page == made, f"teams/{team}.md ({env}): YAML differs from the manifests"
            for job in made:
                where = f"teams/{team}.md ({env}) Job {job['metadata']['name']}"
                assert k8s_shape.problems(job) == [], where


def test_the_shape_check_catches_a_misspelt_key(gcp):
    te = gcp.bundle.environments[0].teams["recsys"]
    job = recipes.job_manifest(te, te.pools["train"])
    pod = job["spec"]["template"]["spec"]
    pod["nodeSelecter"] = pod.pop("nodeSelector")
    pod["containers"][0]["resources"]["limits"]["nvidia.com/gpu"] = True
    found = k8s_shape.problems(job)
    assert any("Job.spec.template.spec.nodeSelecter: not a field of PodSpec" in p
               for p in found), found
    assert any("limits.nvidia.com/gpu: True is not a str" in p for p in found), found


def test_html_recipes_are_the_markdown_recipes(example):
    page = example.files["index.html"]
    in_html = [html.unescape(m) for m in
               re.findall(r'<code class="language-yaml">(.*?)</code>', page, re.S)]
    in_md = [code for path, text in sorted(example.files.items()) if path.endswith(".md")
             for code in blocks(text, "yaml")]
    assert sorted(in_html) == sorted(in_md)


def test_recipes_follow_the_plan_not_a_second_copy(gcp):
    """Relabel a pool in the plan: the guide must follow the plan, whatever the outputs say."""
    spec, plan = gcp.specs["dev"], copy.deepcopy(gcp.plans["dev"])
    pool = next(r for r in plan.of_type(NODE_POOL_TYPES["gcp"]) if r.name == "recsys-train")
    pool.inputs["nodeConfig"]["labels"] = {"trellis.dev/pool": "train-v2",
                                           "trellis.dev/team": "recsys"}
    pool.inputs["nodeConfig"]["taints"] = [{"key": "nvidia.com/gpu", "value": "present",
                                            "effect": "NO_SCHEDULE"}]
    team = gather_environment(spec, plan).teams["recsys"]
    job = recipes.job_manifest(team, team.pools["train"])
    pod = job["spec"]["template"]["spec"]
    assert pod["nodeSelector"] == {"trellis.dev/pool": "train-v2", "trellis.dev/team": "recsys"}
    assert pod["tolerations"] == [{"key": "nvidia.com/gpu", "operator": "Equal",
                                   "value": "present", "effect": "NoSchedule"}]


def test_a_pool_missing_from_the_plan_is_an_error(gcp):
    spec, plan = gcp.specs["dev"], copy.deepcopy(gcp.plans["dev"])
    plan.resources = [r for r in plan.resources
                      if not (r.type == NODE_POOL_TYPES["gcp"] and r.name == "vision-finetune")]
    with pytest.raises(HandoffError, match="vision/finetune"):
        gather_environment(spec, plan)


def test_python_recipes_compile(example):
    for path, text in example.files.items():
        for i, code in enumerate(blocks(text, "python")):
            compile(code, f"{path}#python{i}", "exec")


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_shell_recipes_parse(example):
    for path, text in example.files.items():
        for i, code in enumerate(blocks(text, "shell")):
            run = subprocess.run(["bash", "-n"], input=code, capture_output=True, text=True,
                                 check=False)
            assert run.returncode == 0, f"{path} shell block {i}: {run.stderr}\n{code}"
            for body in re.findall(r"<<'EOF'\n(.*?)\nEOF", code, re.S):
                json.loads(body)


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_gcp_run_recipe_sends_the_spec_the_schedule_sends(gcp):
    """The curl recipe runs as written: with gcloud and curl stubbed, bash prints the request
    body, which must carry the pipeline spec read from the pipeline root (never templateUri,
    which Vertex AI reads only from Artifact Registry)."""
    spec = {"pipelineInfo": {"name": "x"}, "root": {"dag": {"tasks": {}}}, "note": "a $b `c` \\"}
    stub = ("gcloud() { if [ \"$1\" = storage ]; then printf '%s' \"$SPEC\"; "
            "else echo token; fi; }\ncurl() { cat; }\n")
    found, found_cmek = 0, False
    for path, text in gcp.files.items():
        for code in blocks(text, "shell"):
            if "pipelineJobs" not in code:
                continue
            found += 1
            run = subprocess.run(["bash", "-c", stub + code], capture_output=True, text=True,
                                 check=False, env={"SPEC": json.dumps(spec), "PATH": "/bin"})
            assert run.returncode == 0, f"{path}: {run.stderr}"
            body = json.loads(run.stdout)
            assert body["pipelineSpec"] == spec, f"{path}: the spec is spliced in verbatim"
            assert "templateUri" not in body, f"{path}: Vertex AI refuses gs:// templateUri"
            env = next(e for e in gcp.bundle.environments
                       if f"/projects/{e.project}/" in code)
            key = gcp.specs[env.name].kms_key_id("vertex")
            # Review GCP 8: with customer-managed keys a run carries the environment's key,
            # as the scheduled runs do; without, no encryptionSpec.
            assert set(body) == {"displayName", "pipelineSpec", "runtimeConfig",
                                 "serviceAccount", "labels",
                                 *(("encryptionSpec",) if key else ())}, path
            if key:
                assert body["encryptionSpec"] == {"kmsKeyName": key}, path
                # The field as the aiplatform v1 discovery document defines it.
                assert discovery.validate("aiplatform.v1", "GoogleCloudAiplatformV1PipelineJob",
                                          {**body, "pipelineSpec": spec}) == [], path
                found_cmek = True
    assert found, "the GCP guide has a run-now recipe"
    assert found_cmek, "the bundled GCP org has an environment with customer-managed keys"


def test_heredoc_text_survives_an_unquoted_heredoc():
    text = 'a $HOME `id` \\n "q"'
    run = subprocess.run(["bash", "-c", f"cat <<EOF\n{recipes.heredoc_text(text)}\nEOF"],
                         capture_output=True, text=True, check=True)
    assert run.stdout == text + "\n"


# Hypothesis: to_yaml (safe_dump with our options) round-trips anything a recipe could hold.
scalars = (st.text(max_size=12) | st.integers(-10**12, 10**12) | st.booleans() | st.none()
           | st.floats(allow_nan=False, allow_infinity=False))
documents = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4)
                         | st.dictionaries(st.text(min_size=1, max_size=10), inner, max_size=4),
                         max_leaves=20)


@settings(max_examples=100, deadline=None)
@given(documents)
def test_to_yaml_round_trips(value):
    assert yaml.safe_load(recipes.to_yaml(value)) == value


def test_publishing_a_gs_template_names_its_uri_and_the_deployment_that_reads_it():
    from types import SimpleNamespace

    team = SimpleNamespace(cloud="gcp", env="prod", team="search")
    p = SimpleNamespace(name="weekly", pipeline_name="globex-prod-search-weekly",
                        template="gs://globex-ai-templates/search/train.yaml",
                        template_local=False, template_uri=None)
    recipe = recipes.publish_template(team, p, "examples/many-teams.yaml")  # type: ignore[arg-type]
    assert recipe.code.startswith(
        'NEW="gs://globex-ai-templates/search/train-$(date +%Y%m%d-%H%M%S).yaml"'), (
        "publish next to the URI org.yaml names (a new object: objectCreator cannot replace "
        "one), not to the schedule's copy")
    assert 'gcloud storage cp ./pipeline.yaml "$NEW"' in recipe.code
    assert "teams.search.pipelines.weekly.template" in recipe.code, "say what org.yaml changes"
    assert "pulumi up -s prod" in recipe.code and "`pulumi up` reads" in recipe.intro


def test_serving_recipe_is_a_valid_deployment_service_and_policy_on_a_planned_pool(example):
    """Issue 19.3 / review AWS 11, GCP 10: the serving recipe is a Deployment with a GPU
    request, a readiness probe and the pool's planned contract, a Service, and the
    NetworkPolicy that admits traffic to exactly those pods (ingress is denied by default)."""
    seen = 0
    for env, bundle_env in ((e.name, e) for e in example.bundle.environments):
        for team, te in bundle_env.teams.items():
            if not te.pools:
                continue
            section = env_sections(example.files[f"teams/{team}.md"])[env]
            docs = [d for code in blocks(section, "yaml") for d in yaml.safe_load_all(code)
                    if isinstance(d, dict) and d.get("kind") in
                    ("Deployment", "Service", "NetworkPolicy")]
            pool = recipes.serving_pool(te)
            lb = recipes.load_balancer_policy(te, pool)
            assert docs == [*recipes.serve_manifests(te, pool), *([lb] if lb else [])], \
                f"teams/{team}.md ({env}): serving YAML differs from its manifests"
            deployment, service, policy = docs[:3]
            where = f"teams/{team}.md ({env}) Deployment {deployment['metadata']['name']}"
            for d in docs:
                assert k8s_shape.problems(d) == [], f"{where}: {d['kind']} shape"
            pod = deployment["spec"]["template"]["spec"]
            matches = [p for p in planned_gpu_pools(example.plans[env])
                       if p["labels"] == pod["nodeSelector"]
                       and p["tolerations"] == pod["tolerations"]]
            assert len(matches) == 1, f"{where}: lands on no planned GPU pool"
            container = pod["containers"][0]
            assert container["resources"]["limits"][pool.resource_name] == 1, where
            assert container["readinessProbe"]["httpGet"]["port"] == \
                container["ports"][0]["containerPort"], f"{where}: the probe checks no served port"
            labels = deployment["spec"]["template"]["metadata"]["labels"]
            assert service["spec"]["selector"] == labels, f"{where}: Service selects nothing"
            assert policy["spec"]["podSelector"]["matchLabels"] == labels, \
                f"{where}: the NetworkPolicy does not open the served pods"
            assert [p["port"] for r in policy["spec"]["ingress"] for p in r["ports"]] == \
                [container["ports"][0]["containerPort"]], f"{where}: policy opens another port"
            assert deployment["metadata"]["namespace"] == te.namespace, where
            seen += 1
    assert seen, "no serving recipe checked"


def test_serving_behind_a_load_balancer_admits_where_it_connects_from(example):
    """Review 2: ingress is default-deny and the serving policy admits pods, not addresses.
    Behind a load balancer the page adds a policy for the load balancer's sources: Google's
    health-check and front-end ranges (cloud.google.com/load-balancing/docs/firewall-rules),
    or the planned VPC's range on AWS (ALB / NLB with IP targets)."""
    for env in example.bundle.environments:
        vpc = [str(r.inputs["cidrBlock"]) for r in example.plans[env.name].of_type(
            "aws:ec2/vpc:Vpc")]
        for team, te in env.teams.items():
            if not te.pools or te.ingress_from is None:
                continue
            pool = recipes.serving_pool(te)
            policy = recipes.load_balancer_policy(te, pool)
            assert policy is not None, f"{team}/{env.name}: no load-balancer policy"
            sources = [peer["ipBlock"]["cidr"] for rule in policy["spec"]["ingress"]
                       for peer in rule["from"]]
            expected = ["35.191.0.0/16", "130.211.0.0/22"] if example.cloud == "gcp" else vpc
            assert sources == expected, f"{team}/{env.name}: load balancer admitted from " \
                f"{sources}, it connects from {expected}"
            assert policy["spec"]["podSelector"] == \
                recipes.serve_manifests(te, pool)[0]["spec"]["selector"], \
                f"{team}/{env.name}: the policy selects other pods than the Deployment's"
            page = " ".join(example.files[f"teams/{team}.md"].split())
            assert "**Behind a load balancer**" in page and \
                f"allow-lb-{recipes.serve_name(pool)}" in page, f"{team}: recipe not printed"
