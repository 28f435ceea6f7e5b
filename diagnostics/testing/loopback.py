"""A threaded HTTP server on 127.0.0.1 that the AWS doubles share.

Subclasses implement ``handle(params, authorization) -> (status, xml) | None``
for the AWS Query protocol (form-encoded POST, XML answers), or
``handle_get(path, query, headers) -> (status, headers, body) | None`` for a
rest-json GET API, or ``handle_json(target, body, headers) -> (status, body) | None``
for the JSON 1.1 protocol (POST with ``X-Amz-Target``); ``None`` means the
double already answered or chose to hang.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self
from urllib.parse import parse_qs, unquote, urlsplit


@dataclass(slots=True)
class Fault:
    """A scripted fault: ``kind`` for the next ``remaining`` matching calls (``None``: all)."""

    kind: str
    remaining: int | None
    #: The one operation (action) it applies to; ``None``: any.
    operation: str | None = None
    #: Only calls signed by this account's keys; ``None``: any.
    account: str | None = None
    message: str | None = None


class FaultQueue:
    """Faults in the order given; each call consumes at most one.  Thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []

    def add(self, fault: Fault) -> None:
        with self._lock:
            self._faults.append(fault)

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def take(self, operation: str, account: str | None = None) -> Fault | None:
        """The first fault matching this call, counted down (and dropped when spent)."""
        with self._lock:
            for i, fault in enumerate(self._faults):
                if fault.operation not in (None, operation):
                    continue
                if fault.account is not None and fault.account != account:
                    continue
                if fault.remaining is not None:
                    fault.remaining -= 1
                    if fault.remaining <= 0:
                        del self._faults[i]
                return fault
            return None


class LoopbackServer:
    """Start, stop and address a double; use it as a context manager."""

    #: Thread name, for debugging hangs.
    NAME = "loopback-double"

    def __init__(self) -> None:
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()

    def handle(self, params: Mapping[str, str], authorization: str) -> tuple[int, str] | None:
        raise NotImplementedError

    def handle_get(
        self, path: str, query: Mapping[str, str], headers: Mapping[str, str]
    ) -> tuple[int, Mapping[str, str], bytes] | None:
        """A rest-json GET; the default says the double speaks no such API."""
        return 405, {"Content-Type": "application/json"}, b'{"message": "GET not supported"}'

    def handle_json(
        self, target: str, body: bytes, headers: Mapping[str, str]
    ) -> tuple[int, bytes] | None:
        """A JSON 1.1 call; the default says the double speaks no such API."""
        return 400, b'{"__type": "UnknownOperationException", "message": "not supported"}'

    def start(self) -> Self:
        """Bind to 127.0.0.1 on a free port and serve in a daemon thread."""
        if self._server is not None:
            return self
        handler = type("_Handler", (_QueryHandler,), {"double": self})
        server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        server.daemon_threads = True
        self._server = server
        self._stopping.clear()
        # A short poll interval keeps stop() quick: shutdown waits for one poll.
        self._thread = threading.Thread(
            target=server.serve_forever, args=(0.05,), name=self.NAME, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Release hanging requests, stop serving and close the socket."""
        self._stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def endpoint_url(self) -> str:
        if self._server is None:
            raise RuntimeError(f"{type(self).__name__} is not started; use it as a context manager")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"


class _QueryHandler(BaseHTTPRequestHandler):
    double: LoopbackServer
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes; without TCP_NODELAY, Nagle's
    # algorithm and the client's delayed ACK add ~40 ms to every answer.
    disable_nagle_algorithm = True

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        content_type = self.headers.get("Content-Type", "")
        if content_type.startswith("application/x-amz-json-"):
            headers = {k.lower(): v for k, v in self.headers.items()}
            reply = self.double.handle_json(self.headers.get("X-Amz-Target", ""), raw, headers)
            if reply is None:
                self.close_connection = True
                return
            self._send(reply[0], {"Content-Type": content_type}, reply[1])
            return
        body = raw.decode("utf-8", "replace")
        params = {k: v[0] for k, v in parse_qs(body, keep_blank_values=True).items()}
        answer = self.double.handle(params, self.headers.get("Authorization", ""))
        if answer is None:
            self.close_connection = True
            return
        status, xml = answer
        data = xml.encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "text/xml")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("x-amzn-RequestId", str(uuid.uuid4()))
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            # The client gave up (its timeout); nothing left to tell it.
            self.close_connection = True

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        headers = {k.lower(): v for k, v in self.headers.items()}
        answer = self.double.handle_get(unquote(parts.path), query, headers)
        if answer is None:
            self.close_connection = True
            return
        status, extra, data = answer
        try:
            self.send_response(status)
            for name, value in extra.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            self.send_header("x-amzn-RequestId", str(uuid.uuid4()))
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def _send(self, status: int, extra: Mapping[str, str], data: bytes) -> None:
        try:
            self.send_response(status)
            for name, value in extra.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            self.send_header("x-amzn-RequestId", str(uuid.uuid4()))
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def log_message(self, format: str, *args: Any) -> None:
        # Silence the per-request stderr lines; each double logs its calls.
        return
