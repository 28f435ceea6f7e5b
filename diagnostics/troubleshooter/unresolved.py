"""Which failures want Access Troubleshooter, and what they say when it is off.

Apart from ``resolver`` so that a scan without resolving (``--no-decode``)
does not import the resolver's client, cache and thread pool to say so.
"""

from __future__ import annotations

from diagnostics.extract.parsers.authorization_id import CUT_NOTE, cut_error_text
from diagnostics.model import Failure
from diagnostics.troubleshooter import messages as m


def wants_resolving(failure: Failure) -> bool:
    """The failure carries an ID worth an API call (or a cut one worth a message)."""
    return failure.authorization_id is not None or cut(failure)


def cut(failure: Failure) -> bool:
    """The failure's authorization ID was cut off (a parse note says so)."""
    return any(note.startswith(CUT_NOTE) for note in failure.parse_notes)


def unresolved_error(failure: Failure) -> str | None:
    """The ``authorization_error`` when resolving is off: why the ID was not used."""
    if failure.authorization_id is not None:
        return m.disabled_text()
    return cut_error_text() if cut(failure) else None
