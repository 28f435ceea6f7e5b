"""The filled registries: every matcher and placeholder the rule files may name.

Importing this module imports the modules whose decorators register them,
so callers never see a half-filled table and ``registry`` imports nothing of
its users.
"""

from __future__ import annotations

from diagnostics.rules import matchers as _matchers
from diagnostics.rules import placeholders as _placeholders
from diagnostics.rules.registry import MATCHERS, PLACEHOLDERS, Matcher, Placeholder

# Referenced so the imports above are kept: they register on import.
_REGISTERING = (_matchers, _placeholders)


def matchers_table() -> dict[str, Matcher]:
    return MATCHERS


def placeholders_table() -> dict[str, Placeholder]:
    return PLACEHOLDERS
