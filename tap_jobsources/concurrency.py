"""Requests in flight at once, where a provider allows it, and fewer when it says so.

:class:`AdaptiveLimit` caps a provider's requests in flight. It starts at the
configured ceiling; a 429 halves it (multiplicative decrease, once per burst), and
each success adds ``1 / limit`` (additive increase: one more slot per ``limit``
successes), never above the ceiling. A server that refuses more than N requests at
once thus slows the tap down to N, and never fails the run.

:class:`Workers` runs prefetches on daemon threads, so that a run stopped by a
signal exits at once instead of waiting for answers nobody will read.
"""

from __future__ import annotations

import queue
import threading
import typing as t
from concurrent.futures import Future

from tap_jobsources.signals import STOP


class AdaptiveLimit:
    """At most ``limit`` requests in flight; the limit adapts between 1 and ``ceiling``: halved by
    a 429 that came while others were in flight, grown back by one step per ``limit`` successes,
    and held for :data:`CALM` successes after each cut (a server that allows N would otherwise be
    asked N + 1 at once again right away)."""

    #: Successes after a cut before the limit grows again.
    CALM = 10

    def __init__(self, ceiling: int) -> None:
        self.ceiling = max(1, int(ceiling))
        self.limit = float(self.ceiling)
        self.in_flight = 0
        self.peak = 0
        self.cuts = 0
        self._calm = self.CALM
        self._next = 0
        #: The most requests in flight at once during each request's life, by ticket.
        self._crowds: dict[int, int] = {}
        self._cond = threading.Condition()

    def acquire(self) -> tuple[int, int]:
        """Wait for a slot; returns the request's ticket (its number, the limit's generation)."""
        with self._cond:
            while self.in_flight >= int(self.limit):
                self._cond.wait()
            self.in_flight += 1
            self.peak = max(self.peak, self.in_flight)
            self._next += 1
            for key, crowd in self._crowds.items():
                if crowd < self.in_flight:
                    self._crowds[key] = self.in_flight
            self._crowds[self._next] = self.in_flight
            return self._next, self.cuts

    def release(self, ticket: tuple[int, int], *, throttled: bool) -> bool:
        """The request is answered. Returns whether others were in flight at any time while it
        was (a 429 then is the server refusing concurrency, not this request)."""
        with self._cond:
            self.in_flight -= 1
            crowded = self._crowds.pop(ticket[0], 1) > 1
            if throttled:
                # Only a request sent under the current limit cuts it: the others of the same
                # burst were sent before the cut, and cutting again for them would overshoot.
                if ticket[1] == self.cuts:
                    self.limit = max(1.0, self.limit / 2)
                    self.cuts += 1
                    self._calm = 0
            elif self.limit < self.ceiling:
                self._calm += 1
                if self._calm > self.CALM:
                    self.limit = min(float(self.ceiling), self.limit + 1 / self.limit)
            self._cond.notify_all()
            return crowded


class Workers:
    """``size`` daemon threads that run submitted calls; each call's result comes in a Future."""

    def __init__(self, size: int, name: str) -> None:
        self.size = max(1, size)
        self.name = name
        self._tasks: queue.SimpleQueue = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()

    def submit(self, fn: t.Callable[..., t.Any], *args: t.Any) -> Future:
        future: Future = Future()
        self._tasks.put((future, fn, args))
        with self._lock:
            if len(self._threads) < self.size:
                thread = threading.Thread(target=self._work, name=f"{self.name}-{len(self._threads)}", daemon=True)
                self._threads.append(thread)
                thread.start()
        return future

    def _work(self) -> None:
        while True:
            future, fn, args = self._tasks.get()
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(fn(*args))
            except BaseException as exc:  # noqa: BLE001 - handed to whoever reads the result
                future.set_exception(exc)


_END = object()


class PageReader:
    """Reads a partition's pages on a worker into a bounded queue; iterating it gives
    them in order, or raises what the reading raised."""

    def __init__(self, workers: Workers, source: t.Callable[[], t.Iterable[t.Any]], max_pages: int) -> None:
        self._queue: queue.Queue = queue.Queue(maxsize=max_pages)
        workers.submit(self._read, source)

    def _read(self, source: t.Callable[[], t.Iterable[t.Any]]) -> None:
        try:
            for page in source():
                self._queue.put(page)
        except BaseException as exc:  # noqa: BLE001 - raised again where the pages are read
            self._queue.put(exc)
            return
        self._queue.put(_END)

    def __iter__(self) -> t.Iterator[t.Any]:
        while True:
            with STOP.waiting():
                item = self._queue.get()
            if item is _END:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
