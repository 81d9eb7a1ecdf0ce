"""Time envsync against pip-tools and uv on a local index of real wheels (see bench/README.md).

.venv/bin/python bench/run.py --set medium --runs 5
.venv/bin/python bench/run.py --quick                 # smoke test: small set, 1 run
.venv/bin/python bench/run.py --scenario noop --tool envsync --tool uv
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import resource
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from operator import methodcaller
from pathlib import Path
from typing import IO, TYPE_CHECKING

from common import SET_NAMES, WORK, RequirementSet, add_package, load_set, normalize
from tools import (
    BIN,
    DEFAULT_TOOLS,
    PYTHON,
    TARGET_TOOLS,
    TOOLS,
    Argv,
    Envsync,
    Tool,
    envsync_under_test,
    uv_binary,
    write_if_changed,
)
from wheelhouse import (
    WheelhouseIndex,
    ensure_certificates,
    ensure_target_wheelhouse,
    ensure_wheelhouse,
    trust_env,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

#: The top-level requirement the remove-one scenario drops, per set.
REMOVE = {"small": "requests", "medium": "rich", "large": "rich", "huge": "faker"}
#: Packages a venv may hold besides the lock's: what `python -m venv` seeds (pip-tools).
SEEDED = {"pip", "setuptools"}


# -- measuring ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sample:
    """One timed run of a scenario: wall-clock seconds and the peak RSS of any one process."""

    seconds: float
    peak_rss_kib: int
    cpu_seconds: float = 0.0
    """User + system CPU time of the commands and every process they waited for (0: not
    measured, in results saved before it was)."""


class CommandFailedError(RuntimeError):
    """A tool exited non-zero: the benchmark cannot go on with a broken state."""


GNU_TIME = "/usr/bin/time"


class Meter:
    """Runs commands, timing them and reading their peak RSS.

    Peak RSS comes from GNU time (`/usr/bin/time -f %M`): the ru_maxrss that wait4 reports
    for the command, i.e. its own peak or its largest descendant's. The wrapper matters: a
    child of this Python process starts out sharing its memory (vfork), and the kernel folds
    that high-water mark into the child's ru_maxrss at exec, so reaping the tools directly
    would report at least this process's RSS for every one of them. GNU time is small (~2 MB).
    Starting it costs about a millisecond, measured at start-up and subtracted from every
    command's wall-clock time. Without /usr/bin/time, ru_maxrss of the direct child is used,
    and `baseline_rss_kib` says how much of it may be this process's own memory.
    """

    def __init__(self, scratch: Path) -> None:
        self._rss_file = scratch / "maxrss.txt"
        self.wrapped = Path(GNU_TIME).is_file() and os.access(GNU_TIME, os.X_OK)
        self.overhead = self._calibrate() if self.wrapped else 0.0
        """Seconds the wrapper adds to each command (median), subtracted from each time."""

    @property
    def baseline_rss_kib(self) -> int:
        """What ru_maxrss would show for a trivial command (this process's own RSS, unwrapped)."""
        return 0 if self.wrapped else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

    def _calibrate(self, rounds: int = 41) -> float:
        bare, wrapped = [], []
        for _ in range(rounds):
            bare.append(self._spawn(["true"], wrap=False)[0])
            wrapped.append(self._spawn(["true"], wrap=True)[0])
        return max(0.0, statistics.median(wrapped) - statistics.median(bare))

    def _spawn(
        self,
        argv: Argv,
        *,
        wrap: bool,
        cwd: Path | None = None,
        env: dict[str, str] | None = None,
        out: IO[bytes] | None = None,
    ) -> tuple[float, int, int, float]:
        """Run *argv*; return (seconds, exit code, peak RSS in KiB, CPU seconds).

        The CPU time is wait4's: the command's own and that of every descendant it reaped
        (pip-compile under envsync, pip's own subprocesses), the wrapper's millisecond too.
        """
        full = [GNU_TIME, "-f", "%M", "-o", str(self._rss_file), *argv] if wrap else argv
        start = time.perf_counter()
        proc = subprocess.Popen(
            full,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out or subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
        )
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        rss = usage.ru_maxrss
        if wrap:
            # GNU time writes "Command exited with non-zero status N" first on failure.
            rss = int(self._rss_file.read_text("utf-8").split()[-1])
        return seconds, proc.returncode, rss, usage.ru_utime + usage.ru_stime

    def execute(self, tool: Tool, argvs: Sequence[Argv], log: Path) -> Sample:
        """Run the commands one after the other: their summed time, their largest peak RSS.

        Output goes to *log*; a failing command raises CommandFailedError.
        """
        seconds, peak, cpu = 0.0, 0, 0.0
        with log.open("ab") as out:
            for argv in argvs:
                out.write(f"$ {' '.join(argv)}\n".encode())
                out.flush()
                elapsed, code, rss, used = self._spawn(
                    argv, wrap=self.wrapped, cwd=tool.project, env=tool.env(), out=out
                )
                seconds += max(0.0, elapsed - self.overhead)
                peak = max(peak, rss)
                cpu += used
                if code != 0:
                    out.flush()
                    lines = log.read_text("utf-8", "replace").splitlines(keepends=True)
                    msg = f"{tool.name}: exit {code} from {' '.join(argv)}\n{''.join(lines[-30:])}"
                    raise CommandFailedError(msg)
        return Sample(seconds, peak, cpu)


# -- scenario building blocks (all untimed) -------------------------------------------------


@dataclass
class Bench:
    """What the scenarios share: the set, the tools and where logs go."""

    rset: RequirementSet
    logs: Path
    meter: Meter

    def run(self, tool: Tool, argvs: Sequence[Argv], what: str) -> Sample:
        return self.meter.execute(tool, argvs, self.logs / f"{tool.name}-{what}.log")

    def base_locked(self, tool: Tool) -> None:
        """The set's spec with its lock in place (made once, then copied back)."""
        tool.write_spec(self.rset.top_level)
        if tool.saved_lock.is_file():
            write_if_changed(tool.lock_file, tool.saved_lock.read_text("utf-8"))
            return
        tool.lock_file.unlink(missing_ok=True)
        self.run(tool, tool.lock(), "setup")
        shutil.copyfile(tool.lock_file, tool.saved_lock)

    def base_synced(self, tool: Tool) -> None:
        """The set's spec, its lock, and a venv that matches it."""
        self.base_locked(tool)
        self.run(tool, tool.sync() if tool.python.exists() else tool.fresh_sync(), "setup")

    def installed(self, tool: Tool) -> dict[str, str]:
        """Normalized name -> version of every distribution in the tool's venv."""
        found: dict[str, str] = {}
        for site in tool.venv.glob("lib/python3*/site-packages"):
            for info in site.glob("*.dist-info"):
                name, _, version = info.name.removesuffix(".dist-info").partition("-")
                found[normalize(name)] = version
        return found

    def expect(self, tool: Tool, wanted: dict[str, str]) -> None:
        """Fail unless the venv holds exactly *wanted* (plus what venv seeds, unless wanted)."""
        installed = self.installed(tool).items()
        found = {k: v for k, v in installed if k not in SEEDED or k in wanted}
        if found != wanted:
            missing = sorted(set(wanted.items()) - set(found.items()))
            extra = sorted(set(found.items()) - set(wanted.items()))
            raise CommandFailedError(f"{tool.name}: venv differs: missing {missing}, extra {extra}")


# -- scenarios ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scenario:
    """A timed action with its untimed set-up and check.

    `prepare` runs before every timed run; with `warm_up`, one untimed prepare + action runs
    first, so that the cache is populated by a previous run of the same tool.
    """

    key: str
    title: str
    prepare: Callable[[Bench, Tool], None]
    action: Callable[[Tool], list[Argv]]
    check: Callable[[Bench, Tool], None] = lambda _bench, _tool: None
    warm_up: bool = False
    bytecode_variant: bool = False
    """Whether uv-bytecode and envsync-bytecode run it (fresh syncs only)."""


def _cold_lock(bench: Bench, tool: Tool) -> None:
    tool.write_spec(bench.rset.top_level)
    tool.lock_file.unlink(missing_ok=True)
    tool.clear_cache()


def _warm_lock(bench: Bench, tool: Tool) -> None:
    tool.write_spec(bench.rset.top_level)
    tool.lock_file.unlink(missing_ok=True)


def _cold_sync(bench: Bench, tool: Tool) -> None:
    bench.base_locked(tool)
    tool.remove_venv()
    tool.clear_cache()


def _warm_sync(bench: Bench, tool: Tool) -> None:
    bench.base_locked(tool)
    tool.remove_venv()


def _add_one(bench: Bench, tool: Tool) -> None:
    bench.base_synced(tool)
    name, version = add_package()
    tool.write_spec([*bench.rset.top_level, f"{name}=={version}"])


def _add_one_locked(bench: Bench, tool: Tool) -> None:
    bench.base_locked(tool)
    name, version = add_package()
    tool.write_spec([*bench.rset.top_level, f"{name}=={version}"])


def _remove_one(bench: Bench, tool: Tool) -> None:
    bench.base_synced(tool)
    tool.write_spec([r for r in bench.rset.top_level if r != REMOVE[bench.rset.name]])


def _has_set(bench: Bench, tool: Tool) -> None:
    bench.expect(tool, bench.rset.pins)


def _has_added(bench: Bench, tool: Tool) -> None:
    name, version = add_package()
    bench.expect(tool, {**bench.rset.pins, name: version})


def _locks_added(_bench: Bench, tool: Tool) -> None:
    name, version = add_package()
    text = tool.lock_file.read_text("utf-8")
    if not re.search(rf"\b{re.escape(name)}\b.*\b{re.escape(version)}\b", text, re.DOTALL):
        raise CommandFailedError(f"{tool.name}: {name} {version} is not in {tool.lock_file}")


def _has_removed(bench: Bench, tool: Tool) -> None:
    found = {k: v for k, v in bench.installed(tool).items() if k not in SEEDED}
    removed = normalize(REMOVE[bench.rset.name])
    if removed in found or not found.items() <= bench.rset.pins.items():
        raise CommandFailedError(f"{tool.name}: {removed} not removed cleanly: {sorted(found)}")


SCENARIOS = (
    Scenario("lock-cold", "lock, cold cache", _cold_lock, methodcaller("lock")),
    Scenario("lock-warm", "lock, warm cache", _warm_lock, methodcaller("lock"), warm_up=True),
    Scenario(
        "lock-unchanged",
        "lock, unchanged spec (lock exists)",
        Bench.base_locked,
        methodcaller("lock"),
        warm_up=True,
    ),
    Scenario(
        "relock",
        "relock: one package added (lock only)",
        _add_one_locked,
        methodcaller("lock"),
        _locks_added,
        warm_up=True,
    ),
    Scenario(
        "sync-cold",
        "fresh sync, cold cache (venv included)",
        _cold_sync,
        methodcaller("fresh_sync"),
        _has_set,
        bytecode_variant=True,
    ),
    Scenario(
        "sync-warm",
        "fresh sync, warm cache (venv included)",
        _warm_sync,
        methodcaller("fresh_sync"),
        _has_set,
        warm_up=True,
        bytecode_variant=True,
    ),
    Scenario("noop", "no-op sync", Bench.base_synced, methodcaller("sync"), _has_set),
    Scenario(
        "add-one",
        "add one package (relock + sync)",
        _add_one,
        methodcaller("relock_sync"),
        _has_added,
    ),
    Scenario(
        "remove-one",
        "remove one package (relock + sync)",
        _remove_one,
        methodcaller("relock_sync"),
        _has_removed,
    ),
)
SCENARIO_KEYS = {s.key: s for s in SCENARIOS}
#: The scenarios that only lock: the ones a lock-only tool (uv-hashes) takes part in.
LOCK_SCENARIOS = ("lock-cold", "lock-warm", "lock-unchanged", "relock")
#: The scenarios of `--targets`: a fresh lock, cold and warm, and a relock.
TARGET_SCENARIOS = ("lock-cold", "lock-warm", "relock")


def run_scenario(
    bench: Bench, scenario: Scenario, tools: Sequence[Tool], runs: int
) -> dict[str, list[Sample]]:
    """Time *scenario* for each tool: runs in rounds, the tools in turn within a round."""
    tools = [t for t in tools if scenario.bytecode_variant or not t.name.endswith("-bytecode")]
    tools = [t for t in tools if not t.lock_only or scenario.key in LOCK_SCENARIOS]
    samples: dict[str, list[Sample]] = {t.name: [] for t in tools}
    if scenario.warm_up:
        for tool in tools:
            scenario.prepare(bench, tool)
            bench.run(tool, scenario.action(tool), f"{scenario.key}-warmup")
    for round_ in range(runs):
        for tool in tools:
            scenario.prepare(bench, tool)
            os.sync()  # start every timed run with no writeback pending from the last one
            sample = bench.run(tool, scenario.action(tool), scenario.key)
            scenario.check(bench, tool)
            samples[tool.name].append(sample)
            print(
                f"  {scenario.key:<15} run {round_ + 1}/{runs}  {tool.name:<12} "
                f"{sample.seconds:8.3f} s  {sample.peak_rss_kib / 1024:7.1f} MiB  "
                f"{sample.cpu_seconds:7.3f} s CPU",
                flush=True,
            )
    return samples


# -- the machine and the versions -----------------------------------------------------------


def _output(argv: Sequence[str]) -> str:
    proc = subprocess.run(argv, capture_output=True, text=True, check=False)
    return (proc.stdout or proc.stderr).strip().splitlines()[0] if proc.returncode == 0 else "?"


def _first_match(path: str, pattern: str) -> str:
    try:
        text = Path(path).read_text("utf-8")
    except OSError:
        return "?"
    match = re.search(pattern, text, re.MULTILINE)
    return match.group(1).strip() if match else "?"


def filesystem_of(path: Path) -> str:
    """The type of the filesystem *path* is on, from /proc/mounts (longest mount point)."""
    best, kind = "", "?"
    try:
        mounts = Path("/proc/mounts").read_text("utf-8").splitlines()
    except OSError:
        return kind
    for line in mounts:
        fields = line.split()
        point = fields[1]
        inside = str(path) == point or str(path).startswith(point.rstrip("/") + "/")
        if inside and len(point) > len(best):
            best, kind = point, fields[2]
    return kind


def _load() -> str:
    """/proc/loadavg's three averages: how busy other processes kept the machine."""
    try:
        return " ".join(Path("/proc/loadavg").read_text("utf-8").split()[:3])
    except OSError:
        return "?"


def describe_machine() -> dict[str, str]:
    """CPU, memory, OS and Python of this machine."""
    mem_kib = _first_match("/proc/meminfo", r"^MemTotal:\s+(\d+)")
    return {
        "cpus": str(os.cpu_count()),
        "cpu": _first_match("/proc/cpuinfo", r"^model name\s*:\s*(.+)$"),
        "memory": f"{int(mem_kib) / 1024**2:.1f} GiB" if mem_kib.isdigit() else "?",
        "os": _first_match("/etc/os-release", r'^PRETTY_NAME="?([^"\n]+)'),
        "kernel": platform.release(),
        "python": f"{platform.python_implementation()} {platform.python_version()}",
    }


def describe_tools(envsync: str) -> dict[str, str]:
    """The version of every tool involved, as each reports it; *envsync* says which one."""
    import ensurepip  # noqa: PLC0415

    return {
        "envsync": f"{_output([str(BIN / 'envsync'), '--version'])} ({envsync})",
        "pip (envsync's, and pip-compile's)": _output([PYTHON, "-m", "pip", "--version"]).split(
            " from "
        )[0],
        "pip-tools": _output([str(BIN / "pip-compile"), "--version"]),
        "pip (seeded by python -m venv, runs pip-sync's installs)": f"pip {ensurepip.version()}",
        "uv": _output([uv_binary(), "--version"]),
    }


# -- report ---------------------------------------------------------------------------------


@dataclass
class Report:
    """Everything one invocation measured (printed, and saved as .work/results-<set>.json)."""

    set_name: str
    packages: int
    runs: int
    command: str
    machine: dict[str, str]
    versions: dict[str, str]
    measurement: dict[str, str]
    results: dict[str, dict[str, list[Sample]]] = field(default_factory=dict)

    def median(self, scenario: str, tool: str, *, cpu: bool = False) -> float | None:
        samples = self.results.get(scenario, {}).get(tool)
        if not samples or (cpu and not all(s.cpu_seconds for s in samples)):
            return None
        return statistics.median(s.cpu_seconds if cpu else s.seconds for s in samples)

    def peak(self, scenario: str, tool: str) -> int | None:
        samples = self.results.get(scenario, {}).get(tool)
        return max(s.peak_rss_kib for s in samples) if samples else None

    def ratio(self, scenario: str, top: str, bottom: str, *, cpu: bool = False) -> float | None:
        """The median of the per-round ratios *top* / *bottom*: runs are paired by round.

        Both tools of a round ran one after the other, so a ratio of a pair cancels most of
        the load other processes put on the machine at that moment.
        """
        tops = self.results.get(scenario, {}).get(top)
        bottoms = self.results.get(scenario, {}).get(bottom)
        if not tops or not bottoms:
            return None
        values = [
            (a.cpu_seconds, b.cpu_seconds) if cpu else (a.seconds, b.seconds)
            for a, b in zip(tops, bottoms, strict=True)
        ]
        pairs = [top_value / bottom_value for top_value, bottom_value in values if bottom_value]
        return statistics.median(pairs) if pairs and all(t for t, _ in values) else None


def _cell(value: float | None, fmt: str) -> str:
    return "-" if value is None else format(value, fmt)


def _ratio(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}x"


#: The ratio columns: (envsync's tool, the tool it is compared with).
_RATIOS = (
    ("envsync", "uv"),
    ("envsync", "pip-tools"),
    ("envsync-uv", "uv"),
    ("envsync-uv", "uv-hashes"),
    ("envsync-bytecode", "uv-bytecode"),
)
#: The ratio columns of a run with multi-target tools: each against its single-target self,
#: and against uv's universal resolution.
_TARGET_RATIOS = (
    ("envsync-targets", "envsync"),
    ("envsync-uv-targets", "envsync-uv"),
    ("envsync-targets", "uv-universal"),
    ("envsync-uv-targets", "uv-universal"),
    ("uv-universal", "uv"),
)


def _times(
    report: Report, names: list[str], ratios: list[tuple[str, str]], *, cpu: bool
) -> list[str]:
    """The table of median seconds (wall-clock, or CPU) with the ratio columns."""
    head = "| scenario | " + " | ".join([*names, *(f"{a} / {b}" for a, b in ratios)]) + " |"
    lines = [head, "| --- " * (len(names) + len(ratios) + 1) + "|"]
    for scenario in SCENARIOS:
        if scenario.key not in report.results:
            continue
        cells = [_cell(report.median(scenario.key, t, cpu=cpu), ".3f") for t in names]
        cells += [_ratio(report.ratio(scenario.key, a, b, cpu=cpu)) for a, b in ratios]
        lines.append(f"| {scenario.title} | " + " | ".join(cells) + " |")
    return lines


def render(report: Report) -> str:
    """Markdown: the medians with ratios, the same for CPU time (when measured), peak RSS."""
    names = [t for t in TOOLS if any(t in r for r in report.results.values())]
    pairs = _TARGET_RATIOS if any(TOOLS[t].multi_target for t in names) else _RATIOS
    ratios = [(a, b) for a, b in pairs if a in names and b in names] or list(pairs[:2])
    title = (
        f"Set `{report.set_name}` ({report.packages} packages), median of {report.runs} "
        "run(s); ratios are medians of the per-round ratios"
    )
    lines = [f"{title}, seconds:", "", *_times(report, names, ratios, cpu=False)]
    measured = any(s.cpu_seconds for r in report.results.values() for x in r.values() for s in x)
    if measured:
        lines += ["", "CPU seconds (user + system, the whole process tree), median:", ""]
        lines += _times(report, names, ratios, cpu=True)
    lines += ["", "Peak RSS of the largest single process, MiB (max over runs):", ""]
    lines += ["| scenario | " + " | ".join(names) + " |", "| --- " * (len(names) + 1) + "|"]
    for scenario in SCENARIOS:
        if scenario.key not in report.results:
            continue
        peaks = [report.peak(scenario.key, t) for t in names]
        cells = [_cell(None if p is None else p / 1024, ".0f") for p in peaks]
        lines.append(f"| {scenario.title} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def save(report: Report, path: Path) -> None:
    data = asdict(report)
    path.write_text(json.dumps(data, indent=1) + "\n", "utf-8")


def load(path: Path) -> Report:
    """A report saved by ``save``."""
    data = json.loads(path.read_text("utf-8"))
    results = {
        scenario: {tool: [Sample(**s) for s in samples] for tool, samples in tools.items()}
        for scenario, tools in data.pop("results").items()
    }
    return Report(**data, results=results)


# -- command line ---------------------------------------------------------------------------


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--set", choices=SET_NAMES, default="medium", dest="set_name")
    parser.add_argument("--runs", type=int, default=5, help="timed runs per scenario and tool")
    parser.add_argument(
        "--scenario",
        action="append",
        choices=list(SCENARIO_KEYS),
        help="run only this scenario (repeatable; default: all)",
    )
    parser.add_argument(
        "--tool",
        action="append",
        choices=list(TOOLS),
        help="run only this tool (repeatable; default: every single-target tool)",
    )
    parser.add_argument(
        "--targets",
        action="store_true",
        help="the multi-target comparison: envsync and envsync-uv locking for one target and "
        "for six, uv and uv --universal; the lock scenarios (--tool and --scenario narrow it)",
    )
    parser.add_argument(
        "--latency",
        type=float,
        default=0.0,
        metavar="MS",
        help="milliseconds the index waits before each answer, as a real index's round trip "
        "does (e.g. 50), and twice that before each new connection's TLS handshake; requests "
        "in flight wait side by side (default: 0)",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="smoke test: the small set, 1 run (overrides --set and --runs)",
    )
    parser.add_argument(
        "--work-dir",
        type=Path,
        default=WORK,
        help="where the tools' projects, venvs and caches go (default: bench/.work); "
        "e.g. a tmpfs, to take the disk out of the measurement",
    )
    parser.add_argument(
        "--envsync-rev",
        metavar="REV",
        help="benchmark envsync as of this git commit (exported to bench/.work) instead of "
        "the working tree the dev venv runs",
    )
    parser.add_argument(
        "--results",
        type=Path,
        help="where to save every sample as JSON (default: bench/.work/results-<set>.json)",
    )
    parser.add_argument(
        "--render",
        type=Path,
        metavar="RESULTS",
        help="print the tables of a saved results file and exit (nothing is run)",
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.set_name, args.runs = "small", 1
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    if args.latency < 0:
        parser.error("--latency must not be negative")
    return args


def main(argv: Sequence[str]) -> int:
    args = parse_args(argv)
    if args.render:
        print(render(load(args.render)))
        return 0
    rset = load_set(args.set_name)
    default_scenarios = TARGET_SCENARIOS if args.targets else [s.key for s in SCENARIOS]
    scenarios = [SCENARIO_KEYS[k] for k in args.scenario or default_scenarios]
    tool_names = args.tool or list(TARGET_TOOLS if args.targets else DEFAULT_TOOLS)
    multi = any(TOOLS[name].multi_target for name in tool_names)
    # One index for every tool of the run: a multi-target tool needs every target's wheels.
    wheelhouse = ensure_target_wheelhouse(rset) if multi else ensure_wheelhouse(rset)
    run_dir = args.work_dir.resolve() / f"run-{rset.name}"
    shutil.rmtree(run_dir, ignore_errors=True)
    (run_dir / "logs").mkdir(parents=True)
    meter = Meter(run_dir)
    envsync_desc, envsync_env = envsync_under_test(args.envsync_rev)
    report = Report(
        set_name=rset.name,
        packages=len(rset.pins),
        runs=args.runs,
        command=" ".join([".venv/bin/python", "bench/run.py", *argv]),
        machine=describe_machine(),
        versions=describe_tools(envsync_desc),
        measurement={
            "peak RSS": f"{GNU_TIME} -f %M" if meter.wrapped else "os.wait4 ru_maxrss",
            "wrapper overhead subtracted": f"{meter.overhead * 1000:.2f} ms per command",
            "work dir": f"{run_dir} ({filesystem_of(run_dir)})",
            "wheelhouse": f"{wheelhouse.name} ({len(list(wheelhouse.glob('*.whl')))} wheels)",
            "index latency": f"{args.latency:g} ms before each answer"
            + (f", {2 * args.latency:g} ms before each new connection" if args.latency else ""),
            "load average at start (1, 5, 15 min)": _load(),
        },
    )
    if not meter.wrapped:
        floor = f"{meter.baseline_rss_kib / 1024:.0f} MiB"
        report.measurement["RSS floor (this process, included in every figure)"] = floor
    tls = ensure_certificates()
    with WheelhouseIndex(wheelhouse, tls, latency=args.latency / 1000) as index:
        print(f"serving {wheelhouse} at {index.url}; logs in {run_dir / 'logs'}", flush=True)
        bench = Bench(rset, run_dir / "logs", meter)
        tools = [
            TOOLS[name](
                run_dir / name,
                index.url,
                {**trust_env(tls), **(envsync_env if issubclass(TOOLS[name], Envsync) else {})},
            )
            for name in tool_names
        ]
        started = time.perf_counter()
        try:
            for scenario in scenarios:
                report.results[scenario.key] = run_scenario(bench, scenario, tools, args.runs)
        except CommandFailedError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        elapsed = time.perf_counter() - started
    report.measurement["load average at end (1, 5, 15 min)"] = _load()
    results = args.results or WORK / f"results-{rset.name}.json"
    save(report, results)
    print(f"\n{len(scenarios)} scenario(s) in {elapsed:.0f} s; results in {results}\n")
    print(
        "\n".join(
            f"- {k}: {v}"
            for k, v in {**report.machine, **report.versions, **report.measurement}.items()
        )
    )
    print(f"\n{render(report)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
