"""Mock outputs of pulumi-gcp resources for the offline plan (see stacks/plan/mocks/answers.py)."""

from __future__ import annotations

import json
from typing import Any

from stacks.org.spec import EnvSpec
from stacks.plan.mocks.common import FAKE_CA as _FAKE_CA
from stacks.plan.mocks.common import STAND_IN
from stacks.plan.mocks.common import digits as _digits

SERVICE_AGENT_DOMAINS = {
    "container": "container-engine-robot",
    "storage": "gs-project-accounts",
}
"""Service agents whose domain is not ``gcp-sa-<service>`` (Cloud Foundation Fabric,
modules/project/service-agents.yaml)."""


def service_agent(project: str, service: str) -> str:
    """The email of a service's primary agent in ``project``, as Google forms it."""
    domain = SERVICE_AGENT_DOMAINS.get(service, f"gcp-sa-{service}")
    return f"service-{_digits(project, 12)}@{domain}.iam.gserviceaccount.com"


def state(env: EnvSpec, typ: str, name: str, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    project = inputs.get("project") or env.project or "project"
    location = inputs.get("location") or inputs.get("region") or env.region
    state: dict[str, Any] = {"project": project}
    rid = inputs.get("name") or name
    if typ == "gcp:serviceaccount/account:Account":
        email = f"{inputs['accountId']}@{project}.iam.gserviceaccount.com"
        rid = f"projects/{project}/serviceAccounts/{email}"
        state.update(email=email, name=rid, uniqueId=_digits(email, 21),
                     member=f"serviceAccount:{email}")
    elif typ == "gcp:storage/bucket:Bucket":
        rid = inputs.get("name") or name
        state.update(url=f"gs://{rid}", selfLink=f"https://www.googleapis.com/storage/v1/b/{rid}")
    elif typ == "gcp:container/cluster:Cluster":
        rid = f"projects/{project}/locations/{location}/clusters/{inputs.get('name', name)}"
        endpoints = dict(inputs.get("controlPlaneEndpointsConfig") or {})
        dns = dict(endpoints.get("dnsEndpointConfig") or {})
        dns["endpoint"] = f"gke-{_digits(rid, 16)}.{location}.gke.goog"
        state.update(endpoint="172.16.0.2", selfLink=f"https://container.googleapis.com/v1/{rid}",
                     masterAuth={"clusterCaCertificate": _FAKE_CA},
                     masterVersion="1.33.5-gke.1000", operation=None,
                     controlPlaneEndpointsConfig={**endpoints, "dnsEndpointConfig": dns})
    elif typ == "gcp:container/nodePool:NodePool":
        rid = f"{location}/{inputs.get('cluster', 'cluster')}/{inputs.get('name', name)}"
        state.update(instanceGroupUrls=[], managedInstanceGroupUrls=[])
    elif typ == "gcp:artifactregistry/repository:Repository":
        repo = inputs.get("repositoryId", name)
        rid = f"projects/{project}/locations/{location}/repositories/{repo}"
        fmt = str(inputs.get("format", "DOCKER")).lower()
        host = "docker" if fmt == "docker" else fmt
        state.update(name=repo, registryUri=f"{location}-{host}.pkg.dev/{project}/{repo}")
    elif typ == "gcp:compute/network:Network":
        name_ = rid
        rid = f"projects/{project}/global/networks/{name_}"
        state.update(name=name_, selfLink=f"https://www.googleapis.com/compute/v1/{rid}",
                     gatewayIpv4="10.0.0.1", networkId=_digits(rid, 19))
    elif typ == "gcp:compute/subnetwork:Subnetwork":
        name_ = rid
        rid = f"projects/{project}/regions/{location}/subnetworks/{name_}"
        state.update(name=name_, selfLink=f"https://www.googleapis.com/compute/v1/{rid}",
                     gatewayAddress=inputs.get("ipCidrRange", "10.0.0.0/8").split("/")[0],
                     subnetworkId=_digits(rid, 19))
    elif typ == "gcp:compute/router:Router":
        name_ = rid
        rid = f"projects/{project}/regions/{location}/routers/{name_}"
        state.update(name=name_, selfLink=f"https://www.googleapis.com/compute/v1/{rid}")
    elif typ == "gcp:compute/routerNat:RouterNat":
        rid = f"{project}/{location}/{inputs.get('router', 'router')}/{rid}"
    elif typ in ("gcp:projects/iAMMember:IAMMember", "gcp:storage/bucketIAMMember:BucketIAMMember",
                 "gcp:serviceaccount/iAMMember:IAMMember",
                 "gcp:artifactregistry/repositoryIamMember:RepositoryIamMember"):
        # Additive members: id is "<resource>/<role>/<member>"; the etag comes from the API.
        target = (inputs.get("bucket") or inputs.get("serviceAccountId")
                  or inputs.get("repository") or project)
        rid = f"{target}/{inputs.get('role')}/{inputs.get('member')}"
        state.update(etag=f"BwY{_digits(rid, 10)}=")
        return str(rid), state
    elif typ == "gcp:projects/service:Service":
        rid = f"{project}/{inputs.get('service')}"
    elif typ == "gcp:kms/keyRing:KeyRing":
        rid = f"projects/{project}/locations/{location}/keyRings/{rid}"
    elif typ == "gcp:kms/cryptoKey:CryptoKey":
        rid = f"{inputs.get('keyRing', 'keyring')}/cryptoKeys/{rid}"
    elif typ == "gcp:projects/serviceIdentity:ServiceIdentity" or typ.startswith(
            "gcp:projects/serviceIdentity"):
        svc = str(inputs.get("service", "service")).split(".")[0]
        email = service_agent(str(project), svc)
        state.update(email=email, member=f"serviceAccount:{email}")
    elif typ == "gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember":
        rid = f"{inputs.get('cryptoKeyId')}/{inputs.get('role')}/{inputs.get('member')}"
        state.update(etag=f"BwY{_digits(rid, 10)}=")
        return str(rid), state
    elif typ == "gcp:cloudscheduler/job:Job":
        rid = f"projects/{project}/locations/{location}/jobs/{rid}"
        state.update(state="ENABLED", paused=False)
    elif typ == "gcp:billing/budget:Budget":
        rid = f"billingAccounts/{inputs.get('billingAccount')}/budgets/{_digits(name, 10)}"
        state.update(name=rid)
    elif typ == "gcp:monitoring/alertPolicy:AlertPolicy":
        rid = f"projects/{project}/alertPolicies/{_digits(name, 19)}"
        state.update(name=rid, creationRecords=[])
    elif typ == "gcp:monitoring/notificationChannel:NotificationChannel":
        rid = f"projects/{project}/notificationChannels/{_digits(name, 19)}"
        state.update(name=rid)
    elif typ == "gcp:storage/bucketObject:BucketObject":
        obj, bucket = inputs.get("name") or name, inputs.get("bucket")
        rid = f"{bucket}-{obj}"
        state.update(name=obj, outputName=obj,
                     selfLink=f"https://www.googleapis.com/storage/v1/b/{bucket}/o/{obj}",
                     mediaLink=f"https://storage.googleapis.com/download/storage/v1/b/{bucket}/o/"
                               f"{obj}?alt=media", md5hash=_digits(obj, 22), crc32c="AAAAAA==")
    if "name" not in state and "name" not in inputs:
        state["name"] = rid
    return str(rid), state


def object_content(bucket: str, name: str) -> str:
    """What ``gcp.storage.getBucketObjectContent`` answers offline for a ``gs://`` template.

    The real object is read by ``pulumi up``; the plan shows the shape of the request with a
    minimal compiled pipeline in its place, which says so.
    """
    return json.dumps({
        "pipelineInfo": {"name": "offline-plan-placeholder",
                         "description": f"offline plan: gs://{bucket}/{name} is read by pulumi up"},
        "root": {"dag": {"tasks": {}}},
        "schemaVersion": "2.1.0",
        "sdkVersion": STAND_IN,
    })
