"""One small error tree.  Every message says what the user should do next."""

from __future__ import annotations


class DiagnosticsError(Exception):
    """Base of every error this package raises on purpose."""

    #: CLI exit status for this error.
    exit_code = 2


class UsageError(DiagnosticsError):
    """The command line or an argument is wrong."""


class InputError(DiagnosticsError):
    """An input file cannot be read at all (the rest of the run continues)."""


class ConfigError(DiagnosticsError):
    """A configuration file is invalid.  The message names file, key and fix."""


class RuleError(DiagnosticsError):
    """A rule file is invalid.  The message names file, rule id, field and a hint."""


class DecodeError(DiagnosticsError):
    """STS could not decode a message.  ``str(e)`` is the user-facing decode_error."""


class StateError(DiagnosticsError):
    """The state database cannot be opened or written."""


class SinkError(DiagnosticsError):
    """A sink refused or failed to deliver an alert."""
