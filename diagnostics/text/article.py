"""``a`` or ``an`` before words built at run time ("an identity-based policy", "an SCP").

The article follows the sound of the next word: an acronym (all capitals, or
a token holding a digit such as ``s3``) is read letter by letter, so its first
letter's name decides; other words go by their first letter, with the few
``u`` and ``h`` words policy text meets handled by prefix.
"""

from __future__ import annotations

#: Letters whose spoken name starts with a vowel sound (eff, aitch, ell, em, en, ar, ess, ex).
_VOWEL_NAMES = frozenset("AEFHILMNORSX")
#: Words starting with a "yoo" sound take "a" (a user, a unique ID).
_YOO = ("uni", "use", "usa", "usu", "uti", "uri", "url")
#: Words starting with a silent h take "an".
_SILENT_H = ("hour", "honest", "honor", "heir")


def _acronym(token: str) -> bool:
    letters = [c for c in token if c.isalpha()]
    return bool(letters) and (
        (all(c.isupper() for c in letters) and len(letters) > 1) or any(c.isdigit() for c in token)
    )


def article(words: str) -> str:
    """``"an"`` or ``"a"`` for the text ``words`` starts with."""
    token = words.split(" ", 1)[0].split("-", 1)[0]
    if not token:
        return "a"
    if _acronym(token):
        return "an" if token[0].upper() in _VOWEL_NAMES else "a"
    low = token.lower()
    if low.startswith(_YOO) or low.startswith("one"):
        return "a"
    if low.startswith(_SILENT_H):
        return "an"
    return "an" if low[0] in "aeiou" else "a"


def with_article(words: str) -> str:
    """``words`` with its article in front (empty stays empty)."""
    return f"{article(words)} {words}" if words else words
