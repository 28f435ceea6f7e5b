"""Names for socket connections, so alerts from two senders can be told apart."""

from __future__ import annotations

import socket
import struct
from pathlib import Path

_UCRED = struct.Struct("3i")  # struct ucred: pid, uid, gid (socket(7), SO_PEERCRED)


def peer_credentials(conn: socket.socket) -> tuple[int, int] | None:
    """The sending process's (pid, uid), from the kernel; None where it cannot say."""
    opt = getattr(socket, "SO_PEERCRED", None)
    if opt is None:  # not Linux
        return None
    try:
        raw = conn.getsockopt(socket.SOL_SOCKET, opt, _UCRED.size)
    except OSError:
        return None
    pid, uid, _gid = _UCRED.unpack(raw)
    return (pid, uid) if pid > 0 else None


def connection_label(path: Path, number: int, conn: socket.socket) -> str:
    """``socket:PATH#3[pid=4242,uid=1000]``: the connection's number and who opened it.

    The number counts connections since the daemon started; the pid and uid
    come from the kernel (SO_PEERCRED), so a sender cannot forge them.
    """
    label = f"socket:{path}#{number}"
    cred = peer_credentials(conn)
    if cred is not None:
        label += f"[pid={cred[0]},uid={cred[1]}]"
    return label
