"""A loopback stand-in for a Slack incoming webhook, for tests and benchmarks.

Usage::

    with SlackReceiver() as rx:
        rx.fail(500, count=3)            # the next 3 posts get 500
        rx.rate_limit(retry_after=2)     # then one 429 with Retry-After: 2
        sink = SlackSink("slack", rx.url, ...)
        ...
        assert rx.wait_for(5, timeout=10)
        bodies = [p.json for p in rx.accepted]

Every post is recorded (``posts``: arrival time, status answered, body).
Bodies are checked against Block Kit's limits and for live Slack markup
(``<!channel>``, ``<@U...>``, ``<http...|...>``, and outside code spans a
bare ``https://`` link or ``@here``); a breach is answered with
400 ``invalid_blocks`` and recorded in ``violations``.  Scripted answers
(``fail``, ``rate_limit``, ``hang``) apply to the next ``count`` posts, or
until ``for_seconds`` have passed on the receiver's ``clock``.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

SECTION_MAX = 3000
FIELD_MAX = 2000
FIELDS_MAX = 10
HEADER_MAX = 150
BLOCKS_MAX = 50
TEXT_MAX = 40000

# Slack control sequences: special mentions, user/channel mentions, links.
# Linear: short literal alternatives.
_MARKUP = re.compile(r"<(?:!|@|#|https?:|mailto:)")
# Outside code, Slack links a bare URL and (with link_names) pings these
# words.  Linear: literal alternatives, one-character lookbehind.
_BARE_LINK = re.compile(r"(?<![<|])\b(?:https?|ftp)://")
_PING = re.compile(r"(?<![\w@])@(?:here|channel|everyone)\b")


def outside_code(text: str) -> str:
    """``text`` without its code blocks and inline code spans: what Slack formats.

    A scan, not a regex: an unclosed fence would make a lazy pattern quadratic.
    """
    out: list[str] = []
    i = 0
    while i < len(text):
        if text.startswith("```", i):
            end = text.find("```", i + 3)
            if end == -1:
                break  # Slack shows an unclosed fence literally; count nothing after it
            i = end + 3
        elif text[i] == "`":
            end = text.find("`", i + 1)
            newline = text.find("\n", i + 1)
            if end == -1 or (newline != -1 and newline < end):
                out.append(text[i])
                i += 1
            else:
                i = end + 1
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


@dataclass(frozen=True, slots=True)
class Post:
    """One request as received."""

    time: float  # receiver clock (time.monotonic by default) at arrival
    path: str
    body: bytes
    status: int

    @property
    def json(self) -> Any:
        return json.loads(self.body)


@dataclass(slots=True)
class _Rule:
    status: int  # 500, 429, or 0 for "hang"
    retry_after: str | None = None
    count: int | None = None
    until: float | None = None
    hang_seconds: float = 0.0


@dataclass(slots=True)
class _State:
    posts: list[Post] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    rules: list[_Rule] = field(default_factory=list)


def check_payload(payload: Any, *, max_total: int = 12000) -> list[str]:
    """Block Kit limit breaches and live markup in a webhook body; empty when fine."""
    problems: list[str] = []
    if not isinstance(payload, dict):
        return ["body is not a JSON object"]
    text = payload.get("text")
    if not isinstance(text, str) or not text:
        problems.append("no fallback text")
    elif len(text) > TEXT_MAX:
        problems.append(f"text is {len(text)} characters (max {TEXT_MAX})")
    blocks = payload.get("blocks", [])
    if not isinstance(blocks, list):
        return [*problems, "blocks is not a list"]
    if len(blocks) > BLOCKS_MAX:
        problems.append(f"{len(blocks)} blocks (max {BLOCKS_MAX})")
    total = len(json.dumps(blocks, ensure_ascii=False))
    if total > max_total:
        problems.append(f"blocks total {total} characters (max {max_total})")
    texts: list[str] = [text] if isinstance(text, str) else []
    for i, block in enumerate(blocks):
        kind = block.get("type") if isinstance(block, dict) else None
        if kind == "header":
            t = block.get("text", {}).get("text", "")
            texts.append(t)
            if len(t) > HEADER_MAX:
                problems.append(f"block {i}: header is {len(t)} characters (max {HEADER_MAX})")
        elif kind == "section":
            t = (block.get("text") or {}).get("text", "")
            texts.append(t)
            if len(t) > SECTION_MAX:
                problems.append(f"block {i}: section is {len(t)} characters (max {SECTION_MAX})")
            fields = block.get("fields") or []
            if len(fields) > FIELDS_MAX:
                problems.append(f"block {i}: {len(fields)} fields (max {FIELDS_MAX})")
            for f in fields:
                texts.append(f.get("text", ""))
                if len(f.get("text", "")) > FIELD_MAX:
                    problems.append(f"block {i}: a field is over {FIELD_MAX} characters")
        elif kind == "context":
            for el in block.get("elements", []):
                texts.append(el.get("text", ""))
        else:
            problems.append(f"block {i}: unexpected type {kind!r}")
    for t in texts:
        m = _MARKUP.search(t)
        if m:
            problems.append(f"live Slack markup {t[m.start() : m.start() + 20]!r}")
        plain = outside_code(t)
        for rx, what in ((_BARE_LINK, "bare link"), (_PING, "channel ping")):
            m = rx.search(plain)
            if m:
                problems.append(f"{what} outside code {plain[m.start() : m.start() + 20]!r}")
    return problems


class SlackReceiver:
    """A threaded HTTP server on 127.0.0.1:0 that behaves like an incoming webhook."""

    def __init__(
        self, *, clock: Callable[[], float] = time.monotonic, max_total: int = 12000
    ) -> None:
        self.clock = clock
        self.max_total = max_total
        self._lock = threading.Lock()
        self._state = _State()
        self._stopped = threading.Event()
        self._arrived = threading.Condition(self._lock)
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                """Quiet: tests read ``posts``, not stderr."""

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                receiver._handle(self, body)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    # -- lifecycle --------------------------------------------------------------

    def start(self) -> SlackReceiver:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopped.set()
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> SlackReceiver:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """A webhook URL with a secret-looking path, to check it never leaks."""
        port = self._server.server_address[1]
        return f"http://127.0.0.1:{port}/services/T0SECRET/B0SECRET/xoxwebhooksecret0123456789"

    # -- scripting --------------------------------------------------------------

    def _add(self, rule: _Rule, count: int | None, for_seconds: float | None) -> None:
        if count is None and for_seconds is None:
            count = 1
        rule.count = count
        rule.until = None if for_seconds is None else self.clock() + for_seconds
        with self._lock:
            self._state.rules.append(rule)

    def fail(self, status: int = 500, *, count: int | None = None,
             for_seconds: float | None = None) -> None:  # fmt: skip
        """Answer ``status`` to the next ``count`` posts, or for ``for_seconds``."""
        self._add(_Rule(status), count, for_seconds)

    def rate_limit(self, retry_after: float | str = 1, *, count: int | None = None,
                   for_seconds: float | None = None) -> None:  # fmt: skip
        """Answer 429 with ``Retry-After`` to the next ``count`` posts, or for a window."""
        self._add(_Rule(429, retry_after=str(retry_after)), count, for_seconds)

    def hang(self, seconds: float = 30.0, *, count: int | None = None,
             for_seconds: float | None = None) -> None:  # fmt: skip
        """Hold the next posts ``seconds`` without answering, then drop the connection."""
        self._add(_Rule(0, hang_seconds=seconds), count, for_seconds)

    def heal(self) -> None:
        """Forget every scripted failure: answer 200 from now on."""
        with self._lock:
            self._state.rules.clear()

    # -- results ----------------------------------------------------------------

    @property
    def posts(self) -> list[Post]:
        with self._lock:
            return list(self._state.posts)

    @property
    def accepted(self) -> list[Post]:
        return [p for p in self.posts if p.status == 200]

    @property
    def violations(self) -> list[str]:
        with self._lock:
            return list(self._state.violations)

    def wait_for(self, accepted: int, timeout: float = 10.0) -> bool:
        """Block until ``accepted`` posts were answered 200 (real time); False on timeout."""
        deadline = time.monotonic() + timeout
        with self._arrived:
            while sum(p.status == 200 for p in self._state.posts) < accepted:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._arrived.wait(left)
        return True

    # -- serving ----------------------------------------------------------------

    def _next_rule(self) -> _Rule | None:
        now = self.clock()
        while self._state.rules:
            rule = self._state.rules[0]
            if rule.until is not None and now >= rule.until:
                self._state.rules.pop(0)
                continue
            if rule.count is not None:
                rule.count -= 1
                if rule.count <= 0:
                    self._state.rules.pop(0)
            return rule
        return None

    def _handle(self, handler: BaseHTTPRequestHandler, body: bytes) -> None:
        with self._lock:
            rule = self._next_rule()
        if rule is not None and rule.status == 0:
            self._stopped.wait(rule.hang_seconds)
            self._record(handler.path, body, 0)
            handler.close_connection = True
            return
        status, text, headers = 200, "ok", {}
        if rule is not None:
            status = rule.status
            text = "rate_limited" if status == 429 else "internal_error"
            if rule.retry_after is not None:
                headers["Retry-After"] = rule.retry_after
        else:
            try:
                problems = check_payload(json.loads(body), max_total=self.max_total)
            except ValueError:
                problems = ["body is not JSON"]
            if problems:
                status, text = 400, "invalid_blocks"
                with self._lock:
                    self._state.violations.extend(problems)
        self._record(handler.path, body, status)
        data = text.encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "text/plain")
        handler.send_header("Content-Length", str(len(data)))
        for k, v in headers.items():
            handler.send_header(k, v)
        handler.end_headers()
        handler.wfile.write(data)

    def _record(self, path: str, body: bytes, status: int) -> None:
        with self._arrived:
            self._state.posts.append(Post(self.clock(), path, body, status))
            self._arrived.notify_all()
