"""``--quotas FILE``: quota limits from the clouds' own CLIs, saved as JSON, instead of the APIs.

Accepted, recognised by their shape (the APIs' own: compute.v1 ``Region`` and ``Project``,
Service Quotas ``ListServiceQuotas``):

* ``gcloud compute regions describe REGION --format=json``: a region's quotas, with usage;
* ``gcloud compute project-info describe --format=json``: the project's global quotas
  (``GPUS_ALL_REGIONS``), with usage;
* ``aws service-quotas list-service-quotas --service-code ec2 --output json``: the region's
  EC2 quotas, without usage (Service Quotas does not report it).

A file that is none of these, or of another cloud or region than the environment, is a usage
error: :class:`SavedQuotaError` (exit 2).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from stacks.preflight.quotas import QuotaBook, QuotaValue

GCP_REGION_COMMAND = "gcloud compute regions describe {region} --project {project} --format=json"
GCP_PROJECT_COMMAND = "gcloud compute project-info describe --project {project} --format=json"
AWS_COMMAND = ("aws service-quotas list-service-quotas --service-code ec2 --region {region} "
               "--output json")


class SavedQuotaError(ValueError):
    """A --quotas file Trellis cannot use, with what it expected (a usage error)."""


def _load(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise SavedQuotaError(f"{path}: cannot read it ({exc.strerror or exc})") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SavedQuotaError(f"{path}: not JSON ({exc}); save the CLI output with "
                              "--format=json (gcloud) or --output json (aws)") from None


def kind(data: Any) -> str:
    """``gcp-region``, ``gcp-project``, ``aws-quotas`` or ``""`` for anything else."""
    if isinstance(data, dict):
        if data.get("kind") == "compute#region" and isinstance(data.get("quotas"), list):
            return "gcp-region"
        if data.get("kind") == "compute#project" and isinstance(data.get("quotas"), list):
            return "gcp-project"
        if isinstance(data.get("Quotas"), list):
            return "aws-quotas"
    return ""


def read(paths: list[Path], *, cloud: str, region: str, project: str | None) -> QuotaBook:
    """A :class:`QuotaBook` of the saved files for an environment of ``cloud`` in ``region``."""
    book = QuotaBook(", ".join(p.name for p in paths))
    seen: set[str] = set()
    for path in paths:
        data = _load(path)
        found = kind(data)
        expected = ("`" + GCP_REGION_COMMAND.format(region=region, project=project) + "` or `"
                    + GCP_PROJECT_COMMAND.format(project=project) + "`" if cloud == "gcp"
                    else "`" + AWS_COMMAND.format(region=region) + "`")
        if not found or not found.startswith(cloud):
            what = f"{found.split('-')[0]} output" if found else "not a quota listing"
            raise SavedQuotaError(f"{path}: {what}; for this {cloud} environment save "
                                  f"{expected}")
        if found == "gcp-region":
            _gcp(book, data, path, scope=str(data.get("name")), region=region)
        elif found == "gcp-project":
            _gcp(book, data, path, scope="global", region=region)
        else:
            _aws(book, data, path, region=region)
        seen.add("global" if found == "gcp-project" else region)
    if cloud == "gcp":
        if region not in seen:
            raise SavedQuotaError(f"no saved quotas of {region}, the environment's region; save "
                                  f"`{GCP_REGION_COMMAND.format(region=region, project=project)}`")
        if "global" not in seen:
            book.missing_scopes["global"] = (
                "skipped", "project-wide quotas are not in the saved output; add `"
                + GCP_PROJECT_COMMAND.format(project=project) + "` with --quotas")
    return book


def _gcp(book: QuotaBook, data: dict[str, Any], path: Path, *, scope: str,
         region: str) -> None:
    if scope not in ("global", region):
        raise SavedQuotaError(f"{path}: quotas of region {scope}; the environment is in "
                              f"{region}")
    for q in data["quotas"]:
        try:
            metric, limit = str(q["metric"]), float(q["limit"])
            usage = float(q["usage"]) if "usage" in q else None
        except (KeyError, TypeError, ValueError):
            raise SavedQuotaError(f"{path}: quota entry {q!r} lacks a metric and a numeric "
                                  "limit (compute.v1 Quota)") from None
        book.set(metric, scope, QuotaValue(limit, usage))


def _aws(book: QuotaBook, data: dict[str, Any], path: Path, *, region: str) -> None:
    for q in data["Quotas"]:
        try:
            code, value = str(q["QuotaCode"]), float(q["Value"])
        except (KeyError, TypeError, ValueError):
            raise SavedQuotaError(f"{path}: quota entry {q!r} lacks QuotaCode and a numeric "
                                  "Value (Service Quotas ServiceQuota)") from None
        if q.get("ServiceCode", "ec2") != "ec2":
            raise SavedQuotaError(f"{path}: quotas of service {q.get('ServiceCode')}; save "
                                  f"`{AWS_COMMAND.format(region=region)}`")
        arn = str(q.get("QuotaArn", ""))
        arn_region = arn.split(":")[3] if arn.count(":") >= 5 else region
        if arn_region != region:
            raise SavedQuotaError(f"{path}: quotas of region {arn_region} ({arn}); the "
                                  f"environment is in {region}: save "
                                  f"`{AWS_COMMAND.format(region=region)}`")
        book.set(code, region, QuotaValue(value, None))
