"""``[[sink]]`` tables from the watch config, validated into sinks."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from diagnostics.errors import ConfigError
from diagnostics.file_modes import credential_file_exposure, credential_file_problem
from diagnostics.logconfig import get_logger
from diagnostics.sinks.base import Detail, Sink
from diagnostics.sinks.slack import SlackSink, check_webhook_url
from diagnostics.sinks.stream import FileSink, Format, StdoutSink
from diagnostics.state import StateDB

_COMMON = {"type", "name", "detail"}
_KEYS: dict[str, set[str]] = {
    "stdout": _COMMON | {"format"},
    "file": _COMMON | {"format", "path"},
    "slack": _COMMON
    | {"webhook_url_file", "webhook_url_env", "channel", "max_per_second", "spool_max", "timeout"},
}

log = get_logger()

#: The sink types a ``[[sink]]`` table can name.
SINK_TYPES: tuple[str, ...] = tuple(_KEYS)

# ${NAME} references in a path; names are plain identifiers (linear match).
_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def _str(table: Mapping[str, Any], key: str, where: str, default: str | None = None) -> str | None:
    value = table.get(key, default)
    if value is not None and not isinstance(value, str):
        raise ConfigError(f"{where}: {key} must be a string, not {type(value).__name__}")
    return value


def _choice(table: Mapping[str, Any], key: str, where: str, options: tuple[str, ...],
            default: str) -> str:  # fmt: skip
    value = _str(table, key, where, default)
    if value not in options:
        raise ConfigError(
            f"{where}: {key} = {value!r} is not one of {', '.join(repr(o) for o in options)}"
        )
    return value


def _number(table: Mapping[str, Any], key: str, where: str, default: float,
            minimum: float) -> float:  # fmt: skip
    value = table.get(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < minimum:
        raise ConfigError(f"{where}: {key} must be a number of at least {minimum}, got {value!r}")
    return float(value)


def expand_path(text: str, env: Mapping[str, str], where: str, key: str) -> Path:
    """``text`` with ``${NAME}`` from ``env`` (e.g. systemd's ``${CREDENTIALS_DIRECTORY}``)."""

    def sub(m: re.Match[str]) -> str:
        name = m.group(1)
        if name not in env:
            hint = (
                "; add LoadCredential=slack-webhook:/path/to/file to the unit"
                if name == "CREDENTIALS_DIRECTORY"
                else ""
            )
            raise ConfigError(f"{where}: {key} uses ${{{name}}}, which is not set{hint}")
        return env[name]

    return Path(_VAR.sub(sub, text))


def _webhook_url(table: Mapping[str, Any], env: Mapping[str, str], where: str) -> str:
    file_ = _str(table, "webhook_url_file", where)
    var = _str(table, "webhook_url_env", where)
    if (file_ is None) == (var is None):
        raise ConfigError(
            f"{where}: set exactly one of webhook_url_file (for example "
            '"${CREDENTIALS_DIRECTORY}/slack-webhook" with LoadCredential) or '
            "webhook_url_env (the name of an environment variable); the URL itself "
            "never goes in the config file"
        )
    if var is not None:
        url = env.get(var, "")
        if not url.strip():
            raise ConfigError(f"{where}: environment variable {var} is not set or empty")
        return check_webhook_url(url, where)
    assert file_ is not None
    path = expand_path(file_, env, where, "webhook_url_file")
    try:
        with path.open("rb") as f:
            st = os.fstat(f.fileno())
            url = f.read().decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or "not UTF-8 text"
        raise ConfigError(
            f"{where}: cannot read webhook_url_file {path}: {reason}; check the path and "
            "that the service may read it"
        ) from None
    problem = credential_file_problem(st, path)
    if problem is not None:
        raise ConfigError(f"{where}: {problem.message}")
    exposed = credential_file_exposure(st, path)
    if exposed is not None:
        log.warning("config.credential_readable", sink=where, warning=exposed.message)
    return check_webhook_url(url, where)


def _stdout(table: Mapping[str, Any], *, name: str, detail: Detail, where: str,
            **_: Any) -> Sink:  # fmt: skip
    fmt: Format = _choice(table, "format", where, ("text", "json"), "text")  # type: ignore[assignment]
    return StdoutSink(name, format=fmt, detail=detail)


def _file(table: Mapping[str, Any], *, name: str, detail: Detail, where: str,
          env: Mapping[str, str], **_: Any) -> Sink:  # fmt: skip
    path = _str(table, "path", where)
    if not path:
        raise ConfigError(
            f'{where}: a file sink needs a path, e.g. path = "${{STATE_DIRECTORY}}/alerts.jsonl" '
            "(under the shipped unit only the state directory is writable)"
        )
    fmt: Format = _choice(table, "format", where, ("text", "json"), "json")  # type: ignore[assignment]
    return FileSink(name, expand_path(path, env, where, "path"), format=fmt, detail=detail)


def _slack(table: Mapping[str, Any], *, name: str, detail: Detail, where: str,
           env: Mapping[str, str], state: StateDB | None) -> Sink:  # fmt: skip
    return SlackSink(
        name,
        _webhook_url(table, env, where),
        detail=detail,
        channel=_str(table, "channel", where),
        max_per_second=_number(table, "max_per_second", where, 1.0, 0.01),
        spool_max=int(_number(table, "spool_max", where, 1000, 1)),
        timeout=_number(table, "timeout", where, 10.0, 0.1),
        state=state,
    )


_BUILDERS: dict[str, Callable[..., Sink]] = {"stdout": _stdout, "file": _file, "slack": _slack}
_DEFAULT_DETAIL: dict[str, Detail] = {"stdout": "full", "file": "full", "slack": "summary"}


def build_sink(
    table: Mapping[str, Any], *, state: StateDB | None, env: Mapping[str, str], where: str
) -> Sink:
    """A sink from one ``[[sink]]`` table; ``where`` is ``"file.toml: sink[2]"``.

    Raises ``ConfigError`` naming ``where``, the key and a fix.
    """
    kind = table.get("type")
    if kind not in _KEYS:
        raise ConfigError(
            f"{where}: type = {kind!r} is not a sink type; use one of "
            f"{', '.join(repr(t) for t in SINK_TYPES)}"
        )
    unknown = sorted(set(table) - _KEYS[kind])
    if unknown:
        raise ConfigError(
            f"{where}: unknown key {unknown[0]!r} for a {kind} sink; "
            f"allowed keys: {', '.join(sorted(_KEYS[kind]))}"
        )
    detail: Detail = _choice(  # type: ignore[assignment]
        table, "detail", where, ("summary", "full"), _DEFAULT_DETAIL[kind]
    )
    name = _str(table, "name", where, kind) or kind
    return _BUILDERS[kind](table, name=name, detail=detail, where=where, env=env, state=state)
