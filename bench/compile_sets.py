"""Regenerate bench/sets/*.txt from bench/sets/*.in with pip-compile (the real resolver).

    .venv/bin/python bench/compile_sets.py            # every set, plus add.txt
    .venv/bin/python bench/compile_sets.py medium     # one set
    .venv/bin/python bench/compile_sets.py --targets medium   # sets/medium-targets.txt

pip-compile runs isolated from this machine's pip configuration (no PIP_* variables, no
pip.conf) against pip's default index, and only considers wheels (`--only-binary=:all:`), so
every pin has a wheel for the interpreter running it (CPython 3.11 on x86_64 Linux here).
Existing pins are kept; delete a .txt file first to re-resolve it from scratch.

`--targets SET` writes sets/<SET>-targets.txt for the multi-target tools: `uv pip compile
--universal` (the dev venv's uv, as isolated, wheels only) of <SET>.in and add.in, held to
the versions of <SET>.txt and add.txt, so that the only new pins are those other platforms
and Pythons need (each with its marker). The wheelhouse of those tools downloads, for each
lock target, the wheel of every pin whose marker the target matches.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from common import LOCK_PYTHONS, SET_NAMES, SETS, WORK, isolated_env, targets_file


def compile_set(name: str) -> None:
    """pip-compile sets/<name>.in into sets/<name>.txt."""
    pip_compile = Path(sys.executable).parent / "pip-compile"
    argv = [
        str(pip_compile),
        "--no-config",
        "--allow-unsafe",
        "--strip-extras",
        "--no-emit-index-url",
        "--no-emit-trusted-host",
        "--no-emit-find-links",
        "--pip-args=--only-binary=:all:",
        f"--cache-dir={WORK / 'compile-cache'}",
        "--quiet",
        f"--output-file={name}.txt",
        f"{name}.in",
    ]
    subprocess.run(argv, cwd=SETS, env=isolated_env(local_only=False), check=True)
    count = sum(
        1 for line in (SETS / f"{name}.txt").read_text("utf-8").splitlines() if "==" in line
    )
    print(f"{name}.txt: {count} pinned packages")


def compile_targets(name: str) -> None:
    """uv's universal resolution of sets/<name>.in + add.in into sets/<name>-targets.txt."""
    import uv  # noqa: PLC0415 - only this command needs it

    out = targets_file(name)
    argv = [
        uv.find_uv_bin(),
        "pip",
        "compile",
        "--universal",
        f"--python-version={min(LOCK_PYTHONS)}",
        "--only-binary=:all:",
        "--annotation-style=line",
        "--quiet",
        f"--output-file={out.name}",
        "-c",
        f"{name}.txt",
        "-c",
        "add.txt",
        f"{name}.in",
        "add.in",
    ]
    env = isolated_env({"UV_CACHE_DIR": str(WORK / "compile-cache-uv")}, local_only=False)
    subprocess.run(argv, cwd=SETS, env=env, check=True)
    count = sum(1 for line in out.read_text("utf-8").splitlines() if "==" in line)
    print(f"{out.name}: {count} pinned packages")


def main(argv: list[str]) -> int:
    if argv[:1] == ["--targets"]:
        for name in argv[1:] or ["medium"]:
            compile_targets(name)
        return 0
    for name in argv or [*SET_NAMES, "add"]:
        compile_set(name)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
