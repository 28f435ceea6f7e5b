"""``--format sarif``: SARIF 2.1.0 for code scanning and pull-request annotations.

One result per failure.  Its rule is the failure's first finding's rule (the
others are listed in the result's properties), its location the log file and
line, and its message says what was denied, to whom and why.  The fixes are
IAM policy statements for AWS, not edits to a file in the repository, so they
go in the result's ``properties.fixes``: SARIF's ``fix`` object must carry
``artifactChanges`` (SARIF 2.1.0 §3.55.3), which describe byte edits to
artifacts (docs/ci.md).

Every value that came from a log is untrusted.  It appears only in plain-text
messages and in properties, never in a URI: the one URI per result is the
scanned file's own path, percent-encoded.  Message text is one line per
paragraph with control and format characters escaped (``render.safe``),
square brackets escaped so no embedded link (§3.11.6) forms, and curly braces
doubled so nothing reads as a placeholder (§3.11.5).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

import orjson

from diagnostics import __version__
from diagnostics.model import TARGET_WORDS, Diagnosis, Finding, JSONObject
from diagnostics.render.text import why
from diagnostics.text.safe import json_bytes, line

if TYPE_CHECKING:
    from diagnostics.rules import RuleSet

SCHEMA = (
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
)
INFORMATION_URI = "https://github.com/authz-diagnostics/authz-diagnostics"
#: The base the relative artifact URIs resolve against (the scan's root directory).
ROOT_ID = "SCANROOT"
#: The artifact of a failure read from standard input: there is no file to point at.
STDIN_URI = "stdin"

#: The rule of a failure no rule matched.
UNMATCHED = "no-rule-matched"

#: A finding's severity as a result level (SARIF 2.1.0 §3.27.10).
LEVELS = {"high": "error", "medium": "warning", "low": "note", "info": "note"}

# One character class each: linear.
_LINK_CHARS = re.compile(r"[\\\[\]]")
_WORD = re.compile(r"[A-Za-z0-9]+")


@dataclass(frozen=True, slots=True)
class RuleInfo:
    """What the run's ``rules`` array says about one rule."""

    id: str
    title: str
    description: str = ""
    help_uri: str | None = None

    def descriptor(self) -> JSONObject:
        out: JSONObject = {
            "id": self.id,
            # SARIF wants an identifier-like name (§3.49.7): ec2-run-instances -> Ec2RunInstances.
            "name": "".join(w[:1].upper() + w[1:] for w in _WORD.findall(self.id)) or "Rule",
            "shortDescription": {"text": text(self.title)},
        }
        if self.description:
            out["fullDescription"] = {"text": text(self.description)}
        if self.help_uri:
            out["helpUri"] = self.help_uri
        return out


def text(value: object) -> str:
    """``value`` as SARIF plain text: paragraphs kept, nothing that renders as a link or
    placeholder, every control and format character escaped."""
    lines = [line(part) for part in str(value).strip().split("\n")]
    out = _LINK_CHARS.sub(lambda m: "\\" + m.group(), "\n".join(lines))
    return out.replace("{", "{{").replace("}", "}}")


def _https(uri: object) -> str | None:
    """``uri`` when it is an https URL (rule references are the rule author's, still checked)."""
    if not isinstance(uri, str) or not uri.isascii() or not uri.isprintable() or " " in uri:
        return None
    parts = urlsplit(uri)
    return uri if parts.scheme == "https" and parts.netloc else None


def rule_infos(ruleset: RuleSet | None) -> dict[str, RuleInfo]:
    """Each rule's title, description and first reference, by id."""
    if ruleset is None:
        return {}
    out = {}
    for rule in ruleset.rules:
        refs = rule.doc.get("references") or []
        out[rule.id] = RuleInfo(
            rule.id,
            rule.title,
            " ".join(rule.description.split()),
            next((u for u in map(_https, refs) if u), None),
        )
    return out


def artifact_location(path: str, root: Path) -> JSONObject:
    """The file's URI: relative to ``root`` (resolved through ``uriBaseId``) when inside it."""
    if path == "-":
        return {"uri": STDIN_URI, "description": {"text": "standard input"}}
    absolute = Path(path).absolute()
    try:
        relative = PurePosixPath(absolute.relative_to(root.absolute()).as_posix())
    except ValueError:
        return {"uri": absolute.as_uri()}
    # quote() leaves only unreserved characters and "/": a file name cannot add a query,
    # a fragment or a scheme.
    return {"uri": quote(str(relative), safe="/"), "uriBaseId": ROOT_ID}


def _location(d: Diagnosis, root: Path) -> JSONObject:
    src = d.failure.source
    physical: JSONObject = {"artifactLocation": artifact_location(src.path, root)}
    if src.line is not None and src.line >= 1:
        physical["region"] = {"startLine": src.line}
    elif src.offset is not None and src.offset >= 0:
        physical["region"] = {"byteOffset": src.offset}
    return {"physicalLocation": physical}


def _message(d: Diagnosis, finding: Finding | None) -> str:
    f = d.failure
    action = f.action or (f"{f.operation} (API operation)" if f.operation else "a request")
    resource = f.resource or f.resource_text
    who = f.principal_arn or f.principal_text
    first = f"{action}{f' on {resource}' if resource else ''} was denied"
    first += f" to {who}" if who else ""
    reason = why(d)
    said = reason != "not stated in the message"
    parts = [f"{first}: {reason}." if said else f"{first}; the message does not say why."]
    if finding is None:
        parts.append("No rule matched; the message says too little to write a fix.")
        return text("\n".join(parts))
    parts.append(f"{finding.title}.")
    targets = [
        f"{TARGET_WORDS.get(fix.target, fix.target)}"
        + (f" {fix.applies_to}" if fix.applies_to else "")
        for fix in finding.fixes
        if fix.statements
    ]
    if targets:
        parts.append("Fix: add the statements in properties.fixes to " + "; ".join(targets) + ".")
    parts.append(finding.explanation)
    return text("\n".join(parts))


def _fingerprint(d: Diagnosis, rule_id: str) -> str:
    """Stable across runs for the same denial, so code scanning tracks one alert."""
    f = d.failure
    key = "\x1f".join(
        str(x or "")
        for x in (
            rule_id,
            f.principal_arn or f.principal_text,
            f.action or f.operation,
            f.resource or f.resource_text,
            f.error_code,
        )
    )
    return hashlib.sha256(key.encode()).hexdigest()


def _properties(d: Diagnosis, findings: Sequence[Finding]) -> JSONObject:
    f = d.failure
    first = findings[0] if findings else None
    return {
        # Everything below but the severity came from the log: data, not instructions.
        "untrusted": ["failure", "fixes", "otherFindings", "verification"],
        "severity": first.severity if first else None,
        "failure": {
            "kind": f.kind,
            "principal_arn": f.principal_arn,
            "action": f.action,
            "resource": f.resource,
            "error_code": f.error_code,
            "policy_type": f.policy_type,
            "policy_arn": f.policy_arn,
            "explicit_deny": f.explicit_deny,
            "authorization_id": f.authorization_id,
            "occurrences": d.occurrences,
        },
        "fixes": [fix.to_json() for fix in first.fixes] if first else [],
        "otherFindings": [x.to_json() for x in findings[1:]],
        "verification": [v.to_json() for v in d.verification],
    }


def render(
    diagnoses: Sequence[Diagnosis],
    *,
    rules: dict[str, RuleInfo] | None = None,
    root: Path | None = None,
) -> bytes:
    """The SARIF log (one run) for ``diagnoses``, as JSON bytes ending with a newline."""
    base = Path.cwd() if root is None else root
    known = rules or {}
    used: dict[str, int] = {}
    descriptors: list[JSONObject] = []
    results: list[JSONObject] = []
    for d in diagnoses:
        finding = d.findings[0] if d.findings else None
        rule_id = finding.rule if finding else UNMATCHED
        if rule_id not in used:
            used[rule_id] = len(descriptors)
            info = known.get(rule_id) or RuleInfo(
                rule_id,
                finding.title if finding else "No rule matched the authorization failure",
            )
            descriptors.append(info.descriptor())
        results.append(
            {
                "ruleId": rule_id,
                "ruleIndex": used[rule_id],
                "level": LEVELS.get(finding.severity, "warning") if finding else "warning",
                "message": {"text": _message(d, finding)},
                "locations": [_location(d, base)],
                "partialFingerprints": {"authzDiagnosis/v1": _fingerprint(d, rule_id)},
                "properties": _properties(d, d.findings),
            }
        )
    log: dict[str, Any] = {
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "authz-diag",
                        "version": __version__,
                        "semanticVersion": __version__,
                        "informationUri": INFORMATION_URI,
                        "rules": descriptors,
                    }
                },
                "originalUriBaseIds": {
                    ROOT_ID: {"uri": base.absolute().as_uri().rstrip("/") + "/"}
                },
                "columnKind": "unicodeCodePoints",
                "results": results,
            }
        ],
    }
    return json_bytes(orjson.dumps(log, option=orjson.OPT_INDENT_2)) + b"\n"
