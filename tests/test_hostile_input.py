"""Hostile input: bad env.toml, pylock.toml and imported files get one clear error, never a crash.

Two halves:

* the corpus, tests/data/hostile/cases.toml (and a few generated cases too big to write
  there): each bad file goes to every command that reads it, and each run must exit 1 with
  one ``error:`` message holding the expected text, at most one ``hint:``, no traceback, and
  the project left as it was;
* properties (hypothesis): random TOML documents, and mutations of a valid env.toml,
  pylock.toml, requirements.txt and pyproject.toml, go to the same commands; whatever the
  input, the exit code is one the README documents, and a failure is one well-formed error.

Everything runs in-process (``envsync.cli.main``, as the console script calls it) and
offline: the index is a 127.0.0.1 port nothing listens on, every proxy variable points at it
too, and retries are off, so a run that gets as far as the network fails at once.
"""

from __future__ import annotations

import json
import platform
import socket
import sys
import tempfile
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import tomli_w
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st
from packaging.version import Version

from envsync.core import lockfile
from envsync.core.spec import parse_spec
from envsync.errors import SpecError

from support.locks import single_lock
from support.runner import Result, envsync, envsync_process

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

if TYPE_CHECKING:
    from collections.abc import Iterator

DATA = Path(__file__).parent / "data" / "hostile"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


DEAD = f"http://127.0.0.1:{_free_port()}"
INDEX = f"{DEAD}/simple"
FILES = f"{DEAD}/files"
PYTHON = platform.python_version()
MINOR = ".".join(PYTHON.split(".")[:2])
PLACEHOLDERS = {"{index}": INDEX, "{files}": FILES, "{python}": PYTHON, "{minor}": MINOR}
# Python reads at most this many digits as one int; 0 where there is no limit (< 3.10.7).
MAX_DIGITS: int = getattr(sys, "get_int_max_str_digits", lambda: 0)()

BASE_SPEC = f"""\
[env]
dependencies = ["alpha>=1"]
default-groups = ["dev"]

[groups]
dev = ["beta"]

[index]
url = "{INDEX}"
"""

#: Every command that reads each kind of file; {file} is the file, the spec is --spec's.
COMMANDS = {
    "env.toml": ["plan", "plan --frozen", "check", "export", "lock", "apply", "run -- true"],
    "pylock.toml": [
        "plan --frozen",
        "plan",
        "apply --frozen",
        "apply",
        "check",
        "check --json",
        "export",
        "lock",
        "run --frozen -- true",
        "why alpha",
        "tree --invert",
    ],
    "requirements.txt": ["init --from {file}"],
    "pyproject.toml": ["init --from {file}"],
}
#: The exit codes each command may give (README, Exit codes); `run -- true` gives true's.
EXIT_CODES = {"check": {0, 1, 2}}
DEFAULT_EXIT_CODES = {0, 1}


def _base_lock() -> str:
    """envsync's own lock of BASE_SPEC, for the Python running the tests."""
    spec = parse_spec(BASE_SPEC, path=Path("/project/env.toml"))

    def file(name: str, digit: str) -> lockfile.LockedFile:
        return lockfile.LockedFile(
            filename=name, url=f"{FILES}/{name}", sha256=digit * 64, size=1000
        )

    def package(name: str, version: str, *files: lockfile.LockedFile, **more: Any):
        wheels = tuple(f for f in files if f.filename.endswith(".whl"))
        sdist = next((f for f in files if not f.filename.endswith(".whl")), None)
        return lockfile.ResolvedPackage(
            name=name, version=Version(version), wheels=wheels, sdist=sdist, index=INDEX, **more
        )

    packages = [
        package(
            "alpha",
            "1.0",
            file("alpha-1.0-py3-none-any.whl", "a"),
            file("alpha-1.0.tar.gz", "b"),
            groups=frozenset(),
            dependencies=("gamma",),
        ),
        package("beta", "2.0", file("beta-2.0-py3-none-any.whl", "c"), groups=frozenset({"dev"})),
        package("gamma", "0.5", file("gamma-0.5-py3-none-any.whl", "d"), groups=frozenset()),
    ]
    roots = {"": ["alpha"], "dev": ["beta"]}
    lock = single_lock(spec=spec, python=PYTHON, packages=packages, roots=roots)
    return lockfile.dumps(lock)


BASE_LOCK = _base_lock()
BASE = {"env.toml": BASE_SPEC, "pylock.toml": BASE_LOCK}


@pytest.fixture(scope="module", autouse=True)
def _offline() -> Iterator[None]:
    """No run may reach past 127.0.0.1, nor wait to retry a port that will never answer."""
    with pytest.MonkeyPatch.context() as patch:
        for name in ("http_proxy", "https_proxy", "all_proxy"):
            patch.setenv(name, DEAD)
            patch.setenv(name.upper(), DEAD)
        patch.delenv("no_proxy", raising=False)
        patch.delenv("NO_PROXY", raising=False)
        patch.setenv("ENVSYNC_HTTP_RETRIES", "0")
        # urllib builds its global opener, proxies included, at the first urlopen: the dead
        # proxies must not outlive this module in the tests that run after it.
        urllib.request.install_opener(None)
        try:
            yield
        finally:
            urllib.request.install_opener(None)


# --- running envsync and reading what it said ------------------------------------------------


def argv_of(command: str, spec: Path, file: Path) -> list[str]:
    """*command* with --spec after its name, before a `--` and what follows."""
    name, *rest = command.replace("{file}", str(file)).split(" ")
    return [name, "--spec", str(spec), *rest]


def error_of(result: Result, *, indented: bool = True) -> str:
    """The one error a failed run reported: an ``error:`` line, at most one ``hint:``, last.

    A spec's problems are listed on indented lines under the ``error:`` line; with
    *indented*, every line between the two must be one of those.
    """
    lines = result.err.splitlines()
    starts = [i for i, line in enumerate(lines) if line.startswith("error: ")]
    assert len(starts) == 1, result
    block = lines[starts[0] :]
    hints = [i for i, line in enumerate(block) if line.startswith("hint: ")]
    assert hints in ([], [len(block) - 1]), result
    if indented:
        assert all(line.startswith("  ") for line in block[1 : len(block) - len(hints)]), result
    return "\n".join(block)


def assert_sane(result: Result) -> None:
    """Whatever the input: a documented exit code, and a failure is one well-formed error."""
    assert "Traceback" not in result.err + result.out, result
    assert "internal error" not in result.err, result
    assert result.code in EXIT_CODES.get(result.argv[0], DEFAULT_EXIT_CODES), result
    # Whatever a file holds, what envsync says stays on its own lines: control characters and
    # line separators it quotes are escaped (errors.printable), only its own "\n" remain.
    assert all(line.isprintable() for line in result.err.split("\n")), result
    if result.code == 1:
        error_of(result)
    else:
        assert "error: " not in result.err, result
    if "--json" in result.argv:
        report = json.loads(result.out)
        assert report["exit_code"] == result.code, result
        assert (report["status"] == "error") == (result.code == 1), result


# --- the corpus --------------------------------------------------------------------------------


@dataclass
class Case:
    """One bad file and the error it must get (see the header of cases.toml)."""

    id: str
    file: str
    message: str
    text: str | None = None
    replace: list[list[str]] = field(default_factory=list)
    raw: str | None = None
    directory: bool = False
    commands: list[str] | None = None
    exit: int = 1

    def content(self) -> bytes | None:
        """The bad file's bytes; None for a folder."""
        if self.directory:
            return None
        if self.raw is not None:
            return (DATA / "raw" / self.raw).read_bytes()
        if self.text is not None:
            return _placed(self.text).encode("utf-8", "surrogatepass")
        text = BASE[self.file]
        for old, new in self.replace:
            assert text.count(_placed(old)) == 1, f"{self.id}: {old!r} is not in the base once"
            text = text.replace(_placed(old), _placed(new))
        return text.encode()


def _placed(text: str) -> str:
    for name, value in PLACEHOLDERS.items():
        text = text.replace(name, value)
    return text


REQUIREMENT = "env.dependencies[0]: expected a PEP 508 requirement"
MARKER_OF_LOCK = "must be a marker a lock can hold (PEP 751)"
PYTHON_VERSION = 'env.python: expected a Python version like "3.12" or a specifier like ">=3.11"'


def _generated() -> list[Case]:
    """Cases too big to write out: thousands deep, thousands of digits."""
    deep = "[" * 5000 + "]" * 5000
    digits = "1" + "0" * MAX_DIGITS
    many = f"a number of more than {MAX_DIGITS} digits"
    long = "libs/" * 900
    chain = "".join(f'g{i} = [{{ include-group = "g{i + 1}" }}]\n' for i in range(3000))
    cases = [
        Case(
            id="env: arrays nested 5000 deep",
            file="env.toml",
            text=f"[env]\ndependencies = {deep}\n",
            message="{file}: expected valid TOML, found arrays or tables nested too deeply",
        ),
        Case(
            id="env: inline tables nested 3000 deep",
            file="env.toml",
            text="env = " + "{ a = " * 3000 + "1" + " }" * 3000 + "\n",
            message="{file}: expected valid TOML, found arrays or tables nested too deeply",
        ),
        Case(
            id="env: a source path longer than a file system takes",
            file="env.toml",
            text=f'[env]\ndependencies = ["mylib"]\n[sources]\nmylib = {{ path = "{long}" }}\n',
            message="{file}:4: sources.mylib.path: expected a folder path, found "
            '"libs/libs/{...}... (a path of more than 4096 bytes)',
        ),
        Case(
            # Found by the exploring profile: the file:// index's page path was too long to
            # stat, and that OSError reached the user as an internal error.
            id="env: a package name longer than a file name, on a file:// index",
            file="env.toml",
            text='[env]\ndependencies = ["' + "x" * 300 + '"]\n[index]\nurl = "file:///"\n',
            message=f"no version of {'x' * 300} is available from the configured indexes",
            commands=["plan"],
        ),
        Case(
            id="env: a git URL through the ext:: transport, which runs a program",
            file="env.toml",
            text='[env]\ndependencies = ["x @ git+ext::sh%20-c%20touch%20pwned"]\n',
            message="{file}:2: env.dependencies[0]: expected a PEP 508 requirement, found "
            '"x @ git+ext::sh%20-c%20touch%20pwned" (git+ext: URLs are not supported: use '
            "git+https, git+ssh or git+file)",
        ),
        Case(
            id="lock: arrays nested 5000 deep",
            file="pylock.toml",
            text=f"packages = {deep}\n",
            message="{file} is not valid TOML: arrays or tables nested too deeply",
        ),
        Case(
            id="init: pyproject.toml nested 5000 deep",
            file="pyproject.toml",
            text=f"[project]\ndependencies = {deep}\n",
            message="{file}: not valid TOML (arrays or tables nested too deeply)",
        ),
        Case(
            id="init: pyproject.toml groups including each other 3000 deep",
            file="pyproject.toml",
            text=f'[dependency-groups]\n{chain}g3000 = ["alpha"]\n',
            message="{file}: include-group or extras naming each other nest too deeply",
        ),
    ]
    if not MAX_DIGITS:  # pragma: no cover - Python < 3.10.7 reads any number
        return cases
    return [
        *cases,
        Case(
            id="env: an integer too long for Python",
            file="env.toml",
            text=f"[env]\nkeep = [{digits}]\n",
            message=f"{{file}}: expected valid TOML, found {many}",
        ),
        Case(
            id="env: a version too long for Python",
            file="env.toml",
            text=f'[env]\ndependencies = ["alpha=={digits}"]\n',
            message=f'{REQUIREMENT}, found "alpha=={digits[:49]}... ({many})',
        ),
        Case(
            id="env: a marker version too long for Python",
            file="env.toml",
            text=f"[env]\ndependencies = [\"alpha; python_version < '{digits}'\"]\n",
            message=f"({many})",
        ),
        Case(
            id="env: a [lock] Python version too long for Python",
            file="env.toml",
            text=f'[env]\ndependencies = ["alpha"]\n[lock]\npython-versions = ["3.{digits}"]\n',
            message=f"{{file}}:4: lock.python-versions[0]: expected a Python minor version like"
            f' "3.12", found "3.{digits[:54]}... ({many})',
        ),
        Case(
            id="env: a python version too long for Python",
            file="env.toml",
            text=f'[env]\npython = "<{digits}"\n',
            message=f'{PYTHON_VERSION}, found "<{digits[:55]}... ({many})',
        ),
        Case(
            id="lock: a size too long for Python",
            file="pylock.toml",
            replace=[
                [
                    "size = 1000\n\n[packages.sdist.hashes]",
                    f"size = {digits}\n\n[packages.sdist.hashes]",
                ]
            ],
            message=f"{{file}} is not valid TOML: {many}",
        ),
        Case(
            id="lock: a version too long for Python",
            file="pylock.toml",
            replace=[['version = "2.0"', f'version = "{digits}"']],
            message=f"{{file}} is not a valid PEP 751 lock: {many} in 'packages[1].version'",
        ),
        Case(
            id="lock: a marker comparing a version too long for Python",
            file="pylock.toml",
            replace=[
                [
                    'marker = "\\"dev\\" in dependency_groups"',
                    f"marker = \"'dev' in dependency_groups and python_version < '{digits}'\"",
                ]
            ],
            message=f"{{file}}: packages[1].marker {MARKER_OF_LOCK}, found{{...}}({many})",
        ),
        Case(
            id="lock: requires-python too long for Python",
            file="pylock.toml",
            replace=[
                [
                    '[[packages]]\nname = "gamma"',
                    f'[[packages]]\nname = "gamma"\nrequires-python = "<{digits}"',
                ]
            ],
            message="{file}: packages[2].requires-python must be something envsync can compare",
        ),
        Case(
            id="lock: an environment too long for Python",
            file="pylock.toml",
            replace=[
                ['"python_version == \\"{minor}\\" and', f"\"python_version < '{digits}' and"]
            ],
            message=f"{{file}}: environments[0] {MARKER_OF_LOCK}, found{{...}}({many})",
        ),
        Case(
            id="init: pyproject.toml with an integer too long for Python",
            file="pyproject.toml",
            text=f"[tool.other]\nx = {digits}\n",
            message=f"{{file}}: not valid TOML ({many})",
        ),
    ]


CASES = [Case(**entry) for entry in tomllib.loads((DATA / "cases.toml").read_text("utf-8"))["case"]]
ALL_CASES = CASES + _generated()


def test_the_corpus_is_large_and_each_case_has_a_message():
    kinds = {kind: sum(case.file == kind for case in CASES) for kind in COMMANDS}
    assert len(CASES) >= 50
    assert kinds["env.toml"] >= 25
    assert kinds["pylock.toml"] >= 25
    assert len({case.id for case in ALL_CASES}) == len(ALL_CASES)
    assert all(case.message.strip() for case in ALL_CASES)


def test_the_base_project_is_valid_and_its_lock_fresh(tmp_path: Path):
    (tmp_path / "env.toml").write_text(BASE_SPEC)
    (tmp_path / "pylock.toml").write_text(BASE_LOCK)
    result = envsync(None, "check", project=tmp_path)
    # Drift (no venv), not an error: every corpus case fails because of its own edit.
    assert result.code == 2, result
    assert "lock: fresh" in result.out


def _project(case: Case, root: Path) -> tuple[Path, Path]:
    """Lay out the base project with *case*'s bad file; return the spec and the bad file."""
    spec = root / "env.toml"
    if case.file == "pylock.toml":
        spec.write_text(BASE_SPEC)
    bad = root / case.file
    content = case.content()
    if content is None:
        bad.mkdir()
    else:
        bad.write_bytes(content)
    return spec, bad


def _matches(expected: str, text: str) -> bool:
    """Whether *text* holds *expected*, where ``{...}`` in it stands for any text."""
    at = 0
    for part in expected.split("{...}"):
        at = text.find(part, at)
        if at < 0:
            return False
        at += len(part)
    return True


def _state(root: Path) -> dict[str, object]:
    """The project as files: a failed run must leave it as it was, and make no venv.

    The venv's inter-process lock file (``.venv.envsync.lock``, see venvlock.py) may stay:
    like any OS file lock, it is left in place once released.
    """
    return {
        str(p.relative_to(root)): p.read_bytes() if p.is_file() else None
        for p in sorted(root.rglob("*"))
        if not p.name.endswith(".envsync.lock")
    }


@pytest.mark.parametrize("case", ALL_CASES, ids=[case.id for case in ALL_CASES])
def test_a_bad_file_gets_one_clear_error_from_every_command(case: Case, tmp_path: Path):
    spec, bad = _project(case, tmp_path)
    before = _state(tmp_path)
    expected = _placed(case.message).replace("{file}", str(bad))
    commands = COMMANDS[case.file] if case.commands is None else case.commands
    assert commands
    for command in commands:
        result = envsync(None, *argv_of(command, spec, bad))
        assert result.code == case.exit, result
        assert_sane(result)
        assert _matches(expected, error_of(result)), result
        assert _state(tmp_path) == before, result


def test_the_console_script_gives_the_same_one_error(tmp_path: Path):
    (tmp_path / "env.toml").write_text('[env]\ndependencies = ["alpha >>> 1"]\n')
    proc = envsync_process(tmp_path, "plan")
    assert proc.returncode == 1
    reason = "Expected semicolon (after name with no version specifier) or end"
    assert proc.stderr.splitlines() == [
        f"error: {tmp_path / 'env.toml'} is not a valid envsync spec:",
        f'  {tmp_path / "env.toml"}:2: {REQUIREMENT}, found "alpha >>> 1" ({reason})',
        "hint: fix the keys above; the format is described in the README (env.toml)",
    ]


# --- properties: random and mutated files ------------------------------------------------------

# How many examples, and whether they are random, is the profile's (tests/conftest.py):
# HYPOTHESIS_PROFILE=explore hunts with 1000 random ones per property.
PROPERTY = settings(
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

KNOWN_KEYS = sorted(
    {
        *("env", "groups", "index", "indexes", "sources", "python", "venv", "dependencies"),
        *("lock", "python-versions", "platforms"),
        *("keep", "default-groups", "installer", "resolver", "url", "extra-urls", "path"),
        *("lock-version", "created-by", "packages", "name", "version", "wheels", "sdist"),
        *("hashes", "sha256", "marker", "environments", "tool", "envsync", "fingerprint"),
        *("project", "dependency-groups", "optional-dependencies", "requires-python"),
    }
)
INTERESTING = [
    *("", " ", "1.0", "3.12", ">=3", "dev", "alpha", "alpha>=1", "a" * 64, "sha256:"),
    *("http://127.0.0.1:1/x", "file:///", "ftp://x", "../..", "\x00", "\ufeff", "é", "\U0001f600"),
    *("x" * 300, "9" * 5000, "extra == 'x'", "'dev' in dependency_groups", "python_version < '3'"),
    *("alpha @ file:///nowhere", "alpha; os_name == 'nt'", "\x1b[2J", "\u202e", "\x85"),
    *("linux-x86_64", "linux-amd64", "macos-arm64", "3.11.2"),
]
SCALARS = st.one_of(
    st.sampled_from(INTERESTING),
    st.text(max_size=12),
    st.integers(),
    st.floats(),
    st.booleans(),
    st.datetimes(),
    st.dates(),
    st.times(),
)
KEYS = st.one_of(st.sampled_from(KNOWN_KEYS), st.text(min_size=1, max_size=8))
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(KEYS, inner, max_size=3),
    max_leaves=10,
)
DOCUMENTS = st.dictionaries(KEYS, VALUES, max_size=5).map(tomli_w.dumps)
SPECIAL = ['"', "'", "[", "]", "{", "}", "=", ",", ".", "#", "\\", "\n", "\x00", "\ufeff"]
INSERTS = st.one_of(st.sampled_from([*SPECIAL, *INTERESTING]), st.text(min_size=1, max_size=4))


@st.composite
def text_edits(draw: st.DrawFn, base: str) -> str:
    """*base* truncated, with text inserted or cut out, a line doubled (a key twice), ..."""
    text = base
    for _ in range(draw(st.integers(1, 3))):
        at = draw(st.integers(0, len(text)))
        edit = draw(st.sampled_from(["truncate", "insert", "delete", "double"]))
        if edit == "truncate":
            text = text[:at]
        elif edit == "insert":
            text = text[:at] + draw(INSERTS) + text[at:]
        elif edit == "delete":
            text = text[:at] + text[at + draw(st.integers(1, 12)) :]
        else:
            lines = text.splitlines(keepends=True) or [""]
            line = draw(st.integers(0, len(lines) - 1))
            text = "".join([*lines[: line + 1], *lines[line:]])
    return text


def _slots(data: object) -> list[tuple[Any, Any]]:
    """Every (container, key) in decoded TOML: the places a value can be dropped or replaced."""
    found: list[tuple[Any, Any]] = []
    if isinstance(data, (dict, list)):
        for key in list(data) if isinstance(data, dict) else range(len(data)):
            found.append((data, key))
            found.extend(_slots(data[key]))
    return found


@st.composite
def value_edits(draw: st.DrawFn, base: str) -> str:
    """*base* with values dropped or replaced by values of any type (as tomli_w writes it)."""
    data = tomllib.loads(base)
    for _ in range(draw(st.integers(1, 3))):
        slots = _slots(data)
        if not slots:
            break
        container, key = draw(st.sampled_from(slots))
        if draw(st.booleans()):
            del container[key]
        else:
            container[key] = draw(VALUES)
    return tomli_w.dumps(data)


@st.composite
def string_edits(draw: st.DrawFn, base: str) -> str:
    """*base* with strings replaced and nothing else: the shape holds, so deeper checks run."""
    data = tomllib.loads(base)
    slots = [(c, k) for c, k in _slots(data) if isinstance(c[k], str)]
    for _ in range(draw(st.integers(1, 3))):
        container, key = draw(st.sampled_from(slots))
        container[key] = draw(st.one_of(st.sampled_from(INTERESTING), st.text(max_size=12)))
    return tomli_w.dumps(data)


def mutations(base: str) -> st.SearchStrategy[str]:
    return st.one_of(text_edits(base), value_edits(base), string_edits(base))


def _venv_stays_inside(text: str, root: Path) -> bool:
    """Whether a spec that loads keeps its venv in the project (apply would make it)."""
    try:
        spec = parse_spec(text, path=root / "env.toml")
    except SpecError:
        return True
    return spec.venv.is_relative_to(root)


def _run_all(kind: str, text: str, *, lock: str | None = BASE_LOCK) -> None:
    """Write *text* as the *kind* file of a fresh project; every command must stay sane."""
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder).resolve()
        spec = root / "env.toml"
        bad = root / kind
        if kind == "pylock.toml":
            spec.write_text(BASE_SPEC)
        elif kind == "env.toml" and lock is not None:
            (root / "pylock.toml").write_text(lock)
        elif kind == "requirements.txt":
            _requirements_beside(root)
        bad.write_text(text, "utf-8", errors="surrogatepass")
        safe = kind != "env.toml" or _venv_stays_inside(text, root)
        for command in COMMANDS[kind]:
            if command.startswith(("apply", "run")) and not safe:
                continue  # a valid spec whose venv lies outside the temporary project
            result = envsync(None, *argv_of(command, spec, bad))
            assert_sane(result)
            event(f"{command}: exit {result.code}")  # shown by --hypothesis-show-statistics
            if command.startswith("init"):
                spec.unlink(missing_ok=True)  # init never overwrites: start again each time


@PROPERTY
@given(text=mutations(BASE_SPEC))
# An env.toml without [env] crashed keeping the next relock's recipe (found by this test).
@example(text="")
def test_a_mutated_env_toml_never_crashes_a_command(text: str):
    _run_all("env.toml", text)


@PROPERTY
@given(text=DOCUMENTS)
@example(text="[groups]\n")  # no [env]: see the test above
def test_a_random_toml_document_as_env_toml_never_crashes_a_command(text: str):
    _run_all("env.toml", text)


def _with(base: str, key: str, value: object) -> str:
    """*base* with the top-level *key* set to *value* (an example hypothesis once found)."""
    data = tomllib.loads(base)
    data[key] = value
    return tomli_w.dumps(data)


@PROPERTY
@given(text=mutations(BASE_LOCK))
# A record separator quoted raw in an error split its line in two (found by this test).
@example(text=_with(BASE_LOCK, "dependency-groups", ["\x1e"]))
def test_a_mutated_pylock_toml_never_crashes_a_command(text: str):
    _run_all("pylock.toml", text)


@PROPERTY
@given(text=DOCUMENTS)
def test_a_random_toml_document_as_pylock_toml_never_crashes_a_command(text: str):
    _run_all("pylock.toml", text)


BASE_REQUIREMENTS = f"""\
-i {INDEX}
--extra-index-url {DEAD}/extra
alpha>=1  # a comment
beta[extra]; python_version >= "3.8"
-r more.txt
--hash=sha256:{"a" * 64}
--pre
"""
BASE_PYPROJECT = """\
[project]
name = "me"
requires-python = ">=3.10"
dependencies = ["alpha>=1", "me[cli]"]

[project.optional-dependencies]
cli = ["beta"]

[dependency-groups]
test = ["gamma", { include-group = "lint" }]
lint = ["delta"]
"""


def _requirements_beside(root: Path) -> None:
    """What BASE_REQUIREMENTS includes: more.txt, and the local project it names."""
    (root / "more.txt").write_text("gamma\n-e ./lib\n")
    (root / "lib").mkdir()
    (root / "lib" / "pyproject.toml").write_text('[project]\nname = "mylib"\n')


@pytest.mark.parametrize(
    ("kind", "text"),
    [("requirements.txt", BASE_REQUIREMENTS), ("pyproject.toml", BASE_PYPROJECT)],
)
def test_the_files_mutated_below_import_as_they_are(kind: str, text: str, tmp_path: Path):
    _requirements_beside(tmp_path)
    (tmp_path / kind).write_text(text)
    result = envsync(None, *argv_of("init --from {file}", tmp_path / "env.toml", tmp_path / kind))
    assert result.code == 0, result
    written = (tmp_path / "env.toml").read_text()
    assert '"alpha>=1"' in written, written
    assert all("warning: " in line for line in result.err.splitlines()), result


def test_a_byte_order_mark_before_a_requirements_file_is_read_past_as_pip_does(tmp_path: Path):
    (tmp_path / "requirements.txt").write_text("\ufeffalpha>=1\n", "utf-8")
    argv = argv_of("init --from {file}", tmp_path / "env.toml", tmp_path / "requirements.txt")
    result = envsync(None, *argv)
    assert result.code == 0, result
    assert 'dependencies = [\n    "alpha>=1",\n]' in (tmp_path / "env.toml").read_text()


@PROPERTY
@given(text=text_edits(BASE_REQUIREMENTS))
def test_a_mutated_requirements_file_never_crashes_init(text: str):
    _run_all("requirements.txt", text)


@PROPERTY
@given(text=st.one_of(mutations(BASE_PYPROJECT), DOCUMENTS))
# Found by the exploring profile: a group named by a newline broke the error's lines.
@example(text='[dependency-groups]\ncreated-by = ""\n\n[dependency-groups."\\n"]\n')
@example(text='[project]\nname = "p"\n[project.optional-dependencies]\n"a\\tb" = 5\n')
def test_a_mutated_pyproject_never_crashes_init(text: str):
    _run_all("pyproject.toml", text)
