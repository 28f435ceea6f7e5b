"""``[policies]`` in ``watch``: judge every diagnosis against a policy snapshot.

With ``path`` the snapshot is read when the config is (start and SIGHUP).
With ``refresh`` a background thread collects one with the daemon's
credentials at start and every interval after; the main loop never waits
for it, and the snapshot in use stays until a new one is complete.  A
failed refresh is logged with what to do and tried again at the next
interval.  Refreshed files live 0600 in ``<state_dir>/policies`` and each
one replaces the last (``snapshot/files.py``).

Alerts use the judge's private mode: they name the policy and the Sid,
never a statement's body; nothing here logs a document.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from diagnostics.diagnose.pipeline import Pipeline
from diagnostics.errors import ConfigError, InputError
from diagnostics.support.logconfig import get_logger

if TYPE_CHECKING:
    from diagnostics.decode.settings import DecodeSettings
    from diagnostics.diagnose.pipeline import DecoderLike
    from diagnostics.model import (
        AuthorizationDetails,
        DecodeResult,
        Diagnosis,
        Failure,
        JSONObject,
    )
    from diagnostics.rules import RuleSet
    from diagnostics.service.config import PoliciesConfig, WatchConfig
    from diagnostics.snapshot.collect import Collected
    from diagnostics.snapshot.judge import SnapshotJudge
    from diagnostics.snapshot.model import Snapshot

log = get_logger()

#: Below the state directory: where refreshed snapshots are written.
SUBDIR = "policies"
#: Resources of judged denials whose policies the next refresh reads (bounded).
MAX_RESOURCES = 200


def _judge(snapshot: Snapshot) -> SnapshotJudge:
    from diagnostics.snapshot.judge import SnapshotJudge

    return SnapshotJudge(snapshot, private=True)


class PolicyStore:
    """The judge ``watch`` applies; a refreshing store swaps it from its own thread."""

    def __init__(self, judge: SnapshotJudge | None = None) -> None:
        # Read by the main loop, replaced whole by the refresh thread: one attribute.
        self.judge = judge
        self.judged = 0
        self.errors = 0

    def note(self, failure: Failure) -> None:
        """A failure was judged: its resource's policy is worth collecting (refresh only)."""

    def close(self) -> None:
        """Stop refreshing (nothing to stop for a snapshot read from ``path``)."""


class RefreshingStore(PolicyStore):
    """Collect a snapshot now and every ``interval`` seconds, on a background thread."""

    def __init__(
        self,
        settings: DecodeSettings,
        policies: PoliciesConfig,
        directory: Path,
        *,
        interval: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__()
        self.settings = settings
        self.policies = policies
        self.directory = directory
        self.interval = interval
        self._clock = clock
        self._stop = threading.Event()
        self._done = threading.Condition()
        #: Completed refreshes and failed ones (tests and metrics wait on these).
        self.refreshed = 0
        self.failed = 0
        self.current: Path | None = None
        self._resources: dict[str, None] = {}
        self._thread: threading.Thread | None = None
        self._first_wait = 0.0
        self._resume()

    def _resume(self) -> None:
        """Use the last refreshed snapshot left by a previous run, if still fresh."""
        from diagnostics.snapshot.files import usable

        now = self._clock()
        path = usable(self.directory, max_age=2 * self.interval, now=now)
        if path is None:
            return
        try:
            self.judge = _judge(_load(path))
        except InputError as exc:
            log.warning("policies.previous_unreadable", path=str(path), error=str(exc))
            return
        self.current = path
        age = max(0.0, now - path.stat().st_mtime)
        self._first_wait = max(0.0, self.interval - age)
        log.info("policies.resumed", path=str(path), next_refresh_in=round(self._first_wait))

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="policies-refresh", daemon=True)
        self._thread.start()

    def note(self, failure: Failure) -> None:
        from diagnostics.snapshot.collect import READERS

        arn = failure.resource or ""
        if arn.count(":") >= 5 and arn.split(":")[2] in READERS:
            self._resources[arn] = None
            while len(self._resources) > MAX_RESOURCES:
                del self._resources[next(iter(self._resources))]

    def close(self) -> None:
        self._stop.set()

    def wait_for(self, predicate: Callable[[], bool], timeout: float) -> bool:
        """Wait until ``predicate()`` holds after a refresh ends; False on timeout."""
        with self._done:
            return self._done.wait_for(predicate, timeout)

    def _run(self) -> None:
        wait = self._first_wait
        while not self._stop.wait(wait):
            try:
                self.refresh_once()
            except Exception as exc:  # a bug here must not end refreshing for good
                self._failed(f"unexpected {type(exc).__name__}")
            wait = self.interval

    def refresh_once(self) -> bool:
        """Collect, write and swap in one snapshot; False (logged) when it failed."""
        from diagnostics.snapshot.live import CollectError, collect_live

        try:
            account, done = collect_live(
                self.settings,
                account=self.policies.account,
                endpoint=self.policies.endpoint_url,
                resources=list(self._resources),
            )
        except CollectError as exc:
            self._failed(str(exc))
            return False
        if self._stop.is_set():
            return False  # replaced by a reload or stopping: nobody would use it
        return self._swap(account, done)

    def _swap(self, account: str, done: Collected) -> bool:
        import orjson

        from diagnostics.snapshot.files import sweep, write_snapshot
        from diagnostics.snapshot.read import parse_snapshot

        try:
            snapshot = parse_snapshot(done.snapshot, "the refreshed snapshot")
            path = write_snapshot(self.directory, orjson.dumps(done.snapshot))
        except (InputError, OSError) as exc:
            self._failed(f"{type(exc).__name__}: {getattr(exc, 'strerror', None) or exc}")
            return False
        self.judge = _judge(snapshot)
        self.current = path
        sweep(self.directory, keep=path)
        statement = done.statement()
        if statement is not None:
            log.warning(
                "policies.refresh_partial",
                account=account,
                missing=statement["Action"],
                hint="add this statement to the daemon's credentials to read the rest: "
                + orjson.dumps(statement).decode(),
            )
        for problem in done.errors:
            log.warning("policies.refresh_problem", account=account, problem=problem)
        log.info("policies.refreshed", account=account, path=str(path))
        with self._done:
            self.refreshed += 1
            self._done.notify_all()
        return True

    def _failed(self, why: str) -> None:
        log.error(
            "policies.refresh_failed",
            error=why,
            hint=f"the previous snapshot stays in use; retried in {self.interval:g}s. "
            "Check the daemon's credentials and that they may call "
            "iam:GetAccountAuthorizationDetails (docs/aws-setup.md, Snapshot collection)",
        )
        with self._done:
            self.failed += 1
            self._done.notify_all()


def _load(path: Path) -> Snapshot:
    from diagnostics.snapshot.read import load_snapshot

    return load_snapshot([path])


def load_path(config: WatchConfig) -> Snapshot:
    """The snapshot ``[policies] path`` names; ``ConfigError`` saying what to fix."""
    assert config.policies.path is not None
    try:
        return _load(config.policies.path)
    except InputError as exc:
        raise ConfigError(f"{config.path} [policies]: key 'path': {exc}") from None


def _same_refresh(old: PolicyStore | None, config: WatchConfig, settings: Any) -> bool:
    return (
        isinstance(old, RefreshingStore)
        and old.policies == config.policies
        and old.settings == settings
        and old.directory == config.state_dir / SUBDIR
    )


def build_policies(
    config: WatchConfig, settings: DecodeSettings, previous: PolicyStore | None
) -> PolicyStore | None:
    """The store ``config`` asks for; a running refresher is kept when nothing it uses changed.

    Does not stop ``previous``: ``retire`` does, once the new runtime is in place.
    """
    cfg = config.policies
    if cfg.path is not None:
        return PolicyStore(_judge(load_path(config)))
    if cfg.refresh is None:
        return None
    if _same_refresh(previous, config, settings):
        return previous
    refreshing = RefreshingStore(settings, cfg, config.state_dir / SUBDIR, interval=cfg.refresh)
    refreshing.start()
    return refreshing


def retire(previous: PolicyStore | None, current: PolicyStore | None, state_dir: Path) -> None:
    """Stop the store a reload replaced; sweep refreshed snapshots nothing refreshes any more."""
    from diagnostics.snapshot.files import sweep

    if previous is not None and previous is not current:
        previous.close()
    if not isinstance(current, RefreshingStore):
        sweep(state_dir / SUBDIR)


class JudgedPipeline(Pipeline):
    """``Pipeline`` with each diagnosis judged against the store's snapshot, when it has one."""

    def __init__(
        self, ruleset: RuleSet | None, decoder: DecoderLike | None, store: PolicyStore
    ) -> None:
        super().__init__(ruleset, decoder)
        self.store = store

    def diagnose_one(
        self,
        failure: Failure,
        result: DecodeResult,
        *,
        authorization_details: AuthorizationDetails | JSONObject | None = None,
        authorization_error: str | None = None,
    ) -> Diagnosis:
        diagnosis = super().diagnose_one(
            failure,
            result,
            authorization_details=authorization_details,
            authorization_error=authorization_error,
        )
        judge = self.store.judge
        if judge is None:
            return diagnosis
        try:
            judged = judge(diagnosis)
        except Exception as exc:
            # The rules' diagnosis still goes out; the error's text could quote a document.
            self.store.errors += 1
            log.error("policies.judge_failed", error=type(exc).__name__, action=failure.action)
            return diagnosis
        if judged is not diagnosis:
            self.store.judged += 1
            self.store.note(diagnosis.failure)
        return judged
