"""What a config builds: rules, decoder, pipeline, sinks and the alert manager.

Built as a unit so SIGHUP can build a new one and swap it in whole, or keep
the old one when anything in the new config or rules is invalid.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from diagnostics.errors import ConfigError
from diagnostics.support.logconfig import get_logger

if TYPE_CHECKING:
    from diagnostics.alerts import AlertManager
    from diagnostics.diagnose.pipeline import Pipeline
    from diagnostics.lookup.protocol import BatchDecoder
    from diagnostics.service.config import WatchConfig
    from diagnostics.service.policies import PolicyStore
    from diagnostics.support.state import StateDB

log = get_logger()


@dataclass(slots=True)
class Runtime:
    config: WatchConfig
    pipeline: Pipeline
    alerts: AlertManager
    sinks: list[Any]
    decoder: BatchDecoder | None = None
    #: ``[policies]``: the snapshot diagnoses are judged against (and its refresher).
    policies: PolicyStore | None = None

    def close(self, timeout: float) -> None:
        self.alerts.close(timeout)
        if self.decoder is not None:
            self.decoder.close()
        if self.policies is not None:
            self.policies.close()


def build_sinks(config: WatchConfig, state: StateDB | None) -> list[Any]:
    from diagnostics.sinks import build_sink

    sinks: list[Any] = []
    try:
        for table, where in zip(config.sinks, config.sink_where, strict=True):
            sinks.append(build_sink(dict(table), state=state, env=dict(os.environ), where=where))
    except BaseException:
        for s in sinks:
            s.close(1.0)
        raise
    if config.alerts.dedup_table:
        from diagnostics.dedup import wrap_sinks

        sinks = wrap_sinks(
            sinks,
            config.alerts.dedup_table,
            window=config.alerts.repeat_interval,
            lease=config.alerts.dedup_lease,
        )
    return sinks


def load_rules(config: WatchConfig) -> Any:
    from diagnostics.rules import RuleSet, bundled_rules_dir

    # User directories layer over the bundled rules: a rule with a bundled id
    # overrides it, and `disable = [...]` switches bundled rules off (docs/rules.md).
    for d in config.rules_dirs:
        if not d.is_dir():
            raise ConfigError(
                f"{config.path}: key 'rules_dirs' names {d}, which is not a directory; "
                "fix the path or remove it to use the bundled rules alone"
            )
    return RuleSet.load([bundled_rules_dir(), *config.rules_dirs])


def build_decoder(
    config: WatchConfig, state: StateDB | None, heartbeat: Callable[[], None] | None = None
) -> BatchDecoder | None:
    """The STS decoder and the ID resolver, behind a per-batch deadline (the main loop moves)."""
    if not config.decode.enabled:
        return None
    from diagnostics.decode import DecodeCache, Decoder
    from diagnostics.service.decoding import DeadlineDecoder
    from diagnostics.service.resolving import DeferringResolver
    from diagnostics.troubleshooter import DetailsCache, Resolver

    d = config.decode
    beat = heartbeat or (lambda: None)
    # decode.enabled = false turns resolving off too: both live behind this switch.
    return DeferringResolver(
        DeadlineDecoder(
            Decoder(d, cache=DecodeCache(state)), deadline=d.batch_deadline, heartbeat=beat
        ),
        Resolver(d, DetailsCache(state)),
        deadline=d.batch_deadline,
        heartbeat=beat,
        not_found_window=config.troubleshooter.not_found_window,
    )


def build_runtime(
    config: WatchConfig,
    state: StateDB,
    *,
    sinks: list[Any] | None = None,
    heartbeat: Callable[[], None] | None = None,
    on_delivery: Callable[[str, Any, bool], None] | None = None,
    previous: Runtime | None = None,
) -> Runtime:
    """Build everything ``config`` describes; raise ``DiagnosticsError`` if any part is invalid.

    ``sinks`` reuses running sinks (a reload that did not change ``[[sink]]``);
    ``heartbeat`` is called while a batch waits for STS (the watchdog ping);
    ``on_delivery`` is told each sink send's outcome (metrics); ``previous`` is
    the runtime a reload replaces: its ``[policies]`` refresher (and the
    snapshot in use) is kept when nothing it uses changed, else stopped.
    """
    from diagnostics.alerts import AlertManager
    from diagnostics.diagnose.pipeline import Pipeline
    from diagnostics.service.policies import JudgedPipeline, build_policies, retire

    ruleset = load_rules(config)
    old_policies = previous.policies if previous is not None else None
    # First of the parts that can fail: a bad snapshot path leaves nothing to undo.
    policies = build_policies(config, config.decode, old_policies)
    own_sinks = sinks is None
    built = build_sinks(config, state) if sinks is None else sinks
    try:
        alerts = AlertManager(config.alerts, state, built, on_delivery=on_delivery)
        decoder = build_decoder(config, state, heartbeat)
    except BaseException:
        if own_sinks:
            for s in built:
                s.close(1.0)
        if policies is not None and policies is not old_policies:
            policies.close()
        raise
    pipeline = (
        Pipeline(ruleset, decoder)
        if policies is None
        else JudgedPipeline(ruleset, decoder, policies)
    )
    retire(old_policies, policies, config.state_dir)
    return Runtime(config, pipeline, alerts, built, decoder, policies)


def _writable_dir(path: Path) -> bool:
    """``path`` is a writable directory, or could be created under one.

    Permission bits are not enough: root may "write" /proc or a read-only
    mount, so a real probe directory is made and removed in the nearest
    existing ancestor.
    """
    probe = path
    while not probe.exists():
        if probe.parent == probe:
            return False
        probe = probe.parent
    if not probe.is_dir():
        return False
    try:
        Path(tempfile.mkdtemp(prefix=".authz-diag-check-", dir=probe)).rmdir()
    except OSError:
        return False
    return True


def check(config: WatchConfig) -> None:
    """What ``--check-config`` verifies beyond the file: rules, sinks, writable paths."""
    from diagnostics.errors import StateError
    from diagnostics.support.state import refuse_unsafe_state

    load_rules(config)
    if config.policies.path is not None:
        from diagnostics.service.policies import load_path

        load_path(config)
    try:
        refuse_unsafe_state(config.state_dir)
    except StateError as exc:
        # The same refusal `watch` gives at start, reported as a config error.
        raise ConfigError(f"{config.path}: key 'state_dir': {exc}") from None
    if not _writable_dir(config.state_dir):
        raise ConfigError(
            f"{config.path}: key 'state_dir' {config.state_dir} cannot be created or written "
            "by this user; point it at a writable directory (systemd: StateDirectory=)"
        )
    sinks = build_sinks(config, None)
    try:
        for sink, where in zip(sinks, config.sink_where, strict=False):
            path = getattr(sink, "path", None)
            if isinstance(path, Path) and not _writable_dir(path.parent):
                raise ConfigError(
                    f"{where}: key 'path' {path}: its directory cannot be written by this "
                    'user; use a writable one, e.g. "${STATE_DIRECTORY}/alerts.jsonl"'
                )
    finally:
        for s in sinks:
            s.close(1.0)
