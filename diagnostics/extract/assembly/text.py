"""From one joined, normalised text to the failures it holds.

The parsers each find their own kind (encoded blobs, plain sentences,
decoded messages, SDK frames); this module pairs them so one printed
occurrence gives one failure:

- a plain sentence followed by a blob in the same message (modern EC2:
  "... because no identity-based policy allows ... Encoded authorization
  failure message: ...") is one ``encoded`` failure carrying both;
- an SDK/CLI frame gives its error code and operation to the failure it wraps;
- a frame with an authorization error code and no parsable message (S3's bare
  "Access Denied") is a ``plain`` failure with what the frame says.
"""

from __future__ import annotations

from dataclasses import replace

from diagnostics.extract.assembly.found import Found, from_plain
from diagnostics.extract.assembly.request_ids import with_request_ids
from diagnostics.extract.assembly.templates import is_template
from diagnostics.extract.parsers.authorization_id import attach_ids
from diagnostics.extract.parsers.decoded import find_decoded
from diagnostics.extract.parsers.ec2 import Ec2Hit, find_ec2
from diagnostics.extract.parsers.eks_auth import MARKER as EKS_MARKER
from diagnostics.extract.parsers.eks_auth import find_eks_unauthorized
from diagnostics.extract.parsers.encoded import MIN_WHOLE_BLOB, find_encoded
from diagnostics.extract.parsers.frames import Frame, find_frames
from diagnostics.extract.parsers.plain import PlainHit, find_plain
from diagnostics.extract.parsers.principals import is_clean_arn
from diagnostics.extract.parsers.tool_operations import (
    lambda_ec2_operation,
    sdk_call_for,
    tool_operation,
)
from diagnostics.extract.parsers.wordings import (
    ASSUME_MARKER,
    WordingHit,
    find_assume_role,
    find_wordings,
)
from diagnostics.model import NAMES_NOTHING
from diagnostics.request.context import account_of, region_of

#: A plain sentence and a blob this close belong to the same message.
_PAIR_GAP = 80
#: A frame this far before a message still wraps it (CLI prefix, Go SDK chain).
_FRAME_BEFORE = 600
#: A Java frame this far after a message still wraps it.
_FRAME_AFTER = 400
EXCERPT_MAX = 500


def analyse_text(
    text: str,
    *,
    cut_at_end: bool = False,
    id_cut_at_end: bool | None = None,
    context: str = "",
) -> tuple[list[Found], list[str]]:
    """The failures in ``text`` in order, and problems worth a warning.

    ``id_cut_at_end`` (default ``cut_at_end``) says an authorization ID that
    runs to the end of the text was cut off.  ``context`` is the text of the
    lines just before it, read only for evidence.
    """
    found: list[Found] = []
    plains = find_plain(text)
    ec2 = find_ec2(text, context) if "You are not authorized to " in text else []
    used_plain: set[int] = set()
    for enc in find_encoded(text, cut_at_end=cut_at_end):
        partner = _partner(plains, used_plain, enc.start)
        if partner is None and len(enc.blob) < MIN_WHOLE_BLOB:
            # "Encoded authorization failure message: ..." then the sentence (a blog's order).
            partner = _partner_after(plains, used_plain, enc.end)
        if enc.short and partner is None and not _ec2_before(ec2, enc.start):
            continue  # a placeholder in prose ("message: FR4gBD..."), not a refusal
        notes = (_short_note(enc.blob),) if len(enc.blob) < MIN_WHOLE_BLOB else ()
        blob = enc.blob or None
        if partner is not None:
            used_plain.add(partner)
            base = from_plain(plains[partner], "encoded")
            found.append(
                replace(
                    base,
                    start=min(base.start, enc.start),
                    end=max(base.end, enc.end),
                    encoded_message=blob,
                    truncated=enc.truncated,
                    parse_notes=base.parse_notes + notes,
                )
            )
        else:
            found.append(
                Found(
                    "encoded",
                    enc.start,
                    enc.end,
                    encoded_message=blob,
                    truncated=enc.truncated,
                    parse_notes=notes,
                )
            )
    for idx, hit in enumerate(plains):
        if idx not in used_plain:
            found.append(from_plain(hit))
    decoded_hits, problems = find_decoded(text) if '"allowed"' in text else ([], [])
    for d in decoded_hits:
        notes = ("the decoded message is not valid JSON (cut or elided); read leniently",)
        found.append(
            Found(
                "decoded", d.start, d.end, decoded=d.message, parse_notes=notes if d.lenient else ()
            )
        )
    found = _with_ec2(found, ec2)
    assumed = find_assume_role(text, context) if ASSUME_MARKER in text else []
    found = _with_wordings(found, find_wordings(text) + _eks_hits(text, context) + assumed)
    found.sort(key=lambda f: f.start)
    frames = find_frames(text)
    if frames:
        found = _apply_frames(found, frames)
    found = attach_ids(
        text,
        _with_tool_operations(text, found, context),
        cut_at_end=cut_at_end if id_cut_at_end is None else id_cut_at_end,
        standalone=lambda start, end: Found("plain", start, end),
    )
    found = [f for f in found if not is_template(text, f.start, f.end, f.principal_text)]
    found = [_in_record_fields(text, f, context) for f in found]
    return with_request_ids(text, _share_wrappers(found)), problems


#: How far before a pasted ``"errorMessage"`` CloudTrail's ``"errorCode"`` may be.
_FIELDS_REACH = 300


def _in_record_fields(text: str, f: Found, context: str) -> Found:
    """``f`` as a CloudTrail failure when its sentence is a pasted record's errorMessage.

    CloudTrail's record says ``"errorCode"`` then ``"errorMessage"`` and, after
    it, ``"requestParameters"``; Lambda's error JSON says ``"errorType"`` instead.
    """
    if f.kind != "plain":
        return f
    after = text[f.end : f.end + 40].lstrip('" ,')
    if after.startswith("requestParameters"):
        return replace(f, kind="cloudtrail")
    before = text[max(0, f.start - 40) : f.start].rstrip(' "').replace(" ", "")
    if before.endswith('"errorMessage":'):
        near = (context + text[: f.start])[-_FIELDS_REACH:]
        if '"errorCode"' in near:
            return replace(f, kind="cloudtrail")
    return f


def _eks_hits(text: str, context: str) -> list[WordingHit]:
    """kubectl's 401 from an EKS cluster, with the IAM identity and cluster before it."""
    if EKS_MARKER not in text:
        return []
    return [
        WordingHit(start, end, "Unauthorized", None, "eks", region, None, cluster, principal)
        for start, end, principal, cluster, region in find_eks_unauthorized(text, context)
    ]


def _with_wordings(found: list[Found], hits: list[WordingHit]) -> list[Found]:
    """Refusals in other wordings (SQS, STS, Secrets Manager, JS traces) no sentence covers."""
    out = list(found)
    for hit in hits:
        if any(f.start <= hit.start < f.end or hit.start <= f.start < hit.end for f in out):
            continue
        out.append(
            Found(
                "plain",
                hit.start,
                hit.end,
                principal_arn=hit.principal_arn,
                account_id=hit.account_id or account_of(hit.principal_arn),
                action=hit.action,
                resource=hit.resource,
                error_code=hit.error_code,
                operation=hit.operation,
                event_source=hit.service,
                region=hit.region,
                resource_text=hit.resource_text,
                parse_notes=_wording_notes(hit),
            )
        )
    return out


def _wording_notes(hit: WordingHit) -> tuple[str, ...]:
    slots = (("principal", hit.principal_arn), ("resource", hit.resource))
    missing = [word for word, value in slots if not value]
    if not missing and hit.action:
        return ()
    said = f"the message names no {' or '.join(missing)}" if missing else "the message"
    return (said + ("" if hit.action else (", nor the action" if missing else " names no action")),)


def _with_tool_operations(text: str, found: list[Found], context: str = "") -> list[Found]:
    """The operation a tool's own words name, for failures whose message names none.

    ``context`` (the lines above the record) is read for Lambda's "denied by
    EC2" sentence only, which Serverless prints hard-wrapped above EC2's.
    """
    out = []
    lead = context + "\n" if context else ""
    for i, f in enumerate(found):
        named = None
        if f.action is None and f.operation is None and f.kind != "decoded":
            limit = found[i + 1].start if i + 1 < len(found) else len(text)
            named = tool_operation(text, f.start, f.end, max(limit, f.end))
            at = len(lead)
            if (
                named is None
                and lead
                and (op := lambda_ec2_operation(lead + text, at + f.start, at + f.end))
            ):
                named = ("ec2", op)
            if named is None and (op := sdk_call_for(f, text, f.start)):
                named = (None, op)
        if named is None:
            out.append(f)
        else:
            # The tool names the service that refused (EC2 behind Lambda's VPC set-up, say).
            out.append(replace(f, operation=named[1], event_source=named[0] or f.event_source))
    return out


def _short_note(blob: str) -> str:
    if not blob:
        return "the encoded authorization message is empty; nothing to decode"
    return f"the encoded authorization message is cut to {len(blob)} characters; not decodable"


def _ec2_before(ec2: list[Ec2Hit], pos: int) -> bool:
    """An EC2 refusal sentence ends right before ``pos`` (the blob is its message's)."""
    return any(h.end <= pos and pos - h.end <= _PAIR_GAP for h in ec2)


def _with_ec2(found: list[Found], ec2: list[Ec2Hit]) -> list[Found]:
    """EC2 sentences that no other failure of the same message already carries."""
    if not ec2:
        return found
    out = list(found)
    for hit in ec2:
        # The blob, plain sentence or decoded message right after it is the same
        # message: it already stands for this occurrence; pass the action on.
        same = [
            i
            for i, f in enumerate(out)
            if hit.start <= f.start <= hit.end + _PAIR_GAP or f.start <= hit.start < f.end
        ]
        if same:
            i = same[0]
            if hit.action and out[i].action is None:
                out[i] = replace(out[i], action=hit.action)
            out[i] = replace(out[i], start=min(out[i].start, hit.start))
            continue
        notes = ["EC2's sentence names no principal or resource"]
        if not hit.action:
            notes.append("EC2's sentence names no action; it comes from the operation, if any")
        arn = hit.principal if hit.principal and is_clean_arn(hit.principal) else None
        out.append(
            Found(
                "plain",
                hit.start,
                hit.end,
                principal_arn=arn,
                account_id=account_of(arn),
                principal_text=hit.principal if hit.principal and arn is None else None,
                action=hit.action,
                operation=hit.operation,
                event_source=hit.event_source,
                error_code=hit.error_code,
                parse_notes=tuple(notes),
            )
        )
    return out


def _same_occurrence(f: Found) -> tuple[object, ...]:
    """Copies of one message (Lambda's errorMessage, message and stack) share this."""
    return (
        f.kind,
        f.encoded_message,
        f.principal_arn,
        f.action,
        f.resource,
        f.policy_type,
        f.explicit_deny,
    )


def _share_wrappers(found: list[Found]) -> list[Found]:
    """Copies of one message in one record (Lambda's errorMessage, message and
    stack) carry the same error code, operation and service, whichever copy the
    wrapper was printed next to."""
    if len(found) < 2:
        return found
    best: dict[tuple[object, ...], Found] = {}
    for f in found:
        key = _same_occurrence(f)
        have = best.get(key)
        if have is None:
            best[key] = f
        else:
            best[key] = replace(
                have,
                error_code=have.error_code or f.error_code,
                operation=have.operation or f.operation,
                event_source=have.event_source or f.event_source,
            )
    out = []
    for f in found:
        key = _same_occurrence(f)
        b = best[key]
        out.append(
            replace(
                f,
                error_code=f.error_code or b.error_code,
                operation=f.operation or b.operation,
                event_source=f.event_source or b.event_source,
            )
        )
    return out


def _partner(plains: list[PlainHit], used: set[int], blob_start: int) -> int | None:
    """The plain sentence that ends right before this blob's phrase, if any."""
    best: int | None = None
    for idx, hit in enumerate(plains):
        if idx in used:
            continue
        if hit.end <= blob_start and blob_start - hit.end <= _PAIR_GAP:
            best = idx
    return best


def _partner_after(plains: list[PlainHit], used: set[int], blob_end: int) -> int | None:
    """The plain sentence that starts right after a cut or empty blob, if any."""
    for idx, hit in enumerate(plains):
        if idx not in used and blob_end <= hit.start <= blob_end + _PAIR_GAP:
            return idx
    return None


def _apply_frames(found: list[Found], frames: list[Frame]) -> list[Found]:
    out: list[Found] = []
    used: set[int] = set()
    for i, f in enumerate(found):
        prev_end = found[i - 1].end if i > 0 else 0
        next_start = found[i + 1].start if i + 1 < len(found) else 1 << 62
        before = [
            j
            for j, fr in enumerate(frames)
            if (not fr.after or fr.either)
            and j not in used
            and prev_end <= fr.start <= f.start
            and f.start - fr.end <= _FRAME_BEFORE
        ]
        after = [
            j
            for j, fr in enumerate(frames)
            if (fr.after or fr.either)
            and j not in used
            and f.end <= fr.start <= f.end + _FRAME_AFTER
            and fr.start < next_start
        ]
        inside = [j for j, fr in enumerate(frames) if f.start <= fr.start < f.end]
        # Nearest wrapper first: it is the innermost one (Terraform > Go SDK > message).
        ordered = sorted(before, key=lambda j: -frames[j].start) + after + inside
        code = next((frames[j].error_code for j in ordered if frames[j].error_code), None)
        op = next((frames[j].operation for j in ordered if frames[j].operation), None)
        service = next((frames[j].service for j in ordered if frames[j].service), None)
        used.update(ordered)
        start = min([f.start, *(frames[j].start for j in before)])
        out.append(f.framed(start, code, op, service))
    alone: Found | None = None  # the last frame taken on its own
    alone_frame: Frame | None = None
    for j, fr in enumerate(frames):
        if j in used or not fr.authz or not fr.standalone_ok:
            continue
        if any(fr.start < f.end and f.start < fr.end for f in out):
            continue
        if alone is not None and alone_frame is not None and _one_error(alone_frame, fr):
            # The class, its short message, then the SDK's frame ("X Exception: Access
            # Denied (Service: ...)"): one error printed once, not two.
            i = out.index(alone)
            out[i] = alone = replace(
                alone,
                end=fr.end,
                error_code=alone.error_code or fr.error_code,
                operation=alone.operation or fr.operation,
                event_source=alone.event_source or fr.service,
            )
            continue
        alone = Found(
            "plain",
            fr.start,
            fr.end,
            error_code=fr.error_code,
            operation=fr.operation,
            event_source=fr.service,
            truncated=fr.cut,
            parse_notes=_frame_notes(fr),
        )
        alone_frame = fr
        out.append(alone)
    out.sort(key=lambda f: f.start)
    return out


def _frame_notes(fr: Frame) -> tuple[str, ...]:
    if fr.cut:
        return ("the error is cut before its message",)
    return (NAMES_NOTHING,) if fr.bare else ()


#: A frame this close after another one taken on its own is the same error's.
_ONE_ERROR_GAP = 40


def _one_error(first: Frame, fr: Frame) -> bool:
    """``first`` is an exception class and ``fr`` the Java frame closing its message."""
    codes = {first.error_code, fr.error_code} - {None}
    near = 0 <= fr.start - first.end <= _ONE_ERROR_GAP
    return near and first.either and not first.after and fr.after and len(codes) <= 1


def analyse_message(message: str, *, cut: bool = False) -> Found | None:
    """The one failure a single error message (a CloudTrail errorMessage) describes.

    ``cut``: the message was cut to a length limit, so an authorization ID at its
    very end may be incomplete.
    """
    found, _problems = analyse_text(message, id_cut_at_end=cut)
    for f in found:
        if f.kind in ("encoded", "plain", "decoded"):
            return f
    return None


def excerpt_of(text: str, start: int, end: int) -> str:
    """At most ``EXCERPT_MAX`` characters around ``[start, end)``."""
    lo = max(0, start - 60)
    hi = min(len(text), max(end, lo + 1), lo + EXCERPT_MAX)
    return text[lo:hi].strip()


__all__ = ["Found", "account_of", "analyse_message", "analyse_text", "excerpt_of", "region_of"]
