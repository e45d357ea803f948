"""The any-language package: the schema Pulumi infers from our components, and the host itself.

`pulumi package add <repo>/components@<tag>` asks the plugin for its schema and generates an SDK
from it, so the schema *is* the TypeScript/Go API. These tests run the SDK's analyzer exactly as
`component_provider_host` does (no Pulumi CLI), and start `components/__main__.py` the way the
Python language host does, then ask it `GetPluginInfo` and `GetSchema` over gRPC.
The rules checked here are explained in docs/adr/0006-any-language-components.md.
"""

from __future__ import annotations

import importlib.metadata
import inspect
import json
import os
import queue
import re
import site
import subprocess
import sys
import threading
from collections.abc import Iterator
from concurrent import futures
from enum import Enum
from pathlib import Path
from typing import Any

import grpc
import pulumi
import pytest
import typing_extensions
from google.protobuf import empty_pb2
from pulumi.provider.experimental.component import ComponentProvider
from pulumi.runtime.proto import engine_pb2_grpc, provider_pb2, provider_pb2_grpc

import components
from components import __main__ as plugin

ADR = "docs/adr/0006-any-language-components.md"
PUBLIC = plugin.public_components()
COMPONENTS_DIR = Path(components.__file__).resolve().parent
GPU_POOLS = {
    # Python type string -> inputs a consumer must give (everything else has a default).
    "trellis:gcp:GpuNodePool": {
        "project", "location", "cluster", "team", "pool", "nodePoolName", "nodeIdentityName",
        "machineType", "acceleratorType", "gpusPerNode",
    },
    "trellis:aws:GpuNodeGroup": {
        "clusterName", "team", "pool", "nodeGroupName", "nodeRoleName", "launchTemplateName",
        "subnetIds", "instanceType", "accelerator", "gpusPerNode",
    },
}
HOST_START_TIMEOUT_S = 120  # imports pulumi_gcp and pulumi_aws: seconds on a slow CI runner
RPC_TIMEOUT_S = 30


def _schema_of(classes: list[type[pulumi.ComponentResource]]) -> dict[str, Any]:
    """The schema `component_provider_host` would serve for these classes."""
    provider = ComponentProvider(classes, plugin.PACKAGE, None, plugin.package_version())
    schema: dict[str, Any] = json.loads(provider.schema or "{}")
    return schema


def _token(cls: type) -> str:
    return f"{plugin.PACKAGE}:index:{cls.__name__}"


def _ref_type(schema: dict[str, Any], prop: dict[str, Any]) -> dict[str, Any] | None:
    ref = prop.get("$ref", "")
    prefix = f"#/types/{plugin.PACKAGE}:index:"
    if not ref.startswith(prefix):
        return None
    types: dict[str, Any] = schema.get("types", {})
    return types[ref.removeprefix("#/types/")]


# --- the list of public components -------------------------------------------------------------


def test_every_exported_component_is_hosted():
    from components import aws, gcp, k8s

    exported = {
        getattr(mod, n) for mod in (gcp, aws, k8s) for n in mod.__all__
        if inspect.isclass(getattr(mod, n))
        and issubclass(getattr(mod, n), pulumi.ComponentResource)
    }
    missing = sorted(f"{c.__module__}.{c.__qualname__}" for c in exported - set(PUBLIC.values()))
    assert not missing, f"exported but not hosted in components/__main__.py: {missing}"


@pytest.mark.parametrize("type_string", sorted(PUBLIC))
def test_hosted_under_the_type_string_it_registers(type_string):
    # The registered type string is the URN contract (ADR 0006): the key must say the truth.
    cls = PUBLIC[type_string]
    registered = re.findall(r"super\(\).__init__\(\s*[\"']([^\"']+)[\"']", inspect.getsource(cls))
    assert registered == [type_string], (
        f"{cls.__module__}.{cls.__qualname__} registers {registered}, hosted as {type_string}")


def test_component_and_type_names_are_unique_across_clouds():
    # The schema is flat (trellis:index:<ClassName>); a second `Bucket` is a DuplicateTypeError,
    # and a second `BucketArgs` silently gets the first one's descriptions (ADR 0006).
    seen: dict[str, list[str]] = {}
    for cls in PUBLIC.values():
        args = inspect.get_annotations(cls.__init__).get("args")
        for c in (cls, args):
            if isinstance(c, type):
                seen.setdefault(c.__name__, []).append(f"{c.__module__}.{c.__qualname__}")
    clashes = {name: where for name, where in seen.items() if len(set(where)) > 1}
    assert not clashes, (
        f"class names must be unique in the flat schema, prefix them Gcp/Aws and keep the old "
        f"name as an alias ({ADR}): {clashes}")


# --- each component on its own: expressible, documented, required as intended ------------------


def _analyze_one(type_string: str) -> tuple[str, dict[str, Any], dict[str, Any]]:
    cls = PUBLIC[type_string]
    if isinstance(inspect.get_annotations(cls.__init__).get("args"), str):
        pytest.fail(f"{type_string}: annotations of {cls.__module__} are strings; remove "
                    f"`from __future__ import annotations` from it and from every module defining "
                    f"a type its args or outputs use ({ADR})")
    try:
        schema = _schema_of([cls])
    except Exception as e:  # noqa: BLE001 (the analyzer raises bare Exception, TypeError...)
        pytest.fail(f"{type_string} ({cls.__module__}.{cls.__qualname__}) is not expressible in "
                    f"the inferred schema: {type(e).__name__}: {e} (see {ADR})")
    return _token(cls), schema, schema["resources"][_token(cls)]


@pytest.mark.parametrize("type_string", sorted(PUBLIC))
def test_component_is_in_the_schema(type_string):
    _, schema, resource = _analyze_one(type_string)
    assert resource["isComponent"] is True
    assert resource.get("description"), f"{type_string}: the class needs a docstring"
    assert schema["name"] == plugin.PACKAGE
    assert not schema.get("dependencies"), (
        f"{type_string} exports a provider resource as an output, which pins consumers to our "
        f"provider version; export names/IDs as pulumi.Output[str]: {schema['dependencies']}")


@pytest.mark.parametrize("type_string", sorted(PUBLIC))
def test_object_types_are_typeddicts(type_string):
    # The provider hands inputs over as dicts and reads complex outputs with `.get`: a
    # NamedTuple/dataclass/plain class analyses fine but fails in construct (ADR 0006).
    cls = PUBLIC[type_string]
    try:
        provider = ComponentProvider([cls], plugin.PACKAGE, None, plugin.package_version())
    except Exception:  # noqa: BLE001 (reported by test_component_is_in_the_schema)
        pytest.skip("not analysable; see test_component_is_in_the_schema")
    wrong = [f"{t.module}.{t.python_type.__qualname__}"
             for t in provider._type_defs.values()
             if not (typing_extensions.is_typeddict(t.python_type)
                     or (isinstance(t.python_type, type) and issubclass(t.python_type, Enum)))]
    assert not wrong, f"{type_string}: make these TypedDicts (or str Enums): {wrong}"


@pytest.mark.parametrize("type_string", sorted(PUBLIC))
def test_every_property_is_documented(type_string):
    _, schema, resource = _analyze_one(type_string)
    undocumented = [f"input {k}" for k, p in resource["inputProperties"].items()
                    if not p.get("description")]
    undocumented += [f"output {k}" for k, p in resource["properties"].items()
                     if not p.get("description")]
    for name, typ in schema.get("types", {}).items():
        undocumented += [f"{name}.{k}" for k, p in (typ.get("properties") or {}).items()
                         if not p.get("description")]
    assert not undocumented, (
        f"{type_string}: put a docstring under each of these keys/attributes: {undocumented}")


@pytest.mark.parametrize("type_string", sorted(PUBLIC))
def test_optional_exactly_when_a_default_is_documented(type_string):
    # House style: an optional key's docstring states its default behaviour ("Default: ...") or
    # that it is one of alternatives; a required key has no default. The schema's requiredInputs
    # is what every other language's SDK enforces, so the two must agree.
    _, _, resource = _analyze_one(type_string)
    required = set(resource["requiredInputs"])
    wrong = []
    for key, prop in resource["inputProperties"].items():
        doc = prop.get("description") or ""
        if key in required and re.search(r"\bDefault\b", doc):
            wrong.append(f"{key} is required but documents a default (make it NotRequired)")
        if key not in required and not re.search(r"\bdefault\b|\bone of\b", doc, re.IGNORECASE):
            wrong.append(f"{key} is optional but documents no default (total=False? use "
                         f"NotRequired[...] on optional keys only)")
    assert not wrong, f"{type_string}: {wrong}"


@pytest.mark.parametrize("type_string", sorted(GPU_POOLS))
def test_gpu_pool_inputs_and_scheduling_contract(type_string):
    _, schema, resource = _analyze_one(type_string)
    assert set(resource["requiredInputs"]) == GPU_POOLS[type_string], type_string
    for key in ("minNodes", "maxNodes", "spot", "diskSizeGb"):
        assert key in resource["inputProperties"], f"{type_string}: no input {key}"
        assert key not in resource["requiredInputs"], f"{type_string}: {key} must be optional"
    for key in ("gpusPerNode", "minNodes", "maxNodes"):
        # Plain: the SDK demands a known number, which the component validates (and an
        # Input[int] that arrives as an Output crashes construct; ADR 0006).
        assert resource["inputProperties"][key] == {
            **resource["inputProperties"][key], "type": "integer", "plain": True}, key

    assert "scheduling" in resource["required"], f"{type_string}: scheduling must be an output"
    contract = _ref_type(schema, resource["properties"]["scheduling"])
    assert contract is not None, f"{type_string}: scheduling must be a SchedulingContract type"
    props = contract["properties"]
    assert props["nodeSelector"]["type"] == "object"
    assert props["nodeSelector"]["additionalProperties"]["type"] == "string"
    assert props["tolerations"]["type"] == "array"
    toleration = _ref_type(schema, props["tolerations"]["items"])
    assert toleration is not None
    assert set(toleration["properties"]) == {"key", "operator", "value", "effect"}
    assert props["resourceName"]["type"] == "string"
    assert props["gpusPerNode"]["type"] == "integer"
    assert set(contract["required"]) == {"nodeSelector", "tolerations", "resourceName",
                                         "gpusPerNode"}


# --- the whole package, as the host serves it ------------------------------------------------


def test_whole_package_schema():
    schema = _schema_of(list(PUBLIC.values()))
    assert schema["name"] == "trellis"
    assert schema["version"] == plugin.package_version()
    assert set(schema["resources"]) == {_token(c) for c in PUBLIC.values()}


class _FakeEngine(engine_pb2_grpc.EngineServicer):
    """Stands in for the engine's gRPC endpoint; the host is given its address, like `pulumi`."""

    def Log(self, request, context):
        return empty_pb2.Empty()


@pytest.fixture(scope="module")
def host(tmp_path_factory) -> Iterator[provider_pb2_grpc.ResourceProviderStub]:
    engine = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    engine_pb2_grpc.add_EngineServicer_to_server(_FakeEngine(), engine)
    engine_port = engine.add_insecure_port("127.0.0.1:0")
    engine.start()
    # As pulumi-language-python's RunPlugin: `python <plugin dir> <engine address>`, run from
    # the consumer's directory, so nothing may depend on the working directory. The plugin's
    # venv has our dependencies but not trellis-ml itself: `-S` skips the .pth files (our
    # editable install among them) and only the site-packages directories stay importable.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["PYTHONPATH"] = os.pathsep.join(site.getsitepackages())
    proc = subprocess.Popen(
        [sys.executable, "-S", str(COMPONENTS_DIR), f"127.0.0.1:{engine_port}"],
        cwd=tmp_path_factory.mktemp("consumer"), env=env,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: lines.put(proc.stdout.readline() if proc.stdout else ""),
                     daemon=True).start()
    channel = None
    try:
        try:
            port = int(lines.get(timeout=HOST_START_TIMEOUT_S).strip())
        except (queue.Empty, ValueError):
            proc.kill()
            _, err = proc.communicate(timeout=10)
            pytest.fail(f"the host did not print its port (exit {proc.returncode}):\n{err[-4000:]}")
        channel = grpc.insecure_channel(f"127.0.0.1:{port}")
        grpc.channel_ready_future(channel).result(timeout=RPC_TIMEOUT_S)
        yield provider_pb2_grpc.ResourceProviderStub(channel)
    finally:
        if channel is not None:
            channel.close()
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        engine.stop(grace=None)


def test_host_answers_get_plugin_info(host):
    info = host.GetPluginInfo(empty_pb2.Empty(), timeout=RPC_TIMEOUT_S)
    assert info.version == plugin.package_version()


def test_host_answers_get_schema(host):
    response = host.GetSchema(provider_pb2.GetSchemaRequest(version=0), timeout=RPC_TIMEOUT_S)
    schema = json.loads(response.schema)
    assert schema["name"] == "trellis"
    assert schema["version"] == plugin.package_version()
    assert set(schema["resources"]) == {_token(c) for c in PUBLIC.values()}
    for type_string in GPU_POOLS:
        resource = schema["resources"][_token(PUBLIC[type_string])]
        assert resource["isComponent"] is True
        assert "scheduling" in resource["properties"], type_string


# --- what `pulumi package add` needs besides __main__.py ------------------------------------


def test_plugin_manifest_and_requirements():
    manifest = (COMPONENTS_DIR / "PulumiPlugin.yaml").read_text(encoding="utf-8")
    assert re.search(r"^runtime: python$", manifest, re.MULTILINE), manifest
    # The language host builds components/venv from components/requirements.txt (pip is the only
    # toolchain for Python component plugins): every distribution the hosted modules import
    # must be listed, or the plugin dies on import in the consumer's `pulumi package add`.
    requirements = COMPONENTS_DIR / "requirements.txt"
    assert requirements.is_file(), f"missing {requirements.relative_to(COMPONENTS_DIR.parent)}"
    listed = {_normalize(re.split(r"[<>=!~\[; ]", line.strip(), maxsplit=1)[0])
              for line in requirements.read_text(encoding="utf-8").splitlines()
              if line.strip() and not line.lstrip().startswith(("#", "-"))}
    # What the hosted modules import, in a fresh interpreter (this one has imported the world).
    probe = ("import json, sys; from components import __main__ as m; m.public_components(); "
             "print(json.dumps(sorted(n for n in sys.modules if '.' not in n)))")
    top_level = json.loads(subprocess.run(
        [sys.executable, "-c", probe], cwd=COMPONENTS_DIR.parent, check=True,
        capture_output=True, text=True, timeout=HOST_START_TIMEOUT_S).stdout)
    distributions = importlib.metadata.packages_distributions()
    imported = {_normalize(d) for name in top_level for d in distributions.get(name, [])}
    needed = {d for d in imported if d.startswith("pulumi")}  # the rest comes with pulumi
    assert needed <= listed, f"{requirements.name} lacks {sorted(needed - listed)}"


def _normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()
