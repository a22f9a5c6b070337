"""Request pacing: a ceiling on requests per minute, spent evenly rather than in bursts."""

from __future__ import annotations

import threading
import time

#: How much more than ``60 / requests_per_minute`` apart requests go.
MARGIN = 1.01


class Pacer:
    """Spaces requests at least ``60 / requests_per_minute`` seconds apart.

    One pacer per provider per tap process, shared by all of that provider's streams,
    so the ceiling holds for the whole run whichever stream is asking. With even
    spacing, no 60-second window can hold more than the ceiling. ``None`` means no
    ceiling (the provider documents none); a server's 429 then does the pacing.
    """

    def __init__(self, requests_per_minute: float | None, *, clock=time.monotonic, sleep=time.sleep):
        # 1% above the exact spacing: N + 1 requests exactly 60 s apart by the tap's clock can land
        # inside one server window, by a few milliseconds of network jitter.
        self.interval = 60.0 / requests_per_minute * MARGIN if requests_per_minute else 0.0
        self._clock = clock
        self._sleep = sleep
        self._next_slot = 0.0
        self._held_until = 0.0
        self._lock = threading.Lock()

    def hold(self, seconds: float) -> None:
        """The server asked to wait (Retry-After): no request of this provider goes before then,
        from any thread (the one it answered waits anyway)."""
        with self._lock:
            self._held_until = max(self._held_until, self._clock() + seconds)

    def wait(self) -> float:
        """Block until the next request may go; return the seconds waited."""
        with self._lock:
            now = self._clock()
            delay = max(0.0, self._next_slot - now, self._held_until - now)
            if self.interval:
                # The slot after this one counts from when this request really goes.
                self._next_slot = now + delay + self.interval
        if delay:
            self._sleep(delay)
        return delay
