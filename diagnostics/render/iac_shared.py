"""What the Terraform and CloudFormation renderers share: comments, names, IaC locations."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence

from diagnostics.iac.targets import Target, target_of
from diagnostics.iam.arns import parse_arn, permission_set_name
from diagnostics.model import Diagnosis, IacLocation
from diagnostics.policy.merge import PolicyDocument, header, risk_notes
from diagnostics.policy.output import unfixable
from diagnostics.text.safe import line

#: The inline policy name the fixes are written under (docs/ci.md uses it too).
POLICY_NAME = "authz-diag-fix"


def ascii_escape(text: str) -> str:
    """Every character outside printable ASCII as ``\\uNNNN``/``\\UNNNNNNNN``.

    Both formats accept these escapes inside strings, and an all-ASCII file
    has no line break, bidi override or unencodable surrogate in it.
    """
    out = []
    for ch in text:
        code = ord(ch)
        if 0x20 <= code < 0x7F:
            out.append(ch)
        elif 0xD800 <= code <= 0xDFFF:
            out.append("\\ufffd")  # a lone surrogate has no UTF-8 form
        elif code <= 0xFFFF:
            out.append(f"\\u{code:04x}")
        else:
            out.append(f"\\U{code:08x}")
    return "".join(out)


def comment(text: object) -> str:
    """``# text`` on one line: newlines and controls escaped, nothing beyond ASCII."""
    return "# " + ascii_escape(line(text))


def document_comments(doc: PolicyDocument, where: Sequence[IacLocation]) -> list[str]:
    """What the document is, its size warnings and risks, and where the target is defined."""
    lines = [comment(header(doc))]
    lines += [comment(f"warning: {w}") for w in doc.warnings]
    lines += [comment(note) for note in risk_notes(doc.risk)]
    lines += [comment(f"defined in {loc.label()}") for loc in where]
    return lines


def unfixable_comments(diagnoses: Iterable[Diagnosis]) -> list[str]:
    """One comment block per failure no statement can fix, so none vanishes silently."""
    lines: list[str] = []
    for entry in unfixable(diagnoses):
        lines += [comment(note) for note in entry["notes"]]
    return lines


def locations(diagnoses: Iterable[Diagnosis]) -> dict[Target, list[IacLocation]]:
    """Every ``--iac`` location the diagnoses carry, by the target it defines."""
    out: dict[Target, list[IacLocation]] = {}
    for d in diagnoses:
        for loc in d.defined_in:
            target = target_of(loc.applies_to)
            if target is not None:
                found = out.setdefault(target, [])
                if all((x.path, x.line) != (loc.path, loc.line) for x in found):
                    found.append(loc)
    return out


def where(doc: PolicyDocument, known: dict[Target, list[IacLocation]]) -> list[IacLocation]:
    target = target_of(doc.applies_to) if doc.applies_to else None
    return known.get(target, []) if target is not None else []


def short_name(doc: PolicyDocument) -> str:
    """The target's own name: role, user or bucket name, key ID, permission set, else the ARN."""
    applies_to = doc.applies_to or ""
    if doc.kind == "permission_set":
        return permission_set_name(applies_to) or applies_to.rsplit("/", 1)[-1] or "unknown"
    target = target_of(applies_to)
    if target is not None:
        return target.name
    parsed = parse_arn(applies_to)
    if parsed is not None:
        return re.split(r"[/:]", parsed.resource)[-1] or parsed.service
    return applies_to or "unknown"


class Names:
    """Unique identifiers derived from untrusted names, in a format's alphabet."""

    def __init__(self, *, camel: bool) -> None:
        self.camel = camel
        self.used: set[str] = set()

    def make(self, *parts: str) -> str:
        words = [w for p in parts for w in re.split(r"[^A-Za-z0-9]+", p) if w]
        if self.camel:
            base = "".join(w[:1].upper() + w[1:] for w in words) or "Fix"
            base = base if base[0].isalpha() else "Fix" + base
        else:
            base = "_".join(w.lower() for w in words) or "fix"
            base = base if base[0].isalpha() else "fix_" + base
        if len(base) > 60:  # keep it readable; the digest keeps it distinct
            digest = hashlib.sha256(base.encode()).hexdigest()[:8]
            base = base[:51] + ("" if self.camel else "_") + digest
        name, n = base, 2
        while name.lower() in self.used:
            name, n = f"{base}{n}" if self.camel else f"{base}_{n}", n + 1
        self.used.add(name.lower())
        return name
