"""Small queries over a GCP plan, with assertion messages that name the resource."""

from __future__ import annotations

from collections import Counter
from typing import Any

from stacks.plan.engine import Plan, PlannedResource
from tests.plan_queries import named as named  # re-exported for the tests
from tests.plan_queries import one as one

ACCOUNT = "gcp:serviceaccount/account:Account"
BUCKET = "gcp:storage/bucket:Bucket"
BUCKET_IAM = "gcp:storage/bucketIAMMember:BucketIAMMember"
BUCKET_OBJECT = "gcp:storage/bucketObject:BucketObject"
BUDGET = "gcp:billing/budget:Budget"
CHANNEL = "gcp:monitoring/notificationChannel:NotificationChannel"
CLUSTER = "gcp:container/cluster:Cluster"
JOB = "gcp:cloudscheduler/job:Job"
NODE_POOL = "gcp:container/nodePool:NodePool"
PROJECT_IAM = "gcp:projects/iAMMember:IAMMember"
REPO = "gcp:artifactregistry/repository:Repository"
REPO_IAM = "gcp:artifactregistry/repositoryIamMember:RepositoryIamMember"
SA_IAM = "gcp:serviceaccount/iAMMember:IAMMember"
SA_KEY = "gcp:serviceaccount/key:Key"
SERVICE = "gcp:projects/service:Service"
IAM_TYPES = (PROJECT_IAM, BUCKET_IAM, REPO_IAM, SA_IAM)


def counts(plan: Plan) -> Counter[str]:
    return Counter(r.type for r in plan.resources)


def subset(resource: PlannedResource, expected: dict[str, Any], path: str = "") -> None:
    """Every key of ``expected`` has that value in the resource's inputs (nested dicts too)."""
    _subset(resource.inputs, expected, f"{resource.type} {resource.name!r}", path)


def _subset(actual: Any, expected: Any, who: str, path: str) -> None:
    if isinstance(expected, dict):
        assert isinstance(actual, dict), f"{who}: {path or 'inputs'} is {actual!r}, not a map"
        for key, value in expected.items():
            where = f"{path}.{key}" if path else key
            assert key in actual, f"{who}: input {where} is missing"
            _subset(actual[key], value, who, where)
    else:
        assert actual == expected, f"{who}: input {path} is {actual!r}, expected {expected!r}"
