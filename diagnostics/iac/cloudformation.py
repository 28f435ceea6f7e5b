"""Role, user, group and bucket resources in CloudFormation templates (YAML or JSON, CDK synth).

JSON templates are parsed; YAML ones are read line by line (CloudFormation's
``!Ref``/``!Sub`` tags need a custom loader, and the line is what we want):
a logical ID under ``Resources:``, its ``Type:``, and a literal name property.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from diagnostics.iac.found import Defined

#: CloudFormation type -> (target kind, property holding its name).
RESOURCES = {
    "AWS::IAM::Role": ("role", "RoleName"),
    "AWS::IAM::User": ("user", "UserName"),
    "AWS::IAM::Group": ("group", "GroupName"),
    "AWS::S3::Bucket": ("bucket", "BucketName"),
}

# Linear: anchored; each class stops at the delimiter that follows it, and a
# comment or the value's tail is one greedy class before the end.
_KEY = re.compile(r"^ *([A-Za-z0-9]+) *:[ \t]*(?:#.*)?$")
_SCALAR = re.compile(
    r"""^ *([A-Za-z]+) *: *(?:"([^"\\]*)" *|'([^']*)' *|([^\s'"!{\[&*#|>][^#]*))(?:#.*)?$"""
)
# Linear: anchored literal, one class, an optional comment to the end.
_SECTION = re.compile(r"^Resources *:[ \t]*(?:#.*)?$")


def scan_yaml(text: str, file: str) -> Iterator[Defined]:
    """Every matching resource of a YAML template."""
    lines = text.splitlines()
    try:
        start = next(i for i, t in enumerate(lines) if _SECTION.match(t))
    except StopIteration:
        return
    indent: int | None = None
    current: tuple[str, int] | None = None  # (logical id, line)
    props: dict[str, str] = {}
    for i in range(start + 1, len(lines)):
        raw = lines[i]
        if not raw.strip() or raw.lstrip().startswith("#"):
            continue
        width = len(raw) - len(raw.lstrip(" "))
        if width == 0:
            break  # the next top-level section
        if indent is None:
            indent = width
        if width == indent:
            yield from _yaml_defined(current, props, file)
            key = _KEY.match(raw)
            current, props = ((key.group(1), i + 1) if key else None), {}
            continue
        m = _SCALAR.match(raw)
        if current is not None and m:
            value = next(v for v in m.groups()[1:] if v is not None)
            props.setdefault(m.group(1), value.strip())
    yield from _yaml_defined(current, props, file)


def _yaml_defined(
    current: tuple[str, int] | None, props: dict[str, str], file: str
) -> Iterator[Defined]:
    if current is None:
        return
    rtype = props.get("Type", "")
    if rtype not in RESOURCES:
        return
    kind, name_prop = RESOURCES[rtype]
    name = props.get(name_prop)
    if name:
        logical, line = current
        resource = f"{logical} ({rtype})"
        yield Defined(kind, name, props.get("Path"), file, line, resource, "cloudformation")


def scan_json(text: str, file: str) -> Iterator[Defined]:
    """Every matching resource of a JSON template (``cdk.out/*.template.json`` included)."""
    try:
        doc: Any = json.loads(text)
    except ValueError:
        return
    resources = doc.get("Resources") if isinstance(doc, dict) else None
    if not isinstance(resources, dict):
        return
    lines = text.splitlines()
    for logical, body in resources.items():
        if not isinstance(body, dict) or body.get("Type") not in RESOURCES:
            continue
        rtype = body["Type"]
        kind, name_prop = RESOURCES[rtype]
        props = body.get("Properties")
        name = props.get(name_prop) if isinstance(props, dict) else None
        if not isinstance(name, str):
            continue
        path = props.get("Path") if isinstance(props, dict) else None
        key = json.dumps(logical)
        line = next((n for n, t in enumerate(lines, 1) if key in t), 1)
        yield Defined(
            kind,
            name,
            path if isinstance(path, str) else None,
            file,
            line,
            f"{logical} ({rtype})",
            "cloudformation",
        )
