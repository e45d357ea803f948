"""What preflight asks the cloud for, read from the spec and plan: every planned resource type
has its permissions, each AWS action exists, quotas are summed per quota and scope."""

from __future__ import annotations

import pytest

from stacks.org.load import load
from stacks.org.resolve import resolve
from stacks.plan.engine import plan
from stacks.preflight import needs
from stacks.preflight.quotas import QuotaBook, QuotaValue, demands
from tests.aws.botocore_shapes import model
from tests.aws.conftest import EXAMPLE
from tests.conftest import BUNDLED_GCP

#: IAM actions that are no API operation of their own (or are named apart from it): PassRole
#: is authorised on the roles EKS is given; S3 and Budgets name these after the configuration.
IAM_ONLY = {"iam:PassRole", "s3:PutLifecycleConfiguration", "s3:PutEncryptionConfiguration",
            "s3:PutBucketPublicAccessBlock",  # the PutPublicAccessBlock operation on a bucket
            "budgets:ModifyBudget"}
SERVICE_MODELS = {"logs": "logs", "scheduler": "scheduler", "autoscaling": "autoscaling"}


# The production environments of the two bundled orgs: every resource type Trellis plans
# (customer-managed keys, pipelines, budgets, both clouds' node pools) appears in them.
@pytest.mark.parametrize("org", [BUNDLED_GCP, EXAMPLE], ids=lambda p: p.name)
def test_every_planned_cloud_resource_type_has_its_permissions(org):
    loaded = load(org)
    for env in ("prod",):
        spec = resolve(loaded, env)
        wanted = needs.permissions(plan(spec), spec.cloud)
        assert not wanted.unmapped, \
            f"{org.name}/{env}: add the create permission of {wanted.unmapped} to " \
            "stacks/preflight/needs.py, or preflight cannot say whether pulumi up may do it"
        assert wanted.wanted


def test_every_aws_action_is_an_operation_of_its_service():
    for action in sorted({a for actions in needs.AWS_ACTIONS.values() for a in actions}):
        if action in IAM_ONLY:
            continue
        service, operation = action.split(":")
        ops = model(SERVICE_MODELS.get(service, service)).operation_names
        assert operation in ops, f"{action}: botocore's {service} model has no {operation}"


def test_denied_gcp_permissions_map_to_the_roles_docs_gcp_md_lists():
    roles = {needs.gcp_role_for(p) for perms in needs.GCP_PERMISSIONS.values() for p in perms}
    assert "roles/owner" not in roles, "every permission has a narrower predefined role"


def test_gcp_spot_falls_back_to_the_standard_quota_only_without_a_preemptible_one(tmp_path):
    from tests.conftest import MINIMAL_GCP

    path = tmp_path / "org.yaml"
    path.write_text(MINIMAL_GCP.replace("serve: {accelerator: l4, max_nodes: 2}",
                                        "serve: {accelerator: l4, max_nodes: 3, spot: true}"))
    pools = needs.pools(resolve(load(path), "dev"))
    book = QuotaBook("test")
    book.set("NVIDIA_L4_GPUS", "us-central1", QuotaValue(8, 0))
    book.set("PREEMPTIBLE_NVIDIA_L4_GPUS", "us-central1", QuotaValue(0, 0))
    [regional, everywhere] = demands(pools, "us-central1", book)
    assert (regional.quota.quota, regional.fallback, regional.amount) == \
        ("NVIDIA_L4_GPUS", True, 3)
    assert everywhere.quota.quota == "GPUS_ALL_REGIONS"
    book.set("PREEMPTIBLE_NVIDIA_L4_GPUS", "us-central1", QuotaValue(16, 0))
    assert demands(pools, "us-central1", book)[0].quota.quota == "PREEMPTIBLE_NVIDIA_L4_GPUS"
