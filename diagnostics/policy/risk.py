"""Privilege-escalation risk of a suggested fix.

A fix is a statement to paste into a policy; some statements hand the
principal a way to give itself more than the request needed (attach
AdministratorAccess to itself, pass an admin role to a Lambda function it
writes).  Since a log writer can author a whole denial (issue: forged
denials), every fix is checked against a catalogue of known escalation
paths and marked with each one it opens, with a severity.  A fix whose
grantee the log chose (a trust or resource policy's ``Principal``) is also
marked ``cross-account`` when that grantee is another account, a whole
account or everyone.

The catalogue is data, ``diagnostics/data/escalation_paths.json``, taken
from Rhino Security Labs' "AWS IAM Privilege Escalation Methods"
(https://github.com/RhinoSecurityLabs/AWS-IAM-Privilege-Escalation, methods
1-28) and Datadog's pathfinding.cloud catalogue
(https://github.com/DataDog/pathfinding.cloud; the version is in the file's
``about``); it loads on first use.
"""

from __future__ import annotations

import dataclasses
import functools
import importlib.resources
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from diagnostics.errors import DiagnosticsError
from diagnostics.iam.arns import parse_arn
from diagnostics.model import RISK_SEVERITIES, Diagnosis, Finding, Fix, Risk, RiskSeverity
from diagnostics.policy.arn_match import action_matches

DATA_FILE = "escalation_paths.json"
SEVERITIES = RISK_SEVERITIES
_ORDER: dict[RiskSeverity, int] = {"high": 0, "medium": 1, "low": 2}


@dataclass(frozen=True, slots=True)
class EscalationPath:
    """One catalogued path: the actions that together open it, and how bad it is."""

    id: str
    severity: RiskSeverity
    actions: tuple[str, ...]
    message: str
    source: str
    #: Actions that only open the path when granted on a wildcard resource.
    wildcard: tuple[str, ...] = ()
    #: Severity when every iam:PassRole grant names specific roles.
    scoped_severity: RiskSeverity | None = None


def _severity(value: Any, path_id: str) -> RiskSeverity:
    for severity in SEVERITIES:
        if value == severity:
            return severity
    raise ValueError(f"{path_id}: severity must be one of {', '.join(SEVERITIES)}")


def _path(row: Mapping[str, Any]) -> EscalationPath:
    path_id = str(row["id"])
    scoped = row.get("scoped_severity")
    path = EscalationPath(
        id=path_id,
        severity=_severity(str(row["severity"]), path_id),
        actions=tuple(str(a) for a in row["actions"]),
        message=str(row["message"]),
        source=str(row["source"]),
        wildcard=tuple(str(a) for a in row.get("wildcard", ())),
        scoped_severity=_severity(str(scoped), path_id) if scoped else None,
    )
    if not path.actions or not set(path.wildcard) <= set(path.actions):
        raise ValueError(f"{path.id}: needs actions, and wildcard must be among them")
    return path


def load_paths(data: bytes) -> tuple[EscalationPath, ...]:
    """Paths from the catalogue's JSON text; ``ValueError`` says which row is wrong."""
    try:
        rows = orjson.loads(data)["paths"]
        return tuple(_path(row) for row in rows)
    except (orjson.JSONDecodeError, KeyError, TypeError) as exc:
        raise ValueError(
            f"not an escalation-path catalogue ({exc.__class__.__name__}: {exc})"
        ) from None


@functools.lru_cache(maxsize=1)
def escalation_paths() -> tuple[EscalationPath, ...]:
    """The bundled catalogue, read once."""
    resource = importlib.resources.files("diagnostics") / "data" / DATA_FILE
    try:
        return load_paths(resource.read_bytes())
    except (OSError, ValueError) as exc:
        raise DiagnosticsError(
            f"the bundled escalation-path catalogue diagnostics/data/{DATA_FILE} is missing "
            f"or corrupt ({exc}); reinstall authz-diagnostics"
        ) from exc


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    return [str(v) for v in value] if isinstance(value, list | tuple) else [str(value)]


def _grants(statements: Iterable[Mapping[str, Any]], action: str) -> list[list[str]]:
    """The Resource list of each Allow statement that grants ``action`` (NotResource: ``*``)."""
    out = []
    for st in statements:
        if str(st.get("Effect", "")).lower() != "allow":
            continue
        if "Action" in st:
            granted = any(action_matches(p, action) for p in _as_list(st["Action"]))
        elif "NotAction" in st:
            granted = not any(action_matches(p, action) for p in _as_list(st["NotAction"]))
        else:
            granted = False
        if granted:
            # No Resource (a trust or resource policy): the policy's own resource.
            out.append(["*"] if "NotResource" in st else _as_list(st.get("Resource")))
    return out


def _wild(grants: list[list[str]]) -> bool:
    return any("*" in r or "?" in r for resources in grants for r in resources)


def _services(statements: list[Mapping[str, Any]]) -> set[str] | None:
    """Services the Allow statements can grant actions of; None for "could be any"."""
    out: set[str] = set()
    for st in statements:
        if str(st.get("Effect", "")).lower() != "allow":
            continue
        if "Action" not in st:
            return None  # NotAction grants nearly everything
        for pattern in _as_list(st["Action"]):
            service, colon, _ = pattern.partition(":")
            if not colon or "*" in service or "?" in service:
                return None
            out.add(service.lower())
    return out


#: Verdicts by what ``_risks`` reads of the statements; bounded, cleared when full.
_MEMO: dict[tuple[Any, ...], tuple[Risk, ...]] = {}
_MEMO_SIZE = 4096


def _reads(st: Mapping[str, Any]) -> tuple[Any, ...] | None:
    """All ``_risks`` reads of one statement: its actions and whether its resources are wild.

    None for a statement that cannot open a path (not an Allow).
    """
    if str(st.get("Effect", "")).lower() != "allow":
        return None
    resources = ["*"] if "NotResource" in st else _as_list(st.get("Resource"))
    return (
        tuple(_as_list(st["Action"])) if "Action" in st else None,
        tuple(_as_list(st["NotAction"])) if "NotAction" in st else None,
        _wild([resources]),
    )


def statement_risks(statements: Iterable[Mapping[str, Any]]) -> tuple[Risk, ...]:
    """A ``Risk`` for each path the statements open, worst first.

    Fixes of one rule differ only in their resource ARNs, which the paths
    never read beyond "is it a wildcard", so verdicts are remembered by what
    they read (P2: a sixth of the diagnosis time went here).
    """
    statements = list(statements)
    key = tuple(r for r in map(_reads, statements) if r is not None)
    risks = _MEMO.get(key)
    if risks is None:
        risks = _risks(statements)
        if len(_MEMO) >= _MEMO_SIZE:
            _MEMO.clear()
        _MEMO[key] = risks
    return risks


def _risks(statements: list[Mapping[str, Any]]) -> tuple[Risk, ...]:
    services = _services(statements)
    found: list[Risk] = []
    for path in escalation_paths():
        # Most fixes grant s3 or ec2 actions: skip paths they cannot reach
        # before matching wildcards (this runs for every diagnosis).
        if services is not None and any(
            a.partition(":")[0].lower() not in services for a in path.actions
        ):
            continue
        grants = {a: _grants(statements, a) for a in path.actions}
        if not all(grants.values()):
            continue
        if not all(_wild(grants[a]) for a in path.wildcard):
            continue
        severity = path.severity
        if path.scoped_severity and "iam:PassRole" in grants and not _wild(grants["iam:PassRole"]):
            severity = path.scoped_severity
        found.append(Risk(path.id, severity, f"{path.message} ({path.source})"))
    return tuple(sorted(found, key=lambda r: _ORDER[r.severity]))


#: Policies whose ``Principal`` is granted access (an SCP, RCP or endpoint
#: policy only stops denying).
GRANTING_TARGETS = frozenset({"trust", "resource"})
CROSS_ACCOUNT = "cross-account"
# Linear: a fixed count of digits.
_ACCOUNT = re.compile(r"\d{12}")
_CONFIRM = "the log, not AWS, chose this grantee: confirm it should have this access"


def _account(text: str | None) -> str | None:
    """The 12-digit account of an ARN (or a bare account id), else None."""
    if text and _ACCOUNT.fullmatch(text):
        return text
    parsed = parse_arn(text) if text else None
    return parsed.account if parsed and _ACCOUNT.fullmatch(parsed.account) else None


def _owner(applies_to: str | None, statements: list[Mapping[str, Any]]) -> str | None:
    """The resource's account: its ARN's, else the first statement Resource that says."""
    owner = _account(applies_to)
    if owner is None:
        resources = (r for st in statements for r in _as_list(st.get("Resource")))
        owner = next((a for a in map(_account, resources) if a), None)
    return owner


def _grantees(principal: Any) -> list[tuple[str, str]]:
    """(kind, value) of each grantee a ``Principal`` names; service principals are AWS's own."""
    if not isinstance(principal, Mapping):
        return [("AWS", str(p)) for p in _as_list(principal)]
    return [
        (str(kind), str(value))
        for kind, values in principal.items()
        if kind != "Service"
        for value in _as_list(values)
    ]


def _grantee_problem(kind: str, value: str, owner: str | None) -> str | None:
    """Why granting ``value`` reaches beyond the resource's account, else None.

    Only digits from the value reach the message: it is the log writer's text.
    """
    if value == "*":
        return 'everyone ("*"): every principal of every account'
    if kind == "Federated" and parse_arn(value) is None:
        return None  # a web identity provider (accounts.google.com): conditions scope it
    account = _account(value)
    if account is None:
        return "a principal whose account cannot be read from it"
    parsed = parse_arn(value)
    if parsed is None or parsed.resource == "root":
        return f"the whole account {account}: every principal that account lets use it"
    if owner is None:
        return (
            f"a principal of account {account}, and the failure does not show which account "
            "owns the resource"
        )
    if account != owner:
        return f"a principal of account {account}, not the resource's account {owner}"
    return None


def grantee_risks(
    target: str | None, applies_to: str | None, statements: Iterable[Mapping[str, Any]]
) -> tuple[Risk, ...]:
    """A high ``cross-account`` risk when a trust or resource policy's Allow grants
    another account, a whole account or everyone; else nothing."""
    if target not in GRANTING_TARGETS:
        return ()
    statements = list(statements)
    owner = _owner(applies_to, statements)
    problems = [
        problem
        for st in statements
        if str(st.get("Effect", "")).lower() == "allow" and "Principal" in st
        for kind, value in _grantees(st["Principal"])
        if (problem := _grantee_problem(kind, value, owner))
    ]
    if not problems:
        return ()
    granted = "; ".join(dict.fromkeys(problems))
    return (Risk(CROSS_ACCOUNT, "high", f"grants {granted}; {_CONFIRM}"),)


def policy_risks(
    target: str | None, applies_to: str | None, statements: Iterable[Mapping[str, Any]]
) -> tuple[Risk, ...]:
    """Every risk of statements bound for one policy, worst first: grantees, then paths."""
    if target == "rcp":
        # An RCP grants nothing, and its only Allow is AWS's RCPFullAWSAccess.
        return ()
    statements = list(statements)
    risks = (*grantee_risks(target, applies_to, statements), *statement_risks(statements))
    return tuple(sorted(risks, key=lambda r: _ORDER[r.severity]))


def fix_risks(fix: Fix) -> tuple[Risk, ...]:
    """Every risk of one fix, worst first."""
    return policy_risks(fix.target, fix.applies_to, fix.statements)


def findings_with_risk(findings: tuple[Finding, ...]) -> tuple[Finding, ...]:
    """``findings`` with every fix's ``risk`` computed from its statements.

    A fix without statements (an edit alone) keeps the risk it was given:
    there is nothing here to compute it from.  Findings are built directly
    (``dataclasses.replace`` per finding was a tenth of the diagnosis time on
    CloudTrail input); fixes are replaced, so a field added to ``Fix`` (its
    ``edit``) is carried, not dropped.
    """
    if not any(finding.fixes for finding in findings):
        return findings
    return tuple(
        Finding(
            x.rule,
            x.title,
            x.severity,
            x.explanation,
            tuple(_risked(f) for f in x.fixes),
        )
        if x.fixes
        else x
        for x in findings
    )


def _risked(fix: Fix) -> Fix:
    if not fix.statements and fix.edit is not None:
        return fix
    return dataclasses.replace(fix, risk=fix_risks(fix))


def with_risk(diagnosis: Diagnosis) -> Diagnosis:
    """The diagnosis with every fix's ``risk`` computed from its statements."""
    findings = findings_with_risk(diagnosis.findings)
    if findings is diagnosis.findings:
        return diagnosis
    return dataclasses.replace(diagnosis, findings=findings)
