"""Benchmarks of ``trellis validate``, ``plan`` and ``check`` against their floors (issue 9).

    python benchmarks/run.py [--sizes 10,50,200] [--clouds gcp,aws] [--runs 3] [--json FILE]
    python benchmarks/run.py --smoke      # smallest size once, both clouds; CI runs this

For each cloud and size, an org file of that many teams (``benchmarks/orgs.py``, validated
first) is measured in fresh interpreters, each measurement ``--runs`` times (the sub-second
ones, python, model import and validate, five times per run), and the median is reported with
its ratio to a floor measured in the same run:

- validate: ``trellis validate`` against ``python -c 'import stacks.org.model'`` (python + pydantic
  + our model import); also checks that no Pulumi or provider SDK module is imported.
- plan: ``trellis plan --format json`` per cloud resource against ``benchmarks/floor.py``, the
  same resources (type, name, inputs) registered with the provider SDK classes under plain
  ``pulumi.runtime.set_mocks`` with default settings (the bare ``CustomResource`` floor is shown
  too, without a target).
- check: ``trellis check`` against ``trellis plan`` of the same org.
- memory: peak RSS of each process; the growth exponent between consecutive sizes.
- critical path: the longest chain of the plan (``stacks.report.tree.critical_path``).

The repetitions are interleaved (plan, floor, check, ... then again), so load from other
processes hits the command and its floor alike. Wall time is what people wait for; CPU time
(user + sys of the child) is shown beside it because it is steadier on a shared machine. Exit
status 1 when a command fails or prints something unexpected; targets missed are reported, not
failed (benchmarks are not timed tests).
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
TARGETS = {"validate": 1.5, "plan": 0.7, "check": 0.25, "rss_mib": 1024.0, "exponent": 1.1}


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


def measure(cmd: list[str], *, ok: tuple[int, ...] = (0,), cwd: Path = ROOT) -> Sample:
    """Run ``cmd`` in a fresh process; wall time, CPU time and peak RSS of that process."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, cwd=cwd, env=CHILD_ENV)
        try:
            _, status, usage = _wait4(proc, start)
        except TimeoutError:
            proc.kill()
            proc.wait()
            raise BenchError(f"{' '.join(cmd)}: no result after {TIMEOUT_S} s") from None
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(), err.read().decode()
    if proc.returncode not in ok:
        raise BenchError(f"{' '.join(cmd)} exited {proc.returncode}:\n{stderr[-2000:]}")
    return Sample(wall=wall, cpu=usage.ru_utime + usage.ru_stime,
                  rss_mib=usage.ru_maxrss / 1024, stdout=stdout)


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


def slope(xs: list[float], ys: list[float]) -> float | None:
    """Least-squares seconds per resource (the marginal cost, fixed costs removed)."""
    if len(xs) < 2:
        return None
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    den = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / den if den else None


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


def run(sizes: list[int], clouds: list[str], runs: int, *, bare: bool, work: Path,
        log: Any = print, quick: int = QUICK_REPEATS) -> dict[str, Any]:
    py = [sys.executable]
    cli = trellis()
    result: dict[str, Any] = {"machine": machine(), "runs": runs, "environment": ENV,
                              "command": " ".join(["python benchmarks/run.py",
                                                   f"--sizes {','.join(map(str, sizes))}",
                                                   f"--clouds {','.join(clouds)}",
                                                   f"--runs {runs}"]),
                              "cases": []}
    log(f"machine: {json.dumps(result['machine'])}")
    subprocess.run([*py, "-m", "compileall", "-q", "stacks", "components", "policies",
                    "benchmarks"], cwd=ROOT, env=CHILD_ENV, check=True)

    for cloud in clouds:
        for size in sizes:
            org = orgs.write(cloud, size, work)  # validated before anything is timed
            log(f"{cloud} {size} teams: {org}")
            case: dict[str, Any] = {"cloud": cloud, "teams": size}
            series = {k: Series() for k in ("python", "model", "validate", "plan", "floor",
                                            "bare", "check")}
            plan_file = work / f"{cloud}-{size}.plan.json"
            floor_cmd = [*py, str(HERE / "floor.py"), str(plan_file)]
            plan_cmd = [*cli, "plan", str(org), "--env", ENV, "--format", "json"]
            check_cmd = [*cli, "check", str(org), "--env", ENV, "--format", "json"]
            for i in range(runs):
                for _ in range(quick):  # sub-second: noise is a large share of them
                    series["python"].add(measure([*py, "-c", "pass"]))
                    series["model"].add(measure([*py, "-c", "import stacks.org.model"]))
                    series["validate"].add(measure([*cli, "validate", str(org)]))
                s = series["plan"].add(measure(plan_cmd))
                if i == 0:
                    plan_file.write_text(s.stdout)
                    plan_json = json.loads(s.stdout)
                s.stdout = ""
                floor = series["floor"].add(measure(floor_cmd))
                floor.stdout = json.dumps(_floor_info(floor.stdout))
                if bare:
                    b = series["bare"].add(measure([*floor_cmd, "--mode", "bare"]))
                    b.stdout = json.dumps(_floor_info(b.stdout))
                c = series["check"].add(measure(check_cmd, ok=(0, 1)))
                if "summary" not in json.loads(c.stdout):
                    raise BenchError("trellis check --format json printed no summary")
                c.stdout = ""
            case["imports_on_validate"] = _imports_on_validate(org)
            info = json.loads(series["floor"].samples[0].stdout)
            n = info["resources"]
            total = len(plan_json["resources"])
            case.update(resources=n, registrations=total, floor_via_sdk=info["via_sdk"],
                        critical_path=critical_path(plan_json))
            read = statistics.median(json.loads(s.stdout)["read_s"]
                                     for s in series["floor"].samples)
            for key, ser in series.items():
                if not ser.samples:
                    continue
                adj = read if key in ("floor", "bare") else 0.0  # reading our JSON is not the floor
                case[key] = {"wall_s": round(ser.wall - adj, 3), "cpu_s": round(ser.cpu - adj, 3),
                             "rss_mib": round(ser.rss_mib, 1)}
            log(f"  plan {case['plan']['wall_s']} s, floor {case['floor']['wall_s']} s, "
                f"check {case['check']['wall_s']} s, {n} cloud resources")
            result["cases"].append(case)
    return result


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
        ms = {k: c[k]["wall_s"] / n * 1000 for k in ("plan", "floor")}
        ratio = c["plan"]["wall_s"] / c["floor"]["wall_s"]
        bare = f"{c['bare']['wall_s'] / n * 1000:.2f}" if "bare" in c else "-"
        rows.append([c["cloud"], c["teams"], n, f"{c['plan']['wall_s']:.2f}",
                     f"{c['floor']['wall_s']:.2f}", f"{ms['plan']:.2f}", f"{ms['floor']:.2f}",
                     bare, f"{ratio:.2f}x", f"{c['plan']['cpu_s'] / c['floor']['cpu_s']:.2f}x",
                     mark(ratio <= TARGETS["plan"])])
    out.append("== plan == (per cloud resource vs the same resources through the SDK under "
               "plain set_mocks; target: <= 0.7x)\n"
               + table(["cloud", "teams", "resources", "plan s", "floor s", "plan ms/res",
                        "floor ms/res", "bare ms/res", "wall ratio", "cpu ratio", "target"],
                       rows))
    for cloud in sorted({c["cloud"] for c in cases}):
        cc = [c for c in cases if c["cloud"] == cloud]
        xs = [float(c["resources"]) for c in cc]
        sp = slope(xs, [c["plan"]["wall_s"] for c in cc])
        sf = slope(xs, [c["floor"]["wall_s"] for c in cc])
        ep = exponent(xs, [c["plan"]["wall_s"] for c in cc])
        if sp is not None and sf:
            out.append(f"{cloud} marginal cost (least squares over sizes): plan "
                       f"{sp * 1000:.2f} ms/resource, floor {sf * 1000:.2f} ms/resource "
                       f"({sp / sf:.2f}x); plan time grows as resources^{ep:.2f}")

    rows = []
    for c in cases:
        extra = c["check"]["wall_s"] / c["plan"]["wall_s"] - 1
        extra_cpu = c["check"]["cpu_s"] / c["plan"]["cpu_s"] - 1
        rows.append([c["cloud"], c["teams"], f"{c['plan']['wall_s']:.2f}",
                     f"{c['check']['wall_s']:.2f}", f"{extra:+.0%}", f"{extra_cpu:+.0%}",
                     mark(extra <= TARGETS["check"])])
    out.append("== check == (on top of plan; target: <= +25%)\n"
               + table(["cloud", "teams", "plan s", "check s", "wall", "cpu", "target"], rows))

    rows = []
    for cloud in sorted({c["cloud"] for c in cases}):
        cc = [c for c in cases if c["cloud"] == cloud]
        for i, c in enumerate(cc):
            exp = "-"
            ok = c["plan"]["rss_mib"] < TARGETS["rss_mib"] and c["check"]["rss_mib"] < TARGETS[
                "rss_mib"]
            if i:
                prev = cc[i - 1]
                e = exponent([prev["resources"], c["resources"]],
                             [prev["check"]["rss_mib"], c["check"]["rss_mib"]])
                exp = f"{e:.2f}" if e is not None else "-"
                ok = ok and (e is None or e <= TARGETS["exponent"])
            rows.append([cloud, c["teams"], c["resources"], f"{c['plan']['rss_mib']:.0f}",
                         f"{c['check']['rss_mib']:.0f}", f"{c['floor']['rss_mib']:.0f}",
                         f"{c['plan']['rss_mib'] / c['floor']['rss_mib']:.2f}x", exp, mark(ok)])
    out.append("== memory == (peak RSS MiB; target column: < 1024 and exponent <= 1.1; "
               "compare plan/floor for 'no worse than the floor')\n"
               + table(["cloud", "teams", "resources", "plan", "check", "floor", "plan/floor",
                        "exponent", "target"], rows))

    rows = [[c["cloud"], c["teams"], len(c["critical_path"]),
             " -> ".join(c["critical_path"])] for c in cases]
    out.append("== critical path == (cloud resources `pulumi up` creates one after another)\n"
               + table(["cloud", "teams", "length", "chain"], rows))
    return "\n\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10,50,200", help="Team counts (default 10,50,200).")
    parser.add_argument("--clouds", default="gcp,aws", help="Clouds (default gcp,aws).")
    parser.add_argument("--runs", type=int, default=3, help="Runs per measurement (median).")
    parser.add_argument("--smoke", action="store_true",
                        help="Smallest size once per cloud, no bare floor: proves the script "
                             "works (CI), measures nothing worth quoting.")
    parser.add_argument("--no-bare", action="store_true", help="Skip the bare CustomResource "
                        "floor.")
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
        result = run(sizes, clouds, runs, bare=not (ns.smoke or ns.no_bare), work=work,
                     log=lambda msg: print(msg, file=sys.stderr, flush=True),
                     quick=1 if ns.smoke else QUICK_REPEATS)
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
