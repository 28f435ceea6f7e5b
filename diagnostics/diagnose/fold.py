"""Fold repeats of a printed failure into its first occurrence, for ``scan``.

Tools print one denial many times (Packer three times, a retry loop every
few seconds).  ``scan`` reports it once, with how many times it was seen and
where the last one was, in the input order of first occurrences.  That needs
the whole input, so entries wait in a bounded window: when it is full, the
oldest entry leaves it (and is reported) first, which keeps the order, and a
repeat arriving after that is reported again.
"""

from __future__ import annotations

import dataclasses
import re
from collections import OrderedDict, deque
from collections.abc import Iterator
from dataclasses import dataclass

from diagnostics.model import NAMES_NOTHING, Diagnosis, Failure, SourceRef
from diagnostics.request.infer import infer_action

#: Distinct failures held at most; like the old de-duplication window.
DEFAULT_WINDOW = 100_000
#: Two partial reports this close (in lines of one input) may be one denial
#: printed in parts: an XML body, the SDK's line and the tool's error line.
PART_LINES = 8
#: How many recent entries are compared for that.
PART_ENTRIES = 4

#: How far below an encoded error the decoded message a user pasted may be: a post
#: shows the error, the decode command (the blob again, a gutter of line numbers)
#: and its output.
DECODED_LINES = 60
#: What a decoded message says with authority over the error's own reading: IAM's
#: evaluation context (the action checked may be the PassRole behind RunInstances).
_DECODED_FIELDS = (
    "principal_arn",
    "principal_text",
    "account_id",
    "action",
    "resource",
    "resource_text",
    "policy_type",
    "policy_arn",
    "explicit_deny",
    "decoded",
)

#: Fields a part may leave unsaid and another part say; any two values that
#: differ mean two different denials.
_PART_FIELDS = (
    "principal_arn",
    "principal_text",
    "account_id",
    "action",
    "resource",
    "resource_text",
    "policy_type",
    "policy_arn",
    "explicit_deny",
    "encoded_message",
    "operation",
    "event_source",
    "region",
    "error_code",
    "authorization_id",
    "request_id",
)
#: Slots a person's redaction writes: the same message printed twice may differ there.
_REDACTED = ("principal_text", "resource_text")
#: At least one of these must be said by both parts, and be equal.
_SHARED = ("action", "operation", "error_code")


# Linear: one character class, repeated; no alternation to backtrack into.
_IDISH = re.compile(r"[0-9A-Fa-f]+")
#: Marks a quote or a list puts before a pasted line; not the tool's wording.
_QUOTE_MARKS = "> -*|`"


def _wording(excerpt: str) -> str:
    """The excerpt as the code that printed it wrote it: timestamps, counters and
    request IDs (any run of hex digits holding a digit) masked, quote marks and
    spacing dropped, so that a retry's line reads the same as the first."""
    masked = _IDISH.sub(lambda m: "#" if any(c.isdigit() for c in m[0]) else m[0], excerpt)
    return " ".join(w.strip(_QUOTE_MARKS) for w in masked.split() if w.strip(_QUOTE_MARKS))


def two_examples(seen: Failure, new: Failure) -> bool:
    """``new`` repeats ``seen``'s fields but is another request printed elsewhere.

    A retry loop, a re-paste, an e-mail quote or the CLI's line under its own
    traceback print the same words again (one contains the other): a repeat.
    Printed in other words, two prints are two requests when they name different
    request IDs (two posts, two SDKs), or when each is a whole SDK error naming its
    operation and code in its own words, with no request ID (a post's CLI example,
    then its SDK one).
    The rule is in tests/fixtures/real/NOTES-a.md, "Choices".
    """
    if seen.source.path != new.source.path or seen.source.line == new.source.line:
        return False
    a, b = _wording(seen.excerpt), _wording(new.excerpt)
    if not a or not b or a in b or b in a:
        return False
    if seen.request_id is not None and new.request_id is not None:
        return seen.request_id != new.request_id
    if seen.request_id is not None or new.request_id is not None:
        return False
    return _names_call(seen) and _names_call(new)


def _names_call(f: Failure) -> bool:
    """``f``'s own print names its operation and error code (a whole SDK error), not
    a tool's words the operation was inferred from, nor one part of a layered print."""
    return bool(f.operation and f.error_code) and all(
        word in f.excerpt for word in (f.operation or "", f.error_code or "")
    )


def _said(f: Failure) -> int:
    return sum(getattr(f, name) is not None for name in _PART_FIELDS)


def parts_of_one(a: Failure, b: Failure) -> bool:
    """``a`` and ``b`` could be one denial printed in two parts.

    Same input, a few lines apart, no CloudTrail event (each record is its
    own request), nothing said differently by the two, and the action, the
    operation or the error code said by both.
    """
    if a.source.path != b.source.path or a.source.event_id or b.source.event_id:
        return False
    if a.source.line is None or b.source.line is None:
        return False
    if abs(a.source.line - b.source.line) > PART_LINES or a.embedded != b.embedded:
        return False
    one_line = a.source.line == b.source.line
    if _whole_and_bare(a, b) or _whole_and_bare(b, a):
        return False
    if a.operation and b.operation and a.error_code and b.error_code and not one_line:
        # Each part, on its own line, is a whole SDK error (operation and code): two
        # requests, however alike; joining them would lose the second.
        return False
    # One line that prints the same message twice (PHP: Guzzle's summary, then the
    # XML body) may redact it differently each time: text slots may then differ.
    loose = _REDACTED if one_line and a.action and a.action == b.action else ()
    # Adjacent lines that name the same service (an SQS message, then the SDK's class
    # line repeating it) are one report even when neither names an action or code.
    sharing = (*_SHARED, "event_source") if abs(a.source.line - b.source.line) <= 1 else _SHARED
    shared = False
    for name in _PART_FIELDS:
        x, y = getattr(a, name), getattr(b, name)
        if name == "event_source" and x and y:
            x, y = x.lower(), y.lower()  # "SQS" from a class name, "sqs" from a URL
        if x is not None and y is not None:
            if x != y and name not in loose:
                return False
            shared = shared or name in sharing
    return shared


def _whole_and_bare(a: Failure, b: Failure) -> bool:
    """``a`` printed its whole message and it named nothing (S3's "Access Denied"),
    while ``b`` names a principal or resource, or is a sentence naming the action
    itself (no code, no operation: "User is not authorized to perform: X"): two
    examples, not two parts of one."""
    if NAMES_NOTHING not in a.parse_notes or _names(a):
        return False  # (SQS's message names its endpoint: a later line may repeat it)
    return _names(b) or (b.action is not None and b.operation is None and b.error_code is None)


def _names(f: Failure) -> bool:
    return any(
        v is not None for v in (f.principal_arn, f.principal_text, f.resource, f.resource_text)
    )


def _adds_nothing(first: Failure, later: Failure) -> bool:
    """``later`` says nothing ``first`` left unsaid: a repeat, not a missing part."""
    return all(getattr(later, n) is None or getattr(first, n) is not None for n in _PART_FIELDS)


def _another_request(seen: Failure, new: Failure) -> bool:
    """``new`` is on the same line as ``seen`` but names another request ID."""
    return (
        seen.request_id is not None
        and new.request_id is not None
        and seen.request_id != new.request_id
        and seen.source.path == new.source.path
        and seen.source.line == new.source.line
    )


def join_parts(first: Failure, later: Failure) -> Failure:
    """One failure saying everything either part said, found where the first part was."""
    fill = {
        name: getattr(later, name)
        for name in _PART_FIELDS
        if getattr(first, name) is None and getattr(later, name) is not None
    }
    richer = first if _said(first) >= _said(later) else later
    note = f"joined with the part on line {later.source.line} (one denial printed in parts)"
    return dataclasses.replace(
        first,
        **fill,
        kind="encoded" if "encoded" in (first.kind, later.kind) else first.kind,
        truncated=first.truncated or later.truncated,
        conditions=first.conditions or later.conditions,
        parse_notes=(*richer.parse_notes, note),
        excerpt=first.excerpt or later.excerpt,
    )


def decodes(error: Failure, decoded: Failure) -> bool:
    """``decoded`` is the decoded message a user pasted below ``error``, its encoded error.

    Same input, below it and close, the error not decoded yet, and no clean
    principal said differently by the two.
    """
    if decoded.kind != "decoded" or decoded.decoded is None:
        return False
    if error.kind != "encoded" or error.decoded is not None or error.source.event_id:
        return False
    if error.source.path != decoded.source.path or error.embedded != decoded.embedded:
        return False
    if error.source.line is None or decoded.source.line is None:
        return False
    if not 0 < decoded.source.line - error.source.line <= DECODED_LINES:
        return False
    return not (
        error.principal_arn
        and decoded.principal_arn
        and error.principal_arn != decoded.principal_arn
    )


def join_decoded(error: Failure, decoded: Failure) -> Failure:
    """``error`` as STS would have decoded it: the decoded message's context, the error's call."""
    said = {name: getattr(decoded, name) for name in _DECODED_FIELDS}
    note = f"decoded by the message on line {decoded.source.line}"
    return dataclasses.replace(
        error,
        **{name: value for name, value in said.items() if value is not None},
        # With no blob to decode (elided, "****"), the pasted decoding is all there is.
        kind="encoded" if error.encoded_message else "decoded",
        conditions=decoded.conditions or error.conditions,
        parse_notes=(*error.parse_notes, *decoded.parse_notes, note),
    )


@dataclass(slots=True)
class Folded:
    """A failure as first seen, how often it was seen, and where the last repeat was."""

    failure: Failure
    occurrences: int = 1
    last_source: SourceRef | None = None
    #: Already handed out (a joined entry is held under several keys).
    emitted: bool = False
    #: ``failure`` with the action its operation implies (what parts are compared by).
    inferred: Failure | None = None


class Folder:
    """``add`` each failure in input order; iterate ``ready`` and, at the end, ``drain``."""

    __slots__ = ("_capacity", "_ready", "_recent", "_window")

    def __init__(self, capacity: int = DEFAULT_WINDOW) -> None:
        if capacity < 1:
            raise ValueError("the fold window must hold at least one failure")
        self._capacity = capacity
        # A joined entry is held under each part's key, so count it out once.
        self._window: OrderedDict[tuple[object, ...], Folded] = OrderedDict()
        self._ready: list[Folded] = []
        self._recent: deque[Folded] = deque(maxlen=PART_ENTRIES)

    def add(self, failure: Failure) -> bool:
        """Fold ``failure`` in; True when it repeats one still in the window."""
        key = failure.dedup_key()
        entry = self._window.get(key)
        if entry is not None and _another_request(entry.failure, failure):
            # One line listing alike denials of several requests (a Java SDK's error
            # list, each with its request ID) reports each; a retry loop's lines fold.
            key = (*key, failure.request_id)
            entry = self._window.get(key)
        elif entry is not None and two_examples(entry.failure, failure):
            # Two examples in one text (two posts, the CLI's and the SDK's): each reported.
            key = (*key, "example", _wording(failure.excerpt))
            entry = self._window.get(key)
        if entry is not None:
            entry.occurrences += 1
            entry.last_source = failure.source
            return True
        # Compared with the action the operation implies, as the rules will see them
        # (inferred once per failure: a CloudTrail record is compared with eight).
        inferred = infer_action(failure)
        for recent in reversed(self._recent):
            if recent.emitted:
                continue  # already reported: a later part starts a new report
            known = recent.inferred if recent.inferred is not None else recent.failure
            if not parts_of_one(known, inferred):
                if recent.failure.source.line != failure.source.line:
                    break  # another denial came between: an earlier one is not this one's part
                continue
            # Another layer printing the same denial: one report, richer.
            if _adds_nothing(known, inferred):
                recent.occurrences += 1  # the denial printed again, more plainly
            recent.failure = recent.inferred = join_parts(known, inferred)
            self._window[key] = self._window[recent.failure.dedup_key()] = recent
            return True
        if self._recent and not self._recent[-1].emitted:
            last = self._recent[-1]
            if decodes(last.failure, failure):
                # Only the error just above: a denial between would be the one decoded.
                last.failure = join_decoded(last.failure, failure)
                last.inferred = infer_action(last.failure)
                self._window[key] = self._window[last.failure.dedup_key()] = last
                return True
        entry = self._window[key] = Folded(failure, inferred=inferred)
        self._recent.append(entry)
        if len(self._window) > self._capacity:
            self._out(self._window.popitem(last=False)[1])
        return False

    def _out(self, entry: Folded) -> None:
        if not entry.emitted:
            entry.emitted = True
            self._ready.append(entry)

    def ready(self) -> Iterator[Folded]:
        """Entries that left the window, oldest first; each is yielded once."""
        while self._ready:
            yield self._ready.pop(0)

    def drain(self) -> Iterator[Folded]:
        """Everything still held, in first-occurrence order (end of input)."""
        while self._window:
            self._out(self._window.popitem(last=False)[1])
        yield from self.ready()


def counted(diagnosis: Diagnosis, occurrences: int, last: SourceRef | None) -> Diagnosis:
    """``diagnosis`` of a fold entry, with the entry's repeat count and last place."""
    if occurrences < 2:
        return diagnosis
    return dataclasses.replace(diagnosis, occurrences=occurrences, last_source=last)


def span(first: SourceRef, last: SourceRef | None, occurrences: int) -> str:
    """``seen 37 times, lines 12-9,881`` (or the two places when the inputs differ)."""
    if last is None or occurrences < 2:
        return "seen once"
    seen = f"seen {occurrences:,} times"
    if first.path == last.path and first.line is not None and last.line is not None:
        return f"{seen}, lines {first.line:,}-{last.line:,}"
    return f"{seen}, first {_where(first)}, last {_where(last)}"


def _where(ref: SourceRef) -> str:
    return ref.path if ref.line is None else f"{ref.path}:{ref.line:,}"
