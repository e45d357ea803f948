"""``components/data/refresh.py``: SkyPilot catalogue files in, the catalogue's zone tables out.

Offline: small files in the SkyPilot v8 column layout (``tests/data/skypilot``), and files
rebuilt in that layout from the shipped tables, which must come back byte for byte.
"""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest

from components import catalog
from components.catalog import DATA_DIR, DATA_FILES
from components.data import refresh

FIXTURES = Path(__file__).resolve().parents[1] / "data" / "skypilot"
DATA = Path(DATA_DIR)
GCP_COMMIT = "006059e0f18acb1341e22a27751e9f80df6ba92f"
AWS_COMMIT = "00148f2af3672e2229b4f7bf8157d5a3f36e3c35"


def rows(path: Path) -> list[list[str]]:
    with open(path, encoding="utf-8", newline="") as handle:
        return list(csv.reader(handle))[1:]


@pytest.fixture
def data_copy(tmp_path: Path) -> Path:
    out = tmp_path / "data"
    out.mkdir()
    for name in DATA_FILES:
        shutil.copy(DATA / name, out / name)
    return out


# ---- conversion of the fixture files -------------------------------------------------------

def test_gcp_conversion_keeps_derives_and_leaves_out_as_documented() -> None:
    # Kept: GPU machine types (accelerator derived from the name: g2-standard-24 = L4 x2) and
    # the listed GPU rows; left out: a3-edgegpu, -nolssd, n1-highmem-8, P100, TPU; the verbatim
    # duplicate A100-80GB row once; counts as integers; sorted.
    assert refresh.gcp_zone_rows(str(FIXTURES / "gcp_vms.csv")) == rows(
        FIXTURES / "gcp_expected.csv")


def test_aws_conversion_keeps_families_and_trims_spot_zeros() -> None:
    # Kept: g4dn (Local Zone too), g6, p5e (no prices), p6-*; left out: a1, g5g (Arm), p3.
    assert refresh.aws_zone_rows(str(FIXTURES / "aws_vms.csv")) == rows(
        FIXTURES / "aws_expected.csv")


@pytest.mark.parametrize("cloud", ["gcp", "aws"])
def test_converted_rows_are_rows_of_the_shipped_tables(cloud: str) -> None:
    # The fixtures carry figures of the shipped tables: what the tool makes of them is exactly
    # what the hand copy holds.
    converted = (refresh.gcp_zone_rows(str(FIXTURES / "gcp_vms.csv")) if cloud == "gcp" else
                 refresh.aws_zone_rows(str(FIXTURES / "aws_vms.csv")))
    shipped = {tuple(r) for r in rows(DATA / catalog.ZONE_FILES[cloud])}
    missing = [r for r in converted if tuple(r) not in shipped]
    assert not missing, f"{cloud}: converted rows not in the shipped table: {missing}"


def test_written_table_has_the_shipped_layout(tmp_path: Path) -> None:
    out = tmp_path / "aws.csv"
    refresh.write_table(str(out), refresh.ZONE_COLUMNS,
                        refresh.aws_zone_rows(str(FIXTURES / "aws_vms.csv")))
    assert out.read_bytes() == (FIXTURES / "aws_expected.csv").read_bytes()
    assert (DATA / "aws_gpu_zones.csv").read_bytes().startswith(out.read_bytes().split(b"\n")[0])


# ---- round trip through the source layout --------------------------------------------------

def _as_skypilot(tmp_path: Path) -> tuple[Path, Path]:
    """The shipped tables rewritten in SkyPilot's v8 layout, shuffled, with rows to drop."""
    gcp = tmp_path / "gcp-vms.csv"
    with open(gcp, "w", encoding="utf-8", newline="") as handle:
        w = csv.writer(handle, lineterminator="\n")
        w.writerow(["InstanceType", "vCPUs", "MemoryGiB", "AcceleratorName", "AcceleratorCount",
                    "GpuInfo", "Region", "AvailabilityZone", "Price", "SpotPrice"])
        w.writerow(["n2-standard-8", "8.0", "32.0", "", "", "", "us-central1", "us-central1-a",
                    "0.38", "0.09"])
        for itype, name, count, region, zone, price, spot in reversed(
                rows(DATA / "gcp_gpu_zones.csv")):
            if itype:
                w.writerow([itype, "12.0", "85.0", "", "", "", region, zone, price, spot])
            else:
                w.writerow(["", "", "", name, f"{count}.0", name, region, zone, price, spot])
        w.writerow(["", "", "", "tpu-v6e-1", "1", "tpu-v6e-1", "us-east1", "us-east1-d", "2.7",
                    "0.54421"])
    aws = tmp_path / "aws-vms.csv"
    with open(aws, "w", encoding="utf-8", newline="") as handle:
        w = csv.writer(handle, lineterminator="\n")
        w.writerow(["InstanceType", "AcceleratorName", "AcceleratorCount", "vCPUs", "MemoryGiB",
                    "GpuInfo", "Price", "SpotPrice", "Region", "AvailabilityZone", "Arch"])
        w.writerow(["m7i.xlarge", "", "", "4.0", "16.0", "", "0.2016", "0.080100", "us-east-1",
                    "use1-az1", "x86_64"])
        for itype, name, count, region, zone, price, spot in reversed(
                rows(DATA / "aws_gpu_zones.csv")):
            info = f"{{'Gpus': [{{'Name': '{name}', 'Count': {count}}}]}}"
            w.writerow([itype, name, f"{count}.0", "8.0", "32.0", info, price,
                        f"{float(spot):.6f}" if spot else "", region, zone, "x86_64"])
    return gcp, aws


def test_refresh_round_trip_reproduces_every_shipped_file(tmp_path: Path,
                                                          data_copy: Path) -> None:
    gcp, aws = _as_skypilot(tmp_path)
    refresh.refresh(str(data_copy), gcp=str(gcp), aws=str(aws), read_date="2026-12-03",
                    commits={"gcp": GCP_COMMIT, "aws": AWS_COMMIT})
    for name in DATA_FILES:
        assert (data_copy / name).read_bytes() == (DATA / name).read_bytes(), (
            f"{name} changed in a refresh from the same data")


def test_refresh_records_the_new_commit_and_date(tmp_path: Path, data_copy: Path) -> None:
    gcp, _ = _as_skypilot(tmp_path)
    refresh.refresh(str(data_copy), gcp=str(gcp), read_date="2027-01-15",
                    commits={"gcp": "abcdef1234567"})
    sources = {r[0]: r for r in rows(data_copy / "sources.csv")}
    assert sources["skypilot-gcp-vms"][2].endswith("catalogs/v8/gcp/vms.csv @ abcdef1234567")
    assert sources["skypilot-gcp-vms"][3] == "2027-01-15"
    assert sources["skypilot-aws-vms"] == {r[0]: r for r in rows(DATA / "sources.csv")}[
        "skypilot-aws-vms"]
    spot = {(r[0], r[1]): r for r in rows(data_copy / "spot_discounts.csv")}
    assert spot[("gcp", "g2")][7] == "2027-01-15", "derived discounts carry the snapshot date"


def test_a_refresh_that_loses_a_shape_writes_nothing(data_copy: Path) -> None:
    before = {name: (data_copy / name).read_bytes() for name in DATA_FILES}
    # The fixture has no N1/T4-1, no g2-standard-8, ...: shapes would lose every zone.
    with pytest.raises(catalog.CatalogDataError, match=r"has no rows in gcp_gpu_zones\.csv"):
        refresh.refresh(str(data_copy), gcp=str(FIXTURES / "gcp_vms.csv"),
                        commits={"gcp": GCP_COMMIT}, read_date="2027-01-15")
    after = {name: (data_copy / name).read_bytes() for name in DATA_FILES}
    assert after == before, "a failed refresh changed the data directory"


# ---- errors and the command line -----------------------------------------------------------

def test_wrong_layout_is_a_located_error(tmp_path: Path) -> None:
    bad = tmp_path / "vms.csv"
    bad.write_text("InstanceType,Price\nx,1\n", encoding="utf-8")
    with pytest.raises(refresh.RefreshError, match=r"vms\.csv:1: not a SkyPilot v8 vms\.csv: "
                                                   r"missing columns AcceleratorName"):
        refresh.aws_zone_rows(str(bad))


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("g2-standard-64,64.0,256.0,,,,us-central1,us-central1-a,3.0,1.0",
         r":3: g2-standard-64: L4 count unknown; add it to G2_GPUS"),
        (",,,T4,1.5,T4,us-central1,us-central1-a,0.35,0.1",
         r":3: AcceleratorCount '1.5' is not a GPU count"),
        (",,,T4,1.0,T4,us-central1,us-central1-a,0.36,0.1",
         r":3: two rows for \('', 'T4', 1, 'us-central1-a'\) with different figures"),
    ],
)
def test_inputs_the_tool_refuses(tmp_path: Path, line: str, message: str) -> None:
    src = tmp_path / "vms.csv"
    src.write_text("InstanceType,vCPUs,MemoryGiB,AcceleratorName,AcceleratorCount,GpuInfo,"
                   "Region,AvailabilityZone,Price,SpotPrice\n"
                   ",,,T4,1.0,T4,us-central1,us-central1-a,0.35,0.1\n" + line + "\n",
                   encoding="utf-8")
    with pytest.raises(refresh.RefreshError, match=message):
        refresh.gcp_zone_rows(str(src))


def test_cli_requires_the_commit_and_reports_errors(data_copy: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    code = refresh.main(["--gcp", str(FIXTURES / "gcp_vms.csv"), "--out", str(data_copy)])
    assert code == 1
    assert "--gcp-commit: give the skypilot-catalog commit" in capsys.readouterr().err
    with pytest.raises(SystemExit) as usage:
        refresh.main(["--out", str(data_copy)])
    assert usage.value.code == 2


def test_cli_spot_only_recomputes_the_same_discounts(data_copy: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    assert refresh.main(["--spot-only", "--out", str(data_copy)]) == 0
    out = capsys.readouterr().out
    assert "gcp g2: spot discount 0.60 (snapshot-median" in out
    assert "gcp a3: spot discount 0.60 (estimate)" in out
    assert (data_copy / "spot_discounts.csv").read_bytes() == (
        DATA / "spot_discounts.csv").read_bytes()


def test_a_family_without_basis_or_estimate_is_refused(data_copy: Path) -> None:
    spot = (data_copy / "spot_discounts.csv").read_text(encoding="utf-8").splitlines()
    (data_copy / "spot_discounts.csv").write_text(
        "\n".join(line for line in spot if not line.startswith("gcp,a3,")) + "\n",
        encoding="utf-8")
    with pytest.raises(refresh.RefreshError, match=r"gcp family a3: the snapshot cannot price "
                                                   r"it .*add one \(method=estimate"):
        refresh.refresh(str(data_copy))
