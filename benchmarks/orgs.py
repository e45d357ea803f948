"""Valid org files of any size, for the benchmarks (``benchmarks/run.py``).

``generate(cloud, teams)`` returns the text of an org.yaml with ``teams`` ML teams and two
environments (``dev`` sandbox, ``prod`` production in another region). Teams vary the way real
ones do: one to three GPU pools of accelerators the catalogue offers in *both* regions (and on
demand, so production's on-demand default is valid), two or three buckets, a scheduled pipeline
on every fourth team, per-environment overrides on every third, a sandbox-only team every tenth.
Everything is deterministic: the same arguments always give the same file.

``write(cloud, teams, directory)`` writes the file plus the pipeline template it references and
validates it with :func:`stacks.org.load.load`, so a benchmark never times an invalid org.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from components import catalog

ROOT = Path(__file__).resolve().parent.parent
ORG = "bench"
ENVIRONMENTS = {
    # cloud: (org region, prod region, dev target, prod target)
    "gcp": ("us-central1", "us-east4", "project: bench-ml-dev", "project: bench-ml-prod"),
    "aws": ("us-east-1", "us-west-2", 'account: "111111111111"', 'account: "222222222222"'),
}
ADMINS = {"gcp": "group:ml-platform@bench.example.com",
          # one admin per environment's account: `pulumi up` runs in the account it deploys
          "aws": "arn:aws:iam::111111111111:role/ml-platform-admin, "
                 "arn:aws:iam::222222222222:role/ml-platform-admin"}
TEMPLATES = {"gcp": ROOT / "stacks" / "pipelines" / "train.yaml",
             "aws": ROOT / "examples" / "pipelines" / "train.json"}


def shapes(cloud: str) -> list[catalog.MachineShape]:
    """Shapes a generated pool may use: offered in both regions and sold on demand."""
    org_region, prod_region = ENVIRONMENTS[cloud][:2]
    return [s for s in catalog.all_shapes(cloud)
            if {org_region, prod_region} <= s.regions and s.on_demand_available]


def team_name(i: int) -> str:
    return f"team{i:03d}"


def member(cloud: str, team: str) -> str:
    if cloud == "gcp":
        return f"group:{team}@bench.example.com"
    return f"arn:aws:iam::111111111111:role/{team}-engineers"


def _team(cloud: str, i: int, offered: list[catalog.MachineShape], template: str) -> list[str]:
    name = team_name(i)
    lines = [f"  {name}:",
             f"    description: Benchmark team {i}",
             f"    members: [{member(cloud, name)}]",
             f"    cost_center: cc-{i:04d}",
             "    budget_usd: 1000000"]
    if i % 10 == 9:
        lines.append("    environments: [dev]")
    lines.append("    gpu_pools:")
    pool_names = ("train", "serve", "eval")[: 1 + i % 3]
    for j, pool in enumerate(pool_names):
        shape = offered[(i * 3 + j) % len(offered)]
        lines.append(f"      {pool}: {{accelerator: {shape.accelerator}, gpus_per_node: "
                     f"{shape.gpus_per_node}, max_nodes: {1 + (i + j) % 3}}}")
    lines += ["    buckets:", "      datasets: {}", "      models: {versioning: true}"]
    if i % 2 == 0:
        lines.append("      scratch: {delete_after_days: 30}")
    prod: list[str] = []
    if i % 4 == 0:
        lines += ["    pipelines:",
                  "      nightly:",
                  f"        template: {template}",
                  '        schedule: "0 3 * * *"',
                  f"        parameters: {_parameters(cloud, name, 'dev')}"]
        if cloud == "aws" and i % 10 != 9:
            # A definition's images and roles are per region and account: prod names its own.
            prod.append(f"        pipelines: {{nightly: {{parameters: "
                        f"{_parameters(cloud, name, 'prod')}}}}}")
    if i % 3 == 0 and i % 10 != 9:
        prod += ["        budget_usd: 2000000",
                 "        gpu_pools: {train: {max_nodes: 4}}"]
    if prod:
        lines += ["    overrides:", "      prod:", *prod]
    return lines


def _parameters(cloud: str, team: str, env: str) -> str:
    """Values for the inputs of the template (stacks/pipelines/train.yaml on gcp, the SageMaker
    example definition on aws, whose image and role have no defaults)."""
    if cloud == "gcp":
        return "{epochs: 10}"
    region = ENVIRONMENTS["aws"][0 if env == "dev" else 1]
    account = "111111111111" if env == "dev" else "222222222222"
    image = (f"763104351884.dkr.ecr.{region}.amazonaws.com/pytorch-training:"
             "2.3.0-gpu-py311-cu121-ubuntu20.04-sagemaker")
    return (f'{{Epochs: 10, TrainingImage: "{image}", '
            f'ExecutionRoleArn: "arn:aws:iam::{account}:role/{ORG}-{env}-{team}-pipelines", '
            f'OutputPath: "s3://{ORG}-{env}-{team}-pipeline-root/nightly"}}')


def generate(cloud: str, teams: int) -> str:
    """The text of a valid org.yaml with ``teams`` teams on ``cloud``."""
    org_region, prod_region, dev_target, prod_target = ENVIRONMENTS[cloud]
    offered = shapes(cloud)
    template = f"pipelines/{TEMPLATES[cloud].name}"
    lines = [f"# Generated by benchmarks/orgs.py: {teams} teams on {cloud}.",
             "version: 1",
             f"org: {ORG}",
             f"cloud: {cloud}",
             f"region: {org_region}",
             "labels: {cost-center: ml}",
             "contacts: [ml-platform@bench.example.com]",
             "platform:",
             "  network_cidr: 10.0.0.0/16",
             "  admin_cidrs: [203.0.113.0/24]",
             f"  admins: [{ADMINS[cloud]}]"]
    if cloud == "gcp":
        lines.append("  billing_account: 01ABCD-23EF45-6789AB")
        # `group:` members get in-cluster access through Google Groups for RBAC only.
        lines.append("  gke_security_group: gke-security-groups@bench.example.com")
    lines += ["environments:",
              f"  dev: {{{dev_target}, tier: sandbox}}",
              f"  prod: {{{prod_target}, tier: production, region: {prod_region}}}",
              "teams:"]
    for i in range(teams):
        lines += _team(cloud, i, offered, template)
    return "\n".join(lines) + "\n"


def write(cloud: str, teams: int, directory: Path, *, check: bool = True) -> Path:
    """Write ``<directory>/<cloud>-<teams>.yaml`` (and its pipeline template); return its path.

    With ``check`` (default) the file is loaded with :func:`stacks.org.load.load` first, which
    raises :class:`stacks.org.errors.OrgError` if the generator ever produces an invalid org.
    """
    directory.mkdir(parents=True, exist_ok=True)
    pipelines = directory / "pipelines"
    pipelines.mkdir(exist_ok=True)
    shutil.copyfile(TEMPLATES[cloud], pipelines / TEMPLATES[cloud].name)
    path = directory / f"{cloud}-{teams}.yaml"
    path.write_text(generate(cloud, teams), encoding="utf-8")
    if check:
        from stacks.org.load import load

        load(path)
    return path


if __name__ == "__main__":  # python benchmarks/orgs.py gcp 50 /tmp/orgs
    import sys

    print(write(sys.argv[1], int(sys.argv[2]), Path(sys.argv[3])))
