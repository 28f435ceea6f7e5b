"""Compiled rules and the rule set the scan pipeline calls."""

from __future__ import annotations

import importlib.resources
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from diagnostics.support.logconfig import get_logger

from diagnostics.errors import RuleError
from diagnostics.iam.arns import parse_arn, permission_set_name, principal_for_policy, role_name
from diagnostics.iam.grantee import stated_role
from diagnostics.model import Failure, Finding, Fix, RequestContext, Severity
from diagnostics.rules.index import RuleIndex, facets_of
from diagnostics.rules.loader import RuleDoc, load_dirs
from diagnostics.rules.registry import Matcher
from diagnostics.rules.tables import matchers_table
from diagnostics.rules.placeholders import denying_statements
from diagnostics.rules.resources import fix_resources
from diagnostics.rules.subject import Subject
from diagnostics.rules.template import Defaults, Missing, render_text, render_value

log = get_logger()


def bundled_rules_dir() -> Path:
    """The rules shipped with the package (a symlink to the checkout's ``rules/``)."""
    return Path(str(importlib.resources.files("diagnostics") / "_bundled_rules"))


def load_with_bundled(extra: Sequence[Path] | None = None) -> RuleSet:
    """The bundled rules with the user's directories layered over them."""
    return RuleSet.load([bundled_rules_dir(), *(extra or [])])


@dataclass(frozen=True, slots=True)
class Condition:
    """A compiled [match] table: every test holds and, if present, one ``any`` branch."""

    tests: tuple[tuple[Matcher, Any], ...]
    any_of: tuple[Condition, ...] = ()

    @classmethod
    def compile(cls, table: dict[str, Any]) -> Condition:
        matchers = matchers_table()
        tests = tuple((matchers[k], matchers[k].prepare(v)) for k, v in table.items() if k != "any")
        any_of = tuple(cls.compile(t) for t in table.get("any", ()))
        return cls(tests, any_of)

    def holds(self, subject: Subject) -> bool:
        # Plain loops: this runs for every candidate rule of every failure.
        for m, arg in self.tests:
            if not m.test(arg, subject):
                return False
        if not self.any_of:
            return True
        for branch in self.any_of:
            if branch.holds(subject):
                return True
        return False


@dataclass(frozen=True, slots=True)
class Rule:
    """One rule file, compiled."""

    id: str
    title: str
    severity: Severity
    status: str
    description: str
    match: Condition
    unless: Condition | None
    supersedes: tuple[str, ...]
    explanation: str
    fixes: tuple[dict[str, Any], ...]
    cases: tuple[dict[str, Any], ...]
    path: Path
    doc: dict[str, Any]
    #: Each fix's compiled ``when`` (None: always included), parallel to ``fixes``.
    fix_when: tuple[Condition | None, ...] = ()

    @classmethod
    def from_doc(cls, rd: RuleDoc) -> Rule:
        d = rd.doc
        return cls(
            id=d["id"],
            title=d["title"],
            severity=cast("Severity", d["severity"]),
            status=d["status"],
            description=d["description"],
            match=Condition.compile(d["match"]),
            unless=Condition.compile(d["unless"]) if "unless" in d else None,
            supersedes=tuple(d.get("supersedes", ())),
            explanation=d["explanation"],
            fixes=tuple(d.get("fix", ())),
            cases=tuple(d.get("case", ())),
            path=rd.path,
            doc=d,
            fix_when=tuple(
                Condition.compile(f["when"]) if "when" in f else None for f in d.get("fix", ())
            ),
        )

    def matches(self, subject: Subject) -> bool:
        return self.match.holds(subject) and not (self.unless and self.unless.holds(subject))

    def finding(self, subject: Subject) -> Finding:
        """The finding for a matching failure; a fix needing an unknown value is left out."""
        fixes: dict[tuple[str, str | None], list[Any]] = {}
        omitted: list[str] = []
        notes: list[str] = []
        used: Defaults = []
        when = self.fix_when or (None,) * len(self.fixes)
        for tmpl, condition in zip(self.fixes, when, strict=True):
            if condition is not None and not condition.holds(subject):
                continue  # a dependent permission this request does not need
            mine: Defaults = []
            try:
                # An empty applies_to ("{policy_arn|}") means "not known": null in JSON.
                applies_to = render_text(tmpl["applies_to"], subject) or None
                statements = [render_value(st, subject, mine) for st in tmpl["statements"]]
            except Missing as exc:
                omitted.append(exc.name)
                continue
            statements = _valid_resources(statements, subject, notes)
            used.extend(mine)
            # Fixes for the same policy become one: dependent statements join the main fix.
            bucket = fixes.setdefault((tmpl["target"], applies_to), [])
            bucket.extend(st for st in statements if st not in bucket)
            if "note" in tmpl:
                notes.append(render_text(tmpl["note"], subject, lenient=True))
        notes.extend(n for n in _principal_notes(subject, fixes) if n not in notes)
        # Empty defaults ("{policy_arn|}") leave double spaces behind.
        explanation = " ".join(render_text(self.explanation, subject, lenient=True).split())
        for note in notes:
            explanation += " " + " ".join(note.split())
        denial = _denial_sentence(subject, explanation)
        if denial:
            explanation += " " + denial
        wild = sorted({name for name, value in used if "*" in value})
        if wild:
            explanation += (
                f" (The failure does not say its {', '.join(wild)}, so the fix uses a wildcard"
                ' ("*") there: narrow it to the ARNs the caller really needs.)'
            )
        if omitted:
            names = ", ".join(sorted(set(omitted)))
            explanation += f" (A suggested fix was left out: the failure does not say its {names}.)"
        finding = Finding(
            self.id,
            self.title,
            self.severity,
            explanation,
            tuple(Fix(t, a, tuple(sts)) for (t, a), sts in fixes.items()),
        )
        from diagnostics.policy.aim import aimed_findings

        # The policy the user really edits (role path, bucket, trust, permission
        # set), in that policy type's grammar.
        return aimed_findings((finding,), subject.ctx)[0]


def _denial_sentence(subject: Subject, explanation: str) -> str | None:
    """Name the decoded message's denying statements when the rule's text does not.

    JSON and Slack show only the explanation, so a rule that explains an
    explicit deny its own way (MFA, region) must still say which Sid and
    which condition matched, as the text view's ``Matched`` line does.
    """
    denies = subject.statements("Deny")
    if not denies or all(
        st.statement_id
        and st.statement_id in explanation
        and all(c.key in explanation for c in st.conditions)
        for st in denies
    ):
        return None
    text = denying_statements(subject)
    if text is None or text in explanation:
        return None
    return f"Denied by {text}."


def _valid_resources(statements: list[Any], subject: Subject, notes: list[str]) -> list[Any]:
    """Statements whose Resource entries are ARNs or "*" (never "policy path /")."""
    parsed = parse_arn(subject.principal_arn or "") or parse_arn(subject.resource or "")
    partition = parsed.partition if parsed else "aws"
    out: list[Any] = []
    for st in statements:
        if not isinstance(st, dict):
            out.append(st)
            continue
        fixed, extra = fix_resources(st, subject.account, partition)
        notes.extend(n for n in extra if n not in notes)
        out.append(fixed)
    return out


def _principal_notes(subject: Subject, fixes: dict[tuple[str, str | None], list[Any]]) -> list[str]:
    """Sentences for roles a session ARN cannot describe exactly."""
    arn = subject.principal_arn
    if not arn or subject.principal_type != "assumed-role":
        return []
    role = principal_for_policy(arn)
    name = role_name(arn)
    pset = permission_set_name(arn)
    if pset:
        if any(t == "identity" and a == role for t, a in fixes):
            return [
                f"{name} is an IAM Identity Center role and cannot be edited in IAM: edit the"
                f" permission set {pset} in IAM Identity Center (its inline policy) instead."
            ]
        return []
    named = any(
        role in json.dumps(st.get("Principal", ""))
        for sts in fixes.values()
        for st in sts
        if isinstance(st, dict)
    )
    if not named:
        return []
    if stated_role(arn, subject.ctx.conditions):
        return []  # the input states the role's ARN with its path: the fix uses it
    return [
        f"The session ARN does not show role {name}'s path: if the role has one, the Principal"
        f" needs its full ARN (`aws iam get-role --role-name {name} --query Role.Arn`)."
    ]


#: Matchers that read inside the resource's or principal's name, not only its shape.
NAME_MATCHERS = frozenset({"resource", "principal", "principal_is_sso"})


@dataclass(frozen=True, slots=True)
class _Names:
    """All a name matcher reads of its subject; building a whole Subject cost 14 us.

    Slots: a name matcher that read anything else would raise, not misjudge
    (``tests/test_shape_memo.py`` runs them all).
    """

    resource: str | None
    principal_arn: str | None


def _conditions(rule: Rule) -> list[Condition]:
    """A rule's compiled [match], [unless] and fix ``when`` tables."""
    out = [rule.match, *(w for w in rule.fix_when if w is not None)]
    if rule.unless is not None:
        out.append(rule.unless)
    return out


def _tests(condition: Condition) -> list[tuple[Matcher, Any]]:
    """Every test of a condition, its ``any`` branches' included."""
    out = list(condition.tests)
    for branch in condition.any_of:
        out.extend(_tests(branch))
    return out


def crash_finding(rule_id: str, exc: BaseException) -> Finding:
    """A rule that raised becomes a finding naming it, never a traceback."""
    return Finding(
        rule=rule_id,
        title=f"rule {rule_id} failed",
        severity="info",
        explanation=(
            f"Rule {rule_id} raised {type(exc).__name__} on this failure and was skipped; "
            "the other rules still ran. Run `authz-diag rules test` and report the rule."
        ),
    )


class RuleSet:
    """The effective rules after overrides and disables, in file order."""

    def __init__(self, rules: Sequence[Rule], dirs: Sequence[Path] = ()) -> None:
        self.rules = tuple(rules)
        self.dirs = tuple(dirs)
        self._by_id = {r.id: r for r in self.rules}
        self._order = {r.id: i for i, r in enumerate(self.rules)}
        # Only the rules whose [match] can hold for a failure's facets are tested.
        self._index = RuleIndex([(r, r.doc["match"]) for r in self.rules])
        self._name_tests: tuple[tuple[Matcher, Any], ...] | None = None

    def __len__(self) -> int:
        return len(self.rules)

    def get(self, rule_id: str) -> Rule | None:
        return self._by_id.get(rule_id)

    @classmethod
    def load(cls, dirs: Sequence[Path]) -> RuleSet:
        """Load rule dirs (later ones override by id); raise RuleError on a bad file."""
        loaded = load_dirs(dirs)
        if loaded.problems:
            lines = "\n".join(str(p) for p in loaded.problems[:20])
            more = len(loaded.problems) - 20
            raise RuleError(
                f"{len(loaded.problems)} problem(s) in rule files; fix them or drop the file:\n"
                + lines
                + (f"\n... and {more} more (run `authz-diag rules lint`)" if more > 0 else "")
            )
        for p in loaded.unknown_disables:
            log.warning("rules.unknown_disable", problem=str(p))
        return cls([Rule.from_doc(rd) for rd in loaded.docs.values()], dirs)

    @classmethod
    def bundled(cls) -> RuleSet:
        return cls.load([bundled_rules_dir()])

    def name_tests(self, resource: str | None, principal_arn: str | None) -> tuple[bool, ...]:
        """The answer of every test in these rules that reads inside a resource or principal name.

        For a failure whose request context is its own fields (no decoded
        message): the shape memo (``diagnose/shape_memo.py``) keys on these,
        since a rule's glob may name a digit of a name the memo abstracts.
        """
        tests = self._name_tests
        if tests is None:
            tests = self._name_tests = tuple(
                t
                for r in self.rules
                for c in _conditions(r)
                for t in _tests(c)
                if t[0].name in NAME_MATCHERS
            )
        if not tests:
            return ()
        names = cast("Subject", _Names(resource, principal_arn))
        return tuple(m.test(arg, names) for m, arg in tests)

    def diagnose(self, failure: Failure, ctx: RequestContext) -> tuple[Finding, ...]:
        """Every matching rule's finding, minus those a more specific match supersedes."""
        subject = Subject(failure, ctx)
        matched: list[Rule] = []
        crashed: dict[str, Finding] = {}
        for rule in self._index.candidates(facets_of(subject)):
            try:
                if rule.matches(subject):
                    matched.append(rule)
            except Exception as exc:  # one bad rule must not stop the run
                log.warning("rules.crashed", rule=rule.id, error=type(exc).__name__)
                crashed[rule.id] = crash_finding(rule.id, exc)
        # Render only the findings that survive; a rule that crashed while matching
        # supersedes nothing, so the generic advice stays.
        superseded = {s for rule in matched for s in rule.supersedes}
        findings: dict[str, Finding] = dict(crashed)
        for rule in matched:
            if rule.id in superseded:
                continue
            try:
                findings[rule.id] = rule.finding(subject)
            except Exception as exc:
                log.warning("rules.crashed", rule=rule.id, error=type(exc).__name__)
                findings[rule.id] = crash_finding(rule.id, exc)
        order = self._order
        return tuple(
            findings[rid]
            for rid in sorted(findings, key=order.__getitem__)
            if rid not in superseded
        )
