"""A file source's globs, expanded without descending into symlinked directories.

``glob.glob(..., recursive=True)`` follows a symlink to a directory under
``**``: two links ``a -> .`` and ``b -> .`` planted in a watched tree make it
list ``a/b/a/b/...`` until the path is too long, which never ends in
practice.  ``expand`` matches what ``glob.glob`` matches (hidden names only
for a pattern part starting with ``.``, ``**`` as zero or more directories)
but ``**`` does not enter a symlinked directory: it is handed to ``refused``
instead.  Other wildcard parts still list through a link, one level each (the
pattern bounds the depth); the source then refuses what lies behind it
(``sources/symlinks.py``).
"""

from __future__ import annotations

import fnmatch
import glob
import os
from collections.abc import Callable, Iterator
from pathlib import Path

from diagnostics.sources.file_watch import watch_roots

Refused = Callable[[str, str], None]


def expand(pattern: str, refused: Refused) -> list[str]:
    """The paths ``pattern`` matches now, like ``glob.glob`` without following ``**`` into links."""
    root = watch_roots(pattern)[0]
    rest = Path(pattern).parts[len(Path(root).parts) :]
    found = [root]
    for i, part in enumerate(rest):
        last = i == len(rest) - 1
        step: list[str] = []
        for base in found:
            if part == "**":
                step.extend(_recurse(base, files=last, refused=refused))
            elif glob.has_magic(part):
                step.extend(_matching(base, part, dirs_only=not last))
            else:
                path = os.path.join(base, part)  # noqa: PTH118 - str paths, as glob's
                if os.path.lexists(path) if last else os.path.isdir(path):  # noqa: PTH112
                    step.append(path)
        found = step
    return found if rest else []


def _entries(directory: str) -> list[os.DirEntry[str]]:
    try:
        with os.scandir(directory) as it:
            return list(it)
    except OSError:
        return []  # gone, not a directory, or unreadable: nothing matches there


def _matching(base: str, part: str, *, dirs_only: bool) -> Iterator[str]:
    hidden_ok = part.startswith(".")
    for entry in _entries(base):
        if entry.name.startswith(".") and not hidden_ok:
            continue
        if not fnmatch.fnmatchcase(entry.name, part):
            continue
        if dirs_only and not _is_dir(entry, follow=True):
            continue
        yield os.path.join(base, entry.name)  # noqa: PTH118


def _recurse(base: str, *, files: bool, refused: Refused) -> Iterator[str]:
    """``base`` (as a directory) and everything below it, never through a symlinked directory."""
    # As glob: the base itself, written with a trailing "/" when "**" ends the pattern.
    yield os.path.join(base, "") if files else base  # noqa: PTH118
    stack = [base]
    while stack:
        directory = stack.pop()
        for entry in sorted(_entries(directory), key=lambda e: e.name):
            if entry.name.startswith("."):
                continue
            path = os.path.join(directory, entry.name)  # noqa: PTH118
            if _is_dir(entry, follow=False):
                stack.append(path)
                yield path
            elif entry.is_symlink() and _is_dir(entry, follow=True):
                refused(path, path)
            elif files:
                yield path


def _is_dir(entry: os.DirEntry[str], *, follow: bool) -> bool:
    try:
        return entry.is_dir(follow_symlinks=follow)
    except OSError:
        return False
