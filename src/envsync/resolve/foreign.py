"""pip's resolver for a foreign lock target: its markers, its wheel tags. SUBPROCESS + FILES.

pip-compile resolves for the interpreter that runs it, and pip's ``--platform`` and
``--python-version`` change only which wheels fit: dependency markers are still evaluated
for the interpreter running pip (pip issue 11664). So for a target that is not the
interpreter's own (``ResolveRequest.foreign``), pip runs under a small boot script that
replaces ``pip._vendor.packaging.markers.default_environment``, through which every marker
pip evaluates gets its environment, with one returning the target's markers. pip then runs
``install --dry-run --report`` with the target's Python version, ABI and every platform tag,
wheels only (pip allows no other with ``--platform``).

pip's report lists what it would install, not why, so the ``via`` annotations pip-compile
would print are rebuilt here from each package's ``Requires-Dist``, evaluated for the
target with the extras asked of it; the pins are then what ``compile_output.parse`` gives
for pip-compile's output, and everything after is shared with the pip-tools backend.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from packaging.utils import canonicalize_name

from envsync.errors import ResolutionError
from envsync.resolve import pipreport
from envsync.resolve.compile_errors import NoVersionError
from envsync.resolve.inputs import editables

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence
    from pathlib import Path

    from envsync._types import NormalizedName
    from envsync.core.targets import LockTarget
    from envsync.index.pipaccess import PipAccess
    from envsync.resolve.compile_output import Pin
    from envsync.resolve.protocol import ResolveRequest

__all__ = [
    "BOOT",
    "HOOK",
    "TOOK_EFFECT",
    "NoWheelError",
    "PipHookError",
    "pins_of",
    "pip_args",
    "pip_argv",
    "resolve",
    "target_of",
    "write_constraints",
]

#: The function of pip's vendored ``packaging.markers`` that the boot script replaces.
HOOK = "default_environment"
#: What the boot script prints when pip no longer evaluates markers through HOOK.
_HOOK_MISSING = "envsync-pip-hook:"
#: A Python expression, true once pip's ``markers`` evaluate for the target's environment
#: ``env``: a pip that kept HOOK's name but stopped using it fails it too. Every boot script
#: that puts a target's markers into pip (this one's, ``foreignbatch``'s) checks it.
TOOK_EFFECT = (
    'markers.Marker(\'sys_platform == "%s" and python_full_version == "%s"\' '
    "% (env['sys_platform'], env['python_full_version'])).evaluate()"
)
# argv[1], argv[2]: the shim folder and the bytecode folder (as piptools' boot scripts);
# argv[3]: HOOK; argv[4]: the target's markers as JSON.
BOOT = f"""\
import json, runpy, sys
sys.path.insert(0, sys.argv.pop(1)); sys.pycache_prefix = sys.argv.pop(1)
hook, env = sys.argv.pop(1), json.loads(sys.argv.pop(1))
try:
    from pip._vendor.packaging import markers
    getattr(markers, hook)
    setattr(markers, hook, lambda: dict(env))
    ok = {TOOK_EFFECT}
except (ImportError, AttributeError):
    ok = False
if not ok:
    import pip
    sys.exit("{_HOOK_MISSING} pip %s does not evaluate markers through "
             "pip._vendor.packaging.markers.%s" % (pip.__version__, hook))
sys.argv[0] = "pip"
runpy.run_module("pip", run_name="__main__")
"""
#: pip's installation report, and the pins to keep, in the working folder.
_REPORT = "report.json"
_CONSTRAINTS = "preferences.txt"


class NoWheelError(ResolutionError):
    """No version of a requirement has a wheel for a foreign target."""

    def __init__(self, requirement: str, target: LockTarget) -> None:
        super().__init__(
            f"no version of {requirement} from the configured indexes has a wheel for {target}",
            hint="check the name and version in env.toml; pip's resolver reads only wheels "
            f"when it resolves for another platform, so a package without a wheel for "
            f"{target.platform.name} cannot be resolved for it this way: set "
            'resolver = "uv" in env.toml, or drop it from [lock] platforms',
        )
        self.requirement = requirement
        self.target = target


class PipHookError(ResolutionError):
    """The pip envsync runs no longer lets it evaluate markers for another platform."""


def target_of(request: ResolveRequest) -> LockTarget:
    """The target of a foreign request (a foreign request without one is a caller's bug)."""
    if request.target is None:
        msg = "envsync was asked to resolve for another platform without naming the target"
        raise ResolutionError(msg)
    return request.target


def pip_argv(
    under_target: Sequence[str], inputs: Sequence[str], request: ResolveRequest, access: PipAccess
) -> list[str]:
    """``pip install --dry-run --report`` for the target, started by *under_target* + BOOT.

    *under_target* is the interpreter, ``-c BOOT`` and the shim and bytecode folders.
    """
    target = target_of(request)
    return [*under_target, HOOK, json.dumps(target.markers()), *pip_args(inputs, request, access)]


def pip_args(inputs: Sequence[str], request: ResolveRequest, access: PipAccess) -> list[str]:
    """Pip's own arguments for the target, with paths relative to the working folder."""
    target = target_of(request)
    python = target.python.replace(".", "")
    return [
        "install",
        "--dry-run",
        "--ignore-installed",
        "--quiet",
        f"--report={_REPORT}",
        "--only-binary=:all:",
        f"--python-version={target.python}",
        "--implementation=cp",
        f"--abi=cp{python}",
        *(f"--platform={tag}" for tag in target.platform.tags),
        *access.args,
        f"--constraint={_CONSTRAINTS}",
        *(arg for name in inputs for arg in ("-r", name)),
    ]


def write_constraints(work: Path, request: ResolveRequest) -> bool:
    """Write the pins to keep into *work*, as pip's constraints file; whether there are any."""
    return _write_constraints(work / _CONSTRAINTS, request)


def pins_of(work: Path, inputs: Sequence[str], request: ResolveRequest) -> list[Pin]:
    """The pins of the report pip wrote into *work* for the target of *request*."""
    named = editables(request)
    roots = {name: _read_roots(work / name, named) for name in inputs}
    report = _read_report(work / _REPORT)
    return pipreport.pins_from_report(report, roots, target_of(request).markers(), named)


def resolve(
    work: Path, inputs: Sequence[str], request: ResolveRequest, compile_step: Callable[[], None]
) -> list[Pin]:
    """Run *compile_step* (pip with ``pip_argv``) in *work*; the pins of pip's report."""
    target = target_of(request)
    preferring = _write_constraints(work / _CONSTRAINTS, request)
    try:
        _run_preferring(compile_step, work / _CONSTRAINTS, preferring=preferring)
    except NoVersionError as exc:
        raise NoWheelError(exc.requirement, target) from exc
    except ResolutionError as exc:
        if _HOOK_MISSING not in exc.message:
            raise
        raise _hook_error(exc.message, target) from exc
    return pins_of(work, inputs, request)


def _run_preferring(
    compile_step: Callable[[], None], constraints: Path, *, preferring: bool
) -> None:
    """Run pip with the pins to keep, and once more without them if it fails with them.

    pip's constraints are hard where pip-compile's pins are only preferred: a pin that no
    longer fits (another parent's range, no wheel for this target) must not fail the run.
    """
    try:
        compile_step()
    except ResolutionError as exc:
        if not preferring or _HOOK_MISSING in exc.message:
            raise
        constraints.write_text("", "utf-8")
        compile_step()


def _hook_error(output: str, target: LockTarget) -> PipHookError:
    line = next(
        (s.strip() for s in output.splitlines() if _HOOK_MISSING in s), output
    ).removeprefix(_HOOK_MISSING)
    return PipHookError(
        f"envsync cannot resolve for {target} with pip's resolver:{line}",
        hint="envsync replaces that function of pip's to evaluate markers for another "
        "platform; the pip it runs is outside the range envsync works with, so the pip "
        "range pinned in envsync's dependencies must be fixed (report it to envsync's "
        'maintainers); meanwhile, resolver = "uv" resolves for other platforms',
    )


def _write_constraints(path: Path, request: ResolveRequest) -> bool:
    """Write the pins to keep as pip constraints; whether there are any.

    As pip-compile keeps an existing pin only while it fits the top-level requirement of the
    same name, a pin outside that requirement's specifier (or of a package the requirements
    take from a URL or a folder) is left out; ``--upgrade-package`` names too, and every pin
    with ``upgrade``.
    """
    kept = {} if request.upgrade else dict(request.preferred)
    wanted = [*request.dependencies, *(r for g in request.groups for r in g.requirements)]
    local = {s.package for s in request.sources if s.path is not None}
    for req in wanted:
        name = canonicalize_name(req.name)
        version = kept.get(name)
        if version is not None and (
            req.url or name in local or not req.specifier.contains(version, prereleases=True)
        ):
            del kept[name]
    for name in (*request.upgrade_packages, *local):
        kept.pop(name, None)
    lines = [f"{name}=={version}\n" for name, version in sorted(kept.items())]
    path.write_text("".join(lines), "utf-8")
    return bool(lines)


def _read_roots(path: Path, named: Mapping[str, NormalizedName]) -> list[pipreport.Root]:
    """The lines of one input file envsync wrote."""
    return [pipreport.read_root(line, named) for line in path.read_text("utf-8").splitlines()]


def _read_report(path: Path) -> dict[str, Any]:
    try:
        report = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError) as exc:
        raise ResolutionError(f"could not read pip's installation report: {exc}") from exc
    if not isinstance(report, dict):
        raise ResolutionError("could not read pip's installation report: not a JSON object")
    return report
