"""Getro pacing: one ceiling for the whole process, requests evenly spaced under it."""

from __future__ import annotations

import pytest

from tap_jobsources.pacing import Pacer
from tests.helpers import run_tap


# A process: the emulator stamps arrivals from its thread, and in the tap's process it would wait
# for the interpreter lock while the tap decodes a page, which the spacing measured would show.
@pytest.mark.e2e
def test_requests_are_evenly_spaced_under_the_ceiling(tmp_path, sandbox, getro_config):
    rpm = 600  # one request every 0.1 s
    run = run_tap(tmp_path, {**getro_config, "getro_requests_per_minute": rpm})
    assert run.returncode == 0, run.stderr
    times = [r.time for r in sandbox.requests_to("getro")]
    assert len(times) >= 15  # every Getro stream: the limiter is shared across them
    interval = 60 / rpm
    gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
    # The server stamps arrivals, so thread scheduling on this 2-core machine adds a few
    # milliseconds of jitter to what the tap spaced exactly.
    assert min(gaps) >= interval * 0.85, gaps  # never a burst
    assert sum(gaps) / len(gaps) < interval * 1.5, gaps  # and no needless slowness
    # The ceiling, scaled down: no window of k intervals holds more than k requests.
    k = 5
    for i, start in enumerate(times):
        inside = [t for t in times[i:] if t < start + k * interval * 0.95]
        assert len(inside) <= k


def test_pacer_spaces_calls_evenly_without_bursts():
    now = [100.0]
    slept = []

    def sleep(seconds):
        slept.append(seconds)
        now[0] += seconds

    pacer = Pacer(30, clock=lambda: now[0], sleep=sleep)
    starts = []
    for _ in range(5):
        pacer.wait()
        starts.append(now[0])
        now[0] += 0.3  # the request itself takes a while
    assert [round(b - a, 6) for a, b in zip(starts, starts[1:], strict=False)] == [2.02] * 4  # 1% margin
    # Idle time is not saved up for a burst later.
    now[0] += 60
    pacer.wait()
    first = now[0]
    pacer.wait()
    assert round(now[0] - first, 6) == 2.02


def test_no_ceiling_means_no_wait():
    pacer = Pacer(None, sleep=lambda s: (_ for _ in ()).throw(AssertionError("slept")))
    assert pacer.wait() == 0.0


def test_a_hold_keeps_every_caller_waiting_until_it_ends():
    """A Retry-After holds the whole provider: a provider without a ceiling waits too."""
    now = [100.0]

    def sleep(seconds):
        now[0] += seconds

    pacer = Pacer(None, clock=lambda: now[0], sleep=sleep)
    assert pacer.wait() == 0.0
    pacer.hold(5)
    assert pacer.wait() == 5.0 and now[0] == 105.0
    assert pacer.wait() == 0.0  # over
