"""Install a benchmark set with envsync's native installer and with pip, and compare the venvs.

    .venv/bin/python bench/compare_installers.py --set large
    .venv/bin/python bench/compare_installers.py --set small --keep   # keep the two venvs

Every wheel the set pins (bench/sets/<set>.txt, from the wheelhouse bench/run.py uses, served
over HTTPS on 127.0.0.1) goes into two fresh venvs made with `python -m venv --without-pip`:
`native/` by `NativeInstaller().install(...)` run in this process, `pip/` by pip as envsync's
pip backend runs it (`pip --python VENV install --no-deps --require-hashes
--ignore-requires-python --no-compile -r FILE` of pinned URLs with hashes). Both get the same
URLs and hashes, cold caches under <work-dir>/compare-<set>/cache/ and no pip configuration.

Then, as tests/e2e/test_nativeinstall.py does for the test index: the same distributions, the
same files (bytecode caches aside), the same RECORD rows (INSTALLER's left out, console-script
launchers by path only: each installer has its own template), INSTALLER saying `envsync` and
`pip`, direct_url.json byte for byte, every console script executable with the shebang
`#!<its venv's python>` (other scripts the same in both but for that path), and `pip check`
clean in both venvs. One line per check, the first 20 differences of each kind; exit code 0
when the venvs are the same, 1 otherwise. The installers' times are printed for information.
"""

from __future__ import annotations

import argparse
import csv
import importlib.metadata
import os
import shutil
import subprocess
import sys
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from common import SET_NAMES, WORK, RequirementSet, isolated_env, load_set
from packaging.utils import canonicalize_name, parse_wheel_filename
from packaging.version import Version
from wheelhouse import WheelhouseIndex, ensure_certificates, ensure_wheelhouse, trust_env

from envsync.core.lockfile import Artifact, Wanted
from envsync.core.spec import IndexConfig
from envsync.install.native import NativeInstaller
from envsync.install.protocol import requirement_line
from envsync.venv.environment import probe_venv

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from support.pkgindex import DistFile

#: Where RECORD says console scripts are, relative to site-packages.
BIN = "../../../bin/"
#: Differences listed per check.
SHOWN = 20
SCRIPT_GROUPS = ("console_scripts", "gui_scripts")
PIP = [sys.executable, "-m", "pip"]


@dataclass
class Check:
    """One comparison: what it counted and what differed."""

    name: str
    summary: str
    differences: list[str] = field(default_factory=list)
    ok_word: str = "identical"

    def render(self) -> str:
        verdict = self.ok_word if not self.differences else f"{len(self.differences)} difference(s)"
        lines = [f"{self.name:<12} {self.summary:<44} {verdict}"]
        lines += [f"    {d}" for d in self.differences[:SHOWN]]
        if len(self.differences) > SHOWN:
            lines.append(f"    ... and {len(self.differences) - SHOWN} more")
        return "\n".join(lines)


@dataclass(frozen=True)
class Venv:
    """One of the two venvs and who filled it."""

    root: Path
    installer: str

    @property
    def python(self) -> Path:
        return self.root / "bin" / "python"

    @property
    def site_packages(self) -> Path:
        return next(self.root.glob("lib/python*/site-packages"))

    def dist_infos(self) -> dict[str, Path]:
        return {p.name: p for p in self.site_packages.glob("*.dist-info")}


# -- installing -----------------------------------------------------------------------------


def wheel_of(index: WheelhouseIndex, name: str, version: str) -> DistFile:
    """The wheelhouse's wheel of *name* == *version* (by the wheel file name)."""
    key = (canonicalize_name(name), Version(version))
    for dist in index.files():
        if dist.filename.endswith(".whl") and parse_wheel_filename(dist.filename)[:2] == key:
            return dist
    raise SystemExit(f"no wheel of {name}=={version} in {index.root}")


def wanted_packages(rset: RequirementSet, index: WheelhouseIndex) -> list[Wanted]:
    """One Wanted per pin: its wheel in the wheelhouse, at the index's /files/ URL."""
    packages = []
    for name, version in sorted(rset.pins.items()):
        dist = wheel_of(index, name, version)
        url = f"{index.base_url}/files/{urllib.parse.quote(dist.filename)}"
        artifact = Artifact(kind="wheel", url=url, sha256=dist.sha256, filename=dist.filename)
        wanted = Wanted(name=canonicalize_name(name), version=Version(version), artifact=artifact)
        packages.append(wanted)
    return packages


def make_venv(root: Path, installer: str) -> Venv:
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(root)], check=True)
    return Venv(root, installer)


def native_install(venv: Venv, packages: Sequence[Wanted], index_url: str) -> float:
    """Install in this process (its environment isolated first); the seconds it took."""
    info = probe_venv(venv.root)  # apply holds this already: not timed
    start = time.perf_counter()
    NativeInstaller().install(info, packages, index=IndexConfig(url=index_url))
    return time.perf_counter() - start


def pip_install(venv: Venv, packages: Iterable[Wanted], folder: Path) -> float:
    """pip as envsync's pip backend runs it; the seconds it took. Output in pip-install.log."""
    reqs = folder / "requirements.txt"
    reqs.write_text("".join(f"{requirement_line(p)}\n" for p in packages), "utf-8")
    argv = [*PIP, "--python", str(venv.python), "install", "--no-deps", "--require-hashes"]
    argv += ["--ignore-requires-python", "--no-compile", "-r", str(reqs)]
    log = folder / "pip-install.log"
    start = time.perf_counter()
    with log.open("wb") as out:
        proc = subprocess.run(
            argv, check=False, env=isolated_env(), stdout=out, stderr=subprocess.STDOUT
        )
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        tail = "".join(log.read_text("utf-8", "replace").splitlines(keepends=True)[-30:])
        raise SystemExit(f"pip install failed (exit {proc.returncode}), see {log}:\n{tail}")
    return seconds


def isolate_this_process(cache: Path, trust: dict[str, str]) -> None:
    """The environment of bench/run.py's tools, here too: no pip/uv configuration, no proxies.

    ENVSYNC_CACHE_DIR and XDG_CACHE_HOME (pip's cache) point into *cache*; the trust variables
    make urllib (envsync) and pip trust the bench CA.
    """
    env = isolated_env(
        {
            **trust,
            "ENVSYNC_CACHE_DIR": str(cache / "envsync"),
            "XDG_CACHE_HOME": str(cache),
        }
    )
    os.environ.clear()
    os.environ.update(env)


# -- comparing ------------------------------------------------------------------------------


def one_sided(native: Iterable[object], pip: Iterable[object], prefix: str = "") -> list[str]:
    """What only one side has, as readable lines."""
    a, b = set(native), set(pip)
    return [f"only native: {prefix}{x}" for x in sorted(a - b, key=str)] + [
        f"only pip:    {prefix}{x}" for x in sorted(b - a, key=str)
    ]


def installed(venv: Venv) -> set[tuple[str, Version]]:
    """(normalized name, version) of every dist-info folder."""
    found = set()
    for name in venv.dist_infos():
        project, _, version = name.removesuffix(".dist-info").partition("-")
        found.add((str(canonicalize_name(project)), Version(version)))
    return found


def check_packages(native: Venv, pip: Venv, packages: Sequence[Wanted]) -> Check:
    expected = {(str(p.name), p.version) for p in packages}
    diffs = one_sided(native.dist_infos(), pip.dist_infos())
    for venv in (native, pip):
        found = installed(venv)
        diffs += [f"{venv.installer}: missing {n}=={v}" for n, v in sorted(expected - found)]
        diffs += [f"{venv.installer}: unexpected {n}=={v}" for n, v in sorted(found - expected)]
    return Check("packages", f"{len(native.dist_infos())} dist-info folders", diffs)


def files(venv: Venv) -> set[str]:
    """Every file and folder in the venv, relative to it, without bytecode caches."""
    return {
        p.relative_to(venv.root).as_posix()
        for p in venv.root.rglob("*")
        if "__pycache__" not in p.parts
    }


def check_files(native: Venv, pip: Venv) -> Check:
    found = files(native)
    return Check("files", f"{len(found)} files and folders", one_sided(found, files(pip)))


def records(venv: Venv) -> dict[str, set[tuple[str, ...]]]:
    """Each dist's RECORD rows, except INSTALLER's; console scripts by path only."""
    out = {}
    for name, dist_info in venv.dist_infos().items():
        rows = csv.reader((dist_info / "RECORD").read_text("utf-8").splitlines())
        out[name] = {
            (row[0],) if row[0].startswith(BIN) else tuple(row)
            for row in rows
            if not row[0].endswith("/INSTALLER")
        }
    return out


def check_records(native: Venv, pip: Venv) -> Check:
    mine, theirs = records(native), records(pip)
    diffs = []
    for dist in sorted(mine.keys() & theirs.keys()):
        diffs += one_sided(map(",".join, mine[dist]), map(",".join, theirs[dist]), f"{dist}: ")
    rows = sum(map(len, mine.values()))
    return Check("RECORD", f"{rows} rows (INSTALLER rows left out)", diffs)


def check_installer(native: Venv, pip: Venv) -> Check:
    diffs = []
    for venv in (native, pip):
        for name, dist_info in sorted(venv.dist_infos().items()):
            text = (dist_info / "INSTALLER").read_text("utf-8")
            if text != f"{venv.installer}\n":
                diffs.append(f"{venv.installer}: {name}/INSTALLER holds {text!r}")
    n = len(native.dist_infos())
    return Check("INSTALLER", f"{n} 'envsync', {len(pip.dist_infos())} 'pip'", diffs, "as expected")


def check_direct_urls(native: Venv, pip: Venv) -> Check:
    diffs, same = [], 0
    theirs = pip.dist_infos()
    for name, dist_info in sorted(native.dist_infos().items()):
        if name not in theirs:
            continue  # reported by the package comparison
        mine, other = dist_info / "direct_url.json", theirs[name] / "direct_url.json"
        if not (mine.is_file() and other.is_file()):
            diffs.append(f"{name}/direct_url.json: native {mine.is_file()}, pip {other.is_file()}")
        elif mine.read_bytes() != other.read_bytes():
            diffs.append(f"{name}/direct_url.json: {mine.read_bytes()!r} != {other.read_bytes()!r}")
        else:
            same += 1
    return Check("direct_url", f"{same} direct_url.json files byte for byte", diffs)


# -- scripts --------------------------------------------------------------------------------


def launchers(venv: Venv) -> set[str]:
    """The names of every console and GUI script the venv's dists declare."""
    names = set()
    for dist_info in venv.dist_infos().values():
        entry_points = importlib.metadata.PathDistribution(dist_info).entry_points
        names |= {ep.name for ep in entry_points if ep.group in SCRIPT_GROUPS}
    return names


def recorded_scripts(venv: Venv) -> set[str]:
    """The names of the files RECORD puts in bin/ (launchers and the wheels' own scripts)."""
    rows = (row[0] for rows in records(venv).values() for row in rows)
    return {path.removeprefix(BIN) for path in rows if path.startswith(BIN)}


def launcher_problems(venv: Venv, names: Iterable[str]) -> list[str]:
    """Launchers that are missing, not executable, or start other than `#!<venv python>`."""
    problems = []
    for name in sorted(names):
        path = venv.root / "bin" / name
        if not path.is_file():
            problems.append(f"{venv.installer}: bin/{name} missing")
            continue
        first = path.read_bytes().split(b"\n", 1)[0].decode("utf-8", "replace")
        if first != f"#!{venv.python}":
            problems.append(f"{venv.installer}: bin/{name} starts with {first!r}")
        if not os.access(path, os.X_OK):
            problems.append(f"{venv.installer}: bin/{name} is not executable")
    return problems


def script_problems(native: Venv, pip: Venv, names: Iterable[str]) -> list[str]:
    """Other scripts: the same bytes but for the interpreter's path, the same mode."""
    problems = []
    for name in sorted(names):
        mine, theirs = native.root / "bin" / name, pip.root / "bin" / name
        if not (mine.is_file() and theirs.is_file()):
            continue  # reported by the file comparison
        own = mine.read_bytes().replace(bytes(native.python), bytes(pip.python))
        if own != theirs.read_bytes():
            problems.append(f"bin/{name} differs (beyond the interpreter's path)")
        if mine.stat().st_mode & 0o777 != theirs.stat().st_mode & 0o777:
            modes = f"{mine.stat().st_mode & 0o777:o} != {theirs.stat().st_mode & 0o777:o}"
            problems.append(f"bin/{name} mode {modes}")
    return problems


def check_scripts(native: Venv, pip: Venv) -> Check:
    entry = launchers(native) | launchers(pip)
    recorded = recorded_scripts(native) | recorded_scripts(pip)
    diffs = launcher_problems(native, entry) + launcher_problems(pip, entry)
    diffs += script_problems(native, pip, recorded - entry)
    summary = f"{len(entry)} launchers, {len(recorded - entry)} other scripts"
    return Check("scripts", summary, diffs, "as expected")


def check_pip_check(native: Venv, pip: Venv) -> Check:
    diffs = []
    for venv in (native, pip):
        argv = [*PIP, "--python", str(venv.python), "check"]
        proc = subprocess.run(argv, check=False, capture_output=True, text=True, env=isolated_env())
        if proc.returncode != 0:
            diffs += [
                f"{venv.installer}: {line}" for line in (proc.stdout + proc.stderr).split("\n")
            ]
    return Check("pip check", "both venvs", [d for d in diffs if not d.endswith(": ")], "clean")


def compare(native: Venv, pip: Venv, packages: Sequence[Wanted]) -> list[Check]:
    return [
        check_packages(native, pip, packages),
        check_files(native, pip),
        check_records(native, pip),
        check_installer(native, pip),
        check_direct_urls(native, pip),
        check_scripts(native, pip),
        check_pip_check(native, pip),
    ]


# -- command line ---------------------------------------------------------------------------


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--set", choices=SET_NAMES, default="large", dest="set_name")
    parser.add_argument(
        "--work-dir",
        type=Path,
        default=WORK,
        help="where the venvs and caches go: DIR/compare-<set>/ (default: bench/.work)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the two venvs afterwards")
    return parser.parse_args(argv)


def pip_version() -> str:
    proc = subprocess.run(
        [*PIP, "--version"], check=False, capture_output=True, text=True, env=isolated_env()
    )
    return proc.stdout.split(" from ")[0]


def install_both(
    folder: Path, packages: Sequence[Wanted], index_url: str
) -> tuple[Venv, Venv, float, float]:
    native = make_venv(folder / "native", "envsync")
    pip = make_venv(folder / "pip", "pip")
    native_seconds = native_install(native, packages, index_url)
    pip_seconds = pip_install(pip, packages, folder)
    return native, pip, native_seconds, pip_seconds


def main(argv: Sequence[str]) -> int:
    args = parse_args(argv)
    rset = load_set(args.set_name)
    wheelhouse = ensure_wheelhouse(rset)
    tls = ensure_certificates()
    folder = args.work_dir.resolve() / f"compare-{rset.name}"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    isolate_this_process(folder / "cache", trust_env(tls))
    with WheelhouseIndex(wheelhouse, tls) as index:
        packages = wanted_packages(rset, index)
        print(f"set {rset.name}: {len(packages)} wheels served from {index.url}", flush=True)
        native, pip, native_s, pip_s = install_both(folder, packages, index.url)
    print(f"time, envsync native installer: {native_s:6.1f} s (in this process, cold cache)")
    print(f"time, {pip_version():<24} {pip_s:6.1f} s (--no-compile, cold cache)\n")
    checks = compare(native, pip, packages)
    print("\n".join(check.render() for check in checks))
    same = not any(check.differences for check in checks)
    print(f"\nresult: {'identical' if same else 'DIFFERENT'}")
    if args.keep:
        print(f"venvs kept: {native.root} and {pip.root}")
    else:
        shutil.rmtree(folder)
        if not same:
            print("(run again with --keep to look at the venvs)")
    return 0 if same else 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
