"""The pack as the Pulumi CLI runs it: a separate process speaking the Analyzer gRPC protocol.

``pulumi preview --policy-pack policies`` launches ``python -m pulumi.policy <engine> <pack>``,
reads the port the pack prints, and calls GetAnalyzerInfo, Configure, Analyze and AnalyzeStack.
We do the same, with a tiny fake Engine service behind ``<engine>`` (the host accepts the
address for logging; pulumi_policy only dials it when the PULUMI_* runtime settings are set,
which we clear, so the fake proves the pack needs nothing more from the engine).
"""

from __future__ import annotations

import os
import select
import subprocess
import sys
from collections.abc import Iterator
from concurrent import futures
from pathlib import Path

import grpc
import pytest
from analyzer_path import new_servicer, struct
from google.protobuf import empty_pb2
from pulumi.runtime.proto import analyzer_pb2, analyzer_pb2_grpc, engine_pb2_grpc

from policies.registry import all_rules

ROOT = Path(__file__).resolve().parents[2]
UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"


class FakeEngine(engine_pb2_grpc.EngineServicer):
    def __init__(self) -> None:
        self.logs: list[str] = []

    def Log(self, request: object, context: object) -> empty_pb2.Empty:
        self.logs.append(str(request))
        return empty_pb2.Empty()


@pytest.fixture
def engine() -> Iterator[str]:
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    engine_pb2_grpc.add_EngineServicer_to_server(FakeEngine(), server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    yield f"127.0.0.1:{port}"
    server.stop(0)


def _start(engine: str, cwd: Path, program: str) -> tuple[subprocess.Popen[bytes], int]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PULUMI_")}
    env.pop("PYTHONPATH", None)  # the pack must find its own modules
    proc = subprocess.Popen([sys.executable, "-m", "pulumi.policy", engine, program], cwd=cwd,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None
    ready, _, _ = select.select([proc.stdout], [], [], 60)
    line = proc.stdout.readline() if ready else b""
    if not line.strip().isdigit():
        proc.kill()
        _, err = proc.communicate(timeout=10)
        raise AssertionError(f"the pack printed {line!r}, not a port; stderr:\n{err.decode()}")
    return proc, int(line)


def _diagnostics(response: object) -> list[tuple[str, str, int, str]]:
    return sorted((d.policyName, d.urn, d.enforcementLevel, d.message)
                  for d in response.diagnostics)  # type: ignore[attr-defined]


@pytest.mark.parametrize(("cwd", "program"), [(ROOT, "policies"), (ROOT / "policies", ".")],
                         ids=["from-repo-root", "from-pack-dir"])
def test_pack_serves_the_analyzer_protocol(engine: str, cwd: Path, program: str) -> None:
    proc, port = _start(engine, cwd, program)
    try:
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            stub = analyzer_pb2_grpc.AnalyzerStub(channel)
            info = stub.GetAnalyzerInfo(empty_pb2.Empty(), timeout=30)
            assert info.name == "trellis"
            assert {p.name for p in info.policies} == {r.id for r in all_rules()}
            gpu = next(p for p in info.policies if p.name == "TRL-GPU-002")
            assert gpu.enforcementLevel == analyzer_pb2.MANDATORY
            assert "maxGpusPerPool" in gpu.configSchema.properties

            # Like the CLI: every policy configured with its level, settings where given.
            configure = analyzer_pb2.ConfigureAnalyzerRequest()
            for p in info.policies:
                cfg = analyzer_pb2.PolicyConfig(enforcementLevel=p.enforcementLevel)
                if p.name == "TRL-GCS-004":
                    cfg.properties.update({"tier": "sandbox"})
                configure.policyConfig[p.name].CopyFrom(cfg)
            stub.Configure(configure, timeout=30)

            bucket_urn = "urn:pulumi:dev::trellis::gcp:storage/bucket:Bucket::models"
            request = analyzer_pb2.AnalyzeRequest(
                type="gcp:storage/bucket:Bucket", urn=bucket_urn, name="models",
                properties=struct({"name": "acme-dev-models", "location": "US-CENTRAL1",
                                    "uniformBucketLevelAccess": False,
                                    "publicAccessPrevention": UNKNOWN}),
                options=analyzer_pb2.AnalyzerResourceOptions(protect=True))
            analyzed = stub.Analyze(request, timeout=30)
            diags = analyzed.diagnostics
            by_policy = {d.policyName: d for d in diags}
            assert "TRL-GCS-001" in by_policy
            assert by_policy["TRL-GCS-001"].enforcementLevel == analyzer_pb2.MANDATORY
            assert "cannot be verified" in by_policy["TRL-GCS-002"].message  # unknown
            assert "TRL-GCS-004" in by_policy  # model bucket without versioning, even in sandbox
            assert "TRL-PUL-002" in by_policy  # created outside a Trellis component

            s3_urn = "urn:pulumi:dev::trellis::aws:s3/bucket:Bucket::data"
            stack = analyzer_pb2.AnalyzeStackRequest(resources=[analyzer_pb2.AnalyzerResource(
                type="aws:s3/bucket:Bucket", urn=s3_urn, name="data",
                properties=struct({"bucket": "acme-dev-data"}))])
            stack_analyzed = stub.AnalyzeStack(stack, timeout=30)
            s3 = [d for d in stack_analyzed.diagnostics if d.policyName == "TRL-S3-001"]
            assert s3 and s3[0].urn == s3_urn

            # The in-process servicer the equivalence tests drive (analyzer_path) answers
            # exactly as the pack the CLI starts.
            local = new_servicer()
            local.Configure(configure, None)
            assert _diagnostics(local.Analyze(request, None)) == _diagnostics(analyzed), \
                "tests/policies/analyzer_path.py's servicer differs from the served pack (Analyze)"
            assert (_diagnostics(local.AnalyzeStack(stack, None))
                    == _diagnostics(stack_analyzed)), \
                "tests/policies/analyzer_path.py's servicer differs from the served pack"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()
