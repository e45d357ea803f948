"""Where the managed services behind scheduled pipelines are offered, as dated data.

A team's pipelines need, in its environment's region, Vertex AI Pipelines and Cloud Scheduler
(GCP) or SageMaker Pipelines and EventBridge Scheduler (AWS). ``data/service_gaps.csv`` lists the
regions of ``regions.csv`` where one of them is **not** offered, each row with its source
(``sources.csv``); a service is checked only where a complete, machine-readable list of its
regions exists (:data:`CHECKED`). Pure data lookups, read on first use.
"""

# No `from __future__ import annotations`: imported by the hosted components (docs/adr/0006).
from dataclasses import dataclass
from functools import cache

from components import catalog

SERVICES: dict[str, dict[str, str]] = {
    "gcp": {"vertex-ai-pipelines": "Vertex AI Pipelines", "cloud-scheduler": "Cloud Scheduler"},
    "aws": {"sagemaker-pipelines": "SageMaker Pipelines",
            "eventbridge-scheduler": "EventBridge Scheduler"},
}
"""The services a team's scheduled pipelines need, per cloud: id -> name."""

CHECKED: dict[str, str] = {
    "vertex-ai-pipelines": "googleapiclient-aiplatform-v1",
    "sagemaker-pipelines": "botocore-endpoints",
    "eventbridge-scheduler": "botocore-endpoints",
}
"""Services whose regions are checked, and the source of the complete list they were checked
against. Cloud Scheduler is not: Google publishes its locations only as a web page (and a
live API, ``gcloud scheduler locations list``), none of it in a form Trellis can read offline;
its release notes show it still being added to regions (europe-west4 on 2026-04-17)."""

FILE = "service_gaps.csv"
_COLUMNS = ("cloud", "service", "region", "source")


@dataclass(frozen=True)
class Gap:
    """A service a Trellis feature needs that a region does not offer."""

    cloud: str
    service: str  # an id of SERVICES[cloud]
    region: str
    source: str  # a sources.csv id

    @property
    def name(self) -> str:
        return SERVICES[self.cloud][self.service]


@cache
def gaps() -> tuple[Gap, ...]:
    """Every row of ``service_gaps.csv``, checked (cloud, service, region, source)."""
    known = catalog.sources()
    found = []
    for line, fields in catalog._rows(catalog.DATA_DIR, FILE, _COLUMNS):
        gap = Gap(*fields)
        if gap.cloud not in SERVICES or gap.service not in SERVICES[gap.cloud]:
            raise catalog._bad(catalog.DATA_DIR, FILE, line, f"unknown service {gap.service!r} "
                               f"of cloud {gap.cloud!r}; known: {SERVICES}")
        if gap.region not in catalog.regions(gap.cloud):
            raise catalog._bad(catalog.DATA_DIR, FILE, line, f"{gap.region} is not a region of "
                               f"regions.csv ({gap.cloud})")
        if gap.source not in known or CHECKED.get(gap.service) != gap.source:
            raise catalog._bad(catalog.DATA_DIR, FILE, line, f"source {gap.source!r} must be "
                               f"the sources.csv id the service is checked against "
                               f"({CHECKED.get(gap.service)})")
        found.append(gap)
    return tuple(found)


def pipeline_gaps(cloud: str, region: str) -> tuple[Gap, ...]:
    """The services scheduled pipelines need that ``region`` does not offer (empty when it
    offers them all, or when the region is not in the data)."""
    return tuple(g for g in gaps() if g.cloud == cloud and g.region == region)


def offering(cloud: str, services: tuple[str, ...] | None = None) -> tuple[str, ...]:
    """Regions of ``cloud`` that offer every one of ``services`` (default: all pipeline
    services), sorted."""
    wanted = set(services if services is not None else SERVICES[cloud])
    missing = {g.region for g in gaps() if g.cloud == cloud and g.service in wanted}
    return tuple(sorted(r for r in catalog.regions(cloud) if r not in missing))
