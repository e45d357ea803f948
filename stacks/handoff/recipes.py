"""Copy-paste recipes for one team in one environment, with every value filled in.

Each recipe is a complete command or file that works as written for a team member (or, where
said, from a pod running as the team's service account). The Kubernetes Job takes its
``nodeSelector`` and ``tolerations`` from :class:`~stacks.handoff.model.Pool`, i.e. from the
planned node pool's labels and taints, never from a second copy of the contract.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

import yaml

from stacks.handoff.model import Environment, Pipeline, Pool, TeamEnv

SMOKE_IMAGE = "nvcr.io/nvidia/cuda:12.6.3-base-ubuntu24.04"
"""Public CUDA base image: small, has ``nvidia-smi`` on the PATH on GKE and EKS GPU nodes."""


@dataclass(frozen=True)
class Recipe:
    title: str
    lang: str  # code fence language: yaml, shell, python
    code: str
    intro: str = ""


# --------------------------------------------------------------------------------------------
# Formats
# --------------------------------------------------------------------------------------------

def to_yaml(value: Any) -> str:
    """Block-style YAML by PyYAML's safe dumper, keys in the order given, lines never folded.

    Strings YAML 1.1 would read as something else (``yes``, ``on``, ``1e3``, ``null``) come out
    quoted, so kubectl reads back exactly ``value``. Non-ASCII characters are escaped: with
    ``allow_unicode`` PyYAML writes U+0085 raw and reads it back as a line break.
    """
    return yaml.safe_dump(value, sort_keys=False, default_flow_style=False, allow_unicode=False,
                          width=1 << 16)


def _sh(value: str) -> str:
    """Shell-quote when needed (names here are [a-z0-9-./:@]; quote anything else)."""
    return value if re.fullmatch(r"[A-Za-z0-9_./:@=,+-]+", value) else "'" + \
        value.replace("'", "'\"'\"'") + "'"


def heredoc_text(text: str) -> str:
    """``text`` inside an unquoted here-document, where the shell would expand ``$``, backquotes
    and backslashes: escaped, so it arrives as written."""
    return text.replace("\\", "\\\\").replace("$", "\\$").replace("`", "\\`")


def _py(value: Any) -> str:
    """A Python literal for a JSON-able value, strings double-quoted like the rest of a recipe."""
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_py(k)}: {_py(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_py(v) for v in value) + "]"
    return repr(value)  # bool, None, int, float: Python spelling


# --------------------------------------------------------------------------------------------
# Cluster access and containers
# --------------------------------------------------------------------------------------------

def cluster_credentials(env: Environment) -> Recipe:
    if env.cloud == "gcp":
        # The DNS-based endpoint: reachable from anywhere, authorised by IAM (ADR 21).
        code = (f"gcloud container clusters get-credentials {env.cluster_name} \\\n"
                f"    --location {env.region} --project {env.project} --dns-endpoint")
    else:
        code = f"aws eks update-kubeconfig --name {env.cluster_name} --region {env.region}"
    return Recipe("Connect kubectl", "shell", code, f"Cluster `{env.cluster_name}`.")


def kubeconfig(team: TeamEnv) -> Recipe:
    if team.cloud == "gcp":
        code = (f"gcloud components install gke-gcloud-auth-plugin   # once, if missing\n"
                f"gcloud container clusters get-credentials {team.cluster_name} \\\n"
                f"    --location {team.region} --project {team.project} --dns-endpoint\n"
                f"kubectl config set-context --current --namespace {team.namespace}\n"
                f"kubectl auth can-i create jobs   # {_expect(team)}")
        intro = ("Once per machine, signed in to gcloud as yourself: put the cluster in your "
                 "kubeconfig and make your team's namespace the default. Google IAM lets you "
                 "in, Kubernetes RBAC decides what you may do.")
        groups = [m.removeprefix("group:") for m in team.members if m.startswith("group:")]
        if groups:
            # GKE resolves groups in RBAC only through Google Groups for RBAC (issue 17).
            intro += (f" Access through {', '.join(f'`{g}`' for g in groups)} works once "
                      f"{'that group is' if len(groups) == 1 else 'those groups are'} a member "
                      "of the cluster's `gke-security-groups@` group; if `can-i` says no, ask "
                      "your platform contacts to nest it.")
    elif team.member_role:
        profile = f"{team.team}-{team.env}"
        code = (f"aws configure set profile.{profile}.role_arn {team.member_role}\n"
                f"aws configure set profile.{profile}.source_profile default   # your own login\n"
                f"export AWS_PROFILE={profile}   # every aws command below runs as the team role\n"
                f"aws eks update-kubeconfig --name {team.cluster_name} --region {team.region}\n"
                f"kubectl config set-context --current --namespace {team.namespace}\n"
                f"kubectl auth can-i create jobs   # {_expect(team)}")
        intro = ("Once per machine, signed in to AWS as one of the team's members (a role listed "
                 "for the team): a profile that assumes the team role, then the cluster in "
                 "your kubeconfig with your team's namespace as the default.")
    else:
        code = (f"aws eks update-kubeconfig --name {team.cluster_name} --region {team.region}\n"
                f"kubectl config set-context --current --namespace {team.namespace}\n"
                f"kubectl auth can-i create jobs   # {_expect(team)}")
        intro = ("The team lists no members in org.yaml, so no team role exists yet: ask the "
                 "platform team to add your role under the team's `members`.")
    return Recipe("Connect kubectl", "shell", code, intro)


def _expect(team: TeamEnv) -> str:
    """What ``kubectl auth can-i create jobs`` answers, as the plan grants it."""
    verdict = team.promises.get("gpu-job") or team.promises.get("connect")
    if verdict is None or verdict.backed:
        return "expect: yes"
    return "no until the platform team grants it (see below)"


def prerequisites(cloud: str) -> Recipe:
    """The tools every recipe assumes, installed once per machine."""
    if cloud == "gcp":
        code = ("# https://cloud.google.com/sdk/docs/install, then:\n"
                "gcloud components install kubectl gke-gcloud-auth-plugin\n"
                "gcloud auth login                       # you, for gcloud and kubectl\n"
                "gcloud auth application-default login   # you, for the Python clients\n"
                "docker --version                        # Docker (or Podman) to build images")
        intro = ("The Google Cloud CLI with kubectl and the GKE auth plugin (kubectl asks it "
                 "for a token), and Docker.")
    else:
        code = ("# https://docs.aws.amazon.com/cli/latest/userguide/getting-started-install.html\n"
                "aws --version     # AWS CLI v2\n"
                "# https://kubernetes.io/docs/tasks/tools/ (kubectl within one minor of the "
                "cluster)\n"
                "kubectl version --client\n"
                "aws sts get-caller-identity   # you are signed in (SSO: aws sso login)\n"
                "docker --version              # Docker (or Podman) to build images")
        intro = ("The AWS CLI v2 (kubectl asks it for a token), kubectl and Docker, signed in "
                 "to AWS as yourself.")
    return Recipe("Install the tools", "shell", code, intro)


def image_ref(team: TeamEnv, name: str = "trainer") -> str:
    return f"{team.container_registry}/{name}"


def docker_push(team: TeamEnv) -> Recipe:
    host = team.container_registry.split("/", 1)[0]
    repo = image_ref(team)
    if team.cloud == "gcp":
        login = f"gcloud auth configure-docker {host}"
    else:
        login = (f"aws ecr get-login-password --region {team.region} | \\\n"
                 f"    docker login --username AWS --password-stdin {host}")
    tag = 'TAG="$(date +%Y%m%d-%H%M%S)"   # a new tag per build'
    code = (f"{login}\n{tag}\n"
            f"docker build -t {repo}:$TAG .\n"
            f"docker push {repo}:$TAG")
    note = ("Tags are immutable here: push every build under a new tag, never re-push a tag."
            if team.immutable_tags else
            "Tags can be overwritten here; a new tag per build still keeps runs reproducible.")
    if team.cloud == "aws":
        note += (" The first push of a new image name creates its repository under "
                 f"`{team.container_registry.split('/', 1)[1]}/`.")
    return Recipe("Build and push an image", "shell", code,
                  f"Push target: `{repo}:<tag>`. "
                  + note)


# --------------------------------------------------------------------------------------------
# Kubernetes Jobs on GPU pools
# --------------------------------------------------------------------------------------------

def job_name(pool: Pool) -> str:
    return f"gpu-check-{pool.name}"[:52].rstrip("-")


def job_manifest(team: TeamEnv, pool: Pool) -> dict[str, Any]:
    """A Job that lands on ``pool``: its scheduling contract exactly as planned."""
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": job_name(pool), "namespace": team.namespace,
                     "labels": {"app.kubernetes.io/name": job_name(pool)}},
        "spec": {
            "backoffLimit": 0,
            "ttlSecondsAfterFinished": 3600,
            "template": {
                "spec": {
                    "serviceAccountName": team.service_account,
                    "restartPolicy": "Never",
                    "nodeSelector": dict(pool.node_selector),
                    "tolerations": [t.to_k8s() for t in pool.tolerations],
                    "containers": [{
                        "name": "main",
                        "image": SMOKE_IMAGE,
                        "command": ["nvidia-smi"],
                        "resources": {"limits": {pool.resource_name: pool.gpus_per_node}},
                    }],
                },
            },
        },
    }


def job_yaml(team: TeamEnv, pool: Pool) -> str:
    head = (f"# {pool.accelerator} x{pool.gpus_per_node} on pool {pool.name} "
            f"({team.team}, {team.env}). For your own work, change image and command:\n"
            f"#   image: {image_ref(team)}:<tag>\n"
            "# and keep serviceAccountName, nodeSelector and tolerations as they are.\n"
            f"# One pod can request up to {pool.gpus_per_node} {pool.resource_name}.\n")
    return head + to_yaml(job_manifest(team, pool))


def job_recipe(team: TeamEnv, pool: Pool) -> Recipe:
    return Recipe(f"Run a Job on the {pool.name} pool", "yaml", job_yaml(team, pool),
                  f"Save as `{job_name(pool)}.yaml`. {scaling(pool)}")


def scaling(pool: Pool) -> str:
    """What starting a pod on ``pool`` is like, from its planned min and max nodes."""
    most = f"at most {pool.max_nodes} node{'s' if pool.max_nodes != 1 else ''}"
    if pool.min_nodes == 0:
        return (f"The pool scales from zero ({most}): the first pod waits a few minutes while "
                "a node starts, and nodes go away when no pod needs them.")
    kept = f"{pool.min_nodes} node{'s' if pool.min_nodes != 1 else ''}"
    if pool.min_nodes >= pool.max_nodes:
        return (f"The pool keeps {kept} running (fixed size): pods start as soon as GPUs are "
                "free.")
    return (f"The pool keeps {kept} running and grows to {most}: the first pods start at "
            "once, more wait a few minutes for a new node.")


def job_commands(team: TeamEnv, pool: Pool) -> Recipe:
    name = job_name(pool)
    code = (f"kubectl apply -f {name}.yaml\n"
            f"kubectl -n {team.namespace} get pods -l job-name={name} -w   # Pending while a "
            "node starts\n"
            f"kubectl -n {team.namespace} logs -f job/{name}\n"
            f"kubectl -n {team.namespace} delete job {name}")
    return Recipe("Start it, watch it, clean up", "shell", code)


SERVE_IMAGE = "python:3.12-slim"
"""Public image for the serving smoke test: ``python -m http.server`` answers the probe."""
SERVE_PORT = 8080


def serving_pool(team: TeamEnv) -> Pool:
    """The pool a serving Deployment goes to: one named for inference, else the smallest."""
    for p in team.pools.values():
        if any(w in p.name for w in ("serv", "infer", "predict")):
            return p
    return min(team.pools.values(), key=lambda p: (p.gpus_per_node, p.name))


def serve_name(pool: Pool) -> str:
    return f"serve-{pool.name}"[:52].rstrip("-")


def serve_manifests(team: TeamEnv, pool: Pool) -> list[dict[str, Any]]:
    """Deployment (one GPU per replica, readiness probe, the pool's contract), its Service and
    the NetworkPolicy that lets traffic in (the namespace denies ingress by default)."""
    name = serve_name(pool)
    labels = {"app.kubernetes.io/name": name}
    deployment = {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "namespace": team.namespace, "labels": dict(labels)},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": dict(labels)},
            "template": {
                "metadata": {"labels": dict(labels)},
                "spec": {
                    "serviceAccountName": team.service_account,
                    "nodeSelector": dict(pool.node_selector),
                    "tolerations": [t.to_k8s() for t in pool.tolerations],
                    "containers": [{
                        "name": "server",
                        "image": SERVE_IMAGE,
                        "command": ["python", "-m", "http.server", str(SERVE_PORT)],
                        "ports": [{"name": "http", "containerPort": SERVE_PORT}],
                        "readinessProbe": {"httpGet": {"path": "/", "port": SERVE_PORT},
                                           "initialDelaySeconds": 5, "periodSeconds": 10},
                        "resources": {"limits": {pool.resource_name: 1}},
                    }],
                },
            },
        },
    }
    service = {
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": name, "namespace": team.namespace, "labels": dict(labels)},
        "spec": {"selector": dict(labels),
                 "ports": [{"name": "http", "port": 80, "targetPort": SERVE_PORT}]},
    }
    policy = {
        "apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
        "metadata": {"name": f"allow-{name}", "namespace": team.namespace},
        "spec": {"podSelector": {"matchLabels": dict(labels)},
                 "policyTypes": ["Ingress"],
                 "ingress": [{"from": [{"namespaceSelector": {}}],
                              "ports": [{"protocol": "TCP", "port": SERVE_PORT}]}]},
    }
    return [deployment, service, policy]


GOOGLE_LB_RANGES = ("35.191.0.0/16", "130.211.0.0/22")
"""Where Google's health checks and its Application Load Balancers' front ends (GFE proxies)
connect from: https://cloud.google.com/load-balancing/docs/firewall-rules ("Health check
ranges: 35.191.0.0/16, 130.211.0.0/22"; GFE proxy ranges: the same). A GKE Ingress or Gateway
with container-native load balancing sends traffic straight to pod IPs from these."""


def load_balancer_sources(team: TeamEnv) -> tuple[str, ...]:
    """Addresses a cloud load balancer reaches the team's pods from, as the plan has them."""
    if team.cloud == "gcp":
        return GOOGLE_LB_RANGES
    return (team.vpc_cidr,) if team.vpc_cidr else ()


def load_balancer_policy(team: TeamEnv, pool: Pool) -> dict[str, Any] | None:
    """The NetworkPolicy that admits a load balancer to the serving pods: ingress into the
    namespace is denied by default, and the in-cluster policy admits pods, not addresses."""
    sources = load_balancer_sources(team)
    if not sources:
        return None
    name = serve_name(pool)
    return {
        "apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
        "metadata": {"name": f"allow-lb-{name}", "namespace": team.namespace},
        "spec": {"podSelector": {"matchLabels": {"app.kubernetes.io/name": name}},
                 "policyTypes": ["Ingress"],
                 "ingress": [{"from": [{"ipBlock": {"cidr": c}} for c in sources],
                              "ports": [{"protocol": "TCP", "port": SERVE_PORT}]}]},
    }


def load_balancer_recipe(team: TeamEnv, pool: Pool) -> Recipe | None:
    policy = load_balancer_policy(team, pool)
    if policy is None:
        return None
    if team.cloud == "gcp":
        intro = ("The Service above is reachable inside the cluster only. Behind a GKE Ingress "
                 "or Gateway (Google's Application Load Balancer), the health checks and the "
                 "proxies connect to your pods from Google's ranges "
                 f"`{GOOGLE_LB_RANGES[0]}` and `{GOOGLE_LB_RANGES[1]}`: apply this too, or "
                 "the load balancer marks every replica unhealthy. A passthrough Network Load "
                 "Balancer (`type: LoadBalancer`) keeps the callers' own addresses: admit "
                 "those instead.")
    elif team.lb_controller:
        intro = ("The Service above is reachable inside the cluster only. Behind an ALB or an "
                 "NLB with IP targets (AWS Load Balancer Controller), traffic and health "
                 "checks come from the load balancer's addresses in the VPC "
                 f"`{team.vpc_cidr}`: apply this too, or every target stays unhealthy.")
    else:
        intro = ("The Service above is reachable inside the cluster only. This cluster has no "
                 "AWS Load Balancer Controller (the plan installs none), so an Ingress or a "
                 "Service annotated for it gets no ALB or NLB: ask for it with the request "
                 "above. Once it is installed, traffic and health checks come from the load "
                 f"balancer's addresses in the VPC `{team.vpc_cidr}`: apply this too, or every "
                 "target stays unhealthy.")
    return Recipe("Behind a load balancer", "yaml", to_yaml(policy), intro)


def lb_controller_request(team: TeamEnv, pool: Pool, contacts: tuple[str, ...]) -> str | None:
    """The request for a load-balancer controller, when the plan installs none (AWS)."""
    if team.cloud != "aws" or team.lb_controller:
        return None
    name = serve_name(pool)
    return "\n".join((
        f"To: {', '.join(contacts) or 'the platform team'}",
        f"Subject: [{team.team}/{team.env}] a load balancer for {name} on {team.cluster_name}",
        "",
        f"Team {team.team} serves {name} (Service {team.namespace}/{name}, port 80) and needs "
        "it reachable from outside the cluster.",
        f"Cluster {team.cluster_name} ({team.account}, {team.region}) has no AWS Load Balancer "
        "Controller, so Ingresses and load-balancer Services with IP targets get no ALB or NLB.",
        "Please install it (kubernetes-sigs/aws-load-balancer-controller, its IAM policy through "
        "EKS Pod Identity) through the platform, or tell us the supported way to expose a "
        "service."))


def serve_recipe(team: TeamEnv, pool: Pool) -> Recipe:
    head = (f"# A server on pool {pool.name} ({pool.accelerator}, one GPU per replica), its "
            "Service and the\n"
            "# NetworkPolicy that lets other namespaces' pods reach port "
            f"{SERVE_PORT} (ingress is denied by default).\n"
            f"# For your model: image {image_ref(team, 'server')}:<tag> (or a public one), "
            "your command and probe path.\n"
            "# To admit one namespace only, use namespaceSelector.matchLabels:\n"
            "#   kubernetes.io/metadata.name: <namespace>\n")
    code = head + "---\n".join(to_yaml(m) for m in serve_manifests(team, pool))
    return Recipe(f"Serve on the {pool.name} pool", "yaml", code,
                  f"Save as `{serve_name(pool)}.yaml`. {scaling(pool)}")


def serve_commands(team: TeamEnv, pool: Pool) -> Recipe:
    name, ns = serve_name(pool), team.namespace
    code = (f"kubectl apply -f {name}.yaml\n"
            f"kubectl -n {ns} rollout status deployment/{name} --timeout=15m   # Ready = probe "
            "passes\n"
            f"kubectl -n {ns} port-forward service/{name} 8080:80 &   # then: curl "
            "localhost:8080\n"
            f"# from another pod: http://{name}.{ns}.svc.cluster.local\n"
            f"kubectl -n {ns} delete -f {name}.yaml")
    return Recipe("Roll it out, call it, remove it", "shell", code)


# --------------------------------------------------------------------------------------------
# Buckets
# --------------------------------------------------------------------------------------------

def _first_bucket(team: TeamEnv) -> str | None:
    if team.buckets:
        return next(iter(team.buckets.values())).uri
    return team.pipeline_root


def bucket_cli(team: TeamEnv) -> Recipe:
    uri = str(_first_bucket(team))
    if team.cloud == "gcp":
        code = (f"gcloud storage ls {uri}/\n"
                f"gcloud storage cp ./data.csv {uri}/raw/data.csv\n"
                f"gcloud storage cp {uri}/raw/data.csv ./copy.csv\n"
                f"gcloud storage rsync --recursive ./outputs {uri}/outputs")
        intro = ("From your laptop (signed in with `gcloud auth login`) or from a pod of the "
                 "team; the same commands work on every bucket of the team.")
    else:
        code = (f"aws s3 ls {uri}/\n"
                f"aws s3 cp ./data.csv {uri}/raw/data.csv\n"
                f"aws s3 cp {uri}/raw/data.csv ./copy.csv\n"
                f"aws s3 sync ./outputs {uri}/outputs")
        intro = ("From a pod of the team (the workload role is ambient), or from a laptop "
                 "when your own role allows it; the same commands work on every bucket.")
    return Recipe("Copy files in and out", "shell", code, intro)


def bucket_python(team: TeamEnv) -> Recipe:
    uri = str(_first_bucket(team))
    name = uri.split("://", 1)[-1]
    if team.cloud == "gcp":
        code = ("# pip install google-cloud-storage\n"
                "from google.cloud import storage\n\n"
                "# No key file: in a pod the team's Workload Identity is picked up, on a laptop\n"
                "# your `gcloud auth application-default login`.\n"
                f"client = storage.Client(project={_py(team.project)})\n"
                f"bucket = client.bucket({_py(name)})\n"
                "bucket.blob(\"examples/hello.txt\").upload_from_string(\"hello\")\n"
                "print(bucket.blob(\"examples/hello.txt\").download_as_text())\n"
                "for blob in client.list_blobs(bucket, prefix=\"examples/\"):\n"
                "    print(blob.name)\n")
    else:
        code = ("# pip install boto3\n"
                "import boto3\n\n"
                "# No access keys: in a pod the team's role comes from EKS Pod Identity.\n"
                f"s3 = boto3.client(\"s3\", region_name={_py(team.region)})\n"
                f"s3.put_object(Bucket={_py(name)}, Key=\"examples/hello.txt\", Body=b\"hello\")\n"
                f"body = s3.get_object(Bucket={_py(name)}, Key=\"examples/hello.txt\")[\"Body\"]\n"
                "print(body.read().decode())\n"
                f"for obj in s3.list_objects_v2(Bucket={_py(name)}, Prefix=\"examples/\")"
                ".get(\"Contents\", []):\n"
                "    print(obj[\"Key\"])\n")
    return Recipe("Read and write from Python", "python", code,
                  f"Runs as written in any pod with `serviceAccountName: {team.service_account}` "
                  f"in namespace `{team.namespace}` (like the Jobs above).")


# --------------------------------------------------------------------------------------------
# Pipelines
# --------------------------------------------------------------------------------------------

SCHEDULER_API = "https://cloudscheduler.googleapis.com/v1"
"""Cloud Scheduler v1 REST root; ``projects.locations.jobs.get`` returns the Job, whose
``httpTarget.uri`` and ``httpTarget.body`` (bytes, base64 in JSON) are the request it posts
(googleapiclient discovery document cloudscheduler.v1, revision 20261106)."""


def scheduler_job(team: TeamEnv, p: Pipeline) -> str:
    """Full name of the Cloud Scheduler job that starts ``p`` (same project and region)."""
    return f"projects/{team.project}/locations/{team.region}/jobs/{p.job_name}"


def reads_schedule(team: TeamEnv, p: Pipeline) -> bool:
    """A gs:// template on GCP: only ``pulumi up`` reads it, so what was deployed is known only
    from the request the scheduler job posts; the recipes read it from there."""
    return team.cloud == "gcp" and not p.template_local


def _pipeline_python_from_schedule(team: TeamEnv, p: Pipeline) -> Recipe:
    code = ("# pip install google-auth requests\n"
            "import base64\nimport json\n\n"
            "import google.auth\n"
            "from google.auth.transport.requests import AuthorizedSession\n\n"
            "credentials, _ = google.auth.default(\n"
            "    scopes=[\"https://www.googleapis.com/auth/cloud-platform\"])\n"
            "session = AuthorizedSession(credentials)\n"
            f"job = session.get({_py(SCHEDULER_API + '/' + scheduler_job(team, p))})\n"
            "job.raise_for_status()\n"
            "target = job.json()[\"httpTarget\"]\n"
            "# The PipelineJob the schedule posts: the spec and parameters pulumi up deployed.\n"
            "body = json.loads(base64.b64decode(target[\"body\"]))\n"
            "body[\"runtimeConfig\"].setdefault(\"parameterValues\", {}).update({})  "
            "# this run only\n"
            "run = session.post(target[\"uri\"], json=body)\n"
            "run.raise_for_status()\n"
            "print(run.json()[\"name\"])\n")
    intro = (f"Starts one run now with exactly what the schedule `{p.job_name}` sends (the "
             f"template `{p.template}` as `pulumi up` read it), as `{team.pipeline_identity}`. "
             "Put parameter values for this run only in `update({...})`.")
    return Recipe(f"Start {p.name} now (Python)", "python", code, intro)


def _pipeline_cli_from_schedule(team: TeamEnv, p: Pipeline) -> Recipe:
    code = (f"gcloud scheduler jobs describe {_sh(p.job_name)} --location {team.region} \\\n"
            f"    --project {team.project} --format='value(httpTarget.body)' | base64 -d "
            "> run.json\n"
            "# run.json is the PipelineJob the schedule posts; edit runtimeConfig.parameterValues"
            " for this run only\n"
            "curl -sS -X POST \\\n"
            "    -H \"Authorization: Bearer $(gcloud auth print-access-token)\" \\\n"
            "    -H \"Content-Type: application/json\" \\\n"
            f"    https://{team.region}-aiplatform.googleapis.com/v1/projects/{team.project}/"
            f"locations/{team.region}/pipelineJobs \\\n"
            "    --data-binary @run.json")
    intro = ("The same with gcloud: the request body the scheduler job posts, sent to Vertex AI "
             "as you.")
    return Recipe(f"Start {p.name} now (CLI)", "shell", code, intro)


def pipeline_python(team: TeamEnv, p: Pipeline) -> Recipe:
    if reads_schedule(team, p):
        return _pipeline_python_from_schedule(team, p)
    if team.cloud == "gcp":
        code = ("# pip install google-cloud-aiplatform\n"
                "from google.cloud import aiplatform\n\n"
                f"aiplatform.init(project={_py(team.project)}, location={_py(team.region)})\n"
                "job = aiplatform.PipelineJob(\n"
                f"    display_name={_py(p.pipeline_name)},\n"
                f"    template_path={_py(p.template_uri)},\n"
                f"    pipeline_root={_py(p.output_directory or team.pipeline_root)},\n"
                f"    parameter_values={_py(p.parameters)},\n"
                f"    labels={{\"team\": {_py(team.team)}, \"pipeline\": {_py(p.name)}}},\n"
                + (f"    encryption_spec_key_name={_py(team.cmek_key)},\n" if team.cmek_key
                   else "")
                + ")\n"
                f"job.submit(service_account={_py(team.pipeline_identity)})\n"
                "print(job.resource_name)\n")
        intro = (f"Starts one run now, as the schedule does, as `{team.pipeline_identity}`. "
                 "Change `parameter_values` for this run only.")
    else:
        params = [{"Name": str(k), "Value": str(v)} for k, v in p.parameters.items()]
        code = ("# pip install boto3\n"
                "import boto3\n\n"
                f"sm = boto3.client(\"sagemaker\", region_name={_py(team.region)})\n"
                "run = sm.start_pipeline_execution(\n"
                f"    PipelineName={_py(p.pipeline_name)},\n"
                f"    PipelineParameters={_py(params)},\n"
                ")\n"
                "print(run[\"PipelineExecutionArn\"])\n")
        intro = ("Starts one run now, as the schedule does; its steps run as "
                 f"`{team.pipeline_identity}`. Your role needs `sagemaker:StartPipelineExecution` "
                 f"on `{p.pipeline_arn or p.pipeline_name}`.")
    return Recipe(f"Start {p.name} now (Python)", "python", code, intro)


def pipeline_cli(team: TeamEnv, p: Pipeline) -> Recipe:
    if reads_schedule(team, p):
        return _pipeline_cli_from_schedule(team, p)
    if team.cloud == "gcp":
        # Vertex AI takes the compiled spec in the body (templateUri is read only from
        # Artifact Registry): the schedule's copy of it is spliced in by the shell.
        marker = "__TRELLIS_PIPELINE_SPEC__"
        body = {
            "displayName": p.pipeline_name,
            "pipelineSpec": marker,
            "runtimeConfig": {"gcsOutputDirectory": p.output_directory or team.pipeline_root,
                              "parameterValues": p.parameters},
            "serviceAccount": team.pipeline_identity,
            "labels": {"team": team.team, "pipeline": p.name},
        }
        if team.cmek_key:
            # The environment encrypts Vertex AI runs with its own key (customer-managed
            # keys): a run without it would be unencrypted by that key or refused.
            body["encryptionSpec"] = {"kmsKeyName": team.cmek_key}
        url = (f"https://{team.region}-aiplatform.googleapis.com/v1/projects/{team.project}/"
               f"locations/{team.region}/pipelineJobs")
        text = heredoc_text(json.dumps(body, indent=2, ensure_ascii=False)).replace(
            json.dumps(marker), f"$(gcloud storage cat {_sh(str(p.template_uri))})")
        code = ("curl -sS -X POST \\\n"
                "    -H \"Authorization: Bearer $(gcloud auth print-access-token)\" \\\n"
                "    -H \"Content-Type: application/json\" \\\n"
                f"    {url} \\\n"
                "    --data-binary @- <<EOF\n"
                f"{text}\n"
                "EOF")
        intro = ("The same run with gcloud credentials: the Vertex AI REST call the schedule "
                 "makes, with the pipeline spec it sends (its JSON copy in the pipeline root).")
    else:
        args = " ".join(f"Name={_sh(str(k))},Value={_sh(str(v))}"
                        for k, v in p.parameters.items())
        code = (f"aws sagemaker start-pipeline-execution --region {team.region} \\\n"
                f"    --pipeline-name {p.pipeline_name}"
                + (f" \\\n    --pipeline-parameters {args}" if args else "") + "\n"
                f"aws sagemaker list-pipeline-executions --region {team.region} \\\n"
                f"    --pipeline-name {p.pipeline_name} --max-results 5")
        intro = "The same with the AWS CLI, then the latest runs."
    return Recipe(f"Start {p.name} now (CLI)", "shell", code, intro)


def publish_template(team: TeamEnv, p: Pipeline, org_file: str) -> Recipe:
    base = org_file.rsplit("/", 1)[0] + "/" if "/" in org_file else ""
    if p.template_local:
        path = base + p.template
        if team.cloud == "gcp":
            compile_ = (f"kfp dsl compile --py pipeline.py --output {path}   # pip install kfp")
        else:
            compile_ = ("# pipeline.py defines `pipeline`, a sagemaker.workflow Pipeline\n"
                        "python -c 'from pipeline import pipeline; print(pipeline.definition())'"
                        f" \\\n    > {path}")
        code = (f"{compile_}\n"
                f"git add {path} && git commit -m \"{p.name}: new template\"\n"
                "# open a pull request; once merged the platform team runs:\n"
                f"pulumi up -s {team.env}")
        if team.cloud == "gcp":
            intro = (f"The template lives in the platform repository (`{path}`); `trellis "
                     "validate` checks it and the parameters org.yaml passes. `pulumi up` puts "
                     "the compiled spec into the schedule's request (and a JSON copy under its "
                     "content hash in the pipeline root); runs already started keep their "
                     "version.")
        else:
            intro = (f"The definition lives in the platform repository (`{path}`); `trellis "
                     "validate` checks it, its parameters and the images its steps run. "
                     f"`pulumi up` updates the SageMaker pipeline `{p.pipeline_name}`; runs "
                     "already started keep their version.")
    else:
        uri = str(p.template if "://" in p.template else p.template_uri)
        if team.cloud == "gcp":
            stem, dot, ext = uri.rpartition(".")
            new = f"{stem}-$(date +%Y%m%d-%H%M%S).{ext}" if dot and "/" not in ext else \
                f"{uri}-$(date +%Y%m%d-%H%M%S)"
            code = (f"NEW=\"{new}\"   # a new object: creating cannot replace one\n"
                    "gcloud storage cp ./pipeline.yaml \"$NEW\"\n"
                    f"echo \"teams.{team.team}.pipelines.{p.name}.template: $NEW\"   # ask for "
                    "this in org.yaml\n"
                    "# once merged the platform team runs:\n"
                    f"pulumi up -s {team.env}")
            intro = (f"`pulumi up` reads the template from `{uri}` and puts it in the schedule's "
                     "request: the next deployment, not the next run, picks up a new version. "
                     "Upload it under a new name next to the old one and ask for org.yaml to "
                     "point at it, so the change is reviewed and the old version stays.")
        else:
            code = (f"aws s3 cp ./definition.json {uri}\n"
                    "# pulumi up reads it and puts it inline in the SageMaker pipeline; the\n"
                    "# platform team runs:\n"
                    f"pulumi up -s {team.env}")
            intro = (f"`pulumi up` reads the definition from `{uri}` (the identity running it "
                     "needs `s3:GetObject` on it) and puts it inline in the SageMaker pipeline "
                     f"`{p.pipeline_name}`: the next deployment, not the next run, picks up "
                     "what you upload.")
    return Recipe(f"Publish a new version of {p.name}", "shell", code, intro)


def template_prefix(uri: str) -> tuple[str, str]:
    """``(bucket, prefix)`` of a ``gs://`` template: the folder its versions go to."""
    bucket, _, obj = uri.removeprefix("gs://").partition("/")
    return bucket, obj.rpartition("/")[0] + "/" if "/" in obj else ""


def publish_request(team: TeamEnv, p: Pipeline, contacts: tuple[str, ...]) -> str:
    """What to ask the platform team for to publish ``p``'s template: Trellis does not own the
    bucket, so nothing in the plan grants it. ``roles/storage.objectCreator`` under the
    template's folder only (an IAM condition on the object name); it creates objects and cannot
    replace one (replacing needs ``storage.objects.delete`` as well:
    https://cloud.google.com/storage/docs/access-control/iam-permissions)."""
    bucket, prefix = template_prefix(p.template)
    members = ", ".join(team.members) or f"the members of team {team.team}"
    condition = (f'resource.name.startsWith("projects/_/buckets/{bucket}/objects/{prefix}")')
    return "\n".join((
        f"To: {', '.join(contacts) or 'the platform team'}",
        f"Subject: [{team.team}/{team.env}] upload access to gs://{bucket}/{prefix}",
        "",
        f"Team {team.team} publishes new versions of pipeline {p.name} to gs://{bucket}/"
        f"{prefix}, which `pulumi up` reads ({p.template}). Trellis does not manage that "
        "bucket, so it grants nothing there.",
        f"Please grant {members} roles/storage.objectCreator on bucket {bucket}, limited to "
        f"gs://{bucket}/{prefix} with the IAM condition:",
        f"  {condition}",
        "(creating objects only: published versions cannot be overwritten)."))


def push_template(team: TeamEnv) -> Recipe | None:
    """Upload a compiled KFP template to the team's template registry (GCP) and run it."""
    if team.cloud != "gcp" or not team.pipeline_registry:
        return None
    host = team.pipeline_registry.rstrip("/")
    host = host if host.startswith("https://") else f"https://{host}"
    root = team.pipeline_root or ""
    code = ("# pip install kfp google-cloud-aiplatform\n"
            "from google.cloud import aiplatform\n"
            "from kfp.registry import RegistryClient\n\n"
            "# kfp dsl compile --py pipeline.py --output pipeline.yaml\n"
            f"client = RegistryClient(host={_py(host)})\n"
            "name, version = client.upload_pipeline(\n"
            "    file_name=\"pipeline.yaml\", tags=[\"latest\"])\n"
            "print(name, version)\n\n"
            f"aiplatform.init(project={_py(team.project)}, location={_py(team.region)})\n"
            "job = aiplatform.PipelineJob(\n"
            "    display_name=name,\n"
            f"    template_path={_py(host + '/')} + name + \"/latest\",\n"
            f"    pipeline_root={_py(root)},\n"
            f"    labels={{\"team\": {_py(team.team)}}},\n"
            + (f"    encryption_spec_key_name={_py(team.cmek_key)},\n" if team.cmek_key else "")
            + ")\n"
            f"job.submit(service_account={_py(team.pipeline_identity)})\n")
    return Recipe("Push a pipeline template and run it", "python", code,
                  f"Your team's KFP template registry is `{host}`: upload a compiled template "
                  "under a tag, then run it from there (Vertex AI reads templates from Artifact "
                  "Registry directly).")


def schedule_request(team: TeamEnv, name: str = "<pipeline>") -> Recipe:
    """Schedules live in org.yaml, so a new one is a change the platform team deploys."""
    tz = next((p.timezone for p in team.pipelines.values()), "UTC")
    template = (f"gs://... or pipelines/{name}.yaml" if team.cloud == "gcp"
                else f"s3://... or pipelines/{name}.json")
    code = (f"teams:\n  {team.team}:\n    pipelines:\n      {name}:\n"
            f"        template: {template}   # compiled template\n"
            "        schedule: \"0 3 * * *\"   # 5-field cron: every day at 03:00\n"
            f"        timezone: {tz}\n"
            "        parameters: {}")
    return Recipe("Schedule a pipeline", "yaml", code,
                  "Schedules are part of org.yaml, so they are reviewed and survive "
                  f"redeployments: ask the platform team to add this under `teams.{team.team}"
                  ".pipelines` (the values are examples) and run `pulumi up`.")


# --------------------------------------------------------------------------------------------
# Model registry
# --------------------------------------------------------------------------------------------

def model_registry(team: TeamEnv) -> Recipe | None:
    """Registering a version needs the model's files in a bucket: None when there is none."""
    models = next((b.uri for b in team.buckets.values() if "model" in b.purpose),
                  _first_bucket(team))
    if models is None:
        return None
    if team.cloud == "gcp":
        code = ("# pip install google-cloud-aiplatform\n"
                "from google.cloud import aiplatform\n\n"
                f"aiplatform.init(project={_py(team.project)}, location={_py(team.region)})\n"
                "model = aiplatform.Model.upload(\n"
                "    display_name=\"ranker\",\n"
                f"    artifact_uri={_py(models + '/ranker/v1')},\n"
                "    serving_container_image_uri=\n"
                "        \"us-docker.pkg.dev/vertex-ai/prediction/sklearn-cpu.1-5:latest\",\n"
                f"    labels={{\"team\": {_py(team.team)}}},\n"
                ")\n"
                "print(model.resource_name)\n"
                f"print(aiplatform.Model.list(filter='labels.team={team.team}'))\n")
        intro = (f"Vertex AI Model Registry of `{team.project}` ({team.region}). Label models "
                 f"with `team={team.team}` so the team can find its own.")
    else:
        server = image_ref(team, "server") + ":v1"
        artifact = models + "/ranker/v1/model.tar.gz"
        code = ("# pip install boto3\n"
                "import boto3\n\n"
                f"sm = boto3.client(\"sagemaker\", region_name={_py(team.region)})\n"
                "sm.create_model_package(\n"
                f"    ModelPackageGroupName={_py(team.model_registry)},\n"
                "    ModelApprovalStatus=\"PendingManualApproval\",\n"
                "    InferenceSpecification={\n"
                f"        \"Containers\": [{{\"Image\": {_py(server)},\n"
                f"                        \"ModelDataUrl\": {_py(artifact)}}}],\n"
                "        \"SupportedContentTypes\": [\"application/json\"],\n"
                "        \"SupportedResponseMIMETypes\": [\"application/json\"],\n"
                "    },\n"
                ")\n"
                f"print(sm.list_model_packages(ModelPackageGroupName={_py(team.model_registry)}))\n")
        intro = (f"SageMaker model package group `{team.model_registry}`; the team role (from a "
                 "laptop), the workload role (pods) and the pipeline role may register and list "
                 "versions.")
    return Recipe("Register a model version", "python", code, intro)
