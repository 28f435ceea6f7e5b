"""Owner and mode checks on the files the daemon trusts (issue 22, item 7).

Another local user who can write the state directory can plant a
``state.sqlite3`` (or its ``-wal``/``-shm``) they own and read alert groups,
checkpoints and the Slack spool from it; one who can write the config or the
webhook credential file can point alerts anywhere.  Each check returns a
``ModeProblem`` whose message names the path (escaped) and the command that
fixes it; the callers turn it into their own error type.
"""

from __future__ import annotations

import os
import pwd
import shlex
import stat
from dataclasses import dataclass
from pathlib import Path

from diagnostics.text.safe import line

#: The state database's side files SQLite creates in WAL mode.
STATE_SIDE_FILES = ("-wal", "-shm")


@dataclass(frozen=True, slots=True)
class ModeProblem:
    """One file or directory other users could read or change, and the fix."""

    path: Path
    what: str  # "the state directory"
    problem: str  # "is writable by group and others (mode 0777)"
    fix: str  # "chmod 700 /var/lib/x"
    #: Said after the fix when another one may be the right one.
    otherwise: str = ""

    @property
    def message(self) -> str:
        text = f"{self.what} {line(self.path)} {self.problem}; run `{line(self.fix)}`"
        return f"{text}{line(self.otherwise)}"


def user_name(uid: int) -> str:
    """The account name of ``uid`` (a bare number when it has none, e.g. a DynamicUser gone)."""
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


def _owner(st: os.stat_result) -> str:
    return f"uid {st.st_uid} ({user_name(st.st_uid)})"


def _who(mode: int, bits: int) -> str:
    """'group', 'others' or 'group and others': who holds ``bits`` (group-bit form) in ``mode``."""
    names = [n for n, b in (("group", bits), ("others", bits >> 3)) if mode & b]
    return " and ".join(names)


def _cmd(*words: str | Path) -> str:
    return " ".join(shlex.quote(str(w)) for w in words)


def state_dir_problem(path: Path) -> ModeProblem | None:
    """An existing state directory owned by another user, or that group or others can write.

    The directory itself is what counts (its target when it is a symlink, as
    systemd's DynamicUser= layout is): a 0700 directory under a sticky 1777
    one such as /tmp is private.
    """
    try:
        st = path.stat()
    except OSError:
        return None  # missing: created 0700 later; unreadable: the writability check says so
    if not stat.S_ISDIR(st.st_mode):
        return None
    me = os.geteuid()
    what = "the state directory"
    if st.st_uid != me:
        return ModeProblem(
            path,
            what,
            f"is owned by {_owner(st)}, not by this user; its owner could read "
            "or replace the state database",
            _cmd("chown", user_name(me), path),
        )
    mode = stat.S_IMODE(st.st_mode)
    if mode & 0o022:
        return ModeProblem(
            path,
            what,
            f"is writable by {_who(mode, 0o020)} (mode {mode:04o}); another local user could "
            "plant a state database there and read alert groups from it",
            _cmd("chmod", "700", path),
        )
    return None


def state_file_problem(path: Path) -> ModeProblem | None:
    """An existing state database file owned by another user, or that group or others can use."""
    try:
        st = path.stat()
    except OSError:
        return None
    me = os.geteuid()
    if st.st_uid != me:
        return ModeProblem(
            path,
            "the state database file",
            f"is owned by {_owner(st)}, not by this user; another user may have planted "
            "it to read alert groups from it",
            _cmd("rm", "--", path),
            f", or `{_cmd('chown', user_name(me), path)}` if it is this service's own state",
        )
    mode = stat.S_IMODE(st.st_mode)
    if mode & 0o066:
        return ModeProblem(
            path,
            "the state database file",
            f"can be read or written by {_who(mode, 0o060)} (mode {mode:04o})",
            _cmd("chmod", "600", path),
        )
    return None


def state_problem(state_dir: Path, db_name: str) -> ModeProblem | None:
    """The first problem with ``state_dir`` or its database files, if any."""
    found = state_dir_problem(state_dir)
    if found is not None:
        return found
    db = state_dir / db_name
    for candidate in (db, *(db.with_name(db.name + s) for s in STATE_SIDE_FILES)):
        found = state_file_problem(candidate)
        if found is not None:
            return found
    return None


def _foreign_owner(st: os.stat_result, path: Path, what: str) -> ModeProblem | None:
    """Owned by neither root nor this user: that owner can rewrite it at will."""
    if st.st_uid in (0, os.geteuid()):
        return None
    return ModeProblem(
        path,
        what,
        f"is owned by {_owner(st)}, neither root nor this user; its owner could rewrite it",
        _cmd("chown", "root", path),
    )


def _writable_by_others(
    st: os.stat_result, path: Path, what: str, harm: str, fix_mode: str
) -> ModeProblem | None:
    """Owned by someone else, or writable by group or others: ``harm`` says what they could do."""
    found = _foreign_owner(st, path, what)
    if found is not None:
        return found
    mode = stat.S_IMODE(st.st_mode)
    if not mode & 0o022:
        return None
    return ModeProblem(
        path,
        what,
        f"is writable by {_who(mode, 0o020)} (mode {mode:04o}); they could {harm}",
        _cmd("chmod", fix_mode, path),
    )


def config_file_problem(st: os.stat_result, path: Path) -> ModeProblem | None:
    """The config file (``st`` from the open file) is writable by someone else."""
    # go-w, not 600: under DynamicUser= the service reads a root-owned config.
    return _writable_by_others(
        st, path, "the config file", "point alerts or the state directory elsewhere", "go-w"
    )


def credential_file_problem(st: os.stat_result, path: Path) -> ModeProblem | None:
    """The webhook credential file is writable by someone else (a refusal)."""
    return _writable_by_others(
        st, path, "webhook_url_file", "send your alerts to their own webhook", "600"
    )


def credential_file_exposure(st: os.stat_result, path: Path) -> ModeProblem | None:
    """The webhook credential file is readable by every local user (a warning)."""
    mode = stat.S_IMODE(st.st_mode)
    if not mode & 0o004:
        return None  # 0400/0440 from LoadCredential=, or 0640 for the service's group
    return ModeProblem(
        path,
        "webhook_url_file",
        f"is readable by other users (mode {mode:04o}), and it holds the webhook secret",
        _cmd("chmod", "600", path),
    )
