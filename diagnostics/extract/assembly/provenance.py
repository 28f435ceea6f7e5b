"""Whose words a failure is: the record's own message, or a field someone else wrote.

An access log records what clients send: a user-agent, a referer, a request
line.  A JSON log line may carry the request it served under ``headers``,
``body`` or ``query``.  A denial sentence found there was written by whoever
made the request, not by AWS, and would hand them a ready-made alert (and a
suggested ``Allow`` for any action they like).  Such failures are marked
``embedded``: ``scan`` still shows them, labelled; ``watch`` does not alert
them unless ``[alerts] embedded = true``.

Two shapes are recognised, both cheaply (only lines that already hold a
failure get here):

- the Common/Combined Log Format of nginx and Apache
  (``host ident user [time] "request" status bytes "referer" "user-agent"``):
  every field after the time is the client's, so any failure in it is embedded;
- a JSON object line: the failure's text is looked up among the string
  values; it is embedded when every value holding it sits under a key that
  carries request data (``user_agent``, ``headers``, ``body``, ...), at any depth.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator

import orjson

from diagnostics.model import Failure

#: Keys (lower-cased, ``-`` as ``_``) whose values are what a client sent.
EMBEDDED_KEYS = frozenset(
    {
        "user_agent", "useragent", "http_user_agent",
        "referer", "referrer", "http_referer",
        "headers", "request_headers",
        "body", "request_body",
        "query", "query_string", "querystring",
        "request", "request_uri", "uri", "url",
        "cookie", "cookies",
    }
)  # fmt: skip

# host ident authuser [time] "  — the fixed start of CLF/combined lines.
# Linear: no nested quantifiers; each part stops at its own delimiter.
_ACCESS_LOG = re.compile(r'^\S+ \S+ \S+ \[[^\]\n]{1,64}\] "')
#: Characters of the failure's text used to find the value holding it.
SNIPPET = 32


def embedded_field(line: str, snippet: str) -> str | None:
    """The field of ``line`` that ``snippet`` (a failure's text) sits in, if not the message."""
    stripped = line.lstrip()
    if _ACCESS_LOG.match(stripped):
        return "an access log's request, referer or user-agent"
    brace = stripped.find("{")
    if brace == -1 or not snippet:
        return None
    try:
        obj = orjson.loads(stripped[brace:])
    except orjson.JSONDecodeError:
        return None
    if not isinstance(obj, dict):
        return None
    holders = [path for path, value in _strings(obj, ()) if snippet in value]
    if not holders:
        return None
    if all(any(_norm(k) in EMBEDDED_KEYS for k in path) for path in holders):
        return f"the JSON key {'.'.join(holders[0])!r}"
    return None


def _norm(key: str) -> str:
    return key.lower().replace("-", "_")


def _strings(
    obj: object, path: tuple[str, ...], depth: int = 0
) -> Iterator[tuple[tuple[str, ...], str]]:
    """Every string value with the keys leading to it (bounded depth: logs are untrusted)."""
    if depth > 32:
        return
    if isinstance(obj, str):
        yield path, obj
    elif isinstance(obj, dict):
        for k, v in obj.items():
            yield from _strings(v, (*path, str(k)), depth + 1)
    elif isinstance(obj, list):
        for v in obj:
            yield from _strings(v, path, depth + 1)


def mark_embedded(failure: Failure, line: str, snippet: str) -> Failure:
    """``failure``, marked ``embedded`` with a note when ``line`` puts it in a client's field."""
    where = embedded_field(line, snippet[:SNIPPET])
    if where is None:
        return failure
    note = (
        f"found inside {where}, which whoever made the request controls; "
        "not alerted unless [alerts] embedded = true"
    )
    return dataclasses.replace(failure, embedded=True, parse_notes=(*failure.parse_notes, note))
