"""One lookup's answer: the value AWS returned, or why there is none."""

from __future__ import annotations

from dataclasses import dataclass

from diagnostics.model import JSONObject


@dataclass(frozen=True, slots=True)
class Answer:
    """``value`` (the decoded message or the details) or ``error``; ``kind`` is the error's kind."""

    value: JSONObject | None = None
    error: str | None = None
    cached: bool = False
    #: The error kind (``lookup.errors`` constants), for retry decisions; ``None`` on success.
    kind: str | None = None

    @property
    def details(self) -> JSONObject | None:
        """``value`` under the name the resolver's callers use (authorization details)."""
        return self.value
