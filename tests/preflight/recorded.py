"""Recorded cloud API responses for the preflight tests, held to the APIs' own descriptions.

Google: :class:`RecordedGoogle` answers google-api-python-client's HTTP requests the way
``googleapiclient.http.HttpMock`` does (``request(uri, method, body, headers, ...)`` ->
``(httplib2.Response, bytes)``), routed by method and path so each test records only what
differs; every body it returns is checked against the discovery document's response schema
(``tests/gcp/discovery.py``). AWS: botocore's ``Stubber`` validates each recorded response
against the service model itself.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import httplib2

from tests.gcp.discovery import validate_response

DATA = Path(__file__).resolve().parents[1] / "data" / "preflight"
GCP_REGION = DATA / "gcp-region-us-east4.json"
GCP_PROJECT = DATA / "gcp-project-acme-ml-prod.json"
AWS_QUOTAS = DATA / "aws-quotas-us-west-2.json"

#: Quota metrics the Compute Engine API returns that compute.v1's discovery enum predates (the
#: enum lists PREEMPTIBLE_NVIDIA_H100_GPUS but not these; Google's Cluster Toolkit reads
#: NVIDIA_H100_GPUS, components/data/gpu_quotas.csv has its sources).
NEWER_METRICS = frozenset({"NVIDIA_H100_GPUS", "NVIDIA_H100_MEGA_GPUS",
                           "PREEMPTIBLE_NVIDIA_H100_MEGA_GPUS", "NVIDIA_H200_GPUS",
                           "PREEMPTIBLE_NVIDIA_H200_GPUS"})


def schema_problems(api: str, schema: str, body: Any) -> list[str]:
    """validate_response, less the enum complaints about :data:`NEWER_METRICS`."""
    return [p for p in validate_response(api, schema, body)
            if not any(f".metric: '{m}' is not one of" in p for m in NEWER_METRICS)]


Handler = Callable[[dict[str, list[str]], Any], tuple[int, Any]]
#: (api, schema) of each route's successful response, for validate_response
Route = tuple[str, str, Handler]


def error(status: int, message: str, reason: str) -> tuple[int, Any]:
    """A Google API error body (``{"error": {code, message, errors}}``)."""
    return status, {"error": {"code": status, "message": message,
                              "errors": [{"message": message, "domain": "global",
                                          "reason": reason}]}}


class RecordedGoogle:
    """Google API responses by (method, path); 404 for anything not recorded."""

    def __init__(self) -> None:
        self.routes: dict[tuple[str, str], Route] = {}
        self.calls: list[tuple[str, str, Any]] = []

    def on(self, method: str, path: str, api: str, schema: str, handler: Handler) -> None:
        self.routes[(method, path)] = (api, schema, handler)

    def json(self, method: str, path: str, api: str, schema: str, body: Any) -> None:
        self.on(method, path, api, schema, lambda _q, _b: (200, body))

    def request(self, uri: str, method: str = "GET", body: Any = None, headers: Any = None,
                redirections: int = 1, connection_type: Any = None) -> tuple[Any, bytes]:
        parsed = urlparse(uri)
        sent = json.loads(body) if body else None
        self.calls.append((method, parsed.path, sent))
        route = self.routes.get((method, parsed.path))
        if route is None:
            status, payload = error(404, f"The resource '{parsed.path}' was not found",
                                    "notFound")
        else:
            api, schema, handler = route
            status, payload = handler(parse_qs(parsed.query), sent)
            if status == 200:
                problems = schema_problems(api, schema, payload)
                assert not problems, f"recorded {schema} of {parsed.path} is not what " \
                                     f"{api} returns: {problems}"
        return (httplib2.Response({"status": status, "content-type": "application/json"}),
                json.dumps(payload).encode())


COMPUTE = "/compute/v1/projects"


def machine_type(project: str, zone: str, name: str, gpus: int, accelerator: str,
                 cpus: int) -> dict[str, Any]:
    """compute.v1 MachineType of an accelerator-optimized type."""
    return {"kind": "compute#machineType", "id": "1000", "name": name,
            "description": f"{cpus} vCPUs, {gpus} GPUs", "guestCpus": cpus,
            "memoryMb": cpus * 4096, "imageSpaceGb": 0, "maximumPersistentDisks": 128,
            "maximumPersistentDisksSizeGb": "263168", "zone": zone, "isSharedCpu": False,
            "accelerators": [{"guestAcceleratorType": accelerator,
                              "guestAcceleratorCount": gpus}],
            "selfLink": f"https://www.googleapis.com/compute/v1/projects/{project}/zones/"
                        f"{zone}/machineTypes/{name}", "architecture": "X86_64"}


def reservation(owner: str, zone: str, name: str, *, machine: str, count: int, in_use: int,
                shared_with: tuple[str, ...] = (), specific: bool = True,
                status: str = "READY") -> dict[str, Any]:
    """compute.v1 Reservation of ``count`` VMs, specific-only, maybe shared."""
    body: dict[str, Any] = {
        "kind": "compute#reservation", "id": "4100668622331754141", "name": name,
        "creationTimestamp": "2026-11-02T07:44:11.402-08:00", "zone":
            f"https://www.googleapis.com/compute/v1/projects/{owner}/zones/{zone}",
        "selfLink": f"https://www.googleapis.com/compute/v1/projects/{owner}/zones/{zone}/"
                    f"reservations/{name}",
        "specificReservation": {"count": str(count), "inUseCount": str(in_use),
                                "instanceProperties": {"machineType": machine}},
        "specificReservationRequired": specific, "status": status,
        "shareSettings": {"shareType": "LOCAL"}}
    if shared_with:
        body["shareSettings"] = {"shareType": "SPECIFIC_PROJECTS", "projectMap": {
            p: {"projectId": p} for p in shared_with}}
    return body


def server_config(default: str = "1.33.5-gke.1080000") -> dict[str, Any]:
    """container.v1 ServerConfig with the three release channels."""
    return {"defaultClusterVersion": default, "validMasterVersions": [default],
            "validNodeVersions": [default], "defaultImageType": "COS_CONTAINERD",
            "validImageTypes": ["COS_CONTAINERD", "UBUNTU_CONTAINERD"],
            "channels": [{"channel": c, "defaultVersion": v, "validVersions": [v]} for c, v in (
                ("RAPID", "1.34.1-gke.1431000"), ("REGULAR", default),
                ("STABLE", "1.32.9-gke.1108000"))]}


def google_environment(project: str = "acme-ml-prod", region: str = "us-east4", *,
                       offered: dict[str, set[str]] | None = None,
                       denied: frozenset[str] = frozenset(),
                       disabled: frozenset[str] = frozenset()) -> RecordedGoogle:
    """A project where everything preflight reads is answered: the saved region and project
    quotas, ``offered`` machine types per zone, every permission but ``denied``, every API
    enabled but ``disabled``. Tests add or replace routes for what they are about."""
    g = RecordedGoogle()
    g.json("GET", f"{COMPUTE}/{project}/regions/{region}", "compute.v1", "Region",
           json.loads(GCP_REGION.read_text()))
    g.json("GET", f"{COMPUTE}/{project}", "compute.v1", "Project",
           json.loads(GCP_PROJECT.read_text()))
    shapes = {"g2-standard-8": (1, "nvidia-l4", 8), "a2-ultragpu-1g": (1, "nvidia-a100-80gb", 12),
              "a3-highgpu-8g": (8, "nvidia-h100-80gb", 208)}
    for zone, types in (offered or {}).items():
        for name in types:
            gpus, accel, cpus = shapes[name]
            g.json("GET", f"{COMPUTE}/{project}/zones/{zone}/machineTypes/{name}", "compute.v1",
                   "MachineType", machine_type(project, zone, name, gpus, accel, cpus))

    def test_iam(_q: Any, body: Any) -> tuple[int, Any]:
        return 200, {"permissions": [p for p in body["permissions"] if p not in denied]}

    g.on("POST", f"/v1/projects/{project}:testIamPermissions", "cloudresourcemanager.v1",
         "TestIamPermissionsResponse", test_iam)

    def batch_get(query: dict[str, list[str]], _b: Any) -> tuple[int, Any]:
        return 200, {"services": [
            {"name": n, "parent": f"projects/{project}",
             "state": "DISABLED" if n.rsplit("/", 1)[-1] in disabled else "ENABLED"}
            for n in query["names"]]}

    g.on("GET", f"/v1/projects/{project}/services:batchGet", "serviceusage.v1",
         "BatchGetServicesResponse", batch_get)
    g.json("GET", f"/v1/projects/{project}/locations/{region}/serverConfig", "container.v1",
           "ServerConfig", server_config())
    return g
