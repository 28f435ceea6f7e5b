"""Package exports loaded on first use.

A package ``__init__`` that imports all its modules makes every importer of
one submodule pay for all of them: ``render.text`` needs two helpers of the
troubleshooter, yet importing the package pulled in the decode cache,
structlog and asyncio, a fifth of a second before a scan read its first byte.
The names stay importable from the package (``from diagnostics.decode import
Decoder``); each module is imported when one of its names is first asked for.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any


def lazy_exports(package: str, exports: Mapping[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` serving ``exports`` (name -> submodule of ``package``)."""

    def __getattr__(name: str) -> Any:
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f"{package}.{module}"), name)
        globals_of_package = importlib.import_module(package).__dict__
        globals_of_package[name] = value  # the next lookup is a plain attribute
        return value

    return __getattr__
