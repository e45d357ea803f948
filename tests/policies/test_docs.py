"""docs/policies.md is generated from the registry and must be committed fresh."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from policies.docs import DOC_PATH, render
from policies.registry import all_rules

ROOT = Path(__file__).resolve().parents[2]


def test_policies_md_is_up_to_date() -> None:
    assert DOC_PATH.read_text(encoding="utf-8") == render(), (
        "docs/policies.md is stale; run `python -m policies.docs` and commit the result")


def test_every_rule_is_documented_with_its_anchor() -> None:
    text = render()
    for rule in all_rules():
        assert f"### {rule.id}\n" in text and f"(#{rule.id.lower()})" in text


def test_settings_module_prints_a_policy_pack_config() -> None:
    out = subprocess.run([sys.executable, "-m", "policies.settings", "--tier", "sandbox",
                          "--max-gpus-per-pool", "16"], cwd=ROOT, capture_output=True,
                         text=True, check=True).stdout
    config = json.loads(out)
    assert config["TRL-GPU-003"] == {"tier": "sandbox"}
    assert config["TRL-GPU-002"] == {"maxGpusPerPool": 16.0}
    assert "TRL-GCS-001" not in config  # reads no settings
