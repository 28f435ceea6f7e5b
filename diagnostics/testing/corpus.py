"""The real-text corpus: load and check its cases, and scan them.

One case is ``<slug>.txt`` (a text exactly as a user pasted it in a public
thread) and ``<slug>.expect.json`` (the failures a careful reader sees in it).
``tests/test_real_corpus.py`` asserts each case and ``bench/accuracy.py``
prints the figures; both go through this module and ``scoring`` so they
cannot disagree.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import orjson

from diagnostics.model import POLICY_TYPES, JSONObject

if TYPE_CHECKING:
    from diagnostics.rules import RuleSet

#: Where the corpus lives in a source checkout.
REAL_DIR = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "real"
SUFFIX = ".expect.json"
# Linear: one class after one literal class, fully matched.
SLUG = re.compile(r"[a-z][a-z0-9-]*")

TOOLS = frozenset(
    [
        "terraform",
        "aws-cli",
        "boto3",
        "go-sdk",
        "js-sdk",
        "java-sdk",
        "cdk",
        "sam",
        "cloudformation",
        "karpenter",
        "eksctl",
        "packer",
        "kubernetes",
        "ci",
        "console",
        "blog",
        "other",
    ]
)
#: Keys a collector may set on an expected failure.
FAILURE_KEYS = frozenset(
    [
        "kind",
        "principal_arn",
        "principal_text",
        "resource_text",
        "account_id",
        "action",
        "resource",
        "policy_type",
        "policy_arn",
        "explicit_deny",
        "truncated",
        "error_code",
        "operation",
        "authorization_id",
        "encoded_prefix",
        "occurrences",
    ]
)
CASE_KEYS = frozenset({"url", "title", "tool", "classes", "failures", "notes", "known_gap"})
KINDS = frozenset({"encoded", "plain", "cloudtrail", "decoded"})
#: The six fields accuracy is measured on ("principal" is principal_arn, or
#: principal_text when the expected ARN is null).
MEASURED = ("principal", "action", "resource", "policy_type", "explicit_deny", "account_id")


@dataclass(frozen=True, slots=True)
class Case:
    """One corpus case: its slug, the pasted text's path and the expectation."""

    slug: str
    text_path: Path
    expect: JSONObject

    @property
    def failures(self) -> list[JSONObject]:
        failures = self.expect.get("failures")
        return failures if isinstance(failures, list) else []

    @property
    def negative(self) -> bool:
        return not self.failures

    @property
    def known_gap(self) -> str | None:
        gap = self.expect.get("known_gap")
        return gap if isinstance(gap, str) and gap else None


class CorpusError(ValueError):
    """A corpus file that cannot be read as a case; the message names the file."""


def load_cases(root: Path = REAL_DIR) -> list[Case]:
    """Every case under ``root``, sorted by slug; a malformed file raises ``CorpusError``."""
    cases = []
    for path in sorted(root.glob(f"*{SUFFIX}")):
        slug = path.name[: -len(SUFFIX)]
        try:
            expect = orjson.loads(path.read_bytes())
        except orjson.JSONDecodeError as exc:
            raise CorpusError(f"{path}: not valid JSON ({exc}); fix the file") from exc
        if not isinstance(expect, dict):
            raise CorpusError(f"{path}: must hold a JSON object with url, title, tool, failures")
        cases.append(Case(slug, root / f"{slug}.txt", expect))
    return cases


def problems(case: Case) -> list[str]:
    """What is wrong with the case's files themselves (not with the reader's answer)."""
    out: list[str] = []
    e = case.expect
    if not SLUG.fullmatch(case.slug):
        out.append(f"slug {case.slug!r} must be lowercase [a-z0-9-]")
    if not case.text_path.is_file():
        out.append(f"{case.text_path.name} is missing")
    if unknown := sorted(set(e) - CASE_KEYS):
        out.append(f"unknown keys {unknown}; allowed: {sorted(CASE_KEYS)}")
    if not (isinstance(e.get("url"), str) and e["url"].startswith("http")):
        out.append("url must be the public source's http(s) address")
    if not (isinstance(e.get("title"), str) and e["title"].strip()):
        out.append("title must be one line saying who pasted what, where")
    if e.get("tool") not in TOOLS:
        out.append(f"tool {e.get('tool')!r} is not one of {sorted(TOOLS)}")
    if not isinstance(e.get("classes"), list):
        out.append("classes must be a list of tags")
    failures = e.get("failures")
    if not isinstance(failures, list):
        return [*out, "failures must be a list ([] for a negative)"]
    for n, f in enumerate(failures, 1):
        if not isinstance(f, dict):
            out.append(f"failure {n} must be an object")
            continue
        if unknown := sorted(set(f) - FAILURE_KEYS):
            out.append(f"failure {n}: unknown keys {unknown}")
        if "kind" in f and f["kind"] not in KINDS:
            out.append(f"failure {n}: kind {f['kind']!r} is not one of {sorted(KINDS)}")
        if f.get("policy_type") not in (None, *POLICY_TYPES):
            out.append(f"failure {n}: policy_type {f['policy_type']!r} is unknown")
        if missing := [k for k in MEASURED if not asserts(f, k)]:
            out.append(f"failure {n}: set every measured field (null when unsaid): {missing}")
    return out


def asserts(expected: JSONObject, key: str) -> bool:
    """True when the expected failure sets ``key`` (``principal``: the ARN or the text)."""
    if key == "principal":
        return "principal_arn" in expected or "principal_text" in expected
    return key in expected


def scan_case(case: Case, ruleset: RuleSet | None) -> list[JSONObject]:
    """The diagnoses ``scan --no-decode --format json`` gives for the case's text."""
    from diagnostics.run.scan import scan

    _, diagnoses = scan([str(case.text_path)], ruleset=ruleset, decoder=None, err=io.StringIO())
    return [d.to_json() for d in diagnoses]
