"""What one AWS lookup is about: an account and an identifier (a blob or an authorization ID)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class LookupKey:
    """``(account, ident)``: the same blob or ID in two accounts is two lookups.

    Keyed by account so a forged line naming another account never reads the
    answer fetched for this one (and the other way round).  ``account`` is
    ``""`` when the failure names none.
    """

    account: str
    ident: str

    def digest(self) -> str:
        """The SHA-256 the caches store, so the state file never holds blobs or IDs."""
        return hashlib.sha256(f"{self.account}\n{self.ident}".encode()).hexdigest()
