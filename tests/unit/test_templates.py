"""Pipeline templates are checked by `trellis validate`: a bad template, an unknown parameter or
an image the pipeline cannot pull is a located error (org.yaml line, and the template's file,
line and column), never a 3 a.m. failure or an internal error at plan time."""

from __future__ import annotations

import json
import re
import shutil
import textwrap
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stacks.org import kfp, sagemaker, templates
from stacks.org.errors import OrgError
from stacks.org.load import load
from stacks.org.resolve import resolve
from stacks.plan.engine import plan
from tests.conftest import ROOT

BUNDLED_TEMPLATE = ROOT / "stacks" / "pipelines" / "train.yaml"
EXAMPLE_DEFINITION = ROOT / "examples" / "pipelines" / "train.json"

GCP_ORG = """\
version: 1
org: acme
cloud: gcp
region: us-central1
contacts: [ml@acme.com]
platform: {{gke_security_group: gke-security-groups@acme.com}}
environments:
  dev: {{project: acme-ml-dev}}
  prod: {{project: acme-ml-prod, tier: production}}
teams:
  recsys:
    members: [group:recsys@acme.com]
    pipelines:
      nightly:
        template: {template}
        schedule: "0 3 * * *"
        parameters: {parameters}
{overrides}"""

AWS_ORG = """\
version: 1
org: acme
cloud: aws
region: us-east-1
platform: {{admin_cidrs: [203.0.113.0/24]}}
environments:
  dev: {{account: "111111111111"}}
  prod: {{account: "222222222222", region: us-west-2}}
teams:
  recsys:
    members: [arn:aws:iam::111111111111:role/recsys]
    pipelines:
      nightly:
        template: {template}
        schedule: "0 3 * * *"
        parameters: {parameters}
{overrides}"""


def org(tmp_path: Path, cloud: str, template_text: str | None, *, parameters: str = "{}",
        overrides: str = "", name: str = "pipelines/t.yaml") -> Path:
    if template_text is not None:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(template_text, encoding="utf-8")
    text = (GCP_ORG if cloud == "gcp" else AWS_ORG).format(
        template=name, parameters=parameters, overrides=textwrap.indent(overrides, "    "))
    path = tmp_path / "org.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def problems(path: Path) -> list[str]:
    with pytest.raises(OrgError) as exc:
        load(path)
    return [str(i) for i in exc.value.issues]


def line_of(path: Path, needle: str) -> int:
    return next(i for i, ln in enumerate(path.read_text().splitlines(), 1) if needle in ln)


def spec(**root_inputs: dict) -> dict:
    """A small compiled pipeline with the given root input parameters."""
    doc = yaml.safe_load(BUNDLED_TEMPLATE.read_text())
    doc["root"]["inputDefinitions"]["parameters"] = root_inputs
    return doc


# ---- gcp: KFP pipeline specs ---------------------------------------------------------------

def test_bundled_template_is_a_compiled_kfp_spec_that_passes():
    t = templates.kfp_template(BUNDLED_TEMPLATE, "pipelines/train.yaml")
    assert t.ok, t.findings
    assert t.spec is not None and t.spec["sdkVersion"].startswith("kfp-2."), (
        "the bundled template is compiled by the KFP SDK, not written by hand")
    assert kfp.parse_error(t.spec, kfp.PIPELINE_SPEC) is None
    assert {n: (i.type, i.required) for n, i in t.inputs.items()} == {
        "epochs": ("NUMBER_INTEGER", False), "learning_rate": ("NUMBER_DOUBLE", False)}


def test_a_template_that_is_not_a_pipeline_is_a_located_error(tmp_path):
    path = org(tmp_path, "gcp", "hello: world\n")
    found = problems(path)
    at = f"{path}:{line_of(path, 'template:')}:19 teams.recsys.pipelines.nightly.template"
    assert any(p.startswith(at) and "pipelines/t.yaml:1:1 hello: unknown field 'hello' in "
               "PipelineSpec" in p for p in found), found
    assert any("not a compiled KFP pipeline spec" in p for p in found), found


@pytest.mark.parametrize(("text", "where", "why"), [
    ("root:\n  dag: {tasks: {a: {componentRef: {name: 3}}}}\n",
     "pipelines/t.yaml:2:36 root.dag.tasks.a.componentRef.name", "expected a string"),
    ("pipelineInfo: {name: x}\nroot: {dag: {}}\nschemaVersion: 2.1.0\n"
     "components: {c: {executorLabel: missing}}\n",
     "pipelines/t.yaml:4:18 components.c.executorLabel", "not in deploymentSpec.executors"),
    ("pipelineInfo: {name: x}\nroot: {dag: {tasks: {a: {componentRef: {name: comp-x}}}}}\n"
     "schemaVersion: 2.1.0\n", "root.dag.tasks.a.componentRef.name",
     "runs component 'comp-x', which components does not define"),
    ("root: {dag: {}}\nschemaVersion: 2.1.0\n", "pipelines/t.yaml:1:1",
     "pipelineInfo.name is missing"),
    ("root: [\n", "pipelines/t.yaml:2:1", "not valid YAML or JSON"),
    ("a: &x {b: 1}\nc: *x\n", "pipelines/t.yaml:2:1", "aliases are not supported"),
])
def test_template_problems_point_into_the_template(tmp_path, text, where, why):
    found = problems(org(tmp_path, "gcp", text))
    assert any(where in p and why in p for p in found), found


def test_unknown_and_mistyped_parameters_are_located_in_org_yaml_and_the_template(tmp_path):
    path = org(tmp_path, "gcp", BUNDLED_TEMPLATE.read_text(),
               parameters='{epoch: 10, learning_rate: "fast"}')
    found = problems(path)
    line = line_of(path, "parameters:")
    unknown = next(p for p in found if "'epoch'" in p)
    assert unknown.startswith(f"{path}:{line}:22 teams.recsys.pipelines.nightly.parameters."
                              "epoch: 'epoch' is not an input of the pipeline in "
                              "pipelines/t.yaml"), unknown
    assert "(did you mean 'epochs'?)" in unknown
    assert re.search(r"pipelines/t\.yaml:\d+:\d+: epochs \(NUMBER_INTEGER\)", unknown), unknown
    mistyped = next(p for p in found if "'learning_rate'" in p)
    assert re.search(r"is a NUMBER_DOUBLE input \(pipelines/t\.yaml:\d+:\d+\); got 'fast' "
                     r"\(a string\): give a number", mistyped), mistyped


def test_parameter_types_follow_the_kfp_parameter_type(tmp_path):
    doc = spec(n={"parameterType": "NUMBER_INTEGER"}, f={"parameterType": "NUMBER_DOUBLE"},
               b={"parameterType": "BOOLEAN"}, s={"parameterType": "STRING"},
               items={"parameterType": "LIST"}, cfg={"parameterType": "STRUCT"})
    good = "{n: 3, f: 2, b: true, s: x, items: [1, 2], cfg: {a: 1}}"
    load(org(tmp_path, "gcp", yaml.safe_dump(doc), parameters=good))
    bad = "{n: 3.5, f: true, b: 1, s: 4, items: {a: 1}, cfg: [1]}"
    found = problems(org(tmp_path, "gcp", yaml.safe_dump(doc), parameters=bad))
    assert len([p for p in found if " input (pipelines/t.yaml" in p]) == 6, found


def test_required_inputs_must_be_given(tmp_path):
    doc = spec(table={"parameterType": "STRING"},
               limit={"parameterType": "NUMBER_INTEGER", "isOptional": True})
    found = problems(org(tmp_path, "gcp", yaml.safe_dump(doc)))
    assert any("input 'table' (STRING, pipelines/t.yaml:" in p and "has no default" in p
               for p in found), found
    assert not any("'limit'" in p for p in found), "optional inputs may be left out"
    load(org(tmp_path, "gcp", yaml.safe_dump(doc), parameters="{table: events}"))


def test_an_override_is_checked_where_it_is_written(tmp_path):
    path = org(tmp_path, "gcp", BUNDLED_TEMPLATE.read_text(), parameters="{epochs: 3}",
               overrides="overrides:\n  prod: {pipelines: {nightly: {parameters: "
                         "{epochs: many}}}}\n")
    found = problems(path)
    assert len(found) == 1, found
    assert found[0].startswith(f"{path}:{line_of(path, 'overrides:') + 1}:")
    assert "teams.recsys.overrides.prod.pipelines.nightly.parameters.epochs" in found[0]


def test_a_platform_spec_document_is_parsed_and_kubernetes_settings_are_refused(tmp_path):
    text = BUNDLED_TEMPLATE.read_text()
    load(org(tmp_path, "gcp", text + "---\nplatforms: {}\n"))
    found = problems(org(tmp_path, "gcp", text + "---\nplatforms:\n  kubernetes: "
                                                 "{deploymentSpec: {}}\n"))
    assert any("platform settings for kubernetes" in p and "cannot run on Vertex AI" in p
               for p in found), found
    found = problems(org(tmp_path, "gcp", text + "---\nplatform: {}\n"))
    assert any("unknown field 'platform' in PlatformSpec (did you mean 'platforms'?)" in p
               for p in found), found


def test_a_pipeline_job_json_template_is_accepted(tmp_path):
    doc = {"pipelineSpec": spec(table={"parameterType": "STRING"}),
           "runtimeConfig": {"parameterValues": {"table": "events"}}}
    path = org(tmp_path, "gcp", json.dumps(doc), name="pipelines/t.json")
    env = resolve(load(path), "dev")  # the default from runtimeConfig satisfies 'table'
    p = plan(env)
    (job,) = p.of_type("gcp:cloudscheduler/job:Job")
    assert job.name == "recsys-nightly"


def test_a_spec_too_large_for_a_scheduler_job_is_refused(tmp_path):
    doc = spec()
    doc["pipelineInfo"]["description"] = "x" * templates.SCHEDULER_JOB_MAX_BYTES
    found = problems(org(tmp_path, "gcp", yaml.safe_dump(doc)))
    assert any("inside its Cloud Scheduler job, which holds at most 1,000,000 bytes" in p
               for p in found), found


def test_what_validates_plans_with_the_spec_inline(tmp_path):
    doc = spec(items={"parameterType": "LIST"}, cfg={"parameterType": "STRUCT"})
    path = org(tmp_path, "gcp", yaml.safe_dump(doc), parameters="{items: [1, 2], cfg: {a: b}}")
    p = plan(resolve(load(path), "prod"))
    (job,) = p.of_type("gcp:cloudscheduler/job:Job")
    import base64

    body = json.loads(base64.b64decode(job.inputs["httpTarget"]["body"]))
    assert body["pipelineSpec"] == doc
    assert body["runtimeConfig"]["parameterValues"] == {"items": [1, 2], "cfg": {"a": "b"}}


def test_the_descriptor_is_the_one_the_readme_records():
    readme = (ROOT / "stacks" / "org" / "data" / "README.md").read_text()
    import hashlib

    digest = hashlib.sha256(kfp.DESCRIPTOR_FILE.read_bytes()).hexdigest()
    assert digest in readme, "refresh data/README.md with the new descriptor's sha256"
    assert kfp.descriptor(kfp.PIPELINE_SPEC).full_name == "ml_pipelines.PipelineSpec"


# ---- aws: SageMaker pipeline definitions ---------------------------------------------------

def definition(**changes) -> str:
    doc = json.loads(EXAMPLE_DEFINITION.read_text())
    doc.update(changes)
    return json.dumps(doc, indent=2)


DLC = ("763104351884.dkr.ecr.{}.amazonaws.com/pytorch-training:"
       "2.3.0-gpu-py311-cu121-ubuntu20.04-sagemaker")
REQUIRED = ('{ExecutionRoleArn: "arn:aws:iam::111111111111:role/acme-dev-recsys-pipelines", '
            'OutputPath: "s3://acme-dev-recsys-pipeline-root/n", TrainingImage: "%s"}')


def test_example_definition_passes_and_grants_exactly_its_dlc(tmp_path):
    path = org(tmp_path, "aws", EXAMPLE_DEFINITION.read_text(), name="pipelines/t.json",
               parameters=REQUIRED % DLC.format("us-east-1"),
               overrides="overrides:\n  prod: {pipelines: {nightly: {parameters: "
                         f"{{TrainingImage: \"{DLC.format('us-west-2')}\"}}}}}}}}\n")
    loaded = load(path)
    for env, region in (("dev", "us-east-1"), ("prod", "us-west-2")):
        spec_ = resolve(loaded, env).teams["recsys"].pipelines["nightly"]
        assert spec_.image_repositories == (
            f"arn:aws:ecr:{region}:763104351884:repository/pytorch-training",)


def test_truncated_json_is_a_located_error(tmp_path):
    path = org(tmp_path, "aws", '{"Version": "2020-12-01",\n "Steps": [', name="pipelines/t.json")
    (found,) = problems(path)
    assert found.startswith(f"{path}:{line_of(path, 'template:')}:19 "
                            "teams.recsys.pipelines.nightly.template: pipelines/t.json:2:12: "
                            "not valid JSON"), found


@pytest.mark.parametrize(("doc", "why"), [
    (definition(Versoin="x"), "unknown key 'Versoin' (did you mean 'Version'?)"),
    (definition(Version="2017-01-01"), '"Version" must be "2020-12-01"'),
    (definition(Steps=[]), '"Steps" must be a non-empty list'),
    (definition(Steps=[{"Name": "A", "Type": "Trainig", "Arguments": {}}]),
     "step type \"Trainig\" is not one of Training"),
    (definition(Steps=[{"Name": "A", "Type": "Fail", "Arguments": {}, "DependsOn": ["B"]}]),
     "step 'B' does not exist"),
    (definition(Steps=[{"Name": "A", "Type": "Fail",
                        "Arguments": {"ErrorMessage": {"Get": "Parameters.Nope"}}}]),
     "Parameters.Nope names no parameter"),
    (definition(Parameters=[{"Name": "Epochs", "Type": "Integer", "DefaultValue": "ten"}]),
     "the default of Integer parameter 'Epochs' is a string"),
])
def test_definition_structure_problems_are_located(tmp_path, doc, why):
    found = problems(org(tmp_path, "aws", doc, name="pipelines/t.json"))
    assert any(re.search(r"pipelines/t\.json:\d+:\d+", p) and why in p for p in found), found


def test_parameters_must_exist_fit_and_be_given(tmp_path):
    path = org(tmp_path, "aws", EXAMPLE_DEFINITION.read_text(), name="pipelines/t.json",
               parameters='{Epoch: 3, LearningRate: "fast", TrainingImage: ""}')
    found = problems(path)
    assert any("'Epoch' is not a parameter of the definition in pipelines/t.json" in p
               and "(did you mean 'Epochs'?)" in p for p in found), found
    assert any("'LearningRate' is a Float parameter" in p for p in found), found
    assert any("'TrainingImage' is sent as 0 characters" in p for p in found), found
    assert any("parameter 'ExecutionRoleArn' (String, pipelines/t.json:" in p
               and "has no DefaultValue" in p for p in found), found


@pytest.mark.parametrize(("image", "why"), [
    (DLC.format("us-west-2"), "the image is in us-west-2, but the job runs in us-east-1"),
    ("python:3.11", "not an Amazon ECR image"),
    ("999999999999.dkr.ecr.us-east-1.amazonaws.com/x:1", "in account 999999999999"),
    ("111111111111.dkr.ecr.us-east-1.amazonaws.com/other/x:1",
     "not under the team's prefix 'dev/recsys/'"),
])
def test_images_the_pipeline_role_cannot_pull_are_located_at_their_parameter(tmp_path, image,
                                                                               why):
    path = org(tmp_path, "aws", EXAMPLE_DEFINITION.read_text(), name="pipelines/t.json",
               parameters=REQUIRED % image)
    found = [p for p in problems(path) if "environment 'dev'" in p]
    assert len(found) == 1 and why in found[0], found
    assert found[0].startswith(f"{path}:{line_of(path, 'parameters:')}:")
    assert "parameters.TrainingImage: step 'Train' (pipelines/t.json:" in found[0]


def test_the_teams_own_repository_needs_no_extra_grant(tmp_path):
    own = "111111111111.dkr.ecr.us-east-1.amazonaws.com/dev/recsys/trainer:1"
    prod = "222222222222.dkr.ecr.us-west-2.amazonaws.com/prod/recsys/trainer:1"
    path = org(tmp_path, "aws", EXAMPLE_DEFINITION.read_text(), name="pipelines/t.json",
               parameters=REQUIRED % own,
               overrides="overrides:\n  prod: {pipelines: {nightly: {parameters: "
                         f"{{TrainingImage: \"{prod}\"}}}}}}}}\n")
    env = resolve(load(path), "dev")
    assert env.teams["recsys"].pipelines["nightly"].image_repositories == ()


def test_a_definition_too_large_for_create_pipeline_is_refused(tmp_path):
    doc = definition(Metadata={"pad": "x" * sagemaker.DEFINITION_MAX_CHARS})
    found = problems(org(tmp_path, "aws", doc, name="pipelines/t.json",
                         parameters=REQUIRED % DLC.format("us-east-1")))
    assert any("CreatePipeline takes at most 1,048,576" in p for p in found), found


def test_resolve_image_follows_parameters_and_joins():
    params = {"Img": sagemaker.Parameter("Img", "String", "a:1", True, "t:1:1")}
    assert sagemaker.resolve_image({"Get": "Parameters.Img"}, {}, params) == ("a:1", "Img")
    assert sagemaker.resolve_image({"Get": "Parameters.Img"}, {"Img": "b:2"}, params) == \
        ("b:2", "Img")
    join = {"Std:Join": {"On": ":", "Values": ["repo", {"Get": "Parameters.Img"}]}}
    assert sagemaker.resolve_image(join, {}, params) == ("repo:a:1", "Img")
    assert sagemaker.resolve_image({"Get": "Steps.Train.Image"}, {}, params) == (None, None)


def test_every_example_still_validates():
    for path in (ROOT / "stacks" / "org.yaml", *sorted((ROOT / "examples").glob("*.yaml"))):
        load(path)


def test_a_copied_example_directory_validates(tmp_path):
    """Templates are found relative to the org file, wherever it is."""
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    load(tmp_path / "examples" / "aws.yaml")


# Whatever a template holds, validate answers with located problems or accepts it, and what it
# accepts plans: never an internal error.
_scalars = (st.text(max_size=8) | st.integers(-5, 5) | st.booleans() | st.none()
            | st.floats(allow_nan=False, allow_infinity=False))
_keys = st.sampled_from(["root", "dag", "tasks", "pipelineInfo", "name", "schemaVersion",
                         "components", "Version", "Steps", "Parameters", "Name", "Type",
                         "Arguments", "inputDefinitions", "parameters", "parameterType", "x"])
_docs = st.recursive(_scalars, lambda inner: st.lists(inner, max_size=3)
                     | st.dictionaries(_keys, inner, max_size=4), max_leaves=12)


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(doc=_docs, cloud=st.sampled_from(["gcp", "aws"]))
def test_any_template_is_a_located_error_or_plans(tmp_path, doc, cloud):
    name = "pipelines/t.yaml" if cloud == "gcp" else "pipelines/t.json"
    path = org(tmp_path, cloud, json.dumps(doc), name=name)
    try:
        loaded = load(path)
    except OrgError as exc:
        assert all(i.line and i.column for i in exc.issues), exc
        return
    plan(resolve(loaded, "dev"))
