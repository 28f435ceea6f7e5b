"""The ``authz-diag watch`` configuration file (TOML).

The key names are a public contract (issue 4): extend, never rename.  Every
error names the file, the key and the problem, with a hint; unknown keys are
errors so a typo never silently disables a source.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from diagnostics.config_table import ConfigTable
from diagnostics.durations import parse_duration
from diagnostics.errors import ConfigError
from diagnostics.file_modes import config_file_problem
from diagnostics.service.metrics_config import MetricsConfig, parse_metrics
from diagnostics.sources.settings import LimitsConfig, SourceConfig
from diagnostics.state import default_state_dir


@dataclass(frozen=True, slots=True)
class DecodeConfig:
    enabled: bool = True
    region: str | None = None
    profile: str | None = None
    role_arn_template: str | None = None
    external_id: str | None = None
    max_per_second: float = 5.0
    concurrency: int = 4
    endpoint_url: str | None = None
    #: IAM Access Troubleshooter endpoint (iam-toolbox), for a VPC endpoint or a test double.
    toolbox_endpoint_url: str | None = None
    max_attempts: int = 3
    #: Longest one batch waits for STS before its failures are alerted undecoded;
    #: well under systemd's WatchdogSec=30s.
    batch_deadline: float = 20.0


@dataclass(frozen=True, slots=True)
class TroubleshooterConfig:
    #: A not-found answer this soon after the denial means "not ready yet": retried.
    not_found_window: float = 900.0


@dataclass(frozen=True, slots=True)
class PoliciesConfig:
    """``[policies]``: a snapshot to judge denials against (docs/snapshot.md).

    ``path`` names a snapshot file or a directory of them; ``refresh`` instead
    collects one with the daemon's credentials every that many seconds.
    """

    path: Path | None = None
    refresh: float | None = None
    #: The account to collect (default: the credentials' own).
    account: str | None = None
    #: One endpoint for every collecting call (a test double); unset in production.
    endpoint_url: str | None = None

    @property
    def enabled(self) -> bool:
        return self.path is not None or self.refresh is not None


#: Shortest ``[policies] refresh``: GetAccountAuthorizationDetails reads the whole account.
MIN_REFRESH = 60.0


@dataclass(frozen=True, slots=True)
class AlertsConfig:
    group_wait: float = 30.0
    group_interval: float = 300.0
    repeat_interval: float = 14400.0
    #: DynamoDB table shared by several daemons so each alert is sent once (docs/scale-out.md).
    dedup_table: str | None = None
    #: How long a claim in the dedup table holds before another daemon may send the
    #: notification instead (the claimer died between claim and send).
    dedup_lease: float = 60.0
    #: Live alert groups kept in the state database (its size bound).
    max_groups: int = 10_000
    #: More new groups than this for one principal or account within
    #: ``storm_window`` collapse into one storm alert; 0 turns storms off.
    storm_threshold: int = 100
    storm_window: float = 300.0
    #: The same for one source (file, bucket, queue) and for all of them together
    #: (docs/alerts.md says why these defaults); 0 turns that scope off.
    storm_source_threshold: int = 100
    storm_global_threshold: int = 300
    #: Alert failures found inside a sub-field such as a user-agent (forgeable).
    embedded: bool = False
    #: When not empty, failures for other (known) accounts are counted, not alerted.
    accounts: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class WatchConfig:
    path: Path
    state_dir: Path
    decode: DecodeConfig
    alerts: AlertsConfig
    limits: LimitsConfig
    sources: tuple[SourceConfig, ...]
    sinks: tuple[Mapping[str, Any], ...]
    rules_dirs: tuple[Path, ...] = ()
    drain_timeout: float = 10.0
    poll_interval: float = 1.0
    sink_where: tuple[str, ...] = field(default=())
    #: ``[metrics]``: the /metrics listener (service/metrics_config.py); off by default.
    metrics: MetricsConfig = field(default_factory=MetricsConfig)
    #: ``[troubleshooter]``: how ``watch`` treats Access Troubleshooter answers.
    troubleshooter: TroubleshooterConfig = field(default_factory=TroubleshooterConfig)
    #: ``[policies]``: the snapshot denials are judged against; off by default.
    policies: PoliciesConfig = field(default_factory=PoliciesConfig)


def _decode(t: ConfigTable) -> DecodeConfig:
    cfg = DecodeConfig(
        enabled=t.flag("enabled", True),
        region=t.text("region"),
        profile=t.text("profile"),
        role_arn_template=t.text("role_arn_template"),
        external_id=t.text("external_id"),
        max_per_second=t.number("max_per_second", 5.0),
        concurrency=t.integer("concurrency", 4),
        endpoint_url=t.text("endpoint_url"),
        toolbox_endpoint_url=t.text("toolbox_endpoint_url"),
        max_attempts=t.integer("max_attempts", 3),
        batch_deadline=t.duration("batch_deadline", 20.0),
    )
    if cfg.batch_deadline <= 0:
        raise ConfigError(
            f"{t.where}: key 'batch_deadline' must be above 0s and below the unit's "
            'WatchdogSec, e.g. "20s"'
        )
    if cfg.role_arn_template is not None and "{account}" not in cfg.role_arn_template:
        raise ConfigError(
            f"{t.where}: key 'role_arn_template' must contain {{account}}, e.g. "
            '"arn:aws:iam::{account}:role/AuthzDiagnosticsDecoder"'
        )
    t.finish()
    return cfg


def _troubleshooter(t: ConfigTable) -> TroubleshooterConfig:
    cfg = TroubleshooterConfig(not_found_window=t.duration("not_found_window", 900.0))
    if cfg.not_found_window < 0:
        raise ConfigError(f"{t.where}: key 'not_found_window' must be 0s or more, e.g. \"15m\"")
    t.finish()
    return cfg


def _policies(t: ConfigTable) -> PoliciesConfig:
    path = t.text("path")
    refresh = t.duration("refresh", 0.0) if "refresh" in t.data else None
    cfg = PoliciesConfig(
        path=Path(path) if path else None,
        refresh=refresh,
        account=t.text("account"),
        endpoint_url=t.text("endpoint_url"),
    )
    t.finish()
    if path is not None and refresh is not None:
        raise ConfigError(
            f"{t.where}: keys 'path' and 'refresh' are both set; give path (a saved snapshot) "
            "or refresh (collect one with the daemon's credentials), not both"
        )
    if path == "":
        raise ConfigError(
            f"{t.where}: key 'path' is empty; name a snapshot file, e.g. path = \"/etc/"
            'authz-diagnostics/gaad.json", or remove [policies]'
        )
    if refresh is not None and refresh < MIN_REFRESH:
        raise ConfigError(
            f"{t.where}: key 'refresh' must be at least 1m (each refresh reads the whole "
            'account), e.g. refresh = "1h"'
        )
    if cfg.account is not None and not (len(cfg.account) == 12 and cfg.account.isdigit()):
        raise ConfigError(
            f"{t.where}: key 'account' {cfg.account!r} is not a 12-digit AWS account id; "
            'write it as a string, e.g. account = "123456789012"'
        )
    if not cfg.enabled and (cfg.account or cfg.endpoint_url):
        raise ConfigError(
            f'{t.where}: give path = "FILE" or refresh = "1h"; account and endpoint_url '
            "alone collect nothing"
        )
    return cfg


def _alerts(t: ConfigTable) -> AlertsConfig:
    cfg = AlertsConfig(
        group_wait=t.duration("group_wait", 30.0),
        group_interval=t.duration("group_interval", 300.0),
        repeat_interval=t.duration("repeat_interval", 14400.0),
        dedup_table=t.text("dedup_table"),
        dedup_lease=t.duration("dedup_lease", 60.0),
        max_groups=t.integer("max_groups", 10_000, minimum=100),
        storm_threshold=t.integer("storm_threshold", 100, minimum=0),
        storm_window=t.duration("storm_window", 300.0),
        storm_source_threshold=t.integer("storm_source_threshold", 100, minimum=0),
        storm_global_threshold=t.integer("storm_global_threshold", 300, minimum=0),
        embedded=t.flag("embedded", False),
        accounts=tuple(t.str_list("accounts")),
    )
    if cfg.dedup_lease <= 0:
        raise ConfigError(
            f"{t.where}: key 'dedup_lease' must be above 0s, and longer than one sink send "
            'takes, e.g. "60s"'
        )
    bad = [a for a in cfg.accounts if not (len(a) == 12 and a.isdigit())]
    if bad:
        raise ConfigError(
            f"{t.where}: key 'accounts' has {bad[0]!r}, which is not a 12-digit AWS account "
            'id; list account ids as strings, e.g. accounts = ["123456789012"]'
        )
    t.finish()
    return cfg


def _limits(t: ConfigTable) -> LimitsConfig:
    total = t.integer("socket_connections", 64)
    cfg = LimitsConfig(
        max_line_bytes=t.integer("max_line_bytes", 1 << 20, minimum=1024),
        queue_batches=t.integer("queue_batches", 64),
        read_chunk_bytes=t.integer("read_chunk_bytes", 64 * 1024, minimum=512),
        socket_connections=total,
        # A quarter of the slots by default, so three other users still get in.
        socket_connections_per_uid=t.integer("socket_connections_per_uid", max(1, total // 4)),
        socket_idle_timeout=t.duration("socket_idle_timeout", 600.0),
        socket_max_lifetime=t.duration("socket_max_lifetime", 21600.0),
    )
    if cfg.socket_connections_per_uid > cfg.socket_connections:
        raise ConfigError(
            f"{t.where}: key 'socket_connections_per_uid' ({cfg.socket_connections_per_uid}) "
            f"is above 'socket_connections' ({cfg.socket_connections}); lower it so one "
            "local user cannot take every connection"
        )
    for key in ("socket_idle_timeout", "socket_max_lifetime"):
        if getattr(cfg, key) <= 0:
            raise ConfigError(f'{t.where}: key {key!r} must be above 0s, e.g. "10m"')
    t.finish()
    return cfg


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
    top = ConfigTable(dict(data), str(path))
    state = top.text("state_dir")
    sinks_raw = top._get("sink", [], (list,), "an array of tables: [[sink]]")
    if not sinks_raw:
        raise ConfigError(
            f'{path}: no [[sink]] table; add one, e.g. [[sink]] type = "stdout" format = "text"'
        )
    for i, s in enumerate(sinks_raw):
        if not isinstance(s, dict) or not isinstance(s.get("type"), str):
            raise ConfigError(
                f"{path} [[sink]] #{i + 1}: key 'type' is required (stdout, file, slack)"
            )
    top.used.add("source")
    cfg = WatchConfig(
        path=path,
        state_dir=Path(state) if state else default_state_dir(),
        decode=_decode(top.table("decode")),
        alerts=_alerts(top.table("alerts")),
        limits=_limits(top.table("limits")),
        sources=_sources(data.get("source"), str(path)),
        sinks=tuple(dict(s) for s in sinks_raw),
        sink_where=tuple(f"{path} [[sink]] #{i + 1}" for i in range(len(sinks_raw))),
        rules_dirs=tuple(Path(p) for p in top.str_list("rules_dirs")),
        drain_timeout=top.duration("drain_timeout", 10.0),
        poll_interval=top.duration("poll_interval", 1.0),
        metrics=parse_metrics(top.table("metrics")),
        troubleshooter=_troubleshooter(top.table("troubleshooter")),
        policies=_policies(top.table("policies")),
    )
    top.finish()
    if cfg.poll_interval <= 0:
        raise ConfigError(f"{path}: key 'poll_interval' must be above 0s, e.g. \"1s\"")
    return cfg


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
