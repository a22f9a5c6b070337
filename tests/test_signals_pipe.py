"""Signals against a target that stopped reading: every wait after a signal has a bound.

The tap runs as a process whose stdout is a pipe to a real target process that reads one
line and then holds the pipe open without reading: the tap fills the pipe and blocks in a
write, where no flag can reach it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from jobsources_sandbox import Sandbox
from tap_jobsources import signals
from tap_jobsources.signals import GRACE_SECONDS, StopFlag
from tests.conftest import FAST
from tests.helpers import TAP

#: A target that reads one line, then holds the pipe open and reads no more.
STUCK_TARGET = "import sys, time; sys.stdin.buffer.readline(); time.sleep(600)"


@pytest.fixture
def sandbox():
    with Sandbox(scale=20) as sb:  # several MB of records: far more than a pipe holds
        yield sb


def start_blocked(tmp_path, sandbox) -> tuple[subprocess.Popen, subprocess.Popen]:
    """The tap writing into a target that no longer reads, once it is stuck in a write."""
    config = {**sandbox.settings("getro"), **FAST}
    (tmp_path / "config.json").write_text(json.dumps(config))
    read_end, write_end = os.pipe()
    target = subprocess.Popen([sys.executable, "-c", STUCK_TARGET], stdin=read_end)
    env = {k: v for k, v in os.environ.items() if not k.startswith("TAP_JOBSOURCES_")}
    with (tmp_path / "stderr").open("w") as err:
        tap = subprocess.Popen([*TAP, "--config", str(tmp_path / "config.json")], stdout=write_end, stderr=err, env=env)
    os.close(read_end)
    os.close(write_end)
    # Stuck: its main thread sleeps in a write to the pipe (the kernel's wait channel says so).
    deadline = time.monotonic() + 60
    while "pipe" not in Path(f"/proc/{tap.pid}/wchan").read_text():
        assert tap.poll() is None, "the tap ended before the pipe filled"
        assert time.monotonic() < deadline, "the tap never blocked in a write"
        time.sleep(0.1)
    time.sleep(0.5)  # and stays there
    assert "pipe" in Path(f"/proc/{tap.pid}/wchan").read_text()
    return tap, target


def stop(*procs: subprocess.Popen) -> None:
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=10)


@pytest.mark.e2e
def test_the_first_signal_ends_a_run_stuck_in_a_write_within_the_grace_period(tmp_path, sandbox):
    tap, target = start_blocked(tmp_path, sandbox)
    try:
        sent = time.monotonic()
        tap.send_signal(signal.SIGTERM)
        code = tap.wait(timeout=GRACE_SECONDS + 15)
        took = time.monotonic() - sent
    finally:
        stop(tap, target)
    err = (tmp_path / "stderr").read_text()
    assert code == 143, err[-2000:]
    assert GRACE_SECONDS - 1 <= took < GRACE_SECONDS + 5, took
    received = "SIGTERM received: stopping at the next record boundary with a final STATE."
    assert f"{received} Within {GRACE_SECONDS:.0f} s the tap ends anyway" in err
    assert f"Still running {GRACE_SECONDS:.0f} s after SIGTERM, inside a write the target has not read" in err
    assert "the line being written may be cut" in err
    assert "Traceback" not in err


@pytest.mark.e2e
def test_a_second_signal_ends_a_run_stuck_in_a_write_at_once(tmp_path, sandbox):
    tap, target = start_blocked(tmp_path, sandbox)
    try:
        tap.send_signal(signal.SIGTERM)
        time.sleep(1.5)
        assert tap.poll() is None  # the first one waits for the target, up to the grace period
        sent = time.monotonic()
        tap.send_signal(signal.SIGTERM)
        code = tap.wait(timeout=15)
        took = time.monotonic() - sent
    finally:
        stop(tap, target)
    err = (tmp_path / "stderr").read_text()
    assert code == 143, err[-2000:]
    assert took < 2, took
    assert "Interrupted again, inside a write the target has not read" in err
    assert "Traceback" not in err


# The choice the handler makes, on a flag of its own (no process is ended) ------------------------


def test_a_second_signal_lets_a_moving_write_end_its_line_but_not_a_stalled_one(monkeypatch):
    hard: list[int] = []
    cut: list[int] = []
    monkeypatch.setattr(signals, "_hard_exit", hard.append)
    monkeypatch.setattr(signals, "_cut_exit", lambda code, what: cut.append(code))
    flag = StopFlag()
    flag._handle(signal.SIGTERM, None)
    with flag.writing():
        flag.moved()  # the target reads
        flag._handle(signal.SIGTERM, None)
        assert hard == []
        assert cut == []  # the line ends first
    assert hard == [143]

    stuck = StopFlag()
    stuck._handle(signal.SIGINT, None)
    with stuck.writing():
        stuck._moved_at -= signals.STALLED_SECONDS + 0.5  # nothing moved for longer than that
        stuck._handle(signal.SIGINT, None)
        assert cut == [130]  # ended at once, inside the write


#: A target that reads slowly but steadily (512 bytes every 0.05 s, 10 KB a second: a pipe's
#: worth, or one 64 KB write, in about 6 s), keeping what it read in a file.
SLOW_TARGET = (
    "import os, sys, time\n"
    "out = open(sys.argv[1], 'wb')\n"
    "while chunk := os.read(0, 512):\n"
    "    out.write(chunk); out.flush(); time.sleep(0.05)\n"
)


@pytest.mark.e2e
def test_two_signals_with_a_slow_but_reading_target_leave_no_line_cut(tmp_path, sandbox):
    """The target reads: a write that takes a while is not a stuck one (the tap writes in pieces
    and counts each), so even the second signal lets the line being written end."""
    config = {**sandbox.settings("getro"), **FAST}
    (tmp_path / "config.json").write_text(json.dumps(config))
    got = tmp_path / "got.jsonl"
    read_end, write_end = os.pipe()
    target = subprocess.Popen([sys.executable, "-c", SLOW_TARGET, str(got)], stdin=read_end)
    env = {k: v for k, v in os.environ.items() if not k.startswith("TAP_JOBSOURCES_")}
    with (tmp_path / "stderr").open("w") as err:
        tap = subprocess.Popen([*TAP, "--config", str(tmp_path / "config.json")], stdout=write_end, stderr=err, env=env)
    os.close(read_end)
    os.close(write_end)
    try:
        deadline = time.monotonic() + 60
        while "pipe" not in Path(f"/proc/{tap.pid}/wchan").read_text():  # the pipe is full
            assert tap.poll() is None
            assert time.monotonic() < deadline
            time.sleep(0.1)
        tap.send_signal(signal.SIGTERM)
        time.sleep(1.5)
        tap.send_signal(signal.SIGTERM)
        code = tap.wait(timeout=60)
        target.wait(timeout=120)  # it reads to the end of what the tap wrote
    finally:
        stop(tap, target)
    err = (tmp_path / "stderr").read_text()
    assert code == 143, err[-2000:]
    assert "inside a write the target has not read" not in err
    data = got.read_bytes()
    assert data.endswith(b"\n"), data[-200:]
    for line in data.splitlines():
        json.loads(line)  # every line whole
