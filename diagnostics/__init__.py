"""authz-diagnostics: find, decode and explain AWS authorization failures."""

from __future__ import annotations

__version__ = "0.1.0"
