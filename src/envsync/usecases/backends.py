"""The resolver and installer a run uses: the ones env.toml chooses, or the ones a caller gives."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from envsync.errors import EnvsyncError
from envsync.report import NullReporter, Reporter

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from pathlib import Path

    from envsync.core.spec import InstallerName, Spec
    from envsync.install.protocol import Installer
    from envsync.resolve.ahead import Ahead
    from envsync.resolve.protocol import Resolver
    from envsync.system.process import Runner
    from envsync.venv.earlyprobe import EarlyProbe

__all__ = ["Services", "installer_for", "resolver_for"]


@dataclass(frozen=True, kw_only=True, slots=True)
class Services:
    """The effects a use case runs against; tests and other backends swap them."""

    resolver: Resolver | None = None
    """Turns the spec into pins and artifacts; None: the backend env.toml chooses."""
    installer: Installer | None = None
    """Installs and removes dists; None: the backend env.toml chooses (``installer_for``)."""
    reporter: Reporter = field(default_factory=NullReporter)
    """Receives progress events."""
    ahead: Ahead | None = None
    """The resolver run the fast path started for this run's relock (``usecases.headstart``)."""
    probe: EarlyProbe | None = None
    """The probe of envsync's own Python the fast path started (``venv.earlyprobe``)."""
    replica: bool = False
    """Keep a venv this run creates as a replica (``usecases.replay``): the command line is
    one the replay path reads again. Started once its packages are in, kept by the caller."""


# The backends are imported when chosen: check and plan, which need none, start faster.


def resolver_for(spec: Spec, runner: Runner | None = None) -> Resolver:
    """The resolver backend *spec* chooses (``[env] resolver``, pip-tools by default).

    *runner* starts its processes (``system.process.run`` when None).
    """
    from envsync.system.process import run  # noqa: PLC0415

    if spec.resolver == "pip-tools":
        from envsync.resolve.piptools import PipToolsResolver  # noqa: PLC0415

        return PipToolsResolver(runner=runner or run)
    from envsync.resolve.uv import UvResolver  # noqa: PLC0415

    uv = _require_uv("resolver", 'resolver = "pip-tools"')
    return UvResolver(uv=uv, runner=runner or run)


def find_uv() -> Path | None:
    """The uv binary on PATH, if any."""
    from envsync.resolve.uv import find_uv as on_path  # noqa: PLC0415

    return on_path()


def installer_for(
    spec: Spec, reporter: Reporter | None = None, *, verify: bool = False
) -> Installer:
    """The installer backend *spec* chooses (``[env] installer``, native by default).

    With *verify*, the native installer re-hashes each cache entry before linking from it.
    """
    return _INSTALLERS[spec.installer](spec, reporter or NullReporter(), verify)


def _native(spec: Spec, reporter: Reporter, verify: bool) -> Installer:
    # Imported here: plan, check and an apply with nothing to do never load it.
    from envsync.install.native import NativeInstaller  # noqa: PLC0415

    return NativeInstaller(
        compile_bytecode=spec.compile_bytecode,
        link_mode=spec.link_mode,
        rehash_cache=verify,
        reporter=reporter,
    )


def _pip(_spec: Spec, _reporter: Reporter, _verify: bool) -> Installer:
    from envsync.install.pip import PipInstaller  # noqa: PLC0415

    return PipInstaller()


def _uv(spec: Spec, _reporter: Reporter, _verify: bool) -> Installer:
    from envsync.install.uv import UvInstaller  # noqa: PLC0415

    uv = _require_uv("installer", 'installer = "native" (or "pip")')
    return UvInstaller(uv=uv, compile_bytecode=spec.compile_bytecode, link_mode=spec.link_mode)


#: The backends ``[env] installer`` names, each made from the spec, the reporter and whether
#: ``--verify`` asks for cached files to be re-hashed (pip and uv re-read the archives anyway).
_INSTALLERS: Mapping[InstallerName, Callable[[Spec, Reporter, bool], Installer]] = {
    "native": _native,
    "pip": _pip,
    "uv": _uv,
}


def _require_uv(key: str, instead: str) -> Path:
    """The uv binary for the ``[env] KEY = "uv"`` asking for it; else an error saying the fix."""
    uv = find_uv()
    if uv is None:
        msg = f'env.toml asks for {key} = "uv", but uv is not installed'
        raise EnvsyncError(msg, hint=f"install uv (pip install uv), or set {instead}")
    return uv
