"""What the tap itself did with its requests, read where it does it: the pacer's releases and holds,
the adaptive limit's peak. For runs in the test's process (``run_in_process``).

Timing read at the emulator is the arrival of a request at its thread: on a busy machine that
thread, or the tap's, runs late, and two requests the pacer released 100 ms apart arrive 14 ms
apart. What the pacer grants (its clock when a request asked, plus the wait it set) does not depend
on when a thread gets a core, so a test that reads it does not need an idle machine.
"""

from __future__ import annotations

import threading
import time
import typing as t

from tap_jobsources import runtime
from tap_jobsources.pacing import Pacer

if t.TYPE_CHECKING:
    import pytest


class Release(t.NamedTuple):
    """One request let go by a pacer."""

    asked: float  # the pacer's clock when the request asked to go
    at: float  # when the pacer let it go: ``asked`` plus the wait it set
    waited: float


class RecordingPacer(Pacer):
    """The tap's pacer, unchanged, recording each release and each hold on its own clock."""

    def __init__(self, requests_per_minute: float | None) -> None:
        self._read = threading.local()  # the clock as the calling thread last read it (under the lock)
        super().__init__(requests_per_minute, clock=self._now)
        self.releases: list[Release] = []
        self.holds: list[tuple[float, float]] = []  # (when, seconds)

    def _now(self) -> float:
        self._read.at = now = time.monotonic()
        return now

    def wait(self) -> float:
        waited = super().wait()
        asked = self._read.at
        self.releases.append(Release(asked, asked + waited, waited))
        return waited

    def hold(self, seconds: float) -> None:
        super().hold(seconds)
        self.holds.append((self._read.at, seconds))


def record_services(monkeypatch: pytest.MonkeyPatch) -> dict[str, runtime.ProviderServices]:
    """The services of each provider the next in-process runs build (by provider key), with a
    :class:`RecordingPacer` as their pacer."""
    built: dict[str, runtime.ProviderServices] = {}
    build = runtime.ProviderServices.build

    def recording(cls: type, provider: t.Any, options: t.Any) -> runtime.ProviderServices:
        services = build(provider, options)
        built[provider.key] = services
        return services

    monkeypatch.setattr(runtime, "Pacer", RecordingPacer)
    monkeypatch.setattr(runtime.ProviderServices, "build", classmethod(recording))
    return built


def pacer(services: runtime.ProviderServices) -> RecordingPacer:
    return t.cast(RecordingPacer, services.pacer)
