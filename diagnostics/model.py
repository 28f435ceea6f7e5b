"""Domain types shared by every pipeline stage.

Everything here is a frozen dataclass so stages can pass values between
threads without copying, and so a Failure can serve as a dictionary key for
deduplication.  Every other module imports these types from here.
"""

from __future__ import annotations

import dataclasses
import operator
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

# The vocabulary: each Literal type and its tuple of values, and the words
# every renderer and sink prints for them (one table each, not a copy per renderer).

FailureKind = Literal["encoded", "plain", "cloudtrail", "decoded"]
FAILURE_KINDS: tuple[FailureKind, ...] = typing.get_args(FailureKind)

#: The policy types of the output contract (README), in the vocabulary of the JSON output.
PolicyType = Literal[
    "identity",
    "resource",
    "scp",
    "rcp",
    "permissions_boundary",
    "session",
    "vpc_endpoint",
    "trust",
]
POLICY_TYPES: tuple[PolicyType, ...] = typing.get_args(PolicyType)
_POLICY_TYPE_SET: frozenset[str] = frozenset(POLICY_TYPES)


def as_policy_type(text: str | None) -> PolicyType | None:
    """``text`` when it is one of ``POLICY_TYPES``, else None."""
    return typing.cast("PolicyType", text) if text in _POLICY_TYPE_SET else None


#: Where a fix can be applied: the ``POLICY_TYPES`` plus ``permission_set``
#: (an IAM Identity Center permission set's inline policy, for its
#: ``AWSReservedSSO_*`` roles, which IAM refuses to change).  ``kms_key`` is
#: deliberately *not* added: a KMS key policy is a resource policy.
FIX_TARGETS: tuple[str, ...] = (*POLICY_TYPES, "permission_set")

Severity = Literal["info", "low", "medium", "high"]
SEVERITIES: tuple[Severity, ...] = typing.get_args(Severity)

#: How bad a privilege-escalation path or cross-account grant a fix opens is.
RiskSeverity = Literal["low", "medium", "high"]
RISK_SEVERITIES: tuple[RiskSeverity, ...] = typing.get_args(RiskSeverity)

#: How each kind of failure was found, as the text view names it.
KIND_WORDS: dict[str, str] = {
    "encoded": "encoded message",
    "plain": "plain message",
    "cloudtrail": "CloudTrail record",
    "decoded": "already decoded message",
}

#: Each policy type as an adjective of "policy" ("explicit deny in a service control policy").
POLICY_WORDS: dict[str, str] = {
    "identity": "identity-based",
    "resource": "resource-based",
    "scp": "service control",
    "rcp": "resource control",
    "permissions_boundary": "permissions boundary",
    "session": "session",
    "vpc_endpoint": "VPC endpoint",
    "trust": "role trust",
}

#: Each policy type as a noun (a boundary is not called a "boundary policy").
POLICY_NAMES: dict[str, str] = {
    t: words if t == "permissions_boundary" else f"{words} policy"
    for t, words in POLICY_WORDS.items()
}

#: The short names Access Troubleshooter's layers go by ("denied by SCP p-...").
LAYER_WORDS: dict[str, str] = {
    "scp": "SCP",
    "rcp": "RCP",
    "vpc_endpoint": POLICY_NAMES["vpc_endpoint"],
    "resource": POLICY_NAMES["resource"],
    "identity": POLICY_NAMES["identity"],
    "permissions_boundary": POLICY_NAMES["permissions_boundary"],
    "session": POLICY_NAMES["session"],
}

#: ``LAYER_WORDS`` for several policies of one layer.
LAYER_PLURALS: dict[str, str] = {
    **LAYER_WORDS,
    "scp": "SCPs",
    "rcp": "RCPs",
    "identity": "identity-based policies",
    "session": "session policies",
}

#: What a fix for each target changes, before the ARN it applies to.
TARGET_WORDS: dict[str, str] = {
    "identity": "the identity policy of",
    "resource": "the resource-based policy of",
    "trust": "the trust policy of role",
    "scp": "the service control policy",
    "rcp": "the resource control policy",
    "permissions_boundary": "the permissions boundary",
    "session": "the session policy passed when assuming",
    "vpc_endpoint": "the VPC endpoint policy of",
}

#: A JSON object as parsed by orjson.
JSONObject = dict[str, Any]

#: A field's ``metadata`` key naming its key in the JSON output, when that is
#: not the field's name; None leaves the field out of the JSON.
JSON_KEY = "json"


def json_key(f: dataclasses.Field[Any]) -> str | None:
    """The JSON key of a dataclass field (its name unless its metadata says otherwise)."""
    return f.metadata.get(JSON_KEY, f.name)  # type: ignore[no-any-return]


@dataclass(frozen=True, slots=True)
class Owed:
    """A notification a committed failure waits on: ``seq`` (or a later one) of a group.

    A source that must not forget its input before the alert is out (SQS
    deletes a message for good) holds the input until every sink has it.
    """

    group_id: str
    seq: int


@dataclass(frozen=True, slots=True)
class SourceRef:
    """Where a failure was found.

    ``path`` is ``"-"`` for stdin; ``line`` is 1-based; ``offset`` is the byte
    offset of the start of that line in the (decompressed) input.
    ``event_id`` is the CloudTrail eventID when the failure came from a record.
    ``rotated_from`` is the name a tailed file had when ``watch`` opened it,
    when it was renamed (rotated) to ``path`` since.  A tailed line whose
    number is unknown has ``line`` None and ``offset`` set.
    """

    path: str
    line: int | None = None
    offset: int | None = None
    event_id: str | None = None
    rotated_from: str | None = None

    def to_json(self) -> JSONObject:
        out: JSONObject = {"path": self.path, "line": self.line, "offset": self.offset}
        if self.event_id is not None:
            out["event_id"] = self.event_id
        if self.rotated_from is not None:
            out["rotated_from"] = self.rotated_from
        return out

    def __reduce__(self) -> tuple[type[SourceRef], tuple[Any, ...]]:
        # Scan workers send failures to the parent: the constructor unpickles
        # them in half the time of the generated per-field __setstate__.
        return (SourceRef, _SOURCE_FIELDS(self))

    def label(self) -> str:
        """Where, for a person: ``app.log.1:52 (rotated from app.log)``, ``cloudtrail:<id>``."""
        if self.event_id:
            return f"cloudtrail:{self.event_id}"
        if self.line is not None:
            where = f"{self.path}:{self.line}"
        elif self.offset is not None:
            where = f"{self.path} byte {self.offset} (line unknown)"
        else:
            where = self.path
        if self.rotated_from is not None:
            where += f" (rotated from {self.rotated_from})"
        return where


#: The parse note of a whole message that names nothing (S3's "Access Denied", a
#: body-less "Forbidden"): that denial has said all it says, so no sentence nearby
#: naming a principal or resource is another part of it (``fold.py``).
NAMES_NOTHING = "the message names no principal or resource, nor the action"


@dataclass(frozen=True, slots=True)
class Failure:
    """One authorization failure as the extractor found it, before decoding.

    Fields follow the README's output contract.  Anything the text does not say is
    ``None``; nothing is guessed here (rules may infer later and say so).
    """

    kind: FailureKind
    source: SourceRef
    principal_arn: str | None = None
    account_id: str | None = None
    action: str | None = None
    resource: str | None = None
    policy_type: PolicyType | None = None
    policy_arn: str | None = None
    explicit_deny: bool | None = None
    encoded_message: str | None = None
    truncated: bool = False
    #: The decoded message when the input already held one (kind "decoded");
    #: the JSON prints it as the diagnosis's ``decoded``.
    decoded: JSONObject | None = field(
        default=None, compare=False, hash=False, metadata={JSON_KEY: None}
    )
    #: API operation name when the text gives it ("when calling the RunInstances
    #: operation", CloudTrail eventName).  Not an IAM action.
    operation: str | None = None
    #: The service that answered, when the input says: a CloudTrail
    #: ``eventSource`` (``ec2.amazonaws.com``) or an SDK's service name (``EC2``).
    event_source: str | None = None
    region: str | None = None
    #: AWS error code as printed (``AccessDenied``, ``Client.UnauthorizedOperation``).
    error_code: str | None = None
    event_time: str | None = None
    #: Request context the input itself states, as condition keys: CloudTrail
    #: gives the source IP, the VPC endpoint, the region and MFA.  A decoded
    #: message's context, when there is one, takes precedence.
    conditions: tuple[tuple[str, tuple[str, ...]], ...] = field(
        default=(), metadata={JSON_KEY: "request_context"}
    )
    #: A bounded excerpt of the input around the failure, for alert samples.
    #: Never used as an identity: every encoded blob differs.
    excerpt: str = field(default="", compare=False, hash=False, metadata={JSON_KEY: None})
    #: The principal exactly as the text wrote it when it is not a clean ARN
    #: (redacted, empty, a bare name); ``principal_arn`` is then ``None``.
    principal_text: str | None = None
    #: What the reader could not fill and why, one short sentence per slot.
    parse_notes: tuple[str, ...] = ()
    #: The IAM Access Troubleshooter authorization ID the message carries.
    authorization_id: str | None = None
    #: Found inside a quoted or structured sub-field that is not the record's
    #: own message (a user-agent, a request body): someone else's words.
    embedded: bool = False
    #: The resource exactly as the text wrote it when it is not a clean ARN (a
    #: placeholder account, an elision, IAM's ``role NAME``); ``resource`` is then ``None``.
    resource_text: str | None = None
    #: The request ID the SDK printed with the error.  Not in the JSON output: it
    #: only tells apart two alike denials one line lists (``fold.py``).
    request_id: str | None = field(default=None, metadata={JSON_KEY: None})

    def __reduce__(self) -> tuple[type[Failure], tuple[Any, ...]]:
        return (Failure, _FAILURE_FIELDS(self))  # as SourceRef.__reduce__

    def dedup_key(self) -> tuple[object, ...]:
        """Identity used to report the same printed failure once per input.

        Two failures with different blobs are different (retries), the same
        plain message printed three times by Packer is one.
        """
        return (
            self.kind,
            self.encoded_message,
            self.principal_arn,
            self.action,
            self.resource,
            self.policy_type,
            self.policy_arn,
            self.explicit_deny,
            self.source.event_id,
            # Bare messages ("Access Denied", "Cannot call GetSessionToken ...")
            # name no principal or action: the operation tells them apart.
            self.operation,
            self.error_code,
            # Like blobs, every authorization ID names one request: retries differ.
            self.authorization_id,
            self.principal_text,
            self.resource_text,
            # A forged copy in a user-agent must not hide the real one.
            self.embedded,
        )


_SOURCE_FIELDS = operator.attrgetter(*(f.name for f in dataclasses.fields(SourceRef)))
_FAILURE_FIELDS = operator.attrgetter(*(f.name for f in dataclasses.fields(Failure)))


@dataclass(frozen=True, slots=True)
class ConditionEntry:
    """One condition key from a decoded message's request context."""

    key: str
    values: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class MatchedStatement:
    """One item of the decoded message's ``matchedStatements``."""

    statement_id: str | None
    effect: str  # "Allow" or "Deny" (normalised from AWS's upper case)
    actions: tuple[str, ...] = ()
    not_actions: tuple[str, ...] = ()
    resources: tuple[str, ...] = ()
    not_resources: tuple[str, ...] = ()
    principals: tuple[str, ...] = ()
    conditions: tuple[ConditionEntry, ...] = ()


@dataclass(frozen=True, slots=True)
class RequestContext:
    """What the rules and the evaluator know about the failed request.

    Built from the failure's own text and, when available, the decoded
    message (which wins where both speak).  ``conditions`` maps each condition
    key, as AWS spells it, to its values.
    """

    action: str | None
    resource: str | None
    principal_arn: str | None
    account_id: str | None
    region: str | None = None
    principal_id: str | None = None
    policy_type: str | None = None
    policy_arn: str | None = None
    explicit_deny: bool | None = None
    conditions: Mapping[str, tuple[str, ...]] = field(default_factory=dict, hash=False)
    matched_statements: tuple[MatchedStatement, ...] = ()
    decoded: bool = False


@dataclass(frozen=True, slots=True)
class FixEdit:
    """An edit of one existing statement, in place of adding a new one.

    The policy is ``policy_arn`` (managed policy, boundary, SCP, RCP), or the
    inline policy ``policy_name`` of ``entity``, or the resource policy of
    ``resource``; ``index`` is the statement's position.  ``before`` and
    ``after`` are left out (None) where policy documents must not travel (alerts).
    """

    layer: str
    sid: str | None
    index: int
    policy_arn: str | None = None
    policy_name: str | None = None
    entity: str | None = None
    resource: str | None = None
    before: JSONObject | None = None
    after: JSONObject | None = None

    def to_json(self) -> JSONObject:
        return {
            "layer": self.layer,
            "policy_arn": self.policy_arn,
            "policy_name": self.policy_name,
            "entity": self.entity,
            "resource": self.resource,
            "sid": self.sid,
            "index": self.index,
            "before": self.before,
            "after": self.after,
        }


@dataclass(frozen=True, slots=True)
class Risk:
    """A privilege-escalation path (or cross-account grant) a fix's statements would open."""

    id: str
    severity: RiskSeverity
    message: str

    def to_json(self) -> JSONObject:
        return {"id": self.id, "severity": self.severity, "message": self.message}


@dataclass(frozen=True, slots=True)
class Fix:
    """A change to one policy that makes the failed request allowed."""

    target: str  # one of FIX_TARGETS
    applies_to: str | None  # ARN of the principal, role or resource whose policy changes
    statements: tuple[JSONObject, ...]
    #: Privilege-escalation paths the statements would open, worst first; empty when none.
    risk: tuple[Risk, ...] = ()
    #: The same change as an edit of the nearest existing statement (from a snapshot).
    edit: FixEdit | None = None

    def to_json(self) -> JSONObject:
        out: JSONObject = {
            "target": self.target,
            "applies_to": self.applies_to,
            "statements": list(self.statements),
            "risk": [r.to_json() for r in self.risk],
        }
        if self.edit is not None:
            out["edit"] = self.edit.to_json()
        return out


@dataclass(frozen=True, slots=True)
class IacLocation:
    """Where an infrastructure-as-code tree defines a fix's target (``scan --iac``)."""

    applies_to: str  # the fix's ``applies_to``, as the fix names it
    path: str  # the file, as the --iac directory joined with its path below it
    line: int  # 1-based line of the resource's first line
    #: ``aws_iam_role.ci_deployer`` (Terraform) or ``CiDeployerRole (AWS::IAM::Role)``
    resource: str

    def to_json(self) -> JSONObject:
        return {
            "applies_to": self.applies_to,
            "path": self.path,
            "line": self.line,
            "resource": self.resource,
        }

    def label(self) -> str:
        """``infra/iam.tf:12 (aws_iam_role.ci_deployer)``."""
        return f"{self.path}:{self.line} ({self.resource})"


@dataclass(frozen=True, slots=True)
class Finding:
    """One rule's verdict on a failure."""

    rule: str
    title: str
    severity: Severity
    explanation: str
    fixes: tuple[Fix, ...] = ()

    def to_json(self) -> JSONObject:
        return {
            "rule": self.rule,
            "title": self.title,
            "severity": self.severity,
            "explanation": self.explanation,
            "fixes": [f.to_json() for f in self.fixes],
        }


# IAM Access Troubleshooter's answers, parsed (``diagnostics.troubleshooter.details``
# parses them; field names follow botocore's ``iam-toolbox`` service model).

#: checkType -> the policy type of the JSON output contract.
CHECK_LAYERS: dict[str, str] = {
    "SERVICE_CONTROL_POLICY": "scp",
    "RESOURCE_CONTROL_POLICY": "rcp",
    "VPC_ENDPOINT": "vpc_endpoint",
    "RESOURCE": "resource",
    "PRINCIPAL": "identity",
    "PERMISSIONS_BOUNDARY": "permissions_boundary",
    "SESSION": "session",
}

#: PolicyInfo.type -> the checkType that evaluates policies of that type.
POLICY_CHECKS: dict[str, str] = {
    "SERVICE_CONTROL_POLICY": "SERVICE_CONTROL_POLICY",
    "RESOURCE_CONTROL_POLICY": "RESOURCE_CONTROL_POLICY",
    "VPC_ENDPOINT_POLICY": "VPC_ENDPOINT",
    "RESOURCE_BASED_POLICY": "RESOURCE",
    "IDENTITY_BASED_POLICY": "PRINCIPAL",
    "PERMISSIONS_BOUNDARY": "PERMISSIONS_BOUNDARY",
    "SESSION_POLICY": "SESSION",
}

CHECK_EFFECTS = frozenset({"ALLOW", "NO_IMPACT", "IMPLICIT_DENY", "EXPLICIT_DENY"})
DENIED = frozenset({"IMPLICIT_DENY", "EXPLICIT_DENY"})


@dataclass(frozen=True, slots=True)
class StatementRef:
    """A matched statement: its Sid and ALLOW or DENY."""

    sid: str | None
    effect: str | None


@dataclass(frozen=True, slots=True)
class PolicyMatch:
    """A policy with statements that matched for one check (URI into ``policies``)."""

    uri: str
    statements: tuple[StatementRef, ...] = ()


@dataclass(frozen=True, slots=True)
class Check:
    """One authorization requirement of an evaluation and its recorded effect."""

    check_type: str
    effect: str
    target_arn: str | None = None
    relevant_policy_types: tuple[str, ...] = ()
    matched: tuple[PolicyMatch, ...] = ()

    @property
    def layer(self) -> str:
        """The policy type of the output contract (``scp``, ``identity`` ...)."""
        return CHECK_LAYERS.get(self.check_type, self.check_type.lower())

    @property
    def denied(self) -> bool:
        return self.effect in DENIED


@dataclass(frozen=True, slots=True)
class Evaluation:
    """One action and resource pair of the request, with its own context keys."""

    action: str
    resource: str | None
    effect: str | None
    context: tuple[tuple[str, tuple[str, ...]], ...] = ()
    checks: tuple[Check, ...] = ()

    @property
    def denied(self) -> bool:
        return self.effect in {"IMPLICIT_DENY", "EXPLICIT_DENY"}

    def label(self) -> str:
        return f"{self.action} on {self.resource or '*'}"


@dataclass(frozen=True, slots=True)
class PolicyInfo:
    """One evaluated policy: its type, where it is attached, and its document if captured."""

    uri: str
    policy_type: str | None
    inline: bool | None = None
    attached_to: tuple[str, ...] = ()
    source_type: str | None = None
    document: Mapping[str, Any] | None = None

    @property
    def check_type(self) -> str | None:
        return POLICY_CHECKS.get(self.policy_type or "")


@dataclass(frozen=True, slots=True)
class AuthorizationDetails:
    """GetRequestAuthorizationDetails' answer for one authorization ID, parsed.

    ``raw`` is the answer as given: the JSON output prints it unchanged (the
    output contract), everything else reads the parsed fields.
    """

    authorization_id: str | None
    request_context: tuple[tuple[str, tuple[str, ...]], ...]
    evaluations: tuple[Evaluation, ...]
    policies: tuple[PolicyInfo, ...]
    notes: tuple[str, ...] = ()
    raw: JSONObject = field(default_factory=dict, compare=False, hash=False)

    def to_json(self) -> JSONObject:
        return self.raw

    @property
    def is_answer(self) -> bool:
        """Is ``raw`` shaped as an answer (it has an ``evaluations`` list)?"""
        return isinstance(self.raw.get("evaluations"), list)

    def policy(self, uri: str) -> PolicyInfo | None:
        return next((p for p in self.policies if p.uri == uri), None)

    def context_value(self, key: str) -> str | None:
        wanted = key.lower()
        for name, values in self.request_context:
            if name.lower() == wanted and values:
                return values[0]
        return None

    @property
    def principal_arn(self) -> str | None:
        return self.context_value("aws:PrincipalArn")


@dataclass(frozen=True, slots=True)
class DecodeResult:
    """What decoding gave: the parsed DecodedMessage, or why there is none."""

    decoded: JSONObject | None = None
    error: str | None = None
    cached: bool = False
    #: What resolving the failure's authorization ID gave (see ``Diagnosis``).
    authorization_details: AuthorizationDetails | None = field(
        default=None, compare=False, hash=False
    )
    authorization_error: str | None = None


#: What checking a fix found, in one vocabulary whoever checked: ``allows``;
#: ``allows_if_conditions_hold`` (conditions on keys a log cannot show);
#: ``allows_with_other_fixes`` (another layer needs its fix too);
#: ``incomplete`` (the denied pair, not the whole call); ``does_not_cover``;
#: ``still_denied``; ``unavailable`` (the check could not run).
VerificationStatus = Literal[
    "allows",
    "allows_if_conditions_hold",
    "allows_with_other_fixes",
    "incomplete",
    "does_not_cover",
    "still_denied",
    "unavailable",
]
VERIFICATION_STATUSES: tuple[VerificationStatus, ...] = typing.get_args(VerificationStatus)

#: Who checked: the built-in evaluator, IAM's SimulateCustomPolicy (``--verify``),
#: or the evaluator over a policy snapshot (``--policies``).
Checker = Literal["evaluator", "simulator", "snapshot"]
CHECKERS: tuple[Checker, ...] = typing.get_args(Checker)

#: The simulator's own words in the JSON (the output contract predates the one vocabulary).
_SIMULATOR_JSON: dict[str, str] = {"allows": "allowed", "does_not_cover": "denied"}
_SIMULATOR_STATUS: dict[str, VerificationStatus] = {
    "allowed": "allows",
    "denied": "does_not_cover",
    "unavailable": "unavailable",
}


def simulator_status(word: str) -> VerificationStatus | None:
    """The status of the simulator's ``allowed``, ``denied`` or ``unavailable``."""
    return _SIMULATOR_STATUS.get(word)


@dataclass(frozen=True, slots=True)
class Evaluated:
    """One action on one resource that AWS evaluated (an Access Troubleshooter evaluation)."""

    action: str
    resource: str | None = None

    def label(self) -> str:
        """``s3:GetObject on arn:aws:s3:::bucket/key`` (``*`` when no resource is named)."""
        return f"{self.action} on {self.resource or '*'}"

    @classmethod
    def from_label(cls, label: str) -> Evaluated:
        """The inverse of ``label`` (actions hold no spaces, so the first `` on `` splits)."""
        action, _, resource = label.partition(" on ")
        return cls(action, None if resource in ("", "*") else resource)


@dataclass(frozen=True, slots=True)
class Verification:
    """How one fix was checked, or, without a fix (``applies_to`` None), why none helps."""

    rule: str
    target: str
    applies_to: str | None
    checker: Checker
    status: VerificationStatus
    message: str
    #: The Access Troubleshooter evaluation (or snapshot request) this entry re-checked.
    evaluation: Evaluated | None = None

    def to_json(self) -> JSONObject:
        status = self.status
        if self.checker == "simulator":
            status = _SIMULATOR_JSON.get(status, status)  # type: ignore[assignment]
        out: JSONObject = {
            "rule": self.rule,
            "target": self.target,
            "applies_to": self.applies_to,
            "checker": self.checker,
            "status": status,
            "message": self.message,
        }
        if self.evaluation is not None:
            out["evaluation"] = self.evaluation.label()
        return out

    @classmethod
    def from_json(cls, obj: Any) -> Verification | None:
        """An entry ``to_json`` wrote, or None for anything that is not one."""
        if not isinstance(obj, dict):
            return None
        checker, status = obj.get("checker"), obj.get("status")
        if checker == "simulator" and isinstance(status, str):
            status = _SIMULATOR_STATUS.get(status, status)
        evaluation = obj.get("evaluation")
        texts = [obj.get(k) for k in ("rule", "target", "message")]
        applies_to = obj.get("applies_to")
        if (
            checker not in CHECKERS
            or status not in VERIFICATION_STATUSES
            or not all(isinstance(t, str) for t in texts)
            or not isinstance(applies_to, str | None)
        ):
            return None
        return cls(
            rule=obj["rule"],
            target=obj["target"],
            applies_to=applies_to,
            checker=checker,
            status=status,
            message=obj["message"],
            evaluation=Evaluated.from_label(evaluation) if isinstance(evaluation, str) else None,
        )


@dataclass(frozen=True, slots=True)
class Diagnosis:
    """A failure, what decoding added, and the rules' findings.

    ``failure`` holds the fields as finally reported: where the decoded
    message names the principal, action or resource, they replace what the
    text said (see ``diagnostics.request.context.enrich``).
    """

    failure: Failure
    decoded: JSONObject | None = None
    decode_error: str | None = None
    findings: tuple[Finding, ...] = ()
    #: How each fix was checked: by the built-in evaluator, ``--verify``, the
    #: Access Troubleshooter re-check or a policy snapshot.
    verification: tuple[Verification, ...] = ()
    #: How many times ``scan`` saw this same failure (repeats are folded, never
    #: dropped), and where the last one was (``None`` when seen once).
    occurrences: int = 1
    last_source: SourceRef | None = None
    #: GetRequestAuthorizationDetails' answer for ``failure.authorization_id``,
    #: parsed, or why it was not resolved.
    authorization_details: AuthorizationDetails | None = field(
        default=None, compare=False, hash=False
    )
    authorization_error: str | None = None
    #: Where ``scan --iac DIR`` found each fix's target defined (empty without --iac).
    defined_in: tuple[IacLocation, ...] = ()

    def to_json(self) -> JSONObject:
        """The object ``scan --format json`` prints; field names are a contract."""
        return _TO_JSON(self)


#: The key order of ``scan --format json``, as fields were added to the
#: contract; a key not listed here (a new field) comes last, never left out.
_JSON_ORDER = (
    "kind",
    "source",
    "principal_arn",
    "account_id",
    "action",
    "resource",
    "policy_type",
    "policy_arn",
    "explicit_deny",
    "encoded_message",
    "truncated",
    "decoded",
    "decode_error",
    "findings",
    "operation",
    "event_source",
    "region",
    "error_code",
    "event_time",
    "request_context",
    "verification",
    "principal_text",
    "occurrences",
    "last_source",
    "parse_notes",
    "authorization_id",
    "authorization_details",
    "authorization_error",
    "embedded",
    "resource_text",
    "defined_in",
)


def _json_expression(hint: Any, value: str) -> str:
    """The Python expression writing ``value``, of type ``hint``, to JSON."""
    args = typing.get_args(hint)
    if typing.get_origin(hint) is tuple and args[1:] == (Ellipsis,):
        item = args[0]
        if typing.get_origin(item) is tuple:  # condition keys and their values
            return f"{{key: list(values) for key, values in {value}}}"
        if hasattr(item, "to_json"):
            return f"[x.to_json() for x in {value}]"
        return f"list({value})"
    if type(None) in args:
        [inner] = [a for a in args if a is not type(None)]
        if hasattr(inner, "to_json"):
            return f"None if {value} is None else {value}.to_json()"
    if hasattr(hint, "to_json"):
        return f"{value}.to_json()"
    return value


def _json_items(cls: type, owner: str) -> list[tuple[str, str]]:
    """(key, expression) for each JSON field of ``cls``, an attribute of ``owner``."""
    hints = typing.get_type_hints(cls)
    return [
        (key, _json_expression(hints[f.name], f"{owner}.{f.name}"))
        for f in dataclasses.fields(cls)
        if (key := json_key(f)) is not None and not (cls is Diagnosis and f.name == "failure")
    ]


def _diagnosis_to_json() -> Callable[[Diagnosis], JSONObject]:
    """``Diagnosis.to_json``: every JSON field of the failure and the diagnosis, by field.

    Generated once, as ``dataclasses`` generates ``__init__``: a literal dict
    is as fast as the hand-written one it replaces, and no field can be left out.
    """
    items = _json_items(Failure, "f") + _json_items(Diagnosis, "self")
    rank = {key: i for i, key in enumerate(_JSON_ORDER)}
    items.sort(key=lambda item: rank.get(item[0], len(rank)))
    body = ", ".join(f"{key!r}: {expression}" for key, expression in items)
    source = f"def to_json(self):\n    f = self.failure\n    return {{{body}}}\n"
    namespace: dict[str, Any] = {}
    exec(source, {}, namespace)  # noqa: S102 - the source is built from field names only
    return namespace["to_json"]  # type: ignore[no-any-return]


_TO_JSON = _diagnosis_to_json()


@dataclass(slots=True)
class InputStats:
    """Counters a scan or a source keeps about its input (mutable on purpose)."""

    bytes_read: int = 0
    lines: int = 0
    files: int = 0
    failures: int = 0
    duplicates: int = 0
    long_lines: int = 0
    invalid_utf8: int = 0
    rejected: int = 0
    warnings: list[str] = field(default_factory=list)

    def add(self, other: InputStats) -> None:
        """Count ``other`` in too (a scan worker's counters for one file)."""
        for f in dataclasses.fields(self):
            if f.name != "warnings":
                setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))
        self.warnings.extend(other.warnings)
