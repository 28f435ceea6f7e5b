"""The SDK x protocol x message-variant matrix, generated from ``docs/error-shapes.md``.

Each row of that file's Shapes table is how one SDK, CLI or tool prints a
service error (read from its own source).  ``matrix()`` renders every row for
every service of its protocols, with every message variant AWS sends for a
denial, as the tool prints it and as logs carry it afterwards: hard-wrapped at
80 and 120 columns, inside Terraform's box, quoted in Markdown, and escaped
inside a JSON log line.  Each rendering knows what a reader must find in it.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

#: Where the table lives in a source checkout.
SHAPES_DOC = Path(__file__).resolve().parents[2] / "docs" / "error-shapes.md"

ACCOUNT = "111122223333"
PRINCIPAL = f"arn:aws:sts::{ACCOUNT}:assumed-role/deployer/ci-session"
REQUEST_ID = "4442587FB7D0A2F9"
HOST_ID = "vlR7PnpV2Ce81l0PRw6jlUpck7Jo5ZsQjryTjKlc5aLWGVHPZLj5NeC6qMa0emYBDXOo6QBU0Wo="
BLOB = "AbC4-xYz_" + "q0Ws9JpLm3Rt7Uv1Xz5Bn8Ck2Dh6Fg" * 24
AUTHZ_ID = "7q2m9x4k1c8v3b6n0z5l2j7h4g9f1d3s"


@dataclass(frozen=True, slots=True)
class Service:
    """One service of the matrix: its protocol, a denied call, and its SDK names."""

    name: str
    protocol: str
    code: str
    status: int
    reason: str
    operation: str
    action: str
    resource: str
    names: dict[str, str]


#: The denied call per service (status per docs/error-shapes.md's Notes).
_CALLS: dict[str, tuple[str, int, str, str, str, str]] = {
    "s3": ("AccessDenied", 403, "Forbidden", "PutObject", "s3:PutObject",
           "arn:aws:s3:::example-bucket/build/app.zip"),
    "ec2": ("UnauthorizedOperation", 403, "Forbidden", "RunInstances", "ec2:RunInstances",
            f"arn:aws:ec2:us-east-1:{ACCOUNT}:instance/*"),
    "iam": ("AccessDenied", 403, "Forbidden", "CreateRole", "iam:CreateRole",
            f"arn:aws:iam::{ACCOUNT}:role/app-role"),
    "sts": ("AccessDenied", 403, "Forbidden", "AssumeRole", "sts:AssumeRole",
            f"arn:aws:iam::{ACCOUNT}:role/target-role"),
    "dynamodb": ("AccessDeniedException", 400, "Bad Request", "PutItem", "dynamodb:PutItem",
                 f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/orders"),
    "kms": ("AccessDeniedException", 400, "Bad Request", "Decrypt", "kms:Decrypt",
            f"arn:aws:kms:us-east-1:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"),
    "lambda": ("AccessDeniedException", 403, "Forbidden", "Invoke", "lambda:InvokeFunction",
               f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:worker"),
}  # fmt: skip

#: (variant, policy type, explicit deny, reason clause with {a} for the action)
_REASONS = (
    ("identity", "identity", False, " because no identity-based policy allows the {a} action"),
    ("scp", "scp", True, " with an explicit deny in a service control policy: "
     "arn:aws:organizations::999988887777:policy/o-abc123/service_control_policy/p-def456"),
    ("rcp", "rcp", False, " because no resource control policy allows the {a} action"),
    ("boundary", "permissions_boundary", False,
     " because no permissions boundary allows the {a} action"),
    ("session", "session", False, " because no session policy allows the {a} action"),
    ("vpce", "vpc_endpoint", True, " with an explicit deny in a VPC endpoint policy"),
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Shape:
    """One row of the Shapes table."""

    id: str
    protocols: tuple[str, ...]
    template: str


@dataclass(frozen=True, slots=True)
class Expected:
    """What the reader must report for one rendering."""

    action: str | None  # None: the text cannot say (no operation, no sentence)
    code: str | None  # None: the tool does not print it
    operation: str | None
    principal_arn: str | None
    policy_type: str | None
    explicit_deny: bool | None
    encoded: bool
    authorization_id: str | None


@dataclass(frozen=True, slots=True)
class Rendering:
    """One generated text and what it holds."""

    id: str
    text: str
    expected: Expected


def _cells(row: str) -> list[str]:
    # Split on pipes that are not escaped; a template's "\|" is a literal pipe.
    parts = re.split(r"(?<!\\)\|", row.strip())
    return [p.strip() for p in parts[1:-1]]


def _table(doc: str, heading: str) -> list[dict[str, str]]:
    lines = doc.split(f"\n{heading}\n", 1)[1].splitlines()
    stop = next((i for i, line in enumerate(lines) if line.startswith("## ")), len(lines))
    rows = [line for line in lines[:stop] if line.startswith("|")]
    header = _cells(rows[0])
    return [dict(zip(header, _cells(r), strict=True)) for r in rows[2:]]


def load(doc_path: Path = SHAPES_DOC) -> tuple[list[Shape], list[Service]]:
    """The shapes and services of the document."""
    doc = doc_path.read_text(encoding="utf-8")
    shapes = []
    for row in _table(doc, "## Shapes"):
        span = row["template"]
        if not (span.startswith("`") and span.endswith("`")):
            raise ValueError(f"{doc_path}: shape {row['id']}: the template must be one code span")
        template = span[1:-1].replace("\\n", "\n").replace("\\|", "|")
        protocols = tuple(p.strip() for p in row["protocols"].split(","))
        shapes.append(Shape(row["id"], protocols, template))
    services = []
    for row in _table(doc, "## Services"):
        code, status, reason, op, action, resource = _CALLS[row["service"]]
        names = {k: v for k, v in row.items() if k not in ("service", "protocol")}
        services.append(
            Service(row["service"], row["protocol"], code, status, reason, op, action, resource,
                    names)
        )  # fmt: skip
    return shapes, services


def _messages(svc: Service) -> Iterator[tuple[str, str, Expected]]:
    """(variant, service message, what it tells) for every denial message variant."""
    bare = (
        "You are not authorized to perform this operation."
        if svc.name == "ec2"
        else ("Access Denied")
    )
    yield "bare", bare, Expected(svc.action, svc.code, svc.operation, None, None, None, False, None)
    sentence = f"User: {PRINCIPAL} is not authorized to perform: {svc.action} on resource: "
    for name, ptype, explicit, reason in _REASONS:
        text = sentence + svc.resource + reason.format(a=svc.action)
        yield (
            name,
            text,
            Expected(svc.action, svc.code, svc.operation, PRINCIPAL, ptype, explicit, False, None),
        )
    with_id = (
        sentence + svc.resource + _REASONS[0][3].format(a=svc.action) + ". Go to https://"
        "us-east-1.console.aws.amazon.com/iam/home?region=us-east-1#/authorization-details/"
        f"{AUTHZ_ID} for complete details, or call the GetRequestAuthorizationDetails API with "
        f"the following authorization id: {AUTHZ_ID}"
    )
    yield (
        "authorization-id",
        with_id,
        Expected(
            svc.action, svc.code, svc.operation, PRINCIPAL, "identity", False, False, AUTHZ_ID
        ),
    )
    if svc.name == "ec2":
        blob = f"{bare} Encoded authorization failure message: {BLOB}"
        yield (
            "encoded",
            blob,
            Expected(svc.action, svc.code, svc.operation, None, None, None, True, None),
        )


def render(shape: Shape, svc: Service, message: str, *, json_escaped: bool = False) -> str:
    """The template filled in for one service and message."""
    values = {
        "code": svc.code,
        "message": json.dumps(message)[1:-1] if json_escaped else message,
        "operation": svc.operation,
        "status": str(svc.status),
        "reason": svc.reason,
        "request_id": REQUEST_ID,
        "host_id": HOST_ID,
        "method": "PUT",
        "url": f"https://{svc.names.get('endpoint_prefix', svc.name)}.us-east-1.amazonaws.com/",
        **svc.names,
    }
    return re.sub(r"\{([a-z0-9_]+)\}", lambda m: values.get(m.group(1), m.group(0)), shape.template)


def _wrapped(text: str, width: int) -> str:
    """A terminal's hard wrap: every line cut at ``width`` columns, even mid-word."""
    out = []
    for line in text.split("\n"):
        out += [line[i : i + width] for i in range(0, max(len(line), 1), width)]
    return "\n".join(out)


def _boxed(text: str) -> str:
    return "╷\n" + "\n".join(f"│ {line}" for line in text.split("\n")) + "\n╵"


def _quoted(text: str) -> str:
    return "\n".join(f"> {line}" for line in text.split("\n"))


def _json_line(text: str) -> str:
    return json.dumps({"level": "error", "ts": "2026-12-07T10:00:00Z", "msg": text})


#: How a log carries the tool's text afterwards.
CARRIERS = {
    "as-printed": lambda t: t,
    "wrapped-80": lambda t: _wrapped(t, 80),
    "wrapped-120": lambda t: _wrapped(t, 120),
    "boxed": _boxed,
    "markdown-quote": _quoted,
    "json-escaped": _json_line,
}


def readable(shape: Shape) -> bool:
    """The template prints the service's code or message at all (Rust's Display does not)."""
    return "{message}" in shape.template or "{code}" in shape.template


def _names_aws(shape: Shape) -> bool:
    """Besides the message, the template prints a code, an operation or an AWS class."""
    return bool(
        re.search(r"\{(?:code|operation|[a-z0-9]+_(?:exception|service|module))\}", shape.template)
    )


def expected_for(shape: Shape, e: Expected) -> Expected:
    """What ``shape`` lets a reader know of ``e``: only what it prints."""
    prints_op = "{operation}" in shape.template
    action = e.action if (prints_op or e.principal_arn) else None
    return Expected(
        action,
        e.code if "{code}" in shape.template else None,
        e.operation if prints_op else None,
        e.principal_arn,
        e.policy_type,
        e.explicit_deny,
        e.encoded,
        e.authorization_id,
    )


def matrix(doc_path: Path = SHAPES_DOC) -> Iterator[tuple[Shape, Service, list[Rendering]]]:
    """Every readable shape x service of its protocols, with all its renderings."""
    shapes, services = load(doc_path)
    for shape in shapes:
        if not readable(shape):
            continue
        for svc in services:
            if "all" not in shape.protocols and svc.protocol not in shape.protocols:
                continue
            renderings = []
            for variant, message, expected in _messages(svc):
                if variant == "bare" and not _names_aws(shape):
                    continue  # a lone "Access Denied" could be any program's
                want = expected_for(shape, expected)
                for carrier, carry in CARRIERS.items():
                    text = carry(render(shape, svc, message))
                    renderings.append(Rendering(f"{variant}/{carrier}", text, want))
            yield shape, svc, renderings


def problems(rendering: Rendering) -> list[str]:
    """What ``scan --no-decode`` gets wrong on ``rendering`` (empty: all right)."""
    from diagnostics.run.scan import scan

    _, diagnoses = scan(
        ["-"],
        ruleset=None,
        decoder=None,
        err=io.StringIO(),
        stdin=io.BytesIO(rendering.text.encode() + b"\n"),
    )
    if len(diagnoses) != 1:
        return [f"{len(diagnoses)} failures found, expected 1"]
    f, e = diagnoses[0].failure, rendering.expected
    out = []
    checks = [
        ("error_code", f.error_code, e.code),
        ("operation", f.operation, e.operation),
        ("principal_arn", f.principal_arn, e.principal_arn),
        ("policy_type", f.policy_type, e.policy_type),
        ("explicit_deny", f.explicit_deny, e.explicit_deny),
        ("authorization_id", f.authorization_id, e.authorization_id),
    ]
    if e.action is not None:
        checks.append(("action", f.action, e.action))
    for name, got, want in checks:
        # A slot the text does not print may still be known another way (a code
        # implied by the sentence): only what the text says is required.
        if want is not None and got != want:
            out.append(f"{name}: expected {want!r}, got {got!r}")
    if e.encoded and f.encoded_message != BLOB:
        out.append("the encoded message was not read whole")
    return out
