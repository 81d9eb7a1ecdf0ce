"""Download a set's wheels once, and serve them as a PEP 503 / 691 index on 127.0.0.1 over HTTPS.

Pages and files come from the test suite's index, `tests/support/pkgindex.py` (imported:
`PackageIndex.respond` routes and renders, with PEP 658 metadata files), with the file list
read once, since the wheelhouse does not change while the benchmark runs. It is served by
envsync's loopback server, as that index is (threaded, HTTP/1.1 keep-alive, TCP_NODELAY,
listen backlog 128), with two additions, both so that every tool behaves as it does against
PyPI:

* HTTPS, with a throw-away CA made by `openssl` under bench/.work/tls/ that the tools trust
  through SSL_CERT_FILE (pip >= 24.2 via truststore, envsync's urllib, uv) and
  REQUESTS_CA_BUNDLE (the older pip that `python -m venv` seeds, which runs pip-sync's
  installs). Over plain http:// pip mounts no HTTP cache at all (only https:// and
  --trusted-host origins are cached), so a "warm cache" would mean nothing for pip-based tools.
* PyPI's Cache-Control headers: files and their metadata are immutable, project pages may be
  reused for 10 minutes.
"""

from __future__ import annotations

import dataclasses
import hashlib
import platform
import ssl
import subprocess
import sys
import time
from typing import TYPE_CHECKING

from common import (
    LOCK_PLATFORMS,
    LOCK_PYTHONS,
    REPO,
    SETS,
    WORK,
    RequirementSet,
    add_package,
    isolated_env,
    normalize,
    read_marked_pins,
    targets_file,
)
from packaging.markers import Marker
from packaging.utils import parse_wheel_filename
from packaging.version import Version

from envsync.core.targets import PLATFORMS, LockTarget
from envsync.index.loopback import LoopbackHandler, LoopbackServer, Response

sys.path.insert(0, str(REPO / "tests"))
from support.pkgindex import DistFile, PackageIndex

if TYPE_CHECKING:
    from email.message import Message
    from pathlib import Path

_FILES_CACHE = "max-age=365000000, immutable, public"
_PAGES_CACHE = "max-age=600, public"
_MARKER = ".complete"


def _wanted(rset: RequirementSet) -> dict[str, str]:
    name, version = add_package()
    return {**rset.pins, name: version}


def _fingerprint(wanted: dict[str, str]) -> str:
    text = "".join(f"{name}=={version}\n" for name, version in sorted(wanted.items()))
    return hashlib.sha256(text.encode()).hexdigest()


#: A lock's linux target takes manylinux_2_28 and older (envsync's core/targets.py). pip
#: would pick the newest wheel this machine takes, which may need a newer glibc
#: (manylinux_2_34), where a real index offers an older one too; pip does not widen a
#: PEP 600 tag given with --platform to the older ones, so each is named.
_LINUX_FLOOR = tuple(
    f"--platform={tag}_{platform.machine()}"
    for tag in (
        *(f"manylinux_2_{minor}" for minor in range(28, 4, -1)),
        "manylinux2014",
        "manylinux2010",
        "manylinux1",
        "linux",
    )
)


def ensure_wheelhouse(rset: RequirementSet) -> Path:
    """Return bench/.work/wheelhouse-<set>/, downloading it first unless already complete.

    `pip download --only-binary=:all: --no-deps` of sets/<set>.txt and sets/add.txt, isolated
    from this machine's pip configuration, from pip's default index. A marker file records
    what was downloaded, so a changed set is fetched again (pip skips files it already has).
    """
    folder = WORK / f"wheelhouse-{rset.name}"
    wanted = _wanted(rset)
    marker = folder / _MARKER
    if marker.is_file() and marker.read_text("utf-8") == _fingerprint(wanted):
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    print(f"downloading the {rset.name} wheelhouse ({len(wanted)} wheels) into {folder} ...")
    argv = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--only-binary=:all:",
        "--no-deps",
        "--quiet",
        f"--dest={folder}",
        *_LINUX_FLOOR,
        "-r",
        str(rset.pinned_file),
        "-r",
        str(SETS / "add.txt"),
    ]
    subprocess.run(argv, env=isolated_env(local_only=False), check=True)
    _check_complete(folder, wanted)
    marker.write_text(_fingerprint(wanted), "utf-8")
    return folder


def _check_complete(folder: Path, wanted: dict[str, str]) -> None:
    """Fail unless the folder holds exactly one wheel of each wanted pin and nothing else."""
    found: dict[str, list[str]] = {}
    for wheel in folder.glob("*.whl"):
        name, version = wheel.name.split("-")[:2]
        found.setdefault(normalize(name), []).append(version)
    problems = [
        f"{name}=={version}: found {found.get(name, [])}"
        for name, version in wanted.items()
        if found.get(name) != [version]
    ]
    problems += [f"unexpected wheel for {name}" for name in found if name not in wanted]
    if problems:
        raise SystemExit(
            f"wheelhouse {folder} is not what the set pins:\n  " + "\n  ".join(problems)
        )


# -- the wheelhouse of the multi-target tools -----------------------------------------------


def lock_targets() -> list[LockTarget]:
    """The targets of the multi-target tools (common.LOCK_PYTHONS x LOCK_PLATFORMS)."""
    return [
        LockTarget(python=v, platform=PLATFORMS[p]) for v in LOCK_PYTHONS for p in LOCK_PLATFORMS
    ]


def _target_pins(rset: RequirementSet) -> dict[LockTarget, list[str]]:
    """For each lock target, the pins of sets/<set>-targets.txt whose marker it matches."""
    path = targets_file(rset.name)
    if not path.is_file():
        raise SystemExit(f"{path} is missing: run bench/compile_sets.py --targets {rset.name}")
    pins = read_marked_pins(path)
    return {
        target: [
            f"{name}=={version}"
            for name, (version, marker) in sorted(pins.items())
            if marker is None or Marker(marker).evaluate(target.markers())
        ]
        for target in lock_targets()
    }


def ensure_target_wheelhouse(rset: RequirementSet) -> Path:
    """Return bench/.work/wheelhouse-<set>-targets/, downloading it first unless complete.

    For each lock target, `pip download --no-deps --only-binary=:all:` of the pins it needs
    with its Python version, ABI and platform tags (envsync's own: core/targets.py), so that
    every target, this machine's or not, finds a wheel of each pin; isolated from this
    machine's pip configuration, as the set's own wheelhouse is. A pure wheel is fetched once.
    """
    folder = WORK / f"wheelhouse-{rset.name}-targets"
    wanted = _target_pins(rset)
    text = "".join(f"{t.python} {t.platform.name}: {' '.join(p)}\n" for t, p in wanted.items())
    fingerprint = hashlib.sha256(text.encode()).hexdigest()
    marker = folder / _MARKER
    if marker.is_file() and marker.read_text("utf-8") == fingerprint:
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    for target, pins in wanted.items():
        print(f"downloading {len(pins)} wheels for {target} into {folder} ...", flush=True)
        requirements = folder / f".requirements-{target.python}-{target.platform.name}.txt"
        requirements.write_text("".join(f"{pin}\n" for pin in pins), "utf-8")
        argv = [
            sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
            "--quiet", f"--dest={folder}", f"--python-version={target.python}",
            "--implementation=cp", f"--abi=cp{target.python.replace('.', '')}",
            *(f"--platform={tag}" for tag in target.platform.tags), "-r", str(requirements),
        ]  # fmt: skip
        subprocess.run(argv, env=isolated_env(local_only=False), check=True)
    _check_targets(folder, wanted)
    marker.write_text(fingerprint, "utf-8")
    return folder


def _check_targets(folder: Path, wanted: dict[LockTarget, list[str]]) -> None:
    """Fail unless each target has a wheel of each of its pins, and no project two versions."""
    wheels = [parse_wheel_filename(w.name) for w in folder.glob("*.whl")]
    versions: dict[str, set[Version]] = {}
    for name, version, _, _ in wheels:
        versions.setdefault(name, set()).add(version)
    problems = [f"{n}: versions {sorted(map(str, v))}" for n, v in versions.items() if len(v) > 1]
    for target, pins in wanted.items():
        accepted = set(target.tags())
        have = {(n, v) for n, v, _, tags in wheels if tags & accepted}
        problems += [
            f"{target}: no wheel of {pin}"
            for pin in pins
            if (normalize(pin.split("==")[0]), Version(pin.split("==")[1])) not in have
        ]
    if problems:
        raise SystemExit(
            f"wheelhouse {folder} lacks what the targets need:\n  " + "\n  ".join(problems)
        )


# -- TLS --------------------------------------------------------------------------------------

_SERVER_EXTENSIONS = """\
subjectAltName=IP:127.0.0.1
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid
"""


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def ensure_certificates() -> Path:
    """Return bench/.work/tls/, holding ca.pem and server.pem/.key (made once with openssl).

    A CA plus a leaf certificate for IP 127.0.0.1 signed by it: uv (rustls/webpki) accepts
    no self-signed leaf as its own trust anchor.
    """
    folder = WORK / "tls"
    if (folder / "server.pem").is_file():
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    ec = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes")
    _openssl("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.pem", "-days", "3650",
             "-subj", "/CN=envsync bench CA",
             "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=folder)  # fmt: skip
    _openssl("req", *ec, "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=127.0.0.1",
             cwd=folder)  # fmt: skip
    (folder / "server.ext").write_text(_SERVER_EXTENSIONS, "utf-8")
    _openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
             "-CAcreateserial", "-days", "3650", "-extfile", "server.ext", "-out", "server.pem.tmp",
             cwd=folder)  # fmt: skip
    (folder / "server.pem.tmp").replace(folder / "server.pem")
    return folder


def trust_env(tls: Path) -> dict[str, str]:
    """The variables that make every tool trust the bench CA (and only it)."""
    ca = str(tls / "ca.pem")
    return {"SSL_CERT_FILE": ca, "REQUESTS_CA_BUNDLE": ca, "CURL_CA_BUNDLE": ca}


# -- the index --------------------------------------------------------------------------------


class _TlsHandler(LoopbackHandler):
    """The loopback handler, over TLS: the handshake runs here, in the handler's thread."""

    def setup(self) -> None:
        index = self.server.site
        assert isinstance(index, WheelhouseIndex)
        if index.latency:  # a new connection's TCP and TLS 1.3 handshakes: a round trip each
            time.sleep(2 * index.latency)
        self.request = index.context.wrap_socket(self.request, server_side=True)
        super().setup()


class WheelhouseIndex(PackageIndex):
    """The test index's pages over a fixed folder, served over HTTPS with PyPI's headers.

    Use as a context manager; `url` is the index URL to give the tools.
    """

    def __init__(self, root: Path, tls: Path, *, latency: float = 0.0) -> None:
        super().__init__(root)
        self._files = super().files()
        self.latency = latency
        """Seconds each answer waits before it is sent: a real index's round trip. Answers
        wait side by side (one thread per connection), as requests in flight do. A new
        connection waits twice that before its TLS handshake: its TCP and TLS handshakes
        cost a round trip each, which a client that keeps its connections pays once."""
        self.context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.context.load_cert_chain(tls / "server.pem", tls / "server.key")

    def files(self) -> list[DistFile]:
        """The folder's distributions, as read when the index was made."""
        return self._files

    def answer(self, path: str, headers: Message) -> Response:
        """The test index's answer, with PyPI's Cache-Control header on successes."""
        if self.latency:
            time.sleep(self.latency)
        response = super().answer(path, headers)  # no ETag, so If-None-Match changes nothing
        if response.status != 200:  # noqa: PLR2004 - HTTP OK
            return response
        policy = _FILES_CACHE if path.startswith("/files/") else _PAGES_CACHE
        return dataclasses.replace(response, headers=(*response.headers, ("Cache-Control", policy)))

    def serve(self) -> LoopbackServer:
        """An HTTPS server, quiet about clients that fail the handshake."""
        return LoopbackServer(
            self, name="wheelhouse", handler=_TlsHandler, quiet=(ConnectionError, ssl.SSLError)
        )

    @property
    def base_url(self) -> str:
        """`https://127.0.0.1:PORT` (no path)."""
        return f"https://127.0.0.1:{self.port}"
