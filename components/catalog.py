"""GPU catalogue: which machine shapes carry which accelerator, where, and at what list price.

org.yaml names accelerators in cloud-neutral words (``h100-80gb``, ``l4``); this module maps
each (cloud, accelerator, GPUs per node) to exactly one machine shape, the regions that offer
it and its on-demand list price, and holds the fixed per-environment platform costs. It is pure
data plus lookups (stdlib only, no Pulumi, no pydantic) because ``trellis validate`` and
``trellis cost`` import it on their fast path, offline.

Sources (looked up 2026-11-26; refresh everything together and bump ``PRICE_DATE``):

* GCP shapes, vCPUs, memory and regions: ``gcloud compute machine-types list`` /
  ``accelerator-types list`` exports dated 2026-08-17 (Cyclenerd/google-cloud-pricing-cost-
  calculator ``tools/*.csv``), checked against cloud.google.com/compute/docs/gpus and
  /accelerator-optimized-machines.
* GCP prices: Cloud Billing Catalog SKUs summed per machine type, export dated 2026-07-30
  (same project, ``pricing.yml``), i.e. the list price on cloud.google.com/compute/
  vm-instance-pricing, us-central1 on-demand Linux. Marked "approx." where the export had no
  SKU and the figure is an estimate.
* AWS prices: AWS Pricing API snapshot of 2026-07-20 for us-east-1 on-demand Linux, as vendored
  by aws/karpenter-provider-aws (``pkg/providers/pricing/zz_generated.pricing_aws.go``).
* AWS shapes: aws.amazon.com/ec2/instance-types (accelerated computing). AWS regions: family-
  level sets from ``describe-instance-type-offerings`` snapshots and launch announcements;
  approx., a given size can still be missing from some AZs.

Decisions others code against:

* One shape per (cloud, accelerator, GPU count). Same-count variants that are not the default
  (``a3-megagpu-8g``) live in :data:`ALTERNATIVE_SHAPES` and never answer :func:`shape`.
* Single-GPU nodes get 8 vCPUs on both clouds (n1-standard-8 + T4, g2-standard-8,
  g4dn/g5/g6/g6e ``.2xlarge``): the ``.xlarge`` sizes leave 4 vCPUs, too few for a data loader
  next to the kubelet, GPU device plugin and logging agents. Multi-GPU N1+T4 keeps 8 vCPUs per
  GPU (n1-standard-16 / -32).
* GCP ``a3-highgpu-{1,2,4}g`` can only be created as Spot or flex-start VMs, so their shapes
  say ``on_demand_available=False``; the listed price is still the on-demand reference.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import TypedDict

PRICE_DATE = "2026-07"
"""Month the list prices were published (see the module docstring for the sources)."""

CLOUDS = ("gcp", "aws")
HOURS_PER_MONTH = 730
REFERENCE_REGION = {"gcp": "us-central1", "aws": "us-east-1"}
"""Region whose on-demand Linux list price ``on_demand_hour_usd`` quotes."""


class CatalogError(KeyError):
    """An accelerator, GPU count, region or cloud the catalogue does not know.

    A ``KeyError`` so callers can ``except KeyError``; ``str()`` gives the plain message
    (``KeyError`` would wrap it in quotes), written to be shown to the user as is.
    """

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


@dataclass(frozen=True)
class MachineShape:
    """One node shape: a machine type carrying ``gpus_per_node`` GPUs of one accelerator."""

    cloud: str  # "gcp" | "aws"
    accelerator: str  # cloud-neutral name, e.g. "h100-80gb"
    gpus_per_node: int
    machine_type: str  # gcp: "a3-highgpu-8g"; aws: "p5.48xlarge"
    family: str  # gcp: "a3", "g2", "a2", "n1"; aws: "p5", "g6", ...
    vcpus: int
    memory_gb: int  # GiB, as the cloud lists it
    gpu_memory_gb: int  # per GPU
    on_demand_hour_usd: float  # per node-hour, list price in REFERENCE_REGION, GPUs included
    regions: frozenset[str]  # regions where this shape is offered
    gcp_accelerator_type: str | None  # guest accelerator / GKE node label value; None on aws
    spot_allowed: bool = True
    on_demand_available: bool = True  # False: only Spot or flex-start (DWS) capacity
    bundled_local_ssd_gb: int = 0  # GCP Local SSD included in (and billed with) the type
    note: str = ""

    @property
    def gpu_attached(self) -> bool:
        """True when the GPUs are attached to a general-purpose type (GCP N1 + T4).

        Such node pools must declare ``guest_accelerator`` themselves; accelerator-optimized
        types (A2, A3, G2, every AWS type) come with their GPUs.
        """
        return self.cloud == "gcp" and self.family == "n1"

    @property
    def monthly_usd(self) -> float:
        """On-demand list price of one node running all month."""
        return self.on_demand_hour_usd * HOURS_PER_MONTH


def _regions(text: str) -> frozenset[str]:
    return frozenset(text.split())


# --------------------------------------------------------------------------------------------
# Regions
# --------------------------------------------------------------------------------------------

# `gcloud compute regions list`, 2026-08-17 (all public regions, status UP).
_GCP_REGIONS = _regions("""
    africa-south1 asia-east1 asia-east2 asia-northeast1 asia-northeast2 asia-northeast3
    asia-south1 asia-south2 asia-southeast1 asia-southeast2 asia-southeast3
    australia-southeast1 australia-southeast2 europe-central2 europe-north1 europe-north2
    europe-southwest1 europe-west1 europe-west10 europe-west12 europe-west2 europe-west3
    europe-west4 europe-west6 europe-west8 europe-west9 me-central1 me-central2 me-west1
    northamerica-northeast1 northamerica-northeast2 northamerica-south1 southamerica-east1
    southamerica-west1 us-central1 us-east1 us-east4 us-east5 us-south1 us-west1 us-west2
    us-west3 us-west4
""")

# Commercial ("aws" partition) regions, as in the AWS provider's Region enum (pulumi-aws 7.51);
# China, GovCloud, ISO and the European Sovereign Cloud are separate partitions.
_AWS_REGIONS = _regions("""
    af-south-1 ap-east-1 ap-east-2 ap-northeast-1 ap-northeast-2 ap-northeast-3 ap-south-1
    ap-south-2 ap-southeast-1 ap-southeast-2 ap-southeast-3 ap-southeast-4 ap-southeast-5
    ap-southeast-6 ap-southeast-7 ca-central-1 ca-west-1 eu-central-1 eu-central-2 eu-north-1
    eu-south-1 eu-south-2 eu-west-1 eu-west-2 eu-west-3 il-central-1 me-central-1 me-south-1
    mx-central-1 sa-east-1 us-east-1 us-east-2 us-west-1 us-west-2
""")

_ALL_REGIONS = {"gcp": _GCP_REGIONS, "aws": _AWS_REGIONS}

# GCP per-machine-type regions: `gcloud compute machine-types list` 2026-08-17, intersected for
# N1 with the regions of `nvidia-tesla-t4` (`gcloud compute accelerator-types list`).
_GCP_T4 = _regions("""
    asia-east1 asia-east2 asia-northeast1 asia-northeast3 asia-south1 asia-southeast1
    asia-southeast2 australia-southeast1 europe-central2 europe-west1 europe-west2 europe-west3
    europe-west4 me-west1 northamerica-northeast1 southamerica-east1 us-central1 us-east1
    us-east4 us-west1 us-west2 us-west3 us-west4
""")
_GCP_G2 = _regions("""
    asia-east1 asia-northeast1 asia-northeast3 asia-south1 asia-southeast1 europe-west1
    europe-west2 europe-west3 europe-west4 europe-west6 me-central2 northamerica-northeast1
    northamerica-northeast2 us-central1 us-east1 us-east4 us-west1 us-west4
""")
_GCP_A2_HIGH = _regions("""
    asia-northeast1 asia-northeast3 asia-southeast1 europe-west4 me-west1 us-central1 us-east1
    us-west1 us-west3 us-west4
""")
_GCP_A2_MEGA = _regions("asia-southeast1 europe-west4 us-central1")
_GCP_A2_ULTRA = _regions("asia-southeast1 europe-west4 us-central1 us-east4 us-east5")
_GCP_A3_HIGH = _regions("""
    asia-east1 asia-northeast1 asia-northeast3 asia-south1 asia-south2 asia-southeast1
    australia-southeast1 australia-southeast2 europe-north1 europe-west1 europe-west3
    europe-west4 europe-west9 us-central1 us-east4 us-east5 us-west1 us-west4
""")
_GCP_A3_MEGA = _regions("""
    asia-east1 asia-northeast1 asia-southeast1 australia-southeast1 europe-north1 europe-west1
    europe-west3 europe-west4 us-central1 us-east4 us-east5 us-west1 us-west4
""")
_GCP_A3_ULTRA = _regions("""
    asia-south1 asia-south2 europe-west1 europe-west4 us-central1 us-east4 us-east5 us-south1
    us-west1
""")

# AWS family-level regions (approx., see module docstring).
_AWS_G4DN = _regions("""
    ap-northeast-1 ap-northeast-2 ap-northeast-3 ap-south-1 ap-southeast-1 ap-southeast-2
    ca-central-1 eu-central-1 eu-north-1 eu-south-1 eu-west-1 eu-west-2 eu-west-3 me-south-1
    us-east-1 us-east-2 us-west-1 us-west-2
""")
_AWS_G5 = _regions("""
    ap-northeast-1 ap-northeast-2 ap-south-1 ap-southeast-2 ap-southeast-3 ca-central-1
    eu-central-1 eu-north-1 eu-west-1 eu-west-2 me-central-1 us-east-1 us-east-2 us-west-2
""")
# g5.2xlarge is offered more widely than the big sizes (describe-instance-type-offerings, 2025).
_AWS_G5_2XL = _AWS_G5 | _regions("ap-northeast-3 ap-southeast-1 eu-west-3 sa-east-1 us-west-1")
_AWS_G6 = _regions("""
    ap-northeast-1 ap-northeast-2 ap-south-1 ca-central-1 eu-central-1 eu-south-2 eu-west-2
    us-east-1 us-east-2 us-west-2
""")
_AWS_G6E = _regions("""
    ap-northeast-1 eu-central-1 eu-north-1 eu-south-2 us-east-1 us-east-2 us-west-2
""")
_AWS_P4D = _regions("""
    ap-northeast-1 ap-northeast-2 eu-central-1 eu-west-1 us-east-1 us-east-2 us-west-2
""")
_AWS_P4DE = _regions("us-east-1 us-west-2")
_AWS_P5 = _regions("""
    ap-northeast-1 ap-south-1 ap-southeast-2 ap-southeast-3 eu-north-1 eu-west-2 sa-east-1
    us-east-1 us-east-2 us-west-2
""")
_AWS_P5_4XL = _regions("""
    ap-northeast-1 ap-south-1 ap-southeast-3 eu-west-2 sa-east-1 us-east-1 us-east-2 us-west-2
""")
_AWS_P5EN = _regions("ap-northeast-1 us-east-1 us-east-2 us-west-2")


# --------------------------------------------------------------------------------------------
# Shapes
# --------------------------------------------------------------------------------------------

# GCP T4 GPU: $0.35 per GPU-hour in us-central1 (GPU pricing page; approx., the SKU was not in
# the 2026-07 export). N1 vCPU+memory from the export: n1-standard-8 $0.379998/h.
_T4_GPU_HOUR = 0.35
_N1_HOUR = {"n1-standard-8": 0.379998, "n1-standard-16": 0.759996, "n1-standard-32": 1.519992}
_A3_ONLY_SPOT = "a3-highgpu-1g/2g/4g are Spot or flex-start only (no on-demand capacity)"


def _gcp(
    accelerator: str, gpus: int, machine_type: str, vcpus: int, memory_gb: int,
    gpu_memory_gb: int, hour_usd: float, regions: frozenset[str], gcp_type: str, *,
    bundled_local_ssd_gb: int = 0, on_demand_available: bool = True, note: str = "",
) -> MachineShape:
    return MachineShape(
        cloud="gcp", accelerator=accelerator, gpus_per_node=gpus, machine_type=machine_type,
        family=machine_type.split("-", 1)[0], vcpus=vcpus, memory_gb=memory_gb,
        gpu_memory_gb=gpu_memory_gb, on_demand_hour_usd=round(hour_usd, 6), regions=regions,
        gcp_accelerator_type=gcp_type, on_demand_available=on_demand_available,
        bundled_local_ssd_gb=bundled_local_ssd_gb, note=note,
    )


def _aws(
    accelerator: str, gpus: int, instance_type: str, vcpus: int, memory_gb: int,
    gpu_memory_gb: int, hour_usd: float, regions: frozenset[str], *, note: str = "",
) -> MachineShape:
    return MachineShape(
        cloud="aws", accelerator=accelerator, gpus_per_node=gpus, machine_type=instance_type,
        family=instance_type.split(".", 1)[0], vcpus=vcpus, memory_gb=memory_gb,
        gpu_memory_gb=gpu_memory_gb, on_demand_hour_usd=hour_usd, regions=regions,
        gcp_accelerator_type=None, note=note,
    )


# Prices: GCP us-central1, AWS us-east-1, on-demand Linux list price per node-hour, as
# documented (sources in the module docstring), PRICE_DATE 2026-07.
_SHAPES: tuple[MachineShape, ...] = (
    # ---- GCP ---------------------------------------------------------------------------
    # N1 + T4 (16 GB): 1, 2 or 4 GPUs per VM; 8 vCPUs per GPU.
    _gcp("t4", 1, "n1-standard-8", 8, 30, 16,
         _N1_HOUR["n1-standard-8"] + 1 * _T4_GPU_HOUR, _GCP_T4, "nvidia-tesla-t4"),
    _gcp("t4", 2, "n1-standard-16", 16, 60, 16,
         _N1_HOUR["n1-standard-16"] + 2 * _T4_GPU_HOUR, _GCP_T4, "nvidia-tesla-t4"),
    _gcp("t4", 4, "n1-standard-32", 32, 120, 16,
         _N1_HOUR["n1-standard-32"] + 4 * _T4_GPU_HOUR, _GCP_T4, "nvidia-tesla-t4"),
    # G2 + L4 (24 GB).
    _gcp("l4", 1, "g2-standard-8", 8, 32, 24, 0.853624, _GCP_G2, "nvidia-l4"),
    _gcp("l4", 2, "g2-standard-24", 24, 96, 24, 2.000833, _GCP_G2, "nvidia-l4"),
    _gcp("l4", 4, "g2-standard-48", 48, 192, 24, 4.001665, _GCP_G2, "nvidia-l4"),
    _gcp("l4", 8, "g2-standard-96", 96, 384, 24, 8.003330, _GCP_G2, "nvidia-l4"),
    # A2 Standard + A100 40 GB.
    _gcp("a100-40gb", 1, "a2-highgpu-1g", 12, 85, 40, 3.673385, _GCP_A2_HIGH,
         "nvidia-tesla-a100"),
    _gcp("a100-40gb", 2, "a2-highgpu-2g", 24, 170, 40, 7.346770, _GCP_A2_HIGH,
         "nvidia-tesla-a100"),
    _gcp("a100-40gb", 4, "a2-highgpu-4g", 48, 340, 40, 14.693540, _GCP_A2_HIGH,
         "nvidia-tesla-a100"),
    _gcp("a100-40gb", 8, "a2-highgpu-8g", 96, 680, 40, 29.387080, _GCP_A2_HIGH,
         "nvidia-tesla-a100"),
    _gcp("a100-40gb", 16, "a2-megagpu-16g", 96, 1360, 40, 55.739504, _GCP_A2_MEGA,
         "nvidia-tesla-a100"),
    # A2 Ultra + A100 80 GB; price includes 375 GB Local SSD per GPU.
    _gcp("a100-80gb", 1, "a2-ultragpu-1g", 12, 170, 80, 5.068798, _GCP_A2_ULTRA,
         "nvidia-a100-80gb", bundled_local_ssd_gb=375),
    _gcp("a100-80gb", 2, "a2-ultragpu-2g", 24, 340, 80, 10.137596, _GCP_A2_ULTRA,
         "nvidia-a100-80gb", bundled_local_ssd_gb=750),
    _gcp("a100-80gb", 4, "a2-ultragpu-4g", 48, 680, 80, 20.275192, _GCP_A2_ULTRA,
         "nvidia-a100-80gb", bundled_local_ssd_gb=1500),
    _gcp("a100-80gb", 8, "a2-ultragpu-8g", 96, 1360, 80, 40.550383, _GCP_A2_ULTRA,
         "nvidia-a100-80gb", bundled_local_ssd_gb=3000),
    # A3 High + H100 80 GB; price includes 750 GB Local SSD per GPU.
    _gcp("h100-80gb", 1, "a3-highgpu-1g", 26, 234, 80, 11.061250, _GCP_A3_HIGH,
         "nvidia-h100-80gb", bundled_local_ssd_gb=750, on_demand_available=False,
         note=_A3_ONLY_SPOT),
    _gcp("h100-80gb", 2, "a3-highgpu-2g", 52, 468, 80, 22.122500, _GCP_A3_HIGH,
         "nvidia-h100-80gb", bundled_local_ssd_gb=1500, on_demand_available=False,
         note=_A3_ONLY_SPOT),
    _gcp("h100-80gb", 4, "a3-highgpu-4g", 104, 936, 80, 44.245000, _GCP_A3_HIGH,
         "nvidia-h100-80gb", bundled_local_ssd_gb=3000, on_demand_available=False,
         note=_A3_ONLY_SPOT),
    _gcp("h100-80gb", 8, "a3-highgpu-8g", 208, 1872, 80, 88.490000, _GCP_A3_HIGH,
         "nvidia-h100-80gb", bundled_local_ssd_gb=6000),
    # A3 Ultra + H200 141 GB; 12 TB Local SSD. Price approx.: no SKU in the 2026-07 export;
    # third-party summaries quote ~$115/h in us-central1.
    _gcp("h200", 8, "a3-ultragpu-8g", 224, 2952, 141, 115.0, _GCP_A3_ULTRA,
         "nvidia-h200-141gb", bundled_local_ssd_gb=12000, note="price approx."),
    # ---- AWS ---------------------------------------------------------------------------
    # G4dn + T4 (16 GB).
    _aws("t4", 1, "g4dn.2xlarge", 8, 32, 16, 0.752, _AWS_G4DN),
    _aws("t4", 4, "g4dn.12xlarge", 48, 192, 16, 3.912, _AWS_G4DN),
    _aws("t4", 8, "g4dn.metal", 96, 384, 16, 7.824, _AWS_G4DN, note="bare metal"),
    # G5 + A10G (24 GB).
    _aws("a10g", 1, "g5.2xlarge", 8, 32, 24, 1.212, _AWS_G5_2XL),
    _aws("a10g", 4, "g5.12xlarge", 48, 192, 24, 5.672, _AWS_G5),
    _aws("a10g", 8, "g5.48xlarge", 192, 768, 24, 16.288, _AWS_G5),
    # G6 + L4 (24 GB).
    _aws("l4", 1, "g6.2xlarge", 8, 32, 24, 0.9776, _AWS_G6),
    _aws("l4", 4, "g6.12xlarge", 48, 192, 24, 4.6016, _AWS_G6),
    _aws("l4", 8, "g6.48xlarge", 192, 768, 24, 13.3504, _AWS_G6),
    # G6e + L40S (48 GB).
    _aws("l40s", 1, "g6e.2xlarge", 8, 64, 48, 2.24208, _AWS_G6E),
    _aws("l40s", 4, "g6e.12xlarge", 48, 384, 48, 10.49264, _AWS_G6E),
    _aws("l40s", 8, "g6e.48xlarge", 192, 1536, 48, 30.13118, _AWS_G6E),
    # P4d / P4de + A100 40 / 80 GB.
    _aws("a100-40gb", 8, "p4d.24xlarge", 96, 1152, 40, 21.957642, _AWS_P4D),
    _aws("a100-80gb", 8, "p4de.24xlarge", 96, 1152, 80, 27.44705, _AWS_P4DE),
    # P5 + H100 80 GB (p5.4xlarge: single GPU, since 2025).
    _aws("h100-80gb", 1, "p5.4xlarge", 16, 256, 80, 6.88, _AWS_P5_4XL),
    _aws("h100-80gb", 8, "p5.48xlarge", 192, 2048, 80, 55.04, _AWS_P5),
    # P5en + H200 141 GB. p5e.48xlarge (same GPUs) has no on-demand price in us-east-1 (sold
    # through Capacity Blocks), so it is not catalogued.
    _aws("h200", 8, "p5en.48xlarge", 192, 2048, 141, 63.296, _AWS_P5EN),
)

ALTERNATIVE_SHAPES: tuple[MachineShape, ...] = (
    # A3 Mega: H100 with 8 NICs (GPUDirect-TCPXO) for multi-node training. Price approx.: the
    # 2026-07 export has no us-central1 SKU; this is the us-east4 list price.
    _gcp("h100-80gb", 8, "a3-megagpu-8g", 208, 1872, 80, 92.937588, _GCP_A3_MEGA,
         "nvidia-h100-mega-80gb", bundled_local_ssd_gb=6000,
         note="alternative to a3-highgpu-8g; price approx. (us-east4 list)"),
)
"""Shapes with the same accelerator and GPU count as a default shape; never chosen by
:func:`shape`, offered for callers that let the user name a machine type."""

ACCELERATORS: tuple[str, ...] = (
    "t4", "l4", "a10g", "l40s", "a100-40gb", "a100-80gb", "h100-80gb", "h200",
)
"""Every cloud-neutral accelerator name known on any cloud, roughly by capability."""

_BY_KEY: dict[tuple[str, str, int], MachineShape] = {
    (s.cloud, s.accelerator, s.gpus_per_node): s for s in _SHAPES
}
if len(_BY_KEY) != len(_SHAPES):  # pragma: no cover - guards edits to the table above
    raise RuntimeError("catalog: two default shapes share (cloud, accelerator, gpus_per_node)")


# --------------------------------------------------------------------------------------------
# Lookups
# --------------------------------------------------------------------------------------------

def _check_cloud(cloud: str) -> None:
    if cloud not in CLOUDS:
        raise CatalogError(f"unknown cloud {cloud!r}; Trellis supports {_or_list(CLOUDS)}")


def _or_list(items: Sequence[object]) -> str:
    words = [str(i) for i in items]
    if len(words) <= 1:
        return "".join(words)
    return ", ".join(words[:-1]) + " or " + words[-1]


def _suggest(word: str, choices: tuple[str, ...]) -> str:
    close = difflib.get_close_matches(word, choices, n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def all_shapes(cloud: str | None = None) -> tuple[MachineShape, ...]:
    """Every default shape, optionally of one cloud."""
    if cloud is None:
        return _SHAPES
    _check_cloud(cloud)
    return tuple(s for s in _SHAPES if s.cloud == cloud)


@cache  # the tables are constant; validation asks per pool
def accelerators(cloud: str) -> tuple[str, ...]:
    """Accelerators offered on ``cloud``, sorted by name."""
    _check_cloud(cloud)
    return tuple(sorted({s.accelerator for s in _SHAPES if s.cloud == cloud}))


def _check_accelerator(cloud: str, accelerator: str) -> None:
    offered = accelerators(cloud)
    if accelerator in offered:
        return
    if accelerator in ACCELERATORS:
        elsewhere = [c for c in CLOUDS if accelerator in accelerators(c)]
        raise CatalogError(
            f"{accelerator} is not offered on {cloud} (only on {_or_list(elsewhere)}); "
            f"{cloud} offers {_or_list(list(offered))}"
        )
    raise CatalogError(
        f"unknown accelerator {accelerator!r}{_suggest(accelerator, ACCELERATORS)}; "
        f"{cloud} offers {_or_list(list(offered))}"
    )


@cache  # the tables are constant; validation asks per pool
def shapes(cloud: str, accelerator: str) -> tuple[MachineShape, ...]:
    """Default shapes of ``accelerator`` on ``cloud``, by GPUs per node (empty if none)."""
    _check_cloud(cloud)
    found = [s for s in _SHAPES if s.cloud == cloud and s.accelerator == accelerator]
    return tuple(sorted(found, key=lambda s: s.gpus_per_node))


def alternatives(cloud: str, accelerator: str) -> tuple[MachineShape, ...]:
    """Non-default shapes of ``accelerator`` on ``cloud`` (see :data:`ALTERNATIVE_SHAPES`)."""
    _check_cloud(cloud)
    return tuple(
        s for s in ALTERNATIVE_SHAPES if s.cloud == cloud and s.accelerator == accelerator
    )


@cache  # the tables are constant; validation asks per pool
def gpu_counts(cloud: str, accelerator: str) -> tuple[int, ...]:
    """GPUs-per-node counts offered for ``accelerator`` on ``cloud``, ascending."""
    return tuple(s.gpus_per_node for s in shapes(cloud, accelerator))


def default_gpus_per_node(cloud: str, accelerator: str) -> int:
    """The smallest count offered; used when org.yaml omits ``gpus_per_node``."""
    _check_accelerator(cloud, accelerator)
    return gpu_counts(cloud, accelerator)[0]


def find_shape(cloud: str, accelerator: str, gpus_per_node: int) -> MachineShape | None:
    """The shape for this combination, or None (also for an unknown cloud or accelerator)."""
    return _BY_KEY.get((cloud, accelerator, gpus_per_node))


def shape(cloud: str, accelerator: str, gpus_per_node: int) -> MachineShape:
    """The shape for this combination.

    Raises:
        CatalogError (a KeyError): with a message naming what is offered, e.g.
        ``h100-80gb on gcp comes in 1, 2, 4 or 8 GPUs per node (a3-highgpu-1g, ...); got 3``.
    """
    found = find_shape(cloud, accelerator, gpus_per_node)
    if found is not None:
        return found
    _check_cloud(cloud)
    _check_accelerator(cloud, accelerator)
    offered = shapes(cloud, accelerator)
    types = ", ".join(s.machine_type for s in offered)
    if len(offered) == 1:
        counts = f"only with {offered[0].gpus_per_node}"
    else:
        counts = "in " + _or_list([s.gpus_per_node for s in offered])
    raise CatalogError(
        f"{accelerator} on {cloud} comes {counts} GPUs per node ({types}); "
        f"got {gpus_per_node}"
    )


def find_machine_type(cloud: str, machine_type: str) -> MachineShape | None:
    """The shape (default or alternative) with this machine type, or None."""
    for s in _SHAPES + ALTERNATIVE_SHAPES:
        if s.cloud == cloud and s.machine_type == machine_type:
            return s
    return None


def regions(cloud: str) -> frozenset[str]:
    """Every public region of ``cloud`` where Trellis can run, GPU or not."""
    _check_cloud(cloud)
    return _ALL_REGIONS[cloud]


def accelerator_regions(cloud: str, accelerator: str) -> frozenset[str]:
    """Regions offering ``accelerator`` on ``cloud`` in at least one GPU count."""
    found: frozenset[str] = frozenset()
    for s in shapes(cloud, accelerator):
        found |= s.regions
    return found


# --------------------------------------------------------------------------------------------
# Prices
# --------------------------------------------------------------------------------------------

# Fraction OFF the on-demand price for Spot capacity. Estimates: spot prices move (GCP up to
# once a day, AWS continuously), so `trellis cost` shows them as estimates.
# GCP: ratio of Spot to on-demand SKUs in us-central1, 2026-07 export (g2 0.44, a2-highgpu 0.48,
# a2-ultragpu 0.46, a3-highgpu 0.43; n1 vCPU/memory 0.65 with the T4 spot GPU approx. -> 0.62).
# AWS: approx., from observed us-east-1/us-east-2 spot prices (g4dn ~0.65, g5 ~0.60); the
# newer g6/g6e/p families are estimates, and P-family Spot capacity is often unavailable.
_SPOT_DISCOUNT: dict[str, dict[str, float]] = {
    "gcp": {"n1": 0.62, "g2": 0.44, "a2": 0.46, "a3": 0.43},
    "aws": {
        "g4dn": 0.65, "g5": 0.60, "g6": 0.60, "g6e": 0.55,
        "p4d": 0.60, "p4de": 0.60, "p5": 0.50, "p5en": 0.50,
    },
}


def spot_discount(cloud: str, family: str) -> float:
    """Estimated fraction off the on-demand price for Spot VMs/instances of ``family``."""
    _check_cloud(cloud)
    try:
        return _SPOT_DISCOUNT[cloud][family]
    except KeyError:
        known = tuple(sorted(_SPOT_DISCOUNT[cloud]))
        raise CatalogError(
            f"no spot estimate for {cloud} family {family!r}; known: {', '.join(known)}"
        ) from None


def node_hour_usd(shape: MachineShape, *, spot: bool) -> float:
    """List price of one node-hour in the reference region, on-demand or estimated Spot."""
    if not spot:
        return shape.on_demand_hour_usd
    return shape.on_demand_hour_usd * (1.0 - spot_discount(shape.cloud, shape.family))


# --------------------------------------------------------------------------------------------
# Fixed platform costs
# --------------------------------------------------------------------------------------------

class SystemPool(TypedDict):
    """Shape of the small CPU system pool every cluster gets (see :data:`SYSTEM_POOL`)."""

    machine_type: str
    min_nodes: int  # sandbox tier, total for the cluster
    max_nodes: int  # sandbox tier
    production_min_nodes: int  # production tier: one node per zone
    production_max_nodes: int
    disk_size_gb: int
    disk_type: str


SYSTEM_POOL: dict[str, SystemPool] = {
    # Small CPU pool for cluster add-ons (DNS, autoscaler, GPU device plugin, agents). Node
    # counts are totals for the cluster (GKE total_min/total_max_node_count; EKS scaling_config).
    # Production runs one node per zone (3); a sandbox keeps one. e2-standard-4 and m7i.xlarge
    # are both 4 vCPU / 16 GiB so the clouds behave alike.
    "gcp": {
        "machine_type": "e2-standard-4", "min_nodes": 1, "max_nodes": 3,
        "production_min_nodes": 3, "production_max_nodes": 6, "disk_size_gb": 50,
        "disk_type": "pd-balanced",
    },
    "aws": {
        "machine_type": "m7i.xlarge", "min_nodes": 1, "max_nodes": 3,
        "production_min_nodes": 3, "production_max_nodes": 6, "disk_size_gb": 50,
        "disk_type": "gp3",
    },
}


def system_pool_bounds(cloud: str, *, production: bool) -> tuple[int, int]:
    """(min_nodes, max_nodes) of the system pool for the tier."""
    _check_cloud(cloud)
    pool = SYSTEM_POOL[cloud]
    if production:
        return pool["production_min_nodes"], pool["production_max_nodes"]
    return pool["min_nodes"], pool["max_nodes"]


@dataclass(frozen=True)
class PlatformCost:
    """One fixed monthly cost of an environment, whatever the teams run."""

    item: str
    monthly_usd: float  # rounded to cents
    note: str


def _cost(item: str, monthly_usd: float, note: str) -> PlatformCost:
    return PlatformCost(item, round(monthly_usd, 2), note)


# List prices, reference regions, PRICE_DATE.
# GCP: GKE cluster management fee $0.10/h (cloud.google.com/kubernetes-engine/pricing; the
# free-tier credit covers one zonal/Autopilot cluster per billing account, not regional ones);
# Cloud NAT gateway $0.0014 per VM-hour up to a $0.044/h cap at 32 VMs, plus $0.045/GB
# processed; external IPv4 $0.005/h; e2-standard-4 $0.134023/h; pd-balanced $0.10/GB-month.
_GKE_FEE_HOUR = 0.10
_GCP_NAT_VM_HOUR = 0.0014
_GCP_NAT_CAP_HOUR = 0.044
_GCP_IP_HOUR = 0.005
_GCP_SYSTEM_HOUR = 0.13402284
_GCP_PD_BALANCED_GB_MONTH = 0.10
# AWS: EKS standard support $0.10/h (aws.amazon.com/eks/pricing); NAT gateway $0.045/h plus
# $0.045/GB processed; public IPv4 $0.005/h; KMS customer managed key $1/month;
# m7i.xlarge $0.2016/h; gp3 $0.08/GB-month.
_EKS_FEE_HOUR = 0.10
_AWS_NAT_HOUR = 0.045
_AWS_IP_HOUR = 0.005
_AWS_KMS_KEY_MONTH = 1.0
_AWS_SYSTEM_HOUR = 0.2016
_AWS_GP3_GB_MONTH = 0.08


def gcp_nat_hour_usd(vms: int) -> float:
    """Cloud NAT gateway hourly charge for ``vms`` VMs using it (capped at 32 VMs)."""
    return min(max(vms, 0) * _GCP_NAT_VM_HOUR, _GCP_NAT_CAP_HOUR)


def platform_costs(cloud: str, *, production: bool) -> tuple[PlatformCost, ...]:
    """Fixed monthly platform costs of one environment, at idle (GPU pools at zero).

    Usage-based charges (NAT data processing, egress, storage, logging) are not included.
    """
    _check_cloud(cloud)
    nodes, _ = system_pool_bounds(cloud, production=production)
    pool = SYSTEM_POOL[cloud]
    disk_gb = pool["disk_size_gb"]
    h = HOURS_PER_MONTH
    if cloud == "gcp":
        return (
            _cost("GKE cluster management fee", _GKE_FEE_HOUR * h,
                         "regional Standard cluster, $0.10/h"),
            _cost("Cloud NAT gateway", gcp_nat_hour_usd(nodes) * h,
                         f"$0.0014 per VM-hour for the {nodes} system node(s); each GPU node "
                         "adds $0.0014/h up to $0.044/h; $0.045/GB processed not included"),
            _cost("Cloud NAT external IP", _GCP_IP_HOUR * h, "1 IPv4 address, $0.005/h"),
            _cost(f"System node pool ({nodes} x {pool['machine_type']})",
                         nodes * (_GCP_SYSTEM_HOUR * h + disk_gb * _GCP_PD_BALANCED_GB_MONTH),
                         f"on-demand, {disk_gb} GB {pool['disk_type']} boot disk each"),
        )
    nat_gateways = 3 if production else 1
    return (
        _cost("EKS cluster fee", _EKS_FEE_HOUR * h, "standard support, $0.10/h"),
        _cost(f"NAT gateways ({nat_gateways})", nat_gateways * _AWS_NAT_HOUR * h,
                     ("one per AZ" if production else "one, shared by all AZs")
                     + ", $0.045/h each; $0.045/GB processed not included"),
        _cost("Public IPv4 for NAT gateways", nat_gateways * _AWS_IP_HOUR * h,
                     "$0.005/h per address"),
        _cost("KMS key", _AWS_KMS_KEY_MONTH, "customer managed key for secrets, $1/month"),
        _cost(f"System node group ({nodes} x {pool['machine_type']})",
                     nodes * (_AWS_SYSTEM_HOUR * h + disk_gb * _AWS_GP3_GB_MONTH),
                     f"on-demand, {disk_gb} GB {pool['disk_type']} root volume each"),
    )
