"""Role, user, group and bucket resources in Terraform files (``.tf`` and ``.tf.json``).

A line scan, not an HCL parser: it needs the line a resource starts on, and
only literal ``name``/``bucket``/``path`` arguments at the top of a resource
block can be matched to a name from a log anyway (an interpolated name is
skipped).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from diagnostics.iac.found import Defined

#: Terraform resource type -> (target kind, argument holding its name).
RESOURCES = {
    "aws_iam_role": ("role", "name"),
    "aws_iam_user": ("user", "name"),
    "aws_iam_group": ("group", "name"),
    "aws_s3_bucket": ("bucket", "bucket"),
}

# Linear: anchored, and each class stops at the delimiter that follows it.
_OPEN = re.compile(r'^\s*resource\s+"([A-Za-z0-9_]+)"\s+"([A-Za-z0-9_-]+)"\s*\{')
_LITERAL = re.compile(r'^\s*([a-z_]+)\s*=\s*"([^"$%\\]*)"\s*(?:#.*)?$')


def _depth_change(text: str) -> int:
    """Braces opened minus closed on a line, outside strings and ``#``/``//`` comments."""
    depth = 0
    quoted = escaped = False
    previous = ""
    for ch in text:
        if quoted:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                quoted = False
        elif ch == '"':
            quoted = True
        elif ch == "#" or (ch == "/" and previous == "/"):
            break
        elif ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
        previous = ch
    return depth


def scan_tf(text: str, file: str) -> Iterator[Defined]:
    """Every matching resource block of one ``.tf`` file."""
    current: tuple[str, str, int] | None = None  # (type, label, line)
    args: dict[str, str] = {}
    depth = 0
    for number, raw in enumerate(text.splitlines(), 1):
        if current is None:
            m = _OPEN.match(raw)
            if m and m.group(1) in RESOURCES:
                current, args, depth = (m.group(1), m.group(2), number), {}, _depth_change(raw)
                if depth <= 0:  # `resource "x" "y" {}` on one line
                    current = None
            continue
        if depth == 1:
            lit = _LITERAL.match(raw)
            if lit:
                args.setdefault(lit.group(1), lit.group(2))
        depth += _depth_change(raw)
        if depth <= 0:
            yield from _defined(current, args, file)
            current = None
    if current is not None:
        yield from _defined(current, args, file)


def _defined(current: tuple[str, str, int], args: dict[str, str], file: str) -> Iterator[Defined]:
    rtype, label, line = current
    kind, name_arg = RESOURCES[rtype]
    name = args.get(name_arg)
    if name:
        yield Defined(kind, name, args.get("path"), file, line, f"{rtype}.{label}", "terraform")


def scan_tf_json(text: str, file: str) -> Iterator[Defined]:
    """Every matching resource of one ``.tf.json`` file (JSON syntax)."""
    try:
        doc = json.loads(text)
    except ValueError:
        return
    lines = text.splitlines()
    for rtype, label, body in _json_resources(doc):
        if rtype not in RESOURCES or not isinstance(body, dict):
            continue
        kind, name_arg = RESOURCES[rtype]
        name, path = body.get(name_arg), body.get("path")
        if not isinstance(name, str) or "${" in name:
            continue
        line = _json_line(lines, rtype, label)
        path = path if isinstance(path, str) and "${" not in path else None
        yield Defined(kind, name, path, file, line, f"{rtype}.{label}", "terraform")


def _json_resources(doc: Any) -> Iterator[tuple[str, str, Any]]:
    """(type, label, body) of ``{"resource": {type: {label: body}}}``; any level may be a list."""
    blocks = doc.get("resource") if isinstance(doc, dict) else None
    for block in blocks if isinstance(blocks, list) else [blocks]:
        if not isinstance(block, dict):
            continue
        for rtype, labels in block.items():
            for entry in labels if isinstance(labels, list) else [labels]:
                if isinstance(entry, dict):
                    for label, body in entry.items():
                        for item in body if isinstance(body, list) else [body]:
                            yield str(rtype), str(label), item


def _json_line(lines: list[str], rtype: str, label: str) -> int:
    """The line of ``"label"`` after the line of ``"type"``; the type's line if not found."""
    type_key, label_key = json.dumps(rtype), json.dumps(label)
    start = next((i for i, text in enumerate(lines) if type_key in text), 0)
    for i in range(start, len(lines)):
        if label_key in lines[i]:
            return i + 1
    return start + 1
