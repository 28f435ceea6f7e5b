"""Baseline for P7: the simplest Python extractor, one regex pass per marker plus orjson per hit.

    python bench/p7_floor.py FILE > out.jsonl

Reads the file whole, runs one ``finditer`` for the plain sentence and one
for the encoded blob, and writes one JSON object per hit (kind, line,
offset, principal, action, resource or blob).  No wrapped lines, no boxes,
no rules, no fixes: what a failure-dense log costs Python at the least.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import orjson

# Linear: each group is a run of non-space bytes after a fixed literal.
PLAIN = re.compile(rb"User: (\S+) is not authorized to perform: (\S+)(?: on resource: (\S+))?")
# Linear: one character class after a literal.
ENCODED = re.compile(rb"Encoded authorization failure message: ([A-Za-z0-9_-]+)")


def extract(data: bytes) -> list[tuple[int, bytes]]:
    """(offset, JSON line) for every hit of either marker, in file order."""
    out: list[tuple[int, bytes]] = []
    for m in PLAIN.finditer(data):
        principal, action, resource = m.groups()
        record = {
            "kind": "plain",
            "principal_arn": principal.decode(),
            "action": action.decode(),
            "resource": resource.decode() if resource else None,
        }
        out.append((m.start(), record))  # type: ignore[arg-type]
    for m in ENCODED.finditer(data):
        out.append((m.start(), {"kind": "encoded", "encoded_message": m.group(1).decode()}))  # type: ignore[arg-type]
    out.sort(key=lambda pair: pair[0])
    lines: list[tuple[int, bytes]] = []
    line, last = 1, 0
    for offset, record in out:
        line += data.count(b"\n", last, offset)
        last = offset
        record["source"] = {"line": line, "offset": offset}  # type: ignore[index]
        lines.append((offset, orjson.dumps(record)))
    return lines


def main(path: str) -> int:
    data = Path(path).read_bytes()
    write = sys.stdout.buffer.write
    for _, line in extract(data):
        write(line + b"\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
