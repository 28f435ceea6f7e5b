"""Output formats for diagnoses: ``text`` for people, ``jsonl`` for machines."""

from __future__ import annotations
