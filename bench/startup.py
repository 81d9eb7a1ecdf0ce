"""Start-up: ``envsync --version`` and ``envsync --help`` against ``python -c pass``.

Issue 13 asks both to take at most twice what the interpreter alone takes. Each command runs
*--runs* times in turn with the others (so a busy moment hits all three alike), isolated from
this machine's pip and uv configuration; the medians and their ratios to ``python -c pass``
are printed as a Markdown table.

    .venv/bin/python bench/startup.py --runs 30
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

from common import isolated_env

BIN = Path(sys.executable).parent
COMMANDS = {
    "python -c pass": [sys.executable, "-c", "pass"],
    "envsync --version": [str(BIN / "envsync"), "--version"],
    "envsync --help": [str(BIN / "envsync"), "--help"],
}


def _once(argv: list[str], env: dict[str, str]) -> float:
    began = time.perf_counter()
    subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - began


def main() -> None:
    """Time each command, interleaved, and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30, help="runs of each command")
    args = parser.parse_args()
    env = isolated_env()
    samples: dict[str, list[float]] = {name: [] for name in COMMANDS}
    for _ in range(args.runs):
        for name, argv in COMMANDS.items():
            samples[name].append(_once(argv, env))
    base = statistics.median(samples["python -c pass"])
    print(f"median of {args.runs} runs, ms (ratio to python -c pass)\n")
    print("| command | ms | ratio |\n| --- | --- | --- |")
    for name, found in samples.items():
        median = statistics.median(found)
        print(f"| `{name}` | {median * 1000:.1f} | {median / base:.2f}x |")


if __name__ == "__main__":
    main()
