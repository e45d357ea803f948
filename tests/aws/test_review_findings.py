"""Findings of the independent AWS review (issue 18 follow-up), one section per finding.

Plans are the session's shared ones (tests/engine/planned.py) or small runs of one component;
every assertion names the resource and the rule it breaks.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from components import catalog, common
from components import pipeline_images as images
from components.aws.iam_eval import evaluate
from components.aws.pipeline import JOB_STEP_TYPES, Pipeline, tag_job_steps
from components.k8s.cluster_autoscaler import ClusterAutoscaler
from stacks.org.load import load
from stacks.org.resolve import resolve
from stacks.plan.engine import plan
from stacks.plan.mocks import aws as mocks_aws
from tests.engine.planned import ORG_ENVS, planned

AWS_CASES = [(org, env) for org, env in ORG_ENVS if load(org).org.cloud == "aws"]
HELM = "kubernetes:helm.sh/v3:Release"


def _ids(case: tuple[object, str]) -> str:
    org, env = case
    return f"{getattr(org, 'name', org)}-{env}"


# ---- A10: the autoscaler chart matches the cluster's minor ----------------------------------

@pytest.mark.parametrize("case", AWS_CASES, ids=_ids)
def test_autoscaler_chart_app_version_is_the_clusters_minor(case):
    org, env = case
    result = planned(org, env)
    [cluster] = result.of_type("aws:eks/cluster:Cluster")
    minor = cluster.inputs["version"]
    row = catalog.eks_version(minor)
    assert row is not None, f"{org.name}/{env}: EKS {minor} is not in eks_versions.csv"
    [release] = [r for r in result.of_type(HELM) if r.inputs.get("chart") == "cluster-autoscaler"]
    assert release.inputs["version"] == row.autoscaler_chart_version, (
        f"{org.name}/{env} Helm release {release.name}: chart {release.inputs['version']} on "
        f"EKS {minor}; the chart for {minor} is {row.autoscaler_chart_version} (appVersion "
        f"{row.autoscaler_chart_app_version}): autoscaler releases are per Kubernetes minor")
    tag = release.inputs["values"]["image"]["tag"]
    assert tag.removeprefix("v").rsplit(".", 1)[0] == minor, (
        f"{org.name}/{env} Helm release {release.name}: image {tag} is not a {minor} release")


def test_every_known_minor_has_a_chart_of_its_own_release():
    rows = catalog.eks_versions()
    assert rows, "eks_versions.csv is empty"
    charts = [r.autoscaler_chart_version for r in rows]
    assert len(set(charts)) == len(charts), f"two minors share one chart: {charts}"
    for row in rows:
        assert row.autoscaler_chart_app_version.rsplit(".", 1)[0] == row.version, (
            f"eks_versions.csv {row.version}: chart {row.autoscaler_chart_version} has "
            f"appVersion {row.autoscaler_chart_app_version}, not a {row.version} release")
    by_minor = sorted(rows, key=lambda r: r.minor)
    as_tuples = [tuple(int(x) for x in r.autoscaler_chart_version.split(".")) for r in by_minor]
    assert as_tuples == sorted(as_tuples), "a newer minor must not get an older chart"


@pytest.mark.parametrize("minor", ["1.33", "1.30"])
def test_an_older_cluster_gets_its_own_chart(run, minor):
    result = run(lambda: ClusterAutoscaler("ca", {"cluster_name": "acme-dev", "region":
                                                  "us-east-1", "kubernetes_version": minor}))
    [release] = result.of_type(HELM)
    row = catalog.eks_version(minor)
    assert row is not None
    assert release.inputs["version"] == row.autoscaler_chart_version, (
        f"Helm release {release.name} on {minor}: chart {release.inputs['version']}, expected "
        f"{row.autoscaler_chart_version} (appVersion {row.autoscaler_chart_app_version})")


# ---- A1: labels that are valid AWS tags but not Kubernetes labels ---------------------------

NAMESPACE = "kubernetes:core/v1:Namespace"
MINIMAL = Path(__file__).resolve().parents[2] / "examples" / "aws-minimal.yaml"


def test_tag_only_labels_stay_tags_and_stay_out_of_kubernetes(tmp_path):
    text = MINIMAL.read_text(encoding="utf-8").replace(
        "region: us-east-1\n",
        'region: us-east-1\nlabels: {owner: "ML Platform", "acme:unit": r-and-d, '
        'project: trellis}\n').replace(
        "  ml:\n", '  ml:\n    cost_center: "CC 1234/ML"\n')
    path = tmp_path / "org.yaml"
    path.write_text(text, encoding="utf-8")
    spec = resolve(load(path), "dev")  # valid: these are valid AWS tags
    result = plan(spec)
    [provider] = result.of_type("pulumi:providers:aws")
    tags = json.loads(provider.inputs["defaultTags"])["tags"] if isinstance(
        provider.inputs["defaultTags"], str) else provider.inputs["defaultTags"]["tags"]
    assert tags["owner"] == "ML Platform" and tags["acme:unit"] == "r-and-d", (
        f"provider default tags lost the organisation's tags: {tags}")
    k8s_objects = [r for r in result.resources if r.type.startswith("kubernetes:")
                   and isinstance(r.inputs.get("metadata"), dict)
                   and r.inputs["metadata"].get("labels")]
    assert k8s_objects, "no labelled Kubernetes object planned"
    for obj in k8s_objects:
        labels = obj.inputs["metadata"]["labels"]
        for key, value in labels.items():
            problem = common.kubernetes_label_problem(key, value)
            assert problem is None, (
                f"{obj.type} {obj.name}: label {key}={value!r} would be refused by the API "
                f"server ({problem})")
    [ns] = result.of_type(NAMESPACE)
    labels = ns.inputs["metadata"]["labels"]
    assert labels.get("project") == "trellis" and labels.get("team") == "ml", (
        f"Namespace {ns.name}: the labels Kubernetes accepts must still be copied: {labels}")
    assert "owner" not in labels and "acme:unit" not in labels and "cost-center" not in labels, (
        f"Namespace {ns.name}: {labels}")


@pytest.mark.parametrize(("key", "value", "ok"), [
    ("owner", "ML Platform", False), ("acme:unit", "x", False), ("team", "recsys", True),
    ("cost-center", "CC 1234/ML", False), ("cost-center", "cc-1234", True),
    ("example.com/tier", "gold", True), ("owner", "ml_", False), ("owner_", "x", False),
    ("env", "", True), ("x", "a" * 64, False), ("x", "a" * 63, True), ("Bad_Prefix/x", "y", False),
])
def test_kubernetes_label_rules(key, value, ok):
    problem = common.kubernetes_label_problem(key, value)
    assert (problem is None) == ok, f"{key}={value!r}: {problem}"
    assert (key in common.kubernetes_labels({key: value})) == ok


def test_organisation_labels_never_set_kubernetes_reserved_keys():
    # pod-security.kubernetes.io/enforce on a namespace would change its Pod Security level.
    given = {"pod-security.kubernetes.io/enforce": "privileged", "kubernetes.io/x": "y",
             "k8s.io/z": "w", "app.kubernetes.io/part-of": "ml"}
    assert common.kubernetes_labels(given) == {"app.kubernetes.io/part-of": "ml"}


# ---- A8: the pipeline role reaches its own team's jobs only ---------------------------------

JOB_ACTIONS = {
    "training-job": ("CreateTrainingJob", "DescribeTrainingJob", "StopTrainingJob"),
    "processing-job": ("CreateProcessingJob", "DescribeProcessingJob", "StopProcessingJob"),
    "transform-job": ("CreateTransformJob", "DescribeTransformJob", "StopTransformJob"),
    "model": ("CreateModel", "DescribeModel", None),
}


def _role_policies(result, role: str) -> list[dict]:
    docs = [json.loads(r.inputs["policy"]) for r in result.of_type(
        "aws:iam/rolePolicy:RolePolicy") if r.inputs.get("role") == role]
    assert docs, f"role {role}: no inline policy planned"
    return docs


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_pipeline_role_creates_watches_and_stops_only_its_teams_jobs(env, dev_plan, prod_plan,
                                                                     dev_env, prod_env):
    spec, result = {"dev": (dev_env, dev_plan), "prod": (prod_env, prod_plan)}[env]
    teams = list(spec.teams.values())
    assert len(teams) >= 2, "needs two teams in one account"
    for team in teams:
        docs = _role_policies(result, team.names.pipeline_identity)
        for other in teams:
            mine = other.name == team.name
            for kind, (create, describe, stop) in JOB_ACTIONS.items():
                job = f"arn:aws:sagemaker:{spec.region}:{spec.account}:{kind}/pipelines-abc"
                tagged = {"aws:ResourceTag/team": other.name}
                for action in (describe, stop):
                    if action is None:
                        continue
                    decision = evaluate(docs, f"sagemaker:{action}", job, tagged)
                    assert decision.allowed == mine, (
                        f"{env}: pipeline role {team.names.pipeline_identity} "
                        f"{'may not' if mine else 'may'} {action} a {kind} tagged team="
                        f"{other.name} ({decision.reason}): RunPipelineSteps must be scoped "
                        "by aws:ResourceTag/team")
                decision = evaluate(docs, f"sagemaker:{create}", job,
                                    {"aws:RequestTag/team": other.name})
                assert decision.allowed == mine, (
                    f"{env}: pipeline role of {team.name} {create} with tag team={other.name}: "
                    f"{decision.reason}")
            untagged = f"arn:aws:sagemaker:{spec.region}:{spec.account}:training-job/x"
            assert not evaluate(docs, "sagemaker:CreateTrainingJob", untagged, {}).allowed, (
                f"{env}: pipeline role of {team.name} creates untagged training jobs")
            retag = evaluate(docs, "sagemaker:AddTags", untagged,
                             {"aws:RequestTag/team": team.name, "sagemaker:TaggingAction":
                              "AddTags", "aws:ResourceTag/team": other.name})
            assert not retag.allowed, (
                f"{env}: pipeline role of {team.name} may retag team {other.name}'s job as its "
                f"own ({retag.reason})")


@pytest.mark.parametrize("case", AWS_CASES, ids=_ids)
def test_every_job_step_carries_the_team_tag_the_role_requires(case):
    org, env = case
    result = planned(org, env)
    for pl in result.of_type("aws:sagemaker/pipeline:Pipeline"):
        team = pl.inputs["tags"]["team"]
        doc = json.loads(pl.inputs["pipelineDefinition"])
        for _, step in images.steps(doc.get("Steps")):
            if step.get("Type") not in JOB_STEP_TYPES:
                continue
            tags = {t["Key"]: t["Value"] for t in step["Arguments"].get("Tags", [])}
            assert tags.get("team") == team, (
                f"{org.name}/{env} pipeline {pl.name} step {step.get('Name')}: job tags "
                f"{tags}; the pipeline role only creates jobs tagged team={team}")


def test_job_tags_replace_a_stale_team_tag_and_keep_the_others():
    doc = {"Steps": [
        {"Name": "T", "Type": "Training", "Arguments": {
            "Tags": [{"Key": "team", "Value": "other"}, {"Key": "owner", "Value": "lee"}]}},
        {"Name": "C", "Type": "Condition", "Arguments": {"IfSteps": [
            {"Name": "P", "Type": "Processing", "Arguments": {}}], "ElseSteps": [
            {"Name": "F", "Type": "Fail", "Arguments": {"ErrorMessage": "x"}}]}}]}
    tag_job_steps(doc, {"team": "recsys"})
    assert doc["Steps"][0]["Arguments"]["Tags"] == [
        {"Key": "owner", "Value": "lee"}, {"Key": "team", "Value": "recsys"}]
    branch = doc["Steps"][1]["Arguments"]
    assert branch["IfSteps"][0]["Arguments"]["Tags"] == [{"Key": "team", "Value": "recsys"}]
    assert "Tags" not in branch["ElseSteps"][0]["Arguments"], "a Fail step creates no job"


# ---- A9: experiments -------------------------------------------------------------------------

@pytest.mark.parametrize("case", AWS_CASES, ids=_ids)
def test_planned_definitions_ask_for_no_experiments_the_role_cannot_create(case):
    # Pipelines creates an experiment and a run group per execution when the definition has
    # PipelineExperimentConfig (AWS docs, "Amazon SageMaker Experiments Integration"); the
    # pipeline role is not granted SageMaker Experiments, so the examples do not ask for it.
    org, env = case
    for pl in planned(org, env).of_type("aws:sagemaker/pipeline:Pipeline"):
        doc = json.loads(pl.inputs["pipelineDefinition"])
        assert "PipelineExperimentConfig" not in doc, (
            f"{org.name}/{env} pipeline {pl.name}: PipelineExperimentConfig without "
            "sagemaker:CreateExperiment/CreateTrial on the pipeline role")


# ---- A6: s3:// definitions: image grants from the fetched object; members publish them ------

DLC = "763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-training:2.5-gpu-py311"
S3_DEFINITION = json.dumps({
    "Version": "2020-12-01", "Parameters": [{"Name": "Image", "Type": "String",
                                             "DefaultValue": DLC}],
    "Steps": [
        {"Name": "Train", "Type": "Training", "Arguments": {
            "AlgorithmSpecification": {"TrainingImage": {"Get": "Parameters.Image"}}}},
        {"Name": "Eval", "Type": "Processing", "Arguments": {
            "AppSpecification": {"ImageUri":
                                 "999999999999.dkr.ecr.us-east-1.amazonaws.com/tools:1"}}}]})


def _s3_pipeline(**extra):
    args = {"pipeline_name": "acme-dev-recsys-weekly-eval", "role_arn": "arn:role/p",
            "role_name": "acme-dev-recsys-pipelines",
            "scheduler_role_name": "acme-dev-recsys-scheduler",
            "scheduler_role_arn": "arn:aws:iam::111111111111:role/acme-dev-recsys-scheduler",
            "schedule": "0 3 * * 1", "schedule_name": "acme-dev-recsys-weekly-eval",
            "definition_s3_uri": "s3://defs/recsys/eval.json", "region": "us-east-1",
            "account_id": "111111111111", "team_repository_prefix": "dev/recsys",
            "job_tags": {"team": "recsys"}}
    args.update(extra)
    return lambda: Pipeline("recsys-weekly-eval", args)


def test_s3_definition_images_are_granted_from_the_fetched_object(run, monkeypatch):
    monkeypatch.setattr(mocks_aws, "object_body", lambda bucket, key: S3_DEFINITION)
    result = run(_s3_pipeline())
    [grant] = [r for r in result.of_type("aws:iam/rolePolicy:RolePolicy")
               if r.name == "recsys-weekly-eval-images"]
    [s] = json.loads(grant.inputs["policy"])["Statement"]
    assert s["Resource"] == ["arn:aws:ecr:us-east-1:763104351884:repository/pytorch-training"], (
        f"RolePolicy {grant.name}: the Deep Learning Container the s3:// definition runs must "
        f"be pullable, and nothing else: {s['Resource']}")
    [pl] = result.of_type("aws:sagemaker/pipeline:Pipeline")
    doc = json.loads(pl.inputs["pipelineDefinition"])
    assert all({"Key": "team", "Value": "recsys"} in st["Arguments"]["Tags"]
               for st in doc["Steps"]), "the fetched definition's job steps get the team tag"


def test_s3_definition_without_outside_images_grants_only_the_teams_own(run, monkeypatch):
    own = json.dumps({"Version": "2020-12-01", "Steps": [{"Name": "T", "Type": "Training",
                      "Arguments": {"AlgorithmSpecification": {"TrainingImage":
                      "111111111111.dkr.ecr.us-east-1.amazonaws.com/dev/recsys/t:1"}}}]})
    monkeypatch.setattr(mocks_aws, "object_body", lambda bucket, key: own)
    result = run(_s3_pipeline())
    [grant] = [r for r in result.of_type("aws:iam/rolePolicy:RolePolicy")
               if r.name == "recsys-weekly-eval-images"]
    [s] = json.loads(grant.inputs["policy"])["Statement"]
    assert s["Resource"] == ["arn:aws:ecr:us-east-1:111111111111:repository/dev/recsys/*"]


def test_s3_images_follow_the_local_rules():
    verdicts = images.pull_verdicts(json.loads(S3_DEFINITION), {}, region="us-east-1",
                                    account="111111111111", team_prefix="dev/recsys")
    by_step = {step: v for step, _, v in verdicts}
    assert by_step["Train"].repository_arn is not None
    assert by_step["Eval"].repository_arn is None and "account 999999999999" in \
        str(by_step["Eval"].problem)
    other_region = images.pull_verdicts(json.loads(S3_DEFINITION), {}, region="us-west-2",
                                        account="111111111111", team_prefix="dev/recsys")
    assert "us-east-1" in str(other_region[0][2].problem), "a DLC of another region is refused"


def test_members_may_publish_exactly_their_s3_definitions(dev_env, dev_plan):
    owners = {t.name: [p for p in t.pipelines.values() if p.template_is_uri]
              for t in dev_env.teams.values()}
    assert any(owners.values()), "examples/aws.yaml has an s3:// pipeline definition"
    for team in dev_env.teams.values():
        docs = _role_policies(dev_plan, str(team.names.member_role))
        for other, pipelines in owners.items():
            for p in pipelines:
                bucket, key = p.template[5:].split("/", 1)
                obj = f"arn:aws:s3:::{bucket}/{key}"
                decision = evaluate(docs, "s3:PutObject", obj, {})
                assert decision.allowed == (other == team.name), (
                    f"dev: member role of {team.name} `aws s3 cp ./definition.json "
                    f"{p.template}` ({decision.reason})")
                sibling = f"arn:aws:s3:::{bucket}/{key}.bak"
                assert not evaluate(docs, "s3:PutObject", sibling, {}).allowed, (
                    f"dev: member role of {team.name} writes beside its definition: {sibling}")
