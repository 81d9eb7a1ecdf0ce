"""Regenerate bench/sets/*.txt from bench/sets/*.in with pip-compile (the real resolver).

    .venv/bin/python bench/compile_sets.py            # every set, plus add.txt
    .venv/bin/python bench/compile_sets.py medium     # one set

pip-compile runs isolated from this machine's pip configuration (no PIP_* variables, no
pip.conf) against pip's default index, and only considers wheels (`--only-binary=:all:`), so
every pin has a wheel for the interpreter running it (CPython 3.11 on x86_64 Linux here).
Existing pins are kept; delete a .txt file first to re-resolve it from scratch.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from common import SET_NAMES, SETS, WORK, isolated_env


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


def main(argv: list[str]) -> int:
    for name in argv or [*SET_NAMES, "add"]:
        compile_set(name)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
