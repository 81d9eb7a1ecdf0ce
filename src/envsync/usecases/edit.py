"""``envsync add``, ``remove`` and ``upgrade``: edit env.toml, lock, apply; all or nothing.

The order, and why (uv's ``add`` reverts pyproject.toml and uv.lock when its lock or sync
fails; here nothing is written until every step has succeeded, so there is nothing to revert):

1. env.toml's text is edited in memory (``core.specedit``) and validated as a spec.
2. It is locked in memory (``lock.lock_for``: pruned for a pure removal, else resolved).
3. A bare name gets a bound from the version resolved, and the lock is stamped again for
   the bounded env.toml: the same packages, the edited file's fingerprint.
4. The venv is applied from that lock (``apply.apply_in``), inside apply's transaction.
5. Only then are pylock.toml and env.toml written, each atomically, env.toml last.

A failure at any step leaves env.toml, pylock.toml and the venv as they were, and says so.
"""

from __future__ import annotations

import contextlib
import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from packaging.utils import canonicalize_name

from envsync.core import lockfile, specedit
from envsync.core.lockmerge import split
from envsync.core.selection import GroupSelection
from envsync.core.spec import parse_spec
from envsync.core.tomlcheck import closest
from envsync.errors import EnvsyncError, SpecError
from envsync.usecases import envs, project, remembered
from envsync.usecases.apply import apply_in
from envsync.usecases.context import start
from envsync.usecases.lock import lock_for, outcome_of, upgraded
from envsync.usecases.lock import write as write_lock
from envsync.usecases.target import find_target

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence
    from pathlib import Path

    from packaging.pylock import Pylock
    from packaging.version import Version
    from tomlkit.toml_document import TOMLDocument

    from envsync.core.spec import Spec
    from envsync.core.specedit import Bounds, LineChanges
    from envsync.usecases.apply import Outcome
    from envsync.usecases.backends import Services
    from envsync.usecases.context import RunContext
    from envsync.usecases.lock import LockChange, LockOutcome

__all__ = [
    "EditMode",
    "EditOutcome",
    "NotChangedError",
    "Opened",
    "add",
    "for_env",
    "open_spec",
    "remove",
    "upgrade",
]

#: apply: edit, lock and apply. no-apply: edit and lock (uv's --no-sync). frozen: edit
#: env.toml only (uv's --frozen). dry-run (upgrade): show the lock's changes, write nothing.
EditMode = Literal["apply", "no-apply", "frozen", "dry-run"]


class NotChangedError(EnvsyncError):
    """A step of an edit failed: its cause, and that env.toml and pylock.toml are as they were.

    It reads, exits and is coded as its cause (``__cause__``) does: wrapped, never edited.
    What became of the venv the cause says (apply undoes a failed change).
    """

    def __init__(self, cause: EnvsyncError, *, files: str) -> None:
        super().__init__(f"{cause.message}\n({files} left as they were)", hint=cause.hint)
        self.code = cause.code
        self.exit_code = cause.exit_code


@dataclass(frozen=True, kw_only=True, slots=True)
class Opened:
    """env.toml as read once: its exact text (tomlkit edits it) and the spec it holds."""

    text: str
    """The file's text, line breaks as they are."""
    spec: Spec
    """The text, validated."""


@dataclass(frozen=True, kw_only=True, slots=True)
class EditOutcome:
    """What add, remove or upgrade changed."""

    spec_path: Path
    """env.toml."""
    lines: LineChanges
    """The lines of env.toml added and removed (none for upgrade)."""
    lock: LockOutcome | None
    """What happened to pylock.toml (with --dry-run: what would); None with --frozen."""
    applied: Outcome | None = None
    """What apply did to the venv; None unless applied."""
    unbounded: tuple[str, ...] = ()
    """Bare names written without a bound: --frozen resolves nothing, or none was resolved."""
    written: bool = True
    """False with --dry-run: nothing was written."""


def open_spec(path: Path) -> Opened:
    """Read env.toml once for an edit: its text as it is on disk, and the spec."""
    spec = project.load_spec(path)  # the errors a user can cause, worded once, there
    # Bytes, not read_text: CRLF line breaks stay CRLF in the lines the edit leaves alone.
    return Opened(text=spec.path.read_bytes().decode("utf-8"), spec=spec)


def add(
    opened: Opened,
    texts: Sequence[str],
    *,
    group: str | None = None,
    bounds: Bounds = "lower",
    mode: EditMode = "apply",
    env: str | None = None,
    services: Services | None = None,
) -> EditOutcome:
    """Add (or replace) *texts* in env.toml's main dependencies or *group*, then lock, apply.

    The apply is to the environment *env* (``-e NAME``), else the default one.
    """
    texts = [t.strip() for t in texts]
    requirements = [specedit.requirement(t) for t in texts]  # every one checked first
    document = specedit.load(opened.text)
    first = _edited(opened, specedit.add(document, texts, group=group))
    if mode == "frozen":  # nothing resolved: bare names stay bare (local folders always do)
        pathed = _pathed(opened.spec)
        bare = [
            text
            for text, req in zip(texts, requirements, strict=True)
            if specedit.is_bare(req) and canonicalize_name(req.name) not in pathed
        ]
        return _frozen(opened, first, unbounded=tuple(bare))
    with _intact("env.toml and pylock.toml were"):
        ctx = start(for_env(first.spec, env), services)
        new = _lock(ctx)
        final, unbounded = _bounded(opened, new, document, texts, group=group, bounds=bounds)
        if final.text != first.text:
            ctx = dataclasses.replace(
                ctx, project=dataclasses.replace(ctx.project, spec=for_env(final.spec, env))
            )
            new = _stamped(ctx, new)
        applied = _apply(ctx, new, mode, _installing(ctx, group))
    return _write(ctx, new, applied, opened, final, unbounded=unbounded)


def remove(
    opened: Opened,
    names: Sequence[str],
    *,
    group: str | None = None,
    mode: EditMode = "apply",
    env: str | None = None,
    services: Services | None = None,
) -> EditOutcome:
    """Remove *names* from env.toml's main dependencies or *group*, then lock, apply.

    A lock that only loses requirements is pruned, without a resolver run.
    """
    edited = _edited(opened, specedit.remove(specedit.load(opened.text), names, group=group))
    if mode == "frozen":
        return _frozen(opened, edited)
    with _intact("env.toml and pylock.toml were"):
        ctx = start(for_env(edited.spec, env), services)
        new = _lock(ctx)
        applied = _apply(ctx, new, mode, _installing(ctx, group))
    return _write(ctx, new, applied, opened, edited)


def upgrade(
    spec: Spec,
    names: Sequence[str],
    *,
    mode: EditMode = "apply",
    groups: GroupSelection | None = None,
    env: str | None = None,
    services: Services | None = None,
) -> EditOutcome:
    """Lock again with *names* (or every package) unpinned, then apply.

    An unknown name is an error naming the closest package of the lock.
    """
    spec = for_env(spec, env)
    ctx = start(spec, services)
    _check_locked(ctx, names)
    with _intact("pylock.toml was"):
        project.check_local_sources(spec)  # pip would stumble on a missing folder
        machine = find_target(spec, ctx.services.reporter, ctx.prober)
        new = upgraded(ctx, machine, names, every=not names)
        if mode == "dry-run":
            existing = ctx.project.lock.text
            change: LockChange = "unchanged" if lockfile.dumps(new) == existing else "updated"
            lock = outcome_of(ctx, new, "created" if existing is None else change)
            return EditOutcome(spec_path=spec.path, lines=_NONE, lock=lock, written=False)
        chosen = envs.groups_for(spec, groups or GroupSelection())
        applied = _apply(ctx, new, mode, None if chosen.is_empty() else chosen)
    return _write(ctx, new, applied, None, None)


_NONE = specedit.LineChanges(added=(), removed=())


@contextlib.contextmanager
def _intact(files: str) -> Iterator[None]:
    """Say, on any failure inside, that the files were not written (nothing is, before)."""
    try:
        yield
    except EnvsyncError as exc:
        raise NotChangedError(exc, files=files) from exc


def _edited(opened: Opened, document: TOMLDocument) -> Opened:
    """The edited text and its spec (written only once the lock and the venv agree)."""
    text = specedit.dumps(document)
    try:
        spec = parse_spec(text, path=opened.spec.path)
    except SpecError as exc:
        lines = [f"  {p.describe(opened.spec.path)}" for p in exc.problems]
        raise specedit.EditError(
            "\n".join(["this edit would make env.toml invalid, so it was not made:", *lines]),
            hint="correct the requirement given; env.toml was left as it was",
        ) from exc
    return Opened(text=text, spec=spec)


def _frozen(opened: Opened, edited: Opened, *, unbounded: tuple[str, ...] = ()) -> EditOutcome:
    """--frozen: env.toml only; the lock and the venv are left for a later lock and apply."""
    if edited.text != opened.text:
        project.write_spec(opened.spec.path, edited.text)
    lines = specedit.changed_lines(opened.text, edited.text)
    return EditOutcome(spec_path=opened.spec.path, lines=lines, lock=None, unbounded=unbounded)


def _lock(ctx: RunContext) -> Pylock:
    """The lock for the edited spec, in memory: pruned when only requirements went."""
    project.check_local_sources(ctx.spec)  # pip would stumble on a missing folder
    machine = find_target(ctx.spec, ctx.services.reporter, ctx.prober)
    return lock_for(ctx, machine, "auto")[0]


def _bounded(
    opened: Opened,
    lock: Pylock,
    document: TOMLDocument,
    texts: Sequence[str],
    *,
    group: str | None,
    bounds: Bounds,
) -> tuple[Opened, tuple[str, ...]]:
    """env.toml with each bare name bounded by the version *lock* resolved for it.

    A package from a local folder (``[sources]`` path) keeps its bare name, as uv does.
    Returns the edit as first made when no name needed a bound, and the names left bare.
    """
    pathed = _pathed(opened.spec)
    final, unbounded = [], []
    for text in texts:
        requirement = specedit.requirement(text)
        bare = specedit.is_bare(requirement)
        name = canonicalize_name(requirement.name)
        found = _versions(lock, name) if bare and name not in pathed else []
        specifier = specedit.bound(name, found, bounds)
        final.append(specedit.bounded(text, specifier) if specifier else text)
        unbounded += [text] if bare and not specifier else []
    edited = _edited(opened, specedit.add(document, final, group=group))
    return edited, tuple(unbounded)


def _pathed(spec: Spec) -> set[str]:
    """The packages env.toml takes from a local folder: they get no version bound."""
    return {canonicalize_name(s.package) for s in spec.sources if s.path is not None}


def _versions(lock: Pylock, name: str) -> list[Version]:
    """The versions *lock* holds of *name*, one per target that needs it."""
    table = lockfile.info(lock)
    return [
        package.version
        for target in table.targets
        for package in split(lock, target, table.roots).packages
        if package.name == name and package.version is not None
    ]


def _stamped(ctx: RunContext, lock: Pylock) -> Pylock:
    """*lock*'s packages, stamped for ``ctx.spec``: the bounds only narrowed what they allow.

    Every version resolved satisfies its bound (``specedit.bound``), so the resolution
    stands; only the fingerprint and the recorded requirements change.
    """
    table = lockfile.info(lock)
    parts = [split(lock, target, table.roots) for target in table.targets]
    return lockfile.build_lock(spec=ctx.spec, resolutions=parts, local=ctx.project.local.hashes)


def for_env(spec: Spec, env: str | None) -> Spec:
    """*spec* for the environment named *env* (its venv, Python, keep), else as it is."""
    return spec if env is None else envs.pick(spec, [env])[0]


def _installing(ctx: RunContext, group: str | None) -> GroupSelection | None:
    """The groups the apply installs: the environment's, and the group just edited.

    The environment's are its own (``[envs.NAME] groups``), else the ones its venv remembers.
    None: what apply chooses without options (the remembered groups, else the defaults).
    """
    own = envs.groups_for(ctx.spec, GroupSelection())
    if group is None:
        return None if own.is_empty() else own
    base = remembered.stored(ctx.spec.venv) if own.is_empty() else own
    return remembered.with_group(base, group)


def _apply(
    ctx: RunContext, new: Pylock, mode: EditMode, groups: GroupSelection | None
) -> Outcome | None:
    """Apply *new*, held in memory as if it were on disk: nothing is written before it."""
    if mode != "apply":
        return None
    held = project.LockFile(
        path=ctx.project.lock.path, lock=new, text=None, info=lockfile.info(new)
    )
    done = apply_in(
        dataclasses.replace(ctx, project=dataclasses.replace(ctx.project, lock=held)), groups=groups
    )
    # As after `apply`: the next command without group options means these groups.
    remembered.keep(ctx.spec.venv, done.selection)
    return done


def _write(
    ctx: RunContext,
    new: Pylock,
    applied: Outcome | None,
    before: Opened | None,
    after: Opened | None,
    *,
    unbounded: tuple[str, ...] = (),
) -> EditOutcome:
    """Write pylock.toml, then env.toml: the lock, the venv and the edit now agree."""
    lock = write_lock(ctx, new)  # compared with the lock on disk: per target, what changed
    lines = _NONE
    if before is not None and after is not None:
        if after.text != before.text:
            project.write_spec(before.spec.path, after.text)
        lines = specedit.changed_lines(before.text, after.text)
    return EditOutcome(
        spec_path=ctx.spec.path,
        lines=lines,
        lock=lock,
        applied=None if applied is None else dataclasses.replace(applied, lock=lock),
        unbounded=unbounded,
    )


def _check_locked(ctx: RunContext, names: Sequence[str]) -> None:
    """Every name to upgrade is a package of the lock: else say which is meant."""
    current = ctx.project.lock.lock
    if not names:
        return
    if current is None:
        raise specedit.UnknownPackageError(
            f"there is no {ctx.project.lock.path.name} yet to upgrade {', '.join(names)} in",
            hint="run `envsync lock` first, or `envsync upgrade` without names",
        )
    known = sorted({str(canonicalize_name(p.name)) for p in current.packages})
    unknown = [n for n in names if canonicalize_name(n) not in known]
    if unknown:
        guess = closest(str(canonicalize_name(unknown[0])), known)
        raise specedit.UnknownPackageError(
            f"{', '.join(unknown)} {'is' if len(unknown) == 1 else 'are'} not in "
            f"{ctx.project.lock.path.name}",
            hint=f"did you mean {guess!r}?" if guess else "name a package the lock holds",
        )
