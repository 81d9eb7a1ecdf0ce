"""Requirements and URLs as envsync writes them out: the one requirement serializer. PURE.

Every requirement envsync hands another tool or keeps in a file is written here: the lines of
a requirements file (pip-compile's inputs, pip's and uv's install lists, ``envsync export``)
and the requirements a lock records. Credentials are stripped wherever the text is kept.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import urlsplit, urlunsplit

from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet

if TYPE_CHECKING:
    from collections.abc import Iterable

__all__ = ["requirement_line", "strip_credentials"]


def strip_credentials(url: str) -> str:
    """*url* without ``user:password@``: credentials never reach a lock, a log or a plan.

    ssh's bare ``git@`` is not a secret and is kept (PEP 610 does the same).
    """
    parts = urlsplit(url)
    userinfo, sep, host = parts.netloc.rpartition("@")
    if not sep or userinfo == "git":
        return url
    return urlunsplit(parts._replace(netloc=host))


def requirement_line(
    requirement: Requirement | str,
    *,
    url: str | None = None,
    editable: bool = False,
    hashes: Iterable[str | None] = (),
    continued: bool = False,
) -> str:
    """*requirement* as a line of a requirements file (pip's format, which uv reads too).

    *requirement* is a PEP 508 requirement or its text (a bare name is one). With *url* it
    becomes a direct reference, ``name[extras] @ url ; marker``, its version specifier
    dropped (a direct reference takes none); with *editable* too, ``-e url``. Each distinct
    sha256 of *hashes* (None skipped) adds ``--hash=sha256:...``: on the same line, or with
    *continued* each on a line of its own, continued with backslashes, as pip-compile writes.
    """
    options = [f"--hash=sha256:{sha256}" for sha256 in dict.fromkeys(hashes) if sha256]
    head = _head(requirement, url, editable=editable)
    if continued:
        return " \\\n".join([head, *(f"    {option}" for option in options)])
    return " ".join([head, *options])


def _head(requirement: Requirement | str, url: str | None, *, editable: bool) -> str:
    """The requirement itself: as given, pointed at *url*, or ``-e url``."""
    if url is None:
        return str(requirement)
    if editable:
        return f"-e {url}"
    direct = Requirement(str(requirement))  # a copy: the caller's requirement stays as it is
    direct.url = url
    direct.specifier = SpecifierSet()
    return str(direct)
