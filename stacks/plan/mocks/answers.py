"""Realistic outputs for the offline plan: what the clouds would return for each resource.

The mocks answer a registration with the inputs plus the outputs the provider computes (ids,
emails, ARNs, self links, endpoints), shaped like the real ones, so code that wires one
resource's output into another's input resolves exactly as it would under ``pulumi up``.
"""

from __future__ import annotations

from typing import Any

from stacks.org.spec import EnvSpec
from stacks.plan.mocks import aws as mocks_aws
from stacks.plan.mocks import gcp as mocks_gcp
from stacks.plan.mocks.common import digits


def mock_state(
    env: EnvSpec, typ: str, name: str, inputs: dict[str, Any]
) -> tuple[str, dict[str, Any]]:
    """``(id, state)`` a real provider would return for this registration."""
    if typ.startswith("pulumi:providers:"):
        return f"{name}-provider-id", dict(inputs)
    if typ.startswith("gcp:"):
        rid, extra = mocks_gcp.state(env, typ, name, inputs)
    elif typ.startswith("aws:"):
        rid, extra = mocks_aws.state(env, typ, name, inputs)
    else:  # kubernetes and others: inputs echo plus a uid
        rid, extra = name, {"metadata": {**(inputs.get("metadata") or {}),
                                         "uid": digits(name, 12)}} if "metadata" in inputs else {}
    return rid, {**inputs, **extra}


def mock_call(env: EnvSpec, token: str, args: dict[str, Any]) -> dict[str, Any]:
    """Answers to data-source invokes a program may make."""
    region = env.region
    if token.startswith("aws:") and token in mocks_aws.INVOKES:
        return mocks_aws.INVOKES[token](env, args)
    if token == "gcp:organizations/getProject:getProject":
        project = args.get("projectId") or env.project
        return {"projectId": project, "number": digits(str(project), 12), "name": project,
                "id": f"projects/{project}"}
    if token == "gcp:storage/getBucketObjectContent:getBucketObjectContent":
        bucket, name = str(args.get("bucket")), str(args.get("name"))
        return {"bucket": bucket, "name": name, "id": f"{bucket}-{name}",
                "content": mocks_gcp.object_content(bucket, name),
                "contentType": "application/json"}
    if token == "gcp:storage/getProjectServiceAccount:getProjectServiceAccount":
        project = str(args.get("project") or env.project)
        email = mocks_gcp.service_agent(project, "storage")
        return {"emailAddress": email, "member": f"serviceAccount:{email}", "project": project,
                "id": email}
    if token == "gcp:organizations/getClientConfig:getClientConfig":
        return {"accessToken": "offline-plan-token", "project": env.project, "region": region}
    return {}
