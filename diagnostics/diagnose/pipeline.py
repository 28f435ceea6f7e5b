"""One failure in, one diagnosis out: decode, enrich, infer the action, run the rules.

``scan``, ``decode``, ``explain`` and ``watch`` all go through ``Pipeline`` so a
failure is diagnosed the same way whichever command found it.
"""

from __future__ import annotations

import dataclasses
import operator
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Protocol

import orjson

from diagnostics.diagnose.shape_memo import ShapeMemo, Verdict
from diagnostics.model import (
    AuthorizationDetails,
    DecodeResult,
    Diagnosis,
    Failure,
    JSONObject,
    Verification,
)
from diagnostics.request.context import context_of, enrich
from diagnostics.request.infer import infer_action
from diagnostics.support.logconfig import get_logger

if TYPE_CHECKING:
    from diagnostics.rules import RuleSet


log = get_logger(__name__)

NO_DECODE = (
    "decoding is off (--no-decode or decode.enabled = false); "
    "run without it, with credentials of the failing account, to see the matched policy statements"
)


class DecoderLike(Protocol):
    def decode_many(
        self, failures: Iterable[Failure]
    ) -> Iterator[tuple[Failure, DecodeResult]]: ...


def _passthrough(failures: Iterable[Failure]) -> Iterator[tuple[Failure, DecodeResult]]:
    for failure, result in _passthrough_decode(failures):
        error = None
        if failure.authorization_id is not None or failure.parse_notes:
            from diagnostics.troubleshooter.unresolved import unresolved_error

            error = unresolved_error(failure)
        yield (
            failure,
            result if error is None else dataclasses.replace(result, authorization_error=error),
        )


def _passthrough_decode(failures: Iterable[Failure]) -> Iterator[tuple[Failure, DecodeResult]]:
    for failure in failures:
        if failure.decoded is not None:
            yield failure, DecodeResult(decoded=failure.decoded)
        elif failure.encoded_message and not failure.truncated:
            yield failure, DecodeResult(error=NO_DECODE)
        elif failure.encoded_message or (failure.truncated and failure.kind == "encoded"):
            yield (
                failure,
                DecodeResult(
                    error="the encoded message was cut off, so STS cannot decode it; "
                    "find the complete message in the original tool output"
                ),
            )
        else:
            yield failure, DecodeResult()


#: The fields of a failure the rules (``rules/matchers.py``, ``placeholders.py``,
#: ``index.py``), the request context (``context.context_of``) and the fix
#: check read: the verdict is a function of these and the decoded message.
JUDGED_FIELDS = (
    "kind",
    "principal_arn",
    "account_id",
    "action",
    "resource",
    "policy_type",
    "policy_arn",
    "explicit_deny",
    "operation",
    "event_source",
    "region",
    "error_code",
    "conditions",
)
#: Where, when and how the failure was printed, which the verdict never reads
#: (``decoded`` is keyed as the decode result's message instead).
UNJUDGED_FIELDS = (
    "source",
    "event_time",
    "excerpt",
    "encoded_message",
    "truncated",
    "decoded",
    "principal_text",
    "parse_notes",
    "authorization_id",
    "embedded",
    "resource_text",
    "request_id",
)
_JUDGED = operator.attrgetter(*JUDGED_FIELDS)


def _verdict_key(failure: Failure, decoded: JSONObject | None) -> tuple[object, ...]:
    """What the rules see: the judged fields, not where, when or how it was printed.

    A tuple of fields, not a ``dataclasses.replace`` copy: building a second
    Failure per diagnosis cost more than the lookup it keys.
    """
    body = orjson.dumps(decoded, option=orjson.OPT_SORT_KEYS) if decoded else None
    return (_JUDGED(failure), body)


class Pipeline:
    """Decode (optionally), enrich and run the rules, keeping input order.

    Rules and fix proofs depend only on what was denied, not on where or how
    it was logged, so a denial repeated across a day of CloudTrail, or retried
    with a new encoded blob each time, is judged once and its verdict reused
    (a bounded LRU keeps memory flat in ``watch``; ``memo_size=0`` turns it off).
    """

    def __init__(
        self,
        ruleset: RuleSet | None,
        decoder: DecoderLike | None = None,
        *,
        memo_size: int = 4096,
        shape_memo_size: int = 4096,
    ) -> None:
        self.ruleset = ruleset
        self.decoder = decoder
        self._memo: OrderedDict[tuple[object, ...], Verdict] = OrderedDict()
        self._memo_size = memo_size
        self.shapes: ShapeMemo | None = None
        if shape_memo_size > 0:
            # Distinct names of one shape (a storm's new resource each time) share
            # a verdict filled with their own values: see shape_memo.py.
            self.shapes = ShapeMemo(shape_memo_size, JUDGED_FIELDS)

    def _judge(self, failure: Failure, decoded: JSONObject | None) -> Verdict:
        if self.ruleset is None:
            return (), ()
        key = _verdict_key(failure, decoded)
        verdict = self._memo.get(key)
        if verdict is not None:
            self._memo.move_to_end(key)
            return verdict
        if decoded is None and self.shapes is not None:
            verdict = self.shapes.judge(failure, self.ruleset, self._verdict)
        else:
            verdict = self._verdict(failure, decoded)
        self._memo[key] = verdict
        if len(self._memo) > self._memo_size:
            self._memo.popitem(last=False)
        return verdict

    def _verdict(self, failure: Failure, decoded: JSONObject | None = None) -> Verdict:
        """Run the rules and check their fixes: the full path, no memo."""
        assert self.ruleset is not None
        # ``failure`` is already enriched: the context need not enrich it again.
        ctx = context_of(failure, decoded)
        findings = self.ruleset.diagnose(failure, ctx)
        verification: tuple[Verification, ...] = ()
        if findings:
            from diagnostics.diagnose.verify import verification as verify
            from diagnostics.policy.risk import findings_with_risk

            # What check_fixes does, with the context already built: each fix's
            # risk, then the proofs.
            findings = findings_with_risk(findings)
            if failure.action:
                verification = verify(Diagnosis(failure, decoded=decoded, findings=findings), ctx)
        return findings, verification

    def diagnose_one(
        self,
        failure: Failure,
        result: DecodeResult,
        *,
        authorization_details: AuthorizationDetails | JSONObject | None = None,
        authorization_error: str | None = None,
    ) -> Diagnosis:
        """Diagnose one failure with what decoding and resolving gave.

        Access Troubleshooter details, when given, decide the findings; given as
        JSON (``explain`` of a saved answer), they are parsed here, once.
        """
        decoded = result.decoded
        enriched = infer_action(enrich(failure, decoded))
        if isinstance(authorization_details, dict):
            from diagnostics.troubleshooter.details import parse_details

            authorization_details = parse_details(authorization_details)
        verdict = None
        if authorization_details is not None and self.ruleset is not None:
            from diagnostics.troubleshooter import judge_details
            from diagnostics.troubleshooter.diagnose import UNATTRIBUTED

            # AWS's own record of every layer beats the rules' inference.
            verdict = judge_details(
                enriched,
                authorization_details,
                context_of(enriched, decoded),
                decoded=decoded is not None,
            )
        if verdict is not None:
            enriched, findings, verification = verdict
            if all(f.rule == UNATTRIBUTED for f in findings):
                # No check names the layer (caller outside the organization): the
                # rules' reading of the message is still worth having.
                more, checked = self._judge(enriched, decoded)
                findings, verification = findings + more, verification + checked
        else:
            findings, verification = self._judge(enriched, decoded)
        if findings:
            from diagnostics.request.action_gate import withhold_fixes

            # A wildcard or unknown action is the log writer's, not AWS's: no fix.
            enriched, findings, verification = withhold_fixes(enriched, findings, verification)
        return Diagnosis(
            enriched,
            decoded=decoded,
            decode_error=result.error,
            findings=findings,
            verification=verification,
            authorization_details=authorization_details,
            authorization_error=authorization_error,
        )

    def diagnose(self, failures: Iterable[Failure]) -> Iterator[Diagnosis]:
        """Lazily diagnose ``failures``; decoding runs concurrently inside the decoder."""
        pairs = self.decoder.decode_many(failures) if self.decoder else _passthrough(failures)
        for failure, result in pairs:
            yield self.diagnose_one(
                failure,
                result,
                authorization_details=result.authorization_details,
                authorization_error=result.authorization_error,
            )
