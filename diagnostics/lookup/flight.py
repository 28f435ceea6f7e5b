"""Single-flight: one AWS call per key however many threads ask for it at once."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Executor, Future
from typing import Generic, TypeVar

R = TypeVar("R")


class SingleFlight(Generic[R]):
    """Calls in progress by key; later askers share the first one's answer."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._flights: dict[str, Future[R]] = {}

    def run(self, key: str, fn: Callable[[], R]) -> tuple[R, bool]:
        """``(answer, shared)``: run ``fn`` on this thread, or wait for the flight running it."""
        with self._lock:
            flight = self._flights.get(key)
            leader = flight is None
            if flight is None:
                flight = self._flights[key] = Future()
        if not leader:
            return flight.result(), True
        try:
            answer = fn()
        except BaseException as exc:
            flight.set_exception(exc)
            raise
        else:
            flight.set_result(answer)
        finally:
            with self._lock:
                del self._flights[key]
        return answer, False

    def submit(self, key: str, fn: Callable[[], R], executor: Executor) -> Future[R]:
        """``fn`` on ``executor``, or the future of the flight already running for ``key``."""
        with self._lock:
            flight = self._flights.get(key)
            if flight is not None:
                return flight
            flight = executor.submit(fn)
            self._flights[key] = flight

        def landed(_done: Future[R]) -> None:
            with self._lock:
                if self._flights.get(key) is flight:
                    del self._flights[key]

        flight.add_done_callback(landed)
        return flight
