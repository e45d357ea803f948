"""What each page says, per team and environment, for the bundled GCP and AWS examples.

Values are checked against independent sources: the plan's stack outputs, the resolved spec
and :func:`stacks.report.cost.estimate`, not against the handoff model itself.
"""

from __future__ import annotations

import re

from components import cron
from stacks.report.cost import estimate, usd


def section(page: str, env: str) -> str:
    """The ``## <env> (...)`` section of a team page."""
    m = re.search(rf"^## {re.escape(env)} \(.*?(?=^## |\Z)", page, re.S | re.M)
    assert m, f"no section for environment {env}"
    return m.group(0)


def test_bundle_files(example):
    teams = {t for s in example.specs.values() for t in s.teams}
    assert set(example.files) == {"README.md", "index.html", *(f"teams/{t}.md" for t in teams)}


def test_every_output_value_is_on_the_team_page(example):
    """Names, URIs and identities on each page are the stack outputs of each environment."""
    for env, plan in example.plans.items():
        for team, out in plan.outputs["teams"].items():
            text = section(example.files[f"teams/{team}.md"], env)
            wanted = [out["namespace"], out["service_account"], out["workload_identity"],
                      out["container_registry"], out["model_registry"],
                      *out["buckets"].values(), plan.outputs["environment"]["cluster_name"]]
            wanted += [p["job_name"] for p in out["pipelines"].values()]
            wanted += [p["template_uri"] for p in out["pipelines"].values()
                       if p.get("template_uri")]
            if out["pipelines"]:
                wanted += [out["pipeline_identity"], out["pipeline_root"]]
            for value in wanted:
                assert value in text, f"{team}/{env}: {value} missing from teams/{team}.md"


def test_pools_costs_and_budgets(example):
    for env, spec in example.specs.items():
        report = estimate(spec)
        for team in report.teams:
            text = section(example.files[f"teams/{team.team}.md"], env)
            for pool in team.pools:
                row = next((line for line in text.splitlines()
                            if line.startswith(f"| **{pool.pool}** |")), None)
                assert row, f"{team.team}/{env}: no row for pool {pool.pool}"
                cells = [c.strip() for c in row.strip("|").split("|")]
                assert cells[1:5] == [pool.accelerator, str(pool.gpus_per_node),
                                      f"{pool.min_nodes}–{pool.max_nodes}",
                                      pool.capacity], row
                assert cells[6:] == [usd(pool.idle_monthly_usd), usd(pool.max_monthly_usd)], row
            if team.budget_usd:
                assert f"{usd(team.max_monthly_usd)} of the {usd(team.budget_usd)} budget" in text
                assert ("over budget" in text) == team.over_budget, f"{team.team}/{env}"


def test_schedules_in_the_team_time_zone(example):
    for env, spec in example.specs.items():
        for team in spec.teams.values():
            text = section(example.files[f"teams/{team.name}.md"], env)
            for p in team.pipelines.values():
                words = cron.describe(p.schedule, p.timezone)
                assert f"| {words} |" in text, f"{team.name}/{env}: {p.name} runs {words}?"


def test_teams_only_where_deployed(example):
    for team in {t for s in example.specs.values() for t in s.teams}:
        page = example.files[f"teams/{team}.md"]
        for env, spec in example.specs.items():
            present = re.search(rf"^## {env} \(", page, re.M) is not None
            assert present == (team in spec.teams), f"{team}: section {env}"


def test_gcp_recsys(gcp):
    page = gcp.files["teams/recsys.md"]
    dev, prod = section(page, "dev"), section(page, "prod")
    assert "docker push us-central1-docker.pkg.dev/acme-ml-dev/recsys-images/trainer:$TAG" in dev
    assert "docker push us-east4-docker.pkg.dev/acme-ml-prod/recsys-images/trainer:$TAG" in prod
    assert "gcloud auth configure-docker us-central1-docker.pkg.dev" in dev
    assert "Tags are immutable here" in prod and "Tags are immutable here" not in dev
    assert "| At 03:00 (Asia/Seoul) |" in dev
    assert "gcloud container clusters get-credentials acme-dev" in dev
    # The DNS-based endpoint: team members connect from anywhere with IAM (issue 17, item 4).
    assert "--location us-central1 --project acme-ml-dev --dns-endpoint" in dev, dev
    assert "Access through `recsys@acme.com` works once that group is a member of the " \
        "cluster's `gke-security-groups@` group" in dev, "the guide names the nesting it needs"
    assert ("job.submit(service_account=\"recsys-pipelines@acme-ml-dev.iam.gserviceaccount.com\")"
            in dev)
    assert "kfp dsl compile --py pipeline.py --output stacks/pipelines/train.yaml" in dev
    # The access matrix, as planned: members write the buckets, pipeline runs pull images.
    assert ("| Bucket datasets (`gs://acme-dev-recsys-datasets`) | read, write, delete | "
            "read, write, delete | read, write, delete |") in dev
    assert "| Container registry (`recsys-images`) | push, pull | push, pull | pull |" in dev
    assert "| Pipeline identity | start runs as it | — | — |" in dev
    assert "`group:recsys@acme.com`" in dev
    assert "**recsys team**: `recsys-leads@acme.com`" in page


def test_gcp_overview(gcp):
    readme = gcp.files["README.md"]
    assert "| **dev** | sandbox | Google Cloud | `acme-ml-dev` | us-central1 | `acme-dev` |" \
        in readme
    assert "| **prod** | production | Google Cloud | `acme-ml-prod` | us-east4 | `acme-prod` |" \
        in readme
    assert ("| **recsys** GPU pool train | h100-80gb: 0–1 node × 8 GPUs, spot | "
            "h100-80gb: 0–2 nodes × 8 GPUs, reservation |") in readme
    assert "| **research** GPU pool notebooks | t4: 0–2 nodes × 1 GPU, spot | — |" in readme
    protected = next(line for line in readme.splitlines()
                     if line.startswith("| Protected from deletion"))
    assert "nothing" in protected.split("|")[2] and "cluster" in protected.split("|")[3]
    assert "[teams/vision.md](teams/vision.md)" in readme
    assert "`ml-platform@acme.com`" in readme
    assert "```mermaid\nflowchart LR\n" in readme


def test_aws_recsys(aws):
    page = aws.files["teams/recsys.md"]
    dev, prod = section(page, "dev"), section(page, "prod")
    assert ("aws ecr get-login-password --region us-east-1 | \\\n"
            "    docker login --username AWS --password-stdin "
            "111111111111.dkr.ecr.us-east-1.amazonaws.com") in dev
    assert ("docker push 222222222222.dkr.ecr.us-west-2.amazonaws.com/prod/recsys/trainer:$TAG"
            in prod)
    assert "s3://acme-dev-recsys-artifacts" in dev  # the renamed bucket keeps its name
    assert "| At 03:00 (Asia/Seoul) |" in dev and "| At 03:00 (UTC) |" in prod
    assert "| At 06:30, only on Monday (UTC) |" in dev
    # parameters in key order (the resolver sorts them so plans do not depend on YAML order)
    assert "--pipeline-parameters Name=Epochs,Value=10 Name=ExecutionRoleArn," in dev
    assert "Name=LearningRate,Value=0.001" in dev
    assert "aws eks update-kubeconfig --name acme-prod --region us-west-2" in prod
    assert ("| Kubernetes namespace `recsys` on `acme-dev` | edit | "
            "runs as service account recsys |") in dev
    assert "`arn:aws:iam::222222222222:role/recsys-engineers`" in prod
    assert "arn:aws:iam::111111111111:role/recsys-engineers" not in prod
    assert "aws s3 cp ./definition.json s3://acme-ml-pipeline-definitions/recsys/weekly-eval.json" \
        in dev


def test_aws_vision_prod_override(aws):
    prod = section(aws.files["teams/vision.md"], "prod")
    assert "| **finetune** | h100-80gb | 1 | 0–2 | on-demand | `p5.4xlarge` |" in prod
    assert "acme-prod-imaging-models" in prod
    assert "No scheduled pipelines here" in prod


def test_schedules_are_the_same_words_everywhere(example):
    """Team page, README diagram and the HTML diagram say one schedule in the same words."""
    import html

    from stacks.handoff.mermaid import label

    readme, page = example.files["README.md"], html.unescape(example.files["index.html"])
    for env, spec in example.specs.items():
        for team in spec.teams.values():
            for p in team.pipelines.values():
                words = f"{p.name}: {cron.describe(p.schedule, p.timezone)}"
                assert label(words) in readme, f"README diagram: {team.name}/{env} {words}"
                assert words in page, f"index.html diagram: {team.name}/{env} {words}"


def test_each_capacity_mode_tells_the_team_what_it_means(example):
    """Issue 21: a flex-start Job may queue, a reservation bills idle, a Capacity Block ends."""
    for env, spec in example.specs.items():
        for team in spec.teams.values():
            text = " ".join(section(example.files[f"teams/{team.name}.md"], env).split())
            for pool in team.pools.values():
                if pool.capacity == "flex-start":
                    assert f"Flex-start ({pool.name}): a node is created for your Job when the " \
                           "GPUs free up" in text and "at most seven days" in text, \
                        f"{team.name}/{env}: pool {pool.name} is flex-start"
                if pool.capacity == "reservation" and pool.reservation:
                    ref = pool.reservation.reference
                    expected = ("runs on a Capacity Block for ML" if
                                pool.reservation.capacity_block else "runs on reserved capacity")
                    assert f"{pool.name}** {expected} (`{ref}`)" in text, \
                        f"{team.name}/{env}: pool {pool.name} consumes {ref}"
    modes = {p.capacity for s in example.specs.values() for t in s.teams.values()
             for p in t.pools.values()}
    assert "reservation" in modes, "the bundled examples show a reservation pool on both clouds"


def _pool_notes(te, **changes):
    from dataclasses import replace

    from stacks.handoff.content import capacity_notes
    from stacks.handoff.markdown import render_block

    pools = {k: replace(p, **changes) for k, p in te.pools.items()}
    return " ".join(render_block(b, str, "") for b in capacity_notes(replace(te, pools=pools)))


def test_reserved_capacity_says_a_node_still_boots_when_none_runs(gcp):
    """Review 2: reserved pools do not wait for capacity, but with min_nodes 0 the first pod
    waits for a node to boot; with nodes kept running, pods start at once."""
    te = gcp.bundle.env("prod").teams["recsys"]
    train = te.pools["train"]
    assert train.capacity == "reservation" and not train.capacity_block and \
        train.min_nodes == 0, "stacks/org.yaml prod recsys/train is a reservation from zero"
    text = _pool_notes(te)
    assert "without waiting" not in text, "a pool at zero nodes makes the first pod wait"
    assert "never waits for GPUs to free up" in text and \
        "the first pod still waits a few minutes while a node boots" in text, text
    kept = _pool_notes(te, min_nodes=1)
    assert "keeps 1 node running, so pods start at once" in kept and "first pod" not in kept


def test_capacity_block_tells_the_team_jobs_stop_at_its_end(aws):
    """Review 2: a Capacity Block has nodes only while active; EC2 stops its instances from 30
    minutes before the end (capacity-blocks-monitor) and EKS needs the node group at 0 to
    change it (capacity-blocks-mng): the page says what that means for a Job."""
    te = aws.bundle.env("prod").teams["recsys"]
    assert te.pools["train"].capacity_block, "examples/aws.yaml prod recsys/train is a block"
    text = " ".join(section(aws.files["teams/recsys.md"], "prod").split())
    for words in ("has nodes only while the block is active",
                  "from 30 minutes before it ends: a Job still running then is stopped",
                  "write checkpoints to a bucket",
                  "scales it to 0 nodes, as EKS requires for Capacity Block node groups"):
        assert words in text, f"recsys/prod train (Capacity Block): missing {words!r}"
    assert "drained 40 minutes" not in text


def test_no_page_tells_a_team_to_debug_nodes(example, longest):
    """`kubectl debug node/...` is refused in team namespaces by the admission policy; it is a
    platform-team task in kube-system, so no team page may suggest it."""
    for planned in (example, longest):
        for path, text in planned.files.items():
            assert "debug node" not in text and "kubectl debug" not in text, path
