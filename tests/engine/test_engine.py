"""The offline engine records registrations exactly as the Pulumi engine would receive them."""

from __future__ import annotations

import pulumi
import pulumi_gcp as gcp
import pytest

from stacks.org.load import load
from stacks.org.resolve import resolve
from stacks.plan.engine import PlanError, run_program
from tests.conftest import BUNDLED_GCP


@pytest.fixture(scope="module")
def env():
    return resolve(load(BUNDLED_GCP), "dev")


class Box(pulumi.ComponentResource):
    def __init__(self, name: str, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("trellis:test:Box", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.sa = gcp.serviceaccount.Account(f"{name}-sa", account_id="box-workload", opts=child)
        self.bucket = gcp.storage.Bucket(
            f"{name}-bucket", name="acme-dev-box", location="US", uniform_bucket_level_access=True,
            opts=pulumi.ResourceOptions(parent=self, protect=True, retain_on_delete=True,
                                        aliases=[pulumi.Alias(name="old-bucket")]))
        gcp.storage.BucketIAMMember(
            f"{name}-grant", bucket=self.bucket.name, role="roles/storage.objectAdmin",
            member=self.sa.email.apply(lambda e: f"serviceAccount:{e}"), opts=child)
        self.register_outputs({"email": self.sa.email})


def program():
    box = Box("box")
    pulumi.export("email", box.sa.email)


def test_records_type_parent_inputs_and_options(env):
    plan = run_program(env, program)
    by_name = {r.name: r for r in plan.resources}
    assert set(by_name) == {"box", "box-sa", "box-bucket", "box-grant"}
    box, bucket, grant = by_name["box"], by_name["box-bucket"], by_name["box-grant"]
    assert box.type == "trellis:test:Box" and not box.custom
    assert bucket.parent == box.urn and grant.parent == box.urn
    assert bucket.urn == ("urn:pulumi:dev::trellis::trellis:test:Box$gcp:storage/bucket:Bucket"
                          "::box-bucket")
    # camelCase property names, as the engine receives them
    assert bucket.inputs["uniformBucketLevelAccess"] is True
    assert bucket.protect and bucket.retain_on_delete
    assert bucket.aliases == ["urn:pulumi:dev::trellis::trellis:test:Box$gcp:storage/bucket:"
                              "Bucket::old-bucket"]
    assert not by_name["box-sa"].protect


def test_wiring_resolves_through_realistic_mock_outputs(env):
    plan = run_program(env, program)
    grant = next(r for r in plan.resources if r.name == "box-grant")
    assert grant.inputs["member"] == (
        "serviceAccount:box-workload@acme-ml-dev.iam.gserviceaccount.com")
    assert grant.inputs["bucket"] == "acme-dev-box"
    sa = next(r for r in plan.resources if r.name == "box-sa")
    bucket = next(r for r in plan.resources if r.name == "box-bucket")
    assert set(grant.dependencies) >= {sa.urn, bucket.urn}
    assert grant.property_dependencies["member"] == [sa.urn]
    assert plan.outputs == {"email": "box-workload@acme-ml-dev.iam.gserviceaccount.com"}


def test_runs_twice_in_one_process_with_identical_results(env):
    first = run_program(env, program).to_json()
    second = run_program(env, program).to_json()
    assert first == second


def test_a_component_rejecting_its_inputs_is_a_clean_error(env):
    def bad():
        raise ValueError("max_nodes must be at least 1")

    with pytest.raises(PlanError, match="planning environment 'dev' failed: ValueError: "
                                        "max_nodes must be at least 1"):
        run_program(env, bad)


def test_plan_json_has_the_contract_keys(env):
    data = run_program(env, program).to_json()
    assert {"org", "cloud", "environment", "resources", "outputs"} <= set(data)
    for res in data["resources"]:
        assert {"urn", "type", "name", "parent", "inputs", "dependencies", "protect",
                "retain_on_delete"} <= set(res), res["urn"]


def _label_everything(args: pulumi.ResourceTransformArgs) -> pulumi.ResourceTransformResult:
    return pulumi.ResourceTransformResult(props={**args.props, "labels": {"x": "y"}},
                                          opts=args.opts)


def test_resource_transforms_fail_the_plan_instead_of_being_ignored(env):
    """The engine would register the transformed inputs; the plan (like the stock mock monitor)
    cannot run transforms, so it refuses rather than record what `pulumi up` would not send."""
    def program():
        gcp.storage.Bucket("b", name="acme-dev-b", location="US",
                           opts=pulumi.ResourceOptions(transforms=[_label_everything]))

    with pytest.raises(PlanError, match=r"gcp:storage/bucket:Bucket 'b' declares 1 resource "
                                        r"transform\(s\), which the offline plan cannot apply"):
        run_program(env, program)


def test_stack_transforms_fail_the_plan_instead_of_being_ignored(env):
    def program():
        pulumi.runtime.register_resource_transform(_label_everything)
        gcp.storage.Bucket("b", name="acme-dev-b", location="US")

    with pytest.raises(PlanError, match="registers a stack transform"):
        run_program(env, program)
    assert run_program(env, program_without_transforms).resources, "the next plan still works"


def program_without_transforms():
    gcp.storage.Bucket("b", name="acme-dev-b", location="US")
