"""waivers.yaml validation: every problem reported at once, each with file:line:col."""

from __future__ import annotations

import datetime as dt
import textwrap
from pathlib import Path

import pytest

from policies.registry import iter_ids
from stacks.org.errors import OrgError
from stacks.report.waivers import MAX_DAYS, default_path, load

TODAY = dt.date(2026, 11, 26)
RULES = set(iter_ids())


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "waivers.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def _errors(path: Path) -> list[str]:
    with pytest.raises(OrgError) as err:
        load(path, known_rules=RULES, today=TODAY)
    return [str(i) for i in err.value.issues]


def test_valid_file(tmp_path: Path) -> None:
    path = _write(tmp_path, """\
        version: 1
        waivers:
          - rule: TRL-GCS-006
            resource: recsys/models
            reason: EU copy approved by the DPO (ticket 123)
            owner: ml-platform@acme.com
            expires: 2027-01-15
        """)
    (w,) = load(path, known_rules=RULES, today=TODAY)
    assert (w.rule, w.resource, w.owner, w.expires) == (
        "TRL-GCS-006", "recsys/models", "ml-platform@acme.com", dt.date(2027, 1, 15))
    assert (w.file, w.line, w.column) == (str(path), 3, 5)
    assert default_path(tmp_path / "org.yaml") == path


def test_expired_waiver_is_an_error_with_its_position(tmp_path: Path) -> None:
    path = _write(tmp_path, """\
        waivers:
          - rule: TRL-GCS-006
            resource: recsys/models
            reason: old
            expires: 2026-11-25
        """)
    (msg,) = _errors(path)
    assert msg.startswith(f"{path}:5:14 waivers[0].expires:")
    assert "expired on 2026-11-25" in msg


def test_waiver_may_not_run_longer_than_the_limit(tmp_path: Path) -> None:
    too_late = TODAY + dt.timedelta(days=MAX_DAYS + 1)
    path = _write(tmp_path, f"""\
        waivers:
          - rule: TRL-GCS-006
            resource: recsys/models
            reason: forever
            expires: {too_late}
        """)
    (msg,) = _errors(path)
    assert f"more than {MAX_DAYS} days ahead" in msg
    assert (TODAY + dt.timedelta(days=MAX_DAYS)).isoformat() in msg


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    path = _write(tmp_path, """\
        version: 1
        waiver: []
        waivers:
          - rule: TRL-GCS-06
            resource: recsys/models
            expires: 2027-01-01
          - rule: TRL-GCS-001
            resource: x
            reason: "  "
            expires: next week
            ownr: me
          - just a string
        """)
    errors = _errors(path)
    text = "\n".join(errors)
    assert len(errors) == 7, text
    assert "unknown key 'waiver' (did you mean 'waivers'?)" in text
    assert "unknown rule 'TRL-GCS-06' (did you mean 'TRL-GCS-006'?)" in text
    assert "waivers[0]: `reason` is required" in text
    assert "waivers[1].reason: `reason` is required" in text
    assert "expires must be an ISO date" in text
    assert "unknown key 'ownr' (did you mean 'owner'?)" in text
    assert "waivers[2]: each waiver is a mapping" in text


def test_malformed_yaml_and_wrong_shapes(tmp_path: Path) -> None:
    (msg,) = _errors(_write(tmp_path, "waivers: [\n"))
    assert "YAML syntax error" in msg
    (msg,) = _errors(_write(tmp_path, "waivers: {rule: TRL-GCS-001}\n"))
    assert "waivers must be a list" in msg
    (msg,) = _errors(_write(tmp_path, "version: 2\nwaivers: []\n"))
    assert "version must be 1" in msg


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    (msg,) = _errors(tmp_path / "nope.yaml")
    assert "cannot read the waivers file" in msg
    assert default_path(tmp_path / "org.yaml") is None
