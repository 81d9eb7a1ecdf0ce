"""VCS direct references (``name @ git+URL@rev#subdirectory=dir``), read and written. PURE.

pip's URL form, which PEP 440 and PEP 610 follow: ``<vcs>+<url>``, an optional ``@<rev>``
after the path, and an optional ``#subdirectory=`` fragment. envsync locks git only: the
revision is resolved to its full commit id, which the lock records (PEP 751
``[packages.vcs]``) and an install checks out. hg, svn and bzr are named, to be refused by
name rather than mistaken for an archive URL.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlsplit, urlunsplit

__all__ = ["GIT", "TRANSPORTS", "VcsUrl", "is_commit", "parse_vcs", "pinned_url", "vcs_problem"]

#: The one VCS envsync locks and installs.
GIT = "git"
#: The VCS prefixes pip knows (``hg+``, ``svn+``, ``bzr+``): refused by name.
_OTHERS = frozenset({"hg", "svn", "bzr"})
_COMMIT = re.compile(r"[0-9a-f]{40}")


@dataclass(frozen=True, kw_only=True, slots=True)
class VcsUrl:
    """A VCS direct reference taken apart."""

    vcs: str
    """The VCS named by the prefix (``git``)."""
    url: str
    """The repository URL, without the prefix, the revision and the fragment."""
    rev: str | None = None
    """The revision as written after ``@`` (branch, tag or commit); None: the default branch."""
    subdirectory: str | None = None
    """The project's folder inside the repository, if not its root."""


#: The transports git is allowed to use for a locked repository (and its submodules).
TRANSPORTS = ("https", "http", "ssh", "git", "file")


def parse_vcs(url: str) -> VcsUrl | None:
    """*url* as a VCS reference, if its scheme has a ``vcs+`` prefix; else None."""
    parts = urlsplit(url)
    vcs, plus, scheme = parts.scheme.partition("+")
    if not plus or vcs.lower() not in {GIT, *_OTHERS}:
        return None
    path, rev = parts.path, None
    if "@" in path:
        path, _, rev = path.rpartition("@")
    fields = dict(parse_qsl(parts.fragment, keep_blank_values=True))
    repository = urlunsplit((scheme, parts.netloc, path, parts.query, ""))
    return VcsUrl(
        vcs=vcs.lower(),
        url=repository,
        rev=rev or None,
        subdirectory=fields.get("subdirectory") or None,
    )


def vcs_problem(url: str) -> str | None:
    """Why envsync cannot lock the VCS reference *url*, if so (None for any other URL)."""
    found = parse_vcs(url)
    if found is None:
        return None
    if found.vcs != GIT:
        return f"{found.vcs}+ URLs are not supported: envsync locks git repositories only"
    scheme = urlsplit(found.url).scheme.lower()
    if not scheme:
        return "a git URL needs a scheme after git+ (git+https://, git+ssh://, git+file://)"
    if scheme not in TRANSPORTS:
        # git's other transports run programs (ext::) or helpers of the machine's choosing.
        return f"git+{scheme}: URLs are not supported: use git+https, git+ssh or git+file"
    return None


def is_commit(rev: str) -> bool:
    """Whether *rev* is a full commit id (40 lower-case hex digits, as git prints them)."""
    return bool(_COMMIT.fullmatch(rev))


def pinned_url(url: str, commit: str, subdirectory: str | None = None) -> str:
    """``git+URL@commit[#subdirectory=dir]``: the reference that names exactly one commit.

    *url* is the repository's as given: the lock's (credentials stripped), or the spec's
    (credentials kept, for git to use).
    """
    fragment = f"#subdirectory={subdirectory}" if subdirectory else ""
    return f"{GIT}+{url}@{commit}{fragment}"
