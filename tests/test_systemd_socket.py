"""The socket unit and the service agree, and a member of the socket's group can connect.

systemd takes over a service's ``RuntimeDirectory=``: it re-owns the directory
and everything in it to the (dynamic) service user and applies
``RuntimeDirectoryMode=``.  A socket the socket unit created there would lose
its group, so the units must keep the socket's directory out of the service's
exec directories.  The permission test replays what systemd sets up, from the
values in the units, and connects as an unprivileged member of the group.
"""

from __future__ import annotations

import errno
import os
import re
import socket
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
UNITS = ROOT / "systemd"
#: Stand-ins for the group authz-diag, the dynamic user and an unprivileged caller.
GROUP_GID = 42420
DYNAMIC_ID = 61234
NOBODY = 65534


def settings(text: str) -> dict[str, list[str]]:
    """``Key=value`` lines of a unit (comments dropped), every value of each key."""
    out: dict[str, list[str]] = {}
    for raw in text.splitlines():
        entry = raw.strip()
        if not entry or entry.startswith(("#", ";", "[")):
            continue
        key, _, value = entry.partition("=")
        out.setdefault(key.strip(), []).append(value.strip())
    return out


def service() -> dict[str, list[str]]:
    return settings((UNITS / "authz-diagnostics.service").read_text())


def socket_unit() -> dict[str, list[str]]:
    return settings((UNITS / "authz-diagnostics.socket").read_text())


def exec_dir_of(svc: dict[str, list[str]], path: str) -> str | None:
    """The service's RuntimeDirectory= that contains ``path``, if any."""
    for names in svc.get("RuntimeDirectory", []):
        for name in names.split():
            if path.startswith(f"/run/{name}/"):
                return name
    return None


def test_units_agree_on_the_socket_path() -> None:
    """The socket path, the service's AUTHZ_DIAG_SOCKET and the example config name one path."""
    (listen,) = socket_unit()["ListenStream"]
    env = " ".join(service().get("Environment", []))
    assert f"AUTHZ_DIAG_SOCKET={listen}" in env
    example = (UNITS / "config.example.toml").read_text()
    assert f'path = "{listen}"' in example
    assert exec_dir_of(service(), listen) is None, (
        "the service's RuntimeDirectory= holds the activated socket: systemd re-owns it "
        "to the dynamic user and the group authz-diag loses access"
    )
    assert (
        "After=network-online.target authz-diagnostics.socket"
        in (UNITS / "authz-diagnostics.service").read_text()
    )


def test_readme_says_which_group_may_write() -> None:
    """systemd/README.md names the socket's group and how to add a user to it."""
    group = socket_unit()["SocketGroup"][0]
    readme = (UNITS / "README.md").read_text()
    assert f"groupadd --system {group}" in readme
    assert f"usermod -aG {group}" in readme
    assert "RuntimeDirectory" in readme


def replay(
    base: Path, svc: dict[str, list[str]], sock: dict[str, list[str]]
) -> tuple[Path, socket.socket]:
    """Set up the socket as systemd would for these units: its path and the listener."""
    listen = sock["ListenStream"][0]
    path = base / listen.lstrip("/")
    path.parent.mkdir(parents=True)
    path.parent.chmod(int(sock["DirectoryMode"][0], 8))
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(path))
    server.listen(1)
    path.chmod(int(sock["SocketMode"][0], 8))
    os.chown(path, 0, GROUP_GID)
    name = exec_dir_of(svc, listen)
    if name is not None:
        # The service starts: its RuntimeDirectory= is chowned (recursively) and chmodded.
        for p in (path.parent, path):
            os.chown(p, DYNAMIC_ID, DYNAMIC_ID)
        path.parent.chmod(int((svc.get("RuntimeDirectoryMode") or ["0755"])[0], 8))
    return path, server


def connect_as_member(path: Path) -> int:
    """0 if an unprivileged member of the socket's group can connect, else the errno."""
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child reports through its exit status
        code = 1
        try:
            os.setgroups([GROUP_GID])
            os.setgid(NOBODY)
            os.setuid(NOBODY)
            c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            c.connect(str(path))
            code = 0
        except OSError as exc:
            code = exc.errno or 1
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)


needs_root = pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() != 0, reason="changing user needs root"
)


@needs_root
def test_group_member_can_connect_with_the_shipped_units() -> None:
    """With the shipped units a non-root member of authz-diag reaches the socket (no EACCES)."""
    with tempfile.TemporaryDirectory(dir="/tmp") as tmp:
        base = Path(tmp)
        base.chmod(0o755)
        path, server = replay(base, service(), socket_unit())
        with server:
            assert connect_as_member(path) == 0


@needs_root
def test_the_old_runtime_directory_layout_is_refused() -> None:
    """The layout the review reproduced (RuntimeDirectory 0750 over the socket) gives EACCES."""
    old = dict(service())
    old["RuntimeDirectory"] = ["authz-diagnostics"]
    for mode in ("0750", "0755"):  # 0755 alone does not help: the socket's group is lost
        old["RuntimeDirectoryMode"] = [mode]
        with tempfile.TemporaryDirectory(dir="/tmp") as tmp:
            base = Path(tmp)
            base.chmod(0o755)
            path, server = replay(base, old, socket_unit())
            with server:
                assert connect_as_member(path) == errno.EACCES, mode


def test_no_runtime_directory_setting_left_half_removed() -> None:
    """RuntimeDirectoryMode/Preserve are not left behind without a RuntimeDirectory=."""
    svc = service()
    if "RuntimeDirectory" not in svc:
        assert not any(re.match(r"RuntimeDirectory\w+", k) for k in svc)
