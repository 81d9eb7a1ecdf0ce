"""The names of envsync's files and the lines the fast paths share with the full path.

Only constants: the no-change path imports this before anything else, so it must stay free of
imports. Every module that needs one of these names takes it from here.
"""

from __future__ import annotations

__all__ = [
    "DEFAULT_VENV",
    "LOCK_NAME",
    "NO_CHANGES",
    "SPEC_CHANGED",
    "SPEC_NAME",
    "STATE_NAME",
    "TXN_FOLDER",
]

#: The spec a command reads when ``--spec`` is not given.
SPEC_NAME = "env.toml"
#: The lock, always beside the spec (PEP 751's default name).
LOCK_NAME = "pylock.toml"
#: The venv, relative to the spec's folder, when ``[env] venv`` is not given.
DEFAULT_VENV = ".venv"
#: The state file the no-change path trusts, inside the venv.
STATE_NAME = ".envsync-state.json"
#: An apply's transaction folder inside the venv (``install.transaction``): there while one
#: is open or was stopped part way, which the pure-removal path leaves to the full path.
TXN_FOLDER = ".envsync-txn"
#: What an apply that changes nothing prints.
NO_CHANGES = "No changes. The environment matches the lock."
#: Why a lock is made again when env.toml's inputs changed (the pure-removal path says it too).
SPEC_CHANGED = "env.toml (or a local package it names) changed since pylock.toml was written"
