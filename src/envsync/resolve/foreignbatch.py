"""Several foreign targets resolved by one pip process, one after another. SUBPROCESS + FILES.

A pip process spends about a quarter of its time importing pip, and a lock for several
platforms resolves most of its targets *for* them (``foreign``), each through the same pip
route. So the foreign targets of one lock run can share a process: a boot script imports pip
once and runs pip's own ``main`` for each target in turn, in the target's working folder,
with the target's marker environment in place of pip's (as ``foreign.BOOT`` does for one).

The batch is an optimisation only: a target whose run fails in it, or a batch that cannot
start, is resolved again on its own (``Resolver.resolve``), so every failure reads exactly
as it does alone, with its retries, its pins let go and its hints.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from envsync.errors import EnvsyncError
from envsync.resolve import foreign
from envsync.resolve.inputs import write_inputs

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from envsync.index.pipaccess import PipAccess
    from envsync.resolve.compile_output import Pin
    from envsync.resolve.protocol import ResolveRequest

__all__ = ["BATCH_BOOT", "Job", "run_batch"]

#: pip's exit code and output of one target, in its working folder.
_EXIT = "pip-exit.txt"
_OUTPUT = "pip-output.txt"
_JOBS = "jobs.json"
# argv[1], argv[2]: the shim and bytecode folders (as foreign.BOOT); argv[3]: the jobs file.
# Each job's marker environment is checked to take effect (foreign.TOOK_EFFECT).
BATCH_BOOT = f"""\
import contextlib, json, os, sys, traceback
sys.path.insert(0, sys.argv.pop(1)); sys.pycache_prefix = sys.argv.pop(1)
jobs = json.load(open(sys.argv.pop(1), encoding="utf-8"))
from pip._vendor.packaging import markers
from pip._internal.cli.main import main
getattr(markers, "{foreign.HOOK}")
for job in jobs:
    os.chdir(job["cwd"])
    env = job["markers"]
    setattr(markers, "{foreign.HOOK}", lambda env=env: dict(env))
    if not {foreign.TOOK_EFFECT}:
        sys.exit("the marker environment did not take effect")
    with open("{_OUTPUT}", "w", encoding="utf-8") as out:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
            try:
                code = main(job["args"])
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else 1
            except Exception:
                traceback.print_exc()
                code = 1
    with open("{_EXIT}", "w", encoding="utf-8") as done:
        done.write(str(code))
"""


class Job:
    """One target of a batch: its request, working folder and input files."""

    def __init__(self, request: ResolveRequest, work: Path) -> None:
        self.request = request
        self.work = work
        work.mkdir()
        self.inputs = write_inputs(work, request)
        foreign.write_constraints(work, request)

    def entry(self, access: PipAccess) -> dict[str, object]:
        """What the boot script needs to run this job."""
        return {
            "cwd": str(self.work),
            "markers": foreign.target_of(self.request).markers(),
            "args": foreign.pip_args(self.inputs, self.request, access),
        }

    def pins(self) -> list[Pin] | None:
        """The pins pip found for the target; None when its run failed (resolve it alone)."""
        try:
            code = (self.work / _EXIT).read_text("utf-8").strip()
        except OSError:
            return None  # the batch stopped before this target
        if code != "0":
            return None
        try:
            return foreign.pins_of(self.work, self.inputs, self.request)
        except EnvsyncError:
            return None


def run_batch(
    requests: Sequence[ResolveRequest],
    work: Path,
    access: PipAccess,
    run_boot: Callable[[Path], None],
) -> list[list[Pin] | None]:
    """Resolve *requests* in one pip process in *work*: each one's pins, or None if it failed.

    *run_boot* starts ``BATCH_BOOT`` with the jobs file it is given (raising EnvsyncError
    when the process fails as a whole: then every target is resolved alone).
    """
    jobs = [Job(request, work / f"target-{k}") for k, request in enumerate(requests)]
    listing = Path(work / _JOBS)
    listing.write_text(json.dumps([job.entry(access) for job in jobs]), "utf-8")
    try:
        run_boot(listing)
    except EnvsyncError:
        return [None] * len(jobs)
    return [job.pins() for job in jobs]
