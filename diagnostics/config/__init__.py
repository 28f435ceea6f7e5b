"""One config reader: a component declares a frozen dataclass, everything else derives from it.

``key()`` marks a field as a config key (its doc text, example, bounds and
unit); ``read_table`` checks a TOML table against the class and builds it;
``table_schema`` gives its JSON schema.  Fields without ``key()`` are not
keys: the code sets them, a config file cannot.
"""

from __future__ import annotations

from diagnostics.config.keys import ConfigProblem, Key, config_keys, key
from diagnostics.config.reader import check_bounds, read_table
from diagnostics.config.schema import table_schema

__all__ = [
    "ConfigProblem",
    "Key",
    "check_bounds",
    "config_keys",
    "key",
    "read_table",
    "table_schema",
]
