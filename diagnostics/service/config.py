"""The ``authz-diag watch`` configuration file (TOML).

The key names are a public contract (issue 4): extend, never rename.  Every
error names the file, the key and the problem, with a hint; unknown keys are
errors so a typo never silently disables a source.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from diagnostics.alerts.settings import ACCOUNT_ID, AlertSettings
from diagnostics.config import ConfigProblem, key, read_table
from diagnostics.config.table import ConfigTable
from diagnostics.decode.settings import DecodeSettings
from diagnostics.errors import ConfigError
from diagnostics.service.metrics_config import MetricsConfig
from diagnostics.sources.settings import LimitsConfig, SourceConfig
from diagnostics.support.durations import parse_duration
from diagnostics.support.file_modes import config_file_problem
from diagnostics.support.state import default_state_dir

#: ``[decode]``: how the daemon reaches STS and iam-toolbox (decode/settings.py).
DecodeConfig = DecodeSettings
#: ``[alerts]``: grouping, storms and the shared dedup table (alerts/settings.py).
AlertsConfig = AlertSettings


@dataclass(frozen=True, slots=True)
class TroubleshooterConfig:
    """``[troubleshooter]``: how ``watch`` treats Access Troubleshooter answers."""

    not_found_window: float = key(
        900.0,
        doc='A not-found answer this soon after the denial means "not ready yet": retried.',
        example='"15m"',
        unit="duration",
        minimum=0,
    )


#: Shortest ``[policies] refresh``: GetAccountAuthorizationDetails reads the whole account.
MIN_REFRESH = 60.0


@dataclass(frozen=True, slots=True)
class PoliciesConfig:
    """``[policies]``: a snapshot to judge denials against (docs/snapshot.md).

    ``path`` names a snapshot file or a directory of them; ``refresh`` instead
    collects one with the daemon's credentials every that many seconds.
    """

    path: Path | None = key(
        None, doc="A saved snapshot file, or a directory of them.",
        example='"/etc/authz-diagnostics/gaad.json"',
    )  # fmt: skip
    refresh: float | None = key(
        None,
        doc="Instead of path: collect a snapshot with the daemon's credentials this often.",
        example='"1h"',
        unit="duration",
        minimum=MIN_REFRESH,
        why="each refresh reads the whole account",
    )
    account: str | None = key(
        None, doc="The account to collect (default: the credentials' own).",
        example='"123456789012"', pattern=ACCOUNT_ID,
        pattern_hint="a 12-digit AWS account id, written as a string",
    )  # fmt: skip
    endpoint_url: str | None = key(
        None, doc="One endpoint for every collecting call (a test double); unset in production.",
        example='"http://127.0.0.1:5000"',
    )  # fmt: skip

    @property
    def enabled(self) -> bool:
        return self.path is not None or self.refresh is not None

    def config_checked(self, given: frozenset[str]) -> PoliciesConfig:
        """Exactly one of path and refresh, when anything is set."""
        if self.path is not None and self.refresh is not None:
            raise ConfigProblem(
                "keys 'path' and 'refresh' are both set; give path (a saved snapshot) "
                "or refresh (collect one with the daemon's credentials), not both"
            )
        if not self.enabled and (self.account or self.endpoint_url):
            raise ConfigProblem(
                'give path = "FILE" or refresh = "1h"; account and endpoint_url alone collect '
                "nothing"
            )
        return self


@dataclass(frozen=True, slots=True)
class WatchConfig:
    """The whole watch config file; the sections are their components' own dataclasses."""

    path: Path
    sources: tuple[SourceConfig, ...]
    sinks: tuple[Mapping[str, Any], ...]
    sink_where: tuple[str, ...] = ()
    state_dir: Path = key(
        doc="Where the state database (checkpoints, alert groups, caches) lives.",
        example='"/var/lib/authz-diagnostics"',
        factory=default_state_dir,
        default_text="$STATE_DIRECTORY, else ./.authz-diagnostics",
    )
    rules_dirs: tuple[Path, ...] = key(
        (), doc="Rule directories layered over the bundled rules (docs/rules.md).",
        example='["/etc/authz-diagnostics/rules"]',
    )  # fmt: skip
    drain_timeout: float = key(
        10.0,
        doc="How long a stop may take to drain what is queued, deliver and checkpoint.",
        example='"10s"',
        unit="duration",
        minimum=0,
    )
    poll_interval: float = key(
        1.0, doc="How often polled sources (files, directories) look for new data.",
        example='"1s"', unit="duration", minimum=0, above=True,
    )  # fmt: skip
    decode: DecodeSettings = key(
        doc="How the daemon decodes STS messages and asks IAM Access Troubleshooter for "
        "details (docs/decoding.md).",
        example="{}",
        factory=DecodeSettings,
    )
    alerts: AlertSettings = key(
        doc="How diagnoses are grouped into alerts, storms collapsed and sends shared "
        "(docs/alerts.md).",
        example="{}",
        factory=AlertSettings,
    )
    limits: LimitsConfig = key(
        doc="Bounds every source shares: line length, queue depth, socket connections.",
        example="{}",
        factory=LimitsConfig,
    )
    #: ``[metrics]``: the /metrics listener (service/metrics_config.py); off by default.
    metrics: MetricsConfig = key(
        doc="The /metrics listener (docs/metrics.md); off by default.",
        example="{}",
        factory=MetricsConfig,
    )
    troubleshooter: TroubleshooterConfig = key(
        doc="How watch treats IAM Access Troubleshooter answers.",
        example="{}",
        factory=TroubleshooterConfig,
    )
    #: ``[policies]``: the snapshot denials are judged against; off by default.
    policies: PoliciesConfig = key(
        doc="A policy snapshot denials are judged against (docs/snapshot.md); off by default.",
        example="{}",
        factory=PoliciesConfig,
    )

    def config_checked(self, given: frozenset[str]) -> WatchConfig:
        # No AWS call for an account the alerts would not report (issue 22 item 6).
        return replace(self, decode=replace(self.decode, accounts=self.alerts.accounts))


def _sources(raw: object, where: str) -> tuple[SourceConfig, ...]:
    from diagnostics.sources.registry import source_types

    if not isinstance(raw, list) or not raw:
        raise ConfigError(
            f"{where}: no [[source]] table; add one, e.g. "
            '[[source]] type = "file" paths = ["/var/log/app/*.log"]'
        )
    types = source_types()
    out: list[SourceConfig] = []
    names: set[str] = set()
    for i, item in enumerate(raw):
        t = ConfigTable(item, f"{where} [[source]] #{i + 1}")
        kind = t.required_str("type", f"one of: {', '.join(sorted(types))}")
        if kind not in types:
            raise ConfigError(
                f"{t.where}: key 'type' is {kind!r}, which is not a source type; "
                f"use one of: {', '.join(sorted(types))}"
            )
        name = t.text("name") or f"{kind}-{i + 1}"
        if name in names:
            raise ConfigError(f"{t.where}: key 'name' {name!r} is used twice; names must be unique")
        names.add(name)
        options = types[kind].check(t)
        t.finish()
        out.append(SourceConfig(type=kind, name=name, options=options, where=t.where))
    return tuple(out)


def parse_config(data: Mapping[str, Any], path: Path) -> WatchConfig:
    """Check a parsed TOML document; raise ``ConfigError`` naming file, key and fix."""
    sinks_raw = data.get("sink", [])
    if not isinstance(sinks_raw, list):
        raise ConfigError(f"{path}: key 'sink' must be an array of tables: [[sink]]")
    if not sinks_raw:
        raise ConfigError(
            f'{path}: no [[sink]] table; add one, e.g. [[sink]] type = "stdout" format = "text"'
        )
    for i, s in enumerate(sinks_raw):
        if not isinstance(s, dict) or not isinstance(s.get("type"), str):
            raise ConfigError(
                f"{path} [[sink]] #{i + 1}: key 'type' is required (stdout, file, slack)"
            )
    return read_table(
        WatchConfig,
        data,
        str(path),
        extra=("source", "sink"),
        path=path,
        sources=_sources(data.get("source"), str(path)),
        sinks=tuple(dict(s) for s in sinks_raw),
        sink_where=tuple(f"{path} [[sink]] #{i + 1}" for i in range(len(sinks_raw))),
    )


#: Keys a SIGHUP cannot apply: the process opened or sized these at start.
RESTART_ONLY = ("state_dir", "limits", "poll_interval", "sources", "metrics")


def restart_only_changes(old: WatchConfig, new: WatchConfig) -> list[str]:
    """The keys of ``RESTART_ONLY`` that differ between ``old`` and ``new``."""
    names = {"limits": "[limits]", "sources": "[[source]]", "metrics": "[metrics]"}
    return [names.get(k, k) for k in RESTART_ONLY if getattr(old, k) != getattr(new, k)]


def load_config(path: Path) -> WatchConfig:
    """Read and check ``path``."""
    try:
        with path.open("rb") as f:
            # The open file's owner and mode: a swap after the check changes nothing.
            problem = config_file_problem(os.fstat(f.fileno()), path)
            raw = f.read()
    except OSError as exc:
        raise ConfigError(
            f"{path}: cannot read the config file ({exc.strerror}); check the --config path"
        ) from None
    if problem is not None:
        raise ConfigError(problem.message)
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: the file is not UTF-8 text; save it as UTF-8") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}; fix the syntax at that line") from None
    return parse_config(data, path)


__all__ = [
    "AlertsConfig",
    "ConfigTable",
    "DecodeConfig",
    "LimitsConfig",
    "PoliciesConfig",
    "SourceConfig",
    "WatchConfig",
    "load_config",
    "parse_config",
    "parse_duration",
    "restart_only_changes",
]
