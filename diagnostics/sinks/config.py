"""``[[sink]]`` tables from the watch config, validated into sinks."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from diagnostics.alerts.sink import Detail, Sink
from diagnostics.config import ConfigProblem, key, read_table
from diagnostics.errors import ConfigError
from diagnostics.sinks.slack import SlackSink, check_webhook_url
from diagnostics.sinks.stream import FileSink, Format, StdoutSink
from diagnostics.support.file_modes import credential_file_exposure, credential_file_problem
from diagnostics.support.logconfig import get_logger
from diagnostics.support.state import StateDB

log = get_logger()

_NAME_DOC = "The sink's name in logs and metrics (default: its type)."
_DETAIL_DOC = '"summary" or "full": how much of each diagnosis an alert carries.'


@dataclass(frozen=True, slots=True)
class StdoutSinkConfig:
    """``[[sink]] type = "stdout"``: alerts on standard output (the journal under systemd)."""

    name: str | None = key(None, doc=_NAME_DOC, example='"journal"')
    detail: Detail = key("full", doc=_DETAIL_DOC, example='"summary"')
    format: Format = key("text", doc='"text" or "json" (one JSON object a line).', example='"json"')


@dataclass(frozen=True, slots=True)
class FileSinkConfig:
    """``[[sink]] type = "file"``: alerts appended to a file, one JSON object a line."""

    path: str = key(
        doc="The file; ${NAME} is taken from the environment, e.g. ${STATE_DIRECTORY}.",
        example='"${STATE_DIRECTORY}/alerts.jsonl"',
        why="under the shipped unit only the state directory is writable",
    )
    name: str | None = key(None, doc=_NAME_DOC, example='"archive"')
    detail: Detail = key("full", doc=_DETAIL_DOC, example='"summary"')
    format: Format = key("json", doc='"json" or "text".', example='"text"')


@dataclass(frozen=True, slots=True)
class SlackSinkConfig:
    """``[[sink]] type = "slack"``: alerts posted to a Slack incoming webhook."""

    webhook_url_file: str | None = key(
        None,
        doc="A file holding the webhook URL (with systemd's LoadCredential); "
        "exactly one of this and webhook_url_env.",
        example='"${CREDENTIALS_DIRECTORY}/slack-webhook"',
    )
    webhook_url_env: str | None = key(
        None,
        doc="The name of an environment variable holding the webhook URL.",
        example='"SLACK_WEBHOOK_URL"',
    )
    name: str | None = key(None, doc=_NAME_DOC, example='"team-slack"')
    detail: Detail = key("summary", doc=_DETAIL_DOC, example='"full"')
    channel: str | None = key(None, doc="Override the webhook's channel.", example='"#aws-access"')
    max_per_second: float = key(
        1.0, doc="Posts per second at most (Slack allows about one).", example="1",
        minimum=0.01,
    )  # fmt: skip
    spool_max: int = key(
        1000,
        doc="Messages kept (in the state database) while Slack is down; when full, "
        "repeats are dropped first.",
        example="1000",
        minimum=1,
    )
    timeout: float = key(10.0, doc="Seconds one post may take.", example="10", minimum=0.1)

    def config_checked(self, given: frozenset[str]) -> SlackSinkConfig:
        if (self.webhook_url_file is None) == (self.webhook_url_env is None):
            raise ConfigProblem(
                "set exactly one of webhook_url_file (for example "
                '"${CREDENTIALS_DIRECTORY}/slack-webhook" with LoadCredential) or '
                "webhook_url_env (the name of an environment variable); the URL itself "
                "never goes in the config file"
            )
        return self


#: Each sink type's table.
SINK_CONFIGS: dict[str, type[StdoutSinkConfig | FileSinkConfig | SlackSinkConfig]] = {
    "stdout": StdoutSinkConfig,
    "file": FileSinkConfig,
    "slack": SlackSinkConfig,
}

#: The sink types a ``[[sink]]`` table can name.
SINK_TYPES: tuple[str, ...] = tuple(SINK_CONFIGS)

# ${NAME} references in a path; names are plain identifiers (linear match).
_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


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


def _webhook_url(cfg: SlackSinkConfig, env: Mapping[str, str], where: str) -> str:
    file_, var = cfg.webhook_url_file, cfg.webhook_url_env
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


def _build(cfg: object, *, where: str, env: Mapping[str, str], state: StateDB | None) -> Sink:
    if isinstance(cfg, StdoutSinkConfig):
        return StdoutSink(cfg.name or "stdout", format=cfg.format, detail=cfg.detail)
    if isinstance(cfg, FileSinkConfig):
        path = expand_path(cfg.path, env, where, "path")
        return FileSink(cfg.name or "file", path, format=cfg.format, detail=cfg.detail)
    assert isinstance(cfg, SlackSinkConfig)
    return SlackSink(
        cfg.name or "slack",
        _webhook_url(cfg, env, where),
        detail=cfg.detail,
        channel=cfg.channel,
        max_per_second=cfg.max_per_second,
        spool_max=cfg.spool_max,
        timeout=cfg.timeout,
        state=state,
    )


def build_sink(
    table: Mapping[str, Any], *, state: StateDB | None, env: Mapping[str, str], where: str
) -> Sink:
    """A sink from one ``[[sink]]`` table; ``where`` is ``"file.toml: sink[2]"``.

    Raises ``ConfigError`` naming ``where``, the key and a fix.
    """
    kind = table.get("type")
    if kind not in SINK_CONFIGS:
        raise ConfigError(
            f"{where}: type = {kind!r} is not a sink type; use one of "
            f"{', '.join(repr(t) for t in SINK_TYPES)}"
        )
    cfg = read_table(SINK_CONFIGS[kind], table, where, extra=("type",))
    return _build(cfg, where=where, env=env, state=state)
