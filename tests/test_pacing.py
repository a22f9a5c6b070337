"""Getro pacing: one ceiling for the whole process, requests evenly spaced under it."""

from __future__ import annotations

from itertools import pairwise

from tap_jobsources.pacing import Pacer
from tests.helpers import run_in_process
from tests.tap_side import pacer, record_services


# Read where the pacer releases requests (tests/tap_side.py), not where the emulator's thread stamps
# their arrival: on a busy machine that thread runs late, and two requests released 100 ms apart
# were stamped 14 ms apart.
def test_requests_are_evenly_spaced_under_the_ceiling(tmp_path, sandbox, getro_config, monkeypatch):
    rpm = 600  # one request every 0.1 s
    services = record_services(monkeypatch)
    run = run_in_process(tmp_path, {**getro_config, "getro_requests_per_minute": rpm})
    assert run.returncode == 0, run.stderr
    assert list(services) == ["getro"]  # one pacer for every Getro stream: the ceiling is the process's
    getro = pacer(services["getro"])
    releases = sorted(getro.releases, key=lambda r: r.at)
    assert len(releases) == len(sandbox.requests_to("getro"))  # every request went through it
    assert len(releases) >= 15  # every Getro stream
    gaps = [b.at - a.at for a, b in pairwise(releases)]
    assert min(gaps) >= 60 / rpm, gaps  # never a burst
    # And no needless slowness: a request held back goes one interval after the one before, no later.
    late = [gap for gap, r in zip(gaps, releases[1:], strict=True) if r.waited and gap > getro.interval + 1e-6]
    assert late == [], late


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
    assert pacer.wait() == 5.0
    assert now[0] == 105.0
    assert pacer.wait() == 0.0  # over
