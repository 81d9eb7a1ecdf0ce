"""The group options of the command line -> a GroupSelection."""

from __future__ import annotations

from typing import TYPE_CHECKING

from envsync.core.selection import GroupSelection

if TYPE_CHECKING:
    import argparse

__all__ = ["selection"]


def selection(args: argparse.Namespace) -> GroupSelection:
    """What --group, --only-group, --all-groups and --no-default-groups ask for."""
    return GroupSelection(
        groups=tuple(args.group),
        only=tuple(args.only_group),
        all_groups=args.all_groups,
        no_default=args.no_default_groups,
    )
