"""Benchmarks of ``trellis validate``, ``plan`` and ``check`` against their floors (issues 9, 24).

    python benchmarks/run.py [--sizes 10,50,200,1000] [--clouds gcp,aws] [--runs 3] [--json F]
    python benchmarks/run.py --smoke      # smallest size once, both clouds; CI runs this

For each cloud and size, an org file of that many teams (``benchmarks/orgs.py``, validated
first) is measured in fresh interpreters, each measurement ``--runs`` times (the sub-second
ones, python, model import and validate, five times per run), and the median is reported with
its ratio to a floor measured in the same run:

- validate: ``trellis validate`` against ``python -c 'import stacks.org.model'`` (python + pydantic
  + our model import); also checks that no Pulumi or provider SDK module is imported.
- plan: ``trellis plan --format json --jobs 1`` against two floors (``benchmarks/floor.py``): the
  honest one, the plan's real structure (components, providers, parents, dependencies, inputs as
  Outputs of their dependencies) under plain ``pulumi.runtime.set_mocks`` with the collector
  off, and the sdk one (the floor before issue 24), the cloud resources alone through the SDK
  classes with Python's default collector (``--bare``: also ``pulumi.CustomResource`` alone).
  The plan's "build" time is the command without printing its JSON (``TRELLIS_TIMINGS``
  phases). Fixed costs and per-resource costs are told apart by a least-squares line over the
  sizes (intercept, slope); growth exponents are fitted on the marginal time (fixed cost
  removed).
- sharded plan: ``trellis plan --jobs N`` (default: the CPUs) against ``--jobs 1``; its output
  must be byte-identical.
- check: ``trellis check --jobs 1`` against building the plan of the same org, and ``trellis
  check --plan`` from a plan saved by ``trellis plan --out``.
- memory: peak RSS of each process (of the largest process of the tree with ``--jobs``); the
  growth exponent of the marginal memory between consecutive sizes.
- small fixed costs: loading each cloud's GPU catalogue data, refusing a deeply nested YAML
  document with each composer.
- critical path: the longest chain of the plan (``stacks.report.tree.critical_path``).

The repetitions are interleaved (plan, floors, check, ... then again), so load from other
processes hits the command and its floor alike. Wall time is what people wait for; CPU time
(user + sys of the child and its workers) is shown beside it because it is steadier on a shared
machine. Exit status 1 when a command fails or prints something unexpected; targets missed are
reported, not failed (benchmarks are not timed tests).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

from benchmarks import orgs  # noqa: E402

ENV = "prod"  # production: every tier default that adds resources (flow logs, protection)
TIMEOUT_S = 1800
BANNED_ON_VALIDATE = ("pulumi", "pulumi_gcp", "pulumi_aws", "pulumi_kubernetes", "grpc")
#: Samples of the sub-second commands (python, model import, validate) per run.
QUICK_REPEATS = 5
TARGETS = {"validate": 1.5, "plan": 0.7, "check": 0.25, "rss_mib": 1024.0, "exponent": 1.1,
           "jobs": 0.6, "check_saved_s": 1.5, "rss_mib_jobs": 3072.0}


#: Children may write bytecode: users run trellis with compiled modules (pip compiles what it
#: installs; an editable install compiles on first use), so a benchmark must not recompile our
#: sources in every process because the shell set PYTHONDONTWRITEBYTECODE.
CHILD_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


class BenchError(Exception):
    """A command failed or printed something unexpected."""


@dataclass
class Sample:
    wall: float
    cpu: float
    rss_mib: float
    stdout: str = ""


@dataclass
class Series:
    samples: list[Sample] = field(default_factory=list)

    def add(self, s: Sample) -> Sample:
        self.samples.append(s)
        return s

    @property
    def wall(self) -> float:
        return statistics.median(s.wall for s in self.samples)

    @property
    def cpu(self) -> float:
        return statistics.median(s.cpu for s in self.samples)

    @property
    def rss_mib(self) -> float:
        return max(s.rss_mib for s in self.samples)


def trellis() -> list[str]:
    script = Path(sys.executable).with_name("trellis")
    return [str(script)] if script.exists() else [sys.executable, "-m", "stacks.cli.app"]


#: Runs a command and writes its wall time and ``wait4`` usage to a file. Measured commands start
#: from this small process, not from the benchmark: Linux keeps a process's peak RSS across
#: ``exec``, so a child forked from a benchmark holding a large plan would inherit its size.
SPAWN = r"""
import json, os, subprocess, sys, time
start = time.perf_counter()
proc = subprocess.Popen(sys.argv[2:])
_, status, usage = os.wait4(proc.pid, 0)
wall = time.perf_counter() - start
with open(sys.argv[1], "w") as fh:
    json.dump({"wall": wall, "cpu": usage.ru_utime + usage.ru_stime,
               "maxrss_kib": usage.ru_maxrss}, fh)
code = os.waitstatus_to_exitcode(status)
sys.exit(code if code >= 0 else 128 - code)
"""


def measure(cmd: list[str], *, ok: tuple[int, ...] = (0,), cwd: Path = ROOT,
            timings: Path | None = None) -> Sample:
    """Run ``cmd`` in a fresh process; wall time, CPU time and peak RSS of that process.

    ``os.wait4`` reports the child's usage including its waited-for children (Linux): CPU time
    is the whole tree's, and peak RSS that of the largest process in it (the parent or one
    ``--jobs`` worker), not their sum. The command is started by a small spawner process
    (:data:`SPAWN`), so its peak RSS is its own. ``timings``: the child's ``TRELLIS_TIMINGS``
    file."""
    env = dict(CHILD_ENV, TRELLIS_TIMINGS=str(timings)) if timings else CHILD_ENV
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err, \
            tempfile.TemporaryDirectory() as tmp:
        usage_file = Path(tmp) / "usage.json"
        start = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-c", SPAWN, str(usage_file), *cmd],
                                stdout=out, stderr=err, cwd=cwd, env=env,
                                start_new_session=True)
        try:
            _, status, _ = _wait4(proc, start)
        except TimeoutError:
            os.killpg(proc.pid, 9)
            proc.wait()
            raise BenchError(f"{' '.join(cmd)}: no result after {TIMEOUT_S} s") from None
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(), err.read().decode()
        if proc.returncode not in ok or not usage_file.exists():
            raise BenchError(f"{' '.join(cmd)} exited {proc.returncode}:\n{stderr[-2000:]}")
        usage = json.loads(usage_file.read_text())
    return Sample(wall=usage["wall"], cpu=usage["cpu"], rss_mib=usage["maxrss_kib"] / 1024,
                  stdout=stdout)


def _wait4(proc: subprocess.Popen[bytes], start: float) -> tuple[int, int, Any]:
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            return pid, status, usage
        if time.perf_counter() - start > TIMEOUT_S:
            raise TimeoutError
        time.sleep(0.005)


def machine() -> dict[str, Any]:
    from importlib.metadata import version

    mem = ""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    return {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
            "cpus": os.cpu_count(), "memory": mem, "python": platform.python_version(),
            "platform": platform.platform(), "cpu": _cpu_model(),
            "load_avg_1m": round(os.getloadavg()[0], 2),
            "packages": {p: version(p) for p in ("pulumi", "pulumi_gcp", "pulumi_aws",
                                                 "pulumi_kubernetes", "pydantic")}}


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def exponent(xs: list[float], ys: list[float]) -> float | None:
    """Least-squares slope of log y over log x (1 = linear growth)."""
    pts = [(math.log(x), math.log(y)) for x, y in zip(xs, ys, strict=True) if x > 0 and y > 0]
    if len(pts) < 2:
        return None
    mx = statistics.fmean(p[0] for p in pts)
    my = statistics.fmean(p[1] for p in pts)
    den = sum((p[0] - mx) ** 2 for p in pts)
    return sum((p[0] - mx) * (p[1] - my) for p in pts) / den if den else None


def line_fit(xs: list[float], ys: list[float]) -> tuple[float, float] | None:
    """Least-squares ``(intercept, slope)`` of y over x: the fixed cost and the cost per
    resource."""
    if len(xs) < 2:
        return None
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    den = sum((x - mx) ** 2 for x in xs)
    if not den:
        return None
    per = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / den
    return my - per * mx, per


def mark(ok: bool | None) -> str:
    return "" if ok is None else ("ok" if ok else "MISSED")


def table(headers: list[str], rows: list[list[Any]]) -> str:
    cells = [[str(c) for c in r] for r in [headers, *rows]]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = ["  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in
                       enumerate(zip(r, widths, strict=True))) for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def critical_path(plan_json: dict[str, Any]) -> list[str]:
    from stacks.plan.engine import PlannedResource
    from stacks.report.tree import critical_path as longest

    fields = PlannedResource.__dataclass_fields__
    resources = [PlannedResource(**{k: r.get(k) for k in fields}) for r in plan_json["resources"]]
    by_urn = {r.urn: r for r in resources}
    return [by_urn[u].name for u in longest(resources)
            if by_urn[u].custom and not by_urn[u].type.startswith("pulumi:")]


def _phases(path: Path) -> dict[str, float]:
    """``TRELLIS_TIMINGS`` lines of one command: wall seconds per phase (summed)."""
    out: dict[str, float] = {}
    if path.exists():
        for line in path.read_text().splitlines():
            item = json.loads(line)
            out[item["phase"]] = out.get(item["phase"], 0.0) + item["wall_s"]
        path.unlink()
    return out


def run(sizes: list[int], clouds: list[str], runs: int, *, bare: bool, work: Path,
        log: Any = print, quick: int = QUICK_REPEATS, jobs: int | None = None) -> dict[str, Any]:
    py = [sys.executable]
    cli = trellis()
    jobs = jobs or len(os.sched_getaffinity(0))
    result: dict[str, Any] = {"machine": machine(), "runs": runs, "environment": ENV,
                              "jobs": jobs,
                              "command": " ".join(["python benchmarks/run.py",
                                                   f"--sizes {','.join(map(str, sizes))}",
                                                   f"--clouds {','.join(clouds)}",
                                                   f"--runs {runs}"]),
                              "cases": []}
    log(f"machine: {json.dumps(result['machine'])}")
    subprocess.run([*py, "-m", "compileall", "-q", "stacks", "components", "policies",
                    "benchmarks"], cwd=ROOT, env=CHILD_ENV, check=True)
    result["micro"] = micro(quick)
    log(f"micro: {json.dumps(result['micro'])}")
    timings = work / "timings.jsonl"

    for cloud in clouds:
        for size in sizes:
            org = orgs.write(cloud, size, work)  # validated before anything is timed
            log(f"{cloud} {size} teams: {org}")
            case: dict[str, Any] = {"cloud": cloud, "teams": size}
            series = {k: Series() for k in ("python", "model", "validate", "plan", "floor",
                                            "floor_sdk", "bare", "check", "plan_jobs",
                                            "check_saved")}
            phases: dict[str, list[dict[str, float]]] = {"plan": [], "check": []}
            plan_file = work / f"{cloud}-{size}.plan.json"
            saved_file = work / f"{cloud}-{size}.saved.json"
            floor_cmd = [*py, str(HERE / "floor.py"), str(plan_file)]
            # --jobs 1: one process, the plan as it was made before sharding
            plan_cmd = [*cli, "plan", str(org), "--env", ENV, "--format", "json", "--jobs", "1"]
            check_cmd = [*cli, "check", str(org), "--env", ENV, "--format", "json", "--jobs", "1"]
            jobs_cmd = [*cli, "plan", str(org), "--env", ENV, "--format", "json",
                        "--jobs", str(jobs)]
            saved_cmd = [*cli, "check", str(org), "--env", ENV, "--format", "json",
                         "--plan", str(saved_file)]
            subprocess.run([*cli, "plan", str(org), "--env", ENV, "--out", str(saved_file),
                            "--jobs", str(jobs)], cwd=ROOT, env=CHILD_ENV, check=True,
                           stdout=subprocess.DEVNULL)
            for i in range(runs):
                for _ in range(quick):  # sub-second: noise is a large share of them
                    series["python"].add(measure([*py, "-c", "pass"]))
                    series["model"].add(measure([*py, "-c", "import stacks.org.model"]))
                    series["validate"].add(measure([*cli, "validate", str(org)]))
                s = series["plan"].add(measure(plan_cmd, timings=timings))
                phases["plan"].append(_phases(timings))
                if i == 0:
                    plan_text = s.stdout
                    plan_file.write_text(plan_text)
                    plan_json = json.loads(plan_text)
                s.stdout = ""
                for key, mode in (("floor", "honest"), ("floor_sdk", "sdk"), ("bare", "bare")):
                    if key == "bare" and not bare:
                        continue
                    f = series[key].add(measure([*floor_cmd, "--mode", mode]))
                    f.stdout = json.dumps(_floor_info(f.stdout))
                c = series["check"].add(measure(check_cmd, ok=(0, 1), timings=timings))
                phases["check"].append(_phases(timings))
                if not c.stdout.startswith("{") or "summary" not in json.loads(c.stdout):
                    raise BenchError("trellis check --format json printed no summary")
                c.stdout = ""
                j = series["plan_jobs"].add(measure(jobs_cmd))
                if j.stdout != plan_text:
                    raise BenchError(f"trellis plan --jobs {jobs} printed another plan than "
                                     "--jobs 1")
                j.stdout = ""
                c = series["check_saved"].add(measure(saved_cmd, ok=(0, 1)))
                if not c.stdout.startswith("{") or "summary" not in json.loads(c.stdout):
                    raise BenchError("trellis check --plan --format json printed no summary "
                                     "(a stale plan? do not edit the program while it runs)")
                c.stdout = ""
            case["imports_on_validate"] = _imports_on_validate(org)
            info = json.loads(series["floor"].samples[0].stdout)
            n = info["resources"]
            total = len(plan_json["resources"])
            case.update(resources=n, registrations=total, floor_via_sdk=info["via_sdk"],
                        floor_sdk_via_sdk=json.loads(
                            series["floor_sdk"].samples[0].stdout)["via_sdk"],
                        critical_path=critical_path(plan_json))
            for key, ser in series.items():
                if not ser.samples:
                    continue
                adj = 0.0
                if key in ("floor", "floor_sdk", "bare"):  # reading our JSON is not the floor
                    adj = statistics.median(json.loads(s.stdout)["read_s"] for s in ser.samples)
                case[key] = {"wall_s": round(ser.wall - adj, 3), "cpu_s": round(ser.cpu - adj, 3),
                             "rss_mib": round(ser.rss_mib, 1)}
                if key.startswith("floor") or key == "bare":
                    case[key]["register_s"] = statistics.median(
                        json.loads(s.stdout)["register_s"] for s in ser.samples)
            for key, found in phases.items():
                names = {p for ph in found for p in ph}
                case[key]["phases"] = {p: round(statistics.median(ph.get(p, 0.0) for ph in found),
                                                3) for p in sorted(names)}
            # building the plan: the plan command without printing its JSON
            case["plan"]["build_s"] = round(case["plan"]["wall_s"]
                                            - case["plan"]["phases"].get("output", 0.0), 3)
            log(f"  plan {case['plan']['wall_s']} s (jobs {jobs}: "
                f"{case['plan_jobs']['wall_s']} s), honest floor {case['floor']['wall_s']} s, "
                f"sdk floor {case['floor_sdk']['wall_s']} s, check {case['check']['wall_s']} s, "
                f"check --plan {case['check_saved']['wall_s']} s, {n} cloud resources")
            result["cases"].append(case)
    return result


MICRO = r"""
import json, os, sys, time
what = sys.argv[1]
if what.startswith("catalog:"):
    from components import catalog
    start = time.perf_counter()
    catalog.load_tables(what.split(":")[1])
    print(json.dumps({"s": time.perf_counter() - start}))
else:
    from stacks.org import yaml_source
    from stacks.org.errors import OrgError
    levels = int(what.split(":")[1])
    text = "a: " + "[" * levels + "]" * levels + "\n"
    start = time.perf_counter()
    try:
        yaml_source.parse(text, "org.yaml")
    except OrgError as exc:
        assert "nested more than" in str(exc), exc
    else:
        raise SystemExit("a document nested this deep was accepted")
    print(json.dumps({"s": time.perf_counter() - start}))
"""


def micro(repeats: int) -> dict[str, float]:
    """Small fixed costs, each the median of ``repeats`` fresh interpreters: loading one
    cloud's GPU catalogue data on first use, and refusing a deeply nested YAML document with
    each composer (libyaml's, and the pure-Python one with ``TRELLIS_YAML=pure``)."""
    cases = {f"catalog_{c}_s": ([f"catalog:{c}"], {}) for c in ("gcp", "aws")}
    for levels in (1_001, 100_000):
        cases[f"yaml_nested_{levels}_c_s"] = ([f"nest:{levels}"], {})
        cases[f"yaml_nested_{levels}_pure_s"] = ([f"nest:{levels}"], {"TRELLIS_YAML": "pure"})
    out = {}
    for key, (args, env) in cases.items():
        times = []
        for _ in range(max(3, repeats)):
            proc = subprocess.run([sys.executable, "-c", MICRO, *args], cwd=ROOT,
                                  env={**CHILD_ENV, **env}, capture_output=True, text=True)
            if proc.returncode:
                raise BenchError(f"micro benchmark {key} failed: {proc.stderr[-1000:]}")
            times.append(json.loads(proc.stdout.strip().splitlines()[-1])["s"])
        out[key] = round(statistics.median(times), 4)
    return out


def _floor_info(stdout: str) -> dict[str, Any]:
    try:
        return dict(json.loads(stdout.strip().splitlines()[-1]))
    except (ValueError, IndexError):
        raise BenchError(f"benchmarks/floor.py printed no result: {stdout[-500:]!r}") from None


def _imports_on_validate(org: Path) -> list[str]:
    code = ("import sys\nfrom stacks.cli.app import main\n"
            f"try:\n    main(['validate', {str(org)!r}])\nexcept SystemExit:\n    pass\n"
            f"print(sorted(m for m in sys.modules if m.split('.')[0] in {BANNED_ON_VALIDATE!r}))")
    out = measure([sys.executable, "-c", code]).stdout.strip().splitlines()[-1]
    return list(json.loads(out.replace("'", '"')))


def report(result: dict[str, Any]) -> str:
    cases = result["cases"]
    m = result["machine"]
    out = [f"== machine ==\n{m['cpus']} CPUs ({m['cpu']}), {m['memory']}, Python {m['python']}, "
           f"{m['platform']}; load average {m['load_avg_1m']} at start; {m['date']}\n"
           f"pulumi {m['packages']['pulumi']}, pulumi-gcp {m['packages']['pulumi_gcp']}, "
           f"pulumi-aws {m['packages']['pulumi_aws']}, pulumi-kubernetes "
           f"{m['packages']['pulumi_kubernetes']}; medians of {result['runs']} run(s), "
           f"environment '{result['environment']}'\n{result['command']}"]

    # The validate floor (`python -c "import stacks.org.model"`) does not depend on the org: pool
    # its medians over every case, so one noisy measurement does not swing one size's ratio.
    floor_wall = statistics.median(c["model"]["wall_s"] for c in cases)
    floor_cpu = statistics.median(c["model"]["cpu_s"] for c in cases)
    rows = []
    for c in cases:
        ratio = c["validate"]["wall_s"] / floor_wall
        rows.append([c["cloud"], c["teams"], f"{c['validate']['wall_s']:.3f}",
                     f"{c['python']['wall_s']:.3f}", f"{c['model']['wall_s']:.3f}",
                     f"{ratio:.2f}x", f"{c['validate']['cpu_s'] / floor_cpu:.2f}x",
                     ", ".join(c["imports_on_validate"]) or "none",
                     mark(ratio <= TARGETS["validate"] and not c["imports_on_validate"])])
    out.append("== validate == (target: <= 1.5x python + pydantic + model import; no Pulumi; "
               f"ratios to the floor's median over all cases, {floor_wall:.3f} s wall)\n"
               + table(["cloud", "teams", "validate s", "python s", "floor s", "wall ratio",
                        "cpu ratio", "pulumi/SDK imported", "target"], rows))

    rows = []
    for c in cases:
        n = c["resources"]
        build = c["plan"]["build_s"]
        ms = {k: c[k]["wall_s"] / n * 1000 for k in ("floor", "floor_sdk")}
        bare = f"{c['bare']['wall_s'] / n * 1000:.2f}" if "bare" in c else "-"
        rows.append([c["cloud"], c["teams"], n, f"{c['plan']['wall_s']:.2f}", f"{build:.2f}",
                     f"{c['floor']['wall_s']:.2f}", f"{c['floor_sdk']['wall_s']:.2f}",
                     f"{build / n * 1000:.2f}", f"{ms['floor']:.2f}", f"{ms['floor_sdk']:.2f}",
                     bare, f"{build / c['floor']['wall_s']:.2f}x",
                     f"{build / c['floor_sdk']['wall_s']:.2f}x"])
    out.append("== plan == (one process, --jobs 1; build = the command without printing its "
               "JSON; honest floor: the plan's structure under plain set_mocks, collector off; "
               "sdk floor: the cloud resources alone through the SDK, default collector; "
               "whole-command ratios, fixed costs included)\n"
               + table(["cloud", "teams", "resources", "plan s", "build s", "honest s", "sdk s",
                        "build ms/res", "honest ms/res", "sdk ms/res", "bare ms/res",
                        "vs honest", "vs sdk"], rows))
    rows = []
    for cloud in sorted({c["cloud"] for c in cases}):
        cc = [c for c in cases if c["cloud"] == cloud]
        xs = [float(c["resources"]) for c in cc]
        fits = {}
        for key, label in (("build", "plan (build)"), ("floor", "honest floor"),
                           ("floor_sdk", "sdk floor"), ("check", "check")):
            ys = [c["plan"]["build_s"] if key == "build" else c[key]["wall_s"] for c in cc]
            fit = line_fit(xs, ys)
            if fit is None:
                continue
            fixed, per = fit
            fits[key] = per
            marginal = [y - fixed for y in ys]
            e_all = exponent(xs, marginal)
            e_top = exponent(xs[-2:], marginal[-2:])
            rows.append([cloud, label, f"{fixed:.2f}", f"{per * 1000:.3f}",
                         "-" if e_all is None else f"{e_all:.2f}",
                         "-" if e_top is None else f"{e_top:.2f}"])
        if "build" in fits and fits.get("floor"):
            ratio = fits["build"] / fits["floor"]
            rows.append([cloud, "per-resource cost vs honest floor", "", f"{ratio:.2f}x", "",
                         mark(ratio <= TARGETS["plan"])])
        if "build" in fits and fits.get("floor_sdk"):
            rows.append([cloud, "per-resource cost vs sdk floor", "",
                         f"{fits['build'] / fits['floor_sdk']:.2f}x", "", ""])
    if rows:
        out.append("== fixed and per-resource cost == (least squares of wall seconds over the "
                   "sizes: fixed = intercept, per resource = slope; exponents fitted on the "
                   "marginal time, fixed cost removed, over all sizes and between the two "
                   "largest; target: per resource <= 0.7x the honest floor)\n"
                   + table(["cloud", "what", "fixed s", "ms/resource", "exponent",
                            "exponent (2 largest)"], rows))

    rows = []
    for c in cases:
        ratio = c["plan_jobs"]["wall_s"] / c["plan"]["wall_s"]
        rows.append([c["cloud"], c["teams"], f"{c['plan']['wall_s']:.2f}",
                     f"{c['plan_jobs']['wall_s']:.2f}", f"{ratio:.2f}x",
                     f"{c['plan']['cpu_s']:.1f}", f"{c['plan_jobs']['cpu_s']:.1f}",
                     f"{c['plan']['rss_mib']:.0f}", f"{c['plan_jobs']['rss_mib']:.0f}",
                     mark(ratio <= TARGETS["jobs"]) if c["teams"] >= 1000 else ""])
    out.append(f"== sharded plan == (trellis plan --jobs {result.get('jobs')} vs --jobs 1, "
               "byte-identical output checked; orgs under 50 teams plan in one process; "
               "cpu = the whole process tree; RSS = the largest process of the tree; target at "
               "1,000 teams: <= 0.6x)\n"
               + table(["cloud", "teams", "jobs 1 s", "jobs N s", "ratio", "jobs 1 cpu s",
                        "jobs N cpu s", "jobs 1 MiB", "jobs N MiB", "target"], rows))

    rows = []
    for c in cases:
        build = c["plan"]["build_s"]
        extra = c["check"]["wall_s"] / build - 1
        saved = c["check_saved"]["wall_s"]
        rows.append([c["cloud"], c["teams"], f"{build:.2f}", f"{c['check']['wall_s']:.2f}",
                     f"{extra:+.0%}", mark(extra <= TARGETS["check"]), f"{saved:.2f}",
                     mark(saved <= TARGETS["check_saved_s"]) if c["teams"] == 200 else ""])
    out.append("== check == (trellis check --jobs 1 vs building the plan, i.e. trellis plan "
               "without printing its JSON; target: <= +25%. check --plan: from a plan saved by "
               "`trellis plan --out`; target at 200 teams: <= 1.5 s)\n"
               + table(["cloud", "teams", "build s", "check s", "extra", "target",
                        "check --plan s", "target"], rows))

    rows = []
    for cloud in sorted({c["cloud"] for c in cases}):
        cc = [c for c in cases if c["cloud"] == cloud]
        xs = [float(c["resources"]) for c in cc]
        fit = line_fit(xs, [c["plan"]["rss_mib"] for c in cc])
        for i, c in enumerate(cc):
            exp = "-"
            ok = c["plan_jobs"]["rss_mib"] < TARGETS["rss_mib_jobs"]
            if i and fit is not None:
                prev = cc[i - 1]
                e = exponent([prev["resources"], c["resources"]],
                             [prev["plan"]["rss_mib"] - fit[0], c["plan"]["rss_mib"] - fit[0]])
                exp = f"{e:.2f}" if e is not None else "-"
                ok = ok and (e is None or e <= TARGETS["exponent"])
            rows.append([cloud, c["teams"], c["resources"], f"{c['plan']['rss_mib']:.0f}",
                         f"{c['plan_jobs']['rss_mib']:.0f}", f"{c['check']['rss_mib']:.0f}",
                         f"{c['check_saved']['rss_mib']:.0f}", f"{c['floor']['rss_mib']:.0f}",
                         f"{c['floor_sdk']['rss_mib']:.0f}",
                         f"{c['plan']['rss_mib'] / c['floor']['rss_mib']:.2f}x", exp, mark(ok)])
        if fit is not None:
            rows.append([cloud, "fit", "", f"{fit[0]:.0f} fixed", f"{fit[1] * 1024:.1f} KiB/res",
                         "", "", "", "", "", "", ""])
    out.append("== memory == (peak RSS MiB; jobs N: the largest process of the tree; exponent of "
               "plan's marginal memory (fixed part removed) between consecutive sizes; target: "
               "jobs N < 3 GiB, exponent <= 1.1)\n"
               + table(["cloud", "teams", "resources", "plan", "jobs N", "check",
                        "check --plan", "honest floor", "sdk floor", "plan/honest", "exponent",
                        "target"], rows))

    m = result.get("micro") or {}
    if m:
        out.append("== small fixed costs == (medians of fresh interpreters, seconds)\n" + table(
            ["what", "s"],
            [["GPU catalogue data, first lookup, gcp", f"{m['catalog_gcp_s']:.4f}"],
             ["GPU catalogue data, first lookup, aws", f"{m['catalog_aws_s']:.4f}"],
             *[[f"refuse YAML nested {lv:,} levels, {mode} composer",
                f"{m[f'yaml_nested_{lv}_{mode}_s']:.4f}"]
               for lv in (1_001, 100_000) for mode in ("c", "pure")]]))

    rows = [[c["cloud"], c["teams"], len(c["critical_path"]),
             " -> ".join(c["critical_path"])] for c in cases]
    out.append("== critical path == (cloud resources `pulumi up` creates one after another)\n"
               + table(["cloud", "teams", "length", "chain"], rows))
    return "\n\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10,50,200,1000",
                        help="Team counts (default 10,50,200,1000).")
    parser.add_argument("--jobs", type=int, help="Workers of the sharded plan (default: the "
                        "CPUs this process may use).")
    parser.add_argument("--clouds", default="gcp,aws", help="Clouds (default gcp,aws).")
    parser.add_argument("--runs", type=int, default=3, help="Runs per measurement (median).")
    parser.add_argument("--smoke", action="store_true",
                        help="Smallest size once per cloud, no bare floor: proves the script "
                             "works (CI), measures nothing worth quoting.")
    parser.add_argument("--bare", action="store_true", help="Also measure the bare "
                        "CustomResource floor (no SDK classes).")
    parser.add_argument("--json", type=Path, help="Also write the raw results here.")
    parser.add_argument("--keep", type=Path, help="Keep generated orgs and plans here.")
    ns = parser.parse_args(argv)
    sizes = sorted({int(s) for s in ns.sizes.split(",") if s.strip()})
    clouds = [c.strip() for c in ns.clouds.split(",") if c.strip()]
    runs = ns.runs
    if ns.smoke:
        sizes, runs = sizes[:1], 1
    if not sizes or runs < 1 or any(c not in orgs.ENVIRONMENTS for c in clouds):
        parser.error("need at least one size, one run, and clouds among gcp,aws")
    work = ns.keep or Path(tempfile.mkdtemp(prefix="trellis-bench-"))
    try:
        result = run(sizes, clouds, runs, bare=ns.bare and not ns.smoke, work=work,
                     log=lambda msg: print(msg, file=sys.stderr, flush=True),
                     quick=1 if ns.smoke else QUICK_REPEATS, jobs=ns.jobs)
    except BenchError as exc:
        print(f"benchmark failed: {exc}", file=sys.stderr)
        return 1
    finally:
        if ns.keep is None:
            shutil.rmtree(work, ignore_errors=True)
    print(report(result))
    if ns.json:
        ns.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
