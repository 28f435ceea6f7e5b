"""The rule-file schema: fixed top-level fields plus the registries' names.

``check_rule`` returns every problem in one rule document, so a bad file is
reported whole with file, rule id, field and a hint.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from diagnostics.model import FIX_TARGETS, Failure
from diagnostics.rules.tables import matchers_table
from diagnostics.rules.template import placeholder_problems, walk_strings

SEVERITIES = ("info", "low", "medium", "high")
STATUSES = ("experimental", "test", "stable", "deprecated")
# Linear: anchored, one class.
RULE_ID = re.compile(r"^[a-z0-9][a-z0-9.-]*$")
STATEMENT_KEYS = (
    "Sid",
    "Effect",
    "Action",
    "NotAction",
    "Resource",
    "NotResource",
    "Principal",
    "NotPrincipal",
    "Condition",
)
#: Failure fields a case may set (source, decoded and excerpt are filled by the runner).
CASE_FAILURE_FIELDS = tuple(
    f.name for f in dataclasses.fields(Failure) if f.name not in {"source", "decoded", "excerpt"}
)
FIX_FIELDS = {
    "target": f"where the change goes: {', '.join(FIX_TARGETS)}",
    "applies_to": "template: ARN of the principal, role or resource whose policy changes",
    "statements": "[[fix.statements]] IAM statement templates",
    "when": "matchers (like [match]) that must hold for this fix to be offered: a dependent"
    " permission the request's context proves it needs",
    "note": "template sentence added to the explanation when this fix is offered",
}
CASE_FIELDS = {
    "name": "what the case shows",
    "expect": "true when the rule must fire, false when it must not",
    "line": "a log line, run through the extractor (or give `failure`)",
    "failure": "the failure's fields, a table (or give `line`)",
    "decoded": "the STS decoded message, a table or its JSON",
    "details": "the Access Troubleshooter answer (GetRequestAuthorizationDetails), a table or"
    " its JSON: the case then runs as the scan does with that answer",
    "fix": "a table some fix of the finding must match",
    "findings": "the exact rule ids that fire",
    "explanation": "substrings the explanation holds",
}
CASE_FIX_FIELDS = {
    "target": "the fix's target",
    "applies_to": "the exact applies_to ARN",
    "actions": "actions that must appear in the fix's statements",
    "resources": "resources that must appear in the fix's statements",
    "condition_keys": "condition keys that must appear in the fix's statements",
}


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a rule file, printed as lint prints it."""

    path: str
    rule_id: str
    field: str
    problem: str
    hint: str

    def __str__(self) -> str:
        # A problem with the file or directory itself has no rule or field to name.
        where = "".join(
            f" {label} {value}:"
            for label, value in (("rule", self.rule_id), ("field", self.field))
            if value != "-"
        )
        return f"{self.path}:{where} {self.problem} — {self.hint}"


def _is_str(v: Any) -> bool:
    return isinstance(v, str) and bool(v.strip())


def _is_str_list(v: Any) -> bool:
    return isinstance(v, list) and all(isinstance(x, str) for x in v)


@dataclass(frozen=True, slots=True)
class FieldSpec:
    doc: str
    required: bool
    valid: Callable[[Any], bool]
    expect: str


RULE_FIELDS: dict[str, FieldSpec] = {
    "id": FieldSpec(
        "stable id, lower case with dashes", True, _is_str, "a string like s3-object-arn"
    ),
    "title": FieldSpec("one-line title shown with each finding", True, _is_str, "a string"),
    "severity": FieldSpec(
        f"one of {', '.join(SEVERITIES)}", True, lambda v: v in SEVERITIES, " | ".join(SEVERITIES)
    ),
    "status": FieldSpec(
        f"one of {', '.join(STATUSES)}", True, lambda v: v in STATUSES, " | ".join(STATUSES)
    ),
    "description": FieldSpec("what the rule detects and why", True, _is_str, "a string"),
    "references": FieldSpec("URLs backing the facts", False, _is_str_list, "a list of strings"),
    "falsepositives": FieldSpec(
        "when it may fire wrongly", False, _is_str_list, "a list of strings"
    ),
    "match": FieldSpec(
        "matchers that must all hold", True, lambda v: isinstance(v, dict), "a table"
    ),
    "unless": FieldSpec(
        "matchers that, if all hold, stop the rule", False, lambda v: isinstance(v, dict), "a table"
    ),
    "supersedes": FieldSpec(
        "ids of generic rules whose finding this rule replaces",
        False,
        _is_str_list,
        "a list of ids",
    ),
    "explanation": FieldSpec("template: why it failed, what to do", True, _is_str, "a string"),
    "fix": FieldSpec("[[fix]] tables", False, lambda v: isinstance(v, list), "[[fix]] tables"),
    "case": FieldSpec("[[case]] tables", False, lambda v: isinstance(v, list), "[[case]] tables"),
    "disabled": FieldSpec(
        "true to switch the rule off", False, lambda v: isinstance(v, bool), "a bool"
    ),
}


def _close(name: str, names: Any) -> str:
    import difflib

    near = difflib.get_close_matches(name, list(names), n=1)
    return f"did you mean {near[0]!r}?" if near else f"known: {', '.join(sorted(names))}"


def check_match(table: Any, field: str) -> Iterator[tuple[str, str, str]]:
    """(field, problem, hint) for a [match] or [unless] table, ``any`` lists included."""
    matchers = matchers_table()
    if not isinstance(table, dict):
        yield field, "must be a table", "write [match] with KEY = VALUE lines"
        return
    for key, value in table.items():
        path = f"{field}.{key}"
        if key == "any":
            if (
                not isinstance(value, list)
                or not value
                or not all(isinstance(t, dict) for t in value)
            ):
                yield path, "must be a list of tables", "write any = [{ action = 'x' }, { ... }]"
                continue
            for i, sub in enumerate(value):
                yield from check_match(sub, f"{path}[{i}]")
            continue
        m = matchers.get(key)
        if m is None:
            yield path, "unknown matcher", _close(key, [*matchers, "any"])
            continue
        problem = m.check(value)
        if problem:
            yield path, problem, f"{key} takes {m.arg}"


def _check_templates(value: Any, field: str) -> Iterator[tuple[str, str, str]]:
    for text in walk_strings(value):
        for problem in placeholder_problems(text):
            yield field, problem, "run `authz-diag rules schema` for the placeholder list"


def _check_fix(fix: Any, field: str) -> Iterator[tuple[str, str, str]]:
    if not isinstance(fix, dict):
        yield field, "must be a table", "write [[fix]]"
        return
    for key in fix:
        if key not in FIX_FIELDS:
            yield f"{field}.{key}", "unknown field", _close(key, FIX_FIELDS)
    if "when" in fix:
        yield from check_match(fix["when"], f"{field}.when")
    if "note" in fix and not _is_str(fix["note"]):
        yield f"{field}.note", "must be a string", 'write note = "..."'

    if fix.get("target") not in FIX_TARGETS:
        yield f"{field}.target", f"is {fix.get('target')!r}", f"use one of {', '.join(FIX_TARGETS)}"
    if not _is_str(fix.get("applies_to")):
        yield (
            f"{field}.applies_to",
            "missing",
            'write applies_to = "{policy_principal}" or an ARN template',
        )
    statements = fix.get("statements")
    if not isinstance(statements, list) or not statements:
        yield f"{field}.statements", "missing", "add [[fix.statements]] tables"
        statements = []
    for i, st in enumerate(statements):
        sfield = f"{field}.statements[{i}]"
        if not isinstance(st, dict):
            yield sfield, "must be a table", "write [[fix.statements]]"
            continue
        for key in st:
            if key not in STATEMENT_KEYS:
                yield f"{sfield}.{key}", "not an IAM statement element", _close(key, STATEMENT_KEYS)
        if st.get("Effect") not in {"Allow", "Deny"}:
            yield f"{sfield}.Effect", "must be Allow or Deny", 'write Effect = "Allow"'
        if "Action" not in st and "NotAction" not in st:
            yield f"{sfield}.Action", "missing", 'write Action = "{action}"'
    yield from _check_templates(fix, field)


def _check_case(case: Any, field: str) -> Iterator[tuple[str, str, str]]:
    if not isinstance(case, dict):
        yield field, "must be a table", "write [[case]]"
        return
    allowed = CASE_FIELDS
    for key in case:
        if key not in allowed:
            yield f"{field}.{key}", "unknown field", _close(key, allowed)
    if not _is_str(case.get("name")):
        yield f"{field}.name", "missing", 'give every case a name = "..."'
    if not isinstance(case.get("expect"), bool):
        yield f"{field}.expect", "missing", "expect = true (rule fires) or false (it must not)"
    if ("line" in case) == ("failure" in case):
        yield field, "needs exactly one of line or failure", "a log line, or a [case.failure] table"
    if "line" in case and not _is_str(case["line"]):
        yield f"{field}.line", "must be a string", "paste the log line as printed"
    failure = case.get("failure", {})
    if not isinstance(failure, dict):
        yield f"{field}.failure", "must be a table", "write [case.failure]"
    else:
        for key in failure:
            if key not in CASE_FAILURE_FIELDS:
                yield f"{field}.failure.{key}", "unknown field", _close(key, CASE_FAILURE_FIELDS)
        if "conditions" in failure and not isinstance(failure["conditions"], dict):
            yield (
                f"{field}.failure.conditions",
                "must be a table",
                'conditions = { "aws:SourceVpce" = "vpce-0abc" }',
            )
    if "decoded" in case and not isinstance(case["decoded"], (str, dict)):
        yield f"{field}.decoded", "must be a table or JSON string", "paste the DecodedMessage JSON"
    if "details" in case and not isinstance(case["details"], (str, dict)):
        yield (
            f"{field}.details",
            "must be a table or JSON string",
            "paste the GetRequestAuthorizationDetails answer JSON",
        )
    expected = case.get("fix", {})
    if not isinstance(expected, dict):
        yield f"{field}.fix", "must be a table", "write [case.fix]"
    else:
        for key in expected:
            if key not in CASE_FIX_FIELDS:
                yield f"{field}.fix.{key}", "unknown field", _close(key, CASE_FIX_FIELDS)
    if "findings" in case and not _is_str_list(case["findings"]):
        yield f"{field}.findings", "must be a list of rule ids", 'findings = ["id", ...]'
    if "explanation" in case and not _is_str_list(case["explanation"]):
        yield (
            f"{field}.explanation",
            "must be a list of strings",
            "substrings the explanation holds",
        )


def check_rule(doc: dict[str, Any]) -> Iterator[tuple[str, str, str]]:
    """(field, problem, hint) for everything wrong with one rule document."""
    if doc.get("disabled") is True and set(doc) <= {"id", "disabled"}:
        return  # a bare disable marker: nothing else needed
    for key in doc:
        if key not in RULE_FIELDS:
            yield key, "unknown field", _close(key, RULE_FIELDS)
    for key, spec in RULE_FIELDS.items():
        if key not in doc:
            if spec.required:
                yield key, "missing", f"add {key} = {spec.expect}"
        elif not spec.valid(doc[key]):
            yield key, f"is {doc[key]!r}", f"expected {spec.expect}"
    if isinstance(doc.get("id"), str) and not RULE_ID.match(doc["id"]):
        yield "id", "not a stable id", "use lower case letters, digits, dots and dashes"
    if "match" in doc:
        yield from check_match(doc["match"], "match")
    if "unless" in doc:
        yield from check_match(doc["unless"], "unless")
    if isinstance(doc.get("explanation"), str):
        yield from _check_templates(doc["explanation"], "explanation")
    for i, fix in enumerate(doc.get("fix", []) if isinstance(doc.get("fix"), list) else []):
        yield from _check_fix(fix, f"fix[{i}]")
    for i, case in enumerate(doc.get("case", []) if isinstance(doc.get("case"), list) else []):
        yield from _check_case(case, f"case[{i}]")
