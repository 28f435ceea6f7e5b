"""``Found``: a failure as one text shows it, before it knows its input and line.

The text analysis (``text.py``) builds these from each parser's hits and
pairs them; the record assembler turns each into a ``Failure`` once it knows
where the text came from.
"""

from __future__ import annotations

from dataclasses import dataclass

from diagnostics.extract.parsers.plain import PlainHit
from diagnostics.model import Failure, FailureKind, JSONObject, SourceRef, as_policy_type
from diagnostics.request.context import enrich


@dataclass(frozen=True, slots=True)
class Found:
    """A failure found in a text, before it knows its source."""

    kind: FailureKind
    start: int
    end: int
    principal_arn: str | None = None
    account_id: str | None = None
    action: str | None = None
    resource: str | None = None
    policy_type: str | None = None
    policy_arn: str | None = None
    explicit_deny: bool | None = None
    encoded_message: str | None = None
    truncated: bool = False
    decoded: JSONObject | None = None
    operation: str | None = None
    event_source: str | None = None
    region: str | None = None
    error_code: str | None = None
    principal_text: str | None = None
    authorization_id: str | None = None
    parse_notes: tuple[str, ...] = ()
    resource_text: str | None = None
    request_id: str | None = None

    def framed(
        self, start: int, error_code: str | None, operation: str | None, event_source: str | None
    ) -> Found:
        """This failure begun at ``start``, with what its SDK frame said filled in."""
        # Keywords, not ``dataclasses.replace`` (a third of frame pairing's time on
        # failure-dense input); tests/test_extract_found.py checks no field is left out.
        return Found(
            kind=self.kind,
            start=start,
            end=self.end,
            principal_arn=self.principal_arn,
            account_id=self.account_id,
            action=self.action,
            resource=self.resource,
            policy_type=self.policy_type,
            policy_arn=self.policy_arn,
            explicit_deny=self.explicit_deny,
            encoded_message=self.encoded_message,
            truncated=self.truncated,
            decoded=self.decoded,
            operation=self.operation or operation,
            event_source=self.event_source or event_source,
            region=self.region,
            error_code=self.error_code or error_code,
            principal_text=self.principal_text,
            authorization_id=self.authorization_id,
            parse_notes=self.parse_notes,
            resource_text=self.resource_text,
            request_id=self.request_id,
        )

    def to_failure(self, source: SourceRef, excerpt: str) -> Failure:
        failure = Failure(
            kind=self.kind,
            source=source,
            principal_arn=self.principal_arn,
            account_id=self.account_id,
            action=self.action,
            resource=self.resource,
            # The parsers take it from the wording table, so it is one of POLICY_TYPES.
            policy_type=as_policy_type(self.policy_type),
            policy_arn=self.policy_arn,
            explicit_deny=self.explicit_deny,
            encoded_message=self.encoded_message,
            truncated=self.truncated,
            decoded=self.decoded,
            operation=self.operation,
            event_source=self.event_source,
            region=self.region,
            error_code=self.error_code,
            excerpt=excerpt,
            principal_text=self.principal_text,
            authorization_id=self.authorization_id,
            parse_notes=self.parse_notes,
            resource_text=self.resource_text,
            request_id=self.request_id,
        )
        if self.decoded is not None:
            failure = enrich(failure, self.decoded)
        return failure


def from_plain(hit: PlainHit, kind: FailureKind = "plain") -> Found:
    return Found(
        kind=kind,
        start=hit.start,
        end=hit.end,
        principal_arn=hit.principal_arn,
        account_id=hit.account_id,
        action=hit.action,
        resource=hit.resource,
        policy_type=hit.policy_type,
        policy_arn=hit.policy_arn,
        explicit_deny=hit.explicit_deny,
        region=hit.region,
        principal_text=hit.principal_text,
        resource_text=hit.resource_text,
        parse_notes=hit.notes,
        truncated=hit.cut,
    )
