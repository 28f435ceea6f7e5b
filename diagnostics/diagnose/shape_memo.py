"""The verdict of a failure's shape, reused for the next failure of that shape.

A storm of denials names a new resource each time (``Orders17``, ``i-0a3f...``,
``session-42``) while the action, policy type, account, region and the rest
of what the rules read stay the same.  The names differ in their runs of hex
digits: those runs (holding at least one digit, after an ARN's account) are
the *slots*.  A failure's shape is every field the rules read with the slots
cut out; what the key keeps of the slots is listed below.

The first failure of a shape is judged as it is, and remembered.  The second
is judged twice: as it is (that verdict is the answer) and with each slot
value replaced by a stand-in of the same length
whose digits are digits and letters letters, different from the real value
at every character.  Only when putting the real values in place of the
stand-ins in that second verdict gives back exactly the first (``repr``, so
dict order counts) is it kept as the shape's template; otherwise the shape
is marked, and each of its failures takes the full path.  A later failure of
a kept shape gets the template with its own values put in: a dictionary
lookup and a few string joins instead of the rules, the fix check and the
risk check.

Why that is sound.  The key holds every field the rules read
(``pipeline.JUDGED_FIELDS``) with the slots cut out, and of the slot values:
their length, which characters are digits and which letters, which values
are equal, their order, which holds which (an account in a bucket name), and the
answer of every rule test that reads inside the resource's or principal's
name (``RuleSet.name_tests``: a user's glob may name a digit).  What the
code does with a slot beyond those is copy it, or test what the key fixes
(``isdigit``, ``[0-9a-f]{16}``, a length), so the verdict of any failure of
the shape is the template with its values put in.  A stand-in differs from
its value at every character, so a verdict that kept part of one (a cut name)
or held the same digits from elsewhere (a rule's literal text) fails the
comparison and the shape misses for good.  Failures with a decoded
message or logged condition keys never use the memo: those can repeat a
slot's value outside the three ARNs.  ``tests/test_shape_memo.py`` holds every
fixture, the real corpus and a dense sample to the same JSON with it off.
"""

from __future__ import annotations

import dataclasses
import operator
import re
from collections import OrderedDict
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from diagnostics.model import Failure, Finding, Verification

if TYPE_CHECKING:
    from diagnostics.rules import RuleSet

#: (findings, verification) of a diagnosed failure, for its repeats and its shape.
Verdict = tuple[tuple[Finding, ...], tuple[Verification, ...]]

# A maximal run of lower-case hex holding a digit, captured for ``split``.
# Linear: the lookbehind rejects every start inside a run in one step, and
# from a run's start the lazy letters and the digits read that run once.
_SLOT = re.compile(r"(?<![0-9a-f])([a-f]*?[0-9][0-9a-f]*)")

_DIGITS = "0123456789"
_LETTERS = "abcdef"
#: A slot's digit/letter mask: which characters are digits, which hex letters.
_MASK = str.maketrans("0123456789abcdef", "0000000000aaaaaa")
#: The fields of a failure the slots are taken from: three ARNs, from their account on,
#: and the account.
SLOTTED = ("resource", "principal_arn", "policy_arn", "account_id")
#: Joins the names of the three ARNs for one ``split``; a name holding it misses the memo.
_JOIN = "\x01"


@dataclasses.dataclass(frozen=True, slots=True)
class Shape:
    """One failure's key and its slot values."""

    key: tuple[object, ...]
    #: The slot values in order of appearance (a value may repeat).
    values: tuple[str, ...]
    #: Each slot's index among the distinct values.
    which: tuple[int, ...]
    #: The text around the slots, ``_JOIN`` between the three names.
    pieces: tuple[str, ...]
    #: The part of each slotted field before its name (``arn:aws:s3:::``), or the whole
    #: field when it is not an ARN (then it holds no slot).
    heads: tuple[str | None, ...]


def _distinct(values: list[str]) -> tuple[tuple[str, ...], tuple[int, ...]]:
    seen: dict[str, int] = {}
    which = tuple(seen.setdefault(v, len(seen)) for v in values)
    return tuple(seen), which


def _order(values: tuple[str, ...]) -> tuple[int, ...]:
    return tuple(sorted(range(len(values)), key=values.__getitem__))


def _containment(values: tuple[str, ...]) -> tuple[bool, ...]:
    """Which distinct values hold which others (an account inside a bucket name)."""
    return tuple(a in b for a in values for b in values if a is not b)


class ShapeReader:
    """Reads a failure's shape: which fields are judged, and which rule tests read names."""

    def __init__(
        self,
        judged_fields: tuple[str, ...],
        name_tests: Callable[[str | None, str | None], tuple[bool, ...]],
    ) -> None:
        self._name_tests = name_tests
        self._slotted = operator.attrgetter(*SLOTTED)
        # The judged fields other than the slotted three: they go into the key as they are.
        self._rest = operator.attrgetter(*(f for f in judged_fields if f not in SLOTTED))

    def shape(self, failure: Failure) -> Shape | None:
        """The failure's shape, or None when the memo must not be used for it."""
        if failure.conditions:
            return None
        heads: list[str | None] = []
        names: list[str] = []
        *arns, account = self._slotted(failure)
        for text in arns:
            if text and text.startswith("arn:") and text.count(":") >= 5:
                # Partition, service and region stay; account and name may hold slots.
                cut = text.split(":", 4)
                heads.append(":".join(cut[:4]) + ":")
                names.append(cut[4])
            else:
                heads.append(text)
                names.append("")
        heads.append("" if account else account)
        names.append(account or "")
        joined = _JOIN.join(names)
        if joined.count(_JOIN) != len(SLOTTED) - 1:
            return None
        parts = _SLOT.split(joined)
        if len(parts) == 1:
            return None  # nothing to abstract: the exact memo already covers it
        pieces = tuple(parts[0::2])
        distinct, which = _distinct(parts[1::2])
        key = (
            self._rest(failure),
            tuple(heads),
            pieces,
            which,
            tuple(v.translate(_MASK) for v in distinct),
            _order(distinct),
            _containment(distinct),
            self._name_tests(failure.resource, failure.principal_arn),
        )
        return Shape(key, distinct, which, pieces, tuple(heads))


def _with(shape: Shape, failure: Failure, values: tuple[str, ...]) -> Failure:
    """``failure`` with each slot holding ``values[i]`` instead."""
    out = [shape.pieces[0]]
    for i, k in enumerate(shape.which):
        out.append(values[k])
        out.append(shape.pieces[i + 1])
    names = "".join(out).split(_JOIN)
    fields: dict[str, Any] = {}
    for field, head, name in zip(SLOTTED, shape.heads, names, strict=True):
        if head is not None:
            fields[field] = head + name
    return dataclasses.replace(failure, **fields)


def _shift(digits: int, letters: int) -> dict[int, int]:
    """Each digit ``digits`` on, each hex letter ``letters`` on, round their own set."""
    table = {ord(c): ord(_DIGITS[(i + digits) % 10]) for i, c in enumerate(_DIGITS)}
    table.update({ord(c): ord(_LETTERS[(i + letters) % 6]) for i, c in enumerate(_LETTERS)})
    return table


#: Character maps that move every digit to another digit and every hex letter to another
#: letter: one applied to all values keeps their lengths, masks, equalities and which
#: holds which, and changes every character.
_SHIFTS = tuple(_shift(d, 1 + d % 5) for d in range(1, 10))


def _stand_ins(values: tuple[str, ...]) -> tuple[str, ...] | None:
    """Stand-ins for the slot values, none of them equal to a value."""
    for table in _SHIFTS:
        drawn = tuple(v.translate(table) for v in values)
        if set(drawn).isdisjoint(values):
            return drawn
    return None


#: Builds one part of a verdict from the slot values.
Builder = Callable[[tuple[str, ...]], Any]

_FIELDS: dict[type, tuple[str, ...]] = {}


def _field_names(cls: type) -> tuple[str, ...]:
    names = _FIELDS.get(cls)
    if names is None:
        names = _FIELDS[cls] = tuple(f.name for f in dataclasses.fields(cls))
    return names


def _compile(value: Any, index: dict[str, int]) -> Builder | None:
    """A builder of ``value`` with its stand-ins replaced, or None when it holds none.

    A stand-in is found as a whole run of hex holding a digit, as its slot was
    cut; one run inside a longer one stays, and the check in ``judge`` sees it.
    """
    if isinstance(value, str):
        # Most strings (titles, Sids, actions) hold no stand-in: ``in`` is cheaper than split.
        if not any(s in value for s in index):
            return None
        parts = _SLOT.split(value)
        if len(parts) == 1 or not any(p in index for p in parts[1::2]):
            return None
        # Merge the runs that are not stand-ins into the text around them.
        texts = [parts[0]]
        slots: list[int] = []
        for i in range(1, len(parts), 2):
            k = index.get(parts[i])
            if k is None:
                texts[-1] += parts[i] + parts[i + 1]
            else:
                slots.append(k)
                texts.append(parts[i + 1])

        def text(values: tuple[str, ...]) -> str:
            out = [texts[0]]
            for i, k in enumerate(slots):
                out.append(values[k])
                out.append(texts[i + 1])
            return "".join(out)

        return text
    if isinstance(value, tuple | list):
        items = [(_compile(v, index), v) for v in value]
        if all(b is None for b, _ in items):
            return None
        kind = type(value)
        return lambda values: kind([v if b is None else b(values) for b, v in items])
    if isinstance(value, dict):
        entries = [(_compile(k, index), k, _compile(v, index), v) for k, v in value.items()]
        if all(bk is None and bv is None for bk, _, bv, _ in entries):
            return None
        return lambda values: {
            (k if bk is None else bk(values)): (v if bv is None else bv(values))
            for bk, k, bv, v in entries
        }
    if value is None or isinstance(value, bool | int | float):
        return None
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        cls = type(value)
        args = [(_compile(getattr(value, n), index), getattr(value, n)) for n in _field_names(cls)]
        if all(b is None for b, _ in args):
            return None
        # Positional, every field: ``dataclasses.replace`` cost more than the rest of a fill.
        return lambda values: cls(*[v if b is None else b(values) for b, v in args])
    return None


@dataclasses.dataclass(frozen=True, slots=True)
class Template:
    """A shape's verdict judged on stand-ins, compiled to put a failure's values in."""

    verdict: Verdict
    build: Builder | None

    def fill(self, values: tuple[str, ...]) -> Verdict:
        if self.build is None:
            return self.verdict
        verdict: Verdict = self.build(values)
        return verdict


def _template(verdict: Verdict, stand_ins: tuple[str, ...]) -> Template:
    return Template(verdict, _compile(verdict, {s: i for i, s in enumerate(stand_ins)}))


#: Marks a shape whose stand-in verdict did not give back the real one.
_UNSAFE = Template(((), ()), None)
#: Marks a shape seen once, not yet judged on stand-ins.
_SEEN = Template(((), ()), None)


#: Shaped failures between two looks at whether the memo pays.
PROBATION = 1024


class ShapeMemo:
    """Templates of verdicts by shape: a bounded LRU, one per pipeline (so per run).

    It pays only where shapes repeat: a template costs about two judgings
    (the real one and the stand-ins') and reading a shape about a tenth of
    one, while a fill saves nearly a whole one.  So every ``probation``
    shaped failures it checks its own counts and, when the fills did not
    cover what the templates and the reading cost, turns itself off for the
    rest of the run (the output is the same either way; only the time differs).
    A failure-dense log of distinct principals and accounts (P7) is such a run.
    """

    def __init__(
        self, size: int, judged_fields: tuple[str, ...], probation: int | None = PROBATION
    ) -> None:
        self.size = size
        #: None: never turn off (for the equivalence tests).
        self.probation = probation
        self.active = True
        self.shaped = 0
        self._judged_fields = judged_fields
        self._reader: ShapeReader | None = None
        self._reader_of: RuleSet | None = None
        self._templates: OrderedDict[tuple[object, ...], Template] = OrderedDict()
        #: For benchmarks and tests: templates filled, shapes judged twice, shapes found unsafe.
        self.hits = 0
        self.misses = 0
        self.unsafe = 0

    def __len__(self) -> int:
        return len(self._templates)

    def judge(
        self, failure: Failure, ruleset: RuleSet, compute: Callable[[Failure], Verdict]
    ) -> Verdict:
        """The verdict of ``failure`` (no decoded message); ``compute`` is the full path."""
        if self._reader is None or self._reader_of is not ruleset:
            self._reader = ShapeReader(self._judged_fields, ruleset.name_tests)
            self._reader_of = ruleset
            self._templates.clear()
        if not self.active:
            return compute(failure)
        shape = self._reader.shape(failure)
        if shape is None:
            return compute(failure)
        self.shaped += 1
        if self.probation and self.shaped % self.probation == 0 and not self._pays():
            self.active = False
            self._templates.clear()
            return compute(failure)
        template = self._templates.get(shape.key)
        if template is not None:
            self._templates.move_to_end(shape.key)
            if template is _UNSAFE:
                return compute(failure)
            if template is not _SEEN:
                self.hits += 1
                return template.fill(shape.values)
        real = compute(failure)
        if template is None:
            # A shape seen once may never come back: the second judging and the
            # template wait for its second failure.
            self._remember(shape.key, _SEEN)
            return real
        stand_ins = _stand_ins(shape.values)
        if stand_ins is None:
            return real
        self.misses += 1
        template = _template(compute(_with(shape, failure, stand_ins)), stand_ins)
        if repr(template.fill(shape.values)) != repr(real):
            self.unsafe += 1
            template = _UNSAFE
        self._remember(shape.key, template)
        return real

    def _pays(self) -> bool:
        """Whether the fills saved what the templates and shape readings cost (measured on
        P7's 4 MiB slice: a template about 1.75 judgings, a reading about 0.125)."""
        return 8 * self.hits >= 14 * self.misses + self.shaped

    def _remember(self, key: tuple[object, ...], template: Template) -> None:
        self._templates[key] = template
        self._templates.move_to_end(key)
        if len(self._templates) > self.size:
            self._templates.popitem(last=False)
