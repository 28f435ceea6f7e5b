"""The blob-tail questions the joiner asks (``extract/parsers/encoded.py``) answer as always.

``open_blob_at_end`` and ``leading_blob_run`` run on every wrapped blob line,
so they have fast paths; these tests hold them to the plain definitions
below (a case-insensitive search for the last phrase, a character loop) on
hostile and random texts.
"""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from diagnostics.extract.parsers.encoded import (
    BLOB_CHARS,
    MAX_BLOB,
    OpenBlob,
    leading_blob_run,
    open_blob_at_end,
)

# Linear: a literal phrase (the definition the fast path must agree with).
_PHRASE = re.compile(r"encoded authorization failure message", re.IGNORECASE)
# Linear: anchored; optional colon, bounded blanks, optional quote, one bounded class run.
_AFTER = re.compile(r"""[ \t]{0,8}:?[ \t\n]{0,8}(?P<q>["'`]?)(?P<blob>[A-Za-z0-9_-]{0,20000})""")
_SPELLINGS = (
    "uthorization failure message",
    "uthorization Failure Message",
    "UTHORIZATION FAILURE MESSAGE",
)


def _open_blob_reference(text: str) -> OpenBlob | None:
    """The last phrase left to right (as ``finditer`` finds them) and its blob to the end.

    Only texts holding one of the spellings tools print are searched at all.
    """
    window = max(0, len(text) - MAX_BLOB - 200)
    if all(text.find(s, window) == -1 for s in _SPELLINGS):
        return None
    last = None
    for m in _PHRASE.finditer(text, window):
        last = m
    if last is None:
        return None
    a = _AFTER.match(text, last.end())
    if a is None or a.end() != len(text) or len(a.group("blob")) >= MAX_BLOB:
        return None
    return OpenBlob(len(a.group("blob")), a.group("q"))


def _run_reference(text: str) -> int:
    n = 0
    for ch in text:
        if ch not in BLOB_CHARS:
            break
        n += 1
    return n


PHRASE = "Encoded authorization failure message"
BLOB = "ImvLSzAuDYFB4_J_dTtnBEjaSVOlcbScUJYi34bA_ma1UFHmgaoGSOS9oQS84C4oRRprMy2Hh9uT0OZTPs"


def test_overlapping_phrases_give_the_left_to_right_answer() -> None:
    """Two phrases sharing their 'e' ("...messagencoded ...") are read as a left-to-right search."""
    for text in (
        f"x {PHRASE}ncoded authorization failure message: {BLOB}",
        f"x {PHRASE}ncoded authorization failure message"
        f"ncoded authorization failure message: {BLOB}",
        f"{PHRASE}: {BLOB} and {PHRASE}ncoded authorization failure message {BLOB[:9]}",
    ):
        assert open_blob_at_end(text) == _open_blob_reference(text)


def test_unicode_case_folds_like_the_phrase_search() -> None:
    """A long s that case-folds into the phrase, or other non-ASCII, reads as the search does."""
    for text in (
        f"{PHRASE.replace('s', 'ſ')}: {BLOB}",
        f"{PHRASE.replace('E', 'ſ', 1)}ncoded authoriſation failure message: {BLOB}",
        f"{PHRASE.replace('e', 'E')}: {BLOB}",
        f"ENCODED AUTHORIZATION FAILURE MESSAGE X {PHRASE.replace('ss', 'ſs')}: {BLOB}",
        f"encoded authorization failure message: {BLOB} enCODED aUTHORIZATION FAILURE MESSAGE: x",
        f"{PHRASE.upper()}: {BLOB}",
        f"é {PHRASE}: {BLOB}",
        f"{PHRASE}: {BLOB}é",
        f"{PHRASE}: İ{BLOB}",
    ):
        assert open_blob_at_end(text) == _open_blob_reference(text)


def test_the_search_window_bound_is_kept() -> None:
    """A phrase further back than the last MAX_BLOB + 200 characters is not reopened."""
    for pad in (MAX_BLOB + 150, MAX_BLOB + 163, MAX_BLOB + 240):
        text = f"{PHRASE}: " + "A" * pad
        assert open_blob_at_end(text) == _open_blob_reference(text)
        text = f"{PHRASE}: {BLOB} " + "x" * pad + f" {PHRASE}: {BLOB}"
        assert open_blob_at_end(text) == _open_blob_reference(text)


_PIECES = st.sampled_from(
    [
        PHRASE,
        PHRASE.lower(),
        PHRASE.upper(),
        "ncoded authorization failure message",
        "message",
        ": ",
        " ",
        "\t",
        '"',
        "'",
        "\n",
        BLOB,
        BLOB[:7],
        "-_",
        "...",
        "é",
        "K",
        "ſ",
        "İ",
        "x" * 50,
    ]
)


@settings(max_examples=500, deadline=None)
@given(st.lists(_PIECES, max_size=12))
def test_open_blob_at_end_agrees_with_its_definition(pieces: list[str]) -> None:
    """Any mix of phrases, blobs, quotes and non-ASCII gives the definition's answer."""
    text = "".join(pieces)
    assert open_blob_at_end(text) == _open_blob_reference(text)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from([*"aZ09-_ /.:", "é", "K", "١", "ß"]), max_size=60))
def test_leading_blob_run_agrees_with_its_definition(text: str) -> None:
    """The leading base64url run is measured in ASCII blob characters only."""
    assert leading_blob_run(text) == _run_reference(text)
