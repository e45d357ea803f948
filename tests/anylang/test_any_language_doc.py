"""docs/any-language.md: its TypeScript example uses only what the generated SDK will have."""

from __future__ import annotations

import json
import re
from typing import Any

from pulumi.provider.experimental.component import ComponentProvider

from components import __main__ as plugin
from tests.conftest import ROOT

DOC = ROOT / "docs" / "any-language.md"


def _typescript() -> str:
    blocks = re.findall(r"```typescript\n(.*?)```", DOC.read_text(encoding="utf-8"), re.DOTALL)
    assert len(blocks) == 1, f"{DOC.name}: expected one TypeScript example, found {len(blocks)}"
    return str(blocks[0])


def _schema_of(type_string: str) -> dict[str, Any]:
    cls = plugin.public_components()[type_string]
    provider = ComponentProvider([cls], plugin.PACKAGE, None, plugin.package_version())
    schema: dict[str, Any] = json.loads(provider.schema or "{}")
    return schema


def test_install_line_and_package_name():
    text = DOC.read_text(encoding="utf-8")
    assert f"/components@v{plugin.package_version()}" in text, (
        f"{DOC.name}: the `pulumi package add` example must use the current version")
    # No schema namespace: the Node.js package of `trellis` is then `@pulumi/trellis`.
    assert json.loads(ComponentProvider(
        [plugin.public_components()["trellis:k8s:TeamNamespace"]], plugin.PACKAGE, None,
        "0.0.0").schema or "{}").get("namespace") is None
    assert 'from "@pulumi/trellis"' in _typescript()


def test_gpu_pool_example_matches_the_schema():
    ts = _typescript()
    schema = _schema_of("trellis:gcp:GpuNodePool")
    cls = plugin.public_components()["trellis:gcp:GpuNodePool"]
    resource = schema["resources"][f"trellis:index:{cls.__name__}"]

    call = re.search(rf"new trellis\.{cls.__name__}\(\"[\w-]+\", \{{\n(.*?)\n\}}\);", ts,
                     re.DOTALL)
    assert call, f"{DOC.name}: no `new trellis.{cls.__name__}(...)` in the example"
    given = set(re.findall(r"^    (\w+):", call.group(1), re.MULTILINE))
    unknown = given - set(resource["inputProperties"])
    missing = set(resource["requiredInputs"]) - given
    assert not unknown, f"{DOC.name}: the SDK has no inputs {sorted(unknown)}"
    assert not missing, f"{DOC.name}: the example omits required inputs {sorted(missing)}"

    used = set(re.findall(r"\bpool\.(\w+)", ts))
    assert used <= set(resource["properties"]), (
        f"{DOC.name}: the SDK has no outputs {sorted(used - set(resource['properties']))}")
    ref = resource["properties"]["scheduling"]["$ref"].removeprefix("#/types/")
    contract = schema["types"][ref]["properties"]
    fields = set(re.findall(r"\bpool\.scheduling\.(\w+)", ts))
    assert fields <= set(contract), (
        f"{DOC.name}: the scheduling contract has no {sorted(fields - set(contract))}")
